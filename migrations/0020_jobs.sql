-- 0020_jobs: the durable queue of background work (lib/jobs), and the mail
-- addresses that must not be written to again (lib/mail).
--
-- A job is written by the same transaction as the event that causes it, so
-- it exists exactly when the event committed. Worker threads of any daemon
-- claim due rows with FOR UPDATE SKIP LOCKED and a lease (state 'running',
-- lease_until); a row whose lease expired (its daemon crashed or lost the
-- database) is due again. attempts counts claims, so a job that crashes
-- its worker also ends as failed after max_attempts.
CREATE TABLE jobs (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         text NOT NULL CHECK (kind ~ '^[a-z][a-z0-9_]{0,31}$'),
    payload      jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(payload) = 'object'),
    state        text NOT NULL DEFAULT 'queued'
                 CHECK (state IN ('queued', 'running', 'done', 'failed')),
    run_at       timestamptz NOT NULL DEFAULT now(),
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts integer NOT NULL DEFAULT 10 CHECK (max_attempts BETWEEN 1 AND 100),
    lease_until  timestamptz,
    lease_token  uuid,
    leased_by    text,
    last_error   text CHECK (last_error IS NULL OR char_length(last_error) <= 1000),
    created_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz,
    CHECK ((state = 'running') = (lease_until IS NOT NULL AND lease_token IS NOT NULL)),
    CHECK ((state IN ('done', 'failed')) = (finished_at IS NOT NULL))
);
-- What the workers look for: due queued rows, and running rows whose lease ran out.
CREATE INDEX jobs_queued_idx ON jobs (run_at) WHERE state = 'queued';
CREATE INDEX jobs_running_idx ON jobs (lease_until) WHERE state = 'running';
-- Finished rows are deleted after a while (lib/jobs sweeps them).
CREATE INDEX jobs_finished_idx ON jobs (finished_at) WHERE finished_at IS NOT NULL;

-- The one way to enqueue from SQL, usable inside a handler's CTE:
--   SELECT job_enqueue('mail', jsonb_build_object(...))
-- A key under "secret" in the payload (a token in a link) is removed when
-- the job finishes, whatever the outcome.
CREATE FUNCTION job_enqueue(p_kind text, p_payload jsonb,
                            p_run_at timestamptz DEFAULT now(),
                            p_max_attempts integer DEFAULT 10) RETURNS bigint
LANGUAGE sql AS $$
    INSERT INTO jobs (kind, payload, run_at, max_attempts)
    VALUES (p_kind, p_payload, p_run_at, p_max_attempts)
    RETURNING id
$$;

-- Addresses whose server answered 5xx to a message (user unknown, mailbox
-- disabled): nothing more is sent to them until the address is verified
-- again (the verification message itself still goes, see lib/mail).
CREATE TABLE mail_suppressions (
    email      text PRIMARY KEY CHECK (email = lower(btrim(email))),
    reason     text NOT NULL CHECK (char_length(reason) <= 1000),
    job_id     bigint,
    created_at timestamptz NOT NULL DEFAULT now()
);
