/* fed_agreements: agreements across instances (docs/federation.md,
 * "Agreements across instances", migration 0042). Each act on a federated
 * agreement travels to the other party's instance as a signed activity
 * (Offer, Accept, Reject, Undo, Update) whose object is the Agreement with
 * the record entries the act wrote, exactly as history_entries gives them,
 * and the chain head after them; the receiver writes the same entries
 * (same times, same actors), links them, and refuses the activity unless
 * its own chain head is the sender's. */
#ifndef PURPOSED_FED_AGREEMENTS_H
#define PURPOSED_FED_AGREEMENTS_H

#include <jansson.h>

#include "problem.h"

/* After a local write on agreement agreement_id, in its transaction and
 * after chain_append: when the agreement is federated, queue the activity
 * of action ("propose", "accept", "decline", "withdraw", "amend", "renew",
 * "conclude") to the other party's inbox, signed by the local party's
 * actor. 0 (also for an agreement kept here only), or negative with p set. */
int fed_agreement_send(const char *agreement_id, const char *action, problem_t *p);

/* An activity received at an inbox from the verified actor (sender_id,
 * sender_uri). 0 when it is not about an agreement (its object is no
 * Agreement); 1 when taken, or already taken before (the same activity id);
 * negative with p set: 403 when the sender is not the remote party of that
 * agreement (or not the agent an Offer names), 409 when it cannot apply yet
 * (an agreement not offered here yet, a transition out of order: the
 * sender's deliver job retries), 422 when it is wrong. Runs in a
 * transaction of its own. */
int fed_agreement_receive(const json_t *activity, long long sender_id, const char *sender_uri,
                          problem_t *p);

#endif
