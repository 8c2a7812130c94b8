/* http: the libmicrohttpd glue. A request context, the helpers handlers use
 * to read the request and set the response, and the daemon's start/stop. */
#ifndef PURPOSED_HTTP_H
#define PURPOSED_HTTP_H

#include <jansson.h>
#include <microhttpd.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "config.h"
#include "problem.h"
#include "rcache.h"
#include "router.h"

typedef struct req req_t;
typedef void (*handler_fn)(req_t *r);

#define HTTP_MAX_HEADERS 8

/* route_t.flags: the answer cache (lib/rcache.h). An item route's last
 * {param} is the item's id; its key is the pattern up to "{" and the id. */
#define ROUTE_CACHED_LIST 1u    /* answers kept, per path and query */
#define ROUTE_CACHED_ITEM 2u    /* answers kept, per item */
#define ROUTE_CHANGES_LISTS 4u  /* a change to what every list is built from */
#define ROUTE_CHANGES_ITEM 8u   /* ... to the item its last {param} names, and the lists */
#define ROUTE_CHANGES_ALL 16u   /* ... to what any answer may be built from */

typedef struct caller {
    bool checked;           /* authentication was attempted */
    int64_t account_id;     /* 0 when anonymous */
    int64_t session_id;
    bool via_cookie;
    char account_id_text[24];
    char csrf_token[72];    /* hex, for /me and the session response */
} caller_t;

struct req {
    struct MHD_Connection *conn;
    const char *method;
    const char *url;
    route_match_t match;
    int route_id;
    struct timespec started;
    char request_id[40];
    /* body */
    char *body;
    size_t body_len, body_cap;
    bool body_too_large;
    /* who is asking (see session.c) */
    caller_t caller;
    /* response */
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
    /* Idempotency-Key (idem.c) */
    bool idem_active;
    char idem_owner[96];
    char idem_key[208];
    /* the answer cache: a miss is stored under this key (malloc'd) and ticket */
    char *cache_key;
    size_t cache_klen;
    rcache_ticket_t cache_ticket;
    /* a handler's own state across http_defer (freed with ctx_free) */
    void *ctx;
    void (*ctx_free)(void *);
    /* deferred work on the slow pool */
    handler_fn deferred;
    void *deferred_pool;
    struct req *job_next;   /* the pool's queue */
    bool suspended;
    bool resumed;
};

extern const config_t *http_config;

/* Reading the request. */
const char *http_param(const req_t *r, int i);
const char *http_query(const req_t *r, const char *key);
const char *http_header(const req_t *r, const char *name);
const char *http_client_address(const req_t *r, char *buf, size_t cap);
/* Parse the body as a JSON object (415 for another content type, 400 when
 * malformed, too deep or not an object). NULL with the response set on error. */
json_t *http_json_body(req_t *r);
/* The same for a body that must be a JSON array; shape names it in the 400
 * detail ("a JSON array of {purpose, energy}"). */
json_t *http_json_array_body(req_t *r, const char *shape);
/* Limit and cursor query parameters; false with a 400 response set if bad. */
bool http_limit(req_t *r, int *limit);

/* Setting the response. Each steals what it is given. */
void http_reply_json(req_t *r, int status, json_t *body);
void http_reply_text(req_t *r, int status, const char *content_type, char *body, size_t len);
void http_reply_empty(req_t *r, int status);
void http_reply_file(req_t *r, int status, const char *content_type, int fd, uint64_t size);
void http_reply_problem(req_t *r, problem_t *p);
void http_add_header(req_t *r, const char *name, const char *value);
/* Does an If-None-Match header list etag (or "*")? Weak comparison. */
bool http_etag_listed(const char *header, const char *etag);
/* Shortcut: problem_set + reply. */
void http_error(req_t *r, int status, const char *type, const char *title, const char *detail);

/* Run fn on the slow worker pool (password hashing): the connection is
 * suspended and resumed when fn has set the response. */
void http_defer(req_t *r, handler_fn fn);

/* Start/stop. */
int http_start(const config_t *cfg, const route_t *routes, size_t nroutes);
/* Stop accepting, let in-flight requests finish (up to grace_s), stop. */
void http_stop(int grace_s);
long http_in_flight(void);
long http_suspended(void);

#endif
