// openapi-check: every exchange the API tests make is held against the
// OpenAPI document the daemon serves (static/openapi.json), with a JSON
// Schema 2020-12 validator (ajv): the answer's status is declared for the
// operation, its content type and body match the declared schema, its
// headers are declared and match theirs. And what the daemon refuses as
// malformed or invalid (400, 422), the document refuses too: a client
// generated from it would never send it. helpers.mjs checks every fetch to
// a daemon under test; tests/api/openapi.test.mjs checks this checker.
import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

export const doc = JSON.parse(readFileSync(new URL('../../static/openapi.json', import.meta.url), 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true, validateSchema: false });
addFormats(ajv);
ajv.addSchema(doc, 'openapi.json');

const compiled = new Map();
function validatorAt(pointer) {
  let v = compiled.get(pointer);
  if (!v) {
    v = ajv.compile({ $ref: 'openapi.json#' + pointer });
    compiled.set(pointer, v);
  }
  return v;
}
const esc = (s) => s.replace(/~/g, '~0').replace(/\//g, '~1');
function deref(obj, pointer) {
  while (obj && obj.$ref) {
    pointer = obj.$ref.slice(1);
    obj = pointer.split('/').slice(1).map((k) => k.replace(/~1/g, '/').replace(/~0/g, '~')).reduce((o, k) => o?.[k], doc);
  }
  return { obj, pointer };
}
export function schemaErrorsAt(pointer, value) { return schemaErrors(pointer, value); }
function schemaErrors(pointer, value) {
  const v = validatorAt(pointer);
  if (v(value)) return null;
  return ajv.errorsText(v.errors, { dataVar: 'value' });
}

// The document's path templates, the most literal first: /api/v1/me/agent
// before /api/v1/agents/{handle}.
const templates = Object.keys(doc.paths).map((tpl) => {
  const names = [];
  const re = new RegExp('^' + tpl.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, n) => {
    names.push(n);
    return '([^/]+)';
  }) + '$');
  return { tpl, re, names };
}).sort((a, b) => a.names.length - b.names.length);

export function findOperation(method, path) {
  for (const t of templates) {
    const m = t.re.exec(path);
    if (!m) continue;
    const params = {};
    t.names.forEach((n, i) => { try { params[n] = decodeURIComponent(m[i + 1]); } catch { params[n] = m[i + 1]; } });
    const item = doc.paths[t.tpl];
    const key = method.toLowerCase() === 'head' ? 'get' : method.toLowerCase();
    return { tpl: t.tpl, item, op: item[key], key, params };
  }
  return null;
}

const API_PATH = /^\/(api\/|feeds\/|healthz$|readyz$|metrics$|\.well-known\/)/;
// Headers whose presence an answer must declare (RFC 9110 meanings a client acts on).
const MEANINGFUL = ['location', 'etag', 'retry-after', 'allow', 'set-cookie', 'link'];

function problemPointer() { return '/components/schemas/Problem'; }

// checkResponse({method, path, status, headers: Headers, text}) -> [] or a list of mismatches
export function checkResponse({ method, path, status, headers, text }) {
  const out = [];
  const found = findOperation(method, path);
  const type = (headers.get('content-type') ?? '').split(';')[0].trim();
  if (!found) {
    if (!API_PATH.test(path)) return out;  // a page or a static file
    if (status !== 404 && status !== 400 && status !== 431) out.push(`no operation in the document, and the answer is ${status}`);
    if (method !== 'HEAD' && text) checkProblemBody(out, text, type);
    return out;
  }
  const where = `${method} ${found.tpl} ${status}`;
  if (method === 'OPTIONS') return out;   // CORS preflight: not an operation of the document
  if (!found.op) {
    if (status !== 405 && status !== 400 && status !== 431) out.push(`${where}: no ${method} operation in the document, and the answer is not 405`);
    if (status === 405 && !headers.get('allow')) out.push(`${where}: 405 without Allow`);
    if (method !== 'HEAD' && text) checkProblemBody(out, text, type);
    return out;
  }
  const base = `/paths/${esc(found.tpl)}/${found.key}/responses`;
  const responses = found.op.responses ?? {};
  const code = String(status);
  const key = code in responses ? code : `${code[0]}XX` in responses ? `${code[0]}XX` : 'default' in responses ? 'default' : null;
  if (!key) {
    out.push(`${where}: status ${status} is not declared (declared: ${Object.keys(responses).join(', ')})`);
    return out;
  }
  const { obj: resp, pointer } = deref(responses[key], `${base}/${esc(key)}`);
  // headers: the meaningful ones present are declared; every declared one present matches its schema
  const declared = Object.fromEntries(Object.entries(resp.headers ?? {}).map(([n, h]) => [n.toLowerCase(), { name: n, h }]));
  for (const name of MEANINGFUL) {
    if (headers.get(name) !== null && !declared[name]) out.push(`${where}: header ${name} is sent but not declared`);
  }
  for (const [lname, { name, h }] of Object.entries(declared)) {
    const { obj: header, pointer: hp } = deref(h, `${pointer}/headers/${esc(name)}`);
    const value = headers.get(lname);
    if (value === null) {
      if (header.required) out.push(`${where}: required header ${name} is missing`);
      continue;
    }
    if (!header.schema) continue;
    const typed = /^-?\d+$/.test(value) && schemaErrors(`${hp}/schema`, value) ? Number(value) : value;
    const err = schemaErrors(`${hp}/schema`, typed);
    if (err) out.push(`${where}: header ${name}: ${JSON.stringify(value)}: ${err}`);
  }
  if (method === 'HEAD' || status === 204 || status === 304) return out;
  const content = resp.content ?? {};
  if (!text) {
    if (Object.keys(content).length && status !== 200) return out;
    if (Object.keys(content).length) out.push(`${where}: an empty body, ${Object.keys(content).join(', ')} declared`);
    return out;
  }
  if (!Object.keys(content).length) {
    out.push(`${where}: a body (${type}) but no content declared`);
    return out;
  }
  const media = type in content ? type : Object.keys(content).find((k) => k.endsWith('/*') && type.startsWith(k.slice(0, -1))) ?? ('*/*' in content ? '*/*' : null);
  if (!media) {
    out.push(`${where}: content type ${type} is not declared (${Object.keys(content).join(', ')})`);
    return out;
  }
  const entry = content[media];
  if (!entry.schema || !/(^application\/(.+\+)?json$)/.test(type)) return out;
  let body;
  try { body = JSON.parse(text); } catch { out.push(`${where}: ${type} that is not JSON`); return out; }
  const err = schemaErrors(`${pointer}/content/${esc(media)}/schema`, body);
  if (err) out.push(`${where}: the body does not match the schema: ${err}`);
  return out;
}

function checkProblemBody(out, text, type) {
  if (type !== 'application/problem+json') { out.push(`a refusal that is not problem+json (${type})`); return; }
  let body;
  try { body = JSON.parse(text); } catch { out.push('problem+json that is not JSON'); return; }
  const err = schemaErrors(problemPointer(), body);
  if (err) out.push(`the problem does not match the Problem schema: ${err}`);
}

// documentAccepts({method, path, query: URLSearchParams, headers: Headers, body: string|undefined})
// -> null when the document refuses the request, [] when it would accept it.
export function documentAccepts({ method, path, query, headers, body }) {
  const found = findOperation(method, path);
  if (!found || !found.op) return null;  // no such operation: the document refuses it
  const reasons = [];
  const op = found.op;
  const base = `/paths/${esc(found.tpl)}`;
  const params = [];
  for (const [list, at] of [[found.item.parameters, `${base}/parameters`], [op.parameters, `${base}/${found.key}/parameters`]]) {
    (list ?? []).forEach((p, i) => params.push(deref(p, `${at}/${i}`)));
  }
  for (const { obj: p, pointer } of params) {
    let value;
    if (p.in === 'path') value = found.params[p.name];
    else if (p.in === 'query') {
      const all = query.getAll(p.name);
      if (all.length > 1) { reasons.push(`${p.name} given twice`); continue; }
      value = all.length ? all[0] : undefined;
    } else if (p.in === 'header') value = headers.get(p.name) ?? undefined;
    else continue;
    if (value === undefined) {
      if (p.required) reasons.push(`${p.in} parameter ${p.name} missing`);
      continue;
    }
    if (!p.schema) continue;
    // a query or header value is text; the schema may type it (OpenAPI's simple style)
    const candidates = [value];
    if (/^-?\d+(\.\d+)?$/.test(value)) candidates.push(Number(value));
    if (value === 'true' || value === 'false') candidates.push(value === 'true');
    const errs = candidates.map((v) => schemaErrors(`${pointer}/schema`, v));
    if (errs.every(Boolean)) reasons.push(`${p.in} parameter ${p.name}: ${errs[0]}`);
  }
  const known = new Set(params.filter(({ obj }) => obj.in === 'query').map(({ obj }) => obj.name));
  for (const name of new Set(query.keys())) if (!known.has(name)) reasons.push(`query parameter ${name} is not the operation's`);
  if (op.requestBody) {
    const { obj: rb, pointer: rbp } = deref(op.requestBody, `${base}/${found.key}/requestBody`);
    const type = (headers.get('content-type') ?? '').split(';')[0].trim();
    if (body === undefined || body === '') {
      if (rb.required) reasons.push('no body, one is required');
    } else if (!(type in (rb.content ?? {}))) {
      reasons.push(`content type ${type || 'none'} is not the operation's`);
    } else {
      const entry = rb.content[type];
      let json;
      try { json = JSON.parse(body); } catch { reasons.push('the body is not JSON'); }
      if (json !== undefined && entry.schema) {
        const err = schemaErrors(`${rbp}/content/${esc(type)}/schema`, json);
        if (err) reasons.push(`the body: ${err}`);
      }
    }
  }
  return reasons.length ? null : [];
}


// What the daemon refuses as not what the operation takes, the document must
// refuse: 400 (malformed body, query or header), 415 and 422 (invalid fields).
const SHAPE_REFUSALS = new Set([400, 415, 422]);
// Refusals that depend on what is stored or on a secret, not on the request's
// shape: no document can state them (each operation's description does).
const STATE_REFUSALS = new Set([
  'wrong-password',        // the password is checked against the stored hash
  'idempotency-mismatch',  // the key was used before with another body
  'invalid-token',         // a mailed link's token that is unknown, used or expired
  'bad-cursor',            // a non-empty cursor this list did not sign
  'invalid',               // a moderation action on something in a state it does not apply to
  'website-not-verified',  // the token is not on the organisation's website (what it serves, not the request)
]);
// Field errors of a 422 validation that depend on stored data: an unknown
// purpose or skill, a date against a stored one, an energy total with the
// agent's other purposes. [field, message] patterns.
export const STATE_FIELD_ERRORS = [
  [/./, /^no such /],                                   // an organisation, agent, purpose, ... that does not exist
  [/purpose$/, /^is not a known purpose( \(or one retired from the catalogue\))?$/], // retired: curation
  [/purpose$/, /^repeats the purpose of item \d+/],     // items that differ in energy only
  [/^energy$/, /^the energies sum to \d+; the total must be at most 100$/],
  [/^review_on$/, /^must not be before the start date$/], // against the stored starts_on on an amendment
  [/^worked_on$/, /^must not be in the future$/],       // against today's date
  [/^review_on$/, /^must (be after the current review date \(.*\) and not in the past|not be in the past)$/], // a renewal, against the stored terms and today
  [/^engagement$/, /^is not an engagement of this organisation$/],
  [/^(place|near)$/, /^is not a place of GET \/api\/v1\/places$/], // a place id that does not exist
  [/^q$/, /^give prefix or q, not both$/],              // GET /places: a rule between two parameters, in its description
  [/^action$/, /^(roles are granted|organisations are verified|instances are blocked) with /], // the log's words that have routes of their own: the enum is the log's list (test_vocab)
  [/^host$/, /^is this instance's own$/],                // an instance block of PUBLIC_URL's host
  [/^within_km$/, /^needs near=$/],                     // a rule between two parameters, in the parameter's description
  [/^sort$/, /^sort=distance needs near=$/],           // the same
];

// checkExchange(request, response) -> the list of disagreements (empty: none)
export function checkExchange(request, response) {
  const out = checkResponse({ method: request.method, path: request.path, ...response });
  if (SHAPE_REFUSALS.has(response.status) && !documentRefuses(request) && !stateRefusal(response.text, request)) {
    let type = '';
    try { type = JSON.parse(response.text).type ?? ''; } catch { /* not JSON */ }
    out.push(`the daemon refused it (${response.status} ${type.replace(/.*\//, '')}: ${response.text.slice(0, 400)}) but the document accepts it`);
  }
  return out;
}

function stateRefusal(text, request) {
  let problem;
  try { problem = JSON.parse(text); } catch { return false; }
  const slug = String(problem.type ?? '').replace(/.*\//, '');
  if (slug === 'bad-cursor') return (request.query?.get('cursor') ?? '') !== '';
  if (STATE_REFUSALS.has(slug)) return true;
  if ((slug !== 'validation' && slug !== 'bad-query') || !problem.errors?.length) return false;
  return problem.errors.every((e) => STATE_FIELD_ERRORS.some(([f, m]) => f.test(e.field) && m.test(e.message)));
}

// Beyond each operation's schemas, the document's rules for every request
// (info.description): a query is UTF-8, percent-encoded; a JSON body is
// I-JSON (RFC 7493: UTF-8, no member name twice in an object).
function documentRefuses(request) {
  const raw = request.rawQuery ?? '';
  try { decodeURIComponent(raw.replace(/\+/g, ' ')); } catch { return true; }
  if (typeof request.body === 'string' && repeatsAName(request.body)) return true;
  return documentAccepts(request) === null;
}

// Does this JSON text repeat a member name within one object?
function repeatsAName(text) {
  const stack = [];
  let i = 0;
  let expectKey = false;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      if (expectKey && stack.length) {
        let name;
        try { name = JSON.parse(text.slice(i, j + 1)); } catch { return false; }
        const top = stack[stack.length - 1];
        if (top.has(name)) return true;
        top.add(name);
      }
      expectKey = false;
      i = j + 1;
      continue;
    }
    if (c === '{') { stack.push(new Set()); expectKey = true; }
    else if (c === '[') { stack.push(null); }
    else if (c === '}' || c === ']') stack.pop();
    else if (c === ',') expectKey = stack.length > 0 && stack[stack.length - 1] !== null;
    i++;
  }
  return false;
}
