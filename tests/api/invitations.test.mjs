// invitations: an owner invites any address; the mailed single-use link
// shows the invitation without signing in, and a signed-in person (a new
// account made from the link, or any other) accepts it. Membership starts
// only then. Owners list pending invitations and revoke them; they expire.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, mailsTo, newUser, problemFields, sql, unique } from './helpers.mjs';

const PASSWORD = 'a long enough password';

async function organisation(owner) {
  const res = await api('POST', '/api/v1/organisations', {
    token: owner.token, body: { name: unique('Inviting Co'), purpose_statement: 'Invites people.', purposes: [], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

const invite = (owner, slug, email, role = 'member') =>
  api('POST', `/api/v1/organisations/${slug}/members`, { token: owner.token, body: { email, role } });

// The token of the count-th invitation mailed to address.
async function invitationToken(address, count = 1) {
  let mails = [];
  for (let i = 0; i < 150 && mails.length < count; i++) {
    mails = (await mailsTo(address, { count: 1 })).filter((m) => /^Invitation to join/.test(m.headers.Subject));
    if (mails.length < count) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(mails.length >= count, `invitation ${count} mailed to ${address}`);
  const m = mails[count - 1].text.match(/\/invitations\/accept#token=([A-Za-z0-9_-]+)/);
  assert.ok(m, 'the message links to the accept page');
  return m[1];
}

test('an address without an account: mailed link, preview without sign-in, sign up, accept once', async () => {
  const owner = await newUser('Inviting Owner');
  const org = await organisation(owner);
  const email = `${unique('newcomer')}@example.org`;
  const asked = await invite(owner, org.slug, email, 'admin');
  assert.equal(asked.status, 202, asked.text);
  assert.deepEqual(asked.body, { email, role: 'admin', status: 'invited' });
  const token = await invitationToken(email);
  const [m] = await mailsTo(email);
  assert.match(m.text, /^Hello,/, 'no name: there is no account yet');
  assert.match(m.text, /Inviting Owner invited you to join .* as admin\./);
  assert.equal(m.headers['List-Unsubscribe'], undefined, 'transactional');

  const preview = await api('POST', '/api/v1/invitations/preview', { body: { token } });
  assert.equal(preview.status, 200, preview.text);
  assert.deepEqual(preview.body.organisation, { slug: org.slug, name: org.name });
  assert.equal(preview.body.role, 'admin');
  assert.equal(preview.body.email, email);
  assert.equal(preview.body.invited_by.display_name, 'Inviting Owner');
  assert.ok(Date.parse(preview.body.expires_at) > Date.now() + 13 * 86400000);

  // nothing yet: not a member, not listed among members
  let members = await api('GET', `/api/v1/organisations/${org.slug}/members`, { token: owner.token });
  assert.deepEqual(members.body.items.map((x) => x.account.id), [owner.id]);

  // the person signs up with that address (unverified) and accepts with the link
  const created = await api('POST', '/api/v1/accounts', { body: { email, password: PASSWORD, display_name: 'New Comer' } });
  assert.equal(created.status, 201, created.text);
  assert.equal(created.body.email_verified_at, null);
  const session = (await api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } })).body.token;
  assert.equal((await api('POST', '/api/v1/invitations/accept', { body: { token } })).status, 401, 'signed in only');
  const accepted = await api('POST', '/api/v1/invitations/accept', { token: session, body: { token } });
  assert.equal(accepted.status, 201, accepted.text);
  assert.equal(accepted.headers.get('location'), `/api/v1/organisations/${org.slug}/members/${created.body.id}`);
  assert.equal(accepted.body.role, 'admin');
  const account = await api('GET', '/api/v1/me/account', { token: session });
  assert.ok(account.body.email_verified_at, 'the link reached the address: it is verified');
  members = await api('GET', `/api/v1/organisations/${org.slug}/members`, { token: owner.token });
  assert.deepEqual(members.body.items.map((x) => x.account.id).sort(), [owner.id, created.body.id].sort());

  const again = await api('POST', '/api/v1/invitations/accept', { token: session, body: { token } });
  assert.equal(again.status, 422, 'the link works once');
  assert.deepEqual(problemFields(again), ['token']);
  assert.equal((await api('POST', '/api/v1/invitations/preview', { body: { token } })).status, 422);
  assert.equal(sql(`SELECT count(*) FROM membership_invitations WHERE organisation_id = (SELECT id FROM organisations WHERE slug = '${org.slug}')`)[0][0], '0');
  // only the hash is kept, and the finished job no longer holds the token
  assert.equal(sql(`SELECT count(*) FROM jobs WHERE payload::text LIKE '%${token}%'`)[0][0], '0');
});

test('any signed-in account may accept with the link; a member already gets 409', async () => {
  const owner = await newUser('Owner Two');
  const org = await organisation(owner);
  const email = `${unique('elsewhere')}@example.org`;
  assert.equal((await invite(owner, org.slug, email)).status, 202);
  const token = await invitationToken(email);
  const other = await newUser('Works Elsewhere');
  const accepted = await api('POST', '/api/v1/invitations/accept', { token: other.token, body: { token } });
  assert.equal(accepted.status, 201, accepted.text);
  // invited again by another address, a member already
  const email2 = `${unique('again')}@example.org`;
  assert.equal((await invite(owner, org.slug, email2)).status, 202);
  const token2 = await invitationToken(email2);
  const dup = await api('POST', '/api/v1/invitations/accept', { token: other.token, body: { token: token2 } });
  assert.equal(dup.status, 409, dup.text);
  const bad = await api('POST', '/api/v1/invitations/accept', { token: other.token, body: { token: 'x', extra: 1 } });
  assert.equal(bad.status, 422);
  assert.deepEqual(problemFields(bad), ['extra']);
});

test('owners list pending invitations and revoke them; the revoked link stops working', async () => {
  const owner = await newUser('Listing Owner');
  const org = await organisation(owner);
  const admin = await newUser('An Admin');
  const emails = [`${unique('a')}@example.org`, `${unique('b')}@example.org`];
  for (const e of emails) assert.equal((await invite(owner, org.slug, e, 'member')).status, 202);
  assert.equal((await invite(owner, org.slug, admin.email, 'admin')).status, 202);
  assert.equal((await api('POST', `/api/v1/me/invitations/${org.slug}/accept`, { token: admin.token })).status, 201);

  const list = await api('GET', `/api/v1/organisations/${org.slug}/invitations`, { token: owner.token });
  assert.equal(list.status, 200, list.text);
  assert.deepEqual(list.body.items.map((i) => i.email).sort(), [...emails].sort(), 'the accepted one is gone');
  const [first] = list.body.items;
  assert.equal(first.status, 'pending');
  assert.equal(first.role, 'member');
  assert.equal(first.invited_by.display_name, 'Listing Owner');
  assert.ok(first.id && first.created_at && first.expires_at);
  assert.equal((await api('GET', `/api/v1/organisations/${org.slug}/invitations`, { token: admin.token })).status, 403, 'owners only');

  const token = await invitationToken(first.email);
  const revoked = await api('DELETE', `/api/v1/organisations/${org.slug}/invitations/${first.id}`, { token: owner.token });
  assert.equal(revoked.status, 204, revoked.text);
  assert.equal((await api('DELETE', `/api/v1/organisations/${org.slug}/invitations/${first.id}`, { token: owner.token })).status, 404);
  assert.equal((await api('POST', '/api/v1/invitations/preview', { body: { token } })).status, 422, 'the link stopped working');
  const after = await api('GET', `/api/v1/organisations/${org.slug}/invitations`, { token: owner.token });
  assert.deepEqual(after.body.items.map((i) => i.id), list.body.items.filter((i) => i.id !== first.id).map((i) => i.id));
  // another organisation's invitation cannot be revoked through this one
  const org2 = await organisation(owner);
  assert.equal((await api('DELETE', `/api/v1/organisations/${org2.slug}/invitations/${after.body.items[0].id}`, { token: owner.token })).status, 404);
});

test('an invitation expires; asking again after that mails a new link, the old one stays dead', async () => {
  const owner = await newUser('Expiring Owner');
  const org = await organisation(owner);
  const guest = await newUser('Slow Guest');
  assert.equal((await invite(owner, org.slug, guest.email)).status, 202);
  const first = await invitationToken(guest.email);
  assert.equal((await api('GET', '/api/v1/me', { token: guest.token })).body.invitations.length, 1);
  sql(`UPDATE membership_invitations SET expires_at = now() - interval '1 minute' WHERE email = '${guest.email}'`);
  assert.equal((await api('GET', '/api/v1/me', { token: guest.token })).body.invitations.length, 0, 'an expired invitation is not offered');
  assert.equal((await api('POST', `/api/v1/me/invitations/${org.slug}/accept`, { token: guest.token })).status, 404);
  assert.equal((await api('POST', '/api/v1/invitations/accept', { token: guest.token, body: { token: first } })).status, 422);
  const listed = await api('GET', `/api/v1/organisations/${org.slug}/invitations`, { token: owner.token });
  assert.deepEqual(listed.body.items.map((i) => [i.email, i.status]), [[guest.email, 'expired']]);

  assert.equal((await invite(owner, org.slug, guest.email)).status, 202);
  const second = await invitationToken(guest.email, 2);
  assert.notEqual(second, first);
  assert.equal((await api('POST', '/api/v1/invitations/preview', { body: { token: first } })).status, 422);
  const ok = await api('POST', '/api/v1/invitations/accept', { token: guest.token, body: { token: second } });
  assert.equal(ok.status, 201, ok.text);
});

test('an invitation to an address without an account reaches its account once it is verified', async () => {
  const owner = await newUser('Early Owner');
  const org = await organisation(owner);
  const email = `${unique('later')}@example.org`;
  assert.equal((await invite(owner, org.slug, email, 'member')).status, 202);
  await api('POST', '/api/v1/accounts', { body: { email, password: PASSWORD, display_name: 'Later Person' } });
  const session = (await api('POST', '/api/v1/sessions', { body: { email, password: PASSWORD } })).body.token;
  assert.deepEqual((await api('GET', '/api/v1/me', { token: session })).body.invitations, [], 'not before the address is verified');
  sql(`UPDATE accounts SET email_verified_at = now() WHERE email = '${email}'`);
  const me = await api('GET', '/api/v1/me', { token: session });
  assert.deepEqual(me.body.invitations.map((i) => i.organisation.slug), [org.slug]);
  assert.equal((await api('POST', `/api/v1/me/invitations/${org.slug}/accept`, { token: session })).status, 201);
});

test('an owner whose address is not confirmed cannot mail invitations', async () => {
  const owner = await newUser('Unconfirmed Owner', { verified: false });
  const org = await organisation(owner);
  const res = await invite(owner, org.slug, `${unique('x')}@example.org`);
  assert.equal(res.status, 403);
  assert.equal(res.body.type.split('/').pop(), 'email-unverified');
});
