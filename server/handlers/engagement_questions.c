/* engagement_questions: before any proposal, an agent asks an organisation
 * about one engagement and its members answer there: one thread per
 * engagement and agent (migration 0028), always started by the agent, so
 * nobody writes to strangers. Who may read or write a thread is the agent
 * itself or a member of the organisation (lib/authz: the agent acts as the
 * agent even when also a member); everyone else gets 404. Each message
 * notifies the other side (and so is mailed, migration 0022). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "authz.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "validate.h"

#define QUESTION_MAX_CHARS 5000

/* The engagement, the caller's role in its organisation, the agent of the
 * path and whether the caller is that agent, whether they have a thread. */
static db_stmt_t q_resolve = DB_STMT("engagement_thread_resolve", true,
    "SELECT NOT e.hidden, e.status, coalesce(m.role, ''), g.id::text, g.account_id = $3::bigint,"
    " EXISTS (SELECT 1 FROM engagement_messages x WHERE x.engagement_id = e.id AND x.agent_id = g.id),"
    /* an engagement another instance sent (0043): its page there */
    " coalesce(e.origin_url, e.origin_uri)"
    " FROM engagements e"
    " LEFT JOIN memberships m ON m.organisation_id = e.organisation_id AND m.account_id = $3::bigint"
    " LEFT JOIN agents g ON g.handle = $2"
    " WHERE e.id = $1::bigint");

typedef struct thread {
    char engagement[24];
    char agent_id[24];
    agreement_side_t side;
    bool exists;
} thread_t;

/* The thread of the path (/engagements/{id}/questions/{handle}) and the
 * caller's side in it for action (ORG_MEMBER_READ to read, ORG_POST to
 * write): 0, or negative with the answer set (404 to anyone not a party,
 * and to the organisation while the agent has asked nothing). */
static int thread_open(req_t *r, authz_org_action_t action, thread_t *t)
{
    memset(t, 0, sizeof *t);
    long long id = 0;
    int rc = http_param_id(r, 0, &id, t->engagement, sizeof t->engagement);
    if (rc < 0) return rc;
    const char *handle = http_param(r, 1);
    problem_t p;
    problem_init(&p);
    if (!handle || !validate_slug(handle)) {
        problem_fail(&p, PROBLEM_NOT_FOUND, "No such conversation.");
        goto fail;
    }
    const char *params[3] = {t->engagement, handle, r->caller.account_id_text};
    PGresult *res = db_exec(&q_resolve, 3, params, &p);
    if (!res) goto fail;
    bool found = PQntuples(res) == 1 && !PQgetisnull(res, 0, 3);
    bool visible = found && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    bool is_agent = found && strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    if (found) {
        t->side = authz_agreement_side(is_agent, PQgetvalue(res, 0, 2), action);
        t->exists = strcmp(PQgetvalue(res, 0, 5), "t") == 0;
        snprintf(t->agent_id, sizeof t->agent_id, "%s", PQgetvalue(res, 0, 3));
    }
    bool open = found && strcmp(PQgetvalue(res, 0, 1), "open") == 0;
    char home[1001] = "";
    if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 6))
        snprintf(home, sizeof home, "%s", PQgetvalue(res, 0, 6));
    PQclear(res);
    if (action == ORG_POST && home[0] && t->side != AGREEMENT_SIDE_NONE) {
        problem_fail(&p, PROBLEM_REMOTE,
                     "This engagement is kept by another instance: questions are asked there, at %s.",
                     home);
        goto fail;
    }
    if (t->side == AGREEMENT_SIDE_NONE || (t->side == AGREEMENT_SIDE_AGENT && !visible) ||
        (t->side == AGREEMENT_SIDE_ORGANISATION && !t->exists)) {
        problem_fail(&p, PROBLEM_NOT_FOUND, "No such conversation.");
        goto fail;
    }
    if (action == ORG_POST && t->side == AGREEMENT_SIDE_AGENT && !t->exists && !open) {
        problem_fail(&p, PROBLEM_CONFLICT,
                     "This engagement is not open: questions start while it is open.");
        goto fail;
    }
    return 0;
fail:
    rc = problem_rc(&p);
    http_reply_problem(r, &p);
    return rc;
}

/* Newest first; $3 the cursor's id, $4 limit + 1, $5 the caller, $6
 * whether they moderate (read the messages a moderator hid). */
static db_stmt_t q_thread = DB_STMT("engagement_thread", true,
    "SELECT m.id::text, j::text FROM engagement_messages m"
    " CROSS JOIN LATERAL engagement_message_json(m, $5::bigint, $6::boolean) j"
    " WHERE m.engagement_id = $1::bigint AND m.agent_id = $2::bigint"
    " AND m.id < coalesce($3::bigint, 9223372036854775807) ORDER BY m.id DESC LIMIT $4::int");

void handle_engagement_thread(req_t *r)
{
    thread_t t;
    if (thread_open(r, ORG_MEMBER_READ, &t) < 0) return;
    page_t pg;
    if (page_read(r, &pg, "engagement-thread", CURSOR_KEY_ID) < 0) return;
    bool moderator;
    if (moderation_caller_moderates(r, &moderator) < 0) return;
    const char *params[6] = {t.engagement, t.agent_id, page_key(&pg, 0), pg.fetch,
                             r->caller.account_id_text, moderator ? "t" : "f"};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_thread, 6, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    char extra[48];
    snprintf(extra, sizeof extra, "\"my_side\":\"%s\"", agreement_side_name(t.side));
    page_reply(r, &pg, res, extra);
}

/* The message, and a notification for the other side: every member when
 * the agent asks, the agent when a member answers; never the writer. */
static db_stmt_t q_thread_post = DB_STMT("engagement_thread_post", false,
    "WITH msg AS (INSERT INTO engagement_messages (engagement_id, agent_id, side, author_id, body)"
    "  VALUES ($1::bigint, $2::bigint, $3::text, $4::bigint, $5) RETURNING *),"
    " ctx AS (SELECT e.id, e.title, e.organisation_id, o.slug, o.name, g.account_id AS agent_account,"
    "   g.handle, acc.display_name FROM engagements e JOIN organisations o ON o.id = e.organisation_id"
    "   JOIN agents g ON g.id = $2::bigint JOIN accounts acc ON acc.id = g.account_id"
    "   WHERE e.id = $1::bigint),"
    " notified AS (INSERT INTO notifications (account_id, kind, engagement_id, message, payload)"
    "  SELECT rc.account_id,"
    "   CASE WHEN $3::text = 'agent' THEN 'engagement_question' ELSE 'engagement_answer' END, ctx.id,"
    "   left(CASE WHEN $3::text = 'agent' THEN format('%s asked about \"%s\".', ctx.display_name, ctx.title)"
    "     ELSE format('%s answered your question about \"%s\".', ctx.name, ctx.title) END, 1000),"
    "   jsonb_build_object('engagement_id', ctx.id, 'title', ctx.title, 'by', $3::text,"
    "    'organisation', jsonb_build_object('slug', ctx.slug, 'name', ctx.name),"
    "    'agent', jsonb_build_object('handle', ctx.handle, 'display_name', ctx.display_name),"
    "    'note', left($5, 280))"
    "  FROM ctx CROSS JOIN LATERAL (SELECT m.account_id FROM memberships m WHERE $3::text = 'agent'"
    "    AND m.organisation_id = ctx.organisation_id"
    "   UNION SELECT ctx.agent_account WHERE $3::text = 'organisation') rc"
    "  WHERE rc.account_id <> $4::bigint)"
    " SELECT msg.id::text, j::text FROM msg"
    " CROSS JOIN LATERAL engagement_message_json(ROW(msg.*)::engagement_messages, $4::bigint, false) j");

void handle_engagement_thread_post(req_t *r)
{
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    const char *text = validate_message_body(body, QUESTION_MAX_CHARS, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    thread_t t;
    if (thread_open(r, ORG_POST, &t) < 0) {
        json_decref(body);
        return;
    }
    const char *params[5] = {t.engagement, t.agent_id, agreement_side_name(t.side),
                             r->caller.account_id_text, text};
    PGresult *res = db_exec(&q_thread_post, 5, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 201, res, 1);
}

/* The threads of an engagement, for its members: the agent, how many
 * messages, the last one (as $2 reads it, $3 whether they moderate) and
 * whether it awaits an answer; newest first. */
static db_stmt_t q_threads = DB_STMT("engagement_threads", true,
    "SELECT json_build_object('items', coalesce(json_agg(json_build_object("
    "   'agent', json_build_object('handle', g.handle, 'display_name', acc.display_name),"
    "   'messages', t.n, 'awaiting_answer', lm.side = 'agent', 'last', j) ORDER BY t.last_id DESC),"
    "  '[]'::json), 'next_cursor', NULL)::text"
    " FROM (SELECT agent_id, count(*) AS n, max(id) AS last_id FROM engagement_messages"
    "   WHERE engagement_id = $1::bigint GROUP BY agent_id ORDER BY max(id) DESC LIMIT 100) t"
    " JOIN agents g ON g.id = t.agent_id JOIN accounts acc ON acc.id = g.account_id"
    " JOIN engagement_messages lm ON lm.id = t.last_id"
    " CROSS JOIN LATERAL engagement_message_json(lm, $2::bigint, $3::boolean) j");

void handle_engagement_threads(req_t *r)
{
    bool moderator;
    if (moderation_caller_moderates(r, &moderator) < 0) return;
    const char *params[3] = {r->resource_id, r->caller.account_id_text, moderator ? "t" : "f"};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_threads, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 200, res, 0);
}
