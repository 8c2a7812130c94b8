// pages: the web interface's pages served with their content (server/pages.c):
// title, description, canonical link (only from PUBLIC_URL), Open Graph and
// Twitter tags, schema.org JSON-LD (a JobPosting for each open engagement
// with the fields Google requires), readable content in <main>, 404 pages
// for unknown paths and missing items, escaping, /sitemap.xml and /robots.txt.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { api, BASE, newUser, sql, startDaemon, unique } from './helpers.mjs';

// ---------- reading a page as a crawler or a link preview does ----------

const decode = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"')
  .replace(/&#39;/g, "'").replace(/&amp;/g, '&');

function readPage(html) {
  const head = html.slice(0, html.indexOf('</head>'));
  const title = head.match(/<title>([^<]*)<\/title>/);
  const metas = {};
  for (const m of head.matchAll(/<meta\s+(name|property)="([^"]+)"\s+content="([^"]*)">/g)) metas[m[2]] = decode(m[3]);
  const canonical = head.match(/<link rel="canonical" href="([^"]*)">/);
  const jsonld = [...head.matchAll(/<script type="application\/ld\+json">([\s\S]*?)<\/script>/g)].map((m) => JSON.parse(m[1]));
  const mainStart = html.indexOf('<main id=');
  const main = html.slice(mainStart, html.indexOf('</main>'));
  return { title: title ? decode(title[1]) : null, metas, canonical: canonical ? decode(canonical[1]) : null, jsonld, main, head };
}

async function page(path, base = BASE) {
  const res = await fetch(base + path);
  const html = await res.text();
  return { status: res.status, headers: res.headers, html, ...readPage(html) };
}

// Google's required JobPosting fields, and the location rule: a place, or
// fully remote with where applicants may be.
function assertJobPosting(ld, e) {
  assert.equal(ld['@context'], 'https://schema.org/');
  assert.equal(ld['@type'], 'JobPosting');
  assert.equal(ld.title, e.title);
  assert.equal(ld.description, e.description);
  assert.equal(ld.datePosted, e.created_at);
  assert.ok(!Number.isNaN(Date.parse(ld.datePosted)));
  assert.equal(ld.hiringOrganization['@type'], 'Organization');
  assert.equal(ld.hiringOrganization.name, e.organisation.name);
  const place = ld.jobLocation?.address?.addressLocality;
  const remote = ld.jobLocationType === 'TELECOMMUTE';
  assert.ok(place || remote, 'jobLocation or TELECOMMUTE');
  if (remote) assert.ok(ld.applicantLocationRequirements?.name, 'remote postings name where applicants may be');
  if (place) assert.equal(ld.jobLocation['@type'], 'Place');
  assert.ok(Array.isArray(ld.employmentType) && ld.employmentType.length > 0);
  for (const t of ld.employmentType) assert.ok(['FULL_TIME', 'PART_TIME', 'CONTRACTOR', 'TEMPORARY', 'INTERN', 'VOLUNTEER', 'PER_DIEM', 'OTHER'].includes(t), t);
  if (e.rewards.cash) {
    assert.equal(ld.baseSalary['@type'], 'MonetaryAmount');
    assert.equal(ld.baseSalary.currency, e.rewards.cash.currency);
    assert.equal(ld.baseSalary.value.minValue, e.rewards.cash.min);
    assert.equal(ld.baseSalary.value.maxValue, e.rewards.cash.max);
  } else {
    assert.equal(ld.baseSalary, undefined, 'no salary without cash');
  }
}

function assertPreview(p, title, description) {
  assert.equal(p.status, 200, p.html.slice(0, 300));
  assert.equal(p.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.equal(p.title, `${title} · Purposed`);
  assert.ok(p.metas.description?.length > 0);
  if (description) assert.ok(description.startsWith(p.metas.description.replace(/…$/, '')), p.metas.description);
  assert.equal(p.metas['og:title'], title);
  assert.equal(p.metas['og:description'], p.metas.description);
  assert.equal(p.metas['og:site_name'], 'Purposed');
  assert.equal(p.metas['twitter:card'], 'summary');
  assert.equal(p.metas['twitter:title'], title);
  assert.equal(p.metas.robots, undefined, 'public pages are indexed');
  // the app takes over
  assert.match(p.head, /<script type="module" src="\/app\/main.js"><\/script>/);
}

// ---------- data ----------

let owner, purpose, org, open, remote, closed, cashless, agent, hidden;

before(async () => {
  owner = await newUser('Pages Owner');
  const p = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `Pages purpose ${unique('p')}`, description: 'Clean rivers for everyone.' } });
  assert.equal(p.status, 201, p.text);
  purpose = p.body;
  const o = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `River Keepers ${unique('o')}`, slug: unique('org'), purpose_statement: 'We keep rivers clean, together with the people who live by them.', purposes: [purpose.slug], legal_form: 'nonprofit', governance: 'consent_based', website: 'https://rivers.example', location: 'Ghent' },
  });
  assert.equal(o.status, 201, o.text);
  org = o.body;
  const post = async (extra) => {
    const res = await api('POST', `/api/v1/organisations/${org.slug}/engagements`, {
      token: owner.token,
      body: { title: 'River steward', description: 'Walk the river twice a week.\n\nRecord what you find.', purposes: [purpose.slug], packagings: ['employment', 'volunteer'], hours_per_week: 38, skills: ['ecology', 'Boating'], location: 'Leuven', remote_ok: false, rewards: { cash: { min: 1800, max: 2400, currency: 'EUR', period: 'month' }, non_cash: ['training'] }, ...extra },
    });
    assert.equal(res.status, 201, res.text);
    return res.body;
  };
  open = await post({});
  remote = await post({ title: 'Remote data keeper', location: null, remote_ok: true, packagings: ['consulting', 'interim', 'partnership'], hours_per_week: 5 });
  cashless = await post({ title: 'Weekend helper', rewards: { non_cash: ['network'] }, packagings: ['volunteer'], hours_per_week: 4 });
  closed = await post({ title: 'Closed role' });
  const c = await api('PATCH', `/api/v1/engagements/${closed.id}`, { token: owner.token, headers: { 'If-Match': `"${closed.version}"` }, body: { status: 'closed' } });
  assert.equal(c.status, 200, c.text);
  closed = c.body;
  const a = await newUser('Ada Pages');
  const ag = await api('PUT', '/api/v1/me/agent', { token: a.token, body: { handle: unique('ada'), headline: 'River ecologist', personal_purpose: 'Rivers that live.', skills: ['ecology'], capacity_hours_per_week: 10, packagings: ['volunteer'], location: 'Ghent', remote_ok: true, discoverable: true, show_track_record: false } });
  assert.equal(ag.status, 200, ag.text);
  agent = ag.body;
  const h = await newUser('Hidden Pages');
  const hg = await api('PUT', '/api/v1/me/agent', { token: h.token, body: { handle: unique('hid'), headline: 'Private', personal_purpose: '', skills: [], capacity_hours_per_week: 5, packagings: ['volunteer'], remote_ok: false, discoverable: false, show_track_record: false } });
  assert.equal(hg.status, 200, hg.text);
  hidden = hg.body;
});

// ---------- each kind of page ----------

test('an engagement page: title, description, Open Graph, content readable without JavaScript, JobPosting', async () => {
  const p = await page(`/engagements/${open.id}`);
  assertPreview(p, 'River steward', open.description.replace(/\s+/g, ' '));
  assert.equal(p.headers.get('cache-control'), 'no-cache');
  assert.match(p.main, /<h1>River steward<\/h1>/);
  assert.match(p.main, /Walk the river twice a week\./);
  assert.match(p.main, /38 hours a week/);
  assert.match(p.main, new RegExp(`href="/organisations/${org.slug}"`));
  assert.match(p.main, new RegExp(`href="/purposes/${purpose.slug}"`));
  assert.match(p.main, /Boating/);
  assert.equal(p.jsonld.length, 1);
  const ld = p.jsonld[0];
  assertJobPosting(ld, open);
  assert.deepEqual(ld.employmentType, ['FULL_TIME', 'VOLUNTEER']);
  assert.equal(ld.jobLocation.address.addressLocality, 'Leuven');
  assert.equal(ld.jobLocationType, undefined);
  assert.equal(ld.baseSalary.value.unitText, 'MONTH');
  assert.equal(ld.hiringOrganization.sameAs, 'https://rivers.example');
  // without PUBLIC_URL no absolute link is made (never from Host)
  assert.equal(p.canonical, null);
  assert.equal(p.metas['og:url'], undefined);
  assert.equal(ld.url, undefined);
});

test('every open engagement page carries a valid JobPosting; remote, cashless and closed ones as they are', async () => {
  const r = await page(`/engagements/${remote.id}`);
  assertJobPosting(r.jsonld[0], remote);
  // no place of its own: the organisation's, and remote
  assert.equal(r.jsonld[0].jobLocationType, 'TELECOMMUTE');
  assert.equal(r.jsonld[0].applicantLocationRequirements['@type'], 'AdministrativeArea');
  assert.deepEqual(r.jsonld[0].employmentType, ['CONTRACTOR', 'TEMPORARY', 'OTHER']);
  const c = await page(`/engagements/${cashless.id}`);
  assertJobPosting(c.jsonld[0], cashless);
  assert.deepEqual(c.jsonld[0].employmentType, ['VOLUNTEER']);
  // a closed engagement is still a page, but no job posting
  const x = await page(`/engagements/${closed.id}`);
  assert.equal(x.status, 200);
  assert.equal(x.jsonld.length, 0);
  assert.match(x.main, /Closed/);
  // all open engagements of the list
  const list = await api('GET', `/api/v1/engagements?organisation=${org.slug}&limit=100`);
  assert.equal(list.status, 200);
  const opens = list.body.items.filter((e) => e.status === 'open');
  assert.ok(opens.length >= 3);
  for (const e of opens) {
    const pe = await page(`/engagements/${e.id}`);
    assert.equal(pe.jsonld.length, 1, `engagement ${e.id}`);
    assertJobPosting(pe.jsonld[0], e);
  }
});

test('an organisation page', async () => {
  const p = await page(`/organisations/${org.slug}`);
  assertPreview(p, org.name, org.purpose_statement);
  assert.match(p.main, /We keep rivers clean/);
  assert.match(p.main, new RegExp(`href="/engagements/${open.id}"`));
  assert.doesNotMatch(p.main, new RegExp(`href="/engagements/${closed.id}"`), 'closed engagements are not listed');
  assert.equal(p.jsonld[0]['@type'], 'Organization');
  assert.equal(p.jsonld[0].name, org.name);
  assert.equal(p.jsonld[0].sameAs, 'https://rivers.example');
});

test('an agent page: discoverable agents only', async () => {
  const p = await page(`/agents/${agent.handle}`);
  assertPreview(p, 'Ada Pages', 'River ecologist');
  assert.equal(p.metas['og:type'], 'profile');
  assert.match(p.main, /Rivers that live\./);
  assert.equal(p.jsonld[0]['@type'], 'ProfilePage');
  assert.equal(p.jsonld[0].mainEntity.name, 'Ada Pages');
  const h = await page(`/agents/${hidden.handle}`);
  assert.equal(h.status, 404);
  assert.doesNotMatch(h.html, /Hidden Pages/);
  assert.match(h.main, /could not find this agent/);
});

test('a purpose page and the lists', async () => {
  const p = await page(`/purposes/${purpose.slug}`);
  assertPreview(p, purpose.name, 'Clean rivers for everyone.');
  assert.match(p.main, new RegExp(`href="/engagements/${open.id}"`));
  assert.match(p.main, new RegExp(`href="/organisations/${org.slug}"`));
  const home = await page('/');
  assert.equal(home.status, 200);
  assert.equal(home.title, 'Purposed — purposeful work, agreed in the open');
  assert.equal(home.jsonld[0]['@type'], 'WebSite');
  assert.match(home.main, new RegExp(`href="/engagements/${open.id}"`));
  const orgs = await page('/organisations');
  assertPreview(orgs, 'Organisations');
  assert.match(orgs.main, new RegExp(`href="/organisations/${org.slug}"`));
  const purposes = await page('/purposes');
  assertPreview(purposes, 'Purposes');
  // the catalogue in the API's order (by slug)
  const first = (await api('GET', '/api/v1/purposes?limit=1')).body.items[0];
  assert.match(purposes.main, new RegExp(`href="/purposes/${first.slug}"`));
  // the app's own pages are the template, not indexed
  for (const path of ['/signin', '/signup', '/me', '/me/matches', '/settings', '/admin', '/admin/reports', '/admin/reports/3', '/organisations/new', `/organisations/${org.slug}/edit`, '/agreements/7']) {
    const a = await page(path);
    assert.equal(a.status, 200, path);
    assert.equal(a.metas.robots, 'noindex', path);
  }
  // HEAD answers like GET without a body
  const head = await fetch(`${BASE}/engagements/${open.id}`, { method: 'HEAD' });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), '');
});

// ---------- not found ----------

test('an unknown path is a 404 page; a missing item is a 404 page that says so and offers a way on', async () => {
  for (const path of ['/no/such/page', '/nothing-here', '/missing.js', `/organisations/${org.slug}/nope`, '/me/nope', '/admin/nope']) {
    const p = await page(path);
    assert.equal(p.status, 404, path);
    assert.equal(p.headers.get('content-type'), 'text/html; charset=utf-8', path);
    assert.equal(p.title, 'Page not found · Purposed', path);
    assert.equal(p.metas.robots, 'noindex', path);
    assert.match(p.main, /We could not find that page/, path);
    assert.match(p.main, /href="\/"/, path);
  }
  const cases = [
    ['/engagements/999999999', 'engagement', '/'], ['/engagements/abc', 'engagement', '/'], ['/engagements/007', 'engagement', '/'],
    [`/organisations/${unique('nope')}`, 'organisation', '/organisations'],
    [`/purposes/${unique('nope')}`, 'purpose', '/purposes'], [`/agents/${unique('nope')}`, 'agent', '/'],
  ];
  for (const [path, what, way] of cases) {
    const p = await page(path);
    assert.equal(p.status, 404, path);
    assert.equal(p.title, `${what[0].toUpperCase()}${what.slice(1)} not found · Purposed`, path);
    assert.match(p.main, new RegExp(`We could not find this ${what}`), path);
    assert.match(p.main, new RegExp(`<a class="btn" href="${way}">`), path);
    assert.equal(p.jsonld.length, 0, path);
    assert.equal(p.metas.robots, 'noindex', path);
  }
});

test('the API tells a missing item (no-such-item) from an address with no endpoint (not-found)', async () => {
  const items = ['/api/v1/engagements/999999999', '/api/v1/engagements/abc', `/api/v1/organisations/${unique('x')}`,
    `/api/v1/purposes/${unique('x')}`, `/api/v1/agents/${unique('x')}`, `/api/v1/agents/${hidden.handle}`,
    '/api/v1/agreements/999999999', `/api/v1/organisations/${unique('x')}/charter`];
  for (const path of items) {
    const res = await api('GET', path, { token: owner.token });
    assert.equal(res.status, 404, path);
    assert.equal(res.body.type, 'https://purposed.dev/problems/no-such-item', `${path}: ${res.text}`);
    assert.match(res.body.detail, /^No such /, path);
  }
  for (const path of ['/api/v1/nothing', '/api/v1/engagements/1/nothing']) {
    const res = await api('GET', path);
    assert.equal(res.status, 404, path);
    assert.equal(res.body.type, 'https://purposed.dev/problems/not-found', path);
    assert.equal(res.body.detail, 'There is nothing at this address.');
  }
});

// ---------- escaping ----------

test('everything put into a page is escaped: <script> in a title, </script> in JSON-LD', async () => {
  const evil = 'Fixer </script><script>alert(1)</script> & "quotes" \'too\'';
  const desc = 'Break out: </script><script>alert(2)</script><!-- and <b>bold</b> & more';
  const res = await api('POST', `/api/v1/organisations/${org.slug}/engagements`, {
    token: owner.token,
    body: { title: evil, description: desc, purposes: [purpose.slug], packagings: ['volunteer'], hours_per_week: 3, skills: ['<img src=x onerror=alert(3)>'], location: '"><script>alert(4)</script>', remote_ok: true, rewards: { non_cash: ['</dd><script>alert(5)</script>'] } },
  });
  assert.equal(res.status, 201, res.text);
  const p = await page(`/engagements/${res.body.id}`);
  assert.equal(p.status, 200);
  assert.doesNotMatch(p.html, /<script>alert/);
  assert.doesNotMatch(p.html, /<img src=x/);
  assert.doesNotMatch(p.html, /<b>bold/);
  // exactly one JSON-LD block, and it ends where it should
  assert.equal(p.html.match(/<script type="application\/ld\+json">/g).length, 1);
  // no "<" at all inside it: neither "</script" nor "<!--" can end or change the block
  const raw = p.head.split('<script type="application/ld+json">')[1].split('</script>')[0];
  assert.doesNotMatch(raw, /[<>]/);
  assert.equal(p.jsonld[0].title, evil);
  assert.equal(p.jsonld[0].description, desc);
  assert.equal(p.jsonld[0].jobLocation.address.addressLocality, '"><script>alert(4)</script>');
  assert.equal(p.title, `${evil} · Purposed`);
  assert.equal(p.metas['og:title'], evil);
  assert.ok(p.main.includes('Fixer &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;quotes&quot; &#39;too&#39;'));
  // the whole page parses as HTML without errors about stray markup
  execFileSync('xmllint', ['--html', '--noout', '-'], { input: p.html, stdio: ['pipe', 'ignore', 'ignore'] });
});

// ---------- sitemap and robots.txt ----------

function xmlValid(text) {
  execFileSync('xmllint', ['--noout', '-'], { input: text, stdio: ['pipe', 'ignore', 'pipe'] });
}

test('/sitemap.xml lists the public pages with lastmod, and is well-formed', async () => {
  const res = await fetch(`${BASE}/sitemap.xml`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'application/xml; charset=utf-8');
  // links from Host (no PUBLIC_URL): no shared cache may keep them
  assert.match(res.headers.get('cache-control'), /^private/);
  const xml = await res.text();
  xmlValid(xml);
  assert.match(xml, /^<\?xml version="1.0" encoding="UTF-8"\?>\n<urlset xmlns="http:\/\/www.sitemaps.org\/schemas\/sitemap\/0.9">/);
  const locs = [...xml.matchAll(/<url><loc>([^<]+)<\/loc>(?:<lastmod>([^<]+)<\/lastmod>)?<\/url>/g)].map((m) => [new URL(m[1]).pathname, m[2]]);
  const paths = new Map(locs);
  for (const path of ['/', '/organisations', '/purposes', `/engagements/${open.id}`, `/engagements/${remote.id}`,
    `/organisations/${org.slug}`, `/agents/${agent.handle}`, `/purposes/${purpose.slug}`]) {
    assert.ok(paths.has(path), path);
  }
  assert.ok(!paths.has(`/engagements/${closed.id}`), 'closed engagements are left out');
  assert.ok(!paths.has(`/agents/${hidden.handle}`), 'hidden agents are left out');
  assert.ok(!Date.parse(paths.get(`/engagements/${open.id}`)) === false);
  assert.equal(new Date(paths.get(`/organisations/${org.slug}`)).getTime(), new Date(org.updated_at).getTime());
  // every listed page answers 200
  for (const [path] of locs.filter(([p]) => p.includes(org.slug) || p.includes(agent.handle))) {
    assert.equal((await fetch(BASE + path)).status, 200, path);
  }
});

test('/robots.txt points at the sitemap and keeps personal pages out', async () => {
  const res = await fetch(`${BASE}/robots.txt`);
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
  const text = await res.text();
  assert.match(text, /^User-agent: \*$/m);
  assert.match(text, /^Disallow: \/me$/m);
  assert.match(text, /^Disallow: \/admin$/m);
  assert.match(text, /^Disallow: \/agreements\/$/m);
  assert.match(text, new RegExp(`^Sitemap: ${BASE.replace(/[.]/g, '\\.')}/sitemap\\.xml$`, 'm'));
});

// ---------- with PUBLIC_URL ----------

let d;
after(async () => { if (d) await d.stop(); });

test('with PUBLIC_URL: canonical, og:url and JSON-LD urls from it (never from Host), and public caching', async () => {
  d = await startDaemon({ PUBLIC_URL: 'https://purposed.example', LOG_REQUESTS: '0' });
  const p = await fetch(`${d.base}/engagements/${open.id}`, { headers: { Host: 'evil.example' } });
  const r = readPage(await p.text());
  assert.equal(r.canonical, `https://purposed.example/engagements/${open.id}`);
  assert.equal(r.metas['og:url'], `https://purposed.example/engagements/${open.id}`);
  assert.equal(r.jsonld[0].url, `https://purposed.example/engagements/${open.id}`);
  assert.equal(r.jsonld[0].hiringOrganization.url, `https://purposed.example/organisations/${org.slug}`);
  const o = readPage(await (await fetch(`${d.base}/organisations/${org.slug}`)).text());
  assert.equal(o.canonical, `https://purposed.example/organisations/${org.slug}`);
  const home = readPage(await (await fetch(`${d.base}/engagements?purpose=x`)).text());
  assert.equal(home.canonical, 'https://purposed.example/');
  const sm = await fetch(`${d.base}/sitemap.xml`, { headers: { Host: 'evil.example' } });
  assert.match(sm.headers.get('cache-control'), /^public/);
  const xml = await sm.text();
  assert.doesNotMatch(xml, /evil/);
  assert.match(xml, new RegExp(`<loc>https://purposed\\.example/engagements/${open.id}</loc>`));
  const robots = await (await fetch(`${d.base}/robots.txt`)).text();
  assert.match(robots, /^Sitemap: https:\/\/purposed\.example\/sitemap\.xml$/m);
});

test('past 50,000 addresses /sitemap.xml is an index of parts, each a valid urlset', async () => {
  const tag = unique('sm').replace(/-/g, '');
  sql(`INSERT INTO purposes (slug, name, description) SELECT '${tag}-' || i, '${tag} ' || i, '' FROM generate_series(1, 50001) i`);
  try {
    const res = await fetch(`${BASE}/sitemap.xml`);
    assert.equal(res.status, 200);
    const xml = await res.text();
    xmlValid(xml);
    assert.match(xml, /<sitemapindex xmlns="http:\/\/www.sitemaps.org\/schemas\/sitemap\/0.9">/);
    const parts = [...xml.matchAll(/<sitemap><loc>([^<]+)<\/loc>(?:<lastmod>[^<]+<\/lastmod>)?<\/sitemap>/g)].map((m) => new URL(m[1]).pathname);
    assert.deepEqual(parts, ['/sitemaps/1.xml', '/sitemaps/2.xml']);
    let total = 0;
    for (const part of parts) {
      const p = await fetch(BASE + part);
      assert.equal(p.status, 200, part);
      const body = await p.text();
      xmlValid(body);
      const n = (body.match(/<url>/g) ?? []).length;
      assert.ok(n <= 50000, `${part}: ${n}`);
      total += n;
    }
    assert.ok(total > 50000);
    assert.equal((await fetch(`${BASE}/sitemaps/3.xml`)).status, 404);
    assert.equal((await fetch(`${BASE}/sitemaps/x.xml`)).status, 404);
  } finally {
    sql(`DELETE FROM purposes WHERE slug LIKE '${tag}-%'`);
  }
});

test('pages take any query string: ?next=, list filters and shared links are the app\'s, never a 400', async () => {
  for (const path of ['/signin?next=%2Fme', '/?purpose=clean-water&q=teaching&utm_source=newsletter',
    '/engagements?skill=python&remote=true', '/organisations?q=seed', '/signup?next=/organisations/new']) {
    const res = await fetch(BASE + path);
    assert.equal(res.status, 200, path);
    assert.match(res.headers.get('content-type'), /^text\/html/, path);
  }
  // the API still refuses what it does not take
  const api400 = await fetch(`${BASE}/api/v1/engagements?utm_source=newsletter`);
  assert.equal(api400.status, 400);
});

test('what a moderator hid is no page and not in the sitemap: engagement, organisation, agent, purpose', async () => {
  const m = await newUser('Moderator');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${m.id}, 'moderator')`);
  const owner = await newUser('Owner');
  let r = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: unique('Hidden cause'), description: 'A cause.' } });
  assert.equal(r.status, 201, r.text);
  const purpose = r.body.slug;
  const org = unique('hidden-org');
  r = await api('POST', '/api/v1/organisations', { token: owner.token, body: { name: unique('Hidden Org'), slug: org,
    purpose_statement: 'We are real.', purposes: [purpose], legal_form: 'nonprofit', governance: 'consent_based' } });
  assert.equal(r.status, 201, r.text);
  r = await api('POST', `/api/v1/organisations/${org}/engagements`, { token: owner.token, body: { title: 'Gardener',
    description: 'Tend the beds.', purposes: [purpose], packagings: ['volunteer'], hours_per_week: 4, remote_ok: true,
    rewards: { non_cash: ['learning'] } } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  const agent = await newUser('Agent');
  const handle = unique('hidden-agent');
  r = await api('PUT', '/api/v1/me/agent', { token: agent.token, body: { handle, headline: 'Gardener', skills: ['soil'],
    capacity_hours_per_week: 10, packagings: ['volunteer'], remote_ok: true, discoverable: true } });
  assert.equal(r.status, 200, r.text);
  const paths = [`/engagements/${id}`, `/organisations/${org}`, `/agents/${handle}`, `/purposes/${purpose}`];
  for (const p of paths) assert.equal((await page(p)).status, 200, p);
  const act = (kind, target) => api('POST', '/api/v1/moderation/actions', { token: m.token,
    body: { action: 'hide', kind, target, reason: 'Spam.' } });
  assert.equal((await act('engagement', String(id))).status, 201);
  assert.equal((await page(paths[0])).status, 404, 'a hidden engagement');
  assert.equal((await act('organisation', org)).status, 201);
  assert.equal((await act('agent_profile', handle)).status, 201);
  assert.equal((await act('purpose', purpose)).status, 201);
  for (const p of paths) assert.equal((await page(p)).status, 404, p);
  const sitemap = await (await fetch(`${BASE}/sitemap.xml`)).text();
  for (const p of paths) assert.ok(!sitemap.includes(`${p}<`), `${p} is not in the sitemap`);
});
