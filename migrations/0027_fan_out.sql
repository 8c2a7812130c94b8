-- 0027_fan_out: the notifications of a new engagement for the followers of
-- its organisation leave the posting transaction. Until now the deferred
-- trigger of 0008 wrote one notification row per follower (and, since 0022,
-- one mail job per verified follower) at commit: a post cost 0.74 ms more
-- with 425 followers and grew with every follower. Now the commit writes at
-- most two rows whatever the number of followers: the engagement in
-- engagement_fan_outs and one job of kind "fan_out" (lib/jobs). The
-- notifications are derived from those rows
--   - in the background: a job worker runs notifications_fan_out(NULL)
--     until it writes less than a batch: the oldest pending engagement's
--     notifications, 2,000 per transaction, under an advisory lock (one
--     drain at a time, so the engagements' notifications are written in
--     the order they were posted), then the engagement leaves the queue;
--   - on read, for one account: reading the first page of notifications or
--     the personal feed runs notifications_fan_out(account) first, so a
--     follower never sees less than before, whatever the queue's delay.
-- Exactly once: the unique index notifications_engagement_once of 0008 with
-- ON CONFLICT DO NOTHING (a drain retried after a crash, or racing a reader,
-- writes nothing twice, and the mail trigger of 0022 fires only for a row
-- actually inserted). What a post notifies is decided as before: at the
-- posting commit (open engagements only), for the followers whose declared
-- purposes overlap the engagement's and who followed before the post,
-- never the member who posted it.

CREATE TABLE engagement_fan_outs (
    seq             bigint GENERATED ALWAYS AS IDENTITY,
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    engagement_id   bigint NOT NULL REFERENCES engagements (id) ON DELETE CASCADE,
    posted_at       timestamptz NOT NULL DEFAULT now(),
    -- the distribution column first (docs/scaling.md, Citus)
    PRIMARY KEY (organisation_id, engagement_id)
);
CREATE INDEX engagement_fan_outs_seq ON engagement_fan_outs (seq);
CREATE INDEX engagement_fan_outs_engagement ON engagement_fan_outs (engagement_id);

-- The notifications of pending engagements. p_account NULL (the background
-- drain, one at a time under an advisory lock): up to p_limit notifications
-- of the oldest pending engagement, for followers who have none yet; when
-- fewer were left, the engagement is done and leaves the queue. Called
-- again while it returns p_limit, each call its own short transaction.
-- p_account: that account's notifications of every pending engagement,
-- nothing deleted. The number of notifications written.
CREATE FUNCTION notifications_fan_out(p_account bigint, p_limit integer DEFAULT 2000)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    written bigint;
    oldest bigint;
BEGIN
    IF p_account IS NULL THEN
        PERFORM pg_advisory_xact_lock(hashtext('notifications_fan_out'));
        SELECT q.seq INTO oldest FROM engagement_fan_outs q ORDER BY q.seq LIMIT 1;
        IF oldest IS NULL THEN
            RETURN 0;
        END IF;
    END IF;
    WITH pending AS (
        SELECT q.seq, q.engagement_id, q.posted_at FROM engagement_fan_outs q
        WHERE (p_account IS NULL AND q.seq = oldest)
           OR (p_account IS NOT NULL AND q.organisation_id IN (
                SELECT f.organisation_id FROM follows f JOIN agents g ON g.id = f.agent_id
                WHERE g.account_id = p_account))),
    ins AS (
        INSERT INTO notifications (account_id, kind, engagement_id, message, payload)
        SELECT g.account_id, 'engagement_posted', e.id,
               left(format('%s posted "%s", for %s.', o.name, e.title, m.names), 1000),
               jsonb_build_object('engagement_id', e.id, 'title', e.title,
                   'organisation', jsonb_build_object('slug', o.slug, 'name', o.name),
                   'purposes', m.purposes)
        FROM pending q
        JOIN engagements e ON e.id = q.engagement_id
        JOIN organisations o ON o.id = e.organisation_id
        JOIN follows f ON f.organisation_id = e.organisation_id AND f.created_at <= q.posted_at
        JOIN agents g ON g.id = f.agent_id AND (p_account IS NULL OR g.account_id = p_account)
        JOIN accounts acc ON acc.id = g.account_id AND acc.deleted_at IS NULL
        CROSS JOIN LATERAL (
            SELECT string_agg(p.name, ', ' ORDER BY p.name) AS names,
                   jsonb_agg(jsonb_build_object('slug', p.slug, 'name', p.name) ORDER BY p.slug) AS purposes
            FROM engagement_purposes ep
            JOIN agent_purposes ap ON ap.purpose_id = ep.purpose_id AND ap.agent_id = g.id
            JOIN purposes p ON p.id = ep.purpose_id
            WHERE ep.engagement_id = e.id) m
        WHERE m.names IS NOT NULL AND g.account_id IS DISTINCT FROM e.created_by
          AND NOT EXISTS (SELECT 1 FROM notifications x WHERE x.account_id = g.account_id
                          AND x.engagement_id = e.id AND x.kind = 'engagement_posted')
        ORDER BY q.seq, g.account_id
        LIMIT CASE WHEN p_account IS NULL THEN p_limit END
        ON CONFLICT DO NOTHING
        RETURNING 1)
    SELECT count(*) INTO written FROM ins;
    IF p_account IS NULL AND written < p_limit THEN
        DELETE FROM engagement_fan_outs WHERE seq = oldest;
    END IF;
    RETURN written;
END $$;

-- At the posting commit (deferred, as in 0008: the engagement's purposes are
-- written after it, and its status at commit decides): two rows at most,
-- none when the organisation has no follower.
CREATE OR REPLACE FUNCTION engagements_notify_followers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM engagements e WHERE e.id = NEW.id AND e.status = 'open')
       AND EXISTS (SELECT 1 FROM follows f WHERE f.organisation_id = NEW.organisation_id) THEN
        INSERT INTO engagement_fan_outs (organisation_id, engagement_id)
        VALUES (NEW.organisation_id, NEW.id) ON CONFLICT DO NOTHING;
        PERFORM job_enqueue('fan_out', jsonb_build_object('engagement_id', NEW.id));
    END IF;
    RETURN NULL;
END $$;
