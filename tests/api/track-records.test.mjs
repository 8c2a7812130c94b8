// track-records: what a relationship leaves for others to read and for the
// parties to plan with. The agent's public profile (when it shows its track
// record) lists each concluded agreement — organisation, role, purposes,
// period, confirmed hours, each side's closure, the notes only when both
// sides agreed to publish them; the organisation's shows the commitments
// agents say it kept and the notes both sides published; the personal
// calendar (the personal feed's secret) has the start, review and end dates.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, sql, unique } from './helpers.mjs';

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);
const w = {};

async function agreement({ review_on = null, active = true, role = 'Bank warden, north; south' } = {}) {
  const e = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token,
    body: { title: unique('Work'), description: 'Work', purposes: [w.purpose], packagings: ['volunteer'], hours_per_week: 4,
            skills: [], remote_ok: true, rewards: { non_cash: [] } },
  });
  const res = await api('POST', '/api/v1/agreements', {
    token: w.owner.token,
    body: { organisation: w.org, agent: w.handle, engagement: e.body.id, role, purposes: [w.purpose],
            packaging: 'volunteer', hours_per_week: 4, terms: 'Walks.', rewards: { cash: null, non_cash: [] },
            starts_on: day(-20), review_on },
  });
  assert.equal(res.status, 201, res.text);
  if (active) assert.equal((await api('POST', `/api/v1/agreements/${res.body.id}/accept`, { token: w.agent.token })).status, 200);
  return res.body.id;
}

before(async () => {
  w.owner = await newUser('Olga Owner');
  w.agent = await newUser('Ada Agent');
  w.reader = await newUser('Rita Reader');
  let res = await api('POST', '/api/v1/purposes', { token: w.owner.token, body: { name: unique('Rivers'), description: 'for tests' } });
  w.purpose = res.body.slug;
  res = await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: unique('River Keepers'), purpose_statement: 'Clean rivers', purposes: [w.purpose], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  w.org = res.body.slug;
  w.handle = unique('ada');
  res = await api('PUT', '/api/v1/me/agent', {
    token: w.agent.token,
    body: { handle: w.handle, headline: 'Warden', personal_purpose: 'Rivers', skills: [], capacity_hours_per_week: 40,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
});

test('a concluded agreement is on both public track records, notes kept private', async () => {
  const id = await agreement();
  let res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-2), hours: 3 } });
  await api('POST', `/api/v1/agreements/${id}/hours/${res.body.id}/confirm`, { token: w.owner.token });
  res = await api('POST', `/api/v1/agreements/${id}/hours`, { token: w.agent.token, body: { worked_on: day(-1), hours: 5 } });
  await api('POST', `/api/v1/agreements/${id}/hours/${res.body.id}/dispute`, { token: w.owner.token, body: { note: 'no' } });

  res = await api('GET', `/api/v1/agents/${w.handle}`, { token: w.reader.token });
  assert.deepEqual(res.body.concluded_agreements, []);
  res = await api('GET', `/api/v1/organisations/${w.org}`);
  assert.deepEqual(res.body.track_record, { concluded: 0, commitments_kept: 0 });

  res = await api('POST', `/api/v1/agreements/${id}/conclude`, { token: w.agent.token, body: { commitments_kept: true, note: 'A private thank-you' } });
  assert.equal(res.status, 200, res.text);
  res = await api('POST', `/api/v1/agreements/${id}/conclude`, { token: w.owner.token, body: { commitments_kept: false, note: 'Missed two walks' } });
  assert.equal(res.status, 200, res.text);

  res = await api('GET', `/api/v1/agents/${w.handle}`, { token: w.reader.token });
  assert.equal(res.status, 200);
  assert.deepEqual(res.body.track_record, { concluded: 1, commitments_kept: 0 });
  assert.equal(res.body.concluded_agreements.length, 1);
  const [c] = res.body.concluded_agreements;
  const orgName = sql(`SELECT name FROM organisations WHERE slug = '${w.org}'`)[0][0];
  assert.deepEqual(c, {
    organisation: { slug: w.org, name: orgName }, role: 'Bank warden, north; south',
    purposes: [{ slug: w.purpose, name: c.purposes[0].name }], started_on: day(-20), concluded_on: day(0),
    hours_confirmed: 3, closures: [{ side: 'agent', commitments_kept: true }, { side: 'organisation', commitments_kept: false }],
  });
  assert.ok(!JSON.stringify(res.body).includes('private thank-you'), 'closure notes stay between the parties');
  // anonymous readers see the same; the agent itself too
  assert.deepEqual((await api('GET', `/api/v1/agents/${w.handle}`)).body.concluded_agreements, res.body.concluded_agreements);
  assert.deepEqual((await api('GET', '/api/v1/me/agent', { token: w.agent.token })).body.concluded_agreements, res.body.concluded_agreements);

  // the organisation: the agent said it kept its commitments
  res = await api('GET', `/api/v1/organisations/${w.org}`);
  assert.deepEqual(res.body.track_record, { concluded: 1, commitments_kept: 1 });

  // an agent that hides its track record hides the list too
  res = await api('PUT', '/api/v1/me/agent', {
    token: w.agent.token,
    body: { handle: w.handle, headline: 'Warden', personal_purpose: 'Rivers', skills: [], capacity_hours_per_week: 40,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: false },
  });
  assert.equal(res.status, 200, res.text);
  res = await api('GET', `/api/v1/agents/${w.handle}`, { token: w.reader.token });
  assert.ok(!('track_record' in res.body) && !('concluded_agreements' in res.body));
  await api('PUT', '/api/v1/me/agent', {
    token: w.agent.token,
    body: { handle: w.handle, headline: 'Warden', personal_purpose: 'Rivers', skills: [], capacity_hours_per_week: 40,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
});

test('closing notes are published only when both sides agreed to, on both track records', async () => {
  const conclude = (who, id, body) => api('POST', `/api/v1/agreements/${id}/conclude`, { token: who.token, body });
  const publicNotes = async (id) => {
    const agent = (await api('GET', `/api/v1/agents/${w.handle}`)).body.concluded_agreements;
    const org = (await api('GET', `/api/v1/organisations/${w.org}`)).body.published_closures;
    const role = sql(`SELECT v.role FROM agreements a JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = a.active_version WHERE a.id = ${id}`)[0][0];
    return { agent: agent.filter((c) => c.role === role), org };
  };
  // one side agrees, the other does not: no note anywhere public
  const one = await agreement({ role: 'Warden one' });
  let res = await conclude(w.agent, one, { commitments_kept: true, note: 'Agent says: lovely rivers', publish_note: true });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.closures.map((c) => [c.side, c.publish_note]), [['agent', true]]);
  res = await conclude(w.owner, one, { commitments_kept: true, note: 'Org says: thank you' });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.closures.map((c) => [c.side, c.publish_note]), [['agent', true], ['organisation', false]]);
  let seen = await publicNotes(one);
  assert.deepEqual(seen.agent[0].closures, [{ side: 'agent', commitments_kept: true }, { side: 'organisation', commitments_kept: true }]);
  assert.deepEqual(seen.org, []);
  assert.ok(!JSON.stringify(await api('GET', `/api/v1/agents/${w.handle}`)).includes('lovely rivers'));

  // both agree: both notes on the agent's record and the organisation's
  const both = await agreement({ role: 'Warden both' });
  res = await conclude(w.owner, both, { commitments_kept: true, note: 'Org says: always on time', publish_note: true });
  assert.equal(res.status, 200, res.text);
  seen = await publicNotes(both);
  assert.deepEqual(seen.org, [], 'one side alone publishes nothing');
  res = await conclude(w.agent, both, { commitments_kept: false, note: 'Agent says: the boat leaked', publish_note: true });
  assert.equal(res.status, 200, res.text);
  const closures = [{ side: 'agent', commitments_kept: false, note: 'Agent says: the boat leaked' },
                    { side: 'organisation', commitments_kept: true, note: 'Org says: always on time' }];
  seen = await publicNotes(both);
  assert.deepEqual(seen.agent[0].closures, closures);
  assert.equal(seen.org.length, 1);
  assert.deepEqual(seen.org[0], { role: 'Warden both', concluded_on: day(0), agent: { handle: w.handle, display_name: 'Ada Agent' }, closures });

  // publish_note is a boolean; the consent once recorded cannot be changed
  const bad = await agreement();
  res = await conclude(w.agent, bad, { commitments_kept: true, publish_note: 'yes' });
  assert.equal(res.status, 422, res.text);
  assert.deepEqual(res.body.errors.map((e) => e.field), ['publish_note']);
  assert.throws(() => sql(`UPDATE agreement_closures SET publish_note = true WHERE agreement_id = ${one}`));
});

test('the energy ledger: declared energy per purpose against confirmed hours, per week and per agreement, the agent\'s own only', async () => {
  const agent = await newUser('Lea Ledger');
  const handle = unique('lea');
  let res = await api('PUT', '/api/v1/me/agent', {
    token: agent.token,
    body: { handle, headline: 'Warden', personal_purpose: 'Rivers', skills: [], capacity_hours_per_week: 40,
            packagings: ['volunteer'], remote_ok: true, discoverable: true, show_track_record: true },
  });
  assert.equal(res.status, 200, res.text);
  res = await api('POST', '/api/v1/purposes', { token: w.reader.token, body: { name: unique('Forests'), description: 'for tests' } });
  const forests = res.body.slug;
  res = await api('POST', '/api/v1/organisations', {
    token: w.reader.token,
    body: { name: unique('Forest Friends'), purpose_statement: 'Trees', purposes: [forests], legal_form: 'cooperative', governance: 'sociocracy' },
  });
  const org2 = res.body.slug;
  res = await api('PUT', '/api/v1/me/agent/purposes', { token: agent.token, body: [{ purpose: w.purpose, energy: 60 }, { purpose: forests, energy: 40 }] });
  assert.equal(res.status, 200, res.text);

  // one agreement with each organisation, in force; hours logged by the agent, answered by the organisation
  const agree = async (owner, org, purpose) => {
    const r = await api('POST', '/api/v1/agreements', {
      token: agent.token,
      body: { organisation: org, agent: handle, role: `Work for ${org}`, purposes: [purpose], packaging: 'volunteer', hours_per_week: 4,
              terms: 'Walks.', rewards: { cash: null, non_cash: [] }, starts_on: day(-30) },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal((await api('POST', `/api/v1/agreements/${r.body.id}/accept`, { token: owner.token })).status, 200);
    return r.body.id;
  };
  const log = async (id, owner, worked_on, hours, answer) => {
    const r = await api('POST', `/api/v1/agreements/${id}/hours`, { token: agent.token, body: { worked_on, hours } });
    assert.equal(r.status, 201, r.text);
    if (answer) assert.equal((await api('POST', `/api/v1/agreements/${id}/hours/${r.body.id}/${answer}`, { token: owner.token, body: answer === 'dispute' ? { note: 'not that day' } : {} })).status, 200);
  };
  const rivers = await agree(w.owner, w.org, w.purpose);
  const trees = await agree(w.reader, org2, forests);
  await log(rivers, w.owner, day(0), 3, 'confirm');
  await log(rivers, w.owner, day(-14), 1.5, 'confirm');
  await log(rivers, w.owner, day(0), 5, 'dispute');
  await log(rivers, w.owner, day(0), 2, null);
  await log(trees, w.reader, day(0), 1.5, 'confirm');

  res = await api('GET', '/api/v1/me/portfolio', { token: agent.token });
  assert.equal(res.status, 200, res.text);
  const l = res.body.energy_ledger;
  const monday = (d) => { const t = new Date(`${d}T00:00:00Z`); t.setUTCDate(t.getUTCDate() - ((t.getUTCDay() + 6) % 7)); return t.toISOString().slice(0, 10); };
  assert.equal(l.weeks.length, 8);
  assert.equal(l.weeks[7], monday(day(0)));
  const week = (d) => l.weeks.indexOf(monday(d));
  const series = (...pairs) => { const s = Array(8).fill(0); for (const [d, h] of pairs) s[week(d)] += h; return s; };
  assert.equal(l.confirmed_hours, 6, 'only confirmed hours count');
  assert.deepEqual(l.purposes.map((p) => [p.purpose.slug, p.energy, p.confirmed_hours, p.share, p.weeks]), [
    [w.purpose, 60, 4.5, 75, series([day(0), 3], [day(-14), 1.5])],
    [forests, 40, 1.5, 25, series([day(0), 1.5])],
  ]);
  assert.deepEqual(l.agreements.map((a) => [a.id, a.organisation.slug, a.hours_per_week, a.confirmed_hours, a.weeks]), [
    [trees, org2, 4, 1.5, series([day(0), 1.5])],
    [rivers, w.org, 4, 4.5, series([day(0), 3], [day(-14), 1.5])],
  ]);

  // another agent's ledger holds none of these hours
  res = await api('GET', '/api/v1/me/portfolio', { token: w.agent.token });
  assert.equal(res.status, 200, res.text);
  assert.ok(!res.body.energy_ledger.agreements.some((a) => a.id === rivers || a.id === trees));
});

test('an organisation sees the hours given under its own agreements only: confirmed per agreement, purpose and week, awaiting, disputed', async () => {
  const [owner1, owner2, agent, stranger] = await Promise.all([newUser('Oona One'), newUser('Otto Two'), newUser('Hal Hours'), newUser('Sam Stranger')]);
  const handle = unique('hal');
  let res = await api('PUT', '/api/v1/me/agent', {
    token: agent.token,
    body: { handle, headline: 'Helper', personal_purpose: 'Rivers', skills: [], capacity_hours_per_week: 40,
            packagings: ['volunteer'], remote_ok: true, discoverable: false, show_track_record: false },
  });
  assert.equal(res.status, 200, res.text);
  const purposes = [];
  for (const name of ['Wells', 'Schools']) {
    res = await api('POST', '/api/v1/purposes', { token: owner1.token, body: { name: unique(name), description: 'for tests' } });
    purposes.push(res.body.slug);
  }
  const orgOf = async (owner, name) => (await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: unique(name), purpose_statement: 'Water', purposes, legal_form: 'cooperative', governance: 'sociocracy' },
  })).body.slug;
  const org1 = await orgOf(owner1, 'Well Diggers');
  const org2 = await orgOf(owner2, 'School Builders');
  const work = async (owner, org) => (await api('POST', `/api/v1/organisations/${org}/engagements`, {
    token: owner.token,
    body: { title: unique('Work'), description: 'Work', purposes, packagings: ['volunteer'], hours_per_week: 3,
            skills: [], remote_ok: true, rewards: { non_cash: [] } },
  })).body.id;
  const agree = async (owner, org, ps, role) => {
    const r = await api('POST', '/api/v1/agreements', {
      token: agent.token,
      body: { organisation: org, agent: handle, engagement: await work(owner, org), role, purposes: ps, packaging: 'volunteer', hours_per_week: 3,
              terms: 'Digs.', rewards: { cash: null, non_cash: [] }, starts_on: day(-30) },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal((await api('POST', `/api/v1/agreements/${r.body.id}/accept`, { token: owner.token })).status, 200);
    return r.body.id;
  };
  const log = async (id, by, answerer, worked_on, hours, answer) => {
    const r = await api('POST', `/api/v1/agreements/${id}/hours`, { token: by.token, body: { worked_on, hours } });
    assert.equal(r.status, 201, r.text);
    if (answer) assert.equal((await api('POST', `/api/v1/agreements/${id}/hours/${r.body.id}/${answer}`, { token: answerer.token, body: answer === 'dispute' ? { note: 'not that day' } : {} })).status, 200);
  };
  const both = await agree(owner1, org1, purposes, 'Digger');
  const one = await agree(owner1, org1, [purposes[0]], 'Surveyor');
  const elsewhere = await agree(owner2, org2, purposes, 'Builder');
  const proposed = (await api('POST', '/api/v1/agreements', {
    token: agent.token,
    body: { organisation: org1, agent: handle, engagement: await work(owner1, org1), role: 'Not yet', purposes, packaging: 'volunteer', hours_per_week: 3,
            terms: 'Maybe.', rewards: { cash: null, non_cash: [] }, starts_on: day(1) },
  })).body.id;
  await log(both, agent, owner1, day(0), 4, 'confirm');
  await log(both, owner1, agent, day(-14), 2, 'confirm');
  await log(both, agent, owner1, day(0), 5, 'dispute');
  await log(one, agent, owner1, day(-7), 1, null);
  await log(one, agent, owner1, day(-7), 3, 'confirm');
  await log(elsewhere, agent, owner2, day(0), 7, 'confirm');

  res = await api('GET', `/api/v1/organisations/${org1}/hours`, { token: owner1.token });
  assert.equal(res.status, 200, res.text);
  const l = res.body;
  const monday = (d) => { const t = new Date(`${d}T00:00:00Z`); t.setUTCDate(t.getUTCDate() - ((t.getUTCDay() + 6) % 7)); return t.toISOString().slice(0, 10); };
  assert.equal(l.weeks.length, 8);
  assert.equal(l.weeks[7], monday(day(0)));
  const series = (...pairs) => { const s = Array(8).fill(0); for (const [d, hrs] of pairs) s[l.weeks.indexOf(monday(d))] += hrs; return s; };
  assert.deepEqual([l.confirmed_hours, l.awaiting_hours, l.disputed_hours], [9, 1, 5], 'the other organisation\'s 7 hours are not here');
  assert.deepEqual(l.confirmed_weeks, series([day(0), 4], [day(-14), 2], [day(-7), 3]));
  assert.deepEqual(l.agreements.map((a) => [a.standing, a.id, a.role, a.agent.handle, a.hours_per_week, a.confirmed_hours, a.awaiting_hours, a.disputed_hours, a.weeks]), [
    ['active', one, 'Surveyor', handle, 3, 3, 1, 0, series([day(-7), 3])],
    ['active', both, 'Digger', handle, 3, 6, 0, 5, series([day(0), 4], [day(-14), 2])],
  ], 'a proposal never in force has no hours row; the other organisation\'s agreement is not listed');
  assert.ok(!l.agreements.some((a) => a.id === proposed || a.id === elsewhere));
  assert.deepEqual(l.purposes.map((p) => [p.purpose.slug, p.confirmed_hours, p.weeks]), [
    [purposes[0], 6, series([day(0), 2], [day(-14), 1], [day(-7), 3])],
    [purposes[1], 3, series([day(0), 2], [day(-14), 1])],
  ], 'an entry is split evenly over the purposes of its terms');

  // the other organisation sees its own agreement only
  res = await api('GET', `/api/v1/organisations/${org2}/hours`, { token: owner2.token });
  assert.equal(res.status, 200, res.text);
  assert.deepEqual(res.body.agreements.map((a) => [a.id, a.confirmed_hours]), [[elsewhere, 7]]);
  assert.equal(res.body.confirmed_hours, 7);
  // neither the agent (not a member), nor a stranger, nor the other organisation's owner reads them; anonymous is a 401
  for (const who of [agent, stranger, owner2]) {
    res = await api('GET', `/api/v1/organisations/${org1}/hours`, { token: who.token });
    assert.equal(res.status, 403, res.text);
  }
  assert.equal((await api('GET', `/api/v1/organisations/${org1}/hours`)).status, 401);
  assert.equal((await api('GET', `/api/v1/organisations/${unique('nobody')}/hours`, { token: owner1.token })).status, 404);
});

test('the personal calendar: start, review and end dates, behind the personal feed\'s secret', async () => {
  const active = await agreement({ review_on: day(30) });
  const proposed = await agreement({ active: false });
  let res = await api('POST', '/api/v1/me/notifications/feed', { token: w.agent.token });
  assert.equal(res.status, 201, res.text);
  const url = res.body.calendar_url;
  assert.match(url, /^\/feeds\/calendar\/[^/]+\.ics$/);
  assert.equal(url.replace('/feeds/calendar/', '/feeds/me/').replace(/\.ics$/, '.atom'), res.body.url, 'one secret for both');

  res = await api('GET', url);
  assert.equal(res.status, 200, res.text);
  assert.equal(res.headers.get('content-type'), 'text/calendar; charset=utf-8');
  assert.match(res.headers.get('cache-control'), /private/);
  const ics = res.text;
  assert.ok(ics.startsWith('BEGIN:VCALENDAR\r\nVERSION:2.0\r\n'), ics.slice(0, 60));
  assert.ok(ics.endsWith('END:VCALENDAR\r\n'));
  for (const line of ics.split('\r\n')) assert.ok(Buffer.byteLength(line) <= 75, `longer than 75 octets: ${line}`);
  const unfolded = ics.replace(/\r\n /g, '');
  const events = unfolded.split('BEGIN:VEVENT').slice(1);
  const uid = (s) => /UID:([^\r]+)/.exec(s)[1];
  const byUid = Object.fromEntries(events.map((e) => [uid(e).split('@')[0], e]));
  const compact = (d) => d.replaceAll('-', '');
  assert.match(byUid[`agreement-${active}-start`], new RegExp(`DTSTART;VALUE=DATE:${compact(day(-20))}\r\nDTEND;VALUE=DATE:${compact(day(-19))}`));
  assert.match(byUid[`agreement-${active}-start`], /SUMMARY:Starts: Bank warden\\, north\\; south \(Ada Agent and River Keepers-[0-9a-f]+\)\r\n/);
  assert.match(byUid[`agreement-${active}-review`], new RegExp(`DTSTART;VALUE=DATE:${compact(day(30))}`));
  assert.match(byUid[`agreement-${proposed}-start`], /, if agreed\r\n/);
  assert.ok(!byUid[`agreement-${proposed}-review`], 'no review date, no event');
  assert.match(byUid[`agreement-${active}-start`], new RegExp(`URL:http://[^/]+/agreements/${active}\r\n`));
  // the organisation's members have the same dates in theirs
  res = await api('POST', '/api/v1/me/notifications/feed', { token: w.owner.token });
  const mine = (await api('GET', res.body.calendar_url)).text;
  assert.ok(mine.includes(`UID:agreement-${active}-review@`));

  // a wrong or revoked secret is a 404
  assert.equal((await api('GET', '/feeds/calendar/nope.ics')).status, 404);
  assert.equal((await api('GET', url.replace(/\.ics$/, '.atom'))).status, 404, 'the calendar answers only as .ics');
  assert.equal((await api('DELETE', '/api/v1/me/notifications/feed', { token: w.agent.token })).status, 204);
  assert.equal((await api('GET', url)).status, 404);
});
