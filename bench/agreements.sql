-- bench/agreements.sql: agreements in every state, for whatever agreements schema
-- the migrations define (run by bench/generate after generate.sql; same psql
-- variables). Candidate values are built in temp tables under many plausible
-- column names; pg_temp.fill() copies those the real table has, casting through
-- text, and skips a table (with a warning) whose required columns it cannot fill.
\set ON_ERROR_STOP 1
SET client_min_messages = notice;
SET session_replication_role = replica;

SELECT to_regclass('public.agreements') IS NOT NULL AS has_agreements \gset
\if :has_agreements
\else
\warn agreements: no agreements table yet, skipped
\quit
\endif

SELECT format($f$CREATE FUNCTION pg_temp.r(i bigint, salt int) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT (hashint8extended(i, salt::bigint + %s) & 9007199254740991)::float8 / 9007199254740992.0'$f$,
    (:seed)::bigint * 1000) \gexec

-- The values a CHECK constraint allows for a column (status IN ('a', 'b') or = ANY (ARRAY[...])).
CREATE FUNCTION pg_temp.allowed(tbl text, col text) RETURNS text[] LANGUAGE sql STABLE AS $$
    SELECT coalesce(array_agg(DISTINCT m[1]), '{}') FROM pg_constraint c,
           regexp_matches(pg_get_constraintdef(c.oid), '''([a-z_]+)''', 'g') m
    WHERE c.conrelid = to_regclass(tbl) AND c.contype = 'c'
      AND pg_get_constraintdef(c.oid) ~ ('\m' || col || '\M')
      AND pg_get_constraintdef(c.oid) !~ '~'  -- not a regex check
$$;

-- Insert into target every row of source, for the columns both have.
CREATE FUNCTION pg_temp.fill(target text, source text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
    cols text := '';
    vals text := '';
    missing text := '';
    override text := '';
    rec record;
    n bigint;
BEGIN
    FOR rec IN
        SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, a.attnotnull,
               a.atthasdef, a.attidentity, a.attgenerated,
               EXISTS (SELECT 1 FROM pg_attribute s WHERE s.attrelid = to_regclass(source)
                       AND s.attname = a.attname AND s.attnum > 0 AND NOT s.attisdropped) AS have
        FROM pg_attribute a
        WHERE a.attrelid = to_regclass(target) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attnum
    LOOP
        CONTINUE WHEN rec.attgenerated <> '';
        IF rec.have THEN
            cols := cols || CASE WHEN cols = '' THEN '' ELSE ', ' END || quote_ident(rec.attname);
            vals := vals || CASE WHEN vals = '' THEN '' ELSE ', ' END
                    || format('s.%I::text::%s', rec.attname, rec.type);
            IF rec.attidentity = 'a' THEN override := ' OVERRIDING SYSTEM VALUE'; END IF;
        ELSIF rec.attnotnull AND NOT rec.atthasdef AND rec.attidentity = '' THEN
            missing := missing || ' ' || rec.attname;
        END IF;
    END LOOP;
    IF missing <> '' THEN
        RAISE WARNING 'bench: % skipped, no values for required columns:%', target, missing;
        RETURN 0;
    END IF;
    BEGIN
        EXECUTE format('INSERT INTO %s (%s)%s SELECT %s FROM %s s', target, cols, override, vals, source);
        GET DIAGNOSTICS n = ROW_COUNT;
        RAISE NOTICE 'bench: % rows in %', n, target;
    EXCEPTION WHEN others THEN
        RAISE WARNING 'bench: % skipped: %', target, SQLERRM;
        RETURN -1;
    END;
    IF override <> '' THEN
        EXECUTE format('SELECT setval(pg_get_serial_sequence(%L, ''id''), (SELECT max(id) FROM %s))', target, target);
    END IF;
    RETURN n;
END $$;

-- Status: every state the schema allows, in plausible proportions.
CREATE TEMP TABLE states AS
SELECT s, coalesce((SELECT w FROM (VALUES ('proposed', 20), ('active', 35), ('concluded', 25),
                   ('declined', 10), ('withdrawn', 10)) v(n, w) WHERE v.n = s), 5) AS w
FROM unnest(coalesce(nullif(pg_temp.allowed('agreements', 'status'), '{}'),
                     ARRAY['proposed', 'active', 'declined', 'withdrawn', 'concluded'])) s;
CREATE TEMP TABLE state_ranges AS
SELECT s, (sum(w) OVER (ORDER BY s) - w)::float8 / sum(w) OVER () AS lo,
          sum(w) OVER (ORDER BY s)::float8 / sum(w) OVER () AS hi FROM states;
SELECT string_agg(s, ', ' ORDER BY s) AS agreement_states FROM states \gset
\warn agreements: states :agreement_states

CREATE TEMP TABLE tmp_agreements AS
SELECT g AS id, ag AS agent_id, org AS organisation_id, eng AS engagement_id, st AS status,
       side AS proposed_by,
       CASE WHEN side = 'agent' THEN ag ELSE ow END AS proposed_by_account,
       CASE WHEN side = 'agent' THEN ag ELSE ow END AS proposed_by_account_id,
       CASE WHEN side = 'agent' THEN ag ELSE ow END AS created_by,
       (ARRAY['Facilitator', 'Field researcher', 'Data steward', 'Coordinator', 'Designer',
              'Mentor', 'Treasurer', 'Translator'])[1 + floor(8 * pg_temp.r(g, 203))::int] AS role,
       (ARRAY['employment', 'partnership', 'consulting', 'interim', 'volunteer'])[1 + floor(5 * pg_temp.r(g, 204))::int] AS packaging,
       (ARRAY[2, 4, 4, 8, 8, 12, 16, 20, 24, 32])[1 + floor(10 * pg_temp.r(g, 205))::int] AS hours_per_week,
       'We agree to work together on ' || (SELECT lower(p.name) FROM purposes p WHERE p.id = pur)
           || '. Reviews every ' || (2 + floor(10 * pg_temp.r(g, 206))::int) || ' weeks; either side may ask for a change.' AS terms,
       json_build_object('non_cash', ARRAY['learning', 'network'])::text AS rewards,
       ARRAY[(SELECT p.slug FROM purposes p WHERE p.id = pur)] AS purposes,
       (t0 - make_interval(days => floor(300 * pg_temp.r(g, 207))::int))::date AS starts_on,
       CASE WHEN pg_temp.r(g, 208) < 0.6 THEN (t0 + make_interval(days => floor(200 * pg_temp.r(g, 208))::int))::date END AS review_on,
       nv AS version, nv AS current_version, nv AS terms_version,
       CASE WHEN st IN ('active', 'concluded') THEN nv
            WHEN st = 'proposed' AND nv > 1 THEN nv - 1 END AS active_version,
       created, created + make_interval(days => nv) AS updated_at, created AS created_at,
       CASE WHEN st IN ('active', 'concluded') THEN created + interval '2 days' END AS accepted_at,
       CASE WHEN st = 'concluded' THEN created + interval '90 days' END AS concluded_at,
       CASE WHEN st = 'declined' THEN created + interval '3 days' END AS declined_at,
       CASE WHEN st = 'withdrawn' THEN created + interval '1 day' END AS withdrawn_at,
       CASE WHEN st = 'concluded' THEN pg_temp.r(g, 209) < 0.85 END AS agent_commitments_kept,
       CASE WHEN st = 'concluded' THEN pg_temp.r(g, 210) < 0.85 END AS organisation_commitments_kept
FROM (SELECT g, 1 + ((g::bigint * 7) % :n_agents) AS ag, o.id AS org, ow.account_id AS ow,
             CASE WHEN pg_temp.r(g, 211) < 0.7 THEN (SELECT min(e.id) FROM engagements e WHERE e.organisation_id = o.id) END AS eng,
             (SELECT s FROM state_ranges WHERE pg_temp.r(g, 212) >= lo AND pg_temp.r(g, 212) < hi) AS st,
             CASE WHEN pg_temp.r(g, 213) < 0.5 THEN 'agent' ELSE 'organisation' END AS side,
             (SELECT min(op.purpose_id) FROM organisation_purposes op WHERE op.organisation_id = o.id) AS pur,
             1 + floor(3 * pg_temp.r(g, 214) ^ 2)::int AS nv,
             timestamptz '2026-11-01 00:00:00+00' AS t0,
             timestamptz '2026-11-01 00:00:00+00' - make_interval(days => 30 + floor(330 * pg_temp.r(g, 215))::int) AS created
      FROM (SELECT g, 1 + floor(m.n * pg_temp.r(g, 216) ^ 2)::bigint AS org_id
            FROM generate_series(1, :n_agreements) g, (SELECT max(id) AS n FROM organisations) m) gg
      JOIN organisations o ON o.id = gg.org_id
      JOIN memberships ow ON ow.organisation_id = o.id AND ow.role = 'owner') x;
-- one agreement per agent and organisation (the open ones must be unique)
DELETE FROM tmp_agreements a WHERE EXISTS (SELECT 1 FROM tmp_agreements b WHERE b.agent_id = a.agent_id
    AND b.organisation_id = a.organisation_id AND b.id < a.id);

SELECT pg_temp.fill('agreements', 'tmp_agreements') AS n \gset
SELECT :n > 0 AS filled \gset
\if :filled
\else
\quit
\endif

-- Tables that reference agreements: versions, closures, purposes.
CREATE TEMP TABLE tmp_agreement_versions AS
SELECT a.id AS agreement_id, v AS version, a.role, a.packaging, a.hours_per_week, a.terms, a.rewards,
       a.purposes, a.starts_on, a.review_on, a.proposed_by, a.proposed_by_account, a.proposed_by_account_id,
       a.created_by, a.proposed_by_account AS changed_by, a.proposed_by_account AS author_id,
       a.proposed_by_account AS author_account_id,
       a.created_at + make_interval(days => v - 1) AS created_at,
       a.created_at + make_interval(days => v - 1) AS changed_at,
       CASE WHEN v = a.version THEN a.status ELSE 'superseded' END AS status,
       CASE WHEN v > 1 THEN 'Amended hours and review date.' END AS change_note
FROM tmp_agreements a, generate_series(1, a.version) v;
CREATE TEMP TABLE tmp_agreement_closures AS
SELECT a.id AS agreement_id, s.side, s.side AS party,
       CASE WHEN s.side = 'agent' THEN a.agent_commitments_kept ELSE a.organisation_commitments_kept END AS commitments_kept,
       'Thank you for the work together.' AS note,
       CASE WHEN s.side = 'agent' THEN a.agent_id END AS closed_by_agent,
       a.proposed_by_account AS closed_by, a.proposed_by_account AS account_id,
       a.concluded_at AS closed_at, a.concluded_at AS created_at
FROM tmp_agreements a, (VALUES ('agent'), ('organisation')) s(side) WHERE a.status = 'concluded';
CREATE TEMP TABLE tmp_agreement_version_purposes AS
SELECT v.agreement_id, v.version, p.id AS purpose_id
FROM tmp_agreement_versions v JOIN purposes p ON p.slug = v.purposes[1];
CREATE TEMP TABLE tmp_agreement_purposes AS
SELECT a.id AS agreement_id, p.id AS purpose_id, 50 AS energy
FROM tmp_agreements a JOIN purposes p ON p.slug = a.purposes[1];

-- Fill the tables that hang off agreements (directly or through another such
-- table), parents first, from the candidate table their name suggests.
WITH RECURSIVE dep(tbl, depth) AS (
    SELECT c.conrelid, 1 FROM pg_constraint c
    WHERE c.contype = 'f' AND c.confrelid = 'agreements'::regclass AND c.conrelid <> 'agreements'::regclass
    UNION
    SELECT c.conrelid, d.depth + 1 FROM pg_constraint c JOIN dep d ON c.confrelid = d.tbl
    WHERE c.contype = 'f' AND c.conrelid <> c.confrelid AND c.conrelid <> 'agreements'::regclass AND d.depth < 3
), named AS (
    SELECT tbl::regclass::text AS t, max(depth) AS depth,
           CASE WHEN tbl::regclass::text ~ 'version_purpose' THEN 'tmp_agreement_version_purposes'
                WHEN tbl::regclass::text ~ 'version' THEN 'tmp_agreement_versions'
                WHEN tbl::regclass::text ~ 'closure' THEN 'tmp_agreement_closures'
                WHEN tbl::regclass::text ~ 'purpose' THEN 'tmp_agreement_purposes' END AS src
    FROM dep GROUP BY tbl
)
SELECT format('SELECT %L AS "table", pg_temp.fill(%L, %L) AS rows', t, t, src)
FROM named WHERE src IS NOT NULL ORDER BY depth, t \gexec
