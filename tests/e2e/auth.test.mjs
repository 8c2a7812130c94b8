// auth: signing up, in and out through the forms, and API errors shown next
// to the field they name.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { api, cspViolations, launch, newUser, openPage, unique, visit } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('sign up through the form, land on the dashboard, and the account works', async () => {
  const page = await openPage(browser);
  const email = `${unique('signup')}@example.org`;
  await visit(page, '/signup');
  await page.getByLabel('Your name').fill('Ada Rivers');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill('a long enough password');
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.waitForURL('**/me');
  await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'Hello, Ada Rivers' }).waitFor());
  assert.equal(await page.getByRole('button', { name: 'Sign out' }).count(), 1);
  const signin = await api('POST', '/api/v1/sessions', { body: { email, password: 'a long enough password' } });
  assert.equal(signin.status, 201);
  assert.deepEqual(await cspViolations(page), []);
  await page.context().close();
});

test('a too short password is refused next to the password field', async () => {
  const page = await openPage(browser);
  await visit(page, '/signup');
  await page.getByLabel('Your name').fill('Short Pw');
  await page.getByLabel('Email').fill(`${unique('short')}@example.org`);
  await page.getByLabel('Password').fill('short');
  await page.getByRole('button', { name: 'Create account' }).click();
  const password = page.getByLabel('Password');
  await assert.doesNotReject(page.locator('.error-summary').waitFor());
  assert.equal(await password.getAttribute('aria-invalid'), 'true');
  const described = (await password.getAttribute('aria-describedby')).split(' ');
  const messages = await Promise.all(described.map((id) => page.locator(`[id="${id}"]`).textContent()));
  assert.ok(messages.some((m) => /12 characters/.test(m)), messages.join(' | '));
  assert.match(page.url(), /\/signup$/);
  await page.context().close();
});

test('an email that is taken: the 409 from the API is shown next to the email field', async () => {
  const existing = await newUser('Taken');
  const page = await openPage(browser);
  await visit(page, '/signup');
  await page.getByLabel('Your name').fill('Second Person');
  await page.getByLabel('Email').fill(existing.email);
  await page.getByLabel('Password').fill('another long password');
  await page.getByRole('button', { name: 'Create account' }).click();
  const email = page.getByLabel('Email');
  await page.waitForFunction(() => document.querySelector('input[name=email]')?.getAttribute('aria-invalid') === 'true');
  const errorId = (await email.getAttribute('aria-describedby')).split(' ').find((id) => id.endsWith('-error'));
  assert.match(await page.locator(`[id="${errorId}"]`).textContent(), /already registered/i);
  assert.match(await page.locator('.error-summary').textContent(), /Email/);
  await page.context().close();
});

test('sign in through the form returns to where you were going; sign out ends the session', async () => {
  const user = await newUser('Sign In Person');
  const page = await openPage(browser);
  await visit(page, '/signin?next=/settings');
  await page.getByLabel('Email').fill(user.email);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL('**/settings');
  await page.getByRole('heading', { level: 1, name: 'Account settings' }).waitFor();
  assert.equal(await page.getByLabel('Display name').inputValue(), 'Sign In Person');

  await page.getByRole('navigation', { name: 'Main' }).getByRole('button', { name: 'Sign out' }).click();
  await page.getByRole('link', { name: 'Sign in' }).first().waitFor();
  const me = await page.evaluate(() => fetch('/api/v1/me').then((r) => r.status));
  assert.equal(me, 401);
  await page.context().close();
});

test('pages that need an account say so and offer to sign in', async () => {
  const page = await openPage(browser);
  await visit(page, '/me');
  assert.equal(await page.locator('h1').textContent(), 'Sign in to continue');
  const href = await page.getByRole('link', { name: 'Sign in' }).last().getAttribute('href');
  assert.equal(href, '/signin?next=%2Fme');
  await page.context().close();
});

test('account settings change the display name with If-Match', async () => {
  const user = await newUser('Old Name');
  const page = await openPage(browser, { user });
  await visit(page, '/settings');
  await page.getByLabel('Display name').fill('New Name');
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.getByText('Name saved.').waitFor();
  const me = await api('GET', '/api/v1/me', { token: user.token });
  assert.equal(me.body.account.display_name, 'New Name');
  // a second change in the same page uses the new ETag
  await page.getByLabel('Display name').fill('Newer Name');
  await page.getByRole('button', { name: 'Save name' }).click();
  await page.getByText('Name saved.').nth(1).waitFor();
  assert.equal((await api('GET', '/api/v1/me', { token: user.token })).body.account.display_name, 'Newer Name');
  await page.context().close();
});

test('registration modes: approval asks why and says the account waits; an invitation link signs up in invitation mode', async () => {
  const { sql } = await import('../api/helpers.mjs');
  const [[mode]] = sql('SELECT registration_mode FROM instance_settings');
  const admin = await newUser('E2E admin');
  sql(`INSERT INTO instance_roles (account_id, role) VALUES (${admin.id}, 'administrator')`);
  try {
    sql("UPDATE instance_settings SET registration_mode = 'approval'");
    const page = await openPage(browser);
    const email = `${unique('waits')}@example.org`;
    await visit(page, '/signup');
    await page.getByLabel('Why you are joining').waitFor();
    await page.getByLabel('Your name').fill('Pat Waiting');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill('a long enough password');
    await page.getByLabel('Why you are joining').fill('I mend nets for the fishing cooperative.');
    await page.getByRole('button', { name: 'Create account' }).click();
    await assert.doesNotReject(page.getByRole('heading', { level: 1, name: 'Your account awaits approval' }).waitFor());
    assert.deepEqual(sql(`SELECT r.status, r.reason FROM account_registrations r JOIN accounts a ON a.id = r.account_id WHERE a.email = '${email}'`),
      [['pending', 'I mend nets for the fishing cooperative.']]);
    assert.deepEqual(await cspViolations(page), []);
    await page.context().close();

    sql("UPDATE instance_settings SET registration_mode = 'invitation'");
    const link = await api('POST', '/api/v1/registration-invitations', { token: admin.token, body: {} });
    assert.equal(link.status, 201, link.text);
    const invited = await openPage(browser);
    await visit(invited, new URL(link.body.url, 'http://x').pathname + new URL(link.body.url, 'http://x').hash);
    await invited.getByLabel('Your name').fill('Ivy Invited');
    await invited.getByLabel('Email').fill(`${unique('invited')}@example.org`);
    await invited.getByLabel('Password').fill('a long enough password');
    assert.equal(await invited.getByLabel('Why you are joining').isVisible(), false);
    await invited.getByRole('button', { name: 'Create account' }).click();
    await invited.waitForURL('**/me');
    await assert.doesNotReject(invited.getByRole('heading', { level: 1, name: 'Hello, Ivy Invited' }).waitFor());
    await invited.context().close();
  } finally {
    sql(`UPDATE instance_settings SET registration_mode = '${mode}'`);
  }
});
