// purposes: the shared catalogue — create (slug from the name), read, list
// with full-text search and keyset pages, conflicts and idempotent replays.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, problemFields, sql, unique } from './helpers.mjs';

// A word made of letters only, so the English text search keeps it whole.
const word = () => 'zq' + Array.from({ length: 10 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');

async function createPurpose(token, name = `Purpose ${unique('p')}`, description = 'A cause.') {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name, description } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

test('POST /purposes derives the slug from the name and answers 201 with Location', async () => {
  const u = await newUser();
  const tag = unique('cw').replace('-', '');
  const res = await api('POST', '/api/v1/purposes', {
    token: u.token, body: { name: `Clean Water! ${tag}`, description: 'Water for everyone.' },
  });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.slug, `clean-water-${tag}`);
  assert.equal(res.headers.get('location'), `/api/v1/purposes/clean-water-${tag}`);
  assert.deepEqual(
    { name: res.body.name, description: res.body.description, supporters: res.body.supporters, organisations: res.body.organisations },
    { name: `Clean Water! ${tag}`, description: 'Water for everyone.', supporters: 0, organisations: 0 });
  const got = await api('GET', res.headers.get('location'));
  assert.equal(got.status, 200);
  assert.deepEqual(got.body, res.body);
  assert.deepEqual(sql(`SELECT created_by FROM purposes WHERE slug = '${res.body.slug}'`), [[String(u.id)]]);
});

test('POST /purposes needs a signed-in caller', async () => {
  const res = await api('POST', '/api/v1/purposes', { body: { name: `Nobody ${unique()}`, description: '' } });
  assert.equal(res.status, 401);
});

test('POST /purposes names every bad field at once and writes nothing', async () => {
  const u = await newUser();
  const before = sql('SELECT count(*) FROM purposes')[0][0];
  let res = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: '', description: 5, colour: 'red' } });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['colour', 'description', 'name']);
  res = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: '¡¿!', description: 'x'.repeat(2001) } });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['description', 'name']);
  res = await api('POST', '/api/v1/purposes', { token: u.token, body: { description: 'no name' } });
  assert.deepEqual(problemFields(res), ['name']);
  assert.equal(sql('SELECT count(*) FROM purposes')[0][0], before);
});

test('a purpose whose name or slug exists is a 409', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  let res = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: p.name.toUpperCase(), description: '' } });
  assert.equal(res.status, 409);
  assert.deepEqual(problemFields(res), ['name']);
  // another name with the same slug
  res = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: p.slug.replaceAll('-', ' * '), description: '' } });
  assert.equal(res.status, 409);
  assert.equal(sql(`SELECT count(*) FROM purposes WHERE slug = '${p.slug}'`)[0][0], '1');
});

test('GET /purposes/{slug} is a 404 for unknown or malformed slugs', async () => {
  assert.equal((await api('GET', `/api/v1/purposes/${unique('nope')}`)).status, 404);
  assert.equal((await api('GET', '/api/v1/purposes/Not_A_Slug')).status, 404);
  assert.equal((await api('GET', `/api/v1/purposes/${'a'.repeat(65)}`)).status, 404);
});

test('supporters counts agents with energy for the purpose; organisations counts organisations', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const handle = unique('agent');
  sql(`WITH a AS (INSERT INTO agents (account_id, handle) VALUES (${u.id}, '${handle}') RETURNING id)
       INSERT INTO agent_purposes (agent_id, purpose_id, energy)
       SELECT a.id, p.id, 40 FROM a, purposes p WHERE p.slug = '${p.slug}'`);
  const org = await api('POST', '/api/v1/organisations', {
    token: u.token,
    body: { name: 'Counting Co', slug: unique('count'), purpose_statement: 'Count.', purposes: [p.slug], legal_form: 'other', governance: 'other' },
  });
  assert.equal(org.status, 201, org.text);
  const got = await api('GET', `/api/v1/purposes/${p.slug}`);
  assert.equal(got.body.supporters, 1);
  assert.equal(got.body.organisations, 1);
});

test('GET /purposes?q= searches name and description; pages walk without duplicates or gaps', async () => {
  const u = await newUser();
  const w = word();
  const made = [];
  for (let i = 0; i < 5; i++) made.push(await createPurpose(u.token, `Search ${unique('s')}`, `About ${w} number ${i}.`));
  made.push(await createPurpose(u.token, `${w} In Name ${unique('n')}`, 'Nothing else.'));
  await createPurpose(u.token, `Unrelated ${unique('x')}`, 'Something else entirely.');
  const seen = [];
  let cursor = null, pages = 0;
  do {
    const res = await api('GET', `/api/v1/purposes?q=${w}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.items.length <= 2);
    seen.push(...res.body.items.map((p) => p.slug));
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen, made.map((p) => p.slug).sort());
  const all = await api('GET', '/api/v1/purposes?limit=100');
  assert.equal(all.status, 200);
  const slugs = all.body.items.map((p) => p.slug);
  assert.deepEqual(slugs, [...slugs].sort());
});

test('GET /purposes refuses a bad limit, a tampered cursor and an overlong q with 400', async () => {
  const u = await newUser();
  await createPurpose(u.token);
  await createPurpose(u.token);
  assert.equal((await api('GET', '/api/v1/purposes?limit=0')).status, 400);
  const first = await api('GET', '/api/v1/purposes?limit=1');
  const c = first.body.next_cursor;
  assert.ok(c);
  const tampered = c.slice(0, -2) + (c.endsWith('AA') ? 'BB' : 'AA');
  for (const bad of [tampered, 'garbage', 'A'.repeat(5000)]) {
    const res = await api('GET', `/api/v1/purposes?cursor=${encodeURIComponent(bad)}`);
    assert.equal(res.status, 400);
    assert.deepEqual(problemFields(res), ['cursor']);
  }
  const long = await api('GET', `/api/v1/purposes?q=${'a'.repeat(201)}`);
  assert.equal(long.status, 400);
  assert.deepEqual(problemFields(long), ['q']);
  const badUtf8 = await api('GET', '/api/v1/purposes?q=%ff%fe');
  assert.equal(badUtf8.status, 400);
  // a cursor of another list is refused too
  for (let i = 0; i < 2; i++) {
    const org = await api('POST', '/api/v1/organisations', {
      token: u.token,
      body: { name: 'Cursor Co', slug: unique('cursor'), purpose_statement: 'Page.', purposes: [], legal_form: 'other', governance: 'other' },
    });
    assert.equal(org.status, 201);
  }
  const orgPage = await api('GET', '/api/v1/organisations?limit=1');
  assert.ok(orgPage.body.next_cursor);
  const res = await api('GET', `/api/v1/purposes?cursor=${orgPage.body.next_cursor}`);
  assert.equal(res.status, 400);
});

test('POST /purposes with an Idempotency-Key replays the first answer and writes once', async () => {
  const u = await newUser();
  const key = unique('idem');
  const body = { name: `Replayed ${unique('r')}`, description: 'Once.' };
  const headers = { 'Idempotency-Key': key };
  const a = await api('POST', '/api/v1/purposes', { token: u.token, body, headers });
  const b = await api('POST', '/api/v1/purposes', { token: u.token, body, headers });
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.deepEqual(b.body, a.body);
  assert.equal(b.headers.get('location'), a.headers.get('location'));
  assert.equal(sql(`SELECT count(*) FROM purposes WHERE slug = '${a.body.slug}'`)[0][0], '1');
  const c = await api('POST', '/api/v1/purposes', { token: u.token, body: { ...body, description: 'Twice.' }, headers });
  assert.equal(c.status, 422);
});

test('SQL-looking text is stored and returned as data', async () => {
  const u = await newUser();
  const evil = `'; DROP TABLE purposes; -- ${unique()}`;
  const p = await createPurpose(u.token, evil, "Robert'); DROP TABLE engagements;--");
  assert.equal(p.name, evil);
  const got = await api('GET', `/api/v1/purposes/${p.slug}`);
  assert.equal(got.body.description, "Robert'); DROP TABLE engagements;--");
  assert.equal(sql("SELECT to_regclass('engagements') IS NOT NULL")[0][0], 't');
});
