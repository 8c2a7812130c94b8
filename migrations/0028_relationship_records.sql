-- 0028_relationship_records: what two parties to an agreement say to each
-- other (a message thread per agreement, with what each account has read),
-- the hours given under it (logged by one side, confirmed or disputed by
-- the other), which versions of its terms renew it, and the questions an
-- agent asks about an engagement before any proposal. Append-only like the
-- rest of an agreement.

-- One message of an agreement's thread, written by a party (side) through
-- one account (author_id). Append-only.
CREATE TABLE agreement_messages (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agreement_id bigint NOT NULL REFERENCES agreements (id),
    side         text NOT NULL CHECK (side IN ('agent', 'organisation')),
    author_id    bigint NOT NULL REFERENCES accounts (id),
    body         text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agreement_messages_thread_idx ON agreement_messages (agreement_id, id);
CREATE TRIGGER agreement_messages_append_only BEFORE UPDATE OR DELETE ON agreement_messages
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- How far each account has read a thread: messages after last_read_id are
-- unread (the account's own never are). Moves forward only.
CREATE TABLE agreement_message_reads (
    agreement_id bigint NOT NULL REFERENCES agreements (id),
    account_id   bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    last_read_id bigint NOT NULL,
    read_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (agreement_id, account_id)
);

-- Hours given under an agreement: one entry per day and note, logged by
-- one side (side, logged_by). Append-only; a mistake is disputed and
-- logged again.
CREATE TABLE agreement_hours (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    agreement_id bigint NOT NULL REFERENCES agreements (id),
    worked_on    date NOT NULL,
    hours        numeric(4, 2) NOT NULL CHECK (hours > 0 AND hours <= 24),
    note         text NOT NULL DEFAULT '' CHECK (char_length(note) <= 1000),
    side         text NOT NULL CHECK (side IN ('agent', 'organisation')),
    logged_by    bigint NOT NULL REFERENCES accounts (id),
    logged_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX agreement_hours_agreement_idx ON agreement_hours (agreement_id, id);
CREATE TRIGGER agreement_hours_append_only BEFORE UPDATE OR DELETE ON agreement_hours
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The other side's answer to an entry, once: confirmed or disputed (with a
-- note saying why). side is who answered; it is never the side that logged.
CREATE TABLE agreement_hours_decisions (
    entry_id   bigint PRIMARY KEY REFERENCES agreement_hours (id),
    outcome    text NOT NULL CHECK (outcome IN ('confirmed', 'disputed')),
    side       text NOT NULL CHECK (side IN ('agent', 'organisation')),
    note       text NOT NULL DEFAULT '' CHECK (char_length(note) <= 1000),
    decided_by bigint NOT NULL REFERENCES accounts (id),
    decided_at timestamptz NOT NULL DEFAULT now()
);
CREATE TRIGGER agreement_hours_decisions_append_only BEFORE UPDATE OR DELETE ON agreement_hours_decisions
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

CREATE FUNCTION agreement_hours_decided_by_other_side() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM agreement_hours h WHERE h.id = NEW.entry_id AND h.side = NEW.side) THEN
        RAISE EXCEPTION 'hours are confirmed or disputed by the side that did not log them'
            USING ERRCODE = 'check_violation', CONSTRAINT = 'agreement_hours_decisions_other_side';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER agreement_hours_decisions_other_side BEFORE INSERT ON agreement_hours_decisions
    FOR EACH ROW EXECUTE FUNCTION agreement_hours_decided_by_other_side();

-- The versions of the terms proposed as a renewal (POST .../renew): an
-- amendment that carries an agreement in force past its review date.
-- Consent and outcome as for any version. Append-only.
CREATE TABLE agreement_renewals (
    agreement_id bigint NOT NULL,
    version      integer NOT NULL,
    PRIMARY KEY (agreement_id, version),
    FOREIGN KEY (agreement_id, version) REFERENCES agreement_versions (agreement_id, version)
);
CREATE TRIGGER agreement_renewals_append_only BEFORE UPDATE OR DELETE ON agreement_renewals
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Before a proposal: an agent asks an organisation about one engagement, and
-- its members answer there. One thread per engagement and agent, always
-- started by the agent (no messages to strangers). Never changed; deleting
-- an engagement (it has no agreement) takes its threads with it.
CREATE TABLE engagement_messages (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    engagement_id bigint NOT NULL REFERENCES engagements (id) ON DELETE CASCADE,
    agent_id      bigint NOT NULL REFERENCES agents (id),
    side          text NOT NULL CHECK (side IN ('agent', 'organisation')),
    author_id     bigint NOT NULL REFERENCES accounts (id),
    body          text NOT NULL CHECK (char_length(body) BETWEEN 1 AND 5000),
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX engagement_messages_thread_idx ON engagement_messages (engagement_id, agent_id, id);
CREATE TRIGGER engagement_messages_append_only BEFORE UPDATE ON engagement_messages
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
