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
    ORG_VERIFY_WEBSITE,  /* prove the organisation controls its website: owner */
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
 * may be NULL for anonymous), then apply the policy. Returns 0, or negative
 * with p set: 404 (no such organisation), 403 (not allowed), 503 (database). */
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

/* ---------- the instance: administrators and moderators ---------- */

/* What an instance role may do (docs/moderation.md). */
typedef enum authz_instance_action {
    INSTANCE_MODERATE,    /* the reports queue, the moderation log, hiding, suspending,
                           * restoring, appeals, curating the catalogue (merge, rename,
                           * retire): a moderator or an administrator */
    INSTANCE_ADMINISTER,  /* instance roles and settings: an administrator */
} authz_instance_action_t;

/* Pure policy: may a caller with this instance role ("administrator",
 * "moderator", "" = none) do action? */
bool authz_instance_allows(const char *instance_role, authz_instance_action_t action);

/* Pure policy: may a caller see content a moderator hid? Its owners (the
 * organisation's members, the agent itself, the purpose's creator) and
 * those who moderate; everyone else gets 404. */
bool authz_hidden_visible(bool owner, const char *instance_role);

/* Pure policy: may actor (instance role) suspend an account holding
 * target_role? Never oneself; an account with no role by any moderator; a
 * moderator by an administrator only; an administrator never (revoke the
 * role first; those of ADMIN_EMAILS cannot be suspended). */
bool authz_suspension_allows(const char *actor_role, const char *target_role, bool self);

/* Pure policy: may actor grant or revoke instance roles of another account?
 * Administrators only, never their own (an instance keeps an administrator). */
bool authz_role_change_allows(const char *actor_role, bool self);

/* ADMIN_EMAILS (comma-separated, lower case): these accounts are
 * administrators whatever instance_roles says. Set once at start. */
void authz_set_admin_emails(const char *emails);
/* The same list, for a statement that shows roles (never NULL). */
const char *authz_admin_emails(void);

/* The instance role of account_id ("" when none, signed out, suspended or
 * deleted). Returns 0, or -1 with p set (503). */
int authz_instance_role(const char *account_id, char role[16], problem_t *p);
/* The same, then the policy: -1 with 403 when the role does not allow it. */
int authz_instance(const char *account_id, authz_instance_action_t action, char role[16],
                   problem_t *p);

/* ---------- registration (docs/operations.md, "Registration") ---------- */

typedef enum authz_registration {
    AUTHZ_REGISTRATION_ADMITTED,  /* the account is made and may sign in */
    AUTHZ_REGISTRATION_PENDING,   /* made, but it signs in once an administrator approves it */
    AUTHZ_REGISTRATION_REFUSED,   /* not made: the instance takes new accounts by invitation */
} authz_registration_t;

/* Pure policy: what a sign-up gets under the instance's registration mode
 * ("open", "approval", "invitation"), with or without a working invitation.
 * An invitation admits in every mode: on an instance that approves new
 * accounts, whoever an administrator or an owner invited needs no approval. */
authz_registration_t authz_registration(const char *mode, bool invited);

/* Pure policy: may a caller create a registration invitation? For an
 * organisation: its owners (org_role); for the instance: administrators. */
bool authz_registration_invite_allows(const char *instance_role, const char *org_role,
                                      bool for_organisation);

/* Pure policy: may a caller revoke a registration invitation? Its creator,
 * or an administrator. */
bool authz_registration_revoke_allows(bool creator, const char *instance_role);

/* Pure policy: is a caller held to the new accounts' write limit? An account
 * younger than the instance's new_account_days (young) whose email address
 * is not confirmed and that holds no instance role. */
bool authz_new_account_limited(bool young, bool email_verified, const char *instance_role);

/* May account_id create a registration invitation for the organisation slug
 * (NULL: for the instance)? 0 with out->id the organisation's id ("" for the
 * instance), or negative with p set: 404 no such organisation, 403, 503. */
int authz_registration_invite(const char *account_id, const char *slug, authz_org_t *out,
                              problem_t *p);

/* May account_id revoke registration invitation invitation_id? 0, or
 * negative with p set: 404 when it does not exist or the caller may not
 * (an invitation is private to its creator and the administrators), 503. */
int authz_registration_revoke(const char *account_id, const char *invitation_id, problem_t *p);

#endif
