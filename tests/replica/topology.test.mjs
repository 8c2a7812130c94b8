// The topology past one box, on one machine: a primary, a streaming replica
// made with pg_basebackup -R (replaying 300 ms late, so a read that should
// not go there would be caught stale), and two daemons reading through
// DATABASE_READ_URL. Checks: reads are served by the replica; a client reads
// its own writes on either daemon; the answer caches of both daemons
// converge; the replica stopped and started under load loses no request;
// the primary restarted loses no acknowledged write.
// Needs PURPOSED_BIN, STATIC_DIR, MIGRATIONS_DIR (scripts/test sets them);
// starts and stops its own PostgreSQL clusters under TEST_TMP (or /tmp).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startDaemon } from '../faults/lib.mjs';

const COMMON = fileURLToPath(new URL('../../scripts/lib/common.sh', import.meta.url));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const root = mkdtempSync(`${process.env.TEST_TMP ?? '/tmp'}/replica.`);
// Unix sockets only (listen_addresses ''), one directory per cluster: the
// port only names the socket file, so it cannot collide with another suite.
const P = { dir: `${root}/primary`, port: Number(process.env.REPLICA_PG_PORT ?? 18306) };
const R = { dir: `${root}/replica`, port: P.port + 1 };
const url = (c, db = 'purposed_topology') => `postgresql:///${db}?host=${c.dir}/sock&port=${c.port}&user=postgres`;

function sh(script) {
  return execFileSync('bash', ['-c', `set -e; source "${COMMON}"; ${script}`],
    { encoding: 'utf8', env: { ...process.env, PG_FSYNC: 'off' }, stdio: ['ignore', 'pipe', 'inherit'] });
}
const psql = (c, q) => execFileSync('psql', [url(c), '-XqAt', '-c', q], { encoding: 'utf8' }).trim();
const start = (c) => sh(`pg_start "${c.dir}" ${c.port}`);
const stop = (c, mode = 'fast') => sh(`as_pg "$(pg_bindir)/pg_ctl" -D "${c.dir}/data" -m ${mode} -w stop >/dev/null`);

let A, B;

async function req(base, method, path, { token, body, headers = {} } = {}) {
  const h = { ...headers };
  if (token) h.Authorization = `Bearer ${token}`;
  if (body !== undefined) h['Content-Type'] = 'application/json';
  const res = await fetch(base + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(20000) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, headers: res.headers, body: json, text };
}

function metric(text, name, labels) {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}}`) || (!labels && l.startsWith(`${name} `)));
  return line ? Number(line.split(' ').pop()) : NaN;
}
const metrics = async (d) => (await req(d.base, 'GET', '/metrics')).text;

async function newUser(base) {
  const email = `topo-${randomUUID().slice(0, 8)}@example.org`;
  const password = 'a long enough password';
  const c = await req(base, 'POST', '/api/v1/accounts', { body: { email, password, display_name: 'Topo' } });
  assert.equal(c.status, 201, c.text);
  psql(P, `UPDATE accounts SET email_verified_at = now() WHERE id = ${Number(c.body.id)}`);
  const s = await req(base, 'POST', '/api/v1/sessions', { body: { email, password } });
  assert.equal(s.status, 201, s.text);
  return { id: c.body.id, token: s.body.token };
}

before(async () => {
  start(P);
  sh(`pg_createdb "${P.dir}" ${P.port} purposed_topology`);
  execFileSync(process.env.PURPOSED_BIN, ['migrate'], { env: { ...process.env, DATABASE_URL: url(P) }, stdio: 'ignore' });
  // the replica: a base backup with its standby settings written (-R)
  sh(`mkdir -p "${R.dir}/sock"; [ "$(id -u)" -ne 0 ] || chown -R postgres: "${R.dir}";
      as_pg "$(pg_bindir)/pg_basebackup" -h "${P.dir}/sock" -p ${P.port} -U postgres -D "${R.dir}/data" -R -X stream -c fast;
      echo "recovery_min_apply_delay = '300ms'" | as_pg tee -a "${R.dir}/data/postgresql.auto.conf" >/dev/null`);
  start(R);
  assert.equal(psql(R, 'SELECT pg_is_in_recovery()'), 't');
  // libpq multi-host: the replica first; prefer-standby reaches the primary
  // only when no standby answers
  const readUrl = `postgresql:///purposed_topology?host=${R.dir}/sock,${P.dir}/sock&port=${R.port},${P.port}&user=postgres&target_session_attrs=prefer-standby`;
  const env = { DATABASE_URL: url(P), DATABASE_READ_URL: readUrl, JOB_WORKERS: '1' };
  [A, B] = await Promise.all([startDaemon(env), startDaemon(env)]);
  for (const d of [A, B]) assert.equal((await req(d.base, 'GET', '/healthz')).status, 200, d.log());
});

after(async () => {
  for (const d of [A, B]) if (d) await d.stop();
  for (const d of [A, B]) {
    if (d && /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/.test(d.log())) assert.fail(`sanitizer: ${d.log().slice(-3000)}`);
  }
  try { stop(R, 'immediate'); } catch { /* already down */ }
  try { stop(P, 'fast'); } catch { /* already down */ }
  if (!process.env.KEEP_TMP) rmSync(root, { recursive: true, force: true });
});

test('reads are served by the replica', async () => {
  const before = metric(await metrics(A), 'db_reads_total', 'to="replica",why="fresh"');
  for (let i = 0; i < 20; i++) {
    const r = await req(A.base, 'GET', '/api/v1/organisations');
    assert.equal(r.status, 200, r.text);
  }
  const m = await metrics(A);
  assert.ok(metric(m, 'db_reads_total', 'to="replica",why="fresh"') >= before + 20, m);
  assert.equal(metric(m, 'db_replica_configured'), 1);
  assert.equal(metric(m, 'db_replica_up'), 1);
  // the connections are the replica's (the primary has none of them)
  assert.ok(Number(psql(R, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'purposed-read'")) >= 1);
  assert.equal(psql(P, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'purposed-read'"), '0');
});

test('a client reads its own writes at once, on the daemon it wrote to and on the other', async () => {
  const u = await newUser(A.base);
  for (let i = 0; i < 10; i++) {
    const name = `Topology ${randomUUID().slice(0, 8)}`;
    const w = await req(A.base, 'POST', '/api/v1/purposes', { token: u.token, body: { name, description: 'own write' } });
    assert.equal(w.status, 201, w.text);
    const lsn = w.headers.get('purposed-lsn');
    assert.match(lsn ?? '', /^[0-9A-F]+\/[0-9A-F]+$/, 'a write says its WAL position');
    // the same daemon knows the session's last write
    const same = await req(A.base, 'GET', `/api/v1/purposes/${w.body.slug}`, { token: u.token });
    assert.equal(same.status, 200, `same daemon: ${same.text}`);
    // the other daemon, told the position by the client
    const other = await req(B.base, 'GET', `/api/v1/purposes/${w.body.slug}`, { token: u.token, headers: { 'Purposed-LSN': lsn } });
    assert.equal(other.status, 200, `other daemon: ${other.text}`);
  }
  const m = await metrics(A);
  assert.ok(metric(m, 'db_reads_total', 'to="primary",why="own_write"') >= 1, 'the lagging replica was passed over');
  // and the replica is 300 ms late: an anonymous read right after a write does not see it yet
  const w = await req(A.base, 'POST', '/api/v1/purposes', { token: u.token, body: { name: `Late ${randomUUID().slice(0, 8)}`, description: 'x' } });
  assert.equal(w.status, 201, w.text);
  assert.equal((await req(B.base, 'GET', `/api/v1/purposes/${w.body.slug}`)).status, 404, 'the replica lags (the test would prove nothing otherwise)');
});

test('the answer caches of both daemons converge', async () => {
  const u = await newUser(A.base);
  const p = await req(A.base, 'POST', '/api/v1/purposes', { token: u.token, body: { name: `Conv ${randomUUID().slice(0, 8)}`, description: 'x' } });
  const o = await req(A.base, 'POST', '/api/v1/organisations', { token: u.token,
    body: { name: `Conv ${randomUUID().slice(0, 8)}`, purpose_statement: 'x', purposes: [p.body.slug], legal_form: 'cooperative', governance: 'sociocracy' } });
  assert.equal(o.status, 201, o.text);
  const list = (d) => req(d.base, 'GET', `/api/v1/engagements?organisation=${o.body.slug}`);
  for (const d of [A, B]) assert.equal((await list(d)).status, 200); // cached, empty
  const e = await req(A.base, 'POST', `/api/v1/organisations/${o.body.slug}/engagements`, { token: u.token,
    body: { title: 'First title', description: 'x', purposes: [p.body.slug], packagings: ['volunteer'], hours_per_week: 2, skills: [], remote_ok: true, rewards: { non_cash: [] } } });
  assert.equal(e.status, 201, e.text);
  const seen = async (d, title) => {
    const end = Date.now() + 3000;
    for (;;) {
      const [l, item] = [await list(d), await req(d.base, 'GET', `/api/v1/engagements/${e.body.id}`)];
      if (l.body?.items?.some((x) => x.title === title) && item.body?.title === title) return true;
      if (Date.now() > end) return false;
      await sleep(50);
    }
  };
  for (const d of [A, B]) assert.ok(await seen(d, 'First title'), 'the new engagement in both daemons\' lists');
  const changed = await req(A.base, 'PATCH', `/api/v1/engagements/${e.body.id}`, { token: u.token,
    body: { title: 'Second title' }, headers: { 'If-Match': `"${e.body.version}"` } });
  assert.equal(changed.status, 200, changed.text);
  for (const d of [A, B]) assert.ok(await seen(d, 'Second title'), 'the change in both daemons');
  // and it stays: no stale answer put back from the late replica
  await sleep(600);
  for (const d of [A, B]) {
    assert.equal((await list(d)).body.items[0].title, 'Second title');
    assert.equal((await req(d.base, 'GET', `/api/v1/engagements/${e.body.id}`)).body.title, 'Second title');
  }
});

// Readers on both daemons, signed in and not, until stop() says so.
function load(user) {
  let go = true;
  const answers = [];
  const runners = [A, B].flatMap((d) => [0, 1].map(async (k) => {
    while (go) {
      const r = await req(d.base, 'GET', k ? '/api/v1/organisations' : '/api/v1/me', k ? {} : { token: user.token })
        .catch((err) => ({ status: 0, text: String(err) }));
      answers.push(r);
    }
  }));
  return { answers, async stop() { go = false; await Promise.all(runners); } };
}

test('the replica stopped and started under load loses no request', async () => {
  const u = await newUser(A.base);
  const l = load(u);
  await sleep(300);
  stop(R, 'immediate');
  await sleep(1000);
  start(R);
  await sleep(1500);
  await l.stop();
  const bad = l.answers.filter((r) => r.status !== 200);
  assert.ok(l.answers.length > 50, `${l.answers.length} requests`);
  assert.deepEqual(bad.map((r) => `${r.status} ${r.text}`.slice(0, 200)), []);
  // and reads go back to the replica (prefer-standby may have reached the
  // primary meanwhile: the daemon looks for a standby again every 5 s)
  const fresh = () => metrics(A).then((m) => metric(m, 'db_reads_total', 'to="replica",why="fresh"'));
  const standbyReads = () => Number(psql(R, "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'purposed-read'"));
  const end = Date.now() + 12000;
  let was = await fresh();
  for (;;) {
    for (let i = 0; i < 20; i++) await req(A.base, 'GET', '/api/v1/organisations');
    if (standbyReads() >= 1 && (await fresh()) > was) break;
    assert.ok(Date.now() < end, 'reads back on the replica');
    was = await fresh();
    await sleep(300);
  }
  assert.equal(metric(await metrics(A), 'db_replica_up'), 1);
});

test('the primary restarted loses no acknowledged write', async () => {
  const u = await newUser(A.base);
  const acked = [];
  let go = true, n = 0;
  const writers = [A, B].map(async (d) => {
    while (go) {
      const name = `Ack ${randomUUID().slice(0, 12)} ${n++}`;
      const r = await req(d.base, 'POST', '/api/v1/purposes', { token: u.token, body: { name, description: 'x' } })
        .catch(() => ({ status: 0 }));
      if (r.status === 201) acked.push(r.body.slug);
      else if (r.status !== 503 && r.status !== 0) assert.fail(`unexpected ${r.status} ${r.text}`);
      else await sleep(50);
    }
  });
  await sleep(500);
  stop(P, 'immediate'); // a crash: no shutdown checkpoint
  await sleep(500);
  start(P);
  // writes resume on both daemons
  const resumed = acked.length;
  const end = Date.now() + 15000;
  while (acked.length < resumed + 10 && Date.now() < end) await sleep(100);
  go = false;
  await Promise.all(writers);
  assert.ok(acked.length >= resumed + 10, 'writes resumed after the restart');
  const slugs = acked.map((s) => `'${s}'`).join(',');
  assert.equal(Number(psql(P, `SELECT count(*) FROM purposes WHERE slug IN (${slugs})`)), acked.length,
    'every acknowledged write is in the database');
  // the replica follows the restarted primary: it has them too, soon
  const until = Date.now() + 15000;
  let onReplica;
  do onReplica = Number(psql(R, `SELECT count(*) FROM purposes WHERE slug IN (${slugs})`));
  while (onReplica < acked.length && Date.now() < until && !(await sleep(200)));
  assert.equal(onReplica, acked.length, 'the replica caught up');
});
