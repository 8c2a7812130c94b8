// relationship: an agent and an organisation, each in a browser of their
// own, walk a relationship: the agent asks about the engagement and the
// organisation answers, the agent proposes and asks more on the agreement,
// the organisation answers and accepts, the agent logs hours, the
// organisation confirms one entry and disputes another, both read the same
// totals, conversation and CSV — each side written as "you" and "the other" —
// the organisation reads the same hours on its Hours tab, proposes a change
// the agent declines (both pages say so plainly), the agent proposes a
// renewal the organisation consents to, both conclude
// agreeing to publish their closing notes, and both public track records
// show it with the notes.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  agentProfile, api, axe, cspViolations, engagement, horizontalOverflow, launch, newUser, openPage, organisation, purpose, shot, unique, visit,
} from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

const today = () => new Date().toISOString().slice(0, 10);

test('two sides talk, agree, log and confirm hours, renew, conclude, and read each other\'s track record', async () => {
  const owner = await newUser('Rhea Founder');
  const p = await purpose(owner.token, unique('Rivers'));
  const org = await organisation(owner.token, { name: unique('River Keepers'), purposes: [p.slug] });
  const e = await engagement(owner.token, org.slug, { title: unique('River warden'), purposes: [p.slug], hours_per_week: 4 });
  const agent = await newUser('Ada Agent');
  await agentProfile(agent.token, { handle: unique('ada'), capacity_hours_per_week: 10 });

  // before proposing, the agent asks the organisation about the engagement; a member answers
  const ap = await openPage(browser, { user: agent });
  await visit(ap, `/engagements/${e.id}`);
  await ap.getByRole('heading', { name: `Ask ${org.name}` }).waitFor();
  await ap.getByLabel(`Your question to ${org.name}`).fill('Is there a boat, or is it all on foot?');
  await ap.getByRole('button', { name: 'Send' }).click();
  await ap.locator('.thread__message--mine', { hasText: 'Is there a boat' }).waitFor();
  const op = await openPage(browser, { user: owner });
  await visit(op, `/engagements/${e.id}`);
  const question = op.locator('#questions li', { hasText: 'Ada Agent' });
  await question.getByText('awaits an answer').waitFor();
  await question.getByLabel('Answer Ada Agent').fill('On foot, with a canoe for the flooded weeks.');
  await question.getByRole('button', { name: 'Send' }).click();
  await question.locator('.thread__message--mine', { hasText: 'canoe' }).waitFor();
  await visit(ap, `/engagements/${e.id}`);
  await ap.locator('.thread__message', { hasText: 'On foot, with a canoe' }).waitFor();

  // the agent proposes from the engagement page, then asks more on the agreement
  await ap.getByRole('link', { name: 'Propose an agreement' }).click();
  await ap.getByLabel('Terms').fill('I walk the river bank twice a week and report what I find.');
  await ap.getByRole('button', { name: 'Send proposal' }).click();
  await ap.getByRole('heading', { level: 1, name: e.title }).waitFor();
  const id = new URL(ap.url()).pathname.split('/')[2];
  await ap.getByText('No messages yet. Ask the organisation anything').waitFor();
  await ap.getByLabel('Write to the organisation').fill('Could the walks be on weekends?');
  await ap.getByRole('button', { name: 'Send' }).click();
  await ap.locator('.thread__message--mine', { hasText: 'Could the walks be on weekends?' }).waitFor();

  // the organisation sees the question marked new, answers, and accepts
  await visit(op, `/agreements/${id}`);
  await op.getByText('1 new message from the agent.').waitFor();
  await op.locator('.thread__message--new', { hasText: 'Could the walks be on weekends?' }).waitFor();
  await op.getByLabel('Write to the agent').fill('Weekends are fine.');
  await op.getByRole('button', { name: 'Send' }).click();
  await op.locator('.thread__message--mine', { hasText: 'Weekends are fine.' }).waitFor();
  assert.equal(await op.locator('.thread__message--new').count(), 0, 'read once seen');
  await op.getByRole('button', { name: 'Accept' }).click();
  await op.waitForFunction(() => /Active/i.test(document.querySelector('main .badge')?.textContent ?? ''));

  // the agent reads the answer and logs hours twice
  await visit(ap, `/agreements/${id}`);
  await ap.locator('.thread__message--new', { hasText: 'Weekends are fine.' }).waitFor();
  await ap.getByRole('heading', { name: 'Hours given' }).waitFor();
  for (const [hours, note] of [['2.5', 'Walked the north bank'], ['3', 'Cleared a fallen tree']]) {
    if (await ap.locator('#hours details').getAttribute('open') === null) await ap.locator('summary', { hasText: 'Log hours' }).click();
    await ap.getByLabel('Day').fill(today());
    await ap.getByLabel('Hours', { exact: true }).fill(hours);
    await ap.getByLabel('What was done').fill(note);
    await ap.getByRole('button', { name: 'Log hours' }).click();
    await ap.locator('.hours__entry', { hasText: note }).waitFor();
  }
  const waiting = ap.locator('.hours__entry', { hasText: 'Walked the north bank' });
  assert.match(await waiting.textContent(), /Awaiting an answer/);
  assert.match(await waiting.textContent(), /Waiting for the organisation to confirm/);
  assert.equal(await waiting.getByRole('button', { name: 'Confirm' }).count(), 0, 'the logger cannot confirm its own hours');

  // the organisation confirms one entry and disputes the other, saying why
  await visit(op, `/agreements/${id}`);
  const north = op.locator('.hours__entry', { hasText: 'Walked the north bank' });
  await north.getByRole('button', { name: 'Confirm', exact: true }).click();
  await north.getByLabel('A note (optional)').fill('Thank you!');
  await north.getByRole('button', { name: 'Confirm', exact: true }).click();
  await op.locator('.hours__entry', { hasText: 'Walked the north bank' }).getByText('Confirmed', { exact: true }).waitFor();
  const tree = op.locator('.hours__entry', { hasText: 'Cleared a fallen tree' });
  await tree.getByRole('button', { name: 'Dispute', exact: true }).click();
  await tree.getByLabel('What is wrong with these hours?').fill('That was on another agreement.');
  await tree.getByRole('button', { name: 'Dispute', exact: true }).click();
  await op.locator('.hours__entry', { hasText: 'Cleared a fallen tree' }).getByText('Disputed', { exact: true }).waitFor();
  const facts = async (page) => (await page.locator('#hours .key-facts').textContent()).replace(/\s+/g, ' ');
  assert.match(await facts(op), /Confirmed\s*2\.5 hours/);
  assert.match(await facts(op), /Disputed\s*3 hours/);

  // the agent sees the same record, from its side
  await visit(ap, `/agreements/${id}`);
  await ap.locator('.hours__entry', { hasText: 'Cleared a fallen tree' }).getByText('disputed by the organisation: “That was on another agreement.”', { exact: false }).waitFor();
  assert.match(await facts(ap), /Confirmed\s*2\.5 hours/);
  const csv = await ap.evaluate(async (aid) => (await fetch(`/api/v1/agreements/${aid}/hours.csv`)).text(), id);
  assert.equal(csv.trim().split('\r\n').length, 3, csv);

  // the agent's energy ledger counts the confirmed hours for the engagement's purpose, this week
  await visit(ap, '/me/portfolio');
  const ledger = ap.getByRole('region', { name: 'Energy ledger per purpose' });
  const row = ledger.getByRole('row', { name: new RegExp(p.name) });
  await row.waitFor();
  assert.deepEqual((await row.getByRole('cell').allTextContents()).slice(1, 3), ['100%', '2.5']);
  assert.equal((await row.getByRole('cell').allTextContents()).at(-1), '2.5');
  await ap.getByRole('region', { name: 'Confirmed hours per agreement' }).getByRole('link', { name: e.title }).waitFor();

  // the organisation reads the same hours on its own Hours tab
  await visit(op, `/organisations/${org.slug}/hours`);
  const orgRow = op.getByRole('region', { name: 'Hours per agreement' }).getByRole('row', { name: new RegExp(e.title) });
  await orgRow.waitFor();
  assert.deepEqual((await orgRow.getByRole('cell').allTextContents()).slice(0, 3), ['4 h/wk', '2.5', '·']);
  assert.equal((await orgRow.getByRole('cell').allTextContents()).at(-1), '2.5', 'this week');
  assert.match((await op.getByRole('list', { name: 'Hours in all' }).textContent()).replace(/\s+/g, ' '), /Confirmed\s*2\.5 h.*Disputed\s*3 h/);
  await orgRow.getByRole('link', { name: e.title }).click();
  await op.getByRole('heading', { name: 'Hours given' }).waitFor();

  // the organisation proposes a change, the agent declines it, and both pages say so plainly
  await op.getByRole('button', { name: 'Propose a change' }).click();
  await op.getByLabel('Hours per week').fill('6');
  await op.getByLabel('What changes and why').fill('More walks in spring.');
  await op.getByRole('button', { name: 'Propose amendment' }).click();
  await op.getByText('Your change to the terms waits for the other side’s consent.').waitFor();
  await visit(ap, `/agreements/${id}`);
  ap.once('dialog', (d) => d.accept());
  await ap.getByRole('button', { name: 'Decline the change' }).click();
  await ap.getByText('You declined the change to the terms (version 2)', { exact: false }).waitFor();
  await ap.getByText('version 1 is still the terms in force', { exact: false }).waitFor();
  await visit(op, `/agreements/${id}`);
  await op.getByText('The agent declined the change to the terms (version 2)', { exact: false }).waitFor();
  assert.equal(await op.getByText('Proposed change').count(), 0, 'no proposed change is left on the page');
  await visit(ap, `/agreements/${id}`);

  // the agent proposes to renew; the organisation consents; the history keeps both versions
  await ap.getByRole('button', { name: 'Propose a renewal' }).click();
  await ap.getByLabel('A note for the other side').fill('Another season on the river');
  await ap.getByRole('button', { name: 'Propose renewal' }).click();
  await ap.getByRole('heading', { name: 'Proposed renewal (version 3)' }).waitFor();
  await visit(op, `/agreements/${id}`);
  await op.getByRole('heading', { name: 'Proposed renewal (version 3)' }).waitFor();
  await op.getByRole('button', { name: 'Accept the change' }).click();
  await op.getByRole('heading', { name: 'Version 3 (renewal)' }).waitFor();
  await op.getByText('Terms in force: version 3').waitFor();

  // both sides conclude; both public track records show it
  await visit(ap, `/agreements/${id}`);
  await ap.getByRole('button', { name: 'Conclude' }).click();
  await ap.getByLabel('Yes, commitments were kept').check();
  await ap.getByLabel('Closing note').fill('A good season on the river.');
  await ap.getByLabel('Publish my note on the public track records').check();
  await ap.getByRole('button', { name: 'Record closure' }).click();
  await ap.waitForFunction(() => /Concluded/i.test(document.querySelector('main .badge')?.textContent ?? ''));
  await visit(op, `/agreements/${id}`);
  await op.getByRole('button', { name: 'Record your closure' }).click();
  await op.getByLabel('Yes, commitments were kept').check();
  await op.getByLabel('Closing note').fill('Ada never missed a walk.');
  await op.getByLabel('Publish my note on the public track records').check();
  await op.getByRole('button', { name: 'Record closure' }).click();
  await op.getByRole('heading', { name: 'The organisation’s closure' }).waitFor();
  await op.getByText('Both sides agreed to publish their notes: they are on the public track records.').first().waitFor();
  await visit(op, `/agents/${(await api('GET', '/api/v1/me/agent', { token: agent.token })).body.handle}`);
  const record = op.locator('section', { has: op.getByRole('heading', { name: 'Concluded agreements' }) });
  await record.getByText(e.title).waitFor();
  assert.match((await record.textContent()).replace(/\s+/g, ' '), /2\.5 hours confirmed · The agent: commitments kept · The organisation: commitments kept/);
  await record.getByText('A good season on the river.').waitFor();
  await record.getByText('Ada never missed a walk.').waitFor();
  await visit(ap, `/organisations/${org.slug}`);
  await ap.getByText('Kept its commitments in 1 of 1 concluded agreement, say the agents').waitFor();
  const published = ap.locator('section', { has: ap.getByRole('heading', { name: 'From concluded agreements' }) });
  await published.getByText('A good season on the river.').waitFor();
  await published.getByText('Ada never missed a walk.').waitFor();
  await published.getByRole('link', { name: 'Ada Agent' }).waitFor();

  // the agent takes its calendar from Settings
  await visit(ap, '/settings');
  await ap.getByRole('button', { name: 'Make a feed address' }).click();
  const calendarUrl = await ap.locator('a[data-calendar]').getAttribute('href');
  const ics = await ap.evaluate(async (u) => (await fetch(u)).text(), calendarUrl);
  assert.match(ics, new RegExp(`UID:agreement-${id}-end@`));

  // the record in the API agrees with the pages
  const stored = await api('GET', `/api/v1/agreements/${id}`, { token: agent.token });
  assert.deepEqual(stored.body.hours, { confirmed: 2.5, awaiting: 0, disputed: 3, entries: 2 });
  assert.equal(stored.body.status, 'concluded');
  assert.equal(stored.body.messages, 2);

  await shot(ap, 'relationship-agent');
  await shot(op, 'relationship-organisation');
  assert.deepEqual(await axe(op), []);
  assert.deepEqual(await cspViolations(ap), []);
  assert.deepEqual(await cspViolations(op), []);
  assert.deepEqual(ap.problems.errors, []);
  assert.deepEqual(op.problems.errors, []);
  await ap.context().close();
  await op.context().close();

  // at 360 px the conversation and the hours fit the screen
  const narrow = await openPage(browser, { user: agent, width: 360, height: 780 });
  await visit(narrow, `/agreements/${id}`);
  await narrow.locator('.hours__entry').first().waitFor();
  await narrow.locator('.thread__message').first().waitFor();
  assert.deepEqual((await horizontalOverflow(narrow)).wide, []);
  await shot(narrow, 'relationship-agent-360');
  await visit(narrow, '/me/portfolio');
  await narrow.getByRole('region', { name: 'Energy ledger per purpose' }).waitFor();
  assert.doesNotMatch(await narrow.locator('main').textContent(), /\bnull\b/, 'nothing absent is written as "null"');
  assert.deepEqual((await horizontalOverflow(narrow)).wide, []);
  await shot(narrow, 'relationship-ledger-360');
  await narrow.context().close();
  const narrowOrg = await openPage(browser, { user: owner, width: 360, height: 780 });
  await visit(narrowOrg, `/organisations/${org.slug}/hours`);
  await narrowOrg.getByRole('region', { name: 'Hours per agreement' }).waitFor();
  assert.deepEqual((await horizontalOverflow(narrowOrg)).wide, []);
  await shot(narrowOrg, 'relationship-org-hours-360');
  await narrowOrg.context().close();
});

test('the small things: no 401 on anonymous pages, Back undoes a filter, the skill applies alone, a readable API page, messages that name the form\'s fields, pop-ups that cover nothing', async () => {
  const owner = await newUser('Fay Filter');
  const p = await purpose(owner.token, unique('Meadows'));
  const org = await organisation(owner.token, { name: unique('Meadow Friends'), purposes: [p.slug] });
  const skill = unique('scything');
  await engagement(owner.token, org.slug, { title: unique('Meadow mower'), purposes: [p.slug], skills: [skill] });

  // anonymous: no request that fails, none to GET /me, nothing in the console
  const anon = await openPage(browser);
  const failed = [];
  anon.on('response', (r) => { if (r.status() >= 400 || new URL(r.url()).pathname === '/api/v1/me') failed.push(`${r.status()} ${r.url()}`); });
  for (const path of ['/', '/organisations', '/purposes', `/organisations/${org.slug}`, '/api-reference']) await visit(anon, path);
  assert.deepEqual(failed, []);
  assert.deepEqual(anon.problems.console, []);

  // the footer's API link opens the reference drawn from the OpenAPI document
  await visit(anon, '/');
  await anon.locator('footer').getByRole('link', { name: 'API', exact: true }).click();
  await anon.getByRole('heading', { level: 1, name: 'The Purposed API' }).waitFor();
  const op = anon.locator('article', { has: anon.locator('code', { hasText: /^\/api\/v1\/organisations\/\{slug\}\/hours$/ }) });
  await op.getByText('The hours given under the organisation\'s agreements (members).').waitFor();
  await anon.getByLabel('Find an operation').fill('renew');
  await anon.waitForFunction(() => [...document.querySelectorAll('.api-op')].filter((x) => !x.hidden).length >= 1
    && [...document.querySelectorAll('.api-op')].filter((x) => !x.hidden).every((x) => x.dataset.search.includes('renew')));
  assert.deepEqual(await cspViolations(anon), []);
  assert.deepEqual(await axe(anon), []);

  // a filter is a history entry: Back undoes it; the skill applies without "Apply"
  await visit(anon, '/organisations');
  await anon.getByLabel('Purpose', { exact: true }).selectOption(p.slug);
  await anon.waitForURL((u) => u.searchParams.get('purpose') === p.slug);
  await anon.getByRole('link', { name: org.name }).waitFor();
  await anon.goBack();
  await anon.waitForURL((u) => !u.searchParams.has('purpose'));
  assert.equal(await anon.getByLabel('Purpose', { exact: true }).inputValue(), '');
  await visit(anon, '/');
  await anon.getByLabel('Skill').fill(skill);
  await anon.waitForURL((u) => u.searchParams.get('skill') === skill);
  await anon.locator('main article', { hasText: 'Meadow mower' }).first().waitFor();
  assert.equal(await anon.locator('main article').count(), 1, 'only the engagement with that skill');
  await anon.goBack();
  await anon.waitForURL((u) => !u.searchParams.has('skill'));
  await anon.context().close();

  // a signed-in member: the form names its own fields; a pop-up leaves the page's end visible
  const page = await openPage(browser, { user: owner, width: 360, height: 780 });
  await visit(page, `/organisations/${org.slug}/post`);
  await page.getByLabel('Title').fill('Hay making');
  await page.getByLabel('Description').fill('Turning hay in July.');
  await page.getByLabel('Volunteer').check();
  await page.getByLabel('Hours per week').fill('3');
  await page.getByLabel('Also paid').check();
  await page.getByLabel('From').fill('500');
  await page.getByLabel('Up to').fill('100');
  await page.getByRole('button', { name: 'Post engagement' }).click();
  const summary = page.locator('.error-summary');
  await summary.waitFor();
  assert.match(await summary.textContent(), /Up to: must not be less than the “From” amount/);
  assert.doesNotMatch(await summary.textContent(), /\bmin\b|not valid/);
  await page.evaluate(async () => { (await import('/app/ui.js')).toast('A message that stays a while.'); });
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  const covered = await page.evaluate(() => {
    const t = document.querySelector('.toasts').getBoundingClientRect();
    const footer = [...document.querySelectorAll('footer a')].at(-1).getBoundingClientRect();
    return footer.bottom > t.top && footer.top < t.bottom;
  });
  assert.equal(covered, false, 'the last link of the page is above the pop-up');
  await page.getByRole('button', { name: 'Dismiss' }).click();
  assert.equal(await page.locator('.toast').count(), 0);
  await page.context().close();
});
