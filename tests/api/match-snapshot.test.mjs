// The match index's snapshot (MATCH_SNAPSHOT, lib/match/snapshot.c): a
// daemon that stops writes its index to a file with the change log position
// it is exact at; the next start loads it instead of building, then reads
// the log from that position. These tests show that a loaded index is the
// file's (a daemon that reads no log answers from it), that a change made
// while no daemon ran is in the answers of the next one, and that a file
// that is damaged, of another database, or older than the log kept is not
// used: the index is built as without one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { api, metric, newUser, sql, startDaemon, unique } from './helpers.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function ready(d) {
  const end = Date.now() + 30000;
  while (await metric('match_index_ready', d.base) !== 1) {
    if (Date.now() > end) throw new Error(`no index after 30 s:\n${d.log()}`);
    await sleep(50);
  }
}

// A purpose, an organisation, an agent who supports the purpose.
async function world() {
  const owner = await newUser();
  const p = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(p.status, 201, p.text);
  const org = unique('org');
  const o = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Org ${org}`, slug: org, purpose_statement: 'Do good.', purposes: [p.body.slug], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(o.status, 201, o.text);
  const agent = await newUser('Agent Person');
  let res = await api('PUT', '/api/v1/me/agent', {
    token: agent.token,
    body: { handle: unique('agent'), headline: 'Gardener', personal_purpose: 'Beds', skills: [], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
  res = await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: p.body.slug, energy: 50 }] });
  assert.equal(res.status, 200, res.text);
  return { owner, purpose: p.body.slug, org, agent };
}

// An engagement posted through the suite's daemon (its triggers log it).
async function post(w, title) {
  const e = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title, description: 'Tend the beds.', purposes: [w.purpose], packagings: ['volunteer'], hours_per_week: 4, rewards: { non_cash: ['learning'] } },
  });
  assert.equal(e.status, 201, e.text);
  return e.body.id;
}

const matchIds = async (base, w) => {
  const res = await api('GET', '/api/v1/me/matches?limit=100', { base, token: w.agent.token });
  assert.equal(res.status, 200, res.text);
  return res.body.items.map((i) => i.engagement.id);
};

async function stop(d) {
  const { code } = await d.stop();
  assert.equal(code, 0, d.log());
}

test('a stopped daemon leaves its index in the file, and the next start loads it and reads the log on from there', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'purposed-snapshot-'));
  const file = join(dir, 'match.snapshot');
  const w = await world();
  try {
    const e1 = await post(w, 'Before the snapshot');
    const a = await startDaemon({ MATCH_SNAPSHOT: file });
    await ready(a);
    assert.equal(await metric('match_index_builds_total', a.base), 1);
    assert.equal(await metric('match_index_snapshot_loads_total', a.base), 0, 'no file yet: built');
    assert.ok((await matchIds(a.base, w)).includes(e1));
    await stop(a);
    assert.ok(existsSync(file), a.log());
    assert.match(a.log(), /match_snapshot_saved/);

    // while no daemon with the file runs: a new engagement (in the log)
    const e2 = await post(w, 'While it was down');

    // a daemon that reads no log answers from the file alone: e1, not e2
    const b = await startDaemon({ MATCH_SNAPSHOT: file, CHANGES_POLL_MS: '0' });
    await ready(b);
    assert.equal(await metric('match_index_snapshot_loads_total', b.base), 1, b.log());
    assert.equal(await metric('match_index_builds_total', b.base), 0, 'loaded, not built');
    let ids = await matchIds(b.base, w);
    assert.ok(ids.includes(e1), 'what the file holds');
    assert.ok(!ids.includes(e2), 'the file was written before e2: only the log has it');
    assert.ok(await metric('match_index_start_seconds', b.base) > 0);
    await stop(b);

    // a daemon that follows the log: the file, then e2 from the log
    const c = await startDaemon({ MATCH_SNAPSHOT: file });
    await ready(c);
    assert.equal(await metric('match_index_snapshot_loads_total', c.base), 1, c.log());
    assert.equal(await metric('match_index_builds_total', c.base), 0);
    const end = Date.now() + 5000;
    while (!(ids = await matchIds(c.base, w)).includes(e2) && Date.now() < end) await sleep(50);
    assert.ok(ids.includes(e1) && ids.includes(e2), `${ids}`);
    // its answers are a fresh build's, in the same order
    const fresh = await startDaemon({});
    await ready(fresh);
    assert.deepEqual(await matchIds(c.base, w), await matchIds(fresh.base, w));
    await stop(fresh);
    await stop(c);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a snapshot older than the log kept, damaged, or of another schema or database is not used: the index is built', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'purposed-snapshot-'));
  const file = join(dir, 'match.snapshot');
  const w = await world();
  try {
    const a = await startDaemon({ MATCH_SNAPSHOT: file });
    await ready(a);
    await stop(a);
    const good = readFileSync(file);

    // the log pruned past the file's position while it was down: loaded,
    // then given up for a build, and the change made meanwhile is there
    const e = await post(w, 'Pruned past');
    sql('UPDATE change_log_horizon SET pruned_xid = pg_current_xact_id()');
    const b = await startDaemon({ MATCH_SNAPSHOT: file });
    await ready(b);
    const end = Date.now() + 10000;
    while (await metric('match_index_builds_total', b.base) < 1 && Date.now() < end) await sleep(50);
    assert.equal(await metric('match_index_snapshot_loads_total', b.base), 1);
    assert.equal(await metric('match_index_builds_total', b.base), 1, b.log());
    assert.match(b.log(), /pruned past this position/);
    assert.ok((await matchIds(b.base, w)).includes(e));
    await stop(b);

    // one byte changed: refused, built
    const bad = Buffer.from(good);
    bad[Math.floor(bad.length / 2)] ^= 0x20;
    writeFileSync(file, bad);
    const c = await startDaemon({ MATCH_SNAPSHOT: file, CHANGES_POLL_MS: '0' });
    await ready(c);
    assert.equal(await metric('match_index_snapshot_loads_total', c.base), 0);
    assert.equal(await metric('match_index_builds_total', c.base), 1);
    assert.match(c.log(), /match_snapshot_not_used.*damaged/);
    assert.ok((await matchIds(c.base, w)).includes(e));
    await stop(c);

    // written against another schema (a migration more): refused, built
    writeFileSync(file, good);
    const name = `9999_snapshot_test_${process.pid}`;
    sql(`INSERT INTO schema_migrations (name, checksum) VALUES ('${name}', 'x')`);
    try {
      const d = await startDaemon({ MATCH_SNAPSHOT: file, CHANGES_POLL_MS: '0' });
      await ready(d);
      assert.equal(await metric('match_index_snapshot_loads_total', d.base), 0, d.log());
      assert.equal(await metric('match_index_builds_total', d.base), 1);
      assert.match(d.log(), /match_snapshot_not_used.*another database, schema/);
      await stop(d);
    } finally {
      sql(`DELETE FROM schema_migrations WHERE name = '${name}'`);
    }
    // and the same file is good again once the schema is what it was (d
    // wrote its own at its stop)
    writeFileSync(file, good);
    const g = await startDaemon({ MATCH_SNAPSHOT: file, CHANGES_POLL_MS: '0' });
    await ready(g);
    assert.equal(await metric('match_index_snapshot_loads_total', g.base), 1, g.log());
    await stop(g);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a migration applied while a daemon runs: its file is written for the schema its index was built on, and the next start builds', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'purposed-snapshot-'));
  const file = join(dir, 'match.snapshot');
  const name = `9998_snapshot_test_${process.pid}`;
  try {
    const a = await startDaemon({ MATCH_SNAPSHOT: file, CHANGES_POLL_MS: '0' });
    await ready(a);
    // a release job migrates while a runs (a migration may change rows
    // without the change log): a's index is of the schema before it
    sql(`INSERT INTO schema_migrations (name, checksum) VALUES ('${name}', 'x')`);
    await stop(a);
    assert.ok(existsSync(file), a.log());
    const b = await startDaemon({ MATCH_SNAPSHOT: file, CHANGES_POLL_MS: '0' });
    await ready(b);
    assert.equal(await metric('match_index_snapshot_loads_total', b.base), 0, b.log());
    assert.equal(await metric('match_index_builds_total', b.base), 1);
    assert.match(b.log(), /match_snapshot_not_used.*another database, schema/);
    await stop(b);
    // b built on the new schema, and its file says so: the next start loads it
    const c = await startDaemon({ MATCH_SNAPSHOT: file, CHANGES_POLL_MS: '0' });
    await ready(c);
    assert.equal(await metric('match_index_snapshot_loads_total', c.base), 1, c.log());
    await stop(c);
  } finally {
    sql(`DELETE FROM schema_migrations WHERE name = '${name}'`);
    rmSync(dir, { recursive: true, force: true });
  }
});
