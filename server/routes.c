/* routes: every endpoint of the daemon, in one table. The route's index is
 * its id for metrics. Keep related routes together. */
#include "routes.h"

#include "handlers/handlers.h"

#define R(METHOD, PATTERN, HANDLER) {METHOD, PATTERN, (void *)HANDLER, 0, 0}
/* A public GET whose answer depends only on its URL and on the tables
 * migration 0009 watches: kept in the answer cache (lib/rcache.h), as a
 * list (per path and query) or an item (per id, the last {param}). */
#define CACHED(KIND, PATTERN, HANDLER) {"GET", PATTERN, (void *)HANDLER, 0, KIND}
/* A change to what cached answers are built from: the daemon drops what
 * it changed before it answers, so its next read sees the change. */
#define CHANGES(METHOD, PATTERN, HANDLER, WHAT) {METHOD, PATTERN, (void *)HANDLER, 0, WHAT}

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
    R("GET", "/api/v1/me/account", handle_account_get),
    R("PATCH", "/api/v1/me/account", handle_account_update),
    CHANGES("DELETE", "/api/v1/me/account", handle_account_delete, ROUTE_CHANGES_ALL),

    /* purposes */
    R("GET", "/api/v1/purposes", handle_purposes_list),
    R("POST", "/api/v1/purposes", handle_purpose_create),
    R("GET", "/api/v1/purposes/{slug}", handle_purpose_get),

    /* organisations */
    R("GET", "/api/v1/organisations", handle_organisations_list),
    R("POST", "/api/v1/organisations", handle_organisation_create),
    R("GET", "/api/v1/organisations/{slug}", handle_organisation_get),
    CHANGES("PATCH", "/api/v1/organisations/{slug}", handle_organisation_update,
            ROUTE_CHANGES_ALL),
    R("GET", "/api/v1/organisations/{slug}/charter", handle_charter_list),
    R("GET", "/api/v1/organisations/{slug}/members", handle_members_list),
    R("POST", "/api/v1/organisations/{slug}/members", handle_member_add),
    R("DELETE", "/api/v1/organisations/{slug}/members/{account_id}", handle_member_remove),

    /* agents */
    R("GET", "/api/v1/me/agent", handle_agent_get_own),
    R("PUT", "/api/v1/me/agent", handle_agent_put),
    R("PUT", "/api/v1/me/agent/purposes", handle_agent_purposes_put),
    R("GET", "/api/v1/me/follows", handle_my_follows),
    R("GET", "/api/v1/agents", handle_agents_list),
    R("GET", "/api/v1/agents/{handle}", handle_agent_get),
    R("PUT", "/api/v1/organisations/{slug}/follow", handle_follow_put),
    R("DELETE", "/api/v1/organisations/{slug}/follow", handle_follow_delete),
    R("GET", "/api/v1/organisations/{slug}/followers", handle_followers_list),

    /* engagements */
    CHANGES("POST", "/api/v1/organisations/{slug}/engagements", handle_engagement_create,
            ROUTE_CHANGES_LISTS),
    CACHED(ROUTE_CACHED_LIST, "/api/v1/engagements", handle_engagements_list),
    CACHED(ROUTE_CACHED_ITEM, "/api/v1/engagements/{id}", handle_engagement_get),
    CHANGES("PATCH", "/api/v1/engagements/{id}", handle_engagement_update, ROUTE_CHANGES_ITEM),

    /* feeds */
    R("GET", "/feeds/engagements.atom", handle_feed_atom),
    R("GET", "/feeds/engagements.json", handle_feed_json),

    /* matching */
    R("GET", "/api/v1/me/matches", handle_my_matches),
    R("GET", "/api/v1/engagements/{id}/matches", handle_engagement_matches),

    /* agreements */
    R("POST", "/api/v1/agreements", handle_agreement_create),
    R("GET", "/api/v1/agreements/{id}", handle_agreement_get),
    R("PATCH", "/api/v1/agreements/{id}", handle_agreement_patch),
    R("GET", "/api/v1/agreements/{id}/versions", handle_agreement_versions),
    R("POST", "/api/v1/agreements/{id}/accept", handle_agreement_accept),
    R("POST", "/api/v1/agreements/{id}/decline", handle_agreement_decline),
    R("POST", "/api/v1/agreements/{id}/withdraw", handle_agreement_withdraw),
    R("POST", "/api/v1/agreements/{id}/conclude", handle_agreement_conclude),
    R("GET", "/api/v1/me/agreements", handle_my_agreements),
    R("GET", "/api/v1/organisations/{slug}/agreements", handle_organisation_agreements),
    R("GET", "/api/v1/me/portfolio", handle_my_portfolio),
    R("GET", "/api/v1/me/notifications", handle_my_notifications),
    R("POST", "/api/v1/me/notifications/read", handle_my_notifications_read),
    R("POST", "/api/v1/me/notifications/feed", handle_my_notification_feed_create),
    R("DELETE", "/api/v1/me/notifications/feed", handle_my_notification_feed_delete),
    R("GET", "/feeds/me/{token}", handle_notification_feed_atom),
    R("GET", "/api/v1/me/export", handle_my_export),
};

const size_t routes_count = sizeof routes / sizeof routes[0];
