// accounts: sign up, sign in and its throttling, sessions (bearer, cookie +
// CSRF, expiry, sign out), /me, changing and deleting one's own account.
import { afterEach, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, problemFields, sql, unique } from './helpers.mjs';

// Every response this file sees; none may carry a password or token hash.
const seen = [];
async function call(method, path, opts) {
  const res = await api(method, path, opts);
  seen.push(res.text);
  assert.doesNotMatch(res.text, /\$argon2/, `${method} ${path} leaks a password hash`);
  assert.doesNotMatch(res.text, /password_hash|token_hash/, `${method} ${path} names a hash column`);
  return res;
}

// Failed sign-ins from this file also count against 127.0.0.1, which every
// test file shares: forget the address failures each test made.
let testStart;
beforeEach(() => { [[testStart]] = sql('SELECT clock_timestamp()'); });
afterEach(() => {
  sql(`DELETE FROM login_failures WHERE scope LIKE 'address:%' AND failed_at >= ${lit(testStart)}`);
});

const email = () => `${unique('acct')}@example.org`;
const PASSWORD = 'a long enough password';
const signIn = (e, password) => call('POST', '/api/v1/sessions', { body: { email: e, password } });
const lit = (s) => `'${String(s).replaceAll("'", "''")}'`;

async function accountVersion(token) {
  const res = await call('GET', '/api/v1/me/account', { token });
  assert.equal(res.status, 200);
  return res.headers.get('etag');
}

// ---------- sign up ----------

test('sign up: 201 with Location, ETag and the account, never the hash', async () => {
  const e = email();
  const res = await call('POST', '/api/v1/accounts', {
    body: { email: `  ${e.toUpperCase()} `, password: PASSWORD, display_name: 'Ada' },
  });
  assert.equal(res.status, 201);
  assert.equal(res.headers.get('location'), '/api/v1/me/account');
  assert.equal(res.headers.get('etag'), '"1"');
  assert.equal(res.body.email, e, 'email is trimmed and lowercased');
  assert.equal(res.body.display_name, 'Ada');
  assert.equal(res.body.version, 1);
  assert.match(res.body.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.ok(Number.isInteger(res.body.id));
  assert.deepEqual(Object.keys(res.body).sort(),
    ['created_at', 'display_name', 'email', 'email_verified_at', 'id', 'registration', 'updated_at', 'version']);
  assert.equal(res.body.email_verified_at, null, 'unverified until the mailed link is followed');
  assert.equal(res.body.registration, 'admitted', 'an open instance admits (tests/api/registration.test.mjs)');
  const [[hash]] = sql(`SELECT password_hash FROM accounts WHERE id = ${res.body.id}`);
  assert.match(hash, /^\$argon2id\$/);
});

test('sign up: password of 11 characters is too short, 1025 characters too long', async () => {
  const short = await call('POST', '/api/v1/accounts',
    { body: { email: email(), password: 'x'.repeat(11), display_name: 'A' } });
  assert.equal(short.status, 422);
  assert.deepEqual(problemFields(short), ['password']);
  const long = await call('POST', '/api/v1/accounts',
    { body: { email: email(), password: 'x'.repeat(1025), display_name: 'A' } });
  assert.equal(long.status, 422);
  assert.deepEqual(problemFields(long), ['password']);
  const multibyte = await call('POST', '/api/v1/accounts',
    { body: { email: email(), password: 'é'.repeat(1025), display_name: 'A' } });
  assert.equal(multibyte.status, 422, '1025 characters, whatever their bytes');
  assert.deepEqual(problemFields(multibyte), ['password']);
  const edge = await call('POST', '/api/v1/accounts',
    { body: { email: email(), password: 'x'.repeat(1024), display_name: 'A' } });
  assert.equal(edge.status, 201);
});

test('sign up: bad email, missing fields and unknown fields are 422 naming each', async () => {
  const bad = await call('POST', '/api/v1/accounts',
    { body: { email: 'not-an-email', password: PASSWORD, display_name: 'A' } });
  assert.equal(bad.status, 422);
  assert.deepEqual(problemFields(bad), ['email']);
  assert.equal(bad.headers.get('content-type'), 'application/problem+json');

  const missing = await call('POST', '/api/v1/accounts', { body: {} });
  assert.equal(missing.status, 422);
  assert.deepEqual(problemFields(missing), ['display_name', 'email', 'password']);

  const unknown = await call('POST', '/api/v1/accounts',
    { body: { email: email(), password: PASSWORD, display_name: 'A', is_admin: true } });
  assert.equal(unknown.status, 422);
  assert.deepEqual(problemFields(unknown), ['is_admin']);

  const wrongType = await call('POST', '/api/v1/accounts',
    { body: { email: 42, password: PASSWORD, display_name: 'A' } });
  assert.equal(wrongType.status, 422);
  assert.deepEqual(problemFields(wrongType), ['email']);
});

test('sign up: the same email in another case is a 409', async () => {
  const e = email();
  const first = await call('POST', '/api/v1/accounts', { body: { email: e, password: PASSWORD, display_name: 'A' } });
  assert.equal(first.status, 201);
  const again = await call('POST', '/api/v1/accounts',
    { body: { email: e.toUpperCase(), password: 'another long password', display_name: 'B' } });
  assert.equal(again.status, 409);
  assert.deepEqual(problemFields(again), ['email']);
  assert.equal(sql(`SELECT count(*) FROM accounts WHERE email = ${lit(e)}`)[0][0], '1');
});

test('passwords are counted in characters, not bytes: 600 "é" (1200 bytes) sign up and in', async () => {
  for (const password of ['é'.repeat(600), '😀'.repeat(1024), 'é'.repeat(12)]) {
    const e = email();
    const res = await call('POST', '/api/v1/accounts', { body: { email: e, password, display_name: 'Accent' } });
    assert.equal(res.status, 201, `${[...password].length} characters: ${res.text}`);
    assert.equal((await signIn(e, password)).status, 201);
  }
  const u = await newUser();
  const etag = await accountVersion(u.token);
  const changed = await call('PATCH', '/api/v1/me/account',
    { token: u.token, headers: { 'If-Match': etag }, body: { new_password: 'é'.repeat(600), current_password: u.password } });
  assert.equal(changed.status, 200, changed.text);
  assert.equal((await signIn(u.email, 'é'.repeat(600))).status, 201);
});

// ---------- sign in and out ----------

test('sign in: 201 with token, csrf_token and a HttpOnly cookie', async () => {
  const u = await newUser();
  const res = await signIn(u.email.toUpperCase(), u.password);
  assert.equal(res.status, 201);
  assert.match(res.body.token, /^[A-Za-z0-9_-]{43}$/);
  assert.match(res.body.csrf_token, /^[0-9a-f]{64}$/);
  assert.ok(Date.parse(res.body.expires_at) > Date.now());
  const cookie = res.headers.get('set-cookie');
  assert.match(cookie, /^session=[A-Za-z0-9_-]{43};/);
  assert.match(cookie, /HttpOnly/);
  assert.match(cookie, /SameSite=Lax/);
  assert.match(cookie, /Path=\//);
  const stored = sql(`SELECT encode(token_hash, 'hex') FROM sessions WHERE account_id = ${u.id}`).flat();
  assert.equal(stored.length, 2);
  assert.ok(!stored.includes(res.body.token), 'only a hash of the token is stored');
});

test('sign in: unknown email and wrong password get the same 401 and body', async () => {
  const u = await newUser();
  const wrong = await signIn(u.email, 'not the right password');
  const stranger = email();
  const unknown = await signIn(stranger, 'not the right password');
  assert.equal(wrong.status, 401);
  assert.equal(unknown.status, 401);
  assert.deepEqual(wrong.body, unknown.body);
  assert.equal(wrong.headers.get('www-authenticate'), unknown.headers.get('www-authenticate'));
  const notEmail = await signIn('not an email', 'whatever');
  assert.equal(notEmail.status, 401);
  assert.deepEqual(notEmail.body, wrong.body);
  sql(`DELETE FROM login_failures WHERE scope IN (${lit(`email:${u.email}`)}, ${lit(`email:${stranger}`)})`);
});

test('sign in: missing password is a 422, not a 401', async () => {
  const res = await call('POST', '/api/v1/sessions', { body: { email: email() } });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['password']);
});

test('sign in sets a signed_in marker the pages can read (no secret, not HttpOnly); sign out clears both cookies', async () => {
  const u = await newUser();
  const res = await signIn(u.email, u.password);
  assert.equal(res.status, 201);
  const cookies = res.headers.getSetCookie();
  assert.equal(cookies.length, 2, cookies.join(' | '));
  const marker = cookies.find((c) => c.startsWith('signed_in='));
  assert.match(marker, /^signed_in=1; SameSite=Lax; Path=\/; Max-Age=[1-9]\d*/);
  assert.doesNotMatch(marker, /HttpOnly/i, 'the pages read it with document.cookie');
  assert.ok(!marker.includes(res.body.token));
  const out = await call('DELETE', '/api/v1/sessions/current', { token: res.body.token });
  assert.equal(out.status, 204);
  const cleared = out.headers.getSetCookie();
  assert.ok(cleared.some((c) => /^session=;.*Max-Age=0/.test(c)), cleared.join(' | '));
  assert.ok(cleared.some((c) => /^signed_in=;.*Max-Age=0/.test(c)), cleared.join(' | '));
});

test('sign out: the token stops working at once and the cookie is cleared', async () => {
  const u = await newUser();
  assert.equal((await call('GET', '/api/v1/me', { token: u.token })).status, 200);
  const out = await call('DELETE', '/api/v1/sessions/current', { token: u.token });
  assert.equal(out.status, 204);
  assert.match(out.headers.get('set-cookie'), /^session=;.*Max-Age=0/);
  const again = await call('GET', '/api/v1/me', { token: u.token });
  assert.equal(again.status, 401);
  assert.equal((await call('DELETE', '/api/v1/sessions/current', { token: u.token })).status, 401);
});

test('an expired session is a 401', async () => {
  const u = await newUser();
  sql(`UPDATE sessions SET expires_at = now() - interval '1 second' WHERE account_id = ${u.id}`);
  const res = await call('GET', '/api/v1/me', { token: u.token });
  assert.equal(res.status, 401);
  assert.equal(res.headers.get('www-authenticate'), 'Bearer');
});

test('a malformed bearer token is a 401, no credentials are a 401', async () => {
  assert.equal((await call('GET', '/api/v1/me', { token: 'nonsense' })).status, 401);
  assert.equal((await call('GET', '/api/v1/me', { headers: { Authorization: 'Basic abc' } })).status, 401);
  assert.equal((await call('GET', '/api/v1/me')).status, 401);
  assert.equal((await call('GET', '/api/v1/me', { token: 'A'.repeat(43) })).status, 401);
});

test('GET /me: account, agent, memberships and csrf_token', async () => {
  const u = await newUser('Grace');
  const res = await call('GET', '/api/v1/me', { token: u.token });
  assert.equal(res.status, 200);
  assert.equal(res.body.account.id, u.id);
  assert.equal(res.body.account.email, u.email);
  assert.equal(res.body.account.display_name, 'Grace');
  assert.equal(res.body.account.version, 1);
  assert.equal(res.body.agent, null);
  assert.deepEqual(res.body.memberships, []);
  assert.equal(res.body.csrf_token, u.csrf);
});

// ---------- cookies and CSRF ----------

test('cookie: reads need no CSRF token, writes do (403 without, OK with)', async () => {
  const u = await newUser();
  const cookie = { Cookie: `theme=dark; ${u.cookie}; other=1` };
  const me = await call('GET', '/api/v1/me', { headers: cookie });
  assert.equal(me.status, 200);
  assert.equal(me.body.csrf_token, u.csrf);

  const etag = await accountVersion(u.token);
  const body = { display_name: 'By cookie' };
  const noCsrf = await call('PATCH', '/api/v1/me/account', { body, headers: { ...cookie, 'If-Match': etag } });
  assert.equal(noCsrf.status, 403);
  const badCsrf = await call('PATCH', '/api/v1/me/account',
    { body, headers: { ...cookie, 'If-Match': etag, 'X-CSRF-Token': '0'.repeat(64) } });
  assert.equal(badCsrf.status, 403);
  assert.equal(sql(`SELECT display_name FROM accounts WHERE id = ${u.id}`)[0][0], 'Test User');
  const ok = await call('PATCH', '/api/v1/me/account',
    { body, headers: { ...cookie, 'If-Match': etag, 'X-CSRF-Token': u.csrf } });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.display_name, 'By cookie');

  const outNoCsrf = await call('DELETE', '/api/v1/sessions/current', { headers: cookie });
  assert.equal(outNoCsrf.status, 403);
  const out = await call('DELETE', '/api/v1/sessions/current', { headers: { ...cookie, 'X-CSRF-Token': u.csrf } });
  assert.equal(out.status, 204);
  assert.equal((await call('GET', '/api/v1/me', { token: u.token })).status, 401);
});

test('cookie: a stale or garbage cookie counts as signed out', async () => {
  const res = await call('GET', '/api/v1/me', { headers: { Cookie: 'session=garbage' } });
  assert.equal(res.status, 401);
  const long = await call('GET', '/api/v1/me', { headers: { Cookie: `session=${'a'.repeat(4000)}` } });
  assert.equal(long.status, 401);
});

test('bearer: writes need no CSRF token', async () => {
  const u = await newUser();
  const etag = await accountVersion(u.token);
  const res = await call('PATCH', '/api/v1/me/account',
    { token: u.token, headers: { 'If-Match': etag }, body: { display_name: 'By bearer' } });
  assert.equal(res.status, 200);
  assert.equal(res.body.display_name, 'By bearer');
});

// ---------- throttling ----------

test('throttling: the sixth attempt after five failures is a 429 with Retry-After', async () => {
  const u = await newUser();
  for (let i = 0; i < 5; i++) assert.equal((await signIn(u.email, `wrong password ${i}`)).status, 401);
  const blocked = await signIn(u.email, u.password);
  assert.equal(blocked.status, 429, 'even the right password waits');
  const retry = Number(blocked.headers.get('retry-after'));
  assert.ok(retry > 850 && retry <= 900, `Retry-After ${retry}`);
  assert.equal(blocked.body.status, 429);
  assert.equal(sql(`SELECT count(*) FROM login_failures WHERE scope = ${lit(`email:${u.email}`)}`)[0][0], '5',
    'a throttled attempt is not recorded');

  // Retry-After counts down to the moment the oldest failure leaves the window.
  sql(`UPDATE login_failures SET failed_at = now() - interval '890 seconds'
       WHERE scope = ${lit(`email:${u.email}`)}`);
  const later = await signIn(u.email, u.password);
  assert.equal(later.status, 429);
  const left = Number(later.headers.get('retry-after'));
  assert.ok(left >= 9 && left <= 11, `Retry-After ${left}`);

  sql(`UPDATE login_failures SET failed_at = now() - interval '901 seconds'
       WHERE scope = ${lit(`email:${u.email}`)}`);
  assert.equal((await signIn(u.email, u.password)).status, 201);
});

test('throttling: concurrent wrong guesses cannot pass the limit (attempts are reserved before hashing)', async () => {
  const u = await newUser();
  const N = 40;
  const results = await Promise.all(Array.from({ length: N }, (_, i) => signIn(u.email, `wrong guess ${i}`)));
  const counts = {};
  for (const r of results) counts[r.status] = (counts[r.status] ?? 0) + 1;
  assert.deepEqual(Object.keys(counts).sort(), ['401', '429'], JSON.stringify(counts));
  assert.equal(counts[401], 5, `at most LOGIN_MAX_FAILURES (5) evaluated: ${JSON.stringify(counts)}`);
  assert.equal(counts[429], N - 5);
  assert.equal(sql(`SELECT count(*) FROM login_failures WHERE scope = ${lit(`email:${u.email}`)}`)[0][0], '5');
  assert.equal((await signIn(u.email, u.password)).status, 429, 'and the right one waits too, from here');
  sql(`DELETE FROM login_failures WHERE scope = ${lit(`email:${u.email}`)}`);
});

test('throttling: unknown emails are throttled the same way', async () => {
  const e = email();
  for (let i = 0; i < 5; i++) assert.equal((await signIn(e, 'wrong password')).status, 401);
  const blocked = await signIn(e, 'wrong password');
  assert.equal(blocked.status, 429);
  assert.ok(Number(blocked.headers.get('retry-after')) > 0);
  sql(`DELETE FROM login_failures WHERE scope = ${lit(`email:${e}`)}`);
});

test('throttling: a successful sign-in clears the account failures', async () => {
  const u = await newUser();
  for (let i = 0; i < 4; i++) assert.equal((await signIn(u.email, 'wrong password')).status, 401);
  assert.equal((await signIn(u.email, u.password)).status, 201);
  assert.equal(sql(`SELECT count(*) FROM login_failures WHERE scope = ${lit(`email:${u.email}`)}`)[0][0], '0');
  for (let i = 0; i < 4; i++) assert.equal((await signIn(u.email, 'wrong password')).status, 401);
  assert.equal((await signIn(u.email, u.password)).status, 201, 'four more failures are allowed again');
});

// ---------- rehash ----------

test('sign in rehashes a password hashed with other limits', async () => {
  const u = await newUser();
  // Made by libsodium with opslimit 2, memlimit 16 KiB for this password.
  const old = '$argon2id$v=19$m=16,t=2,p=1$Bws61KhhZwERH1gdRUAHZg$YD0rRT2lmySE6MBM5UmC1LBPfTq1Cikuv3mzWtVevEE';
  sql(`UPDATE accounts SET password_hash = ${lit(old)} WHERE id = ${u.id}`);
  assert.equal((await signIn(u.email, u.password)).status, 401);
  const res = await signIn(u.email, 'an old style password');
  assert.equal(res.status, 201);
  const [[now]] = sql(`SELECT password_hash FROM accounts WHERE id = ${u.id}`);
  assert.notEqual(now, old);
  assert.match(now, /^\$argon2id\$v=19\$m=8,t=1,p=1\$/, 'the daemon limits of the tests');
  assert.equal((await signIn(u.email, 'an old style password')).status, 201);
  sql(`DELETE FROM login_failures WHERE scope = ${lit(`email:${u.email}`)}`);
});

// ---------- changing the account ----------

test('PATCH /me/account needs If-Match: 428 without, 412 when stale, ETag after', async () => {
  const u = await newUser();
  const body = { display_name: 'New name' };
  const none = await call('PATCH', '/api/v1/me/account', { token: u.token, body });
  assert.equal(none.status, 428);
  const stale = await call('PATCH', '/api/v1/me/account', { token: u.token, body, headers: { 'If-Match': '"7"' } });
  assert.equal(stale.status, 412);
  const junk = await call('PATCH', '/api/v1/me/account', { token: u.token, body, headers: { 'If-Match': '"99999999999999999999"' } });
  assert.equal(junk.status, 412);
  const ok = await call('PATCH', '/api/v1/me/account', { token: u.token, body, headers: { 'If-Match': '"1"' } });
  assert.equal(ok.status, 200);
  assert.equal(ok.headers.get('etag'), '"2"');
  assert.equal(ok.body.version, 2);
  assert.equal(ok.body.display_name, 'New name');
  const replay = await call('PATCH', '/api/v1/me/account', { token: u.token, body, headers: { 'If-Match': '"1"' } });
  assert.equal(replay.status, 412);
  const get = await call('GET', '/api/v1/me/account', { token: u.token });
  assert.equal(get.headers.get('etag'), '"2"');
  assert.equal(get.body.display_name, 'New name');
});

test('PATCH /me/account: validation names every bad field and writes nothing', async () => {
  const u = await newUser();
  const res = await call('PATCH', '/api/v1/me/account', {
    token: u.token, headers: { 'If-Match': '"1"' },
    body: { display_name: '', email: 'nope', new_password: 'short', role: 'admin' },
  });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['current_password', 'display_name', 'email', 'new_password', 'role']);
  const [[name, version]] = sql(`SELECT display_name, version FROM accounts WHERE id = ${u.id}`);
  assert.equal(name, 'Test User');
  assert.equal(version, '1');
});

test('PATCH /me/account: email change needs the current password', async () => {
  const u = await newUser();
  const e = email();
  const missing = await call('PATCH', '/api/v1/me/account',
    { token: u.token, headers: { 'If-Match': '"1"' }, body: { email: e } });
  assert.equal(missing.status, 422);
  assert.deepEqual(problemFields(missing), ['current_password']);
  const wrong = await call('PATCH', '/api/v1/me/account',
    { token: u.token, headers: { 'If-Match': '"1"' }, body: { email: e, current_password: 'not it at all' } });
  assert.equal(wrong.status, 422);
  assert.deepEqual(problemFields(wrong), ['current_password']);
  assert.equal(sql(`SELECT email FROM accounts WHERE id = ${u.id}`)[0][0], u.email);
  const ok = await call('PATCH', '/api/v1/me/account',
    { token: u.token, headers: { 'If-Match': '"1"' }, body: { email: e.toUpperCase(), current_password: u.password } });
  assert.equal(ok.status, 200);
  assert.equal(ok.body.email, e);
  assert.equal((await signIn(e, u.password)).status, 201);
  assert.equal((await signIn(u.email, u.password)).status, 401);
  sql(`DELETE FROM login_failures WHERE scope IN (${lit(`email:${u.email}`)}, ${lit(`email:${e}`)})`);
});

test('PATCH /me/account: an email another account uses is a 409', async () => {
  const a = await newUser();
  const b = await newUser();
  const res = await call('PATCH', '/api/v1/me/account', {
    token: b.token, headers: { 'If-Match': '"1"' },
    body: { email: a.email.toUpperCase(), current_password: b.password },
  });
  assert.equal(res.status, 409);
  assert.deepEqual(problemFields(res), ['email']);
  assert.equal(sql(`SELECT email FROM accounts WHERE id = ${b.id}`)[0][0], b.email);
});

test('PATCH /me/account: a new password revokes the other sessions, keeps this one', async () => {
  const u = await newUser();
  const other = await signIn(u.email, u.password);
  assert.equal(other.status, 201);
  assert.equal((await call('GET', '/api/v1/me', { token: other.body.token })).status, 200);
  const newPassword = 'a brand new long password';
  const res = await call('PATCH', '/api/v1/me/account', {
    token: u.token, headers: { 'If-Match': '"1"' },
    body: { new_password: newPassword, current_password: u.password },
  });
  assert.equal(res.status, 200);
  assert.equal(res.body.version, 2);
  assert.equal((await call('GET', '/api/v1/me', { token: u.token })).status, 200, 'this session stays');
  assert.equal((await call('GET', '/api/v1/me', { token: other.body.token })).status, 401, 'the other is revoked');
  assert.equal((await signIn(u.email, u.password)).status, 401);
  assert.equal((await signIn(u.email, newPassword)).status, 201);
  sql(`DELETE FROM login_failures WHERE scope = ${lit(`email:${u.email}`)}`);
});

test('PATCH /me/account: a display name alone keeps the other sessions', async () => {
  const u = await newUser();
  const other = await signIn(u.email, u.password);
  const res = await call('PATCH', '/api/v1/me/account',
    { token: u.token, headers: { 'If-Match': '"1"' }, body: { display_name: 'Only the name' } });
  assert.equal(res.status, 200);
  assert.equal((await call('GET', '/api/v1/me', { token: other.body.token })).status, 200);
});

// ---------- deleting the account ----------

function seedAgentWorld(accountId) {
  const slug = unique('org');
  const purpose = unique('purpose');
  const handle = unique('agent');
  sql(`INSERT INTO purposes (slug, name) VALUES (${lit(purpose)}, ${lit(purpose)})`);
  const [[agentId]] = sql(`INSERT INTO agents (account_id, handle, headline, personal_purpose, skills, location)
    VALUES (${accountId}, ${lit(handle)}, 'Water engineer', 'Clean water for all', '{hydrology,c}', 'Lyon')
    RETURNING id`);
  sql(`INSERT INTO agent_purposes (agent_id, purpose_id, energy)
       SELECT ${agentId}, id, 60 FROM purposes WHERE slug = ${lit(purpose)}`);
  const [[orgId]] = sql(`INSERT INTO organisations (slug, name, purpose_statement, legal_form, governance)
    VALUES (${lit(slug)}, 'Org', 'Water', 'cooperative', 'sociocracy') RETURNING id`);
  sql(`INSERT INTO follows (agent_id, organisation_id) VALUES (${agentId}, ${orgId})`);
  return { agentId, orgId, handle, slug };
}

test('DELETE /me/account: wrong or missing password writes nothing', async () => {
  const u = await newUser();
  const missing = await call('DELETE', '/api/v1/me/account', { token: u.token, body: {} });
  assert.equal(missing.status, 422);
  assert.deepEqual(problemFields(missing), ['password']);
  const wrong = await call('DELETE', '/api/v1/me/account', { token: u.token, body: { password: 'not my password' } });
  assert.equal(wrong.status, 422);
  assert.deepEqual(problemFields(wrong), ['password']);
  const noBody = await call('DELETE', '/api/v1/me/account', { token: u.token });
  assert.equal(noBody.status, 415);
  assert.equal((await call('GET', '/api/v1/me', { token: u.token })).status, 200);
  assert.equal(sql(`SELECT deleted_at IS NULL FROM accounts WHERE id = ${u.id}`)[0][0], 't');
  sql(`DELETE FROM login_failures WHERE scope = ${lit(`email:${u.email}`)}`);
});

test('DELETE /me/account: scrubs personal data, keeps rows, stops every token', async () => {
  const u = await newUser();
  const other = await signIn(u.email, u.password);
  const { agentId, orgId, handle } = seedAgentWorld(u.id);
  const [[ownerOrg]] = sql(`INSERT INTO organisations (slug, name, purpose_statement, legal_form, governance)
    VALUES (${lit(unique('org'))}, 'Shared', 'Water', 'cooperative', 'sociocracy') RETURNING id`);
  const co = await newUser();
  sql(`INSERT INTO memberships (organisation_id, account_id, role) VALUES
       (${orgId}, ${u.id}, 'member'), (${ownerOrg}, ${u.id}, 'owner'), (${ownerOrg}, ${co.id}, 'owner')`);

  const res = await call('DELETE', '/api/v1/me/account', { token: u.token, body: { password: u.password } });
  assert.equal(res.status, 204);
  assert.match(res.headers.get('set-cookie'), /^session=;.*Max-Age=0/);

  const [[mail, hash, name, deleted]] = sql(
    `SELECT coalesce(email, '<null>'), coalesce(password_hash, '<null>'), display_name, deleted_at IS NOT NULL
     FROM accounts WHERE id = ${u.id}`);
  assert.equal(mail, '<null>');
  assert.equal(hash, '<null>');
  assert.equal(name, 'Deleted account');
  assert.equal(deleted, 't');
  const [[h, headline, purpose, skills, disc, loc]] = sql(
    `SELECT handle, headline, personal_purpose, skills::text, discoverable, coalesce(location, '<null>')
     FROM agents WHERE id = ${agentId}`);
  assert.equal(h, `deleted-${agentId}`);
  assert.notEqual(h, handle);
  assert.equal(headline, '');
  assert.equal(purpose, '');
  assert.equal(skills, '{}');
  assert.equal(disc, 'f');
  assert.equal(loc, '<null>');
  assert.equal(sql(`SELECT count(*) FROM agent_purposes WHERE agent_id = ${agentId}`)[0][0], '0');
  assert.equal(sql(`SELECT count(*) FROM follows WHERE agent_id = ${agentId}`)[0][0], '0');
  assert.equal(sql(`SELECT count(*) FROM memberships WHERE account_id = ${u.id}`)[0][0], '0');
  assert.equal(sql(`SELECT count(*) FROM sessions WHERE account_id = ${u.id} AND revoked_at IS NULL`)[0][0], '0');
  assert.equal(sql(`SELECT count(*) FROM memberships WHERE organisation_id = ${ownerOrg}`)[0][0], '1',
    'the co-owner stays');

  assert.equal((await call('GET', '/api/v1/me', { token: u.token })).status, 401);
  assert.equal((await call('GET', '/api/v1/me', { token: other.body.token })).status, 401);
  assert.equal((await signIn(u.email, u.password)).status, 401);
  const again = await call('POST', '/api/v1/accounts', { body: { email: u.email, password: PASSWORD, display_name: 'Back' } });
  assert.equal(again.status, 201, 'the email is free again');
  sql(`DELETE FROM login_failures WHERE scope = ${lit(`email:${u.email}`)}`);
});

test('DELETE /me/account: the last owner of an organisation must hand over first (409)', async () => {
  const u = await newUser();
  const slug = unique('org');
  const [[orgId]] = sql(`INSERT INTO organisations (slug, name, purpose_statement, legal_form, governance)
    VALUES (${lit(slug)}, 'Mine', 'Water', 'cooperative', 'sociocracy') RETURNING id`);
  sql(`INSERT INTO memberships (organisation_id, account_id, role) VALUES (${orgId}, ${u.id}, 'owner')`);
  const res = await call('DELETE', '/api/v1/me/account', { token: u.token, body: { password: u.password } });
  assert.equal(res.status, 409);
  assert.match(res.body.detail, new RegExp(slug));
  assert.equal((await call('GET', '/api/v1/me', { token: u.token })).status, 200, 'nothing changed');
  assert.equal(sql(`SELECT count(*) FROM memberships WHERE account_id = ${u.id}`)[0][0], '1');

  const co = await newUser();
  sql(`INSERT INTO memberships (organisation_id, account_id, role) VALUES (${orgId}, ${co.id}, 'owner')`);
  const ok = await call('DELETE', '/api/v1/me/account', { token: u.token, body: { password: u.password } });
  assert.equal(ok.status, 204);
});

test('DELETE /me/account by cookie needs the CSRF token', async () => {
  const u = await newUser();
  const res = await call('DELETE', '/api/v1/me/account', { headers: { Cookie: u.cookie }, body: { password: u.password } });
  assert.equal(res.status, 403);
  const ok = await call('DELETE', '/api/v1/me/account',
    { headers: { Cookie: u.cookie, 'X-CSRF-Token': u.csrf }, body: { password: u.password } });
  assert.equal(ok.status, 204);
});

// ---------- no secrets out ----------

test('no response of this file carried a stored token hash', () => {
  const hashes = sql(`SELECT encode(token_hash, 'hex') FROM sessions`).flat();
  assert.ok(hashes.length > 0);
  assert.ok(seen.length > 50);
  for (const text of seen) {
    const lower = text.toLowerCase();
    for (const h of hashes) assert.ok(!lower.includes(h), 'a token hash was sent to a client');
  }
});
