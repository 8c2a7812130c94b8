-- 0051_search_query_plpgsql: search_query (0014) in PL/pgSQL, the same
-- function otherwise (same conditions, same result for every query).
--
-- The search statement is planned per call, so the planner folds each
-- search_query($7) in it into a constant, one call per occurrence (seven
-- in engagements_search since 0050). An SQL-language function with a SET
-- clause cannot be inlined, and each such call at planning parsed and
-- planned its body again: ~50 us a call, ~0.35 ms of a search's planning.
-- PL/pgSQL keeps its compiled body and statement plans for the session:
-- seven calls at planning 0.38-0.50 -> 0.09-0.13 ms (EXPLAIN of a
-- statement with seven calls, bench data set). The SET keeps the notice
-- of a query of stop words only ("doesn't contain lexemes") from the
-- client, as before.
CREATE OR REPLACE FUNCTION search_query(q text) RETURNS tsquery
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET client_min_messages TO 'warning'
AS $$
DECLARE
    w tsquery := websearch_to_tsquery('purposed', coalesce(q, ''));
BEGIN
    IF q ~ '[^\s"()|!&:*-]$'                                           -- ends in a word
       AND q !~ '(^|\s)-\S*$'                                          -- not a negated one
       AND (char_length(q) - char_length(replace(q, '"', ''))) % 2 = 0 -- not in a phrase
       AND w::text ~ '''(?:[^'']|''''){3,}''$'                         -- of 3 letters or more
    THEN
        RETURN regexp_replace(w::text, '(''(?:[^'']|'''')*'')$', '\1:*')::tsquery;
    END IF;
    RETURN w;
END $$;
