-- history_entries(chain, subject): the content of every entry of an
-- agreement's or a charter's tamper-evident chain (lib/chain.c hashes and
-- links them; docs/credentials.md). One definition, replaced whole when an
-- entry kind is added or its content changes, instead of a new copy in each
-- numbered migration (0026 made it, 0031 added threads and hours).
--
-- Each purpose is named by its slug as it was when the version was written
-- (purpose_slug_at, migration 0034): the same content for every link
-- written before a rename, and after it.
--
-- A federated agreement (migration 0042) is kept on two instances whose ids
-- differ: its entries name the agreement by its federated_uri and who acted
-- by the actor URL (author_actor, decided_by_actor, closed_by_actor), never
-- by a local id, so both instances compute the same content.
CREATE OR REPLACE FUNCTION history_entries(p_chain text, p_subject bigint)
RETURNS TABLE (kind text, entry_key text, at timestamptz, ord integer, content json)
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT 'terms_version', v.version::text, v.created_at, 1, json_build_object(
               'agreement', coalesce(to_json(fa.federated_uri), to_json(v.agreement_id)),
               'version', v.version, 'role', v.role,
               'packaging', v.packaging, 'hours_per_week', v.hours_per_week, 'terms', v.terms,
               'rewards', v.rewards, 'starts_on', to_char(v.starts_on, 'YYYY-MM-DD'),
               'review_on', to_char(v.review_on, 'YYYY-MM-DD'), 'change_note', v.change_note,
               'proposed_by', v.proposed_by,
               'author', CASE WHEN fa.federated_uri IS NULL THEN to_json(v.author_id) ELSE to_json(v.author_actor) END,
               'purposes', coalesce((SELECT json_agg(s.slug ORDER BY s.slug)
                                     FROM agreement_version_purposes vp JOIN purposes p ON p.id = vp.purpose_id
                                     CROSS JOIN LATERAL (SELECT purpose_slug_at(p.id, p.slug, v.created_at) AS slug) s
                                     WHERE vp.agreement_id = v.agreement_id AND vp.version = v.version),
                                    '[]'::json),
               'at', to_char(v.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_versions v LEFT JOIN agreements fa ON fa.id = v.agreement_id
     WHERE p_chain = 'agreement' AND v.agreement_id = p_subject
    UNION ALL
    SELECT 'version_outcome', o.version::text, o.decided_at, 2, json_build_object(
               'agreement', coalesce(to_json(fa.federated_uri), to_json(o.agreement_id)),
               'version', o.version, 'outcome', o.outcome, 'side', o.side,
               'decided_by', CASE WHEN fa.federated_uri IS NULL THEN to_json(o.decided_by)
                                  ELSE to_json(o.decided_by_actor) END,
               'at', to_char(o.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_version_outcomes o LEFT JOIN agreements fa ON fa.id = o.agreement_id
     WHERE p_chain = 'agreement' AND o.agreement_id = p_subject
    UNION ALL
    SELECT 'closure', c.side, c.closed_at, 3, json_build_object(
               'agreement', coalesce(to_json(fa.federated_uri), to_json(c.agreement_id)),
               'side', c.side, 'commitments_kept', c.commitments_kept, 'note', c.note,
               'closed_by', CASE WHEN fa.federated_uri IS NULL THEN to_json(c.closed_by)
                                 ELSE to_json(c.closed_by_actor) END,
               'at', to_char(c.closed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_closures c LEFT JOIN agreements fa ON fa.id = c.agreement_id
     WHERE p_chain = 'agreement' AND c.agreement_id = p_subject
    UNION ALL
    SELECT 'charter_version', ch.version::text, ch.changed_at, 1, json_build_object(
               'organisation', ch.organisation_id, 'version', ch.version,
               'purpose_statement', ch.purpose_statement, 'association_norms', ch.association_norms,
               'change_note', ch.change_note, 'changed_by', ch.changed_by,
               'at', to_char(ch.changed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM organisation_charters ch WHERE p_chain = 'charter' AND ch.organisation_id = p_subject

    UNION ALL
    SELECT 'message', m.id::text, m.created_at, 1, json_build_object(
               'agreement', m.agreement_id, 'message', m.id, 'side', m.side, 'author', m.author_id,
               'body', m.body,
               'at', to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_messages m WHERE p_chain = 'agreement' AND m.agreement_id = p_subject
    UNION ALL
    SELECT 'hours_entry', h.id::text, h.logged_at, 1, json_build_object(
               'agreement', h.agreement_id, 'entry', h.id,
               'worked_on', to_char(h.worked_on, 'YYYY-MM-DD'), 'hours', h.hours::text,
               'note', h.note, 'side', h.side, 'logged_by', h.logged_by,
               'at', to_char(h.logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_hours h WHERE p_chain = 'agreement' AND h.agreement_id = p_subject
    UNION ALL
    SELECT 'hours_decision', d.entry_id::text, d.decided_at, 2, json_build_object(
               'agreement', h.agreement_id, 'entry', d.entry_id, 'outcome', d.outcome,
               'side', d.side, 'note', d.note, 'decided_by', d.decided_by,
               'at', to_char(d.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))
      FROM agreement_hours_decisions d JOIN agreement_hours h ON h.id = d.entry_id
     WHERE p_chain = 'agreement' AND h.agreement_id = p_subject
$$;
