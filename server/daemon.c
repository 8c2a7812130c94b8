/* daemon: the libmicrohttpd glue. Starts and stops the daemon, fills a
 * request from the connection (the two-step access handler: the first call
 * only sets up, the body comes in later calls, the answer is queued when it
 * is complete), runs the pipeline, moves changes and password hashing to
 * their worker pools with suspend/resume, sends the answer, logs and counts
 * each request. The only file that includes microhttpd.h. */
#include "daemon.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "query.h"
#include "route.h"

static struct MHD_Daemon *g_daemon;
static atomic_long g_in_flight;
static atomic_long g_suspended;

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

static pool_t *pool_for(http_work_t work)
{
    return work == WORK_HASH ? &g_hash_pool : &g_write_pool;
}

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
            pool_push(pool_for(r->deferred_work), r);
            continue;
        }
        if (!r->responded) http_error(r, 500, "internal", "Internal error", NULL);
        pipeline_finish(r); /* here, not on the libmicrohttpd thread */
        r->resumed = true;
        atomic_fetch_sub(&g_suspended, 1);
        MHD_resume_connection(r->src_ctx);
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

long daemon_in_flight(void) { return atomic_load(&g_in_flight); }
long daemon_suspended(void) { return atomic_load(&g_suspended); }

/* ---------- the request's source: the connection ---------- */

static const char *mhd_value(const req_t *r, req_value_kind_t kind, const char *key)
{
    return MHD_lookup_connection_value(r->src_ctx,
                                       kind == REQ_HEADER ? MHD_HEADER_KIND : MHD_GET_ARGUMENT_KIND,
                                       key);
}

typedef struct each_query {
    void (*fn)(void *cls, const char *key, const char *value);
    void *cls;
} each_query_t;

static enum MHD_Result mhd_query_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    (void)kind;
    each_query_t *e = cls;
    e->fn(e->cls, key, value);
    return MHD_YES;
}

static void mhd_each_query(const req_t *r, void (*fn)(void *cls, const char *key, const char *value),
                           void *cls)
{
    each_query_t e = {fn, cls};
    MHD_get_connection_values(r->src_ctx, MHD_GET_ARGUMENT_KIND, mhd_query_arg, &e);
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

static const req_source_t k_mhd_source = {mhd_value, mhd_each_query, mhd_peer};

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
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "Referrer-Policy", "strict-origin-when-cross-origin");
    MHD_add_response_header(resp, "Content-Security-Policy", k_csp);
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
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
    enum MHD_Result ret = MHD_queue_response(r->src_ctx, (unsigned)r->status, resp);
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
        r = malloc(sizeof *r);
        if (!r) return MHD_NO;
        http_req_init(r, &k_mhd_source, conn, method, url);
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
        if (r->body.len + n > http_config->body_limit) {
            r->body_too_large = true;
            strbuf_release(&r->body);
            return MHD_YES;
        }
        strbuf_add(&r->body, upload_data, n);
        return r->body.failed ? MHD_NO : MHD_YES;
    }
    if (r->resumed) return queue(r);
    if (r->suspended) return MHD_YES; /* spurious call while waiting */
    pipeline_dispatch(r);
    if (r->deferred && r->deferred_work == WORK_WRITE && g_write_pool.n == 0) {
        /* WRITE_WORKERS=0: changes run on the libmicrohttpd threads */
        handler_fn fn = r->deferred;
        r->deferred = NULL;
        fn(r);
    }
    if (r->deferred) {
        r->suspended = true;
        atomic_fetch_add(&g_suspended, 1);
        MHD_suspend_connection(conn);
        pool_push(pool_for(r->deferred_work), r);
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
    if (pipeline_configure(cfg, routes, nroutes) != 0) return -1;
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
        pipeline_shutdown();
        return -1;
    }
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
        pipeline_shutdown();
        return -1;
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
    pipeline_shutdown();
}
