/* Unit tests for server/pipeline.c over requests held in memory (no socket,
 * no database): what the route table declares is enforced before the
 * handler runs, in the order the API promises (401 before 404 or 415, CSRF
 * on cookie writes, 413, 428 before 400, body errors), the secret flag keeps
 * Idempotency-Key away, the table is checked, and http_etag_listed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "db.h"
#include "http.h"
#include "idem.h"
#include "pipeline.h"
#include "route.h"
#include "routes.h"
#include "session.h"

/* ---------- a request from memory ---------- */

#define MAX_VALUES 8

typedef struct mem {
    const char *headers[MAX_VALUES][2];
    const char *query[MAX_VALUES][2];
} mem_t;

static const char *mem_value(const req_t *r, req_value_kind_t kind, const char *key)
{
    const mem_t *m = r->src_ctx;
    for (int i = 0; i < MAX_VALUES; i++) {
        const char *const *kv = kind == REQ_HEADER ? m->headers[i] : m->query[i];
        if (!kv[0]) break;
        if (kind == REQ_HEADER ? strcasecmp(kv[0], key) == 0 : strcmp(kv[0], key) == 0)
            return kv[1];
    }
    return NULL;
}

static void mem_each(const req_t *r, req_value_kind_t kind,
                     void (*fn)(void *, const char *, const char *), void *cls)
{
    const mem_t *m = r->src_ctx;
    for (int i = 0; i < MAX_VALUES; i++) {
        const char *const *kv = kind == REQ_HEADER ? m->headers[i] : m->query[i];
        if (!kv[0]) break;
        fn(cls, kv[0], kv[1]);
    }
}

static void mem_peer(const req_t *r, char *buf, size_t cap)
{
    (void)r;
    snprintf(buf, cap, "192.0.2.7");
}

static const req_source_t k_mem = {mem_value, mem_each, mem_peer};

/* ---------- handlers that say they ran ---------- */

static int g_ran;
static json_t *g_body_seen;

static void handle_ok(req_t *r)
{
    g_ran++;
    json_t *body = http_take_body(r);
    if (body) {
        json_decref(g_body_seen);
        g_body_seen = body;
    }
    http_reply_json(r, strcmp(r->method, "POST") == 0 ? 201 : 200, json_pack("{s:b}", "ok", 1));
}

static void handle_etag(req_t *r)
{
    g_ran++;
    http_add_header(r, "ETag", "\"4\"");
    http_reply_json(r, 200, json_pack("{s:i}", "version", 4));
}

static void slow(req_t *r) { http_reply_empty(r, 204); }
static void handle_defers(req_t *r)
{
    g_ran++;
    http_defer(r, slow);
}

#define R(METHOD, PATTERN, HANDLER, ...) \
    {METHOD, PATTERN, &(const route_spec_t){.handler = HANDLER, __VA_ARGS__}, 0}

static route_t test_routes[] = {
    R("GET", "/api/v1/moderated", handle_ok, .access = ACCESS_INSTANCE,
      .instance_action = INSTANCE_MODERATE),
    R("GET", "/api/v1/me", handle_ok, .access = ACCESS_SESSION),
    R("POST", "/api/v1/things", handle_ok, .access = ACCESS_SESSION, .body = BODY_OBJECT,
      .work = WORK_WRITE),
    R("PUT", "/api/v1/list", handle_ok, .access = ACCESS_SESSION, .body = BODY_ARRAY,
      .body_shape = "a JSON array of {x}", .work = WORK_WRITE),
    R("PATCH", "/api/v1/open/{id}", handle_ok, .access = ACCESS_PUBLIC,
      .if_match = IF_MATCH_REQUIRED, .body = BODY_OBJECT, .work = WORK_WRITE),
    R("POST", "/api/v1/optional", handle_ok, .access = ACCESS_PUBLIC,
      .body = BODY_OBJECT_OPTIONAL, .work = WORK_WRITE),
    R("POST", "/api/v1/plain", handle_ok, .access = ACCESS_PUBLIC, .work = WORK_WRITE),
    R("POST", "/api/v1/secret", handle_ok, .access = ACCESS_PUBLIC, .secret = true,
      .work = WORK_WRITE),
    R("GET", "/api/v1/cached/{id}", handle_etag, .access = ACCESS_PUBLIC,
      .cache = ROUTE_CACHED_ITEM),
    R("POST", "/api/v1/defers", handle_defers, .access = ACCESS_PUBLIC, .work = WORK_WRITE),
    R("POST", "/api/v1/hashes", handle_defers, .access = ACCESS_PUBLIC, .work = WORK_HASH),
    R("GET", "/api/v1/list", handle_ok, .access = ACCESS_PUBLIC,
      .query = (const route_query_t[]){{"limit", "20", false}, {"q", NULL, true}, {NULL, NULL, false}}),
};
#define NROUTES (sizeof test_routes / sizeof test_routes[0])

static config_t g_cfg;

static int setup(void **state)
{
    (void)state;
    memset(&g_cfg, 0, sizeof g_cfg);
    g_cfg.body_limit = 65536;
    snprintf(g_cfg.static_dir, sizeof g_cfg.static_dir, "/nonexistent");
    g_cfg.session_ttl_days = 30;
    assert_int_equal(pipeline_configure(&g_cfg, test_routes, NROUTES), 0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    pipeline_shutdown();
    json_decref(g_body_seen);
    g_body_seen = NULL;
    return 0;
}

/* Serve r as the daemon does: the first part, then what it deferred (a
 * pool's work), then the finish. */
static void serve(req_t *r)
{
    g_ran = 0;
    if (pipeline_head(r)) {
        pipeline_finish(r);
        return;
    }
    pipeline_dispatch(r);
    if (r->deferred) {
        handler_fn fn = r->deferred;
        r->deferred = NULL;
        fn(r);
    }
    if (r->deferred) { /* the hash pool */
        handler_fn fn = r->deferred;
        r->deferred = NULL;
        fn(r);
    }
    assert_true(r->responded);
    pipeline_finish(r);
}

static req_t g_r;
static mem_t g_mem;

static req_t *request(const char *method, const char *url, const char *body)
{
    memset(&g_mem, 0, sizeof g_mem);
    http_req_init(&g_r, &k_mem, &g_mem, method, url);
    if (body) {
        strbuf_addstr(&g_r.body, body);
    }
    return &g_r;
}

static void header(const char *name, const char *value)
{
    int i = 0;
    while (g_mem.headers[i][0]) i++;
    g_mem.headers[i][0] = name;
    g_mem.headers[i][1] = value;
}

/* As if the session stage had found a signed-in caller. */
static void signed_in(bool via_cookie)
{
    g_r.caller.checked = true;
    g_r.caller.account_id = 7;
    snprintf(g_r.caller.account_id_text, sizeof g_r.caller.account_id_text, "7");
    snprintf(g_r.caller.csrf_token, sizeof g_r.caller.csrf_token, "c0ffee");
    g_r.caller.via_cookie = via_cookie;
}

static const char *problem_type(const req_t *r)
{
    static char type[64];
    json_t *j = json_loadb(r->resp_body, r->resp_len, 0, NULL);
    const char *t = json_string_value(json_object_get(j, "type"));
    const char *slash = t ? strrchr(t, '/') : NULL;
    snprintf(type, sizeof type, "%s", slash ? slash + 1 : t ? t : "");
    json_decref(j);
    return type;
}

static const char *problem_detail(const req_t *r)
{
    static char detail[256];
    json_t *j = json_loadb(r->resp_body, r->resp_len, 0, NULL);
    snprintf(detail, sizeof detail, "%s", json_string_value(json_object_get(j, "detail")));
    json_decref(j);
    return detail;
}

static void done(req_t *r) { http_req_clear(r); }

static void query(const char *name, const char *value)
{
    int i = 0;
    while (g_mem.query[i][0]) i++;
    g_mem.query[i][0] = name;
    g_mem.query[i][1] = value;
}

/* ---------- framing, query, the client's address ---------- */

static void ambiguous_length_is_400_and_closes(void **state)
{
    (void)state;
    static const char *const heads[][4] = {
        {"Content-Length", "2", "Transfer-Encoding", "chunked"},
        {"Content-Length", "0", "Content-Length", "5"},
        {"Content-Length", "2", "Content-Length", "2"},
        {"Content-Length", "abc", NULL, NULL},
        {"Transfer-Encoding", "gzip", NULL, NULL},
        {"Transfer-Encoding", "chunked", "Transfer-Encoding", "chunked"},
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        req_t *r = request("POST", "/api/v1/plain", "{}");
        header(heads[i][0], heads[i][1]);
        if (heads[i][2]) header(heads[i][2], heads[i][3]);
        serve(r);
        assert_int_equal(g_ran, 0);
        assert_int_equal(r->status, 400);
        assert_string_equal(http_response_header(r, "Connection"), "close");
        done(r);
    }
    req_t *r = request("POST", "/api/v1/plain", "{}");
    header("Content-Length", "99999999999999999999999");
    serve(r);
    assert_int_equal(r->status, 413);
    done(r);
    r = request("POST", "/api/v1/plain", "{}");
    header("Content-Length", "2");
    serve(r);
    assert_int_equal(r->status, 201);
    assert_null(http_response_header(r, "Connection"));
    done(r);
}

static void undeclared_query_parameters_are_400(void **state)
{
    (void)state;
    req_t *r = request("GET", "/api/v1/list", NULL);
    query("limit", "5");
    query("utm_source", "x");
    query("q", "a");
    query("q", "b");
    serve(r);
    assert_int_equal(g_ran, 0);
    assert_int_equal(r->status, 400);
    assert_string_equal(problem_type(r), "bad-query");
    json_t *j = json_loadb(r->resp_body, r->resp_len, 0, NULL);
    json_t *errors = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errors), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")), "utm_source");
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 1), "field")), "q");
    json_decref(j);
    done(r);
    r = request("GET", "/api/v1/list", NULL);
    query("q", "a");
    query("limit", "5");
    serve(r);
    assert_int_equal(r->status, 200);
    done(r);
    /* a route that declares none takes none */
    r = request("GET", "/api/v1/me", NULL);
    query("x", NULL);
    serve(r);
    assert_int_equal(r->status, 400);
    done(r);
}

static void forwarded_for_is_the_last_of_all_lines(void **state)
{
    (void)state;
    g_cfg.trusted_proxy[0] = '\0';
    snprintf(g_cfg.trusted_proxy, sizeof g_cfg.trusted_proxy, "192.0.2.7");
    char addr[64];
    req_t *r = request("GET", "/api/v1/me", NULL);
    header("X-Forwarded-For", "203.0.113.9");
    header("X-Forwarded-For", "10.0.0.1, 198.51.100.4");
    assert_string_equal(http_client_address(r, addr, sizeof addr), "198.51.100.4");
    done(r);
    r = request("GET", "/api/v1/me", NULL);
    header("X-Forwarded-For", "198.51.100.4");
    header("X-Forwarded-For", "not an address");
    assert_string_equal(http_client_address(r, addr, sizeof addr), "192.0.2.7");
    done(r);
    g_cfg.trusted_proxy[0] = '\0';
    r = request("GET", "/api/v1/me", NULL);
    header("X-Forwarded-For", "198.51.100.4");
    assert_string_equal(http_client_address(r, addr, sizeof addr), "192.0.2.7");
    done(r);
}

/* ---------- who may call ---------- */

static void anonymous_to_a_session_route_is_401(void **state)
{
    (void)state;
    req_t *r = request("GET", "/api/v1/me", NULL);
    serve(r);
    assert_int_equal(r->status, 401);
    assert_int_equal(g_ran, 0);
    assert_string_equal(problem_type(r), "unauthorised");
    assert_string_equal(http_response_header(r, "WWW-Authenticate"), "Bearer");
    done(r);

    /* before the body is even looked at: 401, not 415 */
    r = request("POST", "/api/v1/things", "not json");
    header("Content-Type", "text/plain");
    serve(r);
    assert_int_equal(r->status, 401);
    done(r);

    /* a malformed Authorization header is a 401 of its own */
    r = request("GET", "/api/v1/me", NULL);
    header("Authorization", "Basic abc");
    serve(r);
    assert_int_equal(r->status, 401);
    assert_int_equal(g_ran, 0);
    done(r);
}

static void signed_in_caller_reaches_the_handler(void **state)
{
    (void)state;
    req_t *r = request("GET", "/api/v1/me", NULL);
    signed_in(true); /* a cookie read needs no CSRF token */
    serve(r);
    assert_int_equal(r->status, 200);
    assert_int_equal(g_ran, 1);
    done(r);
}

static void cookie_write_without_csrf_is_403(void **state)
{
    (void)state;
    req_t *r = request("POST", "/api/v1/things", "{\"a\":1}");
    header("Content-Type", "application/json");
    signed_in(true);
    serve(r);
    assert_int_equal(r->status, 403);
    assert_string_equal(problem_type(r), "csrf");
    assert_int_equal(g_ran, 0);
    done(r);

    r = request("POST", "/api/v1/things", "{\"a\":1}");
    header("Content-Type", "application/json");
    header("X-CSRF-Token", "bad");
    signed_in(true);
    serve(r);
    assert_int_equal(r->status, 403);
    done(r);

    r = request("POST", "/api/v1/things", "{\"a\":1}");
    header("Content-Type", "application/json");
    header("X-CSRF-Token", "c0ffee");
    signed_in(true);
    serve(r);
    assert_int_equal(r->status, 201);
    assert_int_equal(g_ran, 1);
    done(r);

    /* a bearer token is not sent by browsers on their own: no CSRF token needed */
    r = request("POST", "/api/v1/things", "{\"a\":1}");
    header("Content-Type", "application/json");
    signed_in(false);
    serve(r);
    assert_int_equal(r->status, 201);
    done(r);
}

/* ---------- the body ---------- */

static void body_parse_errors(void **state)
{
    (void)state;
    struct {
        const char *url, *content_type, *body;
        int status;
        const char *detail_has;
    } cases[] = {
        {"/api/v1/things", NULL, "{\"a\":1}", 415, "application/json"},
        {"/api/v1/things", "text/plain", "{\"a\":1}", 415, "application/json"},
        {"/api/v1/things", "application/jsonx", "{\"a\":1}", 415, "application/json"},
        {"/api/v1/things", "application/json", "", 400, "empty"},
        {"/api/v1/things", "application/json", "{bad", 400, "not valid JSON"},
        {"/api/v1/things", "application/json", "{\"a\":1,\"a\":2}", 400, "not valid JSON"},
        {"/api/v1/things", "application/json", "[1]", 400, "a JSON object"},
        {"/api/v1/things", "application/json",
         "{\"a\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}", 400,
         "nested too deeply"},
        {"/api/v1/list", "application/json", "{\"a\":1}", 400, "a JSON array of {x}"},
        {"/api/v1/things", "Application/JSON; charset=utf-8", "{\"a\":1}", 201, NULL},
        {"/api/v1/list", "application/json", "[{\"x\":1}]", 201, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *method = strcmp(cases[i].url, "/api/v1/list") == 0 ? "PUT" : "POST";
        req_t *r = request(method, cases[i].url, cases[i].body);
        if (cases[i].content_type) header("Content-Type", cases[i].content_type);
        signed_in(false);
        serve(r);
        int want = cases[i].status == 201 && strcmp(method, "PUT") == 0 ? 200 : cases[i].status;
        if (r->status != want) fail_msg("case %zu: %d, want %d", i, r->status, want);
        if (cases[i].detail_has) {
            assert_string_equal(r->content_type, "application/problem+json");
            if (!strstr(problem_detail(r), cases[i].detail_has))
                fail_msg("case %zu: detail \"%s\"", i, problem_detail(r));
            assert_int_equal(g_ran, 0);
        } else {
            assert_int_equal(g_ran, 1);
            assert_non_null(g_body_seen);
        }
        done(r);
    }
}

static void optional_body_is_parsed_only_when_sent(void **state)
{
    (void)state;
    req_t *r = request("POST", "/api/v1/optional", NULL);
    json_decref(g_body_seen);
    g_body_seen = NULL;
    serve(r);
    assert_int_equal(r->status, 201);
    assert_null(g_body_seen);
    done(r);

    r = request("POST", "/api/v1/optional", "{\"note\":\"x\"}");
    header("Content-Type", "application/json");
    serve(r);
    assert_int_equal(r->status, 201);
    assert_string_equal(json_string_value(json_object_get(g_body_seen, "note")), "x");
    done(r);

    r = request("POST", "/api/v1/optional", "{");
    header("Content-Type", "application/json");
    serve(r);
    assert_int_equal(r->status, 400);
    done(r);
}

static void too_large_is_413_before_anything(void **state)
{
    (void)state;
    req_t *r = request("POST", "/api/v1/things", NULL);
    r->body_too_large = true;
    serve(r);
    assert_int_equal(r->status, 413);
    assert_string_equal(problem_type(r), "too-large");
    done(r);
}

static void if_match_before_the_body(void **state)
{
    (void)state;
    req_t *r = request("PATCH", "/api/v1/open/3", "{bad");
    header("Content-Type", "application/json");
    serve(r);
    assert_int_equal(r->status, 428);
    done(r);

    r = request("PATCH", "/api/v1/open/3", "{}");
    header("Content-Type", "application/json");
    header("If-Match", "\"abc\"");
    serve(r);
    assert_int_equal(r->status, 412);
    done(r);

    /* compared strongly (RFC 9110 section 13.1.1): a weak ETag never matches */
    r = request("PATCH", "/api/v1/open/3", "{}");
    header("Content-Type", "application/json");
    header("If-Match", "W/\"12\"");
    serve(r);
    assert_int_equal(r->status, 412);
    done(r);

    r = request("PATCH", "/api/v1/open/3", "{}");
    header("Content-Type", "application/json");
    header("If-Match", "\"12\"");
    serve(r);
    assert_int_equal(r->status, 200);
    assert_string_equal(r->if_match, "12");
    done(r);
}

/* ---------- route flags ---------- */

static void secret_route_skips_idempotency(void **state)
{
    (void)state;
    /* a bad key is refused where answers are stored for replay... */
    req_t *r = request("POST", "/api/v1/plain", NULL);
    header("Idempotency-Key", "has spaces in it");
    serve(r);
    assert_int_equal(r->status, 400);
    assert_string_equal(problem_type(r), "bad-header");
    assert_int_equal(g_ran, 0);
    done(r);

    /* ...and never looked at where the answer carries a secret */
    r = request("POST", "/api/v1/secret", NULL);
    header("Idempotency-Key", "has spaces in it");
    serve(r);
    assert_int_equal(r->status, 201);
    assert_int_equal(g_ran, 1);
    assert_false(r->idem_active);
    done(r);
}

static void cached_route_answers_if_none_match(void **state)
{
    (void)state;
    req_t *r = request("GET", "/api/v1/cached/4", NULL);
    header("If-None-Match", "W/\"4\"");
    serve(r);
    assert_int_equal(r->status, 304);
    assert_null(r->resp_body);
    done(r);

    r = request("GET", "/api/v1/cached/4", NULL);
    header("If-None-Match", "\"3\"");
    serve(r);
    assert_int_equal(r->status, 200);
    done(r);
}

static void only_hash_routes_may_defer(void **state)
{
    (void)state;
    req_t *r = request("POST", "/api/v1/defers", NULL);
    serve(r);
    assert_int_equal(r->status, 500);
    done(r);

    r = request("POST", "/api/v1/hashes", NULL);
    serve(r);
    assert_int_equal(r->status, 204);
    done(r);
}

static void unknown_paths_and_methods(void **state)
{
    (void)state;
    req_t *r = request("GET", "/api/v1/nothing", NULL);
    serve(r);
    assert_int_equal(r->status, 404);
    done(r);

    r = request("DELETE", "/api/v1/me", NULL);
    serve(r);
    assert_int_equal(r->status, 405);
    assert_string_equal(http_response_header(r, "Allow"), "GET, HEAD");
    done(r);
}

/* An INSTANCE route: 401 without a session; a signed-in caller is let
 * through only by the role lookup (lib/authz), which here has no database
 * to ask: the handler never runs and the answer is the lookup's 503. */
static void instance_route_needs_a_role(void **state)
{
    (void)state;
    req_t *r = request("GET", "/api/v1/moderated", NULL);
    serve(r);
    assert_int_equal(r->status, 401);
    assert_int_equal(g_ran, 0);
    done(r);

    r = request("GET", "/api/v1/moderated", NULL);
    signed_in(false);
    db_configure("postgresql://127.0.0.1:1/none?connect_timeout=1", 1000);
    serve(r);
    assert_int_equal(g_ran, 0);
    assert_int_equal(r->status, 503);
    done(r);
    db_thread_close();
}

/* ---------- the table ---------- */

static void table_check_refuses_inconsistent_routes(void **state)
{
    (void)state;
    problem_t err = {0};
    route_t bad_get[] = {R("GET", "/x", handle_ok, .access = ACCESS_PUBLIC, .work = WORK_WRITE)};
    assert_int_equal(pipeline_check_routes(bad_get, 1, &err), -PROBLEM_INTERNAL);
    route_t bad_write[] = {R("POST", "/x", handle_ok, .access = ACCESS_PUBLIC)};
    assert_int_equal(pipeline_check_routes(bad_write, 1, &err), -PROBLEM_INTERNAL);
    assert_non_null(strstr(err.detail, "POST /x"));
    route_t no_param[] = {R("GET", "/x", handle_ok, .access = ACCESS_ORGANISATION)};
    assert_int_equal(pipeline_check_routes(no_param, 1, &err), -PROBLEM_INTERNAL);
    route_t private_cache[] = {
        R("GET", "/x/{id}", handle_ok, .access = ACCESS_SESSION, .cache = ROUTE_CACHED_ITEM)};
    assert_int_equal(pipeline_check_routes(private_cache, 1, &err), -PROBLEM_INTERNAL);
    route_t no_shape[] = {
        R("PUT", "/x", handle_ok, .access = ACCESS_SESSION, .body = BODY_ARRAY, .work = WORK_WRITE)};
    assert_int_equal(pipeline_check_routes(no_shape, 1, &err), -PROBLEM_INTERNAL);
    route_t good[] = {R("GET", "/x/{id}", handle_ok, .access = ACCESS_AGREEMENT)};
    assert_int_equal(pipeline_check_routes(good, 1, &err), 0);
}

static void the_daemons_table_is_consistent(void **state)
{
    (void)state;
    problem_t err = {0};
    if (pipeline_check_routes(routes, routes_count, &err) != 0) fail_msg("%s", err.detail);
    /* every route says who may call it, and no write is public but the
     * sign-up, sign-in and what a mailed link or an address may do
     * anonymously (confirm an email, ask for and complete a password reset,
     * unsubscribe, see what an invitation link invites to) */
    static const char *const public_writes[] = {
        "/api/v1/accounts", "/api/v1/sessions", "/api/v1/email-verifications",
        "/api/v1/password-resets", "/api/v1/password-resets/complete", "/api/v1/unsubscribe",
        "/api/v1/invitations/preview", NULL};
    for (size_t i = 0; i < routes_count; i++) {
        const route_spec_t *s = route_spec(&routes[i]);
        bool allowed = false;
        for (const char *const *w = public_writes; *w; w++)
            if (strcmp(routes[i].pattern, *w) == 0) allowed = true;
        if (s->access == ACCESS_PUBLIC && strcmp(routes[i].method, "GET") != 0 && !allowed)
            fail_msg("%s %s changes something and is public", routes[i].method, routes[i].pattern);
        /* moderation and administration are instance roles' (lib/authz) */
        if (strncmp(routes[i].pattern, "/api/v1/moderation/", 19) == 0 &&
            s->access != ACCESS_INSTANCE)
            fail_msg("%s %s is not declared INSTANCE(...)", routes[i].method, routes[i].pattern);
    }
}

/* ---------- the return convention of what may answer ---------- */

/* Readers of the request, gates and stages return 0 to go on and a negative
 * value when they answered: the problem's -code, HTTP_ANSWERED for an
 * answer that is no problem (docs/architecture.md). */
static void gates_return_0_or_the_negative_code_they_answered(void **state)
{
    (void)state;
    assert_true(HTTP_ANSWERED < 0);
    assert_null(problem_kind((problem_code_t)-HTTP_ANSWERED));

    req_t *r = request("GET", "/api/v1/open/7", NULL);
    r->match.nparams = 1;
    snprintf(r->match.params[0], sizeof r->match.params[0], "7");
    long long id = 0;
    char text[24];
    assert_int_equal(http_param_id(r, 0, &id, text, sizeof text), 0);
    assert_int_equal(id, 7);
    assert_string_equal(text, "7");
    assert_false(r->responded);
    snprintf(r->match.params[0], sizeof r->match.params[0], "007");
    assert_int_equal(http_param_id(r, 0, &id, text, sizeof text), -PROBLEM_NO_SUCH_ITEM);
    assert_int_equal(r->status, 404);
    assert_string_equal(problem_type(r), "no-such-item");
    http_req_clear(r);

    int limit = 0;
    r = request("GET", "/api/v1/list", NULL);
    assert_int_equal(http_query_limit(r, &limit), 0);
    assert_int_equal(limit, 20);
    g_mem.query[0][0] = "limit";
    g_mem.query[0][1] = "50";
    assert_int_equal(http_query_limit(r, &limit), 0);
    assert_int_equal(limit, 50);
    assert_false(r->responded);
    g_mem.query[0][1] = "0";
    assert_int_equal(http_query_limit(r, &limit), -PROBLEM_BAD_QUERY);
    assert_int_equal(limit, 20);
    assert_int_equal(r->status, 400);
    http_req_clear(r);

    /* no credentials: the session gate answers 401 */
    r = request("GET", "/api/v1/me", NULL);
    assert_int_equal(session_resolve(r), 0);
    assert_int_equal(session_require(r), -PROBLEM_UNAUTHORISED);
    assert_int_equal(r->status, 401);
    http_req_clear(r);
    r = request("GET", "/api/v1/me", NULL);
    header("Authorization", "Basic eA==");
    assert_int_equal(session_resolve(r), -PROBLEM_UNAUTHORISED);
    http_req_clear(r);

    /* CSRF: a cookie write needs the token; a read does not */
    r = request("POST", "/api/v1/things", NULL);
    signed_in(true);
    assert_int_equal(session_csrf(r), -PROBLEM_CSRF);
    assert_int_equal(r->status, 403);
    http_req_clear(r);
    r = request("POST", "/api/v1/things", NULL);
    signed_in(true);
    header("X-CSRF-Token", "c0ffee");
    assert_int_equal(session_csrf(r), 0);
    http_req_clear(r);
    r = request("GET", "/api/v1/me", NULL);
    signed_in(true);
    assert_int_equal(session_csrf(r), 0);
    assert_false(r->responded);
    http_req_clear(r);

    /* Idempotency-Key: none goes on; a bad one answers 400 */
    r = request("POST", "/api/v1/plain", NULL);
    assert_int_equal(idem_begin(r), 0);
    header("Idempotency-Key", "two words");
    assert_int_equal(idem_begin(r), -PROBLEM_BAD_HEADER);
    assert_int_equal(r->status, 400);
    assert_string_equal(problem_type(r), "bad-header");
    http_req_clear(r);

    /* http_fail answers the catalogue's line and returns its -code */
    r = request("GET", "/api/v1/me", NULL);
    assert_int_equal(http_fail(r, PROBLEM_CONFLICT, "It is %s.", "taken"), -PROBLEM_CONFLICT);
    assert_int_equal(r->status, 409);
    assert_string_equal(problem_type(r), "conflict");
    http_req_clear(r);
}

/* ---------- http_etag_listed ---------- */

static void etag_listed(void **state)
{
    (void)state;
    assert_true(http_etag_listed("\"4\"", "\"4\""));
    assert_true(http_etag_listed("W/\"4\"", "\"4\""));
    assert_true(http_etag_listed("\"1\", \"2\",W/\"4\"", "\"4\""));
    assert_true(http_etag_listed("*", "\"4\""));
    assert_true(http_etag_listed(" \t\"4\"", "\"4\""));
    assert_false(http_etag_listed("\"44\"", "\"4\""));
    assert_false(http_etag_listed("\"4", "\"4\""));
    assert_false(http_etag_listed("", "\"4\""));
    assert_false(http_etag_listed("\"1\", \"2\"", "\"4\""));
    assert_false(http_etag_listed("W/", "\"4\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(anonymous_to_a_session_route_is_401, setup, teardown),
        cmocka_unit_test_setup_teardown(signed_in_caller_reaches_the_handler, setup, teardown),
        cmocka_unit_test_setup_teardown(cookie_write_without_csrf_is_403, setup, teardown),
        cmocka_unit_test_setup_teardown(body_parse_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(optional_body_is_parsed_only_when_sent, setup, teardown),
        cmocka_unit_test_setup_teardown(too_large_is_413_before_anything, setup, teardown),
        cmocka_unit_test_setup_teardown(if_match_before_the_body, setup, teardown),
        cmocka_unit_test_setup_teardown(secret_route_skips_idempotency, setup, teardown),
        cmocka_unit_test_setup_teardown(cached_route_answers_if_none_match, setup, teardown),
        cmocka_unit_test_setup_teardown(only_hash_routes_may_defer, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_paths_and_methods, setup, teardown),
        cmocka_unit_test_setup_teardown(ambiguous_length_is_400_and_closes, setup, teardown),
        cmocka_unit_test_setup_teardown(undeclared_query_parameters_are_400, setup, teardown),
        cmocka_unit_test_setup_teardown(forwarded_for_is_the_last_of_all_lines, setup, teardown),
        cmocka_unit_test_setup_teardown(instance_route_needs_a_role, setup, teardown),
        cmocka_unit_test(table_check_refuses_inconsistent_routes),
        cmocka_unit_test(the_daemons_table_is_consistent),
        cmocka_unit_test_setup_teardown(gates_return_0_or_the_negative_code_they_answered, setup,
                                        teardown),
        cmocka_unit_test(etag_listed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
