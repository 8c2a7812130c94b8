// framing: every answer on the wire is one well-framed HTTP message, and
// problem+json when it is an error — also those libmicrohttpd writes
// itself (431, 414, 413, 400, 505) and requests whose length is ambiguous
// (RFC 9112 section 6.3: 400, and the connection is closed so nothing sent
// after it is read). Raw sockets, loopback only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { BASE, newUser, sql, unique } from './helpers.mjs';

const { hostname: HOST, port: PORT } = new URL(BASE);

// Send bytes; collect what comes back until the server closes or ms pass.
function exchange(payload, ms = 3000) {
  return new Promise((resolve) => {
    const sock = net.connect(Number(PORT), HOST);
    let data = Buffer.alloc(0);
    let closed = false;
    const done = () => { clearTimeout(timer); sock.destroy(); resolve({ data, closed }); };
    const timer = setTimeout(done, ms);
    sock.on('data', (d) => { data = Buffer.concat([data, d]); });
    sock.on('end', () => { closed = true; done(); });
    sock.on('close', () => { closed = true; done(); });
    sock.on('error', () => {});
    sock.write(payload);
  });
}

// Split a byte stream into HTTP responses: status line, headers, a body of
// exactly Content-Length bytes. Returns {messages, rest}; a message that is
// not well-framed ends the parse with the bytes left in rest.
function parseResponses(buf) {
  const messages = [];
  let at = 0;
  while (at < buf.length) {
    const end = buf.indexOf('\r\n\r\n', at, 'latin1');
    if (end < 0) break;
    const lines = buf.subarray(at, end).toString('latin1').split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3}) [^\r\n]*$/.exec(lines[0]);
    if (!m) break;
    const headers = {};
    const names = [];
    for (const line of lines.slice(1)) {
      const i = line.indexOf(':');
      if (i <= 0) return { messages, rest: buf.subarray(at) };
      const name = line.slice(0, i).toLowerCase();
      names.push(name);
      headers[name] = line.slice(i + 1).trim();
    }
    if (!/^\d+$/.test(headers['content-length'] ?? '')) break;
    const length = Number(headers['content-length']);
    if (end + 4 + length > buf.length) break;
    const body = buf.subarray(end + 4, end + 4 + length).toString('utf8');
    messages.push({ status: Number(m[1]), headers, names, body });
    at = end + 4 + length;
  }
  return { messages, rest: buf.subarray(at) };
}

// Exactly one well-framed problem+json answer with this status, nothing after it.
function assertOneProblem({ data }, status, what) {
  const { messages, rest } = parseResponses(data);
  assert.equal(rest.length, 0, `${what}: bytes left after the answers: ${JSON.stringify(rest.toString('latin1').slice(0, 300))}`);
  assert.equal(messages.length, 1, `${what}: ${messages.length} answers in ${JSON.stringify(data.toString('latin1').slice(0, 600))}`);
  const [msg] = messages;
  assert.equal(msg.status, status, what);
  assert.equal(new Set(msg.names).size, msg.names.length, `${what}: a header repeated`);
  assert.equal(msg.headers['content-type'], 'application/problem+json', what);
  const problem = JSON.parse(msg.body);
  assert.equal(problem.status, status, what);
  assert.ok(problem.type && problem.title, what);
  return msg;
}

const GET = (path, extra = '') => `GET ${path} HTTP/1.1\r\nHost: a\r\n${extra}\r\n`;

test('malformed cookies: one answer each, the connection stays in step', async () => {
  const cookies = ['session="', 'session="abc', 'a="; session="', 'session=""', '"', '=', 'a=b; "; c',
    `session=${'"'.repeat(9)}`, Array.from({ length: 3000 }, (_, i) => `c${i}=v`).join('; ')];
  for (const cookie of cookies) {
    // two requests on one connection: each gets exactly its own answer
    const res = await exchange(GET('/api/v1/me', `Cookie: ${cookie}\r\n`) + GET('/healthz', 'Connection: close\r\n'));
    const { messages, rest } = parseResponses(res.data);
    const what = `Cookie: ${cookie.slice(0, 40)}`;
    assert.equal(rest.length, 0, `${what}: ${JSON.stringify(res.data.toString('latin1').slice(0, 400))}`);
    assert.deepEqual(messages.map((m) => m.status), [401, 200], what);
    assert.equal(messages[0].headers['content-type'], 'application/problem+json');
    for (const m of messages) assert.equal(new Set(m.names).size, m.names.length, `${what}: a header repeated`);
  }
});

test('what libmicrohttpd refuses itself is one problem+json answer too', async () => {
  const cases = [
    [431, 'a header larger than the connection memory', GET('/healthz', `X-Big: ${'x'.repeat(70 * 1024)}\r\n`)],
    [431, 'many headers', GET('/healthz', Array.from({ length: 3000 }, (_, i) => `X-H${i}: ${'v'.repeat(20)}\r\n`).join(''))],
    [414, 'a request line longer than the connection memory', GET(`/api/v1/purposes?q=${'a'.repeat(70 * 1024)}`)],
    [400, 'a header line without a colon', GET('/healthz', 'this is not a header\r\n')],
    [400, 'a Content-Length that is not a number', 'POST /api/v1/purposes HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n{}'],
    [400, 'a Content-Length with a sign', 'POST /api/v1/purposes HTTP/1.1\r\nHost: a\r\nContent-Length: +2\r\n\r\n{}'],
    [413, 'a Content-Length beyond 64 bits', 'POST /api/v1/purposes HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999\r\n\r\n'],
    [413, 'a chunk beyond 64 bits', 'POST /api/v1/purposes HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffffffffffffff\r\n'],
    [400, 'a malformed chunk size', 'POST /api/v1/purposes HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Type: application/json\r\n\r\nzz\r\n{}\r\n0\r\n\r\n'],
    [505, 'an HTTP version it does not speak', 'GET /healthz HTTP/2.0\r\nHost: a\r\n\r\n'],
  ];
  for (const [status, what, payload] of cases) {
    const res = await exchange(payload);
    assertOneProblem(res, status, what);
  }
  const ok = await exchange(GET('/healthz', 'Connection: close\r\n'));
  assert.equal(parseResponses(ok.data).messages[0].status, 200);
});

test('an ambiguous length is a 400, the connection is closed and nothing sent after it is read', async () => {
  const u = await newUser();
  const name = `Smuggled ${unique('p')}`;
  const body = JSON.stringify({ name, description: 'x' });
  const smuggled = `POST /api/v1/purposes HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${u.token}\r\n` +
    `Content-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  const heads = [
    ['both Content-Length and Transfer-Encoding', `Content-Length: 5\r\nTransfer-Encoding: chunked\r\n`, '0\r\n\r\n'],
    ['Transfer-Encoding then Content-Length', `Transfer-Encoding: chunked\r\nContent-Length: 0\r\n`, '0\r\n\r\n'],
    ['two different Content-Length values', `Content-Length: 0\r\nContent-Length: ${smuggled.length}\r\n`, ''],
    ['Content-Length twice, the same value', `Content-Length: 0\r\nContent-Length: 0\r\n`, ''],
    ['a transfer coding that is not chunked', `Transfer-Encoding: gzip, chunked\r\n`, '0\r\n\r\n'],
    ['Transfer-Encoding twice', `Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n`, '0\r\n\r\n'],
  ];
  for (const [what, head, first] of heads) {
    const payload = `POST /api/v1/purposes HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer ${u.token}\r\n` +
      `Content-Type: application/json\r\n${head}\r\n${first}${smuggled}`;
    const res = await exchange(payload);
    const msg = assertOneProblem(res, 400, what);
    assert.equal(msg.headers.connection, 'close', what);
    assert.equal(res.closed, true, `${what}: the connection stays open`);
  }
  assert.equal(sql(`SELECT count(*) FROM purposes WHERE name = '${name}'`)[0][0], '0', 'a smuggled request was served');
  // the same request, framed once, is served
  const fine = await exchange(smuggled.replace('HTTP/1.1\r\n', 'HTTP/1.1\r\nConnection: close\r\n'));
  assert.equal(parseResponses(fine.data).messages[0].status, 201);
});

test('malformed headers: each request gets exactly one well-framed answer, and the next one on the connection its own', async () => {
  const heads = [
    ['a folded header line (obs-fold)', 'X-A: b\r\n  folded\r\n'],
    ['a NUL in a header value', 'X-A: b\0c\r\n'],
    ['a space inside a header name', 'X A: b\r\n'],
    ['a space before the colon', 'X-A : b\r\n'],
    ['an empty header name', ': b\r\n'],
    ['control characters in a value', 'X-A: \x01\x7f\r\n'],
    ['a NUL in a cookie', 'Cookie: session=\0\r\n'],
    ['bytes that are not UTF-8 in a cookie', 'Cookie: session=\xff\xfe\r\n'],
    ['a cookie of quotes and semicolons', 'Cookie: ;;"";=;"\r\n'],
    ['Host twice', 'Host: b\r\n'],
    ['an Authorization that is not Bearer', 'Authorization: Basic Zm9vOmJhcg==\r\n'],
    ['a Bearer token of spaces', 'Authorization: Bearer    \r\n'],
  ];
  for (const [what, head] of heads) {
    const payload = Buffer.from(GET('/api/v1/me', head) + GET('/healthz', 'Connection: close\r\n'), 'latin1');
    const res = await exchange(payload);
    const { messages, rest } = parseResponses(res.data);
    assert.equal(rest.length, 0, `${what}: ${JSON.stringify(res.data.toString('latin1').slice(0, 400))}`);
    assert.ok(messages.length >= 1 && messages.length <= 2, `${what}: ${messages.length} answers`);
    for (const m of messages) assert.equal(new Set(m.names).size, m.names.length, `${what}: a header repeated`);
    const [first] = messages;
    if (first.status >= 400) {
      assert.equal(first.headers['content-type'], 'application/problem+json', what);
      assert.equal(JSON.parse(first.body).status, first.status, what);
    }
    // either the connection goes on in step (the /healthz answer follows) or it is closed after the refusal
    if (messages.length === 2) assert.equal(messages[1].status, 200, what);
    else assert.equal(first.headers.connection, 'close', `${what}: one answer, and the connection was not closed`);
  }
});
