-- 0009_cache: every daemon keeps whole answers of public engagement reads in
-- memory (lib/rcache.c). engagement_json reads engagements,
-- engagement_purposes, and the slug and name of organisations and purposes;
-- a statement changing those tables NOTIFYs 'purposed_cache' (delivered at
-- commit; identical payloads once per transaction) with what it changed:
--   "l"       a new engagement: every list may change, no engagement did;
--   "e:1,2"   these engagements (and so every list);
--   "*"       anything (an organisation or purpose renamed, a TRUNCATE, or
--             more ids than fit in one notification).
-- Statement-level triggers with transition tables: one notification per
-- statement, however many rows.

CREATE FUNCTION cache_notify_ids(ids bigint[]) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    list text := array_to_string(ARRAY(SELECT DISTINCT i FROM unnest(ids) AS i ORDER BY 1), ',');
BEGIN
    IF list IS NULL OR list = '' THEN
        RETURN;
    ELSIF length(list) > 7000 THEN   -- a payload must stay under 8000 bytes
        PERFORM pg_notify('purposed_cache', '*');
    ELSE
        PERFORM pg_notify('purposed_cache', 'e:' || list);
    END IF;
END $$;

CREATE FUNCTION cache_notify_engagements() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        PERFORM pg_notify('purposed_cache', 'l');
    ELSIF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('purposed_cache', '*');
    ELSE -- UPDATE, DELETE: the ids before the change (an id never changes)
        PERFORM cache_notify_ids(ARRAY(SELECT id FROM old_rows));
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION cache_notify_engagement_purposes() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM pg_notify('purposed_cache', '*');
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

CREATE FUNCTION cache_notify_all() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('purposed_cache', '*');
    RETURN NULL;
END $$;

-- A trigger with transition tables may have one event only.
CREATE TRIGGER cache_engagements_insert AFTER INSERT ON engagements
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_engagements();
CREATE TRIGGER cache_engagements_update AFTER UPDATE ON engagements
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_engagements();
CREATE TRIGGER cache_engagements_delete AFTER DELETE ON engagements
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_engagements();
CREATE TRIGGER cache_engagements_truncate AFTER TRUNCATE ON engagements
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_engagements();

CREATE TRIGGER cache_engagement_purposes_insert AFTER INSERT ON engagement_purposes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_engagement_purposes();
CREATE TRIGGER cache_engagement_purposes_update AFTER UPDATE ON engagement_purposes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_engagement_purposes();
CREATE TRIGGER cache_engagement_purposes_delete AFTER DELETE ON engagement_purposes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_engagement_purposes();
CREATE TRIGGER cache_engagement_purposes_truncate AFTER TRUNCATE ON engagement_purposes
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_engagement_purposes();

CREATE TRIGGER cache_organisations AFTER UPDATE OR DELETE OR TRUNCATE ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_all();
CREATE TRIGGER cache_purposes AFTER UPDATE OR DELETE OR TRUNCATE ON purposes
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify_all();
