/* pipeline: the stages every request goes through, in order, and the route
 * table's declarations they enforce (see pipeline.h for the whole list). */
#include "pipeline.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "handlers/activitypub.h"
#include "idem.h"
#include "log.h"
#include "pages.h"
#include "ratelimit.h"
#include "rcache.h"
#include "textindex.h"
#include "session.h"
#include "static.h"
#include "validate.h"

#define JSON_MAX_DEPTH 32

static const route_t *g_routes;
static size_t g_nroutes;
static ratelimit_t *g_write_limit;

/* A stage lets the request go on (0) or answers it (negative: the problem's
 * -code, or HTTP_ANSWERED for an answer that is no problem; http.h). */
typedef int (*stage_fn)(req_t *r, const route_spec_t *s);

static bool is_write(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
           !strcmp(method, "DELETE");
}

static bool is_api_path(const char *url)
{
    return strncmp(url, "/api/", 5) == 0 || strncmp(url, "/feeds/", 7) == 0 ||
           strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
           strcmp(url, "/metrics") == 0 || strcmp(url, "/api") == 0;
}

/* ---------- CORS ---------- */

const char *pipeline_cors_origin(const req_t *r)
{
    const char *origin = http_header(r, "Origin");
    if (!origin || !http_config->cors_origins[0]) return NULL;
    size_t n = strlen(origin);
    const char *o = http_config->cors_origins;
    while (*o) {
        while (*o == ' ' || *o == ',') o++;
        size_t len = strcspn(o, ", ");
        if (len == n && len > 0 && strncmp(o, origin, n) == 0) return origin;
        o += len;
    }
    return NULL;
}

/* OPTIONS on the API: a CORS preflight. Allowed origins get the methods and
 * headers they may use; others get no CORS headers, so browsers refuse. */
static void preflight(req_t *r)
{
    if (pipeline_cors_origin(r)) {
        http_add_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE");
        http_add_header(r, "Access-Control-Allow-Headers",
                        "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, "
                        "X-CSRF-Token, X-Request-Id");
        http_add_header(r, "Access-Control-Max-Age", "600");
    }
    http_reply_empty(r, 204);
}

/* ---------- the answer cache (lib/rcache.h) ---------- */

typedef struct keybuf {
    char *s;
    size_t len, cap;
    bool overflow;
} keybuf_t;

static void key_add(keybuf_t *k, const char *v, char end)
{
    size_t n = strlen(v);
    if (k->overflow || k->len + n + 1 > k->cap) {
        k->overflow = true;
        return;
    }
    memcpy(k->s + k->len, v, n);
    k->len += n;
    k->s[k->len++] = end;
}

/* A list's key: the path and the route's declared query parameters in
 * their declared order, NUL-separated (neither can hold a NUL), leaving out
 * those given as meaning the same as absent: "?limit=20&status=open" and
 * "?status=open&limit=20" are the default page, one entry. Undeclared or
 * repeated parameters never get here (stage_query). 0 when too long. */
static size_t list_key(const req_t *r, const route_spec_t *s, char *buf, size_t cap)
{
    keybuf_t k = {buf, 0, cap, false};
    key_add(&k, r->url, '\n');
    for (const route_query_t *q = s->query; q && q->name; q++) {
        const char *v = http_query(r, q->name);
        if (!v || (q->empty_is_absent && !v[0]) || (q->fallback && strcmp(v, q->fallback) == 0))
            continue;
        key_add(&k, q->name, '\0');
        key_add(&k, v, '\0');
    }
    return k.overflow ? 0 : k.len;
}

/* An item's key: the route's pattern up to "{" and the id of its last
 * {param}, canonical ("7", never "007"). 0 when the id is not canonical
 * (strict: only what the listener's "e:7" names) or the key too long. */
static size_t item_key(const req_t *r, const char *id, bool strict, char *buf, size_t cap)
{
    const char *pattern = r->match.route->pattern;
    const char *brace = strchr(pattern, '{');
    if (!brace || !id || r->match.nparams < 1) return 0;
    char *end = NULL;
    errno = 0;
    long long v = strtoll(id, &end, 10);
    if (errno || end == id || *end || v < 1) return 0;
    char digits[24];
    snprintf(digits, sizeof digits, "%lld", v);
    if (strict && strcmp(digits, id) != 0) return 0;
    int n = snprintf(buf, cap, "%.*s%s", (int)(brace - pattern), pattern, digits);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* If-None-Match naming the answer's ETag: 304 without a body. */
static void conditional(req_t *r)
{
    if (r->status != 200) return;
    const char *inm = http_header(r, "If-None-Match");
    const char *etag = http_response_header(r, "ETag");
    if (!inm || !etag || !http_etag_listed(inm, etag)) return;
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    r->content_type = NULL;
    r->status = 304;
}

static bool cached_route(const req_t *r, const route_spec_t *s)
{
    return (s->cache & (ROUTE_CACHED_LIST | ROUTE_CACHED_ITEM)) && strcmp(r->method, "GET") == 0;
}

/* A stored answer answers; a miss takes the ticket to store its answer under. */
static int stage_cache(req_t *r, const route_spec_t *s)
{
    if (!cached_route(r, s)) return 0;
    char key[RCACHE_KEY_MAX];
    size_t klen = (s->cache & ROUTE_CACHED_ITEM)
                      ? item_key(r, r->match.params[r->match.nparams - 1], true, key, sizeof key)
                      : list_key(r, s, key, sizeof key);
    if (!klen) return 0;
    rcache_kind_t kind = (s->cache & ROUTE_CACHED_ITEM) ? RCACHE_ITEM : RCACHE_LIST;
    if (!rcache_ticket(key, klen, kind, &r->cache_ticket)) return 0;
    char meta[RCACHE_META_MAX];
    size_t mlen = 0, blen = 0;
    char *body = NULL;
    if (rcache_get(key, klen, &body, &blen, meta, &mlen)) {
        for (size_t o = 0; o < mlen;) {
            const char *name = meta + o;
            const char *value = name + strlen(name) + 1;
            o = (size_t)(value - meta) + strlen(value) + 1;
            http_add_header(r, name, value);
        }
        http_reply_text(r, 200, "application/json", body, blen);
        conditional(r);
        return HTTP_ANSWERED;
    }
    r->cache_key = malloc(klen);
    if (r->cache_key) {
        memcpy(r->cache_key, key, klen);
        r->cache_klen = klen;
    }
    return 0;
}

/* Keep a fresh 200 JSON answer (and then answer If-None-Match). Runs
 * where the answer was made, before it is sent (pipeline_finish). */
static void cache_store(req_t *r)
{
    if (r->cache_key && r->status == 200 && r->resp_body && r->file_fd < 0 &&
        r->content_type && strcmp(r->content_type, "application/json") == 0) {
        char meta[RCACHE_META_MAX];
        size_t mlen = 0;
        bool fits = true;
        for (int i = 0; fits && i < r->nheaders; i++) {
            size_t n = strlen(r->header_names[i]) + 1, v = strlen(r->header_values[i]) + 1;
            if (mlen + n + v > sizeof meta) {
                fits = false;
                break;
            }
            memcpy(meta + mlen, r->header_names[i], n);
            memcpy(meta + mlen + n, r->header_values[i], v);
            mlen += n + v;
        }
        if (fits)
            rcache_put(&r->cache_ticket, r->cache_key, r->cache_klen, meta, mlen, r->resp_body,
                       r->resp_len);
    }
    conditional(r);
}

/* A change this daemon made is seen by its next read, before the change log
 * reaches it. */
static void cache_changed(const req_t *r)
{
    unsigned f = r->match.route ? route_spec(r->match.route)->cache : 0;
    if (!(f & (ROUTE_CHANGES_ALL | ROUTE_CHANGES_ITEM | ROUTE_CHANGES_LISTS)) || r->status >= 400)
        return;
    char key[RCACHE_KEY_MAX];
    size_t klen;
    if (f & ROUTE_CHANGES_ALL)
        rcache_invalidate();
    else if (!(f & ROUTE_CHANGES_ITEM))
        rcache_invalidate_lists();
    else if ((klen = item_key(r, r->match.params[r->match.nparams - 1], false, key, sizeof key)))
        rcache_invalidate_item(key, klen);
    else
        rcache_invalidate();
}

/* ---------- stages on the thread that read the request ---------- */

static int stage_too_large(req_t *r, const route_spec_t *s)
{
    (void)s;
    if (!r->body_too_large) return 0;
    return http_fail(r, PROBLEM_TOO_LARGE, "The body is larger than %zu bytes.",
                     http_config->body_limit);
}

/* Writes per client address (WRITE_RATE_PER_MINUTE). */
static int stage_rate_limit(req_t *r, const route_spec_t *s)
{
    (void)s;
    if (!g_write_limit || !is_write(r->method)) return 0;
    char addr[64];
    http_client_address(r, addr, sizeof addr);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int retry = 1;
    if (ratelimit_take(g_write_limit, addr, (double)now.tv_sec + (double)now.tv_nsec / 1e9, &retry))
        return 0;
    problem_t p;
    problem_init(&p);
    char words[48];
    problem_fail(&p, PROBLEM_RATE_LIMITED,
                 "This address sent more than %d changes a minute; try again in %s.",
                 http_config->write_rate_per_minute, problem_duration_words(retry, words, sizeof words));
    p.retry_after = retry;
    return http_reply_problem(r, &p);
}

/* The query: only the parameters the route declares, each at most once. */
typedef struct query_check {
    const route_query_t *decl;
    unsigned long seen;     /* bit i: decl[i] was given */
    problem_t *p;
    int refused;
} query_check_t;

/* A parameter's name as the answer shows it: printable ASCII, cut short. */
static void shown_name(const char *key, char *out, size_t cap)
{
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)key; *c && n + 4 < cap; c++)
        out[n++] = *c >= 0x20 && *c < 0x7f ? (char)*c : '?';
    if (strlen(key) > n) out[n++] = '.', out[n++] = '.', out[n++] = '.';
    out[n] = '\0';
}

static void query_arg(void *cls, const char *key, const char *value)
{
    (void)value;
    query_check_t *q = cls;
    int i = 0;
    while (q->decl && q->decl[i].name && strcmp(q->decl[i].name, key) != 0) i++;
    bool known = q->decl && q->decl[i].name;
    bool again = known && (q->seen & (1ul << i));
    if (known && !again) {
        q->seen |= 1ul << i;
        return;
    }
    if (q->refused++ >= 16) return; /* named enough */
    char name[72];
    shown_name(key, name, sizeof name);
    if (again) problem_field(q->p, name, "is given more than once");
    else problem_field(q->p, name, "is not a query parameter of this route");
}

static int stage_query(req_t *r, const route_spec_t *s)
{
    if (s->query_any) return 0;
    problem_t p;
    problem_init(&p);
    query_check_t q = {s->query, 0, &p, 0};
    r->src->each(r, REQ_QUERY, query_arg, &q);
    if (!q.refused) {
        problem_clear(&p);
        return 0;
    }
    char allowed[256] = "";
    size_t n = 0;
    for (const route_query_t *d = s->query; d && d->name && n < sizeof allowed; d++)
        n += (size_t)snprintf(allowed + n, sizeof allowed - n, "%s%s", n ? ", " : "", d->name);
    problem_fail(&p, PROBLEM_BAD_QUERY,
                 "%d query parameter%s not taken here (each at most once); this route takes %s.",
                 q.refused, q.refused == 1 ? " is" : "s are", n ? allowed : "none");
    return http_reply_problem(r, &p);
}

static const stage_fn k_front[] = {stage_query, stage_too_large, stage_rate_limit, stage_cache};

/* ---------- the gate: stages where the route's work class runs ---------- */

/* Who is calling (401 for bad or, where a session is needed, missing
 * credentials; 404 for a feed token that names no feed). */
static int stage_session(req_t *r, const route_spec_t *s)
{
    switch (s->access) {
    case ACCESS_PUBLIC: return 0;
    case ACCESS_CALLER: {
        int rc = session_resolve(r);
        return rc < 0 ? rc : 0;
    }
    case ACCESS_FEED_TOKEN:
        return session_feed_token(r, http_param(r, r->match.nparams - 1), s->token_suffix);
    case ACCESS_FEDERATION: return activitypub_verify(r);
    default: {
        int rc = session_require(r);
        if (rc < 0) return rc;
        if (s->verified && !r->caller.email_verified)
            return http_fail(r, PROBLEM_EMAIL_UNVERIFIED,
                             "Confirm your email address first: follow the link in the message we "
                             "sent (POST /api/v1/me/email-verification sends a new one).");
        return 0;
    }
    }
}

static int stage_csrf(req_t *r, const route_spec_t *s)
{
    if (s->access == ACCESS_PUBLIC || s->access == ACCESS_FEED_TOKEN ||
        s->access == ACCESS_FEDERATION)
        return 0;
    return session_csrf(r);
}

/* The new accounts' write limit (docs/operations.md, "Registration"): a
 * change by an account younger than the instance's new_account_days whose
 * email address is not confirmed and that holds no instance role
 * (lib/authz.h authz_new_account_limited) counts against its
 * new_account_writes_per_hour, in the database, so every daemon shares the
 * count. UPKEEP routes are not counted. */
static db_stmt_t q_new_account_write = DB_STMT("new_account_write_reserve", false,
    "SELECT new_account_write_reserve($1::bigint, $2::int)");

static int stage_new_account_limit(req_t *r, const route_spec_t *s)
{
    const caller_t *c = &r->caller;
    if (!is_write(r->method) || s->upkeep || !c->account_id) return 0;
    /* an instance role only lifts the limit: looked up when the rest holds */
    if (!authz_new_account_limited(c->new_account_limit > 0, c->email_verified, NULL)) return 0;
    problem_t p;
    problem_init(&p);
    char role[16];
    if (authz_instance_role(c->account_id_text, role, &p) < 0) return http_reply_problem(r, &p);
    if (!authz_new_account_limited(true, c->email_verified, role)) return 0;
    char limit[16];
    snprintf(limit, sizeof limit, "%d", c->new_account_limit);
    const char *params[2] = {c->account_id_text, limit};
    PGresult *res = db_exec(&q_new_account_write, 2, params, &p);
    if (!res) return http_reply_problem(r, &p);
    int wait = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (wait <= 0) return 0;
    char words[48];
    problem_fail(&p, PROBLEM_NEW_ACCOUNT_LIMITED,
                 "A new account makes at most %d changes an hour until its email address is "
                 "confirmed; follow the link we mailed you, or try again in %s.",
                 c->new_account_limit, problem_duration_words(wait, words, sizeof words));
    p.retry_after = wait;
    return http_reply_problem(r, &p);
}

/* The path's {id}: a positive integer, canonical; 404 otherwise. */
static int resource_id(req_t *r)
{
    long long v;
    return http_param_id(r, 0, &v, r->resource_id, sizeof r->resource_id);
}

/* May the caller do the route's action to the path's resource? One lookup
 * (lib/authz.h) that also gives the handler the organisation and role, or
 * the side. */
static int stage_authz(req_t *r, const route_spec_t *s)
{
    problem_t p;
    problem_init(&p);
    int rc;
    const char *what;
    const char *account = r->caller.account_id_text;
    switch (s->access) {
    case ACCESS_ORGANISATION:
        what = "organisation";
        if (!validate_slug(http_param(r, 0)))
            return http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such %s.", what);
        rc = authz_organisation(account, http_param(r, 0), s->action, &r->org, &p);
        break;
    case ACCESS_ENGAGEMENT:
        what = "engagement";
        if ((rc = resource_id(r)) < 0) return rc;
        rc = authz_engagement(account, r->resource_id, s->action, &r->org, &p);
        break;
    case ACCESS_AGREEMENT:
        what = "agreement";
        if ((rc = resource_id(r)) < 0) return rc;
        rc = authz_agreement(account, r->resource_id, s->action, &r->agreement, &p);
        break;
    case ACCESS_INSTANCE:
        what = "page";
        rc = authz_instance(account, s->instance_action, r->instance_role, &p);
        break;
    default: return 0;
    }
    if (rc == 0) return 0;
    if (s->hide_refusal && p.status == 403) {
        problem_clear(&p);
        problem_fail(&p, PROBLEM_NO_SUCH_ITEM, "No such %s.", what);
    }
    return http_reply_problem(r, &p);
}

/* If-Match names the version the change is based on: "\"3\"". It is
 * compared strongly (RFC 9110 section 13.1.1): a weak ETag (W/"3") never
 * matches, so it is refused like a stale version. */
static int stage_if_match(req_t *r, const route_spec_t *s)
{
    r->if_match[0] = '\0';
    if (s->if_match == IF_MATCH_NONE) return 0;
    const char *im = http_header(r, "If-Match");
    if (!im) {
        if (s->if_match == IF_MATCH_OPTIONAL) return 0;
        return http_fail(r, PROBLEM_PRECONDITION_REQUIRED,
                         "Send If-Match with the ETag you last read, so no change is lost.");
    }
    bool weak = strncmp(im, "W/", 2) == 0;
    const char *v = im;
    char *end = NULL;
    errno = 0;
    if (*v == '"') v++;
    long long n = strtoll(v, &end, 10);
    if (weak || errno || end == v || n < 1 || (*end != '"' && *end != '\0') ||
        (*end == '"' && end[1] != '\0'))
        return http_fail(r, PROBLEM_PRECONDITION_FAILED,
                         "If-Match does not name the current version; read the resource again.");
    snprintf(r->if_match, sizeof r->if_match, "%lld", n);
    return 0;
}

/* Name every string of v (at path, "" for the body itself) that holds
 * U+0000: valid JSON (RFC 8259), but no text of the API may hold it. */
static void refuse_nul(const json_t *v, const char *path, problem_t *p)
{
    char sub[256];
    if (json_is_string(v)) {
        if (strlen(json_string_value(v)) != json_string_length(v))
            problem_field(p, path[0] ? path : "body", "must not contain U+0000 (NUL)");
    } else if (json_is_object(v)) {
        const char *key;
        const json_t *x;
        json_object_foreach((json_t *)v, key, x) {
            snprintf(sub, sizeof sub, "%s%s%s", path, path[0] ? "." : "", key);
            refuse_nul(x, sub, p);
        }
    } else if (json_is_array(v)) {
        size_t i;
        const json_t *x;
        json_array_foreach(v, i, x) {
            snprintf(sub, sizeof sub, "%s[%zu]", path, i);
            refuse_nul(x, sub, p);
        }
    }
}

/* Parse the body as JSON of the declared type: 415 for another content
 * type, 400 when empty, too deep, malformed or of another type; 422 naming
 * each string that holds U+0000. */
static int stage_body(req_t *r, const route_spec_t *s)
{
    if (s->body == BODY_NONE || (s->body == BODY_OBJECT_OPTIONAL && r->body.len == 0))
        return 0;
    const char *ct = http_header(r, "Content-Type");
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
        return http_fail(r, PROBLEM_UNSUPPORTED_MEDIA_TYPE, "Send the body as application/json.");
    if (r->body.len == 0) return http_fail(r, PROBLEM_MALFORMED, "The request body is empty.");
    if (validate_json_depth(r->body.buf, r->body.len) > JSON_MAX_DEPTH)
        return http_fail(r, PROBLEM_MALFORMED, "The JSON is nested too deeply.");
    json_error_t err;
    json_t *j = json_loadb(r->body.buf, r->body.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!j) {
        return http_fail(r, PROBLEM_MALFORMED,
                         "The body is not valid JSON: %s (line %d, column %d).", err.text,
                         err.line, err.column);
    }
    bool array = s->body == BODY_ARRAY;
    if (json_typeof(j) != (array ? JSON_ARRAY : JSON_OBJECT)) {
        json_decref(j);
        return http_fail(r, PROBLEM_MALFORMED, "The body must be %s.",
                         array ? s->body_shape : "a JSON object");
    }
    problem_t nul;
    problem_init(&nul);
    refuse_nul(j, "", &nul);
    if (problem_has_fields(&nul)) {
        json_decref(j);
        problem_fail(&nul, PROBLEM_VALIDATION, "A string holds U+0000 (NUL), which no text here may hold.");
        return http_reply_problem(r, &nul);
    }
    problem_clear(&nul);
    r->json = j;
    return 0;
}

/* Idempotency-Key on POST: a replay answers; a new key is claimed. Answers
 * that carry a secret are never stored, so their key is not looked at. */
static int stage_idempotency(req_t *r, const route_spec_t *s)
{
    if (s->secret) return 0;
    return idem_begin(r);
}

static const stage_fn k_gate[] = {stage_session,  stage_csrf, stage_new_account_limit,
                                  stage_authz,    stage_if_match, stage_body,
                                  stage_idempotency};

/* ---------- the parts ---------- */

static int run_stages(req_t *r, const route_spec_t *s, const stage_fn *stages, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        int rc = stages[i](r, s);
        if (rc < 0) return rc;
    }
    return 0;
}

void pipeline_run(req_t *r)
{
    const route_spec_t *s = route_spec(r->match.route);
    if (run_stages(r, s, k_gate, sizeof k_gate / sizeof k_gate[0]) < 0) return;
    s->handler(r);
    if (r->deferred && s->work != WORK_HASH) {
        /* the table must say where a route runs: a handler may not move itself */
        r->deferred = NULL;
        log_event("error", "undeclared_hash_work", r->match.route->pattern);
        http_fail(r, PROBLEM_INTERNAL, NULL);
    }
}

/* No route: a problem on the API, a static file elsewhere, or the 404 page. */
static void unrouted(req_t *r, int rc)
{
    problem_t p;
    problem_init(&p);
    if (is_api_path(r->url)) {
        if (rc == -PROBLEM_METHOD_NOT_ALLOWED) {
            problem_fail(&p, PROBLEM_METHOD_NOT_ALLOWED, "%s is not allowed here; allowed: %s.",
                         r->method, r->match.allow);
            snprintf(p.allow, sizeof p.allow, "%s", r->match.allow);
        } else {
            problem_fail(&p, PROBLEM_NOT_FOUND, "There is nothing at this address.");
        }
        http_reply_problem(r, &p);
        return;
    }
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        problem_fail(&p, PROBLEM_METHOD_NOT_ALLOWED, "Static files are read with GET or HEAD.");
        snprintf(p.allow, sizeof p.allow, "GET, HEAD");
        http_reply_problem(r, &p);
        return;
    }
    if (!static_serve(r, http_config->static_dir)) pages_not_found(r);
}

/* Request framing (RFC 9112 section 6.3): one way to tell where the body
 * ends. Both Content-Length and Transfer-Encoding, Content-Length given
 * more than once or not a number, or a transfer coding other than chunked
 * let a proxy in front read another request boundary than ours (request
 * smuggling): 400 (413 for a length beyond 64 bits), and the connection is
 * closed, so nothing sent after it is read. */
typedef struct framing {
    int lengths, codings;
    const char *length, *coding;
} framing_t;

static void framing_header(void *cls, const char *key, const char *value)
{
    framing_t *f = cls;
    if (strcasecmp(key, "Content-Length") == 0) {
        f->lengths++;
        f->length = value ? value : "";
    }
    if (strcasecmp(key, "Transfer-Encoding") == 0) {
        f->codings++;
        f->coding = value ? value : "";
    }
}

bool pipeline_head(req_t *r)
{
    framing_t f = {0, 0, NULL, NULL};
    r->src->each(r, REQ_HEADER, framing_header, &f);
    size_t digits = f.length ? strspn(f.length, "0123456789") : 0;
    bool number = f.length && digits > 0 && f.length[digits] == '\0';
    const char *why = f.lengths && f.codings ? "It has both Content-Length and Transfer-Encoding."
                    : f.lengths > 1          ? "It has Content-Length more than once."
                    : f.length && !number    ? "Its Content-Length is not a number of bytes."
                    : f.codings > 1          ? "It has Transfer-Encoding more than once."
                    : f.codings && strcasecmp(f.coding, "chunked") != 0
                        ? "Its Transfer-Encoding is not chunked."
                        : NULL;
    bool huge = !why && number && digits > 19; /* beyond what 64 bits count */
    if (!why && !huge) return false;
    http_add_header(r, "Connection", "close");
    if (huge)
        http_fail(r, PROBLEM_TOO_LARGE, "The body is larger than %zu bytes.", http_config->body_limit);
    else
        http_fail(r, PROBLEM_MALFORMED, "The request's length is ambiguous: %s", why);
    return true;
}

void pipeline_dispatch(req_t *r)
{
    if (strcmp(r->method, "OPTIONS") == 0 && is_api_path(r->url)) {
        preflight(r);
        return;
    }
    int rc = router_match(g_routes, g_nroutes, r->method, r->url, &r->match);
    if (rc < 0) {
        unrouted(r, rc);
        return;
    }
    r->route_id = r->match.route->id;
    const route_spec_t *s = route_spec(r->match.route);
    if (run_stages(r, s, k_front, sizeof k_front / sizeof k_front[0]) < 0) return;
    if (s->work == WORK_INLINE) {
        pipeline_run(r);
        return;
    }
    /* a HASH route's gate and handler run on the write pool; its hash then
     * goes on to the hash pool (http_defer) */
    r->deferred = pipeline_run;
    r->deferred_work = s->work == WORK_HASH ? WORK_WRITE : s->work;
}

void pipeline_finish(req_t *r)
{
    if (r->finished) return;
    r->finished = true;
    idem_finish(r);
    cache_changed(r);
    /* the words' index reads back what this daemon wrote before it serves
     * this daemon's next search (refused input wrote nothing) */
    if (is_write(r->method) && (r->status < 400 || r->status >= 500)) textindex_service_local_write();
    if (r->match.route && cached_route(r, route_spec(r->match.route))) cache_store(r);
}

/* ---------- the table ---------- */

/* What is wrong with a route's query declarations, or NULL. */
static const char *query_fault(const route_spec_t *s)
{
    size_t n = 0;
    for (const route_query_t *q = s->query; q && q->name; q++, n++)
        for (const route_query_t *o = s->query; o < q; o++)
            if (strcmp(o->name, q->name) == 0) return "declares a query parameter twice";
    return n > 8 * sizeof(unsigned long) ? "declares too many query parameters" : NULL;
}

int pipeline_check_routes(const route_t *routes, size_t n, problem_t *p)
{
    for (size_t i = 0; i < n; i++) {
        const route_t *rt = &routes[i];
        const route_spec_t *s = route_spec(rt);
        bool get = strcmp(rt->method, "GET") == 0;
        bool param = strchr(rt->pattern, '{') != NULL;
        const char *fault = !s || !s->handler                         ? "has no handler"
            : get && s->work != WORK_READ && s->work != WORK_INLINE   ? "is a GET on a write pool"
            : !get && (s->work == WORK_READ || s->work == WORK_INLINE) ? "changes on a read thread"
            : query_fault(s)                                           ? query_fault(s)
            : get && s->body != BODY_NONE                             ? "is a GET with a body"
            : s->body == BODY_ARRAY && !s->body_shape                 ? "names no body shape"
            : (s->access == ACCESS_ORGANISATION || s->access == ACCESS_ENGAGEMENT ||
               s->access == ACCESS_AGREEMENT || s->access == ACCESS_FEED_TOKEN) && !param
                ? "has no {param} for its resource"
            : s->access == ACCESS_FEED_TOKEN && !s->token_suffix      ? "names no token suffix"
            : (s->cache & (ROUTE_CACHED_LIST | ROUTE_CACHED_ITEM)) &&
                      (!get || s->access != ACCESS_PUBLIC)
                ? "is cached but not a public GET"
            : (s->cache & (ROUTE_CACHED_ITEM | ROUTE_CHANGES_ITEM)) && !param
                ? "names an item without a {param}"
                : NULL;
        if (fault)
            return problem_fail(p, PROBLEM_INTERNAL, "%s %s %s", rt->method, rt->pattern, fault);
    }
    return 0;
}

int pipeline_configure(const config_t *cfg, const route_t *routes, size_t nroutes)
{
    problem_t p;
    problem_init(&p);
    int rc = pipeline_check_routes(routes, nroutes, &p);
    if (rc < 0) {
        log_event("error", "bad_route_table", p.detail);
        problem_clear(&p);
        return rc;
    }
    http_config = cfg;
    g_routes = routes;
    g_nroutes = nroutes;
    ratelimit_free(g_write_limit);
    g_write_limit = cfg->write_rate_per_minute > 0
                        ? ratelimit_new(cfg->write_rate_per_minute, cfg->write_burst)
                        : NULL;
    return 0;
}

void pipeline_shutdown(void)
{
    ratelimit_free(g_write_limit);
    g_write_limit = NULL;
}
