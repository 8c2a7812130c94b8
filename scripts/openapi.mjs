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
