// organisation: create one and post an engagement through the forms; edit
// with If-Match (and the message on a conflicting change); follow; members;
// ranked candidates with reasons.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentProfile, api, cspViolations, engagement, launch, newUser, openPage, organisation, purpose, skipUnless, unique, visit } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('create an organisation and post an engagement through the forms', async () => {
  const user = await newUser('Founder');
  const p = await purpose(user.token, unique('Wetlands'));
  const page = await openPage(browser, { user });
  await visit(page, '/organisations/new');
  const name = unique('Wetland Friends');
  await page.getByLabel('Name', { exact: true }).fill(name);
  await page.getByLabel('Purpose statement').fill('We restore wetlands with the people who live around them.');
  await page.getByLabel('Association norms').fill('Decisions by consent. Open books.');
  await page.getByLabel('Filter purposes it exists for').fill(p.name);
  await page.getByRole('checkbox', { name: p.name }).check();
  await page.getByLabel('Legal form').selectOption('cooperative');
  await page.getByLabel('Governance').selectOption('sociocracy');
  await page.getByRole('button', { name: 'Create organisation' }).click();
  await page.getByRole('heading', { level: 1, name }).waitFor();
  const slug = new URL(page.url()).pathname.split('/')[2];
  const org = await api('GET', `/api/v1/organisations/${slug}`);
  assert.equal(org.status, 200);
  assert.deepEqual(org.body.purposes.map((x) => x.slug), [p.slug]);
  // the creator is a member: the management tabs are there
  await page.getByRole('navigation', { name: 'Organisation' }).getByRole('link', { name: 'Post an engagement' }).click();
  await page.getByRole('heading', { name: 'Post an engagement', level: 2 }).waitFor();

  const title = unique('Wetland mapper');
  await page.getByLabel('Title').fill(title);
  await page.getByLabel('Description').fill('Map the reed beds with a drone, twice a season.');
  assert.equal(await page.getByRole('checkbox', { name: p.name }).isChecked(), true, 'the organisation purposes are preselected');
  await page.getByRole('checkbox', { name: 'Volunteer' }).check();
  await page.getByLabel('Hours per week').fill('5');
  await page.getByRole('checkbox', { name: 'Learning' }).check();
  await page.getByLabel('Other non-cash rewards').fill('Field trips');
  await page.getByLabel('Also paid').check();
  await page.getByLabel('From').fill('100');
  await page.getByLabel('Up to').fill('200');
  await page.getByLabel('Currency').fill('EUR');
  await page.getByRole('button', { name: 'Post engagement' }).click();
  await page.getByRole('heading', { level: 1, name: title }).waitFor();
  const rewards = await page.getByRole('list', { name: 'Rewards' }).getByRole('listitem').allTextContents();
  assert.ok(rewards.some((r) => r.includes('Learning')));
  assert.ok(rewards.some((r) => r.includes('Field trips')));
  assert.ok(rewards.some((r) => r.includes('200')), rewards.join(' | '));
  const id = new URL(page.url()).pathname.split('/')[2];
  const e = await api('GET', `/api/v1/engagements/${id}`);
  assert.deepEqual(e.body.rewards.non_cash.sort(), ['Field trips', 'Learning']);
  assert.equal(e.body.rewards.cash.currency, 'EUR');
  assert.equal(e.body.organisation.slug, slug);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('editing sends If-Match; a change made meanwhile is reported, and after reloading the edit goes through', async () => {
  const owner = await newUser('Editor');
  const org = await organisation(owner.token, { name: unique('Charter Co') });
  const page = await openPage(browser, { user: owner });
  await visit(page, `/organisations/${org.slug}/edit`);
  await page.getByLabel('Purpose statement').waitFor();

  // someone else changes it in the meantime
  const current = await api('GET', `/api/v1/organisations/${org.slug}`);
  const theirs = await api('PATCH', `/api/v1/organisations/${org.slug}`, {
    token: owner.token, headers: { 'If-Match': current.headers.get('etag') },
    body: { association_norms: 'Consent, and a weekly circle.', change_note: 'Weekly circle added' },
  });
  assert.equal(theirs.status, 200);

  await page.getByLabel('Purpose statement').fill('We make rivers clean again, and keep them so.');
  await page.getByLabel('What changed and why').fill('Added keeping them clean');
  await page.getByRole('button', { name: 'Save changes' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.textContent(), /Someone changed this organisation since you opened it — reload to see their changes/);

  await summary.getByRole('button', { name: 'Reload' }).click();
  await page.waitForFunction(() => document.querySelector('textarea[name=association_norms]')?.value === 'Consent, and a weekly circle.');
  await page.getByLabel('Purpose statement').fill('We make rivers clean again, and keep them so.');
  await page.getByLabel('What changed and why').fill('Added keeping them clean');
  await page.getByRole('button', { name: 'Save changes' }).click();
  await page.waitForURL(`**/organisations/${org.slug}`);
  await page.getByRole('heading', { name: 'Charter history' }).waitFor();
  const history = page.locator('.timeline__item');
  await page.waitForFunction(() => document.querySelectorAll('.timeline__item').length === 3);
  assert.match(await history.first().textContent(), /Version 3 \(current\)/);
  assert.match(await history.first().textContent(), /Added keeping them clean/);
  assert.match(await history.nth(1).textContent(), /Weekly circle added/);
  await page.context().close();
});

test('an agent follows and unfollows an organisation; the follower count follows', async (t) => {
  const owner = await newUser('Followed Owner');
  const org = await organisation(owner.token, { name: unique('Followed Org') });
  const fan = await newUser('Fan');
  await agentProfile(fan.token);
  if (await skipUnless(t, 'GET', '/api/v1/me/follows', fan.token)) return;
  const page = await openPage(browser, { user: fan });
  await visit(page, `/organisations/${org.slug}`);
  const follow = page.getByRole('button', { name: `Follow ${org.name}` });
  await follow.click();
  await page.getByRole('button', { name: `Following ${org.name}` }).waitFor();
  assert.equal(await page.locator('.follow-box__count').textContent(), '1 follower');
  const mine = await api('GET', '/api/v1/me/follows', { token: fan.token });
  assert.ok(mine.body.items.some((x) => x.slug === org.slug));

  await page.reload();
  await page.getByRole('button', { name: `Following ${org.name}` }).waitFor();
  await page.getByRole('button', { name: `Following ${org.name}` }).click();
  await page.getByRole('button', { name: `Follow ${org.name}` }).waitFor();
  assert.equal(await page.locator('.follow-box__count').textContent(), '0 followers');
  await page.context().close();
});

test('owners ask members to join, they accept; members see ranked candidates with their reasons', async () => {
  const owner = await newUser('Owner');
  const colleague = await newUser('Colleague Person');
  const p = await purpose(owner.token, unique('Seagrass'));
  const org = await organisation(owner.token, { name: unique('Seagrass Org'), purposes: [p.slug] });
  const e = await engagement(owner.token, org.slug, { title: unique('Seagrass planter'), purposes: [p.slug], skills: ['diving'] });
  const candidate = await newUser('Candidate Diver');
  const handle = unique('diver');
  await agentProfile(candidate.token, { handle, skills: ['diving'], capacity_hours_per_week: 20, packagings: ['volunteer'] });
  const put = await api('PUT', '/api/v1/me/agent/purposes', { token: candidate.token, body: [{ purpose: p.slug, energy: 80 }] });
  assert.equal(put.status, 200);

  const page = await openPage(browser, { user: owner });
  await visit(page, `/organisations/${org.slug}/members`);
  await page.getByLabel('Email').fill(colleague.email);
  await page.getByLabel('Role').selectOption('admin');
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByText(`Asked ${colleague.email} to join`).waitFor();
  // nobody becomes a member without consent: the colleague accepts
  assert.equal(await page.locator('.member', { hasText: 'Colleague Person' }).count(), 0);
  const colleaguePage = await openPage(browser, { user: colleague });
  await visit(colleaguePage, '/settings');
  await colleaguePage.getByRole('button', { name: `Join ${org.name}` }).click();
  await colleaguePage.getByText(`You are now admin of ${org.name}.`).waitFor();
  await colleaguePage.context().close();
  await visit(page, `/organisations/${org.slug}/members`);
  await page.locator('.member', { hasText: 'Colleague Person' }).waitFor();
  assert.match(await page.locator('.member', { hasText: 'Colleague Person' }).textContent(), /Admin/i);

  // the matching index refreshes asynchronously: give it a few tries
  let found = false;
  for (let i = 0; i < 10 && !found; i++) {
    await visit(page, `/engagements/${e.id}`);
    await page.getByRole('heading', { name: 'Ranked candidates' }).waitFor();
    await page.waitForFunction(() => !document.querySelector('#candidates .skeleton'));
    found = await page.getByRole('list', { name: 'Candidates, best first' }).getByRole('link', { name: 'Candidate Diver' }).count() > 0;
    if (!found) await new Promise((r) => setTimeout(r, 500));
  }
  assert.ok(found, 'the candidate is ranked');
  const card = page.locator('.candidate', { hasText: 'Candidate Diver' });
  const reasons = await card.getByRole('list', { name: 'Why this match' }).getByRole('listitem').allTextContents();
  assert.ok(reasons.some((r) => r.startsWith('Purpose')), reasons.join(' | '));
  assert.match(await card.locator('.score').textContent(), /%/);
  assert.equal(await card.getByRole('link', { name: 'Propose to Candidate Diver' }).count(), 1);
  await page.context().close();
});
