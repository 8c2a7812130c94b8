// instance-blocks: administrators block remote instances
// (docs/federation.md, "Blocking"): moderators read the list, only
// administrators block and lift; a block is a row of the moderation log,
// removes what the instance had here (its actors' follows of organisations
// here, the follows of people here of its organisations, the engagements it
// sent; subdomains too, other hosts untouched), and refuses its inbox POSTs
// with 403 before its key is fetched. Deliveries to it and the fetches of
// its documents are tests/federation/fedify-peer.test.mjs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { api, BASE, newUser, problemFields, sql, unique } from './helpers.mjs';

const AS = 'https://www.w3.org/ns/activitystreams';

async function withRole(role) {
  const u = await newUser(role);
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${u.id}, '${role}')`);
  return u;
}

// A remote actor of host, following organisation org here, followed by
// account here, with one engagement it sent; its id.
function remoteWorld(host, orgId, accountId) {
  const uri = `https://${host}/actors/${unique('a')}`;
  const id = sql(`INSERT INTO remote_actors (uri, type, inbox) VALUES ('${uri}', 'Group', '${uri}/inbox') RETURNING id`)[0][0];
  sql(`INSERT INTO remote_followers (organisation_id, actor_id, follow_uri) VALUES (${orgId}, ${id}, '${uri}#follow')`);
  const f = sql(`INSERT INTO remote_follows (actor_id, follow_uri) VALUES (${id}, '${uri}#followed') RETURNING id`)[0][0];
  sql(`INSERT INTO remote_follow_people (remote_follow_id, account_id, handle) VALUES (${f}, ${accountId}, 'x@${host}')`);
  const org = sql(`SELECT remote_organisation(${id})`)[0][0];
  sql(`INSERT INTO engagements (organisation_id, origin_uri, title, description, packagings, hours_per_week)
       VALUES (${org}, '${uri}/e/1', 'Remote work', 'd', '{volunteer}', 2)`);
  return id;
}
const left = (id) => sql(`SELECT (SELECT count(*) FROM remote_followers WHERE actor_id = ${id}),
  (SELECT count(*) FROM remote_follows WHERE actor_id = ${id}),
  (SELECT count(*) FROM remote_engagements WHERE actor_id = ${id})`)[0].map(Number);

test('moderators read the blocks, administrators block and lift them, every step in the log', async () => {
  const admin = await withRole('administrator');
  const moderator = await withRole('moderator');
  const person = await newUser('Nobody special');
  const host = `${unique('spam')}.example`;
  const blocks = () => Number(sql(`SELECT count(*) FROM instance_blocks WHERE host = '${host}'`)[0][0]);

  for (const who of [person, moderator]) {
    const r = await api('POST', '/api/v1/moderation/instance-blocks', { token: who.token, body: { host, reason: 'spam' } });
    assert.equal(r.status, 403, r.text);
  }
  assert.equal(blocks(), 0, 'a refused block writes nothing');

  const bad = await api('POST', '/api/v1/moderation/instance-blocks', { token: admin.token,
    body: { host: 'not a host', reason: '', extra: 1 } });
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(problemFields(bad), ['extra', 'host', 'reason']);
  for (const h of ['-x.example', 'x.example.', 'x.example:123456', 'x_y.example']) {
    const r = await api('POST', '/api/v1/moderation/instance-blocks', { token: admin.token, body: { host: h, reason: 'r' } });
    assert.equal(r.status, 422, `${h}: ${r.text}`);
  }

  const made = await api('POST', '/api/v1/moderation/instance-blocks', { token: admin.token,
    body: { host: `https://${host.toUpperCase()}/some/path`, reason: 'Spam from every account.' } });
  assert.equal(made.status, 201, made.text);
  assert.equal(made.body.host, host, 'a URL is read for its host, lower case');
  assert.equal(made.body.reason, 'Spam from every account.');
  assert.equal(made.body.blocked_by.id, admin.id);
  assert.deepEqual(made.body.removed, { followers: 0, follows: 0, engagements: 0 });
  assert.equal(made.headers.get('location'), `/api/v1/moderation/instance-blocks/${made.body.id}`);
  const again = await api('POST', '/api/v1/moderation/instance-blocks', { token: admin.token, body: { host, reason: 'again' } });
  assert.equal(again.status, 409, again.text);

  const list = await api('GET', '/api/v1/moderation/instance-blocks', { token: moderator.token });
  assert.equal(list.status, 200, list.text);
  const { removed, ...shown } = made.body;
  assert.deepEqual(list.body.items.find((b) => b.id === made.body.id), shown, 'listed as made, without what it removed');
  const log = await api('GET', '/api/v1/moderation/log', { token: moderator.token });
  const entry = log.body.items.find((a) => a.action === 'block_instance' && a.subject.label === host);
  assert.ok(entry, 'the block is in the moderation log');
  assert.equal(entry.subject.kind, 'instance');
  assert.equal(entry.subject.id, made.body.id);
  assert.equal(entry.moderator.id, admin.id);

  const byModerator = await api('DELETE', `/api/v1/moderation/instance-blocks/${made.body.id}`, { token: moderator.token });
  assert.equal(byModerator.status, 403, byModerator.text);
  const lifted = await api('DELETE', `/api/v1/moderation/instance-blocks/${made.body.id}`, { token: admin.token });
  assert.equal(lifted.status, 204, lifted.text);
  assert.equal(blocks(), 0);
  assert.equal((await api('DELETE', `/api/v1/moderation/instance-blocks/${made.body.id}`, { token: admin.token })).status, 404);
  const after = await api('GET', '/api/v1/moderation/log', { token: moderator.token });
  assert.ok(after.body.items.some((a) => a.action === 'unblock_instance' && a.subject.label === host));

  // this instance's own host is not blocked
  const own = await api('POST', '/api/v1/moderation/instance-blocks', { token: admin.token,
    body: { host: new URL(BASE).host, reason: 'self' } });
  assert.ok([201, 422].includes(own.status), own.text);
  if (own.status === 201) {
    // without PUBLIC_URL the daemon does not know its own name: lift it at once
    assert.equal((await api('DELETE', `/api/v1/moderation/instance-blocks/${own.body.id}`, { token: admin.token })).status, 204);
  }
});

test('a block removes what the instance and its subdomains had here, and nothing of other hosts', async () => {
  const admin = await withRole('administrator');
  const owner = await newUser('Blocked world owner');
  const purpose = await api('POST', '/api/v1/purposes', { token: owner.token,
    body: { name: unique('Block purpose'), description: 'For the block tests.' } });
  const org = await api('POST', '/api/v1/organisations', { token: owner.token, body: {
    name: unique('Block Org'), purpose_statement: 'Be followed.', purposes: [purpose.body.slug],
    legal_form: 'informal', governance: 'other' } });
  assert.equal(org.status, 201, org.text);
  const orgId = sql(`SELECT id FROM organisations WHERE slug = '${org.body.slug}'`)[0][0];
  const host = `${unique('bad')}.example`;
  const main = remoteWorld(host, orgId, owner.id);
  const sub = remoteWorld(`social.${host}:8443`, orgId, owner.id);
  const other = remoteWorld(`not-${host}`, orgId, owner.id);
  const made = await api('POST', '/api/v1/moderation/instance-blocks', { token: admin.token, body: { host, reason: 'Abuse.' } });
  assert.equal(made.status, 201, made.text);
  assert.deepEqual(made.body.removed, { followers: 2, follows: 2, engagements: 2 });
  assert.deepEqual(left(main), [0, 0, 0]);
  assert.deepEqual(left(sub), [0, 0, 0]);
  assert.deepEqual(left(other), [1, 1, 1], 'another host keeps what it had');
  const [[details]] = sql(`SELECT details::text FROM moderation_actions WHERE action = 'block_instance' AND subject_id = ${made.body.id}`);
  assert.deepEqual(JSON.parse(details).removed, made.body.removed);
});

test('a blocked instance\'s inbox POST is refused with 403 before its key is fetched', async () => {
  const admin = await withRole('administrator');
  const host = `${unique('blocked')}.invalid`;
  const actor = `https://${host}/actor`;
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const send = () => {
    const body = JSON.stringify({ '@context': AS, id: `${actor}#f-${Date.now()}`, type: 'Follow', actor, object: actor });
    const date = new Date().toUTCString();
    const digest = `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
    const text = `(request-target): post /inbox\nhost: ${new URL(BASE).host}\ndate: ${date}\ndigest: ${digest}`;
    const signature = createSign('sha256').update(text).sign(privateKey, 'base64');
    return api('POST', '/inbox', { raw: body, headers: { 'Content-Type': 'application/activity+json', Date: date, Digest: digest,
      Signature: `keyId="${actor}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"` } });
  };
  // not blocked: the key is looked for (the host does not exist: 401)
  const before = await send();
  assert.equal(before.status, 401, before.text);
  assert.match(before.body.detail, /could not be had/);
  const made = await api('POST', '/api/v1/moderation/instance-blocks', { token: admin.token, body: { host, reason: 'Abuse.' } });
  assert.equal(made.status, 201, made.text);
  const refused = await send();
  assert.equal(refused.status, 403, refused.text);
  assert.equal(refused.body.type, 'https://purposed.dev/problems/forbidden');
  assert.match(refused.body.detail, new RegExp(host.replace(/\./g, '\\.')));
  // the following is not kept either
  assert.equal(sql(`SELECT count(*) FROM remote_actors WHERE uri = '${actor}'`)[0][0], '0');
  await api('DELETE', `/api/v1/moderation/instance-blocks/${made.body.id}`, { token: admin.token });
  assert.equal((await send()).status, 401, 'lifted: looked for again');
});

test('an actor whose key is kept here is refused (403) once its instance is blocked', async () => {
  const admin = await withRole('administrator');
  const host = `${unique('kept')}.invalid`;
  const actor = `https://${host}/actor`;
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' });
  sql(`INSERT INTO remote_actors (uri, type, inbox, key_id, public_pem) VALUES ('${actor}', 'Person', '${actor}/inbox',
    '${actor}#main-key', '${pem}')`);
  const send = () => {
    const body = JSON.stringify({ '@context': AS, id: `${actor}#like-${Date.now()}`, type: 'Like', actor, object: actor });
    const date = new Date().toUTCString();
    const digest = `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
    const text = `(request-target): post /inbox\nhost: ${new URL(BASE).host}\ndate: ${date}\ndigest: ${digest}`;
    const signature = createSign('sha256').update(text).sign(privateKey, 'base64');
    return api('POST', '/inbox', { raw: body, headers: { 'Content-Type': 'application/activity+json', Date: date, Digest: digest,
      Signature: `keyId="${actor}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"` } });
  };
  // the kept key verifies without a fetch (its host does not exist)
  const taken = await send();
  assert.equal(taken.status, 202, taken.text);
  const made = await api('POST', '/api/v1/moderation/instance-blocks', { token: admin.token, body: { host, reason: 'Abuse.' } });
  assert.equal(made.status, 201, made.text);
  const refused = await send();
  assert.equal(refused.status, 403, refused.text);
  assert.match(refused.body.detail, /takes no activities from/);
  await api('DELETE', `/api/v1/moderation/instance-blocks/${made.body.id}`, { token: admin.token });
});

test('POST /moderation/actions names the route for the instance words', async () => {
  const moderator = await withRole('moderator');
  const r = await api('POST', '/api/v1/moderation/actions', { token: moderator.token,
    body: { action: 'block_instance', kind: 'organisation', target: 'x', reason: 'r' } });
  assert.equal(r.status, 422, r.text);
  assert.match(JSON.stringify(r.body.errors), /instance-blocks/);
});
