// notifications: the kinds beyond agreement transitions (a new engagement
// from a followed organisation that serves one of your purposes; a review
// date approaching), the unread filter with pagination, nothing for deleted
// accounts, and the personal Atom feed at a secret, revocable URL.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { addMember, api, newUser, sql, unique } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const list = (who, q = '') => api('GET', `/api/v1/me/notifications${q}`, { token: who.token });
const countOf = (where) => Number(sql(`SELECT count(*) FROM notifications WHERE ${where}`)[0][0]);

async function newPurpose(token, label) {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name: unique(label), description: 'for tests' } });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

async function makeAgent(user, energies, extra = {}) {
  const handle = unique('ag');
  let res = await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle, headline: '', personal_purpose: '', skills: [], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true, ...extra },
  });
  assert.equal(res.status, 200, res.text);
  res = await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body: energies });
  assert.equal(res.status, 200, res.text);
  return handle;
}

async function follow(user, org) {
  const res = await api('PUT', `/api/v1/organisations/${org}/follow`, { token: user.token });
  assert.equal(res.status, 204, res.text);
}

async function newOrg(owner, purposes) {
  const res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: unique('Org'), purpose_statement: 'Water for all', purposes, legal_form: 'cooperative', governance: 'sociocracy' },
  });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

async function postEngagement(who, org, purposes, title = 'Fix pumps') {
  const res = await api('POST', `/api/v1/organisations/${org}/engagements`, {
    token: who.token,
    body: { title, description: 'Pumps need fixing', purposes, packagings: ['volunteer'], hours_per_week: 4,
            skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

// An organisation (owner and one member), an agent with an agreement in force.
async function agreementWorld({ review_on, starts_on = day(-30), agentName = 'Ada Agent', role = 'Pump engineer' } = {}) {
  const owner = await newUser('Olga Owner');
  const member = await newUser('Mo Member');
  const agent = await newUser(agentName);
  const purpose = await newPurpose(owner.token, 'Water');
  const org = await newOrg(owner, [purpose]);
  await addMember(owner, org, member, 'member');
  let res;
  const handle = await makeAgent(agent, [{ purpose, energy: 50 }]);
  res = await api('POST', '/api/v1/agreements', {
    token: agent.token,
    body: { organisation: org, agent: handle, role, purposes: [purpose], packaging: 'volunteer',
            hours_per_week: 4, terms: 'Weekly.', rewards: { cash: null, non_cash: [] }, starts_on, review_on },
  });
  assert.equal(res.status, 201, res.text);
  const id = res.body.id;
  res = await api('POST', `/api/v1/agreements/${id}/accept`, { token: owner.token });
  assert.equal(res.status, 200, res.text);
  return { owner, member, agent, purpose, org, handle, id, version: res.body.version };
}

test('a new open engagement notifies each matching follower once, never the poster or non-matching followers', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Water');
  const science = await newPurpose(owner.token, 'Science');
  const unrelated = await newPurpose(owner.token, 'Unrelated');
  const org = await newOrg(owner, [water, science]);

  const both = await newUser('Both Purposes');        // follows, two matching purposes
  await makeAgent(both, [{ purpose: water, energy: 40 }, { purpose: science, energy: 40 }]);
  await follow(both, org);
  const other = await newUser('Other Purpose');       // follows, no matching purpose
  await makeAgent(other, [{ purpose: unrelated, energy: 50 }]);
  await follow(other, org);
  const stranger = await newUser('Not Following');    // matching, does not follow
  await makeAgent(stranger, [{ purpose: water, energy: 50 }]);
  await makeAgent(owner, [{ purpose: water, energy: 10 }]); // the poster follows its own organisation
  await follow(owner, org);
  const member = await newUser('Mo Member');          // another member who follows: hears of it
  await addMember(owner, org, member, 'member');
  let res;
  await makeAgent(member, [{ purpose: science, energy: 10 }]);
  await follow(member, org);

  const e = await postEngagement(owner, org, [water, science], 'Pumps & <wells>');

  res = await list(both);
  assert.equal(res.status, 200, res.text);
  const posted = res.body.items.filter((n) => n.kind === 'engagement_posted');
  assert.equal(posted.length, 1, 'one notification however many purposes match');
  assert.equal(posted[0].engagement_id, e.id);
  assert.equal(posted[0].agreement_id, null);
  assert.equal(posted[0].read, false);
  assert.match(posted[0].message, /posted "Pumps & <wells>"/);
  assert.equal(posted[0].payload.organisation.slug, org);
  assert.deepEqual(posted[0].payload.purposes.map((p) => p.slug).sort(), [water, science].sort());
  assert.equal(res.body.unread, 1);

  assert.equal((await list(member)).body.items.filter((n) => n.kind === 'engagement_posted').length, 1);
  for (const who of [other, stranger, owner]) {
    assert.equal(countOf(`account_id = ${who.id} AND kind = 'engagement_posted'`), 0);
  }

  // changing the engagement (new purposes, paused, reopened) is not a new engagement
  const extra = await newPurpose(owner.token, 'Extra');
  res = await api('PATCH', `/api/v1/engagements/${e.id}`, { token: owner.token, body: { purposes: [water, science, extra], status: 'paused' }, headers: { 'If-Match': `"${e.version}"` } });
  assert.equal(res.status, 200, res.text);
  res = await api('PATCH', `/api/v1/engagements/${e.id}`, { token: owner.token, body: { status: 'open' }, headers: { 'If-Match': `"${res.body.version}"` } });
  assert.equal(res.status, 200, res.text);
  assert.equal(countOf(`engagement_id = ${e.id}`), 2, 'the follower with matching purposes and the member, nothing more');

  // an engagement inserted with another status notifies nobody; the trigger runs at commit
  const [[orgId]] = sql(`SELECT id FROM organisations WHERE slug = '${org}'`);
  const [[pausedId]] = sql(`WITH e AS (INSERT INTO engagements (organisation_id, title, description, hours_per_week, packagings, status)
    VALUES (${orgId}, 'Paused', 'Not yet', 2, '{volunteer}', 'paused') RETURNING id),
    ep AS (INSERT INTO engagement_purposes (engagement_id, purpose_id) SELECT e.id, p.id FROM e, purposes p WHERE p.slug = '${water}')
    SELECT id FROM e`);
  assert.equal(countOf(`engagement_id = ${pausedId}`), 0);
});

test('the fan-out leaves the posting transaction: the background writes each follower\'s notifications once, in posting order', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Water');
  const org = await newOrg(owner, [water]);
  const followers = [];
  for (let i = 0; i < 3; i++) {
    const f = await newUser(`Follower ${i}`);
    await makeAgent(f, [{ purpose: water, energy: 30 }]);
    await follow(f, org);
    followers.push(f);
  }
  const [[orgId]] = sql(`SELECT id FROM organisations WHERE slug = '${org}'`);
  // the posting transaction, its deferred trigger fired before the commit:
  // no notification is written there, one fan-out row is, and a job is
  // waiting to drain it (its own, or one queued before that has not
  // started yet: migration 0045)
  const [[inTx, queued, jobs]] = sql(`BEGIN;
    CREATE TEMP TABLE posted ON COMMIT DROP AS WITH e AS (INSERT INTO engagements (organisation_id, title, description, hours_per_week, packagings, status)
      VALUES (${orgId}, 'Quiet', 'Posted by SQL', 2, '{volunteer}', 'open') RETURNING id),
      ep AS (INSERT INTO engagement_purposes (engagement_id, purpose_id) SELECT e.id, p.id FROM e, purposes p WHERE p.slug = '${water}')
      SELECT id FROM e;
    SET CONSTRAINTS ALL IMMEDIATE;
    SELECT (SELECT count(*) FROM notifications WHERE engagement_id = (SELECT id FROM posted)),
           (SELECT count(*) FROM engagement_fan_outs WHERE engagement_id = (SELECT id FROM posted)),
           (SELECT count(*) FROM jobs WHERE kind = 'fan_out' AND state = 'queued');
    COMMIT;`);
  assert.equal(Number(inTx), 0, 'no notification row in the posting transaction');
  assert.equal(Number(queued), 1);
  assert.equal(Number(jobs), 1, 'one job waiting, never one more per post');
  // three more by the API, none of the followers reading: the job workers write them
  const posted = [];
  for (let i = 0; i < 3; i++) posted.push(await postEngagement(owner, org, [water], `Background ${i}`));
  const ids = posted.map((e) => e.id).join(',');
  const deadline = Date.now() + 10000;
  while (countOf(`engagement_id IN (${ids})`) < 9 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(countOf(`engagement_id IN (${ids})`), 9, 'each follower once per engagement, written in the background');
  assert.equal(Number(sql(`SELECT count(*) FROM engagement_fan_outs WHERE engagement_id IN (${ids})`)[0][0]), 0, 'drained');
  for (const f of followers) {
    const order = sql(`SELECT engagement_id FROM notifications WHERE account_id = ${f.id} AND engagement_id IN (${ids}) ORDER BY id`).map((r) => Number(r[0]));
    assert.deepEqual(order, posted.map((e) => e.id), 'in posting order');
  }
  // draining again, or a follower reading, writes nothing twice
  sql(`SELECT notifications_fan_out(NULL, 100)`);
  sql(`SELECT notifications_fan_out(${followers[0].id})`);
  const res = await list(followers[0]);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.items.filter((n) => n.kind === 'engagement_posted').length, 4);
  assert.equal(countOf(`engagement_id IN (${ids})`), 9);
});

test('a post that saw a fan-out job waiting is drained by that job, even when it commits after the job started', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Water');
  const org = await newOrg(owner, [water]);
  const agent = await newUser('Ada Agent');
  await makeAgent(agent, [{ purpose: water, energy: 30 }]);
  await follow(agent, org);
  const [[orgId]] = sql(`SELECT id FROM organisations WHERE slug = '${org}'`);
  // a job is waiting (committed); the post sees it, queues none of its own
  // (migration 0045) and commits 3 s later, long after a worker claimed it
  const { spawn } = await import('node:child_process');
  const poster = spawn('psql', [process.env.DATABASE_URL, '-XqAt', '-v', 'ON_ERROR_STOP=1', '-c', `SELECT job_enqueue('fan_out', '{}')`, '-c',
    `BEGIN;
     CREATE TEMP TABLE posted ON COMMIT DROP AS WITH e AS (INSERT INTO engagements (organisation_id, title, description, hours_per_week, packagings, status)
       VALUES (${orgId}, 'Late', 'Committed after the job began', 2, '{volunteer}', 'open') RETURNING id),
       ep AS (INSERT INTO engagement_purposes (engagement_id, purpose_id) SELECT e.id, p.id FROM e, purposes p WHERE p.slug = '${water}')
       SELECT id FROM e;
     SET CONSTRAINTS ALL IMMEDIATE;
     SELECT id, (SELECT count(*) FROM jobs WHERE kind = 'fan_out' AND payload->>'engagement_id' = posted.id::text) FROM posted;
     SELECT pg_sleep(3);
     COMMIT;`]);
  let out = '';
  poster.stdout.on('data', (d) => { out += d; });
  const code = await new Promise((r) => poster.on('exit', r));
  assert.equal(code, 0);
  const [eid, ownJobs] = out.trim().split('\n').find((l) => l.includes('|')).split('|');
  // the waiting job's worker waited for this commit before draining: no
  // other post comes to queue another job, and nobody reads
  const deadline = Date.now() + 10000;
  while (countOf(`engagement_id = ${eid}`) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.equal(countOf(`engagement_id = ${eid}`), 1, `written in the background (own jobs queued: ${ownJobs})`);
  assert.equal(Number(sql(`SELECT count(*) FROM engagement_fan_outs WHERE engagement_id = ${eid}`)[0][0]), 0, 'drained');
});

test('a follower reads a new engagement\'s notification at once, before the background fan-out ran', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Water');
  const org = await newOrg(owner, [water]);
  const agent = await newUser('Ada Agent');
  await makeAgent(agent, [{ purpose: water, energy: 30 }]);
  await follow(agent, org);
  // the background drain held up (its advisory lock taken elsewhere): only reading can write it
  const { spawn } = await import('node:child_process');
  const holder = spawn('psql', [process.env.DATABASE_URL, '-XqAt', '-c',
    "BEGIN; SELECT pg_advisory_xact_lock(hashtext('notifications_fan_out')); SELECT pg_sleep(4); COMMIT;"]);
  const held = new Promise((r) => holder.on('exit', r));
  for (let i = 0; i < 50 && !Number(sql(`SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted`)[0][0]); i++)
    await new Promise((r) => setTimeout(r, 50));
  const e = await postEngagement(owner, org, [water], 'Read me');
  const eid = e.id;
  const res = await list(agent);
  assert.equal(res.status, 200, res.text);
  const mine = res.body.items.filter((n) => n.engagement_id === eid);
  assert.equal(mine.length, 1);
  assert.equal(Number(sql(`SELECT count(*) FROM engagement_fan_outs WHERE engagement_id = ${eid}`)[0][0]), 1, 'still queued for the others');
  await held;
  const deadline = Date.now() + 10000;
  while (Number(sql(`SELECT count(*) FROM engagement_fan_outs WHERE engagement_id = ${eid}`)[0][0]) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 100));
  assert.equal(countOf(`engagement_id = ${eid}`), 1, 'the background drain wrote nothing twice');
});

test('the unread filter, pagination over it, and marking read', async () => {
  const owner = await newUser('Olga Owner');
  const water = await newPurpose(owner.token, 'Water');
  const org = await newOrg(owner, [water]);
  const agent = await newUser('Ada Agent');
  await makeAgent(agent, [{ purpose: water, energy: 50 }]);
  await follow(agent, org);
  const posted = [];
  for (let i = 0; i < 5; i++) posted.push(await postEngagement(owner, org, [water], `Engagement ${i}`));

  let r = await list(agent);
  assert.deepEqual(r.body.items.map((n) => n.engagement_id), posted.map((e) => e.id).reverse());
  assert.equal(r.body.unread, 5);
  const ids = r.body.items.map((n) => n.id);
  r = await api('POST', '/api/v1/me/notifications/read', { token: agent.token, body: { ids: [ids[0], ids[2]] } });
  assert.deepEqual(r.body, { marked: 2, unread: 3 });

  r = await list(agent, '?unread=true&limit=2');
  assert.equal(r.status, 200, r.text);
  assert.deepEqual(r.body.items.map((n) => n.id), [ids[1], ids[3]]);
  assert.ok(r.body.items.every((n) => n.read === false && n.read_at === null));
  assert.equal(r.body.unread, 3);
  r = await list(agent, `?unread=true&limit=2&cursor=${encodeURIComponent(r.body.next_cursor)}`);
  assert.deepEqual(r.body.items.map((n) => n.id), [ids[4]]);
  assert.equal(r.body.next_cursor, null);
  r = await list(agent, '?unread=false');
  assert.equal(r.body.items.length, 5, 'unread=false lists all');
  const read = r.body.items.filter((n) => n.read);
  assert.deepEqual(read.map((n) => n.id), [ids[0], ids[2]]);
  assert.ok(read.every((n) => /^\d{4}-\d\d-\d\dT/.test(n.read_at)));
  r = await api('POST', '/api/v1/me/notifications/read', { token: agent.token, body: { all: true } });
  assert.deepEqual(r.body, { marked: 3, unread: 0 });
  r = await list(agent, '?unread=true');
  assert.deepEqual(r.body.items, []);
  assert.equal(r.body.unread, 0);
  r = await list(agent, '?unread=1');
  assert.equal(r.status, 400);
  r = await api('GET', '/api/v1/me/notifications');
  assert.equal(r.status, 401);
});

test('a review date approaching is notified once, to both sides, when they look', async () => {
  const w = await agreementWorld({ review_on: day(5) });
  const reviews = (who) => countOf(`account_id = ${who.id} AND kind = 'agreement_review_due' AND agreement_id = ${w.id}`);
  assert.equal(reviews(w.agent), 0, 'written when the account looks, not before');

  // concurrent readers write it once
  const results = await Promise.all([0, 1, 2, 3].map(() => list(w.agent)));
  assert.ok(results.every((r) => r.status === 200));
  assert.equal(reviews(w.agent), 1);
  let r = await list(w.agent);
  const due = r.body.items.filter((n) => n.kind === 'agreement_review_due');
  assert.equal(due.length, 1);
  assert.equal(due[0].agreement_id, w.id);
  assert.equal(due[0].payload.review_on, day(5));
  assert.equal(due[0].payload.side, 'agent');
  // the date in words, as people write it ("17 Dec 2026"), not as programs do
  const words = new Date(`${day(5)}T00:00:00Z`).toLocaleDateString('en-GB', { day: 'numeric', month: 'short', year: 'numeric', timeZone: 'UTC' }).replace('Sept', 'Sep');
  assert.match(due[0].message, new RegExp(`The review of "Pump engineer" with .+ is due on ${words}\\.`));

  // the portfolio writes it too (for the member, through the organisation side on reading)
  r = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(r.status, 200);
  assert.ok(r.body.warnings.some((x) => x.kind === 'review_due'));
  assert.equal(reviews(w.agent), 1, 'the portfolio does not write it again');
  r = await list(w.member);
  const memberDue = r.body.items.filter((n) => n.kind === 'agreement_review_due');
  assert.equal(memberDue.length, 1);
  assert.equal(memberDue[0].payload.side, 'organisation');
  assert.match(memberDue[0].message, /with Ada Agent is due on/);

  // a new review date (by accepted amendment, now past) is a new notification
  r = await api('PATCH', `/api/v1/agreements/${w.id}`, { token: w.owner.token, body: { review_on: day(-2) }, headers: { 'If-Match': `"${w.version}"` } });
  assert.equal(r.status, 200, r.text);
  r = await api('POST', `/api/v1/agreements/${w.id}/accept`, { token: w.agent.token });
  assert.equal(r.status, 200, r.text);
  await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(reviews(w.agent), 2);
  r = await list(w.agent, '?unread=true');
  const latest = r.body.items.find((n) => n.kind === 'agreement_review_due');
  assert.equal(latest.payload.review_on, day(-2));
  assert.match(latest.message, /was due on/);

  // far away, ended or never in force: nothing
  const far = await agreementWorld({ review_on: day(30) });
  await list(far.agent);
  await list(far.owner);
  assert.equal(countOf(`agreement_id = ${far.id} AND kind = 'agreement_review_due'`), 0);
  const ended = await agreementWorld({ review_on: day(3) });
  r = await api('POST', `/api/v1/agreements/${ended.id}/conclude`, { token: ended.owner.token, body: { commitments_kept: true } });
  assert.equal(r.status, 200, r.text);
  await list(ended.agent);
  assert.equal(countOf(`agreement_id = ${ended.id} AND kind = 'agreement_review_due'`), 0);
});

test('a deleted account receives no new notifications', async () => {
  const owner = await newUser('Olga Owner');
  const purpose = await newPurpose(owner.token, 'Water');
  const org = await newOrg(owner, [purpose]);
  const agent = await newUser('Leaving Agent');
  const handle = await makeAgent(agent, [{ purpose, energy: 50 }]);
  let r = await api('POST', '/api/v1/agreements', {
    token: agent.token,
    body: { organisation: org, agent: handle, role: 'Role', purposes: [purpose], packaging: 'volunteer',
            hours_per_week: 4, terms: 'Weekly.', rewards: { cash: null, non_cash: [] }, starts_on: day(1) },
  });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  r = await api('DELETE', '/api/v1/me/account', { token: agent.token, body: { password: agent.password } });
  assert.equal(r.status, 204, r.text);
  r = await api('POST', `/api/v1/agreements/${id}/decline`, { token: owner.token });
  assert.equal(r.status, 200, r.text);
  assert.equal(countOf(`account_id = ${agent.id}`), 0);
  // whoever writes: the database refuses to give a deleted account anything new
  sql(`INSERT INTO notifications (account_id, kind, message) VALUES (${agent.id}, 'test', 'hello')`);
  assert.equal(countOf(`account_id = ${agent.id}`), 0);
  sql(`INSERT INTO notifications (account_id, kind, message) VALUES (${owner.id}, 'test', 'hello')`);
  assert.equal(countOf(`account_id = ${owner.id} AND kind = 'test'`), 1);
});

function xmllint(xml) {
  return execFileSync('xmllint', ['--noout', '-'], { input: xml, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
}

test('the personal Atom feed: secret URL, valid and escaped, rotated and revoked', async () => {
  const w = await agreementWorld({ agentName: 'Ada <b>& "Q"</b>', role: 'Pumps & <Wells>', review_on: day(7) });
  let r = await api('POST', '/api/v1/me/notifications/feed');
  assert.equal(r.status, 401);
  r = await api('POST', '/api/v1/me/notifications/feed', { token: w.owner.token });
  assert.equal(r.status, 201, r.text);
  const url = r.body.url;
  assert.match(url, /^\/feeds\/me\/[A-Za-z0-9_-]{43}\.atom$/);
  assert.equal(r.headers.get('location'), url);
  const token = url.slice('/feeds/me/'.length, -'.atom'.length);
  assert.equal(sql(`SELECT count(*) FROM notification_feeds WHERE account_id = ${w.owner.id} AND octet_length(token_hash) = 32
    AND position(convert_to('${token}', 'UTF8') IN token_hash) = 0`)[0][0], '1', 'only a hash of the token is stored');

  r = await api('GET', url);
  assert.equal(r.status, 200, r.text);
  assert.match(r.headers.get('content-type'), /^application\/atom\+xml/);
  assert.match(r.headers.get('cache-control'), /private/);
  xmllint(r.text);
  assert.match(r.text, /<feed xmlns="http:\/\/www.w3.org\/2005\/Atom">/);
  // the proposal by the agent and the review due, both escaped
  assert.ok(r.text.includes('<title>Ada &lt;b&gt;&amp; &quot;Q&quot;&lt;/b&gt; proposed the agreement &quot;Pumps &amp; &lt;Wells&gt;&quot;.</title>'), r.text);
  assert.ok(r.text.includes('<category term="agreement_review_due"/>'), 'reading the feed writes the review notification');
  assert.ok(r.text.includes(`/agreements/${w.id}"`));
  assert.ok(!r.text.includes('<b>'));
  assert.equal((r.text.match(/<entry>/g) ?? []).length, 2);
  const before = countOf(`account_id = ${w.owner.id} AND read_at IS NULL`);
  assert.equal(before, 2, 'reading the feed marks nothing read');

  // the newest 50 only
  sql(`INSERT INTO notifications (account_id, kind, message) SELECT ${w.owner.id}, 'test', 'Note ' || g FROM generate_series(1, 60) g`);
  r = await api('GET', url);
  xmllint(r.text);
  assert.equal((r.text.match(/<entry>/g) ?? []).length, 50);
  assert.ok(r.text.indexOf('<title>Note 60</title>') < r.text.indexOf('<title>Note 59</title>'));
  assert.ok(!r.text.includes('<title>Note 10</title>'));

  // someone else's token shows someone else's notifications, never the owner's
  r = await api('POST', '/api/v1/me/notifications/feed', { token: w.agent.token });
  const agentFeedUrl = r.body.url;
  const agentFeed = await api('GET', agentFeedUrl);
  assert.equal(agentFeed.status, 200);
  assert.ok(!agentFeed.text.includes('Note 60'));

  // rotate: the old URL is gone
  r = await api('POST', '/api/v1/me/notifications/feed', { token: w.owner.token });
  assert.equal(r.status, 201);
  assert.notEqual(r.body.url, url);
  assert.equal((await api('GET', url)).status, 404);
  const rotated = r.body.url;
  assert.equal((await api('GET', rotated)).status, 200);

  // revoke: 204, and again; the URL is a 404
  r = await api('DELETE', '/api/v1/me/notifications/feed', { token: w.owner.token });
  assert.equal(r.status, 204);
  r = await api('DELETE', '/api/v1/me/notifications/feed', { token: w.owner.token });
  assert.equal(r.status, 204);
  assert.equal((await api('GET', rotated)).status, 404);

  // malformed addresses are 404s, never 500s
  for (const path of ['/feeds/me/x.atom', `/feeds/me/${token}`, `/feeds/me/${token}.json`, '/feeds/me/.atom',
    `/feeds/me/${'A'.repeat(43)}.atom`, `/feeds/me/${'%00'.repeat(10)}.atom`, `/feeds/me/${'a'.repeat(150)}.atom`]) {
    r = await api('GET', path);
    assert.equal(r.status, 404, path);
  }

  // deleting the account revokes its feed
  r = await api('DELETE', '/api/v1/me/account', { token: w.agent.token, body: { password: w.agent.password } });
  assert.equal(r.status, 204);
  assert.equal((await api('GET', agentFeedUrl)).status, 404);
  assert.equal(sql(`SELECT count(*) FROM notification_feeds WHERE account_id = ${w.agent.id}`)[0][0], '0');
});

// A fan_out job that runs out of its slice queues a successor; each
// notification it wrote for a verified follower queued a mail job. Jobs are
// claimed oldest run_at first, so a successor at the tail waited for all of
// that mail to be sent (migration 0053): it is due before every queued job.
test('a fan-out successor is due before every queued job, and is not queued twice', async () => {
  const deadline = Date.now() + 10000;
  while (Number(sql("SELECT count(*) FROM jobs WHERE kind = 'fan_out' AND state = 'queued'")[0][0]) && Date.now() < deadline)
    await new Promise((r) => setTimeout(r, 50));
  // a job of a kind no worker claims, due an hour ago: the oldest in the queue
  const [[waiting]] = sql(`SELECT job_enqueue('test_waiting', '{}', now() - interval '1 hour')`);
  const [[waitingAt]] = sql(`SELECT run_at FROM jobs WHERE id = ${waiting}`);
  try {
    const [[succ]] = sql('SELECT fan_out_successor()');
    assert.ok(Number(succ) > 0, 'queued');
    const [[before]] = sql(`SELECT (SELECT run_at FROM jobs WHERE id = ${succ}) < '${waitingAt}'::timestamptz`);
    assert.equal(before, 't', 'due before the oldest queued job');
    // one waiting (due later, so no worker takes it meanwhile): none more
    const [[later]] = sql(`SELECT job_enqueue('fan_out', '{}', now() + interval '1 hour')`);
    try {
      assert.equal(sql('SELECT fan_out_successor()')[0]?.[0] ?? '', '');
      assert.equal(sql("SELECT count(*) FROM jobs WHERE kind = 'fan_out' AND state = 'queued'")[0][0], '1');
    } finally {
      sql(`DELETE FROM jobs WHERE id = ${later}`);
    }
  } finally {
    sql(`DELETE FROM jobs WHERE id = ${waiting}`);
  }
});
