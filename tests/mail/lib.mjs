// lib: what the mail tests share — a real SMTP server process (aiosmtpd,
// tests/mail/smtp-server.py), a database of their own on the test cluster
// (so no other daemon's workers take their jobs), and daemons on it.
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import { startDaemon as startApiDaemon } from '../api/helpers.mjs';

// Stopping and starting the test cluster (as tests/faults do).
export { pgStart, pgStop } from '../faults/lib.mjs';

const SERVER = fileURLToPath(new URL('./smtp-server.py', import.meta.url));
const LSAN_SUPP = fileURLToPath(new URL('../lsan.supp', import.meta.url));
// Debian's python3 has python3-aiosmtpd; a python3 earlier on PATH may not.
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try { last = await fn(); if (last) return last; } catch (e) { last = e; }
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what} (last: ${last})`);
}

export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// The SMTP server: {port, url, dir, messages(), rcpts(), holds(), stop()}.
export async function startSmtp({ delayMs = 0 } = {}) {
  const port = await freePort();
  const dir = mkdtempSync(join(process.env.TEST_TMP ?? tmpdir(), 'smtp-'));
  const args = [SERVER, String(port), dir];
  if (delayMs) args.push(`--delay-ms=${delayMs}`);
  const proc = spawn(PYTHON, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    proc.stdout.on('data', (d) => { if (String(d).includes('ready')) resolve(); });
    proc.on('exit', (code) => reject(new Error(`the SMTP server exited (${code}): is python3-aiosmtpd installed?`)));
  });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  const lines = (name) => {
    const p = join(dir, name);
    return existsSync(p) ? readFileSync(p, 'utf8').split('\n').filter(Boolean).map((l) => l.split(' ')) : [];
  };
  return {
    port, dir,
    url: `smtp://127.0.0.1:${port}?tls=none`,
    messages: () => readdirSync(dir).filter((f) => /^\d+\.json$/.test(f)).sort()
      .map((f) => JSON.parse(readFileSync(join(dir, f), 'utf8'))),
    // [{at, address, code}] for every RCPT the server answered
    rcpts: () => lines('rcpt.log').map(([at, address, code]) => ({ at: Number(at), address, code: Number(code) })),
    holds: () => lines('hold.log').map(([at, address]) => ({ at: Number(at), address })),
    async stop() { proc.kill('SIGTERM'); await exited; rmSync(dir, { recursive: true, force: true }); },
  };
}

// A database of our own on the cluster of DATABASE_URL, migrated:
// {url, sql(query) -> rows of strings, drop()}.
export function freshDatabase() {
  const base = process.env.DATABASE_URL;
  if (!base || !process.env.PURPOSED_BIN) throw new Error('DATABASE_URL and PURPOSED_BIN must be set (scripts/test or scripts/dev-env)');
  const name = `purposed_mail_${randomUUID().slice(0, 8)}`;
  const admin = base.replace(/^(postgres(?:ql)?:\/\/[^/]*\/)[^?]*/, '$1postgres');
  const url = base.replace(/^(postgres(?:ql)?:\/\/[^/]*\/)[^?]*/, `$1${name}`);
  execFileSync('psql', [admin, '-XqAt', '-c', `CREATE DATABASE ${name}`], { stdio: 'ignore' });
  execFileSync(process.env.PURPOSED_BIN, ['migrate'], { env: { ...process.env, DATABASE_URL: url }, stdio: 'ignore' });
  const sql = (query) => execFileSync('psql', [url, '-XqAt', '-F', '\t', '-c', query], { encoding: 'utf8' })
    .split('\n').filter((l) => l.length).map((l) => l.split('\t'));
  return {
    url, sql,
    drop() { execFileSync('psql', [admin, '-XqAt', '-c', `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`], { stdio: 'ignore' }); },
  };
}

// Quick retries and short leases, so the tests take seconds.
export const FAST = {
  JOB_POLL_MS: '100', JOB_RETRY_BASE_MS: '300', JOB_RETRY_MAX_SECONDS: '5',
  JOB_LEASE_SECONDS: '6', SMTP_TIMEOUT_SECONDS: '5', MAIL_FROM: 'Purposed Tests <noreply@purposed.test>',
};

// A daemon on db with the given environment (see tests/api/helpers.mjs);
// stop() also fails on anything the sanitizers reported.
export async function startDaemon(db, env = {}) {
  const d = await startApiDaemon({
    LSAN_OPTIONS: process.env.LSAN_OPTIONS ?? `suppressions=${LSAN_SUPP}`,
    DATABASE_URL: db.url, CACHE_MB: '0', ...FAST, ...env,
  });
  const stop = d.stop.bind(d);
  d.stop = async () => {
    const result = await stop();
    if (/ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:/.test(d.log())) {
      throw new Error(`the daemon reported sanitizer errors:\n${d.log().slice(-4000)}`);
    }
    return result;
  };
  return d;
}

// Enqueue a mail job the way a handler's statement does; returns its id.
export function enqueueMail(db, payload, maxAttempts = 10) {
  const json = JSON.stringify(payload).replace(/'/g, "''");
  return db.sql(`SELECT job_enqueue('mail', '${json}'::jsonb, now(), ${maxAttempts})`)[0][0];
}

export function job(db, id) {
  const [row] = db.sql(`SELECT state, attempts, coalesce(last_error, ''), payload::text, leased_by,
    (extract(epoch FROM created_at) * 1000000)::bigint FROM jobs WHERE id = ${Number(id)}`);
  if (!row) return null;
  const [state, attempts, lastError, payload, leasedBy, createdUs] = row;
  return { state, attempts: Number(attempts), lastError, payload: JSON.parse(payload), leasedBy, createdUs };
}

export function metric(text, name, kind = 'mail') {
  const m = text.match(new RegExp(`^${name}\\{kind="${kind}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
}
