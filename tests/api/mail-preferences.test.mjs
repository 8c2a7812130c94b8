// mail-preferences: how each kind of notification reaches an account by
// mail — at once, in the daily digest, or not at all — and the digest
// itself: one message per interval at most, grouped by kind, with a
// one-click unsubscribe. The daemon under test runs with
// DIGEST_INTERVAL_SECONDS=3 (scripts/test, scripts/dev-env), so "daily"
// means "every 3 seconds" here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, mailsTo, newUser, problemFields, sql, unique, until } from './helpers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const INTERVAL_S = 3;

test('preferences: every kind, immediately by default; PUT sets the whole set; bad words are 422', async () => {
  const u = await newUser('Chooser');
  const res = await api('GET', '/api/v1/me/notification-preferences', { token: u.token });
  assert.equal(res.status, 200, res.text);
  // every kind the daemon writes, as the vocabulary lists them, and only those
  const doc = await api('GET', '/api/v1/openapi.json');
  const kinds = doc.body.components.schemas.NotificationKind.enum;
  assert.deepEqual(res.body.preferences.map((p) => p.kind), kinds);
  // and every kind is one the database accepts (0024, 0030)
  const put17 = await api('PUT', '/api/v1/me/notification-preferences', { token: u.token,
    body: Object.fromEntries(kinds.map((k) => [k, 'off'])) });
  assert.equal(put17.status, 200, put17.text);
  await api('PUT', '/api/v1/me/notification-preferences', { token: u.token, body: {} });
  const again = await api('GET', '/api/v1/me/notification-preferences', { token: u.token });
  assert.ok(again.body.preferences.every((p) => p.delivery === 'immediately'));
  assert.deepEqual(res.body.digest, { last_sent_at: null, waiting: 0 });

  let put = await api('PUT', '/api/v1/me/notification-preferences', { token: u.token,
    body: { engagement_posted: 'daily', moderation: 'off' } });
  assert.equal(put.status, 200, put.text);
  const of = (body) => Object.fromEntries(body.preferences.map((p) => [p.kind, p.delivery]));
  assert.equal(of(put.body).engagement_posted, 'daily');
  assert.equal(of(put.body).moderation, 'off');
  assert.equal(of(put.body).agreement_proposed, 'immediately');
  // the whole set: a kind not named goes back to immediately
  put = await api('PUT', '/api/v1/me/notification-preferences', { token: u.token, body: { moderation: 'off' } });
  assert.equal(of(put.body).engagement_posted, 'immediately');
  assert.equal(sql(`SELECT kind, delivery FROM notification_mail_preferences WHERE account_id = ${u.id}`).join(';'), 'moderation,off');

  const bad = await api('PUT', '/api/v1/me/notification-preferences', { token: u.token,
    body: { no_such_kind: 'off', moderation: 'weekly', engagement_posted: 3 } });
  assert.equal(bad.status, 422);
  assert.deepEqual(problemFields(bad), ['engagement_posted', 'moderation', 'no_such_kind']);
  assert.equal(of((await api('GET', '/api/v1/me/notification-preferences', { token: u.token })).body).moderation, 'off', 'nothing changed');
  assert.equal((await api('GET', '/api/v1/me/notification-preferences')).status, 401);

  const exported = await api('GET', '/api/v1/me/export', { token: u.token });
  assert.equal(of(exported.body.notification_preferences).moderation, 'off', 'the export carries the choices');
});

// An organisation with a purpose, and a follower of it sharing that purpose:
// each engagement posted notifies the follower (engagement_posted).
async function followedOrganisation(name) {
  const owner = await newUser(`${name} Owner`);
  const p = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: unique('Digest purpose'), description: 'For digests.' } });
  const org = await api('POST', '/api/v1/organisations', { token: owner.token,
    body: { name: unique(`${name} Org`), purpose_statement: 'Digests.', purposes: [p.body.slug], legal_form: 'cooperative', governance: 'sociocracy' } });
  const fan = await newUser(`${name} Fan`);
  await api('PUT', '/api/v1/me/agent', { token: fan.token, body: { handle: unique('fan'), headline: '', personal_purpose: '', skills: [],
    capacity_hours_per_week: 10, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true } });
  await api('PUT', '/api/v1/me/agent/purposes', { token: fan.token, body: [{ purpose: p.body.slug, energy: 50 }] });
  assert.equal((await api('PUT', `/api/v1/organisations/${org.body.slug}/follow`, { token: fan.token })).status, 204);
  const post = async (title) => {
    const res = await api('POST', `/api/v1/organisations/${org.body.slug}/engagements`, { token: owner.token,
      body: { title, description: 'Work.', purposes: [p.body.slug], packagings: ['volunteer'], hours_per_week: 2, skills: [], remote_ok: true } });
    assert.equal(res.status, 201, res.text);
  };
  return { owner, fan, post };
}

const digests = async (address, count, timeout) =>
  (await mailsTo(address, { count: count + 1, timeout })).filter((m) => m.headers.Subject.startsWith('Purposed: your daily digest'));

test('daily: no message per notification; one digest per interval, grouped, with a one-click unsubscribe', async () => {
  const { fan, post } = await followedOrganisation('Digest');
  const put = await api('PUT', '/api/v1/me/notification-preferences', { token: fan.token, body: { engagement_posted: 'daily' } });
  assert.equal(put.status, 200);
  const t0 = Date.now();
  await post('First digest walk');
  await post('Second digest walk');
  // followers' notifications are written by the fan-out job, after the post
  await until('two lines waiting for the digest', async () =>
    (await api('GET', '/api/v1/me/notification-preferences', { token: fan.token })).body.digest.waiting === 2);
  let got = [];
  for (let i = 0; i < 150 && !got.length; i++) { got = await digests(fan.email, 1, 0); if (!got.length) await sleep(100); }
  const [d] = got;
  assert.ok(d, 'a digest arrived');
  assert.ok(d.received_at * 1000 - t0 >= (INTERVAL_S - 0.5) * 1000, `the digest waited one interval (${d.received_at * 1000 - t0} ms)`);
  assert.equal(d.headers.Subject, 'Purposed: your daily digest (2 new)');
  assert.match(d.text, /New engagements from organisations you follow \(2\)/);
  assert.match(d.text, /First digest walk[\s\S]*Second digest walk/);
  assert.match(d.html, /<li>.*First digest walk.*<\/li>/);
  assert.equal(d.headers['List-Unsubscribe-Post'], 'List-Unsubscribe=One-Click');
  const unsubscribe = new URL(d.headers['List-Unsubscribe'].match(/^<([^>]+)>$/)[1]);
  assert.match(unsubscribe.searchParams.get('token'), new RegExp(`^${fan.id}\\.digest\\.[0-9a-f]{32}$`));
  assert.match(d.text, /\/unsubscribe\?token=/, 'a link a person can open too');
  assert.equal((await mailsTo(fan.email, { count: 99, timeout: 0 })).filter((m) => /digest walk/.test(m.headers.Subject)).length, 0,
    'no message of its own per notification');

  // a third notification right after: the next digest waits a whole interval after this one
  await post('Third digest walk');
  let second = [];
  for (let i = 0; i < 150 && second.length < 2; i++) { second = await digests(fan.email, 2, 0); if (second.length < 2) await sleep(100); }
  assert.equal(second.length, 2, 'a second digest');
  assert.ok(second[1].received_at - second[0].received_at >= INTERVAL_S - 0.3,
    `at most one digest per interval (${second[1].received_at - second[0].received_at} s apart)`);
  assert.match(second[1].text, /Third digest walk/);
  assert.doesNotMatch(second[1].text, /First digest walk/, 'a line goes in one digest only');
  const prefs = await api('GET', '/api/v1/me/notification-preferences', { token: fan.token });
  assert.ok(prefs.body.digest.last_sent_at);
  assert.equal(prefs.body.digest.waiting, 0);

  // one click: every daily kind is off
  const done = await api('POST', `/api/v1/unsubscribe?${unsubscribe.searchParams}`,
    { raw: 'List-Unsubscribe=One-Click', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
  assert.equal(done.status, 200, done.text);
  assert.deepEqual(done.body, { kind: 'digest', mailed: false, delivery: 'off' });
  const after = await api('GET', '/api/v1/me/notification-preferences', { token: fan.token });
  assert.equal(after.body.preferences.find((p) => p.kind === 'engagement_posted').delivery, 'off');
  await post('Fourth digest walk');
  await sleep((INTERVAL_S + 1.5) * 1000);
  assert.equal((await digests(fan.email, 3, 0)).length, 2, 'nothing more');
  const metrics = await (await fetch(`${process.env.BASE_URL}/metrics`)).text();
  assert.match(metrics, /^mail_sent_total\{template="digest"\} [1-9]/m);
});

test('notifications read in the app before the digest is due are left out; off mails nothing', async () => {
  const { fan, post } = await followedOrganisation('Reader');
  await api('PUT', '/api/v1/me/notification-preferences', { token: fan.token, body: { engagement_posted: 'daily' } });
  await post('Read in the app');
  const list = await api('GET', '/api/v1/me/notifications', { token: fan.token });
  const ids = list.body.items.map((n) => n.id);
  assert.equal((await api('POST', '/api/v1/me/notifications/read', { token: fan.token, body: { ids } })).status < 300, true);
  await sleep((INTERVAL_S + 2) * 1000);
  assert.equal((await digests(fan.email, 1, 0)).length, 0, 'nothing unread: no digest');
  assert.equal(sql(`SELECT count(*) FROM notification_digest_items WHERE account_id = ${fan.id}`)[0][0], '0', 'the line left the queue');

  await api('PUT', '/api/v1/me/notification-preferences', { token: fan.token, body: { engagement_posted: 'off' } });
  await post('Never mailed');
  await sleep(1500);
  const mailed = (await mailsTo(fan.email, { count: 99, timeout: 0 })).filter((m) => /Never mailed|digest/.test(m.headers.Subject + m.text));
  assert.equal(mailed.length, 0);
  const inApp = await api('GET', '/api/v1/me/notifications', { token: fan.token });
  assert.ok(inApp.body.items.some((n) => /Never mailed/.test(n.message)), 'still shown in the app');
});
