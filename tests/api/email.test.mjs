// email: the verification link every new account gets, what an unverified
// account may and may not do, changing the email, and the password reset
// that reveals nothing — with the messages read from the real SMTP server
// the daemon sends through (SMTP_DIR, see helpers.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, mailedToken, mailsTo, newUser, sql, unique } from './helpers.mjs';

const PASSWORD = 'a long enough password';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function signUp(name = 'Mail Person') {
  const email = `${unique('mail')}@example.org`;
  const res = await api('POST', '/api/v1/accounts', { body: { email, password: PASSWORD, display_name: name } });
  assert.equal(res.status, 201, res.text);
  return { id: res.body.id, email, account: res.body };
}

async function signIn(email, password = PASSWORD) {
  return api('POST', '/api/v1/sessions', { body: { email, password } });
}

async function ownOrganisation(token) {
  const res = await api('POST', '/api/v1/organisations', {
    token, body: { name: unique('Mail Org'), purpose_statement: 'Testing mail.', purposes: [], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

// An engagement's body, with a purpose of the catalogue (new, made by token's account).
async function engagementBody(token) {
  const p = await api('POST', '/api/v1/purposes', { token, body: { name: unique('Mail purpose'), description: 'For mail tests.' } });
  assert.equal(p.status, 201, p.text);
  return { title: unique('Mail engagement'), description: 'Should wait for a confirmed address.',
    packagings: ['volunteer'], hours_per_week: 4, skills: [], remote_ok: true, purposes: [p.body.slug] };
}

test('sign-up mails a verification link; until it is followed the account cannot post or propose', async () => {
  const { email, account } = await signUp('Zoë Unverified');
  assert.equal(account.email_verified_at, null);
  const [m] = await mailsTo(email);
  assert.ok(m, 'the verification message reached the SMTP server');
  assert.equal(m.headers.Subject, 'Confirm your email address for Purposed');
  assert.equal(m.headers.To, email);
  assert.match(m.headers['Message-ID'], /^<purposed\.\d+\.\d+@/);
  assert.equal(m.content_type, 'multipart/alternative');
  assert.match(m.text, /Hello Zoë Unverified,/);
  const token = m.text.match(/\/verify-email#token=([A-Za-z0-9_-]+)/)[1];
  assert.ok(m.html.includes(`/verify-email#token=${token}"`), 'the HTML part has the same link');

  const s = await signIn(email);
  assert.equal(s.status, 201);
  const t = s.body.token;
  // allowed: a profile, following, an organisation of one's own
  const agent = await api('PUT', '/api/v1/me/agent', { token: t, body: { handle: unique('h'), headline: 'Unverified',
    personal_purpose: 'Waiting for mail.', skills: [], capacity_hours_per_week: 5, packagings: ['volunteer'], remote_ok: true, discoverable: true } });
  assert.ok([200, 201].includes(agent.status), agent.text);
  const slug = await ownOrganisation(t);
  assert.ok([200, 201, 204].includes((await api('PUT', `/api/v1/organisations/${slug}/follow`, { token: t })).status));
  // refused: posting an engagement, proposing an agreement
  const post = await api('POST', `/api/v1/organisations/${slug}/engagements`, { token: t, body: await engagementBody(t) });
  assert.equal(post.status, 403);
  assert.equal(post.body.type.split('/').pop(), 'email-unverified');
  const propose = await api('POST', '/api/v1/agreements', { token: t, body: {} });
  assert.equal(propose.status, 403);
  assert.equal(propose.body.type.split('/').pop(), 'email-unverified');

  const v = await api('POST', '/api/v1/email-verifications', { body: { token } });
  assert.equal(v.status, 200, v.text);
  assert.equal(v.body.email, email);
  assert.ok(v.body.email_verified_at);
  const me = await api('GET', '/api/v1/me/account', { token: t });
  assert.equal(me.body.email_verified_at, v.body.email_verified_at);
  const posted = await api('POST', `/api/v1/organisations/${slug}/engagements`, { token: t, body: await engagementBody(t) });
  assert.equal(posted.status, 201, posted.text);

  const again = await api('POST', '/api/v1/email-verifications', { body: { token } });
  assert.equal(again.status, 422, 'a link works once');
  assert.deepEqual(again.body.errors.map((e) => e.field), ['token']);
  // only the hash is kept, and the finished job no longer holds the token
  assert.equal(sql(`SELECT count(*) FROM email_tokens WHERE encode(token_hash, 'escape') LIKE '%${token}%'`)[0][0], '0');
  assert.equal(sql(`SELECT count(*) FROM jobs WHERE payload::text LIKE '%${token}%'`)[0][0], '0');
});

test('a new link can be asked for; the older one stops working; a verified account gets 409', async () => {
  const { email } = await signUp();
  const first = await mailedToken(email, '/verify-email');
  const t = (await signIn(email)).body.token;
  const again = await api('POST', '/api/v1/me/email-verification', { token: t });
  assert.equal(again.status, 202, again.text);
  const second = await mailedToken(email, '/verify-email', 2);
  assert.notEqual(first, second);
  assert.equal((await api('POST', '/api/v1/email-verifications', { body: { token: first } })).status, 422);
  assert.equal((await api('POST', '/api/v1/email-verifications', { body: { token: second } })).status, 200);
  const done = await api('POST', '/api/v1/me/email-verification', { token: t });
  assert.equal(done.status, 409);
  assert.equal((await api('POST', '/api/v1/email-verifications', { body: { token: 'nope' } })).status, 422);
  assert.equal((await api('POST', '/api/v1/email-verifications', { body: {} })).status, 422);
});

test('changing the email makes it unverified again, mails the new address a link and tells the old one', async () => {
  const u = await newUser('Changer');
  const before = await api('GET', '/api/v1/me/account', { token: u.token });
  assert.ok(before.body.email_verified_at);
  const newEmail = `${unique('moved')}@example.org`;
  const res = await api('PATCH', '/api/v1/me/account', {
    token: u.token, headers: { 'If-Match': before.headers.get('etag') },
    body: { email: newEmail, current_password: u.password },
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.email, newEmail);
  assert.equal(res.body.email_verified_at, null);
  const [notice] = await mailsTo(u.email, { subject: 'The email address of your Purposed account was changed' });
  assert.ok(notice, 'the old address is told');
  assert.ok(notice.text.includes(newEmail), 'the notice names the new address');
  const slug = await ownOrganisation(u.token);
  assert.equal((await api('POST', `/api/v1/organisations/${slug}/engagements`, { token: u.token, body: await engagementBody(u.token) })).status, 403);
  const token = await mailedToken(newEmail, '/verify-email');
  assert.equal((await api('POST', '/api/v1/email-verifications', { body: { token } })).status, 200);
  assert.equal((await api('POST', `/api/v1/organisations/${slug}/engagements`, { token: u.token, body: await engagementBody(u.token) })).status, 201);
});

test('a password reset answers the same for any address; only an account gets mail', async () => {
  const u = await newUser('Forgetful');
  const nobody = `${unique('nobody')}@example.org`;
  const known = await api('POST', '/api/v1/password-resets', { body: { email: u.email.toUpperCase() } });
  const unknown = await api('POST', '/api/v1/password-resets', { body: { email: nobody } });
  assert.equal(known.status, 202);
  assert.equal(unknown.status, 202);
  assert.deepEqual(known.body, unknown.body);
  assert.equal(known.headers.get('content-length'), unknown.headers.get('content-length'));
  const [m] = await mailsTo(u.email, { subject: 'Reset your Purposed password' });
  assert.ok(m, 'the reset link reached the account\'s address');
  await sleep(500);
  assert.equal((await mailsTo(nobody, { timeout: 0 })).length, 0);
  const bad = await api('POST', '/api/v1/password-resets', { body: { email: 'not an email' } });
  assert.equal(bad.status, 422);
});

test('the mailed link sets a new password once, revokes every session and sends a notice', async () => {
  const u = await newUser('Resetter');
  const other = await signIn(u.email);
  assert.equal((await api('POST', '/api/v1/password-resets', { body: { email: u.email } })).status, 202);
  const token = await mailedToken(u.email, '/reset-password');
  const short = await api('POST', '/api/v1/password-resets/complete', { body: { token, password: 'short' } });
  assert.equal(short.status, 422);
  const done = await api('POST', '/api/v1/password-resets/complete', { body: { token, password: 'a brand new password' } });
  assert.equal(done.status, 204, done.text);
  assert.equal((await api('GET', '/api/v1/me', { token: u.token })).status, 401, 'every session is revoked');
  assert.equal((await api('GET', '/api/v1/me', { token: other.body.token })).status, 401);
  assert.equal((await signIn(u.email)).status, 401, 'the old password no longer works');
  assert.equal((await signIn(u.email, 'a brand new password')).status, 201);
  const twice = await api('POST', '/api/v1/password-resets/complete', { body: { token, password: 'another new password' } });
  assert.equal(twice.status, 422, 'single use');
  const [notice] = await mailsTo(u.email, { subject: 'Your Purposed password was changed' });
  assert.ok(notice, 'a notice that the password changed');
  assert.equal(sql(`SELECT count(*) FROM jobs WHERE payload::text LIKE '%${token}%'`)[0][0], '0');
});

test('a reset link expires; a reset also confirms an unverified address', async () => {
  const { email, id } = await signUp('Late');
  assert.equal((await api('POST', '/api/v1/password-resets', { body: { email } })).status, 202);
  const token = await mailedToken(email, '/reset-password');
  sql(`UPDATE email_tokens SET expires_at = now() - interval '1 second' WHERE account_id = ${id} AND purpose = 'reset'`);
  assert.equal((await api('POST', '/api/v1/password-resets/complete', { body: { token, password: 'a brand new password' } })).status, 422);
  assert.equal((await api('POST', '/api/v1/password-resets', { body: { email } })).status, 202);
  const fresh = await mailedToken(email, '/reset-password', 2);
  assert.equal((await api('POST', '/api/v1/password-resets/complete', { body: { token: fresh, password: 'a brand new password' } })).status, 204);
  const s = await signIn(email, 'a brand new password');
  const me = await api('GET', '/api/v1/me/account', { token: s.body.token });
  assert.ok(me.body.email_verified_at, 'the link reached the address: it is verified');
});

test('reset requests are throttled per address the same way whether or not it has an account', async () => {
  const u = await newUser('Throttled');
  const nobody = `${unique('nobody')}@example.org`;
  for (const email of [u.email, nobody]) {
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await api('POST', '/api/v1/password-resets', { body: { email } })).status);
    assert.deepEqual(statuses, [202, 202, 202, 429], email);
  }
  const last = await api('POST', '/api/v1/password-resets', { body: { email: nobody } });
  assert.ok(Number(last.headers.get('retry-after')) > 0);
  await sleep(500);
  assert.equal((await mailsTo(u.email, { count: 4, timeout: 0, subject: 'Reset your Purposed password' })).length, 3, 'three links, no more');
});

test('a notification is also mailed, with a one-click unsubscribe that works without signing in', async () => {
  const owner = await newUser('Notifying Owner');
  const p = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: unique('Rivers'), description: 'Clean rivers.' } });
  const org = await api('POST', '/api/v1/organisations', {
    token: owner.token, body: { name: unique('River Org'), purpose_statement: 'Rivers.', purposes: [p.body.slug], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  const fan = await newUser('Rivers Fan');
  let res = await api('PUT', '/api/v1/me/agent', { token: fan.token, body: { handle: unique('fan'), headline: '', personal_purpose: '', skills: [],
    capacity_hours_per_week: 10, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true } });
  assert.equal(res.status, 200, res.text);
  res = await api('PUT', '/api/v1/me/agent/purposes', { token: fan.token, body: [{ purpose: p.body.slug, energy: 50 }] });
  assert.equal(res.status, 200, res.text);
  assert.equal((await api('PUT', `/api/v1/organisations/${org.body.slug}/follow`, { token: fan.token })).status, 204);
  const post = (title) => api('POST', `/api/v1/organisations/${org.body.slug}/engagements`, { token: owner.token,
    body: { title, description: 'Rivers need people.', purposes: [p.body.slug], packagings: ['volunteer'], hours_per_week: 2, skills: [], remote_ok: true } });
  assert.equal((await post('First river walk')).status, 201);

  const subject = (m) => m.headers.Subject.startsWith('Purposed: ');
  const [m] = (await mailsTo(fan.email, { count: 2 })).filter(subject);
  assert.ok(m, 'the notification was mailed');
  assert.match(m.text, /First river walk/);
  const unsubscribe = m.headers['List-Unsubscribe'].match(/^<(https:\/\/[^>]+)>$/)[1];
  assert.equal(m.headers['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click');
  const token = new URL(unsubscribe).searchParams.get('token');
  assert.match(token, new RegExp(`^${fan.id}\\.engagement_posted\\.[0-9a-f]{32}$`));
  // what a mail program does: POST the form body to the URL, no credentials
  const forged = await api('POST', `/api/v1/unsubscribe?token=${token.replace(/^\d+/, String(owner.id))}`,
    { raw: 'List-Unsubscribe=One-Click', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(forged.status, 422);
  const done = await api('POST', `/api/v1/unsubscribe?token=${encodeURIComponent(token)}`,
    { raw: 'List-Unsubscribe=One-Click', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(done.status, 200, done.text);
  assert.equal(done.body.kind, 'engagement_posted');

  assert.equal((await post('Second river walk')).status, 201);
  const inApp = await api('GET', '/api/v1/me/notifications', { token: fan.token });
  assert.equal(inApp.body.items.filter((n) => n.kind === 'engagement_posted').length, 2, 'still notified in the app');
  await sleep(1500);
  const mailed = (await mailsTo(fan.email, { count: 99, timeout: 0 })).filter(subject);
  assert.equal(mailed.length, 1, 'no more mail of that kind');
});

test('an invitation to join an organisation is mailed to the person once', async () => {
  const owner = await newUser('Inviting Owner');
  const org = await api('POST', '/api/v1/organisations', {
    token: owner.token, body: { name: unique('Inviting Org'), purpose_statement: 'Invites.', purposes: [], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  const guest = await newUser('Invited Guest');
  const ask = () => api('POST', `/api/v1/organisations/${org.body.slug}/members`, { token: owner.token, body: { email: guest.email, role: 'admin' } });
  assert.equal((await ask()).status, 202);
  const subject = `Invitation to join ${org.body.name} on Purposed`;
  const [m] = await mailsTo(guest.email, { subject });
  assert.ok(m, 'the invitation was mailed');
  assert.match(m.text, /Inviting Owner invited you to join .* as admin\./);
  assert.equal(m.headers['List-Unsubscribe'], undefined, 'a request to this person: transactional');
  assert.equal((await ask()).status, 202, 'asking again');
  await sleep(1000);
  assert.equal((await mailsTo(guest.email, { count: 2, timeout: 0, subject })).length, 1, 'mailed once');
  const nobody = await api('POST', `/api/v1/organisations/${org.body.slug}/members`, { token: owner.token, body: { email: `${unique('none')}@example.org`, role: 'member' } });
  assert.equal(nobody.status, 202, 'the same answer for an address without an account (and no mail)');
});
