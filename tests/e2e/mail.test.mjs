// mail: the whole life of an account by email, in the browser, with every
// message read from the real SMTP server the daemon sends through
// (tests/mail/smtp-server.py, SMTP_DIR) and every link followed as it came:
// sign up, confirm the address, forget the password and reset it, invite a
// colleague who has no account (they sign up from the link and accept), and
// receive a daily digest (DIGEST_INTERVAL_SECONDS=3 under scripts/test).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mailsTo } from '../api/helpers.mjs';
import { api, axe, cspViolations, launch, newUser, openPage, organisation, purpose, shot, unique, visit } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

// The count-th message to address whose subject matches, waiting for it.
async function mail(address, subject, count = 1) {
  for (let i = 0; i < 200; i++) {
    const found = (await mailsTo(address, { count: 1, timeout: 0 })).filter((m) => subject.test(m.headers.Subject));
    if (found.length >= count) return found[count - 1];
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`no message ${subject} to ${address}`);
}

// The link of a message to path, as written in it.
const link = (m, path) => {
  const found = m.text.match(new RegExp(`https?://[^\\s]+${path.replace(/[/?]/g, '\\$&')}[^\\s]*`));
  assert.ok(found, `a ${path} link in "${m.headers.Subject}"`);
  return found[0];
};

test('sign up, confirm the address, reset a forgotten password, invite a colleague who accepts, get a digest', async () => {
  const email = `${unique('ada')}@example.org`;
  const page = await openPage(browser);

  // ---- sign up: the banner says the address waits for confirmation
  await visit(page, '/signup');
  await page.getByLabel('Your name').fill('Ada Mailer');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/me');
  const banner = page.getByRole('region', { name: 'Confirm your email address' });
  await banner.waitFor();
  assert.match(await banner.textContent(), new RegExp(`We sent a link to ${email}`));
  assert.deepEqual(await axe(page), []);

  // ---- the verification message, its link followed
  const verify = await mail(email, /^Confirm your email address/);
  assert.equal(verify.headers.To, email);
  assert.deepEqual(verify.defects, []);
  await page.goto(link(verify, '/verify-email#token='));
  await page.getByRole('heading', { name: 'Your email address is confirmed' }).waitFor();
  await shot(page, 'mail-verified');
  await visit(page, '/me');
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  assert.equal(await page.locator('[data-verify-banner]').count(), 0, 'no banner once confirmed');

  // ---- forgotten password: sign out, ask for a link, follow it, choose a new one
  await page.getByRole('button', { name: 'Sign out' }).click();
  await visit(page, '/signin');
  await page.getByRole('link', { name: 'Forgot your password?' }).click();
  await page.getByRole('heading', { name: 'Forgot your password?' }).waitFor();
  await page.getByLabel('Email').fill(email);
  await page.getByRole('button', { name: 'Send me a link' }).click();
  await page.getByRole('heading', { name: 'Check your email' }).waitFor();
  assert.deepEqual(await axe(page), []);
  const reset = await mail(email, /^Reset your Purposed password/);
  await page.goto(link(reset, '/reset-password#token='));
  await page.getByRole('heading', { name: 'Choose a new password' }).waitFor();
  await page.getByLabel('New password', { exact: true }).fill('a brand new long password');
  await page.getByRole('button', { name: 'Set new password' }).click();
  await page.getByRole('heading', { name: 'Your password is changed' }).waitFor();
  await mail(email, /^Your Purposed password was changed/);
  assert.equal((await api('POST', '/api/v1/sessions', { body: { email, password: 'a long enough password' } })).status, 401, 'the old password is gone');
  await visit(page, '/signin');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a brand new long password');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/me');

  // ---- invite a colleague who has no account yet
  const ada = (await api('POST', '/api/v1/sessions', { body: { email, password: 'a brand new long password' } })).body;
  const org = await organisation(ada.token, { name: unique('Mail Co') });
  const colleagueEmail = `${unique('grace')}@example.org`;
  await visit(page, `/organisations/${org.slug}/members`);
  await page.getByLabel('Email').fill(colleagueEmail);
  await page.getByRole('button', { name: 'Add member' }).click();
  await page.getByText(`Asked ${colleagueEmail} to join`).waitFor();
  await page.locator('.member', { hasText: colleagueEmail }).waitFor();
  assert.match(await page.locator('.member', { hasText: colleagueEmail }).textContent(), /until/);

  const invitation = await mail(colleagueEmail, /^Invitation to join/);
  assert.match(invitation.text, /Ada Mailer invited you to join/);
  const colleague = await openPage(browser);
  await colleague.goto(link(invitation, '/invitations/accept#token='));
  await colleague.getByRole('heading', { name: `Join ${org.name}` }).waitFor();
  assert.deepEqual(await axe(colleague), []);
  await colleague.getByRole('link', { name: 'Create an account' }).click();
  await colleague.getByRole('heading', { name: 'Join Purposed' }).waitFor();
  assert.equal(await colleague.getByLabel('Email').inputValue(), colleagueEmail, 'the address of the invitation');
  await colleague.getByLabel('Your name').fill('Grace Colleague');
  await colleague.getByLabel('Password').fill('another long enough password');
  await colleague.getByRole('button', { name: 'Create account' }).click();
  // back on the invitation, signed in now
  await colleague.getByRole('button', { name: `Join ${org.name}` }).click();
  await colleague.waitForURL(`**/organisations/${org.slug}`);
  const members = await api('GET', `/api/v1/organisations/${org.slug}/members`, { token: ada.token });
  assert.deepEqual(members.body.items.map((m) => m.account.display_name).sort(), ['Ada Mailer', 'Grace Colleague']);
  const grace = await api('POST', '/api/v1/sessions', { body: { email: colleagueEmail, password: 'another long enough password' } });
  assert.ok((await api('GET', '/api/v1/me/account', { token: grace.body.token })).body.email_verified_at,
    'following the invitation confirmed the colleague\'s address');
  assert.deepEqual(await cspViolations(colleague), []);
  assert.deepEqual(colleague.problems.errors, []);
  await colleague.context().close();

  // ---- a daily digest: chosen in Settings, then news from an organisation Ada follows
  await visit(page, '/settings');
  await page.getByRole('heading', { name: 'Emails' }).waitFor();
  await page.getByLabel('An organisation you follow posts work for your purposes').selectOption('daily');
  await page.getByRole('button', { name: 'Save email choices' }).click();
  await page.getByText('Email choices saved.').waitFor();
  assert.equal(await page.getByRole('link', { name: 'Download my data' }).getAttribute('href'), '/api/v1/me/export');
  assert.equal(await page.getByRole('button', { name: 'Make a feed address' }).count(), 1);
  assert.deepEqual(await axe(page), []);
  await shot(page, 'mail-settings');
  const owner = await newUser('Rivers Owner');
  const p = await purpose(owner.token, unique('Rivers'));
  const rivers = await organisation(owner.token, { name: unique('Rivers Org'), purposes: [p.slug] });
  await api('PUT', '/api/v1/me/agent', { token: ada.token, body: { handle: unique('ada'), headline: 'Rivers', personal_purpose: 'Rivers.',
    skills: [], capacity_hours_per_week: 8, packagings: ['volunteer'], remote_ok: true, discoverable: true } });
  await api('PUT', '/api/v1/me/agent/purposes', { token: ada.token, body: [{ purpose: p.slug, energy: 60 }] });
  assert.equal((await api('PUT', `/api/v1/organisations/${rivers.slug}/follow`, { token: ada.token })).status, 204);
  for (const title of ['River clean-up', 'Water testing']) {
    const res = await api('POST', `/api/v1/organisations/${rivers.slug}/engagements`, { token: owner.token,
      body: { title, description: 'Rivers need people.', purposes: [p.slug], packagings: ['volunteer'], hours_per_week: 2, skills: [], remote_ok: true } });
    assert.equal(res.status, 201, res.text);
  }
  const digest = await mail(email, /^Purposed: your daily digest/);
  assert.equal(digest.headers.Subject, 'Purposed: your daily digest (2 new)');
  assert.match(digest.text, /River clean-up[\s\S]*Water testing/);
  // its footer link stops the digest without signing in
  const stranger = await openPage(browser);
  await stranger.goto(link(digest, '/unsubscribe?token='));
  await stranger.getByRole('button', { name: 'Stop these emails' }).click();
  await stranger.getByRole('heading', { name: 'You will not get these emails any more' }).waitFor();
  await stranger.context().close();
  const prefs = await api('GET', '/api/v1/me/notification-preferences', { token: ada.token });
  assert.equal(prefs.body.preferences.find((x) => x.kind === 'engagement_posted').delivery, 'off');

  assert.deepEqual(await cspViolations(page), []);
  assert.deepEqual(page.problems.errors, []);
  await page.context().close();
});
