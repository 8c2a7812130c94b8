// diskfull: PostgreSQL short of resources (disk full, out of memory) answers
// 503 with Retry-After and writes nothing; a program limit (a value too large
// for the database) is a 413; neither is a 500. The faults are injected with
// triggers that raise the SQLSTATE only for this file's own rows, and the
// same worker thread serves normally right after each one.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { newUser, req, sql, startDaemon } from './lib.mjs';

const TAG = randomUUID().slice(0, 8).replace(/-/g, '');
const PREFIX = `Zzfault ${TAG}`; // purposes named "Zzfault <tag> <sqlstate> ..." raise <sqlstate>
const FN = `zzfault_${TAG}`;
const triggers = new Set(); // "name ON table", dropped at the end whatever happens

const q = (s) => `'${String(s).replace(/'/g, "''")}'`;

// raise(sqlstate) as a trigger function: the SQLSTATE comes from the
// trigger's first argument, or from the purpose's name when it is '-'.
sql(`CREATE FUNCTION ${FN}() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE code text := TG_ARGV[0];
  BEGIN
    IF code = '-' THEN
      IF NEW.name NOT LIKE ${q(PREFIX + ' %')} THEN RETURN NEW; END IF;
      code := split_part(NEW.name, ' ', 3);
    END IF;
    RAISE EXCEPTION 'simulated % on %', code, TG_TABLE_NAME USING ERRCODE = code;
  END $$`);

function addTrigger(name, table, sqlText) {
  sql(sqlText);
  triggers.add(`${name} ON ${table}`);
}
function dropTrigger(name, table) {
  sql(`DROP TRIGGER IF EXISTS ${name} ON ${table}`);
  triggers.delete(`${name} ON ${table}`);
}

after(() => {
  for (const t of triggers) sql(`DROP TRIGGER IF EXISTS ${t}`);
  sql(`DROP FUNCTION IF EXISTS ${FN}() CASCADE`);
});

// One HTTP thread, so the request after a fault runs on the very connection
// that saw it (and must not find it stuck in an aborted transaction).
let d;
let user;
const ready = (async () => {
  d = await startDaemon({ THREADS: '1' });
  user = await newUser(d.base);
})();
after(async () => {
  if (!d) return;
  const { code } = await d.stop();
  assert.equal(code, 0);
  assert.doesNotMatch(d.log(), /Sanitizer|runtime error/);
});

function assert503(res, what) {
  assert.equal(res.status, 503, `${what}: ${res.status} ${res.text}`);
  assert.equal(res.headers.get('content-type'), 'application/problem+json', what);
  assert.equal(res.body.status, 503, what);
  assert.match(res.headers.get('retry-after') ?? '', /^[1-9]\d*$/, `${what}: Retry-After`);
}

const purposeCount = (name) => sql(`SELECT count(*) FROM purposes WHERE name = ${q(name)}`);
const createPurpose = (name, headers = {}) =>
  req(d.base, 'POST', '/api/v1/purposes', { token: user.token, body: { name, description: 'fault' }, headers });

// the thread serves normally after a fault
async function stillServes(what) {
  const me = await req(d.base, 'GET', '/api/v1/me', { token: user.token });
  assert.equal(me.status, 200, `${what}: GET /me after the fault: ${me.text}`);
  const name = `Fine ${TAG} ${randomUUID().slice(0, 8)}`;
  const ok = await createPurpose(name);
  assert.equal(ok.status, 201, `${what}: a write after the fault: ${ok.text}`);
}

test('disk full (53100), out of memory (53200) and the rest of class 53 on INSERT: 503 + Retry-After, nothing written, logged', async () => {
  await ready;
  addTrigger(`${FN}_purposes`, 'purposes',
    `CREATE TRIGGER ${FN}_purposes BEFORE INSERT ON purposes FOR EACH ROW EXECUTE FUNCTION ${FN}('-')`);
  try {
    for (const code of ['53100', '53200', '53000', '53400']) {
      const name = `${PREFIX} ${code} water`;
      const res = await createPurpose(name);
      assert503(res, `POST /purposes raising ${code}`);
      assert.match(res.body.detail, new RegExp(code));
      assert.equal(purposeCount(name), '0', `${code}: nothing written`);
      await stillServes(code);
    }
    assert.match(d.log(), /"event":"db_resources"[^\n]*53100 simulated 53100 on purposes/);
    assert.doesNotMatch(d.log(), /"status":500/);
  } finally {
    dropTrigger(`${FN}_purposes`, 'purposes');
  }
});

test('a retried POST with the same Idempotency-Key is not answered from the 503: it writes once the disk is freed', async () => {
  await ready;
  addTrigger(`${FN}_purposes`, 'purposes',
    `CREATE TRIGGER ${FN}_purposes BEFORE INSERT ON purposes FOR EACH ROW EXECUTE FUNCTION ${FN}('-')`);
  const name = `${PREFIX} 53100 retried`;
  const headers = { 'Idempotency-Key': `diskfull-${TAG}` };
  try {
    assert503(await createPurpose(name, headers), 'POST with Idempotency-Key on a full disk');
    assert503(await createPurpose(name, headers), 'the same POST again, disk still full');
    assert.equal(purposeCount(name), '0');
  } finally {
    dropTrigger(`${FN}_purposes`, 'purposes'); // the disk is freed
  }
  const res = await createPurpose(name, headers);
  assert.equal(res.status, 201, res.text);
  const again = await createPurpose(name, headers);
  assert.equal(again.status, 201, 'replayed');
  assert.deepEqual(again.body, res.body);
  assert.equal(purposeCount(name), '1');
});

test('disk full inside a transaction and at COMMIT: 503, the old energy split stays, the version does not move', async () => {
  await ready;
  const purposes = [];
  for (const what of ['soil', 'seeds']) {
    const res = await createPurpose(`Fine ${TAG} ${what}`);
    assert.equal(res.status, 201, res.text);
    purposes.push(res.body.slug);
  }
  const handle = `zzfault-${TAG}`;
  let res = await req(d.base, 'PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle, headline: 'Faults', skills: [], capacity_hours_per_week: 10, packagings: ['volunteer'],
            remote_ok: true, discoverable: false },
  });
  assert.equal(res.status, 200, res.text);
  res = await req(d.base, 'PUT', '/api/v1/me/agent/purposes', { token: user.token, body: [{ purpose: purposes[0], energy: 60 }] });
  assert.equal(res.status, 200, res.text);
  const agentId = sql(`SELECT id FROM agents WHERE handle = ${q(handle)}`);
  const split = () => sql(`SELECT string_agg(p.slug || ':' || ap.energy, ',' ORDER BY p.slug) FROM agent_purposes ap
    JOIN purposes p ON p.id = ap.purpose_id WHERE ap.agent_id = ${agentId}`);
  const version = async () => (await req(d.base, 'GET', '/api/v1/me/agent', { token: user.token })).body.version;
  const before = { split: split(), version: await version() };
  assert.equal(before.split, `${purposes[0]}:60`);
  const put = () => req(d.base, 'PUT', '/api/v1/me/agent/purposes', {
    token: user.token, body: [{ purpose: purposes[0], energy: 30 }, { purpose: purposes[1], energy: 50 }],
  });

  // mid-transaction: the INSERT of the new split fails after the DELETE of the old one
  const name = `${FN}_energy`;
  addTrigger(name, 'agent_purposes', `CREATE TRIGGER ${name} BEFORE INSERT ON agent_purposes FOR EACH ROW
    WHEN (NEW.agent_id = ${agentId}) EXECUTE FUNCTION ${FN}('53100')`);
  try {
    assert503(await put(), 'PUT /me/agent/purposes, disk full mid-transaction');
    assert.deepEqual({ split: split(), version: await version() }, before);
  } finally {
    dropTrigger(name, 'agent_purposes');
  }
  await stillServes('mid-transaction');

  // at COMMIT: a deferred constraint trigger fails when the transaction commits
  const deferred = `${FN}_commit`;
  addTrigger(deferred, 'agent_purposes', `CREATE CONSTRAINT TRIGGER ${deferred} AFTER INSERT ON agent_purposes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.agent_id = ${agentId}) EXECUTE FUNCTION ${FN}('53100')`);
  try {
    assert503(await put(), 'PUT /me/agent/purposes, disk full at COMMIT');
    assert.deepEqual({ split: split(), version: await version() }, before);
  } finally {
    dropTrigger(deferred, 'agent_purposes');
  }
  await stillServes('at commit');

  res = await put();
  assert.equal(res.status, 200, res.text);
  assert.equal(split(), [`${purposes[0]}:30`, `${purposes[1]}:50`].sort().join(','));
});

test('a program limit (54000, 54001) is the request\'s size, not our fault: 413, nothing written, never 500', async () => {
  await ready;
  addTrigger(`${FN}_purposes`, 'purposes',
    `CREATE TRIGGER ${FN}_purposes BEFORE INSERT ON purposes FOR EACH ROW EXECUTE FUNCTION ${FN}('-')`);
  try {
    for (const code of ['54000', '54001']) {
      const name = `${PREFIX} ${code} huge`;
      const res = await createPurpose(name);
      assert.equal(res.status, 413, `${code}: ${res.status} ${res.text}`);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal(res.body.status, 413);
      assert.equal(purposeCount(name), '0');
      await stillServes(code);
    }
  } finally {
    dropTrigger(`${FN}_purposes`, 'purposes');
  }
  const metrics = (await req(d.base, 'GET', '/metrics')).text;
  assert.doesNotMatch(metrics, /status="500"/, 'no request was answered 500');
});
