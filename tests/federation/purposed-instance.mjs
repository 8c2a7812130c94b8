// A Purposed instance of a federation test's own: a PostgreSQL cluster for
// the file (one database per instance), the daemon with its PUBLIC_URL and
// FETCH_ALLOW_PRIVATE (the "remote" servers listen on 127.0.0.1), and the
// HTTP and SQL helpers the tests use. Needs PURPOSED_BIN, STATIC_DIR,
// MIGRATIONS_DIR (scripts/test sets them).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import net from 'node:net';

const COMMON = fileURLToPath(new URL('../../scripts/lib/common.sh', import.meta.url));
const LSAN_SUPP = fileURLToPath(new URL('../lsan.supp', import.meta.url));
export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const sh = (script) => execFileSync('bash', ['-c', `set -e; source "${COMMON}"; ${script}`],
  { encoding: 'utf8', env: { ...process.env, PG_FSYNC: 'off' }, stdio: ['ignore', 'pipe', 'inherit'] });

export const freePort = () => new Promise((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
});

// A cluster under a temporary directory; stop() stops it and removes the directory.
export async function startCluster(name) {
  const root = mkdtempSync(`${process.env.TEST_TMP ?? '/tmp'}/${name}.`);
  const pg = { root, dir: `${root}/pg`, port: await freePort() };
  sh(`pg_start "${pg.dir}" ${pg.port}`);
  pg.url = (db) => `postgresql:///${db}?host=${pg.dir}/sock&port=${pg.port}&user=postgres`;
  pg.stop = () => {
    try { sh(`as_pg "$(pg_bindir)/pg_ctl" -D "${pg.dir}/data" -m fast -w stop >/dev/null`); } catch { /* down */ }
    if (!process.env.KEEP_TMP) rmSync(root, { recursive: true, force: true });
  };
  return pg;
}

// The daemon on port, its ids under publicUrl (the daemon's own address
// when none is given); env adds to or overrides the test settings.
export async function startInstance(pg, name, port, { publicUrl, env = {} } = {}) {
  const db = pg.url(`purposed_${name}`);
  sh(`pg_createdb "${pg.dir}" ${pg.port} purposed_${name}`);
  execFileSync(process.env.PURPOSED_BIN, ['migrate'], { env: { ...process.env, DATABASE_URL: db }, stdio: 'ignore' });
  const base = `http://127.0.0.1:${port}`;
  let log = '';
  const proc = spawn(process.env.PURPOSED_BIN, ['serve'], {
    env: {
      ...process.env, DATABASE_URL: db, PORT: String(port), PUBLIC_URL: publicUrl ?? base, AUTO_MIGRATE: '0',
      FETCH_ALLOW_PRIVATE: '1', JOB_WORKERS: '2', JOB_POLL_MS: '100', JOB_RETRY_BASE_MS: '200',
      PWHASH_OPSLIMIT: '1', PWHASH_MEMLIMIT: '8192', WRITE_RATE_PER_MINUTE: '60000', WRITE_BURST: '5000',
      SMTP_URL: '', MAIL_DIR: `${pg.root}/mail-${name}`, CHANGES_POLL_MS: '50',
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
  const sql = (q) => execFileSync('psql', [db, '-XqAt', '-c', q], { encoding: 'utf8' }).trim();
  return {
    name, base, db, sql, log: () => log,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGTERM');
      await exited;
      if (/ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/.test(log)) {
        console.error(log);
        throw new Error(`${name} reported sanitizer errors`);
      }
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
export async function newUser(d, role) {
  const email = `fed-${randomUUID().slice(0, 8)}@example.org`;
  const password = 'a long enough password';
  const c = await req(d.base, 'POST', '/api/v1/accounts', { body: { email, password, display_name: 'Fed' } });
  assert.equal(c.status, 201, c.text);
  d.sql(`UPDATE accounts SET email_verified_at = now() WHERE id = ${Number(c.body.id)}`);
  if (role) d.sql(`INSERT INTO instance_roles (account_id, role) VALUES (${Number(c.body.id)}, '${role}')`);
  const s = await req(d.base, 'POST', '/api/v1/sessions', { body: { email, password } });
  assert.equal(s.status, 201, s.text);
  return { id: c.body.id, token: s.body.token };
}
