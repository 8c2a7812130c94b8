-- 0034_curation: moderators curate the shared catalogue (docs/operations.md,
-- "Curating the catalogue"): they merge a duplicate purpose or skill into a
-- kept one, rename one, retire one. References move to the kept entry in the
-- same transaction (history rows stay as they were: agreement versions name
-- the purposes agreed then); old slugs and keys lead to the kept entry; every
-- action is a row of the moderation log (0018) with what it did in `details`.

-- ---------- purposes ----------

-- merged_into: the purpose kept in its place (always the final one: merging
-- the kept one later carries its merged ones along); its row stays, for the
-- history that names it, and its slug redirects. retired_at: no longer
-- offered for new use; existing references stay and say so.
ALTER TABLE purposes
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN merged_into bigint REFERENCES purposes (id),
    ADD CONSTRAINT purposes_not_merged_into_itself CHECK (merged_into <> id);
CREATE INDEX purposes_merged_into_idx ON purposes (merged_into) WHERE merged_into IS NOT NULL;

-- Offered for new use: listed, and taken in a new reference (an
-- organisation's, an engagement's or an agent's purposes); a reference held
-- already stays when its owner sends the list again.
CREATE FUNCTION purpose_offered(p purposes) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT p.retired_at IS NULL AND p.merged_into IS NULL
$$;

-- The former slugs of renamed purposes. A slug that redirects is taken: no
-- other purpose may have it (purpose_slug_free); the purpose itself may take
-- it back.
CREATE TABLE purpose_redirects (
    slug       text PRIMARY KEY CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    purpose_id bigint NOT NULL REFERENCES purposes (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX purpose_redirects_purpose_idx ON purpose_redirects (purpose_id);

CREATE FUNCTION purpose_slug_free() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM purpose_redirects WHERE slug = NEW.slug AND purpose_id = NEW.id;
    IF EXISTS (SELECT 1 FROM purpose_redirects WHERE slug = NEW.slug) THEN
        RAISE EXCEPTION 'the slug % is a former slug of another purpose', NEW.slug
            USING ERRCODE = 'unique_violation', CONSTRAINT = 'purpose_redirects_pkey';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER purpose_slug_free BEFORE INSERT OR UPDATE OF slug ON purposes
    FOR EACH ROW EXECUTE FUNCTION purpose_slug_free();

-- Every slug a purpose had, until when: the history chain (0026) hashes
-- an agreement version's purposes by their slugs, as they were then, so a
-- rename must not change what a verifier recomputes. Append-only.
CREATE TABLE purpose_former_slugs (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    purpose_id  bigint NOT NULL REFERENCES purposes (id),
    slug        text NOT NULL,
    replaced_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX purpose_former_slugs_purpose_idx ON purpose_former_slugs (purpose_id, replaced_at, id);
CREATE TRIGGER purpose_former_slugs_append_only BEFORE UPDATE OR DELETE ON purpose_former_slugs
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The slug of purpose p_id at time t (p_current: its slug now).
CREATE FUNCTION purpose_slug_at(p_id bigint, p_current text, t timestamptz) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce((SELECT f.slug FROM purpose_former_slugs f
                      WHERE f.purpose_id = p_id AND f.replaced_at > t
                      ORDER BY f.replaced_at, f.id LIMIT 1), p_current)
$$;

-- history_entries (the content each link of an agreement's or a charter's
-- chain hashes) now takes each purpose's slug as it was when its version was
-- written: it lives in R__history.sql from here on.

-- Where a slug leads: (id, slug) of the purpose to show. The slug itself
-- when it is a purpose's and that purpose was not merged; the kept purpose
-- when it was; the renamed purpose (or what it was merged into) for a
-- former slug. No row: no such slug. One hop always: merged_into is final.
CREATE FUNCTION purpose_resolve(p_slug text) RETURNS TABLE (id bigint, slug text)
LANGUAGE sql STABLE AS $$
    SELECT t.id, t.slug
      FROM (SELECT p.id, p.merged_into, 1 AS o FROM purposes p WHERE p.slug = p_slug
            UNION ALL
            SELECT q.id, q.merged_into, 2 FROM purpose_redirects r JOIN purposes q ON q.id = r.purpose_id
             WHERE r.slug = p_slug
            ORDER BY o LIMIT 1) f
      JOIN purposes t ON t.id = coalesce(f.merged_into, f.id)
$$;

-- ---------- skills ----------

-- id: how the moderation log names a skill. merged_into: the key kept in
-- its place (final, like a purpose's); a merged key stays as an alias, so
-- a profile or an engagement naming it later gets the kept skill.
ALTER TABLE skill_catalogue
    ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY UNIQUE,
    ADD COLUMN retired_at timestamptz,
    ADD COLUMN merged_into text REFERENCES skill_catalogue (key),
    ADD CONSTRAINT skill_catalogue_not_merged_into_itself CHECK (merged_into <> key);
CREATE INDEX skill_catalogue_merged_into_idx ON skill_catalogue (merged_into)
    WHERE merged_into IS NOT NULL;

-- As in 0015, and a merged key becomes the kept one (with its name).
CREATE OR REPLACE FUNCTION skill_list_normalise(wanted text[], OUT names text[], OUT keys text[])
    LANGUAGE plpgsql AS $$
BEGIN
    SELECT coalesce(array_agg(w.name ORDER BY w.i), '{}'), coalesce(array_agg(w.key ORDER BY w.i), '{}')
      INTO names, keys
      FROM (SELECT DISTINCT ON (m.key) m.key, m.name, m.i
              FROM (SELECT coalesce(t.key, skill_key(u.s)) AS key,
                           coalesce(t.name, skill_display(u.s)) AS name, u.i
                      FROM unnest(wanted) WITH ORDINALITY AS u(s, i)
                      LEFT JOIN skill_catalogue c ON c.key = skill_key(u.s)
                      LEFT JOIN skill_catalogue t ON t.key = c.merged_into
                     WHERE skill_key(u.s) <> '') m
             ORDER BY m.key, m.i) w;
    INSERT INTO skill_catalogue (key, name)
        SELECT k, n FROM unnest(keys, names) AS u(k, n)
        ON CONFLICT (key) DO NOTHING;
END $$;

-- ---------- the log ----------

ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_action_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_action_check
    CHECK (action IN ('dismiss', 'hide', 'suspend', 'restore', 'grant_role', 'revoke_role',
                      'merge', 'rename', 'retire'));
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_subject_kind_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_subject_kind_check
    CHECK (subject_kind IN ('organisation', 'engagement', 'agent_profile', 'purpose',
                            'charter_version', 'account', 'skill'));
-- What a curation did: {into}, {from, to}, and the references it moved.
ALTER TABLE moderation_actions ADD COLUMN details jsonb NOT NULL DEFAULT '{}';

-- ---------- the actions (server/handlers/curation.c) ----------
-- Each returns (action_id, outcome) as moderation_apply does: the log row
-- and 'ok', or no id and 'not-found', 'conflict: why', 'invalid: field: why'.
-- Who may was decided before (lib/authz.c).

CREATE FUNCTION curation_log(p_moderator bigint, p_action text, p_kind text, p_id bigint,
                             p_label text, p_reason text, p_details jsonb)
RETURNS TABLE (action_id bigint, outcome text) LANGUAGE sql AS $$
    INSERT INTO moderation_actions (moderator_id, action, subject_kind, subject_id, subject_label,
                                    reason, details)
    VALUES (p_moderator, p_action, p_kind, p_id, p_label, p_reason, p_details)
    RETURNING id, 'ok'::text
$$;

-- The references of purpose p_from move to p_into: organisations' purposes,
-- agents' declared purposes (an agent with both keeps one share, the sum:
-- both were within the agent's 100), engagements' purposes, saved searches.
-- Agreement versions are history and keep naming p_from. Returns the counts.
CREATE FUNCTION curation_purpose_move(p_from purposes, p_into purposes) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    n_org integer;
    n_agent integer;
    n_eng integer;
    n_saved integer;
BEGIN
    INSERT INTO organisation_purposes (organisation_id, purpose_id)
        SELECT op.organisation_id, p_into.id FROM organisation_purposes op WHERE op.purpose_id = p_from.id
        ON CONFLICT DO NOTHING;
    DELETE FROM organisation_purposes WHERE purpose_id = p_from.id;
    GET DIAGNOSTICS n_org = ROW_COUNT;
    WITH gone AS (DELETE FROM agent_purposes WHERE purpose_id = p_from.id RETURNING agent_id, energy)
    INSERT INTO agent_purposes AS ap (agent_id, purpose_id, energy)
        SELECT g.agent_id, p_into.id, g.energy FROM gone g
        ON CONFLICT (agent_id, purpose_id) DO UPDATE SET energy = ap.energy + excluded.energy;
    GET DIAGNOSTICS n_agent = ROW_COUNT;
    INSERT INTO engagement_purposes (engagement_id, purpose_id)
        SELECT ep.engagement_id, p_into.id FROM engagement_purposes ep WHERE ep.purpose_id = p_from.id
        ON CONFLICT DO NOTHING;
    DELETE FROM engagement_purposes WHERE purpose_id = p_from.id;
    GET DIAGNOSTICS n_eng = ROW_COUNT;
    UPDATE saved_searches SET purpose = p_into.slug
     WHERE purpose = p_from.slug
        OR purpose IN (SELECT r.slug FROM purpose_redirects r WHERE r.purpose_id = p_from.id);
    GET DIAGNOSTICS n_saved = ROW_COUNT;
    RETURN jsonb_build_object('organisations', n_org, 'agents', n_agent, 'engagements', n_eng,
                              'saved_searches', n_saved);
END $$;

CREATE FUNCTION curation_purpose_merge(p_moderator bigint, p_from text, p_into text, p_reason text)
RETURNS TABLE (action_id bigint, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    f purposes;
    k purposes;
    v_moved jsonb;
BEGIN
    PERFORM 1 FROM purposes WHERE slug IN (p_from, p_into) ORDER BY id FOR UPDATE;
    SELECT * INTO f FROM purposes WHERE slug = p_from;
    SELECT * INTO k FROM purposes WHERE slug = p_into;
    IF f.id IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'not-found'::text;
        RETURN;
    ELSIF k.id IS NULL THEN
        RETURN QUERY SELECT NULL::bigint,
            'invalid: into: no such purpose' || CASE WHEN EXISTS (SELECT 1 FROM purpose_redirects r
                WHERE r.slug = p_into) THEN ' (a former slug: name the purpose by its slug now)' ELSE '' END;
        RETURN;
    ELSIF k.id = f.id THEN
        RETURN QUERY SELECT NULL::bigint, 'invalid: into: a purpose is not merged into itself'::text;
        RETURN;
    ELSIF f.merged_into IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: ' || f.slug || ' was merged into '
            || (SELECT m.slug FROM purposes m WHERE m.id = f.merged_into) || ' already';
        RETURN;
    ELSIF k.merged_into IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: ' || k.slug || ' was merged into '
            || (SELECT m.slug FROM purposes m WHERE m.id = k.merged_into) || '; merge into that one';
        RETURN;
    ELSIF k.retired_at IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: ' || k.slug
            || ' is retired; its references would move to a purpose nobody may choose';
        RETURN;
    END IF;
    v_moved := curation_purpose_move(f, k);
    UPDATE purposes SET merged_into = k.id WHERE merged_into = f.id OR id = f.id;
    RETURN QUERY SELECT * FROM curation_log(p_moderator, 'merge', 'purpose', f.id, f.slug, p_reason,
        jsonb_build_object('from', jsonb_build_object('slug', f.slug, 'name', f.name,
                                                      'retired', f.retired_at IS NOT NULL),
                           'into', jsonb_build_object('slug', k.slug, 'name', k.name),
                           'moved', v_moved));
END $$;

CREATE FUNCTION curation_purpose_rename(p_moderator bigint, p_slug text, p_name text,
                                        p_new_slug text, p_reason text)
RETURNS TABLE (action_id bigint, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    f purposes;
    v_saved integer;
BEGIN
    SELECT * INTO f FROM purposes WHERE slug = p_slug FOR UPDATE;
    IF f.id IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'not-found'::text;
        RETURN;
    ELSIF f.merged_into IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: ' || f.slug || ' was merged into '
            || (SELECT m.slug FROM purposes m WHERE m.id = f.merged_into) || '; rename that one';
        RETURN;
    ELSIF f.name = p_name AND f.slug = p_new_slug THEN
        RETURN QUERY SELECT NULL::bigint, 'invalid: name: is the purpose''s name and slug already'::text;
        RETURN;
    ELSIF EXISTS (SELECT 1 FROM purposes o WHERE o.id <> f.id
                  AND (o.slug = p_new_slug OR lower(o.name) = lower(p_name)))
       OR EXISTS (SELECT 1 FROM purpose_redirects r WHERE r.slug = p_new_slug AND r.purpose_id <> f.id) THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: another purpose has this name or slug ('
            || p_new_slug || '), or had it; merge into it instead';
        RETURN;
    END IF;
    IF p_new_slug <> f.slug THEN
        INSERT INTO purpose_redirects (slug, purpose_id) VALUES (f.slug, f.id);
        INSERT INTO purpose_former_slugs (purpose_id, slug) VALUES (f.id, f.slug);
    END IF;
    UPDATE purposes SET name = p_name, slug = p_new_slug WHERE id = f.id;
    UPDATE saved_searches SET purpose = p_new_slug WHERE purpose = f.slug AND p_new_slug <> f.slug;
    GET DIAGNOSTICS v_saved = ROW_COUNT;
    RETURN QUERY SELECT * FROM curation_log(p_moderator, 'rename', 'purpose', f.id, f.slug, p_reason,
        jsonb_build_object('from', jsonb_build_object('slug', f.slug, 'name', f.name),
                           'to', jsonb_build_object('slug', p_new_slug, 'name', p_name),
                           'moved', jsonb_build_object('saved_searches', v_saved)));
END $$;

CREATE FUNCTION curation_purpose_retire(p_moderator bigint, p_slug text, p_reason text)
RETURNS TABLE (action_id bigint, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    f purposes;
BEGIN
    SELECT * INTO f FROM purposes WHERE slug = p_slug FOR UPDATE;
    IF f.id IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'not-found'::text;
        RETURN;
    ELSIF f.merged_into IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: ' || f.slug || ' was merged into '
            || (SELECT m.slug FROM purposes m WHERE m.id = f.merged_into) || ' already';
        RETURN;
    ELSIF f.retired_at IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: ' || f.slug || ' is retired already';
        RETURN;
    END IF;
    UPDATE purposes SET retired_at = now() WHERE id = f.id;
    RETURN QUERY SELECT * FROM curation_log(p_moderator, 'retire', 'purpose', f.id, f.slug, p_reason,
        jsonb_build_object('from', jsonb_build_object('slug', f.slug, 'name', f.name)));
END $$;

-- The skill p_from's references move to p_into: the spellings of its key
-- in agents' and engagements' lists become the kept skill's name (their
-- triggers then key them again and drop a repeat), saved searches too.
CREATE FUNCTION curation_skill_move(p_from skill_catalogue, p_into skill_catalogue) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    n_agent integer;
    n_eng integer;
    n_saved integer;
BEGIN
    UPDATE agents SET skills = ARRAY(SELECT CASE WHEN skill_key(s) = p_from.key THEN p_into.name ELSE s END
                                       FROM unnest(skills) WITH ORDINALITY AS u(s, i) ORDER BY i)
     WHERE skill_keys @> ARRAY[p_from.key];
    GET DIAGNOSTICS n_agent = ROW_COUNT;
    UPDATE engagements SET skills = ARRAY(SELECT CASE WHEN skill_key(s) = p_from.key THEN p_into.name ELSE s END
                                            FROM unnest(skills) WITH ORDINALITY AS u(s, i) ORDER BY i)
     WHERE skill_keys @> ARRAY[p_from.key];
    GET DIAGNOSTICS n_eng = ROW_COUNT;
    UPDATE saved_searches SET skill = p_into.name WHERE skill_key(skill) = p_from.key;
    GET DIAGNOSTICS n_saved = ROW_COUNT;
    RETURN jsonb_build_object('agents', n_agent, 'engagements', n_eng, 'saved_searches', n_saved);
END $$;

CREATE FUNCTION curation_skill_merge(p_moderator bigint, p_from text, p_into text, p_reason text)
RETURNS TABLE (action_id bigint, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    f skill_catalogue;
    k skill_catalogue;
    v_moved jsonb;
BEGIN
    PERFORM 1 FROM skill_catalogue WHERE key IN (skill_key(p_from), skill_key(p_into))
      ORDER BY key FOR UPDATE;
    SELECT * INTO f FROM skill_catalogue WHERE key = skill_key(p_from);
    SELECT * INTO k FROM skill_catalogue WHERE key = skill_key(p_into);
    IF f.key IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'not-found'::text;
        RETURN;
    ELSIF k.key IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'invalid: into: no such skill in the catalogue'::text;
        RETURN;
    ELSIF k.key = f.key THEN
        RETURN QUERY SELECT NULL::bigint, 'invalid: into: a skill is not merged into itself'::text;
        RETURN;
    ELSIF f.merged_into IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: "' || f.name || '" was merged into "'
            || (SELECT m.name FROM skill_catalogue m WHERE m.key = f.merged_into) || '" already';
        RETURN;
    ELSIF k.merged_into IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: "' || k.name || '" was merged into "'
            || (SELECT m.name FROM skill_catalogue m WHERE m.key = k.merged_into) || '"; merge into that one';
        RETURN;
    ELSIF k.retired_at IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: "' || k.name
            || '" is retired; its references would move to a skill nobody is offered';
        RETURN;
    END IF;
    UPDATE skill_catalogue SET merged_into = k.key WHERE merged_into = f.key OR key = f.key;
    v_moved := curation_skill_move(f, k);
    RETURN QUERY SELECT * FROM curation_log(p_moderator, 'merge', 'skill', f.id, f.name, p_reason,
        jsonb_build_object('from', jsonb_build_object('key', f.key, 'name', f.name,
                                                      'retired', f.retired_at IS NOT NULL),
                           'into', jsonb_build_object('key', k.key, 'name', k.name),
                           'moved', v_moved));
END $$;

-- A new name with the same key changes the display name only (people keep
-- their own spelling of a key); a new key is a new entry of the catalogue
-- the old one is merged into.
CREATE FUNCTION curation_skill_rename(p_moderator bigint, p_target text, p_name text, p_reason text)
RETURNS TABLE (action_id bigint, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    f skill_catalogue;
    k skill_catalogue;
    v_key text := skill_key(p_name);
    v_name text := skill_display(p_name);
    v_moved jsonb := '{}';
BEGIN
    SELECT * INTO f FROM skill_catalogue WHERE key = skill_key(p_target) FOR UPDATE;
    IF f.key IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'not-found'::text;
        RETURN;
    ELSIF v_key = '' OR char_length(v_key) > 100 OR char_length(v_name) > 100 THEN
        RETURN QUERY SELECT NULL::bigint, 'invalid: name: must have letters or digits, at most 100'::text;
        RETURN;
    ELSIF f.merged_into IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: "' || f.name || '" was merged into "'
            || (SELECT m.name FROM skill_catalogue m WHERE m.key = f.merged_into) || '"; rename that one';
        RETURN;
    ELSIF v_name = f.name THEN
        RETURN QUERY SELECT NULL::bigint, 'invalid: name: is the skill''s name already'::text;
        RETURN;
    ELSIF v_key <> f.key AND EXISTS (SELECT 1 FROM skill_catalogue c WHERE c.key = v_key) THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: the catalogue has "'
            || (SELECT c.name FROM skill_catalogue c WHERE c.key = v_key) || '" already; merge into it instead';
        RETURN;
    END IF;
    IF v_key = f.key THEN
        UPDATE skill_catalogue SET name = v_name WHERE key = f.key;
    ELSE
        INSERT INTO skill_catalogue (key, name, retired_at) VALUES (v_key, v_name, f.retired_at)
            RETURNING * INTO k;
        UPDATE skill_catalogue SET merged_into = k.key WHERE merged_into = f.key OR key = f.key;
        v_moved := curation_skill_move(f, k);
    END IF;
    RETURN QUERY SELECT * FROM curation_log(p_moderator, 'rename', 'skill', f.id, f.name, p_reason,
        jsonb_build_object('from', jsonb_build_object('key', f.key, 'name', f.name),
                           'to', jsonb_build_object('key', v_key, 'name', v_name),
                           'moved', v_moved));
END $$;

CREATE FUNCTION curation_skill_retire(p_moderator bigint, p_target text, p_reason text)
RETURNS TABLE (action_id bigint, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    f skill_catalogue;
BEGIN
    SELECT * INTO f FROM skill_catalogue WHERE key = skill_key(p_target) FOR UPDATE;
    IF f.key IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'not-found'::text;
        RETURN;
    ELSIF f.merged_into IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: "' || f.name || '" was merged into "'
            || (SELECT m.name FROM skill_catalogue m WHERE m.key = f.merged_into) || '" already';
        RETURN;
    ELSIF f.retired_at IS NOT NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: "' || f.name || '" is retired already';
        RETURN;
    END IF;
    UPDATE skill_catalogue SET retired_at = now() WHERE key = f.key;
    RETURN QUERY SELECT * FROM curation_log(p_moderator, 'retire', 'skill', f.id, f.name, p_reason,
        jsonb_build_object('from', jsonb_build_object('key', f.key, 'name', f.name)));
END $$;
