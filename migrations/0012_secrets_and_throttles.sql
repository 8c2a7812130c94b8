-- 0012_secrets_and_throttles: sign-in attempts reserved before any hashing
-- (so concurrency cannot buy guesses), throttled per account, per address
-- and per (account, address) with the account's usual addresses let
-- through; sign-ups throttled per address; idempotency keys tied to the
-- account they created, so they go with it; members added by someone else
-- wait for the person's consent (membership_invitations).

-- login_failures rows: 'email:<email>' (with the attempt's address),
-- 'address:<ip>' and 'signup:<ip>'. A row is written before the password is
-- hashed (a reservation) and removed again when the attempt succeeds.
ALTER TABLE login_failures ADD COLUMN address text, ADD COLUMN attempt bigint;
CREATE INDEX login_failures_attempt_idx ON login_failures (attempt);
CREATE SEQUENCE login_attempt_seq;

-- Addresses an account signed in from successfully: its usual addresses,
-- which failures from elsewhere do not slow down. Kept as long as a
-- session lasts (SESSION_TTL_DAYS after the last sign-in from there).
CREATE TABLE account_addresses (
    account_id     bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    address        text NOT NULL,
    last_signed_in timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, address)
);
CREATE INDEX account_addresses_last_idx ON account_addresses (last_signed_in);

-- The account a stored response created (a sign-up's key is owned by the
-- address, not by the account): deleted with the account.
ALTER TABLE idempotency_keys ADD COLUMN account_id bigint;
CREATE INDEX idempotency_keys_account_idx ON idempotency_keys (account_id)
    WHERE account_id IS NOT NULL;

-- An owner's request to make an account a member. It grants nothing and is
-- not shown to the organisation; it becomes a membership when the account
-- accepts it, and the account may decline it.
CREATE TABLE membership_invitations (
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    invited_by      bigint REFERENCES accounts (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, account_id)
);
CREATE INDEX membership_invitations_account_idx ON membership_invitations (account_id);

-- Reserve one attempt (sign-in, or a check of the current password) for
-- the account with this email (NULL: not an email) from this address.
-- Serialised per account and per address by advisory locks, and each
-- statement below sees what was committed before it, so concurrent attempts
-- are counted: the wait is computed and the attempt recorded atomically.
-- Returns the wait in seconds (0: reserved) and the attempt's id, which
-- login_attempt_succeeded removes again.
--   pair:    max_failures per (account, address) in the window: a hard wait
--            until the oldest of them leaves the window;
--   address: address_max per address, whatever the account: the same;
--   account: from an address the account has not signed in from, once the
--            account has max_failures failures from anywhere, each further
--            attempt waits 2^(failures - max_failures) seconds (at most the
--            window) after the last one: slowed down, never locked out.
CREATE FUNCTION login_attempt_reserve(p_email text, p_address text, p_window int,
                                      p_max int, p_address_max int, p_usual_days int,
                                      OUT wait_s int, OUT attempt bigint)
LANGUAGE plpgsql AS $$
DECLARE
    account_scope text := 'email:' || p_email;
    address_scope text := 'address:' || p_address;
    since timestamptz := now() - make_interval(secs => p_window);
    n int;
    newest timestamptz;
    usual boolean;
BEGIN
    wait_s := 0;
    attempt := NULL;
    -- every account lock before every address lock: no deadlock
    IF p_email IS NOT NULL THEN
        PERFORM pg_advisory_xact_lock(hashtextextended(account_scope, 0));
    END IF;
    PERFORM pg_advisory_xact_lock(hashtextextended(address_scope, 0));

    IF p_email IS NOT NULL THEN
        SELECT coalesce(max(greatest(1, ceil(extract(epoch FROM
                   f.failed_at + make_interval(secs => p_window) - now())))), 0)::int
          INTO wait_s
          FROM (SELECT failed_at FROM login_failures
                 WHERE scope = account_scope AND address = p_address AND failed_at > since
                 ORDER BY failed_at DESC OFFSET p_max - 1 LIMIT 1) f;
    END IF;
    IF wait_s = 0 THEN
        SELECT coalesce(max(greatest(1, ceil(extract(epoch FROM
                   f.failed_at + make_interval(secs => p_window) - now())))), 0)::int
          INTO wait_s
          FROM (SELECT failed_at FROM login_failures
                 WHERE scope = address_scope AND failed_at > since
                 ORDER BY failed_at DESC OFFSET p_address_max - 1 LIMIT 1) f;
    END IF;
    IF wait_s = 0 AND p_email IS NOT NULL THEN
        SELECT count(*), max(failed_at) INTO n, newest FROM login_failures
         WHERE scope = account_scope AND failed_at > since;
        IF n >= p_max THEN
            SELECT EXISTS (SELECT 1 FROM account_addresses aa JOIN accounts a ON a.id = aa.account_id
                            WHERE a.email = p_email AND a.deleted_at IS NULL
                              AND aa.address = p_address
                              AND aa.last_signed_in > now() - make_interval(days => p_usual_days))
              INTO usual;
            IF NOT usual THEN
                wait_s := greatest(0, ceil(extract(epoch FROM newest
                    + make_interval(secs => least(p_window, power(2, least(n - p_max, 30)))::int)
                    - now())))::int;
            END IF;
        END IF;
    END IF;
    IF wait_s > 0 THEN
        RETURN;
    END IF;

    attempt := nextval('login_attempt_seq');
    INSERT INTO login_failures (scope, address, attempt)
    SELECT s, p_address, attempt FROM unnest(ARRAY[account_scope, address_scope]) AS s
     WHERE s IS NOT NULL;
    -- a bounded share of the expired rows, whoever they belong to
    DELETE FROM login_failures WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM login_failures WHERE failed_at <= since LIMIT 100));
END $$;

-- Reserve one sign-up from this address: at most p_max in the window.
CREATE FUNCTION signup_reserve(p_address text, p_window int, p_max int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    scope_name text := 'signup:' || p_address;
    wait_s int;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended(scope_name, 0));
    SELECT coalesce(max(greatest(1, ceil(extract(epoch FROM
               f.failed_at + make_interval(secs => p_window) - now())))), 0)::int
      INTO wait_s
      FROM (SELECT failed_at FROM login_failures
             WHERE scope = scope_name AND failed_at > now() - make_interval(secs => p_window)
             ORDER BY failed_at DESC OFFSET p_max - 1 LIMIT 1) f;
    IF wait_s = 0 THEN
        INSERT INTO login_failures (scope, address) VALUES (scope_name, p_address);
    END IF;
    RETURN wait_s;
END $$;
