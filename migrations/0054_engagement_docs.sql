-- 0054_engagement_docs: every engagement's representation (engagement_json,
-- R__representations.sql) kept as text, for the statements that answer it
-- (GET /engagements/{id}, the lists, the matches, the pages).
--
-- engagement_json costs three sub-plans a row (the organisation, the
-- purposes, the place) and json_build_object. At scale 10 (500,000
-- engagements, most rows beyond shared_buffers), the read of one by id
-- through pgbench -M prepared -c 8 ran at 8,823 and 10,260 tps computed
-- against 26,324 and 30,334 tps read from a table of the texts (the same
-- 500,000 ids at random, alternated): three times the reads for the same
-- CPU. A miss of the answer cache is one such read.
--
-- This file makes the table (state); R__representations.sql makes what
-- keeps it, since that depends on engagement_json: the triggers that
-- rewrite a row whenever its engagement, its purposes, its organisation's
-- slug or name, a purpose's slug, name or retirement or its place change,
-- and the full refresh whenever engagement_json's definition changes
-- (engagement_docs_definition holds the md5 of the definitions the texts
-- were made with). version, status and hidden are copied so that a read
-- by id or of the matches needs no other row; purposes (the engagement's
-- purpose ids, sorted) lets a change of engagement_purposes skip the
-- engagements whose text has them already (a post writes its engagement
-- and its purposes in one statement: the engagement's trigger makes the
-- text, and the purposes' trigger finds it made).
CREATE TABLE engagement_docs (
    organisation_id bigint NOT NULL,
    engagement_id bigint NOT NULL,
    version integer NOT NULL,
    status text NOT NULL,
    hidden boolean NOT NULL,
    purposes bigint[] NOT NULL,
    doc text NOT NULL,
    PRIMARY KEY (organisation_id, engagement_id),
    CONSTRAINT engagement_docs_engagement_fkey FOREIGN KEY (organisation_id, engagement_id)
        REFERENCES engagements (organisation_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX engagement_docs_engagement_id_key ON engagement_docs (engagement_id);

CREATE TABLE engagement_docs_definition (
    md5 text NOT NULL
);
