/* follows: an agent follows an organisation without being engaged (PUT and
 * DELETE /organisations/{slug}/follow), the organisation's members see the
 * followers who are discoverable and allow it (show_follows), and an agent
 * lists what it follows. */
#include <stdio.h>
#include <string.h>

#include "authz.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "session.h"
#include "validate.h"

/* an organisation another instance keeps (0043) is followed through
 * POST /me/remote-follows, which has the instance follow it: not here */
static db_stmt_t q_follow = DB_STMT("follow_put", false,
    "WITH o AS (SELECT id FROM organisations WHERE slug = $2 AND remote_actor_id IS NULL),"
    " g AS (SELECT id FROM agents WHERE account_id = $1::bigint),"
    " ins AS (INSERT INTO follows (agent_id, organisation_id)"
    "  SELECT g.id, o.id FROM g, o ON CONFLICT DO NOTHING)"
    "SELECT EXISTS (SELECT 1 FROM o), EXISTS (SELECT 1 FROM g),"
    " (SELECT coalesce(a.url, a.uri) FROM organisations x JOIN remote_actors a"
    "   ON a.id = x.remote_actor_id WHERE x.slug = $2)");
static db_stmt_t q_unfollow = DB_STMT("follow_delete", false,
    "WITH o AS (SELECT id FROM organisations WHERE slug = $2),"
    " g AS (SELECT id FROM agents WHERE account_id = $1::bigint),"
    " del AS (DELETE FROM follows f USING g, o"
    "  WHERE f.agent_id = g.id AND f.organisation_id = o.id)"
    "SELECT EXISTS (SELECT 1 FROM o), EXISTS (SELECT 1 FROM g)");

static void no_organisation(req_t *r)
{
    http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such organisation.");
}

/* Follow or unfollow: 204 either way, and again (idempotent). */
static void follow_change(req_t *r, db_stmt_t *st)
{
    const char *slug = http_param(r, 0);
    if (!validate_slug(slug)) {
        no_organisation(r);
        return;
    }
    const char *params[2] = {r->caller.account_id_text, slug};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(st, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    bool org = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    bool agent = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    if (PQnfields(res) > 2 && !PQgetisnull(res, 0, 2)) {
        http_fail(r, PROBLEM_REMOTE,
                  "This organisation is kept by another instance (%.600s): follow it with POST "
                  "/api/v1/me/remote-follows.", PQgetvalue(res, 0, 2));
        PQclear(res);
        return;
    }
    PQclear(res);
    if (!org) {
        no_organisation(r);
        return;
    }
    if (!agent) {
        http_fail(r, PROBLEM_NO_AGENT,
                  "Only agents follow organisations: create your agent profile first with PUT "
                  "/api/v1/me/agent.");
        return;
    }
    http_reply_empty(r, 204);
}

void handle_follow_put(req_t *r) { follow_change(r, &q_follow); }
void handle_follow_delete(req_t *r) { follow_change(r, &q_unfollow); }

/* Cursor keys: followed_at in microseconds since the epoch, then an id. */
#define FOLLOW_AFTER(TS, ID)                                                                 \
    "(" TS ", " ID ") < (coalesce(timestamptz 'epoch' + $2::bigint * interval '1 microsecond',"  \
    " 'infinity'), coalesce($3::bigint, 9223372036854775807))"

static db_stmt_t q_followers = DB_STMT("follow_followers", true,
    "SELECT (extract(epoch FROM f.created_at) * 1000000)::bigint::text, f.agent_id::text, j::text"
    " FROM follows f JOIN agents g ON g.id = f.agent_id JOIN accounts a ON a.id = g.account_id"
    " CROSS JOIN LATERAL follower_json(f, g, a) j"
    " WHERE f.organisation_id = $1::bigint AND g.discoverable AND g.show_follows"
    "  AND a.deleted_at IS NULL"
    "  AND " FOLLOW_AFTER("f.created_at", "f.agent_id")
    " ORDER BY f.created_at DESC, f.agent_id DESC LIMIT $4::int");

void handle_followers_list(req_t *r)
{
    const authz_org_t org = r->org;
    page_t pg;
    if (page_read(r, &pg, "followers", CURSOR_KEY_MICROS CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[4] = {org.id, page_key(&pg, 0), page_key(&pg, 1), pg.fetch};
    PGresult *res = db_exec(&q_followers, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

static db_stmt_t q_my_follows = DB_STMT("follow_mine", true,
    "SELECT (extract(epoch FROM f.created_at) * 1000000)::bigint::text, f.organisation_id::text,"
    " j::text FROM agents g JOIN follows f ON f.agent_id = g.id"
    " JOIN organisations o ON o.id = f.organisation_id CROSS JOIN LATERAL follow_json(f, o) j"
    " WHERE g.account_id = $1::bigint"
    "  AND " FOLLOW_AFTER("f.created_at", "f.organisation_id")
    " ORDER BY f.created_at DESC, f.organisation_id DESC LIMIT $4::int");

void handle_my_follows(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "my-follows", CURSOR_KEY_MICROS CURSOR_KEY_ID) < 0) return;
    const char *params[4] = {r->caller.account_id_text, page_key(&pg, 0), page_key(&pg, 1),
                             pg.fetch};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_my_follows, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}
