/* router: segment-by-segment matching of paths against route patterns. */
#include "router.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* Match one pattern; on success copy the placeholder values into m. */
static bool pattern_match(const char *pattern, const char *path, route_match_t *m)
{
    const char *p = pattern, *s = path;
    int np = 0;
    while (*p && *s) {
        if (*p != '/' || *s != '/') return false;
        p++;
        s++;
        const char *pe = strchr(p, '/');
        const char *se = strchr(s, '/');
        size_t plen = pe ? (size_t)(pe - p) : strlen(p);
        size_t slen = se ? (size_t)(se - s) : strlen(s);
        if (plen >= 2 && p[0] == '{' && p[plen - 1] == '}') {
            if (slen == 0 || slen > ROUTER_MAX_PARAM_LEN || np >= ROUTER_MAX_PARAMS) return false;
            memcpy(m->params[np], s, slen);
            m->params[np][slen] = '\0';
            np++;
        } else if (plen != slen || memcmp(p, s, plen) != 0) {
            return false;
        }
        p += plen;
        s += slen;
    }
    if (*p || *s) return false;
    m->nparams = np;
    return true;
}

int router_match(const route_t *routes, size_t n, const char *method, const char *path,
                 route_match_t *m)
{
    memset(m, 0, sizeof *m);
    const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
    bool path_known = false;
    route_match_t tmp;
    for (size_t i = 0; i < n; i++) {
        /* pattern_match writes only what it matched (and nparams): no need
         * to clear the whole struct for each of the routes */
        tmp.nparams = 0;
        if (!pattern_match(routes[i].pattern, path, &tmp)) continue;
        if (strcmp(routes[i].method, want) == 0) {
            for (int k = 0; k < tmp.nparams; k++)
                memcpy(m->params[k], tmp.params[k], strlen(tmp.params[k]) + 1);
            m->nparams = tmp.nparams;
            m->route = &routes[i];
            return 0;
        }
        if (!path_known) m->allow[0] = '\0';
        path_known = true;
        /* build the Allow list without duplicates */
        const char *meth = routes[i].method;
        if (!strstr(m->allow, meth)) {
            size_t len = strlen(m->allow);
            snprintf(m->allow + len, sizeof m->allow - len, "%s%s%s", len ? ", " : "", meth,
                     strcmp(meth, "GET") == 0 ? ", HEAD" : "");
        }
    }
    return path_known ? -PROBLEM_METHOD_NOT_ALLOWED : -PROBLEM_NOT_FOUND;
}
