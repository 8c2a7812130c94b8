-- 0050_engagement_search: the documents of open, visible engagements in a
-- table of their own, newest first, for full-text search
-- (server/handlers/engagements.c, q_list_search; docs/search.md, "Speed").
--
-- A search keeps the 200 newest matches and ranks them. The newest of a
-- common word come from a walk of open engagements newest first (0039: an
-- index-only scan of engagements_open_search_idx, which included each
-- document); the matches of a rare one from the GIN index, then every
-- match's row for its created_at. Both read engagements' rows or that
-- index: about 4 KB a row and 2.6 KB an index entry at scale 10 (1,984 MB
-- and 1,041 MB for 500,000 engagements, most of them beyond
-- shared_buffers), so a walked entry cost ~3 us and a match's row ~6 us.
-- This table holds what a search reads and nothing else (740 bytes a row,
-- 282 MB for 400,000 open engagements, its rows in creation order): at
-- scale 10, EXPLAIN ANALYZE of the 275 bench terms, a walked row ~0.8 us,
-- a match's row ~1.5 us; the mean search 10.0 -> 6.4 ms.
--
-- Kept by a trigger on engagements, also under session_replication_role =
-- replica (bulk loads): a row exactly while the engagement is open and not
-- hidden, with its created_at and search. It carries organisation_id and
-- references its engagement by (organisation_id, id), like
-- engagement_purposes (docs/scaling.md: distributed by organisation).
-- It replaces the index 0039 made and the partial GIN index of open
-- engagements (0015); searches of other statuses, the suggestions and the
-- nearest-first list use engagements_search_idx as before.
CREATE TABLE engagement_search (
    organisation_id bigint NOT NULL,
    engagement_id bigint NOT NULL,
    created_at timestamptz NOT NULL,
    search tsvector NOT NULL,
    PRIMARY KEY (organisation_id, engagement_id),
    CONSTRAINT engagement_search_engagement_fkey FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES engagements (organisation_id, id) ON DELETE CASCADE
);

INSERT INTO engagement_search (organisation_id, engagement_id, created_at, search)
SELECT organisation_id, id, created_at, search FROM engagements
 WHERE status = 'open' AND NOT hidden
 ORDER BY created_at, id;

CREATE INDEX engagement_search_newest_idx ON engagement_search (created_at DESC, engagement_id DESC);
CREATE INDEX engagement_search_idx ON engagement_search USING gin (search);

CREATE FUNCTION engagement_search_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'open' AND NOT NEW.hidden THEN
        INSERT INTO engagement_search (organisation_id, engagement_id, created_at, search)
        VALUES (NEW.organisation_id, NEW.id, NEW.created_at, NEW.search)
        ON CONFLICT (organisation_id, engagement_id)
        DO UPDATE SET created_at = EXCLUDED.created_at, search = EXCLUDED.search;
    ELSIF TG_OP = 'UPDATE' THEN
        DELETE FROM engagement_search
         WHERE organisation_id = OLD.organisation_id AND engagement_id = OLD.id;
    END IF;
    RETURN NULL;
END $$;

-- After the row is written (search is filled by engagements_search_fill,
-- a BEFORE trigger, so "UPDATE OF search" would not see it: the WHEN does).
CREATE TRIGGER engagements_search_sync_insert AFTER INSERT ON engagements
    FOR EACH ROW EXECUTE FUNCTION engagement_search_sync();
CREATE TRIGGER engagements_search_sync_update AFTER UPDATE ON engagements
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status
                    OR OLD.hidden IS DISTINCT FROM NEW.hidden
                    OR OLD.created_at IS DISTINCT FROM NEW.created_at
                    OR OLD.search IS DISTINCT FROM NEW.search)
    EXECUTE FUNCTION engagement_search_sync();
ALTER TABLE engagements ENABLE ALWAYS TRIGGER engagements_search_sync_insert;
ALTER TABLE engagements ENABLE ALWAYS TRIGGER engagements_search_sync_update;

DROP INDEX engagements_open_search_idx;
DROP INDEX engagements_search_open_idx;

ANALYZE engagement_search;
