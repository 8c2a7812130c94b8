-- skill_list_normalise looks each skill up by its key, one index probe per
-- skill, instead of joining the list to the whole catalogue.
--
-- The join's plan was made once per connection and kept (PL/pgSQL caches a
-- generic plan); made while the catalogue was small or empty, it was a hash
-- join that read the whole catalogue on every call. A connection that fills
-- the catalogue as it goes (the bench generator: 1,000,000 agents in one
-- transaction at scale 10, measured at about 1,400 rows per 30 s) kept that
-- plan until the end. A lookup by primary key has one sensible plan whatever
-- the table's size or statistics.
--
-- Same result as 0034's: keys and names in the order given, the first
-- spelling of a key kept, blanks dropped, a merged key replaced (one hop) by
-- the kept one with its name, new keys added to the catalogue.
CREATE OR REPLACE FUNCTION skill_list_normalise(wanted text[], OUT names text[], OUT keys text[])
    LANGUAGE plpgsql AS $$
DECLARE
    s text;
    k text;
    merged text;
    kept_key text;
    kept_name text;
BEGIN
    names := '{}';
    keys := '{}';
    FOREACH s IN ARRAY coalesce(wanted, '{}') LOOP
        k := skill_key(s);
        CONTINUE WHEN k IS NULL OR k = '';
        merged := NULL;
        kept_key := NULL;
        kept_name := NULL;
        SELECT c.merged_into INTO merged FROM skill_catalogue c WHERE c.key = k;
        IF merged IS NOT NULL THEN
            SELECT t.key, t.name INTO kept_key, kept_name FROM skill_catalogue t WHERE t.key = merged;
        END IF;
        k := coalesce(kept_key, k);
        CONTINUE WHEN k = ANY (keys);
        keys := keys || k;
        names := names || coalesce(kept_name, skill_display(s));
    END LOOP;
    INSERT INTO skill_catalogue (key, name)
        SELECT u.k, u.n FROM unnest(keys, names) AS u(k, n)
        ON CONFLICT (key) DO NOTHING;
END $$;
