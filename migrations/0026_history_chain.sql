-- 0026_history_chain: the tamper-evident history (docs/credentials.md,
-- "The agreement's history"). Every entry of an agreement's record (each
-- version of the terms, each version's outcome, each side's closure) and
-- every charter version of an organisation is a link of a hash chain: the
-- SHA-256 of its content canonicalised with JCS (RFC 8785), the hash of the
-- link before it, and its own hash over both. lib/chain.c computes and
-- checks the hashes; this file holds the links and says, once and for all,
-- what the content of each entry is.

-- One link. chain 'agreement': subject_id is an agreement's id; 'charter':
-- an organisation's. (kind, entry_key) names the entry the link stands for
-- (history_entries below). Append-only, like the record it protects.
CREATE TABLE history_links (
    chain         text NOT NULL CHECK (chain IN ('agreement', 'charter')),
    subject_id    bigint NOT NULL,
    seq           integer NOT NULL CHECK (seq >= 1),
    kind          text NOT NULL CHECK (kind IN ('terms_version', 'version_outcome', 'closure',
                                               'charter_version')),
    entry_key     text NOT NULL CHECK (char_length(entry_key) BETWEEN 1 AND 64),
    content_hash  bytea NOT NULL CHECK (length(content_hash) = 32),
    previous_hash bytea CHECK (length(previous_hash) = 32),
    hash          bytea NOT NULL CHECK (length(hash) = 32),
    recorded_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (chain, subject_id, seq),
    UNIQUE (chain, subject_id, kind, entry_key),
    -- the first link has no previous one; every other has
    CONSTRAINT history_links_previous CHECK ((seq = 1) = (previous_hash IS NULL))
);
CREATE TRIGGER history_links_append_only BEFORE UPDATE OR DELETE ON history_links
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The entries of one subject's record as they are now, with the content a
-- link's content_hash is made over. A verifier recomputes the hash from
-- this content (GET /api/v1/agreements/{id}/proof shows it), so it is a
-- format, fixed here and never changed: a change would break every chain
-- (a new format is a new kind). Times are UTC with microseconds, ids are
-- numbers, purposes their slugs in order. ord orders the entries a single
-- write makes (a new version before the outcome of the one it supersedes).
CREATE FUNCTION history_entries(p_chain text, p_subject bigint)
RETURNS TABLE (kind text, entry_key text, at timestamptz, ord integer, content json)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 'terms_version', v.version::text, v.created_at, 1, json_build_object(
               'agreement', v.agreement_id, 'version', v.version, 'role', v.role,
               'packaging', v.packaging, 'hours_per_week', v.hours_per_week, 'terms', v.terms,
               'rewards', v.rewards, 'starts_on', to_char(v.starts_on, 'YYYY-MM-DD'),
               'review_on', to_char(v.review_on, 'YYYY-MM-DD'), 'change_note', v.change_note,
               'proposed_by', v.proposed_by, 'author', v.author_id,
               'purposes', coalesce((SELECT json_agg(p.slug ORDER BY p.slug)
                                     FROM agreement_version_purposes vp JOIN purposes p ON p.id = vp.purpose_id
                                     WHERE vp.agreement_id = v.agreement_id AND vp.version = v.version),
                                    '[]'::json),
               'at', to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_versions v WHERE p_chain = 'agreement' AND v.agreement_id = p_subject
    UNION ALL
    SELECT 'version_outcome', o.version::text, o.decided_at, 2, json_build_object(
               'agreement', o.agreement_id, 'version', o.version, 'outcome', o.outcome,
               'side', o.side, 'decided_by', o.decided_by,
               'at', to_char(o.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_version_outcomes o WHERE p_chain = 'agreement' AND o.agreement_id = p_subject
    UNION ALL
    SELECT 'closure', c.side, c.closed_at, 3, json_build_object(
               'agreement', c.agreement_id, 'side', c.side, 'commitments_kept', c.commitments_kept,
               'note', c.note, 'closed_by', c.closed_by,
               'at', to_char(c.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_closures c WHERE p_chain = 'agreement' AND c.agreement_id = p_subject
    UNION ALL
    SELECT 'charter_version', ch.version::text, ch.changed_at, 1, json_build_object(
               'organisation', ch.organisation_id, 'version', ch.version,
               'purpose_statement', ch.purpose_statement, 'association_norms', ch.association_norms,
               'change_note', ch.change_note, 'changed_by', ch.changed_by,
               'at', to_char(ch.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM organisation_charters ch WHERE p_chain = 'charter' AND ch.organisation_id = p_subject
$$;
