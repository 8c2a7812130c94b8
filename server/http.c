/* http: libmicrohttpd daemon, two-step access handler, responses, the slow
 * worker pool with suspend/resume, logging and metrics per request. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "db.h"
#include "idem.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"
#include "rcache.h"
#include "query.h"
#include "static.h"
#include "validate.h"

#define JSON_MAX_DEPTH 32

const config_t *http_config;
static struct MHD_Daemon *g_daemon;
static const route_t *g_routes;
static size_t g_nroutes;
static atomic_long g_in_flight;
static atomic_long g_suspended;
static ratelimit_t *g_write_limit;

static const char k_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

/* ---------- worker pools ----------
 * Two pools take requests off the libmicrohttpd threads, which only parse,
 * route and answer reads: the hash pool (password hashing, a core each) and
 * the write pool (changes: many commits in flight share one WAL flush, so a
 * few more threads than cores, each with its own PostgreSQL connection).
 * The connection is suspended meanwhile and resumed when the answer is set. */

typedef struct pool {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    req_t *head, *tail; /* linked through req_t.job_next */
    bool stop;
    pthread_t *threads;
    int n;
} pool_t;

static pool_t g_hash_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
                             false, NULL, 0};
static pool_t g_write_pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL,
                              false, NULL, 0};

static void pool_push(pool_t *p, req_t *r)
{
    r->job_next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail) p->tail->job_next = r;
    else p->head = r;
    p->tail = r;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void *pool_main(void *arg)
{
    pool_t *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->lock);
        while (!p->head && !p->stop) pthread_cond_wait(&p->cond, &p->lock);
        if (!p->head) {
            pthread_mutex_unlock(&p->lock);
            break;
        }
        req_t *r = p->head;
        p->head = r->job_next;
        if (!p->head) p->tail = NULL;
        pthread_mutex_unlock(&p->lock);

        handler_fn fn = r->deferred;
        r->deferred = NULL;
        fn(r);
        /* a change that needs a password hashed goes on to the hash pool */
        if (r->deferred) {
            pool_push(r->deferred_pool, r);
            continue;
        }
        if (!r->responded) http_error(r, 500, "internal", "Internal error", NULL);
        idem_finish(r); /* here, not on the libmicrohttpd thread */
        r->resumed = true;
        atomic_fetch_sub(&g_suspended, 1);
        MHD_resume_connection(r->conn);
    }
    db_thread_close();
    return NULL;
}

static void pool_start(pool_t *p, int n)
{
    p->stop = false;
    p->threads = calloc((size_t)n, sizeof *p->threads);
    if (!p->threads) return;
    for (int i = 0; i < n; i++)
        if (pthread_create(&p->threads[i], NULL, pool_main, p) == 0) p->n++;
}

static void pool_stop(pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    p->stop = true;
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    for (int i = 0; i < p->n; i++) pthread_join(p->threads[i], NULL);
    free(p->threads);
    p->threads = NULL;
    p->n = 0;
}

static void pools_stop(void)
{
    pool_stop(&g_write_pool); /* first: its jobs may hand on to the hash pool */
    pool_stop(&g_hash_pool);
}

void http_defer(req_t *r, handler_fn fn)
{
    r->deferred = fn;
    r->deferred_pool = &g_hash_pool;
}

long http_in_flight(void) { return atomic_load(&g_in_flight); }
long http_suspended(void) { return atomic_load(&g_suspended); }

/* ---------- reading the request ---------- */

const char *http_param(const req_t *r, int i)
{
    return i < r->match.nparams ? r->match.params[i] : "";
}

const char *http_query(const req_t *r, const char *key)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(const req_t *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

const char *http_client_address(const req_t *r, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    buf[0] = '\0';
    if (!ci || !ci->client_addr) return buf;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)cap);
    /* Behind the configured reverse proxy, the client is the last address
     * the proxy appended to X-Forwarded-For (earlier ones are the client's
     * own claims). Anything that is not an IP address is ignored. */
    if (http_config->trusted_proxy[0] && strcmp(buf, http_config->trusted_proxy) == 0) {
        const char *xff = http_header(r, "X-Forwarded-For");
        if (xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            while (*last == ' ') last++;
            char candidate[64];
            size_t n = strcspn(last, " ");
            if (n > 0 && n < sizeof candidate) {
                memcpy(candidate, last, n);
                candidate[n] = '\0';
                unsigned char bin[16];
                if ((inet_pton(AF_INET, candidate, bin) == 1 || inet_pton(AF_INET6, candidate, bin) == 1) &&
                    n < cap)
                    memcpy(buf, candidate, n + 1);
            }
        }
    }
    return buf;
}

/* Parse the body as JSON of the wanted type (JSON_OBJECT or JSON_ARRAY):
 * 415 for another content type, 400 when empty, too deep, malformed or of
 * another type. */
static json_t *parse_json_body(req_t *r, json_type want, const char *shape)
{
    const char *ct = http_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
    if (!ct || strncasecmp(ct, "application/json", 16) != 0 ||
        (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' ')) {
        http_error(r, 415, "unsupported-media-type", "Unsupported media type",
                   "Send the body as application/json.");
        return NULL;
    }
    if (r->body_len == 0) {
        http_error(r, 400, "malformed", "Malformed request", "The request body is empty.");
        return NULL;
    }
    if (validate_json_depth(r->body, r->body_len) > JSON_MAX_DEPTH) {
        http_error(r, 400, "malformed", "Malformed request", "The JSON is nested too deeply.");
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loadb(r->body, r->body_len, JSON_REJECT_DUPLICATES, &err);
    if (!j) {
        problem_t p;
        problem_init(&p);
        problem_set(&p, 400, "malformed", "Malformed request",
                    "The body is not valid JSON: %s (line %d, column %d).", err.text, err.line,
                    err.column);
        http_reply_problem(r, &p);
        return NULL;
    }
    if (json_typeof(j) != want) {
        json_decref(j);
        char detail[160];
        snprintf(detail, sizeof detail, "The body must be %s.", shape);
        http_error(r, 400, "malformed", "Malformed request", detail);
        return NULL;
    }
    return j;
}

json_t *http_json_body(req_t *r) { return parse_json_body(r, JSON_OBJECT, "a JSON object"); }

json_t *http_json_array_body(req_t *r, const char *shape)
{
    return parse_json_body(r, JSON_ARRAY, shape);
}

bool http_limit(req_t *r, int *limit)
{
    if (query_int(http_query(r, "limit"), 1, 100, 20, limit) != 0) {
        *limit = 20;
        problem_t p;
        problem_init(&p);
        problem_field(&p, "limit", "must be an integer from 1 to 100");
        problem_set(&p, 400, "bad-query", "Bad query parameter", "limit must be 1 to 100.");
        http_reply_problem(r, &p);
        return false;
    }
    return true;
}

/* ---------- setting the response ---------- */

static void reset_response(req_t *r)
{
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    if (r->file_fd >= 0) close(r->file_fd);
    r->file_fd = -1;
}

void http_reply_text(req_t *r, int status, const char *content_type, char *body, size_t len)
{
    reset_response(r);
    r->status = status;
    r->content_type = content_type;
    r->resp_body = body;
    r->resp_len = len;
    r->responded = true;
}

void http_reply_json(req_t *r, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (!s) {
        http_error(r, 500, "internal", "Internal error", NULL);
        return;
    }
    http_reply_text(r, status, "application/json", s, strlen(s));
}

void http_reply_empty(req_t *r, int status) { http_reply_text(r, status, NULL, NULL, 0); }

void http_reply_file(req_t *r, int status, const char *content_type, int fd, uint64_t size)
{
    reset_response(r);
    r->status = status;
    r->content_type = content_type;
    r->file_fd = fd;
    r->file_size = size;
    r->responded = true;
}

void http_reply_problem(req_t *r, problem_t *p)
{
    if (p->status == 0) problem_finish_validation(p);
    if (p->status == 0) problem_set(p, 500, "internal", "Internal error", NULL);
    json_t *body = problem_to_json(p);
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    int status = p->status;
    if (p->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", p->retry_after);
        http_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (p->allow[0]) http_add_header(r, MHD_HTTP_HEADER_ALLOW, p->allow);
    problem_clear(p);
    if (!s) {
        http_reply_text(r, 500, "application/problem+json", NULL, 0);
        return;
    }
    http_reply_text(r, status, "application/problem+json", s, strlen(s));
}

void http_error(req_t *r, int status, const char *type, const char *title, const char *detail)
{
    problem_t p;
    problem_init(&p);
    problem_set(&p, status, type, title, "%s", detail ? detail : "");
    http_reply_problem(r, &p);
}

void http_add_header(req_t *r, const char *name, const char *value)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->header_names[i], name) == 0 && strcasecmp(name, "Set-Cookie") != 0) {
            free(r->header_values[i]);
            r->header_values[i] = strdup(value);
            return;
        }
    if (r->nheaders >= HTTP_MAX_HEADERS) return;
    r->header_names[r->nheaders] = strdup(name);
    r->header_values[r->nheaders] = strdup(value);
    r->nheaders++;
}

/* Does If-None-Match list etag (or "*")? Weak comparison, as RFC 9110 says. */
bool http_etag_listed(const char *header, const char *etag)
{
    const char *s = header;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',') s++;
        if (!*s) break;
        if (*s == '*') return true;
        if (strncmp(s, "W/", 2) == 0) s += 2;
        const char *end = s;
        if (*end == '"') {
            end = strchr(end + 1, '"');
            if (!end) return false;
            end++;
        } else {
            while (*end && *end != ',' && *end != ' ') end++;
        }
        if ((size_t)(end - s) == strlen(etag) && strncmp(s, etag, (size_t)(end - s)) == 0)
            return true;
        s = end;
    }
    return false;
}

static bool http_has_header_named(const req_t *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->header_names[i], name) == 0) return true;
    return false;
}

/* ---------- the access handler ---------- */

static bool is_api_path(const char *url)
{
    return strncmp(url, "/api/", 5) == 0 || strncmp(url, "/feeds/", 7) == 0 ||
           strcmp(url, "/healthz") == 0 || strcmp(url, "/readyz") == 0 ||
           strcmp(url, "/metrics") == 0 || strcmp(url, "/api") == 0;
}

static void set_request_id(req_t *r)
{
    const char *given = http_header(r, "X-Request-Id");
    if (given) {
        size_t n = strlen(given);
        bool ok = n >= 1 && n < sizeof r->request_id;
        for (size_t i = 0; ok && i < n; i++) {
            char c = given[i];
            ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.';
        }
        if (ok) {
            memcpy(r->request_id, given, n + 1);
            return;
        }
    }
    /* Unique, not secret: a per-thread random prefix and a counter, so no
     * system call per request. */
    static _Thread_local uint64_t prefix, counter;
    if (!prefix) randombytes_buf(&prefix, sizeof prefix);
    snprintf(r->request_id, sizeof r->request_id, "%016llx%016llx", (unsigned long long)prefix,
             (unsigned long long)++counter);
}

/* The request's Origin when CORS_ORIGINS allows it, else NULL. */
static const char *allowed_origin(const req_t *r)
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
    const char *origin = allowed_origin(r);
    if (origin) {
        http_add_header(r, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE");
        http_add_header(r, "Access-Control-Allow-Headers",
                        "Authorization, Content-Type, If-Match, If-None-Match, Idempotency-Key, "
                        "X-CSRF-Token, X-Request-Id");
        http_add_header(r, "Access-Control-Max-Age", "600");
    }
    http_reply_empty(r, 204);
}

static bool is_write(const char *method)
{
    return !strcmp(method, "POST") || !strcmp(method, "PUT") || !strcmp(method, "PATCH") ||
           !strcmp(method, "DELETE");
}

/* Writes per client address (WRITE_RATE_PER_MINUTE): false with 429 set. */
static bool write_allowed(req_t *r)
{
    if (!g_write_limit || !is_write(r->method)) return true;
    char addr[64];
    http_client_address(r, addr, sizeof addr);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int retry = 1;
    if (ratelimit_take(g_write_limit, addr, (double)now.tv_sec + (double)now.tv_nsec / 1e9, &retry))
        return true;
    problem_t p;
    problem_init(&p);
    problem_set(&p, 429, "rate-limited", "Too many writes",
                "This address sent more than %d changes a minute; try again in %d s.",
                http_config->write_rate_per_minute, retry);
    p.retry_after = retry;
    http_reply_problem(r, &p);
    return false;
}

/* The route's handler, behind the Idempotency-Key check. */
static void run_route(req_t *r)
{
    /* Responses that carry a secret (a session token, a feed URL) are
     * never stored for replay. */
    bool secret = strcmp(r->url, "/api/v1/sessions") == 0 ||
                  strcmp(r->url, "/api/v1/me/notifications/feed") == 0;
    if (!secret && idem_begin(r)) return;
    ((handler_fn)r->match.route->handler)(r);
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

static enum MHD_Result key_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    keybuf_t *k = cls;
    key_add(k, key, '\0');
    key_add(k, value ? value : "", value ? '\0' : '\1'); /* "?a" differs from "?a=" */
    return MHD_YES;
}

/* A list's key: the path and the query arguments in order, NUL-separated
 * (neither can hold a NUL). 0 when too long to keep. */
static size_t list_key(const req_t *r, char *buf, size_t cap)
{
    keybuf_t k = {buf, 0, cap, false};
    key_add(&k, r->url, '\n');
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, key_arg, &k);
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

static size_t cache_key(const req_t *r, char *buf, size_t cap)
{
    if (r->match.route->flags & ROUTE_CACHED_ITEM)
        return item_key(r, r->match.params[r->match.nparams - 1], true, buf, cap);
    return list_key(r, buf, cap);
}

/* If-None-Match naming the answer's ETag: 304 without a body. */
static void conditional(req_t *r)
{
    if (r->status != 200) return;
    const char *inm = http_header(r, "If-None-Match");
    if (!inm) return;
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->header_names[i], "ETag") == 0 &&
            http_etag_listed(inm, r->header_values[i])) {
            free(r->resp_body);
            r->resp_body = NULL;
            r->resp_len = 0;
            r->content_type = NULL;
            r->status = 304;
            return;
        }
}

/* A stored answer: true when r is answered. Otherwise r takes the ticket
 * to store its answer under. */
static bool cache_serve(req_t *r)
{
    char key[RCACHE_KEY_MAX];
    size_t klen = cache_key(r, key, sizeof key);
    if (!klen) return false;
    rcache_kind_t kind = (r->match.route->flags & ROUTE_CACHED_ITEM) ? RCACHE_ITEM : RCACHE_LIST;
    if (!rcache_ticket(key, klen, kind, &r->cache_ticket)) return false;
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
        return true;
    }
    r->cache_key = malloc(klen);
    if (r->cache_key) {
        memcpy(r->cache_key, key, klen);
        r->cache_klen = klen;
    }
    return false;
}

/* Keep a fresh 200 JSON answer (and then answer If-None-Match). */
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

/* A change this daemon made is seen by its next read, before the NOTIFY
 * arrives. */
static void cache_changed(const req_t *r)
{
    unsigned f = r->match.route ? r->match.route->flags : 0;
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

static void dispatch(req_t *r)
{
    if (strcmp(r->method, "OPTIONS") == 0 && is_api_path(r->url)) {
        preflight(r);
        return;
    }
    int rc = router_match(g_routes, g_nroutes, r->method, r->url, &r->match);
    if (rc == 200) {
        r->route_id = r->match.route->id;
        if (r->body_too_large) {
            char d[96];
            snprintf(d, sizeof d, "The body is larger than %zu bytes.", http_config->body_limit);
            http_error(r, 413, "too-large", "Request body too large", d);
            return;
        }
        if (!write_allowed(r)) return;
        bool cached = (r->match.route->flags & (ROUTE_CACHED_LIST | ROUTE_CACHED_ITEM)) &&
                      strcmp(r->method, "GET") == 0;
        if (cached && cache_serve(r)) return;
        if (is_write(r->method) && g_write_pool.n > 0) {
            r->deferred = run_route;
            r->deferred_pool = &g_write_pool;
            return;
        }
        run_route(r);
        if (cached) cache_store(r);
        return;
    }
    if (is_api_path(r->url)) {
        problem_t p;
        problem_init(&p);
        if (rc == 405) {
            problem_set(&p, 405, "method-not-allowed", "Method not allowed",
                        "%s is not allowed here; allowed: %s.", r->method, r->match.allow);
            snprintf(p.allow, sizeof p.allow, "%s", r->match.allow);
        } else {
            problem_set(&p, 404, "not-found", "Not found", "There is nothing at this address.");
        }
        http_reply_problem(r, &p);
        return;
    }
    if (strcmp(r->method, "GET") != 0 && strcmp(r->method, "HEAD") != 0) {
        problem_t p;
        problem_init(&p);
        problem_set(&p, 405, "method-not-allowed", "Method not allowed",
                    "Static files are read with GET or HEAD.");
        snprintf(p.allow, sizeof p.allow, "GET, HEAD");
        http_reply_problem(r, &p);
        return;
    }
    static_serve(r, http_config->static_dir);
}

static enum MHD_Result queue(req_t *r)
{
    idem_finish(r);
    cache_changed(r);
    struct MHD_Response *resp;
    if (r->file_fd >= 0) {
        resp = MHD_create_response_from_fd64(r->file_size, r->file_fd);
        r->file_fd = -1; /* MHD owns and closes it now */
    } else {
        resp = MHD_create_response_from_buffer(r->resp_len, r->resp_body ? r->resp_body : (char *)"",
                                               r->resp_body ? MHD_RESPMEM_MUST_FREE
                                                            : MHD_RESPMEM_PERSISTENT);
        r->resp_body = NULL;
    }
    if (!resp) return MHD_NO;
    if (r->content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->content_type);
    for (int i = 0; i < r->nheaders; i++)
        MHD_add_response_header(resp, r->header_names[i], r->header_values[i]);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "strict-origin-when-cross-origin");
    MHD_add_response_header(resp, "Content-Security-Policy", k_csp);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (http_config->cors_origins[0]) {
        MHD_add_response_header(resp, "Vary", "Origin");
        const char *origin = allowed_origin(r);
        if (origin) {
            MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
            MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
            MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                    "ETag, Location, Retry-After, X-Request-Id, Idempotent-Replayed");
        }
    }
    if (r->content_type && strncmp(r->content_type, "application/", 12) == 0 &&
        !http_has_header_named(r, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = MHD_queue_response(r->conn, (unsigned)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size, void **con_cls)
{
    (void)cls;
    (void)version;
    req_t *r = *con_cls;
    if (!r) {
        r = calloc(1, sizeof *r);
        if (!r) return MHD_NO;
        r->conn = conn;
        r->url = url;
        r->method = method;
        r->file_fd = -1;
        clock_gettime(CLOCK_MONOTONIC, &r->started);
        set_request_id(r);
        const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                     MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > http_config->body_limit) r->body_too_large = true;
        atomic_fetch_add(&g_in_flight, 1);
        *con_cls = r;
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->body_too_large) return MHD_YES;
        if (r->body_len + n > http_config->body_limit) {
            r->body_too_large = true;
            free(r->body);
            r->body = NULL;
            r->body_len = r->body_cap = 0;
            return MHD_YES;
        }
        if (r->body_len + n + 1 > r->body_cap) {
            size_t cap = r->body_cap ? r->body_cap * 2 : 4096;
            while (cap < r->body_len + n + 1) cap *= 2;
            char *nb = realloc(r->body, cap);
            if (!nb) return MHD_NO;
            r->body = nb;
            r->body_cap = cap;
        }
        memcpy(r->body + r->body_len, upload_data, n);
        r->body_len += n;
        r->body[r->body_len] = '\0';
        return MHD_YES;
    }
    if (r->resumed) return queue(r);
    if (r->suspended) return MHD_YES; /* spurious call while waiting */
    dispatch(r);
    if (r->deferred) {
        r->suspended = true;
        atomic_fetch_add(&g_suspended, 1);
        MHD_suspend_connection(conn);
        pool_push(r->deferred_pool, r);
        return MHD_YES;
    }
    if (!r->responded) http_error(r, 500, "internal", "Internal error", NULL);
    return queue(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    req_t *r = *con_cls;
    if (!r) return;
    *con_cls = NULL;
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    double secs = (double)(now.tv_sec - r->started.tv_sec) +
                  (double)(now.tv_nsec - r->started.tv_nsec) / 1e9;
    int status = r->responded ? r->status : 0;
    metrics_observe(r->route_id, r->method, status, secs);
    if (http_config->log_requests) {
        json_t *o = json_object();
        json_object_set_new(o, "event", json_string("request"));
        json_object_set_new(o, "method", json_string(r->method));
        json_object_set_new(o, "route", json_string(r->match.route ? r->match.route->pattern
                                                                   : "static"));
        /* a secret in the path (the personal feed's token) is not logged */
        bool secret_path = r->match.route && strstr(r->match.route->pattern, "{token}");
        json_t *path = json_string(secret_path ? r->match.route->pattern : r->url);
        json_object_set_new(o, "path", path ? path : json_string("(invalid utf-8)"));
        json_object_set_new(o, "status", json_integer(status));
        json_object_set_new(o, "duration_ms", json_real(secs * 1000.0));
        json_object_set_new(o, "request_id", json_string(r->request_id));
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            json_object_set_new(o, "terminated", json_integer((json_int_t)toe));
        log_json(status >= 500 ? "error" : "info", o);
    }
    if (r->ctx && r->ctx_free) r->ctx_free(r->ctx);
    free(r->body);
    free(r->resp_body);
    free(r->cache_key);
    if (r->file_fd >= 0) close(r->file_fd);
    for (int i = 0; i < r->nheaders; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
    free(r);
    atomic_fetch_sub(&g_in_flight, 1);
}

/* MHD's own decoder keeps "%00" as a NUL that silently ends the C string. */
static size_t on_unescape(void *cls, struct MHD_Connection *c, char *s)
{
    (void)cls;
    (void)c;
    return query_unescape(s);
}

static void on_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof msg, fmt, ap);
    log_event("warn", "mhd", msg);
}

int http_start(const config_t *cfg, const route_t *routes, size_t nroutes)
{
    http_config = cfg;
    g_routes = routes;
    g_nroutes = nroutes;
    int threads = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    /* Each Argon2id hash takes a core and its memlimit: by default use half
     * the cores, so hashing never starves the threads serving reads. */
    pool_start(&g_hash_pool,
               cfg->hash_workers > 0 ? cfg->hash_workers : (threads > 1 ? threads / 2 : 1));
    /* WRITE_WORKERS=0: changes run on the libmicrohttpd threads */
    if (cfg->write_workers > 0) pool_start(&g_write_pool, cfg->write_workers);
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->listen_address, &addr.sin_addr) != 1) {
        log_event("error", "bad_listen_address", cfg->listen_address);
        pools_stop();
        return -1;
    }
    g_write_limit = cfg->write_rate_per_minute > 0
                        ? ratelimit_new(cfg->write_rate_per_minute, cfg->write_burst)
                        : NULL;
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_TURBO |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
    g_daemon = MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, on_log, NULL, /* first, or MHD complains */
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)cfg->max_connections,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)cfg->per_ip_connections,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)cfg->connection_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned)1024,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, NULL,
        MHD_OPTION_END);
    if (!g_daemon) {
        pools_stop();
        ratelimit_free(g_write_limit);
        g_write_limit = NULL;
        return -1;
    }
    return 0;
}

void http_stop(int grace_s)
{
    if (!g_daemon) return;
    MHD_socket lfd = MHD_quiesce_daemon(g_daemon);
    if (lfd != MHD_INVALID_SOCKET) close(lfd);
    /* let in-flight requests (and suspended ones) finish */
    for (int i = 0; i < grace_s * 100 && atomic_load(&g_in_flight) > 0; i++) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    pools_stop();
    MHD_stop_daemon(g_daemon);
    g_daemon = NULL;
    ratelimit_free(g_write_limit);
    g_write_limit = NULL;
}
