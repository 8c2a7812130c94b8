// lib: what the fault tests share — daemons of their own, requests against
// a given base URL, and stopping/starting the test PostgreSQL cluster with
// the options scripts/lib/common.sh uses (as the postgres user when root).
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startDaemon as startApiDaemon } from '../api/helpers.mjs';

const COMMON = fileURLToPath(new URL('../../scripts/lib/common.sh', import.meta.url));
const LSAN_SUPP = fileURLToPath(new URL('../lsan.supp', import.meta.url));

// A daemon of our own (see tests/api/helpers.mjs), with the LeakSanitizer
// suppressions also when run outside scripts/test.
export function startDaemon(env = {}) {
  return startApiDaemon({ LSAN_OPTIONS: process.env.LSAN_OPTIONS ?? `suppressions=${LSAN_SUPP}`, ...env });
}

export async function req(base, method, path, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  let body;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(opts.timeout ?? 20000) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  return { status: res.status, headers: res.headers, body: json, text };
}

// A new account and a bearer token on the daemon at base.
export async function newUser(base) {
  const email = `fault-${randomUUID().slice(0, 8)}@example.org`;
  const password = 'a long enough password';
  const created = await req(base, 'POST', '/api/v1/accounts', { body: { email, password, display_name: 'Fault' } });
  if (created.status !== 201) throw new Error(`sign up: ${created.status} ${created.text}`);
  // verified, as if the mailed link had been followed (see tests/api/helpers.mjs)
  sql(`UPDATE accounts SET email_verified_at = now() WHERE id = ${Number(created.body.id)}`);
  const s = await req(base, 'POST', '/api/v1/sessions', { body: { email, password } });
  if (s.status !== 201) throw new Error(`sign in: ${s.status} ${s.text}`);
  return { id: created.body.id, email, password, token: s.body.token };
}

export function sql(query) {
  return execFileSync('psql', [process.env.DATABASE_URL, '-XqAt', '-c', query], { encoding: 'utf8' }).trim();
}

function pgShell(fn) {
  const { PG_DIR, PG_PORT } = process.env;
  if (!PG_DIR || !PG_PORT) throw new Error('PG_DIR and PG_PORT must be set (scripts/test or scripts/dev-env)');
  execFileSync('bash', ['-c', `source "${COMMON}"; ${fn} "$PG_DIR" "$PG_PORT"`],
    { env: { ...process.env, PG_FSYNC: 'off' }, stdio: ['ignore', 'ignore', 'inherit'] });
}
export const pgStop = () => pgShell('pg_stop');
export const pgStart = () => pgShell('pg_start');
export function pgRunning() {
  try {
    execFileSync('psql', [process.env.DATABASE_URL, '-XqAt', '-c', 'SELECT 1'], { stdio: 'ignore' });
    return true;
  } catch { return false; }
}

// Hold a lock from a separate psql session (taken when this resolves) until
// release() ends that session from the server side (pg_sleep would not
// notice a client that went away).
export async function holdLock(statement) {
  const app = `fault-lock-${randomUUID().slice(0, 8)}`;
  const proc = spawn('psql', [process.env.DATABASE_URL, '-Xq', '-v', 'ON_ERROR_STOP=1'],
    { stdio: ['pipe', 'ignore', 'ignore'], env: { ...process.env, PGAPPNAME: app } });
  proc.stdin.write(`BEGIN; ${statement}; SELECT pg_sleep(60);\n`);
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  await until('the lock', () => sql(`SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
    WHERE a.application_name = '${app}' AND l.granted AND l.mode = 'AccessExclusiveLock'`) !== '0');
  return {
    async release() {
      sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '${app}'`);
      proc.stdin.destroy();
      await exited;
    },
  };
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(what, fn, ms = 15000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

export function metric(text, name) {
  const m = text.match(new RegExp(`^${name} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}
