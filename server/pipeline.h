/* pipeline: from a read request to its answer, in stages. Each stage either
 * lets the request go on or answers it; the handler runs only when every
 * stage let it through, and finds in the request what they found (caller,
 * organisation and role, agreement side, If-Match, parsed body).
 *
 *   as soon as the head is in (pipeline_head): framing (400, closed)
 *   on the libmicrohttpd thread (pipeline_dispatch):
 *     route (404, 405, OPTIONS) · query (400) · too large (413) ·
 *     rate limit (429) · answer cache (a stored answer) · static files
 *     (not an API path)
 *   where the route's work class runs it (pipeline_run: the read, write or
 *   hash pool, or inline):
 *     session (401) · CSRF (403) · authz (404, 403) · If-Match (428, 412) ·
 *     body (415, 400) · idempotency (replay) · the handler
 *   before the answer is sent (pipeline_finish):
 *     idempotency (remember the answer) · answer cache (drop what changed)
 *
 * A stage is a function of the request and its route's declarations
 * (route.h), put in its place in the lists in pipeline.c. */
#ifndef PURPOSED_PIPELINE_H
#define PURPOSED_PIPELINE_H

#include <stddef.h>

#include "config.h"
#include "http.h"
#include "route.h"

/* Is the table consistent (a change declares a write class, a GET does
 * not; access to a resource has its {param}; a cached route is a public
 * GET)? 0, or -PROBLEM_INTERNAL with the first fault in p's detail. */
int pipeline_check_routes(const route_t *routes, size_t n, problem_t *p);

/* The table and the configuration every request is served with. 0, or
 * negative when the table is inconsistent (pipeline_check_routes, logged). */
int pipeline_configure(const config_t *cfg, const route_t *routes, size_t nroutes);
/* Free what pipeline_configure made (the rate limiter). */
void pipeline_shutdown(void);

/* As soon as the head is in, before any of the body is read: is the
 * request's length ambiguous (RFC 9112 section 6.3: Content-Length with
 * Transfer-Encoding, Content-Length twice, a coding other than chunked)?
 * Then it is answered 400 with Connection: close, and true. */
bool pipeline_head(req_t *r);

/* The first part, on the thread that read the request. Answers it, or sets
 * r->deferred to pipeline_run with r->deferred_work the route's work class:
 * the caller runs it there. */
void pipeline_dispatch(req_t *r);
/* The gate and the handler (on the thread of the route's work class). The
 * handler may leave r->deferred set (http_defer) for the hash pool. */
void pipeline_run(req_t *r);
/* Once, with the answer set, before it is sent. */
void pipeline_finish(req_t *r);

/* The request's Origin when CORS_ORIGINS allows it, else NULL. */
const char *pipeline_cors_origin(const req_t *r);

#endif
