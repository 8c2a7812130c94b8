// The words' index (lib/textindex.c, docs/search.md "The words' index"):
// the daemon answers an unfiltered search of open engagements from memory.
// Its answer must be PostgreSQL's, byte for byte: the same items, the same
// order, the same ranks in the same cursors. The oracle is a second daemon
// on the same database with SEARCH_INDEX=0, whose searches are the
// statements (q_search_open, q_search_open_words). Each query is asked of
// both, page after page; the index must have answered (its counter moves),
// or a daemon that quietly asked PostgreSQL would pass.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { api, metric, newUser, sql, startDaemon, unique, until, BASE } from './helpers.mjs';

let u;
let purpose;
let org;
let oracle;
const ids = [];

// A small language, so that words repeat within and across documents
// (positions, weights, several entries of one prefix), with accents and
// compound words.
const WORDS = ['river', 'rivers', 'riverbank', 'water', 'watershed', 'garden', 'gardening',
  'café', 'cafe', 'clean-up', 'clean', 'compost', 'composting', 'school', 'teaching',
  'teacher', 'solar', 'energy', 'bike', 'e-bikes', 'repair', 'repairing', 'seed', 'seeds',
  'library', 'mentor', 'mentoring', 'youth', 'elderly', 'care', 'quokka'];
let seed = 7;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
const phrase = (n) => Array.from({ length: n }, () => WORDS[rnd(WORDS.length)]).join(' ');

const post = async (title, description, skills = [], location = null) => {
  const res = await api('POST', `/api/v1/organisations/${org}/engagements`, {
    token: u.token,
    body: { title, description, purposes: [purpose], packagings: ['volunteer'], hours_per_week: 2,
      remote_ok: !location, skills, ...(location ? { location } : {}) },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
};

const served = async () => Number(await metric('words_searches_total{answered_by="index"}'));

before(async () => {
  u = await newUser();
  const p = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: `Words ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  purpose = p.body.slug;
  const o = await api('POST', '/api/v1/organisations', {
    token: u.token,
    body: { name: `Quokka Riverbank ${unique('o')}`, slug: unique('org'), purpose_statement: 'Do good.', purposes: [purpose], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(o.status, 201, o.text);
  org = o.body.slug;
  // 240 documents: "quokka" is in the organisation's name, so in every one
  // of them (past the 200 candidates a search ranks)
  for (let i = 0; i < 240; i += 8) {
    const batch = Array.from({ length: 8 }, (_, j) => post(
      `${phrase(1 + rnd(4))} ${i + j}`,
      `${phrase(3 + rnd(20))}. ${phrase(2 + rnd(10))} — ${phrase(1 + rnd(5))}.`,
      rnd(3) ? [WORDS[rnd(WORDS.length)]] : [],
      rnd(4) ? null : ['Oaxaca', 'Lisbon', 'Porto'][rnd(3)]));
    ids.push(...await Promise.all(batch));
  }
  oracle = await startDaemon({ SEARCH_INDEX: '0' });
});

after(async () => { if (oracle) await oracle.stop(); });

// Every page of q from base (limit 7: many pages, many cursors).
async function pages(base, q, limit = 7) {
  const out = [];
  let cursor = null;
  for (let n = 0; n < 40; n++) {
    const qs = new URLSearchParams({ q, limit: String(limit) });
    if (cursor) qs.set('cursor', cursor);
    const res = await fetch(`${base}/api/v1/engagements?${qs}`);
    const text = await res.text();
    out.push(`${res.status} ${text}`);
    if (res.status !== 200) return out;
    cursor = JSON.parse(text).next_cursor;
    if (!cursor) return out;
  }
  return out;
}

const QUERIES = [
  'quokka', 'river', 'riv', 'rivers', 'riverbank', 'water', 'wat', 'garden gardening',
  'café', 'cafe', 'CAFÉ compost', 'clean-up', 'clean-ups', 'e-bikes', 'e-bike repair',
  '"river water"', '"compost seeds"', 'river -water', 'garden or teaching', 'solar or quokka',
  'teaching', 'teach', 'mentor youth elderly', 'repair bike', 'lisbon', 'oaxaca', 'porto garden',
  'quokka riverbank', 'the', 'the river', 'seed', 'seeds', 'library -quokka', '-river',
  'zzzunknownword', 'energy solar school care', 'care', 'c',
];

test('each query: the index answers every page exactly as PostgreSQL does', async () => {
  const before = await served();
  let compared = 0;
  for (const q of QUERIES) {
    const mine = await pages(BASE, q);
    const theirs = await pages(oracle.base, q);
    assert.deepEqual(mine, theirs, `q=${q}`);
    compared += mine.length;
  }
  // every page came from the index ("garden gardening" is 'garden' &
  // 'garden':*: ts_rank keeps one of the two, which the index must know)
  const answered = (await served()) - before;
  assert.equal(answered, compared, `the index answered ${answered} of ${compared} pages`);
  assert.ok(compared > QUERIES.length * 2, 'many pages');
});

test('past the 200 candidates: the newest 200 matches, ranked, as PostgreSQL ranks them', async () => {
  const mine = await pages(BASE, 'quokka', 100);
  const items = mine.flatMap((p) => JSON.parse(p.slice(4)).items);
  assert.equal(items.length, 200);
  assert.deepEqual(mine, await pages(oracle.base, 'quokka', 100));
});

test('a document posted on this daemon is found by its next search, from the index', async () => {
  const word = `wombat${Date.now() % 100000}`;
  const id = await post(`${word} keeper`, 'Feed them.');
  const before = await served();
  const res = await api('GET', `/api/v1/engagements?q=${word}`);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.items.map((e) => e.id), [id]);
  assert.equal(await served(), before + 1, 'the index answered it, having read the write back');
});

test('changes follow: closed, hidden, edited, an older created_at committed later', async () => {
  const patch = async (id, body) => {
    const cur = await api('GET', `/api/v1/engagements/${id}`);
    const res = await api('PATCH', `/api/v1/engagements/${id}`, { token: u.token, body, headers: { 'If-Match': cur.headers.get('etag') } });
    assert.equal(res.status, 200, res.text);
  };
  await patch(ids[ids.length - 1], { status: 'closed' });
  await patch(ids[ids.length - 2], { title: 'Platypus riverbank watch' });
  // a transaction that began long ago commits now: its engagement is new to
  // the index (a later slot) but older than most (its created_at)
  sql(`UPDATE engagements SET created_at = created_at - interval '1 hour' WHERE id IN (${ids[5]}, ${ids[ids.length - 3]})`);
  const wait = Date.now() + 5000;
  for (const q of ['quokka', 'platypus', 'riverbank', 'river', 'garden or teaching']) {
    // the SQL change is another writer's: within a poll
    let mine, theirs;
    do {
      mine = await pages(BASE, q, 50);
      theirs = await pages(oracle.base, q, 50);
    } while (JSON.stringify(mine) !== JSON.stringify(theirs) && Date.now() < wait);
    assert.deepEqual(mine, theirs, `q=${q}`);
  }
  const quokka = (await pages(BASE, 'quokka', 100)).flatMap((p) => JSON.parse(p.slice(4)).items.map((e) => e.id));
  assert.ok(!quokka.includes(ids[ids.length - 1]), 'the closed one is gone');
  assert.ok(!quokka.includes(ids[5]), 'the older one fell out of the newest 200');
});

// The answer cache and the words' index follow the change log on two
// connections. When the cache's follower applies a change first, a search
// in between is answered by the index as it was, and that answer is stored
// in the answer cache; once the index applies the change too, it must not
// be served any more. The index's follower is held back here by a lock on
// the table it reads (engagement_search), taken right after another
// writer's change commits; the cache's follower reads only the log.
test('an answer the index gave while behind the answer cache is not kept once it catches up', async () => {
  const { spawn } = await import('node:child_process');
  let exercised = false;
  for (let attempt = 0; attempt < 3 && !exercised; attempt++) {
    const word = `numbat${Date.now() % 1000000}x${attempt}`;
    const id = ids[20 + attempt];
    assert.deepEqual(JSON.parse((await pages(BASE, word))[0].slice(4)).items, []);
    const invalidated = Number(await metric('answer_cache_item_invalidations_total'));
    const held = spawn('psql', [process.env.DATABASE_URL, '-Xq',
      '-c', `UPDATE engagements SET title = '${word} lookout' WHERE id = ${id}`,
      '-c', 'BEGIN; LOCK TABLE engagement_search IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(2); COMMIT'],
    { stdio: 'ignore' });
    const done = new Promise((r) => held.on('exit', r));
    await until('the cache follower', async () =>
      Number(await metric('answer_cache_item_invalidations_total')) > invalidated);
    // the index has not read the change (unless its follower won the race
    // to the lock, or the lock is over already: then try again)
    const behind = await pages(BASE, word);
    assert.deepEqual(await pages(BASE, word), behind); // stored, and served
    exercised = JSON.parse(behind[0].slice(4)).items.length === 0;
    assert.equal(await done, 0);
    const wait = Date.now() + 5000;
    let mine, theirs;
    do {
      mine = await pages(BASE, word);
      theirs = await pages(oracle.base, word);
    } while (JSON.stringify(mine) !== JSON.stringify(theirs) && Date.now() < wait);
    assert.deepEqual(mine, theirs, `q=${word}`);
    assert.deepEqual(JSON.parse(mine[0].slice(4)).items.map((e) => e.id), [id]);
  }
  assert.ok(exercised, 'the index was behind the answer cache at least once');
});

test('its connection killed: PostgreSQL answers meanwhile, the index again once rebuilt', async () => {
  const builds = await metric('words_index_builds_total');
  const killed = sql("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'purposed-words' AND datname = current_database()) t");
  assert.equal(killed[0][0], '1');
  // whichever answers, the answer is PostgreSQL's
  assert.deepEqual(await pages(BASE, 'river'), await pages(oracle.base, 'river'));
  const end = Date.now() + 10000;
  while (Number(await metric('words_index_builds_total')) < builds + 1 && Date.now() < end)
    await new Promise((r) => setTimeout(r, 50));
  assert.equal(Number(await metric('words_index_builds_total')), builds + 1);
  assert.equal(Number(await metric('words_index_ready')), 1);
  // a query nobody made (the answer cache holds the one above)
  const before = await served();
  const q = `river -zq${Date.now() % 100000}`;
  assert.deepEqual(await pages(BASE, q), await pages(oracle.base, q));
  assert.ok((await served()) > before, 'the rebuilt index answers');
});

test('SEARCH_INDEX=0 asks PostgreSQL: its counter stays at zero, and answers get all of CACHE_MB', async () => {
  await pages(oracle.base, 'river');
  assert.equal(Number(await metric('words_searches_total{answered_by="index"}', oracle.base)), 0);
  assert.equal(Number(await metric('words_index_ready', oracle.base)), 0);
  assert.equal(Number(await metric('answer_cache_max_bytes', oracle.base)), 128 * 2 ** 20);
});

test('CACHE_MB holds the words\' index and the answers together', async () => {
  const words = Number(await metric('words_index_bytes'));
  const answers = Number(await metric('answer_cache_max_bytes'));
  assert.ok(words > 0);
  // told again when it moved by a MiB; shards round down
  assert.ok(Math.abs(words + answers - 128 * 2 ** 20) <= 2 ** 20 + 16, `${words} + ${answers}`);
});
