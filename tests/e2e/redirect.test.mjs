// redirect: ?next= on the sign-in and sign-up pages leads only to a page of
// this site. Paths the URL parser reads as another origin ("/\evil.example",
// "//evil.example", a tab or newline it drops) are refused: the person lands
// on the dashboard instead. safeNext (static/app/redirect.js) is pure and
// tested here directly; the browser test checks the page uses it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { safeNext } from '../../static/app/redirect.js';
import { BASE, launch, newUser, openPage, visit } from './helpers.mjs';

const ORIGIN = 'https://purposed.example';

// Raw query strings as an attacker writes them in a link: decoded once by
// URLSearchParams, as the page reads ctx.query.get('next').
const HOSTILE = [
  '/\\evil.example', '/%5Cevil.example', '%2F%5Cevil.example', '//evil.example', '%2F%2Fevil.example',
  '/%09/evil.example', '/%0A/evil.example', '/%0D/evil.example', '%09//evil.example', '/\\/evil.example',
  'https://evil.example/', 'https:evil.example', '//%5Cevil.example', '/%5C%5Cevil.example',
  'javascript:alert(1)', 'evil.example', '', '%2Fapi%2Fv1%2Fme', '/%00/evil.example',
  '/%E3%80%80/evil.example', '/./%2Fevil.example', '/.//evil.example',
];

const nextOf = (raw) => new URLSearchParams(`next=${raw}`).get('next');

test('safeNext keeps paths of this origin and refuses everything else', () => {
  for (const raw of HOSTILE) {
    const next = nextOf(raw);
    const got = safeNext(next, ORIGIN);
    if (got !== null) {
      // whatever is kept must resolve to this origin, from any page of it
      assert.equal(new URL(got, `${ORIGIN}/some/page`).origin, ORIGIN, `${raw} -> ${got}`);
      assert.ok(got.startsWith('/') && !got.startsWith('//'), `${raw} -> ${got}`);
    }
  }
  for (const raw of ['/\\evil.example', '%2F%5Cevil.example', '//evil.example', '/%09/evil.example',
    '/%0A/evil.example', 'https://evil.example/', '', '/api/v1/me']) {
    assert.equal(safeNext(nextOf(raw), ORIGIN), null, raw);
  }
  assert.equal(safeNext(null, ORIGIN), null);
  assert.equal(safeNext(undefined, ORIGIN), null);
  assert.equal(safeNext('/settings', ORIGIN), '/settings');
  assert.equal(safeNext('/organisations/acme?tab=members#top', ORIGIN), '/organisations/acme?tab=members#top');
  assert.equal(safeNext('/a/../engagements/7', ORIGIN), '/engagements/7');
});

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('signing in with a hostile ?next= stays on this site', async () => {
  const origin = new URL(BASE).origin;
  for (const raw of ['/%5Cevil.example', '//evil.example', '/%09/evil.example']) {
    const user = await newUser('Redirect Person');
    const page = await openPage(browser);
    // were the app to leave, the browser would find this page instead of the network
    await page.context().route((url) => url.hostname.endsWith('evil.example'), (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<h1>evil</h1>' }));
    await visit(page, `/signin?next=${raw}`);
    await page.getByLabel('Email').fill(user.email);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL((url) => url.pathname !== '/signin' || url.origin !== origin);
    await page.waitForLoadState('networkidle');
    const url = new URL(page.url());
    assert.equal(url.origin, origin, `next=${raw} led to ${page.url()}`);
    assert.equal(url.pathname, '/me', `next=${raw}`);

    // signed in already: the page's link does not lead away either
    await visit(page, `/signin?next=${raw}`);
    const href = await page.getByRole('link', { name: 'Go to your dashboard' }).getAttribute('href');
    assert.equal(new URL(href, page.url()).origin, origin, `next=${raw}: link to ${href}`);
    await page.context().close();
  }
});
