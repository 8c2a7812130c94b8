-- Engagements travel without costing the post per remote inbox (issue 21:
-- a post costs the same whatever the number of followers). 0038's trigger
-- wrote one 'deliver' job per remote inbox in the posting transaction; now
-- it writes at most one 'federate' job, and that job, on a worker, writes
-- the deliveries (lib/federation.c, federate_run).
CREATE OR REPLACE FUNCTION engagements_federate() RETURNS trigger LANGUAGE plpgsql AS $$
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
    IF EXISTS (SELECT 1 FROM remote_followers WHERE organisation_id = NEW.organisation_id) THEN
        PERFORM job_enqueue('federate', jsonb_build_object('engagement_id', NEW.id, 'activity', activity));
    END IF;
    RETURN NULL;
END $$;
