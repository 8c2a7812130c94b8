// conformance: rules of the contract that hold for every route of their
// kind. A 422 names every offending field at once, references that do not
// exist (purpose slugs) included; every list takes limit (1-100) and cursor,
// the charter history too; If-Match compares strongly, so a weak ETag never
// satisfies it (RFC 9110 section 13.1.1).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, problemFields, sql, unique } from './helpers.mjs';

const w = {};
before(async () => {
  w.owner = await newUser('Conformance Owner');
  w.agent = await newUser('Conformance Agent');
  const p = await api('POST', '/api/v1/purposes', {
    token: w.owner.token, body: { name: unique('Conformance cause'), description: 'rules' },
  });
  assert.equal(p.status, 201, p.text);
  w.purpose = p.body.slug;
  w.org = unique('conformance');
  const o = await api('POST', '/api/v1/organisations', {
    token: w.owner.token,
    body: { name: 'Conformance Org', slug: w.org, purpose_statement: 'Version 1.', purposes: [w.purpose],
      legal_form: 'other', governance: 'other' },
  });
  assert.equal(o.status, 201, o.text);
  w.handle = unique('conformer');
  const g = await api('PUT', '/api/v1/me/agent', {
    token: w.agent.token, body: { handle: w.handle, discoverable: true, packagings: ['volunteer'] },
  });
  assert.equal(g.status, 200, g.text);
  const e = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token, body: engagement(),
  });
  assert.equal(e.status, 201, e.text);
  w.engagement = e.body.id;
  const a = await api('POST', '/api/v1/agreements', {
    token: w.owner.token,
    body: { organisation: w.org, agent: w.handle, role: 'Helper', purposes: [w.purpose], packaging: 'volunteer',
      hours_per_week: 4, terms: 'Help.', rewards: {}, starts_on: '2031-01-01' },
  });
  assert.equal(a.status, 201, a.text);
  w.agreement = a.body.id;
});

function engagement(extra = {}) {
  return { title: 'Pumps', description: 'Fix pumps.', purposes: [w.purpose], packagings: ['volunteer'],
    hours_per_week: 4, skills: [], remote_ok: true, rewards: { non_cash: [] }, ...extra };
}

const ifMatch = (v) => ({ 'If-Match': v });
const missing = () => unique('no-such-purpose');

test('every bad field is named at once, an unknown purpose among them', async () => {
  const ghost = missing();
  const cases = [
    ['POST /organisations', () => api('POST', '/api/v1/organisations', {
      token: w.owner.token,
      body: { name: 'Bad Org', slug: unique('bad'), purpose_statement: 'x', purposes: [w.purpose, ghost],
        legal_form: 'kingdom', governance: 'other' },
    }), ['legal_form', 'purposes']],
    ['PATCH /organisations/{slug}', async () => {
      const v = (await api('GET', `/api/v1/organisations/${w.org}`)).body.version;
      return api('PATCH', `/api/v1/organisations/${w.org}`, {
        token: w.owner.token, headers: ifMatch(`"${v}"`), body: { governance: 'monarchy', purposes: [ghost] },
      });
    }, ['governance', 'purposes']],
    ['POST /organisations/{slug}/engagements', () => api('POST', `/api/v1/organisations/${w.org}/engagements`, {
      token: w.owner.token, body: engagement({ hours_per_week: 500, purposes: [ghost] }),
    }), ['hours_per_week', 'purposes']],
    ['PATCH /engagements/{id}', async () => {
      const v = (await api('GET', `/api/v1/engagements/${w.engagement}`)).body.version;
      return api('PATCH', `/api/v1/engagements/${w.engagement}`, {
        token: w.owner.token, headers: ifMatch(`"${v}"`), body: { status: 'gone', purposes: [ghost] },
      });
    }, ['purposes', 'status']],
    ['PUT /me/agent/purposes', () => api('PUT', '/api/v1/me/agent/purposes', {
      token: w.agent.token, body: [{ purpose: ghost, energy: 10 }, { purpose: w.purpose, energy: 500 }],
    }), ['[0].purpose', '[1].energy']],
    ['POST /agreements', () => api('POST', '/api/v1/agreements', {
      token: w.owner.token,
      body: { organisation: w.org, agent: w.handle, role: 'Helper', purposes: [ghost], packaging: 'boss',
        hours_per_week: 4, terms: 'Help.', rewards: {}, starts_on: '2031-01-01' },
    }), ['packaging', 'purposes']],
    ['PATCH /agreements/{id}', async () => {
      const v = (await api('GET', `/api/v1/agreements/${w.agreement}`, { token: w.owner.token })).body.version;
      return api('PATCH', `/api/v1/agreements/${w.agreement}`, {
        token: w.owner.token, headers: ifMatch(`"${v}"`), body: { hours_per_week: -3, purposes: [ghost] },
      });
    }, ['hours_per_week', 'purposes']],
  ];
  for (const [name, send, fields] of cases) {
    const res = await send();
    assert.equal(res.status, 422, `${name}: ${res.text}`);
    assert.deepEqual(problemFields(res), fields, `${name}: ${res.text}`);
  }
  // nothing was written
  assert.deepEqual(sql(`SELECT count(*) FROM purposes WHERE slug = '${ghost}'`), [['0']]);
  assert.deepEqual(sql(`SELECT governance FROM organisations WHERE slug = '${w.org}'`), [['other']]);
});

test('an unknown purpose alone is still a 422 naming purposes', async () => {
  const res = await api('POST', `/api/v1/organisations/${w.org}/engagements`, {
    token: w.owner.token, body: engagement({ purposes: [missing(), missing()] }),
  });
  assert.equal(res.status, 422, res.text);
  assert.deepEqual(problemFields(res), ['purposes']);
});

test('GET /organisations/{slug}/charter follows the list rules: limit 1-100 and cursor pages', async () => {
  for (const limit of ['0', '101', '-1', 'abc', '1.5']) {
    const res = await api('GET', `/api/v1/organisations/${w.org}/charter?limit=${limit}`);
    assert.equal(res.status, 400, `limit=${limit}: ${res.text}`);
    assert.deepEqual(problemFields(res), ['limit']);
  }
  // five charter versions in all
  for (let i = 2; i <= 5; i++) {
    const v = (await api('GET', `/api/v1/organisations/${w.org}`)).body.version;
    const res = await api('PATCH', `/api/v1/organisations/${w.org}`, {
      token: w.owner.token, headers: ifMatch(`"${v}"`), body: { purpose_statement: `Version ${i}.` },
    });
    assert.equal(res.status, 200, res.text);
  }
  const all = await api('GET', `/api/v1/organisations/${w.org}/charter?limit=100`);
  assert.deepEqual(all.body.items.map((c) => c.version), [5, 4, 3, 2, 1]);
  assert.equal(all.body.next_cursor, null);
  const seen = [];
  let cursor = null;
  let pages = 0;
  do {
    const res = await api('GET', `/api/v1/organisations/${w.org}/charter?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
    assert.equal(res.status, 200, res.text);
    assert.ok(res.body.items.length <= 2);
    seen.push(...res.body.items.map((c) => c.version));
    cursor = res.body.next_cursor;
    pages++;
  } while (cursor && pages < 10);
  assert.equal(pages, 3);
  assert.deepEqual(seen, [5, 4, 3, 2, 1]);
  assert.equal((await api('GET', `/api/v1/organisations/${w.org}/charter?cursor=garbage`)).status, 400);
  // a cursor of another list is refused
  for (let i = 0; i < 2; i++) {
    await api('POST', '/api/v1/purposes', { token: w.owner.token, body: { name: unique('Page cause'), description: 'x' } });
  }
  const purposes = await api('GET', '/api/v1/purposes?limit=1');
  assert.ok(purposes.body.next_cursor);
  const other = await api('GET', `/api/v1/organisations/${w.org}/charter?cursor=${purposes.body.next_cursor}`);
  assert.equal(other.status, 400);
  assert.equal((await api('GET', `/api/v1/organisations/${unique('nobody')}/charter`)).status, 404);
});

test('a weak ETag never satisfies If-Match: 412, nothing changes', async () => {
  const org = (await api('GET', `/api/v1/organisations/${w.org}`)).body;
  let res = await api('PATCH', `/api/v1/organisations/${w.org}`, {
    token: w.owner.token, headers: ifMatch(`W/"${org.version}"`), body: { location: 'Weakville' },
  });
  assert.equal(res.status, 412, res.text);
  const eng = (await api('GET', `/api/v1/engagements/${w.engagement}`)).body;
  res = await api('PATCH', `/api/v1/engagements/${w.engagement}`, {
    token: w.owner.token, headers: ifMatch(`W/"${eng.version}"`), body: { title: 'Weak' },
  });
  assert.equal(res.status, 412, res.text);
  const agent = (await api('GET', '/api/v1/me/agent', { token: w.agent.token })).body;
  res = await api('PUT', '/api/v1/me/agent', {
    token: w.agent.token, headers: ifMatch(`W/"${agent.version}"`), body: { handle: w.handle, headline: 'Weak' },
  });
  assert.equal(res.status, 412, res.text);
  const ag = (await api('GET', `/api/v1/agreements/${w.agreement}`, { token: w.owner.token })).body;
  res = await api('PATCH', `/api/v1/agreements/${w.agreement}`, {
    token: w.owner.token, headers: ifMatch(`W/"${ag.version}"`), body: { hours_per_week: 5 },
  });
  assert.equal(res.status, 412, res.text);
  assert.deepEqual(sql(`SELECT version, coalesce(location, '') FROM organisations WHERE slug = '${w.org}'`),
    [[String(org.version), '']]);
  // the strong form of the same ETag is accepted
  res = await api('PATCH', `/api/v1/organisations/${w.org}`, {
    token: w.owner.token, headers: ifMatch(`"${org.version}"`), body: { location: 'Strongville' },
  });
  assert.equal(res.status, 200, res.text);
});
