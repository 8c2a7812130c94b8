// engagements: post (members only), read, change with If-Match, list with
// filters, keyset pages (also under concurrent inserts) and ranked search.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, problemFields, sql, unique } from './helpers.mjs';

// A word made of letters only, so the English text search keeps it whole.
const word = () => 'zq' + Array.from({ length: 10 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');

async function createPurpose(token) {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

async function createOrg(token, purposes = []) {
  const res = await api('POST', '/api/v1/organisations', {
    token,
    body: { name: `Org ${unique('o')}`, slug: unique('org'), purpose_statement: 'Do good.', purposes, legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

function engagementBody(purposes, extra = {}) {
  return {
    title: 'Community gardener', description: 'Tend the shared beds with neighbours.', purposes,
    packagings: ['volunteer', 'partnership'], hours_per_week: 6, duration_weeks: 12, skills: ['gardening', 'teaching'],
    location: 'Ghent', remote_ok: false,
    rewards: { cash: { min: 100, max: 250.5, currency: 'EUR', period: 'month' }, non_cash: ['learning', 'network'] },
    ...extra,
  };
}

async function post(token, slug, body) {
  const res = await api('POST', `/api/v1/organisations/${slug}/engagements`, { token, body });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

// Follow next_cursor from path to the end; returns the items of every page.
async function walk(path, maxPages = 50, between = async () => {}) {
  const items = [];
  let cursor = null, pages = 0;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const res = await api('GET', `${path}${cursor ? `${sep}cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, res.text);
    items.push(...res.body.items);
    cursor = res.body.next_cursor;
    pages++;
    await between(pages);
  } while (cursor && pages < maxPages);
  return { items, pages };
}

test('POST engagement: 201 open, Location, ETag and the whole representation', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const o = await createOrg(u.token, [p]);
  const res = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, { token: u.token, body: engagementBody([p]) });
  assert.equal(res.status, 201, res.text);
  const e = res.body;
  assert.equal(res.headers.get('location'), `/api/v1/engagements/${e.id}`);
  assert.equal(res.headers.get('etag'), '"1"');
  assert.equal(e.status, 'open');
  assert.equal(e.version, 1);
  assert.deepEqual(e.organisation, { slug: o.slug, name: o.name });
  assert.deepEqual(e.purposes.map((x) => x.slug), [p]);
  assert.deepEqual(e.packagings, ['volunteer', 'partnership']);
  assert.deepEqual(e.skills, ['gardening', 'teaching']);
  assert.equal(e.hours_per_week, 6);
  assert.equal(e.duration_weeks, 12);
  assert.equal(e.location, 'Ghent');
  assert.equal(e.remote_ok, false);
  assert.deepEqual(e.rewards, { cash: { min: 100, max: 250.5, currency: 'EUR', period: 'month' }, non_cash: ['learning', 'network'] });
  assert.match(e.created_at, /Z$/);
  const got = await api('GET', `/api/v1/engagements/${e.id}`);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('etag'), '"1"');
  assert.deepEqual(got.body, e);
  assert.deepEqual(sql(`SELECT status, created_by FROM engagements WHERE id = ${e.id}`), [['open', String(u.id)]]);
  // the minimum: no duration, skills, location or rewards
  const min = await post(u.token, o.slug, { title: 'T', description: 'D', purposes: [p], packagings: ['consulting'], hours_per_week: 1 });
  assert.deepEqual([min.duration_weeks, min.skills, min.location, min.remote_ok, min.rewards],
    [null, [], null, false, { cash: null, non_cash: [] }]);
});

test('POST engagement: members only (403), signed in (401), known organisation (404)', async () => {
  const owner = await newUser();
  const p = await createPurpose(owner.token);
  const o = await createOrg(owner.token, [p]);
  const outsider = await newUser();
  let res = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, { token: outsider.token, body: engagementBody([p]) });
  assert.equal(res.status, 403);
  res = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, { body: engagementBody([p]) });
  assert.equal(res.status, 401);
  res = await api('POST', `/api/v1/organisations/${unique('nope')}/engagements`, { token: owner.token, body: engagementBody([p]) });
  assert.equal(res.status, 404);
  const member = await newUser();
  await addMember(owner, o.slug, member, 'member');
  await post(member.token, o.slug, engagementBody([p]));
});

test('POST engagement names every bad field at once and writes nothing', async () => {
  const u = await newUser();
  const o = await createOrg(u.token);
  const before = sql('SELECT count(*) FROM engagements')[0][0];
  let res = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, {
    token: u.token,
    body: {
      title: '', description: 1, purposes: [], packagings: ['barter'], hours_per_week: 81, duration_weeks: 0,
      skills: 'digging', location: 3, remote_ok: 'yes', status: 'open',
      rewards: { cash: { min: 5, max: 1, currency: 'eur', period: 'fortnight', tip: 1 }, non_cash: [1], bonus: true },
    },
  });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['description', 'duration_weeks', 'hours_per_week', 'location', 'packagings',
    'purposes', 'remote_ok', 'rewards.bonus', 'rewards.cash.currency', 'rewards.cash.max', 'rewards.cash.period',
    'rewards.cash.tip', 'rewards.non_cash', 'skills', 'status', 'title']);
  res = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, { token: u.token, body: {} });
  assert.deepEqual(problemFields(res), ['description', 'hours_per_week', 'packagings', 'purposes', 'title']);
  res = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, {
    token: u.token, body: engagementBody(['Bad Slug'], { hours_per_week: 2.5, rewards: { cash: { min: -1 } }, packagings: [] }),
  });
  assert.deepEqual(problemFields(res), ['hours_per_week', 'packagings', 'purposes', 'rewards.cash.currency',
    'rewards.cash.max', 'rewards.cash.min', 'rewards.cash.period']);
  res = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, { token: u.token, body: engagementBody([unique('ghost')]) });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['purposes']);
  assert.equal(sql('SELECT count(*) FROM engagements')[0][0], before);
});

test('a validation problem speaks to a person: a readable title, no field names of the API inside the messages', async () => {
  const u = await newUser();
  const o = await createOrg(u.token);
  const res = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, {
    token: u.token, body: engagementBody([], { rewards: { cash: { min: 500, max: 100, currency: 'EUR', period: 'month' }, non_cash: [] } }),
  });
  assert.equal(res.status, 422, res.text);
  assert.equal(res.body.title, 'Some fields need a change');
  const max = res.body.errors.find((e) => e.field === 'rewards.cash.max');
  assert.equal(max.message, 'must not be less than the lowest amount');
  for (const e of res.body.errors) assert.doesNotMatch(e.message, /\b(min|max|[a-z]+_[a-z_]+)\b/, `${e.field}: ${e.message}`);
});

test('GET /engagements/{id} is a 404 for unknown or malformed ids', async () => {
  for (const id of ['999999999999', '0', '-1', 'abc', '1e3', '99999999999999999999999']) {
    assert.equal((await api('GET', `/api/v1/engagements/${id}`)).status, 404, id);
  }
});

test('PATCH engagement: If-Match (428/412), members only, every editable field', async () => {
  const owner = await newUser();
  const [p1, p2] = [await createPurpose(owner.token), await createPurpose(owner.token)];
  const o = await createOrg(owner.token, [p1]);
  const e = await post(owner.token, o.slug, engagementBody([p1]));
  const url = `/api/v1/engagements/${e.id}`;
  let res = await api('PATCH', url, { token: owner.token, body: { title: 'x' } });
  assert.equal(res.status, 428);
  res = await api('PATCH', url, { token: owner.token, body: { title: 'x' }, headers: { 'If-Match': '"9"' } });
  assert.equal(res.status, 412);
  res = await api('PATCH', url, { body: { title: 'x' }, headers: { 'If-Match': '"1"' } });
  assert.equal(res.status, 401);
  const outsider = await newUser();
  res = await api('PATCH', url, { token: outsider.token, body: { title: 'x' }, headers: { 'If-Match': '"1"' } });
  assert.equal(res.status, 403);
  res = await api('PATCH', '/api/v1/engagements/999999999', { token: owner.token, body: { title: 'x' }, headers: { 'If-Match': '"1"' } });
  assert.equal(res.status, 404);
  res = await api('PATCH', url, { token: owner.token, body: { status: 'archived', hours_per_week: 0, purposes: [], id: 3 }, headers: { 'If-Match': '"1"' } });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['hours_per_week', 'id', 'purposes', 'status']);
  const member = await newUser();
  await addMember(owner, o.slug, member, 'member');
  res = await api('PATCH', url, {
    token: member.token, headers: { 'If-Match': '"1"' },
    body: {
      title: 'Head gardener', description: 'Lead the beds.', purposes: [p2, p1], packagings: ['employment'], hours_per_week: 20,
      duration_weeks: null, skills: ['leading'], location: null, remote_ok: true, rewards: { non_cash: ['equity'] }, status: 'paused',
    },
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('etag'), '"2"');
  const b = res.body;
  assert.deepEqual([b.title, b.description, b.packagings, b.hours_per_week, b.duration_weeks, b.skills, b.location, b.remote_ok, b.status, b.version],
    ['Head gardener', 'Lead the beds.', ['employment'], 20, null, ['leading'], null, true, 'paused', 2]);
  assert.deepEqual(b.purposes.map((x) => x.slug), [p1, p2].sort());
  assert.deepEqual(b.rewards, { cash: null, non_cash: ['equity'] });
  res = await api('PATCH', url, { token: owner.token, body: { title: 'Late' }, headers: { 'If-Match': '"1"' } });
  assert.equal(res.status, 412);
  res = await api('PATCH', url, { token: owner.token, body: { purposes: [unique('ghost')] }, headers: { 'If-Match': '"2"' } });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['purposes']);
  // If-Match compares strongly: the weak form of the current ETag is refused
  res = await api('PATCH', url, { token: owner.token, body: { status: 'closed', title: 'Only this' }, headers: { 'If-Match': 'W/"2"' } });
  assert.equal(res.status, 412);
  res = await api('PATCH', url, { token: owner.token, body: { status: 'closed', title: 'Only this' }, headers: { 'If-Match': '"2"' } });
  assert.equal(res.status, 200);
  assert.equal(res.body.description, 'Lead the beds.', 'fields not given stay');
  assert.equal((await api('GET', url)).body.status, 'closed');
});

test('closing an engagement takes it off the default list and the open count', async () => {
  const u = await newUser();
  const o = await createOrg(u.token);
  const p = await createPurpose(u.token);
  const e = await post(u.token, o.slug, engagementBody([p]));
  let list = await api('GET', `/api/v1/engagements?organisation=${o.slug}`);
  assert.deepEqual(list.body.items.map((x) => x.id), [e.id]);
  assert.equal((await api('GET', `/api/v1/organisations/${o.slug}`)).body.open_engagements, 1);
  const res = await api('PATCH', `/api/v1/engagements/${e.id}`, { token: u.token, body: { status: 'closed' }, headers: { 'If-Match': '"1"' } });
  assert.equal(res.status, 200);
  list = await api('GET', `/api/v1/engagements?organisation=${o.slug}`);
  assert.deepEqual(list.body.items, []);
  list = await api('GET', `/api/v1/engagements?organisation=${o.slug}&status=closed`);
  assert.deepEqual(list.body.items.map((x) => x.id), [e.id]);
  assert.equal((await api('GET', `/api/v1/organisations/${o.slug}`)).body.open_engagements, 0);
  list = await api('GET', `/api/v1/engagements?purpose=${p}&status=closed`);
  assert.deepEqual(list.body.items.map((x) => x.id), [e.id]);
});

test('GET /engagements filters by purpose, skill, packaging, remote and organisation', async () => {
  const u = await newUser();
  const [p1, p2] = [await createPurpose(u.token), await createPurpose(u.token)];
  const o = await createOrg(u.token, [p1, p2]);
  const skill = unique('skill');
  const a = await post(u.token, o.slug, engagementBody([p1], { skills: [skill], packagings: ['interim'], remote_ok: true }));
  const b = await post(u.token, o.slug, engagementBody([p1, p2], { skills: ['other'], packagings: ['volunteer'], remote_ok: false }));
  const c = await post(u.token, o.slug, engagementBody([p2], { skills: [skill, 'x'], packagings: ['volunteer', 'interim'], remote_ok: false }));
  const ids = async (qs) => {
    const res = await api('GET', `/api/v1/engagements?${qs}`);
    assert.equal(res.status, 200, res.text);
    return res.body.items.map((e) => e.id);
  };
  assert.deepEqual(await ids(`organisation=${o.slug}`), [c.id, b.id, a.id], 'newest first');
  assert.deepEqual(await ids(`purpose=${p1}`), [b.id, a.id]);
  assert.deepEqual(await ids(`purpose=${p2}&organisation=${o.slug}`), [c.id, b.id]);
  assert.deepEqual(await ids(`skill=${skill}`), [c.id, a.id]);
  assert.deepEqual(await ids(`organisation=${o.slug}&packaging=interim`), [c.id, a.id]);
  assert.deepEqual(await ids(`organisation=${o.slug}&remote=true`), [a.id]);
  assert.deepEqual(await ids(`organisation=${o.slug}&remote=false&packaging=volunteer&purpose=${p2}`), [c.id, b.id]);
  assert.deepEqual(await ids(`skill=${skill}&purpose=${p2}&remote=false`), [c.id]);
  assert.deepEqual(await ids(`purpose=${unique('unknown')}`), []);
  assert.deepEqual(await ids(`organisation=${unique('unknown')}`), []);
});

test('GET /engagements refuses bad query parameters with one 400 naming them all', async () => {
  let res = await api('GET', '/api/v1/engagements?packaging=barter&remote=maybe&purpose=Bad_Slug&organisation=-x&status=gone&skill=%ff');
  assert.equal(res.status, 400);
  assert.deepEqual(problemFields(res), ['organisation', 'packaging', 'purpose', 'remote', 'skill', 'status']);
  res = await api('GET', `/api/v1/engagements?q=${'w'.repeat(201)}`);
  assert.equal(res.status, 400);
  assert.deepEqual(problemFields(res), ['q']);
  for (const c of ['x', 'AAAA', 'eyJ0eXAiOiJKV1QifQ']) {
    res = await api('GET', `/api/v1/engagements?cursor=${c}`);
    assert.equal(res.status, 400, c);
  }
  res = await api('GET', '/api/v1/engagements?limit=-5');
  assert.equal(res.status, 400);
});

test('pages walk every engagement once, also while new ones are posted', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const o = await createOrg(u.token, [p]);
  const before = [];
  for (let i = 0; i < 25; i++) before.push((await post(u.token, o.slug, engagementBody([p], { title: `Walk ${i}` }))).id);
  // by organisation and by purpose (two different statements), each while inserting
  for (const path of [`/api/v1/engagements?organisation=${o.slug}&limit=7`, `/api/v1/engagements?purpose=${p}&limit=7`]) {
    const inserted = [];
    const { items, pages } = await walk(path, 50, async () => {
      inserted.push((await post(u.token, o.slug, engagementBody([p], { title: 'Concurrent' }))).id);
    });
    const ids = items.map((e) => e.id);
    assert.ok(pages >= 4, `pages ${pages}`);
    assert.equal(new Set(ids).size, ids.length, 'no duplicates');
    for (const id of before) assert.ok(ids.includes(id), `missing ${id}`);
    const pos = items.map((e) => [e.created_at, e.id]);
    for (let i = 1; i < pos.length; i++) assert.ok(pos[i - 1][0] > pos[i][0] || (pos[i - 1][0] === pos[i][0] && pos[i - 1][1] > pos[i][1]), 'newest first');
    before.push(...inserted);
  }
  // the list of all open engagements pages the same way
  const firstPage = await api('GET', '/api/v1/engagements?limit=5');
  assert.equal(firstPage.body.items.length, 5);
  const second = await api('GET', `/api/v1/engagements?limit=5&cursor=${firstPage.body.next_cursor}`);
  const both = [...firstPage.body.items, ...second.body.items].map((e) => e.id);
  assert.equal(new Set(both).size, 10);
  // a cursor of a search is not a cursor of the date list
  const search = await api('GET', '/api/v1/engagements?q=walk&limit=1');
  assert.ok(search.body.next_cursor);
  assert.equal((await api('GET', `/api/v1/engagements?cursor=${search.body.next_cursor}`)).status, 400);
});

test('full-text search ranks title matches above description-only matches and pages by rank', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const o = await createOrg(u.token, [p]);
  const w = word();
  const inDescription = [];
  for (let i = 0; i < 4; i++) inDescription.push((await post(u.token, o.slug, engagementBody([p], { title: `Plain ${i}`, description: `We need ${w} skills.` }))).id);
  const inTitle = [];
  for (let i = 0; i < 3; i++) inTitle.push((await post(u.token, o.slug, engagementBody([p], { title: `${w} lead ${i}`, description: 'Nothing more.' }))).id);
  await post(u.token, o.slug, engagementBody([p], { title: 'Unrelated', description: 'Not it.' }));
  const { items, pages } = await walk(`/api/v1/engagements?q=${w}&limit=2`);
  assert.equal(pages, 4);
  const ids = items.map((e) => e.id);
  assert.equal(ids.length, 7);
  assert.equal(new Set(ids).size, 7);
  assert.deepEqual(new Set(ids.slice(0, 3)), new Set(inTitle), 'title matches first');
  assert.deepEqual(new Set(ids.slice(3)), new Set(inDescription));
  // ties are ordered by id, newest first
  assert.deepEqual(ids.slice(0, 3), [...inTitle].sort((a, b) => b - a));
  // websearch syntax and filters combine
  const narrowed = await api('GET', `/api/v1/engagements?q=${encodeURIComponent(`${w} -plain`)}&organisation=${o.slug}`);
  assert.deepEqual(new Set(narrowed.body.items.map((e) => e.id)), new Set(inTitle));
  const stop = await api('GET', '/api/v1/engagements?q=the');
  assert.equal(stop.status, 200);
});

test('POST engagement with an Idempotency-Key: one row, the same answer; another body is 422', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const o = await createOrg(u.token, [p]);
  const body = engagementBody([p], { title: `Once ${unique()}` });
  const headers = { 'Idempotency-Key': unique('key') };
  const url = `/api/v1/organisations/${o.slug}/engagements`;
  const a = await api('POST', url, { token: u.token, body, headers });
  const b = await api('POST', url, { token: u.token, body, headers });
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.deepEqual(b.body, a.body);
  assert.equal(b.headers.get('location'), a.headers.get('location'));
  assert.equal(sql(`SELECT count(*) FROM engagements WHERE title = '${body.title}'`)[0][0], '1');
  const c = await api('POST', url, { token: u.token, body: { ...body, hours_per_week: 7 }, headers });
  assert.equal(c.status, 422);
  assert.equal(sql(`SELECT count(*) FROM engagements WHERE title = '${body.title}'`)[0][0], '1');
});

test('SQL-looking input is stored and returned as data', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const o = await createOrg(u.token, [p]);
  const evil = "'; DROP TABLE engagements; --";
  const e = await post(u.token, o.slug, engagementBody([p], { title: evil, description: `${evil} \\x00 $1`, skills: [evil], rewards: { non_cash: [evil] } }));
  const got = await api('GET', `/api/v1/engagements/${e.id}`);
  assert.equal(got.body.title, evil);
  assert.equal(got.body.description, `${evil} \\x00 $1`);
  assert.deepEqual(got.body.skills, [evil]);
  assert.deepEqual(got.body.rewards.non_cash, [evil]);
  const bySkill = await api('GET', `/api/v1/engagements?skill=${encodeURIComponent(evil)}&organisation=${o.slug}`);
  assert.deepEqual(bySkill.body.items.map((x) => x.id), [e.id]);
  const searched = await api('GET', `/api/v1/engagements?q=${encodeURIComponent(evil)}`);
  assert.equal(searched.status, 200);
  assert.equal(sql("SELECT to_regclass('engagements') IS NOT NULL")[0][0], 't');
});
