// schema-limits: every limit the schema enforces, at its exact boundary and
// through SQL directly, so the handlers' own checks (tested in agents,
// engagements, agreements) cannot hide a wrong one in the database: the
// energy total (trigger agent_energy_sum), capacity and hours, lengths in
// characters, and the closed lists of states.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { api, newUser, sql, unique } from './helpers.mjs';

// Run SQL that the database must refuse with constraint (psql's verbose
// error names it); returns the error text.
function refused(query, constraint) {
  let error = null;
  try {
    execFileSync('psql', [process.env.DATABASE_URL, '-XqAt', '-v', 'ON_ERROR_STOP=1', '-v', 'VERBOSITY=verbose', '-c', query],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) { error = String(e.stderr); }
  assert.ok(error !== null, `accepted, but ${constraint} must refuse it: ${query}`);
  assert.match(error, new RegExp(`CONSTRAINT NAME:\\s+${constraint}\\n`), error);
  return error;
}

async function newPurpose(token) {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name: unique('Purpose'), description: 'limits' } });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

// An account with an agent profile, an organisation with an engagement,
// and a proposed agreement between them, all made through the API.
async function world() {
  const user = await newUser('Limit Tester');
  const purposes = await Promise.all([1, 2, 3].map(() => newPurpose(user.token)));
  const handle = unique('limits');
  let res = await api('PUT', '/api/v1/me/agent', { token: user.token, body: {
    handle, capacity_hours_per_week: 20, packagings: ['volunteer'], discoverable: true } });
  assert.equal(res.status, 200, res.text);
  const org = unique('limits');
  res = await api('POST', '/api/v1/organisations', { token: user.token, body: {
    name: `Org ${org}`, slug: org, purpose_statement: 'Test the schema.', purposes: [purposes[0]],
    legal_form: 'cooperative', governance: 'sociocracy' } });
  assert.equal(res.status, 201, res.text);
  res = await api('POST', `/api/v1/organisations/${org}/engagements`, { token: user.token, body: {
    title: 'Boundary keeper', description: 'Stand at the edge.', purposes: [purposes[0]],
    packagings: ['volunteer'], hours_per_week: 4, rewards: { non_cash: ['learning'] } } });
  assert.equal(res.status, 201, res.text);
  const engagement = res.body.id;
  const agent = sql(`SELECT id FROM agents WHERE handle = '${handle}'`)[0][0];
  return { user, purposes, handle, agent, org, engagement };
}

const energies = (agent) => sql(`SELECT p.slug, ap.energy FROM agent_purposes ap JOIN purposes p ON p.id = ap.purpose_id
  WHERE ap.agent_id = ${agent} ORDER BY ap.energy DESC`);

test('energy: a total of exactly 100 is kept, 101 is refused by the trigger (agent_energy_sum)', async () => {
  const w = await world();
  const [a, b, c] = w.purposes;
  const insert = (slug, energy) => `INSERT INTO agent_purposes (agent_id, purpose_id, energy)
    SELECT ${w.agent}, id, ${energy} FROM purposes WHERE slug = '${slug}'`;
  sql(`${insert(a, 60)}; ${insert(b, 40)}`);
  assert.deepEqual(energies(w.agent), [[a, '60'], [b, '40']], 'a total of 100 is allowed');
  refused(insert(c, 1), 'agent_energy_sum');
  refused(`UPDATE agent_purposes SET energy = 41 WHERE agent_id = ${w.agent}
    AND purpose_id = (SELECT id FROM purposes WHERE slug = '${b}')`, 'agent_energy_sum');
  assert.deepEqual(energies(w.agent), [[a, '60'], [b, '40']], 'nothing of a refused change is kept');
  // one purpose: 1 to 100 each
  sql(`DELETE FROM agent_purposes WHERE agent_id = ${w.agent}; ${insert(a, 100)}`);
  assert.deepEqual(energies(w.agent), [[a, '100']]);
  sql(`DELETE FROM agent_purposes WHERE agent_id = ${w.agent}`);
  refused(insert(a, 101), 'agent_purposes_energy_check');
  refused(insert(a, 0), 'agent_purposes_energy_check');
  sql(insert(a, 1));
  assert.deepEqual(energies(w.agent), [[a, '1']]);
});

test('capacity and hours: 0 to 80 hours a week an agent, 1 to 80 an engagement, for 1 to 520 weeks', async () => {
  const w = await world();
  const agentSet = (v) => `UPDATE agents SET capacity_hours_per_week = ${v} WHERE id = ${w.agent}`;
  for (const v of [0, 80]) sql(agentSet(v));
  assert.deepEqual(sql(`SELECT capacity_hours_per_week FROM agents WHERE id = ${w.agent}`), [['80']]);
  refused(agentSet(81), 'agents_capacity_hours_per_week_check');
  refused(agentSet(-1), 'agents_capacity_hours_per_week_check');

  const engagementSet = (v) => `UPDATE engagements SET hours_per_week = ${v} WHERE id = ${w.engagement}`;
  for (const v of [1, 80]) sql(engagementSet(v));
  assert.deepEqual(sql(`SELECT hours_per_week FROM engagements WHERE id = ${w.engagement}`), [['80']]);
  refused(engagementSet(81), 'engagements_hours_per_week_check');
  refused(engagementSet(0), 'engagements_hours_per_week_check');
  const durationSet = (v) => `UPDATE engagements SET duration_weeks = ${v} WHERE id = ${w.engagement}`;
  for (const v of [1, 520]) sql(durationSet(v));
  refused(durationSet(521), 'engagements_duration_weeks_check');
  refused(durationSet(0), 'engagements_duration_weeks_check');
});

test('lengths count characters: the largest allowed is kept, one more is refused', async () => {
  const w = await world();
  const cases = [
    ['engagements', 'title', `id = ${w.engagement}`, 1, 200],
    ['engagements', 'description', `id = ${w.engagement}`, 1, 10000],
    ['accounts', 'display_name', `id = ${w.user.id}`, 1, 100],
    ['agents', 'headline', `id = ${w.agent}`, 0, 200],
    ['agents', 'personal_purpose', `id = ${w.agent}`, 0, 2000],
    ['organisations', 'name', `slug = '${w.org}'`, 1, 200],
    ['organisations', 'purpose_statement', `slug = '${w.org}'`, 1, 5000],
  ];
  for (const [table, column, where, min, max] of cases) {
    // a two-byte character: the limit is in characters, not bytes
    const set = (n) => `UPDATE ${table} SET ${column} = repeat('é', ${n}) WHERE ${where}`;
    sql(set(max));
    assert.deepEqual(sql(`SELECT char_length(${column}) FROM ${table} WHERE ${where}`), [[String(max)]], `${table}.${column}`);
    refused(set(max + 1), `${table}_${column}_check`);
    if (min > 0) refused(set(min - 1), `${table}_${column}_check`);
  }
});

test('states: each word of the closed lists is kept, any other is refused', async () => {
  const w = await world();
  for (const s of ['paused', 'closed', 'open']) sql(`UPDATE engagements SET status = '${s}' WHERE id = ${w.engagement}`);
  for (const s of ['archived', 'Open', '']) refused(`UPDATE engagements SET status = '${s}' WHERE id = ${w.engagement}`, 'engagements_status_check');
  for (const r of ['owner', 'admin', 'member']) sql(`UPDATE memberships SET role = '${r}' WHERE account_id = ${w.user.id}`);
  refused(`UPDATE memberships SET role = 'guest' WHERE account_id = ${w.user.id}`, 'memberships_role_check');
  sql(`UPDATE memberships SET role = 'owner' WHERE account_id = ${w.user.id}`);
});

test('agreements: never in force without terms, never terms in force once declined or withdrawn', async () => {
  const w = await world();
  const res = await api('POST', '/api/v1/agreements', { token: w.user.token, body: {
    organisation: w.org, agent: w.handle, role: 'Keeper', purposes: [w.purposes[0]], packaging: 'volunteer',
    hours_per_week: 8, terms: 'At the edge.', rewards: { cash: null, non_cash: [] },
    starts_on: new Date(Date.now() + 86400000).toISOString().slice(0, 10) } });
  assert.equal(res.status, 201, res.text);
  const { id } = res.body;
  const set = (status, version) => `UPDATE agreements SET status = '${status}', active_version = ${version} WHERE id = ${id}`;
  refused(set('active', 'NULL'), 'agreements_in_force');
  refused(set('concluded', 'NULL'), 'agreements_in_force');
  refused(set('declined', '1'), 'agreements_never_in_force');
  refused(set('withdrawn', '1'), 'agreements_never_in_force');
  refused(set('paused', 'NULL'), 'agreements_status_check');
  sql(set('declined', 'NULL'));
  assert.deepEqual(sql(`SELECT status, active_version IS NULL FROM agreements WHERE id = ${id}`), [['declined', 't']]);
});
