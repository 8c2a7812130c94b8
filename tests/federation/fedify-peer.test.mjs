// A peer nobody here wrote: a small ActivityPub server built on Fedify
// (@fedify/fedify: createFederation, MemoryKvStore, setActorDispatcher,
// setInboxListeners) with a Person actor, federating with a Purposed
// instance (docs/federation.md, "The Fedify peer"). Fedify
// (a) finds a Purposed organisation by WebFinger (acct:) and reads its
//     Group actor, RSA publicKey and Ed25519 Multikey (assertionMethod);
// (b) sends a signed Follow, which Purposed verifies and answers with an
//     Accept that Fedify's inbox verifies before its listener sees it;
// (c) receives the signed Create of an engagement posted on Purposed,
//     verified by Fedify's inbox the same way;
// (d) finds an unsigned Follow and one signed with another key refused.
// Then what the peer's instance may cost: a block (403, no key fetched,
// nothing delivered) and the per-instance limits of inbox POSTs and of
// fetches, each at its exact boundary.
//
// Fedify looks acct: handles up over https only, so Purposed is reached the
// way production reaches it: behind a TLS proxy (here in this process, with
// a certificate made for 127.0.0.1 and trusted by this process's fetch
// alone), PUBLIC_URL=https://127.0.0.1:<port>. allowPrivateAddress is
// Fedify's option for reaching 127.0.0.1; signature verification stays on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
// undici comes with Fedify (@digitalbazaar/http-client's, in package-lock.json)
import { Agent, setGlobalDispatcher } from 'undici';
import { cluster, freePort, newUser, psql, req, sleep, until } from './instances.mjs';

// Fedify 1.6+ calls ArrayBuffer.prototype.transfer (ES2024), which Node 20
// lacks (as in httpsig-interop.test.mjs): the standard's copy, when missing.
if (!ArrayBuffer.prototype.transfer) {
  Object.defineProperty(ArrayBuffer.prototype, 'transfer', {
    configurable: true, writable: true,
    value(length = this.byteLength) {
      const copy = new ArrayBuffer(length);
      new Uint8Array(copy).set(new Uint8Array(this, 0, Math.min(length, this.byteLength)));
      structuredClone(this, { transfer: [this] });
      return copy;
    },
  });
}
const {
  Accept, Create, Follow, Like, Endpoints, Group, Person, MemoryKvStore, createFederation,
  generateCryptoKeyPair, signRequest,
} = await import('@fedify/fedify');

// A bucket of N a minute refills one each 60/N s: the N + 1st request of the
// limits test must come within that of the first (3: 20 s, 6: 10 s; its
// keys are made before the clock runs, so a loaded machine has room). The
// peer's own fetches in (b) and (d) stay under 3.
const LIMITS = { inbox: 6, fetch: 3 };
let C, P, tls, owner, admin, peer, flood;
const AP = { Accept: 'application/activity+json' };

// The TLS proxy in front of the daemon: Host and body passed as they came.
async function startTlsProxy(target) {
  const dir = C.root;
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
    '-days', '2', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', `${dir}/tls.key`, '-out', `${dir}/tls.crt`], { stdio: 'ignore' });
  const cert = readFileSync(`${dir}/tls.crt`);
  // this process's fetch (Fedify's) trusts this one certificate
  setGlobalDispatcher(new Agent({ connect: { ca: cert } }));
  const port = await freePort();
  const server = https.createServer({ key: readFileSync(`${dir}/tls.key`), cert }, (inReq, out) => {
    const fwd = http.request({ host: '127.0.0.1', port: target, method: inReq.method, path: inReq.url, headers: inReq.headers },
      (res) => { out.writeHead(res.statusCode, res.headers); res.pipe(out); });
    fwd.on('error', () => { out.writeHead(502); out.end(); });
    inReq.pipe(fwd);
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  return { port, base: `https://127.0.0.1:${port}`, close: () => new Promise((r) => server.close(r)) };
}

// Fedify's generateCryptoKeyPair makes 4096-bit RSA keys, seconds each on a
// busy machine: 2048 bits (what Mastodon uses) keeps the timed tests timed.
const rsaKeyPair = () => webcrypto.subtle.generateKey({ name: 'RSASSA-PKCS1-v1_5', modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' }, true, ['sign', 'verify']);

// A Fedify server with Person actors /users/{identifier} (each its own RSA
// and Ed25519 keys), a shared inbox, and what its inbox listeners were given
// (only after Fedify verified the request's signature).
async function startPeer(name) {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const keys = new Map();
  const received = [];
  const requests = []; // every request the server saw: method, path, signature scheme
  const keysOf = async (id) => {
    if (!keys.has(id)) keys.set(id, [await rsaKeyPair(), await generateCryptoKeyPair('Ed25519')]);
    return keys.get(id);
  };
  const federation = createFederation({ kv: new MemoryKvStore(), allowPrivateAddress: true });
  federation.setActorDispatcher('/users/{identifier}', async (ctx, identifier) => {
    const pairs = await ctx.getActorKeyPairs(identifier);
    return new Person({
      id: ctx.getActorUri(identifier), preferredUsername: identifier, name: `${name} ${identifier}`,
      inbox: ctx.getInboxUri(identifier), endpoints: new Endpoints({ sharedInbox: ctx.getInboxUri() }),
      publicKey: pairs[0].cryptographicKey, assertionMethods: pairs.map((p) => p.multikey),
    });
  }).setKeyPairsDispatcher(async (ctx, identifier) => keysOf(identifier));
  federation.setInboxListeners('/users/{identifier}/inbox', '/inbox')
    .on(Accept, async (ctx, accept) => {
      // the Follow embedded in the Accept is another origin's (this peer's):
      // Fedify would fetch it from its id (crossOrigin 'ignore'); the copy
      // Purposed sent is what is checked here
      const follow = await accept.getObject({ crossOrigin: 'trust' });
      received.push({ type: 'Accept', id: accept.id?.href, actor: accept.actorId?.href,
        object: accept.objectId?.href, objectType: follow?.constructor?.name,
        objectActor: follow?.actorId?.href });
    })
    .on(Create, async (ctx, create) => {
      const o = await create.getObject();
      received.push({ type: 'Create', id: create.id?.href, actor: create.actorId?.href, objectType: o?.constructor?.name,
        name: o?.name?.toString(), url: o?.url?.href, attributedTo: o?.attributionId?.href,
        content: o?.content?.toString() });
    });
  const server = http.createServer(async (inReq, out) => {
    const chunks = [];
    for await (const c of inReq) chunks.push(c);
    const body = Buffer.concat(chunks);
    requests.push({ method: inReq.method, path: inReq.url,
      scheme: inReq.headers['signature-input'] ? 'rfc9421' : inReq.headers.signature ? 'cavage' : 'none',
      keyId: /keyid="([^"]+)"/i.exec(inReq.headers['signature-input'] ?? inReq.headers.signature ?? '')?.[1] });
    const request = new Request(origin + inReq.url, { method: inReq.method, headers: inReq.headers,
      body: ['GET', 'HEAD'].includes(inReq.method) ? undefined : body });
    const res = await federation.fetch(request, { contextData: undefined });
    out.writeHead(res.status, Object.fromEntries(res.headers));
    out.end(Buffer.from(await res.arrayBuffer()));
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  const ctx = federation.createContext(new URL(origin), undefined);
  return { name, origin, host: `127.0.0.1:${port}`, federation, ctx, keysOf, received, requests,
    actor: (id) => ctx.getActorUri(id), close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(r); }) };
}

// A request to Purposed's shared inbox signed by Fedify (signRequest) with
// the key of peer's actor id (or another key): its answer.
async function signedPost(from, id, activity, { key, spec = 'draft-cavage-http-signatures-12' } = {}) {
  const [rsa] = await from.keysOf(id);
  const request = new Request(`${tls.base}/inbox`, { method: 'POST',
    headers: { 'Content-Type': 'application/activity+json' },
    body: JSON.stringify(await activity.toJsonLd({ contextLoader: from.ctx.contextLoader })) });
  const signed = await signRequest(request, key ?? rsa.privateKey, new URL(`${from.actor(id).href}#main-key`), { spec });
  const res = await fetch(signed);
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: text ? JSON.parse(text) : null };
}

before(async () => {
  C = cluster(await freePort(), { prefix: 'fedify-peer' });
  const port = await freePort();
  tls = await startTlsProxy(port);
  P = await C.start('fedify', port, { publicUrl: tls.base,
    env: { FEDERATION_INBOX_PER_MINUTE: String(LIMITS.inbox), FEDERATION_FETCH_PER_MINUTE: String(LIMITS.fetch) } });
  [peer, flood] = await Promise.all([startPeer('Peer'), startPeer('Flood')]);
  owner = await newUser(P);
  admin = await newUser(P, 'Fed', { role: 'administrator' });
  const purpose = await req(P.base, 'POST', '/api/v1/purposes', { token: owner.token,
    body: { name: 'Clean water for all', description: 'Water for all.' } });
  assert.equal(purpose.status, 201, purpose.text);
  const o = await req(P.base, 'POST', '/api/v1/organisations', { token: owner.token, body: {
    name: 'River Keepers', slug: 'river-keepers', purpose_statement: 'Keep the river clean.',
    purposes: [purpose.body.slug], legal_form: 'nonprofit', governance: 'consent_based' } });
  assert.equal(o.status, 201, o.text);
  owner.purpose = purpose.body.slug;
});

after(async () => {
  for (const s of [peer, flood, tls]) await s?.close();
  if (process.env.SHOW_LOG) console.error(P?.log());
  await C?.stop();
});

let group;
const ORG = () => `${tls.base}/organisations/river-keepers`;

test('(a) Fedify finds the organisation by WebFinger and reads its Group actor and both its keys', async () => {
  const jrd = await peer.ctx.lookupWebFinger(`acct:river-keepers@${new URL(tls.base).host}`);
  assert.ok(jrd, 'the JRD is found over https');
  assert.equal(jrd.subject, `acct:river-keepers@${new URL(tls.base).host}`);
  group = await peer.ctx.lookupObject(`acct:river-keepers@${new URL(tls.base).host}`);
  assert.ok(group instanceof Group, `a Group (${group?.constructor?.name})`);
  assert.equal(group.id.href, ORG());
  assert.equal(group.inboxId.href, `${ORG().replace('/organisations/', '/ap/organisations/')}/inbox`);
  assert.equal(group.endpoints.sharedInbox.href, `${tls.base}/inbox`);
  const rsa = await group.getPublicKey();
  assert.equal(rsa.id.href, `${ORG()}#main-key`);
  assert.equal(rsa.publicKey.algorithm.name, 'RSASSA-PKCS1-v1_5');
  const methods = [];
  for await (const m of group.getAssertionMethods()) methods.push(m);
  assert.equal(methods.length, 1, 'one Multikey in assertionMethod');
  assert.equal(methods[0].id.href, `${ORG()}#ed25519-key`);
  assert.equal(methods[0].controllerId.href, ORG());
  assert.equal(methods[0].publicKey.algorithm.name, 'Ed25519');
  // the key Fedify read is the one stored for the organisation
  const raw = Buffer.from(await webcrypto.subtle.exportKey('raw', methods[0].publicKey)).toString('hex');
  assert.equal(psql(P, `SELECT encode(k.ed25519_public, 'hex') FROM ap_keys k JOIN organisations o ON o.id = k.actor_id
    WHERE k.actor_kind = 'organisation' AND o.slug = 'river-keepers'`), raw);
});

test('(b) a Follow Fedify signed is verified and accepted; Fedify verifies the Accept', async () => {
  const follow = new Follow({ id: new URL(`${peer.actor('alice').href}#follows/1`), actor: peer.actor('alice'), object: group.id });
  await peer.ctx.sendActivity({ identifier: 'alice' }, group, follow, { immediate: true });
  const kept = psql(P, `SELECT a.uri, f.follow_uri FROM remote_followers f JOIN remote_actors a ON a.id = f.actor_id`);
  assert.equal(kept, `${peer.actor('alice').href}|${follow.id.href}`, 'Purposed keeps the follower');
  const accept = await until('the Accept, verified by Fedify', () => peer.received.find((r) => r.type === 'Accept'));
  assert.equal(accept.actor, ORG());
  assert.equal(accept.object, follow.id.href);
  assert.equal(accept.objectType, 'Follow');
  assert.equal(accept.objectActor, peer.actor('alice').href);
  // Fedify's first knock was RFC 9421: Purposed answers that instance in kind, with its Ed25519 key
  const delivered = peer.requests.find((r) => r.method === 'POST' && r.keyId?.startsWith(ORG()));
  assert.equal(delivered.scheme, 'rfc9421');
  assert.equal(delivered.keyId, `${ORG()}#ed25519-key`);
});

test('(c) an engagement posted on Purposed reaches Fedify as a signed Create it verifies', async () => {
  const posted = await req(P.base, 'POST', '/api/v1/organisations/river-keepers/engagements', { token: owner.token, body: {
    title: 'River sampler', description: 'Take water samples weekly.\n\nTraining given.', purposes: [owner.purpose],
    packagings: ['volunteer'], hours_per_week: 4, skills: ['sampling'], remote_ok: false, rewards: { non_cash: ['learning'] } } });
  assert.equal(posted.status, 201, posted.text);
  const create = await until('the Create, verified by Fedify', () => peer.received.find((r) => r.type === 'Create'));
  assert.equal(create.actor, ORG());
  assert.equal(create.objectType, 'Page');
  assert.equal(create.name, 'River sampler');
  assert.equal(create.url, `${tls.base}/engagements/${posted.body.id}`);
  assert.equal(create.attributedTo, ORG());
  assert.equal(create.content, '<p>Take water samples weekly.</p><p>Training given.</p>');
  // one delivery for the instance: to the shared inbox Fedify's actor names
  const creates = peer.requests.filter((r) => r.method === 'POST' && r.path === '/inbox');
  assert.ok(creates.length >= 1);
});

test('(d) an unsigned Follow and one signed with another key are refused, and nothing is kept', async () => {
  const before = psql(P, 'SELECT count(*) FROM remote_followers');
  const follow = new Follow({ id: new URL(`${peer.actor('mallory').href}#follows/1`), actor: peer.actor('mallory'), object: group.id });
  const unsigned = await fetch(`${tls.base}/inbox`, { method: 'POST', headers: { 'Content-Type': 'application/activity+json' },
    body: JSON.stringify(await follow.toJsonLd()) });
  assert.equal(unsigned.status, 401, await unsigned.text());
  const stranger = await rsaKeyPair();
  for (const spec of ['draft-cavage-http-signatures-12', 'rfc9421']) {
    const forged = await signedPost(peer, 'mallory', follow, { key: stranger.privateKey, spec });
    assert.equal(forged.status, 401, `${spec}: ${forged.text}`);
    assert.equal(forged.body.type, 'https://purposed.dev/problems/bad-signature');
  }
  assert.equal(psql(P, 'SELECT count(*) FROM remote_followers'), before, 'nothing kept');
  // mallory's own key is taken: the refusals were the key's
  const own = await signedPost(peer, 'mallory', follow);
  assert.equal(own.status, 202, own.text);
  assert.equal(psql(P, 'SELECT count(*) FROM remote_followers'), String(Number(before) + 1));
});

test('per-instance limits at their boundary: fetches of its documents, then inbox POSTs (429 + Retry-After)', async () => {
  const like = (id, n) => new Like({ id: new URL(`${flood.actor(id).href}#likes/${n}`), actor: flood.actor(id), object: group.id });
  const gets = () => flood.requests.filter((r) => r.method === 'GET' && r.path.startsWith('/users/')).length;
  for (let i = 1; i <= LIMITS.fetch + 1; i++) await flood.keysOf(`f${i}`);
  // each new actor's key is fetched: LIMITS.fetch of them pass
  for (let i = 1; i <= LIMITS.fetch; i++) {
    const r = await signedPost(flood, `f${i}`, like(`f${i}`, i));
    assert.equal(r.status, 202, `actor ${i}: ${r.text}`);
  }
  assert.equal(gets(), LIMITS.fetch, 'one fetch per new actor');
  // one more actor: its key is not fetched this minute
  const over = await signedPost(flood, `f${LIMITS.fetch + 1}`, like(`f${LIMITS.fetch + 1}`, 0));
  assert.equal(over.status, 429, over.text);
  assert.ok(Number(over.headers.get('retry-after')) >= 1, 'Retry-After');
  assert.equal(gets(), LIMITS.fetch, 'nothing fetched past the limit');
  // kept actors need no fetch: the inbox's own limit counts every POST that reached the key
  for (let n = LIMITS.fetch + 2; n <= LIMITS.inbox; n++) {
    const r = await signedPost(flood, 'f1', like('f1', n));
    assert.equal(r.status, 202, `POST ${n}: ${r.text}`);
  }
  const limited = await signedPost(flood, 'f1', like('f1', 99));
  assert.equal(limited.status, 429, limited.text);
  assert.equal(limited.body.type, 'https://purposed.dev/problems/too-many-requests');
  assert.match(limited.body.detail, new RegExp(flood.host));
  const wait = Number(limited.headers.get('retry-after'));
  assert.ok(wait >= 1 && wait <= 60 / LIMITS.inbox + 1, `Retry-After ${wait}`);
  // another instance is not held back by this one
  const other = await signedPost(peer, 'alice', new Like({ id: new URL(`${peer.actor('alice').href}#likes/1`),
    actor: peer.actor('alice'), object: group.id }));
  assert.equal(other.status, 202, other.text);
});

test('a blocked instance: its inbox POSTs refused (403, no key fetched), nothing delivered to it, its follow gone', async () => {
  const blocked = await req(P.base, 'POST', '/api/v1/moderation/instance-blocks', { token: admin.token,
    body: { host: peer.host, reason: 'Testing the block.' } });
  assert.equal(blocked.status, 201, blocked.text);
  assert.deepEqual(blocked.body.removed, { followers: 2, follows: 0, engagements: 0 }, 'alice and mallory');
  const getsBefore = peer.requests.filter((r) => r.method === 'GET').length;
  const follow = new Follow({ id: new URL(`${peer.actor('bob').href}#follows/1`), actor: peer.actor('bob'), object: group.id });
  const refused = await signedPost(peer, 'bob', follow);
  assert.equal(refused.status, 403, refused.text);
  assert.equal(peer.requests.filter((r) => r.method === 'GET').length, getsBefore, 'its key was not fetched');
  // a delivery queued to it fails without being sent
  const postsBefore = peer.requests.filter((r) => r.method === 'POST').length;
  const orgId = psql(P, "SELECT id FROM organisations WHERE slug = 'river-keepers'");
  const job = psql(P, `SELECT job_enqueue('deliver', jsonb_build_object('activity', jsonb_build_object('@context',
    'https://www.w3.org/ns/activitystreams', 'id', '${ORG()}#test', 'type', 'Like', 'actor', '${ORG()}',
    'object', '${peer.actor('alice').href}'), 'inbox', '${peer.origin}/inbox', 'signer_kind', 'organisation',
    'signer_id', ${orgId}, 'actor', '${ORG()}'))`);
  const failed = await until('the delivery refused', () =>
    psql(P, `SELECT last_error FROM jobs WHERE id = ${job} AND state = 'failed'`));
  assert.match(failed, /blocked/);
  await sleep(300);
  assert.equal(peer.requests.filter((r) => r.method === 'POST').length, postsBefore, 'nothing was sent');
  // a new engagement is not sent either: the instance follows nothing here any more
  const posted = await req(P.base, 'POST', '/api/v1/organisations/river-keepers/engagements', { token: owner.token, body: {
    title: 'After the block', description: 'Not for them.', purposes: [owner.purpose],
    packagings: ['volunteer'], hours_per_week: 2, skills: [], remote_ok: true, rewards: { non_cash: [] } } });
  assert.equal(posted.status, 201, posted.text);
  await sleep(500);
  assert.equal(psql(P, "SELECT count(*) FROM jobs WHERE kind IN ('federate', 'deliver') AND state <> 'failed' AND payload->>'engagement_id' = '"
    + posted.body.id + "'"), '0');
  assert.ok(!peer.received.some((r) => r.type === 'Create' && r.name === 'After the block'));
});

test('an instance known for RFC 9421 that refuses it is sent rsa-sha256 at once, and from then on', async () => {
  // a server that takes draft-cavage signatures only (as older servers do)
  const seen = [];
  const port = await freePort();
  const server = http.createServer((inReq, out) => {
    const rfc9421 = Boolean(inReq.headers['signature-input']);
    seen.push({ scheme: rfc9421 ? 'rfc9421' : inReq.headers.signature ? 'cavage' : 'none',
      keyId: /keyid="([^"]+)"/i.exec(inReq.headers['signature-input'] ?? inReq.headers.signature ?? '')?.[1] });
    inReq.resume();
    out.writeHead(rfc9421 ? 401 : 202).end();
  });
  await new Promise((r) => server.listen(port, '127.0.0.1', r));
  try {
    const host = `127.0.0.1:${port}`;
    psql(P, `INSERT INTO remote_instances (host, rfc9421) VALUES ('${host}', true)`);
    const orgId = psql(P, "SELECT id FROM organisations WHERE slug = 'river-keepers'");
    const deliver = (n) => psql(P, `SELECT job_enqueue('deliver', jsonb_build_object('activity', jsonb_build_object('@context',
      'https://www.w3.org/ns/activitystreams', 'id', '${ORG()}#rsa-${n}', 'type', 'Like', 'actor', '${ORG()}',
      'object', '${ORG()}'), 'inbox', 'http://${host}/inbox', 'signer_kind', 'organisation',
      'signer_id', ${orgId}, 'actor', '${ORG()}'))`);
    const first = deliver(1);
    await until('the delivery done', () => psql(P, `SELECT 1 FROM jobs WHERE id = ${first} AND state = 'done'`));
    assert.deepEqual(seen.map((s) => s.scheme), ['rfc9421', 'cavage'], 'refused, then sent again at once');
    assert.equal(seen[0].keyId, `${ORG()}#ed25519-key`);
    assert.equal(seen[1].keyId, `${ORG()}#main-key`);
    assert.equal(psql(P, `SELECT rfc9421 FROM remote_instances WHERE host = '${host}'`), 'f');
    const second = deliver(2);
    await until('the second delivery done', () => psql(P, `SELECT 1 FROM jobs WHERE id = ${second} AND state = 'done'`));
    assert.deepEqual(seen.map((s) => s.scheme), ['rfc9421', 'cavage', 'cavage'], 'no RFC 9421 knock any more');
  } finally {
    await new Promise((r) => { server.closeAllConnections?.(); server.close(r); });
  }
});
