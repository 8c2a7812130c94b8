// moderation-instance: what the instance says about itself
// (GET /api/v1/instance: name, description, rules, contact, registration
// mode, software version) and how its administrators change it (PATCH,
// If-Match, only the fields sent); nobody else may (docs/moderation.md).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { api, newUser, problemFields, sql } from './helpers.mjs';

async function withRole(role) {
  const u = await newUser(role);
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${u.id}, '${role}')`);
  return u;
}

test('GET /api/v1/instance: public, what the database holds, the software version, an ETag', async () => {
  const res = await api('GET', '/api/v1/instance');
  assert.equal(res.status, 200, res.text);
  const [[name, description, contact, mode, version, rules]] =
    sql('SELECT name, description, contact, registration_mode, version, to_json(rules) FROM instance_settings');
  assert.deepEqual(
    { name: res.body.name, description: res.body.description, contact: res.body.contact,
      registration_mode: res.body.registration_mode, version: res.body.version, rules: res.body.rules },
    { name, description, contact, registration_mode: mode, version: Number(version), rules: JSON.parse(rules) });
  assert.equal(res.headers.get('etag'), `"${version}"`);
  const cmake = readFileSync(new URL('../../CMakeLists.txt', import.meta.url), 'utf8');
  const projectVersion = cmake.match(/project\(purposed VERSION ([0-9.]+)/)[1];
  assert.deepEqual(res.body.software, { name: 'purposed', version: projectVersion });
  assert.match(res.body.updated_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
});

test('PATCH /api/v1/instance: administrators only, If-Match, every bad field named, only the fields sent change', async () => {
  const admin = await withRole('administrator');
  const moderator = await withRole('moderator');
  const person = await newUser('Nobody special');
  const before = await api('GET', '/api/v1/instance');
  const etag = before.headers.get('etag');
  const row = () => sql('SELECT version, name, description, contact, to_json(rules) FROM instance_settings')[0];
  const untouched = row();

  assert.equal((await api('PATCH', '/api/v1/instance', { headers: { 'If-Match': etag }, body: { name: 'X' } })).status, 401);
  for (const who of [person, moderator]) {
    const res = await api('PATCH', '/api/v1/instance', { token: who.token, headers: { 'If-Match': etag }, body: { name: 'Taken over' } });
    assert.equal(res.status, 403, res.text);
  }
  assert.equal((await api('PATCH', '/api/v1/instance', { token: admin.token, body: { name: 'No If-Match' } })).status, 428);
  const bad = await api('PATCH', '/api/v1/instance', {
    token: admin.token, headers: { 'If-Match': etag },
    body: { name: '', description: 'd'.repeat(2001), rules: ['Be kind', 'Be kind'], contact: 7, registration_mode: 'closed' },
  });
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(problemFields(bad), ['contact', 'description', 'name', 'registration_mode', 'rules']);
  assert.deepEqual(row(), untouched, 'refused attempts change nothing');

  const rules = ['Be kind to each other.', 'No fake organisations.'];
  const changed = await api('PATCH', '/api/v1/instance', {
    token: admin.token, headers: { 'If-Match': etag },
    body: { name: 'Purposed Lisbon', description: 'For-purpose work around Lisbon.', rules, contact: 'mods@example.org' },
  });
  assert.equal(changed.status, 200, changed.text);
  assert.equal(changed.body.name, 'Purposed Lisbon');
  assert.deepEqual(changed.body.rules, rules);
  assert.equal(changed.body.version, before.body.version + 1);
  assert.equal(changed.headers.get('etag'), `"${changed.body.version}"`);
  assert.equal(sql('SELECT updated_by FROM instance_settings')[0][0], String(admin.id));
  const read = await api('GET', '/api/v1/instance');
  assert.deepEqual(read.body, changed.body, 'everyone reads the change at once');

  const stale = await api('PATCH', '/api/v1/instance', { token: admin.token, headers: { 'If-Match': etag }, body: { contact: 'late@example.org' } });
  assert.equal(stale.status, 412, stale.text);
  const partial = await api('PATCH', '/api/v1/instance', {
    token: admin.token, headers: { 'If-Match': changed.headers.get('etag') }, body: { contact: '' },
  });
  assert.equal(partial.status, 200, partial.text);
  assert.deepEqual({ ...partial.body, contact: 'mods@example.org', version: changed.body.version, updated_at: null },
    { ...changed.body, updated_at: null }, 'only the contact changed');
  assert.equal(partial.body.contact, '');

  // leave the instance as it was for the other tests
  const [, name, description, contact, oldRules] = untouched;
  const back = await api('PATCH', '/api/v1/instance', {
    token: admin.token, headers: { 'If-Match': partial.headers.get('etag') },
    body: { name, description, contact, rules: JSON.parse(oldRules) },
  });
  assert.equal(back.status, 200, back.text);
});
