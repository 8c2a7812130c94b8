// moderation-messages: a message is a report subject of its own
// (docs/moderation.md): kind agreement_message or engagement_message, the
// target its id. Only someone who reads the thread reports it (others get
// 404 as if it did not exist); reports group into one case whose snapshot is
// the message as written. Hidden, it keeps its place in the append-only
// record but without its body for everyone but its author and moderators;
// the author is told why and appeals once; restore brings it back.
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

async function engagement() {
  const res = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: unique('River warden'), description: 'Walk the banks', purposes: [w.purpose], packagings: ['volunteer'],
            hours_per_week: 4, skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
}

before(async () => {
  w.owner = await newUser('Olga Owner');
  w.member = await newUser('Mo Member');
  w.agent = await newUser('Ada Agent');
  w.stranger = await newUser('Sam Stranger');
  w.moderator = await newUser('Moderator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${w.moderator.id}, 'moderator')`);
  let res = await api('POST', '/api/v1/purposes', { token: w.owner.token, body: { name: unique('Rivers'), description: 'for tests' } });
  w.purpose = res.body.slug;
  res = await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: unique('River Keepers'), purpose_statement: 'Clean rivers', purposes: [w.purpose], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  w.org = res.body.slug;
  await addMember(w.owner, w.org, w.member);
  w.handle = unique('ada');
  await agentOf(w.agent, w.handle);
});

const report = (who, kind, target, reason = 'abusive') =>
  api('POST', '/api/v1/reports', { token: who.token, body: { kind, target: String(target), reason, note: 'Not kind.' } });

test('a question about an engagement: reported by who reads it, grouped, hidden, appealed, restored', async () => {
  const e = await engagement();
  const path = `/api/v1/engagements/${e}/questions/${w.handle}`;
  let res = await api('POST', path, { token: w.agent.token, body: { body: 'Send me your bank details first.' } });
  assert.equal(res.status, 201, res.text);
  const m = res.body;
  assert.equal(m.hidden, false);

  // a stranger, signed in, may not know the message exists; nor a made-up one
  res = await report(w.stranger, 'engagement_message', m.id);
  assert.equal(res.status, 404, res.text);
  res = await report(w.owner, 'engagement_message', 999999999);
  assert.equal(res.status, 404, res.text);
  // an agreement message of that id is another thing
  res = await report(w.owner, 'agreement_message', m.id);
  assert.equal(res.status, 404, res.text);

  // two members report it: one case, the snapshot is the message as written
  res = await report(w.owner, 'engagement_message', m.id);
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.subject.kind, 'engagement_message');
  assert.equal(res.body.subject.id, m.id);
  res = await report(w.member, 'engagement_message', m.id, 'spam');
  assert.equal(res.status, 201, res.text);
  res = await report(w.member, 'engagement_message', m.id);
  assert.equal(res.status, 409, res.text);
  res = await api('GET', '/api/v1/moderation/cases?limit=100', { token: w.moderator.token });
  const cases = res.body.items.filter((c) => c.subject.kind === 'engagement_message' && c.subject.id === m.id);
  assert.equal(cases.length, 1, res.text);
  assert.equal(cases[0].reports, 2);
  res = await api('GET', `/api/v1/moderation/cases/${cases[0].id}`, { token: w.moderator.token });
  assert.equal(res.status, 200, res.text);
  const snap = res.body.reports[0].snapshot;
  assert.equal(snap.message.body, 'Send me your bank details first.');
  assert.equal(snap.message.author.id, w.agent.id);
  assert.equal(snap.message.created_at, m.created_at);
  assert.equal(snap.thread.kind, 'engagement');
  assert.equal(snap.thread.engagement_id, e);
  assert.equal(snap.thread.agent, w.handle);
  assert.equal(res.body.hidden, false);

  // hidden: the members read that it was hidden, not what it said
  res = await api('POST', '/api/v1/moderation/actions', { token: w.moderator.token, body: { action: 'hide', case: cases[0].id, reason: 'Asks for bank details.' } });
  assert.equal(res.status, 201, res.text);
  const action = res.body;
  assert.equal(action.subject.kind, 'engagement_message');
  const rows = sql(`SELECT body FROM engagement_messages WHERE id = ${m.id}`);
  assert.equal(rows[0][0], 'Send me your bank details first.', 'the row is never rewritten');
  for (const who of [w.owner, w.member]) {
    res = await api('GET', path, { token: who.token });
    const seen = res.body.items.find((x) => x.id === m.id);
    assert.equal(seen.hidden, true);
    assert.equal(seen.body, null, res.text);
    assert.ok(!res.text.includes('bank details'), res.text);
  }
  res = await api('GET', `/api/v1/engagements/${e}/questions`, { token: w.owner.token });
  assert.equal(res.status, 200, res.text);
  assert.ok(!res.text.includes('bank details'), res.text);
  // its author reads it with the notice; a moderator reads it too
  res = await api('GET', path, { token: w.agent.token });
  let mine = res.body.items.find((x) => x.id === m.id);
  assert.equal(mine.hidden, true);
  assert.equal(mine.body, 'Send me your bank details first.');
  res = await api('GET', `/api/v1/moderation/cases/${cases[0].id}`, { token: w.moderator.token });
  assert.equal(res.body.hidden, true);
  assert.equal(res.body.current.message.body, 'Send me your bank details first.');
  // reporting it again finds nothing to report
  res = await report(w.owner, 'engagement_message', m.id);
  assert.equal(res.status, 404, res.text);

  // the author is told why, and appeals once
  const told = sql(`SELECT message, payload ->> 'subject_kind' FROM notifications
                     WHERE account_id = ${w.agent.id} AND kind = 'moderation' ORDER BY id DESC LIMIT 1`);
  assert.match(told[0][0], /^A moderator hid your message "Send me your bank details first\.": Asks for bank details\.$/);
  assert.equal(told[0][1], 'engagement_message');
  res = await api('GET', '/api/v1/me/moderation', { token: w.agent.token });
  assert.ok(res.body.items.some((a) => a.id === action.id && a.action === 'hide'), res.text);
  res = await api('POST', `/api/v1/me/moderation/${action.id}/appeal`, { token: w.agent.token, body: { note: 'It was a joke.' } });
  assert.equal(res.status, 201, res.text);
  res = await api('POST', `/api/v1/me/moderation/${action.id}/appeal`, { token: w.agent.token, body: { note: 'Again.' } });
  assert.equal(res.status, 409, res.text);
  res = await api('POST', `/api/v1/me/moderation/${action.id}/appeal`, { token: w.owner.token, body: { note: 'Me too.' } });
  assert.equal(res.status, 404, res.text);

  // restored: everyone reads it again; both actions are in the log
  res = await api('POST', '/api/v1/moderation/actions', { token: w.moderator.token, body: { action: 'restore', kind: 'engagement_message', target: String(m.id), reason: 'Appeal heard.' } });
  assert.equal(res.status, 201, res.text);
  res = await api('GET', path, { token: w.owner.token });
  mine = res.body.items.find((x) => x.id === m.id);
  assert.equal(mine.hidden, false);
  assert.equal(mine.body, 'Send me your bank details first.');
  res = await api('GET', '/api/v1/moderation/log?limit=50', { token: w.moderator.token });
  const logged = res.body.items.filter((a) => a.subject.kind === 'engagement_message' && a.subject.id === m.id).map((a) => a.action);
  assert.deepEqual(logged, ['restore', 'hide']);
  assert.ok(res.body.items.find((a) => a.id === action.id).appeal.resolved_at, 'the restore settles the appeal');
});

test('an agreement message: parties report it, others 404; hidden from the other side and the export, not from its author', async () => {
  const e = await engagement();
  let res = await api('POST', '/api/v1/agreements', {
    token: w.agent.token,
    body: { organisation: w.org, agent: w.handle, engagement: e, role: 'Warden', purposes: [w.purpose],
            packaging: 'volunteer', hours_per_week: 4, terms: 'Two days a month.', rewards: { cash: null, non_cash: [] },
            starts_on: new Date().toISOString().slice(0, 10) },
  });
  assert.equal(res.status, 201, res.text);
  const a = res.body.id;
  res = await api('POST', `/api/v1/agreements/${a}/messages`, { token: w.owner.token, body: { body: 'You are useless.' } });
  assert.equal(res.status, 201, res.text);
  const m = res.body;

  res = await report(w.stranger, 'agreement_message', m.id);
  assert.equal(res.status, 404, res.text);
  res = await report(w.moderator, 'agreement_message', m.id);
  assert.equal(res.status, 404, 'a moderator who is no party does not report it either');
  res = await report(w.agent, 'agreement_message', m.id);
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.subject.kind, 'agreement_message');

  res = await api('POST', '/api/v1/moderation/actions', { token: w.moderator.token, body: { action: 'hide', kind: 'agreement_message', target: String(m.id), reason: 'Insulting.' } });
  assert.equal(res.status, 201, res.text);
  res = await api('POST', '/api/v1/moderation/actions', { token: w.moderator.token, body: { action: 'hide', kind: 'agreement_message', target: String(m.id), reason: 'Twice.' } });
  assert.equal(res.status, 409, res.text);
  for (const [who, body] of [[w.agent, null], [w.member, null], [w.owner, 'You are useless.']]) {
    res = await api('GET', `/api/v1/agreements/${a}/messages`, { token: who.token });
    assert.equal(res.status, 200, res.text);
    const seen = res.body.items.find((x) => x.id === m.id);
    assert.equal(seen.hidden, true);
    assert.equal(seen.body, body, `${who.email}: ${res.text}`);
  }
  // the other side's export keeps the message without its body (the
  // notification it had when the message came, mailed then, keeps its note)
  res = await api('GET', '/api/v1/me/export', { token: w.agent.token });
  assert.equal(res.status, 200, res.text);
  const exported = res.body.agreements.find((x) => x.id === a).messages.find((x) => x.id === m.id);
  assert.equal(exported.hidden, true);
  assert.equal(exported.body, null);
  // the record keeps the message: the agreement's history still verifies
  assert.equal(sql(`SELECT count(*) FROM agreement_messages WHERE id = ${m.id}`)[0][0], '1');
  res = await api('POST', '/api/v1/moderation/actions', { token: w.moderator.token, body: { action: 'restore', kind: 'agreement_message', target: String(m.id), reason: 'On second thought.' } });
  assert.equal(res.status, 201, res.text);
  res = await api('GET', `/api/v1/agreements/${a}/messages`, { token: w.agent.token });
  assert.equal(res.body.items.find((x) => x.id === m.id).body, 'You are useless.');
});
