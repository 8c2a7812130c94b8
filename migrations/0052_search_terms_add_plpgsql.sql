-- 0052_search_terms_add_plpgsql: search_terms_add (0015) in PL/pgSQL, the
-- same statement otherwise.
--
-- engagement_search_fill calls it on every new engagement (and when its
-- title, skills or place change). An SQL-language function called from
-- PL/pgSQL parsed and planned its INSERT again in every transaction; in
-- PL/pgSQL the plan is kept for the session. One engagement's insert, each
-- in its own transaction (a procedure inserting and rolling back 2,000
-- times, timed inside the backend, alternated three times, bench data
-- set): 0.93-1.06 -> 0.82-0.98 ms.
CREATE OR REPLACE FUNCTION search_terms_add(t text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO search_terms (term)
    SELECT DISTINCT lower(p.token) FROM ts_parse('default', coalesce(t, '')) AS p
     WHERE p.tokid IN (1, 2, 10, 11) AND char_length(p.token) BETWEEN 3 AND 60
    ON CONFLICT DO NOTHING;
END $$;
