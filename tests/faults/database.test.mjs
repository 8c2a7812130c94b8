// database: PostgreSQL going away, connections killed under the daemon, and
// statements timing out are 503 + Retry-After (problem+json), never 500 or a
// crash; the daemon recovers by itself when the database is back.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { holdLock, newUser, pgRunning, pgStart, pgStop, req, sql, startDaemon, until } from './lib.mjs';

// Whatever happens in a test, the database is running again afterwards.
after(() => { if (!pgRunning()) pgStart(); });

function assert503(res, what) {
  assert.equal(res.status, 503, `${what}: ${res.status} ${res.text}`);
  assert.equal(res.headers.get('content-type'), 'application/problem+json', what);
  assert.equal(res.body.status, 503, what);
  assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${what}: Retry-After`);
}

const signUp = (base) => req(base, 'POST', '/api/v1/accounts', {
  body: { email: `db-${randomUUID().slice(0, 8)}@example.org`, password: 'a long enough password', display_name: 'Db' },
});

async function stopClean(d) {
  const { code } = await d.stop();
  assert.equal(code, 0);
  assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
}

test('database stopped: /readyz and API calls are 503 with Retry-After; it recovers when it is back', async () => {
  const d = await startDaemon({ LOG_REQUESTS: '0' });
  try {
    const user = await newUser(d.base);
    pgStop();
    try {
      assert.equal(pgRunning(), false);
      assert503(await req(d.base, 'GET', '/readyz'), '/readyz');
      for (let i = 0; i < 4; i++) {
        assert503(await req(d.base, 'GET', '/api/v1/me', { token: user.token }), 'GET /api/v1/me');
        assert503(await signUp(d.base), 'POST /api/v1/accounts');
      }
      // the process itself is fine
      assert.equal((await req(d.base, 'GET', '/healthz')).status, 200);
      assert.equal((await req(d.base, 'GET', '/metrics')).status, 200);
    } finally {
      pgStart();
    }
    await until('/readyz 200', async () => (await req(d.base, 'GET', '/readyz')).status === 200);
    // every worker thread reconnects: reads and writes succeed again, repeatedly
    for (let i = 0; i < 8; i++) {
      const me = await req(d.base, 'GET', '/api/v1/me', { token: user.token });
      assert.equal(me.status, 200, me.text);
      assert.equal(me.body.account.email, user.email);
      assert.equal((await signUp(d.base)).status, 201);
    }
  } finally {
    await stopClean(d);
  }
});

test('connections terminated under the daemon: the next requests reconnect and succeed', async () => {
  const d = await startDaemon({ LOG_REQUESTS: '0' });
  try {
    const user = await newUser(d.base);
    // warm every thread's connection
    for (let i = 0; i < 8; i++) await req(d.base, 'GET', '/api/v1/me', { token: user.token });
    const killed = sql(`SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
      WHERE application_name = 'purposed' AND datname = current_database() AND pid <> pg_backend_pid()
        AND backend_start > now() - interval '10 minutes'`);
    assert.ok(Number(killed) >= 1, `terminated ${killed}`);
    for (let i = 0; i < 8; i++) {
      const me = await req(d.base, 'GET', '/api/v1/me', { token: user.token });
      assert.equal(me.status, 200, `GET /api/v1/me after termination: ${me.text}`);
      const created = await signUp(d.base);
      assert.equal(created.status, 201, `POST /api/v1/accounts after termination: ${created.text}`);
      assert.equal((await req(d.base, 'GET', '/readyz')).status, 200);
    }
  } finally {
    await stopClean(d);
  }
});

test('a statement that times out is a 503, not a 500', async () => {
  const d = await startDaemon({ LOG_REQUESTS: '0', STATEMENT_TIMEOUT_MS: '300' });
  try {
    const user = await newUser(d.base);
    const lock = await holdLock('LOCK TABLE accounts, sessions IN ACCESS EXCLUSIVE MODE');
    try {
      const t0 = Date.now();
      assert503(await req(d.base, 'GET', '/api/v1/me', { token: user.token }), 'GET /api/v1/me (locked)');
      assert503(await signUp(d.base), 'POST /api/v1/accounts (locked)');
      assert.ok(Date.now() - t0 < 5000, 'the statement timeout was not applied');
    } finally {
      await lock.release();
    }
    const me = await req(d.base, 'GET', '/api/v1/me', { token: user.token });
    assert.equal(me.status, 200, me.text);
  } finally {
    await stopClean(d);
  }
});
