// match-formula: the formula of docs/matching.md computed in SQL, and the
// comparison of an API answer with it. Shared by
// tests/api/matching-consistency.test.mjs (random fixtures, scale 1) and
// bench/consistency.mjs (a sample of the bench data set, any scale); the
// caller passes its sql(query) -> rows function.
import assert from 'node:assert/strict';

// The default weights (MATCH_WEIGHT_*; the test daemon sets none).
export const W = { purpose: 0.45, skills: 0.20, capacity: 0.10, packaging: 0.10, location: 0.05, follows: 0.10 };
export const KINDS = ['purpose', 'skills', 'capacity', 'packaging', 'location', 'follows'];

// The formula in SQL, from docs/matching.md, in numeric arithmetic (20
// decimals). Scores equal to 1e-9 tie, as in the index: 0.2 * 1/3 (one skill
// of three) and 0.1 * 34/51 (capacity) differ in the 21st decimal here and
// in the 17th in a double, and are the same score. Exact scores have small
// denominators (at most 12 skills, 80 hours), so rounding to 9 decimals
// never lands on a half: round() and the index's llround(score * 1e9) agree.
// pairs: (agent_id, engagement_id, energy) of the pairs sharing a purpose.
export const SCORED = (pairs) => `
  pair AS (${pairs}),
  facts AS (
    SELECT pr.agent_id, pr.engagement_id, pr.energy, e.created_at, g.handle,
      (SELECT count(DISTINCT lower(s)) FROM unnest(e.skills) s) AS asked,
      (SELECT count(DISTINCT lower(s)) FROM unnest(e.skills) s
        WHERE lower(s) IN (SELECT lower(t) FROM unnest(g.skills) t)) AS has,
      greatest(g.capacity_hours_per_week - coalesce((SELECT sum(m.committed_hours) FROM match_agreements m
        WHERE m.agent_id = g.id), 0), 0) AS available,
      e.hours_per_week AS hours,
      g.packagings && e.packagings AS packaging,
      CASE WHEN gp.id IS NOT NULL AND ep.id IS NOT NULL THEN
             CASE WHEN g.remote_ok AND e.remote_ok THEN 1
                  ELSE greatest(0, 1 - place_distance_km(gp.latitude, gp.longitude, ep.latitude, ep.longitude)::numeric / 100) END
           WHEN (nullif(lower(btrim(g.location)), '') = nullif(lower(btrim(e.location)), ''))
                IS TRUE OR (g.remote_ok AND e.remote_ok) THEN 1 ELSE 0 END AS location,
      EXISTS (SELECT 1 FROM follows f WHERE f.agent_id = g.id AND f.organisation_id = e.organisation_id) AS follows
    FROM pair pr
    JOIN agents g ON g.id = pr.agent_id
    JOIN engagements e ON e.id = pr.engagement_id
    LEFT JOIN places gp ON gp.id = g.place_id
    LEFT JOIN places ep ON ep.id = e.place_id
    WHERE NOT EXISTS (SELECT 1 FROM match_agreements m WHERE m.agent_id = g.id AND m.engagement_id = e.id
                      AND m.status IN ('proposed', 'active'))),
  points AS (
    SELECT *,
      ${W.purpose} * least(energy, 100) / 100.0 AS p_purpose,
      ${W.skills} * CASE WHEN asked = 0 THEN 1 ELSE has::numeric / asked END AS p_skills,
      ${W.capacity} * CASE WHEN available >= hours THEN 1 ELSE available::numeric / hours END AS p_capacity,
      ${W.packaging} * packaging::int AS p_packaging,
      ${W.location} * location AS p_location,
      ${W.follows} * follows::int AS p_follows
    FROM facts),
  scored AS (
    SELECT *, p_purpose + p_skills + p_capacity + p_packaging + p_location + p_follows AS score FROM points)`;

export const COLUMNS = 'score, p_purpose, p_skills, p_capacity, p_packaging, p_location, p_follows';

// Expected top LIMIT engagements for each caller: Map(agent id -> [{id, score, points}]).
export function expectedForAgents(sql, agentIds, LIMIT) {
  const rows = sql(`WITH ${SCORED(`
      SELECT ap.agent_id, ep.engagement_id, sum(ap.energy) AS energy
      FROM agent_purposes ap JOIN engagement_purposes ep ON ep.purpose_id = ap.purpose_id
      JOIN engagements e ON e.id = ep.engagement_id AND e.status = 'open'
      WHERE ap.agent_id = ANY('{${agentIds.join(',')}}'::bigint[])
      GROUP BY ap.agent_id, ep.engagement_id`)},
    ranked AS (SELECT *, row_number() OVER (PARTITION BY agent_id
                 ORDER BY round(score, 9) DESC, created_at DESC, engagement_id DESC) AS rank FROM scored)
    SELECT agent_id, engagement_id, ${COLUMNS} FROM ranked WHERE rank <= ${LIMIT} ORDER BY agent_id, rank`);
  return group(rows);
}

// Expected top LIMIT agents for each engagement: Map(engagement id -> [{id: handle, ...}]).
export function expectedForEngagements(sql, engagementIds, LIMIT) {
  const rows = sql(`WITH ${SCORED(`
      SELECT ap.agent_id, ep.engagement_id, sum(ap.energy) AS energy
      FROM engagement_purposes ep JOIN agent_purposes ap ON ap.purpose_id = ep.purpose_id
      JOIN agents g ON g.id = ap.agent_id AND g.discoverable
      JOIN accounts ac ON ac.id = g.account_id AND ac.deleted_at IS NULL
      WHERE ep.engagement_id = ANY('{${engagementIds.join(',')}}'::bigint[])
      GROUP BY ap.agent_id, ep.engagement_id`)},
    ranked AS (SELECT *, row_number() OVER (PARTITION BY engagement_id
                 ORDER BY round(score, 9) DESC, agent_id) AS rank FROM scored)
    SELECT engagement_id, handle, ${COLUMNS} FROM ranked WHERE rank <= ${LIMIT} ORDER BY engagement_id, rank`);
  return group(rows);
}

export function group(rows) {
  const out = new Map();
  for (const [key, id, ...nums] of rows) {
    const [score, ...points] = nums.map(Number);
    if (!out.has(key)) out.set(key, []);
    out.get(key).push({ id: String(id), score, points });
  }
  return out;
}

// Compare an API answer with the SQL one: same ids in the same order, the
// same score and points to 1e-9.
export function assertSame(label, items, toId, expected) {
  const got = items.map(toId);
  const want = expected.map((x) => x.id);
  assert.deepEqual(got, want, `${label}: ids and order`);
  items.forEach((item, i) => {
    const e = expected[i];
    assert.ok(Math.abs(item.score - e.score) < 1e-9, `${label} #${i + 1} (${e.id}): score ${item.score}, SQL ${e.score}`);
    assert.deepEqual(item.reasons.map((r) => r.kind), KINDS);
    item.reasons.forEach((r, k) => assert.ok(Math.abs(r.points - e.points[k]) < 1e-9,
      `${label} #${i + 1} (${e.id}): ${r.kind} points ${r.points}, SQL ${e.points[k]}`));
  });
}
