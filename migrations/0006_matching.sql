-- 0006_matching: keeps the in-memory matching index of every daemon fresh.
-- Changes NOTIFY the channel 'purposed_match' with "<kind>:<id>" (a = agent,
-- e = engagement, p = purpose, o = organisation); match_agreements is the one
-- place the matcher reads agreements from (committed hours, exclusions).

CREATE FUNCTION match_notify_id() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('purposed_match', TG_ARGV[0] || ':' || NEW.id);
    END IF;
    IF TG_OP = 'DELETE' OR OLD.id IS DISTINCT FROM NEW.id THEN
        PERFORM pg_notify('purposed_match', TG_ARGV[0] || ':' || OLD.id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION match_notify_agent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('purposed_match', 'a:' || NEW.agent_id);
    END IF;
    IF TG_OP = 'DELETE' OR OLD.agent_id IS DISTINCT FROM NEW.agent_id THEN
        PERFORM pg_notify('purposed_match', 'a:' || OLD.agent_id);
    END IF;
    RETURN NULL;
END $$;

CREATE FUNCTION match_notify_engagement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' THEN
        PERFORM pg_notify('purposed_match', 'e:' || NEW.engagement_id);
    END IF;
    IF TG_OP = 'DELETE' OR OLD.engagement_id IS DISTINCT FROM NEW.engagement_id THEN
        PERFORM pg_notify('purposed_match', 'e:' || OLD.engagement_id);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER match_agents_notify AFTER INSERT OR UPDATE OR DELETE ON agents
    FOR EACH ROW EXECUTE FUNCTION match_notify_id('a');
CREATE TRIGGER match_agent_purposes_notify AFTER INSERT OR UPDATE OR DELETE ON agent_purposes
    FOR EACH ROW EXECUTE FUNCTION match_notify_agent();
CREATE TRIGGER match_follows_notify AFTER INSERT OR UPDATE OR DELETE ON follows
    FOR EACH ROW EXECUTE FUNCTION match_notify_agent();
CREATE TRIGGER match_engagements_notify AFTER INSERT OR UPDATE OR DELETE ON engagements
    FOR EACH ROW EXECUTE FUNCTION match_notify_id('e');
CREATE TRIGGER match_engagement_purposes_notify AFTER INSERT OR UPDATE OR DELETE ON engagement_purposes
    FOR EACH ROW EXECUTE FUNCTION match_notify_engagement();
CREATE TRIGGER match_purposes_notify AFTER INSERT OR UPDATE OF name ON purposes
    FOR EACH ROW EXECUTE FUNCTION match_notify_id('p');
CREATE TRIGGER match_organisations_notify AFTER INSERT OR UPDATE OF name ON organisations
    FOR EACH ROW EXECUTE FUNCTION match_notify_id('o');

-- What matching needs of agreements: who, for which engagement, the status,
-- and the weekly hours in force (the accepted version; it stays in force
-- while an amendment is proposed), as in the portfolio.
CREATE VIEW match_agreements AS
    SELECT a.agent_id, a.organisation_id, a.engagement_id, a.status,
           CASE WHEN a.status IN ('proposed', 'active') THEN v.hours_per_week END AS committed_hours
    FROM agreements a
    LEFT JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = a.active_version;

CREATE TRIGGER match_agreements_notify AFTER INSERT OR UPDATE OR DELETE ON agreements
    FOR EACH ROW EXECUTE FUNCTION match_notify_agent();
