/* agreement: the relationship agreement state machine, as pure functions (no
 * database): which actions each side may take in which status, and where each
 * action leads. The handlers load the state, ask here, and store the outcome. */
#ifndef PURPOSED_AGREEMENT_H
#define PURPOSED_AGREEMENT_H

#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

typedef enum agreement_status {
    AGREEMENT_PROPOSED,   /* terms await the side that did not propose them */
    AGREEMENT_ACTIVE,     /* terms in force, nothing pending */
    AGREEMENT_DECLINED,   /* the first proposal was declined: final */
    AGREEMENT_WITHDRAWN,  /* the first proposal was withdrawn: final */
    AGREEMENT_CONCLUDED,  /* ended; each side records its closure once */
} agreement_status_t;
#define AGREEMENT_STATUS_COUNT 5

typedef enum agreement_side {
    AGREEMENT_SIDE_NONE,  /* not a party (never allowed anything) */
    AGREEMENT_SIDE_AGENT,
    AGREEMENT_SIDE_ORGANISATION,
} agreement_side_t;

typedef enum agreement_action {
    AGREEMENT_ACCEPT,
    AGREEMENT_DECLINE,
    AGREEMENT_WITHDRAW,
    AGREEMENT_CONCLUDE,
    AGREEMENT_AMEND,      /* PATCH: propose new terms */
    AGREEMENT_RENEW,      /* propose terms in force past their review date (an amendment) */
} agreement_action_t;
#define AGREEMENT_ACTION_COUNT 6

/* Everything the rules depend on. has_active_terms: a version was accepted
 * and is in force (so a proposed agreement is an amendment of an active one). */
typedef struct agreement_state {
    agreement_status_t status;
    bool has_active_terms;
    agreement_side_t proposer;      /* side that proposed the pending/latest terms */
    bool agent_closed;              /* the agent recorded its closure */
    bool organisation_closed;       /* the organisation recorded its closure */
} agreement_state_t;

/* What a legal action does. */
typedef struct agreement_outcome {
    agreement_status_t status;      /* the new status */
    bool activates_pending;         /* accept: the pending terms come into force */
    bool drops_pending;             /* decline/withdraw of an amendment: old terms stay */
    bool new_version;               /* amend: a new version of the terms is written */
    bool records_closure;           /* conclude: the actor's closure is written */
} agreement_outcome_t;

/* Bit (1u << action) set for every action side may take now. */
unsigned agreement_allowed_actions(const agreement_state_t *s, agreement_side_t side);

/* Apply action by side. Returns 0 and fills out, or -PROBLEM_ILLEGAL_TRANSITION
 * with p holding a sentence that names the current status and the actions
 * side may take (also as the members agreement_status and allowed_actions);
 * -PROBLEM_INTERNAL for an unknown action or status. */
int agreement_transition(const agreement_state_t *s, agreement_action_t action,
                         agreement_side_t side, agreement_outcome_t *out, problem_t *p);

/* The side whose consent the pending terms await (NONE unless proposed). */
agreement_side_t agreement_awaiting(const agreement_state_t *s);

/* Names as used in the API and the database; parse returns -1 when unknown. */
const char *agreement_status_name(agreement_status_t s);
int agreement_status_parse(const char *name);
const char *agreement_action_name(agreement_action_t a);
int agreement_action_parse(const char *name);
const char *agreement_side_name(agreement_side_t s);   /* "agent", "organisation", "none" */
int agreement_side_parse(const char *name);            /* NONE is not parsed */
/* "accept, decline" or "none" for a set of allowed actions. */
void agreement_actions_text(unsigned actions, char *buf, size_t cap);

#endif
