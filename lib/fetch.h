/* fetch: the daemon's one way to speak HTTP to other servers (organisation
 * website verification, federation: actor and key fetches, deliveries).
 * libcurl, with what untrusted remote servers need: a total timeout, a
 * response size limit, no redirects followed unless asked (and then only to
 * public addresses), and no connection to a private, loopback, link-local or
 * otherwise non-public address (SSRF) unless FETCH_ALLOW_PRIVATE is set, which
 * the tests do, because their "remote" servers listen on 127.0.0.1. The
 * address check is made on the address actually connected to (after DNS), so
 * a name resolving to 10.0.0.1 is refused too. */
#ifndef PURPOSED_FETCH_H
#define PURPOSED_FETCH_H

#include <stdbool.h>
#include <stddef.h>

#include "problem.h"
#include "strbuf.h"

typedef struct fetch_request {
    const char *method;          /* "GET" (NULL) or "POST" */
    const char *url;             /* http:// or https:// only */
    const char *const *headers;  /* NULL-terminated "Name: value" lines, or NULL */
    const char *body;            /* POST body, or NULL */
    size_t body_len;
    long timeout_ms;             /* 0: 10,000 */
    size_t max_bytes;            /* 0: 1 MiB; a longer body fails */
    int max_redirects;           /* 0: none followed (a 3xx is returned as is) */
    bool per_instance;           /* counted against the host's fetches a minute (lib/peers):
                                    over it, 429 with retry_after, nothing sent */
} fetch_request_t;

typedef struct fetch_response {
    long status;                 /* HTTP status */
    strbuf_t body;               /* the body (NUL-terminated), at most max_bytes */
    char content_type[128];      /* "" when absent */
    char location[1024];         /* Location of a 3xx made absolute, "" when absent */
} fetch_response_t;

/* Once at start, from config: whether private addresses may be fetched. */
void fetch_configure(bool allow_private, const char *user_agent);

/* Perform one request. 0 with out filled (any HTTP status), or negative with
 * p set (502 "the remote server ..." for connection refused, timeout, too
 * large, refused address, bad URL: p->detail says which, in words).
 * fetch_response_free releases out->body. Thread-safe. */
int fetch(const fetch_request_t *req, fetch_response_t *out, problem_t *p);
void fetch_response_free(fetch_response_t *out);

/* Pure: whether a numeric address (IPv4 or IPv6 text) is public (not
 * loopback, private, link-local, CGNAT, multicast, unspecified, documentation,
 * unique-local, IPv4-mapped private...). */
bool fetch_address_is_public(const char *numeric_host);

#endif
