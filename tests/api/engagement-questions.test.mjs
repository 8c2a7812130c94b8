// engagement-questions: before any proposal, an agent asks an organisation
// about an engagement and its members answer there — one thread per
// engagement and agent, started by the agent only (no messages to
// strangers), seen by the agent and the organisation's members only, each
// message notifying the other side.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, sql, unique } from './helpers.mjs';

const w = {};

async function agentOf(user, handle) {
  const res = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle, headline: 'Warden', personal_purpose: 'Rivers', skills: [], capacity_hours_per_week: 10,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
}

async function engagement(extra = {}) {
  const res = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: unique('River warden'), description: 'Walk the banks', purposes: [w.purpose], packagings: ['volunteer'],
            hours_per_week: 4, skills: [], remote_ok: true, rewards: { non_cash: [] }, ...extra },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
}

before(async () => {
  w.owner = await newUser('Olga Owner');
  w.member = await newUser('Mo Member');
  w.agent = await newUser('Ada Agent');
  w.other = await newUser('Otto Other');
  w.stranger = await newUser('Sam Stranger');
  let res = await api('POST', '/api/v1/purposes', { token: w.owner.token, body: { name: unique('Rivers'), description: 'for tests' } });
  w.purpose = res.body.slug;
  res = await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: unique('River Keepers'), purpose_statement: 'Clean rivers', purposes: [w.purpose], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  w.org = res.body.slug;
  await addMember(w.owner, w.org, w.member);
  w.handle = unique('ada');
  w.otherHandle = unique('otto');
  await agentOf(w.agent, w.handle);
  await agentOf(w.other, w.otherHandle);
});

const kinds = (who, eng) => sql(`SELECT n.kind, n.message FROM notifications n JOIN accounts a ON a.id = n.account_id
  WHERE a.email = '${who.email}' AND n.engagement_id = ${Number(eng)} AND n.kind LIKE 'engagement_%' AND n.kind <> 'engagement_posted' ORDER BY n.id`);

test('an agent asks, a member answers, each side is told; the members see every thread', async () => {
  const eng = await engagement();
  const path = `/api/v1/engagements/${eng}/questions/${w.handle}`;
  // the organisation cannot start a thread, nor read one that does not exist
  let res = await api('POST', path, { token: w.owner.token, body: { body: 'Would you join us?' } });
  assert.equal(res.status, 404, res.text);
  res = await api('GET', path, { token: w.owner.token });
  assert.equal(res.status, 404);

  res = await api('POST', path, { token: w.agent.token, body: { body: 'Is the work on weekends?' } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.side, 'agent');
  assert.equal(res.body.author.display_name, 'Ada Agent');
  for (const m of [w.owner, w.member]) {
    const n = kinds(m, eng);
    assert.equal(n.length, 1);
    assert.equal(n[0][0], 'engagement_question');
    assert.match(n[0][1], /^Ada Agent asked about "River warden-[0-9a-f]+"\.$/);
  }
  assert.equal(kinds(w.agent, eng).length, 0);

  res = await api('POST', path, { token: w.member.token, body: { body: 'Mostly Saturdays.' } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.side, 'organisation');
  const told = kinds(w.agent, eng);
  assert.deepEqual(told.map((n) => n[0]), ['engagement_answer']);
  assert.match(told[0][1], /^River Keepers-[0-9a-f]+ answered your question about "River warden-[0-9a-f]+"\.$/);
  assert.equal(kinds(w.member, eng).length, 1, 'the member who answered is not told of it');

  for (const [who, side] of [[w.agent, 'agent'], [w.owner, 'organisation']]) {
    res = await api('GET', path, { token: who.token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.my_side, side);
    assert.deepEqual(res.body.items.map((m) => [m.side, m.body]), [['organisation', 'Mostly Saturdays.'], ['agent', 'Is the work on weekends?']]);
  }

  // a second agent's thread is its own
  res = await api('POST', `/api/v1/engagements/${eng}/questions/${w.otherHandle}`, { token: w.other.token, body: { body: 'Is it paid?' } });
  assert.equal(res.status, 201);
  res = await api('GET', `/api/v1/engagements/${eng}/questions`, { token: w.member.token });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.items.map((t) => [t.agent.handle, t.messages, t.awaiting_answer, t.last.body]),
    [[w.otherHandle, 1, true, 'Is it paid?'], [w.handle, 2, false, 'Mostly Saturdays.']]);
});

test('only the agent and the members: everyone else 404, bad bodies 422, closed engagements take no new threads', async () => {
  const eng = await engagement();
  const path = `/api/v1/engagements/${eng}/questions/${w.handle}`;
  let res = await api('POST', path, { token: w.agent.token, body: { body: 'Hello?' } });
  assert.equal(res.status, 201);
  // another agent cannot read or write in it, nor ask as someone else; strangers see no threads
  for (const who of [w.other, w.stranger]) {
    assert.equal((await api('GET', path, { token: who.token })).status, 404);
    assert.equal((await api('POST', path, { token: who.token, body: { body: 'me too' } })).status, 404);
    assert.equal((await api('GET', `/api/v1/engagements/${eng}/questions`, { token: who.token })).status, 404);
  }
  assert.equal((await api('GET', path)).status, 401);
  assert.equal((await api('GET', `/api/v1/engagements/${eng}/questions/NOT-A-HANDLE`, { token: w.owner.token })).status, 404);
  assert.equal((await api('GET', `/api/v1/engagements/999999999/questions/${w.handle}`, { token: w.agent.token })).status, 404);
  for (const body of [{}, { body: ' ' }, { body: 'x'.repeat(5001) }, { body: 'ok', extra: 1 }]) {
    res = await api('POST', path, { token: w.agent.token, body });
    assert.equal(res.status, 422, JSON.stringify(body));
  }
  assert.equal(sql(`SELECT count(*) FROM engagement_messages WHERE engagement_id = ${eng}`)[0][0], '1');
  assert.throws(() => sql(`UPDATE engagement_messages SET body = 'x' WHERE engagement_id = ${eng}`));

  // a closed engagement: no new thread, but the started one goes on
  const closed = await engagement();
  const cur = await api('GET', `/api/v1/engagements/${closed}`);
  res = await api('PATCH', `/api/v1/engagements/${closed}`, { token: w.owner.token, headers: { 'If-Match': cur.headers.get('etag') }, body: { status: 'closed' } });
  assert.equal(res.status, 200, res.text);
  res = await api('POST', `/api/v1/engagements/${closed}/questions/${w.handle}`, { token: w.agent.token, body: { body: 'Still possible?' } });
  assert.equal(res.status, 409, res.text);
  const e2 = await api('GET', `/api/v1/engagements/${eng}`);
  await api('PATCH', `/api/v1/engagements/${eng}`, { token: w.owner.token, headers: { 'If-Match': e2.headers.get('etag') }, body: { status: 'closed' } });
  res = await api('POST', path, { token: w.owner.token, body: { body: 'We closed it, sorry.' } });
  assert.equal(res.status, 201, res.text);
  res = await api('POST', path, { token: w.agent.token, body: { body: 'Thanks anyway.' } });
  assert.equal(res.status, 201, res.text);
});
