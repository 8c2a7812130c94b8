/* Unit tests for lib/agreement: every (state, action, actor) triple against a
 * written-out table of expected results, outcome flags and error sentences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "agreement.h"

#define AG AGREEMENT_SIDE_AGENT
#define ORG AGREEMENT_SIDE_ORGANISATION
#define NONE AGREEMENT_SIDE_NONE

typedef struct state_case {
    const char *name;
    agreement_state_t state;
} state_case_t;

static const state_case_t states[] = {
    {"proposed by agent", {AGREEMENT_PROPOSED, false, AG, false, false}},
    {"proposed by organisation", {AGREEMENT_PROPOSED, false, ORG, false, false}},
    {"amendment by agent", {AGREEMENT_PROPOSED, true, AG, false, false}},
    {"amendment by organisation", {AGREEMENT_PROPOSED, true, ORG, false, false}},
    {"active", {AGREEMENT_ACTIVE, true, AG, false, false}},
    {"declined", {AGREEMENT_DECLINED, false, AG, false, false}},
    {"withdrawn", {AGREEMENT_WITHDRAWN, false, ORG, false, false}},
    {"concluded, agent closed", {AGREEMENT_CONCLUDED, true, AG, true, false}},
    {"concluded, organisation closed", {AGREEMENT_CONCLUDED, true, AG, false, true}},
    {"concluded, both closed", {AGREEMENT_CONCLUDED, true, ORG, true, true}},
};
#define NSTATES (sizeof states / sizeof states[0])

static const agreement_side_t actors[] = {AG, ORG, NONE};

/* expected[state][actor][action]: the new status name, or "-" for refused.
 * Actions in order: accept, decline, withdraw, conclude, amend, renew. */
static const char *const expected[NSTATES][3][AGREEMENT_ACTION_COUNT] = {
    /* proposed by agent */
    {{"-", "-", "withdrawn", "-", "proposed", "-"},
     {"active", "declined", "-", "-", "proposed", "-"},
     {"-", "-", "-", "-", "-", "-"}},
    /* proposed by organisation */
    {{"active", "declined", "-", "-", "proposed", "-"},
     {"-", "-", "withdrawn", "-", "proposed", "-"},
     {"-", "-", "-", "-", "-", "-"}},
    /* amendment by agent: decline/withdraw return to active */
    {{"-", "-", "active", "-", "proposed", "proposed"},
     {"active", "active", "-", "-", "proposed", "proposed"},
     {"-", "-", "-", "-", "-", "-"}},
    /* amendment by organisation */
    {{"active", "active", "-", "-", "proposed", "proposed"},
     {"-", "-", "active", "-", "proposed", "proposed"},
     {"-", "-", "-", "-", "-", "-"}},
    /* active */
    {{"-", "-", "-", "concluded", "proposed", "proposed"},
     {"-", "-", "-", "concluded", "proposed", "proposed"},
     {"-", "-", "-", "-", "-", "-"}},
    /* declined */
    {{"-", "-", "-", "-", "-", "-"}, {"-", "-", "-", "-", "-", "-"}, {"-", "-", "-", "-", "-", "-"}},
    /* withdrawn */
    {{"-", "-", "-", "-", "-", "-"}, {"-", "-", "-", "-", "-", "-"}, {"-", "-", "-", "-", "-", "-"}},
    /* concluded, agent closed: only the organisation may still record */
    {{"-", "-", "-", "-", "-", "-"}, {"-", "-", "-", "concluded", "-", "-"}, {"-", "-", "-", "-", "-", "-"}},
    /* concluded, organisation closed */
    {{"-", "-", "-", "concluded", "-", "-"}, {"-", "-", "-", "-", "-", "-"}, {"-", "-", "-", "-", "-", "-"}},
    /* concluded, both closed */
    {{"-", "-", "-", "-", "-", "-"}, {"-", "-", "-", "-", "-", "-"}, {"-", "-", "-", "-", "-", "-"}},
};

static void every_triple_matches_the_table(void **state)
{
    (void)state;
    int checked = 0;
    for (size_t s = 0; s < NSTATES; s++) {
        for (size_t a = 0; a < 3; a++) {
            unsigned allowed = agreement_allowed_actions(&states[s].state, actors[a]);
            for (int act = 0; act < AGREEMENT_ACTION_COUNT; act++) {
                const char *want = expected[s][a][act];
                agreement_outcome_t out;
                problem_t p;
                problem_init(&p);
                int rc = agreement_transition(&states[s].state, (agreement_action_t)act, actors[a],
                                              &out, &p);
                const char *err = p.detail;
                char where[160];
                snprintf(where, sizeof where, "%s / %s / %s", states[s].name,
                         agreement_side_name(actors[a]), agreement_action_name((agreement_action_t)act));
                if (strcmp(want, "-") == 0) {
                    if (rc != -PROBLEM_ILLEGAL_TRANSITION) fail_msg("%s: expected refusal", where);
                    if (p.status != 409) fail_msg("%s: refusal is not a 409", where);
                    if (allowed & (1u << act)) fail_msg("%s: listed as allowed", where);
                    /* the sentence names the current status and what is allowed */
                    if (!strstr(err, agreement_status_name(states[s].state.status)))
                        fail_msg("%s: error does not name the status: %s", where, err);
                    if (!strstr(err, "Allowed actions for you: "))
                        fail_msg("%s: error does not list allowed actions: %s", where, err);
                } else {
                    if (rc != 0) fail_msg("%s: expected %s, refused: %s", where, want, err);
                    if (!(allowed & (1u << act))) fail_msg("%s: not listed as allowed", where);
                    assert_string_equal(agreement_status_name(out.status), want);
                }
                problem_clear(&p);
                checked++;
            }
        }
    }
    assert_int_equal(checked, (int)NSTATES * 3 * AGREEMENT_ACTION_COUNT);
}

static void outcome_flags(void **state)
{
    (void)state;
    agreement_outcome_t out;
    const agreement_state_t proposed = {AGREEMENT_PROPOSED, false, AG, false, false};
    const agreement_state_t amendment = {AGREEMENT_PROPOSED, true, AG, false, false};
    const agreement_state_t active = {AGREEMENT_ACTIVE, true, AG, false, false};

    assert_int_equal(agreement_transition(&proposed, AGREEMENT_ACCEPT, ORG, &out, NULL), 0);
    assert_true(out.activates_pending);
    assert_false(out.drops_pending || out.new_version || out.records_closure);

    assert_int_equal(agreement_transition(&proposed, AGREEMENT_DECLINE, ORG, &out, NULL), 0);
    assert_false(out.activates_pending || out.drops_pending || out.new_version || out.records_closure);

    assert_int_equal(agreement_transition(&amendment, AGREEMENT_DECLINE, ORG, &out, NULL), 0);
    assert_true(out.drops_pending);
    assert_int_equal(out.status, AGREEMENT_ACTIVE);

    assert_int_equal(agreement_transition(&amendment, AGREEMENT_WITHDRAW, AG, &out, NULL), 0);
    assert_true(out.drops_pending);
    assert_false(out.activates_pending);

    assert_int_equal(agreement_transition(&amendment, AGREEMENT_ACCEPT, ORG, &out, NULL), 0);
    assert_true(out.activates_pending);

    assert_int_equal(agreement_transition(&active, AGREEMENT_AMEND, ORG, &out, NULL), 0);
    assert_true(out.new_version);
    assert_int_equal(out.status, AGREEMENT_PROPOSED);

    assert_int_equal(agreement_transition(&active, AGREEMENT_CONCLUDE, AG, &out, NULL), 0);
    assert_true(out.records_closure);
}

static void error_sentences_explain(void **state)
{
    (void)state;
    agreement_outcome_t out;
    problem_t p;
    problem_init(&p);
    const agreement_state_t proposed = {AGREEMENT_PROPOSED, false, AG, false, false};
    assert_int_equal(agreement_transition(&proposed, AGREEMENT_ACCEPT, AG, &out, &p),
                     -PROBLEM_ILLEGAL_TRANSITION);
    assert_string_equal(p.detail, "Cannot accept: the agreement is proposed (your proposal awaits the "
                                  "other side's consent). Allowed actions for you: withdraw, amend.");
    /* the answer also carries the status and the allowed actions as members */
    json_t *j = problem_to_json(&p);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 409);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "https://purposed.dev/problems/illegal-transition");
    assert_string_equal(json_string_value(json_object_get(j, "agreement_status")), "proposed");
    json_t *allowed = json_object_get(j, "allowed_actions");
    assert_int_equal(json_array_size(allowed), 2);
    assert_string_equal(json_string_value(json_array_get(allowed, 0)), "withdraw");
    assert_string_equal(json_string_value(json_array_get(allowed, 1)), "amend");
    json_decref(j);
    problem_clear(&p);
    const agreement_state_t done = {AGREEMENT_CONCLUDED, true, AG, true, false};
    assert_int_equal(agreement_transition(&done, AGREEMENT_CONCLUDE, AG, &out, &p),
                     -PROBLEM_ILLEGAL_TRANSITION);
    assert_string_equal(p.detail, "Cannot conclude: the agreement is concluded and your side has already "
                                  "recorded its closure. Allowed actions for you: none.");
    assert_int_equal(json_array_size(json_object_get(p.extensions, "allowed_actions")), 0);
    problem_clear(&p);
    const agreement_state_t declined = {AGREEMENT_DECLINED, false, AG, false, false};
    assert_int_equal(agreement_transition(&declined, AGREEMENT_AMEND, ORG, &out, &p),
                     -PROBLEM_ILLEGAL_TRANSITION);
    assert_non_null(strstr(p.detail, "declined"));
    problem_clear(&p);
    /* out of range inputs are refused */
    agreement_state_t bad = proposed;
    bad.status = (agreement_status_t)42;
    assert_int_equal(agreement_transition(&bad, AGREEMENT_ACCEPT, ORG, &out, &p), -PROBLEM_INTERNAL);
    assert_int_equal(p.status, 500);
    problem_clear(&p);
    assert_int_equal(agreement_transition(&proposed, (agreement_action_t)9, ORG, &out, NULL),
                     -PROBLEM_INTERNAL);
    assert_int_equal(agreement_transition(NULL, AGREEMENT_ACCEPT, ORG, &out, NULL), -PROBLEM_INTERNAL);
    /* a proposed state without a proposer allows nothing */
    bad = proposed;
    bad.proposer = NONE;
    assert_int_equal(agreement_allowed_actions(&bad, AG), 0);
}

static void awaiting_and_names(void **state)
{
    (void)state;
    const agreement_state_t by_agent = {AGREEMENT_PROPOSED, false, AG, false, false};
    const agreement_state_t by_org = {AGREEMENT_PROPOSED, true, ORG, false, false};
    const agreement_state_t active = {AGREEMENT_ACTIVE, true, ORG, false, false};
    assert_int_equal(agreement_awaiting(&by_agent), ORG);
    assert_int_equal(agreement_awaiting(&by_org), AG);
    assert_int_equal(agreement_awaiting(&active), NONE);

    for (int i = 0; i < AGREEMENT_STATUS_COUNT; i++)
        assert_int_equal(agreement_status_parse(agreement_status_name((agreement_status_t)i)), i);
    for (int i = 0; i < AGREEMENT_ACTION_COUNT; i++)
        assert_int_equal(agreement_action_parse(agreement_action_name((agreement_action_t)i)), i);
    assert_int_equal(agreement_status_parse("Active"), -1);
    assert_int_equal(agreement_status_parse(NULL), -1);
    assert_int_equal(agreement_action_parse("delete"), -1);
    assert_int_equal(agreement_side_parse("agent"), AG);
    assert_int_equal(agreement_side_parse("organisation"), ORG);
    assert_int_equal(agreement_side_parse("none"), -1);
    assert_string_equal(agreement_side_name(NONE), "none");

    char buf[64];
    agreement_actions_text(0, buf, sizeof buf);
    assert_string_equal(buf, "none");
    agreement_actions_text((1u << AGREEMENT_ACCEPT) | (1u << AGREEMENT_AMEND), buf, sizeof buf);
    assert_string_equal(buf, "accept, amend");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_triple_matches_the_table),
        cmocka_unit_test(outcome_flags),
        cmocka_unit_test(error_sentences_explain),
        cmocka_unit_test(awaiting_and_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
