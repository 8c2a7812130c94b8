// pages: a page the daemon serves with its content (server/pages.c) reads
// without JavaScript, and with it the ES modules take over as the app
// (client-side navigation, no reload); missing items and unknown paths say
// "not found" with a 404 status, never "not available yet".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentProfile, BASE, cspViolations, engagement, horizontalOverflow, launch, newUser, openPage, organisation, purpose, shot } from './helpers.mjs';

let browser;
let f;

before(async () => {
  browser = await launch();
  const owner = await newUser('Pages Owner');
  const p = await purpose(owner.token, `Seagrass ${Date.now()}`);
  const org = await organisation(owner.token, { name: `Seagrass Keepers ${Date.now()}`, purposes: [p.slug] });
  const e = await engagement(owner.token, org.slug, {
    title: 'Seagrass diver', description: 'Plant seagrass with us.\n\nTwo dives a month.', purposes: [p.slug],
    location: 'Porto', remote_ok: false, packagings: ['volunteer', 'employment'], skills: ['diving'],
  });
  const a = await newUser('Page Agent');
  const agent = await agentProfile(a.token, { headline: 'Marine biologist' });
  f = { owner, p, org, e, agent };
});
after(async () => { await browser?.close(); });

test('without JavaScript an engagement page shows its content', async () => {
  const context = await browser.newContext({ javaScriptEnabled: false, baseURL: BASE, viewport: { width: 360, height: 800 } });
  const page = await context.newPage();
  const res = await page.goto(`/engagements/${f.e.id}`);
  assert.equal(res.status(), 200);
  assert.equal(await page.title(), 'Seagrass diver · Purposed');
  assert.equal(await page.locator('main h1').textContent(), 'Seagrass diver');
  assert.match(await page.locator('main').textContent(), /Two dives a month\./);
  assert.match(await page.locator('main').textContent(), /4 hours a week/);
  await page.screenshot({ path: 'tests/e2e/screenshots/pages-engagement-nojs-360.png', fullPage: true });
  await context.close();
});

test('with JavaScript the app takes over the served page and navigates without reloading', async () => {
  const page = await openPage(browser);
  const res = await page.goto(`/engagements/${f.e.id}`);
  assert.equal(res.status(), 200);
  // the served content is replaced by the app's page
  await page.waitForFunction(() => !document.querySelector('[data-served]') && document.querySelector('main h1'));
  await page.waitForLoadState('networkidle');
  assert.equal(await page.locator('main h1').textContent(), 'Seagrass diver');
  assert.equal(await page.title(), 'Seagrass diver · Purposed');
  await page.evaluate(() => { window.__sameDocument = true; });
  await page.getByRole('link', { name: f.org.name }).first().click();
  await page.waitForURL(`**/organisations/${f.org.slug}`);
  await page.locator('main h1', { hasText: f.org.name }).waitFor();
  assert.equal(await page.evaluate(() => window.__sameDocument), true, 'navigated by the app, not reloaded');
  assert.deepEqual(await cspViolations(page), []);
  assert.deepEqual(page.problems.errors, []);
  await page.context().close();
});

test('a missing engagement is a 404 that says not found, with a way on', async () => {
  const page = await openPage(browser);
  for (const path of ['/engagements/999999999', '/engagements/abc']) {
    const res = await page.goto(path);
    assert.equal(res.status(), 404, path);
    await page.waitForFunction(() => !document.querySelector('[data-served]'));
    await page.locator('main h1', { hasText: 'We could not find this engagement' }).waitFor();
    const text = await page.locator('main').textContent();
    assert.doesNotMatch(text, /not available|does not offer/i, path);
    assert.equal(await page.getByRole('link', { name: 'Explore open work' }).count(), 1, path);
  }
  for (const [path, heading] of [[`/organisations/nope-${Date.now()}`, 'We could not find this organisation'],
    [`/purposes/nope-${Date.now()}`, 'We could not find this purpose'], ['/no/such/page', 'We could not find that page']]) {
    const res = await page.goto(path);
    assert.equal(res.status(), 404, path);
    await page.locator('main h1', { hasText: heading }).waitFor();
    assert.doesNotMatch(await page.locator('main').textContent(), /not available|does not offer/i, path);
  }
  await page.context().close();
});

test('each kind of page, served and then the app, at desktop and 360 px', async () => {
  const kinds = [['home', '/'], ['engagement', `/engagements/${f.e.id}`], ['organisation', `/organisations/${f.org.slug}`],
    ['agent', `/agents/${f.agent.handle}`], ['purpose', `/purposes/${f.p.slug}`], ['organisations', '/organisations'],
    ['purposes', '/purposes'], ['missing', '/engagements/999999999']];
  for (const width of [1280, 360]) {
    const js = await openPage(browser, { width });
    const nojs = await browser.newContext({ javaScriptEnabled: false, baseURL: BASE, viewport: { width, height: 800 } });
    const plain = await nojs.newPage();
    for (const [name, path] of kinds) {
      await plain.goto(path);
      assert.ok(await plain.locator('main h1').count() >= 1, `${path} has a heading without JavaScript`);
      const o = await horizontalOverflow(plain);
      assert.ok(o.scrollWidth <= o.clientWidth, `${path} served at ${width}: ${JSON.stringify(o)}`);
      await plain.screenshot({ path: `tests/e2e/screenshots/pages-${name}-served-${width}.png`, fullPage: true });
      await js.goto(path);
      await js.waitForFunction(() => !document.querySelector('[data-served]') && document.querySelector('main h1'));
      await js.waitForLoadState('networkidle');
      await shot(js, `pages-${name}-app-${width}`);
    }
    assert.deepEqual(await cspViolations(js), []);
    await js.context().close();
    await nojs.close();
  }
});
