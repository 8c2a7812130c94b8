/* email: confirming an email address and resetting a forgotten password,
 * both through links mailed by the outbox (lib/outbox.h). Tokens are
 * single-use and expire; only their hash is stored (email_tokens, migration
 * 0021). A reset request answers the same whether or not the address has
 * an account, and is throttled per address and per client alike. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "mail_sql.h"
#include "outbox.h"
#include "secrets.h"
#include "validate.h"
#include "vocab.h"

/* Reset requests per email address (so per account) and per client
 * address, within an hour. */
#define RESET_PER_EMAIL_PER_HOUR 3
#define RESET_PER_CLIENT_PER_HOUR 20
/* New verification links an account may ask for within an hour. */
#define VERIFY_RESENDS_PER_HOUR 5

/* Seconds until one more request fits in every scope (0: now): the wait
 * ends when the request that filled a scope's hour grows older than it. */
static db_stmt_t q_mail_throttle = DB_STMT("mail_requests_wait", true,
    "SELECT coalesce(max(greatest(1, ceil(extract(epoch FROM"
    "   requested_at + interval '1 hour' - now())))), 0)::int FROM ("
    "  SELECT scope, requested_at,"
    "         row_number() OVER (PARTITION BY scope ORDER BY requested_at DESC) AS n"
    "  FROM mail_requests WHERE scope IN ($1, $2) AND requested_at > now() - interval '1 hour') f"
    " WHERE (scope = $1 AND n = $3::int) OR (scope = $2 AND n = $4::int)");

/* 0 when allowed; otherwise negative with the response (429 + Retry-After, or
 * 503) set. */
static int mail_throttle(req_t *r, const char *scope1, int max1, const char *scope2, int max2)
{
    char m1[16], m2[16];
    snprintf(m1, sizeof m1, "%d", max1);
    snprintf(m2, sizeof m2, "%d", max2);
    const char *params[4] = {scope1, scope2, m1, m2};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_mail_throttle, 4, params, &p);
    if (!res) return http_reply_problem(r, &p);
    int wait = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (wait <= 0) return 0;
    char words[48];
    problem_fail(&p, PROBLEM_TOO_MANY_REQUESTS,
                 "Too many messages were asked for this address or from this client; try again in %s.",
                 problem_duration_words(wait, words, sizeof words));
    p.retry_after = wait;
    return http_reply_problem(r, &p);
}

/* The token field of a body: a string of at most 200 characters. */
static const char *read_token(const json_t *body, problem_t *p)
{
    return validate_string(body, "token", true, 1, 200, p);
}

static void bad_token(req_t *r)
{
    problem_t p;
    problem_init(&p);
    problem_fail(&p, PROBLEM_INVALID_TOKEN,
                 "The link is not valid, was used already, or has expired; ask for a new one.");
    problem_field(&p, "token", "is not valid, was used, or has expired");
    http_reply_problem(r, &p);
}

/* ---------- confirming an email address ---------- */

/* The token is spent; the account's email is verified when it is still the
 * address the link went to; that address leaves the suppression list. */
static db_stmt_t q_verify = DB_STMT("email_verify", false,
    "WITH t AS ("
    "  UPDATE email_tokens SET used_at = now()"
    "  WHERE token_hash = $1::bytea AND purpose = 'verify' AND used_at IS NULL AND expires_at > now()"
    "  RETURNING account_id, email),"
    " a AS ("
    "  UPDATE accounts SET email_verified_at = coalesce(email_verified_at, now()),"
    "    version = version + CASE WHEN email_verified_at IS NULL THEN 1 ELSE 0 END,"
    "    updated_at = now()"
    "  FROM t WHERE accounts.id = t.account_id AND accounts.email = t.email"
    "    AND accounts.deleted_at IS NULL"
    "  RETURNING accounts.id, accounts.email, accounts.email_verified_at),"
    " others AS ("
    "  UPDATE email_tokens o SET used_at = now() FROM a"
    "  WHERE o.account_id = a.id AND o.purpose = 'verify' AND o.used_at IS NULL),"
    " unsuppressed AS (DELETE FROM mail_suppressions WHERE email IN (SELECT email FROM a))"
    " SELECT json_build_object('email', email, 'email_verified_at', api_time(email_verified_at))::text"
    " FROM a");

void handle_email_verify(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"token", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *token = read_token(body, &p);
    char hash[AUTH_HASH_HEX];
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    int bad = auth_token_hash(token, hash);
    json_decref(body);
    if (bad) {
        bad_token(r);
        return;
    }
    const char *params[1] = {hash};
    PGresult *res = db_exec(&q_verify, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        bad_token(r);
        return;
    }
    reply_row_json(r, 200, res, 0);
}

/* A new link for the caller's unverified address (the old ones stop working). */
static db_stmt_t q_verify_again = DB_STMT("email_verify_resend", false,
    "WITH a AS ("
    "  SELECT id, email, display_name FROM accounts"
    "  WHERE id = $1 AND deleted_at IS NULL AND email_verified_at IS NULL),"
    " spent AS ("
    "  UPDATE email_tokens t SET used_at = now() FROM a"
    "  WHERE t.account_id = a.id AND t.purpose = 'verify' AND t.used_at IS NULL),"
    MAIL_SQL_VERIFY("a", "$2", "$3") ","
    " asked AS (INSERT INTO mail_requests (scope) SELECT 'verify:' || id FROM a)"
    " SELECT json_build_object('status', 'sent', 'email', email)::text FROM a");

void handle_email_verification_resend(req_t *r)
{
    if (r->caller.email_verified) {
        http_fail(r, PROBLEM_ALREADY_VERIFIED,
                  "This account's email address is confirmed; there is nothing to send.");
        return;
    }
    char scope[48];
    snprintf(scope, sizeof scope, "verify:%s", r->caller.account_id_text);
    if (mail_throttle(r, scope, VERIFY_RESENDS_PER_HOUR, scope, VERIFY_RESENDS_PER_HOUR) != 0) return;
    char token[AUTH_TOKEN_TEXT], hash[AUTH_HASH_HEX];
    auth_token_new(token);
    auth_token_hash(token, hash);
    const char *params[3] = {r->caller.account_id_text, hash, token};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_verify_again, 3, params, &p);
    sodium_memzero(token, sizeof token);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) { /* verified meanwhile */
        PQclear(res);
        http_fail(r, PROBLEM_ALREADY_VERIFIED,
                  "This account's email address is confirmed; there is nothing to send.");
        return;
    }
    reply_row_json(r, 202, res, 0);
}

/* ---------- password reset ---------- */

/* The same statement whether or not the address has an account: the
 * request is counted either way, the link written only for an account. */
static db_stmt_t q_reset_request = DB_STMT("password_reset_request", false,
    "WITH acc AS (SELECT id, email FROM accounts WHERE email = $1 AND deleted_at IS NULL),"
    " tok AS ("
    "  INSERT INTO email_tokens (account_id, purpose, token_hash, email, expires_at)"
    "  SELECT id, 'reset', $2::bytea, email, now() + interval '1 hour' FROM acc),"
    " letter AS ("
    "  INSERT INTO jobs (kind, payload) SELECT 'mail', jsonb_build_object('to', email,"
    "    'template', 'password_reset', 'secret', jsonb_build_object('token', $3::text)) FROM acc),"
    " expired AS (DELETE FROM mail_requests WHERE requested_at < now() - interval '1 day'),"
    " asked AS ("
    "  INSERT INTO mail_requests (scope) VALUES ('reset-email:' || $1), ('reset-client:' || $4))"
    " SELECT 1");

void handle_password_reset_request(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"email", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *given = validate_string(body, "email", true, 1, 254, &p);
    char email[256] = "";
    if (given && validate_normalise_email(given, email, sizeof email) != 0)
        problem_field(&p, "email", "must be an email address like name@example.org");
    json_decref(body);
    if (problem_has_fields(&p)) {
        http_reply_problem(r, &p);
        return;
    }
    char client[64], email_scope[300], client_scope[80];
    http_client_address(r, client, sizeof client);
    snprintf(email_scope, sizeof email_scope, "reset-email:%s", email);
    snprintf(client_scope, sizeof client_scope, "reset-client:%s", client);
    if (mail_throttle(r, email_scope, RESET_PER_EMAIL_PER_HOUR, client_scope,
                      RESET_PER_CLIENT_PER_HOUR) != 0)
        return;
    char token[AUTH_TOKEN_TEXT], hash[AUTH_HASH_HEX];
    auth_token_new(token);
    auth_token_hash(token, hash);
    const char *params[4] = {email, hash, token, client};
    PGresult *res = db_exec(&q_reset_request, 4, params, &p);
    sodium_memzero(token, sizeof token);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    http_reply_json(r, 202, json_pack("{s:s, s:s}", "status", "accepted", "detail",
                                      "If an account uses this address, a message with a link to "
                                      "choose a new password is on its way. The link works once, "
                                      "within an hour."));
}

typedef struct reset_op {
    char hash[AUTH_HASH_HEX];
    char *password;
} reset_op_t;

static void reset_op_free(void *ptr)
{
    reset_op_t *op = ptr;
    if (!op) return;
    if (op->password) {
        sodium_memzero(op->password, strlen(op->password));
        free(op->password);
    }
    free(op);
}

static db_stmt_t q_reset_valid = DB_STMT("password_reset_valid", true,
    "SELECT 1 FROM email_tokens t JOIN accounts a ON a.id = t.account_id AND a.email = t.email"
    " WHERE t.token_hash = $1::bytea AND t.purpose = 'reset' AND t.used_at IS NULL"
    "   AND t.expires_at > now() AND a.deleted_at IS NULL");

/* The token is spent with every other reset link of the account; the new
 * password is set, every session revoked, sign-in failures forgiven; the
 * address is verified (the link reached it) and a notice goes to it. */
static db_stmt_t q_reset_complete = DB_STMT("password_reset_complete", false,
    "WITH t AS ("
    "  UPDATE email_tokens SET used_at = now()"
    "  WHERE token_hash = $1::bytea AND purpose = 'reset' AND used_at IS NULL AND expires_at > now()"
    "  RETURNING account_id, email),"
    " a AS ("
    "  UPDATE accounts SET password_hash = $2, email_verified_at = coalesce(email_verified_at, now()),"
    "    version = version + 1, updated_at = now()"
    "  FROM t WHERE accounts.id = t.account_id AND accounts.email = t.email"
    "    AND accounts.deleted_at IS NULL"
    "  RETURNING accounts.id, accounts.email, accounts.display_name),"
    " ses AS ("
    "  UPDATE sessions s SET revoked_at = now() FROM a"
    "  WHERE s.account_id = a.id AND s.revoked_at IS NULL),"
    " others AS ("
    "  UPDATE email_tokens o SET used_at = now() FROM a"
    "  WHERE o.account_id = a.id AND o.purpose = 'reset' AND o.used_at IS NULL),"
    " forgiven AS (DELETE FROM login_failures WHERE scope IN (SELECT 'email:' || email FROM a)),"
    " unsuppressed AS (DELETE FROM mail_suppressions WHERE email IN (SELECT email FROM a)),"
    MAIL_SQL_LETTER("notice", "a", "password_changed", "email",
                    "jsonb_build_object('name', display_name)")
    " SELECT id FROM a");

static void reset_complete_slow(req_t *r)
{
    reset_op_t *op = r->ctx;
    char hash[crypto_pwhash_STRBYTES];
    if (auth_password_hash(op->password, hash) != 0) {
        http_fail(r, PROBLEM_UNAVAILABLE, "Could not hash the password now.");
        return;
    }
    const char *params[2] = {op->hash, hash};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_reset_complete, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    int n = PQntuples(res);
    PQclear(res);
    if (n != 1) {
        bad_token(r); /* spent by a concurrent request meanwhile */
        return;
    }
    http_reply_empty(r, 204);
}

void handle_password_reset_complete(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"token", "password", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *token = read_token(body, &p);
    const char *password = validate_string(body, "password", true, 12, 1024, &p);
    if (password && strlen(password) > 1024) problem_field(&p, "password", "must be at most 1024 bytes");
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    reset_op_t *op = calloc(1, sizeof *op);
    if (!op || !(op->password = strdup(password))) {
        free(op);
        json_decref(body);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    r->ctx = op;
    r->ctx_free = reset_op_free;
    int bad = auth_token_hash(token, op->hash);
    json_decref(body);
    if (bad) {
        bad_token(r);
        return;
    }
    /* A link that does not work costs no password hashing. */
    const char *params[1] = {op->hash};
    PGresult *res = db_exec(&q_reset_valid, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    int n = PQntuples(res);
    PQclear(res);
    if (n != 1) {
        bad_token(r);
        return;
    }
    http_defer(r, reset_complete_slow);
}

/* ---------- notification mail preferences ---------- */

static db_stmt_t q_preferences = DB_STMT("notification_preferences", true,
    "SELECT j::text FROM accounts a CROSS JOIN LATERAL notification_preferences_json(a) j"
    " WHERE a.id = $1::bigint");

static void reply_preferences(req_t *r, int status)
{
    const char *params[1] = {r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_preferences, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, status, res, 0);
}

void handle_notification_preferences_get(req_t *r)
{
    reply_preferences(r, 200);
}

/* The whole set at once: every kind named gets its delivery, every kind not
 * named goes back to the default (immediately). A kind set to something
 * else than daily leaves the digest: its waiting lines go with the next
 * digest all the same. */
static db_stmt_t q_preferences_put = DB_STMT("notification_preferences_put", true /* idempotent */,
    "WITH given AS (SELECT key AS kind, value AS delivery FROM json_each_text($2::json)),"
    " gone AS (DELETE FROM notification_mail_preferences p WHERE p.account_id = $1::bigint"
    "   AND NOT EXISTS (SELECT 1 FROM given WHERE given.kind = p.kind AND given.delivery <> 'immediately')),"
    " put AS (INSERT INTO notification_mail_preferences (account_id, kind, delivery)"
    "   SELECT $1::bigint, kind, delivery FROM given WHERE delivery <> 'immediately'"
    "   ON CONFLICT (account_id, kind) DO UPDATE SET delivery = EXCLUDED.delivery, updated_at = now()"
    "   WHERE notification_mail_preferences.delivery <> EXCLUDED.delivery)"
    " SELECT 1");

void handle_notification_preferences_put(req_t *r)
{
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    const char *kind;
    json_t *v;
    json_object_foreach(body, kind, v) {
        bool known = false;
        for (const char *const *k = vocab_notification_kinds; *k && !known; k++) known = !strcmp(*k, kind);
        if (!known) {
            problem_field(&p, kind, "is not a kind of notification");
            continue;
        }
        validate_enum(body, kind, true, vocab_mail_deliveries, &p);
    }
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    const char *params[2] = {r->caller.account_id_text, text};
    PGresult *res = db_exec(&q_preferences_put, 2, params, &p);
    free(text);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    reply_preferences(r, 200);
}

/* ---------- one-click unsubscribe (RFC 8058) ---------- */

/* One kind off; "digest" (the link of a digest) turns every kind that
 * goes to the digest off. */
static db_stmt_t q_optout = DB_STMT("notification_mail_optout", true /* idempotent */,
    "WITH acc AS (SELECT id FROM accounts WHERE id = $1::bigint AND deleted_at IS NULL),"
    " one AS (INSERT INTO notification_mail_preferences (account_id, kind, delivery)"
    "   SELECT id, $2, 'off' FROM acc WHERE $2 <> 'digest'"
    "   ON CONFLICT (account_id, kind) DO UPDATE SET delivery = 'off', updated_at = now()),"
    " daily AS (UPDATE notification_mail_preferences p SET delivery = 'off', updated_at = now()"
    "   FROM acc WHERE $2 = 'digest' AND p.account_id = acc.id AND p.delivery = 'daily')"
    " SELECT 1");

/* The List-Unsubscribe URL of a notification message: mail programs POST
 * "List-Unsubscribe=One-Click" to it (the body is not read); the page
 * /unsubscribe does the same for a person. No sign-in: the signed token
 * names the account and the kind of notification (or the digest). */
void handle_unsubscribe(req_t *r)
{
    const char *token = http_query(r, "token");
    char key[SECRETS_HEX_LEN + 1], kind[65];
    long long account_id = 0;
    problem_t p;
    problem_init(&p);
    if (secrets_get("unsubscribe", key, sizeof key, &p) != 0) {
        http_reply_problem(r, &p);
        return;
    }
    bool known = false;
    if (outbox_unsubscribe_check(token, key, &account_id, kind, sizeof kind) == 0) {
        known = strcmp(kind, "digest") == 0;
        for (const char *const *k = vocab_notification_kinds; *k && !known; k++) known = !strcmp(*k, kind);
    }
    if (!known) {
        problem_fail(&p, PROBLEM_INVALID_TOKEN,
                     "The unsubscribe link is not valid; turn the emails off in Settings instead.");
        problem_field(&p, "token", "is not a valid unsubscribe token");
        http_reply_problem(r, &p);
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%lld", account_id);
    const char *params[2] = {id, kind};
    PGresult *res = db_exec(&q_optout, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    http_reply_json(r, 200, json_pack("{s:s, s:b, s:s}", "kind", kind, "mailed", 0, "delivery", "off"));
}
