-- 0018_moderation: running an instance (docs/moderation.md). Instance roles,
-- reports grouped into cases (one open case per reported thing), the
-- append-only moderation log, appeals, content hidden by moderators and
-- accounts suspended by them, and the instance's settings.

-- Instance administrators and moderators. ADMIN_EMAILS names more
-- administrators without a row here (lib/authz.c).
CREATE TABLE instance_roles (
    account_id bigint PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    role       text NOT NULL CHECK (role IN ('administrator', 'moderator')),
    granted_by bigint REFERENCES accounts (id) ON DELETE SET NULL,
    granted_at timestamptz NOT NULL DEFAULT now()
);

-- A suspended account cannot sign in; its sessions are revoked when it is
-- suspended and its agent profile is hidden.
ALTER TABLE accounts ADD COLUMN suspended_at timestamptz;

-- Hidden by a moderator: the thing itself (hidden_at), or what it belongs
-- to (an organisation's engagements, a suspended account's agent profile).
-- Every public read says "AND NOT x.hidden" (or hidden_at IS NULL).
ALTER TABLE organisations ADD COLUMN hidden_at timestamptz;
ALTER TABLE purposes ADD COLUMN hidden_at timestamptz;
ALTER TABLE engagements
    ADD COLUMN hidden_at timestamptz,
    ADD COLUMN organisation_hidden boolean NOT NULL DEFAULT false,
    ADD COLUMN hidden boolean GENERATED ALWAYS AS (hidden_at IS NOT NULL OR organisation_hidden) STORED;
ALTER TABLE agents
    ADD COLUMN hidden_at timestamptz,
    ADD COLUMN account_suspended boolean NOT NULL DEFAULT false,
    ADD COLUMN hidden boolean GENERATED ALWAYS AS (hidden_at IS NOT NULL OR account_suspended) STORED;
-- Charter versions are append-only: hidden ones are listed here.
CREATE TABLE hidden_charter_versions (
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    version         integer NOT NULL,
    hidden_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, version),
    FOREIGN KEY (organisation_id, version) REFERENCES organisation_charters (organisation_id, version)
);

-- What belongs to a hidden organisation or a suspended account follows it.
-- The UPDATEs fire the engagements' and agents' triggers, so the answer
-- cache (0009) and the match index (0006) hear of every row that changed.
CREATE FUNCTION moderation_organisation_hidden() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE engagements SET organisation_hidden = (NEW.hidden_at IS NOT NULL)
     WHERE organisation_id = NEW.id AND organisation_hidden <> (NEW.hidden_at IS NOT NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER moderation_organisation_hidden AFTER UPDATE OF hidden_at ON organisations
    FOR EACH ROW WHEN (OLD.hidden_at IS DISTINCT FROM NEW.hidden_at)
    EXECUTE FUNCTION moderation_organisation_hidden();

CREATE FUNCTION moderation_engagement_organisation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.organisation_hidden := EXISTS (SELECT 1 FROM organisations o
                                       WHERE o.id = NEW.organisation_id AND o.hidden_at IS NOT NULL);
    RETURN NEW;
END $$;
CREATE TRIGGER moderation_engagement_organisation BEFORE INSERT ON engagements
    FOR EACH ROW EXECUTE FUNCTION moderation_engagement_organisation();

CREATE FUNCTION moderation_account_suspended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE agents SET account_suspended = (NEW.suspended_at IS NOT NULL)
     WHERE account_id = NEW.id AND account_suspended <> (NEW.suspended_at IS NOT NULL);
    RETURN NULL;
END $$;
CREATE TRIGGER moderation_account_suspended AFTER UPDATE OF suspended_at ON accounts
    FOR EACH ROW WHEN (OLD.suspended_at IS DISTINCT FROM NEW.suspended_at)
    EXECUTE FUNCTION moderation_account_suspended();

CREATE FUNCTION moderation_agent_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.account_suspended := EXISTS (SELECT 1 FROM accounts a
                                     WHERE a.id = NEW.account_id AND a.suspended_at IS NOT NULL);
    RETURN NEW;
END $$;
CREATE TRIGGER moderation_agent_account BEFORE INSERT ON agents
    FOR EACH ROW EXECUTE FUNCTION moderation_agent_account();

-- Hidden charter versions change no cached answer (charters are not cached)
-- but a hidden purpose changes engagement answers: purposes already NOTIFY
-- on UPDATE (0009).

-- ---------- reports, grouped into cases ----------

-- The kinds of things reported and acted on: lib/vocab.c's
-- vocab_moderation_subjects (an account is reported for what its person
-- does; an agent profile for what it says).
CREATE TABLE moderation_cases (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    subject_kind    text NOT NULL CHECK (subject_kind IN ('organisation', 'engagement', 'agent_profile',
                        'purpose', 'charter_version', 'account')),
    subject_id      bigint NOT NULL,
    subject_version integer CHECK ((subject_kind = 'charter_version') = (subject_version IS NOT NULL)),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'resolved')),
    opened_at       timestamptz NOT NULL DEFAULT now(),
    resolved_at     timestamptz,
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);
CREATE UNIQUE INDEX moderation_cases_one_open
    ON moderation_cases (subject_kind, subject_id, coalesce(subject_version, 0)) WHERE status = 'open';
CREATE INDEX moderation_cases_queue ON moderation_cases (status, opened_at, id);

CREATE TABLE reports (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id     bigint NOT NULL REFERENCES moderation_cases (id),
    reporter_id bigint REFERENCES accounts (id) ON DELETE SET NULL,
    reason      text NOT NULL CHECK (reason IN ('spam', 'fake', 'abusive', 'illegal', 'misleading',
                    'other')),
    note        text NOT NULL DEFAULT '' CHECK (char_length(note) <= 2000),
    snapshot    jsonb NOT NULL,   -- the thing as it was when reported
    created_at  timestamptz NOT NULL DEFAULT now()
);
-- one report per person per case: reporting again changes nothing
CREATE UNIQUE INDEX reports_once ON reports (case_id, reporter_id);

-- ---------- the moderation log ----------

-- Every action: who (moderator_id, no reference: the log outlives
-- accounts), what, on which thing, why, and whom it concerns (affected:
-- the accounts told and allowed to appeal).
CREATE TABLE moderation_actions (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    case_id         bigint REFERENCES moderation_cases (id),
    moderator_id    bigint NOT NULL,
    action          text NOT NULL CHECK (action IN ('dismiss', 'hide', 'suspend', 'restore',
                        'grant_role', 'revoke_role')),
    subject_kind    text NOT NULL CHECK (subject_kind IN ('organisation', 'engagement', 'agent_profile',
                        'purpose', 'charter_version', 'account')),
    subject_id      bigint NOT NULL,
    subject_version integer,
    subject_label   text NOT NULL DEFAULT '',   -- slug, handle, title or email's display name then
    reason          text NOT NULL CHECK (char_length(reason) BETWEEN 1 AND 2000),
    affected        bigint[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX moderation_actions_affected_idx ON moderation_actions USING gin (affected);
CREATE TRIGGER moderation_actions_append_only BEFORE UPDATE OR DELETE ON moderation_actions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- One appeal per action, by one of the accounts it concerns.
CREATE TABLE moderation_appeals (
    action_id   bigint PRIMARY KEY REFERENCES moderation_actions (id),
    account_id  bigint REFERENCES accounts (id) ON DELETE SET NULL,
    note        text NOT NULL CHECK (char_length(note) BETWEEN 1 AND 2000),
    created_at  timestamptz NOT NULL DEFAULT now(),
    resolved_at timestamptz
);
CREATE INDEX moderation_appeals_open ON moderation_appeals (created_at) WHERE resolved_at IS NULL;

-- ---------- the instance's settings ----------

CREATE TABLE instance_settings (
    id                boolean PRIMARY KEY DEFAULT true CHECK (id),
    registration_mode text NOT NULL DEFAULT 'open'
                          CHECK (registration_mode IN ('open', 'approval', 'invitation')),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
INSERT INTO instance_settings DEFAULT VALUES;

-- ---------- what the handlers call (server/handlers/moderation.c) ----------

-- The id of the thing a report or an action names: an organisation's or
-- purpose's slug, an engagement's or account's id, an agent's handle, an
-- organisation's slug and a version for a charter version. NULL if none.
CREATE FUNCTION moderation_subject_id(p_kind text, p_target text, p_version integer)
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
    END
$$;

-- One action on one thing, all of it or nothing: the change (hide,
-- suspend, restore), the log row, the cases and appeals it settles, and the
-- notices to the accounts it concerns. Returns the log row's id and
-- 'ok', or no id and 'not-found' / 'conflict: why' / 'invalid: why'. Who
-- may do it was decided before (lib/authz.c).
CREATE FUNCTION moderation_apply(p_moderator bigint, p_action text, p_kind text, p_id bigint,
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
        v_what := CASE p_kind WHEN 'charter_version' THEN 'charter version' ELSE p_kind END;
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
