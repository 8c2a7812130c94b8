// federation on one instance (docs/federation.md): what the inboxes refuse
// before anything is stored. A request signed with the organisation's own
// key (read from the database) is taken; the same request without a
// signature, with a signature by another key, or with a Digest of another
// body is a 401 "bad-signature". The exchange between two instances is
// tests/federation/two-instances.test.mjs.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, createSign, generateKeyPairSync } from 'node:crypto';
import { api, BASE, newUser, sql, unique, until } from './helpers.mjs';

const AS = 'https://www.w3.org/ns/activitystreams';
let slug, actor;

before(async () => {
  const owner = await newUser('Inbox Owner');
  const purpose = await api('POST', '/api/v1/purposes', { token: owner.token,
    body: { name: unique('Inbox purpose'), description: 'For the inbox tests.' } });
  assert.equal(purpose.status, 201, purpose.text);
  const org = await api('POST', '/api/v1/organisations', { token: owner.token, body: {
    name: unique('Inbox Org'), purpose_statement: 'Take activities.', purposes: [purpose.body.slug],
    legal_form: 'informal', governance: 'other' } });
  assert.equal(org.status, 201, org.text);
  slug = org.body.slug;
  // the actor's key is made at its first read
  const doc = await api('GET', `/organisations/${slug}`, { headers: { Accept: 'application/activity+json' } });
  assert.equal(doc.status, 200, doc.text);
  actor = doc.body.id;
});

const host = new URL(BASE).host;

function signedHeaders(path, body, privateKey, { keyId = `${actor}#main-key`, digestOf = body } = {}) {
  const date = new Date().toUTCString();
  const digest = `SHA-256=${createHash('sha256').update(digestOf).digest('base64')}`;
  const text = `(request-target): post ${path}\nhost: ${host}\ndate: ${date}\ndigest: ${digest}`;
  const signature = createSign('sha256').update(text).sign(privateKey, 'base64');
  return { 'Content-Type': 'application/activity+json', Date: date, Digest: digest,
    Signature: `keyId="${keyId}",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"` };
}

// one line per row from psql: the PEM's line ends travel as '|'
const ownKey = () => sql(`SELECT replace(k.private_pem, chr(10), '|') FROM ap_keys k
  JOIN organisations o ON o.id = k.actor_id WHERE k.actor_kind = 'organisation' AND o.slug = '${slug}'`)[0][0]
  .replaceAll('|', '\n');

// an activity the instance takes and does nothing with
const like = () => JSON.stringify({ '@context': AS, id: `${actor}#like-${Date.now()}`, type: 'Like', actor, object: actor });

test('an activity signed with its actor key is taken (202)', async () => {
  const body = like();
  const r = await api('POST', '/inbox', { raw: body, headers: signedHeaders('/inbox', body, ownKey()) });
  assert.equal(r.status, 202, r.text);
  const path = `/ap/organisations/${slug}/inbox`;
  const own = await api('POST', path, { raw: body, headers: signedHeaders(path, body, ownKey()) });
  assert.equal(own.status, 202, own.text);
});

test('an inbox refuses an unsigned activity: 401 bad-signature', async () => {
  const r = await api('POST', '/inbox', { raw: like(), headers: { 'Content-Type': 'application/activity+json' } });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.body.type, 'https://purposed.dev/problems/bad-signature');
});

test('a signature by another key than the actor\'s is refused', async () => {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const body = like();
  const r = await api('POST', '/inbox', { raw: body, headers: signedHeaders('/inbox', body, privateKey) });
  assert.equal(r.status, 401, r.text);
  assert.equal(r.body.type, 'https://purposed.dev/problems/bad-signature');
});

test('the Digest must be the body\'s, even under a valid signature', async () => {
  const body = like();
  const r = await api('POST', '/inbox', { raw: body,
    headers: signedHeaders('/inbox', body, ownKey(), { digestOf: like() + ' ' }) });
  assert.equal(r.status, 401, r.text);
  assert.match(r.body.detail, /Digest/);
});

test('an activity whose actor is not the signer is refused with 403', async () => {
  const body = JSON.stringify({ '@context': AS, type: 'Like', actor: 'https://elsewhere.example/actor', object: actor });
  const r = await api('POST', '/inbox', { raw: body, headers: signedHeaders('/inbox', body, ownKey()) });
  assert.equal(r.status, 403, r.text);
});

test('an activity nested too deep is refused with 400, one over the body limit with 413', async () => {
  let deep = '1';
  for (let i = 0; i < 40; i++) deep = `[${deep}]`;
  const body = JSON.stringify({ '@context': AS, type: 'Like', actor, object: 'x' }).replace('"x"', deep);
  const r = await api('POST', '/inbox', { raw: body, headers: signedHeaders('/inbox', body, ownKey()) });
  assert.equal(r.status, 400, r.text);
  const big = JSON.stringify({ type: 'Like', actor, content: 'x'.repeat(300 * 1024) });
  const large = await api('POST', '/inbox', { raw: big, headers: signedHeaders('/inbox', big, ownKey()) });
  assert.equal(large.status, 413);
});

// RFC 9421 with the actor's RSA key (rsa-v1_5-sha256, as Fedify-based servers send)
function rfc9421Headers(path, body, privateKey, { digestOf = body } = {}) {
  const digest = `sha-256=:${createHash('sha256').update(digestOf).digest('base64')}:`;
  const params = `("@method" "@target-uri" "content-digest");created=${Math.floor(Date.now() / 1000)}` +
    `;keyid="${actor}#main-key";alg="rsa-v1_5-sha256"`;
  const base = `"@method": POST\n"@target-uri": ${BASE}${path}\n"content-digest": ${digest}\n"@signature-params": ${params}`;
  const signature = createSign('sha256').update(base).sign(privateKey, 'base64');
  return { 'Content-Type': 'application/activity+json', 'Content-Digest': digest,
    'Signature-Input': `sig1=${params}`, Signature: `sig1=:${signature}:` };
}

test('RFC 9421 signatures are verified too: taken when valid, 401 when the body is not the signed one', async () => {
  const body = like();
  const ok = await api('POST', '/inbox', { raw: body, headers: rfc9421Headers('/inbox', body, ownKey()) });
  assert.equal(ok.status, 202, ok.text);
  const other = await api('POST', '/inbox', { raw: body, headers: rfc9421Headers('/inbox', body, ownKey(), { digestOf: like() + ' ' }) });
  assert.equal(other.status, 401, other.text);
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const forged = await api('POST', '/inbox', { raw: body, headers: rfc9421Headers('/inbox', body, privateKey) });
  assert.equal(forged.status, 401, forged.text);
});

// Issue 21: a post costs the same whatever the number of remote followers.
// The posting transaction writes one 'federate' job, never a row per remote
// inbox; a worker then writes one 'deliver' per inbox (a shared inbox once).
test('a post writes one federate job in its transaction; a worker writes a delivery per remote inbox', async () => {
  const run = unique('fan').toLowerCase();
  const [[orgId]] = sql(`SELECT id FROM organisations WHERE slug = '${slug}'`);
  // three remote followers: two on one instance behind its shared inbox, one alone
  sql(`WITH a AS (INSERT INTO remote_actors (uri, type, inbox, shared_inbox) VALUES
         ('http://127.0.0.1:9/${run}/a1', 'Person', 'http://127.0.0.1:9/${run}/a1/inbox', 'http://127.0.0.1:9/${run}/inbox'),
         ('http://127.0.0.1:9/${run}/a2', 'Person', 'http://127.0.0.1:9/${run}/a2/inbox', 'http://127.0.0.1:9/${run}/inbox'),
         ('http://127.0.0.2:9/${run}/b1', 'Person', 'http://127.0.0.2:9/${run}/b1/inbox', NULL) RETURNING id)
       INSERT INTO remote_followers (organisation_id, actor_id, follow_uri)
         SELECT ${orgId}, id, 'http://127.0.0.1:9/${run}/follow/' || id FROM a`);
  try {
    // an engagement inserted as the daemon's post inserts it (the trigger is the same)
    const [[id]] = sql(`INSERT INTO engagements (organisation_id, title, description, hours_per_week, packagings)
                        VALUES (${orgId}, 'Fan ${run}', 'Fan-out test', 2, '{volunteer}') RETURNING id`);
    // what its transaction wrote: the jobs made at its now()
    const written = sql(`SELECT kind, count(*) FROM jobs WHERE payload->>'engagement_id' = '${id}' AND kind IN ('federate', 'deliver')
                         AND created_at = (SELECT created_at FROM engagements WHERE id = ${id}) GROUP BY kind`);
    assert.deepEqual(written, [['federate', '1']], 'the posting transaction wrote one federate job and no delivery');
    const inboxes = await until('the worker writes the deliveries', () => {
      const rows = sql(`SELECT payload->>'inbox' FROM jobs WHERE kind = 'deliver' AND payload->>'engagement_id' = '${id}' ORDER BY 1`);
      return rows.length >= 2 ? rows.map(([x]) => x) : null;
    });
    assert.deepEqual(inboxes, [`http://127.0.0.1:9/${run}/inbox`, `http://127.0.0.2:9/${run}/b1/inbox`]);
  } finally {
    sql(`DELETE FROM remote_actors WHERE uri LIKE 'http://127.0.0.%:9/${run}/%'`);
    sql(`DELETE FROM jobs WHERE kind = 'deliver' AND payload->>'inbox' LIKE '%/${run}/%'`);
  }
});
