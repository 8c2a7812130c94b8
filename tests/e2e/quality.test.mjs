// quality: accessibility (axe: no serious or critical violations), no CSP
// violations or script errors on any page, and nothing overflowing
// sideways at 360 px (screenshots in var/web/).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';
import {
  agentProfile, api, cspViolations, engagement, horizontalOverflow, launch, newUser, openPage, organisation,
  purpose, SHOTS, unique, visit,
} from './helpers.mjs';

let browser;
let f;

before(async () => {
  browser = await launch();
  const owner = await newUser('Quality Owner');
  const p = await purpose(owner.token, unique('Coral reefs'));
  const org = await organisation(owner.token, {
    name: unique('Reef Keepers'), purposes: [p.slug], location: 'Lisbon', website: 'https://reef.example.org',
    association_norms: 'We decide by consent.\nEveryone sees the budget.',
  });
  const e = await engagement(owner.token, org.slug, {
    title: 'Reef survey diver with a very long title that must wrap nicely on a small phone screen',
    purposes: [p.slug], skills: ['diving', 'photography'], packagings: ['volunteer', 'consulting'],
    rewards: { non_cash: ['Learning', 'Network', 'Credit in publications'], cash: { min: 150, max: 300, currency: 'EUR', period: 'week' } },
  });
  const agent = await newUser('Quality Agent');
  const handle = unique('reefer');
  await agentProfile(agent.token, { handle, skills: ['diving'] });
  await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: p.slug, energy: 60 }] });
  f = { owner, agent, p, org, e, handle };
});
after(async () => { await browser?.close(); });

async function axe(page) {
  const result = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map((n) => n.target.join(' ')).join(', ')}`);
}

for (const scheme of ['light', 'dark']) {
  test(`axe finds no serious or critical violations on home, organisation and dashboard (${scheme})`, async () => {
    const pages = [
      ['home', null, '/'],
      ['organisation', null, () => `/organisations/${f.org.slug}`],
      ['organisation (member)', 'owner', () => `/organisations/${f.org.slug}/members`],
      ['engagement', 'agent', () => `/engagements/${f.e.id}`],
      ['dashboard', 'agent', '/me'],
      ['energy', 'agent', '/me/purposes'],
      ['sign up', null, '/signup'],
    ];
    const problems = [];
    for (const [label, who, path] of pages) {
      const page = await openPage(browser, { user: who ? f[who] : undefined, colorScheme: scheme });
      await visit(page, typeof path === 'function' ? path() : path);
      await page.waitForFunction(() => !document.querySelector('.skeleton, .loading'));
      for (const v of await axe(page)) problems.push(`${label}: ${v}`);
      await page.context().close();
    }
    assert.deepEqual(problems, []);
  });
}

test('no page reports a CSP violation or a script error', async () => {
  const tour = [
    [null, ['/', `/?q=reef`, '/organisations', '/purposes', `/purposes/${f.p.slug}`, `/organisations/${f.org.slug}`,
      `/engagements/${f.e.id}`, `/agents/${f.handle}`, '/signin', '/signup', '/no/such/page']],
    ['owner', [`/organisations/${f.org.slug}/edit`, `/organisations/${f.org.slug}/post`, `/organisations/${f.org.slug}/agreements`,
      `/organisations/${f.org.slug}/members`, '/organisations/new', '/settings']],
    ['agent', ['/me', '/me/profile', '/me/purposes', '/me/matches', '/me/agreements', '/me/portfolio', '/me/notifications',
      '/me/following', `/agreements/new?engagement=${f.e.id}`]],
  ];
  const problems = [];
  for (const [who, paths] of tour) {
    const page = await openPage(browser, { user: who ? f[who] : undefined });
    for (const path of paths) {
      await visit(page, path);
      await page.waitForFunction(() => !document.querySelector('.skeleton, .loading'));
      for (const v of await cspViolations(page)) problems.push(`${path}: CSP ${v}`);
      for (const e of page.problems.errors) problems.push(`${path}: error ${e}`);
      for (const e of page.problems.console) problems.push(`${path}: console ${e}`);
      page.problems.csp.length = 0; page.problems.errors.length = 0; page.problems.console.length = 0;
    }
    await page.context().close();
  }
  assert.deepEqual(problems, []);
});

test('at 360 px wide nothing overflows sideways', async () => {
  const pages = [
    ['home', null, '/'],
    ['organisation', 'owner', () => `/organisations/${f.org.slug}`],
    ['engagement', null, () => `/engagements/${f.e.id}`],
    ['post', 'owner', () => `/organisations/${f.org.slug}/post`],
    ['dashboard', 'agent', '/me'],
    ['energy', 'agent', '/me/purposes'],
    ['matches', 'agent', '/me/matches'],
    ['agent', null, () => `/agents/${f.handle}`],
  ];
  const problems = [];
  for (const [label, who, path] of pages) {
    const page = await openPage(browser, { user: who ? f[who] : undefined, width: 360, height: 740 });
    await visit(page, typeof path === 'function' ? path() : path);
    await page.waitForFunction(() => !document.querySelector('.skeleton, .loading'));
    await page.screenshot({ path: join(SHOTS, `e2e-360-${label}.png`), fullPage: true });
    const o = await horizontalOverflow(page);
    if (o.scrollWidth > o.clientWidth || o.wide.length) problems.push(`${label}: ${o.scrollWidth}px > ${o.clientWidth}px ${o.wide.join(', ')}`);
    await page.context().close();
  }
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
  await nav.getByRole('link', { name: 'Organisations', exact: true }).focus();
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { level: 1, name: 'Organisations' }).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.tagName), 'H1', 'focus moves to the new page');
  await page.context().close();
});
