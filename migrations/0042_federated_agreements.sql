-- 0042_federated_agreements: agreements across instances (docs/federation.md,
-- "Agreements across instances"). An agent on instance B proposes to an
-- organisation on instance A: each instance keeps the agreement, with the
-- party it does not host as a remote actor (remote_actor_id): on A the agent
-- (agent_id NULL), on B the organisation (organisation_id NULL). Both copies
-- carry the same federated id (federated_uri: the id of the proposer's
-- agreement, which the Offer names) and the same record: the act of a party
-- is signed by its actor (author_actor, decided_by_actor, closed_by_actor:
-- the acting party's actor URL, on both sides) at the time the acting
-- instance wrote it, so that history_entries gives byte-identical content
-- and lib/chain.c the same hashes on both instances.

ALTER TABLE agreements
    ALTER COLUMN agent_id DROP NOT NULL,
    ALTER COLUMN organisation_id DROP NOT NULL,
    ADD COLUMN remote_actor_id bigint REFERENCES remote_actors (id),
    ADD COLUMN remote_engagement_id bigint REFERENCES remote_engagements (id),
    ADD COLUMN federated_uri text UNIQUE
        CHECK (federated_uri ~ '^https?://' AND char_length(federated_uri) <= 1000),
    -- the actor of the party kept here (its Group or Person URL): who a
    -- local act is signed by, in the record and on the wire
    ADD COLUMN local_actor text CHECK (char_length(local_actor) <= 1000),
    -- a local agreement has both parties here; a federated one exactly one,
    -- the other being the remote actor
    ADD CONSTRAINT agreements_parties CHECK (
        (remote_actor_id IS NULL AND federated_uri IS NULL
         AND agent_id IS NOT NULL AND organisation_id IS NOT NULL)
        OR (remote_actor_id IS NOT NULL AND federated_uri IS NOT NULL AND local_actor IS NOT NULL
            AND (agent_id IS NULL) <> (organisation_id IS NULL))),
    ADD CONSTRAINT agreements_remote_engagement CHECK (
        remote_engagement_id IS NULL OR (organisation_id IS NULL AND engagement_id IS NULL));

-- At most one open agreement per pair and engagement, with a remote party too.
CREATE UNIQUE INDEX agreements_open_remote_key ON agreements
    (remote_actor_id, coalesce(agent_id, 0), coalesce(organisation_id, 0),
     coalesce(engagement_id, 0), coalesce(remote_engagement_id, 0))
    WHERE status IN ('proposed', 'active') AND remote_actor_id IS NOT NULL;
CREATE INDEX agreements_remote_actor_idx ON agreements (remote_actor_id) WHERE remote_actor_id IS NOT NULL;

-- Who acted, as the actor URL both instances name it (federated agreements
-- only; local ones keep the account ids). A remote party's act has no
-- local account.
ALTER TABLE agreement_versions
    ALTER COLUMN author_id DROP NOT NULL,
    ADD COLUMN author_actor text CHECK (char_length(author_actor) <= 1000),
    ADD CONSTRAINT agreement_versions_author CHECK (author_id IS NOT NULL OR author_actor IS NOT NULL);
ALTER TABLE agreement_version_outcomes
    ADD COLUMN decided_by_actor text CHECK (char_length(decided_by_actor) <= 1000);
ALTER TABLE agreement_closures
    ALTER COLUMN closed_by DROP NOT NULL,
    ADD COLUMN closed_by_actor text CHECK (char_length(closed_by_actor) <= 1000),
    ADD CONSTRAINT agreement_closures_closer CHECK (closed_by IS NOT NULL OR closed_by_actor IS NOT NULL);

-- Agreement activities received, by id: the same activity twice does
-- nothing the second time (a retried delivery, a replay).
CREATE TABLE federated_activities (
    activity_uri text PRIMARY KEY CHECK (char_length(activity_uri) <= 1000),
    agreement_id bigint REFERENCES agreements (id),
    received_at  timestamptz NOT NULL DEFAULT now()
);

-- A local act on a federated agreement (an account acted) is signed by the
-- local party's actor: filled here, so every statement that writes the
-- record (agreements.c) stays as it is. A remote act names its actor.
CREATE FUNCTION agreement_act_actor() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    actor text;
BEGIN
    SELECT a.local_actor INTO actor FROM agreements a
     WHERE a.id = NEW.agreement_id AND a.federated_uri IS NOT NULL;
    IF actor IS NULL THEN RETURN NEW; END IF;
    IF TG_TABLE_NAME = 'agreement_versions' THEN
        IF NEW.author_id IS NOT NULL THEN NEW.author_actor := actor; END IF;
    ELSIF TG_TABLE_NAME = 'agreement_version_outcomes' THEN
        IF NEW.decided_by IS NOT NULL THEN NEW.decided_by_actor := actor; END IF;
    ELSIF NEW.closed_by IS NOT NULL THEN
        NEW.closed_by_actor := actor;
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER agreement_versions_actor BEFORE INSERT ON agreement_versions
    FOR EACH ROW EXECUTE FUNCTION agreement_act_actor();
CREATE TRIGGER agreement_version_outcomes_actor BEFORE INSERT ON agreement_version_outcomes
    FOR EACH ROW EXECUTE FUNCTION agreement_act_actor();
CREATE TRIGGER agreement_closures_actor BEFORE INSERT ON agreement_closures
    FOR EACH ROW EXECUTE FUNCTION agreement_act_actor();

-- An agreement of a remote agent (on the organisation's instance) changes
-- no local agent's matches: 0019's trigger logs only agents kept here.
CREATE OR REPLACE FUNCTION match_notify_agent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'DELETE' AND NEW.agent_id IS NOT NULL THEN
        INSERT INTO change_log (topic, payload) VALUES ('match', 'a:' || NEW.agent_id);
    END IF;
    IF (TG_OP = 'DELETE' OR (TG_OP = 'UPDATE' AND OLD.agent_id IS DISTINCT FROM NEW.agent_id))
       AND OLD.agent_id IS NOT NULL THEN
        INSERT INTO change_log (topic, payload) VALUES ('match', 'a:' || OLD.agent_id);
    END IF;
    RETURN NULL;
END $$;
