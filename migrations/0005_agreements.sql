-- 0005_agreements: relationship agreements between an agent and an
-- organisation, every version of their terms (append-only), the closures
-- each side records, notifications, and the agent's track record.

-- One agreement. terms_version is the latest version of the terms (the
-- pending one while status is 'proposed'); active_version is the version in
-- force (NULL until a version is first accepted). proposed_by is the side
-- that proposed the latest version. The state machine is lib/agreement.c.
CREATE TABLE agreements (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    agent_id        bigint NOT NULL REFERENCES agents (id),
    engagement_id   bigint REFERENCES engagements (id),
    status          text NOT NULL DEFAULT 'proposed' CHECK (status IN ('proposed', 'active',
                        'declined', 'withdrawn', 'concluded')),
    proposed_by     text NOT NULL CHECK (proposed_by IN ('agent', 'organisation')),
    terms_version   integer NOT NULL DEFAULT 1 CHECK (terms_version >= 1),
    active_version  integer CHECK (active_version IS NULL OR active_version BETWEEN 1 AND terms_version),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    CONSTRAINT agreements_in_force CHECK (status NOT IN ('active', 'concluded') OR active_version IS NOT NULL),
    CONSTRAINT agreements_never_in_force CHECK (status NOT IN ('declined', 'withdrawn') OR active_version IS NULL)
);
-- At most one open (proposed or active) agreement per agent, organisation and engagement.
CREATE UNIQUE INDEX agreements_open_key ON agreements (agent_id, organisation_id, coalesce(engagement_id, 0))
    WHERE status IN ('proposed', 'active');
CREATE INDEX agreements_agent_idx ON agreements (agent_id, id DESC);
CREATE INDEX agreements_organisation_idx ON agreements (organisation_id, id DESC);
CREATE INDEX agreements_engagement_idx ON agreements (engagement_id) WHERE engagement_id IS NOT NULL;

-- Every version of the terms, as proposed. Append-only.
CREATE TABLE agreement_versions (
    agreement_id   bigint NOT NULL REFERENCES agreements (id),
    version        integer NOT NULL CHECK (version >= 1),
    role           text NOT NULL CHECK (char_length(role) BETWEEN 1 AND 200),
    packaging      text NOT NULL CHECK (packaging IN ('employment', 'partnership', 'consulting',
                       'interim', 'volunteer')),
    hours_per_week integer NOT NULL CHECK (hours_per_week BETWEEN 1 AND 80),
    terms          text NOT NULL CHECK (char_length(terms) BETWEEN 1 AND 20000),
    rewards        jsonb NOT NULL DEFAULT '{"cash": null, "non_cash": []}'
                       CHECK (jsonb_typeof(rewards) = 'object'),
    starts_on      date NOT NULL,
    review_on      date,
    change_note    text CHECK (change_note IS NULL OR char_length(change_note) <= 1000),
    proposed_by    text NOT NULL CHECK (proposed_by IN ('agent', 'organisation')),
    author_id      bigint NOT NULL REFERENCES accounts (id),
    created_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agreement_id, version),
    CONSTRAINT agreement_versions_review_after_start CHECK (review_on IS NULL OR review_on >= starts_on)
);
CREATE TRIGGER agreement_versions_append_only BEFORE UPDATE OR DELETE ON agreement_versions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The purposes a version of the terms serves. Append-only with its version.
CREATE TABLE agreement_version_purposes (
    agreement_id bigint NOT NULL,
    version      integer NOT NULL,
    purpose_id   bigint NOT NULL REFERENCES purposes (id),
    PRIMARY KEY (agreement_id, version, purpose_id),
    FOREIGN KEY (agreement_id, version) REFERENCES agreement_versions (agreement_id, version)
);
CREATE INDEX agreement_version_purposes_purpose_idx ON agreement_version_purposes (purpose_id);
CREATE TRIGGER agreement_version_purposes_append_only BEFORE UPDATE OR DELETE ON agreement_version_purposes
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The versions an agreement points at exist (checked at commit: the
-- agreement and its first version are written by one statement).
ALTER TABLE agreements
    ADD CONSTRAINT agreements_terms_version_fkey FOREIGN KEY (id, terms_version)
        REFERENCES agreement_versions (agreement_id, version) DEFERRABLE INITIALLY DEFERRED,
    ADD CONSTRAINT agreements_active_version_fkey FOREIGN KEY (id, active_version)
        REFERENCES agreement_versions (agreement_id, version) DEFERRABLE INITIALLY DEFERRED;

-- How each side closed a concluded agreement: once per side. Append-only.
CREATE TABLE agreement_closures (
    agreement_id     bigint NOT NULL REFERENCES agreements (id),
    side             text NOT NULL CHECK (side IN ('agent', 'organisation')),
    commitments_kept boolean NOT NULL,
    note             text NOT NULL DEFAULT '' CHECK (char_length(note) <= 2000),
    closed_by        bigint NOT NULL REFERENCES accounts (id),
    closed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agreement_id, side)
);
CREATE TRIGGER agreement_closures_append_only BEFORE UPDATE OR DELETE ON agreement_closures
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Things that happened that an account should know about (written in the
-- transaction that made them happen).
CREATE TABLE notifications (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind         text NOT NULL CHECK (kind ~ '^[a-z_]{1,64}$'),
    agreement_id bigint REFERENCES agreements (id),
    message      text NOT NULL CHECK (char_length(message) <= 1000),
    payload      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    read_at      timestamptz
);
CREATE INDEX notifications_account_idx ON notifications (account_id, id DESC);
CREATE INDEX notifications_unread_idx ON notifications (account_id, id) WHERE read_at IS NULL;

-- The public track record of an agent: how many agreements were concluded,
-- and in how many both sides recorded that commitments were kept. Never
-- terms or organisations.
CREATE FUNCTION agent_track_record(p_agent_id bigint) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'concluded', count(*),
        'commitments_kept', count(*) FILTER (WHERE (
            SELECT count(*) FROM agreement_closures c
            WHERE c.agreement_id = a.id AND c.commitments_kept) = 2))
    FROM agreements a
    WHERE a.agent_id = p_agent_id AND a.status = 'concluded'
$$;
