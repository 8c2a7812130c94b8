// A search of several words that match many engagements: the statement
// first walks the newest documents of open engagements (engagement_search,
// migration 0050) and takes the 200 newest matches from them when there
// are that many; otherwise it asks the GIN index. Either way the answer is
// the one the rule gives: the 200 newest matches, ranked by relevance, then
// id. The oracle below states that rule on engagements directly, so it
// also checks that engagement_search follows every change that decides
// whether an engagement is searched (posting, closing, reopening, hiding,
// editing its words).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, unique, sql, until } from './helpers.mjs';

const WORDS = 'quokka zebrafinch';
let u;
let purpose;
let orgA;
let orgB;
const idsA = [];
const idsB = [];

// A new organisation of u's, for the purpose: its slug.
const org = async () => {
  const res = await api('POST', '/api/v1/organisations', {
    token: u.token,
    body: { name: `Window ${unique('o')}`, slug: unique('org'), purpose_statement: 'Do good.', purposes: [purpose], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
};

const post = async (slug, title, description) => {
  const res = await api('POST', `/api/v1/organisations/${slug}/engagements`, {
    token: u.token,
    body: { title, description, purposes: [purpose], packagings: ['volunteer'], hours_per_week: 2, remote_ok: true, skills: [] },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.id;
};

before(async () => {
  u = await newUser();
  const p = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: `Window ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  purpose = p.body.slug;
  orgA = await org();
  orgB = await org();
  // A's three first (the oldest), then 205 of B's, newer: the newest 200
  // matches are B's alone, and A's are found only with A's filter.
  for (let i = 0; i < 3; i++) idsA.push(await post(orgA, `Quokka zebrafinch counter ${i}`, 'Count them.'));
  for (let i = 0; i < 205; i += 5) {
    const batch = [0, 1, 2, 3, 4].map((j) => i + j).map((n) => (n % 3 === 0
      // relevance differs: the words in the title weigh more than in the description
      ? post(orgB, `Quokka zebrafinch keeper ${n}`, 'Feed and weigh.')
      : post(orgB, `Keeper ${n}`, `Look after the quokka and the zebrafinch, ${n}.`)));
    idsB.push(...await Promise.all(batch));
  }
});

// The rule, on engagements: the 200 newest open, visible matches (within
// the filter), by rank, then id.
function expected(q, { org, purpose: inPurpose = purpose } = {}) {
  const lit = (s) => `'${s.replace(/'/g, "''")}'`;
  const orgCond = org ? `AND e.organisation_id = (SELECT id FROM organisations WHERE slug = ${lit(org)})` : '';
  return sql(`SELECT c.id FROM (SELECT e.id, ts_rank(e.search, search_query(${lit(q)})) AS r
      FROM engagements e
     WHERE e.status = 'open' AND NOT e.hidden AND e.search @@ search_query(${lit(q)}) ${orgCond}
       AND (${inPurpose ? 'false' : 'true'} OR EXISTS (SELECT 1 FROM engagement_purposes ep
              JOIN purposes p ON p.id = ep.purpose_id WHERE ep.engagement_id = e.id AND p.slug = ${lit(inPurpose ?? '')}))
     ORDER BY e.created_at DESC, e.id DESC LIMIT 200) c ORDER BY c.r DESC, c.id DESC`).map(([id]) => Number(id));
}

// Every page of the search, in order.
async function searched(q, { org, purpose: inPurpose = purpose } = {}) {
  const ids = [];
  let cursor = null;
  for (let pages = 0; pages < 20; pages++) {
    const qs = new URLSearchParams({ q, limit: '50' });
    if (inPurpose) qs.set('purpose', inPurpose);
    if (org) qs.set('organisation', org);
    if (cursor) qs.set('cursor', cursor);
    const res = await api('GET', `/api/v1/engagements?${qs}`);
    assert.equal(res.status, 200, res.text);
    ids.push(...res.body.items.map((e) => e.id));
    cursor = res.body.next_cursor;
    if (!cursor) return ids;
  }
  assert.fail('more than 20 pages');
}

test('several words with 208 matches: the 200 newest, by relevance, the same as the rule', async () => {
  const want = expected(WORDS);
  assert.equal(want.length, 200);
  assert.ok(want.every((id) => idsB.includes(id)), 'the newest 200 are B\'s');
  assert.deepEqual(await searched(WORDS), want);
  // the title matches first
  const first = want.slice(0, 10);
  assert.ok(first.every((id) => idsB.indexOf(id) % 3 === 0), 'title matches rank first');
});

test('with a filter, the window is the filter\'s: A\'s three, under B\'s newer matches', async () => {
  assert.deepEqual(await searched(WORDS, { org: orgA }), expected(WORDS, { org: orgA }));
  assert.deepEqual((await searched(WORDS, { org: orgA })).sort(), [...idsA].sort());
});

test('a document leaves and comes back with its engagement: closed, reopened, hidden, its words edited', async () => {
  const newest = idsB[idsB.length - 1];
  const patch = async (id, body) => {
    const cur = await api('GET', `/api/v1/engagements/${id}`);
    const res = await api('PATCH', `/api/v1/engagements/${id}`, { token: u.token, body, headers: { 'If-Match': cur.headers.get('etag') } });
    assert.equal(res.status, 200, res.text);
  };
  await patch(newest, { status: 'closed' });
  let got = await searched(WORDS);
  assert.ok(!got.includes(newest));
  assert.deepEqual(got, expected(WORDS));
  assert.equal(sql(`SELECT count(*) FROM engagement_search WHERE engagement_id = ${newest}`)[0][0], '0');

  await patch(newest, { status: 'open' });
  got = await searched(WORDS);
  assert.ok(got.includes(newest));
  assert.deepEqual(got, expected(WORDS));

  // hidden (as moderation hides it; the column is what decides): it
  // leaves the search. Written here, not by this daemon, so the cached
  // pages follow within a second (the change log), not at once.
  const hidden = idsB[idsB.length - 2];
  sql(`UPDATE engagements SET hidden_at = now() WHERE id = ${hidden}`);
  await until('the hidden engagement leaves the search', async () => !(await searched(WORDS)).includes(hidden));
  assert.deepEqual(await searched(WORDS), expected(WORDS));
  sql(`UPDATE engagements SET hidden_at = NULL WHERE id = ${hidden}`);
  await until('it comes back', async () => (await searched(WORDS)).includes(hidden));

  // its words edited away: no longer a match; then back
  await patch(newest, { title: 'Keeper of nothing in particular', description: 'Sweep.' });
  got = await searched(WORDS);
  assert.ok(!got.includes(newest));
  assert.deepEqual(got, expected(WORDS));
  await patch(newest, { title: 'Quokka zebrafinch keeper again' });
  got = await searched(WORDS);
  assert.ok(got.includes(newest));
  assert.deepEqual(got, expected(WORDS));
});

test('engagement_search holds exactly the open, visible engagements, with their documents', () => {
  const [[missing, extra, stale]] = sql(`SELECT
      (SELECT count(*) FROM engagements e WHERE e.status = 'open' AND NOT e.hidden
          AND NOT EXISTS (SELECT 1 FROM engagement_search s WHERE s.engagement_id = e.id)),
      (SELECT count(*) FROM engagement_search s JOIN engagements e ON e.id = s.engagement_id
        WHERE e.status <> 'open' OR e.hidden),
      (SELECT count(*) FROM engagement_search s JOIN engagements e ON e.id = s.engagement_id
        WHERE s.search <> e.search OR s.created_at <> e.created_at OR s.organisation_id <> e.organisation_id)`);
  assert.deepEqual([missing, extra, stale], ['0', '0', '0']);
});

test('the window is the 4,000 newest: 250 old matches, 4,000 newer that do not match, 210 newest matches', async () => {
  // One organisation's engagements, searched with its filter (the window is
  // the filter's). The 210 newest matches are within the 4,000 newest, so
  // the walk answers with 200 of them; 250 older ones are beyond the window
  // (a walk of the oldest, or one that did not stop at the window, would
  // find other matches or too many).
  const orgC = await org();
  const many = async (n, title) => {
    const ids = [];
    for (let i = 0; i < n; i += 10) {
      ids.push(...await Promise.all(Array.from({ length: Math.min(10, n - i) },
        (_, j) => post(orgC, `${title} ${i + j}`, 'Count the birds.'))));
    }
    return ids;
  };
  const old = await many(250, 'Quokka zebrafinch census');
  // 4,000 that do not match, newer than those: copies of one posted here
  const template = await post(orgC, 'Plain warden', 'Nothing to count.');
  sql(`INSERT INTO engagements (organisation_id, title, description, hours_per_week, skills, packagings, remote_ok, created_by)
       SELECT organisation_id, title || ' ' || g, description, hours_per_week, skills, packagings, remote_ok, created_by
         FROM engagements, generate_series(1, 4000) g WHERE id = ${template}`);
  const recent = await many(210, 'Quokka zebrafinch census');
  const want = expected(WORDS, { org: orgC, purpose: null });
  assert.equal(want.length, 200);
  assert.ok(want.every((id) => recent.includes(id)), 'the 200 newest matches are all recent');
  assert.ok(!want.some((id) => old.includes(id)));
  assert.deepEqual(await searched(WORDS, { org: orgC, purpose: null }), want);
  // without a filter (the statements of open engagements without one: the
  // walk for several words, none for one word) the same rule holds; here
  // the newest matches of all are these recent ones too
  const all = expected(WORDS, { purpose: null });
  assert.ok(all.every((id) => recent.includes(id)), 'the newest matches of all are the recent ones');
  assert.deepEqual(await searched(WORDS, { purpose: null }), all);
  assert.deepEqual(await searched('zebrafinch', { purpose: null }), expected('zebrafinch', { purpose: null }));
  assert.deepEqual(await searched('the zebrafinch', { purpose: null }), expected('zebrafinch', { purpose: null }));
});
