/* registration: who may create an account (docs/operations.md,
 * "Registration"). Administrators see how accounts came in and approve or
 * refuse those that await approval; administrators (for the instance) and
 * organisation owners (for their organisation) make invitation links, list
 * their own and revoke them. Sign-up itself is accounts.c's; who may do what
 * is lib/authz's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "auth.h"
#include "authz.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "validate.h"
#include "vocab.h"

/* ---------- the administrators' list and decisions ---------- */

/* Oldest first: a queue is worked in the order people asked. */
static db_stmt_t q_registrations = DB_STMT("registrations_list", true,
    "SELECT cursor_time(r.created_at), r.account_id::text, j::text FROM account_registrations r"
    " CROSS JOIN LATERAL registration_json(r) j WHERE r.status = $1"
    " AND (r.created_at, r.account_id) > (coalesce($2::timestamptz, '-infinity'),"
    "   coalesce($3::bigint, 0))"
    " ORDER BY r.created_at, r.account_id LIMIT $4::int");

void handle_registrations_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "registrations", CURSOR_KEY_TIME CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *status = http_query(r, "status");
    if (status && !validate_enum_text(status, "status", vocab_registration_statuses, &p)) {
        purposes_bad_query(r, &p);
        return;
    }
    const char *params[4] = {status ? status : "pending", page_key(&pg, 0), page_key(&pg, 1),
                             pg.fetch};
    PGresult *res = db_exec(&q_registrations, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

static db_stmt_t q_decide = DB_STMT("registration_decide", false,
    "SELECT registration_decide($1::bigint, $2::bigint, $3, $4)");
static db_stmt_t q_registration = DB_STMT("registration_get", false,
    "SELECT j::text FROM account_registrations r CROSS JOIN LATERAL registration_json(r) j"
    " WHERE r.account_id = $1::bigint");

/* Approve or refuse ({note}: told to the person with the decision). */
static void decide(req_t *r, const char *decision)
{
    long long id;
    char idt[24];
    if (http_param_id(r, 0, &id, idt, sizeof idt) < 0) return;
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"note", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *note = validate_string(body, "note", false, 0, 1000, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[4] = {idt, r->caller.account_id_text, decision, note};
    PGresult *res = db_exec(&q_decide, 4, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    char outcome[200];
    snprintf(outcome, sizeof outcome, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (strcmp(outcome, "not-found") == 0) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No account with this id asked to sign up.");
        return;
    }
    if (strncmp(outcome, "conflict: ", 10) == 0) {
        http_fail(r, PROBLEM_CONFLICT, "Nothing to decide: %s.", outcome + 10);
        return;
    }
    const char *get[1] = {idt};
    reply_one(r, &q_registration, 1, get, 200, false, "registration");
}

void handle_registration_approve(req_t *r) { decide(r, "approve"); }

void handle_registration_refuse(req_t *r) { decide(r, "refuse"); }

/* ---------- invitation links ---------- */

/* The answer that makes a link is the only one that carries its token. */
static db_stmt_t q_invitation_create = DB_STMT("registration_invitation_create", false,
    "WITH i AS (INSERT INTO registration_invitations"
    "   (token_hash, created_by, organisation_id, note, max_uses, expires_at)"
    "   VALUES ($1::bytea, $2::bigint, nullif($3, '')::bigint, coalesce($4, ''), $5::int,"
    "     now() + make_interval(days => $6::int)) RETURNING *)"
    " SELECT json_concat(j, json_build_object('token', $7::text, 'url', $8::text))::text"
    " FROM i CROSS JOIN LATERAL registration_invitation_json(ROW(i.*)::registration_invitations) j");

void handle_registration_invitation_create(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"organisation", "note", "max_uses", "expires_in_days",
                                         NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *slug = validate_string(body, "organisation", false, 1, 64, &p);
    if (slug && !validate_slug(slug)) problem_field(&p, "organisation", "must be an organisation's slug");
    const char *note = validate_string(body, "note", false, 0, 200, &p);
    long long max_uses = 1, days = 7;
    validate_int(body, "max_uses", false, 1, 1000, &max_uses, &p);
    validate_int(body, "expires_in_days", false, 1, 90, &days, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    authz_org_t org;
    if (authz_registration_invite(r->caller.account_id_text, slug, &org, &p) < 0) {
        if (p.status == 404) { /* a body's reference: the field is wrong, not the address */
            problem_clear(&p);
            problem_fail(&p, PROBLEM_VALIDATION, "No organisation has this slug.");
            problem_field(&p, "organisation", "no such organisation");
        }
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char token[AUTH_TOKEN_TEXT], hash[AUTH_HASH_HEX], uses[16], expires[16], url[700];
    auth_token_new(token);
    auth_token_hash(token, hash);
    snprintf(uses, sizeof uses, "%lld", max_uses);
    snprintf(expires, sizeof expires, "%lld", days);
    /* a fragment: the token stays out of server logs and Referer headers */
    snprintf(url, sizeof url, "%s/signup#invitation=%s", http_config->public_url, token);
    const char *params[8] = {hash, r->caller.account_id_text, org.id, note, uses, expires, token,
                             url};
    PGresult *res = db_exec(&q_invitation_create, 8, params, &p);
    sodium_memzero(token, sizeof token);
    sodium_memzero(url, sizeof url);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 201, res, 0);
}

/* The caller's own links, newest first. */
static db_stmt_t q_invitations = DB_STMT("registration_invitations_list", true,
    "SELECT cursor_time(i.created_at), i.id::text, j::text FROM registration_invitations i"
    " CROSS JOIN LATERAL registration_invitation_json(i) j WHERE i.created_by = $1::bigint"
    " AND (i.created_at, i.id) < (coalesce($2::timestamptz, 'infinity'),"
    "   coalesce($3::bigint, 9223372036854775807))"
    " ORDER BY i.created_at DESC, i.id DESC LIMIT $4::int");

void handle_registration_invitations_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "registration-invitations", CURSOR_KEY_TIME CURSOR_KEY_ID) < 0) return;
    const char *params[4] = {r->caller.account_id_text, page_key(&pg, 0), page_key(&pg, 1),
                             pg.fetch};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_invitations, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* Revoking twice is revoking once. */
static db_stmt_t q_invitation_revoke = DB_STMT("registration_invitation_revoke", false,
    "UPDATE registration_invitations SET revoked_at = coalesce(revoked_at, now())"
    " WHERE id = $1::bigint");

void handle_registration_invitation_revoke(req_t *r)
{
    long long id;
    char idt[24];
    if (http_param_id(r, 0, &id, idt, sizeof idt) < 0) return;
    problem_t p;
    problem_init(&p);
    if (authz_registration_revoke(r->caller.account_id_text, idt, &p) < 0) {
        http_reply_problem(r, &p);
        return;
    }
    const char *params[1] = {idt};
    PGresult *res = db_exec(&q_invitation_revoke, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    http_reply_empty(r, 204);
}
