// agent_docs (migration 0055): every agent's public representation kept as
// text, which GET /agents/{handle} (for anyone but the agent), the lists,
// an engagement's matches and the pages read instead of computing
// agent_public_json. The guarantee: after any statement, each agent has
// exactly one row, equal to agent_public_json of the agent and its account
// as they are now. Checked over the whole table after each kind of change
// that the text shows: the profile, the account's display name, an
// agreement through to its conclusion (hours confirmed, both closures),
// showing and hiding the track record, its organisation renamed and
// hidden, a purpose renamed, a place changed, a bulk load without the
// application; and GET answers the text.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, unique, sql } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const w = {};

function differences() {
  return sql(`SELECT g.id FROM agents g JOIN accounts a ON a.id = g.account_id
      LEFT JOIN agent_docs d ON d.agent_id = g.id
     WHERE d.agent_id IS NULL
        OR (d.account_id, d.doc) IS DISTINCT FROM (g.account_id, (SELECT j::text FROM agent_public_json(g, a) j))
     ORDER BY g.id LIMIT 5`);
}

function assertSame(what) {
  assert.deepEqual(differences(), [], `after ${what}: agent_docs differs from agent_public_json`);
  const [[docs, agents]] = sql('SELECT (SELECT count(*) FROM agent_docs), (SELECT count(*) FROM agents)');
  assert.equal(docs, agents, `after ${what}: one row per agent`);
}

async function assertServed(what) {
  const res = await api('GET', `/api/v1/agents/${w.handle}`, { token: w.reader.token });
  assert.equal(res.status, 200, `${what}: ${res.text}`);
  const [[now]] = sql(`SELECT j::text FROM agents g JOIN accounts a ON a.id = g.account_id
                        CROSS JOIN LATERAL agent_public_json(g, a) j WHERE g.handle = '${w.handle}'`);
  assert.deepEqual(res.body, JSON.parse(now), `${what}: GET answers the agent as it is now`);
  return res.body;
}

const profile = (extra = {}) => api('PUT', '/api/v1/me/agent', {
  token: w.agent.token,
  body: { handle: w.handle, headline: 'Keeper of texts', personal_purpose: 'Texts', skills: ['Indexing'],
          capacity_hours_per_week: 30, packagings: ['volunteer'], remote_ok: true, discoverable: true,
          show_track_record: true, ...extra },
});

before(async () => {
  w.owner = await newUser('Doc Org Owner');
  w.agent = await newUser('Doc Agent');
  w.reader = await newUser('Doc Reader');
  w.mod = await newUser('Doc Moderator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${w.mod.id}, 'moderator')`);
  let res = await api('POST', '/api/v1/purposes', { token: w.owner.token, body: { name: unique('Doc rivers'), description: 'for tests' } });
  w.purpose = res.body.slug;
  res = await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: unique('Doc Keepers'), purpose_statement: 'Keep texts', purposes: [w.purpose], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  w.org = res.body.slug;
  w.handle = unique('doc');
  res = await profile();
  assert.equal(res.status, 200, res.text);
  res = await api('PUT', '/api/v1/me/agent/purposes', { token: w.agent.token, body: [{ purpose: w.purpose, energy: 40 }] });
  assert.equal(res.status, 200, res.text);
});

test('the profile, its purposes and place, and the display name', async () => {
  assertSame('a new profile');
  const [[place]] = sql('SELECT id FROM places ORDER BY population DESC, id LIMIT 1');
  const res = await profile({ headline: 'Keeper, again', skills: ['Indexing', 'Proofing'], place: Number(place) });
  assert.equal(res.status, 200, res.text);
  assertSame('a changed profile');
  const other = await api('POST', '/api/v1/purposes', { token: w.agent.token, body: { name: unique('Doc other'), description: 'for tests' } });
  const split = await api('PUT', '/api/v1/me/agent/purposes', {
    token: w.agent.token, body: [{ purpose: w.purpose, energy: 60 }, { purpose: other.body.slug, energy: 20 }],
  });
  assert.equal(split.status, 200, split.text);
  assertSame('a new energy split');
  sql(`DELETE FROM agent_purposes ap USING purposes p WHERE p.id = ap.purpose_id AND p.slug = '${other.body.slug}'`);
  assertSame('a purpose taken away alone');
  sql(`UPDATE accounts SET display_name = 'Doc Agent Renamed' WHERE id = ${w.agent.id}`);
  assertSame('a new display name');
  assert.equal((await assertServed('a new display name')).display_name, 'Doc Agent Renamed');
  sql(`UPDATE places SET population = population + 1 WHERE id = ${place}`);
  assertSame('a place changed');
  sql(`UPDATE places SET population = population - 1 WHERE id = ${place}`);
});

test('an agreement concluded with hours and both closures, the track record hidden and shown', async () => {
  const e = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: unique('Docs'), description: 'Work', purposes: [w.purpose], packagings: ['volunteer'], hours_per_week: 4,
            skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  let res = await api('POST', '/api/v1/agreements', {
    token: w.owner.token,
    body: { organisation: w.org, agent: w.handle, engagement: e.body.id, role: 'Indexer', purposes: [w.purpose],
            packaging: 'volunteer', hours_per_week: 4, terms: 'Index.', rewards: { cash: null, non_cash: [] },
            starts_on: day(-20) },
  });
  assert.equal(res.status, 201, res.text);
  const id = res.body.id;
  assert.equal((await api('POST', `/api/v1/agreements/${id}/accept`, { token: w.agent.token })).status, 200);
  assertSame('an agreement accepted');
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-2), hours: 3 } });
  assert.equal((await api('POST', `/api/v1/agreements/${id}/hours/${res.body.id}/confirm`, { token: w.owner.token })).status, 200);
  res = await api('POST', `/api/v1/agreements/${id}/conclude`, { token: w.agent.token, body: { commitments_kept: true, note: 'Thanks', publish_note: true } });
  assert.equal(res.status, 200, res.text);
  assertSame('one side closed');
  res = await api('POST', `/api/v1/agreements/${id}/conclude`, { token: w.owner.token, body: { commitments_kept: true, note: 'Well done', publish_note: true } });
  assert.equal(res.status, 200, res.text);
  assertSame('the agreement concluded');
  let got = await assertServed('the agreement concluded');
  assert.equal(got.concluded_agreements.length, 1);
  assert.equal(got.concluded_agreements[0].hours_confirmed, 3);
  // each table on its own, as no route changes it (as a bulk load would:
  // the append-only guards are off under replica, these triggers are not)
  const alone = (q) => sql(`BEGIN; SET LOCAL session_replication_role = replica; ${q}; COMMIT;`);
  alone(`UPDATE agreement_closures SET publish_note = false WHERE agreement_id = ${id} AND side = 'organisation'`);
  assertSame('a closure changed alone');
  alone(`UPDATE agreement_closures SET publish_note = true WHERE agreement_id = ${id} AND side = 'organisation'`);
  alone(`UPDATE agreements SET status = 'active' WHERE id = ${id}`);
  assertSame('the agreement no longer concluded');
  alone(`UPDATE agreements SET status = 'concluded' WHERE id = ${id}`);
  assertSame('the agreement concluded again');
  alone(`UPDATE agreement_hours_decisions SET outcome = 'disputed' WHERE entry_id IN (SELECT id FROM agreement_hours WHERE agreement_id = ${id})`);
  assertSame('an hours decision changed alone');
  alone(`UPDATE agreement_hours_decisions SET outcome = 'confirmed' WHERE entry_id IN (SELECT id FROM agreement_hours WHERE agreement_id = ${id})`);
  alone(`UPDATE agreement_versions SET role = 'Chief indexer' WHERE agreement_id = ${id}`);
  assertSame('a version changed alone');
  res = await profile({ show_track_record: false });
  assert.equal(res.status, 200, res.text);
  assertSame('the track record hidden');
  assert.ok(!('track_record' in await assertServed('hidden')));
  res = await profile({ show_track_record: true });
  assertSame('the track record shown');
  got = await assertServed('shown');
  assert.equal(got.concluded_agreements[0].hours_confirmed, 3);
});

test("the agreement's organisation renamed and hidden, its purpose renamed", async () => {
  const o = await api('GET', `/api/v1/organisations/${w.org}`);
  let res = await api('PATCH', `/api/v1/organisations/${w.org}`, {
    token: w.owner.token, headers: { 'If-Match': `"${o.body.version}"` }, body: { name: `Renamed ${unique('o')}` },
  });
  assert.equal(res.status, 200, res.text);
  assertSame("the organisation's new name");
  res = await api('POST', '/api/v1/moderation/curation', {
    token: w.mod.token, body: { action: 'rename', kind: 'purpose', target: w.purpose, name: `Renamed ${w.purpose}`, slug: unique('doc-renamed'), reason: 'Tidy.' },
  });
  assert.equal(res.status, 201, res.text);
  assertSame('a purpose renamed');
  res = await api('POST', '/api/v1/moderation/actions', { token: w.mod.token, body: { action: 'hide', kind: 'organisation', target: w.org, reason: 'Checking.' } });
  assert.equal(res.status, 201, res.text);
  assertSame('the organisation hidden');
  assert.deepEqual((await assertServed('the organisation hidden')).concluded_agreements, [], 'a hidden organisation leaves the track record');
});

test('a bulk load without the application (session_replication_role = replica) gets its texts too', async () => {
  const u = await newUser('Doc Bulk');
  const [[purpose]] = sql('SELECT id FROM purposes WHERE retired_at IS NULL ORDER BY id LIMIT 1');
  sql(`BEGIN; SET LOCAL session_replication_role = replica;
       INSERT INTO agents (account_id, handle, headline, personal_purpose, skills, capacity_hours_per_week, packagings, remote_ok, discoverable)
       VALUES (${u.id}, '${unique('bulk')}', 'Loaded', 'In bulk', '{}', 10, '{volunteer}', true, true);
       INSERT INTO agent_purposes (agent_id, purpose_id, energy)
       SELECT g.id, ${purpose}, 30 FROM agents g WHERE g.account_id = ${u.id};
       COMMIT;`);
  assertSame('a bulk load');
  const [[n]] = sql(`SELECT count(*) FROM agent_docs d JOIN agents g ON g.id = d.agent_id
                      WHERE g.account_id = ${u.id} AND d.doc LIKE '%"energy" : 30%'`);
  assert.equal(n, '1', 'the loaded agent has its purpose in its text');
});
