/* Unit tests for lib/authz's pure policy: who may do what to an
 * organisation, who may remove a membership, and which side of an agreement
 * a caller acts for. The tables below ARE the policy, written out row by row
 * (not derived from the code): changing one cell must be a decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "authz.h"

#define N_ACTIONS 6
static const authz_org_action_t k_actions[N_ACTIONS] = {ORG_READ, ORG_MEMBER_READ, ORG_POST,
                                                         ORG_EDIT, ORG_MANAGE_MEMBERS,
                                                         ORG_VERIFY_WEBSITE};
static const char *const k_action_names[N_ACTIONS] = {"ORG_READ", "ORG_MEMBER_READ", "ORG_POST",
                                                      "ORG_EDIT", "ORG_MANAGE_MEMBERS",
                                                      "ORG_VERIFY_WEBSITE"};

/* Roles as the database stores them ("" = not a member), one it never
 * stores, a wrong-case spelling, and NULL (no lookup made). */
#define N_ROLES 7
static const char *const k_roles[N_ROLES] = {"owner", "admin", "member", "", "superuser",
                                             "Owner", NULL};

static const char *role_name(const char *role) { return role ? role : "(null)"; }

/* authz_org_allows: rows = roles in k_roles order, columns = k_actions. */
static const bool k_org_allows[N_ROLES][N_ACTIONS] = {
    /*               READ   MEMBER_READ POST   EDIT   MANAGE_MEMBERS VERIFY_WEBSITE */
    /* owner     */ {true,  true,       true,  true,  true,          true},
    /* admin     */ {true,  true,       true,  true,  false,         false},
    /* member    */ {true,  true,       true,  false, false,         false},
    /* ""        */ {true,  false,      false, false, false,         false},
    /* superuser */ {true,  false,      false, false, false,         false},
    /* Owner     */ {true,  false,      false, false, false,         false},
    /* NULL      */ {true,  false,      false, false, false,         false},
};

static void org_allows_table(void **state)
{
    (void)state;
    int wrong = 0;
    for (int r = 0; r < N_ROLES; r++)
        for (int a = 0; a < N_ACTIONS; a++) {
            bool got = authz_org_allows(k_roles[r], k_actions[a]);
            if (got != k_org_allows[r][a]) {
                print_error("authz_org_allows(%s, %s) = %d, policy says %d\n",
                            role_name(k_roles[r]), k_action_names[a], got, k_org_allows[r][a]);
                wrong++;
            }
        }
    assert_int_equal(wrong, 0);
}

/* An action outside the enum is refused to everyone, the owner included. */
static void unknown_action_is_refused(void **state)
{
    (void)state;
    for (int r = 0; r < N_ROLES; r++)
        assert_false(authz_org_allows(k_roles[r], (authz_org_action_t)99));
}

/* authz_member_removal_allows: rows = roles, columns = {someone else, self}. */
static const bool k_removal_allows[N_ROLES][2] = {
    /*               other  self */
    /* owner     */ {true,  true},
    /* admin     */ {false, true},
    /* member    */ {false, true},
    /* ""        */ {false, false},
    /* superuser */ {false, false},
    /* Owner     */ {false, false},
    /* NULL      */ {false, false},
};

static void member_removal_table(void **state)
{
    (void)state;
    int wrong = 0;
    for (int r = 0; r < N_ROLES; r++)
        for (int self = 0; self < 2; self++) {
            bool got = authz_member_removal_allows(k_roles[r], self);
            if (got != k_removal_allows[r][self]) {
                print_error("authz_member_removal_allows(%s, self=%d) = %d, policy says %d\n",
                            role_name(k_roles[r]), self, got, k_removal_allows[r][self]);
                wrong++;
            }
        }
    assert_int_equal(wrong, 0);
}

#define A AGREEMENT_SIDE_AGENT
#define O AGREEMENT_SIDE_ORGANISATION
#define N AGREEMENT_SIDE_NONE
/* authz_agreement_side when the caller is NOT the agreement's agent: rows =
 * roles, columns = k_actions. Only a member whose role allows the action acts
 * for the organisation; anyone else is not a party. */
static const agreement_side_t k_side_not_agent[N_ROLES][N_ACTIONS] = {
    /*               READ MEMBER_READ POST EDIT MANAGE_MEMBERS VERIFY_WEBSITE */
    /* owner     */ {O,   O,          O,   O,   O,             O},
    /* admin     */ {O,   O,          O,   O,   N,             N},
    /* member    */ {O,   O,          O,   N,   N,             N},
    /* ""        */ {N,   N,          N,   N,   N,             N},
    /* superuser */ {N,   N,          N,   N,   N,             N},
    /* Owner     */ {N,   N,          N,   N,   N,             N},
    /* NULL      */ {N,   N,          N,   N,   N,             N},
};
/* When the caller IS the agreement's agent they act as the agent, whatever
 * their role in the organisation: nobody consents for both sides. */
static const agreement_side_t k_side_agent[N_ROLES][N_ACTIONS] = {
    /*               READ MEMBER_READ POST EDIT MANAGE_MEMBERS VERIFY_WEBSITE */
    /* owner     */ {A,   A,          A,   A,   A,             A},
    /* admin     */ {A,   A,          A,   A,   A,             A},
    /* member    */ {A,   A,          A,   A,   A,             A},
    /* ""        */ {A,   A,          A,   A,   A,             A},
    /* superuser */ {A,   A,          A,   A,   A,             A},
    /* Owner     */ {A,   A,          A,   A,   A,             A},
    /* NULL      */ {A,   A,          A,   A,   A,             A},
};
#undef A
#undef O
#undef N

static void agreement_side_table(void **state)
{
    (void)state;
    int wrong = 0;
    for (int agent = 0; agent < 2; agent++)
        for (int r = 0; r < N_ROLES; r++)
            for (int a = 0; a < N_ACTIONS; a++) {
                agreement_side_t want = agent ? k_side_agent[r][a] : k_side_not_agent[r][a];
                agreement_side_t got = authz_agreement_side(agent, k_roles[r], k_actions[a]);
                if (got != want) {
                    print_error("authz_agreement_side(agent=%d, %s, %s) = %s, policy says %s\n",
                                agent, role_name(k_roles[r]), k_action_names[a],
                                agreement_side_name(got), agreement_side_name(want));
                    wrong++;
                }
            }
    assert_int_equal(wrong, 0);
}

/* ---------- the instance ---------- */

/* Instance roles as the database stores them ("" = none), one it never
 * stores, an organisation's role, a wrong-case spelling, and NULL. */
#define N_IROLES 7
static const char *const k_iroles[N_IROLES] = {"administrator", "moderator", "", "owner",
                                               "superuser", "Administrator", NULL};

/* authz_instance_allows: rows = k_iroles, columns = MODERATE, ADMINISTER. */
static const bool k_instance_allows[N_IROLES][2] = {
    /*                   MODERATE ADMINISTER */
    /* administrator */ {true,    true},
    /* moderator     */ {true,    false},
    /* ""            */ {false,   false},
    /* owner         */ {false,   false},
    /* superuser     */ {false,   false},
    /* Administrator */ {false,   false},
    /* NULL          */ {false,   false},
};

static void instance_allows_table(void **state)
{
    (void)state;
    const authz_instance_action_t actions[2] = {INSTANCE_MODERATE, INSTANCE_ADMINISTER};
    int wrong = 0;
    for (int r = 0; r < N_IROLES; r++)
        for (int a = 0; a < 2; a++) {
            bool got = authz_instance_allows(k_iroles[r], actions[a]);
            if (got != k_instance_allows[r][a]) {
                print_error("authz_instance_allows(%s, %d) = %d, policy says %d\n",
                            role_name(k_iroles[r]), a, got, k_instance_allows[r][a]);
                wrong++;
            }
        }
    assert_false(authz_instance_allows("administrator", (authz_instance_action_t)99));
    assert_int_equal(wrong, 0);
}

/* authz_hidden_visible: rows = k_iroles, columns = not owner, owner. */
static const bool k_hidden_visible[N_IROLES][2] = {
    /*                   other  owner */
    /* administrator */ {true,  true},
    /* moderator     */ {true,  true},
    /* ""            */ {false, true},
    /* owner         */ {false, true},
    /* superuser     */ {false, true},
    /* Administrator */ {false, true},
    /* NULL          */ {false, true},
};

static void hidden_visible_table(void **state)
{
    (void)state;
    int wrong = 0;
    for (int r = 0; r < N_IROLES; r++)
        for (int o = 0; o < 2; o++)
            if (authz_hidden_visible(o, k_iroles[r]) != k_hidden_visible[r][o]) {
                print_error("authz_hidden_visible(owner=%d, %s) wrong\n", o, role_name(k_iroles[r]));
                wrong++;
            }
    assert_int_equal(wrong, 0);
}

/* authz_suspension_allows: rows = actor, columns = target administrator,
 * moderator, none; another account (self is refused everywhere, below). */
static const bool k_suspension[N_IROLES][3] = {
    /*                   admin  moderator none */
    /* administrator */ {false, true,     true},
    /* moderator     */ {false, false,    true},
    /* ""            */ {false, false,    false},
    /* owner         */ {false, false,    false},
    /* superuser     */ {false, false,    false},
    /* Administrator */ {false, false,    false},
    /* NULL          */ {false, false,    false},
};

static void suspension_table(void **state)
{
    (void)state;
    const char *const targets[3] = {"administrator", "moderator", ""};
    int wrong = 0;
    for (int r = 0; r < N_IROLES; r++)
        for (int t = 0; t < 3; t++) {
            if (authz_suspension_allows(k_iroles[r], targets[t], false) != k_suspension[r][t]) {
                print_error("authz_suspension_allows(%s, %s) wrong\n", role_name(k_iroles[r]),
                            targets[t]);
                wrong++;
            }
            if (authz_suspension_allows(k_iroles[r], targets[t], true)) {
                print_error("authz_suspension_allows(%s, %s, self) allowed\n",
                            role_name(k_iroles[r]), targets[t]);
                wrong++;
            }
        }
    assert_true(authz_suspension_allows("moderator", NULL, false));
    assert_int_equal(wrong, 0);
}

/* authz_role_change_allows: administrators, never on themselves. */
static void role_change_table(void **state)
{
    (void)state;
    for (int r = 0; r < N_IROLES; r++) {
        bool admin = r == 0;
        assert_int_equal(authz_role_change_allows(k_iroles[r], false), admin);
        assert_false(authz_role_change_allows(k_iroles[r], true));
    }
}

/* authz_registration: rows = mode, columns = without, with a working
 * invitation. An unknown mode takes no one without an invitation. */
static void registration_table(void **state)
{
    (void)state;
    static const char *const modes[] = {"open", "approval", "invitation", "closed", "Open"};
    static const authz_registration_t k[5][2] = {
        /*              uninvited                    invited */
        /* open       */ {AUTHZ_REGISTRATION_ADMITTED, AUTHZ_REGISTRATION_ADMITTED},
        /* approval   */ {AUTHZ_REGISTRATION_PENDING, AUTHZ_REGISTRATION_ADMITTED},
        /* invitation */ {AUTHZ_REGISTRATION_REFUSED, AUTHZ_REGISTRATION_ADMITTED},
        /* closed     */ {AUTHZ_REGISTRATION_REFUSED, AUTHZ_REGISTRATION_ADMITTED},
        /* Open       */ {AUTHZ_REGISTRATION_REFUSED, AUTHZ_REGISTRATION_ADMITTED},
    };
    int wrong = 0;
    for (int m = 0; m < 5; m++)
        for (int i = 0; i < 2; i++)
            if (authz_registration(modes[m], i == 1) != k[m][i]) {
                print_error("authz_registration(%s, %s) wrong\n", modes[m], i ? "invited" : "uninvited");
                wrong++;
            }
    assert_int_equal(wrong, 0);
}

/* Who makes invitation links: owners for their organisation, administrators
 * for the instance; who revokes: the creator or an administrator; who is
 * held to the new accounts' limit: young, unconfirmed, without a role. */
static void registration_invite_and_limit(void **state)
{
    (void)state;
    for (int r = 0; r < N_ROLES; r++) {
        bool owner = r == 0;
        assert_int_equal(authz_registration_invite_allows(NULL, k_roles[r], true), owner);
        assert_false(authz_registration_invite_allows(NULL, k_roles[r], false));
    }
    for (int r = 0; r < N_IROLES; r++) {
        bool admin = r == 0;
        assert_int_equal(authz_registration_invite_allows(k_iroles[r], NULL, false), admin);
        assert_int_equal(authz_registration_invite_allows(k_iroles[r], "owner", true), true);
        assert_int_equal(authz_registration_invite_allows(k_iroles[r], "admin", true), false);
        assert_int_equal(authz_registration_revoke_allows(false, k_iroles[r]), admin);
        assert_true(authz_registration_revoke_allows(true, k_iroles[r]));
    }
    assert_true(authz_new_account_limited(true, false, ""));
    assert_true(authz_new_account_limited(true, false, NULL));
    assert_false(authz_new_account_limited(false, false, ""));
    assert_false(authz_new_account_limited(true, true, ""));
    assert_false(authz_new_account_limited(true, false, "moderator"));
    assert_false(authz_new_account_limited(true, false, "administrator"));
    assert_true(authz_new_account_limited(true, false, "superuser")); /* no role the instance knows */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(org_allows_table),
        cmocka_unit_test(unknown_action_is_refused),
        cmocka_unit_test(member_removal_table),
        cmocka_unit_test(agreement_side_table),
        cmocka_unit_test(instance_allows_table),
        cmocka_unit_test(hidden_visible_table),
        cmocka_unit_test(suspension_table),
        cmocka_unit_test(role_change_table),
        cmocka_unit_test(registration_table),
        cmocka_unit_test(registration_invite_and_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
