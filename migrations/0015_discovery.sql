-- 0015_discovery: search that finds what people type (docs/search.md).
--  * Skills become a vocabulary: skill_catalogue holds one row per canonical
--    key (NFKC, trimmed, inner whitespace collapsed, lower case, accents
--    removed) with its display name (the first spelling seen, accents kept).
--    agents and engagements keep their own spelling in `skills` (pages and
--    matching's explanations show it) and reference the catalogue through
--    `skill_keys`, kept by a trigger that adds new keys to the catalogue.
--    Filters and matching compare keys: "python", "Python " and "PYTHON"
--    are one skill.
--  * Full text over what people type: an engagement's `search` covers its
--    title (A), organisation name, skills and place (B) and description (C),
--    in the text search configuration `purposed` (English stems over
--    unaccented words: "educacion" finds "educación"). It is kept by a
--    trigger, since the organisation's name lives in another table.
--  * search_terms: the words people can be pointed to when nothing matches
--    ("did you mean"), by trigram similarity (pg_trgm).

CREATE EXTENSION IF NOT EXISTS unaccent;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- unaccent() is STABLE (its dictionary could change); with the dictionary
-- named it gives the same answer for the same text, which indexes and
-- generated columns need.
CREATE FUNCTION search_unaccent(t text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT unaccent('unaccent'::regdictionary, t)
$$;

CREATE TEXT SEARCH CONFIGURATION purposed (COPY = english);
ALTER TEXT SEARCH CONFIGURATION purposed
    ALTER MAPPING FOR hword, hword_part, word WITH unaccent, english_stem;

-- ---------- skills ----------

-- The spelling kept for display: NFKC, trimmed, runs of white space as one space.
CREATE FUNCTION skill_display(s text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT regexp_replace(regexp_replace(normalize(s, NFKC), '^\s+|\s+$', '', 'g'), '\s+', ' ', 'g')
$$;

-- The canonical key: the display spelling, lower case, without accents.
CREATE FUNCTION skill_key(s text) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE STRICT AS $$
    SELECT search_unaccent(lower(skill_display(s)))
$$;

CREATE TABLE skill_catalogue (
    key        text PRIMARY KEY CHECK (key <> '' AND char_length(key) <= 100),
    name       text NOT NULL CHECK (name <> '' AND char_length(name) <= 100),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- prefix suggestions in key order: key COLLATE "C" LIKE 'pyt%'
CREATE INDEX skill_catalogue_prefix_idx ON skill_catalogue (key COLLATE "C");

-- A list of skills as given -> their display spellings, one per key, in the
-- order given (the first spelling of a repeated key wins), and their keys in
-- the same order; new keys join the catalogue.
CREATE FUNCTION skill_list_normalise(wanted text[], OUT names text[], OUT keys text[])
    LANGUAGE plpgsql AS $$
BEGIN
    SELECT coalesce(array_agg(w.name ORDER BY w.i), '{}'), coalesce(array_agg(w.key ORDER BY w.i), '{}')
      INTO names, keys
      FROM (SELECT DISTINCT ON (skill_key(s)) skill_key(s) AS key, skill_display(s) AS name, i
              FROM unnest(wanted) WITH ORDINALITY AS u(s, i)
             WHERE skill_key(s) <> ''
             ORDER BY skill_key(s), i) w;
    INSERT INTO skill_catalogue (key, name)
        SELECT k, n FROM unnest(keys, names) AS u(k, n)
        ON CONFLICT (key) DO NOTHING;
END $$;

ALTER TABLE agents ADD COLUMN skill_keys text[] NOT NULL DEFAULT '{}';
ALTER TABLE engagements ADD COLUMN skill_keys text[] NOT NULL DEFAULT '{}';

CREATE FUNCTION skills_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n text[];
    k text[];
BEGIN
    SELECT l.names, l.keys INTO n, k FROM skill_list_normalise(NEW.skills) l;
    NEW.skills := n;
    NEW.skill_keys := k;
    RETURN NEW;
END $$;
CREATE TRIGGER agents_skills_fill BEFORE INSERT OR UPDATE OF skills ON agents
    FOR EACH ROW EXECUTE FUNCTION skills_fill();

-- ---------- full text ----------

-- What a person typed -> a tsquery: web search syntax (websearch_to_tsquery:
-- "quoted phrase", -not, or), every word stemmed and unaccented, and the last
-- word a prefix when it is a plain word still being typed, of 3 letters or
-- more once stemmed ("pyth" finds "python"; "teaching", stemmed to "teach",
-- finds "teacher"; "a" would be every word in "a"). Only stop
-- words ("the", "and") -> an empty query, which callers treat as no text at
-- all. IMMUTABLE like websearch_to_tsquery itself, so a plan made per call
-- holds it as a constant the planner can estimate. The NOTICE PostgreSQL
-- gives for a query of stop words is not news: client_min_messages.
CREATE FUNCTION search_query(q text) RETURNS tsquery
    LANGUAGE sql IMMUTABLE PARALLEL SAFE SET client_min_messages = warning AS $$
    SELECT CASE
        WHEN q ~ '[^\s"()|!&:*-]$'                                       -- ends in a word
         AND q !~ '(^|\s)-\S*$'                                          -- not a negated one
         AND (char_length(q) - char_length(replace(q, '"', ''))) % 2 = 0 -- not in a phrase
         AND w::text ~ '''(?:[^'']|''''){3,}''$'                         -- of 3 letters or more
        THEN regexp_replace(w::text, '(''(?:[^'']|'''')*'')$', '\1:*')::tsquery
        ELSE w END
      FROM websearch_to_tsquery('purposed', coalesce(q, '')) AS w
$$;

-- The words worth suggesting: titles, organisation names, skills, places.
CREATE TABLE search_terms (
    term text PRIMARY KEY CHECK (char_length(term) BETWEEN 3 AND 60)
);
CREATE INDEX search_terms_trgm_idx ON search_terms USING gin (term gin_trgm_ops);

CREATE FUNCTION search_terms_add(t text) RETURNS void LANGUAGE sql AS $$
    INSERT INTO search_terms (term)
    SELECT DISTINCT lower(p.token) FROM ts_parse('default', coalesce(t, '')) AS p
     WHERE p.tokid IN (1, 2, 10, 11) AND char_length(p.token) BETWEEN 3 AND 60
    ON CONFLICT DO NOTHING
$$;

ALTER TABLE engagements DROP COLUMN search;
ALTER TABLE engagements ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector;

CREATE FUNCTION engagement_search_fill() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    n text[];
    k text[];
    org text;
BEGIN
    IF TG_OP = 'INSERT' OR NEW.skills IS DISTINCT FROM OLD.skills THEN
        SELECT l.names, l.keys INTO n, k FROM skill_list_normalise(NEW.skills) l;
        NEW.skills := n;
        NEW.skill_keys := k;
    END IF;
    SELECT o.name INTO org FROM organisations o WHERE o.id = NEW.organisation_id;
    NEW.search := setweight(to_tsvector('purposed', NEW.title), 'A')
               || setweight(to_tsvector('purposed', coalesce(org, '')), 'B')
               || setweight(to_tsvector('purposed', array_to_string(NEW.skills, ' ')), 'B')
               || setweight(to_tsvector('purposed', coalesce(NEW.location, '')), 'B')
               || setweight(to_tsvector('purposed', NEW.description), 'C');
    IF TG_OP = 'INSERT' OR NEW.title IS DISTINCT FROM OLD.title
       OR NEW.skills IS DISTINCT FROM OLD.skills OR NEW.location IS DISTINCT FROM OLD.location THEN
        PERFORM search_terms_add(NEW.title || ' ' || array_to_string(NEW.skills, ' ')
                                 || ' ' || coalesce(NEW.location, ''));
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER engagements_search_fill
    BEFORE INSERT OR UPDATE OF title, description, skills, location, organisation_id ON engagements
    FOR EACH ROW EXECUTE FUNCTION engagement_search_fill();

-- An organisation's new name is searched in its engagements too.
CREATE FUNCTION organisation_search_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM search_terms_add(NEW.name);
    IF TG_OP = 'UPDATE' THEN
        UPDATE engagements SET organisation_id = organisation_id WHERE organisation_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER organisations_search_follow AFTER INSERT OR UPDATE OF name ON organisations
    FOR EACH ROW EXECUTE FUNCTION organisation_search_follow();

-- ---------- the data there is ----------

UPDATE agents SET skills = skills;
SELECT search_terms_add(name) FROM organisations;
UPDATE engagements SET title = title;

DROP INDEX IF EXISTS agents_skills_idx;
DROP INDEX IF EXISTS engagements_skills_idx;
CREATE INDEX agents_skill_keys_idx ON agents USING gin (skill_keys);
CREATE INDEX engagements_skill_keys_idx ON engagements USING gin (skill_keys);
-- Open engagements are what nearly every search asks for: their own index
-- spares intersecting the matches with 40,000 open ones (bench data set).
CREATE INDEX engagements_search_open_idx ON engagements USING gin (search) WHERE status = 'open';
CREATE INDEX engagements_search_idx ON engagements USING gin (search);
