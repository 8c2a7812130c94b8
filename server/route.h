/* route: what a route declares (routes.c), and pipeline.c enforces before
 * its handler runs: who may call it, the body it takes, If-Match, the answer
 * cache, whether its answer carries a secret, its query parameters and
 * where it runs. The router
 * (lib/router.h) carries it as the opaque route_t.data. */
#ifndef PURPOSED_ROUTE_H
#define PURPOSED_ROUTE_H

#include <stdbool.h>

#include "authz.h"
#include "http.h"

/* Who may call. The path's resource is its first {param}. */
typedef enum route_access {
    ACCESS_PUBLIC,        /* anyone; credentials are not looked at */
    ACCESS_CALLER,        /* anyone, but credentials given must be good (401): the
                           * handler may tell the caller (r->caller.account_id, 0 if anonymous) */
    ACCESS_SESSION,       /* signed in (401); a cookie-signed write carries X-CSRF-Token (403) */
    ACCESS_ORGANISATION,  /* signed in, and the route's action allowed in the organisation
                           * {slug}: r->org (404 no such organisation, 403 not allowed) */
    ACCESS_ENGAGEMENT,    /* the same for the organisation owning engagement {id}:
                           * r->org, r->resource_id */
    ACCESS_AGREEMENT,     /* signed in party to agreement {id}, acting for the side the
                           * action allows: r->agreement, r->resource_id (404 otherwise) */
    ACCESS_FEED_TOKEN,    /* the path's {token} (with the route's token_suffix) is a
                           * personal feed's secret: r->caller is its account (404 otherwise) */
    ACCESS_INSTANCE,      /* signed in, with an instance role that allows the route's
                           * instance_action (403 otherwise): moderators, administrators */
    ACCESS_FEDERATION,    /* another instance: the request's HTTP signature verified with
                           * its sender's key (401 otherwise); the sender is r->ctx
                           * (handlers/activitypub.h) */
} route_access_t;

/* The request body, parsed before the handler runs (http_take_body). */
typedef enum route_body {
    BODY_NONE,            /* none read; whatever is sent is ignored */
    BODY_OBJECT,          /* a JSON object (415 other content type, 400 malformed) */
    BODY_OBJECT_OPTIONAL, /* a JSON object when one is sent */
    BODY_ARRAY,           /* a JSON array (the 400 names body_shape) */
} route_body_t;

typedef enum route_if_match {
    IF_MATCH_NONE,        /* not read */
    IF_MATCH_OPTIONAL,    /* read when given: r->if_match (412 when it names no version) */
    IF_MATCH_REQUIRED,    /* 428 without; r->if_match */
} route_if_match_t;

/* A query parameter the route reads. Any other (or one given twice) is a
 * 400 naming it, before anything else runs, so a URL carries nothing the
 * answer does not depend on. The answer cache keys a list by these, in this
 * order, leaving out those that mean the same as not giving them. */
typedef struct route_query {
    const char *name;
    const char *fallback;   /* the value that means the same as leaving it out, or NULL */
    bool empty_is_absent;   /* "?name=" means the same as leaving it out */
} route_query_t;

/* The answer cache (lib/rcache.h). An item route's last {param} is the
 * item's id; its key is the pattern up to "{" and the id. */
#define ROUTE_CACHED_LIST 1u    /* a public GET: answers kept, per path and query */
#define ROUTE_CACHED_ITEM 2u    /* ... per item */
#define ROUTE_CHANGES_LISTS 4u  /* a change to what every list is built from */
#define ROUTE_CHANGES_ITEM 8u   /* ... to the item its last {param} names, and the lists */
#define ROUTE_CHANGES_ALL 16u   /* ... to what any answer may be built from */

typedef struct route_spec {
    handler_fn handler;
    route_access_t access;
    authz_org_action_t action;  /* ACCESS_ORGANISATION, _ENGAGEMENT, _AGREEMENT */
    authz_instance_action_t instance_action; /* ACCESS_INSTANCE */
    bool hide_refusal;          /* a refused member answers 404, as if nothing were there */
    const char *token_suffix;   /* ACCESS_FEED_TOKEN: what follows the token (".atom") */
    route_body_t body;
    const char *body_shape;     /* BODY_ARRAY: "a JSON array of {purpose, energy}" */
    route_if_match_t if_match;
    unsigned cache;             /* ROUTE_CACHED_* or ROUTE_CHANGES_* */
    bool verified;              /* signed in with a verified email address (403
                                 * "email-unverified" otherwise) */
    bool secret;                /* the answer carries a secret (a token, a secret URL):
                                 * never stored for Idempotency-Key replay */
    bool upkeep;                /* a change to the caller's own sign-in only: not counted
                                 * by the new accounts' write limit (pipeline.c) */
    const route_query_t *query; /* the query parameters it reads, ended by {NULL}; NULL: none */
    bool query_any;             /* a page of the web interface: its query is the app's
                                 * (?next=, filters, links people share), never refused */
    http_work_t work;           /* a GET is WORK_READ (the read pool) or WORK_INLINE; a
                                 * change is WORK_WRITE or WORK_HASH */
} route_spec_t;

static inline const route_spec_t *route_spec(const route_t *route)
{
    return (const route_spec_t *)route->data;
}

#endif
