// authz-matrix: every route that reads or writes something owned, tried as
// every kind of caller, against a table of the answers each must get. One
// organisation (owner, admin, member), the agent it proposed an agreement
// to, another agent (not discoverable), a signed-in stranger, anonymous.
// Rules (API.md, DESIGN.md): anonymous is 401; what the caller may not see
// is 404 (other people's agreements, hidden agents); a members-only action
// on a public organisation by anyone else is 403; a refused write changes
// nothing, and a cookie-signed write without X-CSRF-Token is 403.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { addMember, api, newUser, problemFields, sql, unique } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

// Who asks. Denied attempts run before allowed ones within a row (see run()).
const ACTORS = ['anon', 'stranger', 'other_agent', 'agent', 'member', 'admin', 'owner'];

// Expected answers, one per actor; presets for the common shapes.
const everyone = (status) => Object.fromEntries(ACTORS.map((a) => [a, status]));
const signedIn = (status, others = {}) => ({ ...everyone(status), anon: 401, ...others });
// Members-only on a public organisation: outsiders 403.
const members = (ok, { member = ok, admin = ok } = {}) =>
  ({ anon: 401, stranger: 403, other_agent: 403, agent: 403, member, admin, owner: ok });
// The two parties of the agreement: the agent and any member (no role is
// too low to act for the organisation); everyone else 404.
const parties = (org, agent = org) =>
  ({ anon: 401, stranger: 404, other_agent: 404, agent, member: org, admin: org, owner: org });
// Callers that have an agent profile get ok, the others noAgent.
const agentsOnly = (ok, noAgent) =>
  ({ anon: 401, stranger: noAgent, other_agent: ok, agent: ok, member: noAgent, admin: noAgent, owner: noAgent });

const w = {};

// An organisation of the owner's own that asked the agent to join.
async function invitedOrg(name) {
  const org = await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: unique(name), purpose_statement: 'Come in', purposes: [w.purpose],
            legal_form: 'informal', governance: 'other' },
  });
  assert.equal(org.status, 201, org.text);
  const asked = await api('POST', `/api/v1/organisations/${org.body.slug}/members`,
    { token: w.owner.token, body: { email: w.agent.email, role: 'member' } });
  assert.equal(asked.status, 202, asked.text);
  return org.body.slug;
}

function terms(extra = {}) {
  return {
    organisation: w.org, agent: w.agentHandle, role: 'Pump engineer', purposes: [w.purpose],
    packaging: 'volunteer', hours_per_week: 4, terms: 'Two days a month.',
    rewards: { cash: null, non_cash: ['learning'] }, starts_on: day(1), ...extra,
  };
}

function ok(res, status = [200, 201, 204]) {
  assert.ok([].concat(status).includes(res.status), `${res.status} ${res.text}`);
  return res.body;
}

async function newEngagement(by = w.owner) {
  return ok(await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: by.token,
    body: { title: unique('Pump repair'), description: 'Fix the village pumps.', purposes: [w.purpose],
            packagings: ['volunteer'], hours_per_week: 4, skills: ['pumps'], remote_ok: true,
            rewards: { non_cash: ['learning'] } },
  }), 201);
}

// A fresh agreement for a fresh engagement: proposed by the organisation
// (owner) or by the agent; active when accepted by the other side.
async function newAgreement({ by = 'organisation', active = false } = {}) {
  const eng = await newEngagement();
  const proposer = by === 'organisation' ? w.owner : w.agent;
  const a = await ok(await api('POST', '/api/v1/agreements', { token: proposer.token, body: terms({ engagement: eng.id }) }), 201);
  if (active) {
    const other = by === 'organisation' ? w.agent : w.owner;
    await ok(await api('POST', `/api/v1/agreements/${a.id}/accept`, { token: other.token }));
  }
  return { agreement: a.id, engagement: eng.id };
}

// A fresh agreement concluded on both sides with commitments kept, and the
// agent's credential for it (unpublished).
async function concludedAgreement() {
  const c = await newAgreement({ active: true });
  for (const who of [w.agent, w.owner])
    await ok(await api('POST', `/api/v1/agreements/${c.agreement}/conclude`, { token: who.token, body: { commitments_kept: true } }));
  return c;
}
async function newCredential() {
  const c = await concludedAgreement();
  const vc = await ok(await api('POST', `/api/v1/agreements/${c.agreement}/credential`, { token: w.agent.token }), 201);
  return { ...c, credential: vc.id.split('/').pop() };
}

const etag = (table, id) => `"${sql(`SELECT version FROM ${table} WHERE id = ${Number(id)}`)[0][0]}"`;

before(async () => {
  for (const a of ACTORS.filter((x) => x !== 'anon')) w[a] = await newUser(`Matrix ${a}`);
  w.anon = null;
  const purpose = await ok(await api('POST', '/api/v1/purposes', {
    token: w.owner.token, body: { name: unique('Matrix water'), description: 'for the matrix' },
  }), 201);
  w.purpose = purpose.slug;
  const org = await ok(await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: unique('Matrix Org'), purpose_statement: 'Water for all', purposes: [w.purpose],
            legal_form: 'cooperative', governance: 'sociocracy' },
  }), 201);
  w.org = org.slug;
  w.orgId = sql(`SELECT id FROM organisations WHERE slug = '${w.org}'`)[0][0];
  for (const role of ['admin', 'member']) {
    await addMember(w.owner, w.org, w[role], role);
  }
  for (const [who, discoverable] of [['agent', true], ['other_agent', false]]) {
    const handle = unique(who.replace('_', '-'));
    await ok(await api('PUT', '/api/v1/me/agent', {
      token: w[who].token,
      body: { handle, headline: 'Engineer', skills: ['pumps'], capacity_hours_per_week: 20,
              packagings: ['volunteer'], remote_ok: true, discoverable, show_follows: true },
    }));
    await ok(await api('PUT', '/api/v1/me/agent/purposes', { token: w[who].token, body: [{ purpose: w.purpose, energy: 50 }] }));
    w[`${who === 'agent' ? 'agent' : 'hidden'}Handle`] = handle;
  }
  await ok(await api('PUT', `/api/v1/organisations/${w.org}/follow`, { token: w.agent.token }), 204);
  const eng = await newEngagement();
  w.engagement = eng.id;
  const a = await ok(await api('POST', '/api/v1/agreements', { token: w.owner.token, body: terms({ engagement: eng.id }) }), 201);
  w.agreement = a.id;
  // the agent has a notification about it (proposed by the organisation)
  w.notification = sql(`SELECT id FROM notifications WHERE account_id = ${Number(w.agent.id)}
    AND agreement_id = ${Number(w.agreement)}`)[0][0];
});

// ---------- the table ----------
// {name, method, path (with {keys} from the context), body, headers,
//  setup (once per row, adds keys), perActor (before each attempt, adds keys),
//  expect {actor: status}, probe (SQL text that no refused attempt may
//  change), check(res, ctx, actor) for the successful answers}

const ROUTES = [
  // accounts: always the caller's own
  { name: 'GET /me', method: 'GET', path: '/api/v1/me', expect: signedIn(200),
    check: (res, c, actor) => assert.equal(res.body.account.id, w[actor].id) },
  { name: 'GET /me/account', method: 'GET', path: '/api/v1/me/account', expect: signedIn(200),
    check: (res, c, actor) => assert.equal(res.body.email, w[actor].email) },
  { name: 'PATCH /me/account', method: 'PATCH', path: '/api/v1/me/account',
    body: { display_name: 'Renamed by the matrix' },
    headers: (c, actor) => (actor === 'anon' ? { 'If-Match': '"1"' } : { 'If-Match': etag('accounts', w[actor].id) }),
    expect: signedIn(200),
    check: (res, c, actor) => assert.equal(res.body.id, w[actor].id) },
  { name: 'DELETE /me/account without the password', method: 'DELETE', path: '/api/v1/me/account', body: {},
    expect: signedIn(422), probe: () => sql('SELECT count(*) FROM accounts WHERE deleted_at IS NOT NULL') },

  // organisations
  { name: 'GET organisation (public)', method: 'GET', path: '/api/v1/organisations/{org}', expect: everyone(200) },
  { name: 'GET charter (public)', method: 'GET', path: '/api/v1/organisations/{org}/charter', expect: everyone(200) },
  { name: 'GET charter history proof', method: 'GET', path: '/api/v1/organisations/{org}/charter/proof', expect: members(200) },
  { name: 'PATCH organisation', method: 'PATCH', path: '/api/v1/organisations/{org}',
    body: () => ({ association_norms: unique('Consent before change'), change_note: 'matrix' }),
    headers: () => ({ 'If-Match': etag('organisations', w.orgId) }),
    expect: members(200, { member: 403 }),
    probe: () => sql(`SELECT version, charter_version FROM organisations WHERE id = ${w.orgId}`) },
  { name: 'PATCH an organisation that does not exist', method: 'PATCH', path: '/api/v1/organisations/no-such-org-matrix',
    body: { location: 'Nowhere' }, headers: { 'If-Match': '"1"' }, expect: signedIn(404) },
  { name: 'GET members', method: 'GET', path: '/api/v1/organisations/{org}/members', expect: members(200) },
  { name: 'POST members', method: 'POST', path: '/api/v1/organisations/{org}/members',
    setup: async () => ({ recruit: await newUser('Recruit') }),
    perActor: async (c, actor) => (['owner'].includes(actor) ? { recruit: await newUser('Recruit') } : {}),
    body: (c) => ({ email: c.recruit.email, role: 'member' }),
    expect: members(202, { member: 403, admin: 403 }),
    probe: () => sql(`SELECT count(*) FROM membership_invitations WHERE organisation_id = ${w.orgId}`) },
  { name: 'DELETE another member', method: 'DELETE', path: '/api/v1/organisations/{org}/members/{victimId}',
    setup: async () => {
      const victim = await newUser('Victim');
      await addMember(w.owner, w.org, victim, 'member');
      return { victimId: victim.id };
    },
    expect: members(204, { member: 403, admin: 403 }),
    probe: () => sql(`SELECT count(*) FROM memberships WHERE organisation_id = ${w.orgId}`) },
  { name: 'DELETE own membership (leave)', method: 'DELETE', path: '/api/v1/organisations/{org}/members/{selfId}',
    // an organisation of its own, so leaving does not change the others' fixtures
    setup: async () => {
      const org = await ok(await api('POST', '/api/v1/organisations', {
        token: w.owner.token,
        body: { name: unique('Leavers'), purpose_statement: 'Come and go', purposes: [w.purpose],
                legal_form: 'informal', governance: 'other' },
      }), 201);
      for (const role of ['admin', 'member']) {
        await addMember(w.owner, org.slug, w[role], role);
      }
      return { org: org.slug };
    },
    perActor: (c, actor) => ({ selfId: actor === 'anon' ? w.member.id : w[actor].id }),
    // outsiders are not members (403); the only owner cannot leave (409)
    expect: members(409, { member: 204, admin: 204 }),
    probe: (c) => sql(`SELECT count(*) FROM memberships m JOIN organisations o ON o.id = m.organisation_id WHERE o.slug = '${c.org}'`) },
  { name: 'accept an invitation', method: 'POST', path: '/api/v1/me/invitations/{org}/accept',
    setup: async () => ({ org: await invitedOrg('Accepters') }),
    // only the person asked can accept; for anyone else there is nothing there
    expect: signedIn(404, { agent: 201 }),
    probe: (c) => sql(`SELECT count(*) FROM memberships m JOIN organisations o ON o.id = m.organisation_id WHERE o.slug = '${c.org}'`) },
  { name: 'decline an invitation', method: 'DELETE', path: '/api/v1/me/invitations/{org}',
    setup: async () => ({ org: await invitedOrg('Decliners') }),
    expect: signedIn(404, { agent: 204 }),
    probe: (c) => sql(`SELECT count(*) FROM membership_invitations i JOIN organisations o ON o.id = i.organisation_id WHERE o.slug = '${c.org}'`) },
  { name: 'GET invitations', method: 'GET', path: '/api/v1/organisations/{org}/invitations',
    // the addresses owners typed: owners only
    expect: members(200, { member: 403, admin: 403 }) },
  { name: 'DELETE an invitation', method: 'DELETE', path: '/api/v1/organisations/{org}/invitations/{invitationId}',
    setup: async () => {
      const email = `${unique('invitee')}@example.org`;
      ok(await api('POST', `/api/v1/organisations/${w.org}/members`, { token: w.owner.token, body: { email, role: 'member' } }), 202);
      return { invitationId: sql(`SELECT id FROM membership_invitations WHERE email = '${email}'`)[0][0] };
    },
    expect: members(204, { member: 403, admin: 403 }),
    probe: () => sql(`SELECT count(*) FROM membership_invitations WHERE organisation_id = ${w.orgId}`) },
  { name: 'GET own notification preferences', method: 'GET', path: '/api/v1/me/notification-preferences', expect: signedIn(200),
    check: (res) => assert.equal(res.body.preferences.length, 18) },
  { name: 'PUT own notification preferences', method: 'PUT', path: '/api/v1/me/notification-preferences',
    body: { moderation: 'immediately' }, expect: signedIn(200) },
  { name: 'GET followers', method: 'GET', path: '/api/v1/organisations/{org}/followers', expect: members(200),
    check: (res) => assert.ok(res.body.items.some((f) => f.handle === w.agentHandle)) },
  { name: 'GET organisation agreements', method: 'GET', path: '/api/v1/organisations/{org}/agreements', expect: members(200),
    check: (res) => assert.ok(res.body.items.some((a) => a.id === w.agreement)) },
  { name: 'GET organisation hours', method: 'GET', path: '/api/v1/organisations/{org}/hours', expect: members(200),
    check: (res) => assert.ok(Array.isArray(res.body.agreements)) },
  { name: 'PUT follow', method: 'PUT', path: '/api/v1/organisations/{org}/follow', expect: agentsOnly(204, 409),
    probe: () => sql(`SELECT count(*) FROM follows WHERE organisation_id = ${w.orgId}`) },
  { name: 'DELETE follow', method: 'DELETE', path: '/api/v1/organisations/{org}/follow',
    // the party agent follows again afterwards (after)
    expect: agentsOnly(204, 409),
    after: async () => { await ok(await api('PUT', `/api/v1/organisations/${w.org}/follow`, { token: w.agent.token }), 204); } },

  // engagements
  { name: 'GET engagement (public)', method: 'GET', path: '/api/v1/engagements/{engagement}', expect: everyone(200) },
  { name: 'POST engagement', method: 'POST', path: '/api/v1/organisations/{org}/engagements',
    body: () => ({ title: unique('Matrix work'), description: 'Work', purposes: [w.purpose], packagings: ['volunteer'],
                   hours_per_week: 2, skills: [], remote_ok: true, rewards: { non_cash: [] } }),
    expect: members(201),
    probe: () => sql(`SELECT count(*) FROM engagements WHERE organisation_id = ${w.orgId}`) },
  { name: 'PATCH engagement', method: 'PATCH', path: '/api/v1/engagements/{engagement}',
    body: () => ({ description: unique('Fix the pumps') }),
    headers: () => ({ 'If-Match': etag('engagements', w.engagement) }),
    expect: members(200),
    probe: () => sql(`SELECT version, description FROM engagements WHERE id = ${w.engagement}`) },
  { name: 'PATCH engagement status', method: 'PATCH', path: '/api/v1/engagements/{engagement}',
    setup: async () => ({ engagement: (await newEngagement()).id }),
    body: { status: 'paused' },
    headers: (c) => ({ 'If-Match': etag('engagements', c.engagement) }),
    expect: members(200),
    probe: (c) => sql(`SELECT version, status FROM engagements WHERE id = ${c.engagement}`) },
  // issue 6: members of the engagement's organisation only, 404 for anyone else
  { name: 'GET engagement matches', method: 'GET', path: '/api/v1/engagements/{engagement}/matches',
    expect: { ...members(200), stranger: 404, other_agent: 404, agent: 404 } },

  // agents
  { name: 'GET /me/agent', method: 'GET', path: '/api/v1/me/agent', expect: agentsOnly(200, 404) },
  { name: 'PUT /me/agent with the agent\'s handle', method: 'PUT', path: '/api/v1/me/agent',
    body: () => ({ handle: w.agentHandle, headline: 'Taken over?', skills: ['pumps'], capacity_hours_per_week: 20,
                   packagings: ['volunteer'], remote_ok: true, discoverable: true }),
    // only the agent itself may use its handle; the others get 409 and nothing changes
    expect: signedIn(409, { agent: 200 }),
    probe: () => sql(`SELECT account_id, headline FROM agents WHERE handle = '${w.agentHandle}'`),
    check: (res) => assert.equal(res.body.handle, w.agentHandle) },
  { name: 'PUT /me/agent/purposes', method: 'PUT', path: '/api/v1/me/agent/purposes',
    body: () => [{ purpose: w.purpose, energy: 50 }], expect: agentsOnly(200, 409),
    probe: () => sql('SELECT count(*) FROM agent_purposes') },
  { name: 'GET /me/follows', method: 'GET', path: '/api/v1/me/follows', expect: signedIn(200),
    check: (res, c, actor) => assert.equal(res.body.items.some((f) => f.slug === w.org), actor === 'agent') },
  { name: 'GET a discoverable agent (public)', method: 'GET', path: '/api/v1/agents/{agentHandle}', expect: everyone(200),
    check: (res) => assert.ok(!res.text.includes(w.agent.email), 'emails are never public') },
  { name: 'GET a hidden agent', method: 'GET', path: '/api/v1/agents/{hiddenHandle}', expect: { ...everyone(404), other_agent: 200 } },
  { name: 'GET /me/matches', method: 'GET', path: '/api/v1/me/matches', expect: agentsOnly(200, 404) },

  // agreements
  { name: 'POST agreement (organisation to agent)', method: 'POST', path: '/api/v1/agreements',
    // each proposal is for a fresh engagement (one open agreement per engagement)
    perActor: async () => ({ engagementForProposal: (await newEngagement()).id }),
    body: (c) => terms({ engagement: c.engagementForProposal }),
    expect: { anon: 401, stranger: 403, other_agent: 403, agent: 201, member: 201, admin: 201, owner: 201 },
    probe: () => sql(`SELECT count(*) FROM agreements WHERE organisation_id = ${w.orgId}`) },
  { name: 'POST agreement to a hidden agent', method: 'POST', path: '/api/v1/agreements',
    perActor: async (c, actor) => (actor === 'other_agent' ? { engagementForProposal: (await newEngagement()).id } : {}),
    body: (c) => terms({ agent: w.hiddenHandle, engagement: c.engagementForProposal ?? w.engagement }),
    // the organisation cannot tell a hidden agent from none; the agent may propose itself
    expect: { anon: 401, stranger: 403, agent: 403, member: 422, admin: 422, owner: 422, other_agent: 201 },
    probe: () => sql(`SELECT count(*) FROM agreements WHERE organisation_id = ${w.orgId}`),
    checkRefused: (res, c, actor) => { if (res.status === 422) assert.deepEqual(problemFields(res), ['agent'], actor); } },
  { name: 'GET agreement', method: 'GET', path: '/api/v1/agreements/{agreement}', expect: parties(200),
    check: (res, c, actor) => assert.equal(res.body.my_side, actor === 'agent' ? 'agent' : 'organisation') },
  { name: 'GET an agreement that does not exist', method: 'GET', path: '/api/v1/agreements/999999999', expect: signedIn(404) },
  { name: 'GET agreement versions', method: 'GET', path: '/api/v1/agreements/{agreement}/versions', expect: parties(200) },
  { name: 'GET agreement history proof', method: 'GET', path: '/api/v1/agreements/{agreement}/proof', expect: parties(200) },
  { name: 'PATCH agreement (amend)', method: 'PATCH', path: '/api/v1/agreements/{agreement}',
    setup: () => newAgreement(),
    body: () => ({ terms: unique('Three days a month'), change_note: 'matrix' }),
    headers: (c) => ({ 'If-Match': etag('agreements', c.agreement) }),
    expect: parties(200),
    probe: (c) => sql(`SELECT version, terms_version FROM agreements WHERE id = ${c.agreement}`) },
  { name: 'POST accept (proposed by the organisation)', method: 'POST', path: '/api/v1/agreements/{agreement}/accept',
    setup: () => newAgreement(), perActor: (c, actor) => (actor === 'agent' ? newAgreement() : {}),
    expect: parties(409, 200),
    probe: (c) => sql(`SELECT status, version FROM agreements WHERE id = ${c.agreement}`) },
  { name: 'POST accept (proposed by the agent)', method: 'POST', path: '/api/v1/agreements/{agreement}/accept',
    setup: () => newAgreement({ by: 'agent' }), perActor: async (c, actor) => (['member', 'admin', 'owner'].includes(actor) ? newAgreement({ by: 'agent' }) : {}),
    expect: parties(200, 409),
    probe: (c) => sql(`SELECT status, version FROM agreements WHERE id = ${c.agreement}`) },
  { name: 'POST decline', method: 'POST', path: '/api/v1/agreements/{agreement}/decline',
    setup: () => newAgreement(), perActor: (c, actor) => (actor === 'agent' ? newAgreement() : {}),
    expect: parties(409, 200),
    probe: (c) => sql(`SELECT status, version FROM agreements WHERE id = ${c.agreement}`) },
  { name: 'POST withdraw', method: 'POST', path: '/api/v1/agreements/{agreement}/withdraw',
    setup: () => newAgreement(), perActor: (c, actor) => (['member', 'admin', 'owner'].includes(actor) ? newAgreement() : {}),
    expect: parties(200, 409),
    probe: (c) => sql(`SELECT status, version FROM agreements WHERE id = ${c.agreement}`) },
  { name: 'POST conclude', method: 'POST', path: '/api/v1/agreements/{agreement}/conclude',
    setup: () => newAgreement({ active: true }),
    perActor: (c, actor) => (['agent', 'member', 'admin', 'owner'].includes(actor) ? newAgreement({ active: true }) : {}),
    body: { commitments_kept: true, note: 'Done.' },
    expect: parties(200),
    probe: (c) => sql(`SELECT status, version, (SELECT count(*) FROM agreement_closures WHERE agreement_id = ${c.agreement})
      FROM agreements WHERE id = ${c.agreement}`) },
  { name: 'POST renew', method: 'POST', path: '/api/v1/agreements/{agreement}/renew',
    setup: () => newAgreement({ active: true }),
    perActor: (c, actor) => (['agent', 'member', 'admin', 'owner'].includes(actor) ? newAgreement({ active: true }) : {}),
    body: { review_on: day(365), change_note: 'Another year' }, expect: parties(200),
    probe: (c) => sql(`SELECT version, terms_version FROM agreements WHERE id = ${c.agreement}`) },
  // questions before a proposal: the agent's own thread; the members of the organisation
  { name: 'GET engagement questions (members)', method: 'GET', path: '/api/v1/engagements/{engagement}/questions',
    expect: { anon: 401, stranger: 404, other_agent: 404, agent: 404, member: 200, admin: 200, owner: 200 } },
  { name: 'POST a question about an engagement', method: 'POST', path: '/api/v1/engagements/{engagement}/questions/{agentHandle}',
    body: { body: 'Is it on weekends?' },
    // the organisation answers only a thread the agent started (here: none yet)
    expect: { anon: 401, stranger: 404, other_agent: 404, agent: 201, member: 404, admin: 404, owner: 404 },
    setup: async () => ({ engagement: (await newEngagement()).id }),
    probe: (c) => sql(`SELECT count(*) FROM engagement_messages WHERE engagement_id = ${c.engagement}`) },
  { name: 'GET an agent\'s thread about an engagement', method: 'GET', path: '/api/v1/engagements/{engagement}/questions/{agentHandle}',
    setup: async () => {
      const e = await newEngagement();
      await ok(await api('POST', `/api/v1/engagements/${e.id}/questions/${w.agentHandle}`, { token: w.agent.token, body: { body: 'Hello?' } }), 201);
      return { engagement: e.id };
    },
    expect: parties(200) },
  // an agreement's conversation and hours: the parties only
  { name: 'GET agreement messages', method: 'GET', path: '/api/v1/agreements/{agreement}/messages', expect: parties(200) },
  { name: 'POST agreement message', method: 'POST', path: '/api/v1/agreements/{agreement}/messages',
    body: { body: 'Hello from the matrix' }, expect: parties(201),
    probe: (c) => sql(`SELECT count(*) FROM agreement_messages WHERE agreement_id = ${c.agreement}`) },
  { name: 'POST agreement messages read', method: 'POST', path: '/api/v1/agreements/{agreement}/messages/read',
    body: {}, expect: parties(200),
    probe: (c) => sql(`SELECT count(*) FROM agreement_message_reads WHERE agreement_id = ${c.agreement}`) },
  { name: 'GET agreement hours', method: 'GET', path: '/api/v1/agreements/{agreement}/hours', expect: parties(200) },
  { name: 'GET agreement hours as CSV', method: 'GET', path: '/api/v1/agreements/{agreement}/hours.csv', expect: parties(200) },
  { name: 'POST agreement hours', method: 'POST', path: '/api/v1/agreements/{agreement}/hours',
    setup: () => newAgreement({ active: true }), body: { worked_on: day(0), hours: 1.5 }, expect: parties(201),
    probe: (c) => sql(`SELECT count(*) FROM agreement_hours WHERE agreement_id = ${c.agreement}`) },
  { name: 'POST confirm hours (logged by the agent)', method: 'POST', path: '/api/v1/agreements/{agreement}/hours/{entry}/confirm',
    setup: () => newAgreement({ active: true }),
    perActor: async (c) => ({ entry: (await ok(await api('POST', `/api/v1/agreements/${c.agreement}/hours`,
      { token: w.agent.token, body: { worked_on: day(0), hours: 2 } }), 201)).id }),
    expect: parties(200, 409),
    probe: (c) => sql(`SELECT count(*) FROM agreement_hours_decisions WHERE entry_id = ${c.entry}`) },
  { name: 'POST dispute hours (logged by the organisation)', method: 'POST', path: '/api/v1/agreements/{agreement}/hours/{entry}/dispute',
    setup: () => newAgreement({ active: true }),
    perActor: async (c) => ({ entry: (await ok(await api('POST', `/api/v1/agreements/${c.agreement}/hours`,
      { token: w.owner.token, body: { worked_on: day(0), hours: 2 } }), 201)).id }),
    body: { note: 'Not on that day' }, expect: parties(409, 200),
    probe: (c) => sql(`SELECT count(*) FROM agreement_hours_decisions WHERE entry_id = ${c.entry}`) },
  { name: 'GET /me/agreements', method: 'GET', path: '/api/v1/me/agreements?limit=100', expect: signedIn(200),
    check: (res, c, actor) => {
      assert.equal(res.body.next_cursor, null, 'one page holds them all');
      assert.equal(res.body.items.some((a) => a.id === w.agreement),
        ['agent', 'member', 'admin', 'owner'].includes(actor), 'only the parties list the agreement');
    } },
  { name: 'GET /me/portfolio', method: 'GET', path: '/api/v1/me/portfolio', expect: agentsOnly(200, 404),
    check: (res, c, actor) => assert.equal(res.body.agreements.some((a) => a.id === w.agreement), actor === 'agent') },
  { name: 'GET /me/notifications', method: 'GET', path: '/api/v1/me/notifications?limit=100', expect: signedIn(200),
    check: (res, c, actor) => {
      assert.equal(res.body.next_cursor, null, 'one page holds them all');
      assert.equal(res.body.items.some((n) => String(n.id) === w.notification), actor === 'agent', 'only the agent sees its notification');
    } },
  { name: 'POST /me/notifications/read (the agent\'s notification)', method: 'POST', path: '/api/v1/me/notifications/read',
    body: () => ({ ids: [Number(w.notification)] }), expect: signedIn(200),
    // others "mark" it without effect; only the agent's own call marks it
    check: (res, c, actor) => {
      assert.equal(res.body.marked, actor === 'agent' ? 1 : 0, actor);
      assert.equal(sql(`SELECT read_at IS NOT NULL FROM notifications WHERE id = ${w.notification}`)[0][0],
        ACTORS.indexOf(actor) >= ACTORS.indexOf('agent') ? 't' : 'f');
    } },
  // saved searches: each person's own (tests/api/places.test.mjs deletes one's own)
  { name: 'GET /me/saved-searches', method: 'GET', path: '/api/v1/me/saved-searches', expect: signedIn(200),
    check: (res, c, actor) => assert.ok(res.body.items.every((x) => x.name === `matrix ${actor}`), actor) },
  { name: 'POST /me/saved-searches', method: 'POST', path: '/api/v1/me/saved-searches',
    body: (c, actor) => ({ name: `matrix ${actor}`, q: 'matrix' }), expect: signedIn(201) },
  { name: 'DELETE /me/saved-searches/{id} of no one', method: 'DELETE', path: '/api/v1/me/saved-searches/999999999',
    expect: signedIn(404), probe: () => sql('SELECT count(*) FROM saved_searches') },
  // remote follows (docs/federation.md): each person's own; the federation suite follows for real
  { name: 'GET /me/remote-follows', method: 'GET', path: '/api/v1/me/remote-follows', expect: signedIn(200),
    check: (res, c, actor) => assert.deepEqual(res.body.items, [], actor) },
  { name: 'POST /me/remote-follows without a handle', method: 'POST', path: '/api/v1/me/remote-follows',
    body: () => ({}), expect: signedIn(422), probe: () => sql('SELECT count(*) FROM remote_follow_people') },
  { name: 'DELETE /me/remote-follows/{id} of no one', method: 'DELETE', path: '/api/v1/me/remote-follows/999999999',
    expect: signedIn(404), probe: () => sql('SELECT count(*) FROM remote_follow_people') },
  { name: 'GET /me/export', method: 'GET', path: '/api/v1/me/export', expect: signedIn(200),
    // everyone exports only their own account
    check: (res, c, actor) => assert.equal(res.body.account.id, w[actor].id, actor) },
  // running the instance (docs/moderation.md): anyone signed in reports; the
  // queue, the actions, the log and roles are instance roles' (none of these
  // callers holds one: 403; tests/api/moderation.test.mjs has moderators and
  // administrators allowed)
  { name: 'POST /reports', method: 'POST', path: '/api/v1/reports',
    // a fresh purpose each time: a person reports one thing once (409 after)
    setup: async () => ({ reported: ok(await api('POST', '/api/v1/purposes', { token: w.owner.token,
      body: { name: unique('Matrix reported'), description: 'reported' } }), 201).slug }),
    body: (c) => ({ kind: 'purpose', target: c.reported, reason: 'other', note: 'matrix' }), expect: signedIn(201) },
  { name: 'GET /moderation/cases', method: 'GET', path: '/api/v1/moderation/cases', expect: signedIn(403) },
  { name: 'GET /moderation/cases/{id}', method: 'GET', path: '/api/v1/moderation/cases/999999999', expect: signedIn(403) },
  { name: 'POST /moderation/actions', method: 'POST', path: '/api/v1/moderation/actions',
    body: () => ({ action: 'hide', kind: 'organisation', target: w.org, reason: 'matrix' }), expect: signedIn(403),
    probe: () => sql(`SELECT hidden_at IS NULL, (SELECT count(*) FROM moderation_actions) FROM organisations WHERE slug = '${w.org}'`) },
  { name: 'POST /moderation/curation', method: 'POST', path: '/api/v1/moderation/curation',
    body: () => ({ action: 'retire', kind: 'purpose', target: w.purpose, reason: 'matrix' }), expect: signedIn(403),
    probe: () => sql(`SELECT retired_at IS NULL, (SELECT count(*) FROM moderation_actions) FROM purposes WHERE slug = '${w.purpose}'`) },
  { name: 'GET /moderation/log', method: 'GET', path: '/api/v1/moderation/log', expect: signedIn(403) },
  { name: 'GET /moderation/appeals', method: 'GET', path: '/api/v1/moderation/appeals', expect: signedIn(403) },
  { name: 'GET /moderation/roles', method: 'GET', path: '/api/v1/moderation/roles', expect: signedIn(403) },
  { name: 'PUT /moderation/roles/{account_id}', method: 'PUT', path: '/api/v1/moderation/roles/999999999',
    body: { role: 'moderator' }, expect: signedIn(403), probe: () => sql('SELECT count(*) FROM instance_roles') },
  { name: 'DELETE /moderation/roles/{account_id}', method: 'DELETE', path: '/api/v1/moderation/roles/999999999',
    expect: signedIn(403), probe: () => sql('SELECT count(*) FROM instance_roles') },
  { name: 'GET /moderation/accounts', method: 'GET', path: '/api/v1/moderation/accounts?q=a', expect: signedIn(403) },
  { name: 'GET /moderation/stats', method: 'GET', path: '/api/v1/moderation/stats', expect: signedIn(403) },
  // blocking remote instances (tests/api/instance-blocks.test.mjs has
  // moderators reading and administrators blocking)
  { name: 'GET /moderation/instance-blocks', method: 'GET', path: '/api/v1/moderation/instance-blocks', expect: signedIn(403) },
  { name: 'POST /moderation/instance-blocks', method: 'POST', path: '/api/v1/moderation/instance-blocks',
    body: { host: 'matrix.example', reason: 'matrix' }, expect: signedIn(403),
    probe: () => sql('SELECT (SELECT count(*) FROM instance_blocks), (SELECT count(*) FROM moderation_actions)') },
  { name: 'DELETE /moderation/instance-blocks/{id}', method: 'DELETE', path: '/api/v1/moderation/instance-blocks/999999999',
    expect: signedIn(403), probe: () => sql('SELECT (SELECT count(*) FROM instance_blocks), (SELECT count(*) FROM moderation_actions)') },
  { name: 'PATCH /instance', method: 'PATCH', path: '/api/v1/instance', body: { name: 'Taken over' },
    headers: () => ({ 'If-Match': `"${sql('SELECT version FROM instance_settings')[0][0]}"` }),
    expect: signedIn(403), probe: () => sql('SELECT version, name FROM instance_settings') },
  // website verification (tests/api/verification.test.mjs): the owners
  // prove control of the website; administrators verify by hand
  { name: 'GET verification', method: 'GET', path: '/api/v1/organisations/{org}/verification',
    expect: members(200, { member: 403, admin: 403 }) },
  { name: 'POST verification (a token)', method: 'POST', path: '/api/v1/organisations/{org}/verification',
    // none yet (the CSRF test asks again): the owner's first token is a 201
    setup: () => { sql(`DELETE FROM organisation_verifications WHERE organisation_id = ${w.orgId}`); return {}; },
    expect: members(201, { member: 403, admin: 403 }),
    probe: () => sql(`SELECT count(*) FROM organisation_verifications WHERE organisation_id = ${w.orgId}`),
    check: (res) => assert.match(res.body.token, /^purposed-/) },
  // the matrix organisation has no website: the owner is told so (409)
  { name: 'POST verification/check', method: 'POST', path: '/api/v1/organisations/{org}/verification/check',
    expect: members(409, { member: 403, admin: 403 }),
    probe: () => sql(`SELECT verified_at, (SELECT checked_at FROM organisation_verifications WHERE organisation_id = ${w.orgId})
      FROM organisations WHERE id = ${w.orgId}`) },
  { name: 'POST /moderation/verifications', method: 'POST', path: '/api/v1/moderation/verifications',
    body: () => ({ organisation: w.org, verified: true, reason: 'matrix' }), expect: signedIn(403),
    probe: () => sql(`SELECT verified_at, (SELECT count(*) FROM moderation_actions) FROM organisations WHERE id = ${w.orgId}`) },
  // registration (docs/operations.md): administrators decide on pending accounts
  // and invite for the instance (none of these callers is one: 403); an
  // organisation's owners invite for it; each lists and revokes their own
  // (tests/api/registration.test.mjs has administrators allowed)
  { name: 'GET /registrations', method: 'GET', path: '/api/v1/registrations', expect: signedIn(403) },
  { name: 'POST /registrations/{account_id}/approve', method: 'POST', path: '/api/v1/registrations/999999999/approve',
    expect: signedIn(403), probe: () => sql('SELECT status, count(*) FROM account_registrations GROUP BY 1 ORDER BY 1') },
  { name: 'POST /registrations/{account_id}/refuse', method: 'POST', path: '/api/v1/registrations/999999999/refuse',
    body: { note: 'matrix' }, expect: signedIn(403), probe: () => sql('SELECT status, count(*) FROM account_registrations GROUP BY 1 ORDER BY 1') },
  { name: 'POST /registration-invitations for the instance', method: 'POST', path: '/api/v1/registration-invitations',
    body: {}, expect: signedIn(403), probe: () => sql('SELECT count(*) FROM registration_invitations') },
  { name: 'POST /registration-invitations for the organisation', method: 'POST', path: '/api/v1/registration-invitations',
    body: () => ({ organisation: w.org }), expect: members(201, { member: 403, admin: 403 }),
    probe: () => sql('SELECT count(*) FROM registration_invitations'),
    check: (res) => assert.equal(res.body.organisation.slug, w.org) },
  { name: 'GET /registration-invitations', method: 'GET', path: '/api/v1/registration-invitations', expect: signedIn(200),
    check: (res, c, actor) => {
      const ids = res.body.items.map((x) => x.id);
      const own = ids.length ? sql(`SELECT count(*) FROM registration_invitations WHERE id IN (${ids.join(',')}) AND created_by = ${Number(w[actor].id)}`)[0][0] : '0';
      assert.equal(own, String(ids.length), `${actor} lists only their own`);
    } },
  { name: 'DELETE /registration-invitations/{id}', method: 'DELETE', path: '/api/v1/registration-invitations/{invitation}',
    setup: async () => ({ invitation: ok(await api('POST', '/api/v1/registration-invitations', { token: w.owner.token, body: { organisation: w.org } }), 201).id }),
    expect: { anon: 401, stranger: 404, other_agent: 404, agent: 404, member: 404, admin: 404, owner: 204 },
    probe: () => sql('SELECT count(*) FROM registration_invitations WHERE revoked_at IS NOT NULL') },
  { name: 'GET /me/moderation', method: 'GET', path: '/api/v1/me/moderation', expect: signedIn(200),
    check: (res) => assert.deepEqual(res.body.items, [], 'no action concerns them') },
  { name: 'POST /me/moderation/{id}/appeal', method: 'POST', path: '/api/v1/me/moderation/999999999/appeal',
    body: { note: 'matrix' }, expect: signedIn(404) },
  // credentials: the agent asks; the organisation revokes; the agent publishes
  { name: 'POST credential', method: 'POST', path: '/api/v1/agreements/{agreement}/credential',
    setup: () => concludedAgreement(), expect: parties(403, 201),
    probe: (c) => sql(`SELECT count(*) FROM credentials WHERE agreement_id = ${c.agreement}`) },
  { name: 'GET an unpublished credential', method: 'GET', path: '/api/v1/credentials/{credential}',
    setup: () => newCredential(), expect: { ...everyone(404), agent: 200 } },
  { name: 'GET /me/credentials', method: 'GET', path: '/api/v1/me/credentials', expect: signedIn(200),
    setup: () => newCredential(),
    check: (res, c, actor) => assert.equal(res.body.items.some((x) => x.id === c.credential), actor === 'agent') },
  { name: 'PUT credential publication', method: 'PUT', path: '/api/v1/me/credentials/{credential}/publication',
    setup: () => newCredential(), body: { published: true }, expect: signedIn(404, { agent: 200 }),
    probe: (c) => sql(`SELECT published FROM credentials WHERE uuid = '${c.credential}'`) },
  { name: 'GET an agent\'s published credentials', method: 'GET', path: '/api/v1/agents/{agentHandle}/credentials',
    expect: everyone(200) },
  { name: 'GET a hidden agent\'s credentials', method: 'GET', path: '/api/v1/agents/{hiddenHandle}/credentials',
    expect: { ...everyone(404), other_agent: 200 } },
  { name: 'GET organisation credentials', method: 'GET', path: '/api/v1/organisations/{org}/credentials', expect: members(200) },
  { name: 'POST revoke credential', method: 'POST', path: '/api/v1/organisations/{org}/credentials/{credential}/revoke',
    setup: () => newCredential(),
    perActor: (c, actor) => (['member', 'admin', 'owner'].includes(actor) ? newCredential() : {}),
    body: { reason: 'matrix' }, expect: members(200),
    probe: (c) => sql(`SELECT count(*) FROM credential_revocations r JOIN credentials c ON c.id = r.credential_id
      WHERE c.uuid = '${c.credential}'`) },
  { name: 'POST /me/notifications/feed', method: 'POST', path: '/api/v1/me/notifications/feed', expect: signedIn(201),
    check: (res) => assert.match(res.body.url, /^\/feeds\/me\/[A-Za-z0-9_-]+\.atom$/) },
  { name: 'DELETE /me/notifications/feed', method: 'DELETE', path: '/api/v1/me/notifications/feed', expect: signedIn(204) },
];

// ---------- the runner ----------

const resolve = async (v, ...args) => (typeof v === 'function' ? v(...args) : v);

function fill(template, ctx) {
  return template.replace(/\{(\w+)\}/g, (_, k) => {
    assert.ok(ctx[k] !== undefined, `no ${k} for ${template}`);
    return encodeURIComponent(String(ctx[k]));
  });
}

async function attempt(route, ctx, actor, auth = 'bearer') {
  const user = w[actor];
  const headers = { ...(await resolve(route.headers, ctx, actor)) };
  if (user && auth === 'cookie') headers.Cookie = user.cookie;
  const body = await resolve(route.body, ctx, actor);
  return api(route.method, fill(route.path, ctx), {
    token: user && auth === 'bearer' ? user.token : undefined, headers, body,
  });
}

const ok2xx = (s) => s >= 200 && s < 300;

for (const route of ROUTES) {
  test(`authz: ${route.name}`, async (t) => {
    const ctx = { ...w, ...(await resolve(route.setup, w)) };
    // refused attempts first: each must leave the probe as it was
    const order = [...ACTORS].sort((a, b) => ok2xx(route.expect[a]) - ok2xx(route.expect[b]));
    for (const actor of order) {
      const expected = route.expect[actor];
      assert.ok(expected, `no expectation for ${actor}`);
      await t.test(`${actor} -> ${expected}`, async () => {
        const c = { ...ctx, ...(await resolve(route.perActor, ctx, actor)) };
        const before = route.probe ? JSON.stringify(route.probe(c)) : null;
        const res = await attempt(route, c, actor);
        assert.equal(res.status, expected, `${route.method} ${route.path} as ${actor}: ${res.text}`);
        if (ok2xx(expected)) {
          if (route.check) await route.check(res, c, actor);
        } else {
          assert.equal(res.headers.get('content-type'), 'application/problem+json');
          assert.equal(res.body.status, expected);
          if (route.checkRefused) route.checkRefused(res, c, actor);
          if (before !== null) assert.equal(JSON.stringify(route.probe(c)), before, `a refused ${route.method} changed something`);
        }
      });
    }
    if (route.after) await route.after(ctx);
  });
}

// Every write, signed in by cookie without X-CSRF-Token, as a caller that
// gets past authentication (allowed, if anyone is): 403 and nothing written.
// The same request with the token then gets the answer of the table.
for (const route of ROUTES.filter((r) => r.method !== 'GET')) {
  test(`csrf: ${route.name} by cookie without X-CSRF-Token is 403`, async () => {
    const actor = ACTORS.find((a) => ok2xx(route.expect[a])) ?? ACTORS.find((a) => a !== 'anon' && route.expect[a] !== 401);
    const ctx = { ...w, ...(await resolve(route.setup, w)) };
    const c = { ...ctx, ...(await resolve(route.perActor, ctx, actor)) };
    const before = route.probe ? JSON.stringify(route.probe(c)) : null;
    const res = await attempt(route, c, actor, 'cookie');
    assert.equal(res.status, 403, res.text);
    assert.equal(res.body.type.split('/').pop(), 'csrf');
    if (before !== null) assert.equal(JSON.stringify(route.probe(c)), before);
    const withToken = await attempt({ ...route, headers: async (...a) => ({ ...(await resolve(route.headers, ...a)), 'X-CSRF-Token': w[actor].csrf }) },
      c, actor, 'cookie');
    assert.equal(withToken.status, route.expect[actor], `with X-CSRF-Token as ${actor}: ${withToken.text}`);
    if (route.after) await route.after(ctx);
  });
}

test('the table covers every route of server/routes.c that acts on something owned', async () => {
  // the route table itself, as the daemon under test has it (`purposed routes`),
  // not a reading of the source: however a route is declared, it is here
  const { execFileSync } = await import('node:child_process');
  assert.ok(process.env.PURPOSED_BIN, 'PURPOSED_BIN: the daemon under test (scripts/test and scripts/dev-env set it)');
  const routes = execFileSync(process.env.PURPOSED_BIN, ['routes'], { encoding: 'utf8' }).split('\n').filter(Boolean);
  assert.ok(routes.length > 50 && routes.every((r) => /^[A-Z]+ \/\S*$/.test(r)), routes.slice(0, 5).join('; '));
  // public, or not tied to an owner: covered by their own tests
  const unowned = new Set(['GET /healthz', 'GET /readyz', 'GET /metrics', 'GET /api/v1/openapi.json',
    'POST /api/v1/accounts', 'POST /api/v1/sessions', 'DELETE /api/v1/sessions/current',
    'GET /api/v1/purposes', 'POST /api/v1/purposes', 'GET /api/v1/purposes/{slug}', 'GET /api/v1/skills',
    'GET /api/v1/places', 'GET /api/v1/places/{id}',
    'GET /api/v1/organisations', 'POST /api/v1/organisations', 'GET /api/v1/agents',
    'GET /api/v1/engagements', 'GET /feeds/engagements.atom', 'GET /feeds/engagements.json',
    // a secret URL: whoever holds the token reads it (tests/api/notifications.test.mjs,
    // tests/api/track-records.test.mjs)
    'GET /feeds/me/{token}', 'GET /feeds/calendar/{token}',
    // the instance's keys and its status lists: public documents (tests/api/credentials.test.mjs)
    'GET /.well-known/did.json', 'GET /api/v1/credentials/status/{list}',
    // anyone verifies any credential; it reads nothing owned and changes nothing
    'POST /api/v1/credentials/verify',
    // what the instance says about itself: public (tests/api/moderation-instance.test.mjs)
    'GET /api/v1/instance',
    // the web interface's pages: public HTML, the same for everyone; hidden agents are
    // 404 pages (tests/api/pages.test.mjs)
    'GET /', 'GET /engagements', 'GET /engagements/{id}', 'GET /organisations', 'GET /organisations/new',
    'GET /organisations/{slug}', 'GET /organisations/{slug}/{tab}', 'GET /purposes', 'GET /purposes/{slug}',
    'GET /agents/{handle}', 'GET /agreements/new', 'GET /agreements/{id}', 'GET /credentials/{id}', 'GET /me', 'GET /me/{section}',
    'GET /signin', 'GET /signup', 'GET /settings', 'GET /admin', 'GET /admin/{section}', 'GET /admin/reports/{id}', 'GET /sitemap.xml', 'GET /sitemaps/{part}', 'GET /robots.txt',
    // a mailed token is the proof, or the caller's own address (tests/api/email.test.mjs)
    'POST /api/v1/email-verifications', 'POST /api/v1/me/email-verification',
    'POST /api/v1/password-resets', 'POST /api/v1/password-resets/complete', 'POST /api/v1/unsubscribe',
    // an invitation's mailed token is the proof (tests/api/invitations.test.mjs)
    'POST /api/v1/invitations/preview', 'POST /api/v1/invitations/accept',
    // the pages the mailed links open: the app renders them alone
    'GET /verify-email', 'GET /forgot-password', 'GET /reset-password', 'GET /invitations/accept', 'GET /unsubscribe',
    // the API reference page: public HTML that reads the public OpenAPI document
    'GET /api-reference',
    // federation (docs/federation.md): public discovery and ActivityStreams documents, what
    // remote organisations sent, and inboxes whose caller is another instance by its
    // HTTP signature (tests/federation/two-instances.test.mjs)
    'GET /.well-known/webfinger', 'GET /.well-known/nodeinfo', 'GET /nodeinfo/2.1', 'GET /actor',
    'GET /actor/outbox', 'GET /actor/followers', 'POST /actor/inbox', 'POST /inbox',
    'GET /ap/organisations/{slug}', 'POST /ap/organisations/{slug}/inbox', 'GET /ap/organisations/{slug}/outbox',
    'GET /ap/organisations/{slug}/followers', 'GET /ap/organisations/{slug}/charter',
    'GET /ap/agents/{handle}', 'POST /ap/agents/{handle}/inbox',
    'GET /ap/agents/{handle}/outbox', 'GET /ap/agents/{handle}/followers', 'GET /api/v1/remote-engagements']);
  const norm = (p) => p.replace(/\{[^}]+\}/g, '{}').replace(/\?.*$/, '');
  const covered = new Set(ROUTES.map((r) => `${r.method} ${norm(r.path.replace(/\/(no-such-org-matrix|999999999)(\/|$)/, '/{x}$2'))}`));
  const missing = routes.filter((r) => !unowned.has(r) && !covered.has(norm(r)));
  assert.deepEqual(missing, [], 'routes missing from the authorisation matrix');
});
