-- 0043_remote_engagements: what remote organisations send is kept as rows of
-- organisations and engagements (docs/federation.md, "On the receiving
-- side"), so the one list, search and match code reads them with the local
-- ones. 0038 kept them in remote_engagements, a table of their own that only
-- GET /remote-engagements read.
--
-- A remote organisation is an organisations row with remote_actor_id: its
-- slug made here from its name at home and its host, its charter versions in
-- organisation_charters as fetched from its home (lib/fed_remote.c), no
-- members. A remote engagement is an engagements row of it with origin_uri
-- (the object's id at home, which Update and Delete name) and origin_url
-- (its page there).

ALTER TABLE organisations
    ADD COLUMN remote_actor_id bigint UNIQUE REFERENCES remote_actors (id);
ALTER TABLE engagements
    ADD COLUMN origin_uri text UNIQUE
        CHECK (origin_uri IS NULL OR (origin_uri ~ '^https?://' AND char_length(origin_uri) <= 1000)),
    ADD COLUMN origin_url text
        CHECK (origin_url IS NULL OR (origin_url ~ '^https?://' AND char_length(origin_url) <= 1000));

-- A free slug for a remote organisation: "river-keepers-a-example" from its
-- preferredUsername and host, "-2", "-3"… when taken.
CREATE FUNCTION remote_organisation_slug(p_username text, p_uri text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    base text := trim(both '-' from regexp_replace(
                     lower(coalesce(nullif(p_username, ''), 'organisation') || '-'
                           || coalesce(substring(p_uri from '^https?://([^/]+)'), 'remote')),
                     '[^a-z0-9]+', '-', 'g'));
    s text;
    n integer := 1;
BEGIN
    base := trim(both '-' from left(base, 58));
    IF base = '' THEN base := 'remote'; END IF;
    s := base;
    WHILE EXISTS (SELECT 1 FROM organisations WHERE slug = s) LOOP
        n := n + 1;
        s := base || '-' || n;
    END LOOP;
    RETURN s;
END $$;

-- The organisations row of remote actor p_actor, made from what is known of
-- the actor when there is none yet (its charter and the rest come when its
-- document is fetched: the 'remote_organisation' job). NULL when the actor
-- is no organisation (a Person followed from here is never made one).
CREATE FUNCTION remote_organisation(p_actor bigint) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    o bigint;
BEGIN
    SELECT id INTO o FROM organisations WHERE remote_actor_id = p_actor;
    IF FOUND THEN RETURN o; END IF;
    INSERT INTO organisations (slug, name, purpose_statement, legal_form, governance,
                               remote_actor_id)
    SELECT remote_organisation_slug(a.username, a.uri),
           left(coalesce(nullif(a.name, ''), nullif(a.username, ''), a.uri), 200),
           left(coalesce(nullif(a.name, ''), nullif(a.username, ''), a.uri), 5000),
           'other', 'other', a.id
      FROM remote_actors a WHERE a.id = p_actor AND a.type IN ('Group', 'Organization')
    ON CONFLICT (remote_actor_id) DO NOTHING
    RETURNING id INTO o;
    IF o IS NULL THEN
        SELECT id INTO o FROM organisations WHERE remote_actor_id = p_actor;
    END IF;
    RETURN o;
END $$;

-- What 0038 kept arrives again: each remote organisation followed is fetched
-- (its document, charter and outbox of open engagements) by a job.
SELECT job_enqueue('remote_organisation', jsonb_build_object('actor_id', f.actor_id))
  FROM remote_follows f;
DROP FUNCTION IF EXISTS remote_engagement_json(remote_engagements, remote_actors);

-- Agreements across instances (0042, which arrives with this one) name the
-- remote engagement proposed on by agreements.remote_engagement_id: from
-- here that is the id of its engagements row. No agreement names a row of
-- the old table yet (both migrations are new together): say so if one does.
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM agreements WHERE remote_engagement_id IS NOT NULL) THEN
        RAISE EXCEPTION 'an agreement names a remote_engagements row: migrate it by hand';
    END IF;
END $$;
ALTER TABLE agreements DROP CONSTRAINT agreements_remote_engagement_id_fkey;
DROP TABLE remote_engagements;
ALTER TABLE agreements ADD CONSTRAINT agreements_remote_engagement_id_fkey
    FOREIGN KEY (remote_engagement_id) REFERENCES engagements (id);

-- What 0038's table gave, read from the rows (a view: one place keeps them).
-- The agreements code reads it (server/handlers/agreements.c,
-- lib/fed_agreements.c, agreement_engagement_json); a hidden one is none.
CREATE VIEW remote_engagements AS
    SELECT e.id, o.remote_actor_id AS actor_id, e.origin_uri AS object_uri, e.origin_url AS url,
           e.title, e.description, e.status, e.hours_per_week, e.remote_ok,
           e.created_at AS published_at, e.created_at AS received_at, e.updated_at
      FROM engagements e JOIN organisations o ON o.id = e.organisation_id
     WHERE e.origin_uri IS NOT NULL AND o.remote_actor_id IS NOT NULL AND NOT e.hidden;

-- The other way: when an organisation of this instance changes (a new
-- charter version, its name…), its remote followers are sent an Update of
-- its Group, and fetch it again. One 'federate_organisation' job whatever
-- the number of remote followers (as engagements, 0041); the job writes the
-- deliveries (lib/fed_remote.c).
CREATE FUNCTION organisations_federate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.remote_actor_id IS NULL AND NEW.version <> OLD.version
       AND EXISTS (SELECT 1 FROM remote_followers WHERE organisation_id = NEW.id) THEN
        PERFORM job_enqueue('federate_organisation', jsonb_build_object('organisation_id', NEW.id));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER organisations_federate AFTER UPDATE ON organisations
    FOR EACH ROW EXECUTE FUNCTION organisations_federate();
