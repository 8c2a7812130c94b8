// idempotency-secrets: what Idempotency-Key stores about a request is never
// a fast function of a secret in it (a password), keys older than 24 h are
// purged, and an account's keys (its sign-up's too) go with the account.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { api, sql, unique } from './helpers.mjs';
import { blake2b } from './blake2b.mjs';

const blake2bHex = (data, outlen = 32) => blake2b(data, Buffer.alloc(0), outlen).toString('hex');

const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;
const SIGNUP = '/api/v1/accounts';

// Every column of the key's rows (whatever the table has), as text.
const rowsOf = (key) => sql(`SELECT to_jsonb(k)::text FROM idempotency_keys k WHERE key = ${lit(key)}`)
  .map(([json]) => Object.values(JSON.parse(json)).map((v) => (v === null ? '' : String(v))));

// Fast hashes an attacker would try: of the password, of the body, of the
// path and the body (as stored before), in hex and base64.
function fastHashes(password, body) {
  const inputs = [password, JSON.stringify(password), body, `${SIGNUP}\0${body}`, `${SIGNUP}\0${password}`, `${SIGNUP}${body}`];
  const out = new Set();
  for (const input of inputs) {
    for (const len of [32, 64]) out.add(blake2bHex(input, len));
    for (const alg of ['sha256', 'sha512', 'sha1', 'md5', 'blake2b512', 'sha3-256']) {
      const h = createHash(alg).update(input);
      const d = h.digest();
      out.add(d.toString('hex'));
      out.add(d.toString('base64'));
    }
  }
  return [...out];
}

test('sign-up with an Idempotency-Key: no stored value is a fast hash of the password', async () => {
  const key = unique('signup-key');
  const password = `correct horse ${unique('battery')}`;
  const body = JSON.stringify({ email: `${unique('idem')}@example.org`, password, display_name: 'Idem' });
  const res = await api('POST', SIGNUP, { raw: body, headers: { 'Content-Type': 'application/json', 'Idempotency-Key': key } });
  assert.equal(res.status, 201, res.text);
  const rows = rowsOf(key);
  assert.equal(rows.length, 1);
  const hashes = fastHashes(password, body);
  // the check itself works: the old fingerprint is among the candidates
  assert.ok(hashes.includes(blake2bHex(`${SIGNUP}\0${body}`)));
  for (const column of rows[0]) {
    assert.ok(!column.includes(password), 'the password is stored');
    for (const h of hashes) assert.ok(!column.toLowerCase().includes(h.toLowerCase()), `a column holds a fast hash of the password: ${column}`);
  }
});

test('the fingerprint leaves secret fields out: a retry with another password replays, another email is a 422', async () => {
  const key = unique('retry-key');
  const email = `${unique('retry')}@example.org`;
  const send = (fields) => api('POST', SIGNUP, { body: { email, display_name: 'Retry', ...fields }, headers: { 'Idempotency-Key': key } });
  const first = await send({ password: 'the first long password' });
  assert.equal(first.status, 201, first.text);
  const again = await send({ password: 'a different long password' });
  assert.equal(again.status, 201, again.text);
  assert.equal(again.headers.get('idempotent-replayed'), 'true');
  assert.deepEqual(again.body, first.body);
  assert.equal(sql(`SELECT count(*) FROM accounts WHERE email = ${lit(email)}`)[0][0], '1', 'nothing new written');
  // the replay signed nobody in and changed no password: the first one holds
  const signIn = (password) => api('POST', '/api/v1/sessions', { body: { email, password } });
  assert.equal((await signIn('the first long password')).status, 201);
  const other = await api('POST', SIGNUP, {
    body: { email: `${unique('other')}@example.org`, display_name: 'Retry', password: 'the first long password' },
    headers: { 'Idempotency-Key': key },
  });
  assert.equal(other.status, 422, 'another email is another request');
});

test('keys older than 24 hours are purged when any daemon takes a key', async () => {
  const owner = `address:${unique('purge')}`;
  sql(`INSERT INTO idempotency_keys (owner, key, request_hash, status, response_body, created_at)
       SELECT ${lit(owner)}, 'old-' || i, 'h', 201, '{}', now() - interval '25 hours' FROM generate_series(1, 3) i`);
  sql(`INSERT INTO idempotency_keys (owner, key, request_hash, status, response_body, created_at)
       VALUES (${lit(owner)}, 'recent', 'h', 201, '{}', now() - interval '23 hours')`);
  const res = await api('POST', SIGNUP, { body: { email: 'not-an-email' }, headers: { 'Idempotency-Key': unique('any') } });
  assert.equal(res.status, 422);
  assert.deepEqual(sql(`SELECT key FROM idempotency_keys WHERE owner = ${lit(owner)} ORDER BY key`), [['recent']]);
  sql(`DELETE FROM idempotency_keys WHERE owner = ${lit(owner)}`);
});

test('deleting the account deletes its keys, the sign-up\'s included', async () => {
  const signupKey = unique('signup');
  const email = `${unique('gone')}@example.org`;
  const password = 'a long enough password';
  const created = await api('POST', SIGNUP, { body: { email, password, display_name: 'Gone' }, headers: { 'Idempotency-Key': signupKey } });
  assert.equal(created.status, 201);
  const session = await api('POST', '/api/v1/sessions', { body: { email, password } });
  const token = session.body.token;
  const purposeKey = unique('purpose');
  const purpose = await api('POST', '/api/v1/purposes', {
    token, body: { name: unique('Gone purpose'), description: 'x' }, headers: { 'Idempotency-Key': purposeKey },
  });
  assert.equal(purpose.status, 201, purpose.text);
  assert.equal(rowsOf(signupKey).length, 1);
  assert.equal(rowsOf(purposeKey).length, 1);
  const del = await api('DELETE', '/api/v1/me/account', { token, body: { password } });
  assert.equal(del.status, 204, del.text);
  assert.equal(rowsOf(signupKey).length, 0, 'the sign-up key, with the email in its response, is gone');
  assert.equal(rowsOf(purposeKey).length, 0);
  sql(`DELETE FROM login_failures WHERE scope = ${lit(`email:${email}`)}`);
});
