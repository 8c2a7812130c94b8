/* session: resolving credentials to an account, with sliding expiry. */
#include "session.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db.h"

/* A read, so it can run on a replica; the sliding expiry is a separate
 * write, at most once a minute per session (on the primary). Whether the
 * account is young enough for the new accounts' write limit comes with it
 * (instance_settings, migration 0033). */
static db_stmt_t q_session = DB_STMT("session_lookup", true,
    "SELECT s.id, s.account_id, s.csrf_token, a.email_verified_at IS NOT NULL,"
    "       s.last_seen_at < now() - interval '1 minute',"
    "       CASE WHEN a.created_at > now() - make_interval(days => i.new_account_days)"
    "            THEN i.new_account_writes_per_hour ELSE 0 END"
    "  FROM sessions s JOIN accounts a ON a.id = s.account_id CROSS JOIN instance_settings i"
    "  WHERE s.token_hash = $1::bytea AND s.revoked_at IS NULL AND s.expires_at > now()"
    "    AND a.deleted_at IS NULL");
static db_stmt_t q_session_touch = DB_STMT("session_touch", true /* idempotent: safe to retry */,
    "UPDATE sessions SET last_seen_at = now(), expires_at = now() + make_interval(days => $2::int)"
    " WHERE id = $1::bigint AND last_seen_at < now() - interval '1 minute'");

static int unauthorised(req_t *r, const char *detail)
{
    http_add_header(r, "WWW-Authenticate", "Bearer");
    return http_fail(r, PROBLEM_UNAUTHORISED, "%s", detail);
}

int session_resolve(req_t *r)
{
    caller_t *c = &r->caller;
    if (c->checked) return c->account_id ? 1 : 0;
    c->checked = true;
    char token[128];
    bool via_cookie = false;
    const char *authz = http_header(r, "Authorization");
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0 || strlen(authz + 7) >= sizeof token)
            return unauthorised(r, "Use Authorization: Bearer <token>.");
        snprintf(token, sizeof token, "%s", authz + 7);
    } else if (auth_cookie_value(http_header(r, "Cookie"), "session", token, sizeof token) == 0) {
        via_cookie = true;
    } else {
        return 0;
    }
    char hash[AUTH_HASH_HEX];
    if (auth_token_hash(token, hash) != 0) {
        if (via_cookie) return 0; /* a stale or foreign cookie: treat as signed out */
        return unauthorised(r, "The session token is not valid.");
    }
    char ttl[16];
    snprintf(ttl, sizeof ttl, "%d", http_config->session_ttl_days);
    const char *params[2] = {hash, ttl};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_session, 1, params, &p);
    if (res && PQntuples(res) != 1 && db_on_replica()) {
        /* a session made a moment ago may not be on the replica yet */
        PQclear(res);
        db_use_primary();
        res = db_exec(&q_session, 1, params, &p);
    }
    if (!res) {
        return http_reply_problem(r, &p);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        if (via_cookie) return 0;
        return unauthorised(r, "The session has expired or was signed out.");
    }
    c->session_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    c->account_id = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    snprintf(c->account_id_text, sizeof c->account_id_text, "%lld", (long long)c->account_id);
    snprintf(c->csrf_token, sizeof c->csrf_token, "%s", PQgetvalue(res, 0, 2));
    c->via_cookie = via_cookie;
    c->email_verified = PQgetvalue(res, 0, 3)[0] == 't';
    bool stale = PQgetvalue(res, 0, 4)[0] == 't';
    c->new_account_limit = atoi(PQgetvalue(res, 0, 5));
    char sid[24];
    snprintf(sid, sizeof sid, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (stale) { /* a failed touch costs the session a minute, not the request */
        const char *touch[2] = {sid, ttl};
        PGresult *t = db_exec(&q_session_touch, 2, touch, &p);
        if (t) PQclear(t);
        problem_clear(&p);
    }
    return 1;
}

int session_require(req_t *r)
{
    int s = session_resolve(r);
    if (s < 0) return s;
    if (s == 0) return unauthorised(r, "Sign in first: POST /api/v1/sessions.");
    return 0;
}

int session_csrf(req_t *r)
{
    bool safe = !strcmp(r->method, "GET") || !strcmp(r->method, "HEAD") ||
                !strcmp(r->method, "OPTIONS");
    if (r->caller.via_cookie && !safe &&
        !auth_csrf_equal(r->caller.csrf_token, http_header(r, "X-CSRF-Token")))
        return http_fail(r, PROBLEM_CSRF,
                         "Requests signed in by cookie must send the X-CSRF-Token header.");
    return 0;
}

static db_stmt_t q_feed_owner = DB_STMT("session_feed_owner", true,
    "SELECT f.account_id FROM notification_feeds f JOIN accounts a ON a.id = f.account_id"
    " WHERE f.token_hash = $1::bytea AND a.deleted_at IS NULL");

static int no_feed(req_t *r)
{
    return http_fail(r, PROBLEM_NOT_FOUND, "There is no feed at this address.");
}

int session_feed_token(req_t *r, const char *name, const char *suffix)
{
    caller_t *c = &r->caller;
    c->checked = true;
    size_t len = strlen(name), slen = strlen(suffix);
    char token[AUTH_TOKEN_TEXT], hash[AUTH_HASH_HEX];
    if (len <= slen || len - slen >= sizeof token || strcmp(name + len - slen, suffix) != 0)
        return no_feed(r);
    memcpy(token, name, len - slen);
    token[len - slen] = '\0';
    int bad = auth_token_hash(token, hash);
    sodium_memzero(token, sizeof token);
    if (bad != 0) return no_feed(r);
    problem_t p;
    problem_init(&p);
    const char *params[1] = {hash};
    PGresult *res = db_exec(&q_feed_owner, 1, params, &p);
    if (!res) {
        return http_reply_problem(r, &p);
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return no_feed(r);
    }
    c->account_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    snprintf(c->account_id_text, sizeof c->account_id_text, "%lld", (long long)c->account_id);
    PQclear(res);
    return 0;
}

void session_set_cookie(req_t *r, const char *token)
{
    char cookie[256];
    snprintf(cookie, sizeof cookie, "session=%s; HttpOnly; SameSite=Lax; Path=/; Max-Age=%d%s",
             token, http_config->session_ttl_days * 86400,
             http_config->cookie_secure ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", cookie);
    sodium_memzero(cookie, sizeof cookie);
    /* The marker the pages read (not HttpOnly, no secret in it): without it
     * they know nobody is signed in and do not ask GET /me for a 401. */
    snprintf(cookie, sizeof cookie, "signed_in=1; SameSite=Lax; Path=/; Max-Age=%d%s",
             http_config->session_ttl_days * 86400, http_config->cookie_secure ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", cookie);
}

void session_clear_cookie(req_t *r)
{
    char cookie[128];
    snprintf(cookie, sizeof cookie, "session=; HttpOnly; SameSite=Lax; Path=/; Max-Age=0%s",
             http_config->cookie_secure ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", cookie);
    snprintf(cookie, sizeof cookie, "signed_in=; SameSite=Lax; Path=/; Max-Age=0%s",
             http_config->cookie_secure ? "; Secure" : "");
    http_add_header(r, "Set-Cookie", cookie);
}
