-- 0038_federation: ActivityPub between instances (docs/federation.md).
--
-- Local actors (organisations = Group, discoverable agents = Person, the
-- instance = Application) get an RSA key pair on first use: fediverse
-- servers verify draft-cavage rsa-sha256 signatures. Remote actors are kept
-- with their key (fetched_at: refetched when a signature fails once, which
-- is how a key rotation arrives). Remote followers of local organisations,
-- the instance's follows of remote organisations (on behalf of local
-- people), and the engagements remote organisations sent.

CREATE TABLE ap_keys (
    actor_kind  text NOT NULL CHECK (actor_kind IN ('instance', 'organisation', 'agent')),
    actor_id    bigint NOT NULL CHECK (actor_id >= 0),  -- 0 for the instance
    public_pem  text NOT NULL CHECK (public_pem LIKE '-----BEGIN PUBLIC KEY-----%'),
    private_pem text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (actor_kind, actor_id)
);

CREATE TABLE remote_actors (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    uri           text NOT NULL UNIQUE CHECK (uri ~ '^https?://' AND char_length(uri) <= 1000),
    type          text NOT NULL CHECK (char_length(type) <= 40),
    username      text CHECK (char_length(username) <= 200),
    name          text CHECK (char_length(name) <= 500),
    url           text CHECK (char_length(url) <= 1000),
    inbox         text NOT NULL CHECK (inbox ~ '^https?://' AND char_length(inbox) <= 1000),
    shared_inbox  text CHECK (shared_inbox ~ '^https?://' AND char_length(shared_inbox) <= 1000),
    key_id        text CHECK (char_length(key_id) <= 1000),
    public_pem    text CHECK (char_length(public_pem) <= 10000),
    -- an Ed25519 key (RFC 9421 senders): multibase, from assertionMethod
    ed25519_key_id text CHECK (char_length(ed25519_key_id) <= 1000),
    ed25519_multibase text CHECK (char_length(ed25519_multibase) <= 200),
    fetched_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX remote_actors_key_idx ON remote_actors (key_id);

-- Remote actors following a local organisation (Follow received, Accept sent).
CREATE TABLE remote_followers (
    organisation_id bigint NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    actor_id        bigint NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    follow_uri      text NOT NULL CHECK (char_length(follow_uri) <= 1000),
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organisation_id, actor_id)
);
CREATE INDEX remote_followers_actor_idx ON remote_followers (actor_id);

-- The instance actor follows a remote organisation for the local people who
-- asked (remote_follow_people); Undo is sent when the last of them leaves.
CREATE TABLE remote_follows (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id    bigint NOT NULL UNIQUE REFERENCES remote_actors (id) ON DELETE CASCADE,
    follow_uri  text NOT NULL UNIQUE CHECK (char_length(follow_uri) <= 1000),
    state       text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted')),
    created_at  timestamptz NOT NULL DEFAULT now(),
    accepted_at timestamptz
);
CREATE TABLE remote_follow_people (
    remote_follow_id bigint NOT NULL REFERENCES remote_follows (id) ON DELETE CASCADE,
    account_id       bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    handle           text NOT NULL CHECK (char_length(handle) <= 300),
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, remote_follow_id)
);

-- Engagements received from remote organisations the instance follows.
CREATE TABLE remote_engagements (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    actor_id     bigint NOT NULL REFERENCES remote_actors (id) ON DELETE CASCADE,
    object_uri   text NOT NULL UNIQUE CHECK (object_uri ~ '^https?://' AND char_length(object_uri) <= 1000),
    url          text CHECK (char_length(url) <= 1000),
    title        text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    description  text NOT NULL CHECK (char_length(description) <= 10000),
    status       text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'paused', 'closed')),
    hours_per_week integer CHECK (hours_per_week BETWEEN 1 AND 80),
    remote_ok    boolean,
    published_at timestamptz,
    received_at  timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX remote_engagements_list_idx ON remote_engagements (received_at DESC, id DESC);

-- Instances that stopped answering: deliveries back off, and once one has
-- failed for FEDERATION_DEAD_DAYS (lib/federation.c) its deliveries are dropped.
CREATE TABLE remote_instances (
    host            text PRIMARY KEY CHECK (char_length(host) <= 300),
    failures        integer NOT NULL DEFAULT 0,
    failing_since   timestamptz,
    last_success_at timestamptz
);

-- Engagements travel: at each change of an engagement of an organisation
-- with remote followers, one 'deliver' job per inbox (a shared inbox once),
-- built at delivery from the engagement's state then (lib/federation.c).
CREATE FUNCTION engagements_federate() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    activity text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'open' THEN RETURN NULL; END IF;
        activity := 'Create';
    ELSIF NEW.status = 'closed' THEN
        IF OLD.status = 'closed' THEN RETURN NULL; END IF;
        activity := 'Delete';
    ELSIF NEW.version = OLD.version AND NEW.status = OLD.status THEN
        RETURN NULL;
    ELSE
        activity := 'Update';
    END IF;
    PERFORM job_enqueue('deliver', jsonb_build_object(
                'engagement_id', NEW.id, 'activity', activity, 'inbox', i.inbox))
    FROM (SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) AS inbox
          FROM remote_followers f JOIN remote_actors a ON a.id = f.actor_id
          WHERE f.organisation_id = NEW.organisation_id) i;
    RETURN NULL;
END $$;
CREATE TRIGGER engagements_federate AFTER INSERT OR UPDATE ON engagements
    FOR EACH ROW EXECUTE FUNCTION engagements_federate();
