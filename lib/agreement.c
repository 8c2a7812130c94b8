/* agreement: the state machine of relationship agreements (pure, no I/O).
 * proposed -> active (accept, other side) | declined (decline, other side) |
 * withdrawn (withdraw, proposer); active -> concluded (conclude, either side);
 * proposed|active -> proposed (amend, either side; renew too, once terms are
 * in force: a renewal is an amendment). An amendment of an active
 * agreement that is declined or withdrawn returns to active with the old terms. */
#include "agreement.h"

#include <stdio.h>
#include <string.h>

#include "vocab.h"

/* The names are lib/vocab.c's, in the enums' order. */
_Static_assert(AGREEMENT_STATUS_COUNT == VOCAB_AGREEMENT_STATUSES, "one name per status");
_Static_assert(AGREEMENT_ACTION_COUNT == VOCAB_AGREEMENT_ACTIONS, "one name per action");

#define BIT(a) (1u << (a))

static bool is_party(agreement_side_t side)
{
    return side == AGREEMENT_SIDE_AGENT || side == AGREEMENT_SIDE_ORGANISATION;
}

static bool side_closed(const agreement_state_t *s, agreement_side_t side)
{
    return side == AGREEMENT_SIDE_AGENT ? s->agent_closed : s->organisation_closed;
}

unsigned agreement_allowed_actions(const agreement_state_t *s, agreement_side_t side)
{
    if (!s || !is_party(side)) return 0;
    switch (s->status) {
    case AGREEMENT_PROPOSED: {
        if (!is_party(s->proposer)) return 0;
        /* a first proposal is amended, never renewed: nothing is in force yet */
        unsigned change = BIT(AGREEMENT_AMEND) | (s->has_active_terms ? BIT(AGREEMENT_RENEW) : 0);
        if (side == s->proposer) return BIT(AGREEMENT_WITHDRAW) | change;
        return BIT(AGREEMENT_ACCEPT) | BIT(AGREEMENT_DECLINE) | change;
    }
    case AGREEMENT_ACTIVE:
        return BIT(AGREEMENT_CONCLUDE) | BIT(AGREEMENT_AMEND) | BIT(AGREEMENT_RENEW);
    case AGREEMENT_CONCLUDED:
        return side_closed(s, side) ? 0 : BIT(AGREEMENT_CONCLUDE);
    case AGREEMENT_DECLINED:
    case AGREEMENT_WITHDRAWN:
        return 0;
    }
    return 0;
}

agreement_side_t agreement_awaiting(const agreement_state_t *s)
{
    if (!s || s->status != AGREEMENT_PROPOSED) return AGREEMENT_SIDE_NONE;
    if (s->proposer == AGREEMENT_SIDE_AGENT) return AGREEMENT_SIDE_ORGANISATION;
    if (s->proposer == AGREEMENT_SIDE_ORGANISATION) return AGREEMENT_SIDE_AGENT;
    return AGREEMENT_SIDE_NONE;
}

void agreement_actions_text(unsigned actions, char *buf, size_t cap)
{
    size_t o = 0;
    if (cap == 0) return;
    buf[0] = '\0';
    for (int a = 0; a < AGREEMENT_ACTION_COUNT; a++) {
        if (!(actions & BIT(a))) continue;
        int n = snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", vocab_agreement_actions[a]);
        if (n < 0 || (size_t)n >= cap - o) return;
        o += (size_t)n;
    }
    if (o == 0) snprintf(buf, cap, "none");
}

/* Why the status refuses the action, beyond its name. */
static const char *status_context(const agreement_state_t *s, agreement_side_t side)
{
    switch (s->status) {
    case AGREEMENT_PROPOSED:
        if (side == s->proposer)
            return s->has_active_terms ? " (your amendment awaits the other side's consent)"
                                       : " (your proposal awaits the other side's consent)";
        return s->has_active_terms ? " (an amendment awaits your consent)"
                                   : " (a proposal awaits your consent)";
    case AGREEMENT_CONCLUDED:
        return side_closed(s, side) ? " and your side has already recorded its closure" : "";
    case AGREEMENT_DECLINED:
    case AGREEMENT_WITHDRAWN:
        return " and can no longer change";
    case AGREEMENT_ACTIVE:
        return "";
    }
    return "";
}

int agreement_transition(const agreement_state_t *s, agreement_action_t action,
                         agreement_side_t side, agreement_outcome_t *out, problem_t *p)
{
    if (!s || !out || (unsigned)action >= AGREEMENT_ACTION_COUNT ||
        (unsigned)s->status >= AGREEMENT_STATUS_COUNT)
        return problem_fail(p, PROBLEM_INTERNAL, "Unknown agreement action or status.");
    unsigned allowed = agreement_allowed_actions(s, side);
    if (!(allowed & BIT(action))) {
        char list[96];
        agreement_actions_text(allowed, list, sizeof list);
        json_t *names = json_array();
        for (int a = 0; a < AGREEMENT_ACTION_COUNT; a++)
            if (allowed & BIT(a))
                json_array_append_new(names, json_string(vocab_agreement_actions[a]));
        problem_extend(p, "agreement_status", json_string(vocab_agreement_statuses[s->status]));
        problem_extend(p, "allowed_actions", names);
        return problem_fail(p, PROBLEM_ILLEGAL_TRANSITION,
                            "Cannot %s: the agreement is %s%s. Allowed actions for you: %s.",
                            vocab_agreement_actions[action], vocab_agreement_statuses[s->status],
                            status_context(s, side), list);
    }
    memset(out, 0, sizeof *out);
    switch (action) {
    case AGREEMENT_ACCEPT:
        out->status = AGREEMENT_ACTIVE;
        out->activates_pending = true;
        break;
    case AGREEMENT_DECLINE:
    case AGREEMENT_WITHDRAW:
        if (s->has_active_terms) {
            out->status = AGREEMENT_ACTIVE;
            out->drops_pending = true;
        } else {
            out->status = action == AGREEMENT_DECLINE ? AGREEMENT_DECLINED : AGREEMENT_WITHDRAWN;
        }
        break;
    case AGREEMENT_CONCLUDE:
        out->status = AGREEMENT_CONCLUDED;
        out->records_closure = true;
        break;
    case AGREEMENT_AMEND:
    case AGREEMENT_RENEW:
        out->status = AGREEMENT_PROPOSED;
        out->new_version = true;
        break;
    }
    return 0;
}

const char *agreement_status_name(agreement_status_t s)
{
    return (unsigned)s < AGREEMENT_STATUS_COUNT ? vocab_agreement_statuses[s] : "unknown";
}

int agreement_status_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < AGREEMENT_STATUS_COUNT; i++)
        if (strcmp(name, vocab_agreement_statuses[i]) == 0) return i;
    return -1;
}

const char *agreement_action_name(agreement_action_t a)
{
    return (unsigned)a < AGREEMENT_ACTION_COUNT ? vocab_agreement_actions[a] : "unknown";
}

int agreement_action_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; i < AGREEMENT_ACTION_COUNT; i++)
        if (strcmp(name, vocab_agreement_actions[i]) == 0) return i;
    return -1;
}

const char *agreement_side_name(agreement_side_t s)
{
    return s == AGREEMENT_SIDE_AGENT || s == AGREEMENT_SIDE_ORGANISATION
               ? vocab_agreement_sides[s - AGREEMENT_SIDE_AGENT]
               : "none";
}

int agreement_side_parse(const char *name)
{
    if (!name) return -1;
    for (int i = 0; vocab_agreement_sides[i]; i++)
        if (strcmp(name, vocab_agreement_sides[i]) == 0) return AGREEMENT_SIDE_AGENT + i;
    return -1;
}
