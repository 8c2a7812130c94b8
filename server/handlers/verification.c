/* verification: an organisation proves it controls its website (its owners
 * ask for a token, serve it, and have the daemon check it through
 * lib/verification), or an administrator verifies or unverifies it by hand,
 * which the moderation log records (docs/operations.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db.h"
#include "handlers.h"
#include "validate.h"
#include "verification.h"

#define TEXT_(x) #x
#define TEXT(x) TEXT_(x)

static db_stmt_t q_state = DB_STMT("verification_state", true,
    "SELECT j::text FROM organisations o"
    " LEFT JOIN organisation_verifications v ON v.organisation_id = o.id"
    " CROSS JOIN LATERAL organisation_verification_json(o, v) j WHERE o.id = $1::bigint");

void handle_verification_get(req_t *r)
{
    const char *params[1] = {r->org.id};
    reply_one(r, &q_state, 1, params, 200, false, "organisation");
}

/* The organisation's token, made on the first request (201) and the same
 * one after (200): what the website serves does not change under it. */
static db_stmt_t q_request = DB_STMT("verification_request", false,
    "WITH i AS (INSERT INTO organisation_verifications (organisation_id, token, requested_by)"
    "   VALUES ($1::bigint, $2, $3::bigint) ON CONFLICT (organisation_id) DO NOTHING RETURNING *),"
    " v AS (SELECT * FROM i UNION ALL"
    "   SELECT * FROM organisation_verifications WHERE organisation_id = $1::bigint)"
    " SELECT (SELECT count(*) FROM i), j::text FROM organisations o CROSS JOIN v"
    " CROSS JOIN LATERAL organisation_verification_json(o, ROW(v.*)::organisation_verifications) j"
    " WHERE o.id = $1::bigint LIMIT 1");

void handle_verification_request(req_t *r)
{
    char token[VERIFICATION_TOKEN_TEXT];
    verification_token_new(token);
    problem_t p;
    problem_init(&p);
    const char *params[3] = {r->org.id, token, r->caller.account_id_text};
    PGresult *res = db_exec(&q_request, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such organisation.");
        return;
    }
    int status = strcmp(PQgetvalue(res, 0, 0), "1") == 0 ? 201 : 200;
    reply_row_json(r, status, res, 1);
}

static db_stmt_t q_claim = DB_STMT("verification_claim", true,
    "SELECT o.website, verification_well_known_url(o.website), v.token FROM organisations o"
    " LEFT JOIN organisation_verifications v ON v.organisation_id = o.id WHERE o.id = $1::bigint");

/* Found: the badge (now, and how), the check recorded, the first re-check
 * queued; nothing when the website changed while it was fetched. */
static db_stmt_t q_verified = DB_STMT("verification_verified", false,
    "WITH u AS (UPDATE organisations SET verified_at = now(), verification_method = $2,"
    "   version = version + 1 WHERE id = $1::bigint AND website = $3 RETURNING *),"
    " c AS (UPDATE organisation_verifications v SET checked_at = now(), check_outcome = 'verified',"
    "   check_detail = $4 FROM u WHERE v.organisation_id = u.id RETURNING v.*)"
    " SELECT verification_recheck_enqueue(u.id, u.verified_at, $5::int, $6::int), j::text FROM u CROSS JOIN c"
    " CROSS JOIN LATERAL organisation_verification_json(ROW(u.*)::organisations,"
    "   ROW(c.*)::organisation_verifications) j");

/* Not found: recorded for the owners to read again; a badge the
 * organisation has stays until its re-check fails. */
static db_stmt_t q_not_verified = DB_STMT("verification_not_verified", false,
    "UPDATE organisation_verifications SET checked_at = now(), check_outcome = 'not_verified',"
    " check_detail = $2 WHERE organisation_id = $1::bigint");

void handle_verification_check(req_t *r)
{
    problem_t p;
    problem_init(&p);
    const char *params[1] = {r->org.id};
    PGresult *res = db_exec(&q_claim, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such organisation.");
        return;
    }
    if (PQgetisnull(res, 0, 0) || PQgetisnull(res, 0, 1)) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT, "The organisation has no website to verify: set its website first.");
        return;
    }
    if (PQgetisnull(res, 0, 2)) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT,
                  "Ask for a token first (POST /api/v1/organisations/{slug}/verification), then serve it.");
        return;
    }
    char *website = strdup(PQgetvalue(res, 0, 0));
    char *well_known = strdup(PQgetvalue(res, 0, 1));
    char *token = strdup(PQgetvalue(res, 0, 2));
    PQclear(res);
    if (!website || !well_known || !token) {
        free(website), free(well_known), free(token);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    verification_result_t found;
    verification_check(well_known, website, token, &found);
    free(well_known), free(token);
    if (found.verified) {
        const char *vp[6] = {r->org.id, found.method, website, found.detail,
                             TEXT(VERIFICATION_RECHECK_DAYS), TEXT(VERIFICATION_RECHECK_ATTEMPTS)};
        res = db_exec(&q_verified, 6, vp, &p);
        free(website);
        if (!res) {
            http_reply_problem(r, &p);
            return;
        }
        if (PQntuples(res) != 1) {
            PQclear(res);
            http_fail(r, PROBLEM_CONFLICT, "The website changed while it was being checked: check again.");
            return;
        }
        reply_row_json(r, 200, res, 1);
        return;
    }
    free(website);
    const char *np[2] = {r->org.id, found.detail};
    res = db_exec(&q_not_verified, 2, np, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    http_fail(r, PROBLEM_WEBSITE_NOT_VERIFIED, "The token was not found. %s", found.detail);
}

/* An administrator's word instead of the website's: the badge (method
 * "manual") or its removal, a moderation log row and a notice to the
 * owners, in one statement. The first column says whether the organisation
 * exists; no action row means it already was in that state. */
static db_stmt_t q_by_hand = DB_STMT("verification_by_hand", false,
    "WITH o AS (SELECT id, slug, verified_at FROM organisations WHERE slug = $1 FOR UPDATE),"
    " u AS (UPDATE organisations x SET verified_at = CASE WHEN $2::boolean THEN now() END,"
    "   verification_method = CASE WHEN $2::boolean THEN 'manual' END, version = x.version + 1"
    "   FROM o WHERE x.id = o.id AND (o.verified_at IS NOT NULL) <> $2::boolean RETURNING x.id),"
    " owners AS (SELECT coalesce(array_agg(m.account_id ORDER BY m.account_id), '{}') AS ids"
    "   FROM memberships m JOIN o ON m.organisation_id = o.id WHERE m.role = 'owner'),"
    " a AS (INSERT INTO moderation_actions (moderator_id, action, subject_kind, subject_id,"
    "     subject_label, reason, affected)"
    "   SELECT $3::bigint, CASE WHEN $2::boolean THEN 'verify' ELSE 'unverify' END, 'organisation',"
    "     u.id, o.slug, $4, owners.ids FROM u, o, owners RETURNING *),"
    " n AS (INSERT INTO notifications (account_id, kind, message, payload)"
    "   SELECT x, 'moderation', left(CASE WHEN $2::boolean"
    "       THEN 'An administrator verified your organisation \"' || o.slug || '\": '"
    "       ELSE 'An administrator removed the verification of your organisation \"' || o.slug || '\": '"
    "     END || $4, 1000),"
    "     jsonb_build_object('moderation_action', a.id, 'action', a.action,"
    "                        'subject_kind', 'organisation', 'subject', o.slug)"
    "   FROM a, o, unnest(a.affected) AS x RETURNING 1)"
    " SELECT (SELECT count(*) FROM o), (SELECT j::text FROM a"
    "   CROSS JOIN LATERAL moderation_action_json(ROW(a.*)::moderation_actions) j)");

/* {organisation, verified, reason} */
void handle_verification_by_hand(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"organisation", "verified", "reason", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *slug = validate_string(body, "organisation", true, 1, 64, &p);
    if (slug && !validate_slug(slug)) problem_field(&p, "organisation", "must be an organisation's slug");
    bool verified = false;
    validate_bool(body, "verified", true, &verified, &p);
    const char *reason = validate_string(body, "reason", true, 1, 2000, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[4] = {slug, db_bool(verified), r->caller.account_id_text, reason};
    PGresult *res = db_exec(&q_by_hand, 4, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such organisation.");
        return;
    }
    if (PQgetisnull(res, 0, 1)) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT, "Nothing done: the organisation is %s verified.",
                  verified ? "already" : "not");
        return;
    }
    reply_row_json(r, 201, res, 1);
}
