/* daemon: the libmicrohttpd glue. Starts and stops the daemon, fills a
 * request from the connection (the two-step access handler: the first call
 * only sets up, the body comes in later calls, the answer is queued when it
 * is complete), runs the pipeline, moves database reads, changes and
 * password hashing to their worker pools (bounded queues) with
 * suspend/resume, gives each request head a deadline, makes the answers
 * libmicrohttpd writes itself problem+json, sends the answer, logs and
 * counts each request. The only file that includes microhttpd.h. */
#define _GNU_SOURCE /* RTLD_NEXT */
#include "daemon.h"

#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "query.h"
#include "replica.h"
#include "route.h"

static struct MHD_Daemon *g_daemon;
static atomic_long g_in_flight;
static atomic_long g_suspended;

static const char k_csp[] =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

/* ---------- the responses: common headers ---------- */

static void add_common_headers(struct MHD_Response *resp)
{
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "strict-origin-when-cross-origin");
    MHD_add_response_header(resp, "Content-Security-Policy", k_csp);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
}

/* ---------- answers libmicrohttpd writes itself ----------
 * libmicrohttpd refuses some requests before the access handler sees them
 * (a head too large for MHD_OPTION_CONNECTION_MEMORY_LIMIT: 431, or 414 for
 * the request line; a malformed line, Content-Length or chunk, no Host: 400;
 * a Content-Length or chunk beyond 64 bits: 413; HTTP/2 or 0.9: 505) with
 * a fixed HTML page. It queues that page through MHD_queue_response, an
 * exported function it calls through the PLT: this executable defines one
 * of that name, which the dynamic linker binds first, so those pages come
 * here and leave as problem+json. The daemon's own answers call the
 * library's function (g_mhd_queue) directly. tests/api/framing.test.mjs
 * checks each answer on the wire. */

typedef enum MHD_Result (*mhd_queue_fn)(struct MHD_Connection *, unsigned int,
                                        struct MHD_Response *);
typedef enum MHD_Result (*mhd_lookup_fn)(struct MHD_Connection *, enum MHD_ValueKind,
                                         const char *, size_t, const char **, size_t *);
static mhd_queue_fn g_mhd_queue;
static mhd_lookup_fn g_mhd_lookup;
static atomic_ulong g_library_answers;

static void library_problem(unsigned status, problem_t *p)
{
    switch (status) {
    case 400:
        problem_fail(p, PROBLEM_MALFORMED,
                     "The request line or a header is not valid HTTP/1.1 (HTTP/1.1 needs Host).");
        break;
    case 413:
        problem_fail(p, PROBLEM_TOO_LARGE,
                     "The body's declared length or a chunk is larger than this server takes.");
        break;
    case 414:
        problem_fail(p, PROBLEM_URI_TOO_LONG, "The request line is longer than this server takes.");
        break;
    case 431:
        problem_fail(p, PROBLEM_HEADERS_TOO_LARGE,
                     "The request's headers are larger than this server takes.");
        break;
    case 505:
        problem_fail(p, PROBLEM_HTTP_VERSION, "Send HTTP/1.1 or HTTP/1.0.");
        break;
    default:
        /* a status the library chose that the catalogue has no line for:
         * the nearest type, with the status the library sends (the body
         * must say what the status line says) */
        problem_fail(p, status >= 500 ? PROBLEM_INTERNAL : PROBLEM_MALFORMED,
                     "The request could not be read.");
        p->status = (int)status;
    }
}

enum MHD_Result MHD_queue_response(struct MHD_Connection *connection, unsigned int status_code,
                                   struct MHD_Response *response)
{
    if (!g_mhd_queue) return MHD_NO;
    if (status_code < 400) return g_mhd_queue(connection, status_code, response);
    atomic_fetch_add(&g_library_answers, 1);
    problem_t p;
    problem_init(&p);
    library_problem(status_code, &p);
    json_t *body = problem_to_json(&p);
    problem_clear(&p);
    char *text = body ? json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(body);
    struct MHD_Response *own =
        text ? MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE) : NULL;
    if (!own) {
        free(text);
        return g_mhd_queue(connection, status_code, response);
    }
    MHD_add_response_header(own, MHD_HTTP_HEADER_CONTENT_TYPE, "application/problem+json");
    MHD_add_response_header(own, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    add_common_headers(own);
    enum MHD_Result ret = g_mhd_queue(connection, status_code, own);
    MHD_destroy_response(own);
    return ret;
}

/* libmicrohttpd 0.9.75 checks the headers in parse_connection_headers and,
 * when one is wrong, queues its answer there but carries on as if nothing
 * were wrong: the answer's status line and headers are then built a second
 * time, and a keep-alive connection is out of step. Two headers make it
 * happen:
 *  - Cookie, which it parses itself: a cookie whose value is one double
 *    quote (session=") is stripped of its quote twice, a value SIZE_MAX
 *    long is asked for, and 431 is the answer (a large Cookie header can
 *    fail the same way for memory). The daemon reads cookies itself
 *    (session.c), so the library is given none to parse.
 *  - Content-Length that is not a number, or too large a one (400, 413).
 *    The library is told there is none, so it reads no body, and the
 *    daemon refuses the request at once and closes the connection
 *    (pipeline_head), so the bytes after the head are never read.
 * Those are the library's lookups through this exported function's name;
 * the daemon's own lookups call the library's function directly. */
static bool content_length_valid(const char *v, size_t n)
{
    if (n == 0 || n > 19) return false; /* 19 digits always fit in 64 bits */
    for (size_t i = 0; i < n; i++)
        if (v[i] < '0' || v[i] > '9') return false;
    return true;
}

enum MHD_Result MHD_lookup_connection_value_n(struct MHD_Connection *connection,
                                              enum MHD_ValueKind kind, const char *key,
                                              size_t key_size, const char **value_ptr,
                                              size_t *value_size_ptr)
{
    if (!g_mhd_lookup) return MHD_NO;
    if (kind == MHD_HEADER_KIND && key && key_size == 6 && strncasecmp(key, "Cookie", 6) == 0)
        return MHD_NO;
    const char *v = NULL;
    size_t n = 0;
    enum MHD_Result found = g_mhd_lookup(connection, kind, key, key_size, &v, &n);
    if (found == MHD_YES && kind == MHD_HEADER_KIND && key_size == 14 &&
        strncasecmp(key, "Content-Length", 14) == 0 && !content_length_valid(v, n))
        return MHD_NO;
    if (found == MHD_YES) {
        if (value_ptr) *value_ptr = v;
        if (value_size_ptr) *value_size_ptr = n;
    }
    return found;
}

static int library_functions(void)
{
    g_mhd_queue = (mhd_queue_fn)dlsym(RTLD_NEXT, "MHD_queue_response");
    g_mhd_lookup = (mhd_lookup_fn)dlsym(RTLD_NEXT, "MHD_lookup_connection_value_n");
    if (!g_mhd_queue || !g_mhd_lookup) {
        log_event("error", "mhd_symbols", "libmicrohttpd's functions were not found");
        return -PROBLEM_INTERNAL;
    }
    /* this executable's definitions must come first for the library's calls */
    if (dlsym(RTLD_DEFAULT, "MHD_queue_response") != (void *)MHD_queue_response ||
        dlsym(RTLD_DEFAULT, "MHD_lookup_connection_value_n") != (void *)MHD_lookup_connection_value_n)
        log_event("warn", "mhd_interposition",
                  "libmicrohttpd's own error pages and cookie parser are not replaced");
    return 0;
}

/* ---------- worker pools ----------
 * Three pools take requests off the libmicrohttpd threads, which only
 * parse, route, answer from the cache and serve files: the read pool
 * (database reads), the write pool (changes: many commits in flight share
 * one WAL flush, so a few more threads than cores, each with its own
 * PostgreSQL connection) and the hash pool (password hashing, a core
 * each). The connection is suspended meanwhile and resumed when the answer
 * is set. Each queue holds at most QUEUE_DEPTH requests per worker (more:
 * 503 + Retry-After), one client address at most PER_IP_REQUESTS in all
 * the pools (more: 429 + Retry-After), and work whose client has gone is
 * dropped before it runs. */

typedef struct pool {
    const char *name;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    req_t *head, *tail; /* linked through req_t.job_next */
    int queued;         /* waiting, and places reserved for requests being suspended */
    int depth;          /* the most that may wait */
    bool stop;
    pthread_t *threads;
    int n;
    atomic_ulong refused, dropped, done;
} pool_t;

#define POOL_INIT(NAME) {NAME, PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, NULL, 0, 0, false, NULL, 0, 0, 0, 0}
static pool_t g_hash_pool = POOL_INIT("hash");
static pool_t g_write_pool = POOL_INIT("write");
static pool_t g_read_pool = POOL_INIT("read");

static pool_t *pool_for(http_work_t work)
{
    return work == WORK_HASH ? &g_hash_pool : work == WORK_WRITE ? &g_write_pool : &g_read_pool;
}

/* A place in the queue, or false (counted as refused) when it is full. */
static bool pool_reserve(pool_t *p)
{
    pthread_mutex_lock(&p->lock);
    bool ok = p->queued < p->depth;
    if (ok) p->queued++;
    pthread_mutex_unlock(&p->lock);
    if (!ok) atomic_fetch_add(&p->refused, 1);
    return ok;
}

/* Into the place pool_reserve gave. */
static void pool_put(pool_t *p, req_t *r)
{
    r->job_next = NULL;
    pthread_mutex_lock(&p->lock);
    if (p->tail) p->tail->job_next = r;
    else p->head = r;
    p->tail = r;
    pthread_cond_signal(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

/* 503 + Retry-After: the pool's queue is full. */
static void pool_busy(req_t *r, const pool_t *p)
{
    problem_t pr;
    problem_init(&pr);
    problem_fail(&pr, PROBLEM_BUSY,
                 "Too many requests are waiting for the %s workers; try again in a moment.",
                 p->name);
    pr.retry_after = 1;
    http_reply_problem(r, &pr);
}

/* ----- requests per client address in the pools (PER_IP_REQUESTS) -----
 * An open-addressing table, sized at start for every request the pools can
 * hold; an address leaves it when its count is back to 0. */

typedef struct addr_slot {
    char addr[64];
    int n;
} addr_slot_t;

static pthread_mutex_t g_addr_lock = PTHREAD_MUTEX_INITIALIZER;
static addr_slot_t *g_addrs;
static size_t g_addr_cap, g_addr_used; /* cap: a power of two */
static atomic_ulong g_addr_refused;

static size_t addr_hash(const char *a)
{
    size_t h = 1469598103934665603ull;
    for (; *a; a++) h = (h ^ (unsigned char)*a) * 1099511628211ull;
    return h & (g_addr_cap - 1);
}

static size_t addr_find(const char *a)
{
    size_t i = addr_hash(a);
    while (g_addrs[i].addr[0] && strcmp(g_addrs[i].addr, a) != 0) i = (i + 1) & (g_addr_cap - 1);
    return i;
}

/* One more request for r's address; false when it has PER_IP_REQUESTS. */
static bool addr_take(req_t *r)
{
    if (!g_addrs) return true;
    pthread_mutex_lock(&g_addr_lock);
    size_t i = addr_find(r->client_addr);
    bool ok;
    if (g_addrs[i].addr[0]) {
        ok = g_addrs[i].n < http_config->per_ip_requests;
        if (ok) g_addrs[i].n++;
    } else {
        ok = g_addr_used < g_addr_cap / 2; /* sized never to fill; full is busy */
        if (ok) {
            snprintf(g_addrs[i].addr, sizeof g_addrs[i].addr, "%s", r->client_addr);
            g_addrs[i].n = 1;
            g_addr_used++;
        }
    }
    pthread_mutex_unlock(&g_addr_lock);
    r->counted = ok;
    if (!ok) atomic_fetch_add(&g_addr_refused, 1);
    return ok;
}

static void addr_give(req_t *r)
{
    if (!r->counted) return;
    r->counted = false;
    pthread_mutex_lock(&g_addr_lock);
    size_t i = addr_find(r->client_addr);
    if (g_addrs[i].addr[0] && --g_addrs[i].n == 0) {
        /* delete, moving later entries of the run back into the hole */
        size_t mask = g_addr_cap - 1;
        for (size_t j = (i + 1) & mask; g_addrs[j].addr[0]; j = (j + 1) & mask) {
            size_t k = addr_hash(g_addrs[j].addr);
            bool stays = i <= j ? (i < k && k <= j) : (i < k || k <= j);
            if (stays) continue;
            g_addrs[i] = g_addrs[j];
            i = j;
        }
        g_addrs[i].addr[0] = '\0';
        g_addrs[i].n = 0;
        g_addr_used--;
    }
    pthread_mutex_unlock(&g_addr_lock);
}

static void addr_refused(req_t *r)
{
    problem_t p;
    problem_init(&p);
    problem_fail(&p, PROBLEM_RATE_LIMITED,
                 "This address has %d requests waiting or running; wait for their answers.",
                 http_config->per_ip_requests);
    p.retry_after = 1;
    http_reply_problem(r, &p);
}

/* Has the client closed its connection (or reset it)? A suspended
 * connection is not watched by libmicrohttpd, so its socket is asked. A
 * client that only shut down its sending side counts as gone too, as in
 * most servers: it could not be told apart from one that left. */
static bool client_gone(const req_t *r)
{
    if (r->client_fd < 0) return false;
    char c;
    ssize_t n = recv(r->client_fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR);
}

/* The pools are done with r: answer it (resume the connection). */
static void job_done(req_t *r)
{
    addr_give(r);
    r->resumed = true;
    atomic_fetch_sub(&g_suspended, 1);
    MHD_resume_connection(r->src_ctx);
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
        p->queued--;
        pthread_mutex_unlock(&p->lock);

        if (client_gone(r)) {
            /* nobody to answer: the work is not done (a claimed
             * Idempotency-Key is released by the answer's finish) */
            atomic_fetch_add(&p->dropped, 1);
            r->deferred = NULL;
            r->abandoned = true;
            http_fail(r, PROBLEM_CLIENT_GONE, NULL);
            pipeline_finish(r);
            job_done(r);
            continue;
        }
        handler_fn fn = r->deferred;
        r->deferred = NULL;
        if (p == &g_read_pool) replica_route_read(r);
        fn(r);
        if (p == &g_read_pool) replica_read_done();
        else if (!r->deferred) replica_after_write(r);
        atomic_fetch_add(&p->done, 1);
        /* a change that needs a password hashed goes on to the hash pool */
        if (r->deferred) {
            pool_t *next = pool_for(r->deferred_work);
            if (pool_reserve(next)) {
                pool_put(next, r);
                continue;
            }
            r->deferred = NULL;
            pool_busy(r, next);
        }
        if (!r->responded) http_fail(r, PROBLEM_INTERNAL, NULL);
        pipeline_finish(r); /* here, not on the libmicrohttpd thread */
        job_done(r);
    }
    db_thread_close();
    return NULL;
}

static void pool_start(pool_t *p, int n, int depth_per_worker)
{
    p->stop = false;
    p->queued = 0;
    p->depth = n * depth_per_worker;
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
    pool_stop(&g_read_pool);
    pool_stop(&g_write_pool); /* before the hash pool: its jobs may hand on to it */
    pool_stop(&g_hash_pool);
    free(g_addrs);
    g_addrs = NULL;
    g_addr_cap = g_addr_used = 0;
}

static int pools_start(const config_t *cfg, int threads)
{
    /* Each Argon2id hash takes a core and its memlimit: by default use half
     * the cores, so hashing never starves the threads serving reads. */
    pool_start(&g_hash_pool, cfg->hash_workers > 0 ? cfg->hash_workers : (threads > 1 ? threads / 2 : 1),
               cfg->queue_depth);
    /* WRITE_WORKERS=0, READ_WORKERS=0: on the libmicrohttpd threads */
    if (cfg->write_workers > 0) pool_start(&g_write_pool, cfg->write_workers, cfg->queue_depth);
    if (cfg->read_workers > 0) pool_start(&g_read_pool, cfg->read_workers, cfg->queue_depth);
    if (cfg->per_ip_requests > 0) {
        size_t most = (size_t)(g_hash_pool.depth + g_hash_pool.n + g_write_pool.depth +
                               g_write_pool.n + g_read_pool.depth + g_read_pool.n + threads);
        g_addr_cap = 64;
        while (g_addr_cap < 2 * most + 2) g_addr_cap *= 2;
        g_addrs = calloc(g_addr_cap, sizeof *g_addrs);
        if (!g_addrs) return -PROBLEM_INTERNAL;
    }
    return 0;
}

/* Hand r's deferred work to its pool, on the libmicrohttpd thread: the
 * connection is suspended, or r is answered at once (429, 503). */
static bool to_pool(struct MHD_Connection *conn, req_t *r)
{
    pool_t *p = pool_for(r->deferred_work);
    http_client_address(r, r->client_addr, sizeof r->client_addr);
    if (!addr_take(r)) {
        r->deferred = NULL;
        addr_refused(r);
        return false;
    }
    if (!pool_reserve(p)) {
        addr_give(r);
        r->deferred = NULL;
        pool_busy(r, p);
        return false;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    r->client_fd = ci ? ci->connect_fd : -1;
    r->suspended = true;
    atomic_fetch_add(&g_suspended, 1);
    MHD_suspend_connection(conn);
    pool_put(p, r);
    return true;
}

long daemon_in_flight(void) { return atomic_load(&g_in_flight); }
long daemon_suspended(void) { return atomic_load(&g_suspended); }

/* ---------- the request's source: the connection ---------- */

static const char *mhd_value(const req_t *r, req_value_kind_t kind, const char *key)
{
    const char *value = NULL;
    if (!key || g_mhd_lookup(r->src_ctx, kind == REQ_HEADER ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
                             key, strlen(key), &value, NULL) != MHD_YES)
        return NULL;
    return value;
}

typedef struct each_value {
    void (*fn)(void *cls, const char *key, const char *value);
    void *cls;
} each_value_t;

static enum MHD_Result mhd_value_cb(void *cls, enum MHD_ValueKind kind, const char *key,
                                    const char *value)
{
    (void)kind;
    each_value_t *e = cls;
    e->fn(e->cls, key, value);
    return MHD_YES;
}

static void mhd_each(const req_t *r, req_value_kind_t kind,
                     void (*fn)(void *cls, const char *key, const char *value), void *cls)
{
    each_value_t e = {fn, cls};
    MHD_get_connection_values(r->src_ctx, kind == REQ_HEADER ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
                              mhd_value_cb, &e);
}

static void mhd_peer(const req_t *r, char *buf, size_t cap)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->src_ctx, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (!ci || !ci->client_addr) return;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET)
        inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
                  (socklen_t)cap);
    else if (sa->sa_family == AF_INET6)
        inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
                  (socklen_t)cap);
}

static const req_source_t k_mhd_source = {mhd_value, mhd_each, mhd_peer};

/* ---------- the request head's deadline (HEADER_TIMEOUT) ----------
 * libmicrohttpd times out a connection only when it is idle, so a client
 * that trickles header lines, each within CONNECTION_TIMEOUT, holds its
 * connection for ever. Every connection is watched: its request head (the
 * request line and the headers) must be complete within HEADER_TIMEOUT of
 * the connection's start, or of the request line when it follows an
 * answered request (the idle wait before it is CONNECTION_TIMEOUT's); when
 * the deadline passes, a watchdog thread shuts the socket down and
 * libmicrohttpd closes the connection. PER_IP_CONNECTIONS keeps the rest
 * of MAX_CONNECTIONS for other addresses meanwhile. */

typedef struct conn_watch {
    struct conn_watch *prev, *next;
    int fd;
    atomic_llong deadline_ms; /* the head must be complete by then; 0 while it is served */
    atomic_bool idle;         /* between requests: the next request line starts the clock */
} conn_watch_t;

static pthread_mutex_t g_watch_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_watch_cond = PTHREAD_COND_INITIALIZER;
static conn_watch_t *g_watched;
static bool g_watch_stop;
static pthread_t g_watchdog;
static bool g_watchdog_started;
static atomic_ulong g_head_timeouts;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static conn_watch_t *watch_of(struct MHD_Connection *conn)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        conn_watch_t *w = calloc(1, sizeof *w);
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!w || !ci) {
            free(w);
            return;
        }
        w->fd = ci->connect_fd;
        atomic_store(&w->deadline_ms, now_ms() + 1000LL * http_config->header_timeout_s);
        pthread_mutex_lock(&g_watch_lock);
        w->next = g_watched;
        if (g_watched) g_watched->prev = w;
        g_watched = w;
        pthread_mutex_unlock(&g_watch_lock);
        *socket_context = w;
        return;
    }
    conn_watch_t *w = *socket_context;
    if (!w) return;
    /* before libmicrohttpd closes the socket: the watchdog never shuts a
     * descriptor that may have been reused */
    pthread_mutex_lock(&g_watch_lock);
    if (w->prev) w->prev->next = w->next;
    else g_watched = w->next;
    if (w->next) w->next->prev = w->prev;
    pthread_mutex_unlock(&g_watch_lock);
    free(w);
    *socket_context = NULL;
}

/* libmicrohttpd (0.9.75) keeps every query parameter in the connection's
 * memory pool (MHD_OPTION_CONNECTION_MEMORY_LIMIT); a query of some
 * thousand parameters fills it, and the library then answers nothing and
 * leaves the connection hanging. No route reads more than a few, so a query
 * with more than this many is emptied before the library parses it (the
 * request line is still in its read buffer, which this callback may write:
 * the library looks for the '?' before calling it and parses after) and the
 * request is answered 414. */
#define MAX_QUERY_PARAMETERS 500
static char k_query_overflow; /* *con_cls until the request exists */

/* The request line has arrived (libmicrohttpd calls this before the headers). */
static void *on_request_line(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    conn_watch_t *w = watch_of(conn);
    if (w && atomic_exchange(&w->idle, false))
        atomic_store(&w->deadline_ms, now_ms() + 1000LL * http_config->header_timeout_s);
    char *query = strchr(uri, '?');
    if (query) {
        size_t n = 1;
        for (const char *c = query; *c; c++) n += *c == '&';
        if (n > MAX_QUERY_PARAMETERS) {
            query[1] = '\0';
            return &k_query_overflow;
        }
    }
    return NULL; /* the access handler's first call makes the request */
}

static void *watchdog_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g_watch_lock);
    while (!g_watch_stop) {
        long long now = now_ms();
        for (conn_watch_t *w = g_watched; w; w = w->next) {
            long long d = atomic_load(&w->deadline_ms);
            if (d && now >= d && atomic_compare_exchange_strong(&w->deadline_ms, &d, 0)) {
                shutdown(w->fd, SHUT_RDWR);
                atomic_fetch_add(&g_head_timeouts, 1);
            }
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 200 * 1000 * 1000;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&g_watch_cond, &g_watch_lock, &until);
    }
    pthread_mutex_unlock(&g_watch_lock);
    return NULL;
}

static void watchdog_stop(void)
{
    if (!g_watchdog_started) return;
    pthread_mutex_lock(&g_watch_lock);
    g_watch_stop = true;
    pthread_cond_signal(&g_watch_cond);
    pthread_mutex_unlock(&g_watch_lock);
    pthread_join(g_watchdog, NULL);
    g_watchdog_started = false;
}

/* ---------- the access handler ---------- */

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

static enum MHD_Result queue(req_t *r)
{
    pipeline_finish(r);
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
    add_common_headers(resp);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    if (http_config->cors_origins[0]) {
        MHD_add_response_header(resp, "Vary", "Origin");
        const char *origin = pipeline_cors_origin(r);
        if (origin) {
            MHD_add_response_header(resp, "Access-Control-Allow-Origin", origin);
            MHD_add_response_header(resp, "Access-Control-Allow-Credentials", "true");
            MHD_add_response_header(resp, "Access-Control-Expose-Headers",
                                    "ETag, Location, Retry-After, X-Request-Id, Idempotent-Replayed");
        }
    }
    if (r->content_type && strncmp(r->content_type, "application/", 12) == 0 &&
        !http_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    enum MHD_Result ret = g_mhd_queue(r->src_ctx, (unsigned)r->status, resp);
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
    bool query_overflow = r == (void *)&k_query_overflow;
    if (query_overflow) r = NULL;
    if (!r) {
        r = malloc(sizeof *r);
        if (!r) return MHD_NO;
        http_req_init(r, &k_mhd_source, conn, method, url);
        clock_gettime(CLOCK_MONOTONIC, &r->started);
        conn_watch_t *w = watch_of(conn);
        if (w) atomic_store(&w->deadline_ms, 0); /* the head is in */
        set_request_id(r);
        const char *cl = http_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl && strtoull(cl, NULL, 10) > http_config->body_limit) r->body_too_large = true;
        atomic_fetch_add(&g_in_flight, 1);
        *con_cls = r;
        if (query_overflow) {
            http_add_header(r, "Connection", "close");
            http_fail(r, PROBLEM_URI_TOO_LONG, "The query has more than %d parameters.", MAX_QUERY_PARAMETERS);
            return queue(r);
        }
        /* an ambiguous length: answered before any body is read, then closed */
        if (pipeline_head(r)) return queue(r);
        return MHD_YES;
    }
    if (*upload_data_size) {
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->body_too_large) return MHD_YES;
        if (r->body.len + n > http_config->body_limit) {
            r->body_too_large = true;
            strbuf_release(&r->body);
            return MHD_YES;
        }
        strbuf_add(&r->body, upload_data, n);
        return r->body.failed ? MHD_NO : MHD_YES;
    }
    if (r->resumed) return r->abandoned ? MHD_NO : queue(r); /* MHD_NO: close */
    if (r->suspended) return MHD_YES; /* spurious call while waiting */
    pipeline_dispatch(r);
    if (r->deferred && r->deferred_work != WORK_HASH && pool_for(r->deferred_work)->n == 0) {
        /* WRITE_WORKERS=0, READ_WORKERS=0: on the libmicrohttpd threads */
        handler_fn fn = r->deferred;
        r->deferred = NULL;
        fn(r);
    }
    if (r->deferred && to_pool(conn, r)) return MHD_YES;
    if (!r->responded) http_fail(r, PROBLEM_INTERNAL, NULL);
    return queue(r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    req_t *r = *con_cls;
    if (!r || r == (void *)&k_query_overflow) { /* ended before its request was made */
        *con_cls = NULL;
        return;
    }
    *con_cls = NULL;
    conn_watch_t *w = watch_of(conn);
    if (w) {
        /* idle until the next request line; CONNECTION_TIMEOUT closes an
         * idle connection, this only a trickled request line */
        atomic_store(&w->idle, true);
        atomic_store(&w->deadline_ms, now_ms() + 1000LL * (http_config->connection_timeout_s +
                                                           http_config->header_timeout_s));
    }
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
        bool secret_path =
            r->match.route && route_spec(r->match.route)->access == ACCESS_FEED_TOKEN;
        json_t *path = json_string(secret_path ? r->match.route->pattern : r->url);
        json_object_set_new(o, "path", path ? path : json_string("(invalid utf-8)"));
        json_object_set_new(o, "status", json_integer(status));
        json_object_set_new(o, "duration_ms", json_real(secs * 1000.0));
        json_object_set_new(o, "request_id", json_string(r->request_id));
        if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK)
            json_object_set_new(o, "terminated", json_integer((json_int_t)toe));
        log_json(status >= 500 ? "error" : "info", o);
    }
    http_req_clear(r);
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

int daemon_start(const config_t *cfg, const route_t *routes, size_t nroutes)
{
    if (library_functions() < 0) return -PROBLEM_INTERNAL;
    if (pipeline_configure(cfg, routes, nroutes) != 0) return -PROBLEM_INTERNAL;
    int threads = cfg->threads > 0 ? cfg->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
    if (threads < 1) threads = 1;
    struct sockaddr_in addr;
    memset(&addr, 0, sizeof addr);
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)cfg->port);
    if (inet_pton(AF_INET, cfg->listen_address, &addr.sin_addr) != 1) {
        log_event("error", "bad_listen_address", cfg->listen_address);
        pipeline_shutdown();
        return -PROBLEM_INTERNAL;
    }
    if (pools_start(cfg, threads) != 0) {
        pools_stop();
        pipeline_shutdown();
        return -PROBLEM_INTERNAL;
    }
    g_watch_stop = false;
    g_watchdog_started = pthread_create(&g_watchdog, NULL, watchdog_main, NULL) == 0;
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
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, on_request_line, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, on_unescape, NULL,
        MHD_OPTION_END);
    if (!g_daemon) {
        watchdog_stop();
        pools_stop();
        pipeline_shutdown();
        return -PROBLEM_INTERNAL;
    }
    return 0;
}

void daemon_stop(int grace_s)
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
    watchdog_stop();
    pipeline_shutdown();
}

/* The pools and the request heads, in the Prometheus text format. */
void daemon_metrics(strbuf_t *b)
{
    const pool_t *pools[] = {&g_read_pool, &g_write_pool, &g_hash_pool};
    static const char *const heads[][3] = {
        {"pool_workers", "gauge", "Worker threads of each pool."},
        {"pool_queued", "gauge", "Requests waiting for a worker of each pool."},
        {"pool_queue_depth", "gauge", "The most requests that may wait (QUEUE_DEPTH per worker)."},
        {"pool_done_total", "counter", "Requests each pool ran."},
        {"pool_refused_total", "counter", "Requests answered 503 because the queue was full."},
        {"pool_dropped_total", "counter", "Requests dropped because the client left before they ran."},
    };
    for (size_t m = 0; m < sizeof heads / sizeof heads[0]; m++) {
        strbuf_addf(b, "# HELP %s %s\n# TYPE %s %s\n", heads[m][0], heads[m][2], heads[m][0],
                    heads[m][1]);
        for (size_t i = 0; i < 3; i++) {
            const pool_t *p = pools[i];
            unsigned long v = m == 0 ? (unsigned long)p->n
                            : m == 1 ? (unsigned long)p->queued
                            : m == 2 ? (unsigned long)p->depth
                            : m == 3 ? atomic_load(&p->done)
                            : m == 4 ? atomic_load(&p->refused)
                                     : atomic_load(&p->dropped);
            strbuf_addf(b, "%s{pool=\"%s\"} %lu\n", heads[m][0], p->name, v);
        }
    }
    strbuf_addf(b,
        "# HELP pool_address_refused_total Requests answered 429: their address had PER_IP_REQUESTS in the pools.\n"
        "# TYPE pool_address_refused_total counter\npool_address_refused_total %lu\n"
        "# HELP http_head_timeouts_total Connections closed because the request head missed HEADER_TIMEOUT.\n"
        "# TYPE http_head_timeouts_total counter\nhttp_head_timeouts_total %lu\n"
        "# HELP http_library_answers_total Requests libmicrohttpd refused itself (answered as problem+json).\n"
        "# TYPE http_library_answers_total counter\nhttp_library_answers_total %lu\n",
        atomic_load(&g_addr_refused), atomic_load(&g_head_timeouts), atomic_load(&g_library_answers));
}
