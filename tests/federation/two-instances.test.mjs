// Two Purposed instances federating (docs/federation.md): each its own
// database on one cluster of this suite's own, its own daemon with its own
// PUBLIC_URL, FETCH_ALLOW_PRIVATE=1 (both listen on 127.0.0.1). Checks:
// WebFinger, actors by content negotiation, NodeInfo, a person on B follows
// an organisation on A (Follow, Accept), an engagement posted on A appears
// on B marked remote and linking home, its update, pause and close travel,
// Undo, and requests with a missing or bad signature refused with 401.
// Needs PURPOSED_BIN, STATIC_DIR, MIGRATIONS_DIR (scripts/test sets them);
// FED_PG_PORT names the cluster's socket, FED_PORT the two daemons' ports
// (FED_PORT and FED_PORT + 10; free ports when unset).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID, generateKeyPairSync, createSign, createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const COMMON = fileURLToPath(new URL('../../scripts/lib/common.sh', import.meta.url));
const LSAN_SUPP = fileURLToPath(new URL('../lsan.supp', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const root = mkdtempSync(`${process.env.TEST_TMP ?? '/tmp'}/federation.`);
const PG = { dir: `${root}/pg`, port: Number(process.env.FED_PG_PORT ?? 18406) };
const dbUrl = (db) => `postgresql:///${db}?host=${PG.dir}/sock&port=${PG.port}&user=postgres`;
const sh = (script) => execFileSync('bash', ['-c', `set -e; source "${COMMON}"; ${script}`],
  { encoding: 'utf8', env: { ...process.env, PG_FSYNC: 'off' }, stdio: ['ignore', 'pipe', 'inherit'] });
const psql = (d, q) => execFileSync('psql', [d.db, '-XqAt', '-c', q], { encoding: 'utf8' }).trim();

const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

async function startInstance(name, port) {
  const db = dbUrl(`purposed_${name}`);
  sh(`pg_createdb "${PG.dir}" ${PG.port} purposed_${name}`);
  execFileSync(process.env.PURPOSED_BIN, ['migrate'], { env: { ...process.env, DATABASE_URL: db }, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const proc = spawn(process.env.PURPOSED_BIN, ['serve'], {
    env: {
      ...process.env, DATABASE_URL: db, PORT: String(port), PUBLIC_URL: base, AUTO_MIGRATE: '0',
      FETCH_ALLOW_PRIVATE: '1', JOB_WORKERS: '2', JOB_POLL_MS: '100', JOB_RETRY_BASE_MS: '200',
      PWHASH_OPSLIMIT: '1', PWHASH_MEMLIMIT: '8192', WRITE_RATE_PER_MINUTE: '60000', WRITE_BURST: '5000',
      SMTP_URL: '', MAIL_DIR: `${root}/mail-${name}`, CHANGES_POLL_MS: '50',
      LSAN_OPTIONS: process.env.LSAN_OPTIONS ?? `suppressions=${LSAN_SUPP}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  for (let i = 0; i < 100 && proc.exitCode === null; i++) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch { /* not yet */ }
    await sleep(100);
  }
  if (proc.exitCode !== null) throw new Error(`${name} did not start:\n${log}`);
  return { name, base, host: `127.0.0.1:${port}`, db, proc, log: () => log, exited,
    async stop() { if (proc.exitCode === null) proc.kill('SIGTERM'); return exited; } };
}

async function req(base, method, path, { token, body, headers = {}, raw } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] ??= 'application/json';
  const res = await fetch(base + path, { method, headers: h,
    body: raw ?? (body === undefined ? undefined : JSON.stringify(body)), signal: AbortSignal.timeout(20000) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json, text };
}

async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

async function newUser(d) {
  const email = `fed-${randomUUID().slice(0, 8)}@example.org`;
  const password = 'a long enough password';
  const c = await req(d.base, 'POST', '/api/v1/accounts', { body: { email, password, display_name: 'Fed' } });
  assert.equal(c.status, 201, c.text);
  psql(d, `UPDATE accounts SET email_verified_at = now() WHERE id = ${Number(c.body.id)}`);
  const s = await req(d.base, 'POST', '/api/v1/sessions', { body: { email, password } });
  assert.equal(s.status, 201, s.text);
  return { id: c.body.id, token: s.body.token };
}

let A, B, owner, org, follower;
const AP = { Accept: 'application/activity+json' };

before(async () => {
  sh(`pg_start "${PG.dir}" ${PG.port}`);
  const pa = Number(process.env.FED_PORT ?? 0) || await freePort();
  const pb = process.env.FED_PORT ? pa + 10 : await freePort();
  [A, B] = await Promise.all([startInstance('fed_a', pa), startInstance('fed_b', pb)]);
  owner = await newUser(A);
  const purpose = await req(A.base, 'POST', '/api/v1/purposes', { token: owner.token,
    body: { name: `Clean water ${randomUUID().slice(0, 6)}`, description: 'Water for all.' } });
  assert.equal(purpose.status, 201, purpose.text);
  const o = await req(A.base, 'POST', '/api/v1/organisations', { token: owner.token, body: {
    name: 'River Keepers', slug: 'river-keepers', purpose_statement: 'Keep the river clean.',
    purposes: [purpose.body.slug], legal_form: 'nonprofit', governance: 'consent_based' } });
  assert.equal(o.status, 201, o.text);
  org = { ...o.body, purpose: purpose.body.slug };
  follower = await newUser(B);
});

after(async () => {
  for (const d of [A, B]) if (d) {
    await d.stop();
    if (/ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/.test(d.log())) {
      console.error(d.log());
      throw new Error(`${d.name} reported sanitizer errors`);
    }
  }
  try { sh(`as_pg "$(pg_bindir)/pg_ctl" -D "${PG.dir}/data" -m fast -w stop >/dev/null`); } catch { /* down */ }
  if (!process.env.KEEP_TMP) rmSync(root, { recursive: true, force: true });
});

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

const remoteOf = async (id, status = 'open') => {
  const l = await req(B.base, 'GET', `/api/v1/remote-engagements?status=${status}`);
  assert.equal(l.status, 200, l.text);
  return l.body.items.find((e) => e.url === `${A.base}/engagements/${id}`);
};

test('an engagement posted on A appears on B, marked remote and linking home; update, pause and close travel', async () => {
  const posted = await req(A.base, 'POST', '/api/v1/organisations/river-keepers/engagements', { token: owner.token, body: {
    title: 'River sampler', description: 'Take water samples weekly.\n\nTraining given.', purposes: [org.purpose],
    packagings: ['volunteer'], hours_per_week: 4, skills: ['sampling'], remote_ok: false, rewards: { non_cash: ['learning'] } } });
  assert.equal(posted.status, 201, posted.text);
  const id = posted.body.id;
  const seen = await until('the Create on B', () => remoteOf(id));
  assert.equal(seen.remote, true);
  assert.equal(seen.title, 'River sampler');
  assert.equal(seen.description, 'Take water samples weekly.\n\nTraining given.');
  assert.equal(seen.hours_per_week, 4);
  assert.equal(seen.organisation.actor, `${A.base}/organisations/river-keepers`);

  const etag = (r) => r.headers.get('etag');
  let cur = await req(A.base, 'GET', `/api/v1/engagements/${id}`);
  let u = await req(A.base, 'PATCH', `/api/v1/engagements/${id}`, { token: owner.token,
    headers: { 'If-Match': etag(cur) }, body: { title: 'River sampler (weekends)' } });
  assert.equal(u.status, 200, u.text);
  await until('the Update on B', async () => (await remoteOf(id))?.title === 'River sampler (weekends)');

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
  // every delivery went out signed and was taken
  assert.equal(psql(A, "SELECT count(*) FROM jobs WHERE kind = 'deliver' AND state <> 'done'"), '0');
});

// A Follow signed by a key that is not its actor's, and other bad requests.
function signed(path, body, { keyId, privateKey, date = new Date().toUTCString(), digestOf = body }) {
  const digest = `SHA-256=${createHash('sha256').update(digestOf).digest('base64')}`;
  const host = A.host;
  const signing = `(request-target): post ${path}\nhost: ${host}\ndate: ${date}\ndigest: ${digest}`;
  const signature = createSign('sha256').update(signing).sign(privateKey, 'base64');
  return { 'Content-Type': 'application/activity+json', Date: date, Digest: digest,
    Signature: `keyId="${keyId}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"` };
}

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
    headers: signed(path, body, { keyId: `${B.base}/actor#main-key`, privateKey }) });
  assert.equal(forged.status, 401, forged.text);
  // the Digest of another body
  const tampered = await req(A.base, 'POST', path, { raw: body,
    headers: signed(path, body, { keyId: `${B.base}/actor#main-key`, privateKey, digestOf: '{}' }) });
  assert.equal(tampered.status, 401, tampered.text);
  assert.match(tampered.body.detail, /Digest/);
  // a stale Date
  const stale = await req(A.base, 'POST', path, { raw: body, headers: signed(path, body,
    { keyId: `${B.base}/actor#main-key`, privateKey, date: new Date(Date.now() - 3600e3).toUTCString() }) });
  assert.equal(stale.status, 401, stale.text);
  // a key nobody serves
  const unknown = await req(A.base, 'POST', path, { raw: body,
    headers: signed(path, body, { keyId: `${B.base}/actor-gone#main-key`, privateKey }) });
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
