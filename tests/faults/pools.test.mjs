// pools: the libmicrohttpd threads only parse, route, answer from the cache
// and serve files; database reads, changes and password hashing wait in
// bounded queues (QUEUE_DEPTH per worker: 503 + Retry-After beyond), one
// address may have PER_IP_REQUESTS in them (429 beyond), and work whose
// client has gone is dropped before it runs. Locks held in PostgreSQL make
// reads wait; slow hashes make sign-ups wait. Counts and statuses, not times.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { holdLock, req, sql, sleep, startDaemon, until } from './lib.mjs';

async function clean(d) {
  const { code } = await d.stop();
  assert.equal(code, 0, d.log().slice(-2000));
  assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
}

async function poolMetric(base, name, pool) {
  const text = (await req(base, 'GET', '/metrics')).text;
  const m = text.match(new RegExp(`^${name}${pool ? `\\{pool="${pool}"\\}` : ''} (\\d+)$`, 'm'));
  return m ? Number(m[1]) : NaN;
}

const from = (addr) => ({ 'X-Forwarded-For': addr });

test('reads blocked in PostgreSQL wait on the read pool: health, metrics and files still answer; the excess is 503 or 429', async () => {
  const d = await startDaemon({
    THREADS: '2', READ_WORKERS: '2', QUEUE_DEPTH: '3', PER_IP_REQUESTS: '3', TRUSTED_PROXY: '127.0.0.1',
    STATEMENT_TIMEOUT_MS: '0', CACHE_MB: '0', LOG_REQUESTS: '0',
  });
  const lock = await holdLock('LOCK TABLE purposes IN ACCESS EXCLUSIVE MODE');
  const pending = [];
  try {
    const read = (addr) => {
      const p = req(d.base, 'GET', '/api/v1/purposes', { headers: from(addr), timeout: 60000 });
      const entry = { done: false, res: null };
      entry.promise = p.then((res) => { entry.done = true; entry.res = res; return res; });
      pending.push(entry);
      return entry;
    };
    // one address: PER_IP_REQUESTS of its reads wait, the rest are 429 at once
    // (one by one, so that each libmicrohttpd thread gets some: on a build
    // that read on those threads, every one of them would be stuck)
    const one = [];
    for (let i = 0; i < 10; i++) {
      one.push(read('203.0.113.1'));
      await sleep(30);
    }
    const alive = async () => {
      // static files, not pages: a page (/, /engagements/…) is made from the database
      for (const path of ['/healthz', '/readyz', '/metrics', '/style.css', '/index.html', '/api/v1/openapi.json']) {
        const res = await req(d.base, 'GET', path, { timeout: 10000 }).catch((e) => ({ status: String(e) }));
        assert.equal(res.status, 200, `${path} while reads wait on a lock`);
      }
    };
    await sleep(300);
    await alive();
    await until('the address\'s excess to be refused', () => one.filter((e) => e.done).length === 7);
    for (const e of one.filter((x) => x.done)) {
      assert.equal(e.res.status, 429);
      assert.ok(Number(e.res.headers.get('retry-after')) >= 1);
      assert.equal(e.res.headers.get('content-type'), 'application/problem+json');
    }
    // other addresses: the pool holds 2 running + 6 waiting in all, the rest are 503 at once
    const others = Array.from({ length: 10 }, (_, i) => read(`198.51.100.${i + 1}`));
    await until('the pool\'s excess to be refused', () => others.filter((e) => e.done).length === 5);
    for (const e of others.filter((x) => x.done)) {
      assert.equal(e.res.status, 503);
      assert.ok(Number(e.res.headers.get('retry-after')) >= 1);
      assert.equal(e.res.body.type.endsWith('/busy'), true, e.res.text);
    }
    assert.equal(await poolMetric(d.base, 'pool_queued', 'read'), 6);
    // with every read worker stuck in PostgreSQL, the daemon stays alive
    await alive();
    assert.equal(pending.filter((e) => !e.done).length, 8, 'the waiting reads were answered while the lock was held');
  } finally {
    await lock.release();
  }
  const answers = await Promise.all(pending.map((e) => e.promise));
  const count = (s) => answers.filter((a) => a.status === s).length;
  assert.deepEqual([count(200), count(429), count(503)], [8, 7, 5]);
  assert.equal(await poolMetric(d.base, 'pool_refused_total', 'read'), 5);
  assert.equal(await poolMetric(d.base, 'pool_address_refused_total'), 7);
  await clean(d);
});

const signup = (i, tag) => ({ email: `${tag}-${i}@example.org`, password: 'a long enough password', display_name: `Burst ${i}` });

test('a burst of sign-ups far above the queues: the excess is 503 at once and an honest sign-up does not wait behind it', async () => {
  const d = await startDaemon({
    HASH_WORKERS: '1', WRITE_WORKERS: '1', QUEUE_DEPTH: '2', PER_IP_REQUESTS: '0', TRUSTED_PROXY: '127.0.0.1',
    PWHASH_OPSLIMIT: '3', PWHASH_MEMLIMIT: String(32 * 1024 * 1024), LOG_REQUESTS: '0',
  });
  const tag = `burst-${randomUUID().slice(0, 8)}`;
  try {
    const burst = Array.from({ length: 60 }, (_, i) =>
      req(d.base, 'POST', '/api/v1/accounts', { body: signup(i, tag), headers: from(`203.0.113.${i + 1}`), timeout: 120000 }));
    await sleep(50);
    const honest = await req(d.base, 'POST', '/api/v1/accounts', { body: signup('honest', tag), headers: from('192.0.2.1'), timeout: 120000 });
    // how many of the burst had been hashed when the honest one was answered
    const hashedBefore = Number(sql(`SELECT count(*) FROM accounts WHERE email LIKE '${tag}-%' AND email <> '${tag}-honest@example.org'`));
    assert.ok([201, 503].includes(honest.status), `honest: ${honest.status} ${honest.text}`);
    assert.ok(hashedBefore <= 20, `the honest sign-up waited behind ${hashedBefore} hashes`);
    const answers = await Promise.all(burst);
    const statuses = answers.map((a) => a.status);
    assert.deepEqual(statuses.filter((s) => s !== 201 && s !== 503), [], 'other statuses');
    const refused = answers.filter((a) => a.status === 503);
    assert.ok(refused.length >= 30, `only ${refused.length} of 60 refused`);
    for (const a of refused) {
      assert.ok(Number(a.headers.get('retry-after')) >= 1);
      assert.equal(a.headers.get('content-type'), 'application/problem+json');
    }
    // every 201 is stored, no 503 is
    const stored = Number(sql(`SELECT count(*) FROM accounts WHERE email LIKE '${tag}-%' AND email <> '${tag}-honest@example.org'`));
    assert.equal(stored, statuses.filter((s) => s === 201).length);
    assert.ok(await poolMetric(d.base, 'pool_refused_total', 'write') + await poolMetric(d.base, 'pool_refused_total', 'hash') >= refused.length);
  } finally {
    await clean(d);
  }
});

test('sign-ups whose clients left before their turn are not hashed', async () => {
  const d = await startDaemon({
    HASH_WORKERS: '1', WRITE_WORKERS: '1', QUEUE_DEPTH: '64', PER_IP_REQUESTS: '0',
    PWHASH_OPSLIMIT: '3', PWHASH_MEMLIMIT: String(32 * 1024 * 1024), LOG_REQUESTS: '0',
  });
  const tag = `gone-${randomUUID().slice(0, 8)}`;
  try {
    const n = 30;
    const socks = [];
    for (let i = 0; i < n; i++) {
      const body = JSON.stringify(signup(i, tag));
      const s = net.connect(d.port, '127.0.0.1');
      s.on('error', () => {});
      s.write(`POST /api/v1/accounts HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
      socks.push(s);
    }
    const suspended = async () => poolMetric(d.base, 'http_requests_suspended');
    await until('the requests to wait in the pools', async () => (await suspended()) >= 5);
    for (const s of socks) s.destroy(); // abandoned
    await until('the pools to be done with them', async () => (await suspended()) === 0, 60000);
    const stored = Number(sql(`SELECT count(*) FROM accounts WHERE email LIKE '${tag}-%'`));
    const dropped = (await poolMetric(d.base, 'pool_dropped_total', 'write')) + (await poolMetric(d.base, 'pool_dropped_total', 'hash'));
    assert.ok(stored <= 6, `${stored} of ${n} abandoned sign-ups were hashed and stored`);
    assert.ok(dropped >= n - 6, `${dropped} dropped`);
    // the daemon still serves, and a sign-up that stays is answered
    const fine = await req(d.base, 'POST', '/api/v1/accounts', { body: signup('stays', tag) });
    assert.equal(fine.status, 201, fine.text);
  } finally {
    await clean(d);
  }
});
