// vocabulary: the word lists the database allows (CHECK constraints in the
// migrations) are the enums the OpenAPI document gives, word for word.
// tests/unit/test_vocab.c holds lib/vocab.c to the same document, so the
// three cannot drift apart without a test failing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, sql } from './helpers.mjs';

// Every enum of the document as {path, words}.
function enums(node, path = '', out = []) {
  if (Array.isArray(node)) node.forEach((v, i) => enums(v, `${path}/${i}`, out));
  else if (node && typeof node === 'object') {
    for (const [key, v] of Object.entries(node)) {
      if (key === 'enum' && Array.isArray(v)) out.push({ path: `${path}/enum`, words: v });
      else enums(v, `${path}/${key}`, out);
    }
  }
  return out;
}

// Tables the API never shows: their words are the daemon's own (the state of
// a background job, what a mailed token is for, the instance's settings,
// which no operation reads or sets yet: the operation that does brings its enum;
// whose key an ActivityPub actor is, docs/federation.md).
const INTERNAL = new Set(['jobs', 'email_tokens', 'instance_settings', 'ap_keys']);

// The word lists of the public schema's CHECK constraints that say "one of"
// (`x = ANY (ARRAY[…])`, `x <@ ARRAY[…]`); `<> ALL` (none of) is not a list
// of allowed words.
function checkLists() {
  const rows = sql(`SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                      FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                     WHERE c.contype = 'c' AND n.nspname = 'public'`);
  const lists = [];
  for (const [table, name, def] of rows) {
    if (INTERNAL.has(table)) continue;
    for (const m of def.matchAll(/(= ANY \(|<@ )\(?ARRAY\[([^\]]*)\]/g)) {
      const words = [...m[2].matchAll(/'((?:[^']|'')*)'::/g)].map((w) => w[1].replaceAll("''", "'"));
      lists.push({ where: `${table}.${name}`, words });
    }
  }
  return lists;
}

test('every CHECK list of words is an OpenAPI enum, word for word', async () => {
  const res = await api('GET', '/api/v1/openapi.json');
  assert.equal(res.status, 200);
  const documented = enums(res.body);
  const lists = checkLists();
  // packagings (3 tables), cash period, engagement and agreement status,
  // sides (3 tables), legal form, governance, member role
  assert.ok(lists.length >= 12, `found ${lists.length} CHECK lists`);
  for (const { where, words } of lists) {
    const same = documented.find((e) => JSON.stringify(e.words) === JSON.stringify(words));
    assert.ok(same, `${where} allows ${words.join(', ')}: no OpenAPI enum says so`);
  }
  // and every enum sharing two words with a CHECK list is that list (or,
  // when lists share words themselves, as agreement statuses and version
  // outcomes share declined and withdrawn, one of them)
  for (const e of documented) {
    const near = lists.filter(({ words }) => e.words.filter((w) => words.includes(w)).length >= 2);
    if (!near.length || near.some(({ words }) => JSON.stringify(words) === JSON.stringify(e.words))) continue;
    assert.deepEqual(e.words, near[0].words, `${e.path} differs from ${near[0].where}`);
  }
});
