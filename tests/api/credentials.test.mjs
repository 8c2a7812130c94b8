// credentials: Open Badges 3.0 credentials for concluded agreements, checked
// by a verifier written here with libraries nobody in this project wrote:
// node:crypto's Ed25519 and SHA-256, and npm `canonicalize` (RFC 8785) —
// none of the daemon's code. It reads the key from /.well-known/did.json,
// the revocation bit from the status list credential (gunzip with node:zlib),
// and must accept what the daemon issues and reject one changed byte, a
// revoked credential and a credential signed by a key the instance never had.
// Also: the daemon's own verification names the failing check; `purposed jcs`
// agrees with `canonicalize` on random documents; `purposed keys rotate`
// keeps old credentials verifiable.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync, sign as edSign, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import canonicalize from 'canonicalize';
import { api } from './helpers.mjs';
import { B58, day, didDocument, independentVerify, sha256, world } from './credentials-world.mjs';

const ask = (who, id) => api('POST', `/api/v1/agreements/${id}/credential`, { token: who.token });
const verify = (vc) => api('POST', '/api/v1/credentials/verify', { body: vc });
const failing = (res) => res.body.checks.filter((c) => !c.ok).map((c) => c.check);

test('a concluded agreement with commitments kept gives the agent a credential an outside verifier accepts', async () => {
  const w = await world();
  let r = await ask(w.agent, w.id);
  assert.equal(r.status, 409, 'not concluded yet');
  await w.conclude();
  r = await ask(w.member, w.id);
  assert.equal(r.status, 403, 'the organisation does not ask for the agent');
  r = await ask(w.outsider, w.id);
  assert.equal(r.status, 404, 'a stranger sees nothing');

  r = await ask(w.agent, w.id);
  assert.equal(r.status, 201, r.text);
  const vc = r.body;
  assert.match(r.headers.get('location'), /^\/api\/v1\/credentials\/[0-9a-f-]{36}$/);
  assert.deepEqual(vc.type, ['VerifiableCredential', 'OpenBadgeCredential']);
  assert.equal(vc['@context'][0], 'https://www.w3.org/ns/credentials/v2');
  assert.equal(vc.issuer.name, w.orgName);
  assert.match(vc.issuer.id, new RegExp(`/organisations/${w.org}$`));
  assert.match(vc.credentialSubject.id, new RegExp(`/agents/${w.handle}$`));
  assert.equal(vc.credentialSubject.achievement.name, 'Pump engineer');
  assert.match(vc.credentialSubject.achievement.criteria.narrative, /commitments were kept/);
  assert.match(vc.credentialSubject.achievement.description, /8 hours a week/);
  assert.equal(vc.credentialSubject.achievement.tag.length, 1);
  assert.equal(vc.credentialSubject.activityStartDate, `${day(-30)}T00:00:00Z`);
  assert.match(vc.validFrom, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.equal(vc.credentialStatus.type, 'BitstringStatusListEntry');
  assert.equal(vc.proof.cryptosuite, 'eddsa-jcs-2022');
  assert.match(vc.proof.verificationMethod, /^did:web:.+#key-\d+$/);

  // the independent verifier accepts it; the daemon agrees, check by check
  assert.deepEqual(await independentVerify(vc), { ok: true, why: '' });
  r = await verify(vc);
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.verified, true, JSON.stringify(r.body.checks));
  assert.deepEqual(r.body.checks.map((c) => c.check), ['proof', 'key', 'signature', 'issued', 'status', 'dates']);
  r = await verify({ verifiableCredential: vc });
  assert.equal(r.body.verified, true);

  // asking again gives the same credential
  r = await ask(w.agent, w.id);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, vc);
});

test('one changed byte, a foreign key, a missing proof: the verifiers refuse and name why', async () => {
  const w = await world();
  await w.conclude();
  const vc = (await ask(w.agent, w.id)).body;

  const tampered = structuredClone(vc);
  tampered.credentialSubject.achievement.name = 'Pump engineeR';
  assert.equal((await independentVerify(tampered)).why, 'signature');
  let r = await verify(tampered);
  assert.equal(r.body.verified, false);
  assert.deepEqual(failing(r), ['signature']);

  const redated = structuredClone(vc);
  redated.validFrom = '2020-01-01T00:00:00Z';
  r = await verify(redated);
  assert.deepEqual(failing(r), ['signature']);

  // signed properly, by a key this instance never had
  const foreign = structuredClone(vc);
  const { privateKey } = generateKeyPairSync('ed25519');
  foreign.proof.verificationMethod = foreign.proof.verificationMethod.replace(/#key-\d+$/, '#key-999999');
  const { proof, ...unsecured } = foreign;
  const { proofValue, ...config } = proof;
  const sig = edSign(null, Buffer.concat([sha256(canonicalize(config)), sha256(canonicalize(unsecured))]), privateKey);
  let n = BigInt('0x' + sig.toString('hex')), text = '';
  while (n > 0n) { text = B58[Number(n % 58n)] + text; n /= 58n; }
  foreign.proof.proofValue = 'z' + text;
  assert.equal((await independentVerify(foreign)).why, 'unknown key');
  r = await verify(foreign);
  assert.deepEqual(failing(r), ['key', 'signature']);

  const bare = structuredClone(vc);
  delete bare.proof;
  r = await verify(bare);
  assert.equal(r.body.verified, false);
  assert.ok(failing(r).includes('proof'));
});

test('revocation by the organisation flips the status bit; both verifiers say revoked', async () => {
  const w = await world();
  await w.conclude();
  const vc = (await ask(w.agent, w.id)).body;
  const uuid = vc.id.split('/').pop();
  const revoke = (who, body) => api('POST', `/api/v1/organisations/${w.org}/credentials/${uuid}/revoke`, { token: who.token, body });

  let r = await revoke(w.agent, { reason: 'x' });
  assert.equal(r.status, 403, 'the agent is not a member');
  r = await revoke(w.owner, {});
  assert.equal(r.status, 422);
  r = await api('GET', `/api/v1/organisations/${w.org}/credentials`, { token: w.member.token });
  assert.equal(r.status, 200);
  assert.equal(r.body.items[0].id, uuid);
  assert.equal(r.body.items[0].revocation, null);

  r = await revoke(w.member, { reason: 'The hours were never confirmed.' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.revocation.reason, 'The hours were never confirmed.');
  r = await revoke(w.owner, { reason: 'again' });
  assert.equal(r.status, 409);

  assert.deepEqual(await independentVerify(vc), { ok: false, why: 'revoked' });
  r = await verify(vc);
  assert.equal(r.body.verified, false);
  assert.deepEqual(failing(r), ['status']);
  assert.match(r.body.checks.find((c) => c.check === 'status').detail, /never confirmed/);
});

test('no credential when the organisation says commitments were not kept', async () => {
  const w = await world({ orgKept: false });
  await w.conclude();
  const r = await ask(w.agent, w.id);
  assert.equal(r.status, 409);
  assert.match(r.body.detail, /commitments/);
});

test('the agent chooses what is published; the export holds every credential', async () => {
  const w = await world();
  await w.conclude();
  const vc = (await ask(w.agent, w.id)).body;
  const uuid = vc.id.split('/').pop();
  let r = await api('GET', `/api/v1/agents/${w.handle}/credentials`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.items, []);
  r = await api('GET', `/api/v1/credentials/${uuid}`, { token: w.outsider.token });
  assert.equal(r.status, 404, 'not published yet');
  r = await api('GET', `/api/v1/credentials/${uuid}`, { token: w.agent.token });
  assert.equal(r.status, 200);

  r = await api('PUT', `/api/v1/me/credentials/${uuid}/publication`, { token: w.outsider.token, body: { published: true } });
  assert.equal(r.status, 404, 'not theirs');
  r = await api('PUT', `/api/v1/me/credentials/${uuid}/publication`, { token: w.agent.token, body: { published: 'yes' } });
  assert.equal(r.status, 422);
  r = await api('PUT', `/api/v1/me/credentials/${uuid}/publication`, { token: w.agent.token, body: { published: true } });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.body.published, true);

  r = await api('GET', `/api/v1/agents/${w.handle}/credentials`);
  assert.equal(r.body.items.length, 1);
  assert.deepEqual(r.body.items[0].credential, vc);
  assert.equal(r.body.items[0].revoked, false);
  r = await api('GET', `/api/v1/credentials/${uuid}`);
  assert.equal(r.status, 200);
  assert.deepEqual(r.body, vc);

  r = await api('GET', '/api/v1/me/credentials', { token: w.agent.token });
  assert.equal(r.body.items.length, 1);
  r = await api('GET', '/api/v1/me/export', { token: w.agent.token });
  assert.equal(r.status, 200);
  assert.deepEqual(r.body.credentials.map((c) => c.credential), [vc]);
});

test('credential lists are pages: limit, a cursor to the next, null on the last', async () => {
  const w = await world();
  await w.conclude();
  const first = (await ask(w.agent, w.id)).body;
  // a second agreement between the same two, concluded the same way
  let r = await api('POST', '/api/v1/agreements', { token: w.agent.token, body: {
    organisation: w.org, agent: w.handle, role: 'Well digger', purposes: [w.purpose], packaging: 'volunteer',
    hours_per_week: 4, terms: 'Weekends.', rewards: { cash: null, non_cash: [] }, starts_on: day(-10) } });
  assert.equal(r.status, 201, r.text);
  const id2 = r.body.id;
  assert.equal((await api('POST', `/api/v1/agreements/${id2}/accept`, { token: w.member.token })).status, 200);
  for (const who of [w.agent, w.owner])
    assert.equal((await api('POST', `/api/v1/agreements/${id2}/conclude`, { token: who.token, body: { commitments_kept: true } })).status, 200);
  const second = (await ask(w.agent, id2)).body;
  for (const vc of [first, second]) {
    r = await api('PUT', `/api/v1/me/credentials/${vc.id.split('/').pop()}/publication`, { token: w.agent.token, body: { published: true } });
    assert.equal(r.status, 200, r.text);
  }
  const lists = [['/api/v1/me/credentials', w.agent], [`/api/v1/organisations/${w.org}/credentials`, w.member],
    [`/api/v1/agents/${w.handle}/credentials`, w.outsider]];
  for (const [path, who] of lists) {
    r = await api('GET', `${path}?limit=1`, { token: who.token });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.items.map((c) => c.credential.id), [second.id], path);
    assert.equal(typeof r.body.next_cursor, 'string', path);
    r = await api('GET', `${path}?limit=1&cursor=${encodeURIComponent(r.body.next_cursor)}`, { token: who.token });
    assert.equal(r.status, 200, r.text);
    assert.deepEqual(r.body.items.map((c) => c.credential.id), [first.id], path);
    assert.equal(r.body.next_cursor, null, `${path}: the last page`);
    r = await api('GET', `${path}?cursor=forged`, { token: who.token });
    assert.equal(r.status, 400, path);
  }
});

test('rotation: the new key signs, the old one stays published and its credentials still verify', async () => {
  const w1 = await world();
  await w1.conclude();
  const before = (await ask(w1.agent, w1.id)).body;
  const out = execFileSync(process.env.PURPOSED_BIN, ['keys', 'rotate'], { encoding: 'utf8', env: process.env });
  const [fragment] = out.trim().split(' ');
  assert.match(fragment, /^key-\d+$/);
  const did = before.proof.verificationMethod.split('#')[0];
  const doc = await didDocument(did);
  assert.ok(doc.verificationMethod.some((m) => m.id === `${did}#${fragment}`));
  assert.ok(doc.verificationMethod.some((m) => m.id === before.proof.verificationMethod));

  const w2 = await world();
  await w2.conclude();
  const after = (await ask(w2.agent, w2.id)).body;
  assert.equal(after.proof.verificationMethod, `${did}#${fragment}`);
  assert.deepEqual(await independentVerify(before), { ok: true, why: '' });
  assert.deepEqual(await independentVerify(after), { ok: true, why: '' });
  assert.equal((await verify(before)).body.verified, true);
});

test('purposed jcs writes what npm canonicalize writes', () => {
  const chars = ['a', 'é', '€', '😀', '\u0000', '\u001f', '"', '\\', '\n', 'דּ', '\u0080', '/', ' '];
  // (jansson holds no NUL in a member name: names are drawn without it)
  const name = () => word().replaceAll('\u0000', '0');
  const word = () => Array.from({ length: 1 + Math.floor(Math.random() * 6) }, () => chars[Math.floor(Math.random() * chars.length)]).join('');
  const number = () => {
    for (;;) {
      const d = randomBytes(8).readDoubleLE(0);
      // finite, and not an integer literal past 2^53 (JCS refuses those)
      if (Number.isFinite(d) && !(Number.isInteger(d) && Math.abs(d) > 2 ** 53 && Math.abs(d) < 1e21)) return d;
    }
  };
  const value = (depth) => {
    const k = Math.floor(Math.random() * (depth > 2 ? 4 : 6));
    if (k === 0) return number();
    if (k === 1) return word();
    if (k === 2) return [true, false, null][Math.floor(Math.random() * 3)];
    if (k === 3) return Math.floor(Math.random() * 2000) - 1000;
    if (k === 4) return Array.from({ length: Math.floor(Math.random() * 4) }, () => value(depth + 1));
    return Object.fromEntries(Array.from({ length: Math.floor(Math.random() * 5) }, () => [name(), value(depth + 1)]));
  };
  for (let i = 0; i < 300; i++) {
    const doc = { numbers: Array.from({ length: 20 }, number), v: value(0), [name()]: word() };
    const input = JSON.stringify(doc);
    const ours = execFileSync(process.env.PURPOSED_BIN, ['jcs'], { input, encoding: 'utf8' });
    assert.equal(ours, canonicalize(doc), input);
  }
  // an integer JCS cannot carry exactly is refused, not rounded
  assert.throws(() => execFileSync(process.env.PURPOSED_BIN, ['jcs'], { input: '[9007199254740993]', stdio: 'pipe' }));
});
