/* routes: every endpoint of the daemon, in one table. The route's index is
 * its id for metrics. Keep related routes together. */
#include "routes.h"

#include "handlers/handlers.h"

#define R(METHOD, PATTERN, HANDLER) {METHOD, PATTERN, (void *)HANDLER, 0}

route_t routes[] = {
    R("GET", "/healthz", handle_healthz),
    R("GET", "/readyz", handle_readyz),
    R("GET", "/metrics", handle_metrics),
    R("GET", "/api/v1/openapi.json", handle_openapi),

    /* accounts */
    R("POST", "/api/v1/accounts", handle_account_create),
    R("POST", "/api/v1/sessions", handle_session_create),
    R("DELETE", "/api/v1/sessions/current", handle_session_delete),
    R("GET", "/api/v1/me", handle_me),

    /* purposes */

    /* organisations */

    /* agents */

    /* engagements */

    /* feeds */

    /* matching */

    /* agreements */
};

const size_t routes_count = sizeof routes / sizeof routes[0];
