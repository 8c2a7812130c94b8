// credentials-history: the tamper-evident history (lib/chain.h, migration
// 0026). Every entry of an agreement's record and every charter version is a
// link of a SHA-256 chain over JCS; GET …/proof shows the chain with its
// head signed by the instance. The verifier here (credentials-world.mjs:
// npm canonicalize, node:crypto) recomputes it from the document alone; a
// row edited in SQL behind the daemon's back breaks the chain at its link,
// and a record rewritten with every hash recomputed no longer ends in the
// head the credential named when it was issued.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';
import { api, newUser, sql, startDaemon, unique } from './helpers.mjs';
import { independentVerify, verifyChain, world } from './credentials-world.mjs';

const proof = (who, id) => api('GET', `/api/v1/agreements/${id}/proof`, { token: who.token });
// an edit behind the daemon's back: the append-only triggers are off for it
const behindTheBack = (statement) => sql(`SET session_replication_role = replica; ${statement}`);

test('the record of an agreement is a hash chain anyone can check from its proof document', async () => {
  const w = await world();
  await w.conclude();
  let r = await proof(w.outsider, w.id);
  assert.equal(r.status, 404, 'the history is the parties\'');
  r = await proof(w.member, w.id);
  assert.equal(r.status, 200, r.text);
  const doc = r.body;
  assert.equal(doc.chain, 'agreement');
  assert.equal(doc.subject, w.id);
  assert.equal(doc.hash_algorithm, 'SHA-256');
  assert.deepEqual(doc.links.map((l) => [l.seq, l.kind, l.entry]),
    [[1, 'terms_version', '1'], [2, 'version_outcome', '1'], [3, 'closure', 'agent'], [4, 'closure', 'organisation']]);
  assert.equal(doc.links[0].content.role, 'Pump engineer');
  assert.equal(doc.links[0].content.hours_per_week, 8);
  assert.equal(doc.links[0].previous_hash, null);
  assert.equal(doc.links[1].previous_hash, doc.links[0].hash);
  assert.equal(doc.verified, true);
  assert.equal(doc.first_broken, null);
  assert.deepEqual(doc.head, { seq: 4, hash: doc.links[3].hash });

  // outside: the chain recomputes, and the head is signed by the instance's key
  const outside = verifyChain(doc);
  assert.equal(outside.ok, true, JSON.stringify(outside));
  assert.equal(outside.head, doc.head.hash);
  assert.equal(doc.signed_head.hash, doc.head.hash);
  assert.equal(doc.signed_head.seq, 4);
  assert.equal(doc.signed_head.verified, true);
  assert.deepEqual(await independentVerify(doc.signed_head), { ok: true, why: '' });
  const forged = { ...doc.signed_head, hash: doc.links[2].hash };
  assert.equal((await independentVerify(forged)).why, 'signature');

  // the credential names the head it was issued on
  r = await api('POST', `/api/v1/agreements/${w.id}/credential`, { token: w.agent.token });
  assert.equal(r.status, 201, r.text);
  const [evidence] = r.body.evidence;
  assert.deepEqual(evidence.type, ['Evidence']);
  assert.ok(evidence.id.endsWith(`/api/v1/agreements/${w.id}/proof#${doc.head.hash}`), evidence.id);
  assert.deepEqual(await independentVerify(r.body), { ok: true, why: '' });
});

test('a row changed in SQL is detected, and the first broken link is named', async () => {
  const w = await world();
  await w.conclude();
  behindTheBack(`UPDATE agreement_closures SET note = 'they never came' WHERE agreement_id = ${w.id} AND side = 'organisation'`);
  let r = await proof(w.agent, w.id);
  assert.equal(r.status, 200);
  assert.equal(r.body.verified, false);
  assert.equal(r.body.first_broken.seq, 4);
  assert.equal(r.body.first_broken.kind, 'closure');
  assert.match(r.body.first_broken.reason, /changed/);
  assert.deepEqual(verifyChain(r.body), { ok: false, seq: 4, why: 'content' });
  // no credential vouches for a record that does not verify
  r = await api('POST', `/api/v1/agreements/${w.id}/credential`, { token: w.agent.token });
  assert.equal(r.status, 409, r.text);
  assert.match(r.body.detail, /history does not verify.*link 4/);

  // an earlier edit is the first one named
  behindTheBack(`UPDATE agreement_versions SET hours_per_week = 40 WHERE agreement_id = ${w.id} AND version = 1`);
  r = await proof(w.agent, w.id);
  assert.deepEqual([r.body.first_broken.seq, r.body.first_broken.kind], [1, 'terms_version']);
  assert.deepEqual(verifyChain(r.body), { ok: false, seq: 1, why: 'content' });
});

test('a changed link, a removed link, an entry written around the daemon: each breaks the chain', async () => {
  const w = await world();
  await w.conclude();
  const links = `FROM history_links WHERE chain = 'agreement' AND subject_id = ${w.id}`;
  // a stored hash changed
  behindTheBack(`UPDATE history_links SET content_hash = sha256('x') WHERE chain = 'agreement' AND subject_id = ${w.id} AND seq = 2`);
  let r = await proof(w.agent, w.id);
  assert.equal(r.body.first_broken.seq, 2);
  assert.match(r.body.first_broken.reason, /not what was hashed/);
  assert.equal(verifyChain(r.body).seq, 2);

  // a link removed: the next one no longer follows
  const w2 = await world();
  await w2.conclude();
  behindTheBack(`DELETE FROM history_links WHERE chain = 'agreement' AND subject_id = ${w2.id} AND seq = 3`);
  r = await proof(w2.agent, w2.id);
  assert.equal(r.body.verified, false);
  assert.equal(r.body.first_broken.seq, 4);
  assert.match(r.body.first_broken.reason, /missing/);
  assert.equal(verifyChain(r.body).ok, false);
  assert.ok(sql(`SELECT count(*) ${links}`)[0][0] === '4', 'the other agreement is untouched');

  // an entry inserted in SQL has no link: the record says more than the chain
  const w3 = await world();
  sql(`INSERT INTO agreement_closures (agreement_id, side, commitments_kept, note, closed_by)
       SELECT ${w3.id}, 'agent', false, 'slipped in', account_id FROM agents g
       JOIN agreements a ON a.agent_id = g.id WHERE a.id = ${w3.id}`);
  r = await proof(w3.agent, w3.id);
  assert.equal(r.body.verified, false);
  assert.deepEqual([r.body.first_broken.seq, r.body.first_broken.kind, r.body.first_broken.entry], [null, 'closure', 'agent']);
  assert.match(r.body.first_broken.reason, /no link/);
  assert.equal(r.body.links.length, 2, 'the unlinked entry is not a link');
});

test('a record rewritten with every hash recomputed still verifies alone, but not against the credential', async () => {
  const w = await world();
  await w.conclude();
  const vc = (await api('POST', `/api/v1/agreements/${w.id}/credential`, { token: w.agent.token })).body;
  const issuedHead = vc.evidence[0].id.split('#')[1];

  // the attacker has the database, not the key: rewrite the terms and re-hash the whole chain
  behindTheBack(`UPDATE agreement_versions SET hours_per_week = 40 WHERE agreement_id = ${w.id} AND version = 1`);
  let doc = (await proof(w.agent, w.id)).body;
  const hex = (v) => createHash('sha256').update(canonicalize(v), 'utf8').digest('hex');
  let previous = null;
  for (const link of doc.links) {
    const contentHash = hex(link.content);
    const header = { chain: 'agreement', subject: w.id, seq: link.seq, kind: link.kind, entry: link.entry,
      content_hash: contentHash, previous_hash: previous };
    const hash = hex(header);
    behindTheBack(`UPDATE history_links SET content_hash = decode('${contentHash}', 'hex'),
      previous_hash = ${previous ? `decode('${previous}', 'hex')` : 'NULL'}, hash = decode('${hash}', 'hex')
      WHERE chain = 'agreement' AND subject_id = ${w.id} AND seq = ${link.seq}`);
    previous = hash;
  }
  doc = (await proof(w.agent, w.id)).body;
  assert.equal(doc.verified, true, 'a consistent rewrite is a consistent chain');
  assert.equal(verifyChain(doc).ok, true);
  // but the signed credential named the head of the record as it was
  assert.notEqual(doc.head.hash, issuedHead);
  assert.deepEqual(await independentVerify(vc), { ok: true, why: '' }, 'the credential itself is intact');
});

test('charter versions are chained per organisation', async () => {
  const owner = await newUser('Chana Charter');
  const outsider = await newUser('Otto');
  let r = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: unique('Charters'), description: 'x' } });
  const purpose = r.body.slug;
  r = await api('POST', '/api/v1/organisations', { token: owner.token, body: {
    name: unique('Chained Org'), purpose_statement: 'First words', purposes: [purpose], legal_form: 'cooperative', governance: 'sociocracy' } });
  assert.equal(r.status, 201, r.text);
  const slug = r.body.slug;
  r = await api('PATCH', `/api/v1/organisations/${slug}`, { token: owner.token, headers: { 'If-Match': `"${r.body.version}"` },
    body: { purpose_statement: 'Second words', change_note: 'clearer' } });
  assert.equal(r.status, 200, r.text);

  r = await api('GET', `/api/v1/organisations/${slug}/charter/proof`, { token: outsider.token });
  assert.equal(r.status, 403, r.text);
  r = await api('GET', `/api/v1/organisations/${slug}/charter/proof`, { token: owner.token });
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.links.map((l) => [l.seq, l.kind, l.entry, l.content.purpose_statement]),
    [[1, 'charter_version', '1', 'First words'], [2, 'charter_version', '2', 'Second words']]);
  assert.equal(verifyChain(r.body).ok, true);
  assert.deepEqual(await independentVerify(r.body.signed_head), { ok: true, why: '' });

  const [[orgId]] = sql(`SELECT id FROM organisations WHERE slug = '${slug}'`);
  behindTheBack(`UPDATE organisation_charters SET purpose_statement = 'Other words' WHERE organisation_id = ${orgId} AND version = 1`);
  r = await api('GET', `/api/v1/organisations/${slug}/charter/proof`, { token: owner.token });
  assert.equal(r.body.verified, false);
  assert.equal(r.body.first_broken.seq, 1);
  assert.deepEqual(verifyChain(r.body), { ok: false, seq: 1, why: 'content' });
});

test('records without a single link (from before the chain, or loaded with SQL) are linked when a daemon starts', async () => {
  const w = await world();
  await w.conclude();
  const w2 = await world();
  await w2.conclude();
  // as if written before migration 0026: no links at all for w; w2 keeps three of four
  behindTheBack(`DELETE FROM history_links WHERE chain = 'agreement' AND subject_id = ${w.id}`);
  behindTheBack(`DELETE FROM history_links WHERE chain = 'agreement' AND subject_id = ${w2.id} AND seq = 4`);
  let r = await proof(w.agent, w.id);
  assert.deepEqual([r.body.links.length, r.body.verified], [0, false]);
  const b = await startDaemon();
  try {
    assert.match(b.log(), /history_chain_linked/);
    r = await proof(w.agent, w.id);
    assert.equal(r.body.verified, true, JSON.stringify(r.body.first_broken));
    assert.equal(r.body.links.length, 4);
    assert.equal(verifyChain(r.body).ok, true);
    // a record that has links keeps its unlinked entry visible: a start launders nothing
    r = await proof(w2.agent, w2.id);
    assert.equal(r.body.verified, false);
    assert.deepEqual([r.body.first_broken.seq, r.body.first_broken.kind], [null, 'closure']);
  } finally {
    await b.stop();
  }
});
