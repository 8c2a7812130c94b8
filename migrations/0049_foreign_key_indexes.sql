-- Two foreign keys had no index on the referencing side, so deleting a
-- parent row scanned the whole child table for it:
-- - agreements.remote_engagement_id references engagements (0042, 0043):
--   30 ms an engagement at 200,000 agreements; bench/run's clean-up of the
--   engagements its write test posted took six minutes at scale 10;
-- - federated_activities.agreement_id references agreements (0042).
-- Partial: only agreements across instances have either.
CREATE INDEX agreements_remote_engagement_idx ON agreements (remote_engagement_id)
    WHERE remote_engagement_id IS NOT NULL;
CREATE INDEX federated_activities_agreement_idx ON federated_activities (agreement_id)
    WHERE agreement_id IS NOT NULL;
