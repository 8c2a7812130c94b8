-- The distribution column where Citus would need it (docs/scaling.md,
-- "Past one primary: Citus"): the rows that hang off an engagement or an
-- agreement carry their organisation_id, and their foreign keys to the
-- parent include it, so that distributing by organisation keeps each of
-- them on its parent's node. Nothing a user sees changes: the column is
-- copied from the parent on insert (a trigger, whatever the inserter says,
-- as engagement_purposes_fill has done since 0007 for created_at and
-- status), and the history chains hash named columns, never whole rows, so
-- every version's content and hash are unchanged.
--
-- The single-column foreign keys to the parents are replaced by the
-- composite ones (same guarantee, one check per row as before); the parents
-- keep their id-only keys, which other tables still reference (on Citus
-- those references, from tables distributed by account, would go: see
-- docs/scaling.md).

-- ---------- the parents: (organisation_id, id) is unique ----------
ALTER TABLE engagements ADD CONSTRAINT engagements_organisation_id_id_key UNIQUE (organisation_id, id);
ALTER TABLE agreements ADD CONSTRAINT agreements_organisation_id_id_key UNIQUE (organisation_id, id);

-- ---------- the copy on insert ----------
-- Also under session_replication_role = replica (ENABLE ALWAYS below): bulk
-- loads (bench/generate.sql) run with triggers off and name no
-- organisation_id.
CREATE OR REPLACE FUNCTION engagement_purposes_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT e.created_at, e.status, e.organisation_id
      INTO NEW.created_at, NEW.status, NEW.organisation_id
      FROM engagements e WHERE e.id = NEW.engagement_id;
    RETURN NEW;
END $$;

CREATE FUNCTION agreement_organisation_fill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    SELECT a.organisation_id INTO NEW.organisation_id FROM agreements a WHERE a.id = NEW.agreement_id;
    RETURN NEW;
END $$;

-- ---------- engagement_purposes ----------
ALTER TABLE engagement_purposes ADD COLUMN organisation_id bigint;
ALTER TABLE engagement_purposes DISABLE TRIGGER USER; -- the change log and cache triggers: nothing changed
UPDATE engagement_purposes ep SET organisation_id = e.organisation_id
  FROM engagements e WHERE e.id = ep.engagement_id;
ALTER TABLE engagement_purposes ENABLE TRIGGER USER;
ALTER TABLE engagement_purposes ENABLE ALWAYS TRIGGER engagement_purposes_fill;
ALTER TABLE engagement_purposes ALTER COLUMN organisation_id SET NOT NULL;
ALTER TABLE engagement_purposes DROP CONSTRAINT engagement_purposes_engagement_id_fkey;
ALTER TABLE engagement_purposes ADD CONSTRAINT engagement_purposes_engagement_fkey
    FOREIGN KEY (organisation_id, engagement_id) REFERENCES engagements (organisation_id, id) ON DELETE CASCADE;

-- ---------- the agreement tables ----------
-- Each: add the column, fill it from its agreement (the append-only
-- triggers are off for this one update), the copy on insert, NOT NULL, and
-- the foreign key to its parent with organisation_id.
CREATE FUNCTION pg_temp.agreement_child(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ADD COLUMN organisation_id bigint', t);
    EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', t);
    EXECUTE format('UPDATE %s c SET organisation_id = a.organisation_id FROM agreements a'
                   ' WHERE a.id = c.agreement_id', t);
    EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', t);
    EXECUTE format('ALTER TABLE %s ALTER COLUMN organisation_id SET NOT NULL', t);
    EXECUTE format('CREATE TRIGGER %I BEFORE INSERT OR UPDATE OF agreement_id ON %s'
                   ' FOR EACH ROW EXECUTE FUNCTION agreement_organisation_fill()', t::text || '_organisation', t);
    EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER %I', t, t::text || '_organisation');
END $$;
SELECT pg_temp.agreement_child(t) FROM unnest(ARRAY[
    'agreement_versions', 'agreement_version_purposes', 'agreement_version_outcomes',
    'agreement_renewals', 'agreement_closures', 'agreement_hours', 'agreement_messages',
    'agreement_message_reads']::regclass[]) AS t;

ALTER TABLE agreement_versions ADD CONSTRAINT agreement_versions_organisation_id_key
    UNIQUE (organisation_id, agreement_id, version);

ALTER TABLE agreement_versions DROP CONSTRAINT agreement_versions_agreement_id_fkey;
ALTER TABLE agreement_versions ADD CONSTRAINT agreement_versions_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);
ALTER TABLE agreement_closures DROP CONSTRAINT agreement_closures_agreement_id_fkey;
ALTER TABLE agreement_closures ADD CONSTRAINT agreement_closures_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);
ALTER TABLE agreement_hours DROP CONSTRAINT agreement_hours_agreement_id_fkey;
ALTER TABLE agreement_hours ADD CONSTRAINT agreement_hours_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);
ALTER TABLE agreement_messages DROP CONSTRAINT agreement_messages_agreement_id_fkey;
ALTER TABLE agreement_messages ADD CONSTRAINT agreement_messages_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);
ALTER TABLE agreement_message_reads DROP CONSTRAINT agreement_message_reads_agreement_id_fkey;
ALTER TABLE agreement_message_reads ADD CONSTRAINT agreement_message_reads_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);

ALTER TABLE agreement_version_purposes DROP CONSTRAINT agreement_version_purposes_agreement_id_version_fkey;
ALTER TABLE agreement_version_purposes ADD CONSTRAINT agreement_version_purposes_version_fkey
    FOREIGN KEY (organisation_id, agreement_id, version)
    REFERENCES agreement_versions (organisation_id, agreement_id, version);
ALTER TABLE agreement_version_outcomes DROP CONSTRAINT agreement_version_outcomes_agreement_id_version_fkey;
ALTER TABLE agreement_version_outcomes ADD CONSTRAINT agreement_version_outcomes_version_fkey
    FOREIGN KEY (organisation_id, agreement_id, version)
    REFERENCES agreement_versions (organisation_id, agreement_id, version);
ALTER TABLE agreement_renewals DROP CONSTRAINT agreement_renewals_agreement_id_version_fkey;
ALTER TABLE agreement_renewals ADD CONSTRAINT agreement_renewals_version_fkey
    FOREIGN KEY (organisation_id, agreement_id, version)
    REFERENCES agreement_versions (organisation_id, agreement_id, version);
