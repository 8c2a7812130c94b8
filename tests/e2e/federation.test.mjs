// federation: an agreement across two instances, in the browser (issue 22,
// docs/federation.md). Two Purposed instances of their own (A and B, on a
// PostgreSQL cluster of the test's own: tests/federation/instances.mjs). On
// B a person follows A's organisation from their dashboard, sees the
// engagement it posts arrive, marked remote and linking home, in B's search
// and among her matches with their reasons; she proposes from the match;
// A's owner accepts in A's pages; both conclude in their own pages; then both
// agreement pages show the same versions, the parties on each side link
// home, and both records (versions, chain) are the same through the API.
// Needs PURPOSED_BIN, STATIC_DIR, MIGRATIONS_DIR (scripts/test exports them).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { cluster, freePort, req, until, newUser } from '../federation/instances.mjs';
import { axe, cspViolations, launch, SHOTS } from './helpers.mjs';

let C, A, B, browser;
before(async () => {
  C = cluster(Number(process.env.FED_E2E_PG_PORT ?? 0) || await freePort());
  [A, B] = await Promise.all([C.start('fe2e_a', await freePort()), C.start('fe2e_b', await freePort())]);
  browser = await launch();
});
after(async () => { await browser?.close(); await C?.stop(); });

// A signed-in person on instance d: the API user and a page whose context
// carries its session cookie (and the signed_in marker the app reads).
async function person(d, name) {
  const u = await newUser(d, name);
  const res = await fetch(`${d.base}/api/v1/sessions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ email: u.email, password: u.password }) });
  assert.equal(res.status, 201);
  const cookie = (res.headers.get('set-cookie') ?? '').split(';')[0];
  const eq = cookie.indexOf('=');
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, baseURL: d.base });
  await context.addCookies([{ name: cookie.slice(0, eq), value: cookie.slice(eq + 1), url: d.base, httpOnly: true, sameSite: 'Lax' },
    { name: 'signed_in', value: '1', url: d.base, sameSite: 'Lax' }]);
  const page = await context.newPage();
  page.problems = { csp: [], errors: [] };
  page.on('pageerror', (err) => page.problems.errors.push(err.message));
  page.on('console', (m) => { if (/Content[- ]Security[- ]Policy/i.test(m.text())) page.problems.csp.push(m.text()); });
  return { ...u, page };
}

const visit = async (page, path) => {
  await page.goto(path);
  await page.locator('main h1').first().waitFor();
  await page.waitForLoadState('networkidle');
};

// The versions an agreement page shows, newest first, as text.
const versionsShown = async (page) => {
  await page.locator('.timeline__item').first().waitFor();
  return page.locator('.timeline__item').evaluateAll((items) => items.map((li) => ({
    title: li.querySelector('h3').textContent, terms: li.querySelector('p.small')?.textContent,
    note: li.querySelector('.timeline__note')?.textContent ?? null })));
};

test('follow across instances, propose, accept, conclude: both pages show the same agreement', async () => {
  const owner = await person(A, 'Olu Owner');
  const agent = await person(B, 'Bea Agent');
  const purposeName = `Tidal rivers ${randomUUID().slice(0, 6)}`;
  let slug;
  for (const [d, u] of [[A, owner], [B, agent]]) {
    const p = await req(d.base, 'POST', '/api/v1/purposes', { token: u.token, body: { name: purposeName, description: 'Rivers.' } });
    assert.equal(p.status, 201, p.text);
    slug = p.body.slug;
  }
  const o = await req(A.base, 'POST', '/api/v1/organisations', { token: owner.token, body: {
    name: 'Tide Keepers', slug: 'tide-keepers', purpose_statement: 'Keep tidal rivers alive.',
    purposes: [slug], legal_form: 'nonprofit', governance: 'consent_based' } });
  assert.equal(o.status, 201, o.text);
  const g = await req(B.base, 'PUT', '/api/v1/me/agent', { token: agent.token, body: {
    handle: 'bea', headline: 'Sampler', personal_purpose: 'Rivers.', skills: ['sampling'],
    capacity_hours_per_week: 20, packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true } });
  assert.equal(g.status, 200, g.text);
  // her energy goes to the purpose A's engagement will be posted for: it fits her
  const ep = await req(B.base, 'PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: slug, energy: 60 }] });
  assert.equal(ep.status, 200, ep.text);

  // B: follow A's organisation by its handle, from the dashboard
  const bp = agent.page;
  await visit(bp, '/me/following');
  await bp.getByLabel('Handle').fill(`tide-keepers@${A.host}`);
  await bp.getByRole('button', { name: 'Follow', exact: true }).click();
  await bp.locator('.member', { hasText: 'Tide Keepers' }).waitFor();
  await until('the Accept of the Follow', async () =>
    (await req(B.base, 'GET', '/api/v1/me/remote-follows', { token: agent.token })).body.items[0]?.state === 'accepted');

  // A posts an engagement; it travels to B and is listed there, marked remote, linking home
  const e = await req(A.base, 'POST', '/api/v1/organisations/tide-keepers/engagements', { token: owner.token, body: {
    title: 'Estuary sampler', description: 'Sample the estuary.', purposes: [slug], packagings: ['volunteer'],
    hours_per_week: 4, skills: ['sampling'], remote_ok: false, rewards: { non_cash: ['learning'] } } });
  assert.equal(e.status, 201, e.text);
  const here = (await until('the engagement on B', async () => (await req(B.base, 'GET', '/api/v1/remote-engagements')).body.items[0]));
  const home = `${A.base}/engagements/${e.body.id}`;
  assert.equal(here.url, home);
  await visit(bp, '/me/following');
  const card = bp.locator('article', { hasText: 'Estuary sampler' });
  await card.waitFor();
  assert.equal(await card.getByRole('link', { name: 'Estuary sampler' }).getAttribute('href'), home);
  assert.equal(await bp.locator('.member', { hasText: 'Tide Keepers' }).locator('.badge').textContent(), 'Following');
  // the remote mark every list shows: A's instance, linking to A's page of it
  const remoteMark = async (item) => {
    const a = item.locator('a.remote-home');
    assert.equal(await a.getAttribute('href'), home);
    assert.equal(await a.textContent(), `On ${A.host} ↗`);
  };

  // B's home page: a search for a word of its title finds it, marked remote
  assert.equal((await req(B.base, 'GET', '/api/v1/engagements?q=estuary')).body.items[0]?.id, here.id);
  await visit(bp, '/?q=estuary');
  const found = bp.getByRole('list', { name: 'Open engagements' }).locator('article', { hasText: 'Estuary sampler' });
  await found.waitFor();
  assert.equal(await found.getByRole('link', { name: 'Estuary sampler' }).getAttribute('href'), `/engagements/${here.id}`);
  await remoteMark(found);

  // B: among her matches, marked remote, with the reasons B's matching gives
  // (her purpose and skill, and the follow: the remote follow is a follow here)
  const match = await until('the match on B', async () =>
    (await req(B.base, 'GET', '/api/v1/me/matches', { token: agent.token })).body.items?.find((m) => m.engagement.id === here.id));
  assert.deepEqual(match.reasons.map((r) => r.kind).filter((k) => ['purpose', 'skills', 'follows'].includes(k)), ['purpose', 'skills', 'follows']);
  await visit(bp, '/me/matches');
  const matched = bp.getByRole('list', { name: 'Matches, best first' }).locator('.candidate', { hasText: 'Estuary sampler' });
  await matched.waitFor();
  await remoteMark(matched);
  const shownReasons = await matched.getByRole('list', { name: 'Why this match' }).locator('.reason').evaluateAll((lis) =>
    lis.map((li) => [li.querySelector('.reason__kind').textContent, li.querySelector('.reason__detail')?.textContent ?? null]));
  assert.equal(shownReasons.length, match.reasons.length);
  const detail = (kind) => shownReasons.find(([k]) => k.toLowerCase() === kind)?.[1];
  assert.equal(detail('purpose'), match.reasons.find((r) => r.kind === 'purpose').detail);
  assert.match(detail('purpose'), new RegExp(purposeName));
  assert.equal(detail('follows'), match.reasons.find((r) => r.kind === 'follows').detail);
  await bp.screenshot({ path: `${SHOTS}/federation-b-matches.png`, fullPage: true, animations: 'disabled', caret: 'hide' });

  // B: the proposal starts from the match: its page here, then its own proposal link
  await matched.getByRole('link', { name: 'Estuary sampler' }).click();
  await bp.getByRole('heading', { level: 1, name: 'Estuary sampler' }).waitFor();
  await bp.getByRole('heading', { name: `Posted on ${A.host}` }).waitFor();
  assert.equal(await bp.getByRole('link', { name: `Open it on ${A.host}` }).getAttribute('href'), home);
  await bp.getByRole('link', { name: 'Propose an agreement' }).waitFor();
  await bp.screenshot({ path: `${SHOTS}/federation-b-engagement.png`, fullPage: true, animations: 'disabled', caret: 'hide' });
  assert.deepEqual(await axe(bp), []);
  await bp.getByRole('link', { name: 'Propose an agreement' }).click();
  await bp.getByRole('heading', { level: 1, name: 'Propose an agreement' }).waitFor();
  assert.equal(await bp.getByLabel('Role').inputValue(), 'Estuary sampler', 'prefilled from the remote engagement');
  assert.equal(await bp.getByRole('checkbox', { name: purposeName }).isChecked(), true, 'its purposes prefilled');
  await bp.getByLabel('Terms').fill('Weekly samples at low tide.');
  await bp.getByRole('button', { name: 'Send proposal' }).click();
  await bp.getByRole('heading', { level: 1, name: 'Estuary sampler' }).waitFor();
  const onB = new URL(bp.url()).pathname.split('/')[2];
  await bp.getByText('Your proposal waits for the other side’s answer.').waitFor();
  const orgLink = bp.locator('.agreement__parties a.party--remote');
  assert.equal(await orgLink.getAttribute('href'), `${A.base}/organisations/tide-keepers`);
  assert.match(await orgLink.textContent(), new RegExp(`Tide Keepers\\s*@tide-keepers@${A.host.replace(/\./g, '\\.')}`));
  // the engagement's page here now leads to it instead of to a second proposal
  await visit(bp, `/engagements/${here.id}`);
  await bp.getByText('You already have a proposal for this engagement.').waitFor();
  assert.equal(await bp.getByRole('link', { name: 'Open your agreement' }).getAttribute('href'), `/agreements/${onB}`);

  // A: the owner finds it among the organisation's agreements and accepts
  const ap = owner.page;
  const onA = (await until('the Offer on A', async () =>
    (await req(A.base, 'GET', '/api/v1/organisations/tide-keepers/agreements', { token: owner.token })).body.items[0])).id;
  await visit(ap, '/organisations/tide-keepers/agreements');
  await ap.getByRole('link', { name: 'Estuary sampler' }).click();
  await ap.getByText('This proposal waits for your answer.').first().waitFor();
  const agentLink = ap.locator('.agreement__parties a.party--remote');
  assert.equal(await agentLink.getAttribute('href'), `${B.base}/agents/bea`);
  assert.match(await agentLink.textContent(), new RegExp(`@bea@${B.host.replace(/\./g, '\\.')}`));
  await ap.getByRole('button', { name: 'Accept' }).click();
  await ap.waitForFunction(() => /Active/i.test(document.querySelector('main .badge')?.textContent ?? ''));
  await until('the Accept on B', async () => (await req(B.base, 'GET', `/api/v1/agreements/${onB}`, { token: agent.token })).body.status === 'active');

  // both conclude, each in its own pages
  for (const [page, path, note] of [[bp, `/agreements/${onB}`, 'A good season.'], [ap, `/agreements/${onA}`, 'Thank you, Bea.']]) {
    await visit(page, path);
    await page.getByRole('button', { name: /Conclude|Record your closure/ }).click();
    await page.getByLabel('Yes, commitments were kept').check();
    await page.getByLabel('Closing note').fill(note);
    await page.getByRole('button', { name: 'Record closure' }).click();
    await page.locator('#closure-title').waitFor();
  }
  const both = async () => {
    const [a, b] = await Promise.all([req(A.base, 'GET', `/api/v1/agreements/${onA}`, { token: owner.token }),
      req(B.base, 'GET', `/api/v1/agreements/${onB}`, { token: agent.token })]);
    return a.body.closures.length === 2 && b.body.closures.length === 2;
  };
  await until('both closures on both instances', both);

  // both pages: concluded, two closures, the same versions
  const shown = [];
  for (const [page, path] of [[ap, `/agreements/${onA}`], [bp, `/agreements/${onB}`]]) {
    await visit(page, path);
    assert.match(await page.locator('main .badge').first().textContent(), /Concluded/i);
    assert.equal(await page.locator('#closure-title + ul > li').count(), 2);
    // messages and hours do not travel: not offered on either side
    await page.getByText('Messages and hours are not exchanged across instances yet.').waitFor();
    assert.equal(await page.getByRole('button', { name: 'Send' }).count(), 0);
    shown.push(await versionsShown(page));
    await page.screenshot({ path: `${SHOTS}/federation-${page === ap ? 'a' : 'b'}.png`, fullPage: true, animations: 'disabled', caret: 'hide' });
  }
  assert.equal(shown[0].length, 1);
  assert.deepEqual(shown[0].map((v) => [v.title, v.terms, v.note]), shown[1].map((v) => [v.title, v.terms, v.note]));

  // and both records, through the API: the agreement, its versions, and one chain (tests/federation/agreements.test.mjs)
  const [ra, rb] = await Promise.all([req(A.base, 'GET', `/api/v1/agreements/${onA}`, { token: owner.token }),
    req(B.base, 'GET', `/api/v1/agreements/${onB}`, { token: agent.token })]);
  for (const k of ['status', 'proposed_by', 'terms_version', 'active_version', 'federated_uri', 'closures']) assert.deepEqual(ra.body[k], rb.body[k], k);
  assert.equal(ra.body.federated_uri, `${B.base}/agreements/${onB}`);
  const [va, vb] = await Promise.all([req(A.base, 'GET', `/api/v1/agreements/${onA}/versions`, { token: owner.token }),
    req(B.base, 'GET', `/api/v1/agreements/${onB}/versions`, { token: agent.token })]);
  assert.equal(va.body.items.length, 1);
  const VERSION = ['version', 'role', 'purposes', 'packaging', 'hours_per_week', 'terms', 'rewards', 'starts_on', 'review_on',
    'change_note', 'proposed_by', 'created_at', 'outcome', 'decided_by', 'decided_at', 'author_actor'];
  assert.deepEqual(va.body.items.map((v) => VERSION.map((k) => v[k])), vb.body.items.map((v) => VERSION.map((k) => v[k])));
  const [pa, pb] = await Promise.all([req(A.base, 'GET', `/api/v1/agreements/${onA}/proof`, { token: owner.token }),
    req(B.base, 'GET', `/api/v1/agreements/${onB}/proof`, { token: agent.token })]);
  assert.equal(pa.body.verified, true, pa.text);
  assert.equal(pb.body.verified, true, pb.text);
  assert.deepEqual(pa.body.links.map((l) => l.kind), ['terms_version', 'version_outcome', 'closure', 'closure']);
  assert.deepEqual(pa.body.head, pb.body.head);
  assert.deepEqual(pa.body.links.map((l) => l.hash), pb.body.links.map((l) => l.hash));
  for (const page of [ap, bp]) {
    assert.deepEqual(page.problems.errors, []);
    assert.deepEqual(await cspViolations(page), []);
  }
});
