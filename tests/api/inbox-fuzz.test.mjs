// Issue 22: inbox bodies are untrusted input. A seeded mutational fuzz of
// what the inboxes do with an activity whose signature is VALID, so every
// case reaches the handlers (server/handlers/activitypub.c, lib/fed_remote.c,
// lib/fed_agreements.c, lib/federation.c); the signature parsers themselves
// are fuzzed by tests/fuzz/fuzz_httpsig.c.
//
// Two remote actors are served by a small HTTP server in this process (the
// daemon fetches their keys: FETCH_ALLOW_PRIVATE): a Group this instance
// follows and a Person agent. From well-formed activities of every kind the
// inboxes take (Follow, Undo{Follow}, Accept, Reject, Create/Update/Delete
// of a Page or Note, Update of the Group, Offer/Accept/Reject/Undo/Update of
// an agreement), each case removes or replaces fields, swaps nested objects,
// reuses ids, grows arrays to thousands of items, writes numbers and dates
// out of range, control characters, invalid UTF-8 and odd IRIs; it is signed
// correctly (draft-cavage rsa-sha256, one in five RFC 9421) and sent to the
// shared inbox or an actor's. Every answer must be one of the declared
// statuses (never a 500 or a dropped connection), a problem when >= 400; at
// the end the daemon (started by this file, to read its log) is ready, its
// job workers have run what the cases queued, and it stops cleanly with no
// sanitizer report. The seed is printed; FUZZ_SEED=n replays a run,
// FUZZ_CASES=n changes the number of cases.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { createHash, createPublicKey, createSign, generateKeyPairSync } from 'node:crypto';
import { api, newUser, sql, startDaemon, unique, until } from './helpers.mjs';

const AS = 'https://www.w3.org/ns/activitystreams';
const PUBLIC = `${AS}#Public`;
const SEED = Number(process.env.FUZZ_SEED ?? 22022);
const CASES = Number(process.env.FUZZ_CASES ?? 500);
const DECLARED = new Set([202, 400, 401, 403, 404, 409, 413, 415, 422, 429]);

// mulberry32: the same seed, the same cases
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6D2B79F5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let d, peer, peerBase, base, slug, orgUri, engagementUri, agentHandle, purpose;
const keys = {};
const actors = {};

before(async () => {
  // the remote instance: two actors with their keys, nothing else (the
  // charter and outbox the remote_organisation job asks for are 404: its
  // error is recorded, the job retried)
  for (const k of ['group', 'agent']) keys[k] = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const pem = (k) => createPublicPem(keys[k]);
  peer = createServer((req, res) => {
    const path = req.url.split('?')[0];
    const who = path === '/groups/river' ? 'group' : path === '/agents/bea' ? 'agent' : null;
    if (req.method === 'POST') { req.resume(); res.writeHead(202).end(); return; }
    if (path === '/groups/river/charter' || path === '/groups/river/outbox') {
      // what the remote_organisation job fetches, mutated as the activities are
      res.writeHead(200, { 'Content-Type': 'application/activity+json' });
      res.end(peerDocument(path.endsWith('charter')));
      return;
    }
    if (!who) { res.writeHead(404).end(); return; }
    const id = peerBase + path;
    res.writeHead(200, { 'Content-Type': 'application/activity+json' });
    res.end(JSON.stringify({ '@context': AS, id, type: who === 'group' ? 'Group' : 'Person',
      preferredUsername: who === 'group' ? 'river' : 'bea', name: who === 'group' ? 'River keepers' : 'Bea',
      inbox: `${id}/inbox`, outbox: `${id}/outbox`, endpoints: { sharedInbox: `${peerBase}/inbox` },
      ...(who === 'group' ? { charter: `${id}/charter` } : {}),
      publicKey: { id: `${id}#main-key`, owner: id, publicKeyPem: pem(who) } }));
  });
  await new Promise((r) => peer.listen(0, '127.0.0.1', r));
  peerBase = `http://127.0.0.1:${peer.address().port}`;
  actors.group = `${peerBase}/groups/river`;
  actors.agent = `${peerBase}/agents/bea`;

  // the per-instance inbox limit (300 a minute) would answer most cases 429
  // and a PUBLIC_URL, without which no Offer names an organisation of this instance
  d = await startDaemon({ FETCH_ALLOW_PRIVATE: '1', JOB_POLL_MS: '100', FEDERATION_INBOX_PER_MINUTE: '1000000',
    PUBLIC_URL: 'http://fuzz.purposed.test' });
  base = d.base;
  const owner = await newUser('Fuzz Owner');
  const p = await api('POST', '/api/v1/purposes', { token: owner.token,
    body: { name: unique('Fuzz purpose'), description: 'For the inbox fuzz.' } });
  assert.equal(p.status, 201, p.text);
  purpose = p.body.slug;
  const org = await api('POST', '/api/v1/organisations', { token: owner.token, body: {
    name: unique('Fuzz Org'), purpose_statement: 'Take activities.', purposes: [purpose],
    legal_form: 'informal', governance: 'other' } });
  assert.equal(org.status, 201, org.text);
  slug = org.body.slug;
  const eng = await api('POST', `/api/v1/organisations/${slug}/engagements`, { token: owner.token,
    body: { title: 'Sampler', description: 'Take samples', purposes: [purpose], packagings: ['volunteer'],
      hours_per_week: 4, skills: [], remote_ok: true, rewards: { non_cash: [] } } });
  assert.equal(eng.status, 201, eng.text);
  const doc = await api('GET', `/organisations/${slug}`, { base, headers: { Accept: 'application/activity+json' } });
  assert.equal(doc.status, 200, doc.text);
  orgUri = doc.body.id;
  engagementUri = orgUri.replace(/\/organisations\/.*$/, `/engagements/${eng.body.id}`);
  agentHandle = unique('fuzzagent');
  const agent = await newUser('Fuzz Agent');
  const a = await api('PUT', '/api/v1/me/agent', { token: agent.token, body: { handle: agentHandle, headline: 'x',
    personal_purpose: 'x', skills: [], capacity_hours_per_week: 5, packagings: ['volunteer'], remote_ok: true,
    discoverable: true, show_track_record: false } });
  assert.equal(a.status, 200, a.text);

  // the group's key is fetched at its first activity; then this instance follows it
  const first = await send('/inbox', 'group', Buffer.from(JSON.stringify(like('group'))), 'cavage');
  assert.equal(first.status, 202, first.text);
  const agentFirst = await send('/inbox', 'agent', Buffer.from(JSON.stringify(like('agent'))), 'cavage');
  assert.equal(agentFirst.status, 202, agentFirst.text);
  sql(`INSERT INTO remote_follows (actor_id, follow_uri, state)
       SELECT id, uri || '#followed-by-fuzz', 'accepted' FROM remote_actors WHERE uri = '${actors.group}'
       ON CONFLICT DO NOTHING`);
});

after(async () => {
  await d?.stop();
  await new Promise((r) => peer?.close(r) ?? r());
});

function createPublicPem(privateKey) {
  return createPublicKey(privateKey).export({ type: 'spki', format: 'pem' });
}

const like = (who) => ({ '@context': AS, id: `${actors[who]}#like-${Date.now()}`, type: 'Like', actor: actors[who], object: orgUri });

function cavage(path, body, who) {
  const host = new URL(base).host;
  const date = new Date().toUTCString();
  const digest = `SHA-256=${createHash('sha256').update(body).digest('base64')}`;
  const text = `(request-target): post ${path}\nhost: ${host}\ndate: ${date}\ndigest: ${digest}`;
  const signature = createSign('sha256').update(text).sign(keys[who], 'base64');
  return { Date: date, Digest: digest,
    Signature: `keyId="${actors[who]}#main-key",algorithm="rsa-sha256",headers="(request-target) host date digest",signature="${signature}"` };
}

function rfc9421(path, body, who) {
  const digest = `sha-256=:${createHash('sha256').update(body).digest('base64')}:`;
  const params = `("@method" "@target-uri" "content-digest");created=${Math.floor(Date.now() / 1000)}` +
    `;keyid="${actors[who]}#main-key";alg="rsa-v1_5-sha256"`;
  const sigBase = `"@method": POST\n"@target-uri": ${new URL(orgUri ?? base).origin}${path}\n"content-digest": ${digest}\n"@signature-params": ${params}`;
  const signature = createSign('sha256').update(sigBase).sign(keys[who], 'base64');
  return { 'Content-Digest': digest, 'Signature-Input': `sig1=${params}`, Signature: `sig1=:${signature}:` };
}

// one signed POST; a dropped connection is a failure with the case named
async function send(path, who, body, scheme) {
  const headers = { 'Content-Type': 'application/activity+json',
    ...(scheme === 'rfc9421' ? rfc9421(path, body, who) : cavage(path, body, who)) };
  const res = await fetch(base + path, { method: 'POST', headers, body });
  const text = await res.text();
  return { status: res.status, type: res.headers.get('content-type'), text };
}

// ---------- the well-formed activities ----------

let agreementSeq = 0;
function page(n, type = 'Page') {
  return { id: `${actors.group}/engagements/${n}`, type, name: `River sampler ${n}`,
    content: '<p>Take water samples weekly.</p><p>Training given.</p>', mediaType: 'text/html',
    url: `${peerBase}/engagements/${n}`, attributedTo: actors.group, to: [PUBLIC],
    cc: [`${actors.group}/followers`], tag: [{ type: 'Hashtag', name: 'sampling' }],
    published: '2026-12-07T04:00:00Z', updated: '2026-12-07T04:05:00Z', hoursPerWeek: 4, remoteOk: false,
    packagings: ['volunteer'], engagementStatus: 'open', purpose: 'offer',
    purposes: [{ slug: purpose, name: 'Fuzz purpose' }], location: { type: 'Place', name: 'Lyon' },
    durationWeeks: 12, closesOn: '2027-01-31',
    rewards: { cash: { min: 10, max: 20, currency: 'EUR', period: 'hour' }, nonCash: ['learning'] } };
}
function agreement(action, { status = 'proposed', n = agreementSeq, record } = {}) {
  const id = `${actors.agent}/agreements/${n}`;
  const at = '2026-12-07T11:53:25.460992Z';
  const terms = { kind: 'terms_version', entry: '1', content: { agreement: id, version: 1, role: 'Sampler',
    packaging: 'volunteer', hours_per_week: 4, terms: 'Weekly samples.', rewards: { cash: null, non_cash: ['learning'] },
    starts_on: '2027-01-04', review_on: null, change_note: null, proposed_by: 'agent', author: actors.agent,
    purposes: [purpose], at } };
  const outcome = (o) => ({ kind: 'version_outcome', entry: '1', content: { agreement: id, version: 1, outcome: o,
    side: 'agent', decided_by: actors.agent, at } });
  const records = { propose: [terms], accept: [outcome('accepted')], decline: [outcome('declined')],
    withdraw: [outcome('withdrawn')], amend: [{ ...terms, entry: '2', content: { ...terms.content, version: 2, proposed_by: 'agent' } }],
    conclude: [{ kind: 'closure', entry: 'agent', content: { agreement: id, side: 'agent', commitments_kept: true,
      note: 'Done.', closed_by: actors.agent, at } }] };
  return { id, type: 'Agreement', name: 'Sampler', content: 'Weekly samples.',
    stipulates: { type: 'Commitment', satisfies: engagementUri,
      resourceQuantity: { hasUnit: 'hour', hasNumericalValue: 4 } },
    'purposed:action': action, 'purposed:status': status, 'purposed:agent': actors.agent,
    'purposed:organisation': orgUri, 'purposed:engagement': engagementUri,
    'purposed:termsVersion': action === 'amend' ? 2 : 1, 'purposed:activeVersion': status === 'active' ? 1 : null,
    'purposed:record': record ?? records[action],
    'purposed:chainHead': { seq: 1, hash: createHash('sha256').update(`${id}/${action}`).digest('hex') } };
}
const AGREEMENT_CONTEXT = [AS, { purposed: 'https://purposed.dev/ns#', vf: 'https://w3id.org/valueflows/ont/vf#',
  Agreement: 'vf:Agreement', Commitment: 'vf:Commitment', stipulates: 'vf:stipulates' }];
const act = (who, type, object, extra = {}) => ({ '@context': AS, id: `${actors[who]}#${type}-${unique('a')}`,
  type, actor: actors[who], object, ...extra });
const agreed = (type, action, opts) => ({ ...act('agent', type, agreement(action, opts), { to: [orgUri] }),
  '@context': AGREEMENT_CONTEXT, id: `${actors.agent}/agreements/${opts?.n ?? agreementSeq}#${action}/${unique('s')}` });

// every kind the inboxes take, well formed (the seed corpus)
const seeds = [
  () => act('group', 'Follow', orgUri),
  () => act('agent', 'Follow', orgUri),
  () => act('group', 'Undo', act('group', 'Follow', orgUri)),
  () => act('group', 'Accept', act('group', 'Follow', actors.group)),
  () => act('group', 'Reject', act('group', 'Follow', actors.group)),
  () => act('group', 'Create', page(1 + (agreementSeq % 7)), { to: [PUBLIC] }),
  () => act('group', 'Create', page(100 + (agreementSeq % 3), 'Note'), { to: [PUBLIC] }),
  () => act('group', 'Update', { ...page(1 + (agreementSeq % 7)), engagementStatus: 'paused' }, { to: [PUBLIC] }),
  () => act('group', 'Delete', { id: `${actors.group}/engagements/${1 + (agreementSeq % 7)}`, type: 'Tombstone', formerType: 'Page' }),
  () => act('group', 'Delete', `${actors.group}/engagements/${1 + (agreementSeq % 7)}`),
  () => act('group', 'Update', { id: actors.group, type: 'Group' }, { to: [PUBLIC] }),
  () => agreed('Offer', 'propose', { n: ++agreementSeq }),
  () => agreed('Accept', 'accept', { status: 'active' }),
  () => agreed('Reject', 'decline', { status: 'declined' }),
  () => agreed('Undo', 'withdraw', { status: 'withdrawn' }),
  () => agreed('Update', 'amend', { status: 'proposed' }),
  () => agreed('Update', 'conclude', { status: 'concluded' }),
];

// ---------- the mutations ----------

// raw JSON text the serialiser cannot write: each stands in the tree as a
// marker string and replaces it in the bytes
const RAW = ['-0', '1e308', '-1e308', '1e999', '123456789012345678901234567890', '0.0000000001e-400',
  '"\\u0000"', '"\\ud800"', '"\\udc00x"', '"a\\u0000b"', '"\u0001\u001f\u007f"', '"\\uDBFF\\uDFFF"', 'BYTES_FF'];
const ODD_IRIS = ['http://169.254.169.254/latest/meta-data', 'http://[::1]/x', 'http://localhost:0/', 'http://10.0.0.1/a',
  'https://a..b/', 'javascript:alert(1)', 'ftp://x.example/', '//no-scheme', 'http://', 'https://' + 'h'.repeat(300) + '.example/',
  'http://127.0.0.1:1/actor', 'http://user:pw@127.0.0.1/', 'http://xn--80ak6aa92e.com/', 'http://[fe80::1%25eth0]/', ''];
const TYPES = ['Follow', 'Undo', 'Accept', 'Reject', 'Create', 'Update', 'Delete', 'Offer', 'Like', 'Announce', 'Page',
  'Note', 'Group', 'Organization', 'Person', 'Tombstone', 'Agreement', 'Commitment', '', 'follow', 'X'.repeat(300)];
const NUMBERS = [0, -1, -0.5, 1e9, 2147483648, -2147483649, 9007199254740993, 1e308, -1e308, 169, 10000, 3.5];
const DATES = ['2026-02-30', '2026-13-01', '0000-00-00', '99999-01-01', '2026-02-29T25:61:00Z', '2026-12-07T04:00:00+99:00',
  '-2026-01-01', 'yesterday', '1970-01-01T00:00:00Z', '2026-12-07T04:00:00.' + '9'.repeat(40) + 'Z'];

function paths(v, at = [], out = []) {
  out.push(at);
  if (v && typeof v === 'object') for (const k of Object.keys(v)) paths(v[k], [...at, k], out);
  return out;
}
const getAt = (v, p) => p.reduce((o, k) => (o == null ? undefined : o[k]), v);
function setAt(root, p, value) {
  if (!p.length) return value;
  const parent = getAt(root, p.slice(0, -1));
  if (parent && typeof parent === 'object') parent[p[p.length - 1]] = value;
  return root;
}

function mutate(rand, tree, used, raws) {
  const pick = (xs) => xs[Math.floor(rand() * xs.length)];
  const all = paths(tree);
  const p = pick(all.length > 1 ? all.slice(1) : all);
  const kind = pick(['remove', 'null', 'number', 'bool', 'array', 'object', 'huge', 'control', 'raw', 'iri', 'type',
    'reuse', 'swap', 'thousands', 'range', 'date', 'string']);
  const marker = (text) => { raws.push(text); return `\u0000RAW${raws.length - 1}\u0000`; };
  switch (kind) {
    case 'remove': {
      const parent = getAt(tree, p.slice(0, -1));
      if (Array.isArray(parent)) parent.splice(Number(p[p.length - 1]), 1);
      else if (parent) delete parent[p[p.length - 1]];
      return tree;
    }
    case 'null': return setAt(tree, p, null);
    case 'number': return setAt(tree, p, pick(NUMBERS));
    case 'bool': return setAt(tree, p, rand() < 0.5);
    case 'array': return setAt(tree, p, pick([[], [getAt(tree, p)], [null, 1, 'x', {}], [[[[]]]]]));
    case 'object': return setAt(tree, p, pick([{}, { id: getAt(tree, p) }, { type: 'Object' }, { id: null, type: [] }]));
    case 'huge': return setAt(tree, p, pick(['x', 'é', '<p>', '\\']).repeat(2000 + Math.floor(rand() * 60000)));
    case 'control': return setAt(tree, p, 'a\u0000b\u0001\u0008\u001b[31m\r\n\u2028\u2029\ufeff' + String(getAt(tree, p)));
    case 'raw': return setAt(tree, p, marker(pick(RAW)));
    case 'iri': return setAt(tree, p, pick(ODD_IRIS));
    case 'type': return setAt(tree, [...p.slice(0, -1), 'type'], pick(TYPES));
    case 'reuse': return setAt(tree, [...p.slice(0, -1), 'id'], used.length ? pick(used) : orgUri);
    case 'swap': return setAt(tree, p, JSON.parse(JSON.stringify(pick(seeds)().object)));
    case 'thousands': {
      // distinct items (a later mutation of one changes one), within the body limit
      const n = 1000 + Math.floor(rand() * 4000);
      const item = pick(['x', 0, null, { type: 'Hashtag', name: 'skill' }, { slug: purpose }, orgUri, []]);
      return setAt(tree, p, Array.from({ length: n }, (_, i) => (typeof item === 'string' ? `${item}${i % 10}` : structuredClone(item))));
    }
    case 'range': return setAt(tree, p, pick([...NUMBERS, marker(pick(['-0', '1e308', '1e999', '-1e999']))]));
    case 'date': return setAt(tree, p, pick(DATES));
    default: return setAt(tree, p, pick(['', ' ', 'open', 'closed', 'paused', 'volunteer', 'nope', '#', orgUri, actors.group, actors.agent]));
  }
}

// the bytes of a tree with its markers replaced (invalid UTF-8 for BYTES_FF)
function bytes(tree, raws) {
  let text = JSON.stringify(tree);
  const parts = [];
  let last = 0;
  for (const m of text.matchAll(/"\\u0000RAW(\d+)\\u0000"/g)) {
    parts.push(Buffer.from(text.slice(last, m.index)));
    const raw = raws[Number(m[1])];
    parts.push(raw === 'BYTES_FF' ? Buffer.from([0x22, 0xff, 0xfe, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0x22]) : Buffer.from(raw));
    last = m.index + m[0].length;
  }
  parts.push(Buffer.from(text.slice(last)));
  text = null;
  return Buffer.concat(parts);
}

// the group's charter and outbox, as the remote_organisation job fetches
// them after an Update of the Group: well formed at first, then mutated
const peerRand = prng(SEED + 1);
let peerServed = 0;
function peerDocument(charter) {
  const id = `${actors.group}/${charter ? 'charter' : 'outbox'}`;
  const items = charter
    ? [2, 1].map((v) => ({ id: `${id}/${v}`, type: 'Note', version: v, purposeStatement: `Rivers, version ${v}.`,
      associationNorms: 'Be kind.', changeNote: v > 1 ? 'Clearer.' : null, published: `2026-12-0${v}T10:00:00Z`, name: 'River keepers' }))
    : [1, 2].map((n) => act('group', 'Create', page(200 + n), { to: [PUBLIC] }));
  let tree = { '@context': AS, id, type: 'OrderedCollection', totalItems: items.length, orderedItems: items };
  const raws = [];
  const k = peerServed++ < 2 ? 0 : 1 + Math.floor(peerRand() * 3);
  for (let i = 0; i < k; i++) tree = mutate(peerRand, tree, [], raws);
  return bytes(tree, raws);
}

// cases a run once found a 500 or crash with: replayed first, every time
const regressions = () => [
  // a Follow whose id is longer than remote_followers.follow_uri holds (a CHECK violation: 500)
  { n: 'r1', label: 'Follow with a 1001-character id', who: 'agent', path: '/inbox', scheme: 'cavage',
    body: Buffer.from(JSON.stringify({ ...act('agent', 'Follow', orgUri), id: 'x'.repeat(1001) })) },
  // record entries whose values SQL cannot cast (22P02, 22007: a 500 each)
  ...[['hours_per_week', true], ['hours_per_week', 'four'], ['starts_on', 'nope'], ['starts_on', '2026-02-30'],
    ['version', 1e308], ['at', {}], ['at', 1e308], ['at', null], ['role', 2147483648], ['terms', 7]].map(([key, value], i) => {
    const offer = agreed('Offer', 'propose', { n: ++agreementSeq });
    offer.object['purposed:record'][0].content[key] = value;
    return { n: `r${2 + i}`, label: `Offer with ${key} ${JSON.stringify(value)}`, who: 'agent', path: '/inbox',
      scheme: 'cavage', body: Buffer.from(JSON.stringify(offer)) };
  }),
];

function inboxes() {
  return ['/inbox', '/actor/inbox', `/ap/organisations/${slug}/inbox`, `/ap/agents/${agentHandle}/inbox`];
}

// what is wrong with an answer, or null
function wrong(c, r) {
  const what = `case ${c.n} (seed ${SEED}): ${c.label} to ${c.path} (${c.scheme}) -> ${r.status} ${r.text.slice(0, 200)}\n` +
    `  body: ${c.body.subarray(0, 1500).toString()}`;
  if (!DECLARED.has(r.status)) return `an undeclared status: ${what}`;
  if (r.status < 400) return null;
  if (r.type !== 'application/problem+json') return `not a problem: ${what}`;
  let problem;
  try { problem = JSON.parse(r.text); } catch { return `not JSON: ${what}`; }
  return problem.status === r.status ? null : `the problem's status is not the answer's: ${what}`;
}

test('the well-formed activities reach the handlers and are taken', async () => {
  const page1 = act('group', 'Create', page(1), { to: [PUBLIC] });
  const r = await send('/inbox', 'group', Buffer.from(JSON.stringify(page1)), 'cavage');
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(sql(`SELECT title, hours_per_week FROM engagements WHERE origin_uri = '${page1.object.id}'`),
    [['River sampler 1', '4']], 'a Create of a Page from a followed group is kept');
  const follow = act('agent', 'Follow', orgUri);
  const f = await send(`/ap/organisations/${slug}/inbox`, 'agent', Buffer.from(JSON.stringify(follow)), 'rfc9421');
  assert.equal(f.status, 202, f.text);
  // an Offer goes as far as the chain: its record is written and linked, and
  // its head (made up here) is not the one this instance computes: 422, nothing kept
  const offer = agreed('Offer', 'propose', { n: ++agreementSeq });
  const o = await send('/inbox', 'agent', Buffer.from(JSON.stringify(offer)), 'cavage');
  assert.equal(o.status, 422, o.text);
  assert.match(JSON.parse(o.text).detail, /chain head/, 'the Offer was written and linked, then rolled back');
});

test(`${CASES} mutated activities, each signed, answer a declared status and never a 500`, async () => {
  console.log(`inbox fuzz: FUZZ_SEED=${SEED} FUZZ_CASES=${CASES}`);
  const rand = prng(SEED);
  const used = [];
  const counts = {};
  const t0 = Date.now();
  const cases = regressions();
  for (let n = 0; n < CASES; n++) {
    const s = Math.floor(rand() * seeds.length);
    const seed = structuredClone(seeds[s]()); // shared parts (the context) stay as they are
    const who = seed.actor === actors.agent ? 'agent' : 'group';
    const raws = [];
    used.push(seed.id); // before the mutations, which change the tree in place
    let tree = seed;
    const k = n < seeds.length ? 0 : 1 + Math.floor(rand() * 3);
    for (let i = 0; i < k; i++) tree = mutate(rand, tree, used, raws);
    let body = bytes(tree, raws);
    if (body.length > 250 * 1024) body = body.subarray(0, 250 * 1024); // a cut body is one more malformed case
    const ins = inboxes();
    cases.push({ n, label: `seed ${s} (${seed.type}) x${k}`, who, body,
      path: ins[Math.floor(rand() * ins.length)], scheme: rand() < 0.2 ? 'rfc9421' : 'cavage' });
  }
  const failures = [];
  for (const c of cases) {
    let r;
    try {
      r = await send(c.path, c.who, c.body, c.scheme);
    } catch (e) {
      failures.push(`case ${c.n} (seed ${SEED}): ${c.label}: the connection failed: ${e.cause?.message ?? e.message}\n` +
        `  body: ${c.body.subarray(0, 400).toString()}`);
      continue;
    }
    const bad = wrong(c, r);
    if (bad) failures.push(bad);
    counts[r.status] = (counts[r.status] ?? 0) + 1;
  }
  console.log(`inbox fuzz: ${cases.length} cases in ${Date.now() - t0} ms: ${JSON.stringify(counts)}`);
  assert.deepEqual(failures.slice(0, 10), [], `${failures.length} of ${cases.length} cases failed`);
  // the fuzz reached beyond the signature: most cases were taken or refused by a handler
  assert.ok((counts[401] ?? 0) < cases.length / 10, `too many signature refusals: ${JSON.stringify(counts)}`);
  assert.ok((counts[202] ?? 0) > cases.length / 10, `too few taken: ${JSON.stringify(counts)}`);
});

test('afterwards the daemon is ready, its workers ran the queued jobs, and it stops with no sanitizer report', async () => {
  const ready = await api('GET', '/readyz', { base });
  assert.equal(ready.status, 200, ready.text);
  // the jobs the cases queued (Accepts to deliver, the group to fetch again) are
  // run by the workers: none is left leased by a worker that died
  await until('the queued jobs to be run', () => {
    const [[n]] = sql(`SELECT count(*) FROM jobs WHERE kind IN ('deliver', 'remote_organisation')
                         AND state = 'queued' AND run_at <= now() AND created_at > now() - interval '10 minutes'`);
    return n === '0';
  }, 20000);
  const [[fetched]] = sql(`SELECT count(*) FROM jobs WHERE kind = 'remote_organisation'
    AND payload->>'actor_id' = (SELECT id::text FROM remote_actors WHERE uri = '${actors.group}') AND attempts > 0`);
  assert.ok(Number(fetched) > 0 && peerServed > 0, 'the Updates of the Group had the group fetched again');
  const stuck = sql(`SELECT id, kind FROM jobs WHERE state = 'running' AND lease_until < now()`);
  assert.deepEqual(stuck, [], 'a job whose worker died');
  const again = await api('GET', '/readyz', { base });
  assert.equal(again.status, 200, again.text);
  const { code } = await d.stop();
  assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
  assert.equal(code, 0, d.log().slice(-2000));
});
