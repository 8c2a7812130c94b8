// moderation: the journey of issue 19 in the browser. A person reports a
// fake organisation from its page; a moderator finds the case in the
// administration pages (with what was reported) and hides it, and it is gone
// at once from the lists, search, matching, the feeds and the answer cache
// (each checked through the API as well); its owner sees why on its page and
// appeals; the moderator restores it from the appeals; every step is on the
// moderation log page. Then the other administration pages: accounts
// (search, roles, suspend), instance settings whose rules show at sign-up.
// axe on each page; desktop and 360 px.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { sql } from '../api/helpers.mjs';
import { agentProfile, api, axe, cspViolations, engagement, horizontalOverflow, launch, newUser, openPage, organisation, purpose, shot, visit } from './helpers.mjs';

// A word no other test uses, letters only so full-text search keeps it whole.
const word = 'fk' + [...randomBytes(8)].map((b) => String.fromCharCode(97 + (b % 26))).join('');
let browser;
let w;

async function withRole(name, role) {
  const u = await newUser(name);
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${u.id}, '${role}')`);
  return u;
}

// Read until check(res) holds (the match index hears of changes through the
// change log); the last answer.
async function eventually(path, check, opts = {}) {
  let res;
  for (let i = 0; i < 50; i++) {
    res = await api('GET', path, opts);
    if (check(res)) return res;
    await new Promise((r) => setTimeout(r, 100));
  }
  return res;
}
const ids = (res) => (res.body?.items ?? []).map((x) => x.id ?? x.slug ?? x.engagement?.id);

before(async () => {
  browser = await launch();
  const owner = await newUser('Fake Owner');
  const p = await purpose(owner.token, `Rivers ${word}`);
  const org = await organisation(owner.token, { name: `Totally Real Charity ${word}`, purposes: [p.slug],
    purpose_statement: `We collect donations for ${word} rivers.` });
  const e = await engagement(owner.token, org.slug, { title: `Donation runner ${word}`, purposes: [p.slug] });
  const reporter = await newUser('Careful Reader');
  const agent = await agentProfile(reporter.token);
  const energy = await api('PUT', '/api/v1/me/agent/purposes', { token: reporter.token, body: [{ purpose: p.slug, energy: 60 }] });
  assert.equal(energy.status, 200, energy.text);
  const moderator = await withRole('Mira Moderator', 'moderator');
  const admin = await withRole('Ada Administrator', 'administrator');
  w = { owner, p, org, e, reporter, handle: agent.handle, moderator, admin };
});
after(async () => { await browser?.close(); });

// Everything the public reads of the organisation and its engagement.
async function publicReads() {
  const { org, e, reporter } = w;
  const matches = await api('GET', '/api/v1/me/matches?limit=100', { token: reporter.token });
  return {
    item: (await api('GET', `/api/v1/organisations/${org.slug}`)).status,
    engagement: (await api('GET', `/api/v1/engagements/${e.id}`)).status,
    orgList: ids(await api('GET', `/api/v1/organisations?q=${word}`)).includes(org.slug),
    search: ids(await api('GET', `/api/v1/engagements?q=${word}`)).includes(e.id),
    purposeList: ids(await api('GET', `/api/v1/engagements?purpose=${w.p.slug}`)).includes(e.id),
    feed: (await api('GET', '/feeds/engagements.json')).text.includes(`Donation runner ${word}`),
    atom: (await api('GET', '/feeds/engagements.atom')).text.includes(`Donation runner ${word}`),
    matched: ids(matches).includes(e.id),
  };
}
const shown = { item: 200, engagement: 200, orgList: true, search: true, purposeList: true, feed: true, atom: true, matched: true };
const gone = { item: 404, engagement: 404, orgList: false, search: false, purposeList: false, feed: false, atom: false, matched: false };

async function checkPage(page, name, { width } = {}) {
  assert.deepEqual(await axe(page), [], `axe on ${name}`);
  if (width) {
    const o = await horizontalOverflow(page);
    assert.ok(o.scrollWidth <= o.clientWidth, `${name} at ${width} px overflows: ${JSON.stringify(o)}`);
  }
  await shot(page, `moderation-${name}${width ? `-${width}` : ''}`);
}

test('report, hide everywhere at once, the owner told and appealing, restored, all in the log', async () => {
  const { org, e, owner, reporter, moderator } = w;
  // shown everywhere first (and the cache holds the engagement's answers)
  await eventually('/api/v1/me/matches?limit=100', (r) => ids(r).includes(e.id), { token: reporter.token });
  assert.deepEqual(await publicReads(), shown);

  // 1. a person reports it from its page: a reason from the list and a note
  const rp = await openPage(browser, { user: reporter });
  await visit(rp, `/organisations/${org.slug}`);
  await rp.getByRole('button', { name: 'Report' }).click();
  const dialog = rp.getByRole('dialog', { name: `Report ${org.name}` });
  await dialog.waitFor();
  await checkPage(rp, 'report-dialog');
  // no reason: said next to the field, nothing sent
  await dialog.getByRole('button', { name: 'Send the report' }).click();
  await dialog.locator('.field-error').filter({ hasText: 'Choose a reason' }).waitFor();
  await dialog.getByLabel('Why are you reporting it?').selectOption('fake');
  await dialog.getByLabel(/What should the moderators know/).fill('No such charity is registered anywhere.');
  await dialog.getByRole('button', { name: 'Send the report' }).click();
  await rp.getByRole('status').filter({ hasText: 'The moderators have your report' }).waitFor();
  assert.equal(await dialog.count(), 0, 'the dialog closed');
  const cases = await api('GET', '/api/v1/moderation/cases?limit=100', { token: moderator.token });
  const c = cases.body.items.find((x) => x.subject.kind === 'organisation' && x.subject.label === org.slug);
  assert.ok(c, cases.text);
  assert.deepEqual(c.reasons, { fake: 1 });

  // 2. the moderator: the Admin link, the figures, the queue, the case with its snapshot; hides it
  const mp = await openPage(browser, { user: moderator });
  await visit(mp, '/');
  await mp.getByRole('link', { name: 'Admin', exact: true }).click();
  await mp.getByRole('heading', { level: 1, name: 'Running this instance' }).waitFor();
  await mp.getByText('Open cases').waitFor();
  await checkPage(mp, 'overview');
  await mp.getByRole('link', { name: 'Reports', exact: true }).click();
  const caseLink = mp.getByRole('link', { name: `Case ${c.id}: 1 report` });
  await caseLink.waitFor();
  await checkPage(mp, 'queue');
  await caseLink.click();
  await mp.getByRole('heading', { level: 1, name: `Case ${c.id}` }).waitFor();
  const reports = mp.getByRole('region', { name: '1 report' });
  await reports.getByText('No such charity is registered anywhere.').waitFor();
  await reports.getByText(`We collect donations for ${word} rivers.`).first().waitFor();
  await reports.getByText('Careful Reader').waitFor();
  await checkPage(mp, 'case');
  await mp.getByRole('button', { name: 'Hide', exact: true }).click();
  const hideDialog = mp.getByRole('dialog');
  await hideDialog.getByRole('button', { name: 'Hide' }).click();
  await hideDialog.locator('.field-error').waitFor(); // the reason is required
  await hideDialog.getByLabel('Reason').fill('Impersonates a registered charity.');
  await hideDialog.getByRole('button', { name: 'Hide' }).click();
  await mp.getByRole('button', { name: 'Restore', exact: true }).waitFor();
  await mp.getByText('hidden now').waitFor();

  // gone at once: item, lists, search, feeds, the cached answers; matching as soon as its index hears
  await eventually('/api/v1/me/matches?limit=100', (r) => !ids(r).includes(e.id), { token: reporter.token });
  assert.deepEqual(await publicReads(), gone);
  // and in the browser of the person who reported it
  await visit(rp, `/organisations/${org.slug}`);
  await rp.getByRole('heading', { level: 1, name: 'We could not find this organisation' }).waitFor();
  await visit(rp, `/?q=${word}`);
  await rp.waitForFunction(() => !document.querySelector('.skeleton'));
  assert.equal(await rp.getByText(`Donation runner ${word}`).count(), 0);

  // 3. the owner is told: a notification, and the notice on its page, where they appeal once
  const notes = await api('GET', '/api/v1/me/notifications', { token: owner.token });
  assert.ok(notes.body.items.some((n) => n.kind === 'moderation' && n.message.includes('Impersonates a registered charity.')), notes.text);
  const op = await openPage(browser, { user: owner });
  await visit(op, `/organisations/${org.slug}`);
  const hiddenBox = op.getByRole('region', { name: 'Hidden by a moderator' });
  await hiddenBox.getByText('Impersonates a registered charity.').waitFor();
  assert.equal(await op.getByRole('button', { name: 'Report' }).count(), 0, 'no Report for its own members');
  await checkPage(op, 'owner-notice');
  await hiddenBox.getByLabel('Appeal: why should it be shown again?').fill('We are registered: number 123-456.');
  await hiddenBox.getByRole('button', { name: 'Send the appeal' }).click();
  await hiddenBox.getByText('You appealed on').waitFor();
  await visit(op, `/organisations/${org.slug}`);
  await op.getByRole('region', { name: 'Hidden by a moderator' }).getByText('You appealed on').waitFor();
  assert.equal(await op.getByRole('button', { name: 'Send the appeal' }).count(), 0, 'once');

  // 4. the moderator reads the appeal and restores it
  await visit(mp, '/admin/appeals');
  const appeal = mp.locator('article').filter({ hasText: 'We are registered: number 123-456.' });
  await appeal.waitFor();
  await checkPage(mp, 'appeals');
  await appeal.getByRole('button', { name: 'Restore' }).click();
  const restoreDialog = mp.getByRole('dialog');
  await restoreDialog.getByLabel('Reason').fill('Registration checked: it is real.');
  await restoreDialog.getByRole('button', { name: 'Restore' }).click();
  await mp.getByText('No open appeals').waitFor();
  await eventually('/api/v1/me/matches?limit=100', (r) => ids(r).includes(e.id), { token: reporter.token });
  assert.deepEqual(await publicReads(), shown);
  await visit(op, `/organisations/${org.slug}`);
  await op.locator('main h2').first().waitFor();
  assert.equal(await op.getByRole('region', { name: 'Hidden by a moderator' }).count(), 0, 'the notice is gone once restored');

  // 5. every step in the log page: the hide with its reason and the appeal, the restore
  await visit(mp, '/admin/log');
  const entries = mp.locator('article.log-entry').filter({ hasText: org.slug });
  await entries.first().waitFor();
  assert.deepEqual(await entries.evaluateAll((els) => els.map((el) => el.dataset.action)), ['restore', 'hide']);
  const hidden = entries.filter({ hasText: 'Impersonates a registered charity.' });
  await hidden.getByText('We are registered: number 123-456.').waitFor();
  await hidden.getByText('By Mira Moderator').waitFor();
  await entries.filter({ hasText: 'Registration checked: it is real.' }).waitFor();
  await hidden.getByRole('link', { name: `Case ${c.id}` }).waitFor();
  await checkPage(mp, 'log');

  for (const p of [rp, mp, op]) {
    assert.deepEqual(await cspViolations(p), []);
    assert.deepEqual(p.problems.errors, []);
    await p.context().close();
  }
});

test('accounts: search, grant a role, suspend and restore; instance settings and their rules at sign-up', async () => {
  const { admin, moderator } = w;
  const target = await newUser(`Someone ${word}`);
  const ap = await openPage(browser, { user: admin });
  await visit(ap, '/admin/accounts');
  await ap.getByLabel('Find an account').fill(word);
  await ap.getByRole('button', { name: 'Search' }).click();
  const card = ap.locator('article').filter({ hasText: target.email });
  await card.waitFor();
  assert.equal(await ap.locator('article').count(), 1);
  await checkPage(ap, 'accounts');
  // grant the moderator role
  await card.getByLabel(`Instance role of Someone ${word}`).selectOption('moderator');
  await card.getByRole('button', { name: 'Change role' }).click();
  await ap.locator('article').filter({ hasText: target.email }).locator('.badge').filter({ hasText: 'Moderator' }).waitFor();
  assert.equal((await api('GET', '/api/v1/me', { token: target.token })).body.instance_role, 'moderator');
  // revoke it, then suspend the account from the page and restore it
  await ap.locator('article').filter({ hasText: target.email }).getByLabel(/Instance role of/).selectOption('');
  await ap.locator('article').filter({ hasText: target.email }).getByRole('button', { name: 'Change role' }).click();
  await ap.locator('article').filter({ hasText: target.email }).getByRole('button', { name: 'Suspend' }).waitFor();
  await ap.locator('article').filter({ hasText: target.email }).getByRole('button', { name: 'Suspend' }).click();
  const dialog = ap.getByRole('dialog');
  await dialog.getByLabel('Reason').fill('Spam from this account.');
  await dialog.getByRole('button', { name: 'Suspend the account' }).click();
  await ap.locator('article').filter({ hasText: target.email }).locator('.badge').filter({ hasText: 'Suspended' }).waitFor();
  assert.equal((await api('GET', '/api/v1/me', { token: target.token })).status, 401, 'its sessions ended');
  await ap.locator('article').filter({ hasText: target.email }).getByRole('button', { name: 'Restore' }).click();
  await ap.getByRole('dialog').getByLabel('Reason').fill('Cleared up.');
  await ap.getByRole('dialog').getByRole('button', { name: 'Restore the account' }).click();
  await ap.locator('article').filter({ hasText: target.email }).getByRole('button', { name: 'Suspend' }).waitFor();
  const signin = await api('POST', '/api/v1/sessions', { body: { email: target.email, password: target.password } });
  assert.equal(signin.status, 201, 'signs in again');

  // instance settings: an administrator writes the rules; they show at sign-up
  await visit(ap, '/admin/instance');
  await checkPage(ap, 'instance');
  const rules = [`Be kind (${word}).`, 'Only real organisations.'];
  await ap.getByLabel('Rules').fill(rules.join('\n'));
  await ap.getByLabel('Contact').fill('moderators@example.org');
  await ap.getByRole('button', { name: 'Save the settings' }).click();
  await ap.getByRole('status').filter({ hasText: 'The settings are saved.' }).waitFor();
  const inst = await api('GET', '/api/v1/instance');
  assert.deepEqual(inst.body.rules, rules);
  assert.equal(inst.body.contact, 'moderators@example.org');
  const anon = await openPage(browser);
  await visit(anon, '/signup');
  const box = anon.getByRole('region', { name: /The rules of/ });
  assert.deepEqual(await box.locator('li').allTextContents(), rules);
  await checkPage(anon, 'signup-rules');
  // moderators read the settings, they do not change them
  const mp = await openPage(browser, { user: moderator });
  await visit(mp, '/admin/instance');
  await mp.getByText('Only administrators change these.').waitFor();
  assert.equal(await mp.getByRole('button', { name: 'Save the settings' }).count(), 0);
  // and people without a role are told the pages are not theirs (the API refuses them anyway)
  const plain = await openPage(browser, { user: await newUser('Nobody Special') });
  await visit(plain, '/admin');
  await plain.getByRole('heading', { level: 1, name: 'For the moderators of this instance' }).waitFor();
  assert.equal(await plain.getByRole('link', { name: 'Admin', exact: true }).count(), 0);
  // the rules back as they were, for the other browser tests
  const now = await api('GET', '/api/v1/instance');
  const reset = await api('PATCH', '/api/v1/instance', { token: admin.token, headers: { 'If-Match': now.headers.get('etag') }, body: { rules: [], contact: '' } });
  assert.equal(reset.status, 200, reset.text);
  for (const p of [ap, anon, mp, plain]) {
    assert.deepEqual(await cspViolations(p), []);
    assert.deepEqual(p.problems.errors, []);
    await p.context().close();
  }
});

test('a message is reported from its thread as itself; the case shows it; hidden, it reads "Hidden by a moderator"', async () => {
  const { e, owner, reporter, handle, moderator } = w;
  const text = `Send me your bank details ${word}.`;
  const asked = await api('POST', `/api/v1/engagements/${e.id}/questions/${handle}`, { token: reporter.token, body: { body: text } });
  assert.equal(asked.status, 201, asked.text);
  const op = await openPage(browser, { user: owner });
  await visit(op, `/engagements/${e.id}`);
  const questions = op.getByRole('region', { name: 'Questions from agents' });
  await questions.getByText(text).waitFor();
  // one's own messages have no Report
  await questions.getByRole('button', { name: 'Report this message by Careful Reader' }).click();
  const dialog = op.getByRole('dialog', { name: 'Report this message by Careful Reader' });
  await dialog.getByText(text).waitFor();
  await dialog.getByLabel('Why are you reporting it?').selectOption('abusive');
  await dialog.getByRole('button', { name: 'Send the report' }).click();
  await op.getByRole('status').filter({ hasText: 'The moderators have your report' }).waitFor();
  const cases = await api('GET', '/api/v1/moderation/cases?limit=100', { token: moderator.token });
  const c = cases.body.items.find((x) => x.subject.kind === 'engagement_message' && x.subject.id === asked.body.id);
  assert.ok(c, cases.text);
  const full = await api('GET', `/api/v1/moderation/cases/${c.id}`, { token: moderator.token });
  assert.equal(full.body.reports[0].reason, 'abusive');
  assert.equal(full.body.reports[0].snapshot.message.body, text, full.text);

  // the moderator reads the message as written on the case's page, and hides it
  const mp = await openPage(browser, { user: moderator });
  await visit(mp, `/admin/reports/${c.id}`);
  await mp.getByRole('blockquote').filter({ hasText: text }).first().waitFor();
  const hide = await api('POST', '/api/v1/moderation/actions', { token: moderator.token, body: { action: 'hide', case: c.id, reason: 'Asks for bank details.' } });
  assert.equal(hide.status, 201, hide.text);

  // the other side reads that it was hidden, not what it said
  await visit(op, `/engagements/${e.id}`);
  await questions.getByText('Hidden by a moderator').waitFor();
  assert.equal(await questions.getByText(text).count(), 0);
  // its author reads it, why it was hidden, and may appeal
  const ap = await openPage(browser, { user: reporter });
  await visit(ap, `/engagements/${e.id}`);
  const box = ap.getByRole('region', { name: 'Hidden by a moderator' });
  await box.getByText('Asks for bank details.').waitFor();
  await ap.getByText(text).waitFor();
  for (const p of [op, mp, ap]) {
    assert.deepEqual(await cspViolations(p), []);
    await p.context().close();
  }
});

test('a hidden engagement: 404 to its members too, who still read why and may appeal there', async () => {
  const { org, owner, moderator } = w;
  const e = await engagement(owner.token, org.slug, { title: `Collector ${word}` });
  const hide = await api('POST', '/api/v1/moderation/actions', { token: moderator.token, body: { action: 'hide', kind: 'engagement', target: String(e.id), reason: 'Asks for money up front.' } });
  assert.equal(hide.status, 201, hide.text);
  const op = await openPage(browser, { user: owner });
  await visit(op, `/engagements/${e.id}`);
  const box = op.getByRole('region', { name: 'Hidden by a moderator' });
  await box.getByText('Asks for money up front.').waitFor();
  await box.getByRole('button', { name: 'Send the appeal' }).waitFor();
  assert.deepEqual(await axe(op), []);
  // others see only that it is not there
  const anon = await openPage(browser);
  await visit(anon, `/engagements/${e.id}`);
  await anon.getByRole('heading', { level: 1, name: 'We could not find this engagement' }).waitFor();
  assert.equal(await anon.getByRole('region', { name: 'Hidden by a moderator' }).count(), 0);
  for (const p of [op, anon]) {
    assert.deepEqual(await cspViolations(p), []);
    await p.context().close();
  }
});

test('joining, the catalogue and verification by hand, from the administration pages', async () => {
  const { admin, org, p } = w;
  const ap = await openPage(browser, { user: admin });
  // an account waiting for approval is approved from the Joining page
  const [[mode]] = sql('SELECT registration_mode FROM instance_settings');
  const email = `waits-${word}@example.org`;
  try {
    sql("UPDATE instance_settings SET registration_mode = 'approval'");
    const made = await api('POST', '/api/v1/accounts', { body: { email, password: 'a long enough password', display_name: `Wanda ${word}`, reason: 'I clean rivers.' } });
    assert.equal(made.status, 201, made.text);
  } finally {
    sql(`UPDATE instance_settings SET registration_mode = '${mode}'`);
  }
  assert.equal((await api('POST', '/api/v1/sessions', { body: { email, password: 'a long enough password' } })).status, 403, 'waits');
  await visit(ap, '/admin/registrations');
  const waiting = ap.locator('article').filter({ hasText: email });
  await waiting.getByText('I clean rivers.').waitFor();
  await checkPage(ap, 'registrations');
  await waiting.getByRole('button', { name: 'Approve' }).click();
  await ap.getByRole('status').filter({ hasText: 'may sign in now' }).waitFor();
  assert.equal((await api('POST', '/api/v1/sessions', { body: { email, password: 'a long enough password' } })).status, 201, 'approved: signs in');
  // an invitation link made on the page works, and is listed
  await ap.getByLabel('Whom it is for').fill(`For ${word}`);
  await ap.getByRole('button', { name: 'Make an invitation link' }).click();
  const url = await ap.locator('code').filter({ hasText: '/signup#invitation=' }).textContent();
  const token = new URL(url).hash.replace('#invitation=', '');
  assert.equal(sql(`SELECT count(*) FROM registration_invitations WHERE note = 'For ${word}'`)[0][0], '1');
  await visit(ap, '/admin/registrations');
  await ap.locator('article').filter({ hasText: `For ${word}` }).getByText('Used 0 of 1').waitFor();
  const joined = await api('POST', '/api/v1/accounts', { body: { email: `invited-${word}@example.org`, password: 'a long enough password', display_name: 'Invited', invitation_token: token } });
  assert.equal(joined.status, 201, joined.text);

  // the catalogue: a duplicate purpose merged into the kept one from the page
  const dup = await purpose(admin.token, `Rivers too ${word}`);
  await visit(ap, '/admin/catalogue');
  await checkPage(ap, 'catalogue');
  await ap.getByLabel('The entry').fill(dup.slug);
  await ap.getByLabel('Merged into').fill(p.slug);
  await ap.getByLabel('Why').fill('A duplicate.');
  await ap.getByRole('button', { name: 'Apply' }).click();
  await ap.getByRole('status').filter({ hasText: 'Merged' }).waitFor();
  const moved = await api('GET', `/api/v1/purposes/${dup.slug}`);
  assert.equal(moved.status, 301);
  assert.match(moved.headers.get('location'), new RegExp(`/api/v1/purposes/${p.slug}$`));
  // a mistake is named at its field, nothing written
  await ap.getByLabel('The entry').fill(`no-such-${word}`);
  await ap.getByLabel('Merged into').fill(p.slug);
  await ap.getByLabel('Why').fill('Again.');
  await ap.getByRole('button', { name: 'Apply' }).click();
  await ap.getByRole('alert').first().waitFor();

  // verification by hand: the badge shows in the API and on the organisation's page
  await visit(ap, '/admin/verification');
  await checkPage(ap, 'verification');
  await ap.getByLabel('Organisation').fill(org.slug);
  await ap.getByLabel('Why').fill('Met them in person.');
  await ap.getByRole('button', { name: 'Save' }).click();
  await ap.getByRole('status').filter({ hasText: 'shows the badge' }).waitFor();
  assert.equal((await api('GET', `/api/v1/organisations/${org.slug}`)).body.verified, true);

  // a remote instance blocked, then let in again
  const spam = `spam-${word}.example`;
  await visit(ap, '/admin/instances');
  await checkPage(ap, 'instances');
  await ap.getByLabel('Instance', { exact: true }).fill(spam);
  await ap.getByLabel('Why').fill('Sends spam.');
  await ap.getByRole('button', { name: 'Block', exact: true }).click();
  await ap.getByRole('status').filter({ hasText: `${spam} is blocked` }).waitFor();
  await ap.getByRole('heading', { name: spam }).waitFor();
  const blocks = await api('GET', '/api/v1/moderation/instance-blocks', { token: admin.token });
  assert.ok(blocks.body.items.some((b) => b.host === spam && b.reason === 'Sends spam.'));
  await ap.getByRole('button', { name: `Lift the block of ${spam}` }).click();
  await ap.getByRole('status').filter({ hasText: `${spam} is no longer blocked` }).waitFor();
  assert.ok(!(await api('GET', '/api/v1/moderation/instance-blocks', { token: admin.token })).body.items.some((b) => b.host === spam));
  const log = await api('GET', '/api/v1/moderation/log', { token: admin.token });
  assert.ok(log.body.items.some((x) => x.action === 'verify' && x.reason === 'Met them in person.'));
  assert.ok(log.body.items.some((x) => x.action === 'block_instance' && x.reason === 'Sends spam.'));
  assert.ok(log.body.items.some((x) => x.action === 'merge' && x.reason === 'A duplicate.'));
  assert.deepEqual(await cspViolations(ap), []);
  assert.deepEqual(ap.problems.errors, []);
  await ap.context().close();
});

test('the administration pages at 360 px: nothing overflows, axe clean', async () => {
  const { moderator, org } = w;
  const page = await openPage(browser, { user: moderator, width: 360, height: 780 });
  const [[caseId]] = sql(`SELECT id FROM moderation_cases WHERE subject_kind = 'organisation' AND subject_id = (SELECT id FROM organisations WHERE slug = '${org.slug}')`);
  for (const [name, path] of [['overview', '/admin'], ['queue', '/admin/reports?status=resolved'], ['case', `/admin/reports/${caseId}`],
    ['log', '/admin/log'], ['appeals', '/admin/appeals'], ['accounts', `/admin/accounts?q=${word}`],
    ['registrations', '/admin/registrations'], ['catalogue', '/admin/catalogue'], ['verification', '/admin/verification'],
    ['instances', '/admin/instances'], ['instance', '/admin/instance']]) {
    await visit(page, path);
    await page.waitForFunction(() => !document.querySelector('.skeleton, .loading'));
    await checkPage(page, name, { width: 360 });
  }
  const other = await openPage(browser, { user: w.reporter, width: 360, height: 780 });
  await visit(other, `/organisations/${org.slug}`);
  await other.getByRole('button', { name: 'Report' }).click();
  await other.getByRole('dialog').waitFor();
  await checkPage(other, 'report-dialog', { width: 360 });
  await page.context().close();
  await other.context().close();
});
