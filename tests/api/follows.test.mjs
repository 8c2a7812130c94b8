// follows: agents follow organisations (PUT/DELETE .../follow, idempotent),
// members see the followers who allow it, agents list what they follow.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, sql, unique } from './helpers.mjs';

// An organisation created through the API by a new owner: {owner, slug, name}.
async function newOrganisation() {
  const owner = await newUser('Org Owner');
  const purpose = await api('POST', '/api/v1/purposes', {
    token: owner.token, body: { name: unique('Cause'), description: 'for follow tests' },
  });
  assert.equal(purpose.status, 201, purpose.text);
  const name = unique('Follow Org');
  const res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name, purpose_statement: 'We exist to be followed.', purposes: [purpose.body.slug],
      legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  return { owner, slug: res.body.slug, name };
}

async function newAgent(overrides = {}) {
  const user = await newUser('Follower Person');
  const res = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle: unique('fan'), headline: 'Curious about your work', discoverable: true,
      show_follows: true, ...overrides },
  });
  assert.equal(res.status, 200, res.text);
  return { user, handle: res.body.handle };
}

const follows = (handle, slug) => sql(`SELECT count(*) FROM follows f JOIN agents g ON g.id = f.agent_id
  JOIN organisations o ON o.id = f.organisation_id WHERE g.handle = '${handle}' AND o.slug = '${slug}'`)[0][0];

test('PUT and DELETE /organisations/{slug}/follow: 204, idempotent, one row at most', async () => {
  const org = await newOrganisation();
  const { user, handle } = await newAgent();
  const path = `/api/v1/organisations/${org.slug}/follow`;
  const first = await api('PUT', path, { token: user.token });
  assert.equal(first.status, 204);
  assert.equal(first.text, '');
  assert.equal(follows(handle, org.slug), '1');
  assert.equal((await api('PUT', path, { token: user.token })).status, 204);
  assert.equal(follows(handle, org.slug), '1');
  assert.equal((await api('DELETE', path, { token: user.token })).status, 204);
  assert.equal(follows(handle, org.slug), '0');
  assert.equal((await api('DELETE', path, { token: user.token })).status, 204);
});

test('following needs a session, an agent profile and an organisation that exists', async () => {
  const org = await newOrganisation();
  const path = `/api/v1/organisations/${org.slug}/follow`;
  assert.equal((await api('PUT', path)).status, 401);
  const noAgent = await newUser();
  const res = await api('PUT', path, { token: noAgent.token });
  assert.equal(res.status, 409);
  assert.match(res.body.detail, /create your agent profile first/);
  const { user } = await newAgent();
  assert.equal((await api('PUT', `/api/v1/organisations/${unique('none')}/follow`, { token: user.token })).status, 404);
  assert.equal((await api('PUT', '/api/v1/organisations/NOT%20A%20SLUG/follow', { token: user.token })).status, 404);
  assert.equal((await api('DELETE', `/api/v1/organisations/${unique('none')}/follow`, { token: user.token })).status, 404);
});

test('a cookie-signed follow needs the CSRF header', async () => {
  const org = await newOrganisation();
  const { user, handle } = await newAgent();
  const path = `/api/v1/organisations/${org.slug}/follow`;
  assert.equal((await api('PUT', path, { headers: { Cookie: user.cookie } })).status, 403);
  assert.equal(follows(handle, org.slug), '0');
  assert.equal((await api('PUT', path, { headers: { Cookie: user.cookie, 'X-CSRF-Token': user.csrf } })).status, 204);
  assert.equal(follows(handle, org.slug), '1');
});

test('GET /organisations/{slug}/followers: members see followers who allow it, newest first', async () => {
  const org = await newOrganisation();
  const a = await newAgent({ headline: 'First fan' });
  const b = await newAgent({ headline: 'Second fan' });
  const hidden = await newAgent({ show_follows: false });
  for (const x of [a, b, hidden]) assert.equal((await api('PUT', `/api/v1/organisations/${org.slug}/follow`, { token: x.user.token })).status, 204);

  const res = await api('GET', `/api/v1/organisations/${org.slug}/followers`, { token: org.owner.token });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.items.map((x) => x.handle), [b.handle, a.handle]);
  assert.equal(res.body.next_cursor, null);
  const item = res.body.items[0];
  assert.deepEqual(Object.keys(item).sort(), ['display_name', 'followed_at', 'handle', 'headline']);
  assert.equal(item.display_name, 'Follower Person');
  assert.equal(item.headline, 'Second fan');
  assert.match(item.followed_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(!res.text.includes('@'), 'no emails');

  // a member (not only the owner) may read; the hidden follower still counts as a follow
  const member = await newUser();
  await addMember(org.owner, org.slug, member, 'member');
  const asMember = await api('GET', `/api/v1/organisations/${org.slug}/followers`, { token: member.token });
  assert.equal(asMember.status, 200);
  assert.equal(asMember.body.items.length, 2);

  // page by page
  const p1 = await api('GET', `/api/v1/organisations/${org.slug}/followers?limit=1`, { token: org.owner.token });
  assert.deepEqual(p1.body.items.map((x) => x.handle), [b.handle]);
  assert.ok(p1.body.next_cursor);
  const p2 = await api('GET', `/api/v1/organisations/${org.slug}/followers?limit=1&cursor=${p1.body.next_cursor}`, { token: org.owner.token });
  assert.deepEqual(p2.body.items.map((x) => x.handle), [a.handle]);
  assert.equal(p2.body.next_cursor, null);
  assert.equal((await api('GET', `/api/v1/organisations/${org.slug}/followers?cursor=x${p1.body.next_cursor}`, { token: org.owner.token })).status, 400);
  assert.equal((await api('GET', `/api/v1/organisations/${org.slug}/followers?limit=500`, { token: org.owner.token })).status, 400);
});

test('followers are hidden from anonymous callers (401) and outsiders (403)', async () => {
  const org = await newOrganisation();
  const { user } = await newAgent();
  await api('PUT', `/api/v1/organisations/${org.slug}/follow`, { token: user.token });
  const path = `/api/v1/organisations/${org.slug}/followers`;
  const anonymous = await api('GET', path);
  assert.equal(anonymous.status, 401);
  const outsider = await api('GET', path, { token: user.token });
  assert.equal(outsider.status, 403);
  assert.ok(!outsider.text.includes('"handle"'));
  assert.equal((await api('GET', `/api/v1/organisations/${unique('none')}/followers`, { token: user.token })).status, 404);
});

test('GET /me/follows lists the organisations I follow, newest first', async () => {
  const one = await newOrganisation();
  const two = await newOrganisation();
  const { user } = await newAgent();
  await api('PUT', `/api/v1/organisations/${one.slug}/follow`, { token: user.token });
  await api('PUT', `/api/v1/organisations/${two.slug}/follow`, { token: user.token });
  const res = await api('GET', '/api/v1/me/follows', { token: user.token });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.items.map((x) => [x.slug, x.name]), [[two.slug, two.name], [one.slug, one.name]]);
  assert.ok(res.body.items[0].followed_at);
  const page = await api('GET', '/api/v1/me/follows?limit=1', { token: user.token });
  assert.equal(page.body.items.length, 1);
  const rest = await api('GET', `/api/v1/me/follows?limit=1&cursor=${page.body.next_cursor}`, { token: user.token });
  assert.deepEqual(rest.body.items.map((x) => x.slug), [one.slug]);
  assert.equal((await api('GET', '/api/v1/me/follows', {})).status, 401);
  const noAgent = await newUser();
  const empty = await api('GET', '/api/v1/me/follows', { token: noAgent.token });
  assert.deepEqual(empty.body, { items: [], next_cursor: null });
});

test('the follower count shows on the organisation', async () => {
  const org = await newOrganisation();
  const before = await api('GET', `/api/v1/organisations/${org.slug}`);
  assert.equal(before.status, 200);
  assert.equal(before.body.followers, 0);
  const a = await newAgent();
  const b = await newAgent({ show_follows: false });
  await api('PUT', `/api/v1/organisations/${org.slug}/follow`, { token: a.user.token });
  await api('PUT', `/api/v1/organisations/${org.slug}/follow`, { token: b.user.token });
  const after = await api('GET', `/api/v1/organisations/${org.slug}`);
  assert.equal(after.body.followers, 2);
  await api('DELETE', `/api/v1/organisations/${org.slug}/follow`, { token: a.user.token });
  assert.equal((await api('GET', `/api/v1/organisations/${org.slug}`)).body.followers, 1);
});
