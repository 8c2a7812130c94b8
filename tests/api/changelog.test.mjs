// The change log (migration 0019, lib/follower.h): every daemon follows the
// table change_log for its match index and answer cache. These tests show
// what that guarantees: a daemon's own change is seen by its next answer
// even when it does not follow the log at all; a transaction that took its
// sequence number first and committed last is not skipped; two daemons
// converge; a log pruned past a follower's position makes it start over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { api, metric, newUser, sql, startDaemon, unique, BASE } from './helpers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// A request to any daemon (sessions live in PostgreSQL: a token works on all).
async function at(base, method, path, opts = {}) {
  const headers = { ...(opts.headers ?? {}) };
  let body;
  if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['Content-Type'] = 'application/json';
  }
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null, text };
}

// Ask until check(res) holds or ms pass; the last answer.
async function until(ask, check, ms = 1000) {
  const started = Date.now();
  let res;
  for (;;) {
    res = await ask();
    if (check(res) || Date.now() - started > ms) return res;
    await sleep(20);
  }
}

// An owner, a purpose, an organisation and one open engagement, made on base.
async function setup(base = BASE) {
  const u = await newUser();
  const p = await at(base, 'POST', '/api/v1/purposes', { token: u.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  const slug = unique('org');
  const o = await at(base, 'POST', '/api/v1/organisations', {
    token: u.token,
    body: { name: `Org ${slug}`, slug, purpose_statement: 'Do good.', purposes: [p.body.slug], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(o.status, 201, o.text);
  const e = await newEngagement(base, u, slug, p.body.slug);
  return { u, purpose: p.body.slug, org: slug, e };
}

async function newEngagement(base, u, org, purpose, title = 'Log gardener') {
  const e = await at(base, 'POST', `/api/v1/organisations/${org}/engagements`, {
    token: u.token,
    body: { title, description: 'Tend the beds.', purposes: [purpose], packagings: ['volunteer'], hours_per_week: 4, rewards: { non_cash: ['learning'] } },
  });
  assert.equal(e.status, 201, e.text);
  return e.body;
}

async function newAgent(base, purpose) {
  const user = await newUser('Agent Person');
  let res = await at(base, 'PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle: unique('agent'), headline: 'Gardener', personal_purpose: 'Beds', skills: [], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
  res = await at(base, 'PUT', '/api/v1/me/agent/purposes', { token: user.token, body: [{ purpose, energy: 50 }] });
  assert.equal(res.status, 200, res.text);
  return user;
}

// PATCH through base, with the ETag read through readFrom (a daemon that
// has seen the latest version).
async function patch(base, u, id, fields, readFrom = base) {
  const cur = await at(readFrom, 'GET', `/api/v1/engagements/${id}`);
  const res = await at(base, 'PATCH', `/api/v1/engagements/${id}`, { token: u.token, headers: { 'If-Match': cur.headers.get('etag') }, body: fields });
  assert.equal(res.status, 200, res.text);
  return res.body;
}

const matchIds = async (base, user) =>
  ((await at(base, 'GET', '/api/v1/me/matches?limit=50', { token: user.token })).body?.items ?? []).map((i) => i.engagement.id);

test("a daemon that does not follow the log still answers its own changes at once", async () => {
  const { u, purpose, org, e } = await setup();
  const agent = await newAgent(BASE, purpose);
  // B builds its index and starts its cache now, then never reads the log
  const b = await startDaemon({ CHANGES_POLL_MS: '0' });
  try {
    const item = `/api/v1/engagements/${e.id}`;
    const list = `/api/v1/engagements?purpose=${purpose}`;
    const built = await until(() => matchIds(b.base, agent), (ids) => ids.includes(e.id), 10000);
    assert.deepEqual(built, [e.id], 'the engagement is in B\'s first build');
    for (let i = 0; i < 2; i++) {
      assert.equal((await at(b.base, 'GET', item)).body.title, 'Log gardener');
      assert.equal((await at(b.base, 'GET', list)).body.items.length, 1);
    }
    assert.ok(await metric('answer_cache_hits_total', b.base) >= 2, 'B answers from memory');

    // held back: a change made elsewhere does not reach B's answers
    await patch(BASE, u, e.id, { title: 'Changed on A' });
    await sleep(600);
    assert.equal((await at(b.base, 'GET', item)).body.title, 'Log gardener', 'B does not follow the log');

    // B's own changes: seen by B's very next read
    await patch(b.base, u, e.id, { title: 'Changed on B' }, BASE);
    assert.equal((await at(b.base, 'GET', item)).body.title, 'Changed on B');
    const second = await newEngagement(b.base, u, org, purpose, 'Second bed');
    const items = (await at(b.base, 'GET', list)).body.items.map((x) => x.id);
    assert.deepEqual(items.sort(), [e.id, second.id].sort());
    // matching re-checks its candidates: an agent who stops being
    // discoverable through B leaves the engagement's matches on B at once,
    // and an engagement closed through B leaves B's matches at once,
    // although B's index never heard of either
    const agentsFor = async () => ((await at(b.base, 'GET', `/api/v1/engagements/${e.id}/matches?limit=50`, { token: u.token })).body?.items ?? [])
      .map((i) => i.agent.handle);
    const handle = (await at(b.base, 'GET', '/api/v1/me/agent', { token: agent.token })).body.handle;
    assert.deepEqual(await agentsFor(), [handle], 'the agent is in B\'s first build');
    const hidden = await at(b.base, 'PUT', '/api/v1/me/agent', { token: agent.token, body: { handle, discoverable: false } });
    assert.equal(hidden.status, 200, hidden.text);
    assert.deepEqual(await agentsFor(), []);
    assert.ok((await matchIds(b.base, agent)).includes(e.id), 'a hidden agent still sees their own matches');
    await patch(b.base, u, e.id, { status: 'closed' });
    assert.deepEqual(await matchIds(b.base, agent), []);
    assert.equal(await metric('change_log_polls_total', b.base), 0);
  } finally {
    const { code } = await b.stop();
    assert.equal(code, 0, b.log());
  }
});

// psql in a transaction that stays open until commit() is called.
function heldTransaction() {
  const p = spawn('psql', [process.env.DATABASE_URL, '-XqAt', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let seen = 0;
  p.stdout.on('data', (d) => { out += d; });
  const exited = new Promise((resolve) => p.on('exit', resolve));
  const run = async (query, marker) => {
    p.stdin.write(`${query}\nSELECT '${marker}';\n`);
    for (let i = 0; i < 200 && !out.includes(marker); i++) await sleep(10);
    assert.ok(out.includes(marker), `psql answered: ${out}`);
    const lines = out.slice(seen, out.indexOf(marker, seen)).trim().split('\n').filter(Boolean);
    seen = out.indexOf(marker, seen) + marker.length;
    return lines;
  };
  return { run, commit: async () => { p.stdin.end('COMMIT;\n'); return exited; }, kill: () => p.kill() };
}

test('a change whose sequence number came first but whose commit came last is not skipped', async () => {
  const { e: x } = await setup();
  const { e: y } = await setup();
  const read = (id) => api('GET', `/api/v1/engagements/${id}`);
  for (const id of [x.id, y.id]) { await read(id); await read(id); }
  const held = heldTransaction();
  try {
    await held.run(`BEGIN; UPDATE engagements SET title = 'Held back' WHERE id = ${x.id};`, 'updated');
    const [heldSeq] = await held.run(`SELECT max(seq) FROM change_log WHERE topic = 'cache' AND payload = 'e:${x.id}';`, 'seq');
    sql(`UPDATE engagements SET title = 'Committed first' WHERE id = ${y.id}`);
    const [[laterSeq]] = sql(`SELECT max(seq) FROM change_log WHERE topic = 'cache' AND payload = 'e:${y.id}'`);
    assert.ok(Number(heldSeq) < Number(laterSeq), `${heldSeq} < ${laterSeq}`);
    // the later one is read while the earlier one is still in flight ...
    const seenY = await until(() => read(y.id), (r) => r.body.title === 'Committed first');
    assert.equal(seenY.body.title, 'Committed first');
    await sleep(200); // several polls past it
    assert.equal((await read(x.id)).body.title, x.title);
    await read(x.id);
    // ... and the earlier one when it commits
    assert.equal(await held.commit(), 0);
    const seenX = await until(() => read(x.id), (r) => r.body.title === 'Held back');
    assert.equal(seenX.body.title, 'Held back');
  } finally {
    held.kill();
  }
});

test('two daemons converge: changes made through either, or in SQL, reach both', async () => {
  const b = await startDaemon();
  try {
    const one = await setup(BASE);
    const two = await setup(b.base);
    const agent = await newAgent(BASE, one.purpose);
    const bases = [BASE, b.base];
    for (const base of bases) for (const id of [one.e.id, two.e.id]) await at(base, 'GET', `/api/v1/engagements/${id}`);
    await patch(BASE, one.u, one.e.id, { title: 'Title from A' });
    await patch(b.base, two.u, two.e.id, { title: 'Title from B' });
    const third = await newEngagement(b.base, one.u, one.org, one.purpose, 'Posted on B');
    sql(`UPDATE organisations SET name = 'Renamed in SQL ${one.org}' WHERE slug = '${one.org}'`);
    for (const base of bases) {
      const a = await until(() => at(base, 'GET', `/api/v1/engagements/${one.e.id}`),
        (r) => r.body.title === 'Title from A' && r.body.organisation.name.startsWith('Renamed in SQL'));
      assert.equal(a.body.title, 'Title from A', base);
      assert.ok(a.body.organisation.name.startsWith('Renamed in SQL'), base);
      const t = await until(() => at(base, 'GET', `/api/v1/engagements/${two.e.id}`), (r) => r.body.title === 'Title from B');
      assert.equal(t.body.title, 'Title from B', base);
      const m = await until(() => matchIds(base, agent), (ids) => ids.includes(third.id) && ids.includes(one.e.id));
      assert.deepEqual(m.sort(), [one.e.id, third.id].sort(), base);
    }
    assert.ok(await metric('change_log_changes_total', b.base) > 0);
  } finally {
    const { code } = await b.stop();
    assert.equal(code, 0, b.log());
  }
});

test('pruning deletes old rows only, and a log pruned past a position makes its followers start over', async () => {
  const oldSeqs = sql(`INSERT INTO change_log (topic, payload, at) VALUES ('cache', 'l', now() - interval '1 hour'), ('match', 'a:0', now() - interval '1 hour') RETURNING seq`).map(([s]) => s);
  const [[newSeq]] = sql(`INSERT INTO change_log (topic, payload) VALUES ('cache', 'l') RETURNING seq`);
  const [[gone]] = sql(`SELECT change_log_prune('300 seconds')`);
  assert.ok(Number(gone) >= 2, `pruned ${gone}`);
  // the rows this test wrote an hour back (rows other tests wrote near the
  // 300 s edge may fall either side of it between the prune and this read)
  const [[old, kept]] = sql(`SELECT count(*) FILTER (WHERE seq IN (${oldSeqs.join(',')})), count(*) FILTER (WHERE seq = ${newSeq}) FROM change_log`);
  assert.equal(Number(old), 0, 'the old rows are gone');
  assert.equal(Number(kept), 1, 'a recent row stays');
  const [[horizonPassed]] = sql(`SELECT pruned_xid >= (SELECT xid FROM change_log WHERE seq = ${newSeq}) FROM change_log_horizon`);
  assert.equal(horizonPassed, 'f', 'the horizon is below what was kept');
  // every position taken before this commit may have needed a pruned row
  const builds = await metric('match_index_builds_total');
  const wordBuilds = await metric('words_index_builds_total');
  const resyncs = await metric('change_log_resyncs_total');
  sql('UPDATE change_log_horizon SET pruned_xid = pg_current_xact_id()');
  const started = Date.now();
  // the resync is counted when it starts, the build when it is done
  while ((await metric('change_log_resyncs_total') < resyncs + 3 ||
          await metric('match_index_builds_total') < builds + 1 ||
          await metric('words_index_builds_total') < wordBuilds + 1) && Date.now() - started < 5000) await sleep(50);
  assert.equal(await metric('change_log_resyncs_total'), resyncs + 3,
    'the three followers (match index, answer cache, words) took a new position');
  assert.equal(await metric('match_index_builds_total'), builds + 1, 'the index was built again');
  assert.equal(await metric('words_index_builds_total'), wordBuilds + 1, 'the words\' index was built again');
  assert.equal(await metric('answer_cache_live'), 1);
  // and they follow on from there
  const { e } = await setup();
  await api('GET', `/api/v1/engagements/${e.id}`);
  sql(`UPDATE engagements SET title = 'After the prune' WHERE id = ${e.id}`);
  const seen = await until(() => api('GET', `/api/v1/engagements/${e.id}`), (r) => r.body.title === 'After the prune');
  assert.equal(seen.body.title, 'After the prune');
});
