-- bench/generate.sql: the bench data set, made inside PostgreSQL by bench/generate
-- (psql variables: seed, n_purposes, n_skills, n_orgs, n_agents, n_engagements,
-- n_agreements, n_follows, n_agent_sessions, n_member_sessions, pwhash).
-- Every random choice is pg_temp.r(i, salt): a hash of (row, salt, seed), so the
-- data set depends on the seed only, never on plan or evaluation order.
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SET synchronous_commit = off;
SET work_mem = '64MB';
SET maintenance_work_mem = '256MB';
-- Bulk load without per-row trigger work (foreign keys, the deferred energy
-- check): the data is built to satisfy them, and the checks at the end verify it.
SET session_replication_role = replica;

SELECT format($f$CREATE FUNCTION pg_temp.r(i bigint, salt int) RETURNS float8
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT (hashint8extended(i, salt::bigint + %s) & 9007199254740991)::float8 / 9007199254740992.0'$f$,
    (:seed)::bigint * 1000) \gexec
CREATE FUNCTION pg_temp.pick(a text[], x float8) RETURNS text LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS 'SELECT a[1 + floor(x * cardinality(a))::int]';
CREATE FUNCTION pg_temp.slugify(s text) RETURNS text LANGUAGE sql IMMUTABLE
    AS $$SELECT btrim(left(regexp_replace(lower(s), '[^a-z0-9]+', '-', 'g'), 50), '-')$$;

CREATE TEMP TABLE lists AS SELECT
    ARRAY['Ada','Amara','Ana','Aziz','Bea','Bilal','Carla','Chen','Dara','Diego','Elif','Emeka',
          'Fatima','Femi','Gita','Hana','Hugo','Ines','Ivan','Jana','Joao','Kai','Kofi','Lea',
          'Lina','Luca','Maya','Mehdi','Mira','Nadia','Noor','Omar','Pia','Priya','Rafael','Rosa',
          'Sami','Sara','Tariq','Tomas','Uma','Vera','Wei','Yara','Yusuf','Zoe']::text[] AS first_names,
    ARRAY['Adeyemi','Bauer','Costa','Dubois','Eriksen','Fischer','Garcia','Haddad','Ibrahim',
          'Jensen','Kowalski','Laurent','Moreau','Nakamura','Okafor','Petrov','Quispe','Rossi',
          'Santos','Tanaka','Urban','Varga','Weber','Xu','Yilmaz','Zhang','Mensah','Novak',
          'Silva','Lindqvist']::text[] AS last_names,
    ARRAY['Berlin','Lisbon','Nairobi','Lagos','Accra','Madrid','Lyon','Porto','Utrecht',
          'Copenhagen','Warsaw','Prague','Vienna','Zurich','Milan','Athens','Istanbul','Cairo',
          'Bogota','Lima','Quito','Mexico City','Montreal','Toronto','Portland','Austin',
          'Bangalore','Pune','Jakarta','Manila','Hanoi','Seoul','Kyoto','Melbourne','Auckland',
          'Cape Town','Kigali','Dakar','Tunis','Helsinki']::text[] AS cities,
    ARRAY['Clean water','Open science','Soil health','Renewable energy','Ocean restoration',
          'Urban forests','Early literacy','Mental health','Refugee inclusion','Food security',
          'Circular economy','Digital rights','Public health','Biodiversity','Fair housing',
          'Civic participation','Climate adaptation','Sustainable transport','Elder care',
          'Youth employment','Open source software','Local journalism','Plastic reduction',
          'Indigenous languages','Wildlife corridors','Community energy','Disability access',
          'Financial inclusion','Peacebuilding','Regenerative farming']::text[] AS causes,
    ARRAY['in rural communities','in cities','for children','for women and girls',
          'across borders','in coastal regions','for small farmers','in schools',
          'for migrants','through open data']::text[] AS scopes,
    ARRAY['python','javascript','c','rust','sql','data-analysis','statistics','gis','ux-design',
          'graphic-design','illustration','copywriting','editing','translation','grant-writing',
          'fundraising','accounting','bookkeeping','legal','contracts','policy','advocacy',
          'campaigning','community-organising','facilitation','coaching','mentoring','teaching',
          'curriculum-design','research','field-research','interviewing','surveying','photography',
          'video','podcasting','social-media','marketing','public-relations','event-planning',
          'logistics','procurement','operations','project-management','product-management',
          'agile','sociocracy','holacracy','hr','recruiting','volunteer-coordination','nursing',
          'first-aid','counselling','social-work','agronomy','permaculture','forestry','hydrology',
          'water-engineering','solar-installation','electrical','carpentry','plumbing','architecture',
          'urban-planning','energy-modelling','climate-science','ecology','marine-biology',
          'chemistry','epidemiology','public-speaking','negotiation','mediation','sales',
          'partnerships','impact-measurement','devops','security']::text[] AS skill_bases,
    ARRAY['water','health','energy','education','climate','food','housing','finance','media',
          'justice','ocean','forests','cities','youth','elders','refugees','culture','science',
          'software','mobility','agriculture','democracy','gender','disability']::text[] AS skill_areas,
    ARRAY['Build','Design','Map','Coordinate','Lead','Support','Research','Organise','Document',
          'Translate','Facilitate','Launch','Scale','Evaluate','Teach','Measure','Restore',
          'Maintain','Fund','Prototype']::text[] AS verbs,
    ARRAY['community','open','local','regional','shared','participatory','low-cost','resilient',
          'accessible','multilingual','volunteer-run','citizen','solar','mobile','seasonal']::text[] AS adjectives,
    ARRAY['water points','seed library','learning circles','data platform','repair cafe',
          'tree nursery','health clinic','newsroom','housing cooperative','energy cooperative',
          'mentoring programme','food bank','bike workshop','reading clubs','wetland survey',
          'coral monitoring','school garden','legal aid desk','help line','microgrant fund',
          'sensor network','translation team','archive','maker space','compost network']::text[] AS nouns,
    ARRAY['You will','Together we','Our team will','The volunteers','This role will',
          'We want to','Partners will','The project will','You help us','Each week we']::text[] AS openers,
    ARRAY['map','measure','repair','teach','fund','document','translate','facilitate','design',
          'prototype','maintain','evaluate','coordinate','restore','publish','monitor','train',
          'interview','organise','support']::text[] AS actions,
    ARRAY['household water filters','community gardens','solar kiosks','rainwater tanks',
          'open datasets','literacy workshops','mangrove nurseries','bicycle routes',
          'peer support groups','legal clinics','housing repairs','school meals','vaccination drives',
          'local archives','citizen assemblies','air quality sensors','seed banks','youth councils',
          'accessible maps','language courses','compost hubs','repair guides','grant applications',
          'impact reports','field interviews','river clean-ups','energy audits','farmer cooperatives',
          'translation glossaries','mentoring circles']::text[] AS objects,
    ARRAY['with neighbours','across three districts','in partnership with schools',
          'for the next season','with local government','using open tools','on weekends',
          'with farmers and fishers','alongside youth leaders','in two languages',
          'with a small grant','before the rainy season','with health workers',
          'for families on low incomes','across the region']::text[] AS contexts,
    ARRAY['Riverside','Northern','Commons','Green','Open','Blue','Common Ground','Sunrise','Harbour',
          'Highland','Delta','Meadow','Lighthouse','Bridge','Root','Canopy','Tide','Ember','Compass',
          'Orchard']::text[] AS org_prefixes,
    ARRAY['Water','Learning','Energy','Health','Futures','Commons','Data','Housing','Food','Ocean',
          'Forest','Justice','Care','Mobility','Culture']::text[] AS org_nouns,
    ARRAY['Cooperative','Collective','Foundation','Trust','Network','Alliance','Lab','Guild',
          'Initiative','Society']::text[] AS org_kinds,
    ARRAY['We decide by consent in weekly circles.','Roles are elected for one year.',
          'Everyone may propose; objections must be reasoned.','Salaries are transparent.',
          'We meet in person once a quarter.','Conflicts go to a mediation circle first.',
          'Decisions and minutes are published to all members.','Newcomers have a buddy for three months.',
          'We work asynchronously and document everything.','Anyone can call a retrospective.']::text[] AS norms,
    ARRAY['learning','network','credit','equity','mentoring','housing','meals','travel',
          'certificate','reference letter']::text[] AS non_cash,
    ARRAY['employment','partnership','consulting','interim','volunteer']::text[] AS packagings,
    ARRAY['for_purpose_enterprise','cooperative','nonprofit','foundation','b_corp','company',
          'informal','other']::text[] AS legal_forms,
    ARRAY['holacracy','sociocracy','teal','consent_based','traditional','other']::text[] AS governances,
    ARRAY['EUR','USD','GBP','CHF','KES','BRL']::text[] AS currencies,
    -- specific words with a long tail, so searches range from common to rare
    ARRAY['biochar','drip irrigation','ferrocement','moodle','openstreetmap','kobotoolbox','qgis',
          'postgis','arduino','lorawan','solar pumps','mangroves','seagrass','kelp','agroforestry',
          'cover crops','vermicompost','aquaponics','beekeeping','pollinators','wetlands','peatland',
          'rewilding','heat pumps','microgrids','e-bikes','cargo bikes','community fridges',
          'tool libraries','time banks','participatory budgeting','citizen juries','braille',
          'sign language','easy read','dyslexia','autism','dementia','hospice','midwifery','vaccines',
          'malaria','tuberculosis','nutrition','breastfeeding','sanitation','latrines','boreholes',
          'desalination','greywater','rain gardens','green roofs','urban heat','flood maps','drought',
          'wildfire','earthquake','retrofits','insulation','tenant unions','land trusts',
          'credit unions','microfinance','mobile money','open contracting','fact-checking','podcasts',
          'community radio','zines','oral history','museums','libraries','makerspaces','e-waste',
          'textiles','upcycling','deposit return','refill stations','composting toilets',
          'school buses','safe routes','walkability','wheelchairs','prosthetics','3d printing',
          'telemedicine','peer counselling','suicide prevention','harm reduction','prison education',
          'restorative justice','legal literacy','asylum','language exchange','coding clubs',
          'robotics','astronomy','citizen science','birdwatching','coral reefs','plastic audits',
          'beach cleans','river monitoring','noise maps','data journalism','open budgets',
          'wikipedia','wikidata','linux','tableau','spreadsheets','civicrm','nextcloud','mastodon',
          'permaculture','hydroponics','seed saving','food forests','soil testing','water kiosks',
          'handwashing','menstrual health','literacy apps','sign posts']::text[] AS specifics;

-- a fixed clock, so timestamps depend on the seed only
CREATE TEMP TABLE clock AS SELECT timestamptz '2026-11-01 00:00:00+00' AS t0;

\warn purposes and skills
INSERT INTO purposes (id, slug, name, description, created_at) OVERRIDING SYSTEM VALUE
SELECT i, pg_temp.slugify(name) , name,
       name || ': people and organisations working on ' || lower(name) || '.', c.t0 - interval '2 years'
FROM (SELECT i, l.causes[1 + (i - 1) % 30] || ' ' || l.scopes[1 + ((i - 1) / 30) % 10]
             || CASE WHEN i > 300 THEN ' ' || ((i - 1) / 300)::text ELSE '' END AS name
      FROM generate_series(1, :n_purposes) i, lists l) x, clock c;

CREATE TEMP TABLE skills AS
SELECT i AS id, l.skill_bases[1 + (i - 1) % cardinality(l.skill_bases)]
       || CASE WHEN (i - 1) / cardinality(l.skill_bases) = 0 THEN ''
               ELSE '-' || l.skill_areas[1 + ((i - 1) / cardinality(l.skill_bases) - 1) % cardinality(l.skill_areas)]
                    || CASE WHEN i > cardinality(l.skill_bases) * (1 + cardinality(l.skill_areas))
                            THEN '-' || (i / 2000)::text ELSE '' END END AS name
FROM generate_series(1, :n_skills) i, lists l;
CREATE UNIQUE INDEX ON skills (id);
ANALYZE skills;

\warn accounts and agents
INSERT INTO accounts (id, email, password_hash, display_name, created_at, updated_at) OVERRIDING SYSTEM VALUE
SELECT i, 'agent' || i || '@bench.example', :'pwhash',
       pg_temp.pick(l.first_names, pg_temp.r(i, 1)) || ' ' || pg_temp.pick(l.last_names, pg_temp.r(i, 2)),
       c.t0 - make_interval(days => floor(pg_temp.r(i, 3) * 700)::int),
       c.t0 - make_interval(days => floor(pg_temp.r(i, 3) * 700)::int)
FROM generate_series(1, :n_agents) i, lists l, clock c;

INSERT INTO agents (id, account_id, handle, headline, personal_purpose, skills, capacity_hours_per_week,
                    packagings, location, remote_ok, discoverable, show_track_record, show_follows,
                    created_at, updated_at, place_id) OVERRIDING SYSTEM VALUE
SELECT i, i,
       lower(pg_temp.pick(l.first_names, pg_temp.r(i, 1)) || '-' || pg_temp.pick(l.last_names, pg_temp.r(i, 2))) || '-' || i,
       pg_temp.pick(l.skill_bases, pg_temp.r(i, 4)) || ' for ' || lower(pg_temp.pick(l.causes, pg_temp.r(i, 5))),
       'I want to ' || pg_temp.pick(l.actions, pg_temp.r(i, 6)) || ' ' || pg_temp.pick(l.objects, pg_temp.r(i, 7))
           || ' ' || pg_temp.pick(l.contexts, pg_temp.r(i, 8)) || '.',
       ARRAY(SELECT DISTINCT s.name FROM generate_series(1, 2 + floor(pg_temp.r(i, 10) * 7)::int) k
             JOIN skills s ON s.id = 1 + floor(:n_skills * pg_temp.r(i * 16 + k, 11) ^ 2)::int ORDER BY 1),
       (ARRAY[0, 4, 8, 8, 12, 16, 16, 20, 24, 32, 40, 40, 60, 80])[1 + floor(pg_temp.r(i, 12) * 14)::int],
       coalesce(nullif(ARRAY(SELECT p FROM unnest(l.packagings) WITH ORDINALITY u(p, k)
                             WHERE pg_temp.r(i * 8 + k, 13) < (ARRAY[0.4, 0.3, 0.35, 0.2, 0.6])[k] ORDER BY k), '{}'),
                '{volunteer}'),
       CASE WHEN pg_temp.r(i, 14) < 0.8 THEN pg_temp.pick(l.cities, pg_temp.r(i, 15)) END,
       pg_temp.r(i, 16) < 0.7, pg_temp.r(i, 17) < 0.9, pg_temp.r(i, 18) < 0.8, pg_temp.r(i, 19) < 0.8,
       c.t0 - make_interval(days => floor(pg_temp.r(i, 3) * 700)::int),
       c.t0 - make_interval(days => floor(pg_temp.r(i, 3) * 600)::int),
       -- 80 % in one of the gazetteer's towns of 100,000 people or more (migration 0025)
       CASE WHEN pg_temp.r(i, 90) < 0.8 THEN pl.ids[1 + floor(pg_temp.r(i, 91) * cardinality(pl.ids))::int] END
FROM generate_series(1, :n_agents) i, lists l, clock c,
     (SELECT array_agg(id ORDER BY id) AS ids FROM places WHERE population >= 100000) pl;

-- 1–5 purposes; each share is at most 100/n, so the sum is at most 100.
INSERT INTO agent_purposes (agent_id, purpose_id, energy)
SELECT a, p, max(e) FROM (
    SELECT a, 1 + floor(:n_purposes * pg_temp.r(a * 8 + k, 20) ^ 1.5)::int AS p,
           1 + floor(pg_temp.r(a * 8 + k, 21) * (100 / n))::int AS e
    FROM (SELECT a, 1 + floor(5 * pg_temp.r(a, 22))::int AS n FROM generate_series(1, :n_agents) a) x,
         generate_series(1, x.n) k) y
GROUP BY a, p;

\warn organisations and charters
CREATE TEMP TABLE charters AS
SELECT o, v, cv,
       'We exist so that ' || lower(pg_temp.pick(l.causes, pg_temp.r(o * 4 + v, 30))) || ' '
           || pg_temp.pick(l.scopes, pg_temp.r(o * 4 + v, 31)) || ' becomes ordinary. '
           || pg_temp.pick(l.openers, pg_temp.r(o * 4 + v, 32)) || ' ' || pg_temp.pick(l.actions, pg_temp.r(o * 4 + v, 33))
           || ' ' || pg_temp.pick(l.objects, pg_temp.r(o * 4 + v, 34)) || ' ' || pg_temp.pick(l.contexts, pg_temp.r(o * 4 + v, 35))
           || '.' AS purpose_statement,
       pg_temp.pick(l.norms, pg_temp.r(o * 4 + v, 36)) || ' ' || pg_temp.pick(l.norms, pg_temp.r(o * 4 + v, 37))
           || ' ' || pg_temp.pick(l.norms, pg_temp.r(o * 4 + v, 38)) AS association_norms
FROM (SELECT o, 1 + floor(3 * pg_temp.r(o, 39))::int AS cv FROM generate_series(1, :n_orgs) o) x,
     generate_series(1, x.cv) v, lists l;

CREATE TEMP TABLE owners AS
SELECT o, 1 + ((o - 1)::bigint * 37) % :n_agents AS account_id FROM generate_series(1, :n_orgs) o;
CREATE UNIQUE INDEX ON owners (o);

INSERT INTO organisations (id, slug, name, purpose_statement, association_norms, charter_version,
                           legal_form, governance, website, location, created_at, updated_at, version)
OVERRIDING SYSTEM VALUE
SELECT ch.o, pg_temp.slugify(name) || '-' || ch.o, name, ch.purpose_statement, ch.association_norms, ch.cv,
       pg_temp.pick(l.legal_forms, pg_temp.r(ch.o, 41)), pg_temp.pick(l.governances, pg_temp.r(ch.o, 42)),
       CASE WHEN pg_temp.r(ch.o, 43) < 0.7 THEN 'https://' || pg_temp.slugify(name) || '-' || ch.o || '.example.org' END,
       CASE WHEN pg_temp.r(ch.o, 44) < 0.85 THEN pg_temp.pick(l.cities, pg_temp.r(ch.o, 45)) END,
       c.t0 - make_interval(days => 400 + floor(pg_temp.r(ch.o, 46) * 400)::int),
       c.t0 - make_interval(days => floor(pg_temp.r(ch.o, 46) * 400)::int), ch.cv
FROM charters ch, lists l, clock c,
     LATERAL (SELECT pg_temp.pick(l.org_prefixes, pg_temp.r(ch.o, 47)) || ' ' || pg_temp.pick(l.org_nouns, pg_temp.r(ch.o, 48))
                     || ' ' || pg_temp.pick(l.org_kinds, pg_temp.r(ch.o, 49)) AS name) n
WHERE ch.v = ch.cv;

INSERT INTO organisation_charters (organisation_id, version, purpose_statement, association_norms,
                                   change_note, changed_by, changed_at)
SELECT ch.o, ch.v, ch.purpose_statement, ch.association_norms,
       CASE WHEN ch.v > 1 THEN 'Revised after the members'' assembly (' || ch.v || ').' END,
       ow.account_id,
       c.t0 - make_interval(days => 400 + floor(pg_temp.r(ch.o, 46) * 400)::int) + make_interval(days => 120 * (ch.v - 1))
FROM charters ch JOIN owners ow ON ow.o = ch.o, clock c;

INSERT INTO organisation_purposes (organisation_id, purpose_id)
SELECT DISTINCT o, 1 + floor(:n_purposes * pg_temp.r(o * 4 + k, 50) ^ 1.5)::int
FROM (SELECT o, 1 + floor(3 * pg_temp.r(o, 51))::int AS n FROM generate_series(1, :n_orgs) o) x,
     generate_series(1, x.n) k;

INSERT INTO memberships (organisation_id, account_id, role, created_at)
SELECT ow.o, ow.account_id, 'owner', c.t0 - interval '800 days' FROM owners ow, clock c;
INSERT INTO memberships (organisation_id, account_id, role, created_at)
SELECT o, 1 + floor(:n_agents * pg_temp.r(o * 4 + k, 52))::int,
       CASE WHEN k = 1 THEN 'admin' ELSE 'member' END, c.t0 - interval '300 days'
FROM (SELECT o, floor(3 * pg_temp.r(o, 53))::int AS n FROM generate_series(1, :n_orgs) o) x,
     generate_series(1, x.n) k, clock c
ON CONFLICT DO NOTHING;

\warn engagements
INSERT INTO engagements (id, organisation_id, title, description, hours_per_week, duration_weeks, skills,
                         packagings, location, remote_ok, cash_min, cash_max, cash_currency, cash_period,
                         non_cash, status, created_by, created_at, updated_at, version, place_id)
OVERRIDING SYSTEM VALUE
SELECT e, org, title,
       (SELECT string_agg(pg_temp.pick(l.openers, pg_temp.r(e * 8 + k, 60)) || ' '
                          || pg_temp.pick(l.actions, pg_temp.r(e * 8 + k, 61)) || ' '
                          || pg_temp.pick(l.objects, pg_temp.r(e * 8 + k, 62)) || ' '
                          || pg_temp.pick(l.contexts, pg_temp.r(e * 8 + k, 63)) || '.', ' ' ORDER BY k)
        FROM generate_series(1, 3 + floor(4 * pg_temp.r(e, 64))::int) k)
           || ' We work with ' || pg_temp.pick(l.specifics, pg_temp.r(e, 88) ^ 1.7) || ' and '
           || pg_temp.pick(l.specifics, pg_temp.r(e, 89) ^ 1.7) || ' in ' || pg_temp.pick(l.cities, pg_temp.r(e, 71)) || '.'
           || ' Skills that help: ' || array_to_string(skills, ', ') || '.',
       (ARRAY[2, 4, 4, 6, 8, 8, 10, 12, 16, 20, 24, 32, 40])[1 + floor(13 * pg_temp.r(e, 65))::int],
       CASE WHEN pg_temp.r(e, 66) < 0.3 THEN NULL ELSE 4 + floor(48 * pg_temp.r(e, 67))::int END,
       skills,
       ARRAY(SELECT p FROM unnest(l.packagings) WITH ORDINALITY u(p, k)
             WHERE k = 1 + floor(5 * pg_temp.r(e, 68))::int OR pg_temp.r(e * 8 + k, 69) < 0.25 ORDER BY k),
       CASE WHEN pg_temp.r(e, 70) < 0.75 THEN pg_temp.pick(l.cities, pg_temp.r(e, 71)) END,
       pg_temp.r(e, 72) < 0.6,
       cash_min, cash_min * (1 + round(pg_temp.r(e, 74)::numeric, 1)),
       CASE WHEN cash_min IS NOT NULL THEN pg_temp.pick(l.currencies, pg_temp.r(e, 75)) END,
       CASE WHEN cash_min IS NOT NULL THEN (ARRAY['hour', 'month', 'month', 'total'])[1 + floor(4 * pg_temp.r(e, 76))::int] END,
       ARRAY(SELECT n FROM unnest(l.non_cash) WITH ORDINALITY u(n, k) WHERE pg_temp.r(e * 16 + k, 77) < 0.2 ORDER BY k),
       CASE WHEN pg_temp.r(e, 78) < 0.8 THEN 'open' WHEN pg_temp.r(e, 78) < 0.9 THEN 'paused' ELSE 'closed' END,
       ow.account_id, created, created, 1,
       CASE WHEN pg_temp.r(e, 92) < 0.75 THEN pl.ids[1 + floor(pg_temp.r(e, 93) * cardinality(pl.ids))::int] END
FROM (SELECT e, 1 + floor(:n_orgs * pg_temp.r(e, 79) ^ 2)::int AS org,
             c.t0 - make_interval(secs => floor(pg_temp.r(e, 80) * 365 * 86400)) AS created,
             pg_temp.pick(l.verbs, pg_temp.r(e, 81)) || ' ' || pg_temp.pick(l.adjectives, pg_temp.r(e, 82)) || ' '
                 || pg_temp.pick(l.nouns, pg_temp.r(e, 83)) || ' for ' || lower(pg_temp.pick(l.causes, pg_temp.r(e, 84))) AS title,
             ARRAY(SELECT DISTINCT s.name FROM generate_series(1, 1 + floor(pg_temp.r(e, 85) * 6)::int) k
                   JOIN skills s ON s.id = 1 + floor(:n_skills * pg_temp.r(e * 8 + k, 86) ^ 2)::int ORDER BY 1) AS skills,
             CASE WHEN pg_temp.r(e, 73) < 0.4 THEN (100 * (5 + floor(50 * pg_temp.r(e, 87))))::numeric(12, 2) END AS cash_min
      FROM generate_series(1, :n_engagements) e, clock c, lists l) x
JOIN owners ow ON ow.o = x.org, lists l,
     (SELECT array_agg(id ORDER BY id) AS ids FROM places WHERE population >= 100000) pl;

-- the organisation's purposes, and sometimes one more
-- (created_at and status are copied from the engagement, as the trigger of
-- 0007 would do; triggers are off during the bulk load)
INSERT INTO engagement_purposes (engagement_id, purpose_id, created_at, status)
SELECT x.e, x.p, en.created_at, en.status FROM (
    SELECT e.id AS e, op.purpose_id AS p FROM engagements e
    JOIN organisation_purposes op ON op.organisation_id = e.organisation_id
    UNION
    SELECT e, 1 + floor(:n_purposes * pg_temp.r(e, 90))::int FROM generate_series(1, :n_engagements) e
    WHERE pg_temp.r(e, 91) < 0.3) x
JOIN engagements en ON en.id = x.e;

\warn follows
INSERT INTO follows (agent_id, organisation_id, created_at)
SELECT a, o, min(created) FROM (
    SELECT f, 1 + floor(:n_agents * pg_temp.r(f, 100))::int AS a, 1 + floor(:n_orgs * pg_temp.r(f, 101) ^ 2)::int AS o,
           c.t0 - make_interval(secs => floor(pg_temp.r(f, 102) * 365 * 86400)) AS created
    FROM generate_series(1, (:n_follows * 13) / 10) f, clock c) x
GROUP BY a, o ORDER BY min(f) LIMIT :n_follows;

\warn sessions
-- Agent sessions use tokens 0 .. n_agent_sessions-1; member sessions (the owner
-- of an organisation with open engagements) the next n_member_sessions.
INSERT INTO sessions (account_id, token_hash, csrf_token, created_at, last_seen_at, expires_at)
SELECT 1 + ((t.n::bigint * 7919) % :n_agents), t.hash, md5('csrf' || t.n), now(), now(), now() + interval '30 days'
FROM bench.tokens t WHERE t.n < :n_agent_sessions ORDER BY t.n;

-- Each organisation's first open engagement in one pass: min(e.id) per
-- organisation as a sub-select was planned as a walk of the primary key
-- from the lowest id, filtered by organisation (the whole table for each of
-- 5,000 organisations at scale 10: the generator stalled here for hours).
CREATE TABLE bench.member_sessions AS
WITH firsts AS (SELECT e.organisation_id, min(e.id) AS engagement_id FROM engagements e
                WHERE e.status = 'open' GROUP BY e.organisation_id)
SELECT t.n, t.token, o.id AS organisation_id, o.slug, ow.account_id, o.engagement_id
FROM (SELECT o.id, o.slug, f.engagement_id, row_number() OVER (ORDER BY hashint8extended(o.id, :seed)) - 1 AS k
      FROM organisations o JOIN firsts f ON f.organisation_id = o.id) o
JOIN owners ow ON ow.o = o.id
JOIN bench.tokens t ON t.n = :n_agent_sessions + o.k
WHERE o.k < :n_member_sessions;

INSERT INTO sessions (account_id, token_hash, csrf_token, created_at, last_seen_at, expires_at)
SELECT ms.account_id, t.hash, md5('csrf' || t.n), now(), now(), now() + interval '30 days'
FROM bench.member_sessions ms JOIN bench.tokens t ON t.n = ms.n ORDER BY t.n;

-- Words and phrases for full-text queries: the specific words (common to rare),
-- the objects of sentences and single words of them (common), skills.
CREATE TABLE bench.terms AS
SELECT x AS term FROM lists l, unnest(l.specifics) x
UNION SELECT x FROM lists l, unnest(l.objects) x
UNION SELECT w FROM lists l, unnest(l.nouns) x, regexp_split_to_table(lower(x), '[^a-z]+') w
      WHERE length(w) > 3 AND w <> 'help'  -- every description says "Skills that help"
UNION SELECT x FROM lists l, unnest(l.skill_bases) x;

-- What the triggers derive when a row is written for real (skill keys, the
-- search document: migration 0015), made the way that migration makes it
-- for existing rows; and bench accounts have confirmed email addresses
-- (migration 0021), as posting engagements needs.
SET session_replication_role = origin;
UPDATE agents SET skills = skills;
UPDATE engagements SET title = title;
UPDATE engagements e SET skills = l.names, skill_keys = l.keys
  FROM engagements x CROSS JOIN LATERAL skill_list_normalise(x.skills) l
 WHERE x.id = e.id AND e.skill_keys = '{}' AND e.skills <> '{}';
UPDATE accounts SET email_verified_at = created_at WHERE email_verified_at IS NULL;

-- Identity columns continue after the ids given explicitly.
SELECT setval(pg_get_serial_sequence('accounts', 'id'), (SELECT max(id) FROM accounts));
SELECT setval(pg_get_serial_sequence('agents', 'id'), (SELECT max(id) FROM agents));
SELECT setval(pg_get_serial_sequence('purposes', 'id'), (SELECT max(id) FROM purposes));
SELECT setval(pg_get_serial_sequence('organisations', 'id'), (SELECT max(id) FROM organisations));
SELECT setval(pg_get_serial_sequence('engagements', 'id'), (SELECT max(id) FROM engagements));
