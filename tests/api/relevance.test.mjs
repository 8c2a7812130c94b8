// relevance: free text finds what people type. A fixed set of engagements
// (under one new purpose, so other tests' data stays out of the answers) and
// fixed queries with their expected results, best first.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, unique } from './helpers.mjs';

let purpose;
let owner;
let riverbank;
const ids = {};

before(async () => {
  const u = await newUser();
  const p = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: `Relevance ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  purpose = p.body.slug;
  const org = async (name) => {
    const res = await api('POST', '/api/v1/organisations', {
      token: u.token,
      body: { name, slug: unique('org'), purpose_statement: 'Do good.', purposes: [purpose], legal_form: 'nonprofit', governance: 'consent_based' },
    });
    assert.equal(res.status, 201, res.text);
    return res.body.slug;
  };
  owner = u;
  const seedline = await org('Seedline Collective');
  const other = await org('Riverbank Trust');
  riverbank = other;
  const post = async (key, slug, body) => {
    const res = await api('POST', `/api/v1/organisations/${slug}/engagements`, {
      token: u.token,
      body: { purposes: [purpose], packagings: ['volunteer'], hours_per_week: 4, remote_ok: false, skills: [], ...body },
    });
    assert.equal(res.status, 201, res.text);
    ids[key] = res.body.id;
  };
  await post('seed_nursery', seedline, { title: 'Nursery volunteer', description: 'Pot seedlings in spring.' });
  await post('seed_grants', seedline, { title: 'Grant writer', description: 'Write applications.' });
  await post('oaxaca', other, { title: 'Community kitchen helper', description: 'Cook with neighbours.', location: 'Oaxaca, Mexico' });
  await post('teacher', other, { title: 'Maths teacher for evening classes', description: 'Adults finishing school.' });
  await post('teach', other, { title: 'Reading circle', description: 'We teach adults to read, one evening a week.' });
  await post('python', other, { title: 'Data pipeline helper', description: 'Move rainfall records.', skills: ['Python', 'SQL'] });
  await post('educacion', other, { title: 'Coordinador de educación ambiental', description: 'Talleres en escuelas.' });
  await post('unrelated', other, { title: 'Bike mechanic', description: 'Fix donated bicycles.' });
});

const search = async (q) => {
  const res = await api('GET', `/api/v1/engagements?purpose=${purpose}&q=${encodeURIComponent(q)}`);
  assert.equal(res.status, 200, res.text);
  const names = Object.fromEntries(Object.entries(ids).map(([k, v]) => [v, k]));
  return { names: res.body.items.map((e) => names[e.id]), body: res.body };
};

test('an organisation\'s name finds its engagements', async () => {
  assert.deepEqual((await search('Seedline')).names.sort(), ['seed_grants', 'seed_nursery']);
  assert.deepEqual((await search('seedline nursery')).names, ['seed_nursery']);
});

test('a place finds what is located there', async () => {
  assert.deepEqual((await search('Oaxaca')).names, ['oaxaca']);
  assert.deepEqual((await search('kitchen oaxaca')).names, ['oaxaca']);
});

test('"teaching" finds "teacher" and "teach", the title match first', async () => {
  assert.deepEqual((await search('teaching')).names, ['teacher', 'teach']);
  assert.deepEqual((await search('teach')).names, ['teacher', 'teach']);
});

test('the last word is a prefix: "pyth" finds Python work, through its skills', async () => {
  assert.deepEqual((await search('pyth')).names, ['python']);
  assert.deepEqual((await search('data pip')).names, ['python']);
  // earlier words are whole words
  assert.deepEqual((await search('pyth data')).names, []);
});

test('accents do not matter: "educacion" finds "educación" and the other way round', async () => {
  assert.deepEqual((await search('educacion')).names, ['educacion']);
  assert.deepEqual((await search('EDUCACIÓN ambiental')).names, ['educacion']);
  assert.deepEqual((await search('educación')).names, ['educacion']);
});

test('web search syntax still works: -word excludes, "quotes" are a phrase', async () => {
  assert.deepEqual((await search('seedline -grant')).names, ['seed_nursery']);
  assert.deepEqual((await search('"evening classes"')).names, ['teacher']);
});

test('nothing found: did_you_mean offers a spelling that finds something', async () => {
  const typo = await search('Seadline');
  assert.deepEqual(typo.names, []);
  assert.equal(typo.body.did_you_mean, 'seedline');
  const fixed = await search(typo.body.did_you_mean);
  assert.equal(fixed.names.length, 2);
  // a query that finds things has no suggestion; nor has one with nothing close
  assert.equal((await search('Seedline')).body.did_you_mean, undefined);
  assert.equal((await search('qqxxzzqq')).body.did_you_mean, undefined);
});

test('a query of stop words only filters nothing, newest first', async () => {
  const all = Object.keys(ids).reverse();
  assert.deepEqual((await search('the')).names, all);
  assert.deepEqual((await search('and of the')).names, all);
});

// The page is built from each engagement's own answer (GET /engagements/{id},
// cached or read): byte for byte what GET gives, whether the answer cache held
// it or not, and an edit shows in the next search.
test('a search\'s items are the engagements\' own answers, byte for byte, cached or not, and after an edit', async () => {
  const word = `quokka${Math.random().toString(36).slice(2, 8)}`;
  const made = [];
  for (const title of [`${word} survey`, `${word} census`, `Night ${word} walk`]) {
    const res = await api('POST', `/api/v1/organisations/${riverbank}/engagements`, {
      token: owner.token,
      body: { purposes: [purpose], packagings: ['volunteer'], hours_per_week: 2, remote_ok: true, skills: ['Field work'], title, description: 'Count them. \u00e9t\u00e9 "quoted" \\ text.' },
    });
    assert.equal(res.status, 201, res.text);
    made.push(res.body);
  }
  // a query nobody made before: the answer cache holds no list for it
  const fresh = () => `${word} -zq${Math.random().toString(36).slice(2, 10)}`;
  const check = async () => {
    const page = await api('GET', `/api/v1/engagements?q=${encodeURIComponent(fresh())}&limit=2`);
    assert.equal(page.status, 200, page.text);
    assert.equal(page.body.items.length, 2);
    const gets = [];
    for (const e of page.body.items) {
      const one = await api('GET', `/api/v1/engagements/${e.id}`);
      assert.equal(one.status, 200, one.text);
      // what GET answers, whoever stored it: the compact JSON and its version's ETag
      assert.equal(one.text, JSON.stringify(one.body));
      assert.equal(one.headers.get('etag'), `"${one.body.version}"`);
      gets.push(one.text);
    }
    assert.ok(page.text.startsWith(`{"items":[${gets.join(',')}],"next_cursor":"`), `${page.text}\n${gets.join('\n')}`);
    return page.body.items;
  };
  const first = await check(); // read from PostgreSQL
  const again = await check(); // from the answer cache (GET stored them)
  assert.deepEqual(again.map((e) => e.id), first.map((e) => e.id));
  const edited = first[0];
  const res = await api('PATCH', `/api/v1/engagements/${edited.id}`, {
    token: owner.token, body: { title: `${edited.title} at dawn` }, headers: { 'If-Match': `"${edited.version}"` },
  });
  assert.equal(res.status, 200, res.text);
  const after = await check();
  assert.equal(after.find((e) => e.id === edited.id)?.title, `${edited.title} at dawn`);
});
