// privacy: what an agent did not send never makes it more visible. A PUT
// /me/agent that leaves out discoverable, show_follows or show_track_record
// keeps what is stored; a new agent that leaves them out is private. The
// followers of an organisation show only agents who are discoverable and
// allow it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, sql, unique } from './helpers.mjs';

const FLAGS = ['discoverable', 'show_follows', 'show_track_record'];

async function putAgent(user, body) {
  const res = await api('PUT', '/api/v1/me/agent', { token: user.token, body });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

const stored = (user) => sql(`SELECT discoverable, show_follows, show_track_record FROM agents
                              WHERE account_id = ${user.id}`)[0];

test('a partial PUT /me/agent keeps the privacy the agent chose', async () => {
  const user = await newUser('Hidden Agent');
  const handle = unique('hidden');
  await putAgent(user, { handle, headline: 'Quiet', discoverable: false, show_follows: false,
    show_track_record: false });
  // the agent changes its headline only: nothing becomes public
  const res = await putAgent(user, { handle, headline: 'Still quiet' });
  assert.equal(res.headline, 'Still quiet');
  for (const flag of FLAGS) assert.equal(res[flag], false, `${flag} stays false`);
  assert.deepEqual(stored(user), ['f', 'f', 'f']);
  assert.equal((await api('GET', `/api/v1/agents/${handle}`)).status, 404);
  const list = await api('GET', '/api/v1/agents?limit=100');
  assert.ok(!list.body.items.some((a) => a.handle === handle));

  // one flag sent changes that flag only
  const shown = await putAgent(user, { handle, show_track_record: true });
  assert.deepEqual([shown.discoverable, shown.show_follows, shown.show_track_record], [false, false, true]);
  // and a public agent who leaves the flags out stays public: kept, not reset either way
  await putAgent(user, { handle, discoverable: true, show_follows: true });
  const kept = await putAgent(user, { handle, headline: 'Public now' });
  assert.deepEqual([kept.discoverable, kept.show_follows, kept.show_track_record], [true, true, true]);
  assert.equal((await api('GET', `/api/v1/agents/${handle}`)).status, 200);
});

test('a new agent that does not say otherwise is private', async () => {
  const user = await newUser('New Agent');
  const handle = unique('fresh');
  const res = await putAgent(user, { handle, headline: 'Just arrived' });
  for (const flag of FLAGS) assert.equal(res[flag], false, `${flag} starts false`);
  assert.deepEqual(stored(user), ['f', 'f', 'f']);
  assert.equal((await api('GET', `/api/v1/agents/${handle}`)).status, 404);
  // what it sends is what it gets
  const other = await newUser('Open Agent');
  const open = await putAgent(other, { handle: unique('open'), discoverable: true, show_follows: true,
    show_track_record: true });
  for (const flag of FLAGS) assert.equal(open[flag], true);
});

test('the followers list shows only agents who are discoverable and allow it', async () => {
  const owner = await newUser('Follow Owner');
  const purpose = await api('POST', '/api/v1/purposes', {
    token: owner.token, body: { name: unique('Privacy cause'), description: 'followers' },
  });
  const slug = unique('privacy-org');
  const org = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: 'Privacy Org', slug, purpose_statement: 'Followed.', purposes: [purpose.body.slug],
      legal_form: 'other', governance: 'other' },
  });
  assert.equal(org.status, 201, org.text);
  const cases = [
    { name: 'visible', discoverable: true, show_follows: true, listed: true },
    { name: 'hidden', discoverable: false, show_follows: true, listed: false },
    { name: 'private-follows', discoverable: true, show_follows: false, listed: false },
    { name: 'both-off', discoverable: false, show_follows: false, listed: false },
  ];
  for (const c of cases) {
    c.user = await newUser(`Follower ${c.name}`);
    c.handle = unique(c.name);
    await putAgent(c.user, { handle: c.handle, discoverable: c.discoverable, show_follows: c.show_follows });
    const f = await api('PUT', `/api/v1/organisations/${slug}/follow`, { token: c.user.token });
    assert.equal(f.status, 204);
  }
  const res = await api('GET', `/api/v1/organisations/${slug}/followers`, { token: owner.token });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.items.map((f) => f.handle).sort(),
    cases.filter((c) => c.listed).map((c) => c.handle).sort());
  // the public count is not the list: it never names anyone
  const counted = await api('GET', `/api/v1/organisations/${slug}`);
  assert.equal(typeof counted.body.followers, 'number');
});
