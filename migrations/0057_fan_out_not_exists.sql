-- 0057_fan_out_not_exists: the drain's check "this follower has no
-- notification of this engagement yet" is a probe of the unique index
-- notifications_engagement_once (account_id, engagement_id) per follower,
-- whatever the planner estimates.
--
-- Until now PostgreSQL was free to turn the NOT EXISTS into an anti join,
-- and did so badly when its statistics lagged behind a burst of follows
-- (the bench adds 10,000 followers to one organisation, as a popular
-- organisation would gain them): it believed the organisation had a
-- handful of followers, and for each of the 10,000 it read every
-- notification of the engagement (3,200 on average) by engagement_id
-- alone, 32 million index entries a batch. A batch of 2,000 took 3-12.5 s
-- instead of 0.2-0.4 s, past the statement timeout (5 s): the job retried
-- with backoff and the queue stalled (bench/run --scale 10: 2,000
-- notifications in 175 s, all 5 posts left). OFFSET 0 keeps the subquery a
-- subquery (PostgreSQL does not pull up an EXISTS with an OFFSET): one
-- index probe per follower, 0.15-0.29 s a batch with the same stale
-- statistics. Nothing else changes: the same rows, the same order, the
-- same batches.
CREATE OR REPLACE FUNCTION notifications_fan_out(p_account bigint, p_limit integer DEFAULT 2000)
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
                          AND x.engagement_id = e.id AND x.kind = 'engagement_posted'
                          OFFSET 0)
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
