-- 0004_agents: the feeds' Last-Modified is the newest updated_at among the
-- engagements of the filter (open or not, so closing one changes the feed);
-- this index answers max(updated_at) without reading the whole table.
CREATE INDEX engagements_updated_idx ON engagements (updated_at);
