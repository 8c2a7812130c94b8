-- 0016_list_filters: every filter a stranger can send to a public list has
-- an index that gives its rows newest first, so no anonymous read scans and
-- sorts a whole table. Engagements other than open ones (?status=paused,
-- ?status=closed) had none: each such read sorted every engagement.
-- (Open engagements: engagements_open_created_idx; by organisation:
-- engagements_org_idx; by purpose: engagement_purposes_listing_idx; words:
-- the GIN indexes, ranked among a bounded set of candidates.)
CREATE INDEX engagements_status_created_idx ON engagements (status, created_at DESC, id DESC);
