/* authz: the one place that answers "may this account do X to Y". Every
 * handler asks these functions; policy is pure (authz_org_allows) and the
 * lookups are single statements. What the caller may not see is a 404. */
#ifndef PURPOSED_AUTHZ_H
#define PURPOSED_AUTHZ_H

#include <stdbool.h>

#include "agreement.h"
#include "problem.h"

typedef enum authz_org_action {
    ORG_READ,            /* anyone */
    ORG_MEMBER_READ,     /* see followers, agreements, candidates: any member */
    ORG_POST,            /* post and edit engagements, propose agreements: any member */
    ORG_EDIT,            /* edit the organisation and its charter: owner or admin */
    ORG_MANAGE_MEMBERS,  /* add and remove members: owner */
} authz_org_action_t;

typedef struct authz_org {
    char id[24];         /* organisation id, text */
    char role[16];       /* caller's role: "owner", "admin", "member" or "" */
} authz_org_t;

/* Pure policy: may a caller with this role ("" = not a member) do action? */
bool authz_org_allows(const char *role, authz_org_action_t action);

/* Pure policy: may a caller with this role remove a membership? An owner
 * removes anyone; any member may remove themselves (leave). */
bool authz_member_removal_allows(const char *role, bool self);

/* Look up the organisation by slug and the caller's role in it (account_id
 * may be NULL for anonymous), then apply the policy. Returns 0, or -1 with p
 * set: 404 (no such organisation), 403 (not allowed), 503 (database). */
int authz_organisation(const char *account_id, const char *slug, authz_org_action_t action,
                       authz_org_t *out, problem_t *p);
/* The same for the organisation that owns engagement id; out->id is the
 * organisation's id. 404 when the engagement does not exist. */
int authz_engagement(const char *account_id, const char *engagement_id, authz_org_action_t action,
                     authz_org_t *out, problem_t *p);

/* Pure policy for agreements: the side the caller acts for. The agreement's
 * agent acts as the agent even when also a member of the organisation (nobody
 * consents for both sides); otherwise a member whose role allows action
 * (ORG_MEMBER_READ to read, ORG_POST to propose and decide) acts for the
 * organisation. AGREEMENT_SIDE_NONE: not a party (reads answer 404). */
agreement_side_t authz_agreement_side(bool caller_is_agent, const char *org_role,
                                      authz_org_action_t action);

typedef struct authz_agreement {
    agreement_side_t side;  /* the side the caller acts for */
    char organisation_id[24];
    bool caller_is_agent;   /* what the side was decided from, for other actions */
    char role[16];          /* the caller's role in the organisation, "" if none */
} authz_agreement_t;

/* Look up agreement id and the caller's side for action; 404 when it does not
 * exist or the caller is not a party, 403 when a party whose role may read it
 * but not do action, 503 on database failure. */
int authz_agreement(const char *account_id, const char *agreement_id, authz_org_action_t action,
                    authz_agreement_t *out, problem_t *p);

#endif
