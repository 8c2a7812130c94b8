// moderation-admin: what the administration pages read (docs/moderation.md):
// the caller's instance role in GET /me, the accounts moderators search
// (GET /api/v1/moderation/accounts?q=) and the instance in figures
// (GET /api/v1/moderation/stats). Moderators and administrators may read
// them; everyone else 403 (tests/api/authz-matrix.test.mjs), 401 signed out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, sql, startDaemon, unique } from './helpers.mjs';

async function withRole(name, role) {
  const u = await newUser(name);
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${u.id}, '${role}')`);
  return u;
}

test('GET /me names the caller\'s instance role, null without one', async () => {
  const plain = await newUser('Plain');
  const m = await withRole('Mod', 'moderator');
  const a = await withRole('Admin', 'administrator');
  assert.equal((await api('GET', '/api/v1/me', { token: plain.token })).body.instance_role, null);
  assert.equal((await api('GET', '/api/v1/me', { token: m.token })).body.instance_role, 'moderator');
  assert.equal((await api('GET', '/api/v1/me', { token: a.token })).body.instance_role, 'administrator');
});

test('accounts: moderators and administrators search by a part of the email or the name, newest first, paged', async () => {
  const tag = unique('zz').replace('-', '');
  const m = await withRole('Mod', 'moderator');
  const a = await withRole('Admin', 'administrator');
  const plain = await newUser('Plain');
  const first = await newUser(`Ada ${tag}`);
  const second = await newUser(`Grace ${tag.toUpperCase()}`);
  const third = await newUser('Someone else');
  sql(`UPDATE accounts SET suspended_at = now() WHERE id = ${third.id}`);

  assert.equal((await api('GET', `/api/v1/moderation/accounts?q=${tag}`)).status, 401);
  assert.equal((await api('GET', `/api/v1/moderation/accounts?q=${tag}`, { token: plain.token })).status, 403);

  for (const who of [m, a]) {
    const res = await api('GET', `/api/v1/moderation/accounts?q=${tag}`, { token: who.token });
    assert.equal(res.status, 200, res.text);
    // the name matches in any case; newest first
    assert.deepEqual(res.body.items.map((x) => x.id), [second.id, first.id]);
  }
  const one = (await api('GET', `/api/v1/moderation/accounts?q=${tag}`, { token: m.token })).body.items[1];
  assert.equal(one.email, first.email);
  assert.equal(one.display_name, `Ada ${tag}`);
  assert.equal(one.instance_role, null);
  assert.equal(one.suspended_at, null);
  assert.equal(one.agent, null);
  assert.ok(one.created_at && one.email_verified_at);
  assert.equal(one.password_hash, undefined);

  // by a part of the email, any case
  const byEmail = await api('GET', `/api/v1/moderation/accounts?q=${encodeURIComponent(third.email.slice(0, 12).toUpperCase())}`, { token: m.token });
  assert.deepEqual(byEmail.body.items.map((x) => x.id), [third.id]);
  assert.ok(byEmail.body.items[0].suspended_at);
  // roles show
  const roles = await api('GET', `/api/v1/moderation/accounts?q=${encodeURIComponent(a.email)}`, { token: m.token });
  assert.equal(roles.body.items[0].instance_role, 'administrator');
  assert.equal(roles.body.items[0].role_from_config, false);
  // % and _ are letters, not patterns
  assert.deepEqual((await api('GET', '/api/v1/moderation/accounts?q=%25', { token: m.token })).body.items, []);

  // paged: limit 1, then the cursor
  const p1 = await api('GET', `/api/v1/moderation/accounts?q=${tag}&limit=1`, { token: m.token });
  assert.deepEqual(p1.body.items.map((x) => x.id), [second.id]);
  const p2 = await api('GET', `/api/v1/moderation/accounts?q=${tag}&limit=1&cursor=${encodeURIComponent(p1.body.next_cursor)}`, { token: m.token });
  assert.deepEqual(p2.body.items.map((x) => x.id), [first.id]);
  assert.equal(p2.body.next_cursor, null);
  // without q: every account, newest first
  const all = await api('GET', '/api/v1/moderation/accounts?limit=3', { token: m.token });
  assert.equal(all.body.items[0].id, Number(sql('SELECT max(id) FROM accounts WHERE deleted_at IS NULL')[0][0]));
  // bad query values
  assert.equal((await api('GET', `/api/v1/moderation/accounts?q=${'x'.repeat(201)}`, { token: m.token })).status, 400);
  assert.equal((await api('GET', '/api/v1/moderation/accounts?role=x', { token: m.token })).status, 400);
});

test('accounts: an administrator of ADMIN_EMAILS is shown as one, fixed by the configuration', async () => {
  const boss = await newUser('Boss');
  const d = await startDaemon({ ADMIN_EMAILS: boss.email });
  try {
    const res = await api('GET', `/api/v1/moderation/accounts?q=${encodeURIComponent(boss.email)}`, { token: boss.token, base: d.base });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.items[0].instance_role, 'administrator');
    assert.equal(res.body.items[0].role_from_config, true);
    assert.equal((await api('GET', '/api/v1/me', { token: boss.token, base: d.base })).body.instance_role, 'administrator');
  } finally {
    await d.stop();
  }
});

test('stats: the instance in figures, each counted as the pages say', async () => {
  const m = await withRole('Mod', 'moderator');
  const plain = await newUser('Plain');
  assert.equal((await api('GET', '/api/v1/moderation/stats')).status, 401);
  assert.equal((await api('GET', '/api/v1/moderation/stats', { token: plain.token })).status, 403);
  const before = await api('GET', '/api/v1/moderation/stats', { token: m.token });
  assert.equal(before.status, 200, before.text);
  const want = (q) => Number(sql(q)[0][0]);
  assert.equal(before.body.accounts.total, want('SELECT count(*) FROM accounts WHERE deleted_at IS NULL'));
  assert.equal(before.body.accounts.suspended, want('SELECT count(*) FROM accounts WHERE suspended_at IS NOT NULL AND deleted_at IS NULL'));
  assert.equal(before.body.organisations.total, want('SELECT count(*) FROM organisations WHERE hidden_at IS NULL'));
  assert.equal(before.body.engagements.open, want("SELECT count(*) FROM engagements WHERE status = 'open' AND NOT hidden"));
  assert.equal(before.body.agreements.total, want('SELECT count(*) FROM agreements'));
  assert.equal(before.body.moderation.open_cases, want("SELECT count(*) FROM moderation_cases WHERE status = 'open'"));

  // a new organisation and a report of it move the figures by one
  const owner = await newUser('Owner');
  const p = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  const slug = unique('stat');
  const o = await api('POST', '/api/v1/organisations', { token: owner.token, body: { name: 'Counted', slug, purpose_statement: 'We count.', purposes: [p.body.slug], legal_form: 'nonprofit', governance: 'consent_based' } });
  assert.equal(o.status, 201, o.text);
  assert.equal((await api('POST', '/api/v1/reports', { token: plain.token, body: { kind: 'organisation', target: slug, reason: 'fake' } })).status, 201);
  const after = await api('GET', '/api/v1/moderation/stats', { token: m.token });
  assert.equal(after.body.accounts.total, before.body.accounts.total + 1);
  assert.equal(after.body.accounts.new_last_7_days, before.body.accounts.new_last_7_days + 1);
  assert.equal(after.body.organisations.total, before.body.organisations.total + 1);
  assert.equal(after.body.moderation.open_reports, before.body.moderation.open_reports + 1);
  // hidden: counted apart
  const hide = await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'hide', kind: 'organisation', target: slug, reason: 'Fake.' } });
  assert.equal(hide.status, 201, hide.text);
  const hidden = await api('GET', '/api/v1/moderation/stats', { token: m.token });
  assert.equal(hidden.body.organisations.total, before.body.organisations.total);
  assert.equal(hidden.body.organisations.hidden, before.body.organisations.hidden + 1);
  assert.equal(hidden.body.moderation.open_reports, before.body.moderation.open_reports);
});
