/* fed_remote: what remote organisations send, kept on the receiving side as
 * rows of organisations and engagements (migration 0043), so that this
 * instance's one list, search and matching read them with its own ones
 * (docs/federation.md, "On the receiving side"). An engagement's Create,
 * Update and Delete; the organisation's document, charter versions and open
 * engagements, fetched by the "remote_organisation" job on follow and when
 * an Update of the organisation arrives; and, sending, the Update of a local
 * organisation's Group when it changes ("federate_organisation" job). What a
 * sender sent is cut to the columns' limits, never a 500. */
#ifndef PURPOSED_FED_REMOTE_H
#define PURPOSED_FED_REMOTE_H

#include <jansson.h>

#include "federation.h"
#include "problem.h"

/* The most charter versions and outbox items read from one remote organisation. */
#define FED_REMOTE_MAX_CHARTER 200
#define FED_REMOTE_MAX_OUTBOX 50

/* A Create or Update of object (a Page) sent or served by actor a: kept as
 * an engagement of a's organisation when this instance follows a, a is a
 * Group or Organization and the object is a's (attributedTo, same origin). 1 when kept, 0 when not an
 * engagement this instance keeps, negative with p set on a database error. */
int fed_remote_take_engagement(const federation_actor_t *a, const json_t *object, problem_t *p);

/* A Delete of object_uri by actor a: the engagement is closed (out of lists,
 * search and matches; kept, as a closed local one is). 0, or negative. */
int fed_remote_close_engagement(const federation_actor_t *a, const char *object_uri,
                                problem_t *p);

/* Fetch remote organisation actor_id again (its document, charter, open
 * engagements) in a "remote_organisation" job. 0, or negative with p set. */
int fed_remote_refresh_later(long long actor_id, problem_t *p);

/* Text of an HTML fragment: tags dropped, the common entities read, a
 * paragraph's end a blank line. malloc'd. */
char *fed_remote_html_text(const char *html);

/* Register the "remote_organisation" and "federate_organisation" kinds of
 * job (before jobs_start). */
int fed_remote_start(void);

#endif
