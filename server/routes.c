/* routes: every endpoint of the daemon, in one table, with what each
 * declares (route.h) and the pipeline enforces before its handler runs.
 * The route's index is its id for metrics. Keep related routes together.
 *
 *   R(METHOD, PATTERN, HANDLER, WHO, more declarations...)
 *
 * WHO is one of PUBLIC, CALLER, SIGNED_IN, MEMBER(action) (of the path's
 * organisation {slug}), ENGAGEMENT_MEMBER(action) (of the organisation
 * owning engagement {id}), PARTY(action) (to agreement {id}), FEED_TOKEN
 * (suffix), INSTANCE(action) (an instance role: moderators, administrators);
 * actions are lib/authz.h's. VERIFIED: the caller's email address
 * is confirmed. Then, as needed: .body, .if_match,
 * .cache, .secret, QUERY(the parameters it reads), .work (a change is WRITE
 * or HASH; a GET is a read on the read pool unless INLINE). */
#include "routes.h"

#include "handlers/handlers.h"
#include "pages.h"
#include "route.h"

#define R(METHOD, PATTERN, HANDLER, ...) \
    {METHOD, PATTERN, &(const route_spec_t){.handler = HANDLER, __VA_ARGS__}, 0}

#define PUBLIC .access = ACCESS_PUBLIC
#define CALLER .access = ACCESS_CALLER
#define SIGNED_IN .access = ACCESS_SESSION
#define MEMBER(ACTION) .access = ACCESS_ORGANISATION, .action = ACTION
#define ENGAGEMENT_MEMBER(ACTION) .access = ACCESS_ENGAGEMENT, .action = ACTION
#define PARTY(ACTION) .access = ACCESS_AGREEMENT, .action = ACTION
#define FEED_TOKEN(SUFFIX) .access = ACCESS_FEED_TOKEN, .token_suffix = SUFFIX
/* signed in with an instance role allowing ACTION (lib/authz.h: INSTANCE_MODERATE,
 * INSTANCE_ADMINISTER); r->instance_role is the caller's role */
#define INSTANCE(ACTION) .access = ACCESS_INSTANCE, .instance_action = ACTION
/* another instance, by the HTTP signature of its request (docs/federation.md) */
#define FEDERATION .access = ACCESS_FEDERATION

#define WRITE .work = WORK_WRITE
/* a change that hashes a password: its handler calls http_defer */
#define HASH .work = WORK_HASH
#define OBJECT .body = BODY_OBJECT
#define ARRAY(SHAPE) .body = BODY_ARRAY, .body_shape = SHAPE
#define IF_MATCH .if_match = IF_MATCH_REQUIRED
/* A public GET whose answer depends only on its URL and on the tables
 * migration 0009 watches: kept in the answer cache (lib/rcache.h), as a
 * list (per path and query) or an item (per id, the last {param}). */
#define CACHED(KIND) .cache = ROUTE_CACHED_##KIND
/* A change to what cached answers are built from: the daemon drops what
 * it changed before it answers, so its next read sees the change. */
#define CHANGES(WHAT) .cache = ROUTE_CHANGES_##WHAT
/* The answer carries a secret: never stored for Idempotency-Key replay. */
#define SECRET .secret = true
/* A GET that does no work worth a thread switch (no query that can wait on
 * the database): answered on the libmicrohttpd thread, never queued. */
#define INLINE .work = WORK_INLINE
/* The query parameters the route reads; any other is a 400. Each is
 * LIMIT, PAGE (limit and cursor), PARAM(name), FILTER(name) ("?name=" is no
 * filter) or FILTER_DEFAULT(name, default) (the default spelled out is no filter
 * either): what means the same as no parameter shares one cached answer. */
#define QUERY(...) .query = (const route_query_t[]){__VA_ARGS__, {NULL, NULL, false}}
#define LIMIT {"limit", "20", false}
#define PAGE LIMIT, {"cursor", NULL, false}
#define PARAM(NAME) {NAME, NULL, false}
#define FILTER(NAME) {NAME, NULL, true}
#define FILTER_DEFAULT(NAME, DEFAULT) {NAME, DEFAULT, true}
/* A page of the web interface (server/pages.c): the app reads its query
 * (?next=, the list filters, links people share), so none is refused. */
#define PAGE_QUERY .query_any = true
/* Only an account whose email address is verified (migration 0021): until
 * then it may browse, build its profile and follow, not commit others. */
#define VERIFIED .verified = true
/* A change to the caller's own sign-in only (sign out, password, email,
 * deletion, a new confirmation link): never held back by the new accounts'
 * write limit, so a limited person can always leave, or confirm their
 * address, which lifts it. */
#define UPKEEP .upkeep = true

route_t routes[] = {
    R("GET", "/healthz", handle_healthz, PUBLIC, INLINE),
    R("GET", "/readyz", handle_readyz, PUBLIC, INLINE),
    R("GET", "/metrics", handle_metrics, PUBLIC, INLINE),
    R("GET", "/api/v1/openapi.json", handle_openapi, PUBLIC, INLINE),

    /* accounts */
    R("POST", "/api/v1/accounts", handle_account_create, PUBLIC, OBJECT, HASH),
    R("POST", "/api/v1/sessions", handle_session_create, PUBLIC, OBJECT, HASH, SECRET),
    R("DELETE", "/api/v1/sessions/current", handle_session_delete, SIGNED_IN, WRITE, UPKEEP),
    R("GET", "/api/v1/me", handle_me, SIGNED_IN),
    R("GET", "/api/v1/me/account", handle_account_get, SIGNED_IN),
    R("PATCH", "/api/v1/me/account", handle_account_update, SIGNED_IN, IF_MATCH, OBJECT, HASH,
      UPKEEP),
    R("DELETE", "/api/v1/me/account", handle_account_delete, SIGNED_IN, OBJECT, HASH,
      CHANGES(ALL), UPKEEP),
    /* the email address: confirmed through a mailed link; a forgotten password
     * reset through one (the request answers the same for any address) */
    R("POST", "/api/v1/me/email-verification", handle_email_verification_resend, SIGNED_IN,
      WRITE, UPKEEP),
    R("POST", "/api/v1/email-verifications", handle_email_verify, PUBLIC, OBJECT, WRITE),
    R("POST", "/api/v1/password-resets", handle_password_reset_request, PUBLIC, OBJECT, WRITE),
    R("POST", "/api/v1/password-resets/complete", handle_password_reset_complete, PUBLIC, OBJECT,
      HASH),
    /* a notification message's one-click unsubscribe: the signed token is the proof */
    R("POST", "/api/v1/unsubscribe", handle_unsubscribe, PUBLIC, QUERY(PARAM("token")), WRITE),
    /* mail, continued: how each kind of notification reaches the caller by
     * mail; invitations by their mailed link (the token is the proof, to
     * see one and, signed in, to accept it); an organisation's invitations;
     * the pages the mailed links open */
    R("GET", "/api/v1/me/notification-preferences", handle_notification_preferences_get, SIGNED_IN),
    R("PUT", "/api/v1/me/notification-preferences", handle_notification_preferences_put, SIGNED_IN,
      OBJECT, WRITE),
    R("POST", "/api/v1/invitations/preview", handle_invitation_preview, PUBLIC, OBJECT, WRITE),
    R("POST", "/api/v1/invitations/accept", handle_invitation_accept_link, SIGNED_IN, OBJECT, WRITE),
    R("GET", "/api/v1/organisations/{slug}/invitations", handle_invitations_list,
      MEMBER(ORG_MANAGE_MEMBERS), QUERY(PAGE)),
    R("DELETE", "/api/v1/organisations/{slug}/invitations/{invitation_id}", handle_invitation_revoke,
      MEMBER(ORG_MANAGE_MEMBERS), WRITE),
    R("GET", "/verify-email", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/forgot-password", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/reset-password", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/invitations/accept", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/unsubscribe", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/api-reference", pages_app, PUBLIC, PAGE_QUERY),

    /* purposes */
    R("GET", "/api/v1/purposes", handle_purposes_list, PUBLIC, QUERY(PAGE, FILTER("q"))),
    R("POST", "/api/v1/purposes", handle_purpose_create, SIGNED_IN, OBJECT, WRITE),
    /* hidden by a moderator: seen by its creator and moderators only */
    R("GET", "/api/v1/purposes/{slug}", handle_purpose_get, CALLER),

    /* skills: the catalogue, for suggestions as people type */
    R("GET", "/api/v1/skills", handle_skills_list, PUBLIC, QUERY(PAGE, FILTER("prefix"))),
    /* places: the gazetteer, for suggestions as people type */
    R("GET", "/api/v1/places", handle_places_list, PUBLIC,
      QUERY(PAGE, FILTER("prefix"), FILTER("q"))),
    R("GET", "/api/v1/places/{id}", handle_place_get, PUBLIC),

    /* organisations */
    R("GET", "/api/v1/organisations", handle_organisations_list, PUBLIC,
      QUERY(PAGE, FILTER("purpose"), FILTER("q"))),
    R("POST", "/api/v1/organisations", handle_organisation_create, SIGNED_IN, OBJECT, WRITE),
    /* hidden by a moderator: seen by its members and moderators only */
    R("GET", "/api/v1/organisations/{slug}", handle_organisation_get, CALLER),
    R("PATCH", "/api/v1/organisations/{slug}", handle_organisation_update, MEMBER(ORG_EDIT),
      IF_MATCH, OBJECT, WRITE, CHANGES(ALL)),
    R("GET", "/api/v1/organisations/{slug}/charter", handle_charter_list, CALLER, QUERY(PAGE)),
    R("GET", "/api/v1/organisations/{slug}/members", handle_members_list, MEMBER(ORG_MEMBER_READ),
      QUERY(PAGE)),
    /* an invitation mails whatever address is typed: a confirmed sender */
    R("POST", "/api/v1/organisations/{slug}/members", handle_member_add,
      MEMBER(ORG_MANAGE_MEMBERS), VERIFIED, OBJECT, WRITE),
    /* who may remove whom depends on whose membership it is: the handler asks lib/authz */
    R("DELETE", "/api/v1/organisations/{slug}/members/{account_id}", handle_member_remove,
      MEMBER(ORG_READ), WRITE),
    /* invitations are the caller's own: anyone signed in answers theirs */
    R("POST", "/api/v1/me/invitations/{slug}/accept", handle_invitation_accept, SIGNED_IN, WRITE),
    R("DELETE", "/api/v1/me/invitations/{slug}", handle_invitation_decline, SIGNED_IN, WRITE),

    /* agents */
    R("GET", "/api/v1/me/agent", handle_agent_get_own, SIGNED_IN),
    R("PUT", "/api/v1/me/agent", handle_agent_put, SIGNED_IN, .if_match = IF_MATCH_OPTIONAL,
      OBJECT, WRITE),
    R("PUT", "/api/v1/me/agent/purposes", handle_agent_purposes_put, SIGNED_IN,
      ARRAY("a JSON array of {purpose, energy}"), WRITE),
    R("GET", "/api/v1/me/follows", handle_my_follows, SIGNED_IN, QUERY(PAGE)),
    R("GET", "/api/v1/agents", handle_agents_list, PUBLIC,
      QUERY(PAGE, FILTER("purpose"), FILTER("skill"), FILTER("near"), FILTER("within_km"),
            FILTER("sort"))),
    /* a hidden agent is seen by itself only */
    R("GET", "/api/v1/agents/{handle}", handle_agent_get, CALLER),
    R("PUT", "/api/v1/organisations/{slug}/follow", handle_follow_put, SIGNED_IN, WRITE),
    R("DELETE", "/api/v1/organisations/{slug}/follow", handle_follow_delete, SIGNED_IN, WRITE),
    R("GET", "/api/v1/organisations/{slug}/followers", handle_followers_list,
      MEMBER(ORG_MEMBER_READ), QUERY(PAGE)),

    /* engagements */
    R("POST", "/api/v1/organisations/{slug}/engagements", handle_engagement_create,
      MEMBER(ORG_POST), VERIFIED, OBJECT, WRITE, CHANGES(LISTS)),
    R("GET", "/api/v1/engagements", handle_engagements_list, PUBLIC, CACHED(LIST),
      QUERY(PAGE, FILTER_DEFAULT("status", "open"), FILTER("organisation"), FILTER("purpose"),
            FILTER("skill"), FILTER("packaging"), FILTER("remote"), FILTER("q"),
            FILTER("near"), FILTER("within_km"), FILTER("sort"))),
    R("GET", "/api/v1/engagements/{id}", handle_engagement_get, PUBLIC, CACHED(ITEM)),
    R("PATCH", "/api/v1/engagements/{id}", handle_engagement_update, ENGAGEMENT_MEMBER(ORG_POST),
      IF_MATCH, OBJECT, WRITE, CHANGES(ITEM)),

    /* questions before a proposal (engagement_questions.c): one thread per engagement and
     * agent, started by the agent; its members see them all. Anyone else: 404 */
    R("GET", "/api/v1/engagements/{id}/questions", handle_engagement_threads,
      ENGAGEMENT_MEMBER(ORG_MEMBER_READ), .hide_refusal = true),
    R("GET", "/api/v1/engagements/{id}/questions/{handle}", handle_engagement_thread, SIGNED_IN,
      QUERY(PAGE)),
    R("POST", "/api/v1/engagements/{id}/questions/{handle}", handle_engagement_thread_post,
      SIGNED_IN, VERIFIED, OBJECT, WRITE),

    /* the web interface's pages, served with their content (pages.c); a path
     * no route knows is a static file or the 404 page */
    R("GET", "/", pages_home, PUBLIC, PAGE_QUERY),
    R("GET", "/engagements", pages_home, PUBLIC, PAGE_QUERY),
    R("GET", "/engagements/{id}", pages_engagement, PUBLIC, PAGE_QUERY),
    R("GET", "/organisations", pages_organisations, PUBLIC, PAGE_QUERY),
    R("GET", "/organisations/new", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/organisations/{slug}", pages_organisation, PUBLIC, PAGE_QUERY),
    R("GET", "/organisations/{slug}/{tab}", pages_organisation_tab, PUBLIC, PAGE_QUERY),
    R("GET", "/purposes", pages_purposes, PUBLIC, PAGE_QUERY),
    R("GET", "/purposes/{slug}", pages_purpose, PUBLIC, PAGE_QUERY),
    R("GET", "/agents/{handle}", pages_agent, PUBLIC, PAGE_QUERY),
    R("GET", "/agreements/new", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/agreements/{id}", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/credentials/{id}", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/me", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/me/{section}", pages_dashboard, PUBLIC, PAGE_QUERY),
    R("GET", "/signin", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/signup", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/settings", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/admin", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/admin/{section}", pages_admin, PUBLIC, PAGE_QUERY),
    R("GET", "/admin/reports/{id}", pages_app, PUBLIC, PAGE_QUERY),
    R("GET", "/sitemap.xml", pages_sitemap, PUBLIC),
    R("GET", "/sitemaps/{part}", pages_sitemap_part, PUBLIC),
    R("GET", "/robots.txt", pages_robots, PUBLIC),

    /* feeds */
    R("GET", "/feeds/engagements.atom", handle_feed_atom, PUBLIC,
      QUERY(FILTER("organisation"), FILTER("purpose"))),
    R("GET", "/feeds/engagements.json", handle_feed_json, PUBLIC,
      QUERY(FILTER("organisation"), FILTER("purpose"))),

    /* matching */
    R("GET", "/api/v1/me/matches", handle_my_matches, SIGNED_IN, QUERY(LIMIT)),
    /* the candidates are private to the organisation: others get 404 (issue 6) */
    R("GET", "/api/v1/engagements/{id}/matches", handle_engagement_matches,
      ENGAGEMENT_MEMBER(ORG_MEMBER_READ), .hide_refusal = true, QUERY(LIMIT)),

    /* agreements; which side may propose depends on the body: the handler asks lib/authz */
    R("POST", "/api/v1/agreements", handle_agreement_create, SIGNED_IN, VERIFIED, OBJECT, WRITE),
    R("GET", "/api/v1/agreements/{id}", handle_agreement_get, PARTY(ORG_MEMBER_READ)),
    R("PATCH", "/api/v1/agreements/{id}", handle_agreement_patch, PARTY(ORG_POST), IF_MATCH,
      OBJECT, WRITE),
    R("POST", "/api/v1/agreements/{id}/renew", handle_agreement_renew, PARTY(ORG_POST),
      .if_match = IF_MATCH_OPTIONAL, OBJECT, WRITE),
    R("GET", "/api/v1/agreements/{id}/versions", handle_agreement_versions,
      PARTY(ORG_MEMBER_READ), QUERY(PAGE)),
    R("POST", "/api/v1/agreements/{id}/accept", handle_agreement_accept, PARTY(ORG_POST),
      .if_match = IF_MATCH_OPTIONAL, .body = BODY_OBJECT_OPTIONAL, WRITE),
    R("POST", "/api/v1/agreements/{id}/decline", handle_agreement_decline, PARTY(ORG_POST),
      .if_match = IF_MATCH_OPTIONAL, .body = BODY_OBJECT_OPTIONAL, WRITE),
    R("POST", "/api/v1/agreements/{id}/withdraw", handle_agreement_withdraw, PARTY(ORG_POST),
      .if_match = IF_MATCH_OPTIONAL, .body = BODY_OBJECT_OPTIONAL, WRITE),
    R("POST", "/api/v1/agreements/{id}/conclude", handle_agreement_conclude, PARTY(ORG_POST),
      .if_match = IF_MATCH_OPTIONAL, OBJECT, WRITE),
    /* an agreement's conversation and hours (agreement_threads.c): its parties only */
    R("GET", "/api/v1/agreements/{id}/messages", handle_agreement_messages,
      PARTY(ORG_MEMBER_READ), QUERY(PAGE)),
    R("POST", "/api/v1/agreements/{id}/messages", handle_agreement_message_create, PARTY(ORG_POST),
      OBJECT, WRITE),
    R("POST", "/api/v1/agreements/{id}/messages/read", handle_agreement_messages_read,
      PARTY(ORG_MEMBER_READ), .body = BODY_OBJECT_OPTIONAL, WRITE),
    R("GET", "/api/v1/agreements/{id}/hours", handle_agreement_hours, PARTY(ORG_MEMBER_READ),
      QUERY(PAGE)),
    R("GET", "/api/v1/agreements/{id}/hours.csv", handle_agreement_hours_csv,
      PARTY(ORG_MEMBER_READ)),
    R("POST", "/api/v1/agreements/{id}/hours", handle_agreement_hours_log, PARTY(ORG_POST), OBJECT,
      WRITE),
    R("POST", "/api/v1/agreements/{id}/hours/{entry}/confirm", handle_agreement_hours_confirm,
      PARTY(ORG_POST), .body = BODY_OBJECT_OPTIONAL, WRITE),
    R("POST", "/api/v1/agreements/{id}/hours/{entry}/dispute", handle_agreement_hours_dispute,
      PARTY(ORG_POST), OBJECT, WRITE),
    R("GET", "/api/v1/me/agreements", handle_my_agreements, SIGNED_IN,
      QUERY(PAGE, PARAM("status"), PARAM("standing"), PARAM("side"))),
    R("GET", "/api/v1/organisations/{slug}/agreements", handle_organisation_agreements,
      MEMBER(ORG_MEMBER_READ), QUERY(PAGE, PARAM("status"), PARAM("standing"))),
    R("GET", "/api/v1/organisations/{slug}/hours", handle_organisation_hours, MEMBER(ORG_MEMBER_READ)),
    R("GET", "/api/v1/me/portfolio", handle_my_portfolio, SIGNED_IN),
    /* saved searches: notified of new engagements that match */
    R("GET", "/api/v1/me/saved-searches", handle_saved_searches_list, SIGNED_IN, QUERY(PAGE)),
    R("POST", "/api/v1/me/saved-searches", handle_saved_search_create, SIGNED_IN, OBJECT, WRITE),
    R("DELETE", "/api/v1/me/saved-searches/{id}", handle_saved_search_delete, SIGNED_IN, WRITE),
    R("GET", "/api/v1/me/notifications", handle_my_notifications, SIGNED_IN,
      QUERY(PAGE, PARAM("unread"))),
    R("POST", "/api/v1/me/notifications/read", handle_my_notifications_read, SIGNED_IN, OBJECT,
      WRITE),
    R("POST", "/api/v1/me/notifications/feed", handle_my_notification_feed_create, SIGNED_IN,
      WRITE, SECRET),
    R("DELETE", "/api/v1/me/notifications/feed", handle_my_notification_feed_delete, SIGNED_IN,
      WRITE),
    R("GET", "/feeds/me/{token}", handle_notification_feed_atom, FEED_TOKEN(ME_FEED_SUFFIX)),
    R("GET", "/feeds/calendar/{token}", handle_calendar_feed, FEED_TOKEN(CALENDAR_FEED_SUFFIX)),
    R("GET", "/api/v1/me/export", handle_my_export, SIGNED_IN),

    /* credentials (docs/credentials.md); only the agent asks: the handler checks the side */
    R("GET", "/.well-known/did.json", handle_did_document, PUBLIC),
    R("POST", "/api/v1/agreements/{id}/credential", handle_credential_issue, PARTY(ORG_POST), WRITE),
    /* the hash-chained history with its head signed (lib/chain.h): the parties' to hand on */
    R("GET", "/api/v1/agreements/{id}/proof", handle_agreement_proof, PARTY(ORG_MEMBER_READ)),
    R("GET", "/api/v1/organisations/{slug}/charter/proof", handle_charter_proof,
      MEMBER(ORG_MEMBER_READ)),
    /* anyone may verify; it changes nothing, but a POST runs on the write pool */
    R("POST", "/api/v1/credentials/verify", handle_credential_verify, CALLER, OBJECT, WRITE),
    R("GET", "/api/v1/credentials/status/{list}", handle_credential_status_list, PUBLIC),
    /* a credential is seen by anyone once its agent publishes it, before by the agent only */
    R("GET", "/api/v1/credentials/{id}", handle_credential_get, CALLER),
    R("GET", "/api/v1/me/credentials", handle_my_credentials, SIGNED_IN, QUERY(PAGE)),
    R("PUT", "/api/v1/me/credentials/{id}/publication", handle_my_credential_publication, SIGNED_IN,
      OBJECT, WRITE),
    R("GET", "/api/v1/agents/{handle}/credentials", handle_agent_credentials, CALLER, QUERY(PAGE)),
    R("GET", "/api/v1/organisations/{slug}/credentials", handle_organisation_credentials,
      MEMBER(ORG_MEMBER_READ), QUERY(PAGE)),
    R("POST", "/api/v1/organisations/{slug}/credentials/{id}/revoke", handle_credential_revoke,
      MEMBER(ORG_POST), OBJECT, WRITE),

    /* website verification (docs/operations.md): owners ask for a token and
     * have it checked; administrators verify or unverify by hand (logged) */
    R("GET", "/api/v1/organisations/{slug}/verification", handle_verification_get,
      MEMBER(ORG_VERIFY_WEBSITE)),
    R("POST", "/api/v1/organisations/{slug}/verification", handle_verification_request,
      MEMBER(ORG_VERIFY_WEBSITE), WRITE),
    R("POST", "/api/v1/organisations/{slug}/verification/check", handle_verification_check,
      MEMBER(ORG_VERIFY_WEBSITE), WRITE),
    R("POST", "/api/v1/moderation/verifications", handle_verification_by_hand,
      INSTANCE(INSTANCE_ADMINISTER), OBJECT, WRITE),

    /* running the instance (docs/moderation.md): anyone signed in reports;
     * moderators work the queue; administrators grant roles */
    R("POST", "/api/v1/reports", handle_report_create, SIGNED_IN, OBJECT, WRITE),
    R("GET", "/api/v1/moderation/cases", handle_moderation_cases, INSTANCE(INSTANCE_MODERATE),
      QUERY(PAGE, PARAM("status"))),
    R("GET", "/api/v1/moderation/cases/{id}", handle_moderation_case, INSTANCE(INSTANCE_MODERATE)),
    R("POST", "/api/v1/moderation/actions", handle_moderation_act, INSTANCE(INSTANCE_MODERATE),
      OBJECT, WRITE, CHANGES(ALL)),
    /* curating the catalogue: merge, rename, retire a purpose or a skill */
    R("POST", "/api/v1/moderation/curation", handle_curation, INSTANCE(INSTANCE_MODERATE),
      OBJECT, WRITE, CHANGES(ALL)),
    R("GET", "/api/v1/moderation/log", handle_moderation_log, INSTANCE(INSTANCE_MODERATE),
      QUERY(PAGE)),
    R("GET", "/api/v1/moderation/appeals", handle_moderation_appeals, INSTANCE(INSTANCE_MODERATE),
      QUERY(PAGE)),
    R("GET", "/api/v1/moderation/roles", handle_instance_roles, INSTANCE(INSTANCE_MODERATE),
      QUERY(PAGE)),
    R("PUT", "/api/v1/moderation/roles/{account_id}", handle_instance_role_put,
      INSTANCE(INSTANCE_ADMINISTER), OBJECT, WRITE),
    R("DELETE", "/api/v1/moderation/roles/{account_id}", handle_instance_role_delete,
      INSTANCE(INSTANCE_ADMINISTER), WRITE),
    R("GET", "/api/v1/moderation/accounts", handle_moderation_accounts,
      INSTANCE(INSTANCE_MODERATE), QUERY(PAGE, FILTER("q"))),
    R("GET", "/api/v1/moderation/stats", handle_moderation_stats, INSTANCE(INSTANCE_MODERATE)),
    /* remote instances blocked (docs/federation.md, "Blocking"): moderators
     * read the list, administrators block and lift */
    R("GET", "/api/v1/moderation/instance-blocks", handle_instance_blocks_list,
      INSTANCE(INSTANCE_MODERATE), QUERY(PAGE)),
    R("POST", "/api/v1/moderation/instance-blocks", handle_instance_block_create,
      INSTANCE(INSTANCE_ADMINISTER), OBJECT, WRITE),
    R("DELETE", "/api/v1/moderation/instance-blocks/{id}", handle_instance_block_delete,
      INSTANCE(INSTANCE_ADMINISTER), WRITE),
    /* the actions concerning the caller, and their appeal */
    R("GET", "/api/v1/me/moderation", handle_my_moderation, SIGNED_IN, QUERY(PAGE)),
    R("POST", "/api/v1/me/moderation/{id}/appeal", handle_my_moderation_appeal, SIGNED_IN, OBJECT,
      WRITE),
    /* the instance as it describes itself; administrators set it */
    R("GET", "/api/v1/instance", handle_instance_get, PUBLIC),
    R("PATCH", "/api/v1/instance", handle_instance_patch, INSTANCE(INSTANCE_ADMINISTER), OBJECT,
      IF_MATCH, WRITE),

    /* federation (activitypub.c, docs/federation.md): the actors (also at the pages'
     * URLs for Accept: application/activity+json), discovery, the inboxes other
     * instances sign their deliveries to, and following remote organisations */
    R("GET", "/.well-known/webfinger", handle_webfinger, PUBLIC, QUERY(PARAM("resource"))),
    R("GET", "/.well-known/nodeinfo", handle_nodeinfo_links, PUBLIC, INLINE),
    R("GET", "/nodeinfo/2.1", handle_nodeinfo, PUBLIC),
    R("GET", "/actor", handle_ap_instance_actor, PUBLIC),
    R("GET", "/actor/outbox", handle_ap_empty_collection, PUBLIC),
    R("GET", "/actor/followers", handle_ap_empty_collection, PUBLIC),
    R("POST", "/actor/inbox", handle_ap_inbox, FEDERATION, WRITE),
    R("POST", "/inbox", handle_ap_inbox, FEDERATION, WRITE),
    R("GET", "/ap/organisations/{slug}", handle_ap_org_actor, PUBLIC),
    R("POST", "/ap/organisations/{slug}/inbox", handle_ap_inbox, FEDERATION, WRITE),
    R("GET", "/ap/organisations/{slug}/outbox", handle_ap_org_outbox, PUBLIC),
    R("GET", "/ap/organisations/{slug}/followers", handle_ap_org_followers, PUBLIC),
    R("GET", "/ap/organisations/{slug}/charter", handle_ap_org_charter, PUBLIC,
      QUERY(PARAM("page"))),
    R("GET", "/ap/agents/{handle}", handle_ap_agent_actor, PUBLIC),
    R("POST", "/ap/agents/{handle}/inbox", handle_ap_inbox, FEDERATION, WRITE),
    R("GET", "/ap/agents/{handle}/outbox", handle_ap_empty_collection, PUBLIC),
    R("GET", "/ap/agents/{handle}/followers", handle_ap_empty_collection, PUBLIC),
    R("POST", "/api/v1/me/remote-follows", handle_remote_follow_create, SIGNED_IN, OBJECT, WRITE),
    R("GET", "/api/v1/me/remote-follows", handle_remote_follows_list, SIGNED_IN, QUERY(PAGE)),
    R("DELETE", "/api/v1/me/remote-follows/{id}", handle_remote_follow_delete, SIGNED_IN, WRITE),
    R("GET", "/api/v1/remote-engagements", handle_remote_engagements_list, PUBLIC,
      QUERY(PAGE, FILTER("status"))),
    /* registration (docs/operations.md): administrators decide on the accounts
     * that await approval; administrators and organisation owners make
     * invitation links (the handler asks lib/authz which), each sees its own */
    R("GET", "/api/v1/registrations", handle_registrations_list, INSTANCE(INSTANCE_ADMINISTER),
      QUERY(PAGE, PARAM("status"))),
    R("POST", "/api/v1/registrations/{account_id}/approve", handle_registration_approve,
      INSTANCE(INSTANCE_ADMINISTER), .body = BODY_OBJECT_OPTIONAL, WRITE),
    R("POST", "/api/v1/registrations/{account_id}/refuse", handle_registration_refuse,
      INSTANCE(INSTANCE_ADMINISTER), .body = BODY_OBJECT_OPTIONAL, WRITE),
    R("POST", "/api/v1/registration-invitations", handle_registration_invitation_create,
      SIGNED_IN, OBJECT, WRITE, SECRET),
    R("GET", "/api/v1/registration-invitations", handle_registration_invitations_list, SIGNED_IN,
      QUERY(PAGE)),
    R("DELETE", "/api/v1/registration-invitations/{id}", handle_registration_invitation_revoke,
      SIGNED_IN, WRITE),
};

const size_t routes_count = sizeof routes / sizeof routes[0];
