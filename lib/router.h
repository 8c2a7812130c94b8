/* router: (method, path pattern) -> route, with 404 and 405 + Allow.
 * Patterns are literal segments and {name} placeholders. Pure; no HTTP types. */
#ifndef PURPOSED_ROUTER_H
#define PURPOSED_ROUTER_H

#include <stddef.h>

#include "problem.h"

#define ROUTER_MAX_PARAMS 4
#define ROUTER_MAX_PARAM_LEN 200

typedef struct route {
    const char *method;   /* "GET", "POST", ... (HEAD matches GET) */
    const char *pattern;  /* "/api/v1/organisations/{slug}" */
    const void *data;     /* what the caller attaches (server/route.h: the route's
                           * declarations); opaque to the router */
    int id;               /* index, for metrics; set by the caller */
} route_t;

typedef struct route_match {
    const route_t *route;
    int nparams;
    char params[ROUTER_MAX_PARAMS][ROUTER_MAX_PARAM_LEN + 1];
    char allow[160];      /* on 405: "GET, HEAD, PATCH" */
} route_match_t;

/* 0: found (m->route, m->params); -PROBLEM_NOT_FOUND: no pattern matches
 * the path; -PROBLEM_METHOD_NOT_ALLOWED: the path matches but not with this
 * method (m->allow lists the methods). */
int router_match(const route_t *routes, size_t n, const char *method, const char *path,
                 route_match_t *m);

#endif
