/* handlers: every route handler, one file per resource under handlers/. */
#ifndef PURPOSED_HANDLERS_H
#define PURPOSED_HANDLERS_H

#include "cursor.h"
#include "http.h"

/* ops.c */
void ops_set_latest_migration(const char *name);
void handle_healthz(req_t *r);
void handle_readyz(req_t *r);
void handle_metrics(req_t *r);
void handle_openapi(req_t *r);

/* accounts.c — accounts, sessions, /me */
void handle_account_create(req_t *r);
void handle_session_create(req_t *r);
void handle_session_delete(req_t *r);
void handle_me(req_t *r);
void handle_account_get(req_t *r);
void handle_account_update(req_t *r);
void handle_account_delete(req_t *r);

/* email.c: confirming the email address, resetting a forgotten password */
void handle_email_verify(req_t *r);
void handle_email_verification_resend(req_t *r);
void handle_password_reset_request(req_t *r);
void handle_password_reset_complete(req_t *r);
void handle_unsubscribe(req_t *r);
void handle_notification_preferences_get(req_t *r);
void handle_notification_preferences_put(req_t *r);

/* purposes.c — the catalogue, and the query parameters the lists share
 * (their pages: page.h) */
/* Reply 400 "bad-query" with the field errors collected in p. */
void purposes_bad_query(req_t *r, problem_t *p);
/* Query parameters: NULL when absent or empty; a field error in p when not
 * UTF-8 text of at most max_chars, or not a slug. */
const char *purposes_query_text(req_t *r, const char *key, size_t max_chars, problem_t *p);
const char *purposes_query_slug(req_t *r, const char *key, problem_t *p);
void handle_purposes_list(req_t *r);
void handle_purpose_get(req_t *r);
void handle_purpose_create(req_t *r);

/* skills.c — the catalogue of skills: suggestions by prefix */
void handle_skills_list(req_t *r);

/* places.c — the gazetteer: lookup by prefix, one place; the "place" field
 * of bodies and the near= filter of lists */
void handle_places_list(req_t *r);
void handle_place_get(req_t *r);
#define PLACES_MAX_KM 20040       /* half the earth's circumference: anywhere */
#define PLACES_DEFAULT_KM "50"    /* within_km when near= comes alone */
typedef struct places_near {
    bool given;
    char text[72];               /* near= as given */
    char latitude[40], longitude[40], km[40]; /* the centre and radius, as SQL text */
} places_near_t;
/* body[key]: a place id or null. *given when the key is there; out the id
 * ("" for null or a bad value, with a field error in p). Negative with p
 * filled when the database fails. */
int places_read(const json_t *body, const char *key, bool *given, char out[24], problem_t *p);
/* ?near=<place id | lat,lon>&within_km= into near (near->given false when
 * absent); field errors in p. Negative with p filled when the database fails. */
int places_query_near(req_t *r, places_near_t *near, problem_t *p);
/* The same from text (at: near's value or NULL; km: within_km's or NULL). */
int places_near_parse(const char *at, const char *km, places_near_t *near, problem_t *p);

/* saved_searches.c — a person's saved filter sets, notified of new matches */
void handle_saved_searches_list(req_t *r);
void handle_saved_search_create(req_t *r);
void handle_saved_search_delete(req_t *r);

/* organisations.c (organisations, charter, members, follows) */
void handle_organisations_list(req_t *r);
void handle_organisation_create(req_t *r);
void handle_organisation_get(req_t *r);
void handle_organisation_update(req_t *r);
void handle_charter_list(req_t *r);
void handle_members_list(req_t *r);
void handle_member_add(req_t *r);
void handle_member_remove(req_t *r);
void handle_invitation_accept(req_t *r);
void handle_invitation_decline(req_t *r);
void handle_invitation_preview(req_t *r);
void handle_invitation_accept_link(req_t *r);
void handle_invitations_list(req_t *r);
void handle_invitation_revoke(req_t *r);

/* agents.c, follows.c — agents, energy split, follows */
void handle_agent_put(req_t *r);
void handle_agent_get_own(req_t *r);
void handle_agent_purposes_put(req_t *r);
void handle_agents_list(req_t *r);
void handle_agent_get(req_t *r);
void handle_follow_put(req_t *r);
void handle_follow_delete(req_t *r);
void handle_followers_list(req_t *r);
void handle_my_follows(req_t *r);

/* engagements.c */
void handle_engagement_create(req_t *r);
void handle_engagements_list(req_t *r);
void handle_engagement_get(req_t *r);
void handle_engagement_update(req_t *r);

/* feeds.c */
void handle_feed_atom(req_t *r);
void handle_feed_json(req_t *r);

/* matching.c */
void handle_my_matches(req_t *r);
void handle_engagement_matches(req_t *r);

/* agreements.c (agreements, portfolio, notifications) */
void handle_agreement_create(req_t *r);
void handle_agreement_get(req_t *r);
void handle_agreement_patch(req_t *r);
void handle_agreement_renew(req_t *r);
void handle_agreement_versions(req_t *r);
void handle_agreement_accept(req_t *r);
void handle_agreement_decline(req_t *r);
void handle_agreement_withdraw(req_t *r);
void handle_agreement_conclude(req_t *r);
void handle_my_agreements(req_t *r);
void handle_organisation_agreements(req_t *r);
void handle_organisation_hours(req_t *r);
void handle_my_portfolio(req_t *r);
void handle_my_notifications(req_t *r);
void handle_my_notifications_read(req_t *r);
/* Write the notifications the account has not had yet: new engagements
 * still queued for the fan-out, review dates due (see
 * agreements.c). 0, or negative with p set (database). */
int agreements_review_notifications(const char *account_id, problem_t *p);

/* me.c — the account's export and its personal notification feed, at
 * /feeds/me/{token}ME_FEED_SUFFIX */
#define ME_FEED_SUFFIX ".atom"
void handle_my_export(req_t *r);
void handle_my_notification_feed_create(req_t *r);
void handle_my_notification_feed_delete(req_t *r);
void handle_notification_feed_atom(req_t *r);

/* agreement_threads.c (an agreement's messages and hours) */
void handle_agreement_messages(req_t *r);
void handle_agreement_message_create(req_t *r);
void handle_agreement_messages_read(req_t *r);
void handle_agreement_hours(req_t *r);
void handle_agreement_hours_log(req_t *r);
void handle_agreement_hours_confirm(req_t *r);
void handle_agreement_hours_dispute(req_t *r);
void handle_agreement_hours_csv(req_t *r);

/* engagement_questions.c — an agent's questions about an engagement, before a proposal */
void handle_engagement_threads(req_t *r);
void handle_engagement_thread(req_t *r);
void handle_engagement_thread_post(req_t *r);

/* calendar.c — the personal iCalendar feed of an account's agreements, at
 * /feeds/calendar/{token}CALENDAR_FEED_SUFFIX (the personal feed's token) */
#define CALENDAR_FEED_SUFFIX ".ics"
void handle_calendar_feed(req_t *r);

/* credentials.c — the did:web document, credentials for concluded
 * agreements, their status list, revocation, publication, verification */
void handle_did_document(req_t *r);
void handle_credential_issue(req_t *r);
void handle_agreement_proof(req_t *r);
void handle_charter_proof(req_t *r);
void handle_credential_get(req_t *r);
void handle_credential_status_list(req_t *r);
void handle_credential_verify(req_t *r);
void handle_my_credentials(req_t *r);
void handle_my_credential_publication(req_t *r);
void handle_agent_credentials(req_t *r);
void handle_organisation_credentials(req_t *r);
void handle_credential_revoke(req_t *r);

/* curation.c: moderators curate the catalogue (merge, rename, retire purposes
 * and skills); where an old purpose slug leads */
void handle_curation(req_t *r);
/* 1 and to filled: slug is a former or merged purpose's and leads to the
 * purpose `to`; 0: it does not; negative: answered (503). */
int curation_purpose_moved(req_t *r, const char *slug, char *to, size_t cap);
/* 301 + Location prefix+slug; with json, the body {slug, location}. */
void curation_reply_moved(req_t *r, const char *prefix, const char *slug, bool json);

/* moderation.c: running the instance (docs/moderation.md) */
void handle_report_create(req_t *r);
void handle_moderation_cases(req_t *r);
void handle_moderation_case(req_t *r);
void handle_moderation_act(req_t *r);
void handle_moderation_log(req_t *r);
void handle_moderation_appeals(req_t *r);
void handle_instance_roles(req_t *r);
void handle_instance_role_put(req_t *r);
void handle_instance_role_delete(req_t *r);
void handle_my_moderation(req_t *r);
void handle_my_moderation_appeal(req_t *r);
void handle_moderation_accounts(req_t *r);
void handle_moderation_stats(req_t *r);

/* instance.c: what the instance says about itself, and its administrators' settings */
void handle_instance_get(req_t *r);
void handle_instance_patch(req_t *r);

/* activitypub.c: federation (docs/federation.md); the actors at the pages'
 * URLs and the FEDERATION gate are activitypub.h's */
void handle_ap_instance_actor(req_t *r);
void handle_ap_org_actor(req_t *r);
void handle_ap_agent_actor(req_t *r);
void handle_webfinger(req_t *r);
void handle_nodeinfo_links(req_t *r);
void handle_nodeinfo(req_t *r);
void handle_ap_org_outbox(req_t *r);
void handle_ap_org_charter(req_t *r);
void handle_ap_org_followers(req_t *r);
void handle_ap_empty_collection(req_t *r);
void handle_ap_inbox(req_t *r);
void handle_remote_follow_create(req_t *r);
void handle_remote_follows_list(req_t *r);
void handle_remote_follow_delete(req_t *r);
void handle_remote_engagements_list(req_t *r);
/* verification.c: an organisation proves it controls its website; administrators vouch by hand */
void handle_verification_get(req_t *r);
void handle_verification_request(req_t *r);
void handle_verification_check(req_t *r);
void handle_verification_by_hand(req_t *r);
/* instance_blocks.c */
void handle_instance_blocks_list(req_t *r);
void handle_instance_block_create(req_t *r);
void handle_instance_block_delete(req_t *r);

/* registration.c: who may create an account (docs/operations.md, "Registration") */
void handle_registrations_list(req_t *r);
void handle_registration_approve(req_t *r);
void handle_registration_refuse(req_t *r);
void handle_registration_invitation_create(req_t *r);
void handle_registration_invitations_list(req_t *r);
void handle_registration_invitation_revoke(req_t *r);

#endif
