// agreement-sides: every state an agreement can be in, read and acted on from
// each side. For each state the table says what the record holds (status,
// standing, the pending change, the terms in force, the dropped change) and
// what each side is told (my_side, awaiting, allowed_actions) on the detail
// and in every list; then each action (renew too: offered wherever terms are
// in force and may change; renewals proposed, declined and accepted are states
// of their own) is tried by each side in each state: 200 when
// allowed, else 409 naming the same allowed actions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, unique } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

async function world() {
  const owner = await newUser('Olga Owner');
  const member = await newUser('Mo Member');
  const agent = await newUser('Ada Agent');
  let res = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: unique('Water'), description: 'for tests' } });
  assert.equal(res.status, 201, res.text);
  const purpose = res.body.slug;
  res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: unique('Acme'), purpose_statement: 'Water for all', purposes: [purpose], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  const org = res.body.slug;
  await addMember(owner, org, member);
  const handle = unique('ada');
  res = await putAgent(agent, handle);
  assert.equal(res.status, 200, res.text);
  return { owner, member, agent, org, handle, purpose };
}

const putAgent = (agent, handle, extra = {}) => api('PUT', '/api/v1/me/agent', {
  token: agent.token,
  body: { handle, headline: 'Engineer', personal_purpose: 'Water', skills: [], capacity_hours_per_week: 80,
          packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true, ...extra },
});

// Each agreement gets an engagement of its own (one open agreement per engagement).
async function fresh(w, by) {
  const e = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: unique('Work'), description: 'Work', purposes: [w.purpose], packagings: ['volunteer'], hours_per_week: 4, skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  assert.equal(e.status, 201, e.text);
  const res = await api('POST', '/api/v1/agreements', {
    token: by.token,
    body: { organisation: w.org, agent: w.handle, engagement: e.body.id, role: 'Pump engineer', purposes: [w.purpose],
            packaging: 'volunteer', hours_per_week: 4, terms: 'Two days a month.', rewards: { cash: null, non_cash: [] }, starts_on: day(1) },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function act(who, a, action) {
  if (action === 'amend') {
    const cur = await api('GET', `/api/v1/agreements/${a.id}`, { token: who.token });
    return api('PATCH', `/api/v1/agreements/${a.id}`, { token: who.token, headers: { 'If-Match': cur.headers.get('etag') }, body: { hours_per_week: 5, change_note: 'a little more' } });
  }
  if (action === 'renew') {
    // a year past the review date in force (an agreement renewed once has moved it already)
    const cur = await api('GET', `/api/v1/agreements/${a.id}`, { token: who.token });
    const from = [cur.body.active_terms?.review_on, day(0)].filter(Boolean).sort().at(-1);
    const review_on = new Date(Date.parse(`${from}T00:00:00Z`) + 400 * 86400000).toISOString().slice(0, 10);
    return api('POST', `/api/v1/agreements/${a.id}/renew`, { token: who.token, body: { review_on, change_note: 'another year' } });
  }
  return api('POST', `/api/v1/agreements/${a.id}/${action}`, { token: who.token, body: action === 'conclude' ? { commitments_kept: true, note: 'done' } : {} });
}

async function steps(w, a, list) {
  for (const [who, action] of list) {
    const res = await act(w[who], a, action);
    assert.equal(res.status, 200, `${who} ${action}: ${res.text}`);
  }
  return a;
}

// a first proposal is amended; terms in force are also renewed
const PROPOSER = ['withdraw', 'amend'];
const ANSWERER = ['accept', 'decline', 'amend'];
const CHANGE_PROPOSER = [...PROPOSER, 'renew'];
const CHANGE_ANSWERER = [...ANSWERER, 'renew'];
const IN_FORCE = ['conclude', 'amend', 'renew'];

// state: how to get there, then what the record holds and each side may do.
const STATES = {
  proposed_by_agent: { build: (w) => fresh(w, w.agent), status: 'proposed', standing: 'proposed', awaiting: 'organisation',
    pending: 1, inForce: null, dropped: null, agent: PROPOSER, organisation: ANSWERER },
  proposed_by_organisation: { build: (w) => fresh(w, w.owner), status: 'proposed', standing: 'proposed', awaiting: 'agent',
    pending: 1, inForce: null, dropped: null, agent: ANSWERER, organisation: PROPOSER },
  counter_proposal: { build: async (w) => steps(w, await fresh(w, w.owner), [['agent', 'amend']]), status: 'proposed', standing: 'proposed',
    awaiting: 'organisation', pending: 2, inForce: null, dropped: null, agent: PROPOSER, organisation: ANSWERER,
    versions: { 1: ['superseded', 'agent'], 2: ['pending', null] } },
  active: { build: async (w) => steps(w, await fresh(w, w.agent), [['owner', 'accept']]), status: 'active', standing: 'active',
    awaiting: null, pending: null, inForce: 1, dropped: null, agent: IN_FORCE, organisation: IN_FORCE,
    versions: { 1: ['in_force', 'organisation'] } },
  amendment_by_agent: { build: async (w) => steps(w, await fresh(w, w.owner), [['agent', 'accept'], ['agent', 'amend']]),
    status: 'proposed', standing: 'active', awaiting: 'organisation', pending: 2, inForce: 1, dropped: null,
    agent: CHANGE_PROPOSER, organisation: CHANGE_ANSWERER, versions: { 1: ['in_force', 'agent'], 2: ['pending', null] } },
  amendment_by_organisation: { build: async (w) => steps(w, await fresh(w, w.agent), [['owner', 'accept'], ['member', 'amend']]),
    status: 'proposed', standing: 'active', awaiting: 'agent', pending: 2, inForce: 1, dropped: null,
    agent: CHANGE_ANSWERER, organisation: CHANGE_PROPOSER },
  amendment_declined: { build: async (w) => steps(w, await fresh(w, w.agent), [['owner', 'accept'], ['owner', 'amend'], ['agent', 'decline']]),
    status: 'active', standing: 'active', awaiting: null, pending: null, inForce: 1, dropped: [2, 'declined', 'agent'],
    agent: IN_FORCE, organisation: IN_FORCE, versions: { 1: ['in_force', 'organisation'], 2: ['declined', 'agent'] } },
  amendment_withdrawn: { build: async (w) => steps(w, await fresh(w, w.agent), [['owner', 'accept'], ['agent', 'amend'], ['agent', 'withdraw']]),
    status: 'active', standing: 'active', awaiting: null, pending: null, inForce: 1, dropped: [2, 'withdrawn', 'agent'],
    agent: IN_FORCE, organisation: IN_FORCE, versions: { 2: ['withdrawn', 'agent'] } },
  declined: { build: async (w) => steps(w, await fresh(w, w.agent), [['member', 'decline']]), status: 'declined', standing: 'declined',
    awaiting: null, pending: null, inForce: null, dropped: [1, 'declined', 'organisation'], agent: [], organisation: [] },
  withdrawn: { build: async (w) => steps(w, await fresh(w, w.agent), [['agent', 'withdraw']]), status: 'withdrawn', standing: 'withdrawn',
    awaiting: null, pending: null, inForce: null, dropped: [1, 'withdrawn', 'agent'], agent: [], organisation: [] },
  concluded_by_agent: { build: async (w) => steps(w, await fresh(w, w.agent), [['owner', 'accept'], ['agent', 'conclude']]),
    status: 'concluded', standing: 'concluded', awaiting: null, pending: null, inForce: 1, dropped: null,
    agent: [], organisation: ['conclude'], versions: { 1: ['accepted', 'organisation'] } },
  concluded_by_organisation: { build: async (w) => steps(w, await fresh(w, w.owner), [['agent', 'accept'], ['member', 'conclude']]),
    status: 'concluded', standing: 'concluded', awaiting: null, pending: null, inForce: 1, dropped: null,
    agent: ['conclude'], organisation: [], versions: { 1: ['accepted', 'agent'] } },
  renewal_by_organisation: { build: async (w) => steps(w, await fresh(w, w.agent), [['owner', 'accept'], ['member', 'renew']]),
    status: 'proposed', standing: 'active', awaiting: 'agent', pending: 2, inForce: 1, dropped: null,
    agent: CHANGE_ANSWERER, organisation: CHANGE_PROPOSER, versions: { 1: ['in_force', 'organisation'], 2: ['pending', null] } },
  renewal_declined: { build: async (w) => steps(w, await fresh(w, w.owner), [['agent', 'accept'], ['agent', 'renew'], ['owner', 'decline']]),
    status: 'active', standing: 'active', awaiting: null, pending: null, inForce: 1, dropped: [2, 'declined', 'organisation'],
    agent: IN_FORCE, organisation: IN_FORCE, versions: { 1: ['in_force', 'agent'], 2: ['declined', 'organisation'] } },
  renewal_accepted: { build: async (w) => steps(w, await fresh(w, w.owner), [['agent', 'accept'], ['agent', 'renew'], ['member', 'accept']]),
    status: 'active', standing: 'active', awaiting: null, pending: null, inForce: 2, dropped: null,
    agent: IN_FORCE, organisation: IN_FORCE, versions: { 2: ['in_force', 'organisation'] } },
  concluded_by_both: { build: async (w) => steps(w, await fresh(w, w.agent), [['owner', 'accept'], ['agent', 'conclude'], ['owner', 'conclude']]),
    status: 'concluded', standing: 'concluded', awaiting: null, pending: null, inForce: 1, dropped: null, agent: [], organisation: [] },
};

const VIEWERS = { agent: 'agent', owner: 'organisation', member: 'organisation' };

test('every state, read from every side: the record and what each side is told, on the detail and in the lists', async () => {
  const w = await world();
  for (const [name, s] of Object.entries(STATES)) {
    const a = await s.build(w);
    for (const [who, side] of Object.entries(VIEWERS)) {
      const what = `${name}, read by the ${who}`;
      const res = await api('GET', `/api/v1/agreements/${a.id}`, { token: w[who].token });
      assert.equal(res.status, 200, `${what}: ${res.text}`);
      const d = res.body;
      assert.equal(d.status, s.status, what);
      assert.equal(d.standing, s.standing, what);
      assert.equal(d.my_side, side, what);
      assert.equal(d.awaiting, s.awaiting, what);
      assert.deepEqual(d.allowed_actions, s[side], what);
      assert.equal(d.pending_version, s.pending, what);
      assert.equal(d.pending_terms?.version ?? null, s.pending, what);
      if (s.pending) assert.equal(d.pending_terms.outcome, 'pending', what);
      assert.equal(d.active_version, s.inForce, what);
      assert.equal(d.active_terms?.version ?? null, s.inForce, what);
      if (s.dropped) {
        assert.deepEqual([d.dropped_change.version, d.dropped_change.outcome, d.dropped_change.by], s.dropped, what);
        assert.equal(d.dropped_change.terms.version, s.dropped[0], what);
        assert.equal(d.dropped_change.terms.outcome, s.dropped[1], what);
      } else {
        assert.equal(d.dropped_change, null, what);
      }
      assert.deepEqual(d.warnings, [], what);
      // the lists say the same, for the same viewer
      const lists = side === 'agent' ? ['/api/v1/me/agreements?limit=100']
        : ['/api/v1/me/agreements?limit=100', `/api/v1/organisations/${w.org}/agreements?limit=100`];
      for (const path of lists) {
        const l = await api('GET', path, { token: w[who].token });
        assert.equal(l.status, 200, l.text);
        const item = l.body.items.find((x) => x.id === a.id);
        assert.ok(item, `${what}: in ${path}`);
        assert.deepEqual([item.status, item.standing, item.my_side, item.awaiting, item.allowed_actions, item.pending_version],
          [s.status, s.standing, side, s.awaiting, s[side], s.pending], `${what}: ${path}`);
      }
    }
    if (s.versions) {
      const v = await api('GET', `/api/v1/agreements/${a.id}/versions`, { token: w.agent.token });
      for (const [version, [outcome, by]] of Object.entries(s.versions)) {
        const item = v.body.items.find((x) => x.version === Number(version));
        assert.deepEqual([item.outcome, item.decided_by], [outcome, by], `${name}: version ${version}`);
      }
    }
  }
});

test('every action by every side in every state: allowed ones succeed, the others are a 409 naming what is allowed', async () => {
  const w = await world();
  for (const [name, s] of Object.entries(STATES)) {
    for (const [who, side] of [['agent', 'agent'], ['member', 'organisation']]) {
      for (const action of ['accept', 'decline', 'withdraw', 'conclude', 'amend', 'renew']) {
        const a = await s.build(w);
        const res = await act(w[who], a, action);
        const what = `${name}: ${action} by the ${side}`;
        if (s[side].includes(action)) {
          assert.equal(res.status, 200, `${what}: ${res.text}`);
          assert.equal(res.body.my_side, side, what);
        } else {
          assert.equal(res.status, 409, `${what}: ${res.text}`);
          assert.deepEqual(res.body.allowed_actions, s[side], what);
        }
      }
    }
  }
});

test('the standing filter keeps an amended active agreement among the active ones; status still says proposed', async () => {
  const w = await world();
  const amended = await STATES.amendment_by_agent.build(w);
  const first = await STATES.proposed_by_agent.build(w);
  const ids = async (q) => (await api('GET', `/api/v1/organisations/${w.org}/agreements?${q}`, { token: w.owner.token })).body.items.map((x) => x.id);
  assert.ok((await ids('standing=active')).includes(amended.id));
  assert.ok(!(await ids('standing=active')).includes(first.id));
  assert.ok((await ids('standing=proposed')).includes(first.id));
  assert.ok(!(await ids('standing=proposed')).includes(amended.id));
  assert.ok((await ids('status=proposed')).includes(amended.id), 'status keeps its meaning');
  const mine = (await api('GET', '/api/v1/me/agreements?standing=active', { token: w.agent.token })).body.items.map((x) => x.id);
  assert.ok(mine.includes(amended.id) && !mine.includes(first.id));
  const bad = await api('GET', '/api/v1/me/agreements?standing=pending', { token: w.agent.token });
  assert.equal(bad.status, 400);
});

test('past capacity: the agent is warned when proposing, reading and accepting; the organisation is not told', async () => {
  const w = await world();
  assert.equal((await putAgent(w.agent, w.handle, { capacity_hours_per_week: 6 })).status, 200);
  const mine = await fresh(w, w.agent);
  assert.deepEqual(mine.warnings, [], '4 of 6 hours');
  const theirs = await fresh(w, w.owner);
  let r = await api('GET', `/api/v1/agreements/${theirs.id}`, { token: w.agent.token });
  assert.equal(r.body.warnings.length, 0, 'the first proposal is not in force yet: 4 + 4 counts only once accepted');
  r = await act(w.owner, mine, 'accept');
  r = await api('GET', `/api/v1/agreements/${theirs.id}`, { token: w.agent.token });
  assert.equal(r.body.warnings[0].kind, 'over_capacity');
  assert.match(r.body.warnings[0].message, /would commit 8 hours a week, more than your capacity of 6/);
  r = await api('GET', `/api/v1/agreements/${theirs.id}`, { token: w.owner.token });
  assert.deepEqual(r.body.warnings, []);
  r = await act(w.agent, theirs, 'accept');
  assert.equal(r.status, 200, r.text);
  assert.match(r.body.warnings[0].message, /You have committed 8 hours a week, more than your capacity of 6/);
});

test('parties see each other: an agent who stops being discoverable stays visible to the organisation it has an agreement with', async () => {
  const w = await world();
  await STATES.active.build(w);
  const res = await putAgent(w.agent, w.handle, { discoverable: false });
  assert.equal(res.status, 200, res.text);
  assert.equal((await api('GET', `/api/v1/agents/${w.handle}`, { token: w.member.token })).status, 200);
  const stranger = await newUser('Sam Stranger');
  assert.equal((await api('GET', `/api/v1/agents/${w.handle}`, { token: stranger.token })).status, 404);
  assert.equal((await api('GET', `/api/v1/agents/${w.handle}`)).status, 404);
});
