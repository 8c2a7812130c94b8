-- 0056_agent_purposes_covering: the primary key of agent_purposes carries
-- each row's energy (INCLUDE), so the match index's build reads an agent's
-- purposes and energies from the index alone, in agent order (an
-- index-only scan), instead of visiting the table for every row.
--
-- At scale 10 (1,000,000 agents, 1,489,595 of these rows a half) the
-- build's agents statement went from 4.4 to 2.6 s of PostgreSQL a part,
-- and the build from 8.4-9.5 to 6.3-7.2 s (lib/match/load.c). The key is
-- unchanged, so ON CONFLICT (agent_id, purpose_id) infers it as before; an
-- update of energy alone can no longer be HOT, which a profile edit (the
-- only writer of energy, a few rows an agent) can afford.
ALTER TABLE agent_purposes
    DROP CONSTRAINT agent_purposes_pkey,
    ADD CONSTRAINT agent_purposes_pkey PRIMARY KEY (agent_id, purpose_id) INCLUDE (energy);
