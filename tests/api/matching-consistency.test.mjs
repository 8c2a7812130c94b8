// matching-consistency: the index's answers equal a straightforward SQL
// computation of the formula of docs/matching.md on a few thousand random
// rows (agents with purposes, energy, skills, capacity, packagings, places
// and follows; open, paused and closed engagements). Ids, order, score and
// every reason's points are compared. The rows are fixtures inserted with SQL
// over purposes and organisations of this run only, so other tests neither
// see them in their matches nor change the answers compared here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BASE, api, newUser, sql, startDaemon, unique } from './helpers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const get = async (base, path, token) => {
  const res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
};

// The default weights (MATCH_WEIGHT_*; the test daemon sets none).
const W = { purpose: 0.45, skills: 0.20, capacity: 0.10, packaging: 0.10, location: 0.05, follows: 0.10 };
const KINDS = ['purpose', 'skills', 'capacity', 'packaging', 'location', 'follows'];

const N_PURPOSES = 8;
const N_ORGS = 40;
const N_AGENTS = 2500;
const N_ENGAGEMENTS = 1500;
const N_CALLERS = 10;      // agents signed in through the API, for /me/matches
const N_SAMPLED = 16;      // engagements asked for their agents
const LIMIT = 30;
const SKILLS = ['Rust', 'Go', 'C', 'PostgreSQL', 'Python', 'Design', 'Writing', 'Finance', 'Law', 'Teaching',
  'Carpentry', 'Nursing'];
const PACKAGINGS = ['employment', 'partnership', 'consulting', 'interim', 'volunteer'];

const arr = (xs) => `ARRAY[${xs.map((x) => `'${x}'`).join(',')}]`;

// The fixtures, in two transactions (one NOTIFY per changed row id and
// transaction). Random values come from setseed(seed): a failure names it.
function insertFixtures(run, seed, ownerId, callerIds) {
  const skills = arr(SKILLS);
  const packagings = arr(PACKAGINGS);
  sql(`
    SELECT setseed(${seed});
    INSERT INTO purposes (slug, name, description)
      SELECT '${run}-p' || g, 'Purpose ' || g || ' of ${run}', 'matching consistency'
      FROM generate_series(1, ${N_PURPOSES}) g;
    INSERT INTO organisations (slug, name, purpose_statement, legal_form, governance)
      SELECT '${run}-o' || g, 'Organisation ' || g || ' of ${run}', 'Consistency', 'cooperative', 'sociocracy'
      FROM generate_series(1, ${N_ORGS}) g;
    INSERT INTO memberships (organisation_id, account_id, role)
      SELECT id, ${ownerId}, 'owner' FROM organisations WHERE slug LIKE '${run}-o%';
    INSERT INTO accounts (email, password_hash, display_name)
      SELECT '${run}-a' || g || '@example.org', 'fixture', 'Agent ' || g FROM generate_series(1, ${N_AGENTS}) g;
    -- skills in mixed case (compared case-insensitively), places with
    -- stray spaces and case, blank places (no place at all), no capacity,
    -- no packaging, hidden agents
    INSERT INTO agents (account_id, handle, skills, capacity_hours_per_week, packagings, location, remote_ok,
                        discoverable, place_id)
      SELECT ac.id, '${run}-h' || ac.id,
        ARRAY(SELECT CASE WHEN random() < 0.5 THEN lower(s) ELSE upper(s) END
              FROM unnest(${skills}) s WHERE random() < 0.3 AND ac.id IS NOT NULL),
        floor(random() * 81)::int,
        ARRAY(SELECT p FROM unnest(${packagings}) p WHERE random() < 0.3 AND ac.id IS NOT NULL),
        (ARRAY[' berlin', 'Lisbon ', 'NAIROBI', 'Berlin', '  ', NULL, NULL])[1 + floor(random() * 7)::int],
        random() < 0.5,
        random() < 0.9,
        -- places of the gazetteer: Berlin, Potsdam (27 km), Munich (505 km), none
        (ARRAY[2950159, 2852458, 2867714, NULL, NULL])[1 + floor(random() * 5)::int]
      FROM accounts ac
      WHERE ac.email LIKE '${run}-a%' OR ac.id = ANY('{${callerIds.join(',')}}'::bigint[]);
    -- energy 1..40 over 0..8 purposes (a caller has at least one), then
    -- the purposes past a sum of 100 dropped (checked at commit)
    INSERT INTO agent_purposes (agent_id, purpose_id, energy)
      SELECT a.id, p.id, 30 FROM agents a JOIN purposes p ON p.slug = '${run}-p' || (1 + a.id % ${N_PURPOSES})
      WHERE a.account_id = ANY('{${callerIds.join(',')}}'::bigint[]);
    INSERT INTO agent_purposes (agent_id, purpose_id, energy)
      SELECT a.id, p.id, 1 + floor(random() * 40)::int
      FROM agents a JOIN purposes p ON p.slug LIKE '${run}-p%'
      WHERE a.handle LIKE '${run}-h%' AND random() < 0.3
      ON CONFLICT DO NOTHING;
    DELETE FROM agent_purposes d USING (
        SELECT ap.agent_id, ap.purpose_id, sum(ap.energy) OVER (PARTITION BY ap.agent_id
          ORDER BY (p.slug = '${run}-p' || (1 + ap.agent_id % ${N_PURPOSES})) DESC, ap.purpose_id) AS running
        FROM agent_purposes ap JOIN agents a ON a.id = ap.agent_id JOIN purposes p ON p.id = ap.purpose_id
        WHERE a.handle LIKE '${run}-h%') x
      WHERE d.agent_id = x.agent_id AND d.purpose_id = x.purpose_id AND x.running > 100;
    -- created_at shared by many (ties go to the higher id), 20% paused or closed
    INSERT INTO engagements (organisation_id, title, description, hours_per_week, skills, packagings, location,
                             remote_ok, status, created_at, place_id)
      SELECT o.id, 'Engagement ' || g, 'Consistency', 1 + floor(random() * 80)::int,
        ARRAY(SELECT s FROM unnest(${skills}) s WHERE random() < 0.2 AND g IS NOT NULL),
        ARRAY(SELECT p FROM unnest(${packagings}) WITH ORDINALITY u(p, i)
              WHERE i = 1 + g % 5 OR random() < 0.2),
        (ARRAY['Berlin ', 'lisbon', 'Nairobi', '', NULL, NULL])[1 + floor(random() * 6)::int],
        random() < 0.4,
        CASE WHEN random() < 0.8 THEN 'open' WHEN random() < 0.5 THEN 'paused' ELSE 'closed' END,
        now() - (g % 40) * interval '1 minute',
        (ARRAY[2950159, 2852458, 2867714, 3530597, NULL])[1 + floor(random() * 5)::int]
      FROM generate_series(1, ${N_ENGAGEMENTS}) g
      JOIN organisations o ON o.slug = '${run}-o' || (1 + g % ${N_ORGS});
    INSERT INTO engagement_purposes (engagement_id, purpose_id)
      SELECT e.id, p.id FROM engagements e
      JOIN organisations o ON o.id = e.organisation_id AND o.slug LIKE '${run}-o%'
      JOIN purposes p ON p.slug LIKE '${run}-p%'
      WHERE p.slug = '${run}-p' || (1 + e.id % ${N_PURPOSES}) OR random() < 0.15;
  `);
  // Follows after the engagements are committed: a new engagement notifies
  // the followers of its organisation (migration 0008), 100,000 rows here.
  sql(`
    SELECT setseed(${seed});
    INSERT INTO follows (agent_id, organisation_id)
      SELECT a.id, o.id FROM agents a JOIN organisations o ON o.slug LIKE '${run}-o%'
      WHERE a.handle LIKE '${run}-h%' AND random() < 0.08;
  `);
}

// The formula in SQL, from docs/matching.md, in numeric arithmetic (20
// decimals). Scores equal to 1e-9 tie, as in the index: 0.2 * 1/3 (one skill
// of three) and 0.1 * 34/51 (capacity) differ in the 21st decimal here and
// in the 17th in a double, and are the same score. Exact scores have small
// denominators (at most 12 skills, 80 hours), so rounding to 9 decimals
// never lands on a half: round() and the index's llround(score * 1e9) agree.
// pairs: (agent_id, engagement_id, energy) of the pairs sharing a purpose.
const SCORED = (pairs) => `
  pair AS (${pairs}),
  facts AS (
    SELECT pr.agent_id, pr.engagement_id, pr.energy, e.created_at, g.handle,
      (SELECT count(DISTINCT lower(s)) FROM unnest(e.skills) s) AS asked,
      (SELECT count(DISTINCT lower(s)) FROM unnest(e.skills) s
        WHERE lower(s) IN (SELECT lower(t) FROM unnest(g.skills) t)) AS has,
      greatest(g.capacity_hours_per_week - coalesce((SELECT sum(m.committed_hours) FROM match_agreements m
        WHERE m.agent_id = g.id), 0), 0) AS available,
      e.hours_per_week AS hours,
      g.packagings && e.packagings AS packaging,
      CASE WHEN gp.id IS NOT NULL AND ep.id IS NOT NULL THEN
             CASE WHEN g.remote_ok AND e.remote_ok THEN 1
                  ELSE greatest(0, 1 - place_distance_km(gp.latitude, gp.longitude, ep.latitude, ep.longitude)::numeric / 100) END
           WHEN (nullif(lower(btrim(g.location)), '') = nullif(lower(btrim(e.location)), ''))
                IS TRUE OR (g.remote_ok AND e.remote_ok) THEN 1 ELSE 0 END AS location,
      EXISTS (SELECT 1 FROM follows f WHERE f.agent_id = g.id AND f.organisation_id = e.organisation_id) AS follows
    FROM pair pr
    JOIN agents g ON g.id = pr.agent_id
    JOIN engagements e ON e.id = pr.engagement_id
    LEFT JOIN places gp ON gp.id = g.place_id
    LEFT JOIN places ep ON ep.id = e.place_id
    WHERE NOT EXISTS (SELECT 1 FROM match_agreements m WHERE m.agent_id = g.id AND m.engagement_id = e.id
                      AND m.status IN ('proposed', 'active'))),
  points AS (
    SELECT *,
      ${W.purpose} * least(energy, 100) / 100.0 AS p_purpose,
      ${W.skills} * CASE WHEN asked = 0 THEN 1 ELSE has::numeric / asked END AS p_skills,
      ${W.capacity} * CASE WHEN available >= hours THEN 1 ELSE available::numeric / hours END AS p_capacity,
      ${W.packaging} * packaging::int AS p_packaging,
      ${W.location} * location AS p_location,
      ${W.follows} * follows::int AS p_follows
    FROM facts),
  scored AS (
    SELECT *, p_purpose + p_skills + p_capacity + p_packaging + p_location + p_follows AS score FROM points)`;

const COLUMNS = 'score, p_purpose, p_skills, p_capacity, p_packaging, p_location, p_follows';

// Expected top LIMIT engagements for each caller: Map(agent id -> [{id, score, points}]).
function expectedForAgents(agentIds) {
  const rows = sql(`WITH ${SCORED(`
      SELECT ap.agent_id, ep.engagement_id, sum(ap.energy) AS energy
      FROM agent_purposes ap JOIN engagement_purposes ep ON ep.purpose_id = ap.purpose_id
      JOIN engagements e ON e.id = ep.engagement_id AND e.status = 'open'
      WHERE ap.agent_id = ANY('{${agentIds.join(',')}}'::bigint[])
      GROUP BY ap.agent_id, ep.engagement_id`)},
    ranked AS (SELECT *, row_number() OVER (PARTITION BY agent_id
                 ORDER BY round(score, 9) DESC, created_at DESC, engagement_id DESC) AS rank FROM scored)
    SELECT agent_id, engagement_id, ${COLUMNS} FROM ranked WHERE rank <= ${LIMIT} ORDER BY agent_id, rank`);
  return group(rows);
}

// Expected top LIMIT agents for each engagement: Map(engagement id -> [{id: handle, ...}]).
function expectedForEngagements(engagementIds) {
  const rows = sql(`WITH ${SCORED(`
      SELECT ap.agent_id, ep.engagement_id, sum(ap.energy) AS energy
      FROM engagement_purposes ep JOIN agent_purposes ap ON ap.purpose_id = ep.purpose_id
      JOIN agents g ON g.id = ap.agent_id AND g.discoverable
      JOIN accounts ac ON ac.id = g.account_id AND ac.deleted_at IS NULL
      WHERE ep.engagement_id = ANY('{${engagementIds.join(',')}}'::bigint[])
      GROUP BY ap.agent_id, ep.engagement_id`)},
    ranked AS (SELECT *, row_number() OVER (PARTITION BY engagement_id
                 ORDER BY round(score, 9) DESC, agent_id) AS rank FROM scored)
    SELECT engagement_id, handle, ${COLUMNS} FROM ranked WHERE rank <= ${LIMIT} ORDER BY engagement_id, rank`);
  return group(rows);
}

function group(rows) {
  const out = new Map();
  for (const [key, id, ...nums] of rows) {
    const [score, ...points] = nums.map(Number);
    if (!out.has(key)) out.set(key, []);
    out.get(key).push({ id: String(id), score, points });
  }
  return out;
}

// Compare an API answer with the SQL one: same ids in the same order, the
// same score and points to 1e-9.
function assertSame(label, items, toId, expected) {
  const got = items.map(toId);
  const want = expected.map((x) => x.id);
  assert.deepEqual(got, want, `${label}: ids and order`);
  items.forEach((item, i) => {
    const e = expected[i];
    assert.ok(Math.abs(item.score - e.score) < 1e-9, `${label} #${i + 1} (${e.id}): score ${item.score}, SQL ${e.score}`);
    assert.deepEqual(item.reasons.map((r) => r.kind), KINDS);
    item.reasons.forEach((r, k) => assert.ok(Math.abs(r.points - e.points[k]) < 1e-9,
      `${label} #${i + 1} (${e.id}): ${r.kind} points ${r.points}, SQL ${e.points[k]}`));
  });
}

test('the index ranks exactly as the formula computed in SQL, both ways, on a few thousand random rows', async () => {
  const run = unique('mc');
  const seed = Math.round(Math.random() * 1e6) / 1e6;
  const where = `(run ${run}, setseed(${seed}))`;
  const owner = await newUser('Olga Owner');
  const callers = [];
  for (let i = 0; i < N_CALLERS; i++) callers.push(await newUser(`Caller ${i}`));
  const sentinel = await newUser('Sentinel');

  insertFixtures(run, seed, owner.id, callers.map((c) => c.id));
  // A later transaction: once its engagement is matched, the index has
  // applied everything committed before it.
  sql(`
    INSERT INTO purposes (slug, name) VALUES ('${run}-sentinel', 'Sentinel of ${run}');
    INSERT INTO agents (account_id, handle, discoverable) VALUES (${sentinel.id}, '${run}-sentinel', false);
    INSERT INTO agent_purposes (agent_id, purpose_id, energy)
      SELECT a.id, p.id, 10 FROM agents a, purposes p WHERE a.handle = '${run}-sentinel' AND p.slug = '${run}-sentinel';
    INSERT INTO engagements (organisation_id, title, description, hours_per_week, packagings)
      SELECT id, 'Sentinel', 'Sentinel', 1, '{volunteer}' FROM organisations WHERE slug = '${run}-o1';
    INSERT INTO engagement_purposes (engagement_id, purpose_id)
      SELECT e.id, p.id FROM engagements e JOIN organisations o ON o.id = e.organisation_id AND o.slug = '${run}-o1',
        purposes p WHERE e.title = 'Sentinel' AND p.slug = '${run}-sentinel';
  `);
  const [[sentinelEngagement]] = sql(`SELECT e.id FROM engagements e JOIN organisations o ON o.id = e.organisation_id
    WHERE o.slug = '${run}-o1' AND e.title = 'Sentinel'`);
  const started = Date.now();
  for (;;) {
    const res = await api('GET', '/api/v1/me/matches', { token: sentinel.token });
    assert.equal(res.status, 200, res.text);
    if (res.body.items.some((i) => String(i.engagement.id) === sentinelEngagement)) break;
    assert.ok(Date.now() - started < 10000, `the index did not pick up the fixtures in 10 s ${where}`);
    await sleep(50);
  }

  const counts = sql(`SELECT
      (SELECT count(*) FROM agents WHERE handle LIKE '${run}-h%'),
      (SELECT count(*) FROM agent_purposes ap JOIN agents a ON a.id = ap.agent_id WHERE a.handle LIKE '${run}-h%'),
      (SELECT count(*) FROM follows f JOIN agents a ON a.id = f.agent_id WHERE a.handle LIKE '${run}-h%'),
      (SELECT count(*) FROM engagements e JOIN organisations o ON o.id = e.organisation_id
        WHERE o.slug LIKE '${run}-o%' AND e.status <> 'open')`)[0].map(Number);
  assert.equal(counts[0], N_AGENTS + N_CALLERS);
  assert.ok(counts[1] > N_AGENTS && counts[2] > 1000 && counts[3] > 100, `fixtures ${counts}`);

  // what SQL says: engagements for each caller (/me/matches), then agents for
  // sampled engagements
  const agentIds = sql(`SELECT account_id, id FROM agents
    WHERE account_id = ANY('{${callers.map((c) => c.id).join(',')}}'::bigint[])`);
  const agentOf = new Map(agentIds.map(([account, id]) => [account, id]));
  const wantMine = expectedForAgents(agentIds.map(([, id]) => id));
  const notOpen = new Set(sql(`SELECT e.id FROM engagements e JOIN organisations o ON o.id = e.organisation_id
    WHERE o.slug LIKE '${run}-o%' AND e.status <> 'open'`).map(([id]) => id));
  // (mostly open, some paused or closed: the engagement direction ranks for
  // any engagement its members ask about)
  const sample = sql(`SELECT e.id FROM engagements e JOIN organisations o ON o.id = e.organisation_id
    WHERE o.slug LIKE '${run}-o%' AND e.title <> 'Sentinel'
    ORDER BY (e.status = 'open') DESC, md5(e.id::text || '${run}') LIMIT ${N_SAMPLED - 3}`).map(([id]) => id)
    .concat([...notOpen].slice(0, 3));
  const wantAgents = expectedForEngagements(sample);
  const hidden = new Set(sql(`SELECT handle FROM agents WHERE handle LIKE '${run}-h%' AND NOT discoverable`)
    .map(([h]) => h));
  assert.ok(hidden.size > 100);

  async function compare(base, which) {
    let compared = 0;
    for (const caller of callers) {
      const agentId = agentOf.get(String(caller.id));
      const res = await get(base, `/api/v1/me/matches?limit=${LIMIT}`, caller.token);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const expected = wantMine.get(agentId) ?? [];
      assert.ok(res.body.items.every((i) => !notOpen.has(String(i.engagement.id))),
        `${which}: paused or closed matched ${where}`);
      assertSame(`${which}: /me/matches of agent ${agentId} ${where}`, res.body.items,
        (i) => String(i.engagement.id), expected);
      compared += expected.length;
    }
    assert.ok(compared >= N_CALLERS * LIMIT / 2, `only ${compared} engagements compared`);
    compared = 0;
    for (const id of sample) {
      const res = await get(base, `/api/v1/engagements/${id}/matches?limit=${LIMIT}`, owner.token);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.items.every((i) => !hidden.has(i.agent.handle)), `${which}: a hidden agent matched ${where}`);
      const expected = wantAgents.get(id) ?? [];
      assertSame(`${which}: /engagements/${id}/matches ${where}`, res.body.items, (i) => i.agent.handle, expected);
      compared += expected.length;
    }
    assert.ok(compared >= N_SAMPLED * LIMIT / 2, `only ${compared} agents compared`);
  }

  // the index that took the fixtures from notifications
  await compare(BASE, 'updated index');
  // and one built from scratch at start-up (a second daemon on the database)
  const fresh = await startDaemon();
  try {
    await compare(fresh.base, 'built index');
  } finally {
    await fresh.stop();
  }
  assert.doesNotMatch(fresh.log(), /runtime error|Sanitizer/);
});
