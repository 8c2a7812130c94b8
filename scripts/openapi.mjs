#!/usr/bin/env node
// openapi.mjs: merge docs/openapi/*.json (each {paths, components}) into the
// served document static/openapi.json, with the problem types of the error
// catalogue lib/problems.def written into the Problem schema (the `type`
// enum, its description and `x-problem-types`). `--check` fails when the
// document is stale, so the catalogue and the document cannot drift.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dir = join(root, 'docs/openapi');
const out = join(root, 'static/openapi.json');
const doc = {};
for (const name of readdirSync(dir).filter((n) => n.endsWith('.json')).sort()) {
  const part = JSON.parse(readFileSync(join(dir, name), 'utf8'));
  for (const [key, value] of Object.entries(part)) {
    if (key === 'paths') {
      doc.paths ??= {};
      for (const [p, ops] of Object.entries(value)) doc.paths[p] = { ...(doc.paths[p] ?? {}), ...ops };
    } else if (key === 'components') {
      doc.components ??= {};
      for (const [kind, items] of Object.entries(value)) doc.components[kind] = { ...(doc.components[kind] ?? {}), ...items };
    } else if (key === 'tags') {
      doc.tags = [...(doc.tags ?? []), ...value];
    } else {
      doc[key] = value;
    }
  }
}

// The error catalogue: PROBLEM(ENUM, "slug", status, "Title"), one per line.
function readCatalogue(file) {
  const entries = [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.forEach((line, i) => {
    if (!/^\s*PROBLEM\s*\(/.test(line)) return;
    const m = /^\s*PROBLEM\(\s*([A-Z0-9_]+)\s*,\s*"([a-z0-9-]+)"\s*,\s*([0-9]{3})\s*,\s*"([^"\\]+)"\s*\)\s*$/.exec(line);
    if (!m) throw new Error(`${file}:${i + 1}: not PROBLEM(ENUM, "slug", status, "Title"): ${line}`);
    entries.push({ name: m[1], slug: m[2], status: Number(m[3]), title: m[4] });
  });
  if (!entries.length) throw new Error(`${file}: no PROBLEM(...) lines`);
  for (const key of ['name', 'slug']) {
    const seen = new Set();
    for (const e of entries) {
      if (seen.has(e[key])) throw new Error(`${file}: ${key} ${e[key]} appears twice`);
      seen.add(e[key]);
    }
  }
  return entries;
}

const base = 'https://purposed.dev/problems/';
const problems = readCatalogue(join(root, 'lib/problems.def'));
const problemSchema = doc.components?.schemas?.Problem;
if (!problemSchema?.properties?.type) throw new Error('docs/openapi: no components.schemas.Problem with a type property');
problemSchema.properties.type = {
  type: 'string',
  format: 'uri',
  description: 'The problem type: ' + base + '<slug>, one of the error catalogue (lib/problems.def). ' +
    'Each type has one status and one title:\n\n| type | status | title |\n| --- | --- | --- |\n' +
    problems.map((p) => `| \`${p.slug}\` | ${p.status} | ${p.title} |`).join('\n'),
  enum: problems.map((p) => base + p.slug),
};
problemSchema['x-problem-types'] = problems.map((p) => ({ type: base + p.slug, status: p.status, title: p.title }));
// each type comes with its one status and title
problemSchema.oneOf = problems.map((p) => ({
  required: ['type', 'status', 'title'],
  properties: { type: { const: base + p.slug }, status: { const: p.status }, title: { const: p.title } },
}));

// The route table (server/routes.c): what the pipeline answers before any
// handler runs follows from what each route declares, so those answers are
// written into each operation here rather than by hand in every fragment
// (a fragment's own description of a status is kept): 400 (a query parameter
// the route does not take, a malformed body), 401, 403, 404, 412/428
// (If-Match), 413/415 (a body), 429/503 with Retry-After (limits, pools),
// 431 (headers too large), and the Idempotency-Key of a POST. Every API route
// must have its operation and every operation its route.
function readRoutes(file) {
  const src = readFileSync(file, 'utf8');
  const table = src.slice(src.indexOf('route_t routes[] = {'));
  const routes = [];
  const re = /\bR\(\s*"([A-Z]+)"\s*,\s*"([^"]+)"\s*,/g;
  let m;
  while ((m = re.exec(table))) {
    let depth = 1;
    let i = re.lastIndex;
    for (; i < table.length && depth; i++) {
      if (table[i] === '(') depth++;
      else if (table[i] === ')') depth--;
      else if (table[i] === '"') i = table.indexOf('"', i + 1);
    }
    const decl = table.slice(re.lastIndex, i - 1).replace(/\s+/g, ' ');
    const query = /QUERY\((.*)\)/.exec(decl)?.[1] ?? '';
    const params = [];
    for (const q of query.matchAll(/\b(PAGE|LIMIT|PARAM|FILTER|FILTER_DEFAULT)\b(?:\(\s*"([^"]+)"(?:\s*,\s*"([^"]*)")?\s*\))?/g)) {
      if (q[1] === 'PAGE') params.push({ name: 'limit' }, { name: 'cursor' });
      else if (q[1] === 'LIMIT') params.push({ name: 'limit' });
      else params.push({ name: q[2], filter: q[1] !== 'PARAM', fallback: q[3] });
    }
    const has = (word) => new RegExp(`(^|[^A-Za-z_])${word}([^A-Za-z_(]|\\(|$)`).test(decl);
    routes.push({
      method: m[1], path: m[2], decl, params,
      access: has('PUBLIC') ? 'public' : has('CALLER') ? 'caller' : has('SIGNED_IN') ? 'session'
        : has('MEMBER') ? 'organisation' : has('ENGAGEMENT_MEMBER') ? 'engagement' : has('PARTY') ? 'agreement'
          : has('FEED_TOKEN') ? 'feed-token' : has('INSTANCE') ? 'instance' : 'unknown',
      body: has('OBJECT') || has('ARRAY') || /BODY_OBJECT/.test(decl),
      ifMatch: has('IF_MATCH') ? 'required' : /IF_MATCH_OPTIONAL/.test(decl) ? 'optional' : null,
      work: has('INLINE') ? 'inline' : has('WRITE') || has('HASH') ? 'write' : 'read',
      verified: has('VERIFIED'), secret: has('SECRET'), cached: /CACHED\(/.test(decl),
      hideRefusal: /hide_refusal\s*=\s*true/.test(decl), anyQuery: has('PAGE_QUERY'),
    });
  }
  if (!routes.length) throw new Error(`${file}: no R(...) routes`);
  return routes;
}

const API = /^\/(api\/|feeds\/|healthz$|readyz$|metrics$|\.well-known\/)/;
const METHODS = ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'];
const ref = (kind, name) => ({ $ref: `#/components/${kind}/${name}` });
const routes = readRoutes(join(root, 'server/routes.c')).filter((r) => API.test(r.path));
const seen = new Set();
const missing = [];
// a path parameter may be named for what it holds: /feeds/me/{file} is the route's {token} and its suffix
const shape = (path) => path.replace(/\{\w+\}/g, '{}');
const docPaths = new Map(Object.keys(doc.paths ?? {}).map((p) => [shape(p), p]));
for (const r of routes) {
  const path = docPaths.get(shape(r.path));
  const op = doc.paths?.[path]?.[r.method.toLowerCase()];
  if (!op) { missing.push(`${r.method} ${r.path}`); continue; }
  seen.add(`${r.method} ${path}`);
  const responses = op.responses ??= {};
  const add = (status, response) => { responses[status] ??= response; };
  add('400', ref('responses', 'Problem'));       // an undeclared or repeated query parameter, a malformed head
  add('431', ref('responses', 'HeadersTooLarge'));
  if (r.access !== 'public') add(r.access === 'feed-token' ? '404' : '401', ref('responses', 'Problem'));
  if (['session', 'organisation', 'engagement', 'agreement', 'instance'].includes(r.access) &&
      (r.work === 'write' || r.access === 'organisation' || r.access === 'engagement' || r.access === 'instance')) {
    add('403', ref('responses', 'Problem'));       // CSRF, a suspended account, a role that does not allow it
  }
  if (r.verified) add('403', ref('responses', 'Problem'));
  if (/\{/.test(r.path)) add('404', ref('responses', 'Problem'));
  if (r.body) { add('413', ref('responses', 'Problem')); add('415', ref('responses', 'Problem')); }
  if (r.ifMatch) add('412', ref('responses', 'Problem'));
  if (r.ifMatch === 'required') add('428', ref('responses', 'Problem'));
  if (r.work !== 'inline') { add('429', ref('responses', 'TooManyRequests')); add('503', ref('responses', 'Unavailable')); }
  if (r.method === 'POST' && r.work === 'write' && !r.secret) {
    add('409', ref('responses', 'Problem'));   // idempotency-in-progress, idempotency-conflict
    add('422', ref('responses', 'Problem'));   // idempotency-mismatch
    op.parameters ??= [];
    if (!op.parameters.some((p) => p.$ref === '#/components/parameters/IdempotencyKey' || p.name === 'Idempotency-Key')) {
      op.parameters.push(ref('parameters', 'IdempotencyKey'));
    }
  }
  // read-your-writes across daemons (server/replica.c): a change answers the
  // Purposed-LSN it committed at, and a read takes it back
  if (r.work === 'write') {
    for (const [status, response] of Object.entries(responses)) {
      if (/^2/.test(status) && !response.$ref) (response.headers ??= {})['Purposed-LSN'] ??= ref('headers', 'PurposedLSN');
    }
  } else if (r.method === 'GET' && !['/healthz', '/readyz', '/metrics'].includes(r.path)) {
    op.parameters ??= [];
    if (!op.parameters.some((p) => p.$ref === '#/components/parameters/PurposedLSN')) op.parameters.push(ref('parameters', 'PurposedLSN'));
  }
  // 429 and 503 always carry Retry-After
  if (responses['429']?.$ref === '#/components/responses/Problem') responses['429'] = ref('responses', 'TooManyRequests');
  if (responses['503']?.$ref === '#/components/responses/Problem') responses['503'] = ref('responses', 'Unavailable');
  op.responses = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => a.localeCompare(b)));
  // the query parameters the route reads are the ones the operation lists
  const listed = (op.parameters ?? []).map((p) => (p.$ref ? doc.components.parameters[p.$ref.split('/').pop()] : p))
    .filter((p) => p?.in === 'query').map((p) => p.name).sort();
  const read = r.params.map((p) => p.name).sort();
  if (JSON.stringify(listed) !== JSON.stringify(read)) {
    throw new Error(`${r.method} ${r.path}: the route reads the query parameters [${read}] (server/routes.c), the document lists [${listed}]`);
  }
  // one rule for every filter (FILTER in routes.c): "?name=" is the same as leaving it out
  for (const q of r.params.filter((p) => p.filter)) {
    const param = op.parameters.find((p) => p.in === 'query' && p.name === q.name);
    if (!param) throw new Error(`${r.method} ${r.path}: the filter ${q.name} is a shared parameter; filters are written in the operation`);
    const s = param.schema ?? {};
    if (!s.anyOf?.some((x) => x.const === '')) {
      const { description, default: def, ...rest } = s;
      param.schema = { anyOf: [rest, { const: '', description: 'No filter.' }], ...(description ? { description } : {}), ...(def !== undefined ? { default: def } : {}) };
    }
    const note = `Empty (?${q.name}=) is the same as leaving it out${q.fallback ? `, and so is ${q.fallback}` : ''}.`;
    if (!(param.description ?? '').includes(note)) param.description = param.description ? `${param.description} ${note}` : note;
  }
}
for (const [path, item] of Object.entries(doc.paths ?? {})) {
  for (const method of METHODS) {
    if (item[method] && !seen.has(`${method.toUpperCase()} ${path}`)) missing.push(`${method.toUpperCase()} ${path} (no route in server/routes.c)`);
  }
}
if (missing.length) throw new Error(`the route table and docs/openapi disagree: ${missing.join('; ')}`);

// No text of a request body may hold U+0000 (valid JSON, but refused: 422
// naming the field, server/pipeline.c): every string a body may carry says so.
const NO_NUL = { type: 'string', pattern: '\\x00', description: 'U+0000 (NUL): refused, 422.' };
const walked = new Set();
function refuseNul(schema) {
  if (!schema || typeof schema !== 'object' || walked.has(schema)) return;
  walked.add(schema);
  if (schema.$ref) return refuseNul(schema.$ref.split('/').slice(1).reduce((o, k) => o?.[k], doc));
  const types = [].concat(schema.type ?? []);
  if (types.includes('string') && !schema.enum && schema.const === undefined && !schema.format && !schema.not) {
    schema.not = { ...NO_NUL };
    walked.add(schema.not);
  }
  for (const key of ['properties', 'patternProperties', '$defs']) Object.values(schema[key] ?? {}).forEach(refuseNul);
  for (const key of ['items', 'additionalProperties', 'not', 'if', 'then', 'else', 'contains']) refuseNul(schema[key]);
  for (const key of ['anyOf', 'oneOf', 'allOf', 'prefixItems']) (schema[key] ?? []).forEach(refuseNul);
}
for (const item of Object.values(doc.paths ?? {})) {
  for (const method of METHODS) {
    const body = item[method]?.requestBody;
    const rb = body?.$ref ? doc.components.requestBodies[body.$ref.split('/').pop()] : body;
    for (const media of Object.values(rb?.content ?? {})) refuseNul(media.schema);
  }
}

// Links (OpenAPI 3.1 section 4.8.20): the obvious flows, so generated clients
// and testers can follow them: what is created is read and changed, a
// proposal is answered, an accepted agreement concluded, a concluded one
// credentialed. [from operation, status, {link name: [to operation, {parameter: expression}]}]
const byId = new Map();
for (const item of Object.values(doc.paths ?? {})) for (const method of METHODS) if (item[method]) byId.set(item[method].operationId, item[method]);
const slug = { slug: '$response.body#/slug' };
const id = { id: '$response.body#/id' };
const requestId = { id: '$request.path.id' };
const LINKS = [
  ['createSession', '201', { me: ['getMe', {}], signOut: ['deleteSession', {}] }],
  ['createPurpose', '201', { purpose: ['getPurpose', slug] }],
  ['createOrganisation', '201', { organisation: ['getOrganisation', slug], update: ['updateOrganisation', slug], charter: ['getCharter', slug], postEngagement: ['createEngagement', slug] }],
  ['addMember', '202', { acceptInvitation: ['acceptInvitation', { slug: '$request.path.slug' }] }],
  ['createEngagement', '201', { engagement: ['getEngagement', id], update: ['updateEngagement', id], matches: ['getEngagementMatches', id] }],
  ['proposeAgreement', '201', {
    agreement: ['getAgreement', id], accept: ['acceptAgreement', id], decline: ['declineAgreement', id],
    withdraw: ['withdrawAgreement', id], amend: ['amendAgreement', id], versions: ['listAgreementVersions', id] }],
  ['amendAgreement', '200', { accept: ['acceptAgreement', requestId], decline: ['declineAgreement', requestId], withdraw: ['withdrawAgreement', requestId] }],
  ['acceptAgreement', '200', { conclude: ['concludeAgreement', requestId], amend: ['amendAgreement', requestId] }],
  ['concludeAgreement', '200', { credential: ['issueCredential', requestId] }],
];
for (const [from, status, links] of LINKS) {
  const response = byId.get(from)?.responses?.[status];
  if (!response || response.$ref) throw new Error(`links: ${from} has no answer ${status} of its own`);
  for (const [name, [to, parameters]] of Object.entries(links)) {
    if (!byId.has(to)) throw new Error(`links: ${from} links to ${to}, which is no operation`);
    response.links ??= {};
    response.links[name] ??= { operationId: to, ...(Object.keys(parameters).length ? { parameters } : {}) };
  }
}

// Examples: every operation shows a request body and a success answer. One a
// fragment writes is kept; otherwise one is made from the schema (its
// example, const, enum, default, format, or a value for the field's name),
// and tests/api/openapi.test.mjs checks each fits its schema.
const SAMPLE = {
  email: 'ada@example.org', password: 'correct horse battery staple', new_password: 'correct horse battery staple',
  current_password: 'correct horse battery staple', slug: 'clean-water', handle: 'ada', organisation: 'acme',
  agent: 'ada', purpose: 'clean-water', website: 'https://acme.example', currency: 'EUR', location: 'Lyon, France',
  display_name: 'Ada Lovelace', name: 'Clean water', title: 'Water pump engineer', role: 'Pump engineer',
  token: 'kQ3vXn2c9mW7yZ1aB4dE6fH8jL0pR5sT', next_cursor: null, csrf_token: 'c3JmLXRva2VuLWV4YW1wbGU',
  purpose_statement: 'Clean water for every village.', terms: 'Two days a month on site.',
  headline: 'Engineer for clean water', personal_purpose: 'Water for everyone.', skill: 'plumbing', skills: 'plumbing',
  non_cash: 'training', proofValue: 'z58DAdFfa9SkqZMVPxAQpic7ndSayn1PzZs6ZjWp1CktyGesjuTSwRdoWhAfGFCF5bppETSTojQCrfFPP2oumHKtz',
  publicKeyMultibase: 'z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK', description: 'What it is about.', note: 'All went as agreed.', change_note: 'Clearer norms.', near: '38.72,-9.14',
};
function resolveRef(schema) {
  let s = schema;
  for (let i = 0; s?.$ref && i < 20; i++) s = s.$ref.split('/').slice(1).reduce((o, k) => o?.[k], doc);
  return s;
}
function exampleOf(schema, name, mode, depth = 0) {
  const s = resolveRef(schema);
  if (!s || depth > 8) return null;
  if (s.example !== undefined) return s.example;
  if (Array.isArray(s.examples) && s.examples.length) return s.examples[0];
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum.find((v) => v !== null) ?? s.enum[0];
  if (s.default !== undefined && s.default !== null) return s.default;
  if (s.allOf && !s.properties) {
    return Object.assign({}, ...s.allOf.map((b) => exampleOf(b, name, mode, depth + 1)).filter((x) => x && typeof x === 'object'));
  }
  const type = [].concat(s.type ?? []).find((t) => t !== 'null') ?? (s.properties ? 'object' : s.items ? 'array' : null);
  if (!type) {
    const branch = (s.oneOf ?? s.anyOf ?? s.allOf)?.[0];
    return branch ? exampleOf(branch, name, mode, depth + 1) : null;
  }
  if (type === 'object') {
    const out = {};
    for (const [key, prop] of Object.entries(s.properties ?? {})) {
      const p = resolveRef(prop);
      if ((mode === 'request' && p?.readOnly) || (mode === 'response' && p?.writeOnly)) continue;
      if (mode === 'request' && !(s.required ?? []).includes(key) && s.anyOf === undefined && depth > 0) continue;
      out[key] = exampleOf(prop, key, mode, depth + 1);
    }
    return out;
  }
  if (type === 'array') {
    const item = exampleOf(s.items ?? {}, name, mode, depth + 1);
    return Array.from({ length: Math.max(1, s.minItems ?? 1) }, (_, i) => (typeof item === 'number' ? item + i : item));
  }
  if (type === 'integer' || type === 'number') {
    const lo = s.minimum ?? (s.exclusiveMinimum !== undefined ? s.exclusiveMinimum + 1 : undefined);
    const hi = s.maximum ?? (s.exclusiveMaximum !== undefined ? s.exclusiveMaximum - 1 : undefined);
    let v = /hours|capacity/.test(name ?? '') ? 8 : /energy/.test(name ?? '') ? 40 : /version/.test(name ?? '') ? 1 : 42;
    if (lo !== undefined && v < lo) v = lo;
    if (hi !== undefined && v > hi) v = hi;
    return v;
  }
  if (type === 'boolean') return true;
  if (type === 'string') {
    const formats = { 'date-time': '2026-03-01T09:30:00Z', date: '2026-03-01', uri: 'https://purposed.example/', email: 'ada@example.org', uuid: '0b6f3c2e-8a4d-4e1b-9c7f-2d5a6e8f1a3b' };
    if (formats[s.format]) return formats[s.format];
    const fit = (v) => {
      if (s.maxLength && v.length > s.maxLength) v = v.slice(0, s.maxLength);
      if (s.minLength && v.length < s.minLength) v = v.padEnd(s.minLength, 'x');
      return v;
    };
    const hex = /^\^\[0-9a-f\]\{(\d+)\}\$$/.exec(s.pattern ?? '');
    const candidates = [SAMPLE[name], 'Example', 'clean-water', hex && '0123456789abcdef'.repeat(8).slice(0, Number(hex[1]))]
      .filter((v) => typeof v === 'string').map(fit);
    const pattern = s.pattern ? new RegExp(s.pattern, 'u') : null;
    return candidates.find((v) => !pattern || pattern.test(v)) ?? candidates[0];
  }
  return null;
}
for (const item of Object.values(doc.paths ?? {})) {
  for (const method of METHODS) {
    const op = item[method];
    if (!op) continue;
    for (const media of Object.values(op.requestBody?.content ?? {})) {
      if (media.example === undefined && media.examples === undefined && media.schema) media.example = exampleOf(media.schema, null, 'request');
    }
    for (const [status, response] of Object.entries(op.responses ?? {})) {
      if (!/^2/.test(status) || response.$ref) continue;
      for (const [type, media] of Object.entries(response.content ?? {})) {
        if (media.example !== undefined || media.examples !== undefined || !media.schema) continue;
        if (/json/.test(type)) media.example = exampleOf(media.schema, null, 'response');
      }
    }
  }
}

const text = JSON.stringify(doc, null, 2) + '\n';
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(out, 'utf8'); } catch { /* missing */ }
  if (current !== text) {
    console.error('static/openapi.json is out of date: run node scripts/openapi.mjs');
    process.exit(1);
  }
} else {
  writeFileSync(out, text);
}
