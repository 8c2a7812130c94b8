// ops: health, readiness, metrics, OpenAPI, and the error shapes of the router.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api } from './helpers.mjs';

test('GET /healthz answers 200 with security headers', async () => {
  const res = await api('GET', '/healthz');
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'ok');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.match(res.headers.get('content-security-policy'), /default-src 'self'/);
  assert.ok(res.headers.get('x-request-id'));
});

test('GET /readyz says the database is migrated', async () => {
  const res = await api('GET', '/readyz');
  assert.equal(res.status, 200);
  assert.equal(res.body.status, 'ready');
});

test('GET /metrics is Prometheus text with request counters', async () => {
  await api('GET', '/healthz');
  const res = await api('GET', '/metrics');
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/plain/);
  assert.match(res.text, /http_requests_total\{route="\/healthz",method="GET",status="200"\} \d+/);
  assert.match(res.text, /http_request_duration_seconds_bucket/);
  assert.match(res.text, /db_connections_open \d+/);
});

test('GET /api/v1/openapi.json is the OpenAPI 3.1 document', async () => {
  const res = await api('GET', '/api/v1/openapi.json');
  assert.equal(res.status, 200);
  assert.equal(res.body.openapi, '3.1.0');
});

test('unknown API route is a 404 problem', async () => {
  const res = await api('GET', '/api/v1/no-such-thing');
  assert.equal(res.status, 404);
  assert.equal(res.headers.get('content-type'), 'application/problem+json');
  assert.equal(res.body.status, 404);
});

test('wrong method is 405 with Allow', async () => {
  const res = await api('DELETE', '/healthz');
  assert.equal(res.status, 405);
  assert.equal(res.headers.get('allow'), 'GET, HEAD');
  assert.equal(res.body.status, 405);
});
