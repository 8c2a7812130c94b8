-- 0055_agent_docs: every agent's public representation (agent_public_json,
-- R__representations.sql) kept as text, as 0054 does for engagements, for
-- the statements that answer it to others (GET /agents/{handle} for anyone
-- but the agent, the lists, an engagement's matches, the pages).
--
-- agent_public_json is the profile (the place, the purposes with their
-- names) joined by json_concat to the track record (two reads of the
-- agent's agreements and, for each concluded one, its organisation,
-- version, purposes, first accepted version, confirmed hours and
-- closures). An engagement's 25 matched agents cost about 2.8 ms of
-- PostgreSQL's CPU a request at scale 10 (58 % of all CPU under perf,
-- against 25 % for the daemon's search).
--
-- This file makes the table (state); R__representations.sql makes what
-- keeps it (it calls agent_public_json): triggers on the agent, its
-- account's display name, its purposes, a purpose's slug, name or
-- retirement, a place, an organisation's slug, name or hiding, and the
-- rows of its concluded agreements; and the full refresh when the
-- definitions change (agent_docs_definition holds their md5).
CREATE TABLE agent_docs (
    account_id bigint NOT NULL,
    agent_id bigint PRIMARY KEY REFERENCES agents (id) ON DELETE CASCADE,
    doc text NOT NULL
);

CREATE TABLE agent_docs_definition (
    md5 text NOT NULL
);
