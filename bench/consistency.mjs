// bench/consistency.mjs: a sampled version of tests/api/matching-consistency
// on the bench data set, at any scale. For the first BENCH_CONSISTENCY_AGENTS
// agents of agent_tokens.txt (/me/matches) and the engagements of the first
// BENCH_CONSISTENCY_ENGAGEMENTS lines of member_tokens.txt
// (/engagements/{id}/matches), the daemon's answer must equal the formula of
// docs/matching.md computed in SQL (tests/api/match-formula.mjs): the same
// ids in the same order, the score and every reason's points to 1e-9.
// Env: DATABASE_URL, BENCH_BASE (the daemon), BENCH_DATA (the load files).
// Prints one BENCH_JSON line; exits 1 on any difference.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { assertSame, expectedForAgents, expectedForEngagements } from '../tests/api/match-formula.mjs';

const LIMIT = 30;
const N_AGENTS = Number(process.env.BENCH_CONSISTENCY_AGENTS ?? 10);
const N_ENGAGEMENTS = Number(process.env.BENCH_CONSISTENCY_ENGAGEMENTS ?? 5);
const base = process.env.BENCH_BASE;
const data = process.env.BENCH_DATA;
const sql = (query) => execFileSync('psql', [process.env.DATABASE_URL, '-XqAt', '-F', '\t', '-c', query],
  { encoding: 'utf8', maxBuffer: 1 << 28 }).split('\n').filter((l) => l.length).map((l) => l.split('\t'));
const lines = (f) => readFileSync(`${data}/${f}`, 'utf8').split('\n').filter((l) => l.length);
const get = async (path, token) => {
  const res = await fetch(base + path, { headers: { Authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json() };
};

const started = Date.now();
const summary = { agents: 0, engagements: 0, pairs: 0, differences: 0, first_difference: '', seconds: 0 };
function check(label, items, toId, expected) {
  try {
    assertSame(label, items, toId, expected);
    summary.pairs += expected.length;
  } catch (e) {
    summary.differences++;
    summary.first_difference ||= e.message.slice(0, 500);
  }
}

// agents behind the first session tokens
const tokens = lines('agent_tokens.txt').slice(0, N_AGENTS);
const agentOf = new Map(sql(`SELECT t.token, g.id FROM bench.tokens t JOIN sessions s ON s.token_hash = t.hash
  JOIN agents g ON g.account_id = s.account_id
  WHERE t.token = ANY('{${tokens.join(',')}}'::text[])`));
const wantMine = expectedForAgents(sql, [...agentOf.values()], LIMIT);
for (const token of tokens) {
  const id = agentOf.get(token);
  if (!id) continue;
  const res = await get(`/api/v1/me/matches?limit=${LIMIT}`, token);
  if (res.status !== 200) throw new Error(`/me/matches: HTTP ${res.status}`);
  check(`/me/matches of agent ${id}`, res.body.items, (i) => String(i.engagement.id), wantMine.get(id) ?? []);
  summary.agents++;
}
// engagements of the members' organisations, asked by their owners
const members = lines('member_tokens.txt').slice(0, N_ENGAGEMENTS).map((l) => l.split('\t'));
const wantAgents = expectedForEngagements(sql, members.map(([, , id]) => id), LIMIT);
for (const [token, , id] of members) {
  const res = await get(`/api/v1/engagements/${id}/matches?limit=${LIMIT}`, token);
  if (res.status !== 200) throw new Error(`/engagements/${id}/matches: HTTP ${res.status}`);
  check(`/engagements/${id}/matches`, res.body.items, (i) => i.agent.handle, wantAgents.get(id) ?? []);
  summary.engagements++;
}
summary.seconds = (Date.now() - started) / 1000;
console.log(`BENCH_JSON ${JSON.stringify(summary)}`);
process.exit(summary.differences || summary.agents < tokens.length ? 1 : 0);
