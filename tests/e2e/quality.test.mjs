// quality: every page of the app (static/app/main.js routes, in the states a
// person meets them) passes axe with no serious or critical violation in
// light and dark, reports no CSP violation or script error, shows no
// "null" or "undefined", and nothing overflows sideways at 360 px. Screenshots of every page (1280 px), of the
// main ones at 360 px and of two in dark go to tests/e2e/screenshots/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agentProfile, api, axe, cspViolations, engagement, horizontalOverflow, launch, newUser, openPage, organisation,
  purpose, settle, shot, unique, visit,
} from './helpers.mjs';

let browser;
let f;

async function ok(res, what) {
  if (res.status >= 300) throw new Error(`${what}: ${res.status} ${res.text}`);
  return res.body;
}

before(async () => {
  browser = await launch();
  const owner = await newUser('Quality Owner');
  const p = await purpose(owner.token, unique('Coral reefs'));
  const p2 = await purpose(owner.token, unique('Ocean literacy'));
  const org = await organisation(owner.token, {
    name: unique('Reef Keepers'), purposes: [p.slug, p2.slug], location: 'Lisbon', website: 'https://reef.example.org',
    association_norms: 'We decide by consent.\nEveryone sees the budget.',
  });
  const e = await engagement(owner.token, org.slug, {
    title: 'Reef survey diver with a very long title that must wrap nicely on a small phone screen',
    purposes: [p.slug], skills: ['diving', 'photography'], packagings: ['volunteer', 'consulting'],
    rewards: { non_cash: ['Learning', 'Network', 'Credit in publications'], cash: { min: 150, max: 300, currency: 'EUR', period: 'week' } },
  });
  const e2 = await engagement(owner.token, org.slug, {
    title: 'Beach school coordinator', purposes: [p2.slug], skills: ['teaching'], hours_per_week: 3, packagings: ['volunteer'],
    rewards: { non_cash: ['Learning'] },
  });
  const agent = await newUser('Quality Agent');
  const handle = unique('reefer');
  await agentProfile(agent.token, { handle, skills: ['diving', 'teaching'], capacity_hours_per_week: 10 });
  await ok(await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: p.slug, energy: 60 }, { purpose: p2.slug, energy: 30 }] }), 'purposes');
  await ok(await api('PUT', `/api/v1/organisations/${org.slug}/follow`, { token: agent.token, body: {} }), 'follow');
  // one active agreement (hours in the portfolio) and one waiting for the agent
  const active = await ok(await api('POST', '/api/v1/agreements', { token: agent.token, body: {
    organisation: org.slug, agent: handle, engagement: e2.id, role: e2.title, purposes: [p2.slug], packaging: 'volunteer',
    hours_per_week: 3, terms: 'Two school visits a month, with a short report after each.', rewards: { non_cash: ['Learning'] },
    starts_on: '2027-01-10' } }), 'agreement');
  await ok(await api('POST', `/api/v1/agreements/${active.id}/accept`, { token: owner.token, body: {} }), 'accept');
  const waiting = await ok(await api('POST', '/api/v1/agreements', { token: owner.token, body: {
    organisation: org.slug, agent: handle, role: 'Photo archive keeper', purposes: [p.slug], packaging: 'consulting',
    hours_per_week: 2, terms: 'Sort and caption the survey photos each quarter.', rewards: { non_cash: ['Credit in publications'] },
    starts_on: '2027-02-01' } }), 'proposal');
  const newcomer = await newUser('Quality Newcomer');
  // the matching index refreshes asynchronously: wait until the agent has the engagement among its matches
  for (let i = 0; i < 40; i++) {
    const m = await api('GET', '/api/v1/me/matches?limit=100', { token: agent.token });
    if (m.body?.items?.some((x) => x.engagement?.id === e.id)) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  f = { owner, agent, newcomer, p, org, e, e2, handle, active, waiting };
});
after(async () => { await browser?.close(); });

// Every route of static/app/main.js, in the states a person meets it.
// [name, who, path, {small: also at 360 px, dark: also in dark mode}]
const PAGES = () => [
  ['home', null, '/', { small: true, dark: true }],
  ['search', null, '/engagements?q=reef&remote=true'],
  ['organisations', null, '/organisations', { small: true }],
  ['purposes', null, '/purposes'],
  ['purpose', null, `/purposes/${f.p.slug}`],
  ['organisation', null, `/organisations/${f.org.slug}`, { small: true }],
  ['engagement', null, `/engagements/${f.e.id}`, { small: true }],
  ['agent-profile', null, `/agents/${f.handle}`, { small: true }],
  ['signin', null, '/signin', { small: true }],
  ['signup', null, '/signup'],
  ['not-found', null, '/no/such/page'],
  ['signed-out-dashboard', null, '/me'],
  ['organisation-member', 'owner', `/organisations/${f.org.slug}`],
  ['organisation-edit', 'owner', `/organisations/${f.org.slug}/edit`],
  ['organisation-members', 'owner', `/organisations/${f.org.slug}/members`],
  ['organisation-post', 'owner', `/organisations/${f.org.slug}/post`, { small: true }],
  ['organisation-agreements', 'owner', `/organisations/${f.org.slug}/agreements`],
  ['engagement-candidates', 'owner', `/engagements/${f.e.id}`, { small: true }],
  ['organisation-new', 'owner', '/organisations/new'],
  ['settings', 'owner', '/settings'],
  ['agreement-org-side', 'owner', `/agreements/${f.waiting.id}`],
  ['dashboard', 'agent', '/me', { small: true, dark: true }],
  ['my-profile', 'agent', '/me/profile'],
  ['energy', 'agent', '/me/purposes', { small: true }],
  ['matches', 'agent', '/me/matches', { small: true }],
  ['agreements', 'agent', '/me/agreements', { small: true }],
  ['portfolio', 'agent', '/me/portfolio', { small: true }],
  ['notifications', 'agent', '/me/notifications'],
  ['following', 'agent', '/me/following'],
  ['engagement-as-agent', 'agent', `/engagements/${f.e.id}`],
  ['propose', 'agent', `/agreements/new?engagement=${f.e.id}`, { small: true }],
  ['agreement', 'agent', `/agreements/${f.active.id}`, { small: true }],
  ['dashboard-newcomer', 'newcomer', '/me'],
  ['matches-newcomer', 'newcomer', '/me/matches'],
  ['agreements-newcomer', 'newcomer', '/me/agreements'],
];

// Visit each page with one browser page per person: goto, wait for the
// heading and for the placeholders to go. check(page, name, extra) returns problems.
async function tour(options, pages, check) {
  const byWho = new Map();
  for (const p of pages) byWho.set(p[1], [...(byWho.get(p[1]) ?? []), p]);
  const problems = [];
  for (const [who, list] of byWho) {
    const page = await openPage(browser, { user: who ? f[who] : undefined, ...options });
    for (const [name, , path, extra] of list) {
      await page.goto(path);
      await page.locator('main h1').first().waitFor();
      await settle(page);
      for (const problem of await check(page, name, extra ?? {})) problems.push(`${name} (${path}): ${problem}`);
    }
    await page.context().close();
  }
  return problems;
}

test('every page, light and dark: no serious or critical axe violation, no CSP violation or script error', async () => {
  const problems = await tour({}, PAGES(), async (page, name, extra) => {
    const found = (await axe(page)).map((v) => `axe ${v}`);
    for (const v of await cspViolations(page)) found.push(`CSP ${v}`);
    for (const e of page.problems.errors) found.push(`error ${e}`);
    for (const e of page.problems.console) found.push(`console ${e}`);
    const leaked = await page.evaluate(() => document.querySelector('main').innerText.match(/\b(null|undefined|NaN)\b|\[object \w+\]/g));
    if (leaked) found.push(`shows ${leaked.join(', ')}`);
    page.problems.csp.length = 0; page.problems.errors.length = 0; page.problems.console.length = 0;
    await shot(page, `desktop-${name}`);
    // the same page in dark: colours are all that changes
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.evaluate(() => Promise.all(document.getAnimations().map((a) => a.finished)));
    for (const v of await axe(page, { rules: ['color-contrast', 'link-in-text-block'] })) found.push(`axe in dark ${v}`);
    if (extra.dark) await shot(page, `dark-${name}`);
    await page.emulateMedia({ colorScheme: 'light' });
    return found;
  });
  assert.deepEqual(problems, []);
});

test('at 360 px wide nothing overflows sideways, targets are big enough and the contrast holds', async () => {
  const pages = PAGES().filter((p) => p[3]?.small);
  const problems = await tour({ width: 360, height: 740 }, pages, async (page, name) => {
    await shot(page, `360-${name}`);
    const found = (await axe(page, { rules: ['color-contrast', 'target-size', 'scrollable-region-focusable'] })).map((v) => `axe ${v}`);
    const o = await horizontalOverflow(page);
    if (o.scrollWidth > o.clientWidth || o.wide.length) found.push(`${o.scrollWidth}px > ${o.clientWidth}px ${o.wide.join(', ')}`);
    return found;
  });
  assert.deepEqual(problems, []);
});

test('the menu works from the keyboard on a small screen', async () => {
  const page = await openPage(browser, { width: 360, height: 740 });
  await visit(page, '/');
  const toggle = page.getByRole('button', { name: 'Menu' });
  assert.equal(await toggle.getAttribute('aria-expanded'), 'false');
  const nav = page.getByRole('navigation', { name: 'Main' });
  assert.equal(await nav.getByRole('link', { name: 'Organisations', exact: true }).isVisible(), false);
  await toggle.focus();
  await page.keyboard.press('Enter');
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await shot(page, '360-menu-open');
  await nav.getByRole('link', { name: 'Organisations', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Organisations' }).waitFor();
  // the router focuses the heading once the page is drawn: wait for it (a
  // loaded machine draws later than the heading first appears), then check
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1', null, { timeout: 5000 }).catch(() => {});
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new page');
  await page.context().close();
});
