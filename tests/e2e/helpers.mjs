// helpers: what every browser test needs — a headless Chromium, pages that
// record CSP violations and script errors, signed-in contexts, and fixtures
// created through the API (tests/api/helpers.mjs), and screenshots saved under
// tests/e2e/screenshots/ on every run (gitignored: look at them, don't commit).
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AxeBuilder } from '@axe-core/playwright';
import { chromium } from 'playwright-core';
import { api, BASE, newUser, unique } from '../api/helpers.mjs';

export { api, BASE, newUser, unique };

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHOTS = join(ROOT, 'tests', 'e2e', 'screenshots');
mkdirSync(SHOTS, { recursive: true });

export async function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    args: ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

// A page that keeps every CSP violation, console error and uncaught error.
// user: a newUser() whose session cookie (and the signed_in marker the pages
// read before asking GET /me) is put in the context.
export async function openPage(browser, { user, width = 1280, height = 900, colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, colorScheme, baseURL: BASE });
  if (user) {
    const eq = user.cookie.indexOf('=');
    await context.addCookies([{ name: user.cookie.slice(0, eq), value: user.cookie.slice(eq + 1), url: BASE, httpOnly: true, sameSite: 'Lax' },
      { name: 'signed_in', value: '1', url: BASE, sameSite: 'Lax' }]);
  }
  const page = await context.newPage();
  page.problems = { csp: [], errors: [], console: [] };
  await page.addInitScript(() => {
    window.__csp = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__csp.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile ?? ''}:${e.lineNumber ?? ''}`);
    });
  });
  page.on('console', (msg) => {
    const text = msg.text();
    if (/Content[- ]Security[- ]Policy/i.test(text)) page.problems.csp.push(text);
    else if (msg.type() === 'error' && !/Failed to load resource/.test(text)) page.problems.console.push(text);
  });
  page.on('pageerror', (err) => page.problems.errors.push(err.message));
  return page;
}

export async function cspViolations(page) {
  const inPage = await page.evaluate(() => window.__csp ?? []).catch(() => []);
  return [...page.problems.csp, ...inPage];
}

// Go to a path of the app and wait until its first heading is there.
export async function visit(page, path) {
  await page.goto(path);
  await page.locator('main h1').first().waitFor();
  await page.waitForLoadState('networkidle');
}

// Wait until the page has no loading placeholders left.
export async function settle(page) {
  await page.waitForFunction(() => !document.querySelector('.skeleton, .loading, [aria-busy="true"]'));
}

// A full-page screenshot named NAME.png in SHOTS. Animations are frozen, the
// caret hidden, the pointer moved off (no hover), passing toasts removed and
// the page scrolled to the top, so that runs compare.
export async function shot(page, name) {
  await page.mouse.move(0, 0);
  await page.evaluate(() => {
    for (const t of document.querySelectorAll('.toast')) t.remove();
    window.scrollTo(0, 0); // sticky panels stay where they start
  });
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true, animations: 'disabled', caret: 'hide' });
}

// axe-core through @axe-core/playwright. The axe source goes into the page
// once as an init script (present in every document it loads) instead of
// being sent over again for each analysis, and legacy mode runs it in the
// page itself (the app has no frames) instead of in an extra blank page:
// both together make a check about four times faster.
const AXE_SOURCE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
export const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'];

// The serious and critical violations on the page, as readable lines.
// rules: only these axe rules (default: every rule of AXE_TAGS).
export async function axe(page, { rules } = {}) {
  if (!page.axeInstalled) {
    await page.addInitScript({ content: AXE_SOURCE });
    page.axeInstalled = true;
  }
  if (!(await page.evaluate(() => typeof window.axe?.run === 'function'))) await page.evaluate(AXE_SOURCE);
  const builder = new AxeBuilder({ page, axeSource: 'void 0' }).setLegacyMode(true);
  if (rules) builder.withRules(rules); else builder.withTags(AXE_TAGS);
  const result = await builder.analyze();
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3)
      .map((n) => `${n.target.join(' ')} — ${n.failureSummary?.split('\n').slice(1).join(' ').trim() ?? ''}`).join('; ')}`);
}

// Does the daemon route this method and path? (404 "nothing at this address"
// or 405 means the endpoint has not been built yet.)
export async function hasEndpoint(method, path, token) {
  const res = await api(method, path, { token, body: method === 'GET' ? undefined : {} });
  const missing = (res.status === 404 && res.body?.detail === 'There is nothing at this address.') || res.status === 405;
  return !missing;
}

export async function skipUnless(t, method, path, token) {
  if (await hasEndpoint(method, path, token)) return false;
  t.skip(`${method} ${path} is not on this server yet`);
  return true;
}

// ---------- fixtures through the API ----------

export async function purpose(token, name = unique('Purpose')) {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name, description: `About ${name}` } });
  if (res.status !== 201) throw new Error(`purpose: ${res.status} ${res.text}`);
  return res.body;
}

export async function organisation(token, fields = {}) {
  const name = fields.name ?? unique('Org');
  const res = await api('POST', '/api/v1/organisations', {
    token,
    body: { name, purpose_statement: 'We exist to make rivers clean again.', association_norms: 'Decisions by consent.',
      purposes: [], legal_form: 'cooperative', governance: 'sociocracy', ...fields },
  });
  if (res.status !== 201) throw new Error(`organisation: ${res.status} ${res.text}`);
  return res.body;
}

export async function engagement(token, slug, fields = {}) {
  if (!fields.purposes?.length) fields = { ...fields, purposes: [(await purpose(token)).slug] };
  const res = await api('POST', `/api/v1/organisations/${slug}/engagements`, {
    token,
    body: { title: unique('Engagement'), description: 'Purposeful work for a few hours a week.',
      packagings: ['volunteer'], hours_per_week: 4, skills: [], remote_ok: true, rewards: { non_cash: ['Learning'] }, ...fields },
  });
  if (res.status !== 201) throw new Error(`engagement: ${res.status} ${res.text}`);
  return res.body;
}

export async function agentProfile(token, fields = {}) {
  const res = await api('PUT', '/api/v1/me/agent', {
    token,
    body: { handle: unique('agent'), headline: 'Helps rivers', personal_purpose: 'Clean water for all.', skills: ['python'],
      capacity_hours_per_week: 10, packagings: ['volunteer', 'consulting'], remote_ok: true, discoverable: true,
      show_track_record: true, ...fields },
  });
  if (res.status !== 200 && res.status !== 201) throw new Error(`agent: ${res.status} ${res.text}`);
  return res.body;
}

// The document is no wider than the viewport (nothing overflows sideways;
// a side nav or a table in a .table-scroll region scrolls on its own).
export async function horizontalOverflow(page) {
  return page.evaluate(() => {
    const vw = document.documentElement.clientWidth;
    const wide = [];
    for (const el of document.querySelectorAll('body *')) {
      const r = el.getBoundingClientRect();
      if (r.width && r.right > vw + 1 && getComputedStyle(el).position !== 'fixed' && !el.closest('.side-nav ul, .table-scroll, .sr-only')) {
        wide.push(`${el.tagName.toLowerCase()}.${el.className}`);
      }
    }
    return { scrollWidth: document.documentElement.scrollWidth, clientWidth: vw, wide: wide.slice(0, 5) };
  });
}
