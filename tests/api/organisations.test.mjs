// organisations: create (owner, charter v1), read, list with filters and
// keyset pages, change with If-Match and charter history, and members.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, problemFields, sql, unique } from './helpers.mjs';

async function createPurpose(token) {
  const res = await api('POST', '/api/v1/purposes', { token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(res.status, 201, res.text);
  return res.body.slug;
}

function orgBody(purposes, extra = {}) {
  return {
    name: 'Open Seeds', slug: unique('org'), purpose_statement: 'Seeds for every village.',
    association_norms: 'We decide by consent.', purposes, legal_form: 'cooperative', governance: 'sociocracy',
    website: 'https://seeds.example.org', location: 'Lyon', ...extra,
  };
}

async function createOrg(token, purposes, extra = {}) {
  const res = await api('POST', '/api/v1/organisations', { token, body: orgBody(purposes, extra) });
  assert.equal(res.status, 201, res.text);
  return res.body;
}

const patch = (slug, token, version, body) =>
  api('PATCH', `/api/v1/organisations/${slug}`, { token, body, headers: version ? { 'If-Match': `"${version}"` } : {} });

test('POST /organisations creates it with the creator as owner and charter version 1', async () => {
  const u = await newUser('Olga Owner');
  const p = await createPurpose(u.token);
  const body = orgBody([p]);
  const res = await api('POST', '/api/v1/organisations', { token: u.token, body });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.headers.get('location'), `/api/v1/organisations/${body.slug}`);
  assert.equal(res.headers.get('etag'), '"1"');
  const o = res.body;
  assert.equal(o.slug, body.slug);
  assert.equal(o.name, 'Open Seeds');
  assert.equal(o.purpose_statement, body.purpose_statement);
  assert.equal(o.association_norms, body.association_norms);
  assert.equal(o.charter_version, 1);
  assert.deepEqual(o.purposes.map((x) => x.slug), [p]);
  assert.equal(typeof o.purposes[0].name, 'string');
  assert.equal(o.legal_form, 'cooperative');
  assert.equal(o.governance, 'sociocracy');
  assert.equal(o.website, 'https://seeds.example.org');
  assert.equal(o.location, 'Lyon');
  assert.equal(o.followers, 0);
  assert.equal(o.open_engagements, 0);
  assert.equal(o.version, 1);
  assert.match(o.created_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assert.deepEqual(sql(`SELECT m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id
                        WHERE o.slug = '${o.slug}' AND m.account_id = ${u.id}`), [['owner']]);
  const charter = await api('GET', `/api/v1/organisations/${o.slug}/charter`);
  assert.equal(charter.status, 200);
  assert.equal(charter.body.items.length, 1);
  assert.deepEqual(charter.body.items[0].changed_by, { id: u.id, display_name: 'Olga Owner' });
  assert.equal(charter.body.items[0].version, 1);
  assert.equal(charter.body.items[0].change_note, null);
  assert.equal(charter.body.items[0].purpose_statement, body.purpose_statement);
  const got = await api('GET', `/api/v1/organisations/${o.slug}`);
  assert.equal(got.status, 200);
  assert.equal(got.headers.get('etag'), '"1"');
  assert.deepEqual(got.body, o);
});

test('without a slug, the slug is derived from the name; optional fields default', async () => {
  const u = await newUser();
  const name = `Green Roofs ${unique('gr')}`;
  const res = await api('POST', '/api/v1/organisations', {
    token: u.token, body: { name, purpose_statement: 'Roofs.', purposes: [], legal_form: 'informal', governance: 'teal' },
  });
  assert.equal(res.status, 201, res.text);
  assert.equal(res.body.slug, name.toLowerCase().replaceAll(' ', '-'));
  assert.equal(res.body.association_norms, '');
  assert.equal(res.body.website, null);
  assert.equal(res.body.location, null);
  assert.deepEqual(res.body.purposes, []);
});

test('POST /organisations names every bad field at once and writes nothing', async () => {
  const u = await newUser();
  const before = sql('SELECT count(*) FROM organisations')[0][0];
  const res = await api('POST', '/api/v1/organisations', {
    token: u.token,
    body: {
      name: '', slug: 'Bad Slug', purpose_statement: 7, association_norms: 'x'.repeat(10001), purposes: 'water',
      legal_form: 'llc', governance: 'anarchy', website: 'javascript:alert(1)', location: 5, colour: 'green',
    },
  });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['association_norms', 'colour', 'governance', 'legal_form', 'location',
    'name', 'purpose_statement', 'purposes', 'slug', 'website']);
  const missing = await api('POST', '/api/v1/organisations', { token: u.token, body: {} });
  assert.deepEqual(problemFields(missing), ['governance', 'legal_form', 'name', 'purpose_statement', 'purposes']);
  const noSlug = await api('POST', '/api/v1/organisations', {
    token: u.token, body: { name: '¡¡¡', purpose_statement: 'x', purposes: [], legal_form: 'other', governance: 'other' },
  });
  assert.deepEqual(problemFields(noSlug), ['slug']);
  assert.equal(sql('SELECT count(*) FROM organisations')[0][0], before);
});

test('an unknown purpose is a 422 naming purposes, and nothing is written', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const body = orgBody([p, unique('no-such-purpose')]);
  const res = await api('POST', '/api/v1/organisations', { token: u.token, body });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['purposes']);
  assert.match(res.body.errors[0].message, /no-such-purpose/);
  assert.equal(sql(`SELECT count(*) FROM organisations WHERE slug = '${body.slug}'`)[0][0], '0');
});

test('a taken slug is a 409; signing in is required', async () => {
  const u = await newUser();
  const o = await createOrg(u.token, []);
  const res = await api('POST', '/api/v1/organisations', { token: u.token, body: orgBody([], { slug: o.slug }) });
  assert.equal(res.status, 409);
  assert.deepEqual(problemFields(res), ['slug']);
  assert.equal((await api('POST', '/api/v1/organisations', { body: orgBody([]) })).status, 401);
});

test('GET /organisations/{slug} is a 404 when unknown; counts followers and open engagements', async () => {
  assert.equal((await api('GET', `/api/v1/organisations/${unique('nope')}`)).status, 404);
  assert.equal((await api('GET', '/api/v1/organisations/UPPER')).status, 404);
  const u = await newUser();
  const p = await createPurpose(u.token);
  const o = await createOrg(u.token, [p]);
  const eng = { title: 'Help', description: 'Help us.', purposes: [p], packagings: ['volunteer'], hours_per_week: 4 };
  const e1 = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, { token: u.token, body: eng });
  const e2 = await api('POST', `/api/v1/organisations/${o.slug}/engagements`, { token: u.token, body: eng });
  assert.equal(e1.status, 201);
  const closed = await api('PATCH', `/api/v1/engagements/${e2.body.id}`, { token: u.token, body: { status: 'closed' }, headers: { 'If-Match': '"1"' } });
  assert.equal(closed.status, 200);
  const fan = await newUser();
  sql(`WITH a AS (INSERT INTO agents (account_id, handle) VALUES (${fan.id}, '${unique('fan')}') RETURNING id)
       INSERT INTO follows (agent_id, organisation_id) SELECT a.id, o.id FROM a, organisations o WHERE o.slug = '${o.slug}'`);
  const got = await api('GET', `/api/v1/organisations/${o.slug}`);
  assert.equal(got.body.followers, 1);
  assert.equal(got.body.open_engagements, 1);
});

test('PATCH needs If-Match (428), a current version (412), and an owner or admin (403)', async () => {
  const owner = await newUser();
  const o = await createOrg(owner.token, []);
  let res = await patch(o.slug, owner.token, null, { name: 'New name' });
  assert.equal(res.status, 428);
  res = await patch(o.slug, owner.token, 7, { name: 'New name' });
  assert.equal(res.status, 412);
  res = await api('PATCH', `/api/v1/organisations/${o.slug}`, { body: { name: 'x' }, headers: { 'If-Match': '"1"' } });
  assert.equal(res.status, 401);
  const outsider = await newUser();
  res = await patch(o.slug, outsider.token, 1, { name: 'Hijacked' });
  assert.equal(res.status, 403);
  const member = await newUser();
  await addMember(owner, o.slug, member, 'member');
  res = await patch(o.slug, member.token, 1, { name: 'Hijacked' });
  assert.equal(res.status, 403);
  res = await patch(unique('nope'), owner.token, 1, { name: 'x' });
  assert.equal(res.status, 404);
  const admin = await newUser();
  await addMember(owner, o.slug, admin, 'admin');
  res = await patch(o.slug, admin.token, 1, { name: 'Renamed', website: null, location: 'Porto' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('etag'), '"2"');
  assert.equal(res.body.name, 'Renamed');
  assert.equal(res.body.website, null);
  assert.equal(res.body.location, 'Porto');
  assert.equal(res.body.version, 2);
  assert.equal(res.body.charter_version, 1, 'a rename does not touch the charter');
  res = await patch(o.slug, owner.token, 1, { name: 'Stale' });
  assert.equal(res.status, 412);
  assert.equal((await api('GET', `/api/v1/organisations/${o.slug}`)).body.name, 'Renamed');
});

test('PATCH validates every field at once, refuses the slug, and replaces purposes', async () => {
  const u = await newUser();
  const [p1, p2, p3] = [await createPurpose(u.token), await createPurpose(u.token), await createPurpose(u.token)];
  const o = await createOrg(u.token, [p1, p2]);
  let res = await patch(o.slug, u.token, 1, {
    slug: 'new-slug', name: '', governance: 'chaos', website: 'not a url', change_note: 3, extra: 1,
  });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['change_note', 'extra', 'governance', 'name', 'slug', 'website']);
  res = await patch(o.slug, u.token, 1, {});
  assert.equal(res.status, 422);
  res = await patch(o.slug, u.token, 1, { purposes: [p3, unique('ghost')] });
  assert.equal(res.status, 422);
  assert.deepEqual(problemFields(res), ['purposes']);
  res = await patch(o.slug, u.token, 1, { purposes: [p2, p3], legal_form: 'b_corp' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.purposes.map((x) => x.slug), [p2, p3].sort());
  assert.equal(res.body.legal_form, 'b_corp');
  assert.equal(res.body.slug, o.slug);
});

test('charter amendments make new versions, listed newest first with notes and authors', async () => {
  const owner = await newUser('First Owner');
  const o = await createOrg(owner.token, []);
  const admin = await newUser('Second Admin');
  await addMember(owner, o.slug, admin, 'admin');
  let res = await patch(o.slug, owner.token, 1, { purpose_statement: 'Seeds and soil.', change_note: 'Soil too.' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.charter_version, 2);
  res = await patch(o.slug, admin.token, 2, { association_norms: 'Consent, and rotating roles.', change_note: null });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.charter_version, 3);
  assert.equal(res.body.version, 3);
  // the same text again is not an amendment
  res = await patch(o.slug, owner.token, 3, { purpose_statement: 'Seeds and soil.', change_note: 'nothing' });
  assert.equal(res.body.charter_version, 3);
  const charter = await api('GET', `/api/v1/organisations/${o.slug}/charter`);
  assert.equal(charter.status, 200);
  const items = charter.body.items;
  assert.deepEqual(items.map((c) => c.version), [3, 2, 1]);
  assert.deepEqual(items.map((c) => c.change_note), [null, 'Soil too.', null]);
  assert.deepEqual(items.map((c) => c.changed_by.display_name), ['Second Admin', 'First Owner', 'First Owner']);
  assert.deepEqual(items.map((c) => c.purpose_statement), ['Seeds and soil.', 'Seeds and soil.', 'Seeds for every village.']);
  assert.deepEqual(items.map((c) => c.association_norms), ['Consent, and rotating roles.', 'We decide by consent.', 'We decide by consent.']);
  assert.ok(items[0].changed_at >= items[1].changed_at && items[1].changed_at >= items[2].changed_at);
  assert.equal((await api('GET', `/api/v1/organisations/${unique('nope')}/charter`)).status, 404);
});

test('members: the owner asks by email (202), the person accepts; others 403', async () => {
  const owner = await newUser();
  const o = await createOrg(owner.token, []);
  const m = await newUser('Mia Member');
  const res = await api('POST', `/api/v1/organisations/${o.slug}/members`, { token: owner.token, body: { email: m.email.toUpperCase(), role: 'member' } });
  assert.equal(res.status, 202, res.text);
  assert.deepEqual(res.body, { email: m.email, role: 'member', status: 'invited' });
  assert.equal(res.headers.get('location'), null);
  // asking again (another role) is the same answer and replaces the request
  let r = await api('POST', `/api/v1/organisations/${o.slug}/members`, { token: owner.token, body: { email: m.email, role: 'admin' } });
  assert.equal(r.status, 202);
  const me = await api('GET', '/api/v1/me', { token: m.token });
  assert.deepEqual(me.body.memberships, []);
  assert.deepEqual(me.body.invitations.map((i) => [i.organisation.slug, i.role]), [[o.slug, 'admin']]);
  const accepted = await api('POST', `/api/v1/me/invitations/${o.slug}/accept`, { token: m.token });
  assert.equal(accepted.status, 201, accepted.text);
  assert.equal(accepted.headers.get('location'), `/api/v1/organisations/${o.slug}/members/${m.id}`);
  assert.deepEqual(accepted.body.account, { id: m.id, display_name: 'Mia Member' });
  assert.equal(accepted.body.role, 'admin');
  assert.equal((await api('POST', `/api/v1/me/invitations/${o.slug}/accept`, { token: m.token })).status, 404, 'accepted once');
  // a member already: asking again changes nothing
  r = await api('POST', `/api/v1/organisations/${o.slug}/members`, { token: owner.token, body: { email: m.email, role: 'owner' } });
  assert.equal(r.status, 202);
  assert.equal(sql(`SELECT count(*) FROM membership_invitations WHERE account_id = ${m.id}`)[0][0], '0');
  r = await api('POST', `/api/v1/organisations/${o.slug}/members`, { token: owner.token, body: { email: 'nope', role: 'boss', x: 1 } });
  assert.equal(r.status, 422);
  assert.deepEqual(problemFields(r), ['email', 'role', 'x']);
  const other = await newUser();
  r = await api('POST', `/api/v1/organisations/${o.slug}/members`, { token: m.token, body: { email: other.email, role: 'member' } });
  assert.equal(r.status, 403);
  r = await api('POST', `/api/v1/organisations/${o.slug}/members`, { token: other.token, body: { email: other.email, role: 'owner' } });
  assert.equal(r.status, 403);
  r = await api('POST', `/api/v1/organisations/${o.slug}/members`, { body: { email: other.email, role: 'owner' } });
  assert.equal(r.status, 401);
  assert.equal((await api('POST', `/api/v1/me/invitations/${o.slug}/accept`, { token: other.token })).status, 404,
    'nobody joins uninvited');
  assert.equal(sql(`SELECT count(*) FROM memberships m JOIN organisations o ON o.id = m.organisation_id WHERE o.slug = '${o.slug}'`)[0][0], '2');
});

test('members: adding answers the same whether or not the email has an account', async () => {
  const owner = await newUser();
  const o = await createOrg(owner.token, []);
  const real = await newUser('Real Person');
  const ghost = `${unique('ghost')}@example.org`;
  const ask = (email) => api('POST', `/api/v1/organisations/${o.slug}/members`, { token: owner.token, body: { email, role: 'owner' } });
  const a = await ask(real.email);
  const b = await ask(ghost);
  assert.equal(a.status, b.status);
  assert.equal(a.headers.get('content-type'), b.headers.get('content-type'));
  assert.equal(a.headers.get('location'), b.headers.get('location'));
  assert.equal(a.text.replace(real.email, 'EMAIL'), b.text.replace(ghost, 'EMAIL'), 'the same body but for the email');
  // nor does the member list tell: the invited account is not shown
  const list = await api('GET', `/api/v1/organisations/${o.slug}/members`, { token: owner.token });
  assert.deepEqual(list.body.items.map((x) => x.account.id), [owner.id]);
});

test('members: being added without consent never holds up leaving or deleting one\'s account', async () => {
  const owner = await newUser();
  const o = await createOrg(owner.token, []);
  const victim = await newUser('Victim');
  const asked = await api('POST', `/api/v1/organisations/${o.slug}/members`, { token: owner.token, body: { email: victim.email, role: 'owner' } });
  assert.ok(asked.status >= 200 && asked.status < 300, asked.text);
  // the one who asked tries to leave the organisation to the victim
  const leave = await api('DELETE', `/api/v1/organisations/${o.slug}/members/${owner.id}`, { token: owner.token });
  // the victim deletes their account: nothing they did not accept holds it up
  const del = await api('DELETE', '/api/v1/me/account', { token: victim.token, body: { password: victim.password } });
  assert.equal(del.status, 204, del.text);
  assert.equal(leave.status, 409, 'the owner who asked stays the only owner: an invitation is not an owner');
  // the person asked can also decline
  const other = await newUser('Other Victim');
  await api('POST', `/api/v1/organisations/${o.slug}/members`, { token: owner.token, body: { email: other.email, role: 'owner' } });
  assert.equal((await api('DELETE', `/api/v1/me/invitations/${o.slug}`, { token: other.token })).status, 204);
  assert.equal((await api('DELETE', `/api/v1/me/invitations/${o.slug}`, { token: other.token })).status, 404);
  assert.equal(sql(`SELECT count(*) FROM membership_invitations WHERE account_id IN (${victim.id}, ${other.id})`)[0][0], '0');
  assert.deepEqual(sql(`SELECT m.account_id::text, m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id WHERE o.slug = '${o.slug}'`),
    [[String(owner.id), 'owner']]);
});

test('GET members is for members only (403 outsiders, 401 anonymous)', async () => {
  const owner = await newUser('Owner One');
  const o = await createOrg(owner.token, []);
  const m = await newUser('Member Two');
  await addMember(owner, o.slug, m, 'member');
  const res = await api('GET', `/api/v1/organisations/${o.slug}/members`, { token: m.token });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.items.map((x) => [x.account.display_name, x.role]), [['Owner One', 'owner'], ['Member Two', 'member']]);
  assert.equal(res.body.next_cursor, null);
  const page = await api('GET', `/api/v1/organisations/${o.slug}/members?limit=1`, { token: owner.token });
  assert.equal(page.body.items.length, 1);
  const page2 = await api('GET', `/api/v1/organisations/${o.slug}/members?limit=1&cursor=${page.body.next_cursor}`, { token: owner.token });
  assert.deepEqual(page2.body.items.map((x) => x.account.id), [m.id]);
  assert.equal(page2.body.next_cursor, null);
  const outsider = await newUser();
  assert.equal((await api('GET', `/api/v1/organisations/${o.slug}/members`, { token: outsider.token })).status, 403);
  assert.equal((await api('GET', `/api/v1/organisations/${o.slug}/members`)).status, 401);
  assert.equal((await api('GET', `/api/v1/organisations/${unique('nope')}/members`, { token: owner.token })).status, 404);
});

test('removing members: owners remove anyone, members leave; the last owner stays (409)', async () => {
  const owner = await newUser();
  const o = await createOrg(owner.token, []);
  const [a, b, c] = [await newUser(), await newUser(), await newUser()];
  await addMember(owner, o.slug, a, 'member');
  await addMember(owner, o.slug, b, 'admin');
  const del = (who, id) => api('DELETE', `/api/v1/organisations/${o.slug}/members/${id}`, { token: who?.token });
  assert.equal((await del(a, b.id)).status, 403, 'a member cannot remove others');
  assert.equal((await del(b, a.id)).status, 403, 'an admin cannot remove others');
  assert.equal((await del(c, a.id)).status, 403, 'an outsider cannot remove anyone');
  assert.equal((await del(null, a.id)).status, 401);
  assert.equal((await del(owner, c.id)).status, 404, 'not a member');
  assert.equal((await del(owner, 'abc')).status, 404);
  assert.equal((await del(a, a.id)).status, 204, 'a member leaves');
  assert.equal((await del(owner, b.id)).status, 204, 'the owner removes an admin');
  let res = await del(owner, owner.id);
  assert.equal(res.status, 409, 'the last owner cannot leave');
  await addMember(owner, o.slug, c, 'owner');
  assert.equal((await del(c, owner.id)).status, 204, 'an owner removes another owner');
  res = await del(c, c.id);
  assert.equal(res.status, 409);
  assert.deepEqual(sql(`SELECT m.account_id, m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id WHERE o.slug = '${o.slug}'`),
    [[String(c.id), 'owner']]);
});

test('two owners removing each other at once leave one owner', async () => {
  const [x, y] = [await newUser(), await newUser()];
  for (let i = 0; i < 5; i++) {
    const o = await createOrg(x.token, []);
    await addMember(x, o.slug, y, 'owner');
    const [r1, r2] = await Promise.all([
      api('DELETE', `/api/v1/organisations/${o.slug}/members/${y.id}`, { token: x.token }),
      api('DELETE', `/api/v1/organisations/${o.slug}/members/${x.id}`, { token: y.token }),
    ]);
    // the loser is refused: 409 when both passed the role check, 403 when it
    // was no longer an owner by then
    const statuses = [r1.status, r2.status].sort();
    assert.equal(statuses[0], 204);
    assert.ok([403, 409].includes(statuses[1]), String(statuses));
    assert.equal(sql(`SELECT count(*) FROM memberships m JOIN organisations o ON o.id = m.organisation_id
                      WHERE o.slug = '${o.slug}' AND m.role = 'owner'`)[0][0], '1');
  }
});

test('GET /organisations filters by purpose and q, ordered by name, paged without gaps', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const names = ['Delta Farm', 'alpha Works', 'Charlie Co', 'Bravo Lab', 'Echo Guild'];
  const made = [];
  for (const name of names) made.push(await createOrg(u.token, [p], { name }));
  const same = await createOrg(u.token, [p], { name: 'Bravo Lab' });
  made.push(same);
  await createOrg(u.token, [], { name: 'Alpha Elsewhere' });
  const seen = [];
  let cursor = null, pages = 0;
  do {
    const res = await api('GET', `/api/v1/organisations?purpose=${p}&limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, res.text);
    seen.push(...res.body.items);
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.equal(seen.length, 6);
  assert.deepEqual(new Set(seen.map((o) => o.slug)), new Set(made.map((o) => o.slug)));
  const order = seen.map((o) => o.name);
  const collated = sql(`SELECT name FROM organisations WHERE slug IN (${made.map((o) => `'${o.slug}'`).join(',')}) ORDER BY name, id`).map((r) => r[0]);
  assert.deepEqual(order, collated);
  const word = 'zq' + unique('').replace(/[^a-f]/g, 'k');
  const searched = await createOrg(u.token, [], { name: `Findable ${word}` });
  const found = await api('GET', `/api/v1/organisations?q=${word}`);
  assert.deepEqual(found.body.items.map((o) => o.slug), [searched.slug]);
  const none = await api('GET', `/api/v1/organisations?purpose=${unique('unknown')}`);
  assert.equal(none.status, 200);
  assert.deepEqual(none.body, { items: [], next_cursor: null });
});

test('GET /organisations refuses bad query parameters with 400 naming them', async () => {
  let res = await api('GET', '/api/v1/organisations?purpose=Not%20A%20Slug&q=%ff');
  assert.equal(res.status, 400);
  assert.deepEqual(problemFields(res), ['purpose', 'q']);
  res = await api('GET', '/api/v1/organisations?cursor=abc');
  assert.equal(res.status, 400);
  res = await api('GET', '/api/v1/organisations?limit=101');
  assert.equal(res.status, 400);
});

test('POST /organisations with an Idempotency-Key: same body replays, another body is 422', async () => {
  const u = await newUser();
  const body = orgBody([]);
  const headers = { 'Idempotency-Key': unique('key') };
  const a = await api('POST', '/api/v1/organisations', { token: u.token, body, headers });
  const b = await api('POST', '/api/v1/organisations', { token: u.token, body, headers });
  assert.equal(a.status, 201);
  assert.equal(b.status, 201);
  assert.deepEqual(b.body, a.body);
  assert.equal(b.headers.get('location'), a.headers.get('location'));
  assert.equal(sql(`SELECT count(*) FROM organisations WHERE slug = '${body.slug}'`)[0][0], '1');
  assert.equal(sql(`SELECT count(*) FROM organisation_charters c JOIN organisations o ON o.id = c.organisation_id WHERE o.slug = '${body.slug}'`)[0][0], '1');
  const c = await api('POST', '/api/v1/organisations', { token: u.token, body: { ...body, name: 'Other' }, headers });
  assert.equal(c.status, 422);
});

test('SQL-looking text is stored and returned as data', async () => {
  const u = await newUser();
  const evil = "'; DROP TABLE engagements; --";
  const o = await createOrg(u.token, [], { name: evil, purpose_statement: `${evil} "quoted" \\ back` });
  const got = await api('GET', `/api/v1/organisations/${o.slug}`);
  assert.equal(got.body.name, evil);
  assert.equal(got.body.purpose_statement, `${evil} "quoted" \\ back`);
  assert.equal(sql("SELECT to_regclass('engagements') IS NOT NULL")[0][0], 't');
});

test('a website given without a scheme is stored as https://; other schemes and non-addresses are refused', async () => {
  const u = await newUser();
  const p = await createPurpose(u.token);
  const o = await createOrg(u.token, [p], { website: 'river-keepers.example' });
  assert.equal(o.website, 'https://river-keepers.example');
  let res = await patch(o.slug, u.token, 1, { website: 'river-keepers.example/about?x=1' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.website, 'https://river-keepers.example/about?x=1');
  res = await patch(o.slug, u.token, 2, { website: 'HTTP://Old.example' });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.body.website, 'HTTP://Old.example', 'a scheme given is kept as given');
  for (const website of ['javascript:alert(1)', 'mailto:a@b.example', 'localhost', '.example', 'river keepers.example', 'ftp://x.example', 'x.example:8080', 'a.']) {
    res = await patch(o.slug, u.token, 3, { website });
    assert.equal(res.status, 422, `${website}: ${res.text}`);
    assert.deepEqual(problemFields(res), ['website'], website);
  }
  assert.equal(sql(`SELECT website FROM organisations WHERE slug = '${o.slug}'`)[0][0], 'HTTP://Old.example');
});
