// agreements: relationship agreements through the API — the full lifecycle,
// every illegal transition (409 naming the allowed actions), amendments that
// keep the terms in force until accepted, versions, append-only history,
// privacy, lists, the portfolio's warnings and notifications for the other side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, sql, unique, problemFields } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

async function newPurpose(token, label = 'Purpose') {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name: unique(label), description: 'for tests' } });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

// An organisation with an owner and a plain member, an agent (capacity 20,
// energy declared for two purposes), an outsider, and a purpose each way.
async function world({ capacity = 20 } = {}) {
  const owner = await newUser('Olga Owner');
  const member = await newUser('Mo Member');
  const agent = await newUser('Ada Agent');
  const outsider = await newUser('Otto Outsider');
  const purpose = await newPurpose(owner.token, 'Clean Water');
  const other = await newPurpose(owner.token, 'Open Science');
  let res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: unique('Acme'), purpose_statement: 'Water for all', purposes: [purpose],
            legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  const org = res.body.slug;
  await addMember(owner, org, member, 'member');
  const handle = unique('ada');
  res = await api('PUT', '/api/v1/me/agent', {
    token: agent.token,
    body: { handle, headline: 'Engineer', personal_purpose: 'Water', skills: ['pumps'],
            capacity_hours_per_week: capacity, packagings: ['volunteer', 'consulting'],
            remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
  res = await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose, energy: 60 }, { purpose: other, energy: 30 }] });
  assert.equal(res.status, 200, res.text);
  return { owner, member, agent, outsider, org, handle, purpose, other };
}

function terms(w, extra = {}) {
  return {
    organisation: w.org, agent: w.handle, role: 'Pump engineer', purposes: [w.purpose],
    packaging: 'volunteer', hours_per_week: 8, terms: 'Two days a month on site.',
    rewards: { cash: null, non_cash: ['learning', 'network'] }, starts_on: day(1), ...extra,
  };
}

async function propose(w, by, extra = {}) {
  const res = await api('POST', '/api/v1/agreements', { token: by.token, body: terms(w, extra) });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

const act = (who, id, action, body) => api('POST', `/api/v1/agreements/${id}/${action}`, { token: who.token, body });
const get = (who, id) => api('GET', `/api/v1/agreements/${id}`, { token: who.token });

async function activeAgreement(w, extra = {}) {
  const a = await propose(w, w.agent, extra);
  const res = await act(w.owner, a.id, 'accept');
  assert.equal(res.status, 200, res.text);
  return res.body;
}

test('full lifecycle: propose, accept, conclude on both sides, track record', async () => {
  const w = await world();
  const res = await api('POST', '/api/v1/agreements', { token: w.agent.token, body: terms(w) });
  assert.equal(res.status, 201, res.text);
  const a = res.body;
  assert.equal(res.headers.get('location'), `/api/v1/agreements/${a.id}`);
  assert.equal(res.headers.get('etag'), '"1"');
  assert.equal(a.status, 'proposed');
  assert.equal(a.proposed_by, 'agent');
  assert.equal(a.my_side, 'agent');
  assert.equal(a.awaiting, 'organisation');
  assert.deepEqual(a.allowed_actions, ['withdraw', 'amend']);
  assert.equal(a.organisation.slug, w.org);
  assert.equal(a.agent.handle, w.handle);
  assert.equal(a.terms.role, 'Pump engineer');
  assert.equal(a.terms.hours_per_week, 8);
  assert.deepEqual(a.terms.purposes.map((p) => p.slug), [w.purpose]);
  assert.deepEqual(a.terms.rewards, { cash: null, non_cash: ['learning', 'network'] });
  assert.equal(a.terms.author.id, w.agent.id);
  assert.equal(a.active_terms, null);

  // the organisation sees what it may do
  let r = await get(w.member, a.id);
  assert.equal(r.status, 200);
  assert.equal(r.body.my_side, 'organisation');
  assert.deepEqual(r.body.allowed_actions, ['accept', 'decline', 'amend']);

  r = await act(w.member, a.id, 'accept');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.active_version, 1);
  assert.equal(r.body.active_terms.hours_per_week, 8);
  assert.deepEqual(r.body.allowed_actions, ['conclude', 'amend', 'renew']);
  assert.equal(r.headers.get('etag'), `"${r.body.version}"`);

  r = await act(w.agent, a.id, 'conclude', { commitments_kept: true, note: 'Went well' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'concluded');
  assert.equal(r.body.closures.length, 1);
  assert.equal(r.body.closures[0].side, 'agent');
  assert.equal(r.body.closures[0].commitments_kept, true);
  assert.equal(r.body.closures[0].note, 'Went well');
  assert.deepEqual(r.body.allowed_actions, []);

  // the same side cannot close twice; the other side may once
  r = await act(w.agent, a.id, 'conclude', { commitments_kept: false });
  assert.equal(r.status, 409);
  assert.match(r.body.detail, /concluded/);
  assert.match(r.body.detail, /already recorded/);
  r = await get(w.owner, a.id);
  assert.deepEqual(r.body.allowed_actions, ['conclude']);
  r = await act(w.owner, a.id, 'conclude', { commitments_kept: true, note: '' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.closures.map((c) => c.side).sort(), ['agent', 'organisation']);
  r = await act(w.member, a.id, 'conclude', { commitments_kept: true });
  assert.equal(r.status, 409);

  // track record: concluded and kept on both sides; nothing else
  const [[record]] = sql(`SELECT j::text FROM agents g CROSS JOIN LATERAL agent_track_record_json(g) j WHERE g.handle = '${w.handle}'`);
  assert.deepEqual(JSON.parse(record), { concluded: 1, commitments_kept: 1 });
  r = await api('GET', `/api/v1/agents/${w.handle}`, { token: w.outsider.token });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.track_record, { concluded: 1, commitments_kept: 1 });
  // the agent shows its track record: its concluded agreements name the organisation
  // (issue 17; tests/api/track-records.test.mjs), nothing else of the profile does
  const { concluded_agreements: concluded, ...profile } = r.body;
  assert.deepEqual(concluded.map((c) => c.organisation.slug), [w.org]);
  assert.ok(!JSON.stringify(profile).includes(w.org), 'the rest of the profile names no organisation');
});

test('an organisation member proposes; the agent accepts; commitments not kept on one side', async () => {
  const w = await world();
  const a = await propose(w, w.member);
  assert.equal(a.proposed_by, 'organisation');
  assert.equal(a.my_side, 'organisation');
  assert.equal(a.awaiting, 'agent');
  let r = await act(w.agent, a.id, 'accept');
  assert.equal(r.status, 200, r.text);
  r = await act(w.owner, a.id, 'conclude', { commitments_kept: false, note: 'Left early' });
  assert.equal(r.status, 200, r.text);
  r = await act(w.agent, a.id, 'conclude', { commitments_kept: true });
  assert.equal(r.status, 200, r.text);
  const [[record]] = sql(`SELECT j::text FROM agents g CROSS JOIN LATERAL agent_track_record_json(g) j WHERE g.handle = '${w.handle}'`);
  assert.deepEqual(JSON.parse(record), { concluded: 1, commitments_kept: 0 });
});

test('every illegal transition is a 409 naming the status and the allowed actions', async () => {
  const w = await world();
  const actions = ['accept', 'decline', 'withdraw', 'conclude'];
  const body = (action) => (action === 'conclude' ? { commitments_kept: true } : undefined);
  async function expectRefused(who, id, action, status, allowed) {
    const r = action === 'amend'
      ? await api('PATCH', `/api/v1/agreements/${id}`, { token: who.token, body: { hours_per_week: 3 },
          headers: { 'If-Match': `"${(await get(who, id)).body.version}"` } })
      : await act(who, id, action, body(action));
    assert.equal(r.status, 409, `${action} on ${status}: ${r.text}`);
    assert.equal(r.headers.get('content-type'), 'application/problem+json');
    assert.match(r.body.detail, new RegExp(`the agreement is ${status}`));
    assert.match(r.body.detail, new RegExp(`Allowed actions for you: ${allowed.length ? allowed.join(', ') : 'none'}\\.`));
    assert.equal(r.body.agreement_status, status);
    assert.deepEqual(r.body.allowed_actions, allowed);
  }

  // proposed by the agent: the agent may not accept, decline or conclude; the organisation may not withdraw or conclude
  const p = await propose(w, w.agent);
  await expectRefused(w.agent, p.id, 'accept', 'proposed', ['withdraw', 'amend']);
  await expectRefused(w.agent, p.id, 'decline', 'proposed', ['withdraw', 'amend']);
  await expectRefused(w.agent, p.id, 'conclude', 'proposed', ['withdraw', 'amend']);
  await expectRefused(w.owner, p.id, 'withdraw', 'proposed', ['accept', 'decline', 'amend']);
  await expectRefused(w.owner, p.id, 'conclude', 'proposed', ['accept', 'decline', 'amend']);

  // declined is final for both sides
  let r = await act(w.owner, p.id, 'decline', { note: 'Not now' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'declined');
  for (const who of [w.agent, w.owner]) {
    for (const action of [...actions, 'amend']) await expectRefused(who, p.id, action, 'declined', []);
  }

  // withdrawn is final for both sides
  const q = await propose(w, w.agent);
  r = await act(w.agent, q.id, 'withdraw');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'withdrawn');
  for (const who of [w.agent, w.member]) {
    for (const action of [...actions, 'amend']) await expectRefused(who, q.id, action, 'withdrawn', []);
  }

  // active: only conclude, amend and renew
  const a = await activeAgreement(w);
  for (const who of [w.agent, w.owner]) {
    for (const action of ['accept', 'decline', 'withdraw']) await expectRefused(who, a.id, action, 'active', ['conclude', 'amend', 'renew']);
  }

  // concluded: the side that closed may do nothing more
  r = await act(w.owner, a.id, 'conclude', { commitments_kept: true });
  assert.equal(r.status, 200, r.text);
  for (const action of [...actions, 'amend']) await expectRefused(w.owner, a.id, action, 'concluded', []);
  for (const action of ['accept', 'decline', 'withdraw', 'amend']) await expectRefused(w.agent, a.id, action, 'concluded', ['conclude']);

  // nothing changed the rows of the refused attempts
  const [[n]] = sql(`SELECT count(*) FROM agreement_closures WHERE agreement_id = ${a.id}`);
  assert.equal(n, '1');
});

test('an amendment keeps the active terms in force until the other side accepts', async () => {
  const w = await world();
  const a = await activeAgreement(w, { hours_per_week: 8 });
  const path = `/api/v1/agreements/${a.id}`;

  let r = await api('PATCH', path, { token: w.owner.token, body: { hours_per_week: 12 } });
  assert.equal(r.status, 428);
  r = await api('PATCH', path, { token: w.owner.token, body: { hours_per_week: 12 }, headers: { 'If-Match': '"999"' } });
  assert.equal(r.status, 412);
  r = await api('PATCH', path, { token: w.owner.token, body: { hours_per_week: 12, change_note: 'More pumps' }, headers: { 'If-Match': `"${a.version}"` } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'proposed');
  assert.equal(r.body.proposed_by, 'organisation');
  assert.equal(r.body.awaiting, 'agent');
  assert.equal(r.body.pending_version, 2);
  assert.equal(r.body.active_version, 1);
  assert.equal(r.body.terms.hours_per_week, 12);
  assert.equal(r.body.terms.change_note, 'More pumps');
  assert.equal(r.body.terms.role, 'Pump engineer', 'unchanged fields are carried over');
  assert.deepEqual(r.body.terms.purposes.map((p) => p.slug), [w.purpose]);
  assert.equal(r.body.active_terms.hours_per_week, 8);

  // the portfolio still counts the hours in force
  let pf = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(pf.body.committed_hours, 8);

  // declining the amendment returns to active with the old terms
  r = await act(w.agent, a.id, 'decline');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.active_version, 1);
  assert.equal(r.body.pending_version, null);
  assert.equal(r.body.terms.hours_per_week, 8);

  // a second amendment (by the agent, changing purposes) withdrawn by the agent: still active
  r = await api('PATCH', path, { token: w.agent.token, body: { purposes: [w.purpose, w.other] }, headers: { 'If-Match': `"${r.body.version}"` } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.terms.version, 3);
  assert.equal(r.body.terms.hours_per_week, 8, 'based on the terms in force, not the declined ones');
  r = await act(w.agent, a.id, 'withdraw');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.active_version, 1);

  // a third amendment accepted: the new terms come into force
  r = await api('PATCH', path, { token: w.member.token, body: { hours_per_week: 10, review_on: day(60) }, headers: { 'If-Match': `"${r.body.version}"` } });
  assert.equal(r.status, 200, r.text);
  const version = r.body.version;
  r = await api('POST', `${path}/accept`, { token: w.agent.token, headers: { 'If-Match': `"${version - 1}"` } });
  assert.equal(r.status, 412, 'a stale If-Match on accept is refused');
  r = await act(w.agent, a.id, 'accept');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.active_version, 4);
  assert.equal(r.body.active_terms.hours_per_week, 10);
  pf = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(pf.body.committed_hours, 10);

  // every version, newest first, with author and time; paginated
  r = await api('GET', `${path}/versions`, { token: w.agent.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((v) => v.version), [4, 3, 2, 1]);
  assert.deepEqual(r.body.items.map((v) => v.hours_per_week), [10, 8, 12, 8]);
  assert.deepEqual(r.body.items.map((v) => v.author.id), [w.member.id, w.agent.id, w.owner.id, w.agent.id]);
  assert.ok(r.body.items.every((v) => /^\d{4}-\d\d-\d\dT/.test(v.created_at)));
  assert.equal(r.body.next_cursor, null);
  r = await api('GET', `${path}/versions?limit=3`, { token: w.owner.token });
  assert.deepEqual(r.body.items.map((v) => v.version), [4, 3, 2]);
  r = await api('GET', `${path}/versions?limit=3&cursor=${r.body.next_cursor}`, { token: w.owner.token });
  assert.deepEqual(r.body.items.map((v) => v.version), [1]);
  assert.equal(r.body.next_cursor, null);
});

test('a PATCH that sets review_on before starts_on, or changes nothing, is a 422 and writes nothing', async () => {
  const w = await world();
  const a = await propose(w, w.agent, { starts_on: day(10) });
  const headers = { 'If-Match': `"${a.version}"` };
  let r = await api('PATCH', `/api/v1/agreements/${a.id}`, { token: w.owner.token, body: { review_on: day(2) }, headers });
  assert.equal(r.status, 422, r.text);
  assert.deepEqual(problemFields(r), ['review_on']);
  assert.equal(r.body.errors[0].message, 'must not be before the start date', 'the message names the date as the form does, not starts_on');
  r = await api('PATCH', `/api/v1/agreements/${a.id}`, { token: w.owner.token, body: {}, headers });
  assert.equal(r.status, 422);
  r = await api('PATCH', `/api/v1/agreements/${a.id}`, { token: w.owner.token, body: { hours_per_week: 0, packaging: 'slavery', surprise: 1 }, headers });
  assert.equal(r.status, 422);
  assert.deepEqual(problemFields(r), ['hours_per_week', 'packaging', 'surprise']);
  const [[n]] = sql(`SELECT count(*) FROM agreement_versions WHERE agreement_id = ${a.id}`);
  assert.equal(n, '1');
  // an amendment of a proposal is itself a proposal, now awaiting the agent
  r = await api('PATCH', `/api/v1/agreements/${a.id}`, { token: w.owner.token, body: { review_on: day(40) }, headers });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.proposed_by, 'organisation');
  assert.equal(r.body.active_terms, null);
  assert.equal(r.body.terms.review_on, day(40));
});

test('agreement history is append-only in the database', async () => {
  const w = await world();
  const a = await activeAgreement(w);
  await act(w.agent, a.id, 'conclude', { commitments_kept: true });
  assert.throws(() => sql(`UPDATE agreement_versions SET hours_per_week = 1 WHERE agreement_id = ${a.id}`), /append-only/);
  assert.throws(() => sql(`DELETE FROM agreement_versions WHERE agreement_id = ${a.id}`), /append-only/);
  assert.throws(() => sql(`DELETE FROM agreement_version_purposes WHERE agreement_id = ${a.id}`), /append-only/);
  assert.throws(() => sql(`UPDATE agreement_closures SET commitments_kept = false WHERE agreement_id = ${a.id}`), /append-only/);
  assert.throws(() => sql(`DELETE FROM agreement_closures WHERE agreement_id = ${a.id}`), /append-only/);
  const [[hours]] = sql(`SELECT hours_per_week FROM agreement_versions WHERE agreement_id = ${a.id}`);
  assert.equal(hours, '8');
  // an agreement cannot point at a version that does not exist
  assert.throws(() => sql(`UPDATE agreements SET terms_version = 7 WHERE id = ${a.id}`), /agreements_terms_version_fkey|violates/);
});

test('only the two parties see an agreement; outsiders get 404 and may not propose', async () => {
  const w = await world();
  const a = await propose(w, w.agent);
  for (const path of [`/api/v1/agreements/${a.id}`, `/api/v1/agreements/${a.id}/versions`]) {
    const r = await api('GET', path, { token: w.outsider.token });
    assert.equal(r.status, 404, path);
    assert.ok(!r.text.includes('Pump'), 'nothing of the terms leaks');
  }
  for (const action of ['accept', 'decline', 'withdraw']) {
    const r = await act(w.outsider, a.id, action);
    assert.equal(r.status, 404, action);
  }
  let r = await api('PATCH', `/api/v1/agreements/${a.id}`, { token: w.outsider.token, body: { hours_per_week: 1 }, headers: { 'If-Match': '"1"' } });
  assert.equal(r.status, 404);
  r = await api('GET', `/api/v1/agreements/${a.id}`);
  assert.equal(r.status, 401);
  for (const id of ['999999999', 'abc', '0', '-1', '1e3', '99999999999999999999999']) {
    r = await api('GET', `/api/v1/agreements/${id}`, { token: w.agent.token });
    assert.equal(r.status, 404, id);
  }
  r = await api('POST', '/api/v1/agreements', { token: w.outsider.token, body: terms(w) });
  assert.equal(r.status, 403, r.text);
  const [[n]] = sql(`SELECT count(*) FROM agreements a JOIN agents g ON g.id = a.agent_id WHERE g.handle = '${w.handle}'`);
  assert.equal(n, '1');
});

test('proposals are validated: every bad field named, unknown references, duplicates 409', async () => {
  const w = await world();
  let r = await api('POST', '/api/v1/agreements', {
    token: w.agent.token,
    body: { organisation: 'Not A Slug', agent: w.handle, role: '', purposes: [], packaging: 'slavery',
            hours_per_week: 81, terms: 5, rewards: { cash: { amount: -1, currency: 'eur', period: 'decade' }, non_cash: [1] },
            starts_on: '2026-02-30', review_on: 'soon', extra: true },
  });
  assert.equal(r.status, 422, r.text);
  assert.deepEqual(problemFields(r), ['extra', 'hours_per_week', 'organisation', 'packaging', 'purposes', 'review_on',
    'rewards.cash.amount', 'rewards.cash.currency', 'rewards.cash.period', 'rewards.non_cash', 'role', 'starts_on', 'terms']);
  r = await api('POST', '/api/v1/agreements', { token: w.agent.token, body: {} });
  assert.equal(r.status, 422);
  assert.deepEqual(problemFields(r), ['agent', 'hours_per_week', 'organisation', 'packaging', 'purposes', 'rewards', 'role', 'starts_on', 'terms']);

  r = await api('POST', '/api/v1/agreements', { token: w.agent.token, body: terms(w, { organisation: unique('nowhere'), purposes: ['no-such-purpose'] }) });
  assert.equal(r.status, 422);
  assert.deepEqual(problemFields(r), ['organisation', 'purposes']);
  r = await api('POST', '/api/v1/agreements', { token: w.owner.token, body: terms(w, { agent: unique('nobody'), review_on: day(0) }) });
  assert.equal(r.status, 422);
  assert.deepEqual(problemFields(r), ['agent', 'review_on']);

  // an engagement of another organisation is refused; one of this organisation is fine
  const other = await world();
  const eng = await api('POST', `/api/v1/organisations/${other.org}/engagements`, {
    token: other.owner.token,
    body: { title: 'Pumps', description: 'Fix pumps', purposes: [other.purpose], packagings: ['volunteer'], hours_per_week: 5, skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  assert.equal(eng.status, 201, eng.text);
  r = await api('POST', '/api/v1/agreements', { token: w.agent.token, body: terms(w, { engagement: eng.body.id }) });
  assert.equal(r.status, 422);
  assert.deepEqual(problemFields(r), ['engagement']);
  const mine = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: 'Wells', description: 'Dig wells', purposes: [w.purpose], packagings: ['consulting'], hours_per_week: 5, skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  assert.equal(mine.status, 201, mine.text);
  r = await api('POST', '/api/v1/agreements', { token: w.owner.token, body: terms(w, { engagement: mine.body.id, rewards: { cash: { amount: 1500, currency: 'EUR', period: 'month' } } }) });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.engagement, { id: mine.body.id, title: 'Wells' });
  assert.deepEqual(r.body.terms.rewards, { cash: { amount: 1500, currency: 'EUR', period: 'month' }, non_cash: [] });

  // one open agreement per agent, organisation and engagement
  r = await api('POST', '/api/v1/agreements', { token: w.agent.token, body: terms(w, { engagement: mine.body.id }) });
  assert.equal(r.status, 409, r.text);
  const first = await propose(w, w.agent);
  r = await api('POST', '/api/v1/agreements', { token: w.owner.token, body: terms(w) });
  assert.equal(r.status, 409);
  // once declined, a new proposal is possible
  assert.equal((await act(w.owner, first.id, 'decline')).status, 200);
  await propose(w, w.owner);

  // a hidden agent is unknown to organisations that never had an agreement with it
  const hidden = await newUser('Hidden');
  const hiddenHandle = unique('hid');
  r = await api('PUT', '/api/v1/me/agent', { token: hidden.token, body: { handle: hiddenHandle, headline: '', personal_purpose: '', skills: [], capacity_hours_per_week: 5, packagings: [], remote_ok: true, discoverable: false, show_track_record: false } });
  assert.equal(r.status, 200, r.text);
  r = await api('POST', '/api/v1/agreements', { token: w.owner.token, body: terms(w, { agent: hiddenHandle }) });
  assert.equal(r.status, 422);
  assert.deepEqual(problemFields(r), ['agent']);
  r = await api('POST', '/api/v1/agreements', { token: hidden.token, body: terms(w, { agent: hiddenHandle }) });
  assert.equal(r.status, 201, 'the hidden agent may propose itself');
});

test('lists: my agreements and the organisation\'s, filtered by status and paginated', async () => {
  const w = await world();
  const p1 = await propose(w, w.agent, { role: 'Proposal' });
  const eng = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: 'Wells', description: 'Dig wells', purposes: [w.purpose], packagings: ['volunteer'], hours_per_week: 5, skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  assert.equal(eng.status, 201, eng.text);
  const active = await activeAgreement(w, { role: 'Active one', engagement: eng.body.id });

  let r = await api('GET', '/api/v1/me/agreements', { token: w.agent.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((i) => i.id), [active.id, p1.id]);
  assert.equal(r.body.items[0].role, 'Active one');
  assert.equal(r.body.items[0].engagement.id, eng.body.id);
  r = await api('GET', '/api/v1/me/agreements?status=active', { token: w.agent.token });
  assert.deepEqual(r.body.items.map((i) => i.id), [active.id]);
  r = await api('GET', '/api/v1/me/agreements?status=proposed', { token: w.member.token });
  assert.deepEqual(r.body.items.map((i) => i.id), [p1.id]);
  r = await api('GET', '/api/v1/me/agreements?side=agent', { token: w.member.token });
  assert.deepEqual(r.body.items, []);
  r = await api('GET', '/api/v1/me/agreements?limit=1', { token: w.owner.token });
  assert.deepEqual(r.body.items.map((i) => i.id), [active.id]);
  assert.ok(r.body.next_cursor);
  r = await api('GET', `/api/v1/me/agreements?limit=1&cursor=${encodeURIComponent(r.body.next_cursor)}`, { token: w.owner.token });
  assert.deepEqual(r.body.items.map((i) => i.id), [p1.id]);
  assert.equal(r.body.next_cursor, null);
  r = await api('GET', '/api/v1/me/agreements', { token: w.outsider.token });
  assert.deepEqual(r.body.items, []);

  r = await api('GET', `/api/v1/organisations/${w.org}/agreements?status=active`, { token: w.member.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((i) => i.id), [active.id]);
  r = await api('GET', `/api/v1/organisations/${w.org}/agreements`, { token: w.owner.token });
  assert.deepEqual(r.body.items.map((i) => i.id), [active.id, p1.id]);
  r = await api('GET', `/api/v1/organisations/${w.org}/agreements`, { token: w.outsider.token });
  assert.equal(r.status, 403);
  r = await api('GET', `/api/v1/organisations/${w.org}/agreements`, { token: w.agent.token });
  assert.equal(r.status, 403, 'the agent is not a member');
  r = await api('GET', `/api/v1/organisations/${unique('none')}/agreements`, { token: w.owner.token });
  assert.equal(r.status, 404);

  r = await api('GET', '/api/v1/me/agreements?status=happy', { token: w.agent.token });
  assert.equal(r.status, 400);
  assert.deepEqual(problemFields(r), ['status']);
  r = await api('GET', '/api/v1/me/agreements?cursor=garbage', { token: w.agent.token });
  assert.equal(r.status, 400);
  const other = await api('GET', `/api/v1/organisations/${w.org}/agreements?limit=1`, { token: w.owner.token });
  r = await api('GET', `/api/v1/me/agreements?cursor=${encodeURIComponent(other.body.next_cursor)}`, { token: w.owner.token });
  assert.equal(r.status, 400, 'a cursor of another list is refused');
});

test('portfolio: committed hours, energy per purpose and warnings', async () => {
  const w = await world({ capacity: 10 });
  let r = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.capacity_hours_per_week, 10);
  assert.equal(r.body.committed_hours, 0);
  assert.equal(r.body.available_hours, 10);
  assert.deepEqual(r.body.agreements, []);
  assert.deepEqual(r.body.warnings, [], 'no agreement yet: nothing to warn about');

  // 8 hours with a review in 5 days, then 6 more hours over capacity (allowed, but warned)
  await activeAgreement(w, { hours_per_week: 8, review_on: day(5) });
  const eng = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: 'Wells', description: 'Dig wells', purposes: [w.purpose], packagings: ['volunteer'], hours_per_week: 6, skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  const second = await propose(w, w.owner, { hours_per_week: 6, engagement: eng.body.id, purposes: [w.purpose], review_on: day(100) });
  r = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(r.body.committed_hours, 8, 'a proposal commits nothing yet');
  assert.equal(r.body.agreements.length, 2);
  r = await act(w.agent, second.id, 'accept');
  assert.equal(r.status, 200, 'accepting past capacity is allowed');

  r = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(r.body.committed_hours, 14);
  assert.equal(r.body.available_hours, 0);
  assert.deepEqual(r.body.agreements.map((x) => x.committed_hours).sort(), [6, 8]);
  const byPurpose = Object.fromEntries(r.body.purposes.map((x) => [x.purpose.slug, x]));
  assert.equal(byPurpose[w.purpose].energy, 60);
  assert.equal(Number(byPurpose[w.purpose].committed_hours), 14);
  assert.equal(byPurpose[w.other].energy, 30);
  assert.equal(Number(byPurpose[w.other].committed_hours), 0);
  const kinds = r.body.warnings.map((x) => x.kind);
  assert.deepEqual(kinds, ['over_capacity', 'review_due', 'energy_without_agreement']);
  assert.match(r.body.warnings[0].message, /14 hours.*capacity of 10/);
  assert.equal(r.body.warnings[1].review_on, day(5));
  assert.equal(r.body.warnings[1].agreement.organisation.slug, w.org);
  assert.equal(r.body.warnings[2].purpose.slug, w.other);

  // a review already past is named too
  const late = await world();
  await activeAgreement(late, { hours_per_week: 2, starts_on: day(-30), review_on: day(-1) });
  r = await api('GET', '/api/v1/me/portfolio', { token: late.agent.token });
  const due = r.body.warnings.filter((x) => x.kind === 'review_due');
  assert.equal(due.length, 1);
  assert.match(due[0].message, /was due/);

  // no agent profile: 404
  r = await api('GET', '/api/v1/me/portfolio', { token: w.outsider.token });
  assert.equal(r.status, 404);
});

test('every transition notifies the other side, in the same transaction', async () => {
  const w = await world();
  const a = await propose(w, w.agent, { role: 'Notified role' });
  const list = (who, q = '') => api('GET', `/api/v1/me/notifications${q}`, { token: who.token });

  for (const who of [w.owner, w.member]) {
    const r = await list(who);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.unread, 1);
    assert.equal(r.body.items[0].kind, 'agreement_proposed');
    assert.equal(r.body.items[0].agreement_id, a.id);
    assert.equal(r.body.items[0].read, false);
    assert.match(r.body.items[0].message, /Ada Agent proposed the agreement "Notified role"/);
    assert.equal(r.body.items[0].payload.by, 'agent');
  }
  assert.equal((await list(w.agent)).body.unread, 0, 'the actor is not notified');
  assert.equal((await list(w.outsider)).body.items.length, 0);

  let r = await act(w.member, a.id, 'accept');
  assert.equal(r.status, 200);
  r = await list(w.agent);
  assert.equal(r.body.unread, 1);
  assert.equal(r.body.items[0].kind, 'agreement_accepted');
  assert.match(r.body.items[0].message, /accepted the agreement "Notified role"/);
  assert.equal((await list(w.owner)).body.unread, 1, 'other members hear only of the agent\'s actions');

  const { version } = (await get(w.agent, a.id)).body;
  r = await api('PATCH', `/api/v1/agreements/${a.id}`, { token: w.agent.token, body: { hours_per_week: 4 }, headers: { 'If-Match': `"${version}"` } });
  assert.equal(r.status, 200, r.text);
  r = await act(w.owner, a.id, 'decline', { note: 'Too few hours' });
  assert.equal(r.status, 200);
  r = await act(w.owner, a.id, 'conclude', { commitments_kept: true });
  assert.equal(r.status, 200);
  r = await act(w.agent, a.id, 'conclude', { commitments_kept: true });
  assert.equal(r.status, 200);

  r = await list(w.agent);
  assert.deepEqual(r.body.items.map((n) => n.kind), ['agreement_concluded', 'agreement_declined', 'agreement_accepted']);
  assert.equal(r.body.items[1].payload.note, 'Too few hours');
  r = await list(w.member);
  assert.deepEqual(r.body.items.map((n) => n.kind), ['agreement_closure_recorded', 'agreement_amended', 'agreement_proposed']);
  assert.equal(r.body.unread, 3);

  // pagination, unread filter, marking read
  let page = await list(w.member, '?limit=2');
  assert.equal(page.body.items.length, 2);
  page = await list(w.member, `?limit=2&cursor=${encodeURIComponent(page.body.next_cursor)}`);
  assert.deepEqual(page.body.items.map((n) => n.kind), ['agreement_proposed']);
  assert.equal(page.body.next_cursor, null);
  const ids = r.body.items.slice(0, 2).map((n) => n.id);
  r = await api('POST', '/api/v1/me/notifications/read', { token: w.member.token, body: { ids } });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body, { marked: 2, unread: 1 });
  r = await list(w.member, '?unread=true');
  assert.deepEqual(r.body.items.map((n) => n.kind), ['agreement_proposed']);
  // someone else's ids are not touched
  r = await api('POST', '/api/v1/me/notifications/read', { token: w.outsider.token, body: { ids } });
  assert.deepEqual(r.body, { marked: 0, unread: 0 });
  r = await api('POST', '/api/v1/me/notifications/read', { token: w.member.token, body: { all: true } });
  assert.deepEqual(r.body, { marked: 1, unread: 0 });
  const [[unread]] = sql(`SELECT count(*) FROM notifications WHERE account_id = ${w.member.id} AND read_at IS NULL`);
  assert.equal(unread, '0');
  r = await api('POST', '/api/v1/me/notifications/read', { token: w.member.token, body: {} });
  assert.equal(r.status, 422);
  r = await api('POST', '/api/v1/me/notifications/read', { token: w.member.token, body: { ids: ['x'] } });
  assert.equal(r.status, 422);
  r = await list(w.member, '?unread=maybe');
  assert.equal(r.status, 400);

  // a refused transition writes no notification
  const [[before]] = sql(`SELECT count(*) FROM notifications WHERE agreement_id = ${a.id}`);
  r = await act(w.owner, a.id, 'accept');
  assert.equal(r.status, 409);
  const [[after]] = sql(`SELECT count(*) FROM notifications WHERE agreement_id = ${a.id}`);
  assert.equal(after, before);
});

test('hostile input to agreement endpoints never produces a 500', async () => {
  const w = await world();
  const a = await propose(w, w.agent);
  const bodies = [null, [], 'x', 1, { commitments_kept: 'yes' }, { note: 'x'.repeat(3000) }, { commitments_kept: true, note: 5 },
    { rewards: { cash: [] } }, { rewards: { cash: { amount: 1e300, currency: 'EUR', period: 'month' } } }, { purposes: ['a'.repeat(70)] },
    { hours_per_week: 1.5 }, { starts_on: '\u0000' }, { review_on: 12 }];
  for (const body of bodies) {
    for (const [method, path] of [['POST', '/api/v1/agreements'], ['POST', `/api/v1/agreements/${a.id}/conclude`],
      ['POST', `/api/v1/agreements/${a.id}/decline`], ['PATCH', `/api/v1/agreements/${a.id}`], ['POST', '/api/v1/me/notifications/read']]) {
      const r = await api(method, path, { token: w.owner.token, body, headers: { 'If-Match': '"1"' } });
      assert.ok(r.status < 500, `${method} ${path} ${JSON.stringify(body)} -> ${r.status} ${r.text}`);
    }
  }
  const r = await api('POST', `/api/v1/agreements/${a.id}/accept`, { token: w.owner.token, raw: '{"note":', headers: { 'Content-Type': 'application/json' } });
  assert.equal(r.status, 400);
});

test('concurrent decisions: one wins, the other is a 409; concurrent duplicate proposals: one 201', async () => {
  const w = await world();
  const a = await propose(w, w.agent);
  const results = await Promise.all([act(w.owner, a.id, 'accept'), act(w.member, a.id, 'decline'), act(w.owner, a.id, 'accept')]);
  const codes = results.map((r) => r.status).sort();
  assert.deepEqual(codes, [200, 409, 409]);
  const [[status, n]] = sql(`SELECT status, (SELECT count(*) FROM notifications WHERE agreement_id = ${a.id} AND kind <> 'agreement_proposed') FROM agreements WHERE id = ${a.id}`);
  assert.ok(['active', 'declined'].includes(status));
  assert.equal(n, '1', 'only the winning transition notified');

  const other = await world();
  const twice = await Promise.all([0, 1, 2].map(() => api('POST', '/api/v1/agreements', { token: other.agent.token, body: terms(other) })));
  assert.deepEqual(twice.map((r) => r.status).sort(), [201, 409, 409]);
});

test('concurrent accept and withdraw of the same agreement: exactly one wins, every time', async (t) => {
  const w = await world();
  const wins = { accept: 0, withdraw: 0 };
  for (let i = 0; i < 8; i++) {
    // one open agreement per engagement: a new engagement per round
    const eng = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
      token: w.owner.token,
      body: { title: `Round ${i}`, description: 'Race', purposes: [w.purpose], packagings: ['volunteer'], hours_per_week: 1, skills: [], remote_ok: true, rewards: { non_cash: [] } },
    });
    assert.equal(eng.status, 201, eng.text);
    const a = await propose(w, w.agent, { engagement: eng.body.id, hours_per_week: 1 });
    // every other round both sides also send the If-Match they read
    const headers = i % 2 ? { 'If-Match': `"${a.version}"` } : {};
    const [accept, withdraw] = await Promise.all([
      api('POST', `/api/v1/agreements/${a.id}/accept`, { token: w.owner.token, headers }),
      api('POST', `/api/v1/agreements/${a.id}/withdraw`, { token: w.agent.token, headers }),
    ]);
    const ok = [accept, withdraw].filter((r) => r.status >= 200 && r.status < 300);
    assert.equal(ok.length, 1, `round ${i}: ${accept.status} ${withdraw.status}`);
    const loser = ok[0] === accept ? withdraw : accept;
    assert.ok([409, 412].includes(loser.status), `round ${i}: the loser got ${loser.status} ${loser.text}`);
    const winner = ok[0] === accept ? 'accept' : 'withdraw';
    wins[winner]++;
    const expected = winner === 'accept' ? 'active' : 'withdrawn';
    assert.equal(ok[0].body.status, expected);
    const [[status, versions, decided]] = sql(`SELECT status, version, (SELECT string_agg(DISTINCT kind, ',') FROM notifications
      WHERE agreement_id = ${a.id} AND kind IN ('agreement_accepted', 'agreement_withdrawn')) FROM agreements WHERE id = ${a.id}`);
    assert.equal(status, expected, `round ${i}: the stored status matches the winner`);
    assert.equal(versions, '2', 'one transition was written');
    assert.equal(decided, winner === 'accept' ? 'agreement_accepted' : 'agreement_withdrawn');
    const after = await get(w.agent, a.id);
    assert.equal(after.body.status, expected);
  }
  assert.equal(wins.accept + wins.withdraw, 8);
  t.diagnostic(`accept won ${wins.accept}, withdraw won ${wins.withdraw}`);
});

test('a full relationship end to end: proposal, amendment, acceptance, review warning, conclusion on both sides, track record', async () => {
  const w = await world({ capacity: 20 });
  // the organisation proposes, with a review a year away
  let r = await api('POST', '/api/v1/agreements', { token: w.member.token, body: terms(w, { role: 'Water steward', hours_per_week: 10, starts_on: day(-60), review_on: day(300) }) });
  assert.equal(r.status, 201, r.text);
  const a = r.body;
  assert.equal(a.awaiting, 'agent');
  let n = await api('GET', '/api/v1/me/notifications?unread=true', { token: w.agent.token });
  assert.equal(n.body.items[0].kind, 'agreement_proposed');

  // the agent amends the proposal: fewer hours, review sooner
  r = await api('PATCH', `/api/v1/agreements/${a.id}`, { token: w.agent.token, body: { hours_per_week: 6, review_on: day(10), change_note: 'Six hours, review in ten days' }, headers: { 'If-Match': `"${a.version}"` } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.awaiting, 'organisation');
  assert.equal(r.body.terms.version, 2);

  // the organisation accepts the amended terms
  r = await act(w.owner, a.id, 'accept');
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'active');
  assert.equal(r.body.active_version, 2);
  assert.equal(r.body.active_terms.hours_per_week, 6);
  n = await api('GET', '/api/v1/me/notifications?unread=true', { token: w.agent.token });
  assert.ok(n.body.items.some((x) => x.kind === 'agreement_accepted'));

  // the review warning in the portfolio, and its notification
  r = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.committed_hours, 6);
  assert.equal(r.body.available_hours, 14);
  const review = r.body.warnings.find((x) => x.kind === 'review_due');
  assert.ok(review, JSON.stringify(r.body.warnings));
  assert.equal(review.review_on, day(10));
  assert.equal(review.agreement.id, a.id);
  assert.match(review.message, /Water steward.*in 10 days/);
  n = await api('GET', '/api/v1/me/notifications', { token: w.agent.token });
  assert.equal(n.body.items.filter((x) => x.kind === 'agreement_review_due' && x.agreement_id === a.id).length, 1);

  // conclusion on both sides
  r = await act(w.agent, a.id, 'conclude', { commitments_kept: true, note: 'A good year' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.status, 'concluded');
  r = await act(w.member, a.id, 'conclude', { commitments_kept: true, note: 'Thank you' });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.closures.map((c) => [c.side, c.commitments_kept]).sort(), [['agent', true], ['organisation', true]]);
  r = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(r.body.committed_hours, 0);
  assert.ok(!r.body.warnings.some((x) => x.kind === 'review_due'), 'a concluded agreement needs no review');

  // the track record on the public profile: the counts and each concluded agreement with
  // whom and in what role (issue 17), never the closing notes
  r = await api('GET', `/api/v1/agents/${w.handle}`);
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.track_record, { concluded: 1, commitments_kept: 1 });
  assert.deepEqual(r.body.concluded_agreements.map((c) => [c.organisation.slug, c.role]), [[w.org, 'Water steward']]);
  assert.ok(!r.text.includes('A good year') && !r.text.includes('Thank you'));
  r = await api('PUT', '/api/v1/me/agent', { token: w.agent.token, body: { handle: w.handle, headline: 'Engineer', personal_purpose: 'Water', skills: ['pumps'], capacity_hours_per_week: 20, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: false } });
  assert.equal(r.status, 200, r.text);
  r = await api('GET', `/api/v1/agents/${w.handle}`);
  assert.equal(r.body.track_record, undefined, 'hidden when the agent says so');
});
