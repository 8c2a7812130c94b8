// agreement-threads: what accumulates under an agreement besides its terms.
// The conversation: either side writes, the other is notified (and
// mailed), unread counts and read marks per account, append-only, parties
// only. Hours: either side logs while the terms are in force, the other side
// (never the logger's) confirms or disputes once, totals on the agreement
// and the list, CSV for both sides.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, sql, unique } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const w = {};

async function fresh(by = w.owner, { active = false } = {}) {
  const e = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: unique('Work'), description: 'Work', purposes: [w.purpose], packagings: ['volunteer'], hours_per_week: 4,
            skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  assert.equal(e.status, 201, e.text);
  const res = await api('POST', '/api/v1/agreements', {
    token: by.token,
    body: { organisation: w.org, agent: w.handle, engagement: e.body.id, role: 'Pump engineer', purposes: [w.purpose],
            packaging: 'volunteer', hours_per_week: 4, terms: 'Two days a month.', rewards: { cash: null, non_cash: [] },
            starts_on: day(-30) },
  });
  assert.equal(res.status, 201, res.text);
  if (active) {
    const other = by === w.agent ? w.owner : w.agent;
    const acc = await api('POST', `/api/v1/agreements/${res.body.id}/accept`, { token: other.token });
    assert.equal(acc.status, 200, acc.text);
  }
  return res.body.id;
}

before(async () => {
  w.owner = await newUser('Olga Owner');
  w.member = await newUser('Mo Member');
  w.agent = await newUser('Ada Agent');
  w.stranger = await newUser('Sam Stranger');
  let res = await api('POST', '/api/v1/purposes', { token: w.owner.token, body: { name: unique('Water'), description: 'for tests' } });
  w.purpose = res.body.slug;
  res = await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: unique('River Keepers'), purpose_statement: 'Water for all', purposes: [w.purpose], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  w.org = res.body.slug;
  await addMember(w.owner, w.org, w.member);
  w.handle = unique('ada');
  res = await api('PUT', '/api/v1/me/agent', {
    token: w.agent.token,
    body: { handle: w.handle, headline: 'Engineer', personal_purpose: 'Water', skills: [], capacity_hours_per_week: 40,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
});

const notificationsOf = (who, id, kind) =>
  sql(`SELECT n.message, n.read_at IS NOT NULL, n.payload ->> 'note' FROM notifications n JOIN accounts a ON a.id = n.account_id
       WHERE a.email = '${who.email}' AND n.agreement_id = ${Number(id)} AND n.kind = '${kind}' ORDER BY n.id`);

test('a proposal has a conversation: each side writes, the other is told, unread counts follow', async () => {
  const id = await fresh(w.agent);
  let res = await api('POST', `/api/v1/agreements/${id}/messages`, { token: w.agent.token, body: { body: 'Can the two days be weekends?' } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.headers.get('location'), `/api/v1/agreements/${id}/messages/${res.body.id}`);
  assert.equal(res.body.side, 'agent');
  assert.equal(res.body.body, 'Can the two days be weekends?');
  assert.equal(res.body.author.display_name, 'Ada Agent');
  const first = res.body.id;

  // every member of the organisation is told, never the writer; a verified address is mailed
  for (const m of [w.owner, w.member]) {
    const n = notificationsOf(m, id, 'agreement_message');
    assert.equal(n.length, 1);
    assert.equal(n[0][0], 'Ada Agent wrote about the agreement "Pump engineer".');
    assert.equal(n[0][2], 'Can the two days be weekends?');
  }
  assert.equal(notificationsOf(w.agent, id, 'agreement_message').length, 0);
  const mails = sql(`SELECT count(*) FROM jobs WHERE kind = 'mail' AND payload ->> 'to' = '${w.member.email}'
                      AND payload -> 'vars' ->> 'kind' = 'agreement_message'`);
  assert.equal(mails[0][0], '1');

  // the organisation has one unread message, the writer none
  res = await api('GET', `/api/v1/agreements/${id}/messages`, { token: w.member.token });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.unread, 1);
  assert.deepEqual(res.body.items.map((m) => m.id), [first]);
  res = await api('GET', `/api/v1/agreements/${id}/messages`, { token: w.agent.token });
  assert.equal(res.body.unread, 0);
  assert.equal(res.body.last_read_id, first);

  // the owner answers: the agent is told; the owner has read the thread, the member not yet
  res = await api('POST', `/api/v1/agreements/${id}/messages`, { token: w.owner.token, body: { body: 'Yes, Saturdays work.' } });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.side, 'organisation');
  const second = res.body.id;
  assert.match(notificationsOf(w.agent, id, 'agreement_message')[0][0], /^River Keepers-[0-9a-f]+ wrote about the agreement "Pump engineer"\.$/);
  res = await api('GET', `/api/v1/agreements/${id}/messages`, { token: w.owner.token });
  assert.equal(res.body.unread, 0);
  assert.deepEqual(res.body.items.map((m) => m.id), [second, first], 'newest first');
  res = await api('GET', `/api/v1/agreements/${id}/messages`, { token: w.member.token });
  assert.equal(res.body.unread, 2);
  res = await api('GET', `/api/v1/agreements/${id}/messages`, { token: w.agent.token });
  assert.equal(res.body.unread, 1);

  // reading up to the first message leaves the second unread; reading all, none
  res = await api('POST', `/api/v1/agreements/${id}/messages/read`, { token: w.member.token, body: { up_to: first } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body, { last_read_id: first, unread: 1, notifications_marked: 1 });
  res = await api('POST', `/api/v1/agreements/${id}/messages/read`, { token: w.member.token });
  assert.deepEqual(res.body, { last_read_id: second, unread: 0, notifications_marked: 0 });
  // never backwards
  res = await api('POST', `/api/v1/agreements/${id}/messages/read`, { token: w.member.token, body: { up_to: first } });
  assert.equal(res.body.last_read_id, second);
  // the agent reads: its message notification is read too
  res = await api('POST', `/api/v1/agreements/${id}/messages/read`, { token: w.agent.token, body: {} });
  assert.deepEqual(res.body, { last_read_id: second, unread: 0, notifications_marked: 1 });
  assert.deepEqual(notificationsOf(w.agent, id, 'agreement_message').map((n) => n[1]), ['t']);

  // the agreement counts them
  res = await api('GET', `/api/v1/agreements/${id}`, { token: w.agent.token });
  assert.equal(res.body.messages, 2);

  // paging
  res = await api('GET', `/api/v1/agreements/${id}/messages?limit=1`, { token: w.agent.token });
  assert.deepEqual(res.body.items.map((m) => m.id), [second]);
  res = await api('GET', `/api/v1/agreements/${id}/messages?limit=1&cursor=${encodeURIComponent(res.body.next_cursor)}`, { token: w.agent.token });
  assert.deepEqual(res.body.items.map((m) => m.id), [first]);
  assert.equal(res.body.next_cursor, null);
});

test('messages: bad bodies are 422 naming the field; strangers 404; the thread is append-only', async () => {
  const id = await fresh(w.owner);
  for (const body of [{}, { body: '' }, { body: '   \n' }, { body: 'x'.repeat(5001) }, { body: 3 }]) {
    const res = await api('POST', `/api/v1/agreements/${id}/messages`, { token: w.agent.token, body });
    assert.equal(res.status, 422, JSON.stringify(body));
    assert.deepEqual(res.body.errors.map((e) => e.field), ['body']);
  }
  let res = await api('POST', `/api/v1/agreements/${id}/messages`, { token: w.agent.token, body: { body: 'hi', to: 'x' } });
  assert.equal(res.status, 422);
  for (const [method, path] of [['GET', 'messages'], ['POST', 'messages'], ['POST', 'messages/read']]) {
    res = await api(method, `/api/v1/agreements/${id}/${path}`, { token: w.stranger.token, body: method === 'POST' ? { body: 'hi' } : undefined });
    assert.equal(res.status, 404, `${method} ${path}`);
  }
  assert.equal(sql(`SELECT count(*) FROM agreement_messages WHERE agreement_id = ${id}`)[0][0], '0');
  res = await api('POST', `/api/v1/agreements/${id}/messages`, { token: w.agent.token, body: { body: 'hello' } });
  assert.equal(res.status, 201);
  assert.throws(() => sql(`UPDATE agreement_messages SET body = 'changed' WHERE agreement_id = ${id}`));
  assert.throws(() => sql(`DELETE FROM agreement_messages WHERE agreement_id = ${id}`));
  // a declined proposal can still be talked about
  res = await api('POST', `/api/v1/agreements/${id}/decline`, { token: w.agent.token });
  assert.equal(res.status, 200);
  res = await api('POST', `/api/v1/agreements/${id}/messages`, { token: w.owner.token, body: { body: 'Pity. Another time?' } });
  assert.equal(res.status, 201);
});

test('hours: logged by one side, confirmed or disputed once by the other, in the totals', async () => {
  const id = await fresh(w.owner, { active: true });
  let res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-2), hours: 3.5, note: 'Pump at the school' } });
  assert.equal(res.status, 201, res.text);
  const a = res.body;
  assert.equal(res.headers.get('location'), `/api/v1/agreements/${id}/hours/${a.id}`);
  assert.equal(a.status, 'awaiting');
  assert.equal(a.hours, 3.5);
  assert.equal(a.side, 'agent');
  assert.equal(a.decision, null);
  const n = notificationsOf(w.member, id, 'agreement_hours_logged');
  assert.equal(n.length, 1);
  assert.equal(n[0][0], `Ada Agent logged 3.50 hours on ${day(-2)} for the agreement "Pump engineer".`);

  // the logger's side cannot answer its own hours; the other side answers once
  res = await api('POST', `/api/v1/agreements/${id}/hours/${a.id}/confirm`, { token: w.agent.token });
  assert.equal(res.status, 409, res.text);
  res = await api('POST', `/api/v1/agreements/${id}/hours/${a.id}/confirm`, { token: w.member.token, body: { note: 'Thanks!' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.status, 'confirmed');
  assert.equal(res.body.decision.outcome, 'confirmed');
  assert.equal(res.body.decision.side, 'organisation');
  assert.equal(res.body.decision.by.display_name, 'Mo Member');
  assert.equal(notificationsOf(w.agent, id, 'agreement_hours_confirmed').length, 1);
  res = await api('POST', `/api/v1/agreements/${id}/hours/${a.id}/dispute`, { token: w.owner.token, body: { note: 'no' } });
  assert.equal(res.status, 409, res.text);

  // the organisation logs too; the agent disputes, saying why
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.owner.token, body: { worked_on: day(-1), hours: 2 } });
  assert.equal(res.status, 201, res.text);
  const b = res.body;
  res = await api('POST', `/api/v1/agreements/${id}/hours/${b.id}/dispute`, { token: w.agent.token, body: {} });
  assert.equal(res.status, 422);
  assert.deepEqual(res.body.errors.map((e) => e.field), ['note']);
  res = await api('POST', `/api/v1/agreements/${id}/hours/${b.id}/dispute`, { token: w.agent.token, body: { note: 'It was 4 hours' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.status, 'disputed');
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-1), hours: 4, note: 'the same day, corrected' } });
  assert.equal(res.status, 201);

  // totals on the list and on the agreement
  res = await api('GET', `/api/v1/agreements/${id}/hours`, { token: w.owner.token });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.totals, { confirmed: 3.5, awaiting: 4, disputed: 2, entries: 3 });
  assert.deepEqual(res.body.items.map((e) => e.status), ['awaiting', 'disputed', 'confirmed']);
  res = await api('GET', `/api/v1/agreements/${id}`, { token: w.agent.token });
  assert.deepEqual(res.body.hours, { confirmed: 3.5, awaiting: 4, disputed: 2, entries: 3 });

  // an entry of another agreement is not this one's
  const other = await fresh(w.owner, { active: true });
  res = await api('POST', `/api/v1/agreements/${other}/hours/${a.id}/confirm`, { token: w.agent.token });
  assert.equal(res.status, 404);
  // append-only, and the database refuses a side answering its own entry
  assert.throws(() => sql(`UPDATE agreement_hours SET hours = 1 WHERE id = ${a.id}`));
  assert.throws(() => sql(`DELETE FROM agreement_hours_decisions WHERE entry_id = ${a.id}`));
  assert.throws(() => sql(`INSERT INTO agreement_hours_decisions (entry_id, outcome, side, decided_by)
                           SELECT id, 'confirmed', side, logged_by FROM agreement_hours WHERE agreement_id = ${id} AND side = 'agent' LIMIT 1`));
});

test('hours: only while the terms are in force, for a day that has come, in quarter hours', async () => {
  const proposed = await fresh(w.owner);
  let res = await api('POST', `/api/v1/agreements/${proposed}/hours`, { token: w.agent.token, body: { worked_on: day(-1), hours: 1 } });
  assert.equal(res.status, 409, res.text);
  const id = await fresh(w.owner, { active: true });
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(2), hours: 1 } });
  assert.equal(res.status, 422);
  assert.deepEqual(res.body.errors.map((e) => e.field), ['worked_on']);
  for (const body of [{ worked_on: 'yesterday', hours: 1 }, { worked_on: day(-1), hours: 0 }, { worked_on: day(-1), hours: 25 },
    { worked_on: day(-1), hours: 1.1 }, { worked_on: day(-1), hours: '2' }]) {
    res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body });
    assert.equal(res.status, 422, JSON.stringify(body));
  }
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: {} });
  assert.deepEqual(res.body.errors.map((e) => e.field).sort(), ['hours', 'worked_on']);
  // an amendment awaiting consent leaves the terms in force: hours go on
  const cur = await api('GET', `/api/v1/agreements/${id}`, { token: w.owner.token });
  res = await api('PATCH', `/api/v1/agreements/${id}`, { token: w.owner.token, headers: { 'If-Match': cur.headers.get('etag') }, body: { hours_per_week: 6 } });
  assert.equal(res.status, 200, res.text);
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(0), hours: 0.25 } });
  assert.equal(res.status, 201, res.text);
  assert.equal(sql(`SELECT count(*) FROM agreement_hours WHERE agreement_id = ${id}`)[0][0], '1');
  for (const [method, path] of [['GET', 'hours'], ['GET', 'hours.csv'], ['POST', 'hours']]) {
    res = await api(method, `/api/v1/agreements/${id}/${path}`, { token: w.stranger.token, body: method === 'POST' ? { worked_on: day(-1), hours: 1 } : undefined });
    assert.equal(res.status, 404, `${method} ${path}`);
  }
  // concluded: no more hours, but what was logged may still be answered
  res = await api('POST', `/api/v1/agreements/${id}/withdraw`, { token: w.owner.token });
  assert.equal(res.status, 200, res.text);
  for (const who of [w.agent, w.owner]) {
    res = await api('POST', `/api/v1/agreements/${id}/conclude`, { token: who.token, body: { commitments_kept: true } });
    assert.equal(res.status, 200, res.text);
  }
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-1), hours: 1 } });
  assert.equal(res.status, 409);
  const entry = sql(`SELECT id FROM agreement_hours WHERE agreement_id = ${id}`)[0][0];
  res = await api('POST', `/api/v1/agreements/${id}/hours/${entry}/confirm`, { token: w.owner.token });
  assert.equal(res.status, 200, res.text);
});

test('hours as CSV: one line per entry by date, quoted where needed, formulas defused, for both sides', async () => {
  const id = await fresh(w.owner, { active: true });
  let res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-1), hours: 2, note: 'Pumps, "the big one"\nand a valve' } });
  assert.equal(res.status, 201);
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-3), hours: 1.25, note: '=HYPERLINK("x")' } });
  const early = res.body.id;
  res = await api('POST', `/api/v1/agreements/${id}/hours/${early}/confirm`, { token: w.owner.token });
  assert.equal(res.status, 200);
  for (const who of [w.agent, w.member]) {
    res = await api('GET', `/api/v1/agreements/${id}/hours.csv`, { token: who.token });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="agreement-${id}-hours.csv"`);
    const lines = res.text.split('\r\n');
    assert.equal(lines[0], 'worked_on,hours,status,logged_by_side,logged_by,note,answered_by_side,answered_by,answer_note,logged_at');
    assert.ok(lines[1].startsWith(`${day(-3)},1.25,confirmed,agent,Ada Agent,"'=HYPERLINK(""x"")",organisation,Olga Owner,,`), lines[1]);
    assert.ok(lines[2].startsWith(`${day(-1)},2.00,awaiting,agent,Ada Agent,"Pumps, ""the big one""\nand a valve",,,,`), lines[2]);
    assert.equal(lines[3], '');
    assert.equal(lines.length, 4);
  }
});

test('renewal: an agreement in force is renewed with consent; the history keeps every version', async () => {
  const id = await fresh(w.owner);
  // a proposal is amended, not renewed
  let res = await api('POST', `/api/v1/agreements/${id}/renew`, { token: w.owner.token, body: { review_on: day(200) } });
  assert.equal(res.status, 409, res.text);
  res = await api('POST', `/api/v1/agreements/${id}/accept`, { token: w.agent.token });
  assert.equal(res.status, 200);
  let cur = await api('PATCH', `/api/v1/agreements/${id}`, { token: w.owner.token, headers: { 'If-Match': res.headers.get('etag') }, body: { review_on: day(10) } });
  assert.equal(cur.status, 200, cur.text);
  cur = await api('POST', `/api/v1/agreements/${id}/accept`, { token: w.agent.token });
  assert.equal(cur.status, 200, cur.text);

  // the new review date is required, after the current one, not in the past
  for (const [body, field] of [[{}, 'review_on'], [{ review_on: day(5) }, 'review_on'], [{ review_on: null }, 'review_on'], [{ review_on: day(90), colour: 'red' }, 'colour']]) {
    res = await api('POST', `/api/v1/agreements/${id}/renew`, { token: w.agent.token, body });
    assert.equal(res.status, 422, `${JSON.stringify(body)}: ${res.text}`);
    assert.deepEqual(res.body.errors.map((e) => e.field), [field]);
  }
  assert.equal(sql(`SELECT count(*) FROM agreement_versions WHERE agreement_id = ${id}`)[0][0], '2');
  res = await api('POST', `/api/v1/agreements/${id}/renew`, { token: w.agent.token, headers: { 'If-Match': '"1"' }, body: { review_on: day(120) } });
  assert.equal(res.status, 412);

  // the agent proposes to renew for another four months, with more hours
  res = await api('POST', `/api/v1/agreements/${id}/renew`, { token: w.agent.token, body: { review_on: day(120), hours_per_week: 5, change_note: 'Another season' } });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.standing, 'active');
  assert.equal(res.body.awaiting, 'organisation');
  assert.equal(res.body.pending_terms.renewal, true);
  assert.equal(res.body.pending_terms.review_on, day(120));
  assert.equal(res.body.active_terms.review_on, day(10), 'the terms in force stay until consent');
  assert.equal(res.body.active_terms.renewal, false);
  const n = notificationsOf(w.owner, id, 'agreement_renewal_proposed');
  assert.equal(n.length, 1);
  assert.equal(n[0][0], 'Ada Agent proposed to renew the agreement "Pump engineer".');
  // hours go on meanwhile
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(0), hours: 1 } });
  assert.equal(res.status, 201);

  // the organisation consents: the renewed terms are in force, every version kept
  res = await api('POST', `/api/v1/agreements/${id}/accept`, { token: w.member.token });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.status, 'active');
  assert.equal(res.body.active_terms.review_on, day(120));
  assert.equal(res.body.active_terms.renewal, true);
  assert.equal(res.body.active_terms.hours_per_week, 5);
  res = await api('GET', `/api/v1/agreements/${id}/versions`, { token: w.agent.token });
  assert.deepEqual(res.body.items.map((v) => [v.version, v.outcome, v.renewal]),
    [[3, 'in_force', true], [2, 'accepted', false], [1, 'accepted', false]]);

  // a renewal declined leaves the terms in force, and says so
  res = await api('POST', `/api/v1/agreements/${id}/renew`, { token: w.owner.token, body: { review_on: day(300) } });
  assert.equal(res.status, 200, res.text);
  res = await api('POST', `/api/v1/agreements/${id}/decline`, { token: w.agent.token });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.active_terms.review_on, day(120));
  assert.equal(res.body.dropped_change.outcome, 'declined');
  assert.equal(res.body.dropped_change.terms.renewal, true);
  assert.throws(() => sql(`DELETE FROM agreement_renewals WHERE agreement_id = ${id}`));

  // concluded: nothing to renew
  for (const who of [w.agent, w.owner]) {
    res = await api('POST', `/api/v1/agreements/${id}/conclude`, { token: who.token, body: { commitments_kept: true } });
    assert.equal(res.status, 200, res.text);
  }
  res = await api('POST', `/api/v1/agreements/${id}/renew`, { token: w.agent.token, body: { review_on: day(400) } });
  assert.equal(res.status, 409);
  res = await api('POST', `/api/v1/agreements/${id}/renew`, { token: w.stranger.token, body: { review_on: day(400) } });
  assert.equal(res.status, 404);
});

test('the agent\'s export holds each agreement\'s messages and hours', async () => {
  const id = await fresh(w.owner, { active: true });
  await api('POST', `/api/v1/agreements/${id}/messages`, { token: w.owner.token, body: { body: 'Welcome aboard' } });
  await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-1), hours: 1.5, note: 'first walk' } });
  const res = await api('GET', '/api/v1/me/export', { token: w.agent.token });
  assert.equal(res.status, 200, res.text);
  const ag = res.body.agreements.find((a) => a.id === id);
  assert.deepEqual(ag.messages.map((m) => [m.side, m.body]), [['organisation', 'Welcome aboard']]);
  assert.deepEqual(ag.hours.map((h) => [h.hours, h.note, h.status]), [[1.5, 'first walk', 'awaiting']]);
});
