// openapi: the document is the whole truth. helpers.mjs holds every answer
// of the suite against it (openapi-check.mjs); here, the checker itself is
// shown to catch what it must (an undeclared status, a body or header off
// its schema, a refusal the document would let through), and the rules the
// daemon enforces are shown to be in the document: what it refuses, a
// client generated from the document never sends.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { api, newUser, unique } from './helpers.mjs';
import { checkExchange, checkResponse, doc, findOperation, schemaErrorsAt } from './openapi-check.mjs';

const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');

const H = (o) => new Headers(o);
const problem = (status, slug, extra = {}) => JSON.stringify({
  type: `https://purposed.dev/problems/${slug}`, title: doc.components.schemas.Problem['x-problem-types']
    .find((p) => p.type.endsWith(`/${slug}`)).title, status, ...extra,
});

test('the checker finds an undeclared status, a body off its schema, an undeclared or wrong header', () => {
  const ok = { method: 'GET', path: '/healthz', status: 200, headers: H({ 'content-type': 'application/json' }), text: '{"status":"ok"}' };
  assert.deepEqual(checkResponse(ok), []);
  assert.match(checkResponse({ ...ok, status: 201 }).join(), /status 201 is not declared/);
  assert.match(checkResponse({ ...ok, text: '{"status":"fine"}' }).join(), /does not match the schema/);
  assert.match(checkResponse({ ...ok, headers: H({ 'content-type': 'text/html' }) }).join(), /content type text\/html is not declared/);
  assert.match(checkResponse({ ...ok, headers: H({ 'content-type': 'application/json', location: '/x' }) }).join(), /header location is sent but not declared/);
  const busy = { method: 'GET', path: '/api/v1/purposes', status: 503, headers: H({ 'content-type': 'application/problem+json' }), text: problem(503, 'busy') };
  assert.match(checkResponse(busy).join(), /required header Retry-After is missing/);
  assert.deepEqual(checkResponse({ ...busy, headers: H({ 'content-type': 'application/problem+json', 'retry-after': '1' }) }), []);
  assert.match(checkResponse({ ...busy, headers: H({ 'content-type': 'application/problem+json', 'retry-after': 'soon' }) }).join(), /Retry-After/);
  const typo = { ...busy, headers: H({ 'content-type': 'application/problem+json', 'retry-after': '1' }), text: problem(503, 'busy', { type: 'https://purposed.dev/problems/bussy' }) };
  assert.match(checkResponse(typo).join(), /does not match the schema/);
  // an API path the document does not have answers a problem, 404
  assert.match(checkResponse({ method: 'GET', path: '/api/v1/nothing', status: 200, headers: H({ 'content-type': 'application/json' }), text: '{}' }).join(), /no operation/);
});

test('the checker finds a refusal the document would let through, and lets pass what it refuses too', () => {
  const req = (body, extra = {}) => ({ method: 'POST', path: '/api/v1/purposes', query: new URLSearchParams(), rawQuery: '',
    headers: H({ 'content-type': 'application/json' }), body: JSON.stringify(body), ...extra });
  const refused = { status: 422, headers: H({ 'content-type': 'application/problem+json' }), text: problem(422, 'validation', { errors: [{ field: 'name', message: 'x' }] }) };
  assert.match(checkExchange(req({ name: 'Clean water' }), refused).join(), /the document accepts it/);
  assert.deepEqual(checkExchange(req({ name: '' }), refused), []);
  assert.deepEqual(checkExchange(req({ name: '!!!' }), refused), [], 'a name without a letter or digit');
  assert.deepEqual(checkExchange(req({ name: 'a', extra: 1 }), refused), []);
  assert.deepEqual(checkExchange(req(undefined, { body: '{"name":"a","name":"b"}' }), { ...refused, status: 400, text: problem(400, 'malformed') }), []);
  const list = (q) => ({ method: 'GET', path: '/api/v1/engagements', query: new URLSearchParams(q), rawQuery: q, headers: H({}) });
  const badQuery = { status: 400, headers: H({ 'content-type': 'application/problem+json' }), text: problem(400, 'bad-query') };
  assert.deepEqual(checkExchange(list('purpose=Not%20a%20slug'), badQuery), []);
  assert.deepEqual(checkExchange(list('cursor='), badQuery), []);
  assert.deepEqual(checkExchange(list('utm=1'), badQuery), []);
  assert.deepEqual(checkExchange(list('q=%FF'), badQuery), []);
  assert.match(checkExchange(list('purpose=clean-water&remote=true'), badQuery).join(), /the document accepts it/);
  assert.match(checkExchange(list('purpose='), badQuery).join(), /the document accepts it/, 'an empty filter is no filter');
});

test('the most literal path template wins', () => {
  assert.equal(findOperation('GET', '/api/v1/me/agent').tpl, '/api/v1/me/agent');
  assert.equal(findOperation('GET', '/api/v1/agents/ada').tpl, '/api/v1/agents/{handle}');
});

test('the document is current, from the route table and the error catalogue, and lints without a warning', () => {
  execFileSync('node', [new URL('../../scripts/openapi.mjs', import.meta.url).pathname, '--check']);
  const lint = spawnSync('npx', ['--no-install', 'redocly', 'lint', '--format=summary', 'static/openapi.json'],
    { cwd: new URL('../..', import.meta.url).pathname, encoding: 'utf8' });
  const out = lint.stdout + lint.stderr;
  assert.equal(lint.status, 0, out);
  assert.doesNotMatch(out, /^(warning|error) [a-z0-9-]+:/m, out);
  assert.match(out, /Your API description is valid/, out);
});

test('every operation has an example body and an example answer, and each fits its schema', () => {
  const misfits = [];
  const missing = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (!op.responses) continue;
      const at = `/paths/${esc(path)}/${method}`;
      for (const [type, media] of Object.entries(op.requestBody?.content ?? {})) {
        if (media.example === undefined) missing.push(`${method} ${path} body`);
        else if (schemaErrorsAt(`${at}/requestBody/content/${esc(type)}/schema`, media.example)) misfits.push(`${method} ${path} body: ${schemaErrorsAt(`${at}/requestBody/content/${esc(type)}/schema`, media.example)}`);
      }
      const success = Object.entries(op.responses).filter(([status]) => /^2/.test(status));
      assert.ok(success.length, `${method} ${path}: no success answer`);
      for (const [status, response] of success) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          if (!/json/.test(type)) {
            if (typeof media.example !== 'string') missing.push(`${method} ${path} ${status} ${type}`);
            continue;
          }
          if (media.example === undefined && media.examples === undefined) { missing.push(`${method} ${path} ${status}`); continue; }
          for (const ex of media.example !== undefined ? [media.example] : Object.values(media.examples).map((e) => e.value)) {
            const err = schemaErrorsAt(`${at}/responses/${status}/content/${esc(type)}/schema`, ex);
            if (err) misfits.push(`${method} ${path} ${status}: ${err}`);
          }
        }
      }
    }
  }
  assert.deepEqual(missing, [], 'operations without an example');
  assert.deepEqual(misfits, [], 'examples that do not fit their schema');
});

test('links follow the obvious flows: what is created is read, a proposal accepted', () => {
  const ids = new Set(Object.values(doc.paths).flatMap((item) => Object.values(item)).map((op) => op.operationId));
  const links = Object.values(doc.paths).flatMap((item) => Object.values(item))
    .flatMap((op) => Object.values(op.responses ?? {}).flatMap((r) => Object.entries(r.links ?? {}).map(([name, l]) => ({ from: op.operationId, name, ...l }))));
  for (const l of links) assert.ok(ids.has(l.operationId), `${l.from} links ${l.name} to ${l.operationId}, which is no operation`);
  const has = (from, to) => links.some((l) => l.from === from && l.operationId === to);
  for (const [from, to] of [['createPurpose', 'getPurpose'], ['createOrganisation', 'getOrganisation'], ['createEngagement', 'getEngagement'],
    ['proposeAgreement', 'getAgreement'], ['proposeAgreement', 'acceptAgreement'], ['acceptAgreement', 'concludeAgreement'], ['createSession', 'getMe']]) {
    assert.ok(has(from, to), `no link from ${from} to ${to}`);
  }
});

test('what the daemon refuses, the document refuses: the rules of issue 23', async () => {
  const u = await newUser();
  const cases = [
    ['GET', '/api/v1/purposes?cursor='],
    ['GET', '/api/v1/organisations?purpose=Not%20A%20Slug'],
    ['GET', '/api/v1/engagements?organisation=UPPER'],
    ['POST', '/api/v1/sessions', { email: '', password: 'x' }],
    ['POST', '/api/v1/me/notifications/read', {}],
    ['POST', '/api/v1/me/notifications/read', { all: true, ids: [1] }],
    ['POST', '/api/v1/purposes', { name: '!!!' }],
    ['POST', '/api/v1/organisations', { name: '!!!', purpose_statement: 'x', purposes: [], legal_form: 'other', governance: 'other' }],
    ['POST', '/api/v1/organisations', { name: unique('Org'), purpose_statement: 'x', purposes: [], legal_form: 'other', governance: 'other', website: 'ftp://example.org' }],
    ['POST', '/api/v1/agreements', { organisation: '', agent: '', role: 'r', purposes: [''], packaging: 'volunteer', hours_per_week: 1, terms: 't', rewards: { non_cash: [] }, starts_on: '2030-01-01' }],
  ];
  for (const [method, path, body] of cases) {
    // helpers' fetch fails the request when the daemon refuses and the document would not
    const res = await api(method, path, { token: u.token, body });
    assert.ok([400, 422].includes(res.status), `${method} ${path} ${JSON.stringify(body)}: ${res.status} ${res.text}`);
  }
  for (const key of ['', 'a b', 'cl\u00e9', 'x'.repeat(201)]) {
    const res = await api('POST', '/api/v1/purposes', { token: u.token, body: { name: unique('Key') }, headers: { 'Idempotency-Key': key } });
    assert.equal(res.status, 400, `Idempotency-Key ${JSON.stringify(key)}: ${res.status}`);
  }
});

test('U+0000 in a string is a 422 naming each field that holds it; in a member name, a 400', async () => {
  const u = await newUser();
  const send = (path, raw, method = 'POST') => api(method, path, { token: u.token, raw, headers: { 'Content-Type': 'application/json' } });
  const purpose = await send('/api/v1/purposes', `{"name":"Clean\\u0000water","description":"a\\u0000"}`);
  assert.equal(purpose.status, 422, purpose.text);
  assert.equal(purpose.body.type, 'https://purposed.dev/problems/validation');
  assert.deepEqual(purpose.body.errors.map((e) => e.field).sort(), ['description', 'name']);
  assert.match(purpose.body.errors[0].message, /U\+0000/);
  const nested = await send('/api/v1/me/agent/purposes', `[{"purpose":"x\\u0000","energy":1}]`, 'PUT');
  assert.equal(nested.status, 422, nested.text);
  assert.deepEqual(nested.body.errors.map((e) => e.field), ['[0].purpose']);
  const key = await send('/api/v1/purposes', `{"na\\u0000me":"Clean water"}`);
  assert.equal(key.status, 400, key.text);
  // the same text without it is taken
  const fine = await send('/api/v1/purposes', JSON.stringify({ name: unique('Clean water') }));
  assert.equal(fine.status, 201, fine.text);
});
