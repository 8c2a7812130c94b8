// Purposed instances for the federation tests (two-instances, agreements,
// fedify-peer, tests/e2e/federation): a PostgreSQL cluster of the suite's
// own, one database and one daemon per instance (its own PUBLIC_URL,
// FETCH_ALLOW_PRIVATE=1: all listen on 127.0.0.1), and small HTTP and SQL
// helpers. Needs PURPOSED_BIN, STATIC_DIR, MIGRATIONS_DIR (scripts/test sets
// them).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomUUID, createSign, createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const COMMON = fileURLToPath(new URL('../../scripts/lib/common.sh', import.meta.url));
const LSAN_SUPP = fileURLToPath(new URL('../lsan.supp', import.meta.url));
// what a daemon built with SANITIZE=ON writes to stderr when it finds an error
const SANITIZER_REPORT = /ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/;
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sh = (script) => execFileSync('bash', ['-c', `set -e; source "${COMMON}"; ${script}`],
  { encoding: 'utf8', env: { ...process.env, PG_FSYNC: 'off' }, stdio: ['ignore', 'pipe', 'inherit'] });
export const psql = (d, q) => execFileSync('psql', [d.db, '-XqAt', '-c', q], { encoding: 'utf8' }).trim();

export const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

// A cluster on pgPort under a fresh directory (${TEST_TMP:-/tmp}/<prefix>.*);
// cluster.start(name, port) starts an instance on it, cluster.stop() stops
// them all and the cluster, then fails if any daemon reported a sanitizer
// error (its log printed).
export function cluster(pgPort, { prefix = 'federation' } = {}) {
  const root = mkdtempSync(`${process.env.TEST_TMP ?? '/tmp'}/${prefix}.`);
  const PG = { dir: `${root}/pg`, port: pgPort };
  const dbUrl = (db) => `postgresql:///${db}?host=${PG.dir}/sock&port=${PG.port}&user=postgres`;
  const started = [];
  sh(`pg_start "${PG.dir}" ${PG.port}`);
  return {
    root,
    // The daemon on port, its ids under publicUrl (its own address when none
    // is given); env adds to or overrides the test settings. d.stop() only
    // stops it: the sanitizer check is cluster.stop()'s.
    async start(name, port, { publicUrl, env = {} } = {}) {
      const db = dbUrl(`purposed_${name}`);
      sh(`pg_createdb "${PG.dir}" ${PG.port} purposed_${name}`);
      execFileSync(process.env.PURPOSED_BIN, ['migrate'], { env: { ...process.env, DATABASE_URL: db }, stdio: 'ignore' });
      const base = `http://127.0.0.1:${port}`;
      let log = '';
      const proc = spawn(process.env.PURPOSED_BIN, ['serve'], {
        env: {
          ...process.env, DATABASE_URL: db, PORT: String(port), PUBLIC_URL: publicUrl ?? base, AUTO_MIGRATE: '0',
          FETCH_ALLOW_PRIVATE: '1', JOB_WORKERS: '2', JOB_POLL_MS: '100', JOB_RETRY_BASE_MS: '200',
          PWHASH_OPSLIMIT: '1', PWHASH_MEMLIMIT: '8192', WRITE_RATE_PER_MINUTE: '60000', WRITE_BURST: '5000',
          SMTP_URL: '', MAIL_DIR: `${root}/mail-${name}`, CHANGES_POLL_MS: '50',
          LSAN_OPTIONS: process.env.LSAN_OPTIONS ?? `suppressions=${LSAN_SUPP}`, ...env,
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
      const d = { name, base, host: `127.0.0.1:${port}`, db, proc, log: () => log, exited,
        async stop() { if (proc.exitCode === null) proc.kill('SIGTERM'); return exited; } };
      started.push(d);
      return d;
    },
    async stop() {
      const reported = [];
      for (const d of started) {
        await d.stop();
        if (process.env.KEEP_TMP) writeFileSync(`${root}/${d.name}.log`, d.log());
        if (SANITIZER_REPORT.test(d.log())) {
          console.error(d.log());
          reported.push(d.name);
        }
      }
      try { sh(`as_pg "$(pg_bindir)/pg_ctl" -D "${PG.dir}/data" -m fast -w stop >/dev/null`); } catch { /* down */ }
      if (!process.env.KEEP_TMP) rmSync(root, { recursive: true, force: true });
      if (reported.length) throw new Error(`${reported.join(', ')} reported sanitizer errors`);
    },
  };
}

export async function req(base, method, path, { token, body, headers = {}, raw } = {}) {
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

export async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

// A signed-in account with a confirmed address; role: an instance role.
export async function newUser(d, display_name = 'Fed', { role } = {}) {
  const email = `fed-${randomUUID().slice(0, 8)}@example.org`;
  const password = 'a long enough password';
  const c = await req(d.base, 'POST', '/api/v1/accounts', { body: { email, password, display_name } });
  assert.equal(c.status, 201, c.text);
  psql(d, `UPDATE accounts SET email_verified_at = now() WHERE id = ${Number(c.body.id)}`);
  if (role) psql(d, `INSERT INTO instance_roles (account_id, role) VALUES (${Number(c.body.id)}, '${role}')`);
  const s = await req(d.base, 'POST', '/api/v1/sessions', { body: { email, password } });
  assert.equal(s.status, 201, s.text);
  return { id: c.body.id, email, password, token: s.body.token };
}

// Headers of a draft-cavage rsa-sha256 signature of a POST of body to
// host+path, by keyId with privateKey (a PEM or KeyObject); digestOf: what
// the Digest header is of (the body unless given: another body's makes a
// tampered request).
export function signed(host, path, body, { keyId, privateKey, date = new Date().toUTCString(), digestOf = body }) {
  const digest = `SHA-256=${createHash('sha256').update(digestOf).digest('base64')}`;
  const signing = `(request-target): post ${path}\nhost: ${host}\ndate: ${date}\ndigest: ${digest}`;
  const signature = createSign('sha256').update(signing).sign(privateKey, 'base64');
  return { 'Content-Type': 'application/activity+json', Date: date, Digest: digest,
    Signature: `keyId="${keyId}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"` };
}
