// matching: GET /me/matches and GET /engagements/{id}/matches — ranking with
// reasons whose points add up to the score, what is left out (no purpose in
// common, paused and closed engagements, hidden agents, pairs with an open
// agreement), committed hours, members only, and the index picking up a new
// engagement within a second. Every test uses purposes of its own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, sql, unique, BASE } from './helpers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

async function newPurpose(token, label) {
  const name = unique(label);
  const res = await api('POST', '/api/v1/purposes', { token, body: { name, description: 'for matching tests' } });
  assert.equal(res.status, 201, res.text);
  return { slug: res.body.slug, name };
}

async function newOrganisation(owner, purposes) {
  const res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: unique('Acme Water'), purpose_statement: 'Water for all', purposes,
            legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function newEngagement(owner, org, fields) {
  const res = await api('POST', `/api/v1/organisations/${org}/engagements`, {
    token: owner.token,
    body: { title: unique('Engagement'), description: 'Purposeful work', packagings: ['volunteer'],
            hours_per_week: 10, skills: [], remote_ok: false, rewards: { non_cash: ['learning'] }, ...fields },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function setStatus(owner, engagement, status) {
  const res = await api('PATCH', `/api/v1/engagements/${engagement.id}`, {
    token: owner.token, headers: { 'If-Match': `"${engagement.version}"` }, body: { status },
  });
  assert.equal(res.status, 200, res.text);
}

// An agent: {user, handle}. energies: [[purpose slug, energy], ...]
async function newAgent(profile, energies) {
  const user = await newUser('Agent Person');
  const handle = unique('agent');
  let res = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle, headline: 'Engineer', personal_purpose: 'Water', skills: [], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true, ...profile },
  });
  assert.equal(res.status, 200, res.text);
  res = await api('PUT', '/api/v1/me/agent/purposes', {
    token: user.token, body: energies.map(([purpose, energy]) => ({ purpose, energy })),
  });
  assert.equal(res.status, 200, res.text);
  return { user, handle };
}

// Ask until check(response) holds (the index follows the database within
// milliseconds); returns the last response.
async function until(ask, check, ms = 3000) {
  const started = Date.now();
  let res;
  for (;;) {
    res = await ask();
    if (check(res) || Date.now() - started > ms) return res;
    await sleep(20);
  }
}

const myMatches = (user, limit = 20) => api('GET', `/api/v1/me/matches?limit=${limit}`, { token: user.token });
const engagementMatches = (user, id, limit = 20) =>
  api('GET', `/api/v1/engagements/${id}/matches?limit=${limit}`, { token: user?.token });
const ids = (res) => (res.body?.items ?? []).map((i) => i.engagement.id);
const handles = (res) => (res.body?.items ?? []).map((i) => i.agent.handle);
const reasonOf = (item, kind) => item.reasons.find((r) => r.kind === kind);

function assertExplained(item) {
  assert.deepEqual(item.reasons.map((r) => r.kind), ['purpose', 'skills', 'capacity', 'packaging', 'location', 'follows']);
  const sum = item.reasons.reduce((s, r) => s + r.points, 0);
  assert.ok(Math.abs(sum - item.score) < 1e-9, `points ${sum} add up to score ${item.score}`);
  assert.ok(item.score >= 0 && item.score <= 1);
  for (const r of item.reasons) {
    assert.equal(typeof r.detail, 'string');
    assert.ok(r.detail.length > 0);
    assert.ok(r.points >= 0);
  }
}

const close = (a, b) => Math.abs(a - b) < 1e-9;

test('GET /me/matches ranks open engagements for the agent, explained, points adding up to the score', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Clean water');
  const science = await newPurpose(owner.token, 'Open science');
  const soil = await newPurpose(owner.token, 'Soil');
  const org = await newOrganisation(owner, [water.slug]);
  const best = await newEngagement(owner, org.slug, {
    purposes: [water.slug, science.slug], skills: ['C', 'PostgreSQL', 'Rust', 'Go'], hours_per_week: 10,
    packagings: ['volunteer'], location: 'Berlin', remote_ok: false,
  });
  const second = await newEngagement(owner, org.slug, {
    purposes: [science.slug], skills: [], hours_per_week: 30, packagings: ['employment'], remote_ok: true,
  });
  const unrelated = await newEngagement(owner, org.slug, { purposes: [soil.slug] });
  const paused = await newEngagement(owner, org.slug, { purposes: [water.slug] });
  const closed = await newEngagement(owner, org.slug, { purposes: [water.slug] });
  await setStatus(owner, paused, 'paused');
  await setStatus(owner, closed, 'closed');

  // the caller need not be discoverable to see its own matches
  const { user } = await newAgent({
    skills: ['rust', 'c', 'postgresql'], capacity_hours_per_week: 30, packagings: ['volunteer', 'consulting'],
    location: 'berlin', remote_ok: true, discoverable: false,
  }, [[water.slug, 40], [science.slug, 20]]);
  const follow = await api('PUT', `/api/v1/organisations/${org.slug}/follow`, { token: user.token });
  assert.equal(follow.status, 204, follow.text);

  const res = await until(() => myMatches(user),
    (r) => r.status === 200 && ids(r).includes(best.id) && ids(r).includes(second.id) &&
      reasonOf(r.body.items[0], 'follows').points > 0);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(ids(res), [best.id, second.id], 'no purpose in common, paused and closed are left out');
  assert.ok(!ids(res).includes(unrelated.id) && !ids(res).includes(paused.id) && !ids(res).includes(closed.id));
  assert.equal(res.body.next_cursor, null);

  const [top, next] = res.body.items;
  // the engagement as GET /engagements/{id} shows it
  for (const item of res.body.items) {
    const shown = await api('GET', `/api/v1/engagements/${item.engagement.id}`);
    assert.deepEqual(item.engagement, shown.body);
  }
  assert.equal(top.engagement.title, best.title);
  assert.equal(top.engagement.organisation.slug, org.slug);
  assert.equal(top.engagement.status, 'open');
  res.body.items.forEach(assertExplained);
  assert.ok(close(top.score, 0.45 * 0.6 + 0.2 * 0.75 + 0.1 + 0.1 + 0.05 + 0.1), `score ${top.score}`);
  assert.equal(reasonOf(top, 'purpose').detail, `Supports ${water.name} (energy 40) and ${science.name} (energy 20)`);
  assert.ok(close(reasonOf(top, 'purpose').points, 0.27));
  assert.equal(reasonOf(top, 'skills').detail, 'Has 3 of 4 skills: C, PostgreSQL, Rust');
  assert.equal(reasonOf(top, 'capacity').detail, 'Needs 10 h/week; 30 h/week available');
  assert.equal(reasonOf(top, 'packaging').detail, 'Packaging in common: volunteer');
  assert.equal(reasonOf(top, 'location').detail, 'Both in Berlin');
  assert.equal(reasonOf(top, 'follows').detail, `Follows ${org.name}`);

  assert.ok(close(next.score, 0.45 * 0.2 + 0.2 + 0.1 + 0 + 0.05 + 0.1), `score ${next.score}`);
  assert.equal(reasonOf(next, 'skills').detail, 'Asks for no particular skills');
  assert.equal(reasonOf(next, 'packaging').points, 0);
  assert.match(reasonOf(next, 'packaging').detail, /^No packaging in common \(offered: employment; accepted: consulting or volunteer\)$/);
  assert.equal(reasonOf(next, 'location').detail, 'Remote on both sides');

  const one = await myMatches(user, 1);
  assert.deepEqual(ids(one), [best.id]);
});

test('GET /engagements/{id}/matches ranks discoverable agents for members only', async () => {
  const owner = await newUser('Olga Owner');
  const member = await newUser('Mo Member');
  const outsider = await newUser('Otto Outsider');
  const water = await newPurpose(owner.token, 'Clean water');
  const science = await newPurpose(owner.token, 'Open science');
  const org = await newOrganisation(owner, [water.slug]);
  await addMember(owner, org.slug, member, 'member');
  const eng = await newEngagement(owner, org.slug, {
    purposes: [water.slug], skills: ['Rust', 'Go'], hours_per_week: 10, remote_ok: true,
  });

  const strong = await newAgent({ skills: ['rust', 'go'] }, [[water.slug, 80]]);
  const weak = await newAgent({ skills: [] }, [[water.slug, 30], [science.slug, 60]]);
  const hidden = await newAgent({ skills: ['rust', 'go'], discoverable: false }, [[water.slug, 100]]);
  const elsewhere = await newAgent({ skills: ['rust', 'go'] }, [[science.slug, 100]]);
  const proposed = await newAgent({ skills: ['rust'] }, [[water.slug, 50]]);
  const agreement = await api('POST', '/api/v1/agreements', {
    token: proposed.user.token,
    body: { organisation: org.slug, agent: proposed.handle, engagement: eng.id, role: 'Pump engineer',
            purposes: [water.slug], packaging: 'volunteer', hours_per_week: 5, terms: 'Weekends.',
            rewards: { cash: null, non_cash: [] }, starts_on: day(1) },
  });
  assert.equal(agreement.status, 201, agreement.text);

  const res = await until(() => engagementMatches(member, eng.id),
    (r) => r.status === 200 && handles(r).includes(strong.handle) && handles(r).includes(weak.handle));
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(handles(res), [strong.handle, weak.handle],
    'hidden agents, agents without a purpose in common and pairs with a proposed agreement are left out');
  res.body.items.forEach(assertExplained);
  const [top, next] = res.body.items;
  assert.equal(reasonOf(top, 'purpose').detail, `Supports ${water.name} (energy 80)`);
  assert.equal(reasonOf(top, 'skills').detail, 'Has 2 of 2 skills: Go, Rust');
  assert.equal(reasonOf(top, 'follows').detail, `Does not follow ${org.name}`);
  assert.equal(reasonOf(next, 'skills').detail, 'Has none of the 2 skills asked for');
  assert.ok(close(reasonOf(next, 'purpose').points, 0.45 * 0.3));
  assert.equal(top.agent.handle, strong.handle);
  assert.deepEqual(top.agent.skills, ['rust', 'go']);
  // the agent as its public profile shows it
  for (const item of res.body.items) {
    const shown = await api('GET', `/api/v1/agents/${item.agent.handle}`, { token: outsider.token });
    assert.deepEqual(item.agent, shown.body);
  }
  assert.ok(!res.text.includes(strong.user.email), 'emails are never part of a match');
  assert.ok(!handles(res).includes(hidden.handle) && !handles(res).includes(elsewhere.handle));

  const byOwner = await engagementMatches(owner, eng.id);
  assert.deepEqual(handles(byOwner), handles(res));

  // the agent with the proposed agreement does not see the engagement either
  const theirs = await myMatches(proposed.user);
  assert.equal(theirs.status, 200, theirs.text);
  assert.ok(!ids(theirs).includes(eng.id));

  // the candidates are for the organisation's members: 404 for anyone else
  for (const who of [outsider, strong.user]) {
    const r = await engagementMatches(who, eng.id);
    assert.equal(r.status, 404, r.text);
    assert.equal(r.body.items, undefined);
  }
  assert.equal((await engagementMatches(null, eng.id)).status, 401);
  assert.equal((await engagementMatches(member, 999999999)).status, 404);
  assert.equal((await api('GET', '/api/v1/engagements/abc/matches', { token: member.token })).status, 404);
  assert.equal((await engagementMatches(member, eng.id, 0)).status, 400);
});

test('a newly posted engagement is matched within a second', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Clean water');
  const org = await newOrganisation(owner, [water.slug]);
  const { user } = await newAgent({}, [[water.slug, 50]]);
  await newEngagement(owner, org.slug, { purposes: [water.slug] });
  await until(() => myMatches(user), (r) => ids(r).length === 1);

  const fresh = await newEngagement(owner, org.slug, { purposes: [water.slug] });
  const posted = Date.now();
  const res = await until(() => myMatches(user), (r) => ids(r).includes(fresh.id), 1000);
  const took = Date.now() - posted;
  assert.ok(ids(res).includes(fresh.id), `the new engagement was not matched within a second (${took} ms)`);
  assert.equal(ids(res)[0], fresh.id, 'same score: the newest engagement first');
});

test("each engagement in /me/matches is GET /engagements/{id}'s answer, whether the answer cache held it or not, and after an edit", async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Clean water');
  const org = await newOrganisation(owner, [water.slug]);
  const { user } = await newAgent({}, [[water.slug, 50]]);
  const a = await newEngagement(owner, org.slug, { purposes: [water.slug], skills: ['Rust'] });
  const b = await newEngagement(owner, org.slug, { purposes: [water.slug], location: 'Lima' });
  // a read before (its answer cached), b not
  const getA = await api('GET', `/api/v1/engagements/${a.id}`);
  const raw = async () => {
    const res = await fetch(`${BASE}/api/v1/me/matches?limit=20`, { headers: { Authorization: `Bearer ${user.token}` } });
    return res.text();
  };
  const itemText = (text, id) => {
    // the engagement object's own text inside the page, as sent
    const at = text.indexOf(`{"engagement":{"id":${id},`);
    assert.ok(at >= 0, `engagement ${id} in ${text.slice(0, 300)}`);
    const start = at + '{"engagement":'.length;
    const end = text.indexOf(',"score":', start);
    return text.slice(start, end);
  };
  await until(() => myMatches(user), (r) => ids(r).length === 2);
  let page = await raw();
  assert.equal(itemText(page, a.id), getA.text, 'a: the cached answer');
  assert.equal(itemText(page, b.id), (await api('GET', `/api/v1/engagements/${b.id}`)).text, 'b: read for the page');
  // an edit: the next page has the new text, as GET has
  const res = await api('PATCH', `/api/v1/engagements/${a.id}`, {
    token: owner.token, headers: { 'If-Match': `"${a.version}"` }, body: { title: 'Renamed for the matches' },
  });
  assert.equal(res.status, 200, res.text);
  page = await raw();
  const after = await api('GET', `/api/v1/engagements/${a.id}`);
  assert.match(after.text, /Renamed for the matches/);
  assert.equal(itemText(page, a.id), after.text);
});

test('ties go to the newest engagement; capacity counts hours in force in open agreements', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Clean water');
  const org = await newOrganisation(owner, [water.slug]);
  const fields = { purposes: [water.slug], hours_per_week: 20, skills: ['Rust'], remote_ok: true };
  const older = await newEngagement(owner, org.slug, fields);
  const newer = await newEngagement(owner, org.slug, fields);
  const agent = await newAgent({ skills: ['Rust'], capacity_hours_per_week: 20 }, [[water.slug, 50]]);
  let res = await until(() => myMatches(agent.user), (r) => ids(r).length === 2);
  assert.deepEqual(ids(res), [newer.id, older.id]);
  assert.equal(res.body.items[0].score, res.body.items[1].score);
  assert.equal(reasonOf(res.body.items[0], 'capacity').detail, 'Needs 20 h/week; 20 h/week available');

  // 15 hours a week in force elsewhere in the organisation leave 5
  const proposal = await api('POST', '/api/v1/agreements', {
    token: agent.user.token,
    body: { organisation: org.slug, agent: agent.handle, role: 'Advisor', purposes: [water.slug],
            packaging: 'volunteer', hours_per_week: 15, terms: 'Advice.', rewards: { cash: null, non_cash: [] },
            starts_on: day(1) },
  });
  assert.equal(proposal.status, 201, proposal.text);
  const accepted = await api('POST', `/api/v1/agreements/${proposal.body.id}/accept`, { token: owner.token });
  assert.equal(accepted.status, 200, accepted.text);
  res = await until(() => engagementMatches(owner, newer.id),
    (r) => r.body?.items?.[0] && reasonOf(r.body.items[0], 'capacity').points < 0.1);
  const item = res.body.items.find((i) => i.agent.handle === agent.handle);
  assert.equal(reasonOf(item, 'capacity').detail, 'Needs 20 h/week; only 5 h/week available');
  assert.ok(close(reasonOf(item, 'capacity').points, 0.1 * 5 / 20));
  assertExplained(item);
  const mine = await myMatches(agent.user);
  assert.equal(reasonOf(mine.body.items[0], 'capacity').detail, 'Needs 20 h/week; only 5 h/week available');
});

test('GET /me/matches needs a signed-in agent and a sane limit', async () => {
  assert.equal((await api('GET', '/api/v1/me/matches')).status, 401);
  const user = await newUser('No Agent');
  const res = await myMatches(user);
  assert.equal(res.status, 404, res.text);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Clean water');
  const { user: agent } = await newAgent({}, [[water.slug, 10]]);
  for (const bad of ['0', '101', 'abc', '-1', '1e3']) {
    const r = await api('GET', `/api/v1/me/matches?limit=${bad}`, { token: agent.token });
    assert.equal(r.status, 400, `limit=${bad}: ${r.text}`);
  }
  const empty = await myMatches(agent);
  assert.equal(empty.status, 200, empty.text);
  assert.deepEqual(empty.body, { items: [], next_cursor: null });
});

test('a change shows at once: purposes edited, agent hidden, engagement closed', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Clean water');
  const science = await newPurpose(owner.token, 'Open science');
  const org = await newOrganisation(owner, [water.slug]);
  const forScience = await newEngagement(owner, org.slug, { purposes: [science.slug] });
  const forWater = await newEngagement(owner, org.slug, { purposes: [water.slug] });
  const profile = { skills: [], remote_ok: true };
  const agent = await newAgent(profile, [[water.slug, 50]]);
  // notifications are applied in order: once the later engagement is
  // matched, the earlier one is indexed too
  let res = await until(() => myMatches(agent.user), (r) => ids(r).includes(forWater.id));
  assert.deepEqual(ids(res), [forWater.id]);

  // the caller's purposes are read on every request: the next answer follows them
  const changed = await api('PUT', '/api/v1/me/agent/purposes', {
    token: agent.user.token, body: [{ purpose: science.slug, energy: 60 }],
  });
  assert.equal(changed.status, 200, changed.text);
  res = await myMatches(agent.user);
  assert.deepEqual(ids(res), [forScience.id], 'the very next response reflects the new purposes');
  assert.equal(reasonOf(res.body.items[0], 'purpose').detail, `Supports ${science.name} (energy 60)`);
  // and the engagement's side sees the agent with its new purposes within a second
  let t0 = Date.now();
  res = await until(() => engagementMatches(owner, forScience.id), (r) => handles(r).includes(agent.handle), 1000);
  assert.ok(handles(res).includes(agent.handle), `not matched within a second (${Date.now() - t0} ms)`);
  assert.ok(close(reasonOf(res.body.items[0], 'purpose').points, 0.45 * 0.6));
  res = await until(() => engagementMatches(owner, forWater.id), (r) => !handles(r).includes(agent.handle), 1000);
  assert.ok(!handles(res).includes(agent.handle), 'no longer matched for the purpose it dropped');

  // an agent who stops being discoverable leaves every engagement's matches
  const hide = await api('PUT', '/api/v1/me/agent', {
    token: agent.user.token,
    body: { handle: agent.handle, headline: 'Engineer', personal_purpose: 'Water', skills: [], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: false, show_track_record: true },
  });
  assert.equal(hide.status, 200, hide.text);
  t0 = Date.now();
  res = await until(() => engagementMatches(owner, forScience.id), (r) => r.status === 200 && !handles(r).includes(agent.handle), 1000);
  assert.equal(res.status, 200, res.text);
  assert.ok(!handles(res).includes(agent.handle), `a hidden agent still matched after ${Date.now() - t0} ms`);
  // it still sees its own matches
  assert.deepEqual(ids(await myMatches(agent.user)), [forScience.id]);

  // an engagement that closes disappears within a second; reopened, it is back
  const closing = await api('PATCH', `/api/v1/engagements/${forScience.id}`, {
    token: owner.token, headers: { 'If-Match': `"${forScience.version}"` }, body: { status: 'closed' },
  });
  assert.equal(closing.status, 200, closing.text);
  t0 = Date.now();
  res = await until(() => myMatches(agent.user), (r) => r.status === 200 && !ids(r).includes(forScience.id), 1000);
  assert.deepEqual(ids(res), [], `the closed engagement still matched after ${Date.now() - t0} ms`);
  const reopening = await api('PATCH', `/api/v1/engagements/${forScience.id}`, {
    token: owner.token, headers: { 'If-Match': `"${closing.body.version}"` }, body: { status: 'open' },
  });
  assert.equal(reopening.status, 200, reopening.text);
  res = await until(() => myMatches(agent.user), (r) => ids(r).includes(forScience.id), 1000);
  assert.deepEqual(ids(res), [forScience.id]);
});

test('/metrics reports the matching index: size, counts, build time, notifications applied', async () => {
  const metric = (text, name) => {
    const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
    assert.ok(m, `${name} missing`);
    return Number(m[1]);
  };
  const scrape = async () => (await api('GET', '/metrics')).text;
  const before = await scrape();
  for (const name of ['match_index_bytes', 'match_index_agents', 'match_index_engagements',
    'match_index_build_seconds', 'match_notifications_total', 'match_index_builds_total']) {
    assert.match(before, new RegExp(`^# TYPE ${name} (gauge|counter)$`, 'm'));
  }
  assert.equal(metric(before, 'match_index_ready'), 1);
  assert.ok(metric(before, 'match_index_bytes') > 0);
  assert.ok(metric(before, 'match_index_builds_total') >= 1);
  const built = metric(before, 'match_index_build_seconds');
  assert.ok(built > 0 && built < 3, `build took ${built} s`);

  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Clean water');
  const org = await newOrganisation(owner, [water.slug]);
  await newEngagement(owner, org.slug, { purposes: [water.slug] });
  await newAgent({}, [[water.slug, 40]]);
  let after = before;
  const started = Date.now();
  while (metric(after, 'match_notifications_total') < metric(before, 'match_notifications_total') + 2 &&
         Date.now() - started < 2000) {
    await sleep(20);
    after = await scrape();
  }
  assert.ok(metric(after, 'match_notifications_total') >= metric(before, 'match_notifications_total') + 2,
    'the new engagement and agent were notified and applied');
  assert.ok(metric(after, 'match_index_engagements') >= 1);
  assert.ok(metric(after, 'match_index_agents') >= 1);
});

test('a listener cut off by the server rebuilds the index, and later changes still arrive', async () => {
  const builds = async () => {
    const m = (await api('GET', '/metrics')).text.match(/^match_index_builds_total (\S+)$/m);
    return Number(m[1]);
  };
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Clean water');
  const org = await newOrganisation(owner, [water.slug]);
  const { user } = await newAgent({}, [[water.slug, 50]]);
  const before = await builds();
  const killed = sql("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'purposed-match' AND datname = current_database()) t");
  assert.ok(Number(killed[0][0]) >= 1, 'the match listener had a connection');
  const started = Date.now();
  while (await builds() < before + 1 && Date.now() - started < 5000) await sleep(50);
  assert.equal(await builds(), before + 1, 'one rebuild after the reconnect');
  // what changed while it was away is in the rebuild; what changes now is notified
  const fresh = await newEngagement(owner, org.slug, { purposes: [water.slug] });
  const res = await until(() => myMatches(user), (r) => ids(r).includes(fresh.id), 1000);
  assert.deepEqual(ids(res), [fresh.id]);
});
