-- 0008_notifications: notifications beyond agreement transitions — a new
-- open engagement from a followed organisation that serves one of the
-- follower's purposes (written at commit by a trigger), a review date
-- approaching (written when the account reads, see agreements.c) — no new
-- notification for a deleted account, and the secret personal Atom feed.

ALTER TABLE notifications
    ADD COLUMN engagement_id bigint REFERENCES engagements (id) ON DELETE SET NULL;

-- At most one notification per account for one new engagement, and one per
-- account, agreement and review date: the writers say ON CONFLICT DO NOTHING,
-- so concurrent readers cannot create a review notification twice.
CREATE UNIQUE INDEX notifications_engagement_once ON notifications (account_id, engagement_id)
    WHERE kind = 'engagement_posted';
CREATE UNIQUE INDEX notifications_review_once
    ON notifications (account_id, agreement_id, (payload ->> 'review_on'))
    WHERE kind = 'agreement_review_due';

-- A deleted account receives nothing new, whoever writes the notification.
CREATE FUNCTION notifications_skip_deleted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id AND deleted_at IS NOT NULL) THEN
        RETURN NULL;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER notifications_skip_deleted BEFORE INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notifications_skip_deleted();

-- A new open engagement: one notification per follower whose declared
-- purposes overlap the engagement's (one per account, however many purposes
-- match), never for the member who posted it. Deferred to commit, so the
-- engagement's purposes (written after it, in the same statement or
-- transaction) are there and a status changed before commit is respected.
CREATE FUNCTION engagements_notify_followers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO notifications (account_id, kind, engagement_id, message, payload)
    SELECT g.account_id, 'engagement_posted', e.id,
           left(format('%s posted "%s", for %s.', o.name, e.title, m.names), 1000),
           jsonb_build_object('engagement_id', e.id, 'title', e.title,
               'organisation', jsonb_build_object('slug', o.slug, 'name', o.name),
               'purposes', m.purposes)
    FROM engagements e
    JOIN organisations o ON o.id = e.organisation_id
    JOIN follows f ON f.organisation_id = e.organisation_id
    JOIN agents g ON g.id = f.agent_id
    JOIN accounts acc ON acc.id = g.account_id AND acc.deleted_at IS NULL
    CROSS JOIN LATERAL (
        SELECT string_agg(p.name, ', ' ORDER BY p.name) AS names,
               jsonb_agg(jsonb_build_object('slug', p.slug, 'name', p.name) ORDER BY p.slug) AS purposes
        FROM engagement_purposes ep
        JOIN agent_purposes ap ON ap.purpose_id = ep.purpose_id AND ap.agent_id = g.id
        JOIN purposes p ON p.id = ep.purpose_id
        WHERE ep.engagement_id = e.id) m
    WHERE e.id = NEW.id AND e.status = 'open' AND m.names IS NOT NULL
      AND g.account_id IS DISTINCT FROM e.created_by
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER engagements_notify_followers AFTER INSERT ON engagements
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION engagements_notify_followers();

-- The secret URL of an account's personal notification feed
-- (/feeds/me/{token}.atom): only the BLAKE2b hash of the token, as for
-- sessions. One per account; rotating replaces it, revoking deletes it.
CREATE TABLE notification_feeds (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    created_at timestamptz NOT NULL DEFAULT now()
);

-- Deleting an account revokes its feed.
CREATE FUNCTION accounts_revoke_notification_feed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM notification_feeds WHERE account_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER accounts_revoke_notification_feed AFTER UPDATE OF deleted_at ON accounts
    FOR EACH ROW WHEN (OLD.deleted_at IS NULL AND NEW.deleted_at IS NOT NULL)
    EXECUTE FUNCTION accounts_revoke_notification_feed();
