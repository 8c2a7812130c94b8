/* fuzz_router: router_match on arbitrary methods and paths. Checks that the
 * result is one of 200/404/405, that captured parameters are sane, and that
 * substituting them back into the pattern gives the very path matched. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "router.h"

static int h;
static route_t routes[] = {
    {"GET", "/healthz", &h, 1},
    {"GET", "/api/v1/me", &h, 2},
    {"PUT", "/api/v1/me/agent", &h, 3},
    {"GET", "/api/v1/organisations", &h, 4},
    {"POST", "/api/v1/organisations", &h, 5},
    {"GET", "/api/v1/organisations/{slug}", &h, 6},
    {"PATCH", "/api/v1/organisations/{slug}", &h, 7},
    {"PUT", "/api/v1/organisations/{slug}/follow", &h, 8},
    {"DELETE", "/api/v1/organisations/{slug}/follow", &h, 9},
    {"DELETE", "/api/v1/organisations/{slug}/members/{account_id}", &h, 10},
    {"POST", "/api/v1/agreements/{id}/accept", &h, 11},
    {"GET", "/api/v1/a/{w}/{x}/{y}/{z}", &h, 12},
    {"GET", "/feeds/engagements.atom", &h, 13},
};
#define NROUTES (sizeof routes / sizeof routes[0])
static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", ""};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    const char *method = methods[data[0] % (sizeof methods / sizeof methods[0])];
    char *path = malloc(size);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    route_match_t m;
    int rc = router_match(routes, NROUTES, method, path, &m);
    assert(rc == 0 || rc == -PROBLEM_NOT_FOUND || rc == -PROBLEM_METHOD_NOT_ALLOWED);
    if (rc == -PROBLEM_METHOD_NOT_ALLOWED) assert(m.allow[0] != '\0' && strlen(m.allow) < sizeof m.allow);
    if (rc == 0) {
        assert(m.route != NULL);
        const char *want = strcmp(method, "HEAD") == 0 ? "GET" : method;
        assert(strcmp(m.route->method, want) == 0);
        assert(m.nparams >= 0 && m.nparams <= ROUTER_MAX_PARAMS);
        /* rebuild the path from the pattern and the parameters */
        char rebuilt[4096];
        size_t o = 0;
        int np = 0;
        for (const char *p = m.route->pattern; *p;) {
            if (*p == '{') {
                const char *close = strchr(p, '}');
                assert(close && np < m.nparams);
                size_t len = strlen(m.params[np]);
                assert(len >= 1 && len <= ROUTER_MAX_PARAM_LEN);
                assert(!strchr(m.params[np], '/'));
                assert(o + len < sizeof rebuilt);
                memcpy(rebuilt + o, m.params[np], len);
                o += len;
                np++;
                p = close + 1;
            } else {
                assert(o + 1 < sizeof rebuilt);
                rebuilt[o++] = *p++;
            }
        }
        rebuilt[o] = '\0';
        assert(np == m.nparams);
        assert(strcmp(rebuilt, path) == 0);
    }
    free(path);
    return 0;
}
