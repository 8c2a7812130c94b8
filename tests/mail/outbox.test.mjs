// The outbox against a real SMTP server: delivery with the right MIME, a 4xx
// retried with backoff, a 5xx failing the job and suppressing the address,
// .eml files without SMTP_URL, two daemons sharing the queue, a crashed
// daemon's lease taken over, a clean stop handing the job back, a restart
// in the middle of a queue, PostgreSQL restarting, and the daily digest
// made once by two daemons; the metrics per letter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startSmtp, freshDatabase, startDaemon, enqueueMail, job, metric, until, sleep, pgStart, pgStop } from './lib.mjs';

let smtp, db;
before(async () => { smtp = await startSmtp(); db = freshDatabase(); });
after(async () => { await smtp?.stop(); db?.drop(); });

const letterMetric = (text, name, template) => {
  const m = text.match(new RegExp(`^${name}\\{template="${template}"\\} (\\d+)`, 'm'));
  return m ? Number(m[1]) : NaN;
};
const addr = (prefix = 'someone') => `${prefix}-${randomUUID().slice(0, 8)}@example.org`;
const delivered = (to) => smtp.messages().filter((m) => m.rcpt_tos.includes(to));

test('a mail job is delivered once, multipart text + HTML, with stable Message-ID and Date', async () => {
  const d = await startDaemon(db, { SMTP_URL: smtp.url, PUBLIC_URL: 'https://purposed.example' });
  try {
    const to = addr();
    const id = enqueueMail(db, { to, template: 'verify_email', vars: { name: 'Zoë “Z” <b>' }, secret: { token: 'tok3n' } });
    const [m] = await until('the message', () => delivered(to).length && delivered(to));
    await until('the job done', () => job(db, id).state === 'done');
    await sleep(500);
    assert.equal(delivered(to).length, 1, 'delivered exactly once');
    const j = job(db, id);
    assert.equal(j.attempts, 1);
    assert.equal(j.payload.secret, undefined, 'the token is removed from the finished job');
    assert.equal(m.mail_from, 'noreply@purposed.test');
    assert.deepEqual(m.rcpt_tos, [to]);
    assert.deepEqual(m.defects, [], 'Python reads the message without defects');
    assert.equal(m.content_type, 'multipart/alternative');
    assert.equal(m.headers.From, 'Purposed Tests <noreply@purposed.test>');
    assert.equal(m.headers.To, to);
    assert.equal(m.headers.Subject, 'Confirm your email address for Purposed');
    assert.equal(m.headers['Message-ID'], `<purposed.${id}.${j.createdUs}@purposed.test>`);
    assert.ok(Math.abs(Date.parse(m.headers.Date) - Date.now()) < 60000, `Date: ${m.headers.Date}`);
    assert.equal(m.headers['List-Unsubscribe'], undefined, 'transactional: no List-Unsubscribe');
    assert.match(m.text, /Hello Zoë “Z” <b>,/);
    assert.match(m.text, /https:\/\/purposed\.example\/verify-email#token=tok3n/);
    assert.match(m.html, /Hello Zoë “Z” &lt;b&gt;,/, 'the name is escaped in HTML');
    assert.match(m.html, /<a href="https:\/\/purposed\.example\/verify-email#token=tok3n">/);
    assert.match(m.raw, /Content-Transfer-Encoding: quoted-printable/);
    assert.ok(m.raw.split('\r\n').every((l) => l.length <= 78), 'no line longer than 78');
    const text = await (await fetch(d.base + '/metrics')).text();
    assert.ok(metric(text, 'jobs_done_total') >= 1, 'jobs_done_total{kind="mail"}');
    assert.equal(metric(text, 'jobs_queued'), 0);
  } finally { await d.stop(); }
});

test('a 4xx is retried with growing delays, then delivered once', async () => {
  const d = await startDaemon(db, { SMTP_URL: smtp.url });
  try {
    const to = addr('tempfail2');
    const id = enqueueMail(db, { to, template: 'password_changed', vars: { name: 'Retry' } });
    await until('the job done', () => job(db, id).state === 'done');
    assert.equal(delivered(to).length, 1);
    const tries = smtp.rcpts().filter((r) => r.address === to);
    assert.deepEqual(tries.map((r) => r.code), [451, 451, 250]);
    // JOB_RETRY_BASE_MS=300: the n-th delay is in [150·2^(n-1), 300·2^(n-1)] ms
    const gap1 = (tries[1].at - tries[0].at) * 1000, gap2 = (tries[2].at - tries[1].at) * 1000;
    assert.ok(gap1 >= 140, `first retry after ${gap1} ms`);
    assert.ok(gap2 >= 290, `second retry after ${gap2} ms`);
    assert.equal(job(db, id).attempts, 3);
    const text = await (await fetch(d.base + '/metrics')).text();
    assert.ok(metric(text, 'jobs_retried_total') >= 2);
    assert.ok(letterMetric(text, 'mail_retried_total', 'password_changed') >= 2, 'retries counted per letter');
    assert.ok(letterMetric(text, 'mail_sent_total', 'password_changed') >= 1);
  } finally { await d.stop(); }
});

test('a server that does not answer in SMTP_TIMEOUT_SECONDS is a temporary failure', async () => {
  const d = await startDaemon(db, { SMTP_URL: smtp.url, SMTP_TIMEOUT_SECONDS: '2', JOB_LEASE_SECONDS: '4' });
  try {
    const to = addr('hold1');
    const id = enqueueMail(db, { to, template: 'password_changed', vars: { name: 'Slow' } });
    await until('the job done', () => job(db, id).state === 'done');
    const [held] = smtp.holds().filter((h) => h.address === to);
    const [m] = delivered(to);
    assert.ok(m.received_at - held.at >= 2 && m.received_at - held.at < 8,
      `given up after the timeout, then sent (${m.received_at - held.at} s)`);
    assert.equal(job(db, id).attempts, 2);
    assert.equal(delivered(to).length, 1);
  } finally { await d.stop(); }
});

test('a 4xx on every try ends as failed after max_attempts', async () => {
  const d = await startDaemon(db, { SMTP_URL: smtp.url });
  try {
    const to = addr('tempfail9');
    const id = enqueueMail(db, { to, template: 'password_changed', vars: { name: 'Tired' } }, 3);
    await until('the job failed', () => job(db, id).state === 'failed');
    assert.equal(job(db, id).attempts, 3);
    assert.match(job(db, id).lastError, /451/);
    assert.equal(delivered(to).length, 0);
    assert.equal(db.sql(`SELECT count(*) FROM mail_suppressions WHERE email = '${to}'`)[0][0], '0',
      'a temporary failure suppresses nothing');
  } finally { await d.stop(); }
});

test('a 5xx fails the job at once and suppresses the address; later mail to it is not sent', async () => {
  const d = await startDaemon(db, { SMTP_URL: smtp.url });
  try {
    const to = addr('reject');
    const id = enqueueMail(db, { to, template: 'password_changed', vars: { name: 'Gone' } });
    await until('the job failed', () => job(db, id).state === 'failed');
    assert.equal(job(db, id).attempts, 1);
    assert.match(job(db, id).lastError, /550/);
    assert.equal(db.sql(`SELECT count(*) FROM mail_suppressions WHERE email = '${to}'`)[0][0], '1');
    const asked = smtp.rcpts().filter((r) => r.address === to).length;
    const id2 = enqueueMail(db, { to, template: 'password_changed', vars: { name: 'Gone' } });
    await until('the second job failed', () => job(db, id2).state === 'failed');
    assert.match(job(db, id2).lastError, /suppressed/);
    assert.equal(smtp.rcpts().filter((r) => r.address === to).length, asked, 'the server was not asked again');
    const text = await (await fetch(d.base + '/metrics')).text();
    assert.ok(metric(text, 'jobs_failed_total') >= 2);
    assert.ok(letterMetric(text, 'mail_failed_total', 'password_changed') >= 2, 'failures counted per letter');
    assert.ok(Number(text.match(/^mail_suppressions_total (\d+)/m)[1]) >= 1);
    assert.ok(Number(text.match(/^mail_suppressed_addresses (\d+)/m)[1]) >= 1);
  } finally { await d.stop(); }
});

test('without SMTP_URL each message is an .eml file in MAIL_DIR, its path logged', async () => {
  const dir = mkdtempSync(join(process.env.TEST_TMP ?? tmpdir(), 'maildir-'));
  const d = await startDaemon(db, { SMTP_URL: '', MAIL_DIR: join(dir, 'mail') });
  try {
    const to = addr();
    const id = enqueueMail(db, { to, template: 'password_reset', secret: { token: 'abc' } });
    const path = join(dir, 'mail', `job-${id}.eml`);
    await until('the .eml file', () => existsSync(path) && job(db, id).state === 'done');
    const eml = readFileSync(path, 'utf8');
    assert.match(eml, new RegExp(`^To: <${to}>\r$`, 'm'));
    assert.match(eml, /^Subject: Reset your Purposed password\r$/m);
    assert.match(eml, /reset-password#token=3Dabc/, 'the link, quoted-printable');
    await until('the path logged', () => d.log().includes(path));
    assert.equal(smtp.messages().filter((m) => m.rcpt_tos.includes(to)).length, 0);
  } finally { await d.stop(); rmSync(dir, { recursive: true, force: true }); }
});

test('two daemons share the queue: every message once, both did work', async () => {
  const slow = await startSmtp({ delayMs: 40 });
  const a = await startDaemon(db, { SMTP_URL: slow.url, JOB_WORKERS: '3' });
  const b = await startDaemon(db, { SMTP_URL: slow.url, JOB_WORKERS: '3' });
  try {
    const n = 60, tos = [];
    const values = [];
    for (let i = 0; i < n; i++) {
      const to = addr(`share${i}`);
      tos.push(to);
      values.push(`('mail', jsonb_build_object('to', '${to}', 'template', 'password_changed', 'vars', jsonb_build_object('name', 'N${i}')))`);
    }
    db.sql(`INSERT INTO jobs (kind, payload) VALUES ${values.join(',')}`);
    await until('all delivered', () => slow.messages().length >= n, 60000);
    await sleep(1000);
    const msgs = slow.messages();
    assert.equal(msgs.length, n, 'no message twice');
    assert.deepEqual(msgs.flatMap((m) => m.rcpt_tos).sort(), tos.sort());
    assert.equal(new Set(msgs.map((m) => m.headers['Message-ID'])).size, n);
    const by = db.sql(`SELECT leased_by, count(*) FROM jobs WHERE payload->>'to' LIKE 'share%' GROUP BY 1`);
    assert.equal(by.length, 2, `both daemons claimed jobs: ${JSON.stringify(by)}`);
  } finally { await a.stop(); await b.stop(); await slow.stop(); }
});

test("a crashed daemon's job is taken over when its lease expires, and sent once", async () => {
  const a = await startDaemon(db, { SMTP_URL: smtp.url });
  const to = addr('hold1');
  const id = enqueueMail(db, { to, template: 'password_changed', vars: { name: 'Crash' } });
  await until('the server holding the message', () => smtp.holds().some((h) => h.address === to));
  a.proc.kill('SIGKILL');
  await a.exited;
  assert.equal(job(db, id).state, 'running', 'the dead daemon still holds the lease');
  const b = await startDaemon(db, { SMTP_URL: smtp.url });
  try {
    await until('the job done by the other daemon', () => job(db, id).state === 'done', 30000);
    assert.equal(job(db, id).attempts, 2);
    assert.equal(delivered(to).length, 1);
    await until('the takeover logged', () => /"event":"job_lease_expired"/.test(b.log()));
  } finally { await b.stop(); }
});

test('SIGTERM while sending: the daemon exits 0 soon and hands the job back unspent', async () => {
  const a = await startDaemon(db, { SMTP_URL: smtp.url });
  const to = addr('hold1');
  const id = enqueueMail(db, { to, template: 'password_changed', vars: { name: 'Stop' } });
  await until('the server holding the message', () => smtp.holds().some((h) => h.address === to));
  const t0 = Date.now();
  const { code } = await a.stop();
  assert.equal(code, 0);
  assert.ok(Date.now() - t0 < 4000, `stopped in ${Date.now() - t0} ms`);
  const j = job(db, id);
  assert.equal(j.state, 'queued');
  assert.equal(j.attempts, 0, 'the interrupted attempt is not counted');
  const b = await startDaemon(db, { SMTP_URL: smtp.url });
  try {
    await until('delivered by the next daemon', () => job(db, id).state === 'done');
    assert.equal(delivered(to).length, 1);
  } finally { await b.stop(); }
});

test('PostgreSQL restarting mid-queue: nothing lost, nothing sent twice', async () => {
  const slow = await startSmtp({ delayMs: 100 });
  const d = await startDaemon(db, { SMTP_URL: slow.url, JOB_WORKERS: '2' });
  try {
    const n = 30, tos = [];
    const values = [];
    for (let i = 0; i < n; i++) {
      const to = addr(`restart${i}`);
      tos.push(to);
      values.push(`('mail', jsonb_build_object('to', '${to}', 'template', 'password_changed', 'vars', jsonb_build_object('name', 'R${i}')))`);
    }
    db.sql(`INSERT INTO jobs (kind, payload) VALUES ${values.join(',')}`);
    await until('some sent', () => slow.messages().length >= 5);
    pgStop();
    await sleep(1500);
    pgStart();
    await until('all delivered', () => slow.messages().length >= n, 60000);
    await until('all recorded done', () =>
      db.sql(`SELECT count(*) FROM jobs WHERE payload->>'to' LIKE 'restart%' AND state = 'done'`)[0][0] === String(n), 30000);
    await sleep(1000);
    const got = slow.messages().flatMap((m) => m.rcpt_tos).sort();
    assert.deepEqual(got, tos.sort(), 'every message once');
  } finally { await d.stop(); await slow.stop(); }
});

test('a daemon stopped in the middle of a queue and started again: every message once', async () => {
  const slow = await startSmtp({ delayMs: 100 });
  const a = await startDaemon(db, { SMTP_URL: slow.url, JOB_WORKERS: '2' });
  const n = 30, tos = [];
  const values = [];
  for (let i = 0; i < n; i++) {
    const to = addr(`again${i}`);
    tos.push(to);
    values.push(`('mail', jsonb_build_object('to', '${to}', 'template', 'password_changed', 'vars', jsonb_build_object('name', 'A${i}')))`);
  }
  db.sql(`INSERT INTO jobs (kind, payload) VALUES ${values.join(',')}`);
  await until('some sent', () => slow.messages().length >= 5);
  const { code } = await a.stop();
  assert.equal(code, 0);
  const sentBefore = slow.messages().length;
  assert.ok(sentBefore < n, `the queue was cut in the middle (${sentBefore} of ${n})`);
  const depth = Number(db.sql(`SELECT count(*) FROM jobs WHERE payload->>'to' LIKE 'again%' AND state = 'queued'`)[0][0]);
  assert.equal(depth, n - sentBefore, 'the rest waits in the outbox, none held');
  const b = await startDaemon(db, { SMTP_URL: slow.url, JOB_WORKERS: '2' });
  try {
    const text = await (await fetch(b.base + '/metrics')).text();
    assert.ok(letterMetric(text, 'mail_queued', 'password_changed') >= 1, 'the depth is in /metrics');
    await until('all delivered', () => slow.messages().length >= n, 60000);
    await until('all recorded done', () =>
      db.sql(`SELECT count(*) FROM jobs WHERE payload->>'to' LIKE 'again%' AND state = 'done'`)[0][0] === String(n), 30000);
    await sleep(1000);
    assert.deepEqual(slow.messages().flatMap((m) => m.rcpt_tos).sort(), tos.sort(), 'every message once');
  } finally { await b.stop(); await slow.stop(); }
});

test('two daemons and a burst of notifications for a daily digest: one digest, every line once', async () => {
  const env = { SMTP_URL: smtp.url, DIGEST_INTERVAL_SECONDS: '3', JOB_WORKERS: '3' };
  const a = await startDaemon(db, env);
  const b = await startDaemon(db, env);
  try {
    const to = addr('digest');
    const [[id]] = db.sql(`INSERT INTO accounts (email, password_hash, display_name, email_verified_at)
      VALUES ('${to}', 'x', 'Digest Reader', now()) RETURNING id`);
    db.sql(`INSERT INTO notification_mail_preferences (account_id, kind, delivery) VALUES (${id}, 'engagement_posted', 'daily')`);
    // twenty notifications in ten transactions while both daemons run their digest jobs
    db.sql(Array.from({ length: 10 }, (_, i) => `BEGIN; INSERT INTO notifications (account_id, kind, message) VALUES
      (${id}, 'engagement_posted', 'Line ${2 * i}'), (${id}, 'engagement_posted', 'Line ${2 * i + 1}'); COMMIT;`).join(' '));
    const started = Date.now();
    const [m] = await until('the digest', () => delivered(to).length && delivered(to), 20000);
    assert.equal(m.headers.Subject, 'Purposed: your daily digest (20 new)');
    assert.ok(Date.now() - started > 500, 'it waited for the interval');
    for (let i = 0; i < 10; i++) assert.match(m.text, new RegExp(`- Line ${i}\\r?\\n`));
    assert.match(m.text, /- and 10 more/, 'at most ten lines shown per kind');
    await sleep(3500);
    assert.equal(delivered(to).length, 1, 'one digest');
    assert.equal(db.sql(`SELECT count(*) FROM notification_digest_items WHERE account_id = ${id}`)[0][0], '0');
    const [[last, job]] = db.sql(`SELECT last_sent_at IS NOT NULL, coalesce(job_id::text, '') FROM notification_digests WHERE account_id = ${id}`);
    assert.deepEqual([last, job], ['t', ''], 'sent, and no digest job left waiting');
    const counts = await Promise.all([a, b].map(async (d) => letterMetric(await (await fetch(d.base + '/metrics')).text(), 'mail_sent_total', 'digest')));
    assert.equal(counts[0] + counts[1], 1, 'one daemon sent it');
  } finally { await a.stop(); await b.stop(); }
});
