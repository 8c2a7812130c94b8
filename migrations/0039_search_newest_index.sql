-- 0039_search_newest_index: a search walks open engagements newest first and
-- keeps the first 200 whose document matches (server/handlers/engagements.c,
-- q_list_search). Walking engagements_open_created_idx visited a heap row per
-- engagement walked to test its document (a common word walks hundreds, a
-- middling one thousands: 30-65 ms on the bench data set). This index holds
-- the documents in listing order, so the walk is an index-only scan: the
-- test reads the index entry, and the 200 candidates carry their documents
-- out of it to be ranked. About 1 KiB per open engagement (37 MB for 40,000).
CREATE INDEX engagements_open_search_idx ON engagements (created_at DESC, id DESC)
    INCLUDE (search) WHERE status = 'open' AND NOT hidden;
