// HTTP signatures against an implementation nobody here wrote: Fedify
// (@fedify/fedify) signs requests that lib/httpsig verifies, and verifies
// requests that lib/httpsig signs, in both schemes Fedify speaks:
// draft-cavage-http-signatures-12 (rsa-sha256, with Digest) and RFC 9421
// (Fedify signs rsa-v1_5-sha256; we sign ed25519, which Fedify verifies).
// lib/httpsig is driven through tests/federation/httpsig-interop-tool.c,
// built with the unit tests; HTTPSIG_TOOL, or the build directory of
// PURPOSED_BIN, or build/debug, says where it is.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { generateKeyPairSync, webcrypto } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Fedify 1.6+ (the first with RFC 9421) declares Node >= 22: its base64
// (byte-encodings) calls ArrayBuffer.prototype.transfer (ES2024), which Node
// 20 lacks. The standard's behaviour for a copy, when missing:
if (!ArrayBuffer.prototype.transfer) {
  Object.defineProperty(ArrayBuffer.prototype, 'transfer', {
    configurable: true, writable: true,
    value(length = this.byteLength) {
      const copy = new ArrayBuffer(length);
      new Uint8Array(copy).set(new Uint8Array(this, 0, Math.min(length, this.byteLength)));
      structuredClone(this, { transfer: [this] }); // detaches this, as transfer does
      return copy;
    },
  });
}
const { signRequest, verifyRequest } = await import('@fedify/fedify');

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const tool = [process.env.HTTPSIG_TOOL,
  process.env.PURPOSED_BIN && join(dirname(process.env.PURPOSED_BIN), 'httpsig-interop-tool'),
  join(root, 'build', 'debug', 'httpsig-interop-tool')].find((p) => p && existsSync(p));

const ACTOR = 'https://a.example/actors/river-keepers';
const KEY_ID = `${ACTOR}#main-key`;
const INBOX = 'https://b.example/inbox';
const BODY = JSON.stringify({
  '@context': 'https://www.w3.org/ns/activitystreams',
  type: 'Follow', actor: ACTOR, object: 'https://b.example/actors/clean-water',
});

let dir, rsa, ed;
before(async () => {
  assert.ok(tool, 'httpsig-interop-tool is built (cmake -DPURPOSED_TESTS=ON)');
  dir = mkdtempSync(join(tmpdir(), 'httpsig-'));
  const r = generateKeyPairSync('rsa', { modulusLength: 2048 });
  rsa = {
    publicPem: r.publicKey.export({ type: 'spki', format: 'pem' }),
    privatePem: r.privateKey.export({ type: 'pkcs8', format: 'pem' }),
    privateKey: await webcrypto.subtle.importKey('pkcs8', r.privateKey.export({ type: 'pkcs8', format: 'der' }),
      { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, true, ['sign']),
  };
  writeFileSync(join(dir, 'rsa-public.pem'), rsa.publicPem);
  writeFileSync(join(dir, 'rsa-private.pem'), rsa.privatePem);
  const e = generateKeyPairSync('ed25519');
  ed = {
    publicPem: e.publicKey.export({ type: 'spki', format: 'pem' }),
    // the PKCS#8 DER of an Ed25519 key ends with its 32-byte seed
    seedHex: e.privateKey.export({ type: 'pkcs8', format: 'der' }).subarray(-32).toString('hex'),
  };
  writeFileSync(join(dir, 'ed-public.pem'), ed.publicPem);
});
after(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

// A request as HTTP/1.1 text, for the tool's standard input.
async function httpText(request) {
  const url = new URL(request.url);
  const lines = [`${request.method} ${url.pathname}${url.search} HTTP/1.1`];
  if (!request.headers.has('host')) lines.push(`Host: ${url.host}`);
  for (const [name, value] of request.headers) lines.push(`${name}: ${value}`);
  return `${lines.join('\r\n')}\r\n\r\n${await request.clone().text()}`;
}

function runTool(args, input) {
  try {
    return { code: 0, out: execFileSync(tool, args, { input, encoding: 'utf8' }).trim() };
  } catch (err) {
    return { code: err.status, out: `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() };
  }
}

const inboxPost = (headers = {}) => new Request(INBOX, {
  method: 'POST', headers: { 'Content-Type': 'application/activity+json', ...headers }, body: BODY,
});

// Fedify fetches the key document by keyId: here it is served from memory.
function keyDocumentLoader(publicKeyPem) {
  return async (url) => {
    if (url !== KEY_ID && url !== ACTOR) throw new Error(`unexpected fetch of ${url}`);
    return {
      contextUrl: null, documentUrl: url,
      document: {
        '@context': 'https://w3id.org/security/v1',
        id: KEY_ID, type: 'CryptographicKey', owner: ACTOR, publicKeyPem,
      },
    };
  };
}

// The headers the tool printed ("Name: value" lines) added to a request.
function withHeaders(request, printed, body = BODY) {
  const headers = new Headers(request.headers);
  for (const line of printed.split('\n')) {
    const at = line.indexOf(': ');
    headers.set(line.slice(0, at), line.slice(at + 2));
  }
  return new Request(request.url, { method: request.method, headers, body });
}

test('draft-cavage: a request Fedify signed verifies with lib/httpsig, Digest included', async () => {
  const signed = await signRequest(inboxPost(), rsa.privateKey, new URL(KEY_ID));
  const sig = signed.headers.get('signature');
  assert.match(sig, /algorithm="rsa-sha256"/);
  assert.match(sig, /headers="\(request-target\) [^"]*digest/);
  const text = await httpText(signed);
  assert.deepEqual(runTool(['verify-cavage', join(dir, 'rsa-public.pem')], text), { code: 0, out: `ok ${KEY_ID}` });

  // one byte of the body, of a signed header, of the path: refused
  const tampered = [
    text.replace('"Follow"', '"Fallow"'),
    text.replace(/^(date: .*)\d( GMT)/mi, (m, a, b) => `${a}${m.at(-5) === '1' ? '2' : '1'}${b}`),
    text.replace('POST /inbox ', 'POST /inbox2 '),
    text.replace(/^(host: )b\.example/mi, '$1c.example'),
  ];
  for (const t of tampered) {
    assert.notEqual(t, text);
    const r = runTool(['verify-cavage', join(dir, 'rsa-public.pem')], t);
    assert.equal(r.code, 1, r.out);
  }
  // another key
  const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
  writeFileSync(join(dir, 'other.pem'), other);
  assert.equal(runTool(['verify-cavage', join(dir, 'other.pem')], text).code, 1);
});

test('draft-cavage: a request lib/httpsig signed verifies with Fedify', async () => {
  const request = inboxPost({ Date: new Date().toUTCString() });
  const printed = runTool(['sign-cavage', join(dir, 'rsa-private.pem'), KEY_ID, '(request-target) host date digest'],
    await httpText(request));
  assert.equal(printed.code, 0, printed.out);
  assert.match(printed.out, /^Digest: SHA-256=/m);
  const signed = withHeaders(request, printed.out);
  const key = await verifyRequest(signed, { documentLoader: keyDocumentLoader(rsa.publicPem) });
  assert.ok(key, 'Fedify accepts the signature');
  assert.equal(key.id.href, KEY_ID);

  // Fedify refuses it once the body changed (its Digest check) or the key is another
  const changed = withHeaders(request, printed.out, BODY.replace('Follow', 'Fallow'));
  assert.equal(await verifyRequest(changed, { documentLoader: keyDocumentLoader(rsa.publicPem) }), null);
  const otherPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' });
  assert.equal(await verifyRequest(withHeaders(request, printed.out), { documentLoader: keyDocumentLoader(otherPem) }), null);
});

test('RFC 9421: a request Fedify signed (rsa-v1_5-sha256) verifies with lib/httpsig, Content-Digest included', async () => {
  const signed = await signRequest(inboxPost(), rsa.privateKey, new URL(KEY_ID), { spec: 'rfc9421' });
  assert.match(signed.headers.get('signature-input'), /^sig1=\(.*"content-digest"\);alg="rsa-v1_5-sha256"/);
  const text = await httpText(signed);
  assert.deepEqual(runTool(['verify-rfc9421', join(dir, 'rsa-public.pem'), 'https'], text),
    { code: 0, out: `ok ${KEY_ID}` });
  for (const t of [
    text.replace('"Follow"', '"Fallow"'),                     // the body, through Content-Digest
    text.replace('POST /inbox ', 'PUT /inbox '),              // @method
    text.replace('POST /inbox ', 'POST /inbox2 '),            // @target-uri
    text.replace(/^(host: )b\.example/mi, '$1c.example'),     // @authority, host
    text.replace(/^(date: .*)\d( GMT)/mi, (m, a, b) => `${a}${m.at(-5) === '1' ? '2' : '1'}${b}`),
    text.replace(/(created=)(\d+)/, (m, a, n) => `${a}${Number(n) + 1}`),
  ]) {
    assert.notEqual(t, text);
    const r = runTool(['verify-rfc9421', join(dir, 'rsa-public.pem'), 'https'], t);
    assert.equal(r.code, 1, r.out);
  }
  // the same request seen under another scheme is another @target-uri
  assert.equal(runTool(['verify-rfc9421', join(dir, 'rsa-public.pem'), 'http'], text).code, 1);
});

test('RFC 9421: a request lib/httpsig signed (ed25519) verifies with Fedify', async () => {
  const request = inboxPost({ Date: new Date().toUTCString() });
  const printed = runTool(['sign-rfc9421', ed.seedHex, KEY_ID, 'https',
    '"@method" "@target-uri" "@authority" "content-type" "content-digest" "date"'], await httpText(request));
  assert.equal(printed.code, 0, printed.out);
  assert.match(printed.out, /^Content-Digest: sha-256=:/m);
  assert.match(printed.out, /^Signature-Input: sig1=\("@method" "@target-uri" "@authority" "content-type" "content-digest" "date"\);created=\d+;keyid="/m);
  const signed = withHeaders(request, printed.out);
  const key = await verifyRequest(signed, { spec: 'rfc9421', documentLoader: keyDocumentLoader(ed.publicPem) });
  assert.ok(key, 'Fedify accepts the signature');
  assert.equal(key.id.href, KEY_ID);
  assert.equal(key.publicKey.algorithm.name, 'Ed25519');

  // and our own verifier agrees
  assert.deepEqual(runTool(['verify-rfc9421', join(dir, 'ed-public.pem'), 'https'], await httpText(signed)),
    { code: 0, out: `ok ${KEY_ID}` });

  // Fedify refuses it once a covered part changed
  const changedBody = withHeaders(request, printed.out, BODY.replace('Follow', 'Fallow'));
  assert.equal(await verifyRequest(changedBody, { spec: 'rfc9421', documentLoader: keyDocumentLoader(ed.publicPem) }), null);
  const moved = withHeaders(new Request('https://b.example/inbox2', { method: 'POST', headers: request.headers, body: BODY }), printed.out);
  assert.equal(await verifyRequest(moved, { spec: 'rfc9421', documentLoader: keyDocumentLoader(ed.publicPem) }), null);
});
