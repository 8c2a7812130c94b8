// compact: every JSON answer is written in one style, compact ({"id":3}),
// whether PostgreSQL built it (json_build_object writes "id" : 3, jsonb
// "id": 3), C did, or both: a list, an item, matches, an agreement (SQL
// JSON with members added in C), its versions, /me, the portfolio and
// notifications (jsonb payloads).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, unique } from './helpers.mjs';

// Offsets of whitespace outside strings (none in compact JSON).
function looseWhitespace(text) {
  const found = [];
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === ' ' || c === '\n' || c === '\t' || c === '\r') found.push(i);
  }
  return found;
}

// exact: the text equals its own compact serialisation (not for answers with
// numerals JavaScript writes otherwise, such as 5.00 hours).
function assertCompact(res, what, exact = true) {
  assert.equal(res.status < 300, true, `${what}: ${res.status} ${res.text}`);
  assert.match(res.headers.get('content-type') ?? '', /json/, what);
  const loose = looseWhitespace(res.text);
  assert.deepEqual(loose, [], `${what} has whitespace outside strings: …${res.text.slice(Math.max(0, loose[0] - 30), loose[0] + 30)}…`);
  const parsed = JSON.parse(res.text);
  if (exact) assert.equal(res.text, JSON.stringify(parsed), what);
}

test('every kind of JSON answer is compact', async () => {
  assert.deepEqual(looseWhitespace('{"a" : "b c", "d":[1, 2]}'), [4, 6, 13, 21]);
  assert.deepEqual(looseWhitespace('{"a":"x \\" y","b":"\\\\"}'), []);

  const owner = await newUser('Olga Owner');
  const agent = await newUser('Ada Agent');
  const purpose = unique('Compact Water');
  let res = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: purpose, description: 'a purpose, with spaces : and "quotes"' } });
  assertCompact(res, 'POST /purposes');
  const slug = res.body.slug;
  res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: unique('Compact Org'), purpose_statement: 'Water : for all, "always"', purposes: [slug],
            legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assertCompact(res, 'POST /organisations');
  const org = res.body.slug;
  res = await api('POST', `/api/v1/organisations/${org}/engagements`, {
    token: owner.token,
    body: { title: 'Pump : repair, "now"', description: 'Tabs\tand new\nlines', purposes: [slug],
            packagings: ['volunteer'], hours_per_week: 10, skills: ['pumps'], remote_ok: true,
            rewards: { non_cash: ['learning'] } },
  });
  assertCompact(res, 'POST /engagements');
  const engagement = res.body;
  const handle = unique('ada');
  res = await api('PUT', '/api/v1/me/agent', {
    token: agent.token,
    body: { handle, headline: 'Engineer : pumps', skills: ['pumps'], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assertCompact(res, 'PUT /me/agent');
  res = await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: slug, energy: 50 }] });
  assertCompact(res, 'PUT /me/agent/purposes');
  res = await api('PUT', `/api/v1/organisations/${org}/follow`, { token: agent.token });
  assert.equal(res.status, 204);

  assertCompact(await api('GET', `/api/v1/engagements/${engagement.id}`), 'an engagement');
  assertCompact(await api('GET', `/api/v1/engagements?purpose=${slug}`), 'a list of engagements');
  assertCompact(await api('GET', `/api/v1/organisations/${org}`), 'an organisation');
  assertCompact(await api('GET', `/api/v1/organisations?purpose=${slug}`), 'a list of organisations');
  assertCompact(await api('GET', `/api/v1/organisations/${org}/charter`), 'the charter');
  assertCompact(await api('GET', `/api/v1/organisations/${org}/members`, { token: owner.token }), 'members');
  assertCompact(await api('GET', `/api/v1/organisations/${org}/followers`, { token: owner.token }), 'followers');
  assertCompact(await api('GET', `/api/v1/agents/${handle}`), 'an agent');
  assertCompact(await api('GET', `/api/v1/agents?purpose=${slug}`), 'a list of agents');
  assertCompact(await api('GET', '/api/v1/me', { token: agent.token }), '/me');
  assertCompact(await api('GET', '/api/v1/me/account', { token: agent.token }), '/me/account');
  assertCompact(await api('GET', '/api/v1/me/follows', { token: agent.token }), '/me/follows');

  // matches: SQL representations inside items C writes
  let matches;
  for (let i = 0; i < 30; i++) {
    matches = await api('GET', '/api/v1/me/matches', { token: agent.token });
    if (matches.body?.items?.some((m) => m.engagement.id === engagement.id)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(matches.body.items.some((m) => m.engagement.id === engagement.id), 'the engagement matches');
  assertCompact(matches, '/me/matches');
  // the agent reaches the engagement's matches once the index has applied
  // the agent's change (another caller's change: within a second)
  for (let i = 0; i < 30; i++) {
    res = await api('GET', `/api/v1/engagements/${engagement.id}/matches`, { token: owner.token });
    if (res.body?.items?.length > 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(res.body.items.length > 0);
  assertCompact(res, '/engagements/{id}/matches');

  // an agreement: SQL JSON, members added in C
  res = await api('POST', '/api/v1/agreements', {
    token: agent.token,
    body: { organisation: org, agent: handle, engagement: engagement.id, role: 'Pump : keeper',
            purposes: [slug], packaging: 'volunteer', hours_per_week: 5, terms: 'Fix "pumps", weekly',
            rewards: { cash: null, non_cash: ['learning'] }, starts_on: '2030-01-01' },
  });
  assertCompact(res, 'POST /agreements');
  const agreement = res.body;
  assert.equal(agreement.my_side, 'agent');
  assertCompact(await api('GET', `/api/v1/agreements/${agreement.id}`, { token: owner.token }), 'an agreement');
  assertCompact(await api('GET', `/api/v1/agreements/${agreement.id}/versions`, { token: agent.token }), 'versions');
  assertCompact(await api('GET', '/api/v1/me/agreements', { token: agent.token }), 'my agreements');
  assertCompact(await api('GET', `/api/v1/organisations/${org}/agreements`, { token: owner.token }), 'the organisation\'s agreements');
  res = await api('POST', `/api/v1/agreements/${agreement.id}/accept`, { token: owner.token });
  assertCompact(res, 'accept');
  // committed_hours per purpose is numeric(…, 2): 5.00
  assertCompact(await api('GET', '/api/v1/me/portfolio', { token: agent.token }), 'the portfolio', false);
  res = await api('GET', '/api/v1/me/notifications', { token: agent.token });
  assert.ok(res.body.items.length > 0, 'a notification with a jsonb payload');
  assertCompact(res, 'notifications');
  assertCompact(await api('GET', '/api/v1/me/export', { token: agent.token }), 'the export');
  assertCompact(await api('GET', '/api/v1/purposes/' + slug), 'a purpose');
  assertCompact(await api('GET', '/api/v1/openapi.json'), 'the OpenAPI document');
  assertCompact(await api('GET', '/readyz'), '/readyz');
});
