// hostile: raw-socket abuse of the HTTP layer. Nothing may crash the daemon,
// hang a worker, leak descriptors or answer 500.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readdirSync } from 'node:fs';
import { api, BASE, startDaemon } from './helpers.mjs';

const { hostname: HOST, port: PORT } = new URL(BASE);

// Send raw bytes, collect everything until the server closes or ms pass.
function raw(payload, { ms = 2000, port = PORT, end = false } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), HOST);
    let data = Buffer.alloc(0);
    const done = () => { sock.destroy(); resolve(data.toString('latin1')); };
    const timer = setTimeout(done, ms);
    sock.on('data', (d) => { data = Buffer.concat([data, d]); });
    sock.on('close', () => { clearTimeout(timer); resolve(data.toString('latin1')); });
    sock.on('error', () => {});
    sock.write(payload, () => { if (end) sock.end(); });
  });
}

const statusOf = (text) => Number((text.match(/^HTTP\/1\.1 (\d{3})/) ?? [])[1] ?? 0);
const allStatuses = (text) => [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));

async function stillHealthy(base = BASE) {
  const res = await fetch(base + '/healthz');
  assert.equal(res.status, 200);
}

test('huge request headers are refused without a 500', async () => {
  const big = 'x'.repeat(200 * 1024);
  const text = await raw(`GET /healthz HTTP/1.1\r\nHost: a\r\nX-Big: ${big}\r\n\r\n`);
  const s = statusOf(text);
  assert.ok(s === 0 || (s >= 400 && s < 500), `status ${s}`);
  await stillHealthy();
});

test('thousands of query parameters are not a 500', async () => {
  const q = Array.from({ length: 5000 }, (_, i) => `p${i}=${i}`).join('&');
  const text = await raw(`GET /api/v1/openapi.json?${q} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
  const s = statusOf(text);
  assert.ok(s === 0 || s === 200 || (s >= 400 && s < 500), `status ${s}`);
  await stillHealthy();
});

test('invalid UTF-8, NUL bytes, duplicate keys, deep nesting and huge numbers in JSON are 400', async () => {
  const bodies = [
    Buffer.from([0x7b, 0x22, 0x65, 0x6d, 0x61, 0x69, 0x6c, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]),
    '{"email":"a\\u0000b@example.org","password":"aaaaaaaaaaaaaa","display_name":"x"}',
    '{"email":"a@example.org","email":"b@example.org","password":"aaaaaaaaaaaaaa","display_name":"x"}',
    '['.repeat(60000),
    '{"a":' + '{"a":'.repeat(40) + '1' + '}'.repeat(41),
    '{"email":"a@example.org","password":"aaaaaaaaaaaaaa","display_name":123456789012345678901234567890}',
    Buffer.concat([Buffer.from('{"email":"a@b.org"'), Buffer.from([0]), Buffer.from('}')]),
  ];
  for (const raw of bodies) {
    const res = await api('POST', '/api/v1/accounts', { raw, headers: { 'Content-Type': 'application/json' } });
    assert.ok(res.status === 400 || res.status === 422, `status ${res.status} for ${String(raw).slice(0, 40)}`);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
  }
  await stillHealthy();
});

test('invalid UTF-8 and control bytes in the path are a 404, not a crash', async () => {
  for (const path of ['/%ff%fe', '/api/v1/organisations/%ff', '/%00', '/a%0d%0aSet-Cookie:x=1', '/api/v1/engagements/%c0%af']) {
    const text = await raw(`GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`);
    const s = statusOf(text);
    assert.ok(s >= 400 && s < 500, `status ${s} for ${path}`);
    assert.ok(!/\r\nSet-Cookie: x=1/i.test(text));
  }
  await stillHealthy();
});

test('pipelined requests are all answered in order', async () => {
  const one = 'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n';
  const text = await raw(one + one + 'GET /nope.txt HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n');
  assert.deepEqual(allStatuses(text), [200, 200, 404]);
});

test('a half-closed connection still gets its answer', async () => {
  const text = await raw('GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n', { end: true });
  assert.equal(statusOf(text), 200);
});

test('slow-loris: a connection trickling headers is dropped, others are served', async () => {
  const d = await startDaemon({ CONNECTION_TIMEOUT: '2' });
  try {
    const sock = net.connect(d.port, '127.0.0.1');
    sock.on('error', () => {});
    sock.write('GET /healthz HTTP/1.1\r\n');
    const closed = new Promise((resolve) => sock.on('close', () => resolve(Date.now())));
    const started = Date.now();
    const trickle = setInterval(() => { if (!sock.destroyed) sock.write('X'); }, 500);
    // meanwhile a normal request is fast
    const t0 = Date.now();
    await stillHealthy(d.base);
    assert.ok(Date.now() - t0 < 1000);
    // MHD measures inactivity, so trickling one byte per 500 ms keeps it
    // alive; stop and the timeout must close it.
    setTimeout(() => clearInterval(trickle), 1500);
    const at = await Promise.race([closed, new Promise((r) => setTimeout(() => r(null), 8000))]);
    clearInterval(trickle);
    assert.ok(at !== null, 'the idle connection was not closed');
    assert.ok(at - started < 8000);
  } finally {
    const { code } = await d.stop();
    assert.equal(code, 0);
    assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
  }
});

test('a connection flood beyond the limit neither crashes nor leaks descriptors', async () => {
  const d = await startDaemon({ MAX_CONNECTIONS: '16', PER_IP_CONNECTIONS: '16' });
  const fds = () => readdirSync(`/proc/${d.proc.pid}/fd`).length;
  try {
    await stillHealthy(d.base);
    const before = fds();
    const socks = [];
    for (let i = 0; i < 80; i++) {
      const s = net.connect(d.port, '127.0.0.1');
      s.on('error', () => {});
      socks.push(s);
    }
    await new Promise((r) => setTimeout(r, 500));
    for (const s of socks) s.destroy();
    await new Promise((r) => setTimeout(r, 800));
    await stillHealthy(d.base);
    const after = fds();
    assert.ok(after <= before + 2, `descriptors grew from ${before} to ${after}`);
  } finally {
    const { code } = await d.stop();
    assert.equal(code, 0);
    assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
  }
});

// A connection that sends a request line, then a header line every `every`
// ms (at most `lines`), from `localAddress`. Resolves {closedAt, sent} when
// the server closes it, or {closedAt: null} after `lines` lines.
function trickle(port, { every = 400, lines = 30, localAddress = '127.0.0.1' } = {}) {
  const sock = net.connect({ port, host: '127.0.0.1', localAddress });
  sock.on('error', () => {});
  let sent = 0;
  let timer;
  const done = new Promise((resolve) => {
    sock.on('close', () => { clearInterval(timer); resolve({ closedAt: Date.now(), sent }); });
    sock.on('connect', () => {
      sock.write('GET /healthz HTTP/1.1\r\nHost: a\r\n');
      timer = setInterval(() => {
        if (sent >= lines) { clearInterval(timer); sock.destroy(); return; }
        sent++;
        sock.write(`X-Trickle-${sent}: still coming\r\n`);
      }, every);
    });
  });
  return { sock, done, get sent() { return sent; }, get open() { return !sock.destroyed && sock.readyState === 'open'; } };
}

test('a request head that trickles in is cut at HEADER_TIMEOUT, though each line beats CONNECTION_TIMEOUT', async () => {
  const d = await startDaemon({ HEADER_TIMEOUT: '2', CONNECTION_TIMEOUT: '30' });
  try {
    const conns = Array.from({ length: 6 }, () => trickle(d.port, { every: 300, lines: 40 }));
    await new Promise((r) => setTimeout(r, 1000));
    // within the deadline they stay open (a deadline of zero would show here)
    assert.deepEqual(conns.map((c) => c.open), conns.map(() => true), 'a connection within its deadline was closed');
    // meanwhile a normal request is answered
    await stillHealthy(d.base);
    const ends = await Promise.race([Promise.all(conns.map((c) => c.done)), new Promise((r) => setTimeout(() => r(null), 10000))]);
    assert.ok(ends, 'connections trickling their head were still open after 10 s');
    for (const e of ends) {
      assert.ok(e.closedAt !== null && e.sent < 40, `closed after ${e.sent} lines`);
      assert.ok(e.sent >= 3, `closed after only ${e.sent} lines`);
    }
    const text = await (await fetch(d.base + '/metrics')).text();
    assert.ok(Number(/^http_head_timeouts_total (\d+)$/m.exec(text)?.[1]) >= 6, 'counted in http_head_timeouts_total');
    await stillHealthy(d.base);
  } finally {
    const { code } = await d.stop();
    assert.equal(code, 0);
    assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
  }
});

test('one address holding its PER_IP_CONNECTIONS leaves room for the others', async () => {
  const d = await startDaemon({ MAX_CONNECTIONS: '16', PER_IP_CONNECTIONS: '4', HEADER_TIMEOUT: '30' });
  try {
    const conns = Array.from({ length: 12 }, () => trickle(d.port, { every: 500, lines: 12, localAddress: '127.0.0.2' }));
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(conns.filter((c) => c.open).length, 4, 'connections from one address beyond PER_IP_CONNECTIONS');
    for (let i = 0; i < 5; i++) await stillHealthy(d.base); // from 127.0.0.1
    for (const c of conns) c.sock.destroy();
  } finally {
    const { code } = await d.stop();
    assert.equal(code, 0);
    assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
  }
});
