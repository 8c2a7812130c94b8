-- 0014_signing_keys: the instance's signing keys (lib/keys.h) and the
-- credentials it issues (docs/credentials.md).
--
-- A key is Ed25519: its public half, and its 32-byte seed either sealed
-- with libsodium's secretbox under a key derived from KEYS_SECRET
-- (encrypted = true: nonce || box) or, when no KEYS_SECRET is configured,
-- as is. Exactly one key signs at a time (retired_at IS NULL); rotation
-- retires it and makes a new one. Retired keys stay: they are still
-- published in the did:web document, so what they signed still verifies.
CREATE TABLE signing_keys (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    algorithm   text NOT NULL DEFAULT 'Ed25519' CHECK (algorithm = 'Ed25519'),
    public_key  bytea NOT NULL UNIQUE CHECK (length(public_key) = 32),
    secret      bytea NOT NULL,
    encrypted   boolean NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    retired_at  timestamptz,
    -- a seed is 32 bytes; sealed, 24 of nonce and 16 of tag more
    CONSTRAINT signing_keys_secret_length CHECK (encrypted AND length(secret) = 72 OR NOT encrypted AND length(secret) = 32)
);
-- one signing key at a time: concurrent daemons making the first agree on one
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys ((true)) WHERE retired_at IS NULL;

-- Credentials issued for concluded agreements: the signed document exactly
-- as issued, one per agreement. Its position in the instance's status list
-- is its id: list (id - 1) / 131072 + 1, bit (id - 1) % 131072.
CREATE SEQUENCE credential_ids;
CREATE TABLE credentials (
    id              bigint PRIMARY KEY DEFAULT nextval('credential_ids'),
    uuid            uuid NOT NULL UNIQUE,
    agreement_id    bigint NOT NULL UNIQUE REFERENCES agreements (id),
    agent_id        bigint NOT NULL REFERENCES agents (id),
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    signing_key_id  bigint NOT NULL REFERENCES signing_keys (id),
    document        text NOT NULL CHECK (jsonb_typeof(document::jsonb) = 'object'),
    published       boolean NOT NULL DEFAULT false,
    issued_at       timestamptz NOT NULL DEFAULT now()
);
ALTER SEQUENCE credential_ids OWNED BY credentials.id;
CREATE INDEX credentials_agent_idx ON credentials (agent_id, id DESC);
CREATE INDEX credentials_organisation_idx ON credentials (organisation_id, id DESC);

-- A revocation: once per credential, with its reason. Append-only.
CREATE TABLE credential_revocations (
    credential_id bigint PRIMARY KEY REFERENCES credentials (id),
    reason        text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 1000),
    revoked_by    bigint NOT NULL REFERENCES accounts (id),
    revoked_at    timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER credential_revocations_append_only BEFORE UPDATE OR DELETE ON credential_revocations
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
