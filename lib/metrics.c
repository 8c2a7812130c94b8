/* metrics: counters by (route, method, status) and per-route histograms. */
#include "metrics.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const k_methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OTHER"};
#define N_METHODS 7
static const int k_statuses[] = {200, 201, 204, 304, 400, 401, 403, 404, 405, 409, 412,
                                 413, 415, 422, 428, 429, 500, 503, 0};
#define N_STATUSES 19
static const double k_buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                   0.1,    0.25,  0.5,    1.0,   2.5,  5.0};
#define N_BUCKETS 13

static const char *g_route_names[METRICS_MAX_ROUTES];
static atomic_ulong g_count[METRICS_MAX_ROUTES][N_METHODS][N_STATUSES];
static atomic_ulong g_hist[METRICS_MAX_ROUTES][N_BUCKETS + 1];
static atomic_ulong g_sum_us[METRICS_MAX_ROUTES];

void metrics_set_route_name(int id, const char *name)
{
    if (id >= 0 && id < METRICS_MAX_ROUTES) g_route_names[id] = name;
}

static int method_index(const char *m)
{
    for (int i = 0; i < N_METHODS - 1; i++)
        if (strcmp(k_methods[i], m) == 0) return i;
    return N_METHODS - 1;
}

static int status_index(int s)
{
    for (int i = 0; i < N_STATUSES - 1; i++)
        if (k_statuses[i] == s) return i;
    return N_STATUSES - 1;
}

void metrics_observe(int route_id, const char *method, int status, double seconds)
{
    if (route_id < 0 || route_id >= METRICS_MAX_ROUTES) route_id = 0;
    atomic_fetch_add_explicit(&g_count[route_id][method_index(method)][status_index(status)], 1,
                              memory_order_relaxed);
    int b = 0;
    while (b < N_BUCKETS && seconds > k_buckets[b]) b++;
    atomic_fetch_add_explicit(&g_hist[route_id][b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&g_sum_us[route_id], (unsigned long)(seconds * 1e6),
                              memory_order_relaxed);
}

void metrics_render(strbuf_t *b, long db_open, long db_reconnects, long db_errors, long in_flight,
                    long suspended)
{
    strbuf_reserve(b, 16384);
    strbuf_addf(b, "# HELP http_requests_total Requests answered, by route, method and status.\n"
                "# TYPE http_requests_total counter\n");
    for (int r = 0; r < METRICS_MAX_ROUTES; r++) {
        const char *name = g_route_names[r] ? g_route_names[r] : (r == 0 ? "other" : NULL);
        if (!name) continue;
        for (int m = 0; m < N_METHODS; m++)
            for (int s = 0; s < N_STATUSES; s++) {
                unsigned long c = atomic_load_explicit(&g_count[r][m][s], memory_order_relaxed);
                if (!c) continue;
                if (k_statuses[s])
                    strbuf_addf(b, "http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %lu\n",
                            name, k_methods[m], k_statuses[s], c);
                else
                    strbuf_addf(b, "http_requests_total{route=\"%s\",method=\"%s\",status=\"other\"} %lu\n",
                            name, k_methods[m], c);
            }
    }
    strbuf_addf(b, "# HELP http_request_duration_seconds Time from first byte to response queued.\n"
                "# TYPE http_request_duration_seconds histogram\n");
    for (int r = 0; r < METRICS_MAX_ROUTES; r++) {
        const char *name = g_route_names[r] ? g_route_names[r] : (r == 0 ? "other" : NULL);
        if (!name) continue;
        unsigned long cum = 0;
        unsigned long total = 0;
        for (int i = 0; i <= N_BUCKETS; i++) total += atomic_load(&g_hist[r][i]);
        if (!total) continue;
        for (int i = 0; i < N_BUCKETS; i++) {
            cum += atomic_load(&g_hist[r][i]);
            strbuf_addf(b, "http_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %lu\n", name,
                    k_buckets[i], cum);
        }
        strbuf_addf(b, "http_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %lu\n", name, total);
        strbuf_addf(b, "http_request_duration_seconds_sum{route=\"%s\"} %.6f\n", name,
                (double)atomic_load(&g_sum_us[r]) / 1e6);
        strbuf_addf(b, "http_request_duration_seconds_count{route=\"%s\"} %lu\n", name, total);
    }
    strbuf_addf(b,
            "# HELP db_connections_open PostgreSQL connections held by worker threads.\n"
            "# TYPE db_connections_open gauge\ndb_connections_open %ld\n"
            "# HELP db_connects_total Connections opened, including reconnects.\n"
            "# TYPE db_connects_total counter\ndb_connects_total %ld\n"
            "# HELP db_errors_total Statements that failed.\n"
            "# TYPE db_errors_total counter\ndb_errors_total %ld\n"
            "# HELP http_requests_in_flight Requests being processed.\n"
            "# TYPE http_requests_in_flight gauge\nhttp_requests_in_flight %ld\n"
            "# HELP http_requests_suspended Requests waiting for or running on a worker pool.\n"
            "# TYPE http_requests_suspended gauge\nhttp_requests_suspended %ld\n",
            db_open, db_reconnects, db_errors, in_flight, suspended);
}
