/* http: the request object, the bottom of server/. Reading the request
 * (path parameters, query, headers, the client's address) and setting the
 * response. It knows no sessions, idempotency, cache or files: the stages of
 * pipeline.c put their results into the request, and daemon.c (the
 * libmicrohttpd glue) fills it and sends the answer. Tests fill it from
 * memory (tests/unit/test_pipeline.c). */
#ifndef PURPOSED_HTTP_H
#define PURPOSED_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "authz.h"
#include "config.h"
#include "problem.h"
#include "rcache.h"
#include "router.h"
#include "strbuf.h"

typedef struct req req_t;
typedef void (*handler_fn)(req_t *r);

#define HTTP_MAX_HEADERS 8

/* Where a request's headers, query arguments and peer address come from:
 * the libmicrohttpd connection (daemon.c) or memory (tests). Lookups are
 * case-insensitive for headers, exact for query keys; NULL when absent (the
 * first when a name is given more than once). */
typedef enum req_value_kind { REQ_HEADER, REQ_QUERY } req_value_kind_t;
typedef struct req_source {
    const char *(*value)(const req_t *r, req_value_kind_t kind, const char *key);
    /* every header line or query argument in order, repeated names included;
     * a query value is NULL for "?a" (no "=") */
    void (*each)(const req_t *r, req_value_kind_t kind,
                 void (*fn)(void *cls, const char *key, const char *value), void *cls);
    /* the socket's peer address as text ("" when unknown) */
    void (*peer)(const req_t *r, char *buf, size_t cap);
} req_source_t;

/* The work class of a route: where its handler runs (daemon.c's pools, each
 * with a bounded queue). The libmicrohttpd threads only parse, route, answer
 * from the cache and serve files, so a slow database never stalls them. */
typedef enum http_work {
    WORK_READ,   /* a read of the database: on the read pool */
    WORK_WRITE,  /* a change: on the write pool (each worker its own PostgreSQL connection) */
    WORK_HASH,   /* a change that hashes a password: the write pool, then the handler's
                  * http_defer(r, fn) runs fn on the hash pool */
    WORK_INLINE, /* no work worth a thread switch (health, metrics, a file): on the
                  * libmicrohttpd thread */
} http_work_t;

typedef struct caller {
    bool checked;           /* authentication was attempted */
    int64_t account_id;     /* 0 when anonymous */
    int64_t session_id;     /* 0 when not signed in by a session (a feed token) */
    bool via_cookie;
    bool email_verified;    /* the account's email address was confirmed */
    int new_account_limit;  /* younger than the instance's new_account_days: its
                             * new_account_writes_per_hour; 0 otherwise (pipeline.c) */
    char account_id_text[24];
    char csrf_token[72];    /* hex, for /me and the session response */
} caller_t;

struct req {
    /* the request */
    const req_source_t *src;
    void *src_ctx;          /* the source's own (the MHD connection, a test's arrays) */
    const char *method;
    const char *url;
    route_match_t match;
    int route_id;
    struct timespec started;
    char request_id[40];
    strbuf_t body; /* as received; body.buf is NULL when there is none */
    bool body_too_large;

    /* what the pipeline's stages found, for the handler */
    caller_t caller;              /* who is asking (session stage) */
    char resource_id[24];         /* the path's {id}, canonical, when the route is about one */
    authz_org_t org;              /* the path's organisation and the caller's role (authz stage) */
    authz_agreement_t agreement;  /* the caller's side in the path's agreement (authz stage) */
    char instance_role[16];       /* the caller's instance role, for INSTANCE routes (authz stage) */
    char if_match[24];            /* the version If-Match names, "" when not given */
    json_t *json;                 /* the parsed body (body stage); see http_take_body */

    /* the pipeline's own bookkeeping (pipeline.c, idem.c) */
    bool idem_active;
    char idem_owner[96];
    char idem_key[208];
    char *cache_key;              /* the answer cache: a miss is stored under this key */
    size_t cache_klen;
    rcache_ticket_t cache_ticket;
    bool finished;                /* pipeline_finish ran */

    /* the response */
    int status;
    char *resp_body;
    size_t resp_len;
    const char *content_type;
    int nheaders;
    char *header_names[HTTP_MAX_HEADERS];
    char *header_values[HTTP_MAX_HEADERS];
    bool responded;
    int file_fd;            /* >= 0: send this file (static.c) */
    uint64_t file_size;

    /* a handler's own state across http_defer (freed with ctx_free) */
    void *ctx;
    void (*ctx_free)(void *);
    /* work to run on a pool (daemon.c): fn and its class */
    handler_fn deferred;
    http_work_t deferred_work;
    struct req *job_next;   /* the pool's queue */
    bool suspended;
    bool resumed;
    bool abandoned;         /* the client left before its work ran: not answered */
    bool counted;           /* counted in its address's requests in the pools */
    int client_fd;          /* the connection's socket, to see whether the client left */
    char client_addr[64];   /* http_client_address, for the per-address count */
};

extern const config_t *http_config;

/* A request with nothing set yet (file_fd -1); http_req_clear frees what it
 * holds (body, parsed body, response, headers, the handler's ctx). */
void http_req_init(req_t *r, const req_source_t *src, void *src_ctx, const char *method,
                   const char *url);
void http_req_clear(req_t *r);

/* Reading the request. */
const char *http_param(const req_t *r, int i);
const char *http_query(const req_t *r, const char *key);
const char *http_header(const req_t *r, const char *name);
const char *http_client_address(const req_t *r, char *buf, size_t cap);
/* Return values (docs/architecture.md, "Errors and return values"): a
 * function that may answer the request -- a pipeline stage, a reader of the
 * request below, a handler's helper -- returns 0 when the request goes on
 * and a negative value when it has answered: -PROBLEM_<CODE> when the answer
 * is that problem (what http_fail returns), HTTP_ANSWERED when it is no
 * problem (an Idempotency-Key replay, a stored answer). Test with `< 0`. */
#define HTTP_ANSWERED (-(int)PROBLEM_COUNT)

/* The path's i-th {param} as a positive integer id written canonically
 * ("7", never "007" or "+7"): into out and text; 0, or negative with 404
 * answered. */
int http_param_id(req_t *r, int i, long long *out, char *text, size_t cap);
/* The parsed body the route declared (route.h); the caller owns it now and
 * json_decref()s it. NULL when the route takes none or it was optional and
 * not sent. */
json_t *http_take_body(req_t *r);
#define PAGE_LIMIT_MAX 100 /* the largest ?limit= */
/* The page size ?limit= (1-100, 20 when absent) into limit; 0, or negative
 * with 400 answered (limit is 20 then). */
int http_query_limit(req_t *r, int *limit);

/* Setting the response. Each steals what it is given. */
void http_reply_json(req_t *r, int status, json_t *body);
void http_reply_text(req_t *r, int status, const char *content_type, char *body, size_t len);
void http_reply_empty(req_t *r, int status);
void http_reply_file(req_t *r, int status, const char *content_type, int fd, uint64_t size);
/* Answer the problem p holds (field errors, extensions, Retry-After, Allow
 * included) and clear it: for a problem_t a stage or handler collected or a
 * lib function filled. Returns its -code (problem_rc). */
int http_reply_problem(req_t *r, problem_t *p);
/* Answer the catalogue's problem code (lib/problems.def: status, type and
 * title) with a printf-style detail (NULL: none). Returns -code, so a
 * function that answers ends with `return http_fail(r, ...);`. */
int http_fail(req_t *r, problem_code_t code, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
void http_add_header(req_t *r, const char *name, const char *value);
/* A response header already set, or NULL. */
const char *http_response_header(const req_t *r, const char *name);
/* Does an If-None-Match header list etag (or "*")? Weak comparison. */
bool http_etag_listed(const char *header, const char *etag);

/* Run fn on the hash pool (password hashing) after the handler returns: the
 * connection is suspended and resumed when fn has set the response. Only
 * for routes declared WORK_HASH (the pipeline refuses it otherwise). */
void http_defer(req_t *r, handler_fn fn);

#endif
