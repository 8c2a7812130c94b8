// foundation: the HTTP layer every endpoint relies on — body parsing errors
// (400/413/415 as problem+json), keep-alive, static files (types, ETag/304,
// no escape from the tree), request ids and security headers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { existsSync, mkdtempSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, BASE, startDaemon } from './helpers.mjs';

const { hostname: HOST, port: PORT } = new URL(BASE);
const STATIC = process.env.STATIC_DIR ?? new URL('../../static', import.meta.url).pathname;

// Send raw bytes on a fresh connection; resolve with everything received
// until the server closes or ms pass.
function raw(payload, { port = PORT, ms = 2000 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect(Number(port), HOST);
    let data = Buffer.alloc(0);
    const timer = setTimeout(() => { sock.destroy(); resolve(data.toString('latin1')); }, ms);
    sock.on('data', (d) => { data = Buffer.concat([data, d]); });
    sock.on('close', () => { clearTimeout(timer); resolve(data.toString('latin1')); });
    sock.on('error', () => {});
    sock.write(payload);
  });
}
const statusOf = (text) => Number((text.match(/^HTTP\/1\.1 (\d{3})/) ?? [])[1] ?? 0);
const get = (path, port = PORT) => raw(`GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`, { port });

function assertSecurityHeaders(res, what) {
  const h = res.headers;
  assert.equal(h.get('x-content-type-options'), 'nosniff', what);
  assert.equal(h.get('x-frame-options'), 'DENY', what);
  assert.equal(h.get('referrer-policy'), 'strict-origin-when-cross-origin', what);
  assert.match(h.get('content-security-policy') ?? '', /default-src 'self'/, what);
  assert.match(h.get('content-security-policy') ?? '', /frame-ancestors 'none'/, what);
  assert.ok(h.get('x-request-id'), what);
}

function assertProblem(res, status) {
  assert.equal(res.status, status, res.text);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal(res.body.status, status);
  assert.match(res.body.type, /^https:\/\//);
  assert.ok(res.body.title);
}

// ---------- request bodies ----------

test('malformed JSON is a 400 problem naming the position', async () => {
  for (const raw of ['{"email": ', '{email: "a"}', 'nope', '{"a":1,}', '{"a":1} trailing']) {
    const res = await api('POST', '/api/v1/accounts', { raw, headers: { 'Content-Type': 'application/json' } });
    assertProblem(res, 400);
    assert.match(res.body.detail, /JSON/);
  }
});

test('a JSON body that is not an object, or empty, is a 400', async () => {
  for (const raw of ['[]', '"x"', '42', 'null', '']) {
    const res = await api('POST', '/api/v1/accounts', { raw, headers: { 'Content-Type': 'application/json' } });
    assertProblem(res, 400);
  }
});

test('a body over 64 KiB is a 413 problem, with or without Content-Length', async () => {
  const big = JSON.stringify({ email: 'a@example.org', password: 'x'.repeat(64 * 1024), display_name: 'x' });
  const res = await api('POST', '/api/v1/accounts', { raw: big, headers: { 'Content-Type': 'application/json' } });
  assertProblem(res, 413);
  assertSecurityHeaders(res, '413');
  // chunked: the size is only known while reading
  const chunked = await raw(
    'POST /api/v1/accounts HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n' +
    'Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n' +
    Array.from({ length: 20 }, () => `1000\r\n${'a'.repeat(0x1000)}\r\n`).join('') + '0\r\n\r\n');
  assert.equal(statusOf(chunked), 413);
  assert.match(chunked, /application\/problem\+json/);
  // exactly at the limit is read (and then judged on its content)
  const atLimit = '{"a":"' + 'x'.repeat(64 * 1024 - 8) + '"}';
  assert.equal(Buffer.byteLength(atLimit), 64 * 1024);
  const ok = await api('POST', '/api/v1/accounts', { raw: atLimit, headers: { 'Content-Type': 'application/json' } });
  assert.equal(ok.status, 422);
});

test('a wrong or missing Content-Type is a 415 problem', async () => {
  const body = JSON.stringify({ email: 'a@example.org', password: 'a long enough password', display_name: 'x' });
  for (const ct of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx',
    'application/json-patch+json', 'multipart/form-data; boundary=x', undefined]) {
    const headers = ct ? { 'Content-Type': ct } : {};
    const res = await api('POST', '/api/v1/accounts', { raw: body, headers });
    assertProblem(res, 415);
  }
  // parameters and case are fine
  for (const ct of ['application/json; charset=utf-8', 'Application/JSON']) {
    const res = await api('POST', '/api/v1/accounts', { raw: '{"x":1}', headers: { 'Content-Type': ct } });
    assert.equal(res.status, 422, ct);
  }
});

// ---------- keep-alive ----------

test('many requests, good and bad, share ONE keep-alive connection', async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const sockets = new Set();
  const reused = [];
  const one = (method, path, body, headers = {}) => new Promise((resolve, reject) => {
    const req = http.request(`${BASE}${path}`, { method, agent, headers }, (res) => {
      let data = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, data }));
    });
    req.on('socket', (s) => { sockets.add(s); });
    req.on('error', reject);
    reused.push(() => req.reusedSocket);
    req.end(body);
  });
  try {
    const statuses = [];
    for (let i = 0; i < 25; i++) statuses.push((await one('GET', '/healthz')).status);
    const json = { 'Content-Type': 'application/json' };
    statuses.push((await one('POST', '/api/v1/accounts', '{bad', json)).status);
    statuses.push((await one('POST', '/api/v1/accounts', 'x'.repeat(70000), json)).status);
    statuses.push((await one('POST', '/api/v1/accounts', '{}', { 'Content-Type': 'text/plain' })).status);
    statuses.push((await one('GET', '/api/v1/no-such-thing')).status);
    statuses.push((await one('DELETE', '/healthz')).status);
    const file = await one('GET', '/openapi.json');
    statuses.push(file.status);
    statuses.push((await one('GET', '/openapi.json', undefined, { 'If-None-Match': file.headers.etag })).status);
    statuses.push((await one('GET', '/healthz')).status);
    assert.deepEqual(statuses, [...Array(25).fill(200), 400, 413, 415, 404, 405, 200, 304, 200]);
    assert.equal(sockets.size, 1, `used ${sockets.size} connections`);
    assert.deepEqual(reused.map((f) => f()), [false, ...Array(statuses.length - 1).fill(true)]);
  } finally {
    agent.destroy();
  }
});

test('pipelined requests on one raw socket are answered in order', async () => {
  const reqs = [
    'GET /healthz HTTP/1.1\r\nHost: a\r\n\r\n',
    'POST /api/v1/accounts HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 4\r\n\r\n{bad',
    'GET /openapi.json HTTP/1.1\r\nHost: a\r\n\r\n',
    'GET /healthz HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n',
  ];
  const text = await raw(reqs.join(''), { ms: 4000 });
  const statuses = [...text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  assert.deepEqual(statuses, [200, 400, 200, 200]);
});

// ---------- static files in the real tree ----------

test('/ is the home page made from index.html; /index.html is the file (or 404 while there is none)', async () => {
  const res = await fetch(BASE + '/');
  assertSecurityHeaders(res, '/');
  if (existsSync(join(STATIC, 'index.html'))) {
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const tmpl = readFileSync(join(STATIC, 'index.html'), 'utf8');
    const page = await res.text();
    // the template around the page's own parts (tests/api/pages.test.mjs) is kept
    assert.ok(page.startsWith(tmpl.slice(0, tmpl.indexOf('<!--page-head-->'))));
    assert.ok(page.endsWith(tmpl.slice(tmpl.indexOf('<!--/page-main-->') + '<!--/page-main-->'.length)));
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    const file = await fetch(BASE + '/index.html');
    assert.equal(await file.text(), tmpl);
  } else {
    assert.equal(res.status, 404);
    await res.text();
  }
});

test('a static file has its content type, an ETag, and 304 on If-None-Match', async () => {
  const res = await fetch(BASE + '/openapi.json');
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/json');
  assertSecurityHeaders(res, 'static');
  const body = await res.text();
  assert.equal(body, readFileSync(join(STATIC, 'openapi.json'), 'utf8'));
  const etag = res.headers.get('etag');
  assert.match(etag, /^"[0-9a-f]+-[0-9a-f]+"$/);
  const again = await fetch(BASE + '/openapi.json', { headers: { 'If-None-Match': etag } });
  assert.equal(again.status, 304);
  assert.equal(await again.text(), '');
  assert.equal(again.headers.get('etag'), etag);
  assertSecurityHeaders(again, '304');
  const list = await fetch(BASE + '/openapi.json', { headers: { 'If-None-Match': `"nope", ${etag}` } });
  assert.equal(list.status, 304);
  for (const inm of [`W/${etag}`, '*']) {
    const weak = await fetch(BASE + '/openapi.json', { headers: { 'If-None-Match': inm } });
    assert.equal(weak.status, 304, inm);
  }
  const other = await fetch(BASE + '/openapi.json', { headers: { 'If-None-Match': '"0-0"' } });
  assert.equal(other.status, 200);
  await other.text();
  const head = await fetch(BASE + '/openapi.json', { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(head.headers.get('etag'), etag);
});

test('a missing static file is the 404 page, and writes to static paths are 405', async () => {
  const res = await api('GET', '/no-such-file.js');
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(res.text, /We could not find that page/);
  assertSecurityHeaders(res, '404');
  const post = await api('POST', '/openapi.json', { body: {} });
  assertProblem(post, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
});

const TRAVERSALS = [
  '/../../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2f..%2fetc%2fpasswd',
  '/%2e%2e%2f%2e%2e%2fetc%2fpasswd', '//etc/passwd', '/app/../../etc/passwd',
  '/..\\..\\etc\\passwd', '/%5c..%5c..%5cetc%5cpasswd', '/.%2e/.%2e/etc/passwd',
  '/%252e%252e/etc/passwd', '/.git/config', '/.env', '/%00/etc/passwd', '/etc/passwd%00.html',
  '/./openapi.json', '/C:/Windows/win.ini',
];

test('traversal attempts never leave the static tree', async () => {
  for (const path of TRAVERSALS) {
    const text = await get(path);
    const s = statusOf(text);
    assert.ok(s === 404 || s === 400, `${path}: ${s}`);
    assert.doesNotMatch(text, /root:.*:0:0:/, path);
  }
});

// ---------- request ids ----------

test('X-Request-Id is echoed when given and generated otherwise', async () => {
  const given = await api('GET', '/healthz', { headers: { 'X-Request-Id': 'trace-abc_123.4' } });
  assert.equal(given.headers.get('x-request-id'), 'trace-abc_123.4');
  const a = await api('GET', '/healthz');
  const b = await api('GET', '/healthz');
  assert.match(a.headers.get('x-request-id'), /^[0-9a-f]{32}$/);
  assert.notEqual(a.headers.get('x-request-id'), b.headers.get('x-request-id'));
  // unsafe or overlong ids are replaced, never reflected
  for (const bad of ['has space', 'x'.repeat(100), 'a"b', 'a<script>']) {
    const res = await api('GET', '/healthz', { headers: { 'X-Request-Id': bad } });
    assert.match(res.headers.get('x-request-id'), /^[0-9a-f]{32}$/, bad);
  }
  // also on errors
  const err = await api('POST', '/api/v1/accounts', { raw: '{', headers: { 'Content-Type': 'application/json', 'X-Request-Id': 'err-1' } });
  assert.equal(err.status, 400);
  assert.equal(err.headers.get('x-request-id'), 'err-1');
});

test('security headers are on every kind of response', async () => {
  const cases = [
    await api('GET', '/healthz'),
    await api('GET', '/readyz'),
    await api('GET', '/metrics'),
    await api('GET', '/api/v1/openapi.json'),
    await api('GET', '/api/v1/nothing'),
    await api('PUT', '/healthz'),
    await api('GET', '/api/v1/me'),
    await api('POST', '/api/v1/accounts', { raw: 'x', headers: { 'Content-Type': 'text/plain' } }),
    await api('GET', '/favicon-that-is-not-there.ico'),
  ];
  for (const res of cases) assertSecurityHeaders(res, `${res.status} ${res.text.slice(0, 60)}`);
  // API JSON is never cached by intermediaries
  assert.equal(cases[0].headers.get('cache-control'), 'no-store');
  assert.equal(cases[6].headers.get('cache-control'), 'no-store');
});

// ---------- a daemon of our own over a temporary static tree ----------

let dir; let d;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'purposed-static-'));
  const root = join(dir, 'root');
  mkdirSync(join(root, 'app'), { recursive: true });
  mkdirSync(join(root, 'empty'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>shell</title>');
  writeFileSync(join(root, 'app', 'index.html'), '<!doctype html><title>app</title>');
  writeFileSync(join(root, 'app', 'main.js'), 'export const x = 1;\n');
  writeFileSync(join(root, 'style.css'), 'body{}\n');
  writeFileSync(join(root, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg"/>');
  writeFileSync(join(root, 'data.bin'), Buffer.from([0, 1, 2, 3]));
  writeFileSync(join(root, '.secret'), 'hidden');
  writeFileSync(join(dir, 'outside.txt'), 'outside the tree');
  symlinkSync('/etc/passwd', join(root, 'passwd'));
  symlinkSync('/etc/passwd', join(root, 'passwd.txt'));
  symlinkSync(join(dir, 'outside.txt'), join(root, 'outside.txt'));
  symlinkSync('/etc', join(root, 'etc'));
  symlinkSync('..', join(root, 'up'));
  d = await startDaemon({ STATIC_DIR: root, LOG_REQUESTS: '0' });
});

after(async () => {
  if (d) {
    const { code } = await d.stop();
    assert.equal(code, 0);
    assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

test('content types by extension, directories serve their index.html', async () => {
  const want = {
    '/': ['text/html; charset=utf-8', 'shell'],
    '/index.html': ['text/html; charset=utf-8', 'shell'],
    '/app/': ['text/html; charset=utf-8', '<title>app'],
    '/app': ['text/html; charset=utf-8', '<title>app'],
    '/app/main.js': ['text/javascript; charset=utf-8', 'export const'],
    '/style.css': ['text/css; charset=utf-8', 'body{}'],
    '/logo.svg': ['image/svg+xml', '<svg'],
    '/data.bin': ['application/octet-stream', '\u0000\u0001'],
  };
  for (const [path, [type, start]] of Object.entries(want)) {
    const res = await fetch(d.base + path);
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get('content-type'), type, path);
    assert.ok((await res.text()).includes(start), path);
    assertSecurityHeaders(res, path);
  }
  const css = await fetch(d.base + '/style.css');
  assert.equal(css.headers.get('cache-control'), 'public, max-age=300, must-revalidate');
  await css.text();
});

test('the app\'s pages are the template (served as it is when it has no page markers); missing files are 404', async () => {
  const route = await fetch(d.base + '/signin');
  assert.equal(route.status, 200);
  assert.match(await route.text(), /<title>shell/);
  const item = await fetch(d.base + '/organisations/acme');
  assert.equal(item.status, 404);
  assert.match(await item.text(), /<title>shell/);
  const unknown = await fetch(d.base + '/no/such/page');
  assert.equal(unknown.status, 404);
  await unknown.text();
  const missing = await fetch(d.base + '/missing.js');
  assert.equal(missing.status, 404);
  await missing.text();
  const emptyDir = await fetch(d.base + '/empty/');
  assert.equal(emptyDir.status, 404);
  await emptyDir.text();
});

test('symlinks out of the static tree and hidden files are 404', async () => {
  for (const path of ['/passwd', '/passwd.txt', '/outside.txt', '/etc/passwd', '/etc/hostname',
    '/up/outside.txt', '/.secret', ...TRAVERSALS]) {
    const text = await get(path, d.port);
    const s = statusOf(text);
    assert.ok(s === 404 || s === 400, `${path}: ${s}`);
    assert.doesNotMatch(text, /root:.*:0:0:|outside the tree|hidden/, path);
  }
});

test('a changed file gets a new ETag', async () => {
  const first = await fetch(d.base + '/style.css');
  const etag = first.headers.get('etag');
  await first.text();
  writeFileSync(join(dir, 'root', 'style.css'), 'body{color:red}\n');
  const second = await fetch(d.base + '/style.css', { headers: { 'If-None-Match': etag } });
  assert.equal(second.status, 200);
  assert.notEqual(second.headers.get('etag'), etag);
  assert.equal(await second.text(), 'body{color:red}\n');
});
