// Agreements across instances (docs/federation.md, "Agreements across
// instances"): an agent on B proposes to an organisation on A on an
// engagement B received; A accepts, amends, B accepts the amendment, both
// conclude; then both records are compared field by field and both
// agreement chains link by link; a proposal changed by its proposer and
// declined, one withdrawn, compared too. Then what is refused: an actor that is not
// the party (403), an activity about an agreement not offered yet (409), the
// same activity twice (taken once), a message (409: it would not travel). Same environment as
// two-instances.test.mjs (instances.mjs; FED_PG_PORT, FED_PORT and FED_PORT + 1).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { cluster, freePort, psql, req, until, newUser, signed } from './instances.mjs';

let C, A, B, owner, agent, purpose, engagementId, remoteEngagement;
const AP = { Accept: 'application/activity+json' };
const ORG_INBOX = '/ap/organisations/tide-keepers/inbox';

before(async () => {
  C = cluster(Number(process.env.FED_PG_PORT ?? 18406));
  const pa = Number(process.env.FED_PORT ?? 0) || await freePort();
  const pb = process.env.FED_PORT ? pa + 1 : await freePort();
  [A, B] = await Promise.all([C.start('fag_a', pa), C.start('fag_b', pb)]);
  owner = await newUser(A, 'Olu Owner');
  agent = await newUser(B, 'Bea Agent');
  // the same purpose in both catalogues: the terms name it by its slug
  const name = `Tidal rivers ${randomUUID().slice(0, 6)}`;
  for (const [d, u] of [[A, owner], [B, agent]]) {
    const p = await req(d.base, 'POST', '/api/v1/purposes', { token: u.token, body: { name, description: 'Rivers.' } });
    assert.equal(p.status, 201, p.text);
    purpose = p.body.slug;
  }
  const o = await req(A.base, 'POST', '/api/v1/organisations', { token: owner.token, body: {
    name: 'Tide Keepers', slug: 'tide-keepers', purpose_statement: 'Keep tidal rivers alive.',
    purposes: [purpose], legal_form: 'nonprofit', governance: 'consent_based' } });
  assert.equal(o.status, 201, o.text);
  const g = await req(B.base, 'PUT', '/api/v1/me/agent', { token: agent.token, body: {
    handle: 'bea', headline: 'Sampler', personal_purpose: 'Rivers.', skills: ['sampling'],
    capacity_hours_per_week: 20, packagings: ['volunteer'], remote_ok: true, discoverable: true,
    show_track_record: true } });
  assert.equal(g.status, 200, g.text);
  const f = await req(B.base, 'POST', '/api/v1/me/remote-follows', { token: agent.token,
    body: { handle: `acct:tide-keepers@${A.host}` } });
  assert.equal(f.status, 201, f.text);
  await until('the Accept of the Follow', async () =>
    (await req(B.base, 'GET', '/api/v1/me/remote-follows', { token: agent.token })).body.items[0]?.state === 'accepted');
  const e = await req(A.base, 'POST', '/api/v1/organisations/tide-keepers/engagements', { token: owner.token, body: {
    title: 'Estuary sampler', description: 'Sample the estuary.', purposes: [purpose], packagings: ['volunteer'],
    hours_per_week: 4, skills: ['sampling'], remote_ok: false, rewards: { non_cash: ['learning'] } } });
  assert.equal(e.status, 201, e.text);
  engagementId = e.body.id;
  remoteEngagement = await until('the engagement on B', async () =>
    (await req(B.base, 'GET', '/api/v1/remote-engagements')).body.items.find((x) => x.url === `${A.base}/engagements/${engagementId}`));
});

after(async () => { await C?.stop(); });

const get = (d, u, id) => req(d.base, 'GET', `/api/v1/agreements/${id}`, { token: u.token });
const act = async (d, u, id, action, body) => {
  const r = await req(d.base, 'POST', `/api/v1/agreements/${id}/${action}`, { token: u.token, body });
  assert.equal(r.status, 200, `${action}: ${r.text}`);
  return r.body;
};
const settled = (d) => until(`${d.name}'s deliveries`, () =>
  psql(d, "SELECT count(*) FROM jobs WHERE kind = 'deliver' AND state <> 'done'") === '0');

let onB, onA; // the agreement's id on each instance
test('an agent on B proposes on a remote engagement: B keeps it, A receives the Offer', async () => {
  const r = await req(B.base, 'POST', '/api/v1/agreements', { token: agent.token, body: {
    agent: 'bea', remote_engagement: remoteEngagement.id, role: 'Estuary sampler', purposes: [purpose],
    packaging: 'volunteer', hours_per_week: 4, terms: 'Weekly samples at low tide.',
    rewards: { non_cash: ['learning'] }, starts_on: '2027-01-04' } });
  assert.equal(r.status, 201, r.text);
  onB = r.body.id;
  assert.equal(r.body.status, 'proposed');
  assert.equal(r.body.federated_uri, `${B.base}/agreements/${onB}`);
  assert.deepEqual(r.body.organisation, { slug: null, name: 'Tide Keepers', remote: true,
    handle: `tide-keepers@${A.host}`, url: `${A.base}/organisations/tide-keepers`, actor: `${A.base}/organisations/tide-keepers` });
  assert.equal(r.body.engagement.remote, true);
  assert.equal(r.body.engagement.url, `${A.base}/engagements/${engagementId}`);
  const l = await until('the agreement on A', async () =>
    (await req(A.base, 'GET', '/api/v1/organisations/tide-keepers/agreements', { token: owner.token })).body.items[0]);
  onA = l.id;
  assert.equal(l.federated_uri, `${B.base}/agreements/${onB}`);
  assert.equal(l.agent.remote, true);
  assert.equal(l.agent.handle, `bea@${B.host}`);
  assert.equal(l.agent.url, `${B.base}/agents/bea`);
  assert.equal(l.engagement.id, engagementId);
  const a = await get(A, owner, onA);
  assert.equal(a.status, 200, a.text);
  assert.ok(a.body.allowed_actions.includes('accept'), a.body.allowed_actions);
  assert.equal(a.body.terms.author.actor, `${B.base}/agents/bea`);
  // A's people are told, as of a local proposal
  const n = await req(A.base, 'GET', '/api/v1/me/notifications', { token: owner.token });
  assert.ok(n.body.items.some((x) => x.kind === 'agreement_proposed' && x.agreement_id === onA), n.text);
});

test('A accepts, amends; B accepts the amendment; both conclude: every act travels', async () => {
  await act(A, owner, onA, 'accept');
  await until('the Accept on B', async () => (await get(B, agent, onB)).body.status === 'active');
  const cur = await get(A, owner, onA);
  const p = await req(A.base, 'PATCH', `/api/v1/agreements/${onA}`, { token: owner.token,
    headers: { 'If-Match': cur.headers.get('etag') }, body: { hours_per_week: 6, change_note: 'Spring tides need more.' } });
  assert.equal(p.status, 200, p.text);
  const amended = await until('the amendment on B', async () => {
    const b = await get(B, agent, onB);
    return b.body.terms_version === 2 && b.body.status === 'proposed' && b.body;
  });
  assert.equal(amended.pending_terms.hours_per_week, 6);
  assert.equal(amended.awaiting, 'agent');
  assert.ok(amended.allowed_actions.includes('accept'), amended.allowed_actions);
  await act(B, agent, onB, 'accept');
  await until('the amendment accepted on A', async () => (await get(A, owner, onA)).body.active_version === 2);
  await act(A, owner, onA, 'conclude', { commitments_kept: true, note: 'Thank you, Bea.' });
  await until('the conclusion on B', async () => (await get(B, agent, onB)).body.status === 'concluded');
  await act(B, agent, onB, 'conclude', { commitments_kept: true, note: 'A good season.' });
  await until('both closures on A', async () => (await get(A, owner, onA)).body.closures.length === 2);
  await Promise.all([settled(A), settled(B)]);
  // FED_ACTIVITIES_OUT=file: the agreement activities both sides sent, in
  // the order they were queued (docs/federation.md's examples come from one)
  if (process.env.FED_ACTIVITIES_OUT) {
    const sent = (d) => psql(d, `SELECT json_agg(payload->'activity' ORDER BY id)::text FROM jobs
      WHERE kind = 'deliver' AND payload->'activity'->'object'->>'type' = 'Agreement'`);
    writeFileSync(process.env.FED_ACTIVITIES_OUT, JSON.stringify({ A: JSON.parse(sent(A)), B: JSON.parse(sent(B)) }, null, 1));
  }
});

test('both records agree: versions, terms, decisions, closures, and the chain byte for byte', async () => {
  const [a, b] = await Promise.all([get(A, owner, onA), get(B, agent, onB)]);
  for (const k of ['status', 'proposed_by', 'terms_version', 'active_version', 'standing', 'federated_uri', 'closures'])
    assert.deepEqual(a.body[k], b.body[k], k);
  assert.equal(a.body.status, 'concluded');
  assert.equal(a.body.closures.length, 2);
  const versions = async (d, u, id) => (await req(d.base, 'GET', `/api/v1/agreements/${id}/versions`, { token: u.token })).body.items;
  const [va, vb] = await Promise.all([versions(A, owner, onA), versions(B, agent, onB)]);
  assert.equal(va.length, 2);
  assert.equal(vb.length, 2);
  for (let i = 0; i < va.length; i++) {
    for (const k of ['version', 'role', 'purposes', 'packaging', 'hours_per_week', 'terms', 'rewards', 'starts_on',
      'review_on', 'change_note', 'proposed_by', 'created_at', 'outcome', 'decided_by', 'decided_at', 'author_actor'])
      assert.deepEqual(va[i][k], vb[i][k], `version ${va[i].version}: ${k}`);
  }
  assert.deepEqual(va.map((v) => v.author_actor).sort(), [`${A.base}/organisations/tide-keepers`, `${B.base}/agents/bea`].sort());
  const proof = async (d, u, id) => (await req(d.base, 'GET', `/api/v1/agreements/${id}/proof`, { token: u.token })).body;
  const [pa, pb] = await Promise.all([proof(A, owner, onA), proof(B, agent, onB)]);
  assert.equal(pa.verified, true, JSON.stringify(pa.first_broken));
  assert.equal(pb.verified, true, JSON.stringify(pb.first_broken));
  assert.equal(pa.subject_uri, `${B.base}/agreements/${onB}`);
  assert.equal(pb.subject_uri, pa.subject_uri);
  assert.deepEqual(pa.head, pb.head);
  // terms v1, accepted, terms v2, accepted, two closures
  assert.deepEqual(pa.links.map((l) => l.kind), ['terms_version', 'version_outcome', 'terms_version',
    'version_outcome', 'closure', 'closure']);
  assert.equal(pa.links.length, pb.links.length);
  for (let i = 0; i < pa.links.length; i++)
    for (const k of ['seq', 'kind', 'entry', 'content', 'content_hash', 'previous_hash', 'hash'])
      assert.deepEqual(pa.links[i][k], pb.links[i][k], `link ${i + 1}: ${k}`);
  assert.equal(pa.links[0].content.agreement, pa.subject_uri);
  assert.equal(pa.links[0].content.author, `${B.base}/agents/bea`);
  // no credential for an agreement between two instances: a 409 that says
  // why, not "no such agreement"
  const cred = await req(B.base, 'POST', `/api/v1/agreements/${onB}/credential`, { token: agent.token });
  assert.equal(cred.status, 409, cred.text);
  assert.match(cred.body.type, /problems\/remote$/);
  assert.match(cred.body.detail, /between two instances/);
});

test('a proposal changed by its proposer then declined, and one withdrawn: both sides agree each time', async () => {
  const proof = async (d, u, id) => (await req(d.base, 'GET', `/api/v1/agreements/${id}/proof`, { token: u.token })).body;
  const propose = async (terms) => {
    const r = await req(B.base, 'POST', '/api/v1/agreements', { token: agent.token, body: {
      agent: 'bea', remote_engagement: remoteEngagement.id, role: 'Estuary sampler', purposes: [purpose],
      packaging: 'volunteer', hours_per_week: 3, terms, rewards: {}, starts_on: '2027-03-01' } });
    assert.equal(r.status, 201, r.text);
    const a = await until('the Offer on A', async () =>
      (await req(A.base, 'GET', '/api/v1/organisations/tide-keepers/agreements', { token: owner.token }))
        .body.items.find((x) => x.federated_uri === r.body.federated_uri));
    return [r.body.id, a.id];
  };
  // B changes its own proposal before A answers (an Update superseding v1), A declines
  const [b2, a2] = await propose('Monthly samples.');
  const cur = await get(B, agent, b2);
  const p = await req(B.base, 'PATCH', `/api/v1/agreements/${b2}`, { token: agent.token,
    headers: { 'If-Match': cur.headers.get('etag') }, body: { hours_per_week: 2, change_note: 'Less, to start.' } });
  assert.equal(p.status, 200, p.text);
  await until('the change on A', async () => (await get(A, owner, a2)).body.terms_version === 2);
  await act(A, owner, a2, 'decline');
  await until('the Reject on B', async () => (await get(B, agent, b2)).body.status === 'declined');
  // a third, withdrawn by B
  const [b3, a3] = await propose('Daily samples.');
  await act(B, agent, b3, 'withdraw');
  await until('the Undo on A', async () => (await get(A, owner, a3)).body.status === 'withdrawn');
  await Promise.all([settled(A), settled(B)]);
  // v2 and v1's superseded outcome were written together: linked in the chain's order (terms first)
  for (const [a, b, kinds] of [[a2, b2, ['terms_version', 'terms_version', 'version_outcome', 'version_outcome']],
    [a3, b3, ['terms_version', 'version_outcome']]]) {
    const [pa, pb] = await Promise.all([proof(A, owner, a), proof(B, agent, b)]);
    assert.equal(pa.verified && pb.verified, true);
    assert.deepEqual(pa.links.map((l) => l.kind), kinds);
    assert.deepEqual(pa.links.map((l) => [l.content, l.hash]), pb.links.map((l) => [l.content, l.hash]));
    assert.deepEqual(pa.head, pb.head);
  }
  const outcomes = async (d, u, id) => (await req(d.base, 'GET', `/api/v1/agreements/${id}/versions`, { token: u.token }))
    .body.items.map((v) => [v.version, v.outcome, v.decided_by, v.proposed_by]);
  assert.deepEqual(await outcomes(A, owner, a2), await outcomes(B, agent, b2));
  assert.deepEqual(await outcomes(A, owner, a3), await outcomes(B, agent, b3));
});

// A signed POST to A's organisation inbox by an actor of B, with its key
// (B keeps its actors' keys in ap_keys).
async function postAsB(kind, handle, activity) {
  const id = psql(B, `SELECT id FROM agents WHERE handle = '${handle}'`);
  await req(B.base, 'GET', `/agents/${handle}`, { headers: AP }); // its key is made on first use
  const privateKey = psql(B, `SELECT private_pem FROM ap_keys WHERE actor_kind = '${kind}' AND actor_id = ${id}`);
  const body = JSON.stringify(activity);
  return req(A.base, 'POST', ORG_INBOX, { raw: body,
    headers: signed(A.host, ORG_INBOX, body, { keyId: `${B.base}/agents/${handle}#main-key`, privateKey }) });
}

test('refused: an actor that is not the party (403), an agreement not offered yet (409); a replay is taken once', async () => {
  const sent = JSON.parse(psql(B, `SELECT payload->>'activity' FROM jobs WHERE kind = 'deliver'
    AND payload->'activity'->>'type' = 'Accept' ORDER BY id DESC LIMIT 1`));
  assert.equal(sent.actor, `${B.base}/agents/bea`);
  // another person of B, signing as itself, accepts for Bea
  const cara = await newUser(B, 'Cara');
  const g = await req(B.base, 'PUT', '/api/v1/me/agent', { token: cara.token, body: {
    handle: 'cara', headline: 'Other', personal_purpose: 'Other.', skills: [], capacity_hours_per_week: 5,
    packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: false } });
  assert.equal(g.status, 200, g.text);
  const rows = () => psql(A, `SELECT (SELECT count(*) FROM agreement_version_outcomes) || '/' ||
    (SELECT count(*) FROM history_links) || '/' || (SELECT count(*) FROM agreements)`);
  const before = rows();
  const foreign = await postAsB('agent', 'cara', { ...sent, id: `${sent.id}-cara`, actor: `${B.base}/agents/cara` });
  assert.equal(foreign.status, 403, foreign.text);
  // Bea's own activity claiming to be Cara's: the signer is not the actor
  const mismatch = await postAsB('agent', 'cara', sent);
  assert.equal(mismatch.status, 403, mismatch.text);
  // an act on an agreement whose Offer has not arrived: 409, the sender retries
  const early = await postAsB('agent', 'bea', { ...sent, id: `${sent.id}-early`,
    object: { ...sent.object, id: `${B.base}/agreements/999999` } });
  assert.equal(early.status, 409, early.text);
  // the same activity again (a retried delivery, a replay): 202, nothing written
  const replay = await postAsB('agent', 'bea', sent);
  assert.equal(replay.status, 202, replay.text);
  assert.equal(rows(), before);
  // messages and hours do not travel: written on one side, the chains would part
  const m = await req(A.base, 'POST', `/api/v1/agreements/${onA}/messages`, { token: owner.token, body: { body: 'Hello?' } });
  assert.equal(m.status, 409, m.text);
  assert.equal(rows(), before);
  const a = await get(A, owner, onA);
  assert.equal(a.body.status, 'concluded');
});
