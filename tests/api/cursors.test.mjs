// cursors: a cursor comes back from the client, so it is input like any
// other. A cursor forged with a known secret and carrying keys that are not
// what the list gave out (not a number, not a time, out of range) is a 400
// "bad cursor" on every list that takes cursors, never a 500. Without
// CURSOR_SECRET a daemon signs with a random secret kept in the database
// (shared by every daemon, kept across restarts), never with the old public
// default.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, problemFields, sql, startDaemon, unique } from './helpers.mjs';
import { cursorSignedWith, signCursor } from './blake2b.mjs';

const OLD_DEFAULT_SECRET = 'purposed-cursor-v1';
const KNOWN_SECRET = 'a secret these tests know';

async function call(base, path, token) {
  const res = await fetch(base + path, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  const text = await res.text();
  let body = null;
  try { body = JSON.parse(text); } catch { body = null; }
  return { status: res.status, body, text };
}

async function ok(res) {
  assert.ok(res.status >= 200 && res.status < 300, `${res.status} ${res.text}`);
  return res.body;
}

// One of everything a list can show: an organisation with a member, an
// engagement, an agent who follows it, an agreement and a notification.
const w = {};
before(async () => {
  w.owner = await newUser('Cursor Owner');
  w.agent = await newUser('Cursor Agent');
  const purpose = await ok(await api('POST', '/api/v1/purposes', {
    token: w.owner.token, body: { name: unique('Cursor cause'), description: 'for cursor tests' },
  }));
  w.purpose = purpose.slug;
  w.org = unique('cursor-org');
  await ok(await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: 'Cursor Org', slug: w.org, purpose_statement: 'Lists.', purposes: [w.purpose],
      legal_form: 'other', governance: 'other' },
  }));
  w.handle = unique('cursor-agent');
  await ok(await api('PUT', '/api/v1/me/agent', {
    token: w.agent.token,
    body: { handle: w.handle, capacity_hours_per_week: 10, packagings: ['volunteer'],
      discoverable: true, show_follows: true },
  }));
  await ok(await api('PUT', `/api/v1/organisations/${w.org}/follow`, { token: w.agent.token }));
  await ok(await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: 'Cursor water work', description: 'water pumps', purposes: [w.purpose],
      packagings: ['volunteer'], hours_per_week: 5, skills: [], remote_ok: true, rewards: { non_cash: [] } },
  }));
  await ok(await api('POST', '/api/v1/agreements', {
    token: w.owner.token,
    body: { organisation: w.org, agent: w.handle, role: 'Helper', purposes: [w.purpose],
      packaging: 'volunteer', hours_per_week: 5, terms: 'Help.', rewards: {}, starts_on: '2030-01-01' },
  }));
});

// Every list that takes ?cursor=: its path, who may read it, its tag and
// its keys' kinds (id: a row id, time: a cursor_time, micros: microseconds
// since the epoch, rank: a relevance, text: any text). Every list has the
// one pager's cursors (server/handlers/page.h).
const lists = () => [
  { path: '/api/v1/purposes', tag: 'purposes', keys: ['text'] },
  { path: '/api/v1/organisations', tag: 'organisations', keys: ['text', 'id'] },
  { path: '/api/v1/organisations?q=cursor', tag: 'organisations', keys: ['text', 'id'] },
  { path: `/api/v1/organisations/${w.org}/charter`, tag: 'charter', keys: ['id'] },
  { path: `/api/v1/organisations/${w.org}/members`, token: w.owner.token, tag: 'members', keys: ['time', 'id'] },
  { path: '/api/v1/agents', tag: 'agents', keys: ['id'] },
  { path: `/api/v1/organisations/${w.org}/followers`, token: w.owner.token, tag: 'followers', keys: ['micros', 'id'] },
  { path: '/api/v1/me/follows', token: w.agent.token, tag: 'my-follows', keys: ['micros', 'id'] },
  { path: '/api/v1/engagements', tag: 'engagements', keys: ['time', 'id'] },
  { path: '/api/v1/engagements?status=closed', tag: 'engagements', keys: ['time', 'id'] },
  { path: `/api/v1/engagements?organisation=${w.org}`, tag: 'engagements', keys: ['time', 'id'] },
  { path: `/api/v1/engagements?purpose=${w.purpose}`, tag: 'engagements', keys: ['time', 'id'] },
  { path: '/api/v1/engagements?q=water', tag: 'engagements-rank', keys: ['rank', 'id'] },
  { path: '/api/v1/me/agreements', token: w.agent.token, tag: 'my-agreements', keys: ['id'] },
  { path: `/api/v1/organisations/${w.org}/agreements`, token: w.owner.token, tag: 'organisation-agreements', keys: ['id'] },
  { path: '/api/v1/me/notifications', token: w.agent.token, tag: 'notifications', keys: ['id'] },
];

// A value of each kind the list gives out, and values that are not.
const good = { id: '1', time: '2024-05-01T10:00:00.123456Z', micros: '1714557600123456', rank: '0.5', text: 'a' };
const bad = {
  id: ['abc', '-1', '1.5', '1e3', '99999999999999999999', '9223372036854775808', ' 1', '0x10'],
  time: ['yesterday', '2024-13-01T00:00:00.000000Z', '2023-02-29T00:00:00.000000Z', '2024-05-01T24:00:00.000000Z',
    '2024-05-01', '99999-01-01T00:00:00.000000Z', '0000-01-01T00:00:00.000000Z', 'infinity', '1'],
  micros: ['abc', '1e5', '1.5', '9223372036854775807', '-9223372036854775808', '99999999999999999999',
    '253402300800000000'],
  rank: ['abc', '1e999', '-1e999', 'NaN', 'Infinity', '1e-999', '0x1p3', '--1'],
  text: [],
};

function cursorWith(list, i, value, secret) {
  const keys = list.keys.map((k) => good[k]);
  keys[i] = value;
  return signCursor([list.tag, ...keys], secret);
}

test('a forged cursor with bad keys is a 400 "bad cursor" on every list, never a 500', async () => {
  const d = await startDaemon({ CURSOR_SECRET: KNOWN_SECRET, LOG_REQUESTS: '0' });
  try {
    for (const list of lists()) {
      const sep = list.path.includes('?') ? '&' : '?';
      // the forgery is accepted as a cursor when its keys are right ...
      const fine = await call(d.base, `${list.path}${sep}cursor=${cursorWith(list, 0, good[list.keys[0]], KNOWN_SECRET)}`, list.token);
      assert.equal(fine.status, 200, `${list.path} with good keys: ${fine.text}`);
      // ... and refused when one is not what the list gives out
      for (const [i, kind] of list.keys.entries()) {
        for (const value of bad[kind]) {
          const res = await call(d.base, `${list.path}${sep}cursor=${cursorWith(list, i, value, KNOWN_SECRET)}`, list.token);
          assert.equal(res.status, 400, `${list.path} key ${i} = ${JSON.stringify(value)}: ${res.status} ${res.text}`);
          assert.deepEqual(res.body?.errors?.map((e) => e.field), ['cursor'], res.text);
        }
      }
    }
    assert.doesNotMatch(d.log(), /runtime error|AddressSanitizer/);
  } finally {
    await d.stop();
  }
});

test('without CURSOR_SECRET a daemon starts, signs with a stored random secret, not the old default', async () => {
  // the test daemon runs without CURSOR_SECRET: the old default signs nothing it accepts
  const forged = signCursor(['agents', '1'], OLD_DEFAULT_SECRET);
  const res = await api('GET', `/api/v1/agents?cursor=${forged}`);
  assert.equal(res.status, 400, res.text);
  assert.deepEqual(problemFields(res), ['cursor']);

  const [[secret]] = sql("SELECT value FROM instance_secrets WHERE name = 'cursor'");
  assert.match(secret, /^[0-9a-f]{64}$/, 'a 256-bit random secret');
  assert.notEqual(secret, OLD_DEFAULT_SECRET);
  // the stored secret is the one in use: a cursor signed with it is accepted
  assert.equal((await api('GET', `/api/v1/agents?cursor=${signCursor(['agents', '1'], secret)}`)).status, 200);

  // another daemon on the same database (or this one after a restart)
  // reads the same secret: cursors stay valid across daemons and restarts
  // two purposes at least, so that a page of one has a next cursor (also
  // when this file runs alone on an empty database)
  const maker = await newUser();
  for (let i = 0; i < 2; i++) {
    const made = await api('POST', '/api/v1/purposes', { token: maker.token, body: { name: `Cursor ${unique('p')}`, description: 'A cause.' } });
    assert.equal(made.status, 201, made.text);
  }
  const page = await api('GET', '/api/v1/purposes?limit=1');
  assert.ok(page.body.next_cursor);
  assert.ok(cursorSignedWith(page.body.next_cursor, secret), 'signed with the stored secret');
  assert.ok(!cursorSignedWith(page.body.next_cursor, OLD_DEFAULT_SECRET), 'not with the old default');
  const d = await startDaemon({ CURSOR_SECRET: '', LOG_REQUESTS: '0' });
  try {
    assert.equal((await call(d.base, '/healthz')).status, 200);
    const next = await call(d.base, `/api/v1/purposes?limit=1&cursor=${page.body.next_cursor}`);
    assert.equal(next.status, 200, next.text);
    assert.equal((await call(d.base, `/api/v1/agents?cursor=${forged}`)).status, 400);
    assert.deepEqual(sql("SELECT count(*) FROM instance_secrets WHERE name = 'cursor'"), [['1']]);
  } finally {
    await d.stop();
  }
});

test('without CURSOR_SECRET and without a database yet, the daemon starts and a cursor is a 503', async () => {
  const d = await startDaemon({ CURSOR_SECRET: '', LOG_REQUESTS: '0', DATABASE_URL: 'postgresql:///nonexistent?host=/nonexistent' });
  try {
    assert.equal((await call(d.base, '/healthz')).status, 200);
    const res = await fetch(`${d.base}/api/v1/agents?cursor=${signCursor(['agents', '1'], OLD_DEFAULT_SECRET)}`);
    assert.equal(res.status, 503);
    assert.ok(res.headers.get('retry-after'));
  } finally {
    await d.stop();
  }
});
