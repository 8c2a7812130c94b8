// agents: the agent profile (PUT/GET /me/agent), the energy split over
// purposes (PUT /me/agent/purposes, at most 100 in total even under
// concurrency), the directory and public profiles, and the demo data.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { api, newUser, problemFields, sql, startDaemon, unique } from './helpers.mjs';

// A purpose in the catalogue (through the API), returns its slug.
async function newPurpose(token) {
  const res = await api('POST', '/api/v1/purposes', {
    token, body: { name: unique('Purpose'), description: 'for agent tests' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

function agentBody(overrides = {}) {
  return {
    handle: unique('agent'),
    headline: 'Facilitator for water commons',
    personal_purpose: 'Help communities own their infrastructure.',
    skills: ['facilitation', 'Hydraulics'],
    capacity_hours_per_week: 20,
    packagings: ['partnership', 'volunteer'],
    location: 'Accra',
    remote_ok: true,
    discoverable: true,
    show_track_record: true,
    ...overrides,
  };
}

// A signed-in user with an agent profile: {user, agent}.
async function newAgent(overrides = {}) {
  const user = await newUser('Agent Person');
  const res = await api('PUT', '/api/v1/me/agent', { token: user.token, body: agentBody(overrides) });
  assert.equal(res.status, 200, res.text);
  return { user, agent: res.body };
}

test('PUT /me/agent creates the agent: 200, ETag, version 1, no email anywhere', async () => {
  const user = await newUser('Maya Test');
  const body = agentBody();
  const res = await api('PUT', '/api/v1/me/agent', { token: user.token, body });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('etag'), '"1"');
  assert.equal(res.body.version, 1);
  assert.equal(res.body.handle, body.handle);
  assert.equal(res.body.display_name, 'Maya Test');
  assert.deepEqual(res.body.skills, body.skills);
  assert.deepEqual(res.body.packagings, body.packagings);
  assert.equal(res.body.capacity_hours_per_week, 20);
  assert.equal(res.body.location, 'Accra');
  assert.equal(res.body.show_follows, false, 'show_follows left out: private');
  assert.deepEqual(res.body.purposes, []);
  assert.deepEqual(res.body.track_record, { concluded: 0, commitments_kept: 0 });
  assert.ok(!res.text.includes(user.email), 'the email is never part of an agent');
  const rows = sql(`SELECT handle, capacity_hours_per_week, array_to_string(packagings, ',')
                    FROM agents WHERE account_id = ${user.id}`);
  assert.deepEqual(rows, [[body.handle, '20', 'partnership,volunteer']]);

  const me = await api('GET', '/api/v1/me', { token: user.token });
  assert.equal(me.body.agent.handle, body.handle);
});

test('PUT /me/agent again replaces the agent and bumps the version; one agent per account', async () => {
  const { user, agent } = await newAgent();
  const handle = unique('renamed');
  const res = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle, capacity_hours_per_week: 80, packagings: ['interim'], show_follows: false },
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.version, 2);
  assert.equal(res.headers.get('etag'), '"2"');
  assert.equal(res.body.handle, handle);
  assert.equal(res.body.headline, '', 'omitted fields are reset');
  assert.equal(res.body.location, null);
  assert.equal(res.body.show_follows, false);
  assert.deepEqual(sql(`SELECT count(*), min(handle) FROM agents WHERE account_id = ${user.id}`),
    [['1', handle]]);
  assert.equal((await api('GET', `/api/v1/agents/${agent.handle}`)).status, 404);
});

test('PUT /me/agent names every bad field and writes nothing', async () => {
  const user = await newUser();
  const res = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: {
      handle: 'Not A Handle', headline: 'x'.repeat(201), personal_purpose: 7,
      skills: 'python', capacity_hours_per_week: 81, packagings: ['boss'],
      location: 'y'.repeat(201), remote_ok: 'yes', discoverable: null, show_track_record: 1,
      show_follows: 'no', email: 'me@example.org',
    },
  });
  assert.equal(res.status, 422);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.deepEqual(problemFields(res), ['capacity_hours_per_week', 'discoverable', 'email', 'handle',
    'headline', 'location', 'packagings', 'personal_purpose', 'remote_ok', 'show_follows',
    'show_track_record', 'skills']);
  assert.deepEqual(sql(`SELECT count(*) FROM agents WHERE account_id = ${user.id}`), [['0']]);

  const missing = await api('PUT', '/api/v1/me/agent', { token: user.token, body: { headline: 'h' } });
  assert.equal(missing.status, 422);
  assert.deepEqual(problemFields(missing), ['handle']);
  const negative = await api('PUT', '/api/v1/me/agent', {
    token: user.token, body: agentBody({ capacity_hours_per_week: -1, skills: ['a', 'a'] }),
  });
  assert.deepEqual(problemFields(negative), ['capacity_hours_per_week', 'skills']);
  const notJson = await api('PUT', '/api/v1/me/agent', { token: user.token, raw: '{', headers: { 'Content-Type': 'application/json' } });
  assert.equal(notJson.status, 400);
  const wrongType = await api('PUT', '/api/v1/me/agent', { token: user.token, raw: 'handle=x', headers: { 'Content-Type': 'text/plain' } });
  assert.equal(wrongType.status, 415);
});

test('PUT /me/agent with a handle another agent uses is a 409', async () => {
  const { agent } = await newAgent();
  const user = await newUser();
  const res = await api('PUT', '/api/v1/me/agent', { token: user.token, body: agentBody({ handle: agent.handle }) });
  assert.equal(res.status, 409);
  assert.deepEqual(problemFields(res), ['handle']);
  assert.deepEqual(sql(`SELECT count(*) FROM agents WHERE account_id = ${user.id}`), [['0']]);
});

test('PUT /me/agent needs a session; a stale If-Match is a 412', async () => {
  assert.equal((await api('PUT', '/api/v1/me/agent', { body: agentBody() })).status, 401);
  const { user } = await newAgent();
  const stale = await api('PUT', '/api/v1/me/agent', {
    token: user.token, body: agentBody(), headers: { 'If-Match': '"7"' },
  });
  assert.equal(stale.status, 412);
  const fresh = await api('PUT', '/api/v1/me/agent', {
    token: user.token, body: agentBody(), headers: { 'If-Match': '"1"' },
  });
  assert.equal(fresh.status, 200);
  assert.equal(fresh.body.version, 2);
});

test('GET /me/agent: 404 before the agent exists, then the own agent with its settings', async () => {
  const user = await newUser();
  const none = await api('GET', '/api/v1/me/agent', { token: user.token });
  assert.equal(none.status, 404);
  assert.match(none.body.detail, /PUT \/api\/v1\/me\/agent/);
  assert.equal((await api('GET', '/api/v1/me/agent')).status, 401);
  const body = agentBody({ discoverable: false });
  await api('PUT', '/api/v1/me/agent', { token: user.token, body });
  const res = await api('GET', '/api/v1/me/agent', { token: user.token });
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('etag'), '"1"');
  assert.equal(res.body.handle, body.handle);
  assert.equal(res.body.discoverable, false);
  assert.equal(res.body.show_track_record, true);
});

test('PUT /me/agent/purposes sets the energy split and the profile shows it', async () => {
  const { user, agent } = await newAgent();
  const a = await newPurpose(user.token);
  const b = await newPurpose(user.token);
  const res = await api('PUT', '/api/v1/me/agent/purposes', {
    token: user.token, body: [{ purpose: a, energy: 30 }, { purpose: b, energy: 70 }],
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.map((x) => [x.purpose, x.energy]), [[b, 70], [a, 30]]);
  assert.ok(res.body.every((x) => typeof x.name === 'string' && x.name.length > 0));
  assert.equal(res.headers.get('etag'), '"2"');
  const rows = sql(`SELECT p.slug, ap.energy FROM agent_purposes ap JOIN purposes p ON p.id = ap.purpose_id
                    JOIN agents g ON g.id = ap.agent_id WHERE g.handle = '${agent.handle}' ORDER BY energy`);
  assert.deepEqual(rows, [[a, '30'], [b, '70']]);

  const profile = await api('GET', `/api/v1/agents/${agent.handle}`);
  assert.deepEqual(profile.body.purposes.map((x) => [x.slug, x.energy]), [[b, 70], [a, 30]]);
  assert.equal(profile.body.version, 2);

  // replacing the set removes what is not in it; an empty array clears it
  const again = await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body: [{ purpose: a, energy: 100 }] });
  assert.equal(again.status, 200);
  assert.deepEqual(sql(`SELECT count(*), sum(energy) FROM agent_purposes ap JOIN agents g ON g.id = ap.agent_id
                        WHERE g.handle = '${agent.handle}'`), [['1', '100']]);
  const cleared = await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body: [] });
  assert.equal(cleared.status, 200);
  assert.deepEqual(cleared.body, []);
});

test('PUT /me/agent/purposes: a total over 100 is a 422 naming "energy" and changes nothing', async () => {
  const { user, agent } = await newAgent();
  const a = await newPurpose(user.token);
  const b = await newPurpose(user.token);
  await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body: [{ purpose: a, energy: 50 }] });
  const res = await api('PUT', '/api/v1/me/agent/purposes', {
    token: user.token, body: [{ purpose: a, energy: 60 }, { purpose: b, energy: 41 }],
  });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['energy']);
  // the handler's own check, which names the total (the database's trigger
  // behind it would refuse too, but cannot say by how much)
  assert.match(res.body.errors[0].message, /sum to 101;/);
  assert.deepEqual(sql(`SELECT p.slug, ap.energy FROM agent_purposes ap JOIN purposes p ON p.id = ap.purpose_id
                        JOIN agents g ON g.id = ap.agent_id WHERE g.handle = '${agent.handle}'`), [[a, '50']]);
});

test('PUT /me/agent/purposes names each bad item', async () => {
  const { user } = await newAgent();
  const a = await newPurpose(user.token);
  const put = (body, extra = {}) => api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body, ...extra });

  const unknown = await put([{ purpose: a, energy: 10 }, { purpose: unique('nope'), energy: 10 }]);
  assert.equal(unknown.status, 422);
  assert.deepEqual(problemFields(unknown), ['[1].purpose']);

  const dup = await put([{ purpose: a, energy: 10 }, { purpose: a, energy: 20 }]);
  assert.equal(dup.status, 422);
  assert.deepEqual(problemFields(dup), ['[1].purpose']);

  const bad = await put([{ purpose: 'Bad Slug', energy: 0 }, { energy: 101 }, 'x', { purpose: a, energy: 1.5, note: 1 }]);
  assert.equal(bad.status, 422);
  assert.deepEqual(problemFields(bad), ['[0].energy', '[0].purpose', '[1].energy', '[1].purpose', '[2]',
    '[3].energy', '[3].note']);

  assert.equal((await put({ purpose: a, energy: 10 })).status, 400, 'an object is not an array');
  assert.equal((await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, raw: '[{"purpose":', headers: { 'Content-Type': 'application/json' } })).status, 400);
  assert.equal((await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, raw: '[{"purpose":"a","purpose":"b","energy":1}]', headers: { 'Content-Type': 'application/json' } })).status, 400);
  assert.equal((await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, raw: '[]', headers: { 'Content-Type': 'text/plain' } })).status, 415);
  assert.equal((await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, raw: '['.repeat(100) + ']'.repeat(100), headers: { 'Content-Type': 'application/json' } })).status, 400);
  assert.equal((await api('PUT', '/api/v1/me/agent/purposes', { body: [] })).status, 401);
});

test('PUT /me/agent/purposes without an agent is a 409 saying to create it first', async () => {
  const user = await newUser();
  const res = await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body: [] });
  assert.equal(res.status, 409);
  assert.match(res.body.detail, /create your agent profile first/);
});

test('two concurrent energy splits never add up: the database ends with one of them', async () => {
  const { user, agent } = await newAgent();
  const [a, b, c, d] = await Promise.all([1, 2, 3, 4].map(() => newPurpose(user.token)));
  const one = [{ purpose: a, energy: 60 }, { purpose: b, energy: 40 }];
  const two = [{ purpose: c, energy: 70 }, { purpose: d, energy: 30 }];
  const asRows = (split) => split.map((x) => [x.purpose, String(x.energy)]).sort();
  for (let round = 0; round < 5; round++) {
    const results = await Promise.all([one, two].map((body) =>
      api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body })));
    assert.deepEqual(results.map((x) => x.status), [200, 200]);
    const rows = sql(`SELECT p.slug, ap.energy FROM agent_purposes ap JOIN purposes p ON p.id = ap.purpose_id
                      JOIN agents g ON g.id = ap.agent_id WHERE g.handle = '${agent.handle}' ORDER BY p.slug`);
    assert.ok([JSON.stringify(asRows(one)), JSON.stringify(asRows(two))].includes(JSON.stringify(rows)),
      `round ${round}: ${JSON.stringify(rows)}`);
    assert.ok(rows.reduce((s, r) => s + Number(r[1]), 0) <= 100);
  }
});

test('the database itself refuses energy over 100 (constraint trigger agent_energy_sum)', async () => {
  const { user, agent } = await newAgent();
  const a = await newPurpose(user.token);
  const b = await newPurpose(user.token);
  assert.throws(() => sql(`INSERT INTO agent_purposes (agent_id, purpose_id, energy)
    SELECT g.id, p.id, 60 FROM agents g, purposes p WHERE g.handle = '${agent.handle}' AND p.slug IN ('${a}', '${b}')`),
  /agent_energy_sum|more than 100/);
  assert.deepEqual(sql(`SELECT count(*) FROM agent_purposes ap JOIN agents g ON g.id = ap.agent_id
                        WHERE g.handle = '${agent.handle}'`), [['0']]);
});

test('GET /agents/{handle}: public profile without email or settings; track record only when shown', async () => {
  const { user, agent } = await newAgent();
  const res = await api('GET', `/api/v1/agents/${agent.handle}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('etag'), '"1"');
  for (const key of ['handle', 'display_name', 'headline', 'personal_purpose', 'skills',
    'capacity_hours_per_week', 'packagings', 'location', 'remote_ok', 'purposes', 'version'])
    assert.ok(key in res.body, key);
  assert.deepEqual(res.body.track_record, { concluded: 0, commitments_kept: 0 });
  assert.ok(!('discoverable' in res.body) && !('show_follows' in res.body));
  assert.ok(!res.text.includes(user.email));

  await api('PUT', '/api/v1/me/agent', { token: user.token, body: agentBody({ handle: agent.handle, show_track_record: false }) });
  const hidden = await api('GET', `/api/v1/agents/${agent.handle}`);
  assert.equal(hidden.status, 200);
  assert.ok(!('track_record' in hidden.body));
  assert.equal((await api('GET', '/api/v1/agents/no-such-agent-here')).status, 404);
  assert.equal((await api('GET', '/api/v1/agents/NOT%20A%20HANDLE')).status, 404);
});

test('a non-discoverable agent is a 404 to everyone but itself, and not listed', async () => {
  const skill = unique('skill');
  const { user, agent } = await newAgent({ discoverable: false, skills: [skill] });
  const other = await newUser();
  assert.equal((await api('GET', `/api/v1/agents/${agent.handle}`)).status, 404);
  assert.equal((await api('GET', `/api/v1/agents/${agent.handle}`, { token: other.token })).status, 404);
  const own = await api('GET', `/api/v1/agents/${agent.handle}`, { token: user.token });
  assert.equal(own.status, 200);
  assert.equal(own.body.discoverable, false);
  const list = await api('GET', `/api/v1/agents?skill=${skill}`);
  assert.deepEqual(list.body.items, []);
});

test('GET /agents lists discoverable agents, filtered by purpose and skill, page by page', async () => {
  const skill = unique('Skill');
  const first = await newAgent({ skills: [skill, 'writing'] });
  const second = await newAgent({ skills: [skill.toUpperCase()] });
  const third = await newAgent({ skills: [skill] });
  await newAgent({ skills: [skill], discoverable: false });
  const purpose = await newPurpose(first.user.token);
  await api('PUT', '/api/v1/me/agent/purposes', { token: second.user.token, body: [{ purpose, energy: 40 }] });

  const bySkill = await api('GET', `/api/v1/agents?skill=${encodeURIComponent(skill.toLowerCase())}`);
  assert.equal(bySkill.status, 200);
  assert.deepEqual(bySkill.body.items.map((x) => x.handle),
    [third.agent.handle, second.agent.handle, first.agent.handle], 'newest first, case-insensitive skill');
  assert.equal(bySkill.body.next_cursor, null);

  const byPurpose = await api('GET', `/api/v1/agents?purpose=${purpose}`);
  assert.deepEqual(byPurpose.body.items.map((x) => x.handle), [second.agent.handle]);
  assert.deepEqual(byPurpose.body.items[0].purposes.map((x) => [x.slug, x.energy]), [[purpose, 40]]);

  const seen = [];
  let cursor = null;
  for (let i = 0; i < 5; i++) {
    const page = await api('GET', `/api/v1/agents?skill=${skill}&limit=1${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(page.status, 200);
    seen.push(...page.body.items.map((x) => x.handle));
    cursor = page.body.next_cursor;
    if (!cursor) break;
  }
  assert.deepEqual(seen, [third.agent.handle, second.agent.handle, first.agent.handle]);
  assert.ok(!JSON.stringify(bySkill.body).includes('@'), 'no emails in the directory');

  assert.equal((await api('GET', '/api/v1/agents?cursor=garbage')).status, 400);
  assert.equal((await api('GET', '/api/v1/agents?limit=0')).status, 400);
  assert.equal((await api('GET', '/api/v1/agents?limit=101')).status, 400);
  assert.equal((await api('GET', '/api/v1/agents?purpose=Not%20a%20slug')).status, 400);
  assert.equal((await api('GET', `/api/v1/agents?skill=${'s'.repeat(101)}`)).status, 400);
  assert.equal((await api('GET', '/api/v1/agents?skill=%FF')).status, 400, 'not UTF-8');
  assert.equal((await api('GET', '/api/v1/agents?skill=a%C3')).status, 400, 'cut UTF-8');
  const purposesCursor = (await api('GET', '/api/v1/purposes?limit=1')).body.next_cursor;
  if (purposesCursor) assert.equal((await api('GET', `/api/v1/agents?cursor=${purposesCursor}`)).status, 400);
});

test('scripts/demo.sql loads into a fresh database, twice without duplicating anything', async () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));
  const db = `demo_check_${process.pid}`;
  const url = new URL(process.env.DATABASE_URL);
  const adminUrl = process.env.DATABASE_URL;
  url.pathname = `/${db}`;
  const demoUrl = url.toString();
  sql(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  sql(`CREATE DATABASE ${db}`);
  let daemon;
  try {
    execFileSync(process.env.PURPOSED_BIN, ['migrate'], { env: { ...process.env, DATABASE_URL: demoUrl }, stdio: 'pipe' });
    const load = () => execFileSync('psql', [demoUrl, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-f', `${root}/scripts/demo.sql`],
      { encoding: 'utf8', stdio: 'pipe' });
    const counts = () => execFileSync('psql', [demoUrl, '-XqAt', '-c', `SELECT
      (SELECT count(*) FROM accounts), (SELECT count(*) FROM purposes), (SELECT count(*) FROM organisations),
      (SELECT count(*) FROM organisation_charters), (SELECT count(*) FROM memberships),
      (SELECT count(*) FROM agents), (SELECT count(*) FROM agent_purposes), (SELECT count(*) FROM follows),
      (SELECT count(*) FROM engagements WHERE status = 'open'), (SELECT count(*) FROM engagement_purposes)`],
    { encoding: 'utf8' }).trim();
    load();
    const once = counts();
    const [accounts, purposes, orgs, charters, , agents, , follows, engagements] = once.split('|').map(Number);
    assert.equal(purposes, 12);
    assert.ok(orgs >= 4 && orgs <= 5, `organisations ${orgs}`);
    assert.ok(charters >= 2 * orgs, 'amended charters');
    assert.ok(agents >= 6 && agents <= 8);
    assert.ok(accounts > agents && follows > 0);
    assert.ok(engagements >= 10 && engagements <= 15);
    load();
    assert.equal(counts(), once, 'the second load adds nothing');
    const sums = execFileSync('psql', [demoUrl, '-XqAt', '-c',
      'SELECT max(s) FROM (SELECT sum(energy) AS s FROM agent_purposes GROUP BY agent_id) x'], { encoding: 'utf8' }).trim();
    assert.ok(Number(sums) <= 100);
    const versions = execFileSync('psql', [demoUrl, '-XqAt', '-c',
      `SELECT count(*) FROM organisations o WHERE o.charter_version =
         (SELECT max(version) FROM organisation_charters c WHERE c.organisation_id = o.id)`], { encoding: 'utf8' }).trim();
    assert.equal(Number(versions), orgs, 'charter_version is the newest charter');

    // the demo accounts sign in with the documented password
    daemon = await startDaemon({ DATABASE_URL: demoUrl });
    const res = await fetch(`${daemon.base}/api/v1/sessions`, {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ email: 'maya@demo.purposed.dev', password: 'purposed-demo' }),
    });
    assert.equal(res.status, 201);
    const feed = await (await fetch(`${daemon.base}/feeds/engagements.json`)).json();
    assert.equal(feed.items.length, engagements);
  } finally {
    if (daemon) await daemon.stop();
    execFileSync('psql', [adminUrl, '-XqAt', '-c', `DROP DATABASE IF EXISTS ${db} WITH (FORCE)`]);
  }
});
