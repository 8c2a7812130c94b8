// query: every route declares the query parameters it reads (server/routes.c);
// any other, or one given twice, is a 400 naming it, before anything else
// runs (so a URL carries nothing its answer does not depend on, and junk
// cannot multiply cached answers). The parameters the OpenAPI document
// lists for an operation are the ones its route takes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { api, newUser, problemFields } from './helpers.mjs';

const openapi = JSON.parse(readFileSync(new URL('../../static/openapi.json', import.meta.url), 'utf8'));
const SAMPLE = { slug: 'no-such-org', id: '1', handle: 'no-such-agent', account_id: '1', file: 'x.atom' };
const UNKNOWN = 'is not a query parameter of this route';

// [method, path with sample parameters, the query parameters the document lists]
function operations() {
  const ops = [];
  for (const [pattern, item] of Object.entries(openapi.paths)) {
    const path = pattern.replace(/\{(\w+)\}/g, (_, n) => SAMPLE[n] ?? 'x');
    for (const [method, op] of Object.entries(item)) {
      if (method === 'parameters') continue;
      const params = [...(item.parameters ?? []), ...(op.parameters ?? [])]
        .map((p) => (p.$ref ? resolve(p.$ref) : p)).filter((p) => p.in === 'query').map((p) => p.name);
      ops.push([method.toUpperCase(), path, params]);
    }
  }
  return ops;
}
function resolve(ref) {
  return ref.replace(/^#\//, '').split('/').reduce((o, k) => o[k], openapi);
}

test('every route refuses a query parameter it does not take: 400 naming it, signed in or not', async () => {
  const u = await newUser();
  const ops = operations();
  assert.ok(ops.length > 40, `${ops.length} operations`);
  for (const [method, path, params] of ops) {
    for (const token of [undefined, u.token]) {
      const res = await api(method, `${path}?utm_source=mail&${params[0] ?? 'x'}=1`, { token, headers: { 'Content-Type': 'application/json' } });
      assert.equal(res.status, 400, `${method} ${path}: ${res.status} ${res.text}`);
      assert.equal(res.headers.get('content-type'), 'application/problem+json');
      assert.equal(res.body.type.endsWith('/bad-query'), true, res.text);
      assert.deepEqual(res.body.errors.filter((e) => e.message === UNKNOWN).map((e) => e.field),
        ['utm_source', ...(params[0] ? [] : ['x'])], `${method} ${path}`);
    }
  }
});

test('the parameters the OpenAPI document lists are taken; each only once', async () => {
  const u = await newUser();
  for (const [method, path, params] of operations()) {
    if (!params.length) continue;
    const q = params.map((p) => `${p}=`).join('&');
    const res = await api(method, `${path}?${q}`, { token: u.token });
    const refused = (res.body?.errors ?? []).filter((e) => e.message === UNKNOWN).map((e) => e.field);
    assert.deepEqual(refused, [], `${method} ${path}?${q} refused ${refused}`);
    const twice = await api(method, `${path}?${params[0]}=1&${params[0]}=2`, { token: u.token });
    assert.equal(twice.status, 400, `${method} ${path}`);
    assert.deepEqual(problemFields(twice), [params[0]]);
    assert.match(twice.body.errors[0].message, /more than once/);
  }
});

test('a list with only its own parameters is answered as before', async () => {
  const res = await api('GET', '/api/v1/purposes?limit=5&q=water');
  assert.equal(res.status, 200);
  const feed = await api('GET', '/feeds/engagements.json?purpose=&organisation=');
  assert.equal(feed.status, 200);
});
