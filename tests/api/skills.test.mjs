// skills: one catalogue of skills with canonical keys (migration 0015).
// "python", " Python " and "PYTHON" are one skill for filters, matching and
// suggestions; each record keeps its own spelling; the catalogue keeps the
// first spelling, accents included.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, sql, unique } from './helpers.mjs';

const word = () => 'zq' + Array.from({ length: 8 }, () => String.fromCharCode(97 + Math.floor(Math.random() * 26))).join('');

async function setup() {
  const u = await newUser();
  const p = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  const o = await api('POST', '/api/v1/organisations', {
    token: u.token,
    body: { name: `Org ${unique('o')}`, slug: unique('org'), purpose_statement: 'Do good.', purposes: [p.body.slug], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(o.status, 201, o.text);
  const post = async (title, skills) => {
    const res = await api('POST', `/api/v1/organisations/${o.body.slug}/engagements`, {
      token: u.token,
      body: { title, description: 'Work.', purposes: [p.body.slug], packagings: ['volunteer'], hours_per_week: 4, skills, remote_ok: true },
    });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  return { u, org: o.body.slug, post };
}

test('skills differing in case, white space and width are one skill to the filter; each record keeps its spelling', async () => {
  const { org, post } = await setup();
  const w = word();
  const a = await post('A', [`  Python   ${w} `, `python ${w}`, `PYTHON ${w}`, 'Teaching']);
  // one per key, the first spelling given, trimmed and with single spaces
  assert.deepEqual(a.skills, [`Python ${w}`, 'Teaching']);
  const b = await post('B', [`pyThon ${w}`]);
  assert.deepEqual(b.skills, [`pyThon ${w}`]);
  await post('C', ['Gardening']);
  for (const spelling of [`python ${w}`, `Python ${w}`, ` PYTHON  ${w}`, `Ｐｙｔｈｏｎ ${w}`]) {
    const res = await api('GET', `/api/v1/engagements?organisation=${org}&skill=${encodeURIComponent(spelling)}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.items.map((e) => e.title).sort(), ['A', 'B'], spelling);
  }
  // the catalogue has the key once, with the first spelling anyone gave
  const rows = sql(`SELECT key, name FROM skill_catalogue WHERE key = 'python ${w}'`);
  assert.deepEqual(rows, [[`python ${w}`, `Python ${w}`]]);
  // every record's keys are its skills' keys, in order
  assert.deepEqual(sql(`SELECT count(*) FROM engagements WHERE skill_keys IS DISTINCT FROM
      ARRAY(SELECT skill_key(s) FROM unnest(skills) WITH ORDINALITY u(s, i) ORDER BY i)`), [['0']]);
});

test('accents: the key has none, the name keeps them; GET /api/v1/skills?prefix= suggests by key', async () => {
  const { post } = await setup();
  const w = word();
  await post('Educ', [`Educación ${w}`]);
  const want = { key: `educacion ${w}`, name: `Educación ${w}` };
  for (const prefix of [`educación ${w.slice(0, 4)}`, `EDUCACION ${w.slice(0, 5)}`, `educacion ${w}`]) {
    const res = await api('GET', `/api/v1/skills?prefix=${encodeURIComponent(prefix)}`);
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.body.items, [want], prefix);
    assert.equal(res.body.next_cursor, null);
  }
  const found = await api('GET', `/api/v1/engagements?skill=${encodeURIComponent(`educacion ${w}`)}`);
  assert.deepEqual(found.body.items.map((e) => e.title), ['Educ']);
  // LIKE's wildcards are text in a prefix
  const wild = await api('GET', `/api/v1/skills?prefix=${encodeURIComponent('%')}`);
  assert.equal(wild.status, 200);
  assert.ok(wild.body.items.every((s) => s.key.startsWith('%')));
  // too long is a 400 naming the parameter
  const long = await api('GET', `/api/v1/skills?prefix=${'x'.repeat(101)}`);
  assert.equal(long.status, 400);
});

test('GET /api/v1/skills pages through the catalogue in key order', async () => {
  const { post } = await setup();
  const w = word();
  await post('Many', ['a', 'b', 'c', 'd', 'e'].map((x) => `${w} ${x}`));
  const seen = [];
  let cursor = null;
  do {
    const res = await api('GET', `/api/v1/skills?prefix=${w}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, res.text);
    seen.push(...res.body.items.map((s) => s.key));
    cursor = res.body.next_cursor;
  } while (cursor);
  assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e'].map((x) => `${w} ${x}`));
});

test('agents are found by the skill key too', async () => {
  const user = await newUser();
  const handle = unique('h');
  const w = word();
  const res = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle, headline: 'Hi', personal_purpose: '', skills: [`Rust  ${w}`, `rust ${w}`], capacity_hours_per_week: 10, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.skills, [`Rust ${w}`]);
  for (const spelling of [`RUST ${w}`, ` rust   ${w} `]) {
    const list = await api('GET', `/api/v1/agents?skill=${encodeURIComponent(spelling)}`);
    assert.deepEqual(list.body.items.map((a) => a.handle), [handle], spelling);
  }
});
