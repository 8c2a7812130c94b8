// credentials: on a concluded agreement the agent sees the history checked
// and gets a credential; its page shows it verified, downloads it, publishes
// it to the profile; the organisation's owner revokes it from the agreement,
// and the page then says revoked.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { agentProfile, api, axe, cspViolations, launch, newUser, openPage, organisation, purpose, shot, unique, visit } from './helpers.mjs';

let browser;
before(async () => { browser = await launch(); });
after(async () => { await browser?.close(); });

test('get a credential, see it verified, publish it; the organisation revokes it', async () => {
  const owner = await newUser('Credential Owner');
  const p = await purpose(owner.token, unique('Rivers'));
  const org = await organisation(owner.token, { name: unique('River Co'), purposes: [p.slug] });
  const agent = await newUser('Credential Agent');
  const handle = unique('holder');
  await agentProfile(agent.token, { handle });
  let r = await api('POST', '/api/v1/agreements', { token: agent.token, body: {
    organisation: org.slug, agent: handle, role: 'River warden', purposes: [p.slug], packaging: 'volunteer',
    hours_per_week: 3, terms: 'Walk the river monthly.', rewards: { cash: null, non_cash: [] },
    starts_on: new Date(Date.now() - 40 * 86400000).toISOString().slice(0, 10) } });
  assert.equal(r.status, 201, r.text);
  const id = r.body.id;
  assert.equal((await api('POST', `/api/v1/agreements/${id}/accept`, { token: owner.token })).status, 200);
  for (const who of [agent, owner])
    assert.equal((await api('POST', `/api/v1/agreements/${id}/conclude`, { token: who.token, body: { commitments_kept: true } })).status, 200);

  const ap = await openPage(browser, { user: agent });
  await visit(ap, `/agreements/${id}`);
  await ap.getByText('History intact.').waitFor();
  await ap.getByRole('button', { name: 'Get a credential' }).click();
  await ap.waitForURL('**/credentials/*');
  await ap.getByRole('heading', { level: 1, name: `River warden at ${org.name}` }).waitFor();
  await ap.getByRole('heading', { level: 2, name: 'Verified' }).waitFor();
  assert.equal(await ap.getByRole('link', { name: 'Download' }).count(), 1);
  assert.equal(await ap.getByRole('button', { name: 'Copy JSON' }).count(), 1);
  const uuid = new URL(ap.url()).pathname.split('/').pop();
  await shot(ap, 'credential-verified');
  assert.deepEqual(await axe(ap), []);
  await ap.getByRole('button', { name: 'Publish on my profile' }).click();
  await ap.getByRole('button', { name: 'Hide from my profile' }).waitFor();
  assert.deepEqual(await cspViolations(ap), []);

  // anyone sees it on the profile, and its page
  const anon = await openPage(browser);
  await visit(anon, `/agents/${handle}`);
  await anon.getByRole('link', { name: `River warden at ${org.name}` }).click();
  await anon.getByRole('heading', { level: 2, name: 'Verified' }).waitFor();

  // the owner finds it from the agreement and revokes it
  const op = await openPage(browser, { user: owner });
  await visit(op, `/agreements/${id}`);
  await op.getByRole('link', { name: 'The agent’s credential' }).click();
  await op.getByLabel(/Why the organisation withdraws it/).fill('Recorded in error.');
  await op.getByRole('button', { name: 'Revoke' }).click();
  await op.getByRole('heading', { level: 2, name: 'Revoked' }).first().waitFor();
  r = await api('GET', `/api/v1/organisations/${org.slug}/credentials`, { token: owner.token });
  assert.equal(r.body.items.find((c) => c.id === uuid).revocation.reason, 'Recorded in error.');
  await visit(anon, `/credentials/${uuid}`);
  await anon.getByRole('heading', { level: 2, name: 'Revoked' }).waitFor();
  await shot(anon, 'credential-revoked');
  for (const page of [ap, anon, op]) await page.context().close();
});
