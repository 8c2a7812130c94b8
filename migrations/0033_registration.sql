-- 0033_registration: who may create an account, and what a new account may
-- write (docs/operations.md, "Registration"). The mode is
-- instance_settings.registration_mode (0018): open, approval (an
-- administrator approves each new account before it can sign in) or
-- invitation (sign-up needs an invitation link). Who may create, approve or
-- refuse is decided in lib/authz.c.

-- ---------- invitation links ----------

-- A link to create an account, made by an administrator (organisation_id
-- NULL) or by an owner of an organisation (for it). Only the BLAKE2b hash of
-- its token is kept (as for sessions and mailed links). It works until it
-- expires, is revoked or has been used max_uses times; a link whose creator
-- is deleted or suspended no longer works.
CREATE TABLE registration_invitations (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    token_hash      bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_by      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    organisation_id bigint REFERENCES organisations (id) ON DELETE CASCADE,
    note            text NOT NULL DEFAULT '' CHECK (char_length(note) <= 200),
    max_uses        integer NOT NULL DEFAULT 1 CHECK (max_uses BETWEEN 1 AND 1000),
    uses            integer NOT NULL DEFAULT 0 CHECK (uses BETWEEN 0 AND max_uses),
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registration_invitations_creator_idx
    ON registration_invitations (created_by, created_at DESC, id DESC);

-- ---------- how each account came in ----------

-- One row per account made from now on (older accounts have none: they are
-- admitted). status: admitted (open mode, or with an invitation), pending
-- (approval mode: it cannot sign in), approved, refused (the account is
-- deleted, this row stays with who decided and why). reason: what the
-- person wrote for the administrators; note: what the administrator wrote
-- back (mailed to the person).
CREATE TABLE account_registrations (
    account_id    bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    mode          text NOT NULL CHECK (mode IN ('open', 'approval', 'invitation')),
    invitation_id bigint REFERENCES registration_invitations (id) ON DELETE SET NULL,
    reason        text NOT NULL DEFAULT '' CHECK (char_length(reason) <= 1000),
    status        text NOT NULL CHECK (status IN ('admitted', 'pending', 'approved', 'refused')),
    decided_by    bigint REFERENCES accounts (id) ON DELETE SET NULL,
    decided_at    timestamptz,
    note          text NOT NULL DEFAULT '' CHECK (char_length(note) <= 1000),
    created_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'approved' OR status = 'refused') = (decided_at IS NOT NULL))
);
CREATE INDEX account_registrations_status_idx
    ON account_registrations (status, created_at DESC, account_id DESC);
CREATE INDEX account_registrations_invitation_idx
    ON account_registrations (invitation_id) WHERE invitation_id IS NOT NULL;

-- ---------- limits for new accounts ----------

-- An account younger than new_account_days whose email address is not
-- confirmed and that holds no instance role makes at most
-- new_account_writes_per_hour changes in any hour (0 days: no such limit).
ALTER TABLE instance_settings
    ADD COLUMN new_account_days integer NOT NULL DEFAULT 7
        CHECK (new_account_days BETWEEN 0 AND 365),
    ADD COLUMN new_account_writes_per_hour integer NOT NULL DEFAULT 60
        CHECK (new_account_writes_per_hour BETWEEN 1 AND 100000);

-- The changes of limited accounts in the last hour, for every daemon on the
-- database (as signup_reserve's rows, 0012). Rows older than an hour are
-- deleted by the writers.
CREATE TABLE new_account_writes (
    account_id bigint NOT NULL,
    written_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX new_account_writes_account_idx ON new_account_writes (account_id, written_at);
CREATE INDEX new_account_writes_at_idx ON new_account_writes (written_at);

-- Reserve one change of p_account: at most p_max in the hour. Returns 0
-- (reserved) or the seconds until the oldest change of the hour leaves it.
-- Serialised per account, so concurrent changes are counted.
CREATE FUNCTION new_account_write_reserve(p_account bigint, p_max int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    wait_s int;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtextextended('new-account-writes:' || p_account, 0));
    SELECT coalesce(max(greatest(1, ceil(extract(epoch FROM
               f.written_at + interval '1 hour' - now())))), 0)::int
      INTO wait_s
      FROM (SELECT written_at FROM new_account_writes
             WHERE account_id = p_account AND written_at > now() - interval '1 hour'
             ORDER BY written_at DESC OFFSET p_max - 1 LIMIT 1) f;
    IF wait_s = 0 THEN
        INSERT INTO new_account_writes (account_id) VALUES (p_account);
    END IF;
    -- a bounded share of the expired rows, whoever they belong to
    DELETE FROM new_account_writes WHERE ctid = ANY (ARRAY(
        SELECT ctid FROM new_account_writes WHERE written_at <= now() - interval '1 hour' LIMIT 100));
    RETURN wait_s;
END $$;

-- ---------- an administrator's decision ----------

-- Approve or refuse a pending account, all of it or nothing: the decision,
-- the letter that tells the person, and on a refusal the deletion of the
-- account (scrubbed as when a person deletes it: the address may sign up
-- again). Returns 'ok', 'not-found' or 'conflict: why'. Who may decide was
-- decided before (lib/authz.c).
CREATE FUNCTION registration_decide(p_account bigint, p_admin bigint, p_decision text, p_note text)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    v_status text;
    v_email  text;
    v_name   text;
BEGIN
    SELECT r.status, a.email, a.display_name INTO v_status, v_email, v_name
      FROM account_registrations r JOIN accounts a ON a.id = r.account_id
     WHERE r.account_id = p_account FOR UPDATE OF r;
    IF v_status IS NULL THEN
        RETURN 'not-found';
    ELSIF v_status <> 'pending' THEN
        RETURN 'conflict: this registration is ' || v_status || ', not pending';
    END IF;
    UPDATE account_registrations
       SET status = CASE p_decision WHEN 'approve' THEN 'approved' ELSE 'refused' END,
           decided_by = p_admin, decided_at = now(), note = coalesce(p_note, ''),
           reason = CASE p_decision WHEN 'approve' THEN reason ELSE '' END
     WHERE account_id = p_account;
    INSERT INTO jobs (kind, payload)
    VALUES ('mail', jsonb_build_object('to', v_email, 'template', 'registration_decided',
            'vars', jsonb_build_object('name', v_name, 'decision',
                        CASE p_decision WHEN 'approve' THEN 'approved' ELSE 'refused' END,
                        'note', coalesce(p_note, ''))));
    IF p_decision = 'refuse' THEN
        UPDATE accounts SET email = NULL, password_hash = NULL, display_name = 'Deleted account',
               deleted_at = now(), updated_at = now(), version = version + 1
         WHERE id = p_account;
        UPDATE email_tokens SET used_at = now() WHERE account_id = p_account AND used_at IS NULL;
        DELETE FROM login_failures WHERE scope = 'email:' || v_email;
        DELETE FROM idempotency_keys WHERE account_id = p_account;
    END IF;
    RETURN 'ok';
END $$;
