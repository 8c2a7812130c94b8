// registration: who may create an account (docs/operations.md,
// "Registration"). The instance's registration mode applies at sign-up
// (open; approval: pending until an administrator approves, told by email;
// invitation: a link made by an administrator or an organisation's owner),
// invitation links are made, listed and revoked by their creators, and new
// accounts whose email address is not confirmed make fewer changes an hour.
// Every test leaves the instance's settings as it found them.
import { test, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { api, mailsTo, newUser, problemFields, sql, unique } from './helpers.mjs';

const PASSWORD = 'a long enough password';
const original = sql('SELECT registration_mode, new_account_days, new_account_writes_per_hour FROM instance_settings')[0];
afterEach(() => {
  sql(`UPDATE instance_settings SET registration_mode = '${original[0]}', new_account_days = ${Number(original[1])},
       new_account_writes_per_hour = ${Number(original[2])}`);
});

async function withRole(role, name = role) {
  const u = await newUser(name);
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${u.id}, '${role}')`);
  return u;
}

// Set the instance's settings as an administrator would (PATCH, If-Match).
async function settings(admin, body) {
  const now = await api('GET', '/api/v1/instance');
  const res = await api('PATCH', '/api/v1/instance', { token: admin.token, headers: { 'If-Match': now.headers.get('etag') }, body });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

const signUp = (body) => api('POST', '/api/v1/accounts', {
  body: { email: `${unique('reg')}@example.org`, password: PASSWORD, display_name: 'Newcomer', ...body },
});
const signIn = (email, password = PASSWORD) => api('POST', '/api/v1/sessions', { body: { email, password } });
const accounts = () => sql('SELECT count(*) FROM accounts')[0][0];

test('the instance publishes its registration mode and the limits of new accounts; administrators change them', async () => {
  const admin = await withRole('administrator', 'Settings admin');
  const moderator = await withRole('moderator', 'Settings moderator');
  const got = await api('GET', '/api/v1/instance');
  assert.equal(got.status, 200);
  const [[mode, days, perHour]] = sql('SELECT registration_mode, new_account_days, new_account_writes_per_hour FROM instance_settings');
  assert.equal(got.body.registration_mode, mode);
  assert.deepEqual(got.body.new_accounts, { days: Number(days), writes_per_hour: Number(perHour) });

  const bad = await api('PATCH', '/api/v1/instance', {
    token: admin.token, headers: { 'If-Match': got.headers.get('etag') },
    body: { registration_mode: 'closed', new_account_days: 366, new_account_writes_per_hour: 0 },
  });
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(problemFields(bad), ['new_account_days', 'new_account_writes_per_hour', 'registration_mode']);
  const refused = await api('PATCH', '/api/v1/instance', {
    token: moderator.token, headers: { 'If-Match': got.headers.get('etag') }, body: { registration_mode: 'open' },
  });
  assert.equal(refused.status, 403, refused.text);
  assert.deepEqual(sql('SELECT registration_mode, new_account_days, new_account_writes_per_hour FROM instance_settings')[0],
    [mode, days, perHour], 'refused attempts change nothing');

  const changed = await settings(admin, { registration_mode: 'approval', new_account_days: 3, new_account_writes_per_hour: 12 });
  assert.equal(changed.registration_mode, 'approval');
  assert.deepEqual(changed.new_accounts, { days: 3, writes_per_hour: 12 });
  assert.deepEqual((await api('GET', '/api/v1/instance')).body, changed, 'everyone reads the change at once');
  await settings(admin, { registration_mode: mode, new_account_days: Number(days), new_account_writes_per_hour: Number(perHour) });
});

test('open: a sign-up is admitted and recorded as such', async () => {
  sql("UPDATE instance_settings SET registration_mode = 'open'");
  const res = await signUp();
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.registration, 'admitted');
  assert.deepEqual(sql(`SELECT mode, status, invitation_id IS NULL FROM account_registrations WHERE account_id = ${res.body.id}`),
    [['open', 'admitted', 't']]);
  assert.equal((await signIn(res.body.email)).status, 201);
});

test('approval: a new account waits, cannot sign in, and an administrator approves or refuses it; the person is told by email', async () => {
  const admin = await withRole('administrator', 'Approving admin');
  const moderator = await withRole('moderator', 'Not an approver');
  const person = await newUser('Ordinary person');
  sql("UPDATE instance_settings SET registration_mode = 'approval'");

  const waiting = await signUp({ reason: 'I repair village pumps.' });
  assert.equal(waiting.status, 201, waiting.text);
  assert.equal(waiting.body.registration, 'pending');
  const email = waiting.body.email;
  const early = await signIn(email);
  assert.equal(early.status, 403, early.text);
  assert.equal(early.body.type, 'https://purposed.dev/problems/account-pending');
  assert.match(early.body.detail, /awaits the approval of an administrator/);
  assert.equal(sql(`SELECT count(*) FROM sessions WHERE account_id = ${waiting.body.id}`)[0][0], '0');
  const wrong = await signIn(email, 'not the password at all');
  assert.equal(wrong.status, 401, 'a wrong password learns nothing of the account');

  // the queue: administrators only
  for (const who of [moderator, person]) {
    assert.equal((await api('GET', '/api/v1/registrations', { token: who.token })).status, 403);
    const tried = await api('POST', `/api/v1/registrations/${waiting.body.id}/approve`, { token: who.token });
    assert.equal(tried.status, 403, tried.text);
  }
  assert.equal((await api('GET', '/api/v1/registrations')).status, 401);
  assert.equal(sql(`SELECT status FROM account_registrations WHERE account_id = ${waiting.body.id}`)[0][0], 'pending');
  let queue = [];
  for (let cursor = null, first = true; first || cursor; first = false) {
    const page = await api('GET', `/api/v1/registrations?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, { token: admin.token });
    assert.equal(page.status, 200, page.text);
    queue = queue.concat(page.body.items);
    cursor = page.body.next_cursor;
  }
  const item = queue.find((x) => x.account.id === waiting.body.id);
  assert.ok(item, 'the pending account is in the queue');
  assert.equal(item.status, 'pending');
  assert.equal(item.mode, 'approval');
  assert.equal(item.reason, 'I repair village pumps.');
  assert.equal(item.account.email, email);
  assert.ok(queue.every((x) => x.status === 'pending'));
  const bad = await api('GET', '/api/v1/registrations?status=waiting', { token: admin.token });
  assert.equal(bad.status, 400, bad.text);

  const approved = await api('POST', `/api/v1/registrations/${waiting.body.id}/approve`, {
    token: admin.token, body: { note: 'Welcome aboard.' },
  });
  assert.equal(approved.status, 200, approved.text);
  assert.equal(approved.body.status, 'approved');
  assert.deepEqual(approved.body.decided_by, { id: admin.id, display_name: 'Approving admin' });
  assert.equal(approved.body.note, 'Welcome aboard.');
  const [told] = await mailsTo(email, { subject: 'Your Purposed account is approved' });
  assert.ok(told, 'the person is told by email');
  assert.match(told.text, /approved your account/);
  assert.match(told.text, /Welcome aboard\./);
  const session = await signIn(email);
  assert.equal(session.status, 201, 'approved: signs in');
  const again = await api('POST', `/api/v1/registrations/${waiting.body.id}/approve`, { token: admin.token });
  assert.equal(again.status, 409, again.text);
  assert.equal((await api('POST', '/api/v1/registrations/999999999/approve', { token: admin.token })).status, 404);

  // refused: told why, the account is deleted, the address may ask again
  const unwanted = await signUp({ reason: 'Buy cheap watches' });
  assert.equal(unwanted.body.registration, 'pending');
  const refused = await api('POST', `/api/v1/registrations/${unwanted.body.id}/refuse`, {
    token: admin.token, body: { note: 'This instance is for for-purpose work.' },
  });
  assert.equal(refused.status, 200, refused.text);
  assert.equal(refused.body.status, 'refused');
  assert.equal(refused.body.account.email, null);
  assert.equal(refused.body.reason, '', 'what the person wrote goes with the account');
  const [no] = await mailsTo(unwanted.body.email, { subject: 'Your Purposed account was not approved' });
  assert.ok(no, 'the refused person is told by email');
  assert.match(no.text, /for-purpose work/);
  assert.equal((await signIn(unwanted.body.email)).status, 401);
  assert.deepEqual(sql(`SELECT email IS NULL, password_hash IS NULL, deleted_at IS NOT NULL FROM accounts WHERE id = ${unwanted.body.id}`),
    [['t', 't', 't']]);
  const refusedList = await api('GET', '/api/v1/registrations?status=refused&limit=100', { token: admin.token });
  assert.ok(refusedList.body.items.some((x) => x.account.id === unwanted.body.id));
  const retry = await signUp({ email: unwanted.body.email });
  assert.equal(retry.status, 201, retry.text);
  assert.equal(retry.body.registration, 'pending');
  // what the person wrote leaves with their account
  const gone = await api('DELETE', '/api/v1/me/account', { token: session.body.token, body: { password: PASSWORD } });
  assert.equal(gone.status, 204, gone.text);
  assert.deepEqual(sql(`SELECT status, reason FROM account_registrations WHERE account_id = ${waiting.body.id}`), [['approved', '']]);
  sql("UPDATE instance_settings SET registration_mode = 'open'");
});

test('invitation: sign-up needs a working link; administrators and owners make them, list their own and revoke them', async () => {
  const admin = await withRole('administrator', 'Inviting admin');
  const owner = await newUser('Inviting owner');
  const member = await newUser('Plain member');
  const stranger = await newUser('Revoking stranger');
  const purpose = (await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: unique('Invite water'), description: 'x' } })).body.slug;
  const org = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: unique('Inviting Org'), purpose_statement: 'Water', purposes: [purpose], legal_form: 'informal', governance: 'other' },
  });
  assert.equal(org.status, 201, org.text);
  const slug = org.body.slug;
  sql(`INSERT INTO memberships (organisation_id, account_id, role) SELECT id, ${member.id}, 'member' FROM organisations WHERE slug = '${slug}'`);
  sql("UPDATE instance_settings SET registration_mode = 'invitation'");

  const before = accounts();
  const none = await signUp();
  assert.equal(none.status, 403, none.text);
  assert.equal(none.body.type, 'https://purposed.dev/problems/invitation-required');
  const forged = await signUp({ invitation_token: 'A'.repeat(43) });
  assert.equal(forged.status, 422, forged.text);
  assert.deepEqual(problemFields(forged), ['invitation_token']);
  assert.equal(accounts(), before, 'no account without a working invitation');

  // who may make one
  const count = () => sql('SELECT count(*) FROM registration_invitations')[0][0];
  const made = count();
  for (const [who, body, status] of [[owner, {}, 403], [member, { organisation: slug }, 403], [admin, { organisation: 'no-such-org-here' }, 422]]) {
    const res = await api('POST', '/api/v1/registration-invitations', { token: who.token, body });
    assert.equal(res.status, status, res.text);
  }
  assert.equal((await api('POST', '/api/v1/registration-invitations', { body: {} })).status, 401);
  assert.equal(count(), made, 'refused attempts make no link');
  const bad = await api('POST', '/api/v1/registration-invitations', { token: admin.token, body: { max_uses: 0, expires_in_days: 91, colour: 'red' } });
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(problemFields(bad), ['colour', 'expires_in_days', 'max_uses']);

  const twice = await api('POST', '/api/v1/registration-invitations', { token: admin.token, body: { max_uses: 2, note: 'for the river team' } });
  assert.equal(twice.status, 201, twice.text);
  assert.equal(twice.body.organisation, null);
  assert.equal(twice.body.status, 'active');
  assert.equal(twice.body.uses, 0);
  assert.ok(twice.body.url.endsWith(`/signup#invitation=${twice.body.token}`));
  const stored = sql(`SELECT encode(token_hash, 'hex') FROM registration_invitations WHERE id = ${twice.body.id}`)[0][0];
  assert.equal(stored.length, 64);
  assert.ok(!stored.includes(twice.body.token) && !JSON.stringify(sql(`SELECT to_json(i) FROM registration_invitations i WHERE id = ${twice.body.id}`)).includes(twice.body.token),
    'only the hash of the token is kept');

  const a = await signUp({ invitation_token: twice.body.token });
  assert.equal(a.status, 201, a.text);
  assert.equal(a.body.registration, 'admitted');
  assert.equal((await signIn(a.body.email)).status, 201);
  assert.deepEqual(sql(`SELECT mode, status, invitation_id FROM account_registrations WHERE account_id = ${a.body.id}`),
    [['invitation', 'admitted', String(twice.body.id)]]);
  const b = await signUp({ invitation_token: twice.body.token });
  assert.equal(b.status, 201, b.text);
  const c = await signUp({ invitation_token: twice.body.token });
  assert.equal(c.status, 422, 'used up after max_uses');
  assert.deepEqual(problemFields(c), ['invitation_token']);

  // an owner's link, for the organisation; it expires
  const ownerLink = await api('POST', '/api/v1/registration-invitations', { token: owner.token, body: { organisation: slug, expires_in_days: 1 } });
  assert.equal(ownerLink.status, 201, ownerLink.text);
  assert.equal(ownerLink.body.organisation.slug, slug);
  assert.equal(ownerLink.body.max_uses, 1);
  const expiry = Date.parse(ownerLink.body.expires_at) - Date.parse(ownerLink.body.created_at);
  assert.ok(Math.abs(expiry - 86400000) < 1000, `expires in a day (${expiry} ms)`);
  sql(`UPDATE registration_invitations SET expires_at = now() - interval '1 second' WHERE id = ${ownerLink.body.id}`);
  assert.equal((await signUp({ invitation_token: ownerLink.body.token })).status, 422, 'expired');
  sql(`UPDATE registration_invitations SET expires_at = now() + interval '1 hour' WHERE id = ${ownerLink.body.id}`);

  // each lists their own, without tokens
  const mine = await api('GET', '/api/v1/registration-invitations', { token: owner.token });
  assert.equal(mine.status, 200, mine.text);
  assert.deepEqual(mine.body.items.map((x) => x.id), [ownerLink.body.id]);
  assert.equal(mine.body.items[0].token, undefined);
  const adminList = await api('GET', '/api/v1/registration-invitations', { token: admin.token });
  const listed = adminList.body.items.find((x) => x.id === twice.body.id);
  assert.deepEqual([listed.uses, listed.status, listed.note], [2, 'used', 'for the river team']);
  assert.ok(!adminList.body.items.some((x) => x.id === ownerLink.body.id));

  // revoked: by its creator or an administrator, nobody else
  const notYours = await api('DELETE', `/api/v1/registration-invitations/${ownerLink.body.id}`, { token: stranger.token });
  assert.equal(notYours.status, 404, notYours.text);
  assert.equal(sql(`SELECT revoked_at IS NULL FROM registration_invitations WHERE id = ${ownerLink.body.id}`)[0][0], 't');
  assert.equal((await api('DELETE', `/api/v1/registration-invitations/${ownerLink.body.id}`, { token: owner.token })).status, 204);
  assert.equal((await signUp({ invitation_token: ownerLink.body.token })).status, 422, 'revoked');
  const other = await api('POST', '/api/v1/registration-invitations', { token: owner.token, body: { organisation: slug } });
  assert.equal((await api('DELETE', `/api/v1/registration-invitations/${other.body.id}`, { token: admin.token })).status, 204);
  assert.equal((await api('DELETE', `/api/v1/registration-invitations/${other.body.id}`, { token: owner.token })).status, 204, 'revoking again changes nothing');
  assert.equal((await api('GET', '/api/v1/registration-invitations', { token: owner.token })).body.items
    .find((x) => x.id === other.body.id).status, 'revoked');

  // a suspended creator's links stop working
  const third = await api('POST', '/api/v1/registration-invitations', { token: owner.token, body: { organisation: slug } });
  sql(`UPDATE accounts SET suspended_at = now() WHERE id = ${owner.id}`);
  assert.equal((await signUp({ invitation_token: third.body.token })).status, 422);
  sql(`UPDATE accounts SET suspended_at = NULL WHERE id = ${owner.id}`);
  const d = await signUp({ invitation_token: third.body.token });
  assert.equal(d.status, 201, d.text);

  // on an instance that approves new accounts, an invitation needs no approval
  sql("UPDATE instance_settings SET registration_mode = 'approval'");
  const fourth = await api('POST', '/api/v1/registration-invitations', { token: admin.token, body: {} });
  const e = await signUp({ invitation_token: fourth.body.token });
  assert.equal(e.body.registration, 'admitted');
  assert.equal((await signIn(e.body.email)).status, 201);
  sql("UPDATE instance_settings SET registration_mode = 'open'");
});

// A cheap change of one's own: mark every notification read.
const write = (user) => api('POST', '/api/v1/me/notifications/read', { token: user.token, body: { all: true } });

test('new accounts: an unconfirmed account younger than new_account_days makes at most new_account_writes_per_hour changes, the next is refused with the wait in words', async () => {
  sql('UPDATE instance_settings SET new_account_days = 7, new_account_writes_per_hour = 3');
  const fresh = await newUser('Fresh account', { verified: false });
  for (let i = 1; i <= 3; i++) {
    const ok = await write(fresh);
    assert.ok(ok.status < 300, `change ${i} of 3: ${ok.status} ${ok.text}`);
  }
  const fourth = await write(fresh);
  assert.equal(fourth.status, 429, fourth.text);
  assert.equal(fourth.body.type, 'https://purposed.dev/problems/new-account-limited');
  assert.match(fourth.body.detail, /at most 3 changes an hour/);
  assert.match(fourth.body.detail, /try again in (60 minutes|1 hour|59 minutes)\.$/);
  const retry = Number(fourth.headers.get('retry-after'));
  assert.ok(retry > 3500 && retry <= 3600, `Retry-After ${retry}`);
  assert.equal(sql(`SELECT count(*) FROM new_account_writes WHERE account_id = ${fresh.id}`)[0][0], '3', 'a refused change is not counted');

  // its own sign-in stays its own: a new confirmation link, signing out
  const link = await api('POST', '/api/v1/me/email-verification', { token: fresh.token });
  assert.ok(link.status < 300, `${link.status} ${link.text}`);

  // the oldest change leaves the hour: one more
  sql(`UPDATE new_account_writes SET written_at = written_at - interval '1 hour' WHERE ctid = (
         SELECT ctid FROM new_account_writes WHERE account_id = ${fresh.id} ORDER BY written_at LIMIT 1)`);
  assert.ok((await write(fresh)).status < 300);
  assert.equal((await write(fresh)).status, 429);

  // confirmed, or holding a role, or old enough: the usual limits
  sql(`UPDATE accounts SET email_verified_at = now() WHERE id = ${fresh.id}`);
  assert.ok((await write(fresh)).status < 300, 'a confirmed address lifts the limit');
  const moderator = await newUser('Fresh moderator', { verified: false });
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${moderator.id}, 'moderator')`);
  for (let i = 0; i < 4; i++) assert.ok((await write(moderator)).status < 300, 'a role lifts the limit');
  const confirmed = await newUser('Fresh but confirmed');
  for (let i = 0; i < 4; i++) assert.ok((await write(confirmed)).status < 300);
  sql(`UPDATE instance_settings SET new_account_days = ${Number(original[1])}, new_account_writes_per_hour = ${Number(original[2])}`);
});

test('new accounts: the age boundary is new_account_days to the minute, and 0 days is no limit', async () => {
  sql('UPDATE instance_settings SET new_account_days = 7, new_account_writes_per_hour = 1');
  const young = await newUser('Almost a week old', { verified: false });
  sql(`UPDATE accounts SET created_at = now() - interval '7 days' + interval '1 minute' WHERE id = ${young.id}`);
  assert.ok((await write(young)).status < 300);
  assert.equal((await write(young)).status, 429, 'younger than 7 days: limited');
  const old = await newUser('Just over a week old', { verified: false });
  sql(`UPDATE accounts SET created_at = now() - interval '7 days' - interval '1 minute' WHERE id = ${old.id}`);
  for (let i = 0; i < 3; i++) assert.ok((await write(old)).status < 300, 'older than 7 days: not limited');
  sql('UPDATE instance_settings SET new_account_days = 0');
  const fresh = await newUser('Fresh, no limit', { verified: false });
  for (let i = 0; i < 3; i++) assert.ok((await write(fresh)).status < 300, 'new_account_days 0: no limit');
  sql(`UPDATE instance_settings SET new_account_days = ${Number(original[1])}, new_account_writes_per_hour = ${Number(original[2])}`);
});
