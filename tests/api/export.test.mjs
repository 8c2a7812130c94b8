// export: GET /api/v1/me/export — one JSON document with everything the
// account owns (account, agent, purposes, follows, agreements with every
// version and closure, notifications, memberships), as an attachment, with
// nothing of another account and no secret (password or token hashes).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, sql, unique } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

async function newPurpose(token, label) {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name: unique(label), description: 'for tests' } });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

async function makeAgent(user, energies) {
  const handle = unique('ag');
  let res = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle, headline: 'Engineer', personal_purpose: 'Water', skills: ['pumps'], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
  res = await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body: energies });
  assert.equal(res.status, 200, res.text);
  return handle;
}

async function newOrg(owner, purposes) {
  const res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: unique('Org'), purpose_statement: 'Water for all', purposes, legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

const propose = (who, body) => api('POST', '/api/v1/agreements', { token: who.token, body });
const act = (who, id, action, body) => api('POST', `/api/v1/agreements/${id}/${action}`, { token: who.token, body });

test('the export holds every part of what the account owns, and nothing of anyone else', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Water');
  const science = await newPurpose(owner.token, 'Science');
  const org = await newOrg(owner, [water]);
  const other = await newOrg(owner, [science]);

  const me = await newUser('Ada Exporter');
  const handle = await makeAgent(me, [{ purpose: water, energy: 60 }, { purpose: science, energy: 20 }]);
  let r = await api('PUT', `/api/v1/organisations/${org}/follow`, { token: me.token });
  assert.equal(r.status, 204);
  await addMember(owner, other, me, 'admin');

  // an agreement amended, accepted and concluded on both sides
  const base = { organisation: org, agent: handle, role: 'Pump engineer', purposes: [water], packaging: 'volunteer',
    hours_per_week: 8, terms: 'Two days a month.', rewards: { cash: null, non_cash: ['learning'] }, starts_on: day(1) };
  r = await propose(me, base);
  assert.equal(r.status, 201, r.text);
  const a = r.body;
  r = await api('PATCH', `/api/v1/agreements/${a.id}`, { token: owner.token, body: { hours_per_week: 6, change_note: 'Fewer hours' }, headers: { 'If-Match': `"${a.version}"` } });
  assert.equal(r.status, 200, r.text);
  assert.equal((await act(me, a.id, 'accept')).status, 200);
  assert.equal((await act(me, a.id, 'conclude', { commitments_kept: true, note: 'Good work' })).status, 200);
  assert.equal((await act(owner, a.id, 'conclude', { commitments_kept: true })).status, 200);
  r = await api('POST', '/api/v1/me/notifications/feed', { token: me.token });
  assert.equal(r.status, 201);
  const feedToken = r.body.url.slice('/feeds/me/'.length, -'.atom'.length);

  // someone else in the same organisation, with their own everything
  const someone = await newUser('Sam Someone');
  const theirHandle = await makeAgent(someone, [{ purpose: science, energy: 70 }]);
  await api('PUT', `/api/v1/organisations/${other}/follow`, { token: someone.token });
  r = await propose(someone, { ...base, agent: theirHandle, role: 'Secret role of Sam', terms: 'Terms only Sam sees' });
  assert.equal(r.status, 201, r.text);
  const theirs = r.body;
  await api('POST', '/api/v1/me/notifications/feed', { token: someone.token });

  r = await api('GET', '/api/v1/me/export');
  assert.equal(r.status, 401);
  r = await api('GET', '/api/v1/me/export', { token: me.token });
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/json/);
  assert.match(r.headers.get('content-disposition'), new RegExp(`^attachment; filename="purposed-export-${me.id}-\\d{4}-\\d\\d-\\d\\d\\.json"$`));
  const x = r.body;
  assert.equal(x.format, 'purposed-export/1');
  assert.match(x.exported_at, /^\d{4}-\d\d-\d\dT/);

  assert.deepEqual(x.account, { ...x.account, id: me.id, email: me.email, display_name: 'Ada Exporter' });
  assert.equal(x.agent.handle, handle);
  assert.equal(x.agent.capacity_hours_per_week, 20);
  assert.deepEqual(x.agent.skills, ['pumps']);
  assert.deepEqual(x.agent.track_record, { concluded: 1, commitments_kept: 1 });
  assert.deepEqual(x.purposes.map((p) => [p.purpose.slug, p.energy]), [[water, 60], [science, 20]]);
  assert.deepEqual(x.follows.map((f) => f.organisation.slug), [org]);
  assert.deepEqual(x.memberships.map((m) => [m.organisation.slug, m.role]), [[other, 'admin']]);

  assert.equal(x.agreements.length, 1);
  const ag = x.agreements[0];
  assert.equal(ag.id, a.id);
  assert.equal(ag.status, 'concluded');
  assert.equal(ag.organisation.slug, org);
  assert.deepEqual(ag.versions.map((v) => [v.version, v.hours_per_week, v.proposed_by]), [[1, 8, 'agent'], [2, 6, 'organisation']]);
  assert.equal(ag.versions[1].change_note, 'Fewer hours');
  assert.deepEqual(ag.versions[0].purposes.map((p) => p.slug), [water]);
  assert.deepEqual(ag.closures.map((c) => [c.side, c.commitments_kept]).sort(), [['agent', true], ['organisation', true]]);
  assert.equal(ag.closures.find((c) => c.side === 'agent').note, 'Good work');

  const [[mine]] = sql(`SELECT count(*) FROM notifications WHERE account_id = ${me.id}`);
  assert.equal(x.notifications.length, Number(mine));
  assert.deepEqual(x.notifications.map((n) => n.kind).sort(), ['agreement_amended', 'agreement_closure_recorded'].sort());
  assert.ok(x.notifications.every((n) => 'read_at' in n && 'payload' in n));
  assert.ok(x.notification_feed && /^\d{4}-/.test(x.notification_feed.created_at));

  // no secret, nothing of another account
  const text = r.text;
  const [[pwhash]] = sql(`SELECT password_hash FROM accounts WHERE id = ${me.id}`);
  const hashes = sql(`SELECT encode(token_hash, 'hex') FROM sessions WHERE account_id IN (${me.id}, ${someone.id})
    UNION ALL SELECT encode(token_hash, 'hex') FROM notification_feeds WHERE account_id IN (${me.id}, ${someone.id})`).map(([h]) => h);
  assert.ok(hashes.length >= 4);
  for (const secret of [pwhash, '$argon2', 'password', 'token_hash', feedToken, me.token, ...hashes]) {
    assert.ok(!text.includes(secret), `the export holds ${secret}`);
  }
  for (const foreign of [someone.email, theirHandle, 'Secret role of Sam', 'Terms only Sam sees', owner.email]) {
    assert.ok(!text.includes(foreign), `the export holds ${foreign}`);
  }
  assert.ok(!x.agreements.some((g) => g.id === theirs.id));

  // an account without an agent profile exports what it has
  r = await api('GET', '/api/v1/me/export', { token: someone.token });
  assert.equal(r.status, 200);
  r = await api('GET', '/api/v1/me/export', { token: owner.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.agent, null);
  assert.deepEqual(r.body.purposes, []);
  assert.deepEqual(r.body.agreements, [], 'an organisation\'s agreements belong to the organisation');
  assert.deepEqual(r.body.memberships.map((m) => m.role), ['owner', 'owner']);
  assert.equal(r.body.notification_feed, null);
});
