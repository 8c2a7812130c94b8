// feeds: open engagements as Atom 1.0 and JSON Feed 1.1 — well-formed,
// escaped, filtered, absolute links, and 304 for a client that has them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { api, BASE, newUser, sql, startDaemon, unique } from './helpers.mjs';

async function newPurpose(token, name = unique('Feed Cause')) {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name, description: 'for feed tests' } });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

async function newOrganisation(purposes) {
  const owner = await newUser('Feed Owner');
  const purpose = purposes ?? [(await newPurpose(owner.token)).slug];
  const name = unique('Feed Org');
  const res = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name, purpose_statement: 'We publish work.', purposes: purpose,
      legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(res.status, 201, res.text);
  return { owner, slug: res.body.slug, name, purposes: purpose };
}

async function newEngagement(org, overrides = {}) {
  const res = await api('POST', `/api/v1/organisations/${org.slug}/engagements`, {
    token: org.owner.token,
    body: {
      title: unique('Engagement'), description: 'Help us with purposeful work.',
      purposes: [org.purposes[0]], packagings: ['volunteer'], hours_per_week: 4, skills: ['writing'],
      remote_ok: true, rewards: { non_cash: ['learning', 'network'] }, ...overrides,
    },
  });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

// A light well-formedness check: tags balance, attributes are quoted, every
// & starts an entity, no raw < in text, no control characters. Then xmllint
// when the machine has it (libxml2-utils).
function assertWellFormedXml(xml) {
  assert.ok(xml.startsWith('<?xml version="1.0" encoding="utf-8"?>'));
  assert.doesNotMatch(xml, /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/, 'control characters');
  assert.doesNotMatch(xml, /&(?!(amp|lt|gt|quot|apos|#\d+|#x[0-9a-fA-F]+);)/, 'bare ampersand');
  const stack = [];
  const body = xml.replace(/^<\?xml[^>]*\?>/, '');
  const tag = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[\w.:-]+="[^"<]*")*)\s*(\/?)>|<|>/g;
  let m;
  let last = 0;
  while ((m = tag.exec(body))) {
    assert.ok(m[2], `stray ${m[0]} at ${m.index}: ${body.slice(Math.max(0, m.index - 40), m.index + 40)}`);
    assert.doesNotMatch(body.slice(last, m.index), /[<>]/);
    last = tag.lastIndex;
    if (m[4]) continue;
    if (m[1]) assert.equal(stack.pop(), m[2], `closing </${m[2]}>`);
    else stack.push(m[2]);
  }
  assert.deepEqual(stack, [], 'every element is closed');
  try {
    execFileSync('xmllint', ['--noout', '-'], { input: xml, stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (e) {
    if (e.code !== 'ENOENT') throw new Error(`xmllint: ${e.stderr}`);
  }
}

const entries = (xml) => [...xml.matchAll(/<entry>([\s\S]*?)<\/entry>/g)].map((m) => m[1]);

// GET with a chosen Host header (fetch does not let us set it).
function getWithHost(path, host, base = BASE) {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path, headers: { Host: host } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('Atom feed: valid Atom 1.0 with absolute links, authors, categories and escaped text', async () => {
  const owner = await newUser();
  const purpose = await newPurpose(owner.token, unique('Clean & <Water>'));
  const org = await newOrganisation([purpose.slug]);
  const title = `${unique('Title')} <script>alert(1)</script> & "quotes" 'apos'\u0001\u0007`;
  const description = 'Line one & <b>two</b>\u0002\nLine three';
  const e = await newEngagement(org, { title, description, purposes: [purpose.slug] });

  const res = await api('GET', `/feeds/engagements.atom?organisation=${org.slug}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/atom+xml; charset=utf-8');
  const xml = res.text;
  assertWellFormedXml(xml);
  assert.match(xml, /<feed xmlns="http:\/\/www\.w3\.org\/2005\/Atom">/);
  assert.match(xml, /<id>http:\/\/127\.0\.0\.1:\d+\/feeds\/engagements\.atom\?organisation=/);
  assert.match(xml, new RegExp(`<title>Open engagements at ${org.name}</title>`));
  assert.match(xml, /<updated>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z<\/updated>/);
  assert.match(xml, new RegExp(`<link rel="self" type="application/atom\\+xml" href="http://127\\.0\\.0\\.1:\\d+/feeds/engagements\\.atom\\?organisation=${org.slug}"/>`));
  const [entry, ...more] = entries(xml);
  assert.equal(more.length, 0);
  assert.match(entry, new RegExp(`<id>http://127\\.0\\.0\\.1:\\d+/engagements/${e.id}</id>`));
  assert.match(entry, new RegExp(`<link rel="alternate" type="text/html" href="http://127\\.0\\.0\\.1:\\d+/engagements/${e.id}"/>`));
  assert.ok(entry.includes('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &apos;apos&apos;</title>'), entry);
  assert.ok(!entry.includes('<script>'));
  assert.ok(entry.includes(`<author><name>${org.name}</name>`));
  assert.ok(entry.includes(`<category term="${purpose.slug}"`));
  assert.ok(entry.includes(`label="${purpose.name.replace('&', '&amp;').replace('<', '&lt;').replace('>', '&gt;')}"`));
  assert.ok(entry.includes('<content type="text">Line one &amp; &lt;b&gt;two&lt;/b&gt;\nLine three</content>'));
  assert.match(entry, /<summary type="text">Line one/);
  assert.match(entry, /<published>.*<\/published>/);
});

test('JSON Feed 1.1: items with links, tags and the _purposed extension', async () => {
  const owner = await newUser();
  const purpose = await newPurpose(owner.token);
  const org = await newOrganisation([purpose.slug]);
  const title = `${unique('Json')} <script>&"'`;
  const e = await newEngagement(org, {
    title, purposes: [purpose.slug], packagings: ['consulting', 'volunteer'],
    rewards: { cash: { min: 100, max: 200, currency: 'EUR', period: 'week' }, non_cash: ['equity'] },
  });
  const res = await api('GET', `/feeds/engagements.json?organisation=${org.slug}`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/feed+json; charset=utf-8');
  const feed = res.body;
  assert.equal(feed.version, 'https://jsonfeed.org/version/1.1');
  assert.equal(feed.title, `Open engagements at ${org.name}`);
  assert.match(feed.home_page_url, /^http:\/\/127\.0\.0\.1:\d+\/engagements$/);
  assert.match(feed.feed_url, new RegExp(`^http://127\\.0\\.0\\.1:\\d+/feeds/engagements\\.json\\?organisation=${org.slug}$`));
  assert.equal(feed.items.length, 1);
  const [item] = feed.items;
  assert.equal(typeof item.id, 'string');
  assert.match(item.url, new RegExp(`/engagements/${e.id}$`));
  assert.equal(item.title, title);
  assert.equal(item.content_text, 'Help us with purposeful work.');
  assert.match(item.date_published, /^\d{4}-\d\d-\d\dT/);
  assert.deepEqual(item.tags, [purpose.name]);
  assert.equal(item.authors[0].name, org.name);
  assert.deepEqual(item._purposed.rewards.non_cash, ['equity']);
  assert.equal(item._purposed.rewards.cash.currency, 'EUR');
  assert.deepEqual(item._purposed.purposes.map((p) => p.slug), [purpose.slug]);
  assert.deepEqual(item._purposed.packagings, ['consulting', 'volunteer']);
  assert.equal(item._purposed.organisation.slug, org.slug);
});

test('feeds list open engagements only, newest first, filtered by organisation and purpose', async () => {
  const owner = await newUser();
  const p1 = await newPurpose(owner.token);
  const p2 = await newPurpose(owner.token);
  const org = await newOrganisation([p1.slug, p2.slug]);
  const other = await newOrganisation([p1.slug]);
  const older = await newEngagement(org, { purposes: [p1.slug] });
  const newer = await newEngagement(org, { purposes: [p2.slug] });
  const closed = await newEngagement(org, { purposes: [p1.slug] });
  const elsewhere = await newEngagement(other, { purposes: [p1.slug] });
  sql(`UPDATE engagements SET status = 'closed', updated_at = now() WHERE id = ${closed.id}`);

  const ids = (feed) => feed.items.map((i) => Number(i._purposed ? i.url.split('/').pop() : i.id));
  const byOrg = await api('GET', `/feeds/engagements.json?organisation=${org.slug}`);
  assert.deepEqual(ids(byOrg.body), [newer.id, older.id]);
  const byPurpose = await api('GET', `/feeds/engagements.json?purpose=${p1.slug}`);
  assert.deepEqual(ids(byPurpose.body), [elsewhere.id, older.id]);
  assert.match(byPurpose.body.title, new RegExp(`for ${p1.name}$`));
  const both = await api('GET', `/feeds/engagements.json?organisation=${org.slug}&purpose=${p2.slug}`);
  assert.deepEqual(ids(both.body), [newer.id]);
  const atom = await api('GET', `/feeds/engagements.atom?purpose=${p1.slug}`);
  assert.equal(entries(atom.text).length, 2);
  assert.ok(atom.text.indexOf(`/engagements/${elsewhere.id}<`) < atom.text.indexOf(`/engagements/${older.id}<`));

  const all = await api('GET', '/feeds/engagements.json');
  assert.ok(all.body.items.length <= 50);
  assert.ok(!ids(all.body).includes(closed.id));
  const dates = all.body.items.map((i) => i.date_published);
  assert.deepEqual(dates, [...dates].sort().reverse(), 'newest first');

  assert.equal((await api('GET', `/feeds/engagements.atom?organisation=${unique('none')}`)).status, 404);
  assert.equal((await api('GET', `/feeds/engagements.json?purpose=${unique('none')}`)).status, 404);
  assert.equal((await api('GET', '/feeds/engagements.json?purpose=Not%20A%20Slug')).status, 400);
  assert.equal((await api('GET', '/feeds/engagements.atom?organisation=%3Cx%3E')).status, 400);
});

test('feeds answer 304 to If-None-Match and If-Modified-Since, and change when an engagement does', async () => {
  const org = await newOrganisation();
  const e = await newEngagement(org);
  for (const path of [`/feeds/engagements.atom?organisation=${org.slug}`, `/feeds/engagements.json?organisation=${org.slug}`]) {
    const first = await api('GET', path);
    const etag = first.headers.get('etag');
    const modified = first.headers.get('last-modified');
    assert.match(etag, /^"[0-9a-f]{32}"$/);
    assert.match(modified, /^\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT$/);
    const again = await api('GET', path, { headers: { 'If-None-Match': etag } });
    assert.equal(again.status, 304);
    assert.equal(again.text, '');
    assert.equal(again.headers.get('etag'), etag);
    assert.equal((await api('GET', path, { headers: { 'If-None-Match': `"other", W/${etag}` } })).status, 304);
    assert.equal((await api('GET', path, { headers: { 'If-None-Match': '"other"' } })).status, 200);
    assert.equal((await api('GET', path, { headers: { 'If-Modified-Since': modified } })).status, 304);
    assert.equal((await api('GET', path, { headers: { 'If-Modified-Since': 'Thu, 01 Jan 2004 00:00:00 GMT' } })).status, 200);
    assert.equal((await api('GET', path, { headers: { 'If-Modified-Since': 'garbage' } })).status, 200);
  }
  // closing the engagement changes the feed: a new ETag and a later Last-Modified
  const path = `/feeds/engagements.json?organisation=${org.slug}`;
  const before = await api('GET', path);
  sql(`UPDATE engagements SET status = 'closed', updated_at = now() + interval '2 seconds' WHERE id = ${e.id}`);
  const after = await api('GET', path, { headers: { 'If-None-Match': before.headers.get('etag') } });
  assert.equal(after.status, 200);
  assert.deepEqual(after.body.items, []);
  assert.notEqual(after.headers.get('etag'), before.headers.get('etag'));
  assert.equal((await api('GET', path, { headers: { 'If-Modified-Since': before.headers.get('last-modified') } })).status, 200);
});

test('feed links use the Host header only when it is a plain host name', async () => {
  const org = await newOrganisation();
  await newEngagement(org);
  const good = await getWithHost(`/feeds/engagements.atom?organisation=${org.slug}`, 'feeds.example.org:8443');
  assert.equal(good.status, 200);
  assert.match(good.text, /href="http:\/\/feeds\.example\.org:8443\/feeds\/engagements\.atom/);
  const evil = await getWithHost(`/feeds/engagements.atom?organisation=${org.slug}`, 'evil.example"><script>');
  assert.equal(evil.status, 200);
  assertWellFormedXml(evil.text);
  assert.ok(!evil.text.includes('evil'));
  assert.match(evil.text, /href="http:\/\/localhost\/feeds\/engagements\.atom/);
  const json = await getWithHost(`/feeds/engagements.json?organisation=${org.slug}`, 'a/b@c');
  assert.match(JSON.parse(json.text).feed_url, /^http:\/\/localhost\//);
});

// A shared cache keys an answer by its URL: an answer whose links a client's
// Host header chose must never be kept for others. With PUBLIC_URL the links
// come from it alone and the feed may be cached publicly.
test('a feed whose links come from the Host header is never publicly cacheable', async () => {
  const org = await newOrganisation();
  await newEngagement(org);
  for (const path of [`/feeds/engagements.atom?organisation=${org.slug}`, `/feeds/engagements.json?organisation=${org.slug}`]) {
    const res = await getWithHost(path, 'attacker.example');
    assert.equal(res.status, 200);
    assert.match(res.text, /attacker\.example/, 'without PUBLIC_URL the links follow Host');
    assert.doesNotMatch(res.headers['cache-control'] ?? '', /public/, `${path}: ${res.headers['cache-control']}`);
    assert.match(res.headers['cache-control'] ?? '', /private|no-store/);
  }
  const d = await startDaemon({ PUBLIC_URL: 'https://purposed.example/', LOG_REQUESTS: '0' });
  try {
    for (const path of [`/feeds/engagements.atom?organisation=${org.slug}`, `/feeds/engagements.json?organisation=${org.slug}`]) {
      const res = await getWithHost(path, 'attacker.example', d.base);
      assert.equal(res.status, 200);
      assert.doesNotMatch(res.text, /attacker/, 'PUBLIC_URL alone makes the links');
      assert.match(res.text, /https:\/\/purposed\.example\/engagements\//);
      assert.match(res.headers['cache-control'], /public/);
    }
  } finally {
    await d.stop();
  }
});
