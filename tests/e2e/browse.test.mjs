// browse: the home page lists open engagements with full-text search,
// filters and "Load more"; the purposes and organisations catalogues.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cspViolations, engagement, launch, newUser, openPage, organisation, purpose, visit } from './helpers.mjs';

// A word no other test uses, letters only so full-text search keeps it whole.
const word = 'kelp' + [...randomBytes(8)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
let browser;
let fixtures;

before(async () => {
  browser = await launch();
  const owner = await newUser('Browse Owner');
  const p = await purpose(owner.token, `Kelp forests ${word}`);
  const org = await organisation(owner.token, { name: `Kelp Guardians ${word}`, purposes: [p.slug] });
  const made = [];
  for (let i = 0; i < 11; i++) {
    made.push(await engagement(owner.token, org.slug, {
      title: `Diver ${i} for ${word} restoration`, purposes: [p.slug], packagings: ['volunteer'],
      rewards: { non_cash: ['Dive training'] },
    }));
  }
  made.push(await engagement(owner.token, org.slug, {
    title: `Interim coordinator for ${word}`, purposes: [p.slug], packagings: ['interim'], remote_ok: false,
    rewards: { non_cash: ['Network'], cash: { min: 1000, max: 1500, currency: 'EUR', period: 'month' } },
  }));
  fixtures = { owner, p, org, made };
});
after(async () => { await browser?.close(); });

test('search finds engagements by a word of their title, ten at a time with "Load more"', async () => {
  const page = await openPage(browser);
  await visit(page, '/');
  await page.getByRole('searchbox', { name: 'Search open engagements' }).fill(word);
  await page.getByRole('button', { name: 'Search', exact: true }).click();
  const list = page.getByRole('list', { name: 'Open engagements' });
  await page.waitForFunction((w) => document.querySelector('#results-title')?.textContent.includes(w), word);
  await list.waitFor();
  assert.equal(await list.locator(':scope > li').count(), 10);
  assert.match(page.url(), new RegExp(`\\?q=${word}`));
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 12);
  assert.equal(await page.getByRole('button', { name: 'Load more' }).count(), 0, 'no more pages');
  const titles = await list.locator('h3').allTextContents();
  assert.ok(titles.every((t) => t.includes(word)), titles.join(', '));
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('filters narrow the list; rewards show non-cash next to cash', async () => {
  const page = await openPage(browser);
  await visit(page, `/?q=${word}`);
  await page.getByRole('list', { name: 'Open engagements' }).waitFor();
  await page.getByLabel('Packaging').selectOption('interim');
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 1);
  const card = page.getByRole('list', { name: 'Open engagements' }).getByRole('listitem');
  assert.match(await card.locator('h3').textContent(), /Interim coordinator/);
  const rewards = await card.getByRole('list', { name: 'Rewards' }).getByRole('listitem').allTextContents();
  assert.equal(rewards.length, 2);
  assert.ok(rewards.some((r) => r.includes('Network')));
  assert.ok(rewards.some((r) => /1,000|1\.000|1 000/.test(r) && r.includes('month')), rewards.join(' | '));
  assert.match(page.url(), /packaging=interim/);

  // remote only: the 11 remote-friendly ones, the first ten of them shown
  await page.getByLabel('Packaging').selectOption('');
  await page.getByLabel('Remote friendly').check();
  await page.waitForFunction(() => /remote=true/.test(location.search) && document.querySelectorAll('[aria-label="Open engagements"] > li').length === 10);
  const titles = await page.getByRole('list', { name: 'Open engagements' }).locator(':scope > li h3').allTextContents();
  assert.ok(titles.every((t) => t.startsWith('Diver')), titles.join(', '));
  await page.getByRole('button', { name: 'Load more' }).click();
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 11);

  // a purpose filter given in the address is applied and shown in the form
  await visit(page, `/?q=${word}&purpose=${fixtures.p.slug}&packaging=interim`);
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 1);
  assert.equal(await page.getByLabel('Purpose', { exact: true }).inputValue(), fixtures.p.slug);
  await page.getByLabel('Purpose', { exact: true }).selectOption('');
  await page.waitForFunction(() => !/purpose=/.test(location.search));
  await page.context().close();
});

test('a search with no result says what to do next', async () => {
  const page = await openPage(browser);
  await visit(page, `/?q=${word}zzznothing`);
  await page.getByText('Nothing matches yet').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Clear search and filters' }).count(), 1);
  await page.context().close();
});

test('the purposes catalogue and the organisations list are browsable', async () => {
  const page = await openPage(browser);
  await visit(page, `/purposes?q=${word}`);
  const purposes = page.getByRole('list', { name: 'Purposes' });
  await purposes.waitFor();
  await purposes.getByRole('link', { name: fixtures.p.name }).click();
  await page.getByRole('heading', { level: 1, name: fixtures.p.name }).waitFor();
  await page.getByRole('list', { name: 'Organisations' }).getByRole('link', { name: fixtures.org.name }).waitFor();

  await visit(page, '/organisations');
  await page.getByRole('searchbox', { name: 'Search' }).fill(word);
  await page.getByRole('button', { name: 'Search' }).click();
  await page.getByRole('list', { name: 'Organisations' }).getByRole('link', { name: fixtures.org.name }).click();
  await page.getByRole('heading', { level: 1, name: fixtures.org.name }).waitFor();
  assert.match(await page.locator('.statement').textContent(), /rivers clean/);
  await page.context().close();
});

test('Near: typing a town suggests places from the gazetteer; choosing one lists what is within the radius', async () => {
  const { owner, p, org } = fixtures;
  const near = await engagement(owner.token, org.slug, {
    title: `Potsdam shore survey ${word}`, purposes: [p.slug], packagings: ['volunteer'], place: 2852458, remote_ok: false,
    rewards: { non_cash: ['Network'] },
  });
  const page = await openPage(browser);
  await visit(page, `/?q=${word}`);
  await page.getByRole('list', { name: 'Open engagements' }).waitFor();
  const field = page.getByLabel('Near');
  await field.fill('Potsd');
  // the suggestion arrives as an option of the field's datalist
  await page.waitForFunction(() => [...document.querySelectorAll('datalist option')].some((o) => o.value === 'Potsdam, DE'));
  await field.fill('Potsdam, DE');
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 1);
  const titles = await page.getByRole('list', { name: 'Open engagements' }).locator('h3').allTextContents();
  assert.deepEqual(titles, [near.title]);
  assert.match(page.url(), /near=2852458/);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});
