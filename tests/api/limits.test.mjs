// limits: CORS is closed unless configured; writes are rate-limited per
// client address (429 + Retry-After); behind TRUSTED_PROXY the address comes
// from X-Forwarded-For. Each test starts its own daemon with its settings.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startDaemon } from './helpers.mjs';

async function req(base, method, path, headers = {}, body) {
  const res = await fetch(base + path, {
    method, headers: body ? { 'Content-Type': 'application/json', ...headers } : headers,
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: res.status, headers: res.headers, text: await res.text() };
}

async function stopClean(d) {
  const { code } = await d.stop();
  assert.equal(code, 0, d.log().slice(-3000));
  assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
}

test('CORS is closed by default: no Access-Control headers, preflight gives nothing away', async () => {
  const d = await startDaemon({ CORS_ORIGINS: '' });
  try {
    const get = await req(d.base, 'GET', '/api/v1/purposes', { Origin: 'https://evil.example' });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), null);
    const pre = await req(d.base, 'OPTIONS', '/api/v1/purposes', {
      Origin: 'https://evil.example', 'Access-Control-Request-Method': 'POST',
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    assert.equal(pre.headers.get('access-control-allow-methods'), null);
  } finally { await stopClean(d); }
});

test('CORS allow-list: listed origins get the headers, others do not', async () => {
  const d = await startDaemon({ CORS_ORIGINS: 'https://app.example, http://localhost:3000' });
  try {
    const ok = await req(d.base, 'GET', '/api/v1/purposes', { Origin: 'https://app.example' });
    assert.equal(ok.headers.get('access-control-allow-origin'), 'https://app.example');
    assert.match(ok.headers.get('vary') ?? '', /Origin/);
    assert.match(ok.headers.get('access-control-expose-headers'), /ETag/);
    const pre = await req(d.base, 'OPTIONS', '/api/v1/organisations', {
      Origin: 'http://localhost:3000', 'Access-Control-Request-Method': 'PATCH',
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), 'http://localhost:3000');
    assert.match(pre.headers.get('access-control-allow-methods'), /PATCH/);
    assert.match(pre.headers.get('access-control-allow-headers'), /If-Match/);
    const other = await req(d.base, 'GET', '/api/v1/purposes', { Origin: 'https://app.example.evil' });
    assert.equal(other.headers.get('access-control-allow-origin'), null);
  } finally { await stopClean(d); }
});

test('a bad CORS_ORIGINS stops the daemon at start with a message naming it', async () => {
  const d = await startDaemon({ CORS_ORIGINS: 'app.example' });
  const { code } = await d.exited;
  assert.notEqual(code, 0);
  assert.match(d.log(), /CORS_ORIGINS/);
});

test('writes beyond WRITE_RATE_PER_MINUTE are 429 with Retry-After; reads are not limited', async () => {
  const d = await startDaemon({ WRITE_RATE_PER_MINUTE: '6', WRITE_BURST: '3' });
  try {
    const statuses = [];
    let limited;
    for (let i = 0; i < 5; i++) {
      const r = await req(d.base, 'POST', '/api/v1/accounts', {}, { email: 'not-an-email' });
      statuses.push(r.status);
      if (r.status === 429) limited = r;
    }
    assert.deepEqual(statuses, [422, 422, 422, 429, 429]);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(limited.headers.get('content-type'), 'application/problem+json');
    assert.equal(JSON.parse(limited.text).status, 429);
    for (let i = 0; i < 10; i++) assert.equal((await req(d.base, 'GET', '/api/v1/purposes')).status, 200);
  } finally { await stopClean(d); }
});

test('behind TRUSTED_PROXY each forwarded client has its own write budget; others cannot spoof it', async () => {
  const d = await startDaemon({ WRITE_RATE_PER_MINUTE: '6', WRITE_BURST: '1', TRUSTED_PROXY: '127.0.0.1' });
  try {
    const post = (xff) => req(d.base, 'POST', '/api/v1/accounts', xff ? { 'X-Forwarded-For': xff } : {}, { email: 'x' });
    assert.equal((await post('203.0.113.1')).status, 422);
    assert.equal((await post('203.0.113.1')).status, 429);
    assert.equal((await post('203.0.113.2')).status, 422);
    // the client's own claim before the proxy's entry is ignored
    assert.equal((await post('198.51.100.9, 203.0.113.1')).status, 429);
    // garbage falls back to the proxy's address
    assert.equal((await post('not-an-ip')).status, 422);
    assert.equal((await post('also-not-an-ip')).status, 429);
  } finally { await stopClean(d); }
});

// A random documentation-range address, so reruns on one database do not meet.
const someAddress = (prefix) => `${prefix}.${1 + Math.floor(Math.random() * 250)}`;

test('sign-in throttle is per account AND address: a stranger\'s guesses do not lock the owner out', async () => {
  const d = await startDaemon({ TRUSTED_PROXY: '127.0.0.1', LOGIN_MAX_FAILURES: '5' });
  try {
    const at = (addr) => ({ 'X-Forwarded-For': addr });
    const home = someAddress('198.51.100');
    const attacker = someAddress('203.0.113');
    const email = `owner-${Date.now()}-${Math.floor(Math.random() * 1e6)}@example.org`;
    const password = 'the owner\'s long password';
    assert.equal((await req(d.base, 'POST', '/api/v1/accounts', at(home), { email, password, display_name: 'Owner' })).status, 201);
    const signIn = (addr, pw) => req(d.base, 'POST', '/api/v1/sessions', at(addr), { email, password: pw });
    assert.equal((await signIn(home, password)).status, 201, 'the owner signs in from home once');

    for (let i = 0; i < 5; i++) assert.equal((await signIn(attacker, `guess ${i}`)).status, 401);
    const stopped = await signIn(attacker, 'guess 6');
    assert.equal(stopped.status, 429, 'the attacker\'s address is stopped');
    assert.ok(Number(stopped.headers.get('retry-after')) > 800);

    assert.equal((await signIn(home, password)).status, 201, 'the owner at a usual address still gets in');
    // from an address the account never used: slowed down, not locked out
    const away = someAddress('192.0.2');
    const slowed = await signIn(away, password);
    if (slowed.status === 429) {
      const wait = Number(slowed.headers.get('retry-after'));
      assert.ok(wait >= 1 && wait <= 2, `a short, progressive wait, not the window: ${wait}`);
      await new Promise((r) => setTimeout(r, wait * 1000 + 100));
    }
    assert.equal((await signIn(away, password)).status, 201, 'the owner away from home gets in after a short wait');
    assert.equal((await signIn(attacker, password)).status, 429, 'the attacker\'s address stays stopped');
  } finally { await stopClean(d); }
});

test('sign-ups are throttled per address: 429 + Retry-After past SIGNUP_MAX_PER_ADDRESS, before any hashing', async () => {
  const d = await startDaemon({ TRUSTED_PROXY: '127.0.0.1', SIGNUP_MAX_PER_ADDRESS: '3' });
  try {
    const addr = someAddress('203.0.113');
    const signUp = (a, email = `s-${Date.now()}-${Math.random()}@example.org`) =>
      req(d.base, 'POST', '/api/v1/accounts', { 'X-Forwarded-For': a }, { email, password: 'a long enough password', display_name: 'S' });
    // invalid sign-ups are not hashed and do not count
    assert.equal((await req(d.base, 'POST', '/api/v1/accounts', { 'X-Forwarded-For': addr }, { email: 'x' })).status, 422);
    for (let i = 0; i < 3; i++) assert.equal((await signUp(addr)).status, 201);
    const limited = await signUp(addr);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get('content-type'), 'application/problem+json');
    assert.equal(JSON.parse(limited.text).type.endsWith('too-many-signups'), true, limited.text);
    const wait = Number(limited.headers.get('retry-after'));
    assert.ok(wait > 800 && wait <= 900, `Retry-After ${wait}`);
    assert.equal((await signUp(someAddress('198.51.100'))).status, 201, 'another address is not held up');
  } finally { await stopClean(d); }
});

// A request with X-Forwarded-For on several lines, over a raw socket (fetch
// joins lines); the status of its answer.
function postWithLines(port, lines) {
  return new Promise((resolve, reject) => {
    const body = '{"email":"x"}';
    const sock = net.connect(port, '127.0.0.1');
    let data = '';
    sock.on('data', (d) => { data += d; });
    sock.on('close', () => resolve(Number((data.match(/^HTTP\/1\.1 (\d{3})/) ?? [])[1] ?? 0)));
    sock.on('error', reject);
    sock.write(`POST /api/v1/accounts HTTP/1.1\r\nHost: a\r\nConnection: close\r\n${lines.map((l) => `X-Forwarded-For: ${l}\r\n`).join('')}` +
      `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`);
  });
}

test('behind TRUSTED_PROXY the client is the last address across all X-Forwarded-For lines', async () => {
  const d = await startDaemon({ WRITE_RATE_PER_MINUTE: '6', WRITE_BURST: '1', TRUSTED_PROXY: '127.0.0.1' });
  try {
    assert.equal(await postWithLines(d.port, ['203.0.113.1']), 422);
    assert.equal(await postWithLines(d.port, ['203.0.113.1']), 429);
    // the client's own line first, the proxy's line last: the proxy's address counts
    assert.equal(await postWithLines(d.port, ['203.0.113.1', '198.51.100.7']), 422);
    assert.equal(await postWithLines(d.port, ['198.51.100.7']), 429);
    // a spoofed first line cannot take another address's budget either
    assert.equal(await postWithLines(d.port, ['198.51.100.8', '10.0.0.1, 203.0.113.1']), 429);
    assert.equal(await postWithLines(d.port, ['198.51.100.8']), 422);
  } finally { await stopClean(d); }
});
