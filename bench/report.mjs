// bench/report.mjs: called by bench/run — reads the per-test summaries in $TMP,
// prints the table, writes bench/results/latest.json and the final "bench:"
// line; exits 1 when any measured test saw a non-2xx response or socket error.
import { readFileSync, writeFileSync, existsSync } from 'node:fs';
import { execSync } from 'node:child_process';
import { join } from 'node:path';
import os from 'node:os';

const env = process.env;
const tmp = env.TMP;
const read = (name) => (existsSync(join(tmp, name)) ? readFileSync(join(tmp, name), 'utf8').trim() : null);

const tests = [
  ['get_by_id', 'GET /api/v1/engagements/{id}'],
  ['list_purpose', 'GET /api/v1/engagements?purpose=…&limit=20'],
  ['list_fts', 'GET /api/v1/engagements?q=…&limit=20'],
  ['list_fts_uncached', 'GET /api/v1/engagements?q=…&limit=20, every query new (answer cache of no help)'],
  ['near_agents', 'GET /api/v1/agents?near=…&within_km=50&limit=20, every place new to the cache'],
  ['near_engagements', 'GET /api/v1/engagements?near=…&within_km=50&sort=distance&limit=20'],
  ['me_matches', 'GET /api/v1/me/matches?limit=20'],
  ['engagement_matches', 'GET /api/v1/engagements/{id}/matches?limit=20'],
  ['writes', 'POST /api/v1/organisations/{slug}/engagements'],
  ['fanout_0', 'POST …/engagements, one organisation with 0 followers'],
  ['fanout_10000', 'POST …/engagements, one organisation with 10,000 matching followers'],
  ['pgbench_n', 'reference: pgbench -N -M prepared (writes)'],
  ['pgbench', 'reference: pgbench -S -M prepared'],
  ['postgrest', 'reference: PostgREST 12 GET ?id=eq.{id}'],
];

const results = {};
let failed = [];
for (const [name, what] of tests) {
  const r = { what, connections: Number(read(`${name}.conns`)) || null };
  const probe = read(`${name}.probe`);
  const json = read(`${name}.json`);
  if (probe && probe !== 'ok') {
    r.status = probe;
  } else if (json) {
    Object.assign(r, JSON.parse(json));
    if (r.error) {
      r.status = 'failed: ' + r.error;
      failed.push(name);
    } else {
      const sock = r.socket_errors ? Object.values(r.socket_errors).reduce((a, b) => a + b, 0) : 0;
      r.status = r.non2xx || sock ? `FAILED: ${r.non2xx} non-2xx, ${sock} socket errors` : 'ok';
      if (r.non2xx || sock) failed.push(name);
    }
  } else {
    r.status = 'not run';
  }
  // reads answered from the answer cache during the measured run
  const cache = (read(`${name}.cache`) || '').split(/\s+/).map(Number);
  if (cache.length === 4 && cache.every(Number.isFinite)) {
    const hits = cache[2] - cache[0], misses = cache[3] - cache[1];
    if (hits + misses > 0) r.cache_hit_ratio = Number((hits / (hits + misses)).toFixed(3));
  }
  results[name] = r;
}

const ok = (n) => results[n].status === 'ok';
const fmt = (x, d = 2) => (x === undefined || x === null ? '-' : Number(x).toFixed(d));
const ratio = (a, b) => (ok(a) && ok(b) && results[b].rps > 0 ? fmt(results[a].rps / results[b].rps, 3) : 'missing');
const val = (n, k, d = 2) => (ok(n) ? fmt(results[n][k], d) : 'missing');
const rssMiB = (Number(read('rss_kb')) || 0) / 1024;
// the sampled consistency check (bench/consistency.mjs) and the match index's
// start-up build ("N agents, M engagements, K KiB, T ms" from the daemon log)
const consistency = read('match_consistency.json') ? JSON.parse(read('match_consistency.json')) : null;
if (consistency && (consistency.differences || consistency.error)) failed.push('match_consistency');
const built = (read('match_index.txt') || '').match(/(\d+) agents, (\d+) engagements, (\d+) KiB, (\d+) ms/);
const matchIndex = built ? { agents: Number(built[1]), engagements: Number(built[2]),
  mib: Number((built[3] / 1024).toFixed(1)), build_s: Number((built[4] / 1000).toFixed(2)) } : null;

// the restart on the snapshot the first daemon's stop left (bench/run, match_restart)
const restart = read('match_restart.json') ? JSON.parse(read('match_restart.json')) : null;
const restartConsistency = read('match_consistency_restart.json') ? JSON.parse(read('match_consistency_restart.json')) : null;
if (restartConsistency && (restartConsistency.differences || restartConsistency.error)) failed.push('match_consistency (restarted)');
if (restart && restart.loads !== 1) failed.push('match_restart (the snapshot was not loaded)');

const summary = {
  get_by_id_vs_pgbench: ratio('get_by_id', 'pgbench'),
  get_by_id_vs_postgrest: ratio('get_by_id', 'postgrest'),
  list_vs_pgbench: ratio('list_purpose', 'pgbench'),
  fts_p99_ms: val('list_fts', 'p99_ms'),
  fts_uncached_p99_ms: val('list_fts_uncached', 'p99_ms'),
  matches_p99_ms: val('me_matches', 'p99_ms'),
  engagement_matches_p99_ms: val('engagement_matches', 'p99_ms'),
  writes_per_s: val('writes', 'rps', 0),
  writes_vs_pgbench_n: ratio('writes', 'pgbench_n'),
  post_p50_ms_0_followers: val('fanout_0', 'p50_ms'),
  post_p50_ms_10000_followers: val('fanout_10000', 'p50_ms'),
  rss_mib: rssMiB > 0 ? fmt(rssMiB, 0) : 'missing',
  match_build_s: matchIndex ? fmt(matchIndex.build_s) : 'missing',
  match_consistency: !consistency ? 'missing' : consistency.error ? 'FAILED'
    : consistency.differences ? `FAILED(${consistency.differences})` : `ok(${consistency.pairs})`,
  match_restart_s: restart ? fmt(restart.ready_seconds) : 'missing',
  match_restart_consistency: !restartConsistency ? 'missing' : restartConsistency.error ? 'FAILED'
    : restartConsistency.differences ? `FAILED(${restartConsistency.differences})` : `ok(${restartConsistency.pairs})`,
};
const line = 'bench: ' + Object.entries(summary).map(([k, v]) => `${k}=${v}`).join(' ');

// the table
const rows = [['test', 'conns', 'req/s', 'p50 ms', 'p99 ms', 'cache hits', 'status']];
for (const [name] of tests) {
  const r = results[name];
  const measured = r.rps !== undefined;
  rows.push([name, String(r.connections ?? '-'), measured ? fmt(r.rps, 0) : '-',
    measured && r.p50_ms !== undefined ? fmt(r.p50_ms) : (r.mean_ms !== undefined ? `(mean ${fmt(r.mean_ms)})` : '-'),
    measured && r.p99_ms !== undefined ? fmt(r.p99_ms) : '-',
    r.cache_hit_ratio !== undefined ? `${fmt(r.cache_hit_ratio * 100, 1)} %` : '-', r.status]);
}
const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
const table = rows.map((row) => row.map((c, i) => (i === 0 || i === 6 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd());
console.log('\n' + table.join('\n') + '\n');
console.log(`load average (1 min) at start ${read('loadavg')?.split(' ')[0] ?? '?'}, at end ${os.loadavg()[0].toFixed(2)} on ${os.cpus().length} cores`);

let commit = null;
try { commit = execSync('git rev-parse --short HEAD', { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim(); } catch { /* not a checkout */ }
const out = {
  date: new Date().toISOString(),
  commit,
  machine: { cores: os.cpus().length, cpu: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30),
    shared: true, loadavg_1m_at_start: Number((read('loadavg') || '').split(' ')[0]) || null,
    loadavg_1m_at_end: Number(os.loadavg()[0].toFixed(2)) },
  mode: env.QUICK === '1' ? 'quick' : 'full',
  daemon_cache_mb: env.BENCH_CACHE_MB !== undefined && env.BENCH_CACHE_MB !== '' ? Number(env.BENCH_CACHE_MB) : 'default',
  warmup_s: Number(env.WARMUP),
  duration_s: Number(env.DURATION),
  wrk_threads: Number(env.THREADS),
  data_set: { seed: Number(env.SEED), scale: Number(env.SCALE), generate_seconds: Number(env.GEN_SECONDS) || null,
    counts: env.COUNTS ? JSON.parse(env.COUNTS) : null },
  tests: results,
  fanout_drain: read('fanout_drain.json') ? JSON.parse(read('fanout_drain.json')) : null,
  rss_mib: rssMiB > 0 ? Math.round(rssMiB) : null,
  match_index: matchIndex,
  match_consistency: consistency,
  match_restart: restart,
  match_consistency_restart: restartConsistency,
  summary,
  line,
};
writeFileSync(join(env.RESULTS, 'latest.json'), JSON.stringify(out, null, 2) + '\n');
console.log('results: bench/results/latest.json');
if (consistency?.first_difference || consistency?.error) console.error(`match_consistency: ${consistency.first_difference || consistency.error}`);
if (failed.length) console.error(`error: ${failed.join(', ')} saw non-2xx responses, socket errors or differences`);
console.log(line);
process.exit(failed.length ? 1 : 0);
