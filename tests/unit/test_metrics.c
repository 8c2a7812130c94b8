/* Unit tests for lib/metrics: what /metrics shows after observations made
 * here: counters by route, method and status, the latency histogram
 * (cumulative buckets, +Inf, sum, count) and the gauges, in the Prometheus
 * text format. The counters are process-wide, so each test uses its own
 * routes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "metrics.h"

/* The metrics text as /metrics gets it (appended to a buffer), malloc'd. */
static char *render(long db_open, long db_reconnects, long db_errors, long in_flight,
                    long suspended)
{
    strbuf_t b = STRBUF_INIT;
    metrics_render(&b, db_open, db_reconnects, db_errors, in_flight, suspended);
    char *t = strbuf_detach(&b, NULL);
    assert_non_null(t);
    return t;
}

/* The value of the sample whose name and labels are exactly series (the
 * text before the space), or NULL when the text has no such line. */
static const char *sample(const char *text, const char *series, char *out, size_t cap)
{
    size_t n = strlen(series);
    for (const char *line = text; *line;) {
        const char *end = strchr(line, '\n');
        assert_non_null(end); /* every line ends with a newline */
        if ((size_t)(end - line) > n && strncmp(line, series, n) == 0 && line[n] == ' ') {
            snprintf(out, cap, "%.*s", (int)(end - line - n - 1), line + n + 1);
            return out;
        }
        line = end + 1;
    }
    return NULL;
}

static void assert_sample(const char *text, const char *series, const char *want)
{
    char v[64];
    const char *got = sample(text, series, v, sizeof v);
    if (!got) print_error("no sample %s in:\n%s", series, text);
    assert_non_null(got);
    assert_string_equal(got, want);
}

static void assert_no_sample(const char *text, const char *series)
{
    char v[64];
    assert_null(sample(text, series, v, sizeof v));
}

static void counts_by_route_method_and_status(void **state)
{
    (void)state;
    metrics_set_route_name(1, "engagements_list");
    metrics_set_route_name(2, "agreement_create");
    metrics_set_route_name(3, "never_called");
    metrics_observe(1, "GET", 200, 0.001);
    metrics_observe(1, "GET", 200, 0.001);
    metrics_observe(1, "GET", 304, 0.001);
    metrics_observe(1, "HEAD", 200, 0.001);
    metrics_observe(2, "POST", 201, 0.001);
    metrics_observe(2, "POST", 422, 0.001);
    metrics_observe(2, "POST", 422, 0.001);
    metrics_observe(2, "POST", 422, 0.001);
    metrics_observe(2, "PATCH", 418, 0.001);   /* a status outside the list */
    metrics_observe(2, "OPTIONS", 200, 0.001); /* a method outside the list */
    char *t = render(0, 0, 0, 0, 0);
    assert_non_null(t);
    assert_non_null(strstr(t, "# TYPE http_requests_total counter\n"));
    assert_sample(t, "http_requests_total{route=\"engagements_list\",method=\"GET\",status=\"200\"}", "2");
    assert_sample(t, "http_requests_total{route=\"engagements_list\",method=\"GET\",status=\"304\"}", "1");
    assert_sample(t, "http_requests_total{route=\"engagements_list\",method=\"HEAD\",status=\"200\"}", "1");
    assert_sample(t, "http_requests_total{route=\"agreement_create\",method=\"POST\",status=\"201\"}", "1");
    assert_sample(t, "http_requests_total{route=\"agreement_create\",method=\"POST\",status=\"422\"}", "3");
    assert_sample(t, "http_requests_total{route=\"agreement_create\",method=\"PATCH\",status=\"other\"}", "1");
    assert_sample(t, "http_requests_total{route=\"agreement_create\",method=\"OTHER\",status=\"200\"}", "1");
    /* combinations never observed are not rendered as zeros */
    assert_no_sample(t, "http_requests_total{route=\"engagements_list\",method=\"POST\",status=\"200\"}");
    assert_no_sample(t, "http_requests_total{route=\"agreement_create\",method=\"GET\",status=\"200\"}");
    assert_null(strstr(t, "never_called"));
    free(t);
}

/* Route ids outside the table count under "other" (id 0), which needs no name. */
static void unknown_routes_count_as_other(void **state)
{
    (void)state;
    metrics_observe(-1, "DELETE", 404, 0.001);
    metrics_observe(METRICS_MAX_ROUTES, "DELETE", 404, 0.001);
    metrics_observe(0, "DELETE", 404, 0.001);
    char *t = render(0, 0, 0, 0, 0);
    assert_sample(t, "http_requests_total{route=\"other\",method=\"DELETE\",status=\"404\"}", "3");
    assert_sample(t, "http_request_duration_seconds_count{route=\"other\"}", "3");
    free(t);
}

static void histogram_buckets_are_cumulative(void **state)
{
    (void)state;
    metrics_set_route_name(10, "feed");
    metrics_observe(10, "GET", 200, 0.0003); /* le 0.0005 */
    metrics_observe(10, "GET", 200, 0.0005); /* on the edge: le means <=, so le 0.0005 */
    metrics_observe(10, "GET", 200, 0.004);  /* le 0.005 */
    metrics_observe(10, "GET", 500, 0.25);   /* le 0.25, whatever the status */
    metrics_observe(10, "GET", 200, 7.0);    /* beyond the last bucket: only +Inf */
    char *t = render(0, 0, 0, 0, 0);
    assert_non_null(strstr(t, "# TYPE http_request_duration_seconds histogram\n"));
    static const struct {
        const char *le, *count;
    } want[] = {
        {"0.0005", "2"}, {"0.001", "2"}, {"0.0025", "2"}, {"0.005", "3"}, {"0.01", "3"},
        {"0.025", "3"},  {"0.05", "3"},  {"0.1", "3"},    {"0.25", "4"},  {"0.5", "4"},
        {"1", "4"},      {"2.5", "4"},   {"5", "4"},      {"+Inf", "5"},
    };
    const char *prev = t;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        char series[128];
        snprintf(series, sizeof series, "http_request_duration_seconds_bucket{route=\"feed\",le=\"%s\"}",
                 want[i].le);
        assert_sample(t, series, want[i].count);
        /* buckets come in increasing order of le, +Inf last */
        const char *at = strstr(t, series);
        assert_true(at > prev);
        prev = at;
    }
    assert_sample(t, "http_request_duration_seconds_sum{route=\"feed\"}", "7.254800");
    assert_sample(t, "http_request_duration_seconds_count{route=\"feed\"}", "5");
    free(t);
}

/* A named route with no requests has no histogram (no rows of zeros). */
static void idle_route_has_no_histogram(void **state)
{
    (void)state;
    metrics_set_route_name(11, "idle");
    char *t = render(0, 0, 0, 0, 0);
    assert_null(strstr(t, "route=\"idle\""));
    free(t);
}

static void gauges_show_the_given_values(void **state)
{
    (void)state;
    char *t = render(7, 12, 3, 5, 2);
    assert_non_null(strstr(t, "# TYPE db_connections_open gauge\n"));
    assert_non_null(strstr(t, "# TYPE db_connects_total counter\n"));
    assert_non_null(strstr(t, "# TYPE db_errors_total counter\n"));
    assert_non_null(strstr(t, "# TYPE http_requests_in_flight gauge\n"));
    assert_non_null(strstr(t, "# TYPE http_requests_suspended gauge\n"));
    assert_sample(t, "db_connections_open", "7");
    assert_sample(t, "db_connects_total", "12");
    assert_sample(t, "db_errors_total", "3");
    assert_sample(t, "http_requests_in_flight", "5");
    assert_sample(t, "http_requests_suspended", "2");
    free(t);
}

/* Every sample line is "name{labels} value" or "name value"; every comment
 * is HELP or TYPE; the text ends with a newline. */
static void every_line_is_prometheus_text(void **state)
{
    (void)state;
    metrics_set_route_name(20, "shape");
    metrics_observe(20, "GET", 200, 0.01);
    char *t = render(1, 1, 1, 1, 1);
    size_t len = strlen(t);
    assert_true(len > 0 && t[len - 1] == '\n');
    int samples = 0;
    for (char *line = t; *line;) {
        char *end = strchr(line, '\n');
        *end = '\0';
        if (line[0] == '#') {
            assert_true(strncmp(line, "# HELP ", 7) == 0 || strncmp(line, "# TYPE ", 7) == 0);
        } else {
            char *space = strrchr(line, ' ');
            assert_non_null(space);
            char *num_end;
            strtod(space + 1, &num_end);
            assert_true(num_end > space + 1 && *num_end == '\0');
            char *brace = strchr(line, '{');
            if (brace) assert_true(brace < space && space[-1] == '}');
            samples++;
        }
        line = end + 1;
    }
    assert_true(samples >= 5 + 1 + 14 + 2);
    free(t);
}

/* metrics_render appends: what the buffer held stays in front (handle_metrics
 * adds the match index's and the answer cache's blocks to the same buffer). */
static void render_appends_to_the_buffer(void **state)
{
    (void)state;
    strbuf_t b = STRBUF_INIT;
    strbuf_addstr(&b, "# before\n");
    metrics_render(&b, 4, 0, 0, 0, 0);
    strbuf_addstr(&b, "# after\n");
    char *t = strbuf_detach(&b, NULL);
    assert_non_null(t);
    assert_int_equal(strncmp(t, "# before\n# HELP ", 16), 0);
    assert_sample(t, "db_connections_open", "4");
    assert_string_equal(t + strlen(t) - 8, "# after\n");
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_by_route_method_and_status),
        cmocka_unit_test(unknown_routes_count_as_other),
        cmocka_unit_test(histogram_buckets_are_cumulative),
        cmocka_unit_test(idle_route_has_no_histogram),
        cmocka_unit_test(gauges_show_the_given_values),
        cmocka_unit_test(every_line_is_prometheus_text),
        cmocka_unit_test(render_appends_to_the_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
