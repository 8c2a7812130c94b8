// The answer cache (lib/rcache.h): public engagement reads are answered from
// memory, and never staler than the change notification — a daemon's own
// change is seen by its next read, a change made anywhere else (SQL, another
// daemon) as soon as PostgreSQL delivers the NOTIFY.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, metric, newUser, problemFields, sql, startDaemon, unique, until, BASE } from './helpers.mjs';

async function setup() {
  const u = await newUser();
  const p = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  const slug = unique('org');
  const o = await api('POST', '/api/v1/organisations', {
    token: u.token,
    body: { name: `Org ${slug}`, slug, purpose_statement: 'Do good.', purposes: [p.body.slug], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(o.status, 201, o.text);
  const e = await api('POST', `/api/v1/organisations/${slug}/engagements`, {
    token: u.token,
    body: { title: 'Cached gardener', description: 'Tend the beds.', purposes: [p.body.slug], packagings: ['volunteer'], hours_per_week: 4, rewards: { non_cash: ['learning'] } },
  });
  assert.equal(e.status, 201, e.text);
  return { u, purpose: p.body.slug, org: slug, id: e.body.id };
}

// Read until check(res) holds or two seconds pass; returns the last answer.
async function eventually(path, check, base = BASE) {
  let res;
  for (let i = 0; i < 40; i++) {
    const r = await fetch(base + path);
    res = { status: r.status, body: await r.json(), headers: r.headers };
    if (check(res)) return res;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return res;
}

test('a repeated read is answered from memory, the same bytes and ETag', async () => {
  assert.equal(await metric('answer_cache_live'), 1);
  const { id } = await setup();
  const first = await api('GET', `/api/v1/engagements/${id}`);
  // (the setup's own NOTIFY may still drop it once: read until a hit)
  let hit = false;
  for (let i = 0; i < 5 && !hit; i++) {
    const hits = await metric('answer_cache_hits_total');
    const again = await api('GET', `/api/v1/engagements/${id}`);
    assert.equal(again.status, 200);
    assert.equal(again.text, first.text);
    assert.equal(again.headers.get('etag'), first.headers.get('etag'));
    assert.equal(again.headers.get('content-type'), 'application/json');
    hit = await metric('answer_cache_hits_total') === hits + 1;
  }
  assert.ok(hit, 'a repeated read was a hit');
});

test('If-None-Match with the current ETag gets 304, from memory or not', async () => {
  const { id } = await setup();
  const first = await api('GET', `/api/v1/engagements/${id}`);
  const etag = first.headers.get('etag');
  for (let i = 0; i < 2; i++) {
    const res = await api('GET', `/api/v1/engagements/${id}`, { headers: { 'If-None-Match': etag } });
    assert.equal(res.status, 304);
    assert.equal(res.text, '');
    assert.equal(res.headers.get('etag'), etag);
  }
  const other = await api('GET', `/api/v1/engagements/${id}`, { headers: { 'If-None-Match': '"999999"' } });
  assert.equal(other.status, 200);
});

// Tested on a daemon that never reads the change log (CHANGES_POLL_MS=0):
// on one that does, the log usually drops the stale answer before the next
// read anyway, and a route that forgot to drop its own would go unnoticed.
test("the daemon's own change is seen by its very next read", async () => {
  const { u, org, purpose, id } = await setup();
  const b = await startDaemon({ CHANGES_POLL_MS: '0' });
  try {
    const at = (method, path, opts = {}) => api(method, path, { ...opts, base: b.base });
    const list = `/api/v1/engagements?organisation=${org}`;
    // cached on B: each read twice, the second from memory
    const hits = await metric('answer_cache_hits_total', b.base);
    for (const path of [`/api/v1/engagements/${id}`, list, `/api/v1/engagements?purpose=${purpose}`]) {
      await at('GET', path);
      await at('GET', path);
    }
    assert.equal(await metric('answer_cache_hits_total', b.base), hits + 3, 'B answers from memory');
    const before = await at('GET', `/api/v1/engagements/${id}`);
    const patched = await at('PATCH', `/api/v1/engagements/${id}`, {
      token: u.token, headers: { 'If-Match': before.headers.get('etag') }, body: { title: 'Renamed gardener' },
    });
    assert.equal(patched.status, 200, patched.text);
    const after = await at('GET', `/api/v1/engagements/${id}`);
    assert.equal(after.body.title, 'Renamed gardener');
    assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
    assert.equal((await at('GET', list)).body.items[0].title, 'Renamed gardener');

    const posted = await at('POST', `/api/v1/organisations/${org}/engagements`, {
      token: u.token,
      body: { title: 'Second role', description: 'More beds.', purposes: [purpose], packagings: ['volunteer'], hours_per_week: 2, rewards: { non_cash: [] } },
    });
    assert.equal(posted.status, 201, posted.text);
    const items = (await at('GET', `/api/v1/engagements?purpose=${purpose}`)).body.items.map((e) => e.id);
    assert.deepEqual(items, [posted.body.id, id]);

    const etag = (await at('GET', `/api/v1/organisations/${org}`)).headers.get('etag');
    const renamed = await at('PATCH', `/api/v1/organisations/${org}`, { token: u.token, headers: { 'If-Match': etag }, body: { name: 'Renamed org' } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal((await at('GET', `/api/v1/engagements/${id}`)).body.organisation.name, 'Renamed org');
    assert.equal(await metric('change_log_polls_total', b.base), 0, 'B never read the change log');
  } finally {
    const { code } = await b.stop();
    assert.equal(code, 0, b.log());
  }
});

test('a new engagement changes the lists, not the cached answers of other engagements', async () => {
  const { u, org, purpose, id } = await setup();
  const post = async (title) => {
    const res = await api('POST', `/api/v1/organisations/${org}/engagements`, {
      token: u.token,
      body: { title, description: 'More beds.', purposes: [purpose], packagings: ['volunteer'], hours_per_week: 2, rewards: { non_cash: [] } },
    });
    assert.equal(res.status, 201, res.text);
    return res.body.id;
  };
  // The setup's own NOTIFY ("e:id") may still be on its way and drop the
  // answer once more: that is allowed, so try a few times. With a flush of
  // everything on each new engagement, every try fails.
  let held = false;
  const posted = [];
  for (let attempt = 0; attempt < 5 && !held; attempt++) {
    await api('GET', `/api/v1/engagements/${id}`);
    await api('GET', `/api/v1/engagements?purpose=${purpose}`);
    posted.unshift(await post(`Another role ${attempt}`));
    const hits = await metric('answer_cache_hits_total');
    assert.equal((await api('GET', `/api/v1/engagements/${id}`)).status, 200);
    held = await metric('answer_cache_hits_total') === hits + 1;
    if (!held) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(held, 'the engagement stayed in memory across a new engagement');
  // ... while the list was read again and shows the new one
  const list = await api('GET', `/api/v1/engagements?purpose=${purpose}`);
  assert.deepEqual(list.body.items.map((e) => e.id), [...posted, id]);
});

test('a change made in PostgreSQL directly reaches the cached answers through NOTIFY', async () => {
  const { org, purpose, id } = await setup();
  await api('GET', `/api/v1/engagements/${id}`);
  await api('GET', `/api/v1/engagements?purpose=${purpose}`);
  await api('GET', `/api/v1/engagements/${id}`);
  sql(`UPDATE engagements SET title = 'Changed in SQL' WHERE id = ${id}`);
  let res = await eventually(`/api/v1/engagements/${id}`, (r) => r.body.title === 'Changed in SQL');
  assert.equal(res.body.title, 'Changed in SQL');
  res = await eventually(`/api/v1/engagements?purpose=${purpose}`, (r) => r.body.items[0]?.title === 'Changed in SQL');
  assert.equal(res.body.items[0].title, 'Changed in SQL');

  // what engagement_json reads from other tables: the organisation and purposes
  sql(`UPDATE organisations SET name = 'Org renamed in SQL' WHERE slug = '${org}'`);
  res = await eventually(`/api/v1/engagements/${id}`, (r) => r.body.organisation.name === 'Org renamed in SQL');
  assert.equal(res.body.organisation.name, 'Org renamed in SQL');
  const name = `Purpose renamed ${purpose}`;
  sql(`UPDATE purposes SET name = '${name}' WHERE slug = '${purpose}'`);
  res = await eventually(`/api/v1/engagements/${id}`, (r) => r.body.purposes[0]?.name === name);
  assert.equal(res.body.purposes[0].name, name);
  sql(`DELETE FROM engagement_purposes WHERE engagement_id = ${id}`);
  res = await eventually(`/api/v1/engagements/${id}`, (r) => r.body.purposes.length === 0);
  assert.deepEqual(res.body.purposes, []);
});

test("a second daemon on the same database sees the first one's change", async () => {
  const { u, id } = await setup();
  const b = await startDaemon();
  try {
    const path = `/api/v1/engagements/${id}`;
    const read = async () => { const r = await fetch(b.base + path); return { status: r.status, body: await r.json(), etag: r.headers.get('etag') }; };
    await read();
    const cached = await read();
    assert.equal(cached.body.title, 'Cached gardener');
    const patched = await api('PATCH', path, { token: u.token, headers: { 'If-Match': cached.etag }, body: { title: 'Changed on A' } });
    assert.equal(patched.status, 200, patched.text);
    let seen;
    for (let i = 0; i < 40; i++) {
      seen = await read();
      if (seen.body.title === 'Changed on A') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(seen.body.title, 'Changed on A');
    assert.ok(await metric('answer_cache_hits_total', b.base) >= 1);
  } finally {
    const { code } = await b.stop();
    assert.equal(code, 0, b.log());
  }
});

test('a listener cut off by the server reconnects, and changes after it are still heard', async () => {
  const { id } = await setup();
  const path = `/api/v1/engagements/${id}`;
  await api('GET', path);
  const inv = await metric('answer_cache_invalidations_total');
  const killed = sql("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'purposed-cache' AND datname = current_database()) t");
  assert.ok(Number(killed[0][0]) >= 1);
  // lost (stale, not live), then listening again (stale, live)
  let live = 0;
  for (let i = 0; i < 60 && (live !== 1 || await metric('answer_cache_invalidations_total') < inv + 2); i++) {
    await new Promise((r) => setTimeout(r, 50));
    live = await metric('answer_cache_live');
  }
  assert.equal(live, 1);
  assert.ok(await metric('answer_cache_invalidations_total') >= inv + 2);
  await api('GET', path);
  await api('GET', path);
  sql(`UPDATE engagements SET title = 'After the reconnect' WHERE id = ${id}`);
  const res = await eventually(path, (r) => r.body.title === 'After the reconnect');
  assert.equal(res.body.title, 'After the reconnect');
});

test('different query strings are different answers; a bad one is still a 400', async () => {
  const { purpose } = await setup();
  const a = await api('GET', `/api/v1/engagements?purpose=${purpose}`);
  const b = await api('GET', `/api/v1/engagements?purpose=${purpose}&status=closed`);
  const c = await api('GET', `/api/v1/engagements?purpose=${purpose}`);
  assert.equal(a.body.items.length, 1);
  assert.equal(b.body.items.length, 0);
  assert.equal(c.text, a.text);
  for (let i = 0; i < 2; i++) {
    const bad = await api('GET', `/api/v1/engagements?purpose=${purpose}&status=nope`);
    assert.equal(bad.status, 400);
  }
  // a parameter the route does not take is refused, never kept as another answer
  const junk = await api('GET', `/api/v1/engagements?purpose=${purpose}&x=${'a'.repeat(3000)}`);
  assert.equal(junk.status, 400);
  assert.deepEqual(problemFields(junk), ['x']);
});

// The change log's position and how many changes this daemon's followers
// have read; logRead(mark) waits until they have read every change logged
// after mark (the cache's and the matcher's topics).
async function logMark() {
  return { seq: Number(sql('SELECT coalesce(max(seq), 0) FROM change_log')[0][0]), read: await metric('change_log_changes_total') };
}
async function logRead(mark) {
  const logged = Number(sql(`SELECT count(*) FROM change_log WHERE seq > ${mark.seq} AND topic IN ('cache', 'match')`)[0][0]);
  await until(`the follower to read ${logged} changes`, async () => await metric('change_log_changes_total') >= mark.read + logged);
}

test('one answer per meaning: another order or a default spelled out is the same entry; junk makes none', async () => {
  const mark = await logMark();
  const { purpose } = await setup();
  const path = `/api/v1/engagements?purpose=${purpose}&packaging=volunteer`;
  // the setup's own changes reach the follower through the change log and
  // drop the lists once more: wait until it has read them
  await logRead(mark);
  const first = await api('GET', path);
  const held = await metric('answer_cache_hits_total');
  assert.equal((await api('GET', path)).text, first.text);
  assert.equal(await metric('answer_cache_hits_total'), held + 1, 'the second read is from memory');
  assert.equal(first.status, 200);
  assert.equal(first.body.items.length, 1);
  const entries = await metric('answer_cache_entries');
  const hits = await metric('answer_cache_hits_total');
  const same = [
    `/api/v1/engagements?packaging=volunteer&purpose=${purpose}`,
    `/api/v1/engagements?purpose=${purpose}&packaging=volunteer&limit=20`,
    `/api/v1/engagements?status=open&purpose=${purpose}&packaging=volunteer`,
    `/api/v1/engagements?q=&purpose=${purpose}&skill=&packaging=volunteer&remote=`,
  ];
  for (const p of same) {
    const res = await api('GET', p);
    assert.equal(res.status, 200, p);
    assert.equal(res.text, first.text, p);
  }
  assert.equal(await metric('answer_cache_hits_total'), hits + same.length, 'each was a hit');
  assert.equal(await metric('answer_cache_entries'), entries, 'no new entry');
  // junk parameters: 400 naming each, and nothing stored
  for (let i = 0; i < 50; i++) {
    const res = await api('GET', `${path}&junk${i}=${i}&utm_source=x`);
    assert.equal(res.status, 400);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
    assert.deepEqual(problemFields(res), [`junk${i}`, 'utm_source'].sort());
  }
  assert.equal(await metric('answer_cache_entries'), entries);
});

test('CACHE_MB=0 turns the cache off: every read goes to PostgreSQL', async () => {
  const { id } = await setup();
  const b = await startDaemon({ CACHE_MB: '0' });
  try {
    for (let i = 0; i < 3; i++) assert.equal((await fetch(`${b.base}/api/v1/engagements/${id}`)).status, 200);
    assert.equal(await metric('answer_cache_live', b.base), 0);
    assert.equal(await metric('answer_cache_hits_total', b.base), 0);
  } finally {
    const { code } = await b.stop();
    assert.equal(code, 0, b.log());
  }
});
