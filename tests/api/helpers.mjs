// helpers: what every API test needs — the base URL, JSON requests, a fresh
// signed-in user, and SQL against the test database through psql.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { checkExchange } from './openapi-check.mjs';

export const BASE = process.env.BASE_URL ?? 'http://127.0.0.1:8080';

// Every answer of a daemon under test (BASE, and those startDaemon starts)
// is held against the OpenAPI document (openapi-check.mjs): fetch is wrapped
// once, here, so each test file's requests are checked whether they go
// through api() or fetch. A mismatch fails the request that found it;
// with OPENAPI_CHECK_LOG=FILE it is written there instead (to see every
// mismatch of a run at once), and OPENAPI_CHECK=off turns the check off.
const daemons = new Set([new URL(BASE).origin]);
const realFetch = globalThis.fetch;
if (!globalThis.fetch.openapiChecked && process.env.OPENAPI_CHECK !== 'off') {
  const checked = async (input, init = {}) => {
    const req = new Request(input, init);
    const url = new URL(req.url);
    const res = await realFetch(input, init);
    if (!daemons.has(url.origin)) return res;
    const text = await res.clone().text();
    const body = typeof init.body === 'string' ? init.body : undefined;
    const problems = checkExchange({
      method: req.method, path: url.pathname, query: url.searchParams, rawQuery: url.search.slice(1), headers: req.headers, body,
    }, { status: res.status, headers: res.headers, text });
    if (problems.length && process.env.OPENAPI_CHECK_LOG) {
      const { appendFileSync } = await import('node:fs');
      appendFileSync(process.env.OPENAPI_CHECK_LOG, JSON.stringify({ file: process.argv[1], req: `${req.method} ${url.pathname}${url.search}`, body: body?.slice(0, 300), problems }) + '\n');
    } else if (problems.length) throw new Error(`the OpenAPI document and the answer disagree:\n  ${req.method} ${url.pathname}${url.search}\n  ${problems.join('\n  ')}`);
    return res;
  };
  checked.openapiChecked = true;
  globalThis.fetch = checked;
}

// api(method, path, {body, token, headers, raw, base}) -> {status, headers, body, text}
// base: another daemon's URL (startDaemon's .base) instead of BASE_URL.
export async function api(method, path, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  let body;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] ??= 'application/json';
  }
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await fetch((opts.base ?? BASE) + path, { method, headers, body, redirect: 'manual' });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = null; }
  if (json && res.headers.get('content-type') === 'application/problem+json') checkProblem(res.status, json);
  return { status: res.status, headers: res.headers, body: json, text };
}

// A value of /metrics as a number (NaN when absent), of BASE or of another
// daemon (startDaemon's .base).
export async function metric(name, base = BASE) {
  const text = await (await fetch(base + '/metrics')).text();
  const m = text.match(new RegExp(`^${name} (\\S+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

// Every problem the daemon answers is one of the error catalogue
// (lib/problems.def, listed in static/openapi.json as x-problem-types):
// its type, status and title exactly, and the status of the response.
const problemTypes = new Map(JSON.parse(readFileSync(new URL('../../static/openapi.json', import.meta.url), 'utf8'))
  .components.schemas.Problem['x-problem-types'].map((p) => [p.type, p]));
export function checkProblem(status, body) {
  const known = problemTypes.get(body.type);
  if (!known || known.status !== status || body.status !== status || known.title !== body.title) {
    throw new Error(`problem not in the catalogue (lib/problems.def): ${status} ${JSON.stringify(body)}`);
  }
}

export const unique = (prefix = 'u') => `${prefix}-${randomUUID().slice(0, 8)}`;

// A new account with a session: {id, email, password, token, csrf, cookie}.
// Its email address is taken as verified (set in the database, as if the
// mailed link had been followed) unless { verified: false }: proposing
// agreements and posting engagements need it (tests/api/email.test.mjs
// follows the real link).
export async function newUser(name = 'Test User', { verified = true } = {}) {
  const email = `${unique('user')}@example.org`;
  const password = 'a long enough password';
  const created = await api('POST', '/api/v1/accounts', { body: { email, password, display_name: name } });
  if (created.status !== 201) throw new Error(`sign up failed: ${created.status} ${created.text}`);
  if (verified) sql(`UPDATE accounts SET email_verified_at = now() WHERE id = ${Number(created.body.id)}`);
  const res = await fetch(BASE + '/api/v1/sessions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email, password }),
  });
  const s = await res.json();
  if (res.status !== 201) throw new Error(`sign in failed: ${res.status}`);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  return { id: created.body.id, email, password, name, token: s.token, csrf: s.csrf_token, cookie };
}

// Make user a member of the organisation: the owner asks (202), the user
// accepts (201). Returns the membership as the accept answers it.
export async function addMember(owner, slug, user, role = 'member') {
  const asked = await api('POST', `/api/v1/organisations/${slug}/members`, { token: owner.token, body: { email: user.email, role } });
  if (asked.status !== 202) throw new Error(`adding a member failed: ${asked.status} ${asked.text}`);
  const accepted = await api('POST', `/api/v1/me/invitations/${slug}/accept`, { token: user.token });
  if (accepted.status !== 201) throw new Error(`accepting failed: ${accepted.status} ${accepted.text}`);
  return accepted.body;
}

// Run SQL in the test database; returns rows as arrays of strings.
export function sql(query) {
  const out = execFileSync('psql', [process.env.DATABASE_URL, '-XqAt', '-F', '\t', '-c', query],
    { encoding: 'utf8' });
  return out.split('\n').filter((l) => l.length).map((l) => l.split('\t'));
}

export function problemFields(res) {
  return (res.body?.errors ?? []).map((e) => e.field).sort();
}

// Poll fn until it returns something truthy (returned) or ms pass (an
// error naming what was awaited): waiting for a condition, never a fixed sleep.
export async function until(what, fn, ms = 10000) {
  const end = Date.now() + ms;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${last})`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Start an extra daemon on a free port with extra environment (for tests of
// limits and shutdown). Returns {base, port, proc, log(), stop()}.
export async function startDaemon(env = {}) {
  const { spawn } = await import('node:child_process');
  const net = await import('node:net');
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
  let log = '';
  const proc = spawn(process.env.PURPOSED_BIN, ['serve'], {
    env: { ...process.env, PORT: String(port), AUTO_MIGRATE: '0', ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  proc.stderr.on('data', (d) => { log += d; });
  const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
  const base = `http://127.0.0.1:${port}`;
  daemons.add(base);
  for (let i = 0; i < 100 && proc.exitCode === null; i++) {
    try { if ((await fetch(base + '/healthz')).ok) break; } catch { /* not yet */ }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base, port, proc, log: () => log, exited,
    async stop() { if (proc.exitCode === null) proc.kill('SIGTERM'); return exited; },
  };
}

// ---------- mail ----------
// The daemon under test sends through the test SMTP server of scripts/test
// or scripts/dev-env (tests/mail/smtp-server.py), which writes every message
// it accepts to SMTP_DIR as JSON: {rcpt_tos, headers, text, html, raw, ...}.
// With subject, only the messages with that subject count.
export async function mailsTo(address, { count = 1, timeout = 15000, subject } = {}) {
  const { readdirSync, readFileSync } = await import('node:fs');
  const dir = process.env.SMTP_DIR;
  if (!dir) throw new Error('SMTP_DIR is not set: run the daemon with scripts/test or scripts/dev-env');
  const end = Date.now() + timeout;
  for (;;) {
    const found = readdirSync(dir).filter((f) => /^\d+\.json$/.test(f)).sort()
      .map((f) => JSON.parse(readFileSync(`${dir}/${f}`, 'utf8')))
      .filter((m) => m.rcpt_tos.includes(address) && (!subject || m.headers.Subject === subject));
    if (found.length >= count || Date.now() > end) return found;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const LINK_SUBJECTS = { '/verify-email': 'Confirm your email address for Purposed', '/reset-password': 'Reset your Purposed password' };

// The token in the count-th message to address with a link to path
// ("/verify-email", "/reset-password"), waiting for it.
export async function mailedToken(address, path, count = 1) {
  const mails = await mailsTo(address, { count, subject: LINK_SUBJECTS[path] });
  if (mails.length < count) throw new Error(`no message ${count} with a ${path} link to ${address}`);
  const m = mails[count - 1].text.match(new RegExp(`${path}#token=([A-Za-z0-9_-]+)`));
  if (!m) throw new Error(`no ${path} link in the message to ${address}`);
  return m[1];
}

// Follow the verification link mailed to a new account, as its owner would.
export async function verifyEmail(address) {
  const token = await mailedToken(address, '/verify-email');
  const res = await api('POST', '/api/v1/email-verifications', { body: { token } });
  if (res.status !== 200) throw new Error(`verification failed: ${res.status} ${res.text}`);
  return res.body;
}
