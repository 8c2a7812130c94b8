// credentials-world: what the credentials tests share: the independent
// verifier (node:crypto's Ed25519 and SHA-256, npm `canonicalize`; none of
// the daemon's code), for credentials and for the hash-chained history, and
// a concluded agreement to issue from.
import assert from 'node:assert/strict';
import { createHash, createPublicKey, verify as edVerify } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import canonicalize from 'canonicalize';
import { addMember, api, newUser, unique } from './helpers.mjs';

export const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

// ---------- the independent verifier ----------

export const B58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
export function base58btc(text) {
  let n = 0n;
  for (const c of text) {
    const d = B58.indexOf(c);
    if (d < 0) throw new Error(`not base58: ${c}`);
    n = n * 58n + BigInt(d);
  }
  const bytes = [];
  while (n > 0n) { bytes.unshift(Number(n & 0xffn)); n >>= 8n; }
  for (const c of text) { if (c !== '1') break; bytes.unshift(0); }
  return Buffer.from(bytes);
}
export const sha256 = (text) => createHash('sha256').update(text, 'utf8').digest();
const ED25519_SPKI = Buffer.from('302a300506032b6570032100', 'hex');

export async function didDocument(did) {
  // did:web:host%3Aport -> http(s)://host:port/.well-known/did.json; the tests reach it at BASE
  assert.match(did, /^did:web:/);
  const res = await fetch(new URL('/.well-known/did.json', process.env.BASE_URL ?? 'http://127.0.0.1:8080'));
  const doc = await res.json();
  assert.equal(doc.id, did);
  return doc;
}

// eddsa-jcs-2022 as vc-di-eddsa specifies it: {ok, why}
export async function independentVerify(vc) {
  const { proof, ...unsecured } = vc;
  if (!proof || proof.type !== 'DataIntegrityProof' || proof.cryptosuite !== 'eddsa-jcs-2022')
    return { ok: false, why: 'proof' };
  const did = proof.verificationMethod.split('#')[0];
  const doc = await didDocument(did);
  const method = doc.verificationMethod.find((m) => m.id === proof.verificationMethod);
  if (!method || !doc.assertionMethod.includes(method.id)) return { ok: false, why: 'unknown key' };
  const multikey = base58btc(method.publicKeyMultibase.slice(1));
  assert.deepEqual([...multikey.subarray(0, 2)], [0xed, 0x01]);
  const key = createPublicKey({ key: Buffer.concat([ED25519_SPKI, multikey.subarray(2)]), format: 'der', type: 'spki' });
  const { proofValue, ...config } = proof;
  const data = Buffer.concat([sha256(canonicalize(config)), sha256(canonicalize(unsecured))]);
  if (!edVerify(null, data, key, base58btc(proofValue.slice(1)))) return { ok: false, why: 'signature' };
  // the status list credential: itself signed, then the bit
  const entry = vc.credentialStatus;
  if (entry?.type === 'BitstringStatusListEntry') {
    const list = await (await fetch(entry.statusListCredential)).json();
    const listCheck = await independentVerify(list);
    if (!listCheck.ok) return { ok: false, why: `status list ${listCheck.why}` };
    const bits = gunzipSync(Buffer.from(list.credentialSubject.encodedList.slice(1), 'base64url'));
    const i = Number(entry.statusListIndex);
    if ((bits[i >> 3] >> (7 - (i & 7))) & 1) return { ok: false, why: 'revoked' };
  }
  return { ok: true, why: '' };
}

// ---------- a concluded agreement ----------

export async function world({ orgKept = true } = {}) {
  const owner = await newUser('Olga Owner');
  const member = await newUser('Max Member');
  const agent = await newUser('Ada Agent');
  const outsider = await newUser('Otto Outsider');
  let r = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: unique('Clean water'), description: 'for tests' } });
  assert.equal(r.status, 201, r.text);
  const purpose = r.body.slug;
  const orgName = unique('Water Org');
  r = await api('POST', '/api/v1/organisations', { token: owner.token, body: {
    name: orgName, purpose_statement: 'Water for all', purposes: [purpose], legal_form: 'cooperative', governance: 'sociocracy' } });
  assert.equal(r.status, 201, r.text);
  const org = r.body.slug;
  await addMember(owner, org, member);
  const handle = unique('ada');
  r = await api('PUT', '/api/v1/me/agent', { token: agent.token, body: {
    handle, headline: 'Engineer', personal_purpose: 'Water', skills: ['pumps'], capacity_hours_per_week: 20,
    packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true } });
  assert.equal(r.status, 200, r.text);
  r = await api('POST', '/api/v1/agreements', { token: agent.token, body: {
    organisation: org, agent: handle, role: 'Pump engineer', purposes: [purpose], packaging: 'volunteer',
    hours_per_week: 8, terms: 'Two days a month.', rewards: { cash: null, non_cash: ['learning'] }, starts_on: day(-30) } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  r = await api('POST', `/api/v1/agreements/${id}/accept`, { token: member.token });
  assert.equal(r.status, 200, r.text);
  return { owner, member, agent, outsider, org, orgName, handle, id, purpose,
    conclude: async () => {
      let c = await api('POST', `/api/v1/agreements/${id}/conclude`, { token: agent.token, body: { commitments_kept: true, note: 'good' } });
      assert.equal(c.status, 200, c.text);
      c = await api('POST', `/api/v1/agreements/${id}/conclude`, { token: owner.token, body: { commitments_kept: orgKept, note: 'thanks' } });
      assert.equal(c.status, 200, c.text);
    } };
}

// The hash-chained history as lib/chain.h defines it, checked from the
// document alone: {ok, seq, why}. seq is the first link that fails.
const hex = (text) => createHash('sha256').update(text, 'utf8').digest('hex');
export function verifyChain(doc) {
  let previous = null;
  for (const [i, link] of doc.links.entries()) {
    const fail = (why) => ({ ok: false, seq: link.seq, why });
    if (link.seq !== i + 1) return fail('seq');
    if (link.content === null) return fail('gone');
    if (hex(canonicalize(link.content)) !== link.content_hash) return fail('content');
    if (link.previous_hash !== previous) return fail('previous');
    const header = { chain: doc.chain, subject: doc.subject, seq: link.seq, kind: link.kind, entry: link.entry,
      content_hash: link.content_hash, previous_hash: link.previous_hash };
    if (hex(canonicalize(header)) !== link.hash) return fail('hash');
    previous = link.hash;
  }
  return { ok: true, seq: null, why: '', head: previous };
}
