-- 0009_cache: every daemon keeps whole answers of public engagement reads in
-- memory (lib/rcache.c) and drops them all when anything they are built from
-- changes. engagement_json reads engagements, engagement_purposes, and the
-- slug and name of organisations and purposes; any statement changing those
-- tables NOTIFYs 'purposed_cache' (delivered at commit, once per transaction).

CREATE FUNCTION cache_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('purposed_cache', '');
    RETURN NULL;
END $$;

CREATE TRIGGER cache_engagements
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON engagements
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER cache_engagement_purposes
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON engagement_purposes
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER cache_organisations
    AFTER UPDATE OR DELETE OR TRUNCATE ON organisations
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
CREATE TRIGGER cache_purposes
    AFTER UPDATE OR DELETE OR TRUNCATE ON purposes
    FOR EACH STATEMENT EXECUTE FUNCTION cache_notify();
