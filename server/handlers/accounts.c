/* accounts: sign up (as the instance's registration mode allows), sign in
 * (throttled), sign out, /me, and the caller's own account (read, change,
 * delete). Password hashing and verification run on the slow pool
 * (http_defer) so they never stall the threads serving reads. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "authz.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "mail_sql.h"
#include "session.h"
#include "validate.h"

/* An address may fail this many times as often as one account: many people
 * can sit behind one address (offices, NAT, proxies). */
#define THROTTLE_ADDRESS_FACTOR 10

/* What a deferred account operation needs; owned by the request (ctx). */
typedef struct account_op {
    char email[256];          /* normalised; "" when absent or not an email */
    bool email_given;
    char address[64];         /* the client's address, for throttling */
    char attempt[24];         /* the reserved sign-in attempt (throttling) */
    char *password;           /* sign up/in: the password; change/delete: the current one */
    char *new_password;
    char *display_name;
    char version[24];         /* If-Match of a PATCH */
    char account_email[256];  /* filled by verify_current: the email before any change */
    /* sign up: the registration (lib/authz.h authz_registration) */
    char *reason;             /* what the person tells the administrators, or NULL */
    char mode[16];            /* the instance's registration mode when it was checked */
    char invitation_id[24];   /* the working invitation given, or "" */
    const char *registration; /* "admitted" or "pending" */
} account_op_t;

static void free_secret(char *s)
{
    if (!s) return;
    sodium_memzero(s, strlen(s));
    free(s);
}

static void account_op_free(void *ptr)
{
    account_op_t *op = ptr;
    if (!op) return;
    free_secret(op->password);
    free_secret(op->new_password);
    free(op->display_name);
    free(op->reason);
    free(op);
}

static account_op_t *account_op_new(req_t *r)
{
    account_op_t *op = calloc(1, sizeof *op);
    if (!op) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return NULL;
    }
    http_client_address(r, op->address, sizeof op->address);
    return op;
}

/* A password field: min_chars..1024 Unicode characters (not bytes: 1024
 * "é" are fine). Its name must be one of auth_secret_field's, so that no
 * fingerprint of a request (idem.c) depends on it. */
static const char *read_password(const json_t *body, const char *key, bool required,
                                 size_t min_chars, problem_t *p)
{
    return validate_string(body, key, required, min_chars, 1024, p);
}

static char *dup_or_null(const char *s) { return s ? strdup(s) : NULL; }

/* ---------- sign-in throttling ----------
 * An attempt is reserved (a row of login_failures) before the password is
 * hashed, in one statement serialised per account and per address
 * (login_attempt_reserve, migration 0012), so concurrent guesses are
 * counted; a successful attempt removes its reservation again. Limits:
 * LOGIN_MAX_FAILURES per account and address, ten times that per address;
 * from an address the account has not signed in from, failures of the
 * account beyond LOGIN_MAX_FAILURES slow each attempt down progressively.
 * The owner at a usual address is never held up by someone else's guesses.
 * Rows live in PostgreSQL, so every daemon on the database shares them. */

static db_stmt_t q_throttle_reserve = DB_STMT("login_throttle_reserve", false,
    "SELECT wait_s, attempt FROM login_attempt_reserve($1, $2, $3::int, $4::int, $5::int, $6::int)");
/* A success: the attempt is not a failure, and the failures of this
 * account from this address are forgiven. */
static db_stmt_t q_throttle_release = DB_STMT("login_throttle_release", false,
    "DELETE FROM login_failures WHERE attempt = $1::bigint OR (scope = $2 AND address = $3)");

typedef struct throttle_scopes {
    char email[sizeof "email:" + 256];
    char address[sizeof "address:" + 64];
} throttle_scopes_t;

static void throttle_scopes(throttle_scopes_t *s, const char *email, const char *address)
{
    s->email[0] = '\0';
    if (email && email[0]) snprintf(s->email, sizeof s->email, "email:%s", email);
    snprintf(s->address, sizeof s->address, "address:%s", address);
}

static int reply_throttled(req_t *r, int seconds)
{
    problem_t p;
    problem_init(&p);
    char wait[48];
    problem_fail(&p, PROBLEM_TOO_MANY_ATTEMPTS,
                 "Too many wrong passwords for this account or from this address; try again in %s.",
                 problem_duration_words(seconds, wait, sizeof wait));
    p.retry_after = seconds;
    return http_reply_problem(r, &p);
}

/* Reserve an attempt for email (may be "") from address into attempt (the
 * id to release on success); 0, or negative with the response (429 or 503)
 * set. */
static int throttle_attempt(req_t *r, const char *email, const char *address, char attempt[24])
{
    char window[16], max_pair[16], max_address[16], usual_days[16];
    snprintf(window, sizeof window, "%d", http_config->login_window_s);
    snprintf(max_pair, sizeof max_pair, "%d", http_config->login_max_failures);
    snprintf(max_address, sizeof max_address, "%d",
             http_config->login_max_failures * THROTTLE_ADDRESS_FACTOR);
    snprintf(usual_days, sizeof usual_days, "%d", http_config->session_ttl_days);
    const char *params[6] = {email && email[0] ? email : NULL, address, window, max_pair,
                             max_address, usual_days};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_throttle_reserve, 6, params, &p);
    if (!res) return http_reply_problem(r, &p);
    int wait = atoi(PQgetvalue(res, 0, 0));
    snprintf(attempt, 24, "%s", PQgetisnull(res, 0, 1) ? "" : PQgetvalue(res, 0, 1));
    PQclear(res);
    return wait > 0 ? reply_throttled(r, wait) : 0;
}

/* The reserved attempt succeeded (or was never evaluated): remove it and the
 * failures of this account from this address. Failure only costs a slot. */
static void throttle_release(const char *attempt, const char *email, const char *address)
{
    throttle_scopes_t s;
    throttle_scopes(&s, email, address);
    const char *params[3] = {attempt && attempt[0] ? attempt : NULL,
                             s.email[0] ? s.email : NULL, address};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_throttle_release, 3, params, &p);
    if (res) PQclear(res);
    else log_event("warn", "login_attempt_not_released", p.detail);
    problem_clear(&p);
}

/* Sign-ups from one address: at most SIGNUP_MAX_PER_ADDRESS within the
 * login window, counted before any hashing (signup_reserve, migration 0012). */
static db_stmt_t q_signup_reserve = DB_STMT("signup_reserve", false,
    "SELECT signup_reserve($1, $2::int, $3::int)");

static bool signup_allowed(req_t *r, const char *address)
{
    if (http_config->signup_max_per_address <= 0) return true;
    char window[16], max[16];
    snprintf(window, sizeof window, "%d", http_config->login_window_s);
    snprintf(max, sizeof max, "%d", http_config->signup_max_per_address);
    const char *params[3] = {address, window, max};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_signup_reserve, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return false;
    }
    int wait = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (wait <= 0) return true;
    char words[48];
    problem_fail(&p, PROBLEM_TOO_MANY_SIGNUPS,
                 "Too many accounts were created from this address; try again in %s.",
                 problem_duration_words(wait, words, sizeof words));
    p.retry_after = wait;
    http_reply_problem(r, &p);
    return false;
}

/* ---------- sign up ---------- */

/* ---------- registration (docs/operations.md, "Registration") ----------
 * The mode and the invitation are checked before any hashing (a refused
 * sign-up costs one query); the invitation's use is taken in the statement
 * that makes the account, so a link used up meanwhile makes none. */

/* An invitation that works: not revoked, not expired, not used up, and its
 * creator neither deleted nor suspended. */
#define INVITATION_WORKS(I)                                                                    \
    I ".revoked_at IS NULL AND " I ".expires_at > now() AND " I ".uses < " I ".max_uses"       \
    " AND EXISTS (SELECT 1 FROM accounts c WHERE c.id = " I ".created_by"                      \
    "   AND c.deleted_at IS NULL AND c.suspended_at IS NULL)"

static db_stmt_t q_registration_check = DB_STMT("registration_check", false,
    "SELECT s.registration_mode, (SELECT i.id FROM registration_invitations i"
    "   WHERE i.token_hash = $1::bytea AND " INVITATION_WORKS("i") ")"
    " FROM instance_settings s");

/* May this sign-up go on (c->registration set), or has it been answered
 * (403 invitation-required, 422 invalid-token, 503)? token: the invitation
 * given, or NULL. */
static int registration_check(req_t *r, account_op_t *c, const char *token)
{
    char hash[AUTH_HASH_HEX];
    bool given = token != NULL;
    bool well_formed = given && auth_token_hash(token, hash) == 0;
    const char *params[1] = {well_formed ? hash : NULL};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_registration_check, 1, params, &p);
    if (!res) return http_reply_problem(r, &p);
    snprintf(c->mode, sizeof c->mode, "%s", PQgetvalue(res, 0, 0));
    snprintf(c->invitation_id, sizeof c->invitation_id, "%s",
             PQgetisnull(res, 0, 1) ? "" : PQgetvalue(res, 0, 1));
    PQclear(res);
    if (given && !c->invitation_id[0]) {
        problem_fail(&p, PROBLEM_INVALID_TOKEN,
                     "This invitation does not work: it expired, was revoked or has been used "
                     "up. Ask whoever invited you for a new one.");
        problem_field(&p, "invitation_token", "does not name a working invitation");
        return http_reply_problem(r, &p);
    }
    switch (authz_registration(c->mode, c->invitation_id[0] != '\0')) {
    case AUTHZ_REGISTRATION_ADMITTED: c->registration = "admitted"; return 0;
    case AUTHZ_REGISTRATION_PENDING: c->registration = "pending"; return 0;
    case AUTHZ_REGISTRATION_REFUSED: break;
    }
    return http_fail(r, PROBLEM_INVITATION_REQUIRED,
                     "This instance takes new accounts by invitation only: ask an administrator, "
                     "or an owner of an organisation here, for an invitation link.");
}

/* Read {email, password[, display_name, invitation_token, reason]}; every
 * bad field is named. The invitation's token is checked by
 * registration_check. */
static account_op_t *read_credentials(req_t *r, bool signup, char **invitation)
{
    json_t *body = http_take_body(r);
    static const char *const signup_fields[] = {"email", "password", "display_name",
                                                "invitation_token", "reason", NULL};
    static const char *const signin_fields[] = {"email", "password", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, signup ? signup_fields : signin_fields, &p);
    account_op_t *c = account_op_new(r);
    if (!c) {
        json_decref(body);
        return NULL;
    }
    const char *email = validate_string(body, "email", true, 1, 254, &p);
    if (email && validate_normalise_email(email, c->email, sizeof c->email) != 0) {
        if (signup) problem_field(&p, "email", "must be an email address like name@example.org");
        c->email[0] = '\0'; /* signing in: unknown either way, answered 401 */
    }
    const char *password = read_password(body, "password", true, signup ? 12 : 1, &p);
    const char *name = signup ? validate_string(body, "display_name", true, 1, 100, &p) : NULL;
    const char *token =
        signup ? validate_string(body, "invitation_token", false, 1, 200, &p) : NULL;
    const char *reason = signup ? validate_string(body, "reason", false, 0, 1000, &p) : NULL;
    if (problem_has_fields(&p)) {
        json_decref(body);
        account_op_free(c);
        http_reply_problem(r, &p);
        return NULL;
    }
    c->password = strdup(password);
    c->display_name = dup_or_null(name);
    c->reason = dup_or_null(reason);
    if (invitation) *invitation = dup_or_null(token);
    json_decref(body);
    if (!c->password || (name && !c->display_name) || (reason && !c->reason) ||
        (token && !*invitation)) {
        if (invitation) {
            free_secret(*invitation);
            *invitation = NULL;
        }
        account_op_free(c);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return NULL;
    }
    return c;
}

/* The Idempotency-Key of the sign-up, if any ($4 owner, $5 key), is tied to
 * the new account so that it is deleted with it; in the same statement, the
 * link that verifies its email ($6 the token's hash, $7 the token), one use
 * of the invitation ($8; no account when it no longer works) and how the
 * account came in ($9 mode, $10 reason, $11 admitted or pending). */
static db_stmt_t q_insert_account = DB_STMT("account_insert", false,
    "WITH inv AS (UPDATE registration_invitations i SET uses = uses + 1"
    "   WHERE i.id = $8::bigint AND " INVITATION_WORKS("i") " RETURNING i.id),"
    " a AS (INSERT INTO accounts (email, password_hash, display_name) SELECT $1, $2, $3"
    "   WHERE $8::bigint IS NULL OR EXISTS (SELECT 1 FROM inv) RETURNING *),"
    " reg AS (INSERT INTO account_registrations (account_id, mode, invitation_id, reason, status)"
    "   SELECT a.id, $9, (SELECT id FROM inv), coalesce($10, ''), $11 FROM a),"
    " k AS (UPDATE idempotency_keys SET account_id = a.id FROM a"
    "   WHERE owner = $4 AND key = $5),"
    MAIL_SQL_VERIFY("a", "$6", "$7")
    " SELECT a.version, (SELECT json_concat(j, json_build_object('registration', $11::text))::text"
    "   FROM account_json(ROW(a.*)::accounts) j) FROM a");

static void create_account_slow(req_t *r)
{
    account_op_t *c = r->ctx;
    char hash[crypto_pwhash_STRBYTES];
    if (auth_password_hash(c->password, hash) != 0) {
        http_fail(r, PROBLEM_UNAVAILABLE, "Could not hash the password now.");
        return;
    }
    char token[AUTH_TOKEN_TEXT], token_hash[AUTH_HASH_HEX];
    auth_token_new(token);
    auth_token_hash(token, token_hash);
    const char *params[11] = {c->email, hash, c->display_name,
                              r->idem_active ? r->idem_owner : NULL,
                              r->idem_active ? r->idem_key : NULL, token_hash, token,
                              c->invitation_id[0] ? c->invitation_id : NULL, c->mode, c->reason,
                              c->registration};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_insert_account, 11, params, &p);
    sodium_memzero(token, sizeof token);
    if (res && PQntuples(res) != 1) { /* the invitation was used up meanwhile */
        PQclear(res);
        problem_fail(&p, PROBLEM_INVALID_TOKEN,
                     "This invitation has just been used up. Ask whoever invited you for a new one.");
        problem_field(&p, "invitation_token", "does not name a working invitation");
        http_reply_problem(r, &p);
        return;
    }
    if (!res) {
        if (db_is_unique_violation()) {
            problem_clear(&p);
            problem_fail(&p, PROBLEM_CONFLICT,
                         "An account with this email exists; sign in instead.");
            problem_field(&p, "email", "is already registered");
        }
        http_reply_problem(r, &p);
        return;
    }
    set_etag(r, PQgetvalue(res, 0, 0));
    http_add_header(r, "Location", "/api/v1/me/account");
    reply_row_json(r, 201, res, 1);
}

void handle_account_create(req_t *r)
{
    char *invitation = NULL;
    account_op_t *c = read_credentials(r, true, &invitation);
    if (!c) return;
    r->ctx = c;
    r->ctx_free = account_op_free;
    /* Before any hashing: a throttled address costs one indexed query, a
     * refused registration one more. */
    if (!signup_allowed(r, c->address)) {
        free_secret(invitation);
        return;
    }
    int rc = registration_check(r, c, invitation);
    free_secret(invitation);
    if (rc < 0) return;
    http_defer(r, create_account_slow);
}

/* ---------- sign in and out ---------- */

/* A suspended account (docs/moderation.md) is told why, once its password
 * is right; an account awaiting an administrator's approval that it waits. */
static db_stmt_t q_account_by_email = DB_STMT("account_by_email", true,
    "SELECT id, password_hash, suspended_at IS NOT NULL,"
    " (SELECT m.reason FROM moderation_actions m WHERE m.subject_kind = 'account'"
    "   AND m.subject_id = accounts.id AND m.action = 'suspend' ORDER BY m.id DESC LIMIT 1),"
    " EXISTS (SELECT 1 FROM account_registrations r WHERE r.account_id = accounts.id"
    "   AND r.status = 'pending')"
    " FROM accounts WHERE email = $1 AND deleted_at IS NULL");
static db_stmt_t q_rehash = DB_STMT("account_rehash", false,
    "UPDATE accounts SET password_hash = $2"
    " WHERE id = $1 AND password_hash = $3 AND deleted_at IS NULL");
/* The session, the release of the reserved attempt ($7) with the failures
 * of this account from this address, and the address ($6) remembered as a
 * usual one of the account (login_attempt_reserve), for as long as a
 * session lasts; a bounded share of addresses past that is forgotten. */
static db_stmt_t q_insert_session = DB_STMT("session_insert", false,
    "WITH cleared AS (DELETE FROM login_failures"
    "   WHERE attempt = $7::bigint OR (scope = $5 AND address = $6)),"
    " usual AS (INSERT INTO account_addresses (account_id, address) VALUES ($1, $6)"
    "   ON CONFLICT (account_id, address) DO UPDATE SET last_signed_in = now()),"
    " forgotten AS (DELETE FROM account_addresses WHERE ctid = ANY (ARRAY("
    "   SELECT ctid FROM account_addresses"
    "   WHERE last_signed_in < now() - make_interval(days => $4::int)"
    "     AND NOT (account_id = $1 AND address = $6) LIMIT 100)))"
    " INSERT INTO sessions (account_id, token_hash, csrf_token, expires_at)"
    " VALUES ($1, $2::bytea, $3, now() + make_interval(days => $4::int))"
    " RETURNING api_time(expires_at)");

static void bad_credentials(req_t *r)
{
    http_add_header(r, "WWW-Authenticate", "Bearer");
    http_fail(r, PROBLEM_BAD_CREDENTIALS, "The email or the password is not right.");
}

/* The stored hash was made with other limits than the daemon's: replace it
 * (unless the password changed meanwhile). Failure only costs the upgrade. */
static void rehash(const char *account_id, const char *old_hash, const char *password)
{
    char hash[crypto_pwhash_STRBYTES];
    if (auth_password_hash(password, hash) != 0) return;
    const char *params[3] = {account_id, hash, old_hash};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_rehash, 3, params, &p);
    if (res) PQclear(res);
    else log_event("warn", "password_rehash_failed", p.detail);
    problem_clear(&p);
}

static void create_session_slow(req_t *r)
{
    account_op_t *c = r->ctx;
    problem_t p;
    problem_init(&p);
    const char *params1[1] = {c->email};
    PGresult *res = db_exec(&q_account_by_email, 1, params1, &p);
    if (!res) {
        throttle_release(c->attempt, c->email, c->address); /* not evaluated */
        http_reply_problem(r, &p);
        return;
    }
    /* Unknown email and wrong password take the same path and the same time. */
    char account_id[24] = "";
    char *stored = NULL;
    bool ok = false, suspended = false, pending = false;
    char why[600] = "";
    if (PQntuples(res) == 1) {
        snprintf(account_id, sizeof account_id, "%s", PQgetvalue(res, 0, 0));
        stored = strdup(PQgetvalue(res, 0, 1));
        ok = stored && auth_password_verify(stored, c->password);
        suspended = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
        snprintf(why, sizeof why, "%s", PQgetvalue(res, 0, 3));
        pending = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
    } else {
        auth_password_burn(c->password);
    }
    PQclear(res);
    if (!ok) {
        free(stored); /* the reserved attempt stays: it is the failure */
        bad_credentials(r);
        return;
    }
    if (suspended) {
        free(stored);
        throttle_release(c->attempt, c->email, c->address); /* the password was right */
        problem_fail(&p, PROBLEM_ACCOUNT_SUSPENDED,
                     "A moderator of this instance suspended this account%s%s. Write to the "
                     "instance's contact to appeal.", why[0] ? ": " : "", why);
        http_reply_problem(r, &p);
        return;
    }
    if (pending) {
        free(stored);
        throttle_release(c->attempt, c->email, c->address); /* the password was right */
        http_fail(r, PROBLEM_ACCOUNT_PENDING,
                  "This account awaits the approval of an administrator of this instance; you "
                  "will get an email once it is decided.");
        return;
    }
    if (auth_password_needs_rehash(stored)) rehash(account_id, stored, c->password);
    free(stored);

    char token[AUTH_TOKEN_TEXT], hash[AUTH_HASH_HEX], csrf[AUTH_CSRF_TEXT], ttl[16];
    throttle_scopes_t scopes;
    throttle_scopes(&scopes, c->email, c->address);
    auth_token_new(token);
    auth_token_hash(token, hash);
    auth_csrf_new(csrf);
    snprintf(ttl, sizeof ttl, "%d", http_config->session_ttl_days);
    const char *params2[7] = {account_id, hash, csrf, ttl, scopes.email, c->address, c->attempt};
    res = db_exec(&q_insert_session, 7, params2, &p);
    if (!res) {
        sodium_memzero(token, sizeof token);
        http_reply_problem(r, &p);
        return;
    }
    session_set_cookie(r, token);
    http_add_header(r, "Location", "/api/v1/sessions/current");
    json_t *body = json_pack("{s:s, s:s, s:s}", "token", token, "expires_at",
                             PQgetvalue(res, 0, 0), "csrf_token", csrf);
    PQclear(res);
    sodium_memzero(token, sizeof token);
    http_reply_json(r, 201, body);
}

void handle_session_create(req_t *r)
{
    account_op_t *c = read_credentials(r, false, NULL);
    if (!c) return;
    r->ctx = c;
    r->ctx_free = account_op_free;
    /* Before any hashing: a throttled caller costs one query, and the
     * attempt is counted before it is evaluated. */
    if (throttle_attempt(r, c->email, c->address, c->attempt) < 0) return;
    http_defer(r, create_session_slow);
}

static db_stmt_t q_revoke_session = DB_STMT("session_revoke", false,
    "UPDATE sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL");

void handle_session_delete(req_t *r)
{
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
    session_clear_cookie(r);
    http_reply_empty(r, 204);
}

/* ---------- the caller ---------- */

/* With the caller's instance role (lib/authz: null when none), so the web
 * interface offers the administration pages to those who may use them. */
static db_stmt_t q_me = DB_STMT("me", true,
    "SELECT json_concat(j, json_build_object('instance_role', nullif($3::text, '')))::text"
    " FROM accounts a CROSS JOIN LATERAL me_json(a, $2::text) j WHERE a.id = $1");

void handle_me(req_t *r)
{
    char role[16];
    problem_t p;
    problem_init(&p);
    if (authz_instance_role(r->caller.account_id_text, role, &p) != 0) {
        http_reply_problem(r, &p);
        return;
    }
    const char *params[3] = {r->caller.account_id_text, r->caller.csrf_token, role};
    reply_one(r, &q_me, 3, params, 200, false, "item");
}

static db_stmt_t q_account_get = DB_STMT("account_get", true,
    "SELECT a.version, j::text FROM accounts a CROSS JOIN LATERAL account_json(a) j"
    " WHERE a.id = $1 AND a.deleted_at IS NULL");

void handle_account_get(req_t *r)
{
    const char *params[1] = {r->caller.account_id_text};
    reply_one(r, &q_account_get, 1, params, 200, true, "item");
}

static db_stmt_t q_account_secret = DB_STMT("account_secret", true,
    "SELECT password_hash, email FROM accounts WHERE id = $1 AND deleted_at IS NULL");

/* Verify the caller's current password (slow pool), throttled like sign-in.
 * field names the body field for the 422 when it is wrong. 0, or negative
 * with the response set. On success op->account_email holds the account's
 * email. */
static int check_current_password(req_t *r, account_op_t *op, const char *field)
{
    const char *params[1] = {r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_account_secret, 1, params, &p);
    if (!res) return http_reply_problem(r, &p);
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_add_header(r, "WWW-Authenticate", "Bearer");
        return http_fail(r, PROBLEM_UNAUTHORISED, "The account no longer exists.");
    }
    snprintf(op->account_email, sizeof op->account_email, "%s", PQgetvalue(res, 0, 1));
    char *stored = strdup(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!stored) return http_fail(r, PROBLEM_INTERNAL, NULL);
    int rc = throttle_attempt(r, op->account_email, op->address, op->attempt);
    if (rc < 0) {
        free(stored);
        return rc;
    }
    bool ok = auth_password_verify(stored, op->password);
    free(stored);
    if (ok) throttle_release(op->attempt, op->account_email, op->address);
    if (!ok) {
        problem_fail(&p, PROBLEM_WRONG_PASSWORD, "%s is not this account's password.", field);
        problem_field(&p, field, "is not the current password");
        return http_reply_problem(r, &p);
    }
    return 0;
}

/* ---------- changing the account ---------- */

/* One statement: the change (optimistic on version) and, with a new
 * password, the revocation of every other session of the account. A new
 * email is unverified: a link goes to it, a notice to the old one, and
 * the links sent before (to the old address) no longer work. */
static db_stmt_t q_account_update = DB_STMT("account_update", false,
    "WITH prev AS (" /* the row as it was: the statement's snapshot (no FOR UPDATE, which
                       * would skip the row u changes) */
    "  SELECT id, email FROM accounts WHERE id = $1),"
    " u AS ("
    "  UPDATE accounts SET display_name = coalesce($3, display_name),"
    "    email = coalesce($4, email), password_hash = coalesce($5, password_hash),"
    "    email_verified_at = CASE WHEN coalesce($4, email) = email THEN email_verified_at END,"
    "    version = version + 1, updated_at = now()"
    "  WHERE id = $1 AND version = $2::bigint AND deleted_at IS NULL RETURNING accounts AS a),"
    " revoked AS ("
    "  UPDATE sessions s SET revoked_at = now() FROM u"
    "  WHERE $5::text IS NOT NULL AND s.account_id = (u.a).id AND s.id <> $6::bigint"
    "    AND s.revoked_at IS NULL),"
    " changed AS ("
    "  SELECT (u.a).id AS id, (u.a).email AS email, (u.a).display_name AS display_name,"
    "         prev.email AS old_email FROM u JOIN prev ON prev.id = (u.a).id"
    "  WHERE (u.a).email <> prev.email),"
    " spent AS ("
    "  UPDATE email_tokens t SET used_at = now() FROM changed"
    "  WHERE t.account_id = changed.id AND t.used_at IS NULL),"
    MAIL_SQL_VERIFY("changed", "$7", "$8") ","
    MAIL_SQL_LETTER("notice", "changed", "email_changed", "old_email",
                    "jsonb_build_object('name', display_name, 'new_email', email)")
    " SELECT (u.a).version, j::text FROM u CROSS JOIN LATERAL account_json(u.a) j");

static void update_account_finish(req_t *r, const char *new_hash)
{
    account_op_t *op = r->ctx;
    char session_id[24];
    snprintf(session_id, sizeof session_id, "%lld", (long long)r->caller.session_id);
    char token[AUTH_TOKEN_TEXT], token_hash[AUTH_HASH_HEX];
    auth_token_new(token);
    auth_token_hash(token, token_hash);
    const char *params[8] = {r->caller.account_id_text, op->version, op->display_name,
                             op->email_given ? op->email : NULL, new_hash, session_id,
                             token_hash, token};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_account_update, 8, params, &p);
    sodium_memzero(token, sizeof token);
    if (!res) {
        if (db_is_unique_violation()) {
            problem_clear(&p);
            problem_fail(&p, PROBLEM_CONFLICT, "Another account uses this email.");
            problem_field(&p, "email", "is already registered");
        }
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_PRECONDITION_FAILED,
                  "If-Match does not name the current version; read the account again.");
        return;
    }
    set_etag(r, PQgetvalue(res, 0, 0));
    reply_row_json(r, 200, res, 1);
}

static void update_account_slow(req_t *r)
{
    account_op_t *op = r->ctx;
    if (check_current_password(r, op, "current_password") < 0) return;
    if (!op->new_password) {
        update_account_finish(r, NULL);
        return;
    }
    char hash[crypto_pwhash_STRBYTES];
    if (auth_password_hash(op->new_password, hash) != 0) {
        http_fail(r, PROBLEM_UNAVAILABLE, "Could not hash the password now.");
        return;
    }
    update_account_finish(r, hash);
}

void handle_account_update(req_t *r)
{
    account_op_t *op = account_op_new(r);
    if (!op) return;
    r->ctx = op;
    r->ctx_free = account_op_free;
    snprintf(op->version, sizeof op->version, "%s", r->if_match);
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"display_name", "email", "new_password",
                                         "current_password", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *name = validate_string(body, "display_name", false, 1, 100, &p);
    const char *email = validate_string(body, "email", false, 1, 254, &p);
    if (email && validate_normalise_email(email, op->email, sizeof op->email) != 0)
        problem_field(&p, "email", "must be an email address like name@example.org");
    const char *new_password = read_password(body, "new_password", false, 12, &p);
    const char *current = read_password(body, "current_password", false, 1, &p);
    bool sensitive = json_object_get(body, "email") || json_object_get(body, "new_password");
    if (sensitive && !json_object_get(body, "current_password"))
        problem_field(&p, "current_password", "is required to change the email or the password");
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    op->email_given = email != NULL;
    op->display_name = dup_or_null(name);
    op->new_password = dup_or_null(new_password);
    op->password = dup_or_null(current);
    json_decref(body);
    if ((name && !op->display_name) || (new_password && !op->new_password) ||
        (current && !op->password)) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    /* A given current password is always checked, on the slow pool. */
    if (op->password) http_defer(r, update_account_slow);
    else update_account_finish(r, NULL);
}

/* ---------- deleting the account ---------- */

/* Lock the owner memberships of every organisation the caller owns, so two
 * owners deleting themselves at once cannot leave one without an owner. */
static db_stmt_t q_lock_owners = DB_STMT("account_delete_lock_owners", false,
    "SELECT 1 FROM memberships WHERE role = 'owner' AND organisation_id IN ("
    "  SELECT organisation_id FROM memberships WHERE account_id = $1 AND role = 'owner')"
    " FOR UPDATE");
static db_stmt_t q_sole_owner_of = DB_STMT("account_delete_sole_owner_of", false,
    "SELECT string_agg(o.slug, ', ' ORDER BY o.slug) FROM memberships m"
    " JOIN organisations o ON o.id = m.organisation_id"
    " WHERE m.account_id = $1 AND m.role = 'owner' AND NOT EXISTS ("
    "  SELECT 1 FROM memberships m2 WHERE m2.organisation_id = m.organisation_id"
    "    AND m2.role = 'owner' AND m2.account_id <> $1)");
/* Scrub everything personal; agreements and charters keep their history
 * (they point at the account and agent rows, which stay, emptied). */
static db_stmt_t q_scrub_account = DB_STMT("account_delete_scrub", false,
    "WITH acc AS ("
    "  UPDATE accounts SET email = NULL, password_hash = NULL, display_name = 'Deleted account',"
    "    deleted_at = now(), updated_at = now(), version = version + 1"
    "  WHERE id = $1 AND deleted_at IS NULL RETURNING id),"
    " ses AS (UPDATE sessions SET revoked_at = now() WHERE account_id = $1 AND revoked_at IS NULL),"
    " tok AS (UPDATE email_tokens SET used_at = now() WHERE account_id = $1 AND used_at IS NULL),"
    " mem AS (DELETE FROM memberships WHERE account_id = $1),"
    " ag AS ("
    "  UPDATE agents g SET handle = CASE WHEN EXISTS ("
    "      SELECT 1 FROM agents x WHERE x.handle = 'deleted-' || g.id AND x.id <> g.id)"
    "    THEN 'deleted-' || g.id || '-' || substr(md5(random()::text), 1, 8)"
    "    ELSE 'deleted-' || g.id END,"
    "    headline = '', personal_purpose = '', skills = '{}', location = NULL,"
    "    discoverable = false, show_follows = false, updated_at = now(), version = version + 1"
    "  WHERE account_id = $1 RETURNING id),"
    " ap AS (DELETE FROM agent_purposes WHERE agent_id IN (SELECT id FROM ag)),"
    " fo AS (DELETE FROM follows WHERE agent_id IN (SELECT id FROM ag)),"
    " lf AS (DELETE FROM login_failures WHERE scope = $2),"
    " ik AS (DELETE FROM idempotency_keys WHERE owner = $3 OR account_id = $1),"
    " aa AS (DELETE FROM account_addresses WHERE account_id = $1),"
    " mi AS (DELETE FROM membership_invitations WHERE account_id = $1),"
    " rr AS (UPDATE account_registrations SET reason = '' WHERE account_id = $1),"
    " nt AS (DELETE FROM notifications WHERE account_id = $1)"
    " SELECT count(*) FROM acc");

static void delete_account_slow(req_t *r)
{
    account_op_t *op = r->ctx;
    if (check_current_password(r, op, "password") < 0) return;
    throttle_scopes_t scopes;
    throttle_scopes(&scopes, op->account_email, op->address);
    char idem_owner[48];
    snprintf(idem_owner, sizeof idem_owner, "account:%s", r->caller.account_id_text);
    const char *id[1] = {r->caller.account_id_text};
    const char *scrub[3] = {r->caller.account_id_text, scopes.email, idem_owner};
    problem_t p;
    problem_init(&p);
    if (db_begin(&p) != 0) {
        http_reply_problem(r, &p);
        return;
    }
    PGresult *res = db_exec(&q_lock_owners, 1, id, &p);
    if (!res) goto fail;
    PQclear(res);
    res = db_exec(&q_sole_owner_of, 1, id, &p);
    if (!res) goto fail;
    if (!PQgetisnull(res, 0, 0)) {
        problem_fail(&p, PROBLEM_LAST_OWNER,
                     "Hand over ownership first: you are the only owner of %s.",
                     PQgetvalue(res, 0, 0));
        PQclear(res);
        goto fail;
    }
    PQclear(res);
    res = db_exec(&q_scrub_account, 3, scrub, &p);
    if (!res) goto fail;
    PQclear(res);
    if (db_commit(&p) != 0) goto fail;
    session_clear_cookie(r);
    http_reply_empty(r, 204);
    return;
fail:
    db_rollback();
    http_reply_problem(r, &p);
}

void handle_account_delete(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"password", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *password = read_password(body, "password", true, 1, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    account_op_t *op = account_op_new(r);
    if (op) op->password = strdup(password);
    json_decref(body);
    if (!op) return;
    r->ctx = op;
    r->ctx_free = account_op_free;
    if (!op->password) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    http_defer(r, delete_account_slow);
}
