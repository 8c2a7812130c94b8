// writes: a steady stream of POSTs (purposes, organisations, engagements,
// agreements; several in parallel) while PostgreSQL is stopped and started
// again, then while the daemon's connections are terminated under it. Every
// answer is 2xx, 503 with Retry-After, or 409 — never a 500 or a dropped
// connection; every write answered 2xx is in the database afterwards; and
// nothing is half written (an organisation always has its charter version 1,
// owner and purposes; an engagement its purposes; an agreement its first
// version and the notification of the other side).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { newUser, pgRunning, pgStart, req, sleep, sql, startDaemon, until } from './lib.mjs';

const COMMON = fileURLToPath(new URL('../../scripts/lib/common.sh', import.meta.url));
const WORKERS = 4;
const PAUSE_MS = 10; // between two requests of a worker: a stream, not a load test

// Whatever happens, the database is running again afterwards.
after(() => { if (!pgRunning()) pgStart(); });

// pg_stop/pg_start of scripts/lib/common.sh without blocking the event
// loop, so the workers keep sending while PostgreSQL goes down and comes up.
function pgAsync(fn) {
  const { PG_DIR, PG_PORT } = process.env;
  if (!PG_DIR || !PG_PORT) throw new Error('PG_DIR and PG_PORT must be set (scripts/test or scripts/dev-env)');
  return new Promise((resolve, reject) => {
    const p = spawn('bash', ['-c', `source "${COMMON}"; ${fn} "$PG_DIR" "$PG_PORT"`],
      { env: { ...process.env, PG_FSYNC: 'off' }, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${fn} exited ${code}`))));
  });
}

const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const tag = () => randomUUID().slice(0, 8);

test('writes while PostgreSQL restarts and connections are killed: 2xx, 503 or 409; every 2xx is stored, nothing half written', async (t) => {
  const d = await startDaemon({ LOG_REQUESTS: '0' });
  const attempts = []; // {kind, key, status, retryAfter, phase, text}
  let phase = 'warm-up';
  let stopping = false;
  const t0 = Date.now();
  const marks = [];
  const mark = (what) => marks.push(`${what} +${Date.now() - t0} ms`);
  try {
    // fixtures: an owner with an organisation and a purpose, and an agent
    const owner = await newUser(d.base);
    const agentUser = await newUser(d.base);
    const purpose = (await req(d.base, 'POST', '/api/v1/purposes', {
      token: owner.token, body: { name: `Faulty water ${tag()}`, description: 'fault tests' },
    })).body.slug;
    assert.ok(purpose);
    const org = await req(d.base, 'POST', '/api/v1/organisations', {
      token: owner.token,
      body: { name: `Faults ${tag()}`, purpose_statement: 'Keep writing', purposes: [purpose],
              legal_form: 'informal', governance: 'other' },
    });
    assert.equal(org.status, 201, org.text);
    const handle = `fault-agent-${tag()}`;
    const agent = await req(d.base, 'PUT', '/api/v1/me/agent', {
      token: agentUser.token,
      body: { handle, headline: 'x', skills: [], capacity_hours_per_week: 40, packagings: ['volunteer'],
              remote_ok: true, discoverable: true },
    });
    assert.equal(agent.status, 200, agent.text);

    const KINDS = {
      purpose: () => {
        const name = `Fault purpose ${tag()}`;
        return { key: name, send: () => req(d.base, 'POST', '/api/v1/purposes', { token: owner.token, body: { name, description: 'x' } }) };
      },
      organisation: () => {
        const slug = `fault-org-${tag()}`;
        return {
          key: slug,
          send: () => req(d.base, 'POST', '/api/v1/organisations', {
            token: owner.token,
            body: { name: `Fault org ${slug}`, slug, purpose_statement: 'Under faults', association_norms: 'Consent',
                    purposes: [purpose], legal_form: 'cooperative', governance: 'sociocracy' },
          }),
        };
      },
      engagement: () => {
        const title = `Fault work ${tag()}`;
        return {
          key: title,
          send: () => req(d.base, 'POST', `/api/v1/organisations/${org.body.slug}/engagements`, {
            token: owner.token,
            body: { title, description: 'Work under faults', purposes: [purpose], packagings: ['volunteer'],
                    hours_per_week: 1, skills: [], remote_ok: true, rewards: { non_cash: [] } },
          }),
        };
      },
      agreement: (engagement) => ({
        key: String(engagement),
        send: () => req(d.base, 'POST', '/api/v1/agreements', {
          token: owner.token,
          body: { organisation: org.body.slug, agent: handle, engagement, role: 'Helper', purposes: [purpose],
                  packaging: 'volunteer', hours_per_week: 1, terms: 'Under faults.',
                  rewards: { cash: null, non_cash: [] }, starts_on: '2030-01-01' },
        }),
      }),
    };

    async function worker() {
      const engagements = []; // stored engagements (2xx) without an agreement yet
      for (let n = 0; !stopping; n++) {
        const kind = ['purpose', 'organisation', 'engagement', 'agreement'][n % 4];
        if (kind === 'agreement' && !engagements.length) continue;
        const op = kind === 'agreement' ? KINDS.agreement(engagements.shift()) : KINDS[kind]();
        const at = phase;
        let res;
        try {
          res = await op.send();
        } catch (e) {
          res = { status: 0, headers: new Headers(), body: null, text: String(e) };
        }
        attempts.push({ kind, key: op.key, status: res.status, retryAfter: res.headers.get('retry-after'),
                        phase: at, text: res.text.slice(0, 300), id: res.body?.id });
        if (kind === 'engagement' && res.status === 201) engagements.push(res.body.id);
        await sleep(res.status === 503 ? 50 : PAUSE_MS);
      }
    }
    const workers = Array.from({ length: WORKERS }, worker);

    const okCount = (p) => attempts.filter((a) => a.phase === p && a.status >= 200 && a.status < 300).length;
    await until('writes before the faults', () => okCount('warm-up') >= 8);

    // (a) PostgreSQL stopped for about two seconds, then started again
    phase = 'postgres-restart';
    mark('stopping PostgreSQL');
    await pgAsync('pg_stop');
    mark('stopped');
    await sleep(2000);
    await pgAsync('pg_start');
    mark('started');
    phase = 'after-restart';
    await until('writes to succeed again after the restart', () => okCount('after-restart') >= 8, 20000);

    // (b) the daemon's connections terminated under it, three times
    mark('writing again');
    phase = 'terminate';
    for (let i = 0; i < 3; i++) {
      sql(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE application_name = 'purposed' AND datname = current_database() AND pid <> pg_backend_pid()`);
      await sleep(300);
    }
    phase = 'after-terminate';
    await until('writes to succeed again after the terminations', () => okCount('after-terminate') >= 8, 20000);
    stopping = true;
    await Promise.all(workers);
    mark('done');
    t.diagnostic(marks.join(', '));

    // every answer: 2xx, 503 with Retry-After, or 409
    const byStatus = {};
    for (const a of attempts) byStatus[a.status] = (byStatus[a.status] ?? 0) + 1;
    const byPhase = {};
    for (const a of attempts) {
      byPhase[a.phase] ??= {};
      byPhase[a.phase][a.status] = (byPhase[a.phase][a.status] ?? 0) + 1;
    }
    for (const a of attempts.filter((x) => x.status === 503 && x.phase !== 'postgres-restart').slice(0, 5)) t.diagnostic(`503 ${a.phase} ${a.kind}: ${a.text}`);
    t.diagnostic(`answers by status: ${JSON.stringify(byStatus)}; by phase: ${JSON.stringify(byPhase)}`);
    const bad = attempts.filter((a) => !((a.status >= 200 && a.status < 300) || a.status === 503 || a.status === 409));
    assert.deepEqual(bad, [], 'answers other than 2xx, 503 and 409');
    const no503Retry = attempts.filter((a) => a.status === 503 && !/^[1-9]\d*$/.test(a.retryAfter ?? ''));
    assert.deepEqual(no503Retry, [], '503 without Retry-After');
    assert.ok(byPhase['postgres-restart']?.[503] > 0, 'no request met the stopped database: the fault was not exercised');

    // every write answered 2xx is stored
    const stored = attempts.filter((a) => a.status >= 200 && a.status < 300);
    // one query per kind: the keys (and ids) answered 2xx that no row matches
    const arr = (xs) => `ARRAY[${xs.map(q).join(',')}]::text[]`;
    const missingOf = (kind, check) => {
      const rows = stored.filter((a) => a.kind === kind);
      if (!rows.length) return [];
      const out = sql(`SELECT k, i FROM unnest(${arr(rows.map((a) => a.key))}, ${arr(rows.map((a) => String(a.id ?? '')))}) AS x(k, i)
        WHERE NOT EXISTS (${check})`);
      return out ? out.split('\n') : [];
    };
    const missing = [
      ...missingOf('purpose', 'SELECT 1 FROM purposes p WHERE p.name = x.k'),
      ...missingOf('organisation', 'SELECT 1 FROM organisations o WHERE o.slug = x.k'),
      ...missingOf('engagement', 'SELECT 1 FROM engagements e WHERE e.id = x.i::bigint AND e.title = x.k'),
      ...missingOf('agreement', 'SELECT 1 FROM agreements a WHERE a.id = x.i::bigint AND a.engagement_id = x.k::bigint'),
    ];
    assert.deepEqual(missing, [], 'writes answered 2xx but not in the database');
    t.diagnostic(`${stored.length} writes answered 2xx, all ${stored.length - missing.length} in the database`);

    // nothing half written, whatever the answer was (a 503 may or may not have committed)
    const list = (kind) => attempts.filter((a) => a.kind === kind).map((a) => q(a.key)).join(',') || 'NULL';
    const halfOrgs = sql(`SELECT o.slug FROM organisations o WHERE o.slug IN (${list('organisation')}) AND (
        NOT EXISTS (SELECT 1 FROM organisation_charters c WHERE c.organisation_id = o.id AND c.version = 1
                    AND c.purpose_statement = o.purpose_statement)
        OR NOT EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = o.id AND m.role = 'owner'
                       AND m.account_id = ${Number(owner.id)})
        OR NOT EXISTS (SELECT 1 FROM organisation_purposes op WHERE op.organisation_id = o.id))`);
    assert.equal(halfOrgs, '', 'organisations without charter version 1, owner or purposes');
    const halfEngagements = sql(`SELECT e.id FROM engagements e WHERE e.title IN (${list('engagement')})
        AND NOT EXISTS (SELECT 1 FROM engagement_purposes ep WHERE ep.engagement_id = e.id)`);
    assert.equal(halfEngagements, '', 'engagements without their purposes');
    const halfAgreements = sql(`SELECT a.id FROM agreements a WHERE a.engagement_id::text IN (${list('agreement')}) AND (
        NOT EXISTS (SELECT 1 FROM agreement_versions v WHERE v.agreement_id = a.id AND v.version = 1)
        OR NOT EXISTS (SELECT 1 FROM agreement_version_purposes vp WHERE vp.agreement_id = a.id AND vp.version = 1)
        OR NOT EXISTS (SELECT 1 FROM notifications n WHERE n.agreement_id = a.id
                       AND n.account_id = ${Number(agentUser.id)}))`);
    assert.equal(halfAgreements, '', 'agreements without version 1, its purposes or the notification');
    // every kind was written at least once after each fault
    for (const p of ['after-restart', 'after-terminate']) {
      const kinds = new Set(attempts.filter((a) => a.phase === p && a.status >= 200 && a.status < 300).map((a) => a.kind));
      assert.ok(kinds.size >= 3, `${p}: only ${[...kinds]} succeeded`);
    }
  } finally {
    stopping = true;
    if (!pgRunning()) pgStart();
    const { code } = await d.stop();
    assert.equal(code, 0, `daemon exit code; log:\n${d.log().slice(-2000)}`);
    assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
  }
});
