-- 0001_init: accounts and sessions, the purpose domain (purposes,
-- organisations with charter history, memberships, agents with energy,
-- engagements, follows) and idempotency keys. Constraints live here.

CREATE TABLE accounts (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email         text,
    password_hash text,
    display_name  text NOT NULL CHECK (char_length(display_name) BETWEEN 1 AND 100),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    deleted_at    timestamptz,
    version       integer NOT NULL DEFAULT 1,
    CHECK ((deleted_at IS NULL) = (email IS NOT NULL AND password_hash IS NOT NULL)),
    CHECK (email IS NULL OR email = lower(btrim(email)))
);
CREATE UNIQUE INDEX accounts_email_key ON accounts (email) WHERE email IS NOT NULL;

CREATE TABLE sessions (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE CHECK (octet_length(token_hash) = 32),
    csrf_token   text NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_seen_at timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_account_idx ON sessions (account_id) WHERE revoked_at IS NULL;

-- Failed sign-ins, per account and per client address, for throttling
-- across every daemon sharing this database.
CREATE TABLE login_failures (
    scope     text NOT NULL,
    failed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_scope_idx ON login_failures (scope, failed_at);

-- Idempotency-Key: the first response to (owner, key) is replayed for 24 h.
CREATE TABLE idempotency_keys (
    owner         text NOT NULL,
    key           text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
    request_hash  text NOT NULL,
    status        integer NOT NULL,
    location      text,
    response_body text NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (owner, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'integrity_constraint_violation';
END $$;

CREATE TABLE purposes (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
    created_by  bigint REFERENCES accounts (id) ON DELETE SET NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    search      tsvector GENERATED ALWAYS AS (
                    setweight(to_tsvector('english', name), 'A') ||
                    setweight(to_tsvector('english', description), 'B')) STORED
);
CREATE UNIQUE INDEX purposes_name_key ON purposes (lower(name));
CREATE INDEX purposes_search_idx ON purposes USING gin (search);

CREATE TABLE organisations (
    id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug              text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    name              text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    purpose_statement text NOT NULL CHECK (char_length(purpose_statement) BETWEEN 1 AND 5000),
    association_norms text NOT NULL DEFAULT '' CHECK (char_length(association_norms) <= 10000),
    charter_version   integer NOT NULL DEFAULT 1 CHECK (charter_version >= 1),
    legal_form        text NOT NULL CHECK (legal_form IN ('for_purpose_enterprise', 'cooperative',
                          'nonprofit', 'foundation', 'b_corp', 'company', 'informal', 'other')),
    governance        text NOT NULL CHECK (governance IN ('holacracy', 'sociocracy', 'teal',
                          'consent_based', 'traditional', 'other')),
    website           text CHECK (website IS NULL OR char_length(website) <= 500),
    location          text CHECK (location IS NULL OR char_length(location) <= 200),
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    version           integer NOT NULL DEFAULT 1,
    search            tsvector GENERATED ALWAYS AS (
                          setweight(to_tsvector('english', name), 'A') ||
                          setweight(to_tsvector('english', purpose_statement), 'B')) STORED
);
CREATE INDEX organisations_search_idx ON organisations USING gin (search);

-- Every version of the charter, newest has the highest version. Append-only.
CREATE TABLE organisation_charters (
    organisation_id   bigint NOT NULL REFERENCES organisations (id),
    version           integer NOT NULL CHECK (version >= 1),
    purpose_statement text NOT NULL,
    association_norms text NOT NULL,
    change_note       text CHECK (change_note IS NULL OR char_length(change_note) <= 1000),
    changed_by        bigint REFERENCES accounts (id),
    changed_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, version)
);
CREATE TRIGGER organisation_charters_append_only BEFORE UPDATE OR DELETE ON organisation_charters
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE TABLE organisation_purposes (
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    purpose_id      bigint NOT NULL REFERENCES purposes (id),
    PRIMARY KEY (organisation_id, purpose_id)
);
CREATE INDEX organisation_purposes_purpose_idx ON organisation_purposes (purpose_id, organisation_id);

CREATE TABLE memberships (
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    account_id      bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, account_id)
);
CREATE INDEX memberships_account_idx ON memberships (account_id);

CREATE TABLE agents (
    id                      bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id              bigint NOT NULL UNIQUE REFERENCES accounts (id),
    handle                  text NOT NULL UNIQUE CHECK (handle ~ '^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$'),
    headline                text NOT NULL DEFAULT '' CHECK (char_length(headline) <= 200),
    personal_purpose        text NOT NULL DEFAULT '' CHECK (char_length(personal_purpose) <= 2000),
    skills                  text[] NOT NULL DEFAULT '{}' CHECK (cardinality(skills) <= 50),
    capacity_hours_per_week integer NOT NULL DEFAULT 0 CHECK (capacity_hours_per_week BETWEEN 0 AND 80),
    packagings              text[] NOT NULL DEFAULT '{}' CHECK (packagings <@ ARRAY['employment',
                                'partnership', 'consulting', 'interim', 'volunteer']),
    location                text CHECK (location IS NULL OR char_length(location) <= 200),
    remote_ok               boolean NOT NULL DEFAULT true,
    discoverable            boolean NOT NULL DEFAULT true,
    show_track_record       boolean NOT NULL DEFAULT true,
    show_follows            boolean NOT NULL DEFAULT true,
    created_at              timestamptz NOT NULL DEFAULT now(),
    updated_at              timestamptz NOT NULL DEFAULT now(),
    version                 integer NOT NULL DEFAULT 1
);
CREATE INDEX agents_skills_idx ON agents USING gin (skills);
CREATE INDEX agents_discoverable_idx ON agents (id) WHERE discoverable;

CREATE TABLE agent_purposes (
    agent_id   bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    purpose_id bigint NOT NULL REFERENCES purposes (id),
    energy     integer NOT NULL CHECK (energy BETWEEN 1 AND 100),
    PRIMARY KEY (agent_id, purpose_id)
);
CREATE INDEX agent_purposes_purpose_idx ON agent_purposes (purpose_id, agent_id);

-- The energy of one agent sums to at most 100. Checked at commit after
-- locking the agent row, so two concurrent replacements cannot both pass.
CREATE FUNCTION agent_energy_check() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    total integer;
BEGIN
    PERFORM 1 FROM agents WHERE id = NEW.agent_id FOR UPDATE;
    SELECT coalesce(sum(energy), 0) INTO total FROM agent_purposes WHERE agent_id = NEW.agent_id;
    IF total > 100 THEN
        RAISE EXCEPTION 'energy of agent % sums to %, more than 100', NEW.agent_id, total
            USING ERRCODE = 'check_violation', CONSTRAINT = 'agent_energy_sum';
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER agent_energy_sum AFTER INSERT OR UPDATE ON agent_purposes
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION agent_energy_check();

CREATE TABLE engagements (
    id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    organisation_id bigint NOT NULL REFERENCES organisations (id),
    title           text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description     text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 10000),
    hours_per_week  integer NOT NULL CHECK (hours_per_week BETWEEN 1 AND 80),
    duration_weeks  integer CHECK (duration_weeks IS NULL OR duration_weeks BETWEEN 1 AND 520),
    skills          text[] NOT NULL DEFAULT '{}' CHECK (cardinality(skills) <= 30),
    packagings      text[] NOT NULL CHECK (cardinality(packagings) >= 1 AND packagings <@ ARRAY[
                        'employment', 'partnership', 'consulting', 'interim', 'volunteer']),
    location        text CHECK (location IS NULL OR char_length(location) <= 200),
    remote_ok       boolean NOT NULL DEFAULT false,
    cash_min        numeric(12, 2) CHECK (cash_min IS NULL OR cash_min >= 0),
    cash_max        numeric(12, 2),
    cash_currency   text CHECK (cash_currency IS NULL OR cash_currency ~ '^[A-Z]{3}$'),
    cash_period     text CHECK (cash_period IS NULL OR cash_period IN ('hour', 'day', 'week',
                        'month', 'year', 'total')),
    non_cash        text[] NOT NULL DEFAULT '{}' CHECK (cardinality(non_cash) <= 20),
    status          text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paused', 'closed')),
    created_by      bigint REFERENCES accounts (id),
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    version         integer NOT NULL DEFAULT 1,
    search          tsvector GENERATED ALWAYS AS (
                        setweight(to_tsvector('english', title), 'A') ||
                        setweight(to_tsvector('english', description), 'B')) STORED,
    CHECK ((cash_min IS NULL) = (cash_max IS NULL) AND (cash_min IS NULL) = (cash_currency IS NULL)
           AND (cash_min IS NULL) = (cash_period IS NULL)),
    CHECK (cash_max IS NULL OR cash_max >= cash_min)
);
CREATE INDEX engagements_open_created_idx ON engagements (created_at DESC, id DESC) WHERE status = 'open';
CREATE INDEX engagements_org_idx ON engagements (organisation_id, created_at DESC, id DESC);
CREATE INDEX engagements_search_idx ON engagements USING gin (search);
CREATE INDEX engagements_skills_idx ON engagements USING gin (skills);
CREATE INDEX engagements_packagings_idx ON engagements USING gin (packagings);

CREATE TABLE engagement_purposes (
    engagement_id bigint NOT NULL REFERENCES engagements (id) ON DELETE CASCADE,
    purpose_id    bigint NOT NULL REFERENCES purposes (id),
    PRIMARY KEY (engagement_id, purpose_id)
);
CREATE INDEX engagement_purposes_purpose_idx ON engagement_purposes (purpose_id, engagement_id);

CREATE TABLE follows (
    agent_id        bigint NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agent_id, organisation_id)
);
CREATE INDEX follows_organisation_idx ON follows (organisation_id, created_at DESC, agent_id);

-- RFC 3339 UTC text for API responses ("2026-11-28T20:54:39.468Z").
CREATE FUNCTION api_time(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
