-- 0017_relationships: what happened to each version of an agreement's terms,
-- so the terms in force, a pending change and a declined or withdrawn change
-- are told apart from the record, not guessed.

-- The outcome of one version of the terms, once decided: accepted (it came
-- into force), declined or withdrawn (it never did), superseded (a newer
-- proposal replaced it before an answer). side is who decided. Append-only.
CREATE TABLE agreement_version_outcomes (
    agreement_id bigint NOT NULL,
    version      integer NOT NULL,
    outcome      text NOT NULL CHECK (outcome IN ('accepted', 'declined', 'withdrawn', 'superseded')),
    side         text NOT NULL CHECK (side IN ('agent', 'organisation')),
    decided_by   bigint REFERENCES accounts (id),
    decided_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agreement_id, version),
    FOREIGN KEY (agreement_id, version) REFERENCES agreement_versions (agreement_id, version)
);
CREATE TRIGGER agreement_version_outcomes_append_only BEFORE UPDATE OR DELETE ON agreement_version_outcomes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- What the record already tells of agreements made before this table: the
-- version in force was accepted by the side that did not propose it; the
-- final version of a declined or withdrawn proposal ended so; a later
-- version left behind by an active or concluded agreement was declined or
-- withdrawn, as the last notification about it says.
INSERT INTO agreement_version_outcomes (agreement_id, version, outcome, side, decided_at)
SELECT a.id, a.active_version, 'accepted',
       CASE v.proposed_by WHEN 'agent' THEN 'organisation' ELSE 'agent' END, a.updated_at
FROM agreements a JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = a.active_version
WHERE a.active_version IS NOT NULL;
INSERT INTO agreement_version_outcomes (agreement_id, version, outcome, side, decided_at)
SELECT a.id, a.terms_version, a.status,
       CASE WHEN a.status = 'withdrawn' THEN a.proposed_by
            WHEN a.proposed_by = 'agent' THEN 'organisation' ELSE 'agent' END, a.updated_at
FROM agreements a WHERE a.status IN ('declined', 'withdrawn');
INSERT INTO agreement_version_outcomes (agreement_id, version, outcome, side, decided_at)
SELECT a.id, a.terms_version, n.outcome,
       CASE WHEN n.outcome = 'withdrawn' THEN a.proposed_by
            WHEN a.proposed_by = 'agent' THEN 'organisation' ELSE 'agent' END, n.created_at
FROM agreements a
CROSS JOIN LATERAL (SELECT CASE x.kind WHEN 'agreement_declined' THEN 'declined' ELSE 'withdrawn' END AS outcome,
                           x.created_at
                    FROM notifications x WHERE x.agreement_id = a.id
                     AND x.kind IN ('agreement_declined', 'agreement_withdrawn')
                    ORDER BY x.id DESC LIMIT 1) n
WHERE a.status IN ('active', 'concluded') AND a.terms_version > a.active_version;
