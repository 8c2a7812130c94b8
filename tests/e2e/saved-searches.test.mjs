// saved searches and distance: a near= list shows how far each engagement
// is; "Save this search" keeps it, Settings lists it in words with a link
// that runs it again, and Delete (after confirming) removes it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { api, axe, cspViolations, engagement, launch, newUser, openPage, organisation, purpose, shot, visit } from './helpers.mjs';

const BERLIN = 2950159, POTSDAM = 2852458;
// A word no other test uses, letters only so full-text search keeps it whole.
const word = 'reed' + [...randomBytes(8)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
let browser;
let fixtures;

before(async () => {
  browser = await launch();
  const owner = await newUser('Saved Owner');
  const p = await purpose(owner.token, `Wetlands ${word}`);
  const org = await organisation(owner.token, { name: `Reed Keepers ${word}`, purposes: [p.slug] });
  const inBerlin = await engagement(owner.token, org.slug, {
    title: `Berlin reed count ${word}`, purposes: [p.slug], place: BERLIN, remote_ok: false });
  const inPotsdam = await engagement(owner.token, org.slug, {
    title: `Potsdam reed count ${word}`, purposes: [p.slug], place: POTSDAM, remote_ok: false });
  fixtures = { owner, p, org, inBerlin, inPotsdam };
});
after(async () => { await browser?.close(); });

const cards = (page) => page.getByRole('list', { name: 'Open engagements' }).locator(':scope > li');

test('a near= list shows how far each engagement is, as the API says (0.1 km)', async () => {
  const { inBerlin, inPotsdam } = fixtures;
  const res = await api('GET', `/api/v1/engagements?q=${word}&near=${BERLIN}&within_km=50&sort=distance`);
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.items.map((e) => e.id), [inBerlin.id, inPotsdam.id]);
  const [zero, potsdam] = res.body.items.map((e) => e.distance_km);
  assert.equal(zero, 0);
  assert.ok(potsdam > 20 && potsdam < 30, String(potsdam));

  const page = await openPage(browser);
  await visit(page, `/?q=${word}&near=${BERLIN}&within_km=50`);
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 2);
  const byTitle = async (title) => cards(page).filter({ hasText: title }).locator('.card__meta li').allTextContents();
  assert.ok((await byTitle(inPotsdam.title)).includes(`${potsdam.toFixed(1)} km away`), (await byTitle(inPotsdam.title)).join(' | '));
  assert.ok((await byTitle(inBerlin.title)).includes('0.0 km away'), (await byTitle(inBerlin.title)).join(' | '));
  await shot(page, 'home-near-distance');
  // without near= the cards say nothing of distance
  await visit(page, `/?q=${word}`);
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 2);
  assert.equal(await cards(page).filter({ hasText: 'km away' }).count(), 0);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('save a search, see it in Settings in words, open it, delete it after confirming', async () => {
  const { p, inBerlin, inPotsdam } = fixtures;
  const user = await newUser('Saved Searcher');
  const page = await openPage(browser, { user });
  await visit(page, `/?q=${word}&purpose=${p.slug}&near=${POTSDAM}&within_km=25`);
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 1);
  await page.getByRole('button', { name: 'Save this search' }).click();
  await page.getByRole('status').filter({ hasText: 'Search saved' }).waitFor();
  const saved = await api('GET', '/api/v1/me/saved-searches', { token: user.token });
  assert.equal(saved.status, 200, saved.text);
  assert.equal(saved.body.items.length, 1, saved.text);
  assert.deepEqual(saved.body.items[0].filters, { q: word, purpose: p.slug, near: String(POTSDAM), within_km: 25 });

  // listed in Settings: its name, its filters in words (names, not ids)
  await visit(page, '/settings');
  const section = page.getByRole('region', { name: 'Saved searches' });
  const link = section.getByRole('link', { name: word, exact: true });
  await link.waitFor();
  await page.waitForFunction(() => /Potsdam, DE/.test(document.querySelector('#saved-searches')?.textContent ?? ''));
  const words = await section.locator('.saved-search p').textContent();
  assert.equal(words, `“${word}” · Wetlands ${word} · within 25 km of Potsdam, DE`);
  assert.deepEqual(await axe(page), []);
  await shot(page, 'settings-saved-searches');

  // the link opens the home page with the search applied
  await link.click();
  await page.waitForFunction(() => document.querySelectorAll('[aria-label="Open engagements"] > li').length === 1);
  const url = new URL(page.url());
  assert.equal(url.pathname, '/');
  assert.deepEqual(Object.fromEntries(url.searchParams), { q: word, purpose: p.slug, near: String(POTSDAM), within_km: '25' });
  assert.deepEqual(await cards(page).locator('h3').allTextContents(), [inPotsdam.title]);
  assert.notEqual(inBerlin.title, inPotsdam.title);
  assert.equal(await page.getByLabel('Near').inputValue(), 'Potsdam, DE');

  // Delete asks first: dismissed, it stays; accepted, it is gone
  await visit(page, '/settings');
  const remove = section.getByRole('button', { name: `Delete the saved search ${word}` });
  page.once('dialog', (d) => d.dismiss());
  await remove.click();
  assert.equal((await api('GET', '/api/v1/me/saved-searches', { token: user.token })).body.items.length, 1);
  await section.getByRole('link', { name: word, exact: true }).waitFor();
  page.once('dialog', (d) => d.accept());
  await remove.click();
  await section.getByText('No saved searches.').waitFor();
  assert.equal(await section.getByRole('link', { name: word, exact: true }).count(), 0);
  assert.deepEqual((await api('GET', '/api/v1/me/saved-searches', { token: user.token })).body.items, []);
  assert.deepEqual(await cspViolations(page), []);
  assert.deepEqual(page.problems.errors, []);
  await page.context().close();
});
