// places: the gazetteer (migration 0025), a place on organisations, agents
// and engagements, the near= / within_km= / sort=distance filters at their
// exact edge, and saved searches notified (in the app and by mail) of new
// engagements that match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, sql, unique, problemFields, mailsTo } from './helpers.mjs';

const BERLIN = 2950159, POTSDAM = 2852458, MUNICH = 2867714, OAXACA = 3522507;
const km = (a, b) => sql(`SELECT place_distance_km(a.latitude, a.longitude, b.latitude, b.longitude)::text
  FROM places a, places b WHERE a.id = ${a} AND b.id = ${b}`)[0][0];

async function setup() {
  const u = await newUser();
  const p = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  const o = await api('POST', '/api/v1/organisations', {
    token: u.token,
    body: { name: `Org ${unique('o')}`, slug: unique('org'), purpose_statement: 'Do good.', purposes: [p.body.slug],
      legal_form: 'nonprofit', governance: 'consent_based', place: BERLIN },
  });
  assert.equal(o.status, 201, o.text);
  const post = async (title, place, extra = {}) => {
    const res = await api('POST', `/api/v1/organisations/${o.body.slug}/engagements`, {
      token: u.token,
      body: { title, description: 'Work.', purposes: [p.body.slug], packagings: ['volunteer'], hours_per_week: 4,
        remote_ok: false, ...(place === undefined ? {} : { place }), ...extra },
    });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  return { u, purpose: p.body.slug, org: o.body, post };
}

test('GET /api/v1/places finds places by prefix, without accents or case, most populous first', async () => {
  for (const prefix of ['zür', 'ZUR', 'zurich']) {
    const res = await api('GET', `/api/v1/places?prefix=${encodeURIComponent(prefix)}&limit=1`);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.items[0].name, 'Zürich', prefix);
    assert.equal(res.body.items[0].country, 'CH');
  }
  const q = await api('GET', '/api/v1/places?q=oaxa');
  assert.ok(q.body.items.some((x) => x.id === OAXACA), q.text);
  const berlin = await api('GET', '/api/v1/places?q=berlin&limit=3');
  assert.equal(berlin.body.items[0].id, BERLIN);
  for (let i = 1; i < berlin.body.items.length; i++)
    assert.ok(berlin.body.items[i - 1].population >= berlin.body.items[i].population);
  // pages follow on without repeats, most populous first
  const san = await api('GET', '/api/v1/places?q=san&limit=3');
  const next = await api('GET', `/api/v1/places?q=san&limit=3&cursor=${san.body.next_cursor}`);
  assert.equal(next.status, 200, next.text);
  assert.equal(next.body.items.length, 3);
  assert.ok(next.body.items.every((x) => x.name.toLowerCase().startsWith('san') && !san.body.items.some((y) => y.id === x.id)));
  assert.ok(san.body.items[2].population >= next.body.items[0].population);
  const one = await api('GET', `/api/v1/places/${BERLIN}`);
  assert.equal(one.status, 200);
  assert.deepEqual(Object.keys(one.body).sort(), ['admin1', 'country', 'id', 'latitude', 'longitude', 'name', 'population']);
  assert.equal((await api('GET', '/api/v1/places/1')).status, 404);
  assert.equal((await api('GET', '/api/v1/places?prefix=a&q=b')).status, 400);
});

test('a place on organisations, engagements and agents: shown, changed, removed; an unknown place is a 422', async () => {
  const { u, org, post } = await setup();
  assert.equal(org.place.id, BERLIN);
  const e = await post('Placed', POTSDAM);
  assert.equal(e.place.name, 'Potsdam');
  const bad = await api('POST', `/api/v1/organisations/${org.slug}/engagements`, {
    token: u.token,
    body: { title: 'x', description: 'x', purposes: e.purposes.map((p) => p.slug), packagings: ['volunteer'], hours_per_week: 1, place: 1 },
  });
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(problemFields(bad), ['place']);
  // the place's name is searched like the location text
  const found = await api('GET', `/api/v1/engagements?organisation=${org.slug}&q=potsdam`);
  assert.deepEqual(found.body.items.map((x) => x.id), [e.id]);
  const ch = await api('PATCH', `/api/v1/engagements/${e.id}`, { token: u.token, headers: { 'If-Match': `"${e.version}"` }, body: { place: null } });
  assert.equal(ch.status, 200, ch.text);
  assert.equal(ch.body.place, null);
  assert.deepEqual((await api('GET', `/api/v1/engagements?organisation=${org.slug}&q=potsdam`)).body.items, []);
  const agent = await api('PUT', '/api/v1/me/agent', {
    token: u.token, body: { handle: unique('ag'), headline: 'h', skills: [], capacity_hours_per_week: 10, packagings: ['volunteer'], place: MUNICH, remote_ok: true },
  });
  assert.equal(agent.status, 200, agent.text);
  assert.equal(agent.body.place.id, MUNICH);
  const o2 = await api('PATCH', `/api/v1/organisations/${org.slug}`, { token: u.token, headers: { 'If-Match': `"${org.version}"` }, body: { place: OAXACA } });
  assert.equal(o2.status, 200, o2.text);
  assert.equal(o2.body.place.id, OAXACA);
});

test('near= with within_km: a place at exactly within_km is in, a hair less is out; sort=distance orders nearest first', async () => {
  const { org, post } = await setup();
  const inBerlin = await post('In Berlin', BERLIN);
  const inPotsdam = await post('In Potsdam', POTSDAM);
  const inMunich = await post('In Munich', MUNICH);
  await post('Remote, no place', undefined, { remote_ok: true });
  const d = km(BERLIN, POTSDAM);
  const list = async (query) => {
    const res = await api('GET', `/api/v1/engagements?organisation=${org.slug}&${query}`);
    assert.equal(res.status, 200, res.text);
    return res.body.items.map((e) => e.id);
  };
  assert.deepEqual((await list(`near=${BERLIN}&within_km=${d}`)).sort(), [inBerlin.id, inPotsdam.id].sort());
  const less = String(Number(d) - 1e-9);
  assert.ok(Number(less) < Number(d));
  assert.deepEqual(await list(`near=${BERLIN}&within_km=${less}`), [inBerlin.id]);
  // a point: Potsdam's own coordinates
  const [lat, lon] = sql(`SELECT latitude::text, longitude::text FROM places WHERE id = ${POTSDAM}`)[0];
  assert.deepEqual((await list(`near=${lat},${lon}&within_km=${d}`)).sort(), [inBerlin.id, inPotsdam.id].sort());
  // nearest first, through pages
  const first = await api('GET', `/api/v1/engagements?organisation=${org.slug}&near=${POTSDAM}&within_km=1000&sort=distance&limit=2`);
  assert.equal(first.status, 200, first.text);
  assert.deepEqual(first.body.items.map((e) => e.id), [inPotsdam.id, inBerlin.id]);
  const second = await api('GET', `/api/v1/engagements?organisation=${org.slug}&near=${POTSDAM}&within_km=1000&sort=distance&limit=2&cursor=${first.body.next_cursor}`);
  assert.deepEqual(second.body.items.map((e) => e.id), [inMunich.id]);
  // with the default radius (50 km) Munich is out
  assert.deepEqual((await list(`near=${POTSDAM}`)).sort(), [inBerlin.id, inPotsdam.id].sort());
  // bad values are 400s naming the parameter
  for (const [query, field] of [['near=1', 'near'], ['near=91,0', 'near'], ['near=x', 'near'], [`near=${BERLIN}&within_km=0`, 'within_km'],
    [`near=${BERLIN}&within_km=20041`, 'within_km'], ['within_km=5', 'within_km'], ['sort=distance', 'sort'], [`near=${BERLIN}&sort=name`, 'sort']]) {
    const res = await api('GET', `/api/v1/engagements?${query}`);
    assert.equal(res.status, 400, query);
    assert.ok(problemFields(res).includes(field), `${query}: ${res.text}`);
  }
});

test('distance_km: each item of a near= list says how far it is (0.1 km), at the exact within_km edge too; never without near=', async () => {
  const { org, post } = await setup();
  const inBerlin = await post('In Berlin', BERLIN);
  const inPotsdam = await post('In Potsdam', POTSDAM);
  const d = km(BERLIN, POTSDAM);
  const tenth = (x) => Math.round(Number(x) * 10) / 10;
  assert.ok(tenth(d) > 20 && tenth(d) < 30, d);
  for (const sort of ['', '&sort=distance', '&q=potsdam', '&q=berlin']) {
    const res = await api('GET', `/api/v1/engagements?organisation=${org.slug}&near=${BERLIN}&within_km=${d}${sort}`);
    assert.equal(res.status, 200, res.text);
    const by = Object.fromEntries(res.body.items.map((e) => [e.id, e.distance_km]));
    if (sort !== '&q=berlin') assert.equal(by[inPotsdam.id], tenth(d), `${sort}: ${res.text}`);
    if (sort !== '&q=potsdam') assert.equal(by[inBerlin.id], 0, sort);
  }
  // from Potsdam's coordinates: the same figure the other way round
  const [lat, lon] = sql(`SELECT latitude::text, longitude::text FROM places WHERE id = ${POTSDAM}`)[0];
  const point = await api('GET', `/api/v1/engagements?organisation=${org.slug}&near=${lat},${lon}&within_km=${d}&sort=distance`);
  assert.deepEqual(point.body.items.map((e) => [e.id, e.distance_km]), [[inPotsdam.id, 0], [inBerlin.id, tenth(d)]]);
  const plain = await api('GET', `/api/v1/engagements?organisation=${org.slug}`);
  assert.equal(plain.body.items.length, 2);
  assert.ok(plain.body.items.every((e) => !('distance_km' in e)), plain.text);
  const one = await api('GET', `/api/v1/engagements/${inPotsdam.id}`);
  assert.ok(!('distance_km' in one.body), one.text);
});

test('near= on agents: discoverable agents within the radius, nearest first when asked', async () => {
  const { purpose } = await setup();
  const mk = async (place) => {
    const a = await newUser();
    const res = await api('PUT', '/api/v1/me/agent', {
      token: a.token, body: { handle: unique('ag'), headline: 'h', skills: [], capacity_hours_per_week: 10, packagings: ['volunteer'], place, remote_ok: false, discoverable: true },
    });
    assert.equal(res.status, 200, res.text);
    const ps = await api('PUT', '/api/v1/me/agent/purposes', { token: a.token, body: [{ purpose, energy: 50 }] });
    assert.equal(ps.status, 200, ps.text);
    return res.body.handle;
  };
  const berlin = await mk(BERLIN), potsdam = await mk(POTSDAM), munich = await mk(MUNICH);
  const d = km(BERLIN, POTSDAM);
  const res = await api('GET', `/api/v1/agents?purpose=${purpose}&near=${BERLIN}&within_km=${d}&sort=distance`);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.items.map((a) => a.handle), [berlin, potsdam]);
  assert.deepEqual(res.body.items.map((a) => a.distance_km), [0, Math.round(Number(d) * 10) / 10]);
  const out = await api('GET', `/api/v1/agents?purpose=${purpose}&near=${BERLIN}&within_km=${Number(d) - 1e-9}`);
  assert.deepEqual(out.body.items.map((a) => a.handle), [berlin]);
  assert.equal(out.body.items[0].distance_km, 0);
  const plain = await api('GET', `/api/v1/agents?purpose=${purpose}`);
  assert.ok(plain.body.items.length === 3 && plain.body.items.every((a) => !('distance_km' in a)), plain.text);
  const all = await api('GET', `/api/v1/agents?purpose=${purpose}&near=${MUNICH}&within_km=1000&sort=distance`);
  assert.deepEqual(all.body.items.map((a) => a.handle), [munich, potsdam, berlin].slice(0, 1).concat(
    Number(km(MUNICH, POTSDAM)) < Number(km(MUNICH, BERLIN)) ? [potsdam, berlin] : [berlin, potsdam]));
});

test('saved searches: saved, listed, deleted; a new matching engagement notifies once, in the app and by mail', async () => {
  const { org, purpose, post } = await setup();
  const fan = await newUser('Searcher');
  const word = 'zq' + unique('w').slice(2).replace(/-/g, '');
  const bad = await api('POST', '/api/v1/me/saved-searches', { token: fan.token, body: { name: '', near: 1, within_km: -1, packaging: 'x', extra: 1 } });
  assert.equal(bad.status, 422, bad.text);
  assert.deepEqual(problemFields(bad), ['extra', 'name', 'near', 'packaging', 'within_km']);
  const saved = await api('POST', '/api/v1/me/saved-searches', {
    token: fan.token, body: { name: 'Near Berlin', q: word, purpose, near: BERLIN, within_km: 50 },
  });
  assert.equal(saved.status, 201, saved.text);
  assert.deepEqual(saved.body.filters, { q: word, purpose, near: String(BERLIN), within_km: 50 });
  assert.match(saved.headers.get('location'), new RegExp(`/api/v1/me/saved-searches/${saved.body.id}$`));
  const listed = await api('GET', '/api/v1/me/saved-searches', { token: fan.token });
  assert.deepEqual(listed.body.items.map((s) => s.id), [saved.body.id]);
  // someone else's list is their own; unauthenticated is a 401
  assert.deepEqual((await api('GET', '/api/v1/me/saved-searches', { token: (await newUser()).token })).body.items, []);
  assert.equal((await api('GET', '/api/v1/me/saved-searches')).status, 401);

  await post(`Not matching ${word}`, MUNICH);           // too far
  await post('Not matching either', POTSDAM);           // no word
  const hit = await post(`Matching ${word}`, POTSDAM);
  const notes = await api('GET', '/api/v1/me/notifications', { token: fan.token });
  const matched = notes.body.items.filter((n) => n.kind === 'saved_search_match');
  assert.equal(matched.length, 1, notes.text);
  assert.equal(matched[0].engagement_id ?? matched[0].payload?.engagement_id, hit.id);
  const mails = await mailsTo(fan.email, { count: 2 }); // the address's confirmation, then this
  assert.ok(mails.some((m) => m.text.includes(`Matching ${word}`)), 'mailed');
  // the poster is not notified of their own engagement
  assert.equal(sql(`SELECT count(*) FROM notifications WHERE kind = 'saved_search_match' AND engagement_id = ${hit.id}`)[0][0], '1');

  assert.equal((await api('DELETE', `/api/v1/me/saved-searches/${saved.body.id}`, { token: (await newUser()).token })).status, 404);
  assert.equal((await api('DELETE', `/api/v1/me/saved-searches/${saved.body.id}`, { token: fan.token })).status, 204);
  await post(`Matching again ${word}`, POTSDAM);
  const after = await api('GET', '/api/v1/me/notifications', { token: fan.token });
  assert.equal(after.body.items.filter((n) => n.kind === 'saved_search_match').length, 1);
  void org;
});

test('an engagement page\'s JobPosting: jobLocation from its place (town, country, coordinates), validThrough from closes_on', async () => {
  const { u, post } = await setup();
  const e = await post('With a closing day', POTSDAM, { closes_on: '2031-05-31' });
  assert.equal(e.closes_on, '2031-05-31');
  const page = await fetch(`${process.env.BASE_URL}/engagements/${e.id}`);
  assert.equal(page.status, 200);
  const html = await page.text();
  const ld = JSON.parse(html.split('<script type="application/ld+json">')[1].split('</script>')[0]);
  assert.equal(ld['@type'], 'JobPosting');
  assert.equal(ld.validThrough, '2031-05-31T23:59:59Z');
  assert.deepEqual(ld.jobLocation.address, { '@type': 'PostalAddress', addressLocality: 'Potsdam', addressCountry: 'DE' });
  assert.equal(ld.jobLocation.geo['@type'], 'GeoCoordinates');
  assert.equal(typeof ld.jobLocation.geo.latitude, 'number');
  // no closing day, no validThrough; a bad one is a 422
  const open = await post('No closing day', POTSDAM);
  const html2 = await (await fetch(`${process.env.BASE_URL}/engagements/${open.id}`)).text();
  assert.ok(!html2.includes('validThrough'));
  const bad = await api('PATCH', `/api/v1/engagements/${open.id}`, { token: u.token, headers: { 'If-Match': `"${open.version}"` }, body: { closes_on: '31/05/2031' } });
  assert.equal(bad.status, 422);
  assert.deepEqual(problemFields(bad), ['closes_on']);
});
