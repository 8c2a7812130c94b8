// moderation: running the instance (docs/moderation.md). Reports grouped
// into cases with snapshots, reporters never revealed to the reported, the
// moderators' actions (hide, dismiss, suspend, restore) recorded in the
// append-only log, notices and one appeal for those concerned, and hidden
// content gone from every public read: item, lists, search, feeds,
// matching and the answer cache.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, sql, unique } from './helpers.mjs';

// A moderator: an account given the role in the database, as
// `purposed admin grant EMAIL moderator` does.
async function newModerator(role = 'moderator') {
  const m = await newUser('Moderator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${m.id}, '${role}')`);
  return m;
}

async function setup() {
  const owner = await newUser('Owner');
  const p = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  const slug = unique('fake');
  const word = `zq${unique('w').slice(2, 10).replace(/[^a-z]/g, 'x')}`;
  const o = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Fake ${word}`, slug, purpose_statement: 'We are real.', purposes: [p.body.slug], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(o.status, 201, o.text);
  const e = await api('POST', `/api/v1/organisations/${slug}/engagements`, {
    token: owner.token,
    body: { title: `Gardener ${word}`, description: `Tend the ${word} beds.`, purposes: [p.body.slug], packagings: ['volunteer'], hours_per_week: 4, remote_ok: true, rewards: { non_cash: ['learning'] } },
  });
  assert.equal(e.status, 201, e.text);
  return { owner, purpose: p.body.slug, org: slug, id: e.body.id, word };
}

// Read until check(res) holds or three seconds pass (the match index hears
// of changes through NOTIFY); returns the last answer.
async function eventually(path, check, opts = {}) {
  let res;
  for (let i = 0; i < 30; i++) {
    res = await api('GET', path, opts);
    if (check(res)) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
  return res;
}

const ids = (res) => (res.body?.items ?? []).map((x) => x.id ?? x.slug ?? x.engagement?.id);

test('reports: anyone signed in, grouped per thing, once per person, snapshot kept', async () => {
  const s = await setup();
  const a = await newUser('Reporter A');
  const b = await newUser('Reporter B');
  const anon = await api('POST', '/api/v1/reports', { body: { kind: 'organisation', target: s.org, reason: 'fake' } });
  assert.equal(anon.status, 401);
  const bad = await api('POST', '/api/v1/reports', { token: a.token, body: { kind: 'planet', target: s.org, reason: 'because', extra: 1 } });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.body.errors.map((e) => e.field).sort(), ['extra', 'kind', 'reason']);
  const none = await api('POST', '/api/v1/reports', { token: a.token, body: { kind: 'organisation', target: 'no-such-org-here', reason: 'fake' } });
  assert.equal(none.status, 404);

  const r1 = await api('POST', '/api/v1/reports', { token: a.token, body: { kind: 'organisation', target: s.org, reason: 'fake', note: 'Not a real charity.' } });
  assert.equal(r1.status, 201, r1.text);
  assert.equal(r1.body.subject.kind, 'organisation');
  assert.equal(r1.body.subject.label, s.org);
  assert.equal(r1.body.reason, 'fake');
  const again = await api('POST', '/api/v1/reports', { token: a.token, body: { kind: 'organisation', target: s.org, reason: 'spam' } });
  assert.equal(again.status, 409);
  // the organisation changes after the report: the snapshot keeps what was reported
  const cur = await api('GET', `/api/v1/organisations/${s.org}`);
  const patched = await api('PATCH', `/api/v1/organisations/${s.org}`, { token: s.owner.token, headers: { 'If-Match': cur.headers.get('etag') }, body: { name: 'Renamed after the report' } });
  assert.equal(patched.status, 200, patched.text);
  const r2 = await api('POST', '/api/v1/reports', { token: b.token, body: { kind: 'organisation', target: s.org, reason: 'spam' } });
  assert.equal(r2.status, 201);

  const [[cases, reports]] = sql(`SELECT count(DISTINCT c.id), count(r.id) FROM moderation_cases c JOIN reports r ON r.case_id = c.id
                                  WHERE c.subject_kind = 'organisation' AND c.subject_id = (SELECT id FROM organisations WHERE slug = '${s.org}')`);
  assert.equal(cases, '1');
  assert.equal(reports, '2');

  const m = await newModerator();
  const queue = await api('GET', '/api/v1/moderation/cases?limit=100', { token: m.token });
  assert.equal(queue.status, 200);
  const c = queue.body.items.find((x) => x.subject.kind === 'organisation' && x.subject.label === s.org);
  assert.ok(c, 'the case is in the queue');
  assert.equal(c.reports, 2);
  assert.deepEqual(c.reasons, { fake: 1, spam: 1 });
  const full = await api('GET', `/api/v1/moderation/cases/${c.id}`, { token: m.token });
  assert.equal(full.status, 200);
  assert.equal(full.body.reports[0].snapshot.name, `Fake ${s.word}`);
  assert.equal(full.body.reports[0].reporter.id, a.id);
  assert.equal(full.body.current.name, 'Renamed after the report');
  assert.equal(full.body.hidden, false);
  // the queue is for moderators only; the reported never see who reported
  assert.equal((await api('GET', '/api/v1/moderation/cases', { token: s.owner.token })).status, 403);
  assert.equal((await api('GET', `/api/v1/moderation/cases/${c.id}`, { token: a.token })).status, 403);
  const mine = await api('GET', '/api/v1/me/moderation', { token: s.owner.token });
  assert.ok(!mine.text.includes(a.email) && !mine.text.includes('Reporter'));
});

test('hiding an organisation: gone from item, lists, search, feeds, matching and the cache; owner told, appeals once; restored', async () => {
  const s = await setup();
  const m = await newModerator();
  const agent = await newUser('Agent');
  const put = await api('PUT', '/api/v1/me/agent', { token: agent.token, body: { handle: unique('ag'), headline: 'h', personal_purpose: 'p', skills: [], capacity_hours_per_week: 10, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true } });
  assert.equal(put.status, 200, put.text);
  assert.equal((await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: s.purpose, energy: 50 }] })).status, 200);

  // every read path shows it first (and the cache holds the engagement answers)
  assert.equal((await api('GET', `/api/v1/engagements/${s.id}`)).status, 200);
  assert.ok(ids(await api('GET', `/api/v1/engagements?organisation=${s.org}`)).includes(s.id));
  assert.ok(ids(await api('GET', `/api/v1/engagements?q=${s.word}`)).includes(s.id));
  assert.ok(ids(await api('GET', `/api/v1/organisations?q=${s.word}`)).includes(s.org));
  assert.ok((await api('GET', '/feeds/engagements.json')).text.includes(`Gardener ${s.word}`));
  const before = await eventually('/api/v1/me/matches?limit=100', (r) => ids(r).includes(s.id), { token: agent.token });
  assert.ok(ids(before).includes(s.id), 'matched before');

  const r = await api('POST', '/api/v1/reports', { token: agent.token, body: { kind: 'organisation', target: s.org, reason: 'fake' } });
  assert.equal(r.status, 201);
  const notAllowed = await api('POST', '/api/v1/moderation/actions', { token: agent.token, body: { action: 'hide', kind: 'organisation', target: s.org, reason: 'x' } });
  assert.equal(notAllowed.status, 403);
  const hide = await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'hide', kind: 'organisation', target: s.org, reason: 'Impersonates a registered charity.' } });
  assert.equal(hide.status, 201, hide.text);
  assert.equal(hide.body.action, 'hide');
  assert.deepEqual(hide.body.affected, [s.owner.id]);
  assert.equal((await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'hide', kind: 'organisation', target: s.org, reason: 'again' } })).status, 409);

  // gone at once for everyone else
  assert.equal((await api('GET', `/api/v1/organisations/${s.org}`)).status, 404);
  assert.equal((await api('GET', `/api/v1/organisations/${s.org}`, { token: agent.token })).status, 404);
  assert.equal((await api('GET', `/api/v1/organisations/${s.org}/charter`)).status, 404);
  assert.equal((await api('GET', `/api/v1/engagements/${s.id}`)).status, 404);
  assert.ok(!ids(await api('GET', `/api/v1/engagements?organisation=${s.org}`)).includes(s.id));
  assert.ok(!ids(await api('GET', `/api/v1/engagements?q=${s.word}`)).includes(s.id));
  assert.ok(!ids(await api('GET', `/api/v1/engagements?purpose=${s.purpose}`)).includes(s.id));
  assert.ok(!ids(await api('GET', `/api/v1/organisations?q=${s.word}`)).includes(s.org));
  assert.ok(!(await api('GET', '/feeds/engagements.json')).text.includes(`Gardener ${s.word}`));
  assert.ok(!(await api('GET', '/feeds/engagements.atom')).text.includes(`Gardener ${s.word}`));
  assert.equal((await api('GET', `/feeds/engagements.json?organisation=${s.org}`)).status, 404);
  const after = await eventually('/api/v1/me/matches?limit=100', (x) => !ids(x).includes(s.id), { token: agent.token });
  assert.ok(!ids(after).includes(s.id), 'no longer matched');
  // its owners and moderators still see it
  assert.equal((await api('GET', `/api/v1/organisations/${s.org}`, { token: s.owner.token })).status, 200);
  assert.equal((await api('GET', `/api/v1/organisations/${s.org}`, { token: m.token })).status, 200);
  assert.equal((await api('GET', `/api/v1/organisations/${s.org}/charter`, { token: s.owner.token })).status, 200);
  // the case is settled
  const [[status]] = sql(`SELECT status FROM moderation_cases WHERE subject_kind = 'organisation' AND subject_id = (SELECT id FROM organisations WHERE slug = '${s.org}')`);
  assert.equal(status, 'resolved');

  // the owner is told why, sees the action (never who acted) and appeals once
  const notes = await api('GET', '/api/v1/me/notifications', { token: s.owner.token });
  const n = notes.body.items.find((x) => x.kind === 'moderation');
  assert.ok(n && n.message.includes('Impersonates a registered charity.'), notes.text);
  const mine = await api('GET', '/api/v1/me/moderation', { token: s.owner.token });
  assert.equal(mine.status, 200);
  assert.equal(mine.body.items[0].id, hide.body.id);
  assert.equal(mine.body.items[0].moderator, undefined);
  assert.equal((await api('POST', `/api/v1/me/moderation/${hide.body.id}/appeal`, { token: agent.token, body: { note: 'not mine' } })).status, 404);
  const appeal = await api('POST', `/api/v1/me/moderation/${hide.body.id}/appeal`, { token: s.owner.token, body: { note: 'We are registered: number 123.' } });
  assert.equal(appeal.status, 201, appeal.text);
  assert.equal(appeal.body.appeal.note, 'We are registered: number 123.');
  assert.equal((await api('POST', `/api/v1/me/moderation/${hide.body.id}/appeal`, { token: s.owner.token, body: { note: 'again' } })).status, 409);
  const appeals = await api('GET', '/api/v1/moderation/appeals?limit=100', { token: m.token });
  assert.ok(appeals.body.items.some((x) => x.id === hide.body.id));

  // restored: back everywhere, the appeal settled, every step in the log
  const restore = await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'restore', kind: 'organisation', target: s.org, reason: 'Registration checked.' } });
  assert.equal(restore.status, 201, restore.text);
  assert.equal((await api('GET', `/api/v1/organisations/${s.org}`)).status, 200);
  assert.equal((await api('GET', `/api/v1/engagements/${s.id}`)).status, 200);
  assert.ok(ids(await api('GET', `/api/v1/engagements?q=${s.word}`)).includes(s.id));
  assert.ok((await api('GET', '/feeds/engagements.json')).text.includes(`Gardener ${s.word}`));
  const back = await eventually('/api/v1/me/matches?limit=100', (x) => ids(x).includes(s.id), { token: agent.token });
  assert.ok(ids(back).includes(s.id), 'matched again');
  const open = await api('GET', '/api/v1/moderation/appeals?limit=100', { token: m.token });
  assert.ok(!open.body.items.some((x) => x.id === hide.body.id));
  const log = await api('GET', '/api/v1/moderation/log?limit=100', { token: m.token });
  const steps = log.body.items.filter((x) => x.subject.kind === 'organisation' && x.subject.label === s.org);
  assert.deepEqual(steps.map((x) => x.action), ['restore', 'hide']);
  assert.equal(steps[1].moderator.id, m.id);
  assert.equal(steps[1].reason, 'Impersonates a registered charity.');
  // append-only
  assert.throws(() => sql(`UPDATE moderation_actions SET reason = 'x' WHERE id = ${hide.body.id}`));
});

test('hiding one engagement, a purpose, an agent profile, a charter version', async () => {
  const s = await setup();
  const m = await newModerator();
  const act = (body) => api('POST', '/api/v1/moderation/actions', { token: m.token, body: { reason: 'Spam.', ...body } });

  assert.equal((await api('GET', `/api/v1/engagements/${s.id}`)).status, 200); // cached now
  assert.equal((await act({ action: 'hide', kind: 'engagement', target: String(s.id) })).status, 201);
  assert.equal((await api('GET', `/api/v1/engagements/${s.id}`)).status, 404);
  assert.ok(!ids(await api('GET', `/api/v1/engagements?organisation=${s.org}`)).includes(s.id));
  assert.equal((await api('GET', `/api/v1/organisations/${s.org}`)).body.open_engagements, 0);

  assert.equal((await act({ action: 'hide', kind: 'purpose', target: s.purpose })).status, 201);
  assert.equal((await api('GET', `/api/v1/purposes/${s.purpose}`)).status, 404);
  assert.equal((await api('GET', `/api/v1/purposes/${s.purpose}`, { token: s.owner.token })).status, 200, 'its creator sees it');
  assert.ok(!ids(await api('GET', '/api/v1/purposes?limit=100')).includes(s.purpose));

  const agent = await newUser('Agent');
  const handle = unique('ag');
  assert.equal((await api('PUT', '/api/v1/me/agent', { token: agent.token, body: { handle, headline: 'spam', personal_purpose: 'p', skills: [], capacity_hours_per_week: 10, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true } })).status, 200);
  assert.equal((await act({ action: 'hide', kind: 'agent_profile', target: handle })).status, 201);
  assert.equal((await api('GET', `/api/v1/agents/${handle}`)).status, 404);
  assert.equal((await api('GET', `/api/v1/agents/${handle}`, { token: agent.token })).status, 200);
  assert.equal((await api('GET', `/api/v1/agents/${handle}`, { token: m.token })).status, 200);
  assert.ok(!(await api('GET', '/api/v1/agents?limit=100')).body.items.some((x) => x.handle === handle));

  // charter: a former version may be hidden, the current one not
  const cur = await api('GET', `/api/v1/organisations/${s.org}`);
  assert.equal((await api('PATCH', `/api/v1/organisations/${s.org}`, { token: s.owner.token, headers: { 'If-Match': cur.headers.get('etag') }, body: { purpose_statement: 'Version two.' } })).status, 200);
  assert.equal((await act({ action: 'hide', kind: 'charter_version', target: s.org, version: 2 })).status, 409);
  assert.equal((await act({ action: 'hide', kind: 'charter_version', target: s.org, version: 1 })).status, 201);
  const charter = await api('GET', `/api/v1/organisations/${s.org}/charter`);
  assert.deepEqual(charter.body.items.map((v) => v.version), [2]);
  const own = await api('GET', `/api/v1/organisations/${s.org}/charter`, { token: s.owner.token });
  assert.deepEqual(own.body.items.map((v) => v.version), [2, 1]);
});

test('suspending an account: sessions revoked, sign-in refused with the reason, profile hidden; roles protect', async () => {
  const m = await newModerator();
  const admin = await newModerator('administrator');
  const u = await newUser('Spammer');
  const handle = unique('sp');
  assert.equal((await api('PUT', '/api/v1/me/agent', { token: u.token, body: { handle, headline: 'buy', personal_purpose: 'p', skills: [], capacity_hours_per_week: 10, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true } })).status, 200);
  const wrongKind = await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'suspend', kind: 'agent_profile', target: handle, reason: 'Spam.' } });
  assert.equal(wrongKind.status, 422);
  const s = await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'suspend', kind: 'account', target: String(u.id), reason: 'Sells things in every profile.' } });
  assert.equal(s.status, 201, s.text);
  assert.equal((await api('GET', '/api/v1/me', { token: u.token })).status, 401);
  const signIn = await api('POST', '/api/v1/sessions', { body: { email: u.email, password: u.password } });
  assert.equal(signIn.status, 403);
  assert.ok(signIn.body.detail.includes('Sells things in every profile.'), signIn.text);
  const wrong = await api('POST', '/api/v1/sessions', { body: { email: u.email, password: 'not the password at all' } });
  assert.equal(wrong.status, 401, 'the suspension is told only with the right password');
  assert.equal((await api('GET', `/api/v1/agents/${handle}`)).status, 404);

  // a moderator suspends neither themselves nor another moderator; an administrator may
  const m2 = await newModerator();
  assert.equal((await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'suspend', kind: 'account', target: String(m.id), reason: 'x' } })).status, 403);
  assert.equal((await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'suspend', kind: 'account', target: String(m2.id), reason: 'x' } })).status, 403);
  assert.equal((await api('POST', '/api/v1/moderation/actions', { token: admin.token, body: { action: 'suspend', kind: 'account', target: String(admin.id), reason: 'x' } })).status, 403);

  const restore = await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'restore', kind: 'account', target: String(u.id), reason: 'Promised to stop.' } });
  assert.equal(restore.status, 201);
  assert.equal((await api('POST', '/api/v1/sessions', { body: { email: u.email, password: u.password } })).status, 201);
  assert.equal((await api('GET', `/api/v1/agents/${handle}`)).status, 200);
});

test('dismissing settles the case; instance roles are granted by administrators and logged', async () => {
  const s = await setup();
  const m = await newModerator();
  const admin = await newModerator('administrator');
  const u = await newUser('Reporter');
  await api('POST', '/api/v1/reports', { token: u.token, body: { kind: 'engagement', target: String(s.id), reason: 'misleading' } });
  const [[caseId]] = sql(`SELECT id FROM moderation_cases WHERE subject_kind = 'engagement' AND subject_id = ${s.id} AND status = 'open'`);
  const d = await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'dismiss', case: Number(caseId), reason: 'Accurate.' } });
  assert.equal(d.status, 201, d.text);
  assert.deepEqual(d.body.affected, []);
  assert.equal((await api('POST', '/api/v1/moderation/actions', { token: m.token, body: { action: 'dismiss', case: Number(caseId), reason: 'again' } })).status, 409);
  assert.equal((await api('GET', `/api/v1/engagements/${s.id}`)).status, 200);

  // roles: administrators only, never their own
  const target = await newUser('New moderator');
  assert.equal((await api('PUT', `/api/v1/moderation/roles/${target.id}`, { token: m.token, body: { role: 'moderator' } })).status, 403);
  assert.equal((await api('PUT', `/api/v1/moderation/roles/${admin.id}`, { token: admin.token, body: { role: 'moderator' } })).status, 403);
  const g = await api('PUT', `/api/v1/moderation/roles/${target.id}`, { token: admin.token, body: { role: 'moderator' } });
  assert.equal(g.status, 200, g.text);
  assert.equal(g.body.role, 'moderator');
  assert.equal((await api('GET', '/api/v1/moderation/cases', { token: target.token })).status, 200);
  assert.equal((await api('DELETE', `/api/v1/moderation/roles/${target.id}`, { token: admin.token })).status, 204);
  assert.equal((await api('GET', '/api/v1/moderation/cases', { token: target.token })).status, 403);
  const log = await api('GET', '/api/v1/moderation/log?limit=100', { token: m.token });
  const steps = log.body.items.filter((x) => x.subject.kind === 'account' && x.subject.id === target.id).map((x) => x.action);
  assert.deepEqual(steps, ['revoke_role', 'grant_role']);
});
