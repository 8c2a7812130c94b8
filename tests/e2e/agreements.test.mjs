// agreements: an agent proposes from an engagement, the organisation accepts
// from its agreements, the portfolio counts the hours, and the agent
// concludes — each side only offered the actions it may take.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentProfile, api, cspViolations, engagement, launch, newUser, openPage, organisation, purpose, skipUnless, unique, visit } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('propose, accept, see it in the portfolio, conclude', async (t) => {
  const owner = await newUser('Agreement Owner');
  if (await skipUnless(t, 'GET', '/api/v1/me/agreements', owner.token)) return;
  const p = await purpose(owner.token, unique('Orchards'));
  const org = await organisation(owner.token, { name: unique('Orchard Co'), purposes: [p.slug] });
  const e = await engagement(owner.token, org.slug, { title: unique('Orchard keeper'), purposes: [p.slug], hours_per_week: 4,
    rewards: { non_cash: ['Apples'], cash: null } });
  const agent = await newUser('Agreement Agent');
  const handle = unique('keeper');
  await agentProfile(agent.token, { handle, capacity_hours_per_week: 10 });

  // the agent proposes from the engagement page
  const ap = await openPage(browser, { user: agent });
  await visit(ap, `/engagements/${e.id}`);
  await ap.getByRole('link', { name: 'Propose an agreement' }).click();
  await ap.getByRole('heading', { level: 1, name: 'Propose an agreement' }).waitFor();
  assert.equal(await ap.getByLabel('Role').inputValue(), e.title, 'prefilled from the engagement');
  assert.equal(await ap.getByLabel('Hours per week').inputValue(), '4');
  await ap.getByLabel('Terms').fill('I prune the trees each winter and report monthly.');
  await ap.getByRole('button', { name: 'Send proposal' }).click();
  await ap.getByRole('heading', { level: 1, name: e.title }).waitFor();
  const id = new URL(ap.url()).pathname.split('/')[2];
  assert.match(await ap.locator('.badge').first().textContent(), /Proposed/i);
  await ap.getByText('Your proposal waits for the other side’s answer.').waitFor();
  assert.equal(await ap.getByRole('button', { name: 'Withdraw proposal' }).count(), 1);
  assert.equal(await ap.getByRole('button', { name: 'Accept' }).count(), 0, 'the proposer cannot accept');

  // the organisation finds it among its agreements and accepts
  const op = await openPage(browser, { user: owner });
  await visit(op, `/organisations/${org.slug}/agreements`);
  await op.getByRole('link', { name: e.title }).click();
  await op.getByText('This proposal waits for your answer.').first().waitFor();
  await op.getByRole('button', { name: 'Accept' }).click();
  await op.waitForFunction(() => /Active/i.test(document.querySelector('main .badge')?.textContent ?? ''));
  const stored = await api('GET', `/api/v1/agreements/${id}`, { token: owner.token });
  assert.equal(stored.body.status, 'active');

  // the agent's portfolio counts the hours
  await visit(ap, '/me/portfolio');
  await ap.waitForFunction(() => document.querySelectorAll('.stat').length >= 3);
  const committed = await ap.locator('.stat', { hasText: 'Committed' }).textContent();
  assert.match(committed, /4\s*h/);

  // and concludes it from the list of agreements
  await visit(ap, '/me/agreements?status=active');
  const card = ap.locator('article', { hasText: e.title });
  await card.getByRole('button', { name: 'Conclude' }).click();
  await card.getByLabel('Yes, commitments were kept').check();
  await card.getByLabel('Closing note').fill('A good season.');
  await card.getByRole('button', { name: 'Record closure' }).click();
  await ap.getByRole('heading', { level: 1, name: 'Your agreements' }).waitFor();
  await ap.waitForFunction(async (aid) => (await (await fetch(`/api/v1/agreements/${aid}`)).json()).status === 'concluded', id);
  assert.deepEqual(await cspViolations(ap), []);
  assert.deepEqual(await cspViolations(op), []);
  await ap.context().close();
  await op.context().close();
});

test('the other side is notified of a proposal', async (t) => {
  const owner = await newUser('Notified Owner');
  if (await skipUnless(t, 'GET', '/api/v1/me/notifications', owner.token)) return;
  const p = await purpose(owner.token, unique('Hedges'));
  const org = await organisation(owner.token, { name: unique('Hedge Co'), purposes: [p.slug] });
  const agent = await newUser('Proposing Agent');
  const handle = unique('hedger');
  await agentProfile(agent.token, { handle });
  const res = await api('POST', '/api/v1/agreements', { token: owner.token, body: {
    organisation: org.slug, agent: handle, role: 'Hedge layer', purposes: [p.slug], packaging: 'volunteer',
    hours_per_week: 3, terms: 'Lay the hedge along the north field.', rewards: { non_cash: ['Craft skills'] }, starts_on: '2027-01-10' } });
  assert.equal(res.status, 201);
  const page = await openPage(browser, { user: agent });
  await visit(page, '/me/notifications');
  const note = page.getByRole('listitem').filter({ hasText: 'Hedge layer' }).first();
  await note.waitFor();
  await note.getByRole('link').click();
  await page.getByRole('heading', { level: 1, name: 'Hedge layer' }).waitFor();
  assert.equal(await page.getByRole('button', { name: 'Accept' }).count(), 1);
  assert.equal(await page.getByRole('button', { name: 'Decline' }).count(), 1);
  await page.context().close();
});

test('amending an active agreement from my agreements makes a new version awaiting the other side', async (t) => {
  const owner = await newUser('Amend Owner');
  if (await skipUnless(t, 'GET', '/api/v1/me/agreements', owner.token)) return;
  const p = await purpose(owner.token, unique('Meadows'));
  const org = await organisation(owner.token, { name: unique('Meadow Co'), purposes: [p.slug] });
  const agent = await newUser('Amend Agent');
  const handle = unique('mower');
  await agentProfile(agent.token, { handle });
  const created = await api('POST', '/api/v1/agreements', { token: owner.token, body: {
    organisation: org.slug, agent: handle, role: 'Meadow mower', purposes: [p.slug], packaging: 'volunteer',
    hours_per_week: 3, terms: 'Mow twice a summer.', rewards: { non_cash: ['Hay'] }, starts_on: '2027-05-01' } });
  assert.equal(created.status, 201);
  const accepted = await api('POST', `/api/v1/agreements/${created.body.id}/accept`, { token: agent.token, body: {} });
  assert.equal(accepted.status, 200);

  const page = await openPage(browser, { user: agent });
  await visit(page, '/me/agreements?standing=active');
  await page.locator('article', { hasText: 'Meadow mower' }).getByRole('button', { name: 'Propose a change' }).click();
  await page.getByRole('heading', { name: 'Amend the terms' }).waitFor();
  await page.getByLabel('Hours per week').fill('5');
  await page.getByLabel('What changes and why').fill('The meadow grew.');
  await page.getByRole('button', { name: 'Propose amendment' }).click();
  await page.getByText('Your change to the terms waits for the other side’s consent.').waitFor();
  const after = await api('GET', `/api/v1/agreements/${created.body.id}`, { token: agent.token });
  assert.equal(after.body.status, 'proposed');
  assert.equal(after.body.terms.hours_per_week, 5);
  await page.waitForFunction(() => document.querySelectorAll('.timeline__item').length === 2);
  assert.match(await page.locator('.timeline__item').first().textContent(), /The meadow grew/);

  // the organisation declines the change: the page says so plainly, the terms in force stay
  const declined = await api('POST', `/api/v1/agreements/${created.body.id}/decline`, { token: owner.token, body: {} });
  assert.equal(declined.status, 200, declined.text);
  await page.reload();
  await page.getByText('The organisation declined the change to the terms (version 2)', { exact: false }).waitFor();
  await page.getByText('version 1 is still the terms in force', { exact: false }).waitFor();
  assert.equal(await page.getByText('Proposed change').count(), 0, 'no proposed change is left on the page');
  await page.waitForFunction(() => /Declined by the organisation/.test(document.querySelector('.timeline')?.textContent ?? ''));
  assert.match(await page.locator('.timeline__item--current').textContent(), /Version 1.*In force/s);
  await page.setViewportSize({ width: 360, height: 800 });
  await page.screenshot({ path: 'var/agreement-declined-360.png', fullPage: true });
  await page.context().close();
});
