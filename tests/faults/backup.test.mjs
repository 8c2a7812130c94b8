// backup: a `pg_dump -Fc` of the live database, restored with `pg_restore`
// into a new database, is served by a second daemon exactly like the first:
// the same JSON for organisations, charter history, engagements, agent
// profiles and agreements, every table with the same row count as the dump's
// snapshot, old session tokens still valid, and new writes accepted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { newUser, req, sql, startDaemon, until } from './lib.mjs';

const tag = () => randomUUID().slice(0, 8);
const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const pgBin = (name) => (process.env.PG_BINDIR ? path.join(process.env.PG_BINDIR, name) : name);

// A database of the test cluster, as the postgres user over the Unix socket
// (the URL scripts/lib/common.sh builds).
function clusterUrl(db) {
  const { PG_DIR, PG_PORT } = process.env;
  if (!PG_DIR || !PG_PORT) throw new Error('PG_DIR and PG_PORT must be set (scripts/test or scripts/dev-env)');
  return `postgresql:///${db}?host=${PG_DIR}/sock&port=${PG_PORT}&user=postgres`;
}
const psql = (url, query) => execFileSync('psql', [url, '-XqAt', '-v', 'ON_ERROR_STOP=1', '-c', query],
  { encoding: 'utf8' }).trim();
const run = (bin, args) => execFileSync(pgBin(bin), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

// Row count of every table in public, read inside one transaction (with the
// given exported snapshot, when there is one).
const COUNTS = `SELECT string_agg(table_name || '=' || (xpath('/row/c/text()', query_to_xml(
    format('SELECT count(*) AS c FROM public.%I', table_name), false, true, '')))[1]::text, ' ' ORDER BY table_name)
  FROM information_schema.tables WHERE table_schema = 'public' AND table_type = 'BASE TABLE'`;
function tableCounts(url, snapshot) {
  const q = snapshot
    ? `BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '${snapshot}'; ${COUNTS}; COMMIT`
    : COUNTS;
  return Object.fromEntries(psql(url, q).split(' ').map((kv) => kv.split('=')));
}

// Keep a transaction open that exported its snapshot, so the dump and the
// row counts see exactly the same data even if other tests write meanwhile.
async function exportSnapshot() {
  const proc = spawn('psql', [process.env.DATABASE_URL, '-XqAt', '-v', 'ON_ERROR_STOP=1'],
    { stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout.on('data', (b) => { out += b; });
  const exited = new Promise((resolve) => proc.on('exit', resolve));
  proc.stdin.write('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;\nSELECT pg_export_snapshot();\n');
  const id = await until('the exported snapshot', () => out.match(/^([0-9A-F]+-[0-9A-F]+-\d+)$/m)?.[1]);
  return { id, async release() { proc.stdin.end('COMMIT;\n'); await exited; } };
}

// Everything a user would look at, as (label, status, etag, body) tuples.
async function snapshotApi(base, w) {
  const reads = [
    ['organisation', 'GET', `/api/v1/organisations/${w.org}`],
    ['charter', 'GET', `/api/v1/organisations/${w.org}/charter`],
    ['members', 'GET', `/api/v1/organisations/${w.org}/members`, w.owner.token],
    ['followers', 'GET', `/api/v1/organisations/${w.org}/followers`, w.owner.token],
    ['engagements', 'GET', `/api/v1/engagements?organisation=${w.org}`],
    ...w.engagements.map((id) => [`engagement ${id}`, 'GET', `/api/v1/engagements/${id}`]),
    ['agent profile', 'GET', `/api/v1/agents/${w.handle}`],
    ['own agent', 'GET', '/api/v1/me/agent', w.agent.token],
    ['agreement', 'GET', `/api/v1/agreements/${w.agreement}`, w.agent.token],
    ['agreement versions', 'GET', `/api/v1/agreements/${w.agreement}/versions`, w.owner.token],
    ['organisation agreements', 'GET', `/api/v1/organisations/${w.org}/agreements`, w.owner.token],
    ['my agreements', 'GET', '/api/v1/me/agreements', w.agent.token],
    ['notifications', 'GET', '/api/v1/me/notifications', w.agent.token],
    ['purpose', 'GET', `/api/v1/purposes/${w.purposes[0]}`],
    ['owner me', 'GET', '/api/v1/me', w.owner.token],
    ['agent me', 'GET', '/api/v1/me', w.agent.token],
  ];
  const out = {};
  for (const [label, method, p, token] of reads) {
    const res = await req(base, method, p, { token });
    assert.equal(res.status, 200, `${label} on ${base}: ${res.text}`);
    out[label] = { etag: res.headers.get('etag'), body: res.body };
  }
  return out;
}

// An organisation with an amended charter, a member, two engagements, an
// agent with energy for two purposes who follows it, and an active agreement.
async function makeWorld(base) {
  const owner = await newUser(base);
  const member = await newUser(base);
  const agent = await newUser(base);
  const purposes = [];
  for (const name of [`Backup soil ${tag()}`, `Backup water ${tag()}`]) {
    const res = await req(base, 'POST', '/api/v1/purposes', { token: owner.token, body: { name, description: 'backups' } });
    assert.equal(res.status, 201, res.text);
    purposes.push(res.body.slug);
  }
  let res = await req(base, 'POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Backup co-op ${tag()}`, purpose_statement: 'Seeds for every village.', association_norms: 'Consent.',
            purposes, legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  const org = res.body.slug;
  res = await req(base, 'PATCH', `/api/v1/organisations/${org}`, {
    token: owner.token, headers: { 'If-Match': '"1"' },
    body: { purpose_statement: 'Seeds and soil for every village.', change_note: 'Soil too.' },
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.charter_version, 2);
  // a member joins by invitation: the owner asks, the person accepts
  res = await req(base, 'POST', `/api/v1/organisations/${org}/members`, { token: owner.token, body: { email: member.email, role: 'admin' } });
  assert.equal(res.status, 202, res.text);
  res = await req(base, 'POST', `/api/v1/me/invitations/${org}/accept`, { token: member.token });
  assert.equal(res.status, 201, res.text);
  const engagements = [];
  for (const title of ['Seed librarian', 'Soil tester']) {
    res = await req(base, 'POST', `/api/v1/organisations/${org}/engagements`, {
      token: owner.token,
      body: { title, description: `${title} for the backup test`, purposes: [purposes[0]], packagings: ['volunteer'],
              hours_per_week: 4, skills: ['seeds'], remote_ok: true, rewards: { non_cash: ['learning'] } },
    });
    assert.equal(res.status, 201, res.text);
    engagements.push(res.body.id);
  }
  const handle = `backup-${tag()}`;
  res = await req(base, 'PUT', '/api/v1/me/agent', {
    token: agent.token,
    body: { handle, headline: 'Seed saver', personal_purpose: 'Soil', skills: ['seeds'], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
  res = await req(base, 'PUT', '/api/v1/me/agent/purposes', {
    token: agent.token, body: [{ purpose: purposes[0], energy: 60 }, { purpose: purposes[1], energy: 30 }],
  });
  assert.equal(res.status, 200, res.text);
  res = await req(base, 'PUT', `/api/v1/organisations/${org}/follow`, { token: agent.token });
  assert.equal(res.status, 204, res.text);
  res = await req(base, 'POST', '/api/v1/agreements', {
    token: agent.token,
    body: { organisation: org, agent: handle, engagement: engagements[0], role: 'Seed librarian', purposes: [purposes[0]],
            packaging: 'volunteer', hours_per_week: 4, terms: 'Two afternoons a month.',
            rewards: { cash: null, non_cash: ['learning'] }, starts_on: day(1) },
  });
  assert.equal(res.status, 201, res.text);
  const agreement = res.body.id;
  res = await req(base, 'POST', `/api/v1/agreements/${agreement}/accept`, { token: owner.token });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.status, 'active');
  return { owner, member, agent, purposes, org, engagements, handle, agreement };
}

test('pg_dump -Fc, pg_restore into a new database: a second daemon serves the same data', async () => {
  const d = await startDaemon({ LOG_REQUESTS: '0' });
  const restoredDb = `purposed_restore_${tag()}`;
  const restoredUrl = clusterUrl(restoredDb);
  const dir = mkdtempSync(path.join(process.env.TEST_TMP ?? os.tmpdir(), 'backup-'));
  const dump = path.join(dir, 'purposed.dump');
  let d2 = null;
  try {
    const w = await makeWorld(d.base);
    const before = await snapshotApi(d.base, w);
    assert.equal(before.charter.body.items.length, 2);
    assert.deepEqual(before['own agent'].body.purposes.map((p) => [p.slug, p.energy]), [[w.purposes[0], 60], [w.purposes[1], 30]]);
    assert.equal(before.agreement.body.status, 'active');

    // the dump, taken while the first daemon keeps serving
    const snap = await exportSnapshot();
    let counts;
    try {
      run('pg_dump', ['-Fc', `--snapshot=${snap.id}`, '-f', dump, process.env.DATABASE_URL]);
      counts = tableCounts(process.env.DATABASE_URL, snap.id);
    } finally {
      await snap.release();
    }
    assert.ok(statSync(dump).size > 0);

    // restore into a new database
    psql(clusterUrl('postgres'), `CREATE DATABASE "${restoredDb}"`);
    run('pg_restore', ['--exit-on-error', '--no-owner', '-d', restoredUrl, dump]);
    assert.deepEqual(tableCounts(restoredUrl), counts, 'row counts of every table');
    assert.ok(Number(counts.accounts) >= 3 && Number(counts.organisation_charters) >= 2, JSON.stringify(counts));
    const MIGRATIONS = "SELECT string_agg(name || ' ' || checksum, ',' ORDER BY name) FROM schema_migrations";
    assert.equal(psql(restoredUrl, MIGRATIONS), sql(MIGRATIONS), 'schema_migrations with their checksums');

    d2 = await startDaemon({ LOG_REQUESTS: '0', DATABASE_URL: restoredUrl, AUTO_MIGRATE: '0' });
    const ready = await req(d2.base, 'GET', '/readyz');
    assert.equal(ready.status, 200, ready.text);
    assert.deepEqual(ready.body, (await req(d.base, 'GET', '/readyz')).body);

    // the same answers, byte for byte as JSON, with the old session tokens
    const after = await snapshotApi(d2.base, w);
    for (const label of Object.keys(before)) assert.deepEqual(after[label], before[label], label);

    // the restored database takes writes (sequences, constraints, triggers
    // came along) and the two databases are independent from here on
    let res = await req(d2.base, 'PATCH', `/api/v1/organisations/${w.org}`, {
      token: w.member.token, headers: { 'If-Match': before.organisation.etag },
      body: { association_norms: 'Consent, after the restore.', change_note: 'Restored.' },
    });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.body.charter_version, 3);
    res = await req(d2.base, 'POST', `/api/v1/organisations/${w.org}/engagements`, {
      token: w.owner.token,
      body: { title: 'After the restore', description: 'A new engagement', purposes: [w.purposes[1]], packagings: ['volunteer'],
              hours_per_week: 2, skills: [], remote_ok: true, rewards: { non_cash: [] } },
    });
    assert.equal(res.status, 201, res.text);
    res = await req(d2.base, 'POST', '/api/v1/purposes', { token: w.agent.token, body: { name: `Restored ${tag()}`, description: 'x' } });
    assert.equal(res.status, 201, res.text);
    assert.equal((await req(d.base, 'GET', `/api/v1/organisations/${w.org}/charter`)).body.items.length, 2,
      'the original database is untouched');

    // signing out on the restore revokes the token there only
    res = await req(d2.base, 'DELETE', '/api/v1/sessions/current', { token: w.agent.token });
    assert.equal(res.status, 204, res.text);
    assert.equal((await req(d2.base, 'GET', '/api/v1/me', { token: w.agent.token })).status, 401);
    assert.equal((await req(d.base, 'GET', '/api/v1/me', { token: w.agent.token })).status, 200);
  } finally {
    const stopped = [];
    for (const x of [d2, d]) if (x) stopped.push({ ...(await x.stop()), log: x.log() });
    psql(clusterUrl('postgres'), `DROP DATABASE IF EXISTS "${restoredDb}" WITH (FORCE)`);
    rmSync(dir, { recursive: true, force: true });
    for (const { code, log } of stopped) {
      assert.equal(code, 0, log.slice(-2000));
      assert.doesNotMatch(log, /Sanitizer|runtime error/);
    }
  }
  assert.equal(psql(clusterUrl('postgres'), `SELECT count(*) FROM pg_database WHERE datname = '${restoredDb}'`), '0');
});
