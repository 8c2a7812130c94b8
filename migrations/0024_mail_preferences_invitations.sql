-- 0024_mail_preferences_invitations: how each kind of notification reaches
-- an account by mail (at once, in a daily digest, or not at all), the
-- digest's own queue, and invitations to an email address that may have no
-- account yet (a mailed single-use link, expiring; listed to the
-- organisation's owners and revocable).

-- ---------- notification mail preferences ----------

-- One row per account and kind that differs from the default (immediately).
-- The kinds are those the daemon writes (lib/vocab.c vocab_notification_kinds).
CREATE TABLE notification_mail_preferences (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind = ANY (ARRAY['agreement_proposed', 'agreement_amended',
                   'agreement_accepted', 'agreement_declined', 'agreement_withdrawn',
                   'agreement_concluded', 'agreement_closure_recorded', 'agreement_review_due',
                   'engagement_posted', 'moderation'])),
    delivery   text NOT NULL CHECK (delivery = ANY (ARRAY['immediately', 'daily', 'off'])),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, kind)
);
-- The one-click unsubscribes of 0022 are preferences now: off.
INSERT INTO notification_mail_preferences (account_id, kind, delivery, updated_at)
SELECT account_id, kind, 'off', created_at FROM notification_mail_optouts
 WHERE kind = ANY (ARRAY['agreement_proposed', 'agreement_amended', 'agreement_accepted',
                         'agreement_declined', 'agreement_withdrawn', 'agreement_concluded',
                         'agreement_closure_recorded', 'agreement_review_due',
                         'engagement_posted', 'moderation']);
DROP TABLE notification_mail_optouts;

-- ---------- the daily digest ----------

-- Notifications waiting for an account's next digest (their kind was set to
-- daily when they were written). The digest job (lib/outbox.c, kind
-- "digest") takes them all at once.
CREATE TABLE notification_digest_items (
    notification_id bigint PRIMARY KEY REFERENCES notifications (id) ON DELETE CASCADE,
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX notification_digest_items_account_idx ON notification_digest_items (account_id, created_at);

-- Per account: when the last digest went, and the job that will send the
-- next one. The row is the lock that keeps it to one digest per interval:
-- the trigger below and the digest job both take it FOR UPDATE.
CREATE TABLE notification_digests (
    account_id   bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    last_sent_at timestamptz,
    job_id       bigint
);

-- Every notification, as its account wants it by mail: a letter at once, a
-- line in the next digest (whose job is queued when none is), or nothing.
-- Only to a verified address of an account that is not deleted.
CREATE OR REPLACE FUNCTION notifications_mail() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    v_delivery text;
    v_job bigint;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM accounts a WHERE a.id = NEW.account_id AND a.deleted_at IS NULL
                      AND a.email_verified_at IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    SELECT p.delivery INTO v_delivery FROM notification_mail_preferences p
     WHERE p.account_id = NEW.account_id AND p.kind = NEW.kind;
    v_delivery := coalesce(v_delivery, 'immediately');
    IF v_delivery = 'immediately' THEN
        INSERT INTO jobs (kind, payload)
        SELECT 'mail', jsonb_build_object('to', a.email, 'template', 'notification',
                   'vars', jsonb_build_object('name', a.display_name, 'message', NEW.message,
                                              'kind', NEW.kind),
                   'unsubscribe', jsonb_build_object('account_id', a.id, 'kind', NEW.kind))
        FROM accounts a WHERE a.id = NEW.account_id;
    ELSIF v_delivery = 'daily' THEN
        INSERT INTO notification_digest_items (notification_id, account_id)
        VALUES (NEW.id, NEW.account_id);
        INSERT INTO notification_digests (account_id) VALUES (NEW.account_id) ON CONFLICT DO NOTHING;
        SELECT d.job_id INTO v_job FROM notification_digests d
         WHERE d.account_id = NEW.account_id FOR UPDATE;
        -- a digest job queued or running takes this line too (the running one
        -- holds this row until it commits); otherwise one is queued: it
        -- decides when the digest is due (DIGEST_INTERVAL_SECONDS)
        IF v_job IS NULL OR NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id = v_job
                                           AND j.state IN ('queued', 'running')) THEN
            UPDATE notification_digests SET job_id = job_enqueue('digest',
                       jsonb_build_object('account_id', NEW.account_id))
             WHERE account_id = NEW.account_id;
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- ---------- invitations to an email address ----------

-- An invitation is to the address the owner typed: the account with that
-- address when there is one (account_id), or whoever follows the mailed
-- link (token_hash: only the hash of the single-use token) before
-- expires_at. Listed to the organisation's owners by id, revocable; it
-- grants nothing until accepted.
ALTER TABLE membership_invitations
    ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN email text,
    ADD COLUMN token_hash bytea UNIQUE CHECK (octet_length(token_hash) = 32),
    ADD COLUMN expires_at timestamptz NOT NULL DEFAULT now() + interval '14 days';
UPDATE membership_invitations i SET email = lower(btrim(a.email)) FROM accounts a WHERE a.id = i.account_id;
DELETE FROM membership_invitations WHERE email IS NULL;
ALTER TABLE membership_invitations DROP CONSTRAINT membership_invitations_pkey;
ALTER TABLE membership_invitations
    ALTER COLUMN email SET NOT NULL,
    ALTER COLUMN account_id DROP NOT NULL,
    ADD PRIMARY KEY (id),
    ADD CONSTRAINT membership_invitations_email_key UNIQUE (organisation_id, email),
    ADD CHECK (email = lower(btrim(email)));
CREATE INDEX membership_invitations_email_idx ON membership_invitations (email);

-- The letter goes from the statement that writes the invitation (it carries
-- the link's token), so the trigger of 0022 goes.
DROP TRIGGER membership_invitations_mail ON membership_invitations;
DROP FUNCTION membership_invitations_mail();
