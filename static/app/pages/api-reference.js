// api-reference: the HTTP API described for people, drawn from the OpenAPI
// document this instance serves (static/openapi.json): operations grouped by
// tag with their parameters, bodies and answers, and the schemas they name.
// No third-party viewer: the document's Markdown is read by a small renderer
// that only makes text, code, links, lists and tables.
import { get } from '../api.js';
import { h, replace, uid } from '../dom.js';
import { errorNotice, loading, pageHead } from '../ui.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

// Inline Markdown: `code`, **strong**, [text](url) (http(s), relative or #anchors only).
function inline(text) {
  const out = [];
  const re = /`([^`]+)`|\*\*([^*]+)\*\*|\[([^\]]+)\]\(([^)\s]+)\)/g;
  let last = 0;
  for (let m; (m = re.exec(text));) {
    if (m.index > last) out.push(text.slice(last, m.index));
    if (m[1] !== undefined) out.push(h('code', { text: m[1] }));
    else if (m[2] !== undefined) out.push(h('strong', { text: m[2] }));
    else out.push(/^(https?:\/\/|\/|#)/.test(m[4]) ? h('a', { href: m[4], text: m[3] }) : m[3]);
    last = re.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

const cells = (row) => row.trim().replace(/^\||\|$/g, '').split('|').map((c) => c.trim());

// Block Markdown: paragraphs, "- " lists and pipe tables.
export function markdown(text) {
  const blocks = [];
  for (const block of String(text ?? '').split(/\n\s*\n/)) {
    const lines = block.split('\n').filter((l) => l.trim());
    if (!lines.length) continue;
    if (lines.every((l) => /^\s*\|/.test(l)) && lines.length >= 2) {
      const [head, , ...rows] = lines;
      blocks.push(h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': 'Table' },
        h('table', { class: 'api-table' },
          h('thead', {}, h('tr', {}, cells(head).map((c) => h('th', { scope: 'col' }, inline(c))))),
          h('tbody', {}, rows.map((r) => h('tr', {}, cells(r).map((c) => h('td', {}, inline(c)))))))));
    } else if (/^\s*- /.test(lines[0])) {
      const items = [];
      for (const l of lines) {
        if (/^\s*- /.test(l)) items.push(l.replace(/^\s*- /, ''));
        else if (items.length) items[items.length - 1] += ` ${l.trim()}`;
      }
      blocks.push(h('ul', {}, items.map((i) => h('li', {}, inline(i)))));
    } else {
      blocks.push(h('p', {}, inline(lines.join(' '))));
    }
  }
  return blocks;
}

const refName = (ref) => String(ref ?? '').split('/').pop();
const anchor = (kind, name) => `${kind}-${String(name).replace(/[^A-Za-z0-9_-]+/g, '-')}`;

// A schema in a few words: "Agreement", "array of Purpose", "string (date)", "one of: a, b".
function typeWords(schema) {
  if (!schema || typeof schema !== 'object') return 'any';
  if (schema.$ref) { const n = refName(schema.$ref); return h('a', { href: `#${anchor('schema', n)}`, text: n }); }
  if (schema.enum) return `one of: ${schema.enum.map(String).join(', ')}`;
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const alts = schema.oneOf ?? schema.anyOf;
  if (alts) return alts.flatMap((s, i) => (i ? [' or ', typeWords(s)] : [typeWords(s)]));
  const types = [schema.type].flat().filter(Boolean);
  if (types.includes('array')) return ['array of ', typeWords(schema.items)];
  const t = types.join(' or ') || (schema.properties ? 'object' : 'any');
  return schema.format ? `${t} (${schema.format})` : t;
}

function bodyOf(content) {
  const json = content?.['application/json'] ?? content?.['application/problem+json'] ?? Object.values(content ?? {})[0];
  return json?.schema ? typeWords(json.schema) : null;
}

function operation(doc, path, method, op) {
  const id = anchor('op', op.operationId ?? `${method}-${path}`);
  const params = [...(doc.paths[path].parameters ?? []), ...(op.parameters ?? [])]
    .map((p) => (p.$ref ? doc.components?.parameters?.[refName(p.$ref)] ?? p : p));
  const requestBody = op.requestBody?.$ref ? doc.components?.requestBodies?.[refName(op.requestBody.$ref)] : op.requestBody;
  const responses = Object.entries(op.responses ?? {})
    .map(([code, r]) => [code, r.$ref ? doc.components?.responses?.[refName(r.$ref)] ?? {} : r]);
  return h('article', { class: 'api-op card stack', id, dataset: { search: `${method} ${path} ${op.summary ?? ''} ${op.operationId ?? ''}`.toLowerCase() } },
    h('h3', { class: 'api-op__title' },
      h('span', { class: `api-method api-method--${method}`, text: method.toUpperCase() }), ' ',
      h('code', { class: 'api-op__path', text: path })),
    op.summary ? h('p', { class: 'api-op__summary', text: op.summary }) : null,
    op.description ? h('div', { class: 'api-op__text' }, markdown(op.description)) : null,
    op.security && op.security.length === 0 ? h('p', { class: 'muted small', text: 'No sign-in needed.' }) : null,
    params.length ? h('div', {},
      h('h4', { text: 'Parameters' }),
      h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `Parameters of ${method.toUpperCase()} ${path}` },
        h('table', { class: 'api-table' },
          h('thead', {}, h('tr', {}, ['Name', 'In', 'Type', 'About'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, params.map((p) => h('tr', {},
            h('td', {}, h('code', { text: p.name }), p.required ? h('span', { class: 'muted small', text: ' required' }) : null),
            h('td', { text: p.in }),
            h('td', {}, typeWords(p.schema)),
            h('td', {}, inline(p.description ?? '')))))))) : null,
    requestBody ? h('div', {},
      h('h4', { text: 'Body' }),
      h('p', {}, bodyOf(requestBody.content) ?? 'none', requestBody.description ? [' — ', ...inline(requestBody.description)] : null)) : null,
    h('div', {},
      h('h4', { text: 'Answers' }),
      h('ul', { class: 'api-answers' }, responses.map(([code, r]) => h('li', {},
        h('strong', { class: `api-status api-status--${code[0]}xx`, text: code }), ' ',
        inline(r.description ?? ''),
        bodyOf(r.content) ? [' → ', bodyOf(r.content)] : null)))));
}

function schemaBlock(name, schema) {
  const props = Object.entries(schema.properties ?? {});
  const required = new Set(schema.required ?? []);
  return h('article', { class: 'api-schema card stack', id: anchor('schema', name), dataset: { search: name.toLowerCase() } },
    h('h3', {}, h('code', { text: name })),
    schema.description ? h('div', {}, markdown(schema.description)) : null,
    props.length
      ? h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': `Fields of ${name}` },
        h('table', { class: 'api-table' },
          h('thead', {}, h('tr', {}, ['Field', 'Type', 'About'].map((t) => h('th', { scope: 'col', text: t })))),
          h('tbody', {}, props.map(([k, v]) => h('tr', {},
            h('td', {}, h('code', { text: k }), required.has(k) ? h('span', { class: 'muted small', text: ' required' }) : null),
            h('td', {}, typeWords(v)),
            h('td', {}, inline(v?.description ?? '')))))))
      : h('p', { class: 'muted' }, typeWords(schema)));
}

export default async function render(ctx) {
  ctx.setTitle('API reference');
  const body = h('div', { class: 'stack-lg' }, loading('Loading the API description…'));
  replace(ctx.root,
    pageHead({ eyebrow: 'For developers', title: 'The Purposed API',
      lead: 'Everything the web pages do, a program can do too: JSON over HTTP, described here from this instance’s own OpenAPI document.',
      actions: [h('a', { class: 'btn btn--secondary', href: '/openapi.json', download: 'purposed-openapi.json', text: 'OpenAPI document (JSON)' })] }),
    body);
  let doc;
  try {
    doc = await get('/openapi.json', { signal: ctx.signal });
  } catch (err) {
    if (err.name !== 'AbortError') replace(body, errorNotice(err, { what: 'The API description' }));
    return;
  }
  if (!ctx.isCurrent()) return;

  const byTag = new Map((doc.tags ?? []).map((t) => [t.name, { tag: t, ops: [] }]));
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = op.tags?.[0] ?? 'other';
      if (!byTag.has(tag)) byTag.set(tag, { tag: { name: tag }, ops: [] });
      byTag.get(tag).ops.push(operation(doc, path, method, op));
    }
  }
  const groups = [...byTag.values()].filter((g) => g.ops.length);
  const schemas = Object.entries(doc.components?.schemas ?? {});

  const filterId = uid('api-filter');
  const filter = h('input', { id: filterId, type: 'search', placeholder: 'e.g. agreements, hours, POST', autocomplete: 'off' });
  const count = h('p', { class: 'muted small', role: 'status' });
  const sections = groups.map((g) => h('section', { class: 'stack', id: anchor('tag', g.tag.name), 'aria-labelledby': anchor('tag-title', g.tag.name) },
    h('h2', { id: anchor('tag-title', g.tag.name), text: g.tag.name[0].toUpperCase() + g.tag.name.slice(1) }),
    g.tag.description ? h('div', { class: 'muted' }, markdown(g.tag.description)) : null,
    g.ops));
  const schemaSection = h('section', { class: 'stack', id: 'schemas', 'aria-labelledby': 'schemas-title' },
    h('h2', { id: 'schemas-title', text: 'Schemas' }),
    h('p', { class: 'muted', text: 'The shapes of the bodies above, field by field.' }),
    schemas.map(([n, s]) => schemaBlock(n, s)));
  const applyFilter = () => {
    const words = filter.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const el of [...body.querySelectorAll('.api-op, .api-schema')]) {
      const hit = words.every((w) => el.dataset.search.includes(w));
      el.hidden = !hit;
      if (hit && el.classList.contains('api-op')) shown += 1;
    }
    for (const s of [...sections, schemaSection]) s.hidden = ![...s.querySelectorAll('.api-op, .api-schema')].some((el) => !el.hidden);
    count.textContent = words.length ? `${shown} ${shown === 1 ? 'operation matches' : 'operations match'}` : '';
  };
  filter.addEventListener('input', applyFilter);

  replace(body,
    h('section', { class: 'card stack', 'aria-labelledby': 'api-about' },
      h('h2', { id: 'api-about', text: `${doc.info?.title ?? 'API'} ${doc.info?.version ?? ''}`.trim() }),
      markdown(doc.info?.description),
      h('p', {}, 'Base address: ', h('code', { text: `${location.origin}/api/v1` }))),
    h('nav', { class: 'card stack', 'aria-label': 'API contents' },
      h('h2', { text: 'Contents' }),
      h('div', { class: 'field' }, h('label', { for: filterId, text: 'Find an operation' }), filter, count),
      h('ul', { class: 'api-toc' },
        groups.map((g) => h('li', {}, h('a', { href: `#${anchor('tag', g.tag.name)}`, text: g.tag.name }), h('span', { class: 'muted small', text: ` (${g.ops.length})` }))),
        h('li', {}, h('a', { href: '#schemas', text: 'schemas' }), h('span', { class: 'muted small', text: ` (${schemas.length})` })))),
    sections,
    schemaSection);
  if (location.hash) document.getElementById(location.hash.slice(1))?.scrollIntoView();
}
