// flow: the whole story of issue 8 in one browser test, through the pages
// only, with two people in two browser contexts. A founder signs up, starts
// an organisation (adding its purpose to the catalogue) and posts an
// engagement; an agent signs up, creates a profile, declares purposes with an
// energy split, finds the engagement among its matches with the reasons and
// proposes an agreement; the founder accepts; the agent's portfolio shows the
// hours. The API is only read, to confirm what the pages said.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, cspViolations, launch, openPage, shot, unique, visit } from './helpers.mjs';
import { verifyEmail } from '../api/helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

async function signUp(page, name, email, password) {
  await visit(page, '/');
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Join Purposed' }).click();
  await page.getByRole('heading', { level: 1, name: 'Join Purposed' }).waitFor();
  await page.getByLabel('Your name').fill(name);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { level: 1, name: `Hello, ${name}` }).waitFor();
  // posting and proposing need a confirmed address: follow the mailed link
  await verifyEmail(email);
}

// "Missing a cause?" under a purpose picker: add one to the shared catalogue (it is then ticked).
async function addPurpose(page, name) {
  await page.getByText('Missing a cause? Add it to the shared catalogue').click();
  await page.getByLabel('Name of the new purpose').fill(name);
  await page.getByRole('button', { name: 'Add to catalogue' }).click();
  await page.getByRole('checkbox', { name, checked: true }).waitFor({ state: 'attached' });
}

test('sign up, start an organisation, post; sign up, split energy, match, propose; accept; portfolio', async () => {
  const password = 'correct horse battery staple';
  const founderEmail = `${unique('founder')}@example.org`;
  const agentEmail = `${unique('agent')}@example.org`;
  const wetlands = unique('Wetland birds');
  const schools = unique('Outdoor schools');
  const orgName = unique('Marsh Friends');
  const title = unique('Bird count coordinator');
  const handle = unique('birder');

  // ---- the founder: sign up, start the organisation, post the engagement
  const founder = await openPage(browser);
  await signUp(founder, 'Fern Founder', founderEmail, password);
  await founder.getByRole('link', { name: 'Start an organisation' }).first().click();
  await founder.getByRole('heading', { level: 1, name: 'Start an organisation' }).waitFor();
  await founder.getByLabel('Name', { exact: true }).fill(orgName);
  await founder.getByLabel('Purpose statement').fill('We keep the marshes alive for the birds that need them.');
  await founder.getByLabel('Association norms').fill('Decisions by consent at the monthly circle.');
  await addPurpose(founder, wetlands);
  await founder.getByLabel('Legal form').selectOption('nonprofit');
  await founder.getByLabel('Governance').selectOption('consent_based');
  await founder.getByRole('button', { name: 'Create organisation' }).click();
  await founder.getByRole('heading', { level: 1, name: orgName }).waitFor();
  const slug = new URL(founder.url()).pathname.split('/')[2];

  await founder.getByRole('navigation', { name: 'Organisation' }).getByRole('link', { name: 'Post an engagement' }).click();
  await founder.getByRole('heading', { level: 2, name: 'Post an engagement' }).waitFor();
  await founder.getByLabel('Title').fill(title);
  await founder.getByLabel('Description').fill('Coordinate the volunteers of the spring bird count and collect their tallies.');
  assert.equal(await founder.getByRole('checkbox', { name: wetlands }).isChecked(), true, 'the organisation purpose is preselected');
  await founder.getByRole('checkbox', { name: 'Volunteer' }).check();
  await founder.getByLabel('Hours per week').fill('4');
  await founder.getByLabel('Skills').fill('birding, coordination');
  await founder.getByLabel('Remote friendly').check();
  await founder.getByRole('checkbox', { name: 'Learning' }).check();
  await founder.getByRole('button', { name: 'Post engagement' }).click();
  await founder.getByRole('heading', { level: 1, name: title }).waitFor();
  const engagementId = new URL(founder.url()).pathname.split('/')[2];
  await shot(founder, 'flow-1-engagement-posted');

  // ---- the agent: sign up, profile, purposes with an energy split
  const agent = await openPage(browser);
  await signUp(agent, 'Avery Agent', agentEmail, password);
  await agent.getByRole('link', { name: 'Create your agent profile' }).first().click();
  await agent.getByRole('heading', { level: 1, name: 'Create your agent profile' }).waitFor();
  await agent.getByLabel('Handle').fill(handle);
  await agent.getByLabel('Headline').fill('Counts birds, counts people in');
  await agent.getByLabel('Skills').fill('birding, coordination');
  await agent.getByLabel('Capacity, hours per week').fill('10');
  await agent.getByRole('button', { name: 'Create profile' }).click();
  await agent.getByRole('heading', { level: 1, name: 'Purposes & energy' }).waitFor();

  await agent.getByLabel('Filter add or remove purposes').fill(wetlands);
  await agent.getByRole('checkbox', { name: wetlands }).check();
  await agent.getByLabel('Filter add or remove purposes').fill('');
  await addPurpose(agent, schools);
  await agent.getByRole('spinbutton', { name: `${wetlands}: energy in percent` }).fill('70');
  await agent.getByRole('spinbutton', { name: `${schools}: energy in percent` }).fill('30');
  assert.match(await agent.locator('.energy-total').textContent(), /Total: 100%/);
  await agent.getByRole('button', { name: 'Save purposes and energy' }).click();
  await agent.getByText('Saved. Your matches now follow this split.').waitFor();
  await shot(agent, 'flow-2-energy-split');

  // ---- the agent's matches: the engagement, with the reasons (the index refreshes asynchronously)
  const nav = agent.getByRole('navigation', { name: 'Dashboard' });
  let card = null;
  for (let i = 0; i < 30 && !card; i++) {
    await nav.getByRole('link', { name: 'Matches' }).click();
    await agent.getByRole('heading', { level: 1, name: 'Your matches' }).waitFor();
    await agent.waitForFunction(() => !document.querySelector('main .skeleton'));
    const c = agent.locator('.candidate', { hasText: title });
    if (await c.count()) card = c;
    else await agent.waitForTimeout(300);
  }
  assert.ok(card, 'the engagement is among the agent’s matches');
  const reasons = await card.getByRole('list', { name: 'Why this match' }).getByRole('listitem').allTextContents();
  assert.ok(reasons.some((r) => r.startsWith('Purpose') && r.includes(wetlands) && r.includes('70')), reasons.join(' | '));
  assert.ok(reasons.some((r) => r.startsWith('Skills') && /2 of 2/.test(r)), reasons.join(' | '));
  assert.ok(reasons.some((r) => r.startsWith('Packaging') && r.includes('Volunteer')), reasons.join(' | '));
  assert.match(await card.locator('.score').textContent(), /\d+%/);
  await shot(agent, 'flow-3-matches');

  // ---- the agent proposes from the engagement
  await card.getByRole('link', { name: title }).click();
  await agent.getByRole('heading', { level: 1, name: title }).waitFor();
  await agent.getByRole('link', { name: 'Propose an agreement' }).click();
  await agent.getByRole('heading', { level: 1, name: 'Propose an agreement' }).waitFor();
  assert.equal(await agent.getByLabel('Hours per week').inputValue(), '4');
  await agent.getByLabel('Terms').fill('I coordinate the spring count and send the tallies within a week.');
  await agent.getByRole('button', { name: 'Send proposal' }).click();
  await agent.getByRole('heading', { level: 1, name: title }).waitFor();
  await agent.getByText('Your proposal waits for the other side’s answer.').first().waitFor();
  const agreementId = new URL(agent.url()).pathname.split('/')[2];

  // ---- the founder accepts, from the organisation's agreements
  await visit(founder, `/organisations/${slug}`);
  await founder.getByRole('navigation', { name: 'Organisation' }).getByRole('link', { name: 'Agreements' }).click();
  await founder.getByRole('link', { name: title }).click();
  await founder.getByText('This proposal waits for your answer.').first().waitFor();
  await shot(founder, 'flow-4-proposal-to-accept');
  await founder.getByRole('button', { name: 'Accept' }).click();
  await founder.waitForFunction(() => /Active/i.test(document.querySelector('main .badge')?.textContent ?? ''));

  // ---- the agent's portfolio shows the hours, against capacity and per purpose
  await visit(agent, '/me');
  await agent.getByRole('navigation', { name: 'Dashboard' }).getByRole('link', { name: 'Portfolio' }).click();
  await agent.getByRole('heading', { level: 1, name: 'Your portfolio' }).waitFor();
  await agent.waitForFunction(() => document.querySelectorAll('.stat').length >= 3);
  assert.match(await agent.locator('.stat', { hasText: 'Committed' }).textContent(), /4\s*h/);
  assert.match(await agent.locator('.stat', { hasText: 'Available' }).textContent(), /6\s*h/);
  const perPurpose = agent.getByRole('region', { name: 'Per purpose' }).locator('li', { hasText: wetlands });
  assert.match(await perPurpose.textContent(), /70% energy · 4 h committed/);
  // once among the portfolio's agreements (the energy ledger links it too)
  assert.equal(await agent.getByRole('region', { name: 'Agreements' }).getByRole('link', { name: title }).count(), 1, 'the agreement is listed');
  await shot(agent, 'flow-5-portfolio');

  // what the pages said is what the API holds
  const engagement = await api('GET', `/api/v1/engagements/${engagementId}`);
  assert.equal(engagement.body.organisation.slug, slug);
  assert.deepEqual(engagement.body.skills, ['birding', 'coordination']);
  const seen = await agent.evaluate(async (id) => (await fetch(`/api/v1/agreements/${id}`)).json(), agreementId);
  assert.equal(seen.status, 'active');
  assert.equal(seen.terms.hours_per_week, 4);

  assert.deepEqual(await cspViolations(founder), []);
  assert.deepEqual(await cspViolations(agent), []);
  assert.deepEqual([...founder.problems.errors, ...agent.problems.errors], []);
  await founder.context().close();
  await agent.context().close();
});
