-- 0044_instance_blocks: administrators block remote instances, actors get an
-- Ed25519 key beside their RSA one, and instances are remembered for the
-- signatures they speak (docs/federation.md, "Blocking", "Keys").
--
-- A block names a host as written in URLs (lower case, a port when one is
-- given): "spam.example" blocks spam.example and every subdomain whatever
-- the port; "127.0.0.1:8442" blocks that authority only. While a block
-- stands, the instance's inbox POSTs are refused (403), nothing is delivered
-- to it, its actors' keys are not fetched, and blocking removes what it had
-- here: its actors' follows of organisations here, the follows of people
-- here of its organisations, the engagements it sent.
CREATE TABLE instance_blocks (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    host       text NOT NULL UNIQUE
                   CHECK (host ~ '^[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?$' AND char_length(host) <= 300),
    reason     text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    blocked_by bigint,   -- the administrator (no reference: the block outlives the account)
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Whether the block of host p_block covers the authority p_authority
-- (host[:port]): itself, its host without the port, or a parent domain.
CREATE FUNCTION instance_block_covers(p_block text, p_authority text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p_block = lower(p_authority) OR p_block = x.h OR right(x.h, char_length(p_block) + 1) = '.' || p_block
      FROM (SELECT lower(regexp_replace(p_authority, ':[0-9]+$', '')) AS h) x
$$;

-- Whether any block covers the authority.
CREATE FUNCTION instance_blocked(p_authority text) RETURNS boolean
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT EXISTS (SELECT 1 FROM instance_blocks b WHERE instance_block_covers(b.host, p_authority))
$$;

-- The authority of an http(s) URL, lower case ('' when it is not one).
CREATE FUNCTION url_authority(p_url text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT lower(coalesce(substring(p_url from '^[A-Za-z][A-Za-z0-9+.-]*://([^/?#@]*)'), ''))
$$;

-- The moderation log's words for it: the block's row is the subject.
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_action_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_action_check
    CHECK (action IN ('dismiss', 'hide', 'suspend', 'restore', 'grant_role', 'revoke_role',
                      'merge', 'rename', 'retire', 'verify', 'unverify', 'block_instance',
                      'unblock_instance'));
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_subject_kind_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_subject_kind_check
    CHECK (subject_kind IN ('organisation', 'engagement', 'agent_profile', 'purpose',
                            'charter_version', 'account', 'skill', 'agreement_message',
                            'engagement_message', 'instance'));

-- Each local actor's Ed25519 key (FEP-521a assertionMethod, RFC 9421
-- signatures): made on first use beside the RSA pair. The seed is kept as
-- lib/keys keeps the instance's signing keys: hex, sealed under KEYS_SECRET
-- when one is configured.
ALTER TABLE ap_keys ADD COLUMN ed25519_public bytea CHECK (octet_length(ed25519_public) = 32),
                    ADD COLUMN ed25519_seed text CHECK (char_length(ed25519_seed) <= 200),
                    ADD COLUMN ed25519_sealed boolean,
                    ADD CHECK ((ed25519_public IS NULL) = (ed25519_seed IS NULL)
                               AND (ed25519_seed IS NULL) = (ed25519_sealed IS NULL));

-- An instance that signed a request here with RFC 9421 verifies RFC 9421
-- too: deliveries to it are signed with the actor's Ed25519 key; one that
-- refuses such a delivery is sent draft-cavage rsa-sha256 from then on.
ALTER TABLE remote_instances ADD COLUMN rfc9421 boolean;
