/* accounts: sign up, sign in, sign out and /me. Password hashing runs on the
 * slow pool (http_defer) so it never stalls the threads serving reads. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "session.h"
#include "validate.h"

typedef struct credentials {
    char email[256];
    char *password;
    char *display_name;
} credentials_t;

static void credentials_free(void *p)
{
    credentials_t *c = p;
    if (!c) return;
    if (c->password) {
        sodium_memzero(c->password, strlen(c->password));
        free(c->password);
    }
    free(c->display_name);
    free(c);
}

/* Read {email, password[, display_name]}; every bad field is named. */
static credentials_t *read_credentials(req_t *r, bool signup)
{
    json_t *body = http_json_body(r);
    if (!body) return NULL;
    static const char *const signup_fields[] = {"email", "password", "display_name", NULL};
    static const char *const signin_fields[] = {"email", "password", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, signup ? signup_fields : signin_fields, &p);
    credentials_t *c = calloc(1, sizeof *c);
    const char *email = validate_string(body, "email", true, 1, 254, &p);
    if (email && validate_normalise_email(email, c->email, sizeof c->email) != 0) {
        if (signup) problem_field(&p, "email", "must be an email address like name@example.org");
        else c->email[0] = '\0'; /* unknown either way: answered 401 */
    }
    const char *password = validate_string(body, "password", true, signup ? 12 : 1, 1024, &p);
    if (password && strlen(password) > 1024) {
        problem_field(&p, "password", "must be at most 1024 bytes");
        password = NULL;
    }
    const char *name = signup ? validate_string(body, "display_name", true, 1, 100, &p) : NULL;
    if (problem_has_fields(&p)) {
        json_decref(body);
        credentials_free(c);
        http_reply_problem(r, &p);
        return NULL;
    }
    c->password = strdup(password);
    if (name) c->display_name = strdup(name);
    json_decref(body);
    return c;
}

static db_stmt_t q_insert_account = DB_STMT("account_insert", false,
    "INSERT INTO accounts (email, password_hash, display_name) VALUES ($1, $2, $3)"
    " RETURNING id, json_build_object('id', id, 'email', email, 'display_name', display_name,"
    "  'created_at', api_time(created_at))::text");

static void create_account_slow(req_t *r)
{
    credentials_t *c = r->ctx;
    char hash[crypto_pwhash_STRBYTES];
    if (auth_password_hash(c->password, hash) != 0) {
        http_error(r, 503, "unavailable", "Service busy", "Could not hash the password now.");
        return;
    }
    const char *params[3] = {c->email, hash, c->display_name};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_insert_account, 3, params, &p);
    if (!res) {
        if (db_is_unique_violation()) {
            problem_clear(&p);
            problem_set(&p, 409, "conflict", "Email already registered",
                        "An account with this email exists; sign in instead.");
            problem_field(&p, "email", "is already registered");
        }
        http_reply_problem(r, &p);
        return;
    }
    http_add_header(r, "Location", "/api/v1/me");
    reply_row_json(r, 201, res, 1);
}

void handle_account_create(req_t *r)
{
    credentials_t *c = read_credentials(r, true);
    if (!c) return;
    r->ctx = c;
    r->ctx_free = credentials_free;
    http_defer(r, create_account_slow);
}

static db_stmt_t q_account_by_email = DB_STMT("account_by_email", true,
    "SELECT id, password_hash FROM accounts WHERE email = $1 AND deleted_at IS NULL");
static db_stmt_t q_insert_session = DB_STMT("session_insert", false,
    "INSERT INTO sessions (account_id, token_hash, csrf_token, expires_at)"
    " VALUES ($1, $2::bytea, $3, now() + make_interval(days => $4::int))"
    " RETURNING to_char(expires_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')");

static void bad_credentials(req_t *r)
{
    http_add_header(r, "WWW-Authenticate", "Bearer");
    http_error(r, 401, "bad-credentials", "Wrong email or password",
               "The email or the password is not right.");
}

static void create_session_slow(req_t *r)
{
    credentials_t *c = r->ctx;
    problem_t p;
    problem_init(&p);
    const char *params1[1] = {c->email};
    PGresult *res = db_exec(&q_account_by_email, 1, params1, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        auth_password_burn(c->password);
        bad_credentials(r);
        return;
    }
    char account_id[24];
    snprintf(account_id, sizeof account_id, "%s", PQgetvalue(res, 0, 0));
    bool ok = auth_password_verify(PQgetvalue(res, 0, 1), c->password);
    PQclear(res);
    if (!ok) {
        bad_credentials(r);
        return;
    }
    char token[AUTH_TOKEN_TEXT], hash[AUTH_HASH_HEX], csrf[AUTH_CSRF_TEXT], ttl[16];
    auth_token_new(token);
    auth_token_hash(token, hash);
    auth_csrf_new(csrf);
    snprintf(ttl, sizeof ttl, "%d", http_config->session_ttl_days);
    const char *params2[4] = {account_id, hash, csrf, ttl};
    res = db_exec(&q_insert_session, 4, params2, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    char cookie[256];
    snprintf(cookie, sizeof cookie, "session=%s; HttpOnly; SameSite=Lax; Path=/; Max-Age=%d%s",
             token, http_config->session_ttl_days * 86400,
             http_config->cookie_secure ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", cookie);
    http_add_header(r, "Location", "/api/v1/sessions/current");
    json_t *body = json_pack("{s:s, s:s, s:s}", "token", token, "expires_at",
                             PQgetvalue(res, 0, 0), "csrf_token", csrf);
    PQclear(res);
    sodium_memzero(token, sizeof token);
    http_reply_json(r, 201, body);
}

void handle_session_create(req_t *r)
{
    credentials_t *c = read_credentials(r, false);
    if (!c) return;
    r->ctx = c;
    r->ctx_free = credentials_free;
    http_defer(r, create_session_slow);
}

static db_stmt_t q_revoke_session = DB_STMT("session_revoke", false,
    "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL");

void handle_session_delete(req_t *r)
{
    if (!session_require(r)) return;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)r->caller.session_id);
    const char *params[1] = {id};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_revoke_session, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    http_add_header(r, "Set-Cookie", "session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0");
    http_reply_empty(r, 204);
}

static db_stmt_t q_me = DB_STMT("me", true,
    "SELECT json_build_object("
    " 'account', json_build_object('id', a.id, 'email', a.email, 'display_name', a.display_name,"
    "   'created_at', api_time(a.created_at)),"
    " 'agent', (SELECT json_build_object('id', g.id, 'handle', g.handle, 'headline', g.headline,"
    "   'discoverable', g.discoverable, 'version', g.version) FROM agents g WHERE g.account_id = a.id),"
    " 'memberships', coalesce((SELECT json_agg(json_build_object('organisation',"
    "   json_build_object('slug', o.slug, 'name', o.name), 'role', m.role) ORDER BY o.name)"
    "   FROM memberships m JOIN organisations o ON o.id = m.organisation_id"
    "   WHERE m.account_id = a.id), '[]'::json),"
    " 'csrf_token', $2::text)::text FROM accounts a WHERE a.id = $1");

void handle_me(req_t *r)
{
    if (!session_require(r)) return;
    const char *params[2] = {r->caller.account_id_text, r->caller.csrf_token};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_me, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 200, res, 0);
}
