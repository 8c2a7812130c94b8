-- 0040_message_reports: a message is a report subject of its own (issue 19;
-- docs/moderation.md). Two kinds, one per table of messages, so that the
-- target is the message's id as an engagement's is: agreement_message
-- (agreement_messages, 0028) and engagement_message (engagement_messages).
-- Messages are append-only: hiding one never changes its row (an agreement's
-- message is a link of its hash-chained history, 0031) but lists it here
-- (one of the two ids), as hidden charter versions are; restoring removes it
-- from here. Deleting an engagement takes its threads and these rows.
CREATE TABLE hidden_messages (
    agreement_message_id  bigint UNIQUE REFERENCES agreement_messages (id),
    engagement_message_id bigint UNIQUE REFERENCES engagement_messages (id) ON DELETE CASCADE,
    hidden_at             timestamptz NOT NULL DEFAULT now(),
    CHECK (num_nonnulls(agreement_message_id, engagement_message_id) = 1)
);

ALTER TABLE moderation_cases DROP CONSTRAINT moderation_cases_subject_kind_check;
ALTER TABLE moderation_cases ADD CONSTRAINT moderation_cases_subject_kind_check
    CHECK (subject_kind IN ('organisation', 'engagement', 'agent_profile', 'purpose',
                            'charter_version', 'account', 'agreement_message',
                            'engagement_message'));
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_subject_kind_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_subject_kind_check
    CHECK (subject_kind IN ('organisation', 'engagement', 'agent_profile', 'purpose',
                            'charter_version', 'account', 'skill', 'agreement_message',
                            'engagement_message'));

-- Whether account p_account reads the thread of message p_id: a party to
-- the agreement (its agent, a member of its organisation), or, for a
-- question about an engagement, the asking agent (while the engagement is
-- not hidden) or a member of the engagement's organisation. As the
-- pipeline (authz_agreement) and engagement_questions.c decide it.
CREATE FUNCTION message_readable(p_kind text, p_id bigint, p_account bigint)
RETURNS boolean LANGUAGE sql STABLE AS $$
    SELECT CASE p_kind
        WHEN 'agreement_message' THEN EXISTS (
            SELECT 1 FROM agreement_messages m JOIN agreements a ON a.id = m.agreement_id
              JOIN agents g ON g.id = a.agent_id
             WHERE m.id = p_id AND (g.account_id = p_account OR EXISTS (
                   SELECT 1 FROM memberships ms WHERE ms.organisation_id = a.organisation_id
                      AND ms.account_id = p_account)))
        WHEN 'engagement_message' THEN EXISTS (
            SELECT 1 FROM engagement_messages m JOIN engagements e ON e.id = m.engagement_id
              JOIN agents g ON g.id = m.agent_id
             WHERE m.id = p_id AND ((g.account_id = p_account AND NOT e.hidden) OR EXISTS (
                   SELECT 1 FROM memberships ms WHERE ms.organisation_id = e.organisation_id
                      AND ms.account_id = p_account)))
        ELSE false
    END
$$;

-- As in 0018, and a message by its id.
CREATE OR REPLACE FUNCTION moderation_subject_id(p_kind text, p_target text, p_version integer)
RETURNS bigint LANGUAGE sql STABLE AS $$
    SELECT CASE p_kind
        WHEN 'organisation' THEN (SELECT id FROM organisations WHERE slug = p_target)
        WHEN 'purpose' THEN (SELECT id FROM purposes WHERE slug = p_target)
        WHEN 'agent_profile' THEN (SELECT g.id FROM agents g JOIN accounts a ON a.id = g.account_id
                           WHERE g.handle = p_target AND a.deleted_at IS NULL)
        WHEN 'engagement' THEN (SELECT id FROM engagements
                                WHERE p_target ~ '^[1-9][0-9]{0,17}$' AND id = p_target::bigint)
        WHEN 'account' THEN (SELECT id FROM accounts WHERE deleted_at IS NULL
                             AND p_target ~ '^[1-9][0-9]{0,17}$' AND id = p_target::bigint)
        WHEN 'charter_version' THEN (SELECT c.organisation_id FROM organisation_charters c
                                     JOIN organisations o ON o.id = c.organisation_id
                                     WHERE o.slug = p_target AND c.version = p_version)
        WHEN 'agreement_message' THEN (SELECT id FROM agreement_messages
                                WHERE p_target ~ '^[1-9][0-9]{0,17}$' AND id = p_target::bigint)
        WHEN 'engagement_message' THEN (SELECT id FROM engagement_messages
                                WHERE p_target ~ '^[1-9][0-9]{0,17}$' AND id = p_target::bigint)
    END
$$;

-- As in 0018, and messages: their label is the start of the body, their
-- owner the author, hiding lists them in hidden_messages.
CREATE OR REPLACE FUNCTION moderation_apply(p_moderator bigint, p_action text, p_kind text, p_id bigint,
                                 p_version integer, p_case bigint, p_reason text)
RETURNS TABLE (action_id bigint, outcome text) LANGUAGE plpgsql AS $$
DECLARE
    v_label  text;
    v_hidden boolean;
    v_owners bigint[];
    v_org    bigint;
    v_id     bigint;
    v_what   text;
    v_settled integer := 0;
BEGIN
    IF p_kind = 'organisation' THEN
        SELECT o.slug, o.hidden_at IS NOT NULL, o.id INTO v_label, v_hidden, v_org
          FROM organisations o WHERE o.id = p_id FOR UPDATE;
    ELSIF p_kind = 'engagement' THEN
        SELECT e.title, e.hidden_at IS NOT NULL, e.organisation_id INTO v_label, v_hidden, v_org
          FROM engagements e WHERE e.id = p_id FOR UPDATE;
    ELSIF p_kind = 'charter_version' THEN
        SELECT o.slug || ' v' || c.version,
               EXISTS (SELECT 1 FROM hidden_charter_versions h
                        WHERE h.organisation_id = c.organisation_id AND h.version = c.version),
               o.id
          INTO v_label, v_hidden, v_org
          FROM organisation_charters c JOIN organisations o ON o.id = c.organisation_id
         WHERE c.organisation_id = p_id AND c.version = p_version;
    ELSIF p_kind = 'agent_profile' THEN
        SELECT g.handle, g.hidden_at IS NOT NULL, ARRAY[g.account_id] INTO v_label, v_hidden, v_owners
          FROM agents g WHERE g.id = p_id FOR UPDATE;
    ELSIF p_kind = 'purpose' THEN
        SELECT p.slug, p.hidden_at IS NOT NULL,
               CASE WHEN p.created_by IS NULL THEN '{}'::bigint[] ELSE ARRAY[p.created_by] END
          INTO v_label, v_hidden, v_owners FROM purposes p WHERE p.id = p_id FOR UPDATE;
    ELSIF p_kind = 'account' THEN
        SELECT a.display_name, a.suspended_at IS NOT NULL, ARRAY[a.id] INTO v_label, v_hidden, v_owners
          FROM accounts a WHERE a.id = p_id AND a.deleted_at IS NULL FOR UPDATE;
    ELSIF p_kind = 'agreement_message' THEN
        SELECT left(m.body, 60),
               EXISTS (SELECT 1 FROM hidden_messages h WHERE h.agreement_message_id = m.id),
               ARRAY[m.author_id]
          INTO v_label, v_hidden, v_owners FROM agreement_messages m WHERE m.id = p_id FOR UPDATE;
    ELSIF p_kind = 'engagement_message' THEN
        SELECT left(m.body, 60),
               EXISTS (SELECT 1 FROM hidden_messages h WHERE h.engagement_message_id = m.id),
               ARRAY[m.author_id]
          INTO v_label, v_hidden, v_owners FROM engagement_messages m WHERE m.id = p_id FOR UPDATE;
    END IF;
    IF v_label IS NULL THEN
        RETURN QUERY SELECT NULL::bigint, 'not-found'::text;
        RETURN;
    END IF;
    IF v_org IS NOT NULL THEN
        v_owners := ARRAY(SELECT m.account_id FROM memberships m
                           WHERE m.organisation_id = v_org AND m.role = 'owner' ORDER BY 1);
    END IF;

    IF p_action IN ('hide', 'suspend') AND v_hidden THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: it is already ' ||
            CASE p_action WHEN 'hide' THEN 'hidden' ELSE 'suspended' END;
        RETURN;
    ELSIF p_action = 'restore' AND NOT v_hidden THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: it is neither hidden nor suspended';
        RETURN;
    ELSIF p_action = 'hide' AND p_kind = 'account' THEN
        RETURN QUERY SELECT NULL::bigint, 'invalid: an account is suspended, not hidden';
        RETURN;
    ELSIF p_action = 'suspend' AND p_kind <> 'account' THEN
        RETURN QUERY SELECT NULL::bigint, 'invalid: only an account is suspended (kind "account")';
        RETURN;
    ELSIF p_action = 'hide' AND p_kind = 'charter_version'
          AND EXISTS (SELECT 1 FROM organisations o WHERE o.id = p_id AND o.charter_version = p_version) THEN
        RETURN QUERY SELECT NULL::bigint,
            'conflict: this is the organisation''s current charter; hide the organisation instead';
        RETURN;
    END IF;

    -- the change
    IF p_action = 'hide' OR (p_action = 'restore' AND p_kind <> 'account') THEN
        IF p_kind = 'organisation' THEN
            UPDATE organisations SET hidden_at = CASE p_action WHEN 'hide' THEN now() END WHERE id = p_id;
        ELSIF p_kind = 'engagement' THEN
            UPDATE engagements SET hidden_at = CASE p_action WHEN 'hide' THEN now() END WHERE id = p_id;
        ELSIF p_kind = 'agent_profile' THEN
            UPDATE agents SET hidden_at = CASE p_action WHEN 'hide' THEN now() END WHERE id = p_id;
        ELSIF p_kind = 'purpose' THEN
            UPDATE purposes SET hidden_at = CASE p_action WHEN 'hide' THEN now() END WHERE id = p_id;
        ELSIF p_kind = 'agreement_message' AND p_action = 'hide' THEN
            INSERT INTO hidden_messages (agreement_message_id) VALUES (p_id);
        ELSIF p_kind = 'engagement_message' AND p_action = 'hide' THEN
            INSERT INTO hidden_messages (engagement_message_id) VALUES (p_id);
        ELSIF p_kind = 'agreement_message' THEN
            DELETE FROM hidden_messages WHERE agreement_message_id = p_id;
        ELSIF p_kind = 'engagement_message' THEN
            DELETE FROM hidden_messages WHERE engagement_message_id = p_id;
        ELSIF p_action = 'hide' THEN
            INSERT INTO hidden_charter_versions (organisation_id, version) VALUES (p_id, p_version);
        ELSE
            DELETE FROM hidden_charter_versions WHERE organisation_id = p_id AND version = p_version;
        END IF;
    ELSIF p_action IN ('suspend', 'restore') THEN
        UPDATE accounts SET suspended_at = CASE p_action WHEN 'suspend' THEN now() END WHERE id = p_id;
        IF p_action = 'suspend' THEN
            UPDATE sessions SET revoked_at = now() WHERE account_id = p_id AND revoked_at IS NULL;
        END IF;
    END IF;

    -- what it settles: the open cases of the thing (not by a restore), its
    -- open appeals (not by a hide or suspension). A dismissal must settle something.
    IF p_action IN ('dismiss', 'hide', 'suspend') THEN
        UPDATE moderation_cases SET status = 'resolved', resolved_at = now()
         WHERE status = 'open' AND subject_kind = p_kind AND subject_id = p_id
           AND coalesce(subject_version, 0) = coalesce(p_version, 0);
        GET DIAGNOSTICS v_settled = ROW_COUNT;
    END IF;
    IF p_action IN ('dismiss', 'restore') THEN
        UPDATE moderation_appeals ap SET resolved_at = now() FROM moderation_actions a
         WHERE ap.action_id = a.id AND ap.resolved_at IS NULL AND a.subject_kind = p_kind
           AND a.subject_id = p_id AND coalesce(a.subject_version, 0) = coalesce(p_version, 0);
        IF p_action = 'dismiss' THEN
            GET DIAGNOSTICS v_id = ROW_COUNT;
            v_settled := v_settled + v_id;
        END IF;
    END IF;
    IF p_action = 'dismiss' AND v_settled = 0 THEN
        RETURN QUERY SELECT NULL::bigint, 'conflict: no open report or appeal concerns it';
        RETURN;
    END IF;

    INSERT INTO moderation_actions (case_id, moderator_id, action, subject_kind, subject_id,
                                    subject_version, subject_label, reason, affected)
    VALUES (p_case, p_moderator, p_action, p_kind, p_id, p_version, v_label, p_reason,
            CASE WHEN p_action = 'dismiss' THEN '{}'::bigint[] ELSE v_owners END)
    RETURNING id INTO v_id;

    -- the notice to whom it concerns (a dismissal changes nothing of theirs)
    IF p_action <> 'dismiss' THEN
        v_what := CASE p_kind WHEN 'charter_version' THEN 'charter version'
                              WHEN 'agreement_message' THEN 'message'
                              WHEN 'engagement_message' THEN 'message' ELSE p_kind END;
        INSERT INTO notifications (account_id, kind, message, payload)
        SELECT o, 'moderation',
               left(CASE p_action
                   WHEN 'hide' THEN 'A moderator hid your ' || v_what || ' "' || v_label || '": '
                   WHEN 'suspend' THEN 'A moderator suspended your account: '
                   ELSE 'A moderator restored your ' || v_what || ' "' || v_label || '": ' END
                   || p_reason, 1000),
               jsonb_build_object('moderation_action', v_id, 'action', p_action,
                                  'subject_kind', p_kind, 'subject', v_label)
          FROM unnest(v_owners) AS o;
    END IF;
    RETURN QUERY SELECT v_id, 'ok'::text;
END $$;
