// mass-assignment: fields a client may not set (ids, versions, statuses
// where not allowed, who proposed, timestamps, counts, owners) are refused
// with 422 naming the field, one by one and all at once, and nothing is
// written. The same body without them then succeeds, so the 422 is theirs.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, problemFields, sql, unique } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const q = (s) => `'${String(s).replace(/'/g, "''")}'`;
const version = (table, id) => `"${sql(`SELECT version FROM ${table} WHERE id = ${Number(id)}`)[0][0]}"`;

async function created(res, status = 201) {
  assert.equal(res.status, status, res.text);
  return res.body;
}

const newPurpose = async (user) => (await created(await api('POST', '/api/v1/purposes', {
  token: user.token, body: { name: unique('Mass water'), description: 'for tests' },
}))).slug;

const orgBody = (purpose, extra = {}) => ({
  name: unique('Mass Org'), purpose_statement: 'Water for all', purposes: [purpose],
  legal_form: 'cooperative', governance: 'sociocracy', ...extra,
});

async function newOrganisation(owner, purpose) {
  const org = await created(await api('POST', '/api/v1/organisations', { token: owner.token, body: orgBody(purpose) }));
  return { slug: org.slug, id: sql(`SELECT id FROM organisations WHERE slug = ${q(org.slug)}`)[0][0] };
}

const engagementBody = (purpose, extra = {}) => ({
  title: unique('Mass work'), description: 'Fix pumps.', purposes: [purpose], packagings: ['volunteer'],
  hours_per_week: 4, skills: ['pumps'], remote_ok: true, rewards: { non_cash: ['learning'] }, ...extra,
});

async function newAgent(user, purpose) {
  const handle = unique('mass-agent');
  await created(await api('PUT', '/api/v1/me/agent', {
    token: user.token,
    body: { handle, headline: 'Engineer', skills: ['pumps'], capacity_hours_per_week: 20,
            packagings: ['volunteer'], remote_ok: true, discoverable: true },
  }), 200);
  if (purpose) await created(await api('PUT', '/api/v1/me/agent/purposes', { token: user.token, body: [{ purpose, energy: 40 }] }), 200);
  return handle;
}

// An organisation (owner) with an engagement, and an agent.
async function world() {
  const owner = await newUser('Mass Owner');
  const agent = await newUser('Mass Agent');
  const purpose = await newPurpose(owner);
  const org = await newOrganisation(owner, purpose);
  const eng = await created(await api('POST', `/api/v1/organisations/${org.slug}/engagements`, {
    token: owner.token, body: engagementBody(purpose),
  }));
  const handle = await newAgent(agent, purpose);
  return { owner, agent, purpose, org, engagement: eng.id, handle };
}

const agreementBody = (w, extra = {}) => ({
  organisation: w.org.slug, agent: w.handle, engagement: w.engagement, role: 'Pump engineer',
  purposes: [w.purpose], packaging: 'volunteer', hours_per_week: 4, terms: 'Two days a month.',
  rewards: { cash: null, non_cash: [] }, starts_on: day(1), ...extra,
});

async function newAgreement(w, { active = false } = {}) {
  const a = await created(await api('POST', '/api/v1/agreements', { token: w.owner.token, body: agreementBody(w) }));
  if (active) await created(await api('POST', `/api/v1/agreements/${a.id}/accept`, { token: w.agent.token }), 200);
  return a.id;
}

const STAMP = '2000-01-01T00:00:00.000Z';

// {name, setup() -> ctx, send(ctx, extra) -> response, forbidden {field: value},
//  probe(ctx) -> rows that no refused request may change, ok (status of the
//  clean request), after(res, ctx) checks on the clean answer}
const CASES = [
  { name: 'POST /accounts', ok: 201,
    setup: async () => ({ email: `${unique('mass')}@example.org` }),
    send: (c, extra) => api('POST', '/api/v1/accounts', { body: { email: c.email, password: 'a long enough password', display_name: 'Mass', ...extra } }),
    forbidden: { id: 1, version: 7, created_at: STAMP, updated_at: STAMP, deleted_at: STAMP, password_hash: 'x' },
    probe: (c) => sql(`SELECT count(*) FROM accounts WHERE email = ${q(c.email)}`),
    after: (res) => { assert.notEqual(res.body.id, 1); assert.equal(res.body.version, 1); assert.notEqual(res.body.created_at, STAMP); } },

  { name: 'POST /sessions', ok: 201,
    setup: async () => ({ user: await newUser('Mass Session'), victim: await newUser('Mass Victim') }),
    send: (c, extra) => api('POST', '/api/v1/sessions', { body: { email: c.user.email, password: c.user.password, ...extra } }),
    forbidden: (c) => ({ account_id: Number(c.victim.id), expires_at: '2999-01-01T00:00:00Z', csrf_token: 'chosen', token: 'chosen' }),
    probe: (c) => sql(`SELECT account_id, count(*) FROM sessions WHERE account_id IN (${Number(c.user.id)}, ${Number(c.victim.id)}) GROUP BY 1 ORDER BY 1`),
    after: (res, c) => {
      assert.notEqual(res.body.csrf_token, 'chosen');
      assert.equal(sql(`SELECT count(*) FROM sessions WHERE account_id = ${Number(c.victim.id)}`)[0][0], '1');
    } },

  { name: 'PATCH /me/account', ok: 200,
    setup: async () => ({ user: await newUser('Mass Patch'), other: await newUser('Mass Other') }),
    send: (c, extra) => api('PATCH', '/api/v1/me/account', {
      token: c.user.token, headers: { 'If-Match': version('accounts', c.user.id) }, body: { display_name: 'Mass Renamed', ...extra },
    }),
    forbidden: (c) => ({ id: Number(c.other.id), version: 99, created_at: STAMP, updated_at: STAMP, deleted_at: STAMP }),
    probe: (c) => sql(`SELECT id, display_name, version, created_at FROM accounts WHERE id IN (${Number(c.user.id)}, ${Number(c.other.id)}) ORDER BY id`),
    after: (res, c) => { assert.equal(res.body.id, c.user.id); assert.equal(res.body.display_name, 'Mass Renamed'); } },

  { name: 'POST /purposes', ok: 201,
    setup: async () => ({ user: await newUser('Mass Purpose'), name: unique('Mass purpose') }),
    send: (c, extra) => api('POST', '/api/v1/purposes', { token: c.user.token, body: { name: c.name, description: 'x', ...extra } }),
    forbidden: { slug: 'chosen-slug', id: 1, supporters: 1000, organisations: 50, created_by: 1, created_at: STAMP },
    probe: (c) => sql(`SELECT count(*) FROM purposes WHERE lower(name) = lower(${q(c.name)}) OR slug = 'chosen-slug'`),
    after: (res) => { assert.equal(res.body.supporters, 0); assert.equal(res.body.organisations, 0); } },

  { name: 'POST /organisations', ok: 201,
    setup: async () => {
      const user = await newUser('Mass Founder');
      return { user, purpose: await newPurpose(user), slug: unique('mass-org') };
    },
    send: (c, extra) => api('POST', '/api/v1/organisations', { token: c.user.token, body: orgBody(c.purpose, { slug: c.slug, ...extra }) }),
    forbidden: { id: 1, version: 9, charter_version: 5, followers: 1000, open_engagements: 12, created_at: STAMP,
                 updated_at: STAMP, owner: 1, members: [] },
    probe: (c) => sql(`SELECT count(*) FROM organisations WHERE slug = ${q(c.slug)}`),
    after: (res, c) => {
      assert.deepEqual([res.body.version, res.body.charter_version, res.body.followers, res.body.open_engagements], [1, 1, 0, 0]);
      assert.deepEqual(sql(`SELECT m.account_id, m.role FROM memberships m JOIN organisations o ON o.id = m.organisation_id
        WHERE o.slug = ${q(c.slug)}`), [[String(c.user.id), 'owner']]);
    } },

  { name: 'PATCH /organisations/{slug}', ok: 200,
    setup: async () => {
      const user = await newUser('Mass Editor');
      const org = await newOrganisation(user, await newPurpose(user));
      return { user, org };
    },
    send: (c, extra) => api('PATCH', `/api/v1/organisations/${c.org.slug}`, {
      token: c.user.token, headers: { 'If-Match': version('organisations', c.org.id) }, body: { location: 'Lyon', ...extra },
    }),
    forbidden: { slug: 'renamed-org', id: 1, version: 9, charter_version: 5, followers: 1000, open_engagements: 12,
                 created_at: STAMP },
    probe: (c) => sql(`SELECT slug, version, charter_version, location FROM organisations WHERE id = ${c.org.id}`),
    after: (res, c) => { assert.equal(res.body.slug, c.org.slug); assert.equal(res.body.charter_version, 1); assert.equal(res.body.location, 'Lyon'); } },

  { name: 'POST /organisations/{slug}/members', ok: 202,
    setup: async () => {
      const user = await newUser('Mass Owner');
      const recruit = await newUser('Mass Recruit');
      const other = await newOrganisation(await newUser('Mass Elsewhere'), await newPurpose(user));
      return { user, recruit, other, org: await newOrganisation(user, await newPurpose(user)) };
    },
    send: (c, extra) => api('POST', `/api/v1/organisations/${c.org.slug}/members`, {
      token: c.user.token, body: { email: c.recruit.email, role: 'member', ...extra },
    }),
    forbidden: (c) => ({ account_id: Number(c.user.id), organisation_id: Number(c.other.id), created_at: STAMP, since: STAMP }),
    probe: (c) => sql(`SELECT 'm', organisation_id, account_id, role FROM memberships WHERE organisation_id IN (${c.org.id}, ${c.other.id})
      UNION ALL SELECT 'i', organisation_id, account_id, role FROM membership_invitations WHERE organisation_id IN (${c.org.id}, ${c.other.id}) ORDER BY 1, 2, 3`),
    after: (res, c) => {
      assert.deepEqual(res.body, { email: c.recruit.email, role: 'member', status: 'invited' });
      assert.deepEqual(sql(`SELECT account_id, role FROM membership_invitations WHERE organisation_id = ${c.org.id}`), [[String(c.recruit.id), 'member']]);
    } },

  { name: 'POST /organisations/{slug}/engagements', ok: 201,
    setup: async () => {
      const w = await world();
      return { ...w, other: await newOrganisation(await newUser('Mass Elsewhere'), w.purpose), title: unique('Mass title') };
    },
    send: (c, extra) => api('POST', `/api/v1/organisations/${c.org.slug}/engagements`, {
      token: c.owner.token, body: engagementBody(c.purpose, { title: c.title, ...extra }),
    }),
    forbidden: (c) => ({ status: 'closed', id: 1, version: 4, organisation_id: Number(c.other.id),
                         organisation: c.other.slug, created_by: 1, created_at: STAMP }),
    probe: (c) => sql(`SELECT count(*) FROM engagements WHERE title = ${q(c.title)}`),
    after: (res, c) => {
      assert.equal(res.body.status, 'open');
      assert.equal(res.body.version, 1);
      assert.equal(res.body.organisation.slug, c.org.slug);
    } },

  { name: 'PATCH /engagements/{id}', ok: 200,
    setup: async () => {
      const w = await world();
      return { ...w, other: await newOrganisation(await newUser('Mass Elsewhere'), w.purpose) };
    },
    send: (c, extra) => api('PATCH', `/api/v1/engagements/${c.engagement}`, {
      token: c.owner.token, headers: { 'If-Match': version('engagements', c.engagement) },
      body: { description: 'Changed.', ...extra },
    }),
    forbidden: (c) => ({ id: 1, version: 4, organisation_id: Number(c.other.id), organisation: c.other.slug,
                         created_by: 1, created_at: STAMP }),
    probe: (c) => sql(`SELECT organisation_id, version, description, created_by FROM engagements WHERE id = ${Number(c.engagement)}`),
    after: (res, c) => { assert.equal(res.body.organisation.slug, c.org.slug); assert.equal(res.body.description, 'Changed.'); } },

  { name: 'PUT /me/agent', ok: 200,
    setup: async () => ({ user: await newUser('Mass Agent'), other: await newUser('Mass Other'), handle: unique('mass-put') }),
    send: (c, extra) => api('PUT', '/api/v1/me/agent', {
      token: c.user.token,
      body: { handle: c.handle, headline: 'x', skills: [], capacity_hours_per_week: 10, packagings: ['volunteer'],
              remote_ok: true, discoverable: true, ...extra },
    }),
    forbidden: (c) => ({ id: 1, account_id: Number(c.other.id), version: 8, track_record: { concluded: 9, commitments_kept: 9 },
                         purposes: [], display_name: 'Someone else', created_at: STAMP }),
    probe: (c) => sql(`SELECT count(*) FROM agents WHERE account_id IN (${Number(c.user.id)}, ${Number(c.other.id)}) OR handle = ${q(c.handle)}`),
    after: (res, c) => {
      assert.deepEqual(res.body.track_record, { concluded: 0, commitments_kept: 0 });
      assert.equal(sql(`SELECT account_id FROM agents WHERE handle = ${q(c.handle)}`)[0][0], String(c.user.id));
    } },

  { name: 'PUT /me/agent/purposes', ok: 200,
    setup: async () => {
      const user = await newUser('Mass Energy');
      const purpose = await newPurpose(user);
      await newAgent(user);
      return { user, purpose, agentId: sql(`SELECT id FROM agents WHERE account_id = ${Number(user.id)}`)[0][0] };
    },
    send: (c, extra) => api('PUT', '/api/v1/me/agent/purposes', { token: c.user.token, body: [{ purpose: c.purpose, energy: 30, ...extra }] }),
    field: (f) => `[0].${f}`,
    forbidden: { agent_id: 1, supporters: 5, name: 'Renamed purpose' },
    probe: (c) => sql(`SELECT count(*) FROM agent_purposes WHERE agent_id = ${c.agentId}`),
    after: (res) => assert.equal(res.body[0].energy, 30) },

  { name: 'POST /agreements', ok: 201,
    setup: world,
    send: (c, extra) => api('POST', '/api/v1/agreements', { token: c.owner.token, body: agreementBody(c, extra) }),
    forbidden: { status: 'active', proposed_by: 'agent', id: 1, version: 3, terms_version: 2, active_version: 1,
                 organisation_id: 1, agent_id: 1, created_at: STAMP, closures: [] },
    probe: (c) => sql(`SELECT count(*) FROM agreements WHERE engagement_id = ${Number(c.engagement)}`),
    after: (res) => {
      assert.deepEqual([res.body.status, res.body.proposed_by, res.body.version, res.body.active_version],
        ['proposed', 'organisation', 1, null]);
    } },

  { name: 'PATCH /agreements/{id}', ok: 200,
    setup: async () => { const w = await world(); return { ...w, agreement: await newAgreement(w, { active: true }) }; },
    send: (c, extra) => api('PATCH', `/api/v1/agreements/${c.agreement}`, {
      token: c.owner.token, headers: { 'If-Match': version('agreements', c.agreement) }, body: { terms: 'Three days.', ...extra },
    }),
    forbidden: { status: 'active', proposed_by: 'agent', version: 9, terms_version: 9, active_version: 2,
                 organisation: 'elsewhere', agent: 'someone-else', engagement: 1, id: 1 },
    probe: (c) => sql(`SELECT status, proposed_by, version, terms_version, active_version,
      (SELECT count(*) FROM agreement_versions WHERE agreement_id = a.id) FROM agreements a WHERE id = ${Number(c.agreement)}`),
    after: (res) => {
      assert.deepEqual([res.body.status, res.body.proposed_by, res.body.active_version, res.body.pending_version], ['proposed', 'organisation', 1, 2]);
    } },

  { name: 'POST /agreements/{id}/accept', ok: 200,
    setup: async () => { const w = await world(); return { ...w, agreement: await newAgreement(w) }; },
    send: (c, extra) => api('POST', `/api/v1/agreements/${c.agreement}/accept`, { token: c.agent.token, body: { note: 'Yes.', ...extra } }),
    forbidden: { status: 'concluded', active_version: 1, side: 'organisation' },
    probe: (c) => sql(`SELECT status, version, active_version FROM agreements WHERE id = ${Number(c.agreement)}`),
    after: (res) => assert.equal(res.body.status, 'active') },

  { name: 'POST /agreements/{id}/conclude', ok: 200,
    setup: async () => { const w = await world(); return { ...w, agreement: await newAgreement(w, { active: true }) }; },
    send: (c, extra) => api('POST', `/api/v1/agreements/${c.agreement}/conclude`, {
      token: c.agent.token, body: { commitments_kept: true, note: 'Done.', ...extra },
    }),
    forbidden: (c) => ({ side: 'organisation', closed_by: Number(c.owner.id), status: 'concluded', closed_at: STAMP }),
    probe: (c) => sql(`SELECT status, (SELECT count(*) FROM agreement_closures WHERE agreement_id = a.id)
      FROM agreements a WHERE id = ${Number(c.agreement)}`),
    after: (res, c) => {
      assert.deepEqual(sql(`SELECT side, closed_by FROM agreement_closures WHERE agreement_id = ${Number(c.agreement)}`),
        [['agent', String(c.agent.id)]]);
    } },

  { name: 'POST /me/notifications/read', ok: 200,
    setup: async () => { const w = await world(); await newAgreement(w); return w; },
    send: (c, extra) => api('POST', '/api/v1/me/notifications/read', { token: c.agent.token, body: { all: true, ...extra } }),
    forbidden: (c) => ({ account_id: Number(c.owner.id), read_at: STAMP }),
    probe: (c) => sql(`SELECT account_id, count(*) FILTER (WHERE read_at IS NULL) FROM notifications
      WHERE account_id IN (${Number(c.agent.id)}, ${Number(c.owner.id)}) GROUP BY 1 ORDER BY 1`),
    after: (res) => assert.ok(res.body.marked >= 1) },
];

const resolve = async (v, ...args) => (typeof v === 'function' ? v(...args) : v);

for (const c of CASES) {
  test(`mass assignment: ${c.name} refuses fields a client may not set`, async (t) => {
    const ctx = await c.setup();
    const forbidden = await resolve(c.forbidden, ctx);
    const name = c.field ?? ((f) => f);
    const before = JSON.stringify(c.probe(ctx));
    for (const [field, value] of Object.entries(forbidden)) {
      await t.test(field, async () => {
        const res = await c.send(ctx, { [field]: value });
        assert.equal(res.status, 422, `${field}: ${res.text}`);
        assert.equal(res.headers.get('content-type'), 'application/problem+json');
        assert.deepEqual(problemFields(res), [name(field)], res.text);
        assert.equal(JSON.stringify(c.probe(ctx)), before, `${field}: something was written`);
      });
    }
    await t.test('all of them at once: every one is named', async () => {
      const res = await c.send(ctx, forbidden);
      assert.equal(res.status, 422, res.text);
      assert.deepEqual(problemFields(res), Object.keys(forbidden).map(name).sort());
      assert.equal(JSON.stringify(c.probe(ctx)), before);
    });
    await t.test('the same request without them succeeds', async () => {
      const res = await c.send(ctx, {});
      assert.equal(res.status, c.ok, res.text);
      assert.notEqual(JSON.stringify(c.probe(ctx)), before, 'the clean request wrote nothing: the probe proves nothing');
      await c.after(res, ctx);
    });
  });
}
