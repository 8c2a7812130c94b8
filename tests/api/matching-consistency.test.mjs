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
import { assertSame, expectedForAgents as formulaForAgents, expectedForEngagements as formulaForEngagements }
  from './match-formula.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const get = async (base, path, token) => {
  const res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
};

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

// The formula in SQL and the comparison: tests/api/match-formula.mjs.
const expectedForAgents = (ids) => formulaForAgents(sql, ids, LIMIT);
const expectedForEngagements = (ids) => formulaForEngagements(sql, ids, LIMIT);

test('the index ranks exactly as the formula computed in SQL, both ways, on a few thousand random rows', async () => {
  const run = unique('mc');
  const seed = Math.round(Math.random() * 1e6) / 1e6;
  const where = `(run ${run}, setseed(${seed}))`;
  const owner = await newUser('Olga Owner');
  const callers = [];
  for (let i = 0; i < N_CALLERS; i++) callers.push(await newUser(`Caller ${i}`));
  const sentinel = await newUser('Sentinel');

  insertFixtures(run, seed, owner.id, callers.map((c) => c.id));
  await sleep(100);  // connections closed while psql blocked (see compare)
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
    // The SQL above is synchronous (psql): on a slow machine it blocks the
    // event loop longer than the daemon keeps an idle connection
    // (CONNECTION_TIMEOUT, 30 s). Let fetch see the connections the daemon
    // closed meanwhile, or it reuses a closed one ("other side closed").
    await sleep(100);
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
