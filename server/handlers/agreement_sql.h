/* agreement_sql: SQL fragments the statements about one agreement share
 * (its transitions in agreements.c, its messages and hours in
 * agreement_threads.c). */
#ifndef PURPOSED_AGREEMENT_SQL_H
#define PURPOSED_AGREEMENT_SQL_H

/* The notifications of one change, for the other side: the agent's account
 * when the organisation acted, every member of the organisation when the
 * agent did; never the actor. Needs a CTE "up" (id, organisation_id,
 * agent_id, status). SIDE is the actor's side, ACTOR its account. */
#define NOTIFY(SIDE, ACTOR, KIND, VERB, ROLE, NOTE)                                          \
    " notified AS (INSERT INTO notifications (account_id, kind, agreement_id, message, payload)" \
    "  SELECT rc.account_id, " KIND ", up.id,"                                               \
    "   left(format('%s %s the agreement \"%s\".', CASE WHEN " SIDE " = 'agent'"             \
    "     THEN nacc.display_name ELSE norg.name END, " VERB ", " ROLE "), 1000),"            \
    "   jsonb_strip_nulls(jsonb_build_object('agreement_id', up.id, 'status', up.status,"    \
    "     'by', " SIDE ", 'organisation', jsonb_build_object('slug', norg.slug, 'name', norg.name)," \
    "     'agent', jsonb_build_object('handle', nag.handle, 'display_name', nacc.display_name)," \
    "     'note', " NOTE "))"                                                                \
    "  FROM up JOIN organisations norg ON norg.id = up.organisation_id"                      \
    "  JOIN agents nag ON nag.id = up.agent_id JOIN accounts nacc ON nacc.id = nag.account_id" \
    "  CROSS JOIN LATERAL (SELECT m.account_id FROM memberships m WHERE " SIDE " = 'agent'"   \
    "     AND m.organisation_id = up.organisation_id"                                        \
    "   UNION SELECT nag.account_id WHERE " SIDE " = 'organisation') rc"                     \
    "  WHERE rc.account_id <> " ACTOR ")"

#endif
