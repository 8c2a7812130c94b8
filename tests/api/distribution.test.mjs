// The distribution column (docs/scaling.md, "Past one primary: Citus";
// migration 0045): the rows that hang off an engagement or an agreement
// carry the organisation, copied from the parent whatever the inserter
// says, and a foreign key to the parent includes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { api, newUser, sql, unique } from './helpers.mjs';

const CHILDREN = {
  engagement_purposes: 'engagements',
  engagement_search: 'engagements',
  engagement_docs: 'engagements',
  agreement_versions: 'agreements',
  agreement_closures: 'agreements',
  agreement_hours: 'agreements',
  agreement_messages: 'agreements',
  agreement_message_reads: 'agreements',
  agreement_version_purposes: 'agreement_versions',
  agreement_version_outcomes: 'agreement_versions',
  agreement_renewals: 'agreement_versions',
};

test('each child table has organisation_id and a foreign key to its parent that starts with it', () => {
  for (const [child, parent] of Object.entries(CHILDREN)) {
    const [[notNull]] = sql(`SELECT attnotnull FROM pg_attribute
      WHERE attrelid = '${child}'::regclass AND attname = 'organisation_id' AND NOT attisdropped`);
    // NULL on an agreement's rows where the agreement has none (kept here
    // for an organisation on another instance); an engagement always has one
    assert.equal(notNull, parent === 'engagements' ? 't' : 'f', `${child}.organisation_id nullability`);
    const keys = sql(`SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
      WHERE c.conrelid = '${child}'::regclass AND c.confrelid = '${parent}'::regclass AND c.contype = 'f'`).map((r) => r[0]);
    assert.ok(keys.some((k) => /^FOREIGN KEY \(organisation_id, /.test(k)), `${child} -> ${parent} with organisation_id: ${keys}`);
    // engagement_purposes: the composite key replaced the id-only one
    if (parent === 'engagements') assert.equal(keys.length, 1, keys.join('; '));
  }
});

test('a posted engagement\'s purposes carry its organisation, whatever an insert names', async () => {
  const owner = await newUser('Distribution Owner');
  const purpose = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `Purpose ${unique('p')}`, description: 'A cause.' } });
  assert.equal(purpose.status, 201, purpose.text);
  const org = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Org ${unique('o')}`, slug: unique('org'), purpose_statement: 'Do good.', purposes: [purpose.body.slug], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(org.status, 201, org.text);
  const posted = await api('POST', `/api/v1/organisations/${org.body.slug}/engagements`, {
    token: owner.token,
    body: { title: 'Keys', description: 'Carry the organisation.', purposes: [purpose.body.slug], packagings: ['volunteer'], hours_per_week: 2 },
  });
  assert.equal(posted.status, 201, posted.text);
  const [[orgId]] = sql(`SELECT id FROM organisations WHERE slug = '${org.body.slug}'`);
  assert.deepEqual(sql(`SELECT organisation_id FROM engagement_purposes WHERE engagement_id = ${posted.body.id}`), [[orgId]]);
  // an insert that names another organisation still gets the engagement's
  const purpose2 = await api('POST', '/api/v1/purposes', { token: owner.token, body: { name: `Purpose ${unique('p')}`, description: 'Another cause.' } });
  assert.equal(purpose2.status, 201, purpose2.text);
  const [[p2]] = sql(`SELECT id FROM purposes WHERE slug = '${purpose2.body.slug}'`);
  const org2 = await api('POST', '/api/v1/organisations', {
    token: owner.token,
    body: { name: `Org ${unique('o')}`, slug: unique('org'), purpose_statement: 'Do other good.', purposes: [purpose.body.slug], legal_form: 'nonprofit', governance: 'consent_based' },
  });
  assert.equal(org2.status, 201, org2.text);
  const [[other]] = sql(`SELECT id FROM organisations WHERE slug = '${org2.body.slug}'`);
  assert.deepEqual(sql(`INSERT INTO engagement_purposes (engagement_id, purpose_id, organisation_id)
    VALUES (${posted.body.id}, ${p2}, ${other}) RETURNING organisation_id`), [[orgId]]);
});

test('every agreement row written so far carries its agreement\'s organisation', () => {
  for (const [child, parent] of Object.entries(CHILDREN)) {
    if (parent === 'engagements') continue;
    const [[wrong]] = sql(`SELECT count(*) FROM ${child} c JOIN agreements a ON a.id = c.agreement_id
      WHERE c.organisation_id IS DISTINCT FROM a.organisation_id`);
    assert.equal(wrong, '0', child);
  }
});

// A foreign key without an index on the referencing side makes every
// delete of a parent row scan the child table (the engagements bench/run
// deletes after its write test: 30 ms each at scale 10 through
// agreements.remote_engagement_id, until migration 0049).
test('every foreign key to engagements or agreements has an index on the referencing side', () => {
  const unindexed = sql(`SELECT c.conrelid::regclass::text || '.' || c.conname FROM pg_constraint c
    WHERE c.contype = 'f' AND c.confrelid IN ('engagements'::regclass, 'agreements'::regclass)
      AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = ANY (c.conkey))
    ORDER BY 1`).map(([k]) => k);
  assert.deepEqual(unindexed, []);
});
