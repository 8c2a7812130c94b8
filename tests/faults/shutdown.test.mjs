// shutdown: SIGTERM lets requests in flight finish (a half-sent body, a
// password hash on the slow pool, changes queued on the write pool), refuses
// new connections, and exits 0.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { holdLock, metric, newUser, req, sql, sleep, startDaemon, until } from './lib.mjs';

const inFlight = async (base) => metric((await req(base, 'GET', '/metrics')).text, 'http_requests_in_flight');
const suspended = async (base) => metric((await req(base, 'GET', '/metrics')).text, 'http_requests_suspended');

async function clean(d) {
  const { code, signal } = await Promise.race([d.exited, sleep(20000).then(() => ({ code: 'timeout' }))]);
  assert.equal(signal ?? null, null, 'killed by a signal');
  assert.equal(code, 0, `exit code; log:\n${d.log().slice(-2000)}`);
  assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
}

function connectRefused(port) {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => { s.destroy(); resolve(false); });
    s.on('error', () => resolve(true));
  });
}

test('SIGTERM while a request body is half sent: the request completes, then exit 0', async () => {
  const d = await startDaemon({ LOG_REQUESTS: '0' });
  try {
    const email = `slow-${Date.now()}@example.org`;
    const body = JSON.stringify({ email, password: 'a long enough password', display_name: 'Slow' });
    const half = Math.floor(body.length / 2);
    const sock = net.connect(d.port, '127.0.0.1');
    let response = '';
    sock.on('data', (b) => { response += b.toString('latin1'); });
    const closed = new Promise((resolve) => sock.on('close', resolve));
    sock.on('error', () => {});
    sock.write(`POST /api/v1/accounts HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body.slice(0, half)}`);
    await until('the request to be in flight', async () => (await inFlight(d.base)) >= 2);
    d.proc.kill('SIGTERM');
    await sleep(400);
    assert.equal(d.proc.exitCode, null, 'exited with a request in flight');
    assert.ok(await connectRefused(d.port), 'new connections must be refused while draining');
    sock.write(body.slice(half));
    await closed;
    assert.match(response, /^HTTP\/1\.1 201 /, response.slice(0, 200));
    assert.equal(sql(`SELECT count(*) FROM accounts WHERE email = '${email}'`), '1');
  } finally {
    if (d.proc.exitCode === null) d.proc.kill('SIGTERM');
    await clean(d);
  }
});

test('SIGTERM while a password is being hashed: the answer still comes, then exit 0', async () => {
  // expensive hashing so the request sits suspended on the slow pool
  const d = await startDaemon({ LOG_REQUESTS: '0', PWHASH_OPSLIMIT: '4', PWHASH_MEMLIMIT: String(256 * 1024 * 1024) });
  try {
    const email = `hash-${Date.now()}@example.org`;
    const pending = req(d.base, 'POST', '/api/v1/accounts',
      { body: { email, password: 'a long enough password', display_name: 'Hash' }, timeout: 30000 });
    await until('the request to be suspended', async () => (await suspended(d.base)) >= 1, 10000);
    d.proc.kill('SIGTERM');
    const res = await pending;
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.email, email);
    assert.equal(sql(`SELECT count(*) FROM accounts WHERE email = '${email}'`), '1');
  } finally {
    if (d.proc.exitCode === null) d.proc.kill('SIGTERM');
    await clean(d);
  }
});

test('SIGTERM while changes wait on the write pool: every one is answered and stored, then exit 0', async () => {
  const d = await startDaemon({ LOG_REQUESTS: '0', WRITE_WORKERS: '2' });
  let lock;
  try {
    const u = await newUser(d.base);
    const purpose = await req(d.base, 'POST', '/api/v1/purposes', { token: u.token, body: { name: `Shutdown ${Date.now()}`, description: 'A cause.' } });
    assert.equal(purpose.status, 201, purpose.text);
    const slug = `shutdown-${Date.now()}`;
    const org = await req(d.base, 'POST', '/api/v1/organisations', {
      token: u.token,
      body: { name: `Org ${slug}`, slug, purpose_statement: 'Do good.', purposes: [purpose.body.slug], legal_form: 'nonprofit', governance: 'consent_based' },
    });
    assert.equal(org.status, 201, org.text);
    // the inserts block on the table lock: two on the workers, the rest queued
    lock = await holdLock('LOCK TABLE engagements IN ACCESS EXCLUSIVE MODE');
    const posts = Array.from({ length: 12 }, (_, i) => req(d.base, 'POST', `/api/v1/organisations/${slug}/engagements`, {
      token: u.token, timeout: 30000,
      body: { title: `Queued ${i}`, description: 'Waits for the lock.', purposes: [purpose.body.slug], packagings: ['volunteer'], hours_per_week: 2, rewards: { non_cash: [] } },
    }));
    await until('the changes to be suspended', async () => (await suspended(d.base)) >= 12, 10000);
    d.proc.kill('SIGTERM');
    await sleep(300);
    assert.equal(d.proc.exitCode, null, 'exited with changes in flight');
    await lock.release();
    lock = null;
    const answers = await Promise.all(posts);
    for (const a of answers) assert.equal(a.status, 201, a.text);
    assert.equal(sql(`SELECT count(*) FROM engagements e JOIN organisations o ON o.id = e.organisation_id WHERE o.slug = '${slug}'`), '12');
  } finally {
    if (lock) await lock.release();
    if (d.proc.exitCode === null) d.proc.kill('SIGTERM');
    await clean(d);
  }
});

test('an idle keep-alive connection does not hold up shutdown', async () => {
  const d = await startDaemon({ LOG_REQUESTS: '0' });
  const sock = net.connect(d.port, '127.0.0.1');
  sock.on('error', () => {});
  try {
    let got = '';
    sock.on('data', (b) => { got += b; });
    sock.write('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n');
    await until('the keep-alive answer', () => got.includes('"ok"'));
    const t0 = Date.now();
    d.proc.kill('SIGTERM');
    await clean(d);
    assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
  } finally {
    sock.destroy();
    if (d.proc.exitCode === null) d.proc.kill('SIGKILL');
  }
});
