// engagement_docs (migration 0054): every engagement's representation kept
// as text, which GET /engagements/{id}, the lists, the matches, the feeds
// and the pages read instead of computing engagement_json. The guarantee:
// after any statement, each engagement has exactly one row, equal to
// engagement_json of the engagement as it is now, with its version,
// status, hidden flag and purpose ids. Checked over the whole table after
// each kind of change that the text shows (the engagement itself, its
// purposes, its organisation's name and slug, a purpose renamed, retired
// or merged, a skill renamed, a place changed, hiding, a bulk load without
// the application's triggers), and GET answers the text.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, unique, sql } from './helpers.mjs';

let owner;
let mod;
let slug;
let purposeA;
let purposeB;
let id;

// Rows that differ from engagement_json, and engagements without a row.
function differences() {
  return sql(`SELECT e.id, d.engagement_id IS NULL FROM engagements e
      LEFT JOIN engagement_docs d ON d.organisation_id = e.organisation_id AND d.engagement_id = e.id
     WHERE d.engagement_id IS NULL
        OR (d.version, d.status, d.hidden, d.doc, d.purposes)
           IS DISTINCT FROM (e.version, e.status, e.hidden, (SELECT j::text FROM engagement_json(e) j),
                             ARRAY(SELECT ep.purpose_id FROM engagement_purposes ep
                                    WHERE ep.engagement_id = e.id ORDER BY ep.purpose_id))
     ORDER BY e.id LIMIT 5`);
}

function assertSame(what) {
  assert.deepEqual(differences(), [], `after ${what}: engagement_docs differs from engagement_json`);
  const [[docs, engagements]] = sql('SELECT (SELECT count(*) FROM engagement_docs), (SELECT count(*) FROM engagements)');
  assert.equal(docs, engagements, `after ${what}: one row per engagement`);
}

// GET answers the engagement as engagement_json makes it now.
async function assertServed(what) {
  const res = await api('GET', `/api/v1/engagements/${id}`);
  assert.equal(res.status, 200, `${what}: ${res.text}`);
  const [[now]] = sql(`SELECT j::text FROM engagements e CROSS JOIN LATERAL engagement_json(e) j WHERE e.id = ${id}`);
  assert.deepEqual(res.body, JSON.parse(now), `${what}: GET answers the engagement as it is now`);
  return res;
}

const curate = (body) => api('POST', '/api/v1/moderation/curation', { token: mod.token, body: { reason: 'Tidy.', ...body } });

async function newPurpose(label) {
  const res = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `${label} ${unique('p')}` } });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

before(async () => {
  owner = await newUser('Doc Owner');
  mod = await newUser('Doc Curator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${mod.id}, 'moderator')`);
  purposeA = await newPurpose('Docs A');
  purposeB = await newPurpose('Docs B');
  slug = unique('org');
  const o = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Docs ${slug}`, slug, purpose_statement: 'Keep texts.', purposes: [purposeA, purposeB], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(o.status, 201, o.text);
});

test('posting writes the text with both purposes, the place and the rewards', async () => {
  const [[place]] = sql('SELECT id FROM places ORDER BY population DESC, id LIMIT 1');
  const res = await api('POST', `/api/v1/organisations/${slug}/engagements`, {
    token: owner.token,
    body: {
      title: 'Keep the texts', description: 'Every change, once.', purposes: [purposeA, purposeB],
      packagings: ['volunteer'], hours_per_week: 3, skills: ['Docs Skill'], remote_ok: false, place: Number(place),
      rewards: { cash: { min: 10, max: 20, currency: 'EUR', period: 'hour' }, non_cash: ['Lunch'] },
    },
  });
  assert.equal(res.status, 201, res.text);
  id = res.body.id;
  assert.equal(res.body.purposes.length, 2, 'the answer to POST has both purposes');
  assertSame('a post');
  await assertServed('a post');
});

test('a change of the engagement, of its purposes alone, closing and reopening', async () => {
  let res = await api('PATCH', `/api/v1/engagements/${id}`, { token: owner.token, headers: { 'If-Match': '"1"' }, body: { title: 'Keep the texts, again' } });
  assert.equal(res.status, 200, res.text);
  assertSame('a new title');
  res = await api('PATCH', `/api/v1/engagements/${id}`, { token: owner.token, headers: { 'If-Match': '"2"' }, body: { purposes: [purposeA] } });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.purposes.map((p) => p.slug), [purposeA]);
  assertSame('a purpose taken away');
  res = await api('PATCH', `/api/v1/engagements/${id}`, { token: owner.token, headers: { 'If-Match': '"3"' }, body: { status: 'closed' } });
  assert.equal(res.status, 200, res.text);
  assertSame('closing');
  assert.deepEqual(sql(`SELECT status FROM engagement_docs WHERE engagement_id = ${id}`), [['closed']]);
  res = await api('PATCH', `/api/v1/engagements/${id}`, { token: owner.token, headers: { 'If-Match': '"4"' }, body: { status: 'open', purposes: [purposeA, purposeB] } });
  assert.equal(res.status, 200, res.text);
  assertSame('reopening with the purpose back');
  await assertServed('reopening');
});

test("the organisation's new name (and slug, which only the database changes)", async () => {
  const o = await api('GET', `/api/v1/organisations/${slug}`);
  const name = `Renamed ${unique('o')}`;
  const res = await api('PATCH', `/api/v1/organisations/${slug}`, {
    token: owner.token, headers: { 'If-Match': `"${o.body.version}"` }, body: { name },
  });
  assert.equal(res.status, 200, res.text);
  assertSame("the organisation's new name");
  let got = await assertServed("the organisation's new name");
  assert.deepEqual(got.body.organisation, { slug, name });
  const next = unique('org');
  sql(`UPDATE organisations SET slug = '${next}' WHERE slug = '${slug}'`);
  slug = next;
  assertSame("the organisation's new slug");
  got = await assertServed("the organisation's new slug");
  assert.equal(got.body.organisation.slug, next);
});

test('a purpose renamed, a purpose merged into another, a purpose retired', async () => {
  const renamed = unique('docs-renamed');
  let res = await curate({ action: 'rename', kind: 'purpose', target: purposeB, name: `Renamed ${renamed}`, slug: renamed });
  assert.equal(res.status, 201, res.text);
  purposeB = renamed;
  assertSame('a purpose renamed');
  assert.ok((await assertServed('a purpose renamed')).body.purposes.some((p) => p.slug === renamed));
  res = await curate({ action: 'merge', kind: 'purpose', target: purposeB, into: purposeA });
  assert.equal(res.status, 201, res.text);
  assertSame('a purpose merged');
  assert.deepEqual((await assertServed('a merge')).body.purposes.map((p) => p.slug), [purposeA]);
  res = await curate({ action: 'retire', kind: 'purpose', target: purposeA });
  assert.equal(res.status, 201, res.text);
  assertSame('a purpose retired');
  assert.equal((await assertServed('a retirement')).body.purposes[0].retired, true);
});

test('a skill renamed, a place changed, hiding and showing again', async () => {
  const res = await curate({ action: 'rename', kind: 'skill', target: 'docs skill', name: 'Documentation Skill' });
  assert.equal(res.status, 201, res.text);
  assertSame('a skill renamed');
  assert.deepEqual((await assertServed('a skill renamed')).body.skills, ['Documentation Skill']);
  const [[place]] = sql(`SELECT place_id FROM engagements WHERE id = ${id}`);
  sql(`UPDATE places SET population = population + 1 WHERE id = ${place}`);
  assertSame('a place changed');
  sql(`UPDATE places SET population = population - 1 WHERE id = ${place}`);
  const hide = await api('POST', '/api/v1/moderation/actions', { token: mod.token, body: { action: 'hide', kind: 'engagement', target: String(id), reason: 'Checking.' } });
  assert.equal(hide.status, 201, hide.text);
  assertSame('hiding');
  assert.equal((await api('GET', `/api/v1/engagements/${id}`)).status, 404, 'hidden: not found');
  sql(`UPDATE engagements SET hidden_at = NULL WHERE id = ${id}`);
  assertSame('showing again');
  await assertServed('shown again');
});

test('a bulk load without the application (session_replication_role = replica) gets its texts too', () => {
  const [[org]] = sql(`SELECT id FROM organisations WHERE slug = '${slug}'`);
  const [[purpose]] = sql(`SELECT id FROM purposes WHERE slug = '${purposeA}'`);
  sql(`BEGIN; SET LOCAL session_replication_role = replica;
       WITH e AS (INSERT INTO engagements (organisation_id, title, description, packagings, hours_per_week, skills, remote_ok, created_by)
                  SELECT ${org}, 'Loaded ' || g, 'In bulk.', '{volunteer}', 1, '{}', true, ${owner.id} FROM generate_series(1, 3) g RETURNING id)
       SELECT count(*) FROM e;
       INSERT INTO engagement_purposes (engagement_id, purpose_id)
       SELECT e.id, ${purpose} FROM engagements e WHERE e.title LIKE 'Loaded %' AND e.organisation_id = ${org};
       INSERT INTO engagements (organisation_id, title, description, packagings, hours_per_week, skills, remote_ok, created_by)
       VALUES (${org}, 'Loaded without purposes', 'Alone.', '{volunteer}', 1, '{}', true, ${owner.id});
       COMMIT;`);
  assertSame('a bulk load');
  const [[n]] = sql(`SELECT count(*) FROM engagement_docs d JOIN engagements e ON e.id = d.engagement_id
                      WHERE e.organisation_id = ${org} AND e.title LIKE 'Loaded %' AND d.doc LIKE '%"purposes" : [{%'`);
  assert.equal(n, '3', 'the loaded engagements have their purposes in their texts');
});
