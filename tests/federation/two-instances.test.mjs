// Two Purposed instances federating (docs/federation.md): each its own
// database on one cluster of this suite's own, its own daemon with its own
// PUBLIC_URL, FETCH_ALLOW_PRIVATE=1 (both listen on 127.0.0.1). Checks:
// WebFinger, actors by content negotiation, NodeInfo, a person on B follows
// an organisation on A (Follow, Accept), the organisation and its charter
// with every version kept on B (and a new version travelling), an engagement
// posted on A appears on B marked remote and linking home — in B's
// engagement list, its full-text search and the follower's matches with the
// reasons a local engagement has —, its update, pause and close travel, B
// refuses to change it, Undo, and requests with a missing or bad signature
// refused with 401.
// The cluster and daemons are instances.mjs's. Needs PURPOSED_BIN,
// STATIC_DIR, MIGRATIONS_DIR (scripts/test sets them);
// FED_PG_PORT names the cluster's socket, FED_PORT the two daemons' ports
// (FED_PORT and FED_PORT + 10; free ports when unset).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID, generateKeyPairSync } from 'node:crypto';
import { cluster, freePort, psql, req, until, newUser, signed } from './instances.mjs';

let C, A, B, owner, org, follower, localOwner, localOrg;
const AP = { Accept: 'application/activity+json' };

before(async () => {
  C = cluster(Number(process.env.FED_PG_PORT ?? 18406));
  const pa = Number(process.env.FED_PORT ?? 0) || await freePort();
  const pb = process.env.FED_PORT ? pa + 10 : await freePort();
  [A, B] = await Promise.all([C.start('fed_a', pa), C.start('fed_b', pb)]);
  owner = await newUser(A);
  const purpose = await req(A.base, 'POST', '/api/v1/purposes', { token: owner.token,
    body: { name: `Clean water ${randomUUID().slice(0, 6)}`, description: 'Water for all.' } });
  assert.equal(purpose.status, 201, purpose.text);
  const o = await req(A.base, 'POST', '/api/v1/organisations', { token: owner.token, body: {
    name: 'River Keepers', slug: 'river-keepers', purpose_statement: 'Keep the river clean.',
    association_norms: 'Decide by consent.', purposes: [purpose.body.slug], legal_form: 'nonprofit',
    governance: 'consent_based', location: 'Lyon' } });
  assert.equal(o.status, 201, o.text);
  // a second charter version before anyone follows: B must fetch the history, not only the last
  const v2 = await req(A.base, 'PATCH', '/api/v1/organisations/river-keepers', { token: owner.token,
    headers: { 'If-Match': o.headers.get('etag') },
    body: { purpose_statement: 'Keep the river clean and alive.', change_note: 'Wider aim' } });
  assert.equal(v2.status, 200, v2.text);
  org = { ...v2.body, purpose: purpose.body.slug, purposeName: purpose.body.name };
  follower = await newUser(B);
  // the same cause in B's catalogue (the same name makes the same slug), which
  // the follower supports with their skills: what matching reads
  const same = await req(B.base, 'POST', '/api/v1/purposes', { token: follower.token,
    body: { name: purpose.body.name, description: 'Water for all.' } });
  assert.equal(same.status, 201, same.text);
  assert.equal(same.body.slug, org.purpose);
  const agent = await req(B.base, 'PUT', '/api/v1/me/agent', { token: follower.token, body: {
    handle: 'bea-sampler', headline: 'Field sampler', personal_purpose: 'Clean rivers.', skills: ['sampling'],
    capacity_hours_per_week: 10, packagings: ['volunteer'], location: 'Lyon', remote_ok: false,
    discoverable: true, show_track_record: true } });
  assert.equal(agent.status, 200, agent.text);
  const energy = await req(B.base, 'PUT', '/api/v1/me/agent/purposes', { token: follower.token,
    body: [{ purpose: org.purpose, energy: 60 }] });
  assert.equal(energy.status, 200, energy.text);
  // a local organisation on B the follower follows too, for a local engagement to compare with
  localOwner = await newUser(B);
  const lo = await req(B.base, 'POST', '/api/v1/organisations', { token: localOwner.token, body: {
    name: 'Brook Wardens', slug: 'brook-wardens', purpose_statement: 'Keep the brook clean.',
    purposes: [org.purpose], legal_form: 'nonprofit', governance: 'consent_based' } });
  assert.equal(lo.status, 201, lo.text);
  localOrg = lo.body;
  assert.equal((await req(B.base, 'PUT', '/api/v1/organisations/brook-wardens/follow', { token: follower.token })).status, 204);
});

after(async () => { await C?.stop(); });

test('WebFinger finds an organisation by acct:slug@host, as JRD', async () => {
  const r = await req(A.base, 'GET', `/.well-known/webfinger?resource=acct:river-keepers@${A.host}`);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/jrd\+json/);
  assert.equal(r.body.subject, `acct:river-keepers@${A.host}`);
  const self = r.body.links.find((l) => l.rel === 'self');
  assert.equal(self.type, 'application/activity+json');
  assert.equal(self.href, `${A.base}/organisations/river-keepers`);
  assert.equal((await req(A.base, 'GET', `/.well-known/webfinger?resource=acct:nobody-here@${A.host}`)).status, 404);
  assert.equal((await req(A.base, 'GET', '/.well-known/webfinger?resource=acct:river-keepers@elsewhere.example')).status, 404);
});

test('the page URL answers the actor to ActivityPub clients and HTML to browsers', async () => {
  const path = '/organisations/river-keepers';
  const ap = await req(A.base, 'GET', path, { headers: AP });
  assert.equal(ap.status, 200, ap.text);
  assert.match(ap.headers.get('content-type'), /^application\/activity\+json/);
  assert.equal(ap.body.type, 'Group');
  assert.equal(ap.body.id, A.base + path);
  assert.equal(ap.body.preferredUsername, 'river-keepers');
  assert.equal(ap.body.inbox, `${A.base}/ap/organisations/river-keepers/inbox`);
  assert.equal(ap.body.endpoints.sharedInbox, `${A.base}/inbox`);
  assert.equal(ap.body.publicKey.id, `${A.base + path}#main-key`);
  assert.match(ap.body.publicKey.publicKeyPem, /^-----BEGIN PUBLIC KEY-----/);
  const ld = await req(A.base, 'GET', path,
    { headers: { Accept: 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"' } });
  assert.equal(ld.body.id, ap.body.id);
  assert.equal(ld.body.publicKey.publicKeyPem, ap.body.publicKey.publicKeyPem, 'the key is made once and kept');
  const html = await req(A.base, 'GET', path, { headers: { Accept: 'text/html' } });
  assert.equal(html.status, 200);
  assert.match(html.headers.get('content-type'), /^text\/html/);
  assert.match(html.text, /River Keepers/);
  const app = await req(A.base, 'GET', '/actor', { headers: AP });
  assert.equal(app.body.type, 'Application');
  assert.equal((await req(A.base, 'GET', '/organisations/no-such-org', { headers: AP })).status, 404);
  // a discoverable agent is a Person
  const agent = await req(A.base, 'PUT', '/api/v1/me/agent', { token: owner.token, body: {
    handle: 'ada-keeper', headline: 'Hydrologist', personal_purpose: 'Rivers.', skills: ['hydrology'],
    capacity_hours_per_week: 10, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true } });
  assert.equal(agent.status, 200, agent.text);
  const person = await req(A.base, 'GET', '/agents/ada-keeper', { headers: AP });
  assert.equal(person.body.type, 'Person');
  assert.equal(person.body.preferredUsername, 'ada-keeper');
});

test('NodeInfo 2.1 is linked from /.well-known/nodeinfo', async () => {
  const links = await req(A.base, 'GET', '/.well-known/nodeinfo');
  assert.equal(links.status, 200);
  const link = links.body.links.find((l) => l.rel === 'http://nodeinfo.diaspora.software/ns/schema/2.1');
  assert.equal(link.href, `${A.base}/nodeinfo/2.1`);
  const doc = await req(A.base, 'GET', '/nodeinfo/2.1');
  assert.equal(doc.body.version, '2.1');
  assert.equal(doc.body.software.name, 'purposed');
  assert.deepEqual(doc.body.protocols, ['activitypub']);
  assert.ok(doc.body.usage.users.total >= 1);
});

let followId;
test('a person on B follows the organisation on A: Follow, then Accept', async () => {
  const r = await req(B.base, 'POST', '/api/v1/me/remote-follows', { token: follower.token,
    body: { handle: `acct:river-keepers@${A.host}` } });
  assert.equal(r.status, 201, r.text);
  assert.equal(r.body.actor, `${A.base}/organisations/river-keepers`);
  followId = r.body.id;
  await until('the Accept', async () => {
    const l = await req(B.base, 'GET', '/api/v1/me/remote-follows', { token: follower.token });
    return l.body.items.find((f) => f.id === followId && f.state === 'accepted');
  });
  assert.equal(psql(A, `SELECT a.uri FROM remote_followers f JOIN remote_actors a ON a.id = f.actor_id`),
    `${B.base}/actor`);
  const followers = await req(A.base, 'GET', '/ap/organisations/river-keepers/followers', { headers: AP });
  assert.equal(followers.body.totalItems, 1);
});

// B's row of A's organisation, found in B's organisation list by its actor
const remoteOrgOnB = async () => {
  const l = await req(B.base, 'GET', '/api/v1/organisations?limit=100');
  assert.equal(l.status, 200, l.text);
  return l.body.items.find((o) => o.remote?.actor === `${A.base}/organisations/river-keepers`);
};

test('the organisation and its charter, every version, are kept on B; a new version travels', async () => {
  const mine = await req(A.base, 'GET', '/api/v1/organisations/river-keepers/charter');
  assert.equal(mine.body.items.length, 2);
  const kept = await until('the organisation on B', async () => {
    const o = await remoteOrgOnB();
    return o?.charter_version === 2 ? o : null;
  });
  assert.equal(kept.name, 'River Keepers');
  assert.deepEqual(kept.remote, { instance: A.host, actor: `${A.base}/organisations/river-keepers`,
    url: `${A.base}/organisations/river-keepers` });
  assert.equal(kept.purpose_statement, 'Keep the river clean and alive.');
  assert.equal(kept.association_norms, 'Decide by consent.');
  assert.equal(kept.legal_form, 'nonprofit');
  assert.equal(kept.governance, 'consent_based');
  assert.equal(kept.location, 'Lyon');
  assert.deepEqual(kept.purposes.map((p) => p.slug), [org.purpose]);
  // its page on B, and its charter there: the same versions as at home
  const page = await req(B.base, 'GET', `/organisations/${kept.slug}`, { headers: { Accept: 'text/html' } });
  assert.equal(page.status, 200);
  assert.match(page.text, /River Keepers/);
  const same = (c) => c.body.items.map((v) => [v.version, v.purpose_statement, v.association_norms, v.change_note, v.changed_at]);
  const theirs = await req(B.base, 'GET', `/api/v1/organisations/${kept.slug}/charter`);
  assert.equal(theirs.status, 200, theirs.text);
  assert.deepEqual(same(theirs), same(mine));
  // B is no home for it: not its actor, not editable there
  assert.equal((await req(B.base, 'GET', `/organisations/${kept.slug}`, { headers: AP })).status, 404);
  const edit = await req(B.base, 'PATCH', `/api/v1/organisations/${kept.slug}`, { token: follower.token,
    headers: { 'If-Match': `"${kept.version}"` }, body: { name: 'Taken over' } });
  assert.equal(edit.status, 409, edit.text);
  assert.equal(edit.body.type, 'https://purposed.dev/problems/remote');
  assert.match(edit.body.detail, new RegExp(`${A.base}/organisations/river-keepers`));

  // a third version on A: an Update of its Group reaches B, which fetches the charter again
  const cur = await req(A.base, 'GET', '/api/v1/organisations/river-keepers');
  const v3 = await req(A.base, 'PATCH', '/api/v1/organisations/river-keepers', { token: owner.token,
    headers: { 'If-Match': cur.headers.get('etag') },
    body: { association_norms: 'Decide by consent; rotate roles.', change_note: 'Roles rotate' } });
  assert.equal(v3.status, 200, v3.text);
  await until('the third version on B', async () =>
    (await req(B.base, 'GET', `/api/v1/organisations/${kept.slug}/charter`)).body.items.length === 3);
  assert.deepEqual(same(await req(B.base, 'GET', `/api/v1/organisations/${kept.slug}/charter`)),
    same(await req(A.base, 'GET', '/api/v1/organisations/river-keepers/charter')));
  assert.equal((await remoteOrgOnB()).association_norms, 'Decide by consent; rotate roles.');
});

test('a person followed on A is no organisation on B', async () => {
  const r = await req(B.base, 'POST', '/api/v1/me/remote-follows', { token: follower.token,
    body: { handle: `acct:ada-keeper@${A.host}` } });
  assert.equal(r.status, 201, r.text);
  const actor = psql(B, `SELECT id FROM remote_actors WHERE uri = '${A.base}/agents/ada-keeper'`);
  await until('its fetch done', async () => psql(B, `SELECT count(*) FROM jobs
    WHERE kind = 'remote_organisation' AND payload->>'actor_id' = '${actor}' AND state IN ('done', 'failed')`) !== '0');
  assert.equal(psql(B, `SELECT count(*) FROM organisations WHERE remote_actor_id = ${actor}`), '0');
  assert.equal((await req(B.base, 'DELETE', `/api/v1/me/remote-follows/${r.body.id}`, { token: follower.token })).status, 204);
});

const remoteOf = async (id, status = 'open') => {
  const l = await req(B.base, 'GET', `/api/v1/remote-engagements?status=${status}`);
  assert.equal(l.status, 200, l.text);
  return l.body.items.find((e) => e.url === `${A.base}/engagements/${id}`);
};

test('an engagement posted on A appears on B, marked remote and linking home; update, pause and close travel', async () => {
  const posted = await req(A.base, 'POST', '/api/v1/organisations/river-keepers/engagements', { token: owner.token, body: {
    title: 'River sampler', description: 'Take water samples weekly.\n\nTraining given.', purposes: [org.purpose],
    packagings: ['volunteer'], hours_per_week: 4, duration_weeks: 12, skills: ['sampling'], location: 'Lyon',
    remote_ok: false, rewards: { non_cash: ['learning'] } } });
  assert.equal(posted.status, 201, posted.text);
  const id = posted.body.id;
  const seen = await until('the Create on B', () => remoteOf(id));
  assert.equal(seen.remote, true);
  assert.equal(seen.title, 'River sampler');
  assert.equal(seen.description, 'Take water samples weekly.\n\nTraining given.');
  assert.equal(seen.hours_per_week, 4);
  assert.equal(seen.organisation.actor, `${A.base}/organisations/river-keepers`);

  // in B's own engagement list, marked remote and linking home, with its terms
  const home = { instance: A.host, url: `${A.base}/engagements/${id}` };
  const listed = async (query = '') => {
    const l = await req(B.base, 'GET', `/api/v1/engagements?limit=100${query}`);
    assert.equal(l.status, 200, l.text);
    return l.body.items.find((e) => e.remote?.url === home.url);
  };
  const mine = await listed();
  assert.ok(mine, 'in GET /api/v1/engagements on B');
  assert.deepEqual(mine.remote, home);
  assert.equal(mine.id, seen.id);
  assert.equal(mine.organisation.name, 'River Keepers');
  assert.deepEqual(mine.purposes.map((p) => p.slug), [org.purpose]);
  assert.deepEqual(mine.skills, ['sampling']);
  assert.deepEqual(mine.packagings, ['volunteer']);
  assert.equal(mine.location, 'Lyon');
  assert.equal(mine.duration_weeks, 12);
  assert.deepEqual(mine.rewards, { cash: null, non_cash: ['learning'] });
  assert.equal((await req(B.base, 'GET', `/api/v1/engagements/${mine.id}`)).body.remote.url, home.url);
  // B's full-text search finds it by title, description, organisation, skill and place
  for (const q of ['sampler', 'training', 'keepers', 'sampling', 'lyon'])
    assert.ok(await listed(`&q=${q}`), `?q=${q} finds it`);
  assert.equal(await listed('&q=glacier'), undefined);

  // the follower's matches: there, with the reasons the same local engagement has
  const local = await req(B.base, 'POST', '/api/v1/organisations/brook-wardens/engagements', { token: localOwner.token, body: {
    title: 'Brook sampler', description: 'Take water samples weekly.', purposes: [org.purpose],
    packagings: ['volunteer'], hours_per_week: 4, duration_weeks: 12, skills: ['sampling'], location: 'Lyon',
    remote_ok: false, rewards: { non_cash: ['learning'] } } });
  assert.equal(local.status, 201, local.text);
  const matchOf = async (engagementId) => {
    const m = await req(B.base, 'GET', '/api/v1/me/matches?limit=100', { token: follower.token });
    assert.equal(m.status, 200, m.text);
    return m.body.items.find((x) => x.engagement.id === engagementId);
  };
  const reasons = (m) => m.reasons.map((r) => [r.kind, r.points]);
  const remoteMatch = await until('the remote engagement in matches, followed', async () => {
    const m = await matchOf(mine.id);
    return m?.reasons.some((r) => r.kind === 'follows' && r.points > 0) ? m : null;
  });
  const localMatch = await until('the local engagement in matches', () => matchOf(local.body.id));
  assert.deepEqual(remoteMatch.engagement.remote, home);
  assert.deepEqual(reasons(remoteMatch), reasons(localMatch));
  assert.deepEqual(remoteMatch.reasons.map((r) => r.kind).sort(),
    ['capacity', 'follows', 'location', 'packaging', 'purpose', 'skills']);
  assert.equal(remoteMatch.score, localMatch.score);

  // what B cannot do to it: it is changed, and asked about, at home
  const onB = await req(B.base, 'GET', `/api/v1/engagements/${mine.id}`);
  const edit = await req(B.base, 'PATCH', `/api/v1/engagements/${mine.id}`, { token: follower.token,
    headers: { 'If-Match': onB.headers.get('etag') }, body: { title: 'Mine now' } });
  assert.equal(edit.status, 409, edit.text);
  assert.equal(edit.body.type, 'https://purposed.dev/problems/remote');
  assert.match(edit.body.detail, new RegExp(home.url));
  const ask = await req(B.base, 'POST', `/api/v1/engagements/${mine.id}/questions/bea-sampler`, {
    token: follower.token, body: { body: 'Is training on weekdays?' } });
  assert.equal(ask.status, 409, ask.text);
  assert.equal(ask.body.type, 'https://purposed.dev/problems/remote');

  const etag = (r) => r.headers.get('etag');
  let cur = await req(A.base, 'GET', `/api/v1/engagements/${id}`);
  let u = await req(A.base, 'PATCH', `/api/v1/engagements/${id}`, { token: owner.token,
    headers: { 'If-Match': etag(cur) }, body: { title: 'River sampler (weekends)' } });
  assert.equal(u.status, 200, u.text);
  await until('the Update on B', async () => (await remoteOf(id))?.title === 'River sampler (weekends)');
  assert.equal((await listed()).title, 'River sampler (weekends)');
  assert.ok(await listed('&q=weekends'), 'the new title is searched');
  assert.equal((await until('the match updated', async () => {
    const m = await matchOf(mine.id);
    return m?.engagement.title === 'River sampler (weekends)' ? m : null;
  })).engagement.version, 2);

  cur = await req(A.base, 'GET', `/api/v1/engagements/${id}`);
  u = await req(A.base, 'PATCH', `/api/v1/engagements/${id}`, { token: owner.token,
    headers: { 'If-Match': etag(cur) }, body: { status: 'paused' } });
  assert.equal(u.status, 200, u.text);
  await until('the pause on B', () => remoteOf(id, 'paused'));
  assert.equal(await remoteOf(id), undefined, 'a paused engagement leaves the open list');

  cur = await req(A.base, 'GET', `/api/v1/engagements/${id}`);
  u = await req(A.base, 'PATCH', `/api/v1/engagements/${id}`, { token: owner.token,
    headers: { 'If-Match': etag(cur) }, body: { status: 'closed' } });
  assert.equal(u.status, 200, u.text);
  await until('the Delete on B', () => remoteOf(id, 'closed'));
  // gone from every list: B's engagements, its search, the follower's matches
  assert.equal(await listed(), undefined);
  assert.equal(await listed('&q=sampler'), undefined);
  await until('the match gone', async () => (await matchOf(mine.id)) === undefined);
  assert.ok(await matchOf(local.body.id), 'the local one stays');
  // every delivery went out signed and was taken
  assert.equal(psql(A, "SELECT count(*) FROM jobs WHERE kind = 'deliver' AND state <> 'done'"), '0');
});

test('a missing or bad signature is refused with 401, and nothing is stored', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const path = '/ap/organisations/river-keepers/inbox';
  const body = JSON.stringify({ '@context': 'https://www.w3.org/ns/activitystreams', id: `${B.base}/actor#evil`,
    type: 'Follow', actor: `${B.base}/actor`, object: `${A.base}/organisations/river-keepers` });
  const before = psql(A, 'SELECT count(*) FROM remote_followers');
  const none = await req(A.base, 'POST', path, { raw: body, headers: { 'Content-Type': 'application/activity+json' } });
  assert.equal(none.status, 401, none.text);
  assert.equal(none.body.type, 'https://purposed.dev/problems/bad-signature');
  // B's key id, signed with another key
  const forged = await req(A.base, 'POST', path, { raw: body,
    headers: signed(A.host, path, body, { keyId: `${B.base}/actor#main-key`, privateKey }) });
  assert.equal(forged.status, 401, forged.text);
  // the Digest of another body
  const tampered = await req(A.base, 'POST', path, { raw: body,
    headers: signed(A.host, path, body, { keyId: `${B.base}/actor#main-key`, privateKey, digestOf: '{}' }) });
  assert.equal(tampered.status, 401, tampered.text);
  assert.match(tampered.body.detail, /Digest/);
  // a stale Date
  const stale = await req(A.base, 'POST', path, { raw: body, headers: signed(A.host, path, body,
    { keyId: `${B.base}/actor#main-key`, privateKey, date: new Date(Date.now() - 3600e3).toUTCString() }) });
  assert.equal(stale.status, 401, stale.text);
  // a key nobody serves
  const unknown = await req(A.base, 'POST', path, { raw: body,
    headers: signed(A.host, path, body, { keyId: `${B.base}/actor-gone#main-key`, privateKey }) });
  assert.equal(unknown.status, 401, unknown.text);
  assert.equal(psql(A, 'SELECT count(*) FROM remote_followers'), before);
});

test('unfollowing on B sends Undo: A forgets the follower', async () => {
  const r = await req(B.base, 'DELETE', `/api/v1/me/remote-follows/${followId}`, { token: follower.token });
  assert.equal(r.status, 204, r.text);
  await until('the Undo on A', () => psql(A, 'SELECT count(*) FROM remote_followers') === '0');
  const l = await req(B.base, 'GET', '/api/v1/me/remote-follows', { token: follower.token });
  assert.deepEqual(l.body.items, []);
});
