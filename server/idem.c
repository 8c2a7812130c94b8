/* idem: idempotency keys stored in PostgreSQL, claimed before the handler
 * runs so two concurrent requests with one key cannot both write. What is
 * stored about a request never depends on a secret in it (idem_fingerprint),
 * and keys older than 24 h are purged as new ones are claimed. */
#include "idem.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <stdlib.h>

#include "auth.h"
#include "db.h"
#include "session.h"

/* This key's stale claim, and a bounded share of every caller's keys past
 * 24 h (an index probe when there are none), so any daemon that takes keys
 * purges them without a timer or a per-request statement of its own. */
static db_stmt_t q_expire = DB_STMT("idem_expire", false,
    "WITH purged AS (DELETE FROM idempotency_keys WHERE ctid = ANY (ARRAY("
    "   SELECT ctid FROM idempotency_keys WHERE created_at < now() - interval '24 hours'"
    "   ORDER BY created_at LIMIT 100)))"
    " DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2"
    " AND (created_at < now() - interval '24 hours'"
    "      OR (status = 0 AND created_at < now() - interval '60 seconds'))");
static db_stmt_t q_claim = DB_STMT("idem_claim", false,
    "INSERT INTO idempotency_keys (owner, key, request_hash, status, response_body)"
    " VALUES ($1, $2, $3, 0, '') ON CONFLICT DO NOTHING RETURNING 1");
static db_stmt_t q_existing = DB_STMT("idem_existing", true,
    "SELECT request_hash, status, location, response_body FROM idempotency_keys"
    " WHERE owner = $1 AND key = $2");
static db_stmt_t q_store = DB_STMT("idem_store", false,
    "UPDATE idempotency_keys SET status = $3, location = $4, response_body = $5"
    " WHERE owner = $1 AND key = $2");
static db_stmt_t q_forget = DB_STMT("idem_forget", false,
    "DELETE FROM idempotency_keys WHERE owner = $1 AND key = $2 AND status = 0");

static bool key_ok(const char *k)
{
    size_t n = strlen(k);
    if (n < 1 || n > 200) return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)k[i] < 0x21 || (unsigned char)k[i] > 0x7e) return false;
    return true;
}

/* Remove secret fields (auth_secret_field) from a JSON value, at any depth. */
static void strip_secrets(json_t *v)
{
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        void *next;
        json_object_foreach_safe(v, next, k, x) {
            if (auth_secret_field(k)) json_object_del(v, k);
            else strip_secrets(x);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) strip_secrets(x);
    }
}

void idem_fingerprint(const char *url, const char *body, size_t body_len, char hex[65])
{
    unsigned char h[32];
    crypto_generichash_state st;
    static const char domain[] = "purposed idempotency fingerprint v2";
    crypto_generichash_init(&st, NULL, 0, sizeof h);
    crypto_generichash_update(&st, (const unsigned char *)domain, sizeof domain);
    crypto_generichash_update(&st, (const unsigned char *)url, strlen(url) + 1);
    json_t *doc = body_len ? json_loadb(body, body_len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY,
                                        NULL)
                           : NULL;
    char *canonical = NULL;
    if (doc) {
        strip_secrets(doc);
        canonical = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
        json_decref(doc);
    }
    if (canonical) {
        crypto_generichash_update(&st, (const unsigned char *)"J", 1);
        crypto_generichash_update(&st, (const unsigned char *)canonical, strlen(canonical));
        free(canonical);
    } else {
        /* empty, not JSON (answered 400 and never stored) or out of memory:
         * only the length, never the bytes, which might hold a secret */
        char len[32];
        snprintf(len, sizeof len, "%c%zu", body_len ? 'X' : 'E', body_len);
        crypto_generichash_update(&st, (const unsigned char *)len, strlen(len));
    }
    crypto_generichash_final(&st, h, sizeof h);
    sodium_bin2hex(hex, 65, h, sizeof h);
}

int idem_begin(req_t *r)
{
    const char *key = http_header(r, "Idempotency-Key");
    if (!key || strcmp(r->method, "POST") != 0) return 0;
    if (!key_ok(key)) {
        problem_t p;
        problem_init(&p);
        problem_field(&p, "Idempotency-Key", "must be 1 to 200 printable ASCII characters");
        problem_fail(&p, PROBLEM_BAD_HEADER, "The Idempotency-Key header is not valid.");
        return http_reply_problem(r, &p);
    }
    int who = session_resolve(r);
    if (who < 0) return who;
    if (who > 0) {
        snprintf(r->idem_owner, sizeof r->idem_owner, "account:%s", r->caller.account_id_text);
    } else {
        char addr[64];
        snprintf(r->idem_owner, sizeof r->idem_owner, "address:%s",
                 http_client_address(r, addr, sizeof addr));
    }
    snprintf(r->idem_key, sizeof r->idem_key, "%s", key);
    char hex[65];
    idem_fingerprint(r->url, r->body.buf, r->body.len, hex);

    problem_t p;
    problem_init(&p);
    const char *params[3] = {r->idem_owner, r->idem_key, hex};
    PGresult *res = db_exec(&q_expire, 2, params, &p);
    if (res) {
        PQclear(res);
        res = db_exec(&q_claim, 3, params, &p);
    }
    if (!res) return http_reply_problem(r, &p);
    bool claimed = PQntuples(res) == 1;
    PQclear(res);
    if (claimed) {
        r->idem_active = true;
        return 0;
    }
    res = db_exec(&q_existing, 2, params, &p);
    if (!res) return http_reply_problem(r, &p);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return http_fail(r, PROBLEM_IDEMPOTENCY_CONFLICT,
                         "A request with this Idempotency-Key changed state just now; retry.");
    }
    if (strcmp(PQgetvalue(res, 0, 0), hex) != 0) {
        PQclear(res);
        return http_fail(r, PROBLEM_IDEMPOTENCY_MISMATCH,
                         "This Idempotency-Key was used with a different request body.");
    }
    int status = atoi(PQgetvalue(res, 0, 1));
    if (status == 0) {
        PQclear(res);
        http_add_header(r, "Retry-After", "1");
        return http_fail(r, PROBLEM_IDEMPOTENCY_IN_PROGRESS,
                         "The first request with this Idempotency-Key is still being processed.");
    }
    if (!PQgetisnull(res, 0, 2)) http_add_header(r, "Location", PQgetvalue(res, 0, 2));
    http_add_header(r, "Idempotent-Replayed", "true");
    const char *body = PQgetvalue(res, 0, 3);
    size_t len = strlen(body);
    char *copy = malloc(len + 1);
    if (copy) memcpy(copy, body, len + 1);
    http_reply_text(r, status, len ? "application/json" : NULL, copy, copy ? len : 0);
    PQclear(res);
    return HTTP_ANSWERED;
}

void idem_finish(req_t *r)
{
    if (!r->idem_active) return;
    r->idem_active = false;
    problem_t p;
    problem_init(&p);
    PGresult *res;
    if (r->status >= 200 && r->status < 300) {
        char status[8];
        snprintf(status, sizeof status, "%d", r->status);
        const char *location = NULL;
        for (int i = 0; i < r->nheaders; i++)
            if (strcasecmp(r->header_names[i], "Location") == 0) location = r->header_values[i];
        char *body = malloc(r->resp_len + 1);
        if (!body) return;
        if (r->resp_len) memcpy(body, r->resp_body, r->resp_len);
        body[r->resp_len] = '\0';
        const char *params[5] = {r->idem_owner, r->idem_key, status, location, body};
        res = db_exec(&q_store, 5, params, &p);
        free(body);
    } else {
        const char *params[2] = {r->idem_owner, r->idem_key};
        res = db_exec(&q_forget, 2, params, &p);
    }
    if (res) PQclear(res);
    problem_clear(&p);
}
