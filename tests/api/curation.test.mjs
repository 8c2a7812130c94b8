// curation: moderators curate the shared catalogue (docs/operations.md,
// "Curating the catalogue"). Merging a purpose moves every reference to the
// kept one (organisations, agents' energy summed, engagements, saved
// searches) in one transaction while history stays; old slugs answer 301
// (API and pages), chains lead to the end in one hop; renaming and retiring;
// the same for skills; every action in the moderation log; bad input named
// at once with nothing written; the answer cache sees the change at once.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, problemFields, sql, unique, until } from './helpers.mjs';

async function newModerator() {
  const m = await newUser('Curator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${m.id}, 'moderator')`);
  return m;
}

async function newPurpose(owner, label = 'Cause') {
  const res = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `${label} ${unique('p')}` } });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

async function newOrganisation(owner, purposes) {
  const slug = unique('org');
  const res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Org ${slug}`, slug, purpose_statement: 'We exist for it.', purposes, legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(res.status, 201, res.text);
  return slug;
}

async function newAgent(user, purposes, skills = ['facilitation']) {
  const put = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: {
      handle: unique('agent'), headline: 'Here to help', personal_purpose: 'Help.', skills,
      capacity_hours_per_week: 20, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: false,
    },
  });
  assert.equal(put.status, 200, put.text);
  if (purposes) {
    const res = await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body: purposes });
    assert.equal(res.status, 200, res.text);
  }
  return put.body.handle;
}

async function newEngagement(owner, org, purposes, skills = []) {
  const res = await api('POST', `/api/v1/organisations/${org}/engagements`, {
    token: owner.token,
    body: { title: `Work ${unique('e')}`, description: 'Useful work.', purposes, skills, packagings: ['volunteer'], hours_per_week: 4, remote_ok: true, rewards: { non_cash: ['learning'] } },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
}

const curate = (who, body) => api('POST', '/api/v1/moderation/curation', { token: who.token, body });
const logCount = () => Number(sql('SELECT count(*) FROM moderation_actions')[0][0]);
const energies = (handle) => sql(`SELECT p.slug, ap.energy FROM agent_purposes ap JOIN purposes p ON p.id = ap.purpose_id
  JOIN agents g ON g.id = ap.agent_id WHERE g.handle = '${handle}' ORDER BY p.slug`);

test('only moderators curate: 401 without a session, 403 for anyone else', async () => {
  const user = await newUser('Plain');
  const slug = await newPurpose(user);
  const body = { action: 'retire', kind: 'purpose', target: slug, reason: 'Spam.' };
  assert.equal((await api('POST', '/api/v1/moderation/curation', { body })).status, 401);
  assert.equal((await curate(user, body)).status, 403);
  assert.equal(sql(`SELECT retired_at IS NULL FROM purposes WHERE slug = '${slug}'`)[0][0], 't');
  // administrators may, as moderators do (the other tests)
  const admin = await newUser('Administrator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${admin.id}, 'administrator')`);
  const res = await curate(admin, body);
  assert.equal(res.status, 201, res.text);
  assert.equal(sql(`SELECT retired_at IS NOT NULL FROM purposes WHERE slug = '${slug}'`)[0][0], 't');
});

test('bad input: every bad field named at once, nothing written', async () => {
  const mod = await newModerator();
  const slug = await newPurpose(mod);
  const before = logCount();
  let res = await curate(mod, { action: 'fuse', kind: 'planet', target: '', reason: '', extra: 1 });
  assert.equal(res.status, 422, res.text);
  assert.deepEqual(problemFields(res), ['action', 'extra', 'kind', 'reason', 'target']);
  res = await curate(mod, { action: 'retire', kind: 'purpose', target: slug, into: 'x', name: 'y', slug: 'z', reason: 'Why.' });
  assert.equal(res.status, 422, res.text);
  assert.deepEqual(problemFields(res), ['into', 'name', 'slug']);
  res = await curate(mod, { action: 'merge', kind: 'purpose', target: 'Not A Slug', reason: 'Why.' });
  assert.deepEqual(problemFields(res), ['into', 'target']);
  res = await curate(mod, { action: 'rename', kind: 'purpose', target: slug, name: '!!!', slug: '-bad-', reason: 'Why.' });
  assert.deepEqual(problemFields(res), ['name', 'slug']);
  res = await curate(mod, { action: 'rename', kind: 'skill', target: 'python', slug: 'python', reason: 'Why.' });
  assert.deepEqual(problemFields(res), ['name', 'slug']);
  // a rule on stored data: into is the target itself
  res = await curate(mod, { action: 'merge', kind: 'purpose', target: slug, into: slug, reason: 'Why.' });
  assert.equal(res.status, 422, res.text);
  assert.deepEqual(problemFields(res), ['into']);
  res = await curate(mod, { action: 'merge', kind: 'purpose', target: slug, into: unique('nowhere'), reason: 'Why.' });
  assert.equal(res.status, 422, res.text);
  assert.deepEqual(problemFields(res), ['into']);
  res = await curate(mod, { action: 'retire', kind: 'purpose', target: unique('nowhere'), reason: 'Why.' });
  assert.equal(res.status, 404, res.text);
  assert.equal(logCount(), before);
  assert.equal(sql(`SELECT retired_at IS NULL AND merged_into IS NULL FROM purposes WHERE slug = '${slug}'`)[0][0], 't');
});

test('merge a purpose: every reference moves to the kept one, energy summed, history stays, old slug 301', async () => {
  const mod = await newModerator();
  const owner = await newUser('Owner');
  const dup = await newPurpose(owner, 'Clean water');
  const kept = await newPurpose(owner, 'Water');
  const other = await newPurpose(owner, 'Other');
  const onlyDup = await newOrganisation(owner, [dup]);
  const both = await newOrganisation(owner, [dup, kept]);
  const engagement = await newEngagement(owner, onlyDup, [dup, other]);
  const a1 = await newUser('Both');
  const h1 = await newAgent(a1, [{ purpose: dup, energy: 30 }, { purpose: kept, energy: 50 }, { purpose: other, energy: 20 }]);
  const a2 = await newUser('Dup only');
  const h2 = await newAgent(a2, [{ purpose: dup, energy: 40 }]);
  const saved = await api('POST', '/api/v1/me/saved-searches', { token: a2.token, body: { name: 'Water work', purpose: dup } });
  assert.equal(saved.status, 201, saved.text);
  // a history row naming the duplicate: an agreement's version
  const agreement = await api('POST', '/api/v1/agreements', {
    token: a2.token,
    body: { organisation: onlyDup, agent: h2, engagement, role: 'Helper', purposes: [dup], packaging: 'volunteer', hours_per_week: 4, terms: 'As agreed.', rewards: { non_cash: ['learning'] }, starts_on: '2030-01-01' },
  });
  assert.equal(agreement.status, 201, agreement.text);
  // the answer cache holds the kept purpose's list before the merge
  const cachedBefore = await api('GET', `/api/v1/engagements?purpose=${kept}`);
  assert.deepEqual(cachedBefore.body.items.map((e) => e.id), []);
  // matching: an engagement for the kept purpose has no purpose in common with
  // the agent who declared only the duplicate, so it is no match of theirs yet
  const forKept = await newEngagement(owner, both, [kept]);
  const matchIds = async (user) => (await api('GET', '/api/v1/me/matches?limit=100', { token: user.token })).body.items.map((m) => m.engagement.id);
  await until('the new engagement in the match index', async () => (await matchIds(a1)).includes(forKept));
  assert.ok(!(await matchIds(a2)).includes(forKept));

  const res = await curate(mod, { action: 'merge', kind: 'purpose', target: dup, into: kept, reason: 'Duplicate of the water purpose.' });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.action, 'merge');
  assert.deepEqual({ kind: res.body.subject.kind, label: res.body.subject.label }, { kind: 'purpose', label: dup });
  assert.equal(res.body.moderator.id, mod.id);
  assert.equal(res.body.reason, 'Duplicate of the water purpose.');
  assert.equal(res.body.details.into.slug, kept);
  assert.deepEqual(res.body.details.moved, { organisations: 2, agents: 2, engagements: 1, saved_searches: 1 });

  // organisations: one link each to the kept purpose, none to the duplicate
  for (const org of [onlyDup, both]) {
    const o = await api('GET', `/api/v1/organisations/${org}`);
    assert.deepEqual(o.body.purposes.map((p) => p.slug), [kept], org);
  }
  // agents: shares summed (30 + 50), or carried over (40)
  assert.deepEqual(energies(h1), [[kept, '80'], [other, '20']].sort());
  assert.deepEqual(energies(h2), [[kept, '40']]);
  // engagements, and the cached list sees it at once
  const e = await api('GET', `/api/v1/engagements/${engagement}`);
  assert.deepEqual(e.body.purposes.map((p) => p.slug).sort(), [kept, other].sort());
  const cachedAfter = await api('GET', `/api/v1/engagements?purpose=${kept}`);
  assert.deepEqual(cachedAfter.body.items.map((x) => x.id).sort(), [engagement, forKept].sort());
  // the match index hears of it through the change log
  await until('the merged purpose in the match index', async () => (await matchIds(a2)).includes(forKept));
  // saved searches follow; history stays as it was
  assert.equal(sql(`SELECT purpose FROM saved_searches WHERE id = ${saved.body.id}`)[0][0], kept);
  assert.equal(sql(`SELECT p.slug FROM agreement_version_purposes v JOIN purposes p ON p.id = v.purpose_id
    WHERE v.agreement_id = ${agreement.body.id}`)[0][0], dup);
  assert.equal(sql(`SELECT count(*) FROM ${'organisation_purposes'} op JOIN purposes p ON p.id = op.purpose_id WHERE p.slug = '${dup}'`)[0][0], '0');
  // counts of the kept purpose
  const k = await api('GET', `/api/v1/purposes/${kept}`);
  assert.equal(k.status, 200);
  assert.deepEqual([k.body.supporters, k.body.organisations], [2, 2]);

  // the old slug redirects: API 301 + Location, pages 301
  const old = await api('GET', `/api/v1/purposes/${dup}`);
  assert.equal(old.status, 301);
  assert.equal(old.headers.get('location'), `/api/v1/purposes/${kept}`);
  assert.deepEqual(old.body, { slug: kept, location: `/api/v1/purposes/${kept}` });
  const page = await api('GET', `/purposes/${dup}`);
  assert.equal(page.status, 301);
  assert.equal(page.headers.get('location'), `/purposes/${kept}`);
  // gone from the list; the log has it
  const list = await api('GET', `/api/v1/purposes?q=${encodeURIComponent('Clean water')}&limit=100`);
  assert.ok(!list.body.items.some((p) => p.slug === dup));
  const log = await api('GET', '/api/v1/moderation/log', { token: mod.token });
  assert.equal(log.body.items[0].id, res.body.id);

  // merged already; into a merged one
  const again = await curate(mod, { action: 'merge', kind: 'purpose', target: dup, into: other, reason: 'Again.' });
  assert.equal(again.status, 409, again.text);
  const intoMerged = await curate(mod, { action: 'merge', kind: 'purpose', target: other, into: dup, reason: 'Into merged.' });
  assert.equal(intoMerged.status, 409, intoMerged.text);
});

test('redirect chains: a renamed twice, b merged twice: every old slug leads to the end in one 301', async () => {
  const mod = await newModerator();
  const owner = await newUser('Owner');
  const a = await newPurpose(owner, 'Alpha');
  const b = `${a}-b`;
  const c = `${a}-c`;
  // an agreement whose history chain hashes the purpose by its slug then
  const orgA = await newOrganisation(owner, [a]);
  const agent = await newUser('Agent');
  const handle = await newAgent(agent, [{ purpose: a, energy: 10 }]);
  const agreement = await api('POST', '/api/v1/agreements', {
    token: agent.token,
    body: { organisation: orgA, agent: handle, role: 'Helper', purposes: [a], packaging: 'volunteer', hours_per_week: 2, terms: 'As agreed.', rewards: { non_cash: ['learning'] }, starts_on: '2030-01-01' },
  });
  assert.equal(agreement.status, 201, agreement.text);
  let res = await curate(mod, { action: 'rename', kind: 'purpose', target: a, name: `Beta ${a}`, slug: b, reason: 'Clearer.' });
  assert.equal(res.status, 201, res.text);
  assert.deepEqual(res.body.details.to, { slug: b, name: `Beta ${a}` });
  res = await curate(mod, { action: 'rename', kind: 'purpose', target: b, name: `Gamma ${a}`, slug: c, reason: 'Clearer still.' });
  assert.equal(res.status, 201, res.text);
  for (const old of [a, b]) {
    const r = await api('GET', `/api/v1/purposes/${old}`);
    assert.equal(r.status, 301, old);
    assert.equal(r.headers.get('location'), `/api/v1/purposes/${c}`);
  }
  assert.equal((await api('GET', `/api/v1/purposes/${c}`)).body.name, `Gamma ${a}`);
  // history stays as it was: the chain still verifies, naming the slug of then
  const proof = await api('GET', `/api/v1/agreements/${agreement.body.id}/proof`, { token: agent.token });
  assert.equal(proof.status, 200, proof.text);
  assert.equal(proof.body.verified, true, JSON.stringify(proof.body.first_broken));
  assert.match(JSON.stringify(proof.body), new RegExp(`"purposes":\\["${a}"\\]`));
  assert.deepEqual((await api('GET', `/api/v1/organisations/${orgA}`)).body.purposes.map((p) => p.slug), [c]);
  // a former slug stays taken: no new purpose may have it
  const taken = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: a.replace(/-/g, ' ') } });
  assert.equal(taken.status, 409, taken.text);
  // the purpose may take its former slug back
  res = await curate(mod, { action: 'rename', kind: 'purpose', target: c, name: `Alpha again ${a}`, slug: a, reason: 'Back.' });
  assert.equal(res.status, 201, res.text);
  assert.equal((await api('GET', `/api/v1/purposes/${a}`)).status, 200);
  assert.equal((await api('GET', `/api/v1/purposes/${c}`)).headers.get('location'), `/api/v1/purposes/${a}`);

  // merge chain: x into y, then y into z: x leads to z
  const x = await newPurpose(owner, 'X');
  const y = await newPurpose(owner, 'Y');
  const z = await newPurpose(owner, 'Z');
  const org = await newOrganisation(owner, [x]);
  assert.equal((await curate(mod, { action: 'merge', kind: 'purpose', target: x, into: y, reason: 'Dup.' })).status, 201);
  assert.equal((await curate(mod, { action: 'merge', kind: 'purpose', target: y, into: z, reason: 'Dup.' })).status, 201);
  for (const old of [x, y]) {
    const r = await api('GET', `/api/v1/purposes/${old}`);
    assert.equal(r.status, 301, old);
    assert.equal(r.headers.get('location'), `/api/v1/purposes/${z}`);
    assert.equal((await api('GET', `/purposes/${old}`)).headers.get('location'), `/purposes/${z}`);
  }
  assert.deepEqual((await api('GET', `/api/v1/organisations/${org}`)).body.purposes.map((p) => p.slug), [z]);

  // renaming: the name of another purpose is a 409; the same name and slug a 422
  res = await curate(mod, { action: 'rename', kind: 'purpose', target: z, name: `Gamma ${a}`.replace('Gamma', 'Alpha again'), reason: 'Taken.' });
  assert.equal(res.status, 409, res.text);
  const zName = (await api('GET', `/api/v1/purposes/${z}`)).body.name;
  res = await curate(mod, { action: 'rename', kind: 'purpose', target: z, name: zName, slug: z, reason: 'Same.' });
  assert.equal(res.status, 422, res.text);
});

test('retire a purpose: offered for no new use, existing references stay and say retired', async () => {
  const mod = await newModerator();
  const owner = await newUser('Owner');
  const old = await newPurpose(owner, 'Old cause');
  const live = await newPurpose(owner, 'Live cause');
  const org = await newOrganisation(owner, [old]);
  const agent = await newUser('Agent');
  await newAgent(agent, [{ purpose: old, energy: 30 }]);

  const res = await curate(mod, { action: 'retire', kind: 'purpose', target: old, reason: 'No longer a cause here.' });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.action, 'retire');
  const again = await curate(mod, { action: 'retire', kind: 'purpose', target: old, reason: 'Twice.' });
  assert.equal(again.status, 409, again.text);

  const item = await api('GET', `/api/v1/purposes/${old}`);
  assert.equal(item.status, 200);
  assert.equal(item.body.retired, true);
  assert.ok(item.body.retired_at);
  const list = await api('GET', '/api/v1/purposes?q=Old+cause&limit=100');
  assert.ok(!list.body.items.some((p) => p.slug === old));
  const o = await api('GET', `/api/v1/organisations/${org}`);
  assert.deepEqual(o.body.purposes.map((p) => [p.slug, p.retired]), [[old, true]]);

  // no new use: a new organisation, a new engagement, a new declared purpose
  const created = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Org ${unique('n')}`, purpose_statement: 'X.', purposes: [old], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(created.status, 422, created.text);
  assert.deepEqual(problemFields(created), ['purposes']);
  const eng = await api('POST', `/api/v1/organisations/${org}/engagements`, {
    token: owner.token,
    body: { title: 'Work', description: 'Work.', purposes: [old], packagings: ['volunteer'], hours_per_week: 4, remote_ok: true, rewards: { non_cash: [] } },
  });
  assert.equal(eng.status, 422, eng.text);
  const other = await newUser('Other agent');
  await newAgent(other);
  const declared = await api('PUT', '/api/v1/me/agent/purposes', { token: other.token, body: [{ purpose: old, energy: 10 }] });
  assert.equal(declared.status, 422, declared.text);
  // ...but those who hold it keep it when they send their list again
  const kept = await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: old, energy: 20 }, { purpose: live, energy: 10 }] });
  assert.equal(kept.status, 200, kept.text);
  const cur = await api('GET', `/api/v1/organisations/${org}`);
  const patched = await api('PATCH', `/api/v1/organisations/${org}`, {
    token: owner.token, headers: { 'If-Match': cur.headers.get('etag') }, body: { purposes: [old, live] },
  });
  assert.equal(patched.status, 200, patched.text);
  assert.deepEqual(patched.body.purposes.map((p) => [p.slug, p.retired]).sort(), [[live, false], [old, true]].sort());

  // merging a retired purpose into a live one is allowed; into a retired one is not
  const into = await curate(mod, { action: 'merge', kind: 'purpose', target: live, into: old, reason: 'Into retired.' });
  assert.equal(into.status, 409, into.text);
  const merged = await curate(mod, { action: 'merge', kind: 'purpose', target: old, into: live, reason: 'Fold it in.' });
  assert.equal(merged.status, 201, merged.text);
  assert.equal(merged.body.details.from.retired, true);
  assert.deepEqual((await api('GET', `/api/v1/organisations/${org}`)).body.purposes.map((p) => p.slug), [live]);
});

test('skills: merge moves spellings to the kept skill and later uses follow it; rename; retire', async () => {
  const mod = await newModerator();
  const w = unique('s').replace(/[^a-z]/g, '');
  const typo = `Pyhton${w}`;
  const right = `Python${w}`;
  const a = await newUser('Typo');
  const ha = await newAgent(a, null, [typo, 'Go']);
  const b = await newUser('Right');
  await newAgent(b, null, [right, `${typo.toUpperCase()} `]);
  const owner = await newUser('Owner');
  const cause = await newPurpose(owner);
  const org = await newOrganisation(owner, [cause]);
  const engagement = await newEngagement(owner, org, [cause], [typo.toLowerCase()]);
  const before = await api('GET', `/api/v1/engagements?skill=${encodeURIComponent(right.toLowerCase())}`);
  assert.deepEqual(before.body.items.map((e) => e.id), []);

  const self = await curate(mod, { action: 'merge', kind: 'skill', target: typo, into: typo.toLowerCase(), reason: 'Self.' });
  assert.equal(self.status, 422, self.text);
  const res = await curate(mod, { action: 'merge', kind: 'skill', target: typo.toLowerCase(), into: right, reason: 'A typo.' });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.subject.kind, 'skill');
  assert.deepEqual(res.body.details.moved, { agents: 2, engagements: 1, saved_searches: 0 });

  assert.deepEqual((await api('GET', `/api/v1/agents/${ha}`)).body.skills, [right, 'Go']);
  assert.deepEqual(sql(`SELECT skills, skill_keys FROM agents WHERE account_id = ${b.id}`)[0],
    [`{${right}}`, `{${right.toLowerCase()}}`]);
  const after = await api('GET', `/api/v1/engagements?skill=${encodeURIComponent(right.toLowerCase())}`);
  assert.deepEqual(after.body.items.map((e) => e.id), [engagement]);
  const suggestions = await api('GET', `/api/v1/skills?prefix=${encodeURIComponent(typo.toLowerCase())}`);
  assert.deepEqual(suggestions.body.items, []);
  // a profile naming the merged key later gets the kept skill
  const c = await newUser('Later');
  const hc = await newAgent(c, null, [typo]);
  assert.deepEqual((await api('GET', `/api/v1/agents/${hc}`)).body.skills, [right]);

  // rename: a new key is a new entry, the old one merged into it
  const renamed = `Py${w}`;
  let r = await curate(mod, { action: 'rename', kind: 'skill', target: right, name: renamed, reason: 'Shorter.' });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual(r.body.details.to, { key: renamed.toLowerCase(), name: renamed });
  assert.deepEqual((await api('GET', `/api/v1/agents/${ha}`)).body.skills, [renamed, 'Go']);
  // the same key: the display name only
  r = await curate(mod, { action: 'rename', kind: 'skill', target: renamed, name: renamed.toUpperCase(), reason: 'Caps.' });
  assert.equal(r.status, 201, r.text);
  const listed = await api('GET', `/api/v1/skills?prefix=${renamed.toLowerCase()}`);
  assert.deepEqual(listed.body.items, [{ key: renamed.toLowerCase(), name: renamed.toUpperCase() }]);
  // a key the catalogue has: merge instead
  r = await curate(mod, { action: 'rename', kind: 'skill', target: renamed, name: 'go', reason: 'Taken.' });
  assert.equal(r.status, 409, r.text);

  // retire: gone from suggestions, references stay
  r = await curate(mod, { action: 'retire', kind: 'skill', target: renamed, reason: 'Obsolete.' });
  assert.equal(r.status, 201, r.text);
  assert.deepEqual((await api('GET', `/api/v1/skills?prefix=${renamed.toLowerCase()}`)).body.items, []);
  assert.deepEqual((await api('GET', `/api/v1/agents/${ha}`)).body.skills, [renamed, 'Go']);
  assert.equal((await curate(mod, { action: 'retire', kind: 'skill', target: renamed, reason: 'Twice.' })).status, 409);
  assert.equal((await curate(mod, { action: 'retire', kind: 'skill', target: `none${w}`, reason: 'Nothing.' })).status, 404);
});
