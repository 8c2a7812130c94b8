-- 0019_change_log: the match index and the answer cache of every daemon are
-- kept fresh by a change log table instead of NOTIFY payloads. The triggers
-- of 0006 and 0009 keep their names and what they say, but append a row
-- here, in the writing transaction, instead of calling pg_notify: NOTIFY
-- takes one database-wide lock from just before a commit until after its
-- WAL flush, so notifying transactions committed one fsync at a time
-- (docs/performance.md), and LISTEN works neither on a hot standby nor
-- through a transaction-mode pooler. Following the log needs ordinary reads.
--
-- How a daemon follows it (lib/follower.c): its position is a snapshot
-- (pg_current_snapshot()). Each poll is one statement that returns its own
-- snapshot and the rows whose transaction is visible in it but was not in
-- the previous one:
--     xid >= pg_snapshot_xmin(prev) AND NOT pg_visible_in_snapshot(xid, prev)
-- so a row is read once, after its transaction committed, whatever order
-- sequence numbers and commits came in (a later seq committing before an
-- earlier one is no gap: the earlier one is read when its commit becomes
-- visible). seq only orders the rows of one poll.
--
-- Retention: change_log_prune() deletes rows older than its argument whose
-- transaction every snapshot sees as finished, and records the highest
-- deleted xid in change_log_horizon. A follower whose previous snapshot
-- could still have needed a deleted row (horizon >= its xmin) starts over
-- (rebuild, or drop every answer), as after a lost connection.

CREATE TABLE change_log (
    seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at timestamptz NOT NULL DEFAULT now(),
    topic text NOT NULL CHECK (topic ~ '^[a-z_]{1,32}$'),  -- 'match', 'cache'
    payload text NOT NULL
);
-- the followers' read: a topic's rows from an xid on
CREATE INDEX change_log_follow ON change_log (topic, xid);
-- pruning by age; BRIN costs next to nothing per insert
CREATE INDEX change_log_at ON change_log USING brin (at);

CREATE TABLE change_log_horizon (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    pruned_xid xid8 NOT NULL DEFAULT '0'::xid8
);
INSERT INTO change_log_horizon DEFAULT VALUES;

-- Delete what is older than keep and finished for everyone; one daemon at a
-- time (the others skip), nothing on a standby. The number of rows deleted.
CREATE FUNCTION change_log_prune(keep interval) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    gone bigint := 0;
    top xid8;
BEGIN
    IF pg_is_in_recovery() OR NOT pg_try_advisory_xact_lock(hashtext('change_log_prune')) THEN
        RETURN 0;
    END IF;
    WITH d AS (
        DELETE FROM change_log
        WHERE at < now() - keep AND xid < pg_snapshot_xmin(pg_current_snapshot())
        RETURNING xid)
    SELECT count(*), max(xid) INTO gone, top FROM d;
    IF top IS NOT NULL THEN
        UPDATE change_log_horizon SET pruned_xid = greatest(pruned_xid, top);
    END IF;
    RETURN gone;
END $$;

-- ---------- the match index (was NOTIFY purposed_match, 0006) ----------

CREATE OR REPLACE FUNCTION match_notify_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO change_log (topic, payload) VALUES ('match', TG_ARGV[0] || ':' || NEW.id);
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.id IS DISTINCT FROM NEW.id) THEN
        INSERT INTO change_log (topic, payload) VALUES ('match', TG_ARGV[0] || ':' || OLD.id);
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION match_notify_agent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        INSERT INTO change_log (topic, payload) VALUES ('match', 'a:' || NEW.agent_id);
    END IF;
    IF TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.agent_id IS DISTINCT FROM NEW.agent_id) THEN
        INSERT INTO change_log (topic, payload) VALUES ('match', 'a:' || OLD.agent_id);
    END IF;
    RETURN NULL;
END $$;

-- engagement_purposes: one row per statement and engagement (a new
-- engagement's three purposes are one row, not three)
DROP TRIGGER match_engagement_purposes_notify ON engagement_purposes;
DROP FUNCTION match_notify_engagement();
CREATE FUNCTION match_log_engagement_purposes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO change_log (topic, payload)
        SELECT DISTINCT 'match', 'e:' || engagement_id FROM new_rows;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO change_log (topic, payload)
        SELECT DISTINCT 'match', 'e:' || engagement_id FROM old_rows;
    ELSE
        INSERT INTO change_log (topic, payload)
        SELECT 'match', 'e:' || engagement_id
        FROM (SELECT engagement_id FROM old_rows UNION SELECT engagement_id FROM new_rows) u;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER match_engagement_purposes_insert AFTER INSERT ON engagement_purposes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION match_log_engagement_purposes();
CREATE TRIGGER match_engagement_purposes_update AFTER UPDATE ON engagement_purposes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION match_log_engagement_purposes();
CREATE TRIGGER match_engagement_purposes_delete AFTER DELETE ON engagement_purposes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION match_log_engagement_purposes();

-- ---------- the answer cache (was NOTIFY purposed_cache, 0009) ----------

CREATE OR REPLACE FUNCTION cache_notify_ids(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    list text := array_to_string(ARRAY(SELECT DISTINCT i FROM unnest(ids) AS i ORDER BY 1), ',');
BEGIN
    IF list IS NULL OR list = '' THEN
        RETURN;
    ELSIF length(list) > 7000 THEN   -- past that many ids, dropping everything is cheaper
        INSERT INTO change_log (topic, payload) VALUES ('cache', '*');
    ELSE
        INSERT INTO change_log (topic, payload) VALUES ('cache', 'e:' || list);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION cache_notify_engagements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO change_log (topic, payload) VALUES ('cache', 'l');
    ELSIF TG_OP = 'TRUNCATE' THEN
        INSERT INTO change_log (topic, payload) VALUES ('cache', '*');
    ELSE -- UPDATE, DELETE: the ids before the change (an id never changes)
        PERFORM cache_notify_ids(ARRAY(SELECT id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION cache_notify_engagement_purposes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO change_log (topic, payload) VALUES ('cache', '*');
    ELSIF TG_OP = 'INSERT' THEN
        PERFORM cache_notify_ids(ARRAY(SELECT engagement_id FROM new_rows));
    ELSIF TG_OP = 'DELETE' THEN
        PERFORM cache_notify_ids(ARRAY(SELECT engagement_id FROM old_rows));
    ELSE
        PERFORM cache_notify_ids(ARRAY(SELECT engagement_id FROM old_rows
                                       UNION SELECT engagement_id FROM new_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE OR REPLACE FUNCTION cache_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO change_log (topic, payload) VALUES ('cache', '*');
    RETURN NULL;
END $$;
