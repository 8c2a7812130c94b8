// bench/search-cpu.mjs: CPU per search nobody made before, which a loaded
// machine stretches far less than latency. Sends BENCH_SEARCHES searches
// (default 1000) on BENCH_SEARCH_CONNS connections (default 4), each a term of
// terms.txt with a unique word excluded as list_fts_uncached does, and reads
// the CPU time (utime + stime) of the daemon (BENCH_PID) and of its
// PostgreSQL backends (the client backends of DATABASE_URL's database) from
// /proc before and after. Run it on the machine of the daemon and of
// PostgreSQL, against a daemon nothing else uses.
// Env: DATABASE_URL, BENCH_BASE (the daemon), BENCH_PID, BENCH_DATA (the load
// files); BENCH_SEED picks the terms (the same seed, the same searches).
// Prints one line: per search, the daemon's, PostgreSQL's and both CPU ms.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const base = process.env.BENCH_BASE;
const pid = process.env.BENCH_PID;
const n = Number(process.env.BENCH_SEARCHES ?? 1000);
const conns = Number(process.env.BENCH_SEARCH_CONNS ?? 4);
const terms = readFileSync(`${process.env.BENCH_DATA}/terms.txt`, 'utf8').split('\n').filter(Boolean);
const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
// utime + stime of a process (all its threads), in clock ticks
const ticks = (p) => {
  try {
    const f = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1].split(' ');
    return Number(f[11]) + Number(f[12]);
  } catch { return 0; } // gone meanwhile
};
const backends = () => execFileSync('psql', [process.env.DATABASE_URL, '-XAtc',
  "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'"],
{ encoding: 'utf8' }).split('\n').filter(Boolean);
let seed = Number(process.env.BENCH_SEED ?? 1);
const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
const run = `${Date.now().toString(36)}${process.pid}`;
const queries = Array.from({ length: n }, (_, i) => `${terms[Math.floor(random() * terms.length)]} -zq${run}x${i}`);
const get = async (q) => {
  const res = await fetch(`${base}/api/v1/engagements?q=${encodeURIComponent(q)}&limit=20`);
  await res.text();
  if (res.status !== 200) throw new Error(`${q}: ${res.status}`);
};
// every HTTP thread's connection open before counting
await Promise.all(Array.from({ length: 8 }, () => get('water')));
const before = backends();
const pg0 = before.reduce((a, p) => a + ticks(p), 0);
const d0 = ticks(pid);
const t0 = Date.now();
let next = 0;
await Promise.all(Array.from({ length: conns }, async () => {
  while (next < queries.length) await get(queries[next++]);
}));
const wall = Date.now() - t0;
const d1 = ticks(pid);
const pg1 = before.reduce((a, p) => a + ticks(p), 0) +
  backends().filter((p) => !before.includes(p)).reduce((a, p) => a + ticks(p), 0);
const ms = (t) => (t * 1000 / hz / n).toFixed(2);
console.log(`searches ${n} on ${conns} connections in ${wall} ms; CPU per search: daemon ${ms(d1 - d0)} ms, ` +
  `postgres ${ms(pg1 - pg0)} ms, both ${ms(d1 - d0 + pg1 - pg0)} ms (load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]})`);
