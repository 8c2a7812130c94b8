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

#define N_ACTIONS 5
static const authz_org_action_t k_actions[N_ACTIONS] = {ORG_READ, ORG_MEMBER_READ, ORG_POST,
                                                         ORG_EDIT, ORG_MANAGE_MEMBERS};
static const char *const k_action_names[N_ACTIONS] = {"ORG_READ", "ORG_MEMBER_READ", "ORG_POST",
                                                      "ORG_EDIT", "ORG_MANAGE_MEMBERS"};

/* Roles as the database stores them ("" = not a member), one it never
 * stores, a wrong-case spelling, and NULL (no lookup made). */
#define N_ROLES 7
static const char *const k_roles[N_ROLES] = {"owner", "admin", "member", "", "superuser",
                                             "Owner", NULL};

static const char *role_name(const char *role) { return role ? role : "(null)"; }

/* authz_org_allows: rows = roles in k_roles order, columns = k_actions. */
static const bool k_org_allows[N_ROLES][N_ACTIONS] = {
    /*               READ   MEMBER_READ POST   EDIT   MANAGE_MEMBERS */
    /* owner     */ {true,  true,       true,  true,  true},
    /* admin     */ {true,  true,       true,  true,  false},
    /* member    */ {true,  true,       true,  false, false},
    /* ""        */ {true,  false,      false, false, false},
    /* superuser */ {true,  false,      false, false, false},
    /* Owner     */ {true,  false,      false, false, false},
    /* NULL      */ {true,  false,      false, false, false},
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
    /*               READ MEMBER_READ POST EDIT MANAGE_MEMBERS */
    /* owner     */ {O,   O,          O,   O,   O},
    /* admin     */ {O,   O,          O,   O,   N},
    /* member    */ {O,   O,          O,   N,   N},
    /* ""        */ {N,   N,          N,   N,   N},
    /* superuser */ {N,   N,          N,   N,   N},
    /* Owner     */ {N,   N,          N,   N,   N},
    /* NULL      */ {N,   N,          N,   N,   N},
};
/* When the caller IS the agreement's agent they act as the agent, whatever
 * their role in the organisation: nobody consents for both sides. */
static const agreement_side_t k_side_agent[N_ROLES][N_ACTIONS] = {
    /*               READ MEMBER_READ POST EDIT MANAGE_MEMBERS */
    /* owner     */ {A,   A,          A,   A,   A},
    /* admin     */ {A,   A,          A,   A,   A},
    /* member    */ {A,   A,          A,   A,   A},
    /* ""        */ {A,   A,          A,   A,   A},
    /* superuser */ {A,   A,          A,   A,   A},
    /* Owner     */ {A,   A,          A,   A,   A},
    /* NULL      */ {A,   A,          A,   A,   A},
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(org_allows_table),
        cmocka_unit_test(unknown_action_is_refused),
        cmocka_unit_test(member_removal_table),
        cmocka_unit_test(agreement_side_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
