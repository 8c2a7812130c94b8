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
-- engagement_purposes: organisation_id NOT NULL, and its single-column
-- foreign key to engagements is replaced by the composite one (same
-- guarantee, one check per row as before). The agreement tables: the
-- column is NULL where the agreement's is (an agreement kept here for an
-- organisation on another instance has none), so they keep their
-- single-column foreign keys, which check every row, and gain the
-- composite ones, which check the rows that have an organisation. The
-- parents keep their id-only keys, which other tables still reference (on
-- Citus those references, from tables distributed by account, would go:
-- see docs/scaling.md).

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
-- triggers are off for this one update), the copy on insert, and the
-- foreign key to its parent with organisation_id, next to the one without.
CREATE FUNCTION pg_temp.agreement_child(t regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('ALTER TABLE %s ADD COLUMN organisation_id bigint', t);
    EXECUTE format('ALTER TABLE %s DISABLE TRIGGER USER', t);
    EXECUTE format('UPDATE %s c SET organisation_id = a.organisation_id FROM agreements a'
                   ' WHERE a.id = c.agreement_id', t);
    EXECUTE format('ALTER TABLE %s ENABLE TRIGGER USER', t);
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

ALTER TABLE agreement_versions ADD CONSTRAINT agreement_versions_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);
ALTER TABLE agreement_closures ADD CONSTRAINT agreement_closures_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);
ALTER TABLE agreement_hours ADD CONSTRAINT agreement_hours_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);
ALTER TABLE agreement_messages ADD CONSTRAINT agreement_messages_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);
ALTER TABLE agreement_message_reads ADD CONSTRAINT agreement_message_reads_agreement_fkey
    FOREIGN KEY (organisation_id, agreement_id) REFERENCES agreements (organisation_id, id);

ALTER TABLE agreement_version_purposes ADD CONSTRAINT agreement_version_purposes_version_fkey
    FOREIGN KEY (organisation_id, agreement_id, version)
    REFERENCES agreement_versions (organisation_id, agreement_id, version);
ALTER TABLE agreement_version_outcomes ADD CONSTRAINT agreement_version_outcomes_version_fkey
    FOREIGN KEY (organisation_id, agreement_id, version)
    REFERENCES agreement_versions (organisation_id, agreement_id, version);
ALTER TABLE agreement_renewals ADD CONSTRAINT agreement_renewals_version_fkey
    FOREIGN KEY (organisation_id, agreement_id, version)
    REFERENCES agreement_versions (organisation_id, agreement_id, version);

-- ---------- the fan-out: a job drains the queue, not one post ----------
-- Until now every post with followers queued a job of its own (0027), and
-- each job's claim and completion were two more committed transactions
-- per post (the write benchmark: about a third of PostgreSQL's CPU per
-- post). Now a post queues a job only when none is waiting, and the job
-- (lib/fanout.c) drains the whole queue. What a waiting job leaves behind:
-- a post that saw the job waiting and commits after the job's worker last
-- looked at the queue. So a post holds this lock (shared) from before it
-- looks until its commit, and the worker, once its claim is committed,
-- takes it exclusively (fan_out_barrier) before it drains: every post that
-- saw the job waiting has committed by then, and every later post sees it
-- running and queues the next one. The notifications, their order and the
-- reader's own fan-out are unchanged.
CREATE INDEX jobs_fan_out_queued_idx ON jobs (id) WHERE kind = 'fan_out' AND state = 'queued';

CREATE OR REPLACE FUNCTION engagements_notify_followers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM engagements e WHERE e.id = NEW.id AND e.status = 'open')
       AND EXISTS (SELECT 1 FROM follows f WHERE f.organisation_id = NEW.organisation_id) THEN
        INSERT INTO engagement_fan_outs (organisation_id, engagement_id)
        VALUES (NEW.organisation_id, NEW.id) ON CONFLICT DO NOTHING;
        PERFORM pg_advisory_xact_lock_shared(hashtext('engagement_fan_outs'));
        IF NOT EXISTS (SELECT 1 FROM jobs j WHERE j.kind = 'fan_out' AND j.state = 'queued') THEN
            PERFORM job_enqueue('fan_out', jsonb_build_object('engagement_id', NEW.id));
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- The worker's first statement after its claim: returns once every post
-- that may have seen its job waiting has committed.
CREATE FUNCTION fan_out_barrier() RETURNS void LANGUAGE sql AS $$
    SELECT pg_advisory_xact_lock(hashtext('engagement_fan_outs'))
$$;
