#!/usr/bin/env node
// openapi.mjs: merge docs/openapi/*.json (each {paths, components}) into the
// served document static/openapi.json. `--check` fails when it is stale.
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
