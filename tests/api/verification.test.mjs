// verification: an organisation proves it controls its website. The website
// is a node http server on 127.0.0.1 (the daemon under test runs with
// FETCH_ALLOW_PRIVATE=1; a daemon without it refuses to fetch it, last test).
// The token served at /.well-known/purposed-verification or in a meta tag
// of the website's page; what the daemon answers when it is not there (other
// token, 404, too large, too slow, a redirect); the badge in the
// organisation's JSON; a changed website losing it; the weekly re-check
// (lib/jobs) keeping it or, after its retries, removing it and telling the
// owners; administrators verifying and unverifying by hand, in the log.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { addMember, api, newUser, sql, startDaemon, unique, until } from './helpers.mjs';

// The website: path -> (req, res) handler, set per test; every request is
// remembered (method and path).
const site = { routes: new Map(), seen: [] };
let server;
let origin;

before(async () => {
  server = http.createServer((req, res) => {
    site.seen.push(req.url);
    const handler = site.routes.get(req.url);
    if (handler) return handler(req, res);
    res.writeHead(404, { 'Content-Type': 'text/plain' });
    res.end('not here');
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${server.address().port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

const WELL_KNOWN = '/.well-known/purposed-verification';
const text = (body, status = 200, type = 'text/plain') => (req, res) => {
  res.writeHead(status, { 'Content-Type': type });
  res.end(body);
};
const page = (head) => text(`<!doctype html><html><head><title>Home</title>${head}</head><body>Hello</body></html>`, 200, 'text/html');

let admin;
before(async () => {
  admin = await newUser('Administrator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${admin.id}, 'administrator')`);
});

// An organisation whose website is this test's site under its own path
// (so the tests' pages do not meet), with a token asked for.
async function setup({ path } = {}) {
  const owner = await newUser('Owner');
  const p = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  const slug = unique('site');
  const home = path ?? `/${slug}/`;
  const o = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Site ${slug}`, slug, purpose_statement: 'We keep rivers clean.', purposes: [p.body.slug],
            legal_form: 'nonprofit', governance: 'consent_based', website: origin + home },
  });
  assert.equal(o.status, 201, o.text);
  const asked = await api('POST', `/api/v1/organisations/${slug}/verification`, { token: owner.token });
  assert.equal(asked.status, 201, asked.text);
  return { owner, slug, home, token: asked.body.token };
}

const check = (s) => api('POST', `/api/v1/organisations/${s.slug}/verification/check`, { token: s.owner.token });
const orgOf = async (slug) => (await api('GET', `/api/v1/organisations/${slug}`)).body;

test('a token for the owners: made once, the same after, with where to serve it', async () => {
  const s = await setup();
  assert.match(s.token, /^purposed-[A-Za-z0-9_-]{43}$/);
  const again = await api('POST', `/api/v1/organisations/${s.slug}/verification`, { token: s.owner.token });
  assert.equal(again.status, 200, again.text);
  assert.equal(again.body.token, s.token, 'asking again keeps the token the website serves');
  const got = await api('GET', `/api/v1/organisations/${s.slug}/verification`, { token: s.owner.token });
  assert.equal(got.status, 200, got.text);
  assert.equal(got.body.token, s.token);
  assert.equal(got.body.website, origin + s.home);
  assert.equal(got.body.well_known_url, origin + WELL_KNOWN, 'the well-known file is at the origin, the path left out');
  assert.equal(got.body.meta_tag, `<meta name="purposed-verification" content="${s.token}">`);
  assert.equal(got.body.verified, false);
  assert.equal(got.body.verification, null);
  assert.equal(got.body.last_check, null);
  // admins and members of the organisation, strangers: not theirs (owners prove control)
  const admin2 = await newUser('Org admin');
  await addMember(s.owner, s.slug, admin2, 'admin');
  assert.equal((await api('GET', `/api/v1/organisations/${s.slug}/verification`, { token: admin2.token })).status, 403);
  assert.equal((await check({ ...s, owner: admin2 })).status, 403);
  assert.equal((await api('GET', `/api/v1/organisations/${s.slug}/verification`)).status, 401);
  // a check before any token: the owner is told to ask for one
  const fresh = await newUser('Fresh');
  const p = await api('POST', '/api/v1/purposes', { token: fresh.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  const slug = unique('fresh');
  assert.equal((await api('POST', '/api/v1/organisations', { token: fresh.token, body: { name: slug, slug, purpose_statement: 'x', purposes: [p.body.slug], legal_form: 'informal', governance: 'other' } })).status, 201);
  const noWebsite = await check({ slug, owner: fresh });
  assert.equal(noWebsite.status, 409);
  assert.match(noWebsite.body.detail, /no website/);
  assert.equal(sql(`UPDATE organisations SET website = '${origin}/${slug}' WHERE slug = '${slug}' RETURNING 1`).length, 1);
  const noToken = await check({ slug, owner: fresh });
  assert.equal(noToken.status, 409);
  assert.match(noToken.body.detail, /Ask for a token first/);
});

test('the token at /.well-known/purposed-verification verifies the organisation, in its JSON and its list', async () => {
  const s = await setup();
  site.routes.set(WELL_KNOWN, text(`# Purposed\n${s.token}\n`));
  try {
    const before = sql(`SELECT version FROM organisations WHERE slug = '${s.slug}'`)[0][0];
    const res = await check(s);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.verified, true);
    assert.equal(res.body.verification.method, 'well_known');
    assert.ok(Math.abs(Date.parse(res.body.verification.verified_at) - Date.now()) < 60000);
    assert.equal(res.body.last_check.outcome, 'verified');
    assert.match(res.body.last_check.detail, /holds the token/);
    const org = await orgOf(s.slug);
    assert.equal(org.verified, true);
    assert.deepEqual(org.verification, res.body.verification);
    assert.equal(org.version, Number(before) + 1, 'the representation changed: so does its version (ETag)');
    const list = await api('GET', `/api/v1/organisations?q=${encodeURIComponent(`Site ${s.slug}`)}`);
    const item = list.body.items.find((x) => x.slug === s.slug);
    assert.equal(item?.verified, true, list.text);
    // the first re-check is queued a week on
    const [[days]] = sql(`SELECT round(extract(epoch FROM run_at - now()) / 86400) FROM jobs WHERE kind = 'verification_check'
      AND state = 'queued' AND (payload->>'organisation_id')::bigint = (SELECT id FROM organisations WHERE slug = '${s.slug}')`);
    assert.equal(days, '7');
    // an organisation not verified says so
    const other = await setup();
    assert.equal((await orgOf(other.slug)).verified, false);
    assert.equal((await orgOf(other.slug)).verification, null);
  } finally {
    site.routes.delete(WELL_KNOWN);
  }
});

test('the token in a meta tag of the website\'s page verifies it too', async () => {
  const s = await setup();
  site.routes.set(s.home, page(`<meta charset="utf-8">\n<META content='${s.token}' NAME='purposed-verification'>`));
  const res = await check(s);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.verification.method, 'meta_tag');
  assert.match(res.body.last_check.detail, /has the purposed-verification meta tag with the token/);
  assert.ok(site.seen.includes(WELL_KNOWN) && site.seen.includes(s.home), 'both places were asked, the well-known one first');
  assert.equal((await orgOf(s.slug)).verification.method, 'meta_tag');
});

test('not verified: what each place held instead, said and kept; nothing marked', async () => {
  const s = await setup();
  const wrong = async (why, pattern) => {
    const res = await check(s);
    assert.equal(res.status, 422, `${why}: ${res.text}`);
    assert.equal(res.body.type, 'https://purposed.dev/problems/website-not-verified');
    assert.match(res.body.detail, pattern, why);
    assert.equal((await orgOf(s.slug)).verified, false, why);
    const state = await api('GET', `/api/v1/organisations/${s.slug}/verification`, { token: s.owner.token });
    assert.equal(state.body.last_check.outcome, 'not_verified', why);
    assert.equal(state.body.last_check.detail, res.body.detail.replace(/^The token was not found\. /, ''), why);
    return res;
  };
  try {
    // nothing served: two 404s
    await wrong('404', new RegExp(`${WELL_KNOWN.replace(/\./g, '\\.')} answered 404\\..*${s.home} answered 404\\.`));
    // another token in both places
    site.routes.set(WELL_KNOWN, text('purposed-someone-elses-token'));
    site.routes.set(s.home, page('<meta name="purposed-verification" content="purposed-someone-elses-token">'));
    await wrong('other token', /answered 200 without the token\..*has a purposed-verification meta tag with another token\./);
    // the page without the tag
    site.routes.set(s.home, page('<meta name="description" content="' + s.token + '">'));
    await wrong('no tag', /has no purposed-verification meta tag\./);
    // too large: the token past the limit (256 KiB) is not read
    site.routes.set(WELL_KNOWN, text('x'.repeat(300 * 1024) + s.token));
    site.routes.set(s.home, text('', 500));
    await wrong('too large', new RegExp(`${WELL_KNOWN.replace(/\./g, '\\.')} answered with more than 262144 bytes\\. .*answered 500\\.`));
    // a redirect to where the token is: not followed
    site.routes.set('/elsewhere', text(s.token));
    site.routes.set(WELL_KNOWN, (req, res) => { res.writeHead(302, { Location: '/elsewhere' }); res.end(); });
    site.routes.set(s.home, (req, res) => { res.writeHead(301, { Location: `${origin}/elsewhere` }); res.end(); });
    site.seen.length = 0;
    await wrong('redirect', /answered 302, a redirect to http:\/\/127\.0\.0\.1:\d+\/elsewhere, which is not followed.*answered 301, a redirect to http:\/\/127\.0\.0\.1:\d+\/elsewhere, which is not followed/);
    assert.ok(!site.seen.includes('/elsewhere'), 'the redirect was not followed');
  } finally {
    for (const path of [WELL_KNOWN, s.home, '/elsewhere']) site.routes.delete(path);
  }
});

test('a website too slow to answer: given up after the timeout, said so', async () => {
  const s = await setup();
  const pending = [];
  site.routes.set(WELL_KNOWN, (req, res) => { pending.push(res); }); // never answers
  try {
    const started = Date.now();
    const res = await check(s);
    const took = Date.now() - started;
    assert.equal(res.status, 422, res.text);
    assert.match(res.body.detail, new RegExp(`${WELL_KNOWN.replace(/\./g, '\\.')} did not answer within 5000 ms\\.`));
    assert.match(res.body.detail, new RegExp(`${s.home} answered 404\\.`), 'the page is still asked');
    assert.ok(took >= 4500 && took < 9000, `gave up after ${took} ms (the limit is 5 s)`);
  } finally {
    site.routes.delete(WELL_KNOWN);
    for (const r of pending) r.destroy();
  }
});

test('a changed website loses the badge; its pending re-check then does nothing', async () => {
  const s = await setup();
  site.routes.set(s.home, page(`<meta name="purposed-verification" content="${s.token}">`));
  try {
    assert.equal((await check(s)).status, 200);
    const org = await orgOf(s.slug);
    assert.equal(org.verified, true);
    // another field changed: the badge stays
    const named = await api('PATCH', `/api/v1/organisations/${s.slug}`, { token: s.owner.token, headers: { 'If-Match': `"${org.version}"` }, body: { location: 'Lyon' } });
    assert.equal(named.status, 200, named.text);
    assert.equal(named.body.verified, true);
    const moved = await api('PATCH', `/api/v1/organisations/${s.slug}`, { token: s.owner.token, headers: { 'If-Match': `"${named.body.version}"` }, body: { website: `${origin}/moved/` } });
    assert.equal(moved.status, 200, moved.text);
    assert.equal(moved.body.verified, false);
    assert.equal(moved.body.verification, null);
    // the re-check queued for the old verification runs now and fetches nothing
    site.seen.length = 0;
    const [[job]] = sql(`UPDATE jobs SET run_at = now() WHERE kind = 'verification_check' AND state = 'queued'
      AND (payload->>'organisation_id')::bigint = (SELECT id FROM organisations WHERE slug = '${s.slug}') RETURNING id`);
    await until('the stale re-check to finish', () => sql(`SELECT state FROM jobs WHERE id = ${job}`)[0][0] === 'done');
    assert.deepEqual(site.seen, []);
    assert.equal((await orgOf(s.slug)).verified, false);
  } finally {
    site.routes.delete(s.home);
  }
});

// Run the organisation's queued re-check now (and each retry at once) until
// it finishes; returns its final row.
async function runRecheck(slug) {
  const [[job]] = sql(`SELECT id FROM jobs WHERE kind = 'verification_check' AND state = 'queued'
    AND (payload->>'organisation_id')::bigint = (SELECT id FROM organisations WHERE slug = '${slug}')`);
  return until(`re-check job ${job} to finish`, () => {
    sql(`UPDATE jobs SET run_at = now() WHERE id = ${job} AND state = 'queued'`);
    const [[state, attempts, error]] = sql(`SELECT state, attempts, coalesce(last_error, '') FROM jobs WHERE id = ${job}`);
    return ['done', 'failed'].includes(state) && { id: job, state, attempts: Number(attempts), error };
  }, 30000);
}

test('the weekly re-check: kept while the token is there; after its retries fail, the badge goes and the owners are told', async () => {
  const s = await setup();
  site.routes.set(WELL_KNOWN, text(s.token));
  try {
    const verified = await check(s);
    assert.equal(verified.status, 200, verified.text);
    const since = verified.body.verification.verified_at;
    // still there: the job is done, the badge kept (same time), the next one queued
    const kept = await runRecheck(s.slug);
    assert.equal(kept.state, 'done', kept.error);
    const org = await orgOf(s.slug);
    assert.equal(org.verified, true);
    assert.equal(org.verification.verified_at, since);
    assert.equal(sql(`SELECT count(*) FROM jobs WHERE kind = 'verification_check' AND state = 'queued'
      AND (payload->>'organisation_id')::bigint = (SELECT id FROM organisations WHERE slug = '${s.slug}')`)[0][0], '1');
    // gone: retried (the badge stays meanwhile), then removed after the last try
    site.routes.delete(WELL_KNOWN);
    const lost = await runRecheck(s.slug);
    assert.equal(lost.state, 'failed');
    assert.equal(lost.attempts, 4, 'four tries before the badge goes');
    assert.match(lost.error, /the badge was removed: .*answered 404/);
    const after = await orgOf(s.slug);
    assert.equal(after.verified, false);
    assert.equal(after.verification, null);
    const state = await api('GET', `/api/v1/organisations/${s.slug}/verification`, { token: s.owner.token });
    assert.equal(state.body.last_check.outcome, 'not_verified');
    const notes = await api('GET', '/api/v1/me/notifications', { token: s.owner.token });
    const note = notes.body.items.find((n) => n.payload?.verification === 'removed');
    assert.ok(note, notes.text);
    assert.equal(note.kind, 'moderation');
    assert.match(note.message, /no longer marked verified/);
    assert.equal(note.payload.organisation, s.slug);
    assert.equal(sql(`SELECT count(*) FROM jobs WHERE kind = 'verification_check' AND state = 'queued'
      AND (payload->>'organisation_id')::bigint = (SELECT id FROM organisations WHERE slug = '${s.slug}')`)[0][0], '0', 'no more re-checks');
  } finally {
    site.routes.delete(WELL_KNOWN);
  }
});

test('administrators verify and unverify by hand: logged, the owners told; nobody else may', async () => {
  const s = await setup();
  const moderator = await newUser('Moderator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${moderator.id}, 'moderator')`);
  const body = { organisation: s.slug, verified: true, reason: 'Called them on the phone number of their registry entry.' };
  for (const who of [moderator, s.owner]) {
    const refused = await api('POST', '/api/v1/moderation/verifications', { token: who.token, body });
    assert.equal(refused.status, 403, refused.text);
  }
  assert.equal((await orgOf(s.slug)).verified, false);
  const bad = await api('POST', '/api/v1/moderation/verifications', { token: admin.token, body: { organisation: 'Not A Slug', verified: 'yes', extra: 1 } });
  assert.equal(bad.status, 422);
  assert.deepEqual(bad.body.errors.map((e) => e.field).sort(), ['extra', 'organisation', 'reason', 'verified']);
  assert.equal((await api('POST', '/api/v1/moderation/verifications', { token: admin.token, body: { ...body, organisation: unique('nobody') } })).status, 404);

  // the log's words are not actions of POST /moderation/actions, which would log without verifying
  for (const action of ['verify', 'unverify']) {
    const wrongRoute = await api('POST', '/api/v1/moderation/actions', { token: admin.token, body: { action, kind: 'organisation', target: s.slug, reason: 'x' } });
    assert.equal(wrongRoute.status, 422, wrongRoute.text);
    assert.match(wrongRoute.body.errors[0].message, /POST \/api\/v1\/moderation\/verifications/);
  }
  const done = await api('POST', '/api/v1/moderation/verifications', { token: admin.token, body });
  assert.equal(done.status, 201, done.text);
  assert.equal(done.body.action, 'verify');
  assert.deepEqual(done.body.subject, { kind: 'organisation', id: Number(sql(`SELECT id FROM organisations WHERE slug = '${s.slug}'`)[0][0]), version: null, label: s.slug });
  assert.equal(done.body.reason, body.reason);
  assert.deepEqual(done.body.affected, [s.owner.id]);
  const org = await orgOf(s.slug);
  assert.equal(org.verified, true);
  assert.equal(org.verification.method, 'manual');
  assert.equal((await api('POST', '/api/v1/moderation/verifications', { token: admin.token, body })).status, 409, 'already verified');
  // in the log, and in the owner's own list of actions concerning them
  const log = await api('GET', '/api/v1/moderation/log', { token: admin.token });
  assert.ok(log.body.items.some((a) => a.id === done.body.id && a.action === 'verify'), log.text);
  const mine = await api('GET', '/api/v1/me/moderation', { token: s.owner.token });
  assert.ok(mine.body.items.some((a) => a.id === done.body.id), mine.text);
  // a verification by hand has no website to re-check
  assert.equal(sql(`SELECT count(*) FROM jobs WHERE kind = 'verification_check' AND state = 'queued'
    AND (payload->>'organisation_id')::bigint = ${done.body.subject.id}`)[0][0], '0');

  const undone = await api('POST', '/api/v1/moderation/verifications', { token: admin.token, body: { ...body, verified: false, reason: 'The phone number was not theirs.' } });
  assert.equal(undone.status, 201, undone.text);
  assert.equal(undone.body.action, 'unverify');
  assert.equal((await orgOf(s.slug)).verified, false);
  assert.equal((await api('POST', '/api/v1/moderation/verifications', { token: admin.token, body: { ...body, verified: false } })).status, 409, 'not verified');
  const notes = await api('GET', '/api/v1/me/notifications', { token: s.owner.token });
  const messages = notes.body.items.filter((n) => n.kind === 'moderation').map((n) => n.message);
  assert.ok(messages.some((m) => m.startsWith(`An administrator verified your organisation "${s.slug}": Called them`)), messages.join('\n'));
  assert.ok(messages.some((m) => m.startsWith(`An administrator removed the verification of your organisation "${s.slug}": The phone`)), messages.join('\n'));
});

test('SSRF: a daemon without FETCH_ALLOW_PRIVATE refuses to fetch 127.0.0.1', async () => {
  const s = await setup();
  site.routes.set(WELL_KNOWN, text(s.token));
  site.routes.set(s.home, page(`<meta name="purposed-verification" content="${s.token}">`));
  const d = await startDaemon({ FETCH_ALLOW_PRIVATE: '0', JOB_WORKERS: '0' });
  try {
    site.seen.length = 0;
    const res = await api('POST', `/api/v1/organisations/${s.slug}/verification/check`, { token: s.owner.token, base: d.base });
    assert.equal(res.status, 422, res.text);
    assert.match(res.body.detail, new RegExp(`${WELL_KNOWN.replace(/\./g, '\\.')} is at a private or reserved address \\(127\\.0\\.0\\.1\\); it is not fetched\\. .*${s.home} is at a private or reserved address`));
    assert.deepEqual(site.seen, [], 'no request reached the private address');
    assert.equal((await orgOf(s.slug)).verified, false);
    // the same check through the daemon under test, which may: verified
    assert.equal((await check(s)).status, 200);
  } finally {
    await d.stop();
    site.routes.delete(WELL_KNOWN);
    site.routes.delete(s.home);
  }
});
