-- 0021_email_tokens: proof that an email address belongs to the account,
-- and password reset by mail.
--
-- email_verified_at: set when a verification link (or a password reset
-- link, which proves the same) is used; cleared when the email changes.
-- Until then an account may browse, build a profile and follow, but not
-- propose agreements or post engagements (routes marked VERIFIED).
-- Accounts that exist before this migration are taken as verified.
ALTER TABLE accounts ADD COLUMN email_verified_at timestamptz;
UPDATE accounts SET email_verified_at = created_at WHERE deleted_at IS NULL;

-- The links mailed to an address: only the BLAKE2b hash of the token is
-- kept (as for sessions); a token is single-use (used_at) and expires. It
-- names the address it was sent to, so a verification sent before an
-- email change does not verify the new address.
CREATE TABLE email_tokens (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    purpose    text NOT NULL CHECK (purpose IN ('verify', 'reset')),
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    email      text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX email_tokens_account_idx ON email_tokens (account_id, purpose) WHERE used_at IS NULL;
CREATE INDEX email_tokens_expires_idx ON email_tokens (expires_at);

-- Requests for mail that anyone may make (a password reset for any
-- address), per scope ("email:<address>", "address:<client ip>"), for
-- throttling across every daemon. Rows older than a day are deleted by
-- the writers.
CREATE TABLE mail_requests (
    scope        text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mail_requests_scope_idx ON mail_requests (scope, requested_at);
CREATE INDEX mail_requests_requested_at_idx ON mail_requests (requested_at);
