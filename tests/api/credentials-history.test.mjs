// credentials-history: the tamper-evident history (lib/chain.h, migrations
// 0026 and 0031). Every entry of an agreement's record (terms, outcomes,
// closures, messages, hours and their answers) and every charter version is a
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
import { day, independentVerify, verifyChain, world } from './credentials-world.mjs';

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

// What accumulates under an agreement in force: two messages, hours
// confirmed and hours disputed. The ids of what it wrote.
async function threads(w) {
  const say = async (who, body) => {
    const r = await api('POST', `/api/v1/agreements/${w.id}/messages`, { token: who.token, body: { body } });
    assert.equal(r.status, 201, r.text);
    return r.body.id;
  };
  const log = async (hours) => {
    const r = await api('POST', `/api/v1/agreements/${w.id}/hours`, { token: w.agent.token,
      body: { worked_on: day(-3), hours, note: `${hours} at the pump` } });
    assert.equal(r.status, 201, r.text);
    return r.body.id;
  };
  const answer = async (entry, how, note) => {
    const r = await api('POST', `/api/v1/agreements/${w.id}/hours/${entry}/${how}`, { token: w.member.token, body: { note } });
    assert.equal(r.status, 200, r.text);
  };
  // each write is linked by itself, before any other write on the agreement
  const linked = async (kind, entry) => {
    const r = await proof(w.agent, w.id);
    assert.equal(r.body.verified, true, JSON.stringify(r.body.first_broken));
    assert.deepEqual([r.body.links.at(-1).kind, r.body.links.at(-1).entry], [kind, String(entry)]);
  };
  const messages = [await say(w.agent, 'The pump is fixed.')];
  await linked('message', messages[0]);
  messages.push(await say(w.member, 'Thank you!'));
  const kept = await log(2.5);
  await linked('hours_entry', kept);
  await answer(kept, 'confirm', 'yes');
  await linked('hours_decision', kept);
  const wrong = await log(1.25);
  await answer(wrong, 'dispute', 'that was another day');
  const third = await log(4);
  await answer(third, 'confirm', 'yes');
  return { messages, kept, wrong, third };
}

test('every message, hours entry and answer is a link, made with the write itself', async () => {
  const w = await world();
  const t = await threads(w);
  // before any other write on the agreement: each write linked what it wrote
  let r = await proof(w.agent, w.id);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verified, true, JSON.stringify(r.body.first_broken));
  assert.deepEqual(r.body.links.map((l) => [l.seq, l.kind, l.entry]), [
    [1, 'terms_version', '1'], [2, 'version_outcome', '1'],
    [3, 'message', String(t.messages[0])], [4, 'message', String(t.messages[1])],
    [5, 'hours_entry', String(t.kept)], [6, 'hours_decision', String(t.kept)],
    [7, 'hours_entry', String(t.wrong)], [8, 'hours_decision', String(t.wrong)],
    [9, 'hours_entry', String(t.third)], [10, 'hours_decision', String(t.third)]]);
  const [, , m1, , h1, d1] = r.body.links;
  assert.equal(m1.content.body, 'The pump is fixed.');
  assert.equal(m1.content.side, 'agent');
  assert.deepEqual([h1.content.hours, h1.content.worked_on, h1.content.note], ['2.50', day(-3), '2.5 at the pump']);
  assert.deepEqual([d1.content.outcome, d1.content.side, d1.content.entry], ['confirmed', 'organisation', t.kept]);
  assert.equal(r.body.links[7].content.outcome, 'disputed');
  assert.deepEqual(verifyChain(r.body), { ok: true, seq: null, why: '', head: r.body.head.hash });
  assert.deepEqual(await independentVerify(r.body.signed_head), { ok: true, why: '' });
  assert.equal(r.body.signed_head.seq, 10);

  // the credential states the hours confirmed (2.5 + 4; the disputed 1.25 is not), on the head with them
  await w.conclude();
  r = await proof(w.agent, w.id);
  assert.equal(r.body.head.seq, 12);
  const head = r.body.head.hash;
  r = await api('POST', `/api/v1/agreements/${w.id}/credential`, { token: w.agent.token });
  assert.equal(r.status, 201, r.text);
  const achievement = r.body.credentialSubject.achievement;
  assert.match(achievement.description, /\. 6\.5 hours given, each entry confirmed by the side that did not log it\.$/);
  assert.ok(r.body.evidence[0].id.endsWith(`#${head}`));
  assert.deepEqual(await independentVerify(r.body), { ok: true, why: '' });

  // without confirmed hours the credential says nothing of hours
  const w2 = await world();
  r = await api('POST', `/api/v1/agreements/${w2.id}/hours`, { token: w2.agent.token, body: { worked_on: day(-1), hours: 3 } });
  assert.equal(r.status, 201, r.text);
  await w2.conclude();
  r = await api('POST', `/api/v1/agreements/${w2.id}/credential`, { token: w2.agent.token });
  assert.equal(r.status, 201, r.text);
  assert.doesNotMatch(r.body.credentialSubject.achievement.description, /hours given/);
});

test('a message or hours row changed in SQL breaks the chain at its link, named by the daemon and outside', async () => {
  const w = await world();
  const t = await threads(w);
  await w.conclude();
  const named = async (seq, kind, entry) => {
    const r = await proof(w.agent, w.id);
    assert.equal(r.status, 200, r.text);
    assert.equal(r.body.verified, false);
    assert.deepEqual([r.body.first_broken.seq, r.body.first_broken.kind, r.body.first_broken.entry], [seq, kind, String(entry)]);
    assert.match(r.body.first_broken.reason, /changed/);
    assert.deepEqual(verifyChain(r.body), { ok: false, seq, why: 'content' });
    // the instance signs the head as it finds it: not verified
    assert.equal(r.body.signed_head.verified, false);
    assert.deepEqual(await independentVerify(r.body.signed_head), { ok: true, why: '' });
  };
  // a dispute turned into a confirmation
  behindTheBack(`UPDATE agreement_hours_decisions SET outcome = 'confirmed' WHERE entry_id = ${t.wrong}`);
  await named(8, 'hours_decision', t.wrong);
  // more hours than were given: the earlier link is the first broken one
  behindTheBack(`UPDATE agreement_hours SET hours = 20 WHERE id = ${t.kept}`);
  await named(5, 'hours_entry', t.kept);
  // what was said, rewritten
  behindTheBack(`UPDATE agreement_messages SET body = 'The pump is broken.' WHERE id = ${t.messages[0]}`);
  await named(3, 'message', t.messages[0]);
  const r = await api('POST', `/api/v1/agreements/${w.id}/credential`, { token: w.agent.token });
  assert.equal(r.status, 409, r.text);
  assert.match(r.body.detail, /link 3 \(message \d+\)/);

  // a message written around the daemon has no link
  const w2 = await world();
  sql(`INSERT INTO agreement_messages (agreement_id, side, author_id, body)
       SELECT ${w2.id}, 'agent', g.account_id, 'slipped in' FROM agents g JOIN agreements a ON a.agent_id = g.id WHERE a.id = ${w2.id}`);
  const r2 = await proof(w2.agent, w2.id);
  assert.equal(r2.body.verified, false);
  assert.deepEqual([r2.body.first_broken.seq, r2.body.first_broken.kind], [null, 'message']);
  assert.match(r2.body.first_broken.reason, /no link/);
});

test('messages and hours written before they were chained (0031) are linked when a daemon starts', async () => {
  const w = await world();
  const t = await threads(w);
  const [[applied]] = sql(`SELECT applied_at FROM schema_migrations WHERE name = '0031_history_threads.sql'`);
  // as if written before migration 0031: the agreement keeps its other links
  behindTheBack(`DELETE FROM history_links WHERE chain = 'agreement' AND subject_id = ${w.id} AND seq > 2`);
  sql(`UPDATE schema_migrations SET applied_at = now() WHERE name = '0031_history_threads.sql'`);
  try {
    let r = await proof(w.agent, w.id);
    assert.deepEqual([r.body.links.length, r.body.verified], [2, false]);
    const b = await startDaemon();
    try {
      r = await proof(w.agent, w.id);
      assert.equal(r.body.verified, true, JSON.stringify(r.body.first_broken));
      assert.deepEqual(r.body.links.slice(2).map((l) => [l.kind, l.entry]).sort(),
        [['hours_decision', String(t.kept)], ['hours_decision', String(t.third)], ['hours_decision', String(t.wrong)],
         ['hours_entry', String(t.kept)], ['hours_entry', String(t.third)], ['hours_entry', String(t.wrong)],
         ['message', String(t.messages[0])], ['message', String(t.messages[1])]].sort());
      assert.equal(verifyChain(r.body).ok, true);
    } finally {
      await b.stop();
    }
  } finally {
    sql(`UPDATE schema_migrations SET applied_at = '${applied}' WHERE name = '0031_history_threads.sql'`);
  }
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
