/* authz: role policy and the lookups behind it. */
#include "authz.h"

#include <stdio.h>
#include <string.h>

#include "db.h"

bool authz_org_allows(const char *role, authz_org_action_t action)
{
    bool owner = role && strcmp(role, "owner") == 0;
    bool admin = role && strcmp(role, "admin") == 0;
    bool member = owner || admin || (role && strcmp(role, "member") == 0);
    switch (action) {
    case ORG_READ: return true;
    case ORG_MEMBER_READ:
    case ORG_POST: return member;
    case ORG_EDIT: return owner || admin;
    case ORG_MANAGE_MEMBERS: return owner;
    case ORG_VERIFY_WEBSITE: return owner;
    }
    return false;
}

bool authz_member_removal_allows(const char *role, bool self)
{
    if (authz_org_allows(role, ORG_MANAGE_MEMBERS)) return true;
    return self && authz_org_allows(role, ORG_MEMBER_READ);
}

/* the third column: the home of an organisation another instance keeps
 * (migration 0043), NULL for this instance's own */
static db_stmt_t q_org_role = DB_STMT("authz_org_role", true,
    "SELECT o.id, coalesce(m.role, ''), (SELECT coalesce(a.url, a.uri) FROM remote_actors a"
    "   WHERE a.id = o.remote_actor_id) FROM organisations o"
    " LEFT JOIN memberships m ON m.organisation_id = o.id AND m.account_id = $2::bigint"
    " WHERE o.slug = $1");
static db_stmt_t q_engagement_role = DB_STMT("authz_engagement_role", true,
    "SELECT e.organisation_id, coalesce(m.role, ''), coalesce(e.origin_url, e.origin_uri)"
    " FROM engagements e"
    " LEFT JOIN memberships m ON m.organisation_id = e.organisation_id AND m.account_id = $2::bigint"
    " WHERE e.id = $1::bigint");

static int check(db_stmt_t *st, const char *key, const char *account_id,
                 authz_org_action_t action, authz_org_t *out, problem_t *p, const char *what)
{
    const char *params[2] = {key, account_id};
    PGresult *res = db_exec(st, 2, params, p);
    if (!res) return problem_rc(p);
    if (PQntuples(res) != 1) {
        PQclear(res);
        return problem_fail(p, PROBLEM_NO_SUCH_ITEM, "No such %s.", what);
    }
    snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
    snprintf(out->role, sizeof out->role, "%s", PQgetvalue(res, 0, 1));
    /* what another instance sent is changed there, by its members; reading is anyone's */
    if (!PQgetisnull(res, 0, 2) && action != ORG_READ && action != ORG_MEMBER_READ) {
        int rc = problem_fail(p, PROBLEM_REMOTE,
                              "This %s is kept by another instance: it is changed there, at %.600s.",
                              what, PQgetvalue(res, 0, 2));
        PQclear(res);
        return rc;
    }
    PQclear(res);
    if (!authz_org_allows(out->role, action))
        return problem_fail(
            p, PROBLEM_FORBIDDEN, "%s",
            action == ORG_MANAGE_MEMBERS || action == ORG_VERIFY_WEBSITE
                ? "Only an owner of the organisation may do this."
            : action == ORG_EDIT         ? "Only an owner or admin of the organisation may do this."
                                         : "Only members of the organisation may do this.");
    return 0;
}

int authz_organisation(const char *account_id, const char *slug, authz_org_action_t action,
                       authz_org_t *out, problem_t *p)
{
    return check(&q_org_role, slug, account_id, action, out, p, "organisation");
}

int authz_engagement(const char *account_id, const char *engagement_id, authz_org_action_t action,
                     authz_org_t *out, problem_t *p)
{
    return check(&q_engagement_role, engagement_id, account_id, action, out, p, "engagement");
}

agreement_side_t authz_agreement_side(bool caller_is_agent, const char *org_role,
                                      authz_org_action_t action)
{
    if (caller_is_agent) return AGREEMENT_SIDE_AGENT;
    /* a member (ORG_MEMBER_READ is "any member") whose role allows action */
    if (authz_org_allows(org_role, ORG_MEMBER_READ) && authz_org_allows(org_role, action))
        return AGREEMENT_SIDE_ORGANISATION;
    return AGREEMENT_SIDE_NONE;
}

static db_stmt_t q_agreement_party = DB_STMT("authz_agreement_party", true,
    "SELECT a.organisation_id, g.account_id = $2::bigint,"
    " coalesce((SELECT m.role FROM memberships m WHERE m.organisation_id = a.organisation_id"
    "   AND m.account_id = $2::bigint), '')"
    " FROM agreements a LEFT JOIN agents g ON g.id = a.agent_id WHERE a.id = $1::bigint");

int authz_agreement(const char *account_id, const char *agreement_id, authz_org_action_t action,
                    authz_agreement_t *out, problem_t *p)
{
    const char *params[2] = {agreement_id, account_id};
    PGresult *res = db_exec(&q_agreement_party, 2, params, p);
    if (!res) return problem_rc(p);
    out->side = AGREEMENT_SIDE_NONE;
    out->caller_is_agent = false;
    out->role[0] = '\0';
    if (PQntuples(res) == 1) {
        snprintf(out->organisation_id, sizeof out->organisation_id, "%s", PQgetvalue(res, 0, 0));
        out->caller_is_agent = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
        snprintf(out->role, sizeof out->role, "%s", PQgetvalue(res, 0, 2));
        out->side = authz_agreement_side(out->caller_is_agent, out->role, action);
    }
    PQclear(res);
    if (out->side == AGREEMENT_SIDE_NONE) {
        if (authz_agreement_side(out->caller_is_agent, out->role, ORG_MEMBER_READ) !=
            AGREEMENT_SIDE_NONE)
            return problem_fail(p, PROBLEM_FORBIDDEN,
                                "Your role in the organisation may not decide on agreements.");
        return problem_fail(p, PROBLEM_NO_SUCH_ITEM, "No such agreement.");
    }
    return 0;
}

/* ---------- the instance ---------- */

bool authz_instance_allows(const char *instance_role, authz_instance_action_t action)
{
    bool administrator = instance_role && strcmp(instance_role, "administrator") == 0;
    bool moderator = administrator || (instance_role && strcmp(instance_role, "moderator") == 0);
    switch (action) {
    case INSTANCE_MODERATE: return moderator;
    case INSTANCE_ADMINISTER: return administrator;
    }
    return false;
}

bool authz_hidden_visible(bool owner, const char *instance_role)
{
    return owner || authz_instance_allows(instance_role, INSTANCE_MODERATE);
}

bool authz_suspension_allows(const char *actor_role, const char *target_role, bool self)
{
    if (self || !authz_instance_allows(actor_role, INSTANCE_MODERATE)) return false;
    if (!target_role || !target_role[0]) return true;
    if (authz_instance_allows(target_role, INSTANCE_ADMINISTER)) return false;
    return authz_instance_allows(actor_role, INSTANCE_ADMINISTER);
}

bool authz_role_change_allows(const char *actor_role, bool self)
{
    return !self && authz_instance_allows(actor_role, INSTANCE_ADMINISTER);
}

static char g_admin_emails[1024];

void authz_set_admin_emails(const char *emails)
{
    snprintf(g_admin_emails, sizeof g_admin_emails, "%s", emails ? emails : "");
}

const char *authz_admin_emails(void)
{
    return g_admin_emails;
}

/* ADMIN_EMAILS wins over a row (an administrator listed there stays one). */
static db_stmt_t q_instance_role = DB_STMT("authz_instance_role", true,
    "SELECT coalesce(x, '') FROM accounts a CROSS JOIN LATERAL account_instance_role(a, $2::text) x"
    " WHERE a.id = $1::bigint AND a.deleted_at IS NULL AND a.suspended_at IS NULL");

int authz_instance_role(const char *account_id, char role[16], problem_t *p)
{
    role[0] = '\0';
    if (!account_id || !account_id[0]) return 0;
    const char *params[2] = {account_id, g_admin_emails};
    PGresult *res = db_exec(&q_instance_role, 2, params, p);
    if (!res) return problem_rc(p);
    if (PQntuples(res) == 1) snprintf(role, 16, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return 0;
}

int authz_instance(const char *account_id, authz_instance_action_t action, char role[16],
                   problem_t *p)
{
    if (authz_instance_role(account_id, role, p) != 0) return problem_rc(p);
    if (authz_instance_allows(role, action)) return 0;
    return problem_fail(p, PROBLEM_FORBIDDEN,
                        action == INSTANCE_ADMINISTER
                            ? "Only an administrator of this instance may do this."
                            : "Only a moderator of this instance may do this.");
}

/* ---------- registration ---------- */

authz_registration_t authz_registration(const char *mode, bool invited)
{
    if (invited || !mode || strcmp(mode, "open") == 0) return AUTHZ_REGISTRATION_ADMITTED;
    if (strcmp(mode, "approval") == 0) return AUTHZ_REGISTRATION_PENDING;
    return AUTHZ_REGISTRATION_REFUSED; /* invitation, or a mode this daemon does not know */
}

bool authz_registration_invite_allows(const char *instance_role, const char *org_role,
                                      bool for_organisation)
{
    if (for_organisation) return authz_org_allows(org_role, ORG_MANAGE_MEMBERS);
    return authz_instance_allows(instance_role, INSTANCE_ADMINISTER);
}

bool authz_registration_revoke_allows(bool creator, const char *instance_role)
{
    return creator || authz_instance_allows(instance_role, INSTANCE_ADMINISTER);
}

bool authz_new_account_limited(bool young, bool email_verified, const char *instance_role)
{
    return young && !email_verified && !authz_instance_allows(instance_role, INSTANCE_MODERATE);
}

int authz_registration_invite(const char *account_id, const char *slug, authz_org_t *out,
                              problem_t *p)
{
    out->id[0] = '\0';
    out->role[0] = '\0';
    if (slug) {
        const char *params[2] = {slug, account_id};
        PGresult *res = db_exec(&q_org_role, 2, params, p);
        if (!res) return problem_rc(p);
        if (PQntuples(res) != 1) {
            PQclear(res);
            return problem_fail(p, PROBLEM_NO_SUCH_ITEM, "No such organisation.");
        }
        snprintf(out->id, sizeof out->id, "%s", PQgetvalue(res, 0, 0));
        snprintf(out->role, sizeof out->role, "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        if (!authz_registration_invite_allows(NULL, out->role, true))
            return problem_fail(p, PROBLEM_FORBIDDEN,
                                "Only an owner of the organisation may invite people to sign up "
                                "for it.");
        return 0;
    }
    char role[16];
    if (authz_instance_role(account_id, role, p) != 0) return problem_rc(p);
    if (!authz_registration_invite_allows(role, NULL, false))
        return problem_fail(p, PROBLEM_FORBIDDEN,
                            "Only an administrator invites people to this instance; an owner of "
                            "an organisation invites for it (give its slug as organisation).");
    return 0;
}

static db_stmt_t q_invitation_creator = DB_STMT("authz_registration_invitation_creator", true,
    "SELECT created_by = $2::bigint FROM registration_invitations WHERE id = $1::bigint");

int authz_registration_revoke(const char *account_id, const char *invitation_id, problem_t *p)
{
    const char *params[2] = {invitation_id, account_id};
    PGresult *res = db_exec(&q_invitation_creator, 2, params, p);
    if (!res) return problem_rc(p);
    bool found = PQntuples(res) == 1;
    bool creator = found && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    PQclear(res);
    char role[16] = "";
    if (found && !creator && authz_instance_role(account_id, role, p) != 0) return problem_rc(p);
    if (!found || !authz_registration_revoke_allows(creator, role))
        return problem_fail(p, PROBLEM_NO_SUCH_ITEM, "No such invitation.");
    return 0;
}
