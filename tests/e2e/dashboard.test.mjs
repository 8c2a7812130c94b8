// dashboard: create the agent profile, declare purposes and split energy
// (an over-100 split is refused before anything is sent), see matches.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentProfile, api, cspViolations, engagement, launch, newUser, openPage, organisation, purpose, unique, visit } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('a new person creates their agent profile from the dashboard', async () => {
  const user = await newUser('Profile Maker');
  const page = await openPage(browser, { user });
  await visit(page, '/me');
  await page.getByRole('link', { name: 'Create your agent profile' }).first().click();
  await page.getByRole('heading', { level: 1, name: 'Create your agent profile' }).waitFor();
  const handle = unique('maker');
  await page.getByLabel('Handle').fill(handle);
  await page.getByLabel('Headline').fill('Facilitator for river councils');
  await page.getByLabel('Skills').fill('facilitation, mapping');
  await page.getByLabel('Capacity, hours per week').fill('12');
  await page.getByRole('checkbox', { name: 'Consulting' }).check();
  await page.getByRole('button', { name: 'Create profile' }).click();
  await page.waitForURL('**/me/purposes');
  const me = await api('GET', '/api/v1/me/agent', { token: user.token });
  assert.equal(me.status, 200);
  assert.equal(me.body.handle, handle);
  assert.deepEqual(me.body.skills, ['facilitation', 'mapping']);
  assert.equal(me.body.capacity_hours_per_week, 12);
  assert.ok(me.body.packagings.includes('consulting'));
  await page.context().close();
});

test('a handle that is taken is shown next to the handle field', async () => {
  const first = await newUser('First');
  const taken = unique('taken');
  await agentProfile(first.token, { handle: taken });
  const user = await newUser('Second');
  const page = await openPage(browser, { user });
  await visit(page, '/me/profile');
  await page.getByLabel('Handle').fill(taken);
  await page.getByRole('button', { name: 'Create profile' }).click();
  await page.waitForFunction(() => document.querySelector('input[name=handle]')?.getAttribute('aria-invalid') === 'true');
  const ids = (await page.getByLabel('Handle').getAttribute('aria-describedby')).split(' ');
  const texts = await Promise.all(ids.map((id) => page.locator(`[id="${id}"]`).textContent()));
  assert.ok(texts.some((x) => /taken|exists|use|already/i.test(x)), texts.join(' | '));
  await page.context().close();
});

test('declare purposes and split energy; a sum over 100 is refused before sending', async () => {
  const user = await newUser('Energy Splitter');
  const names = [unique('Rivers'), unique('Forests'), unique('Schools')];
  const ps = [];
  for (const n of names) ps.push(await purpose(user.token, n));
  await agentProfile(user.token);
  const page = await openPage(browser, { user });
  const puts = [];
  page.on('request', (r) => { if (r.method() === 'PUT' && r.url().endsWith('/api/v1/me/agent/purposes')) puts.push(r.postDataJSON()); });
  await visit(page, '/me/purposes');
  for (const p of ps) {
    await page.getByLabel('Filter add or remove purposes').fill(p.name);
    await page.getByRole('checkbox', { name: p.name }).check();
  }
  await page.getByLabel('Filter add or remove purposes').fill('');
  const share = (p) => page.getByRole('spinbutton', { name: `${p.name}: energy in percent` });
  await share(ps[0]).fill('50');
  await share(ps[1]).fill('40');
  await share(ps[2]).fill('30');
  const total = page.locator('.energy-total');
  assert.match(await total.textContent(), /Total: 120%/);
  assert.match(await total.textContent(), /Over by 20%/);
  await page.getByRole('button', { name: 'Save purposes and energy' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.textContent(), /120%/);
  await page.waitForTimeout(300);
  assert.equal(puts.length, 0, 'nothing was sent');

  // the slider moves the number too
  const slider = page.getByRole('slider', { name: `Energy for ${ps[2].name}` });
  await slider.focus();
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowLeft');
  assert.equal(await share(ps[2]).inputValue(), '25');
  await share(ps[2]).fill('10');
  assert.match(await total.textContent(), /Total: 100%/);
  assert.match(await total.textContent(), /Remaining: 0%/);
  await page.getByRole('button', { name: 'Save purposes and energy' }).click();
  await page.getByText('Saved. Your matches now follow this split.').waitFor();
  assert.equal(puts.length, 1);
  const me = await api('GET', '/api/v1/me/agent', { token: user.token });
  const energy = Object.fromEntries(me.body.purposes.map((x) => [x.slug, x.energy]));
  assert.deepEqual(energy, { [ps[0].slug]: 50, [ps[1].slug]: 40, [ps[2].slug]: 10 });
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('my matches show engagements with a readable score breakdown', async () => {
  const owner = await newUser('Match Owner');
  const p = await purpose(owner.token, unique('Pollinators'));
  const org = await organisation(owner.token, { name: unique('Bee Org'), purposes: [p.slug] });
  const e = await engagement(owner.token, org.slug, { title: unique('Beekeeper apprentice'), purposes: [p.slug], skills: ['beekeeping'] });
  const agent = await newUser('Match Agent');
  await agentProfile(agent.token, { skills: ['beekeeping'], capacity_hours_per_week: 10, packagings: ['volunteer'] });
  await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: p.slug, energy: 70 }] });
  const page = await openPage(browser, { user: agent });
  let card = null;
  for (let i = 0; i < 10 && !card; i++) {
    await visit(page, '/me/matches');
    await page.waitForFunction(() => !document.querySelector('.skeleton'));
    const c = page.locator('.candidate', { hasText: e.title });
    if (await c.count()) card = c; else await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(card, 'the engagement is among my matches');
  const reasons = await card.getByRole('list', { name: 'Why this match' }).getByRole('listitem').allTextContents();
  assert.ok(reasons.some((r) => r.startsWith('Purpose') && r.includes(p.name)), reasons.join(' | '));
  assert.ok(reasons.some((r) => r.startsWith('Skills')), reasons.join(' | '));
  assert.match(await card.locator('.score').textContent(), /\d+%/);
  await card.getByRole('link', { name: e.title }).click();
  await page.getByRole('heading', { level: 1, name: e.title }).waitFor();
  await page.context().close();
});
