/* activitypub: what pages.c and the pipeline ask of federation
 * (docs/federation.md): whether a request wants ActivityStreams, the actors
 * served at the pages' URLs, and the FEDERATION caller kind's gate. */
#ifndef PURPOSED_HANDLERS_ACTIVITYPUB_H
#define PURPOSED_HANDLERS_ACTIVITYPUB_H

#include <stdbool.h>

#include "http.h"

/* Accept names application/activity+json, or application/ld+json with the
 * ActivityStreams profile. */
bool activitypub_wanted(const req_t *r);
/* The Group actor of organisation {slug}, the Person actor of agent {handle}
 * (path parameter 0): 200, or 404 as the page would be. */
void activitypub_organisation_actor(req_t *r);
void activitypub_agent_actor(req_t *r);
/* The FEDERATION caller kind (route.h): the request's HTTP signature
 * (draft-cavage rsa-sha256 with Digest and Date, or RFC 9421 ed25519 with
 * Content-Digest) verified with its sender's key, fetched and kept; the
 * sender is then r->ctx (the handler's). 0, or negative answered: 401
 * without a valid signature, 400/413 for a body that is no activity. */
int activitypub_verify(req_t *r);
/* Before the key named by key_id is fetched (instance_blocks.c): its
 * instance is not blocked (403) and has inbox POSTs left this minute (429 +
 * Retry-After). 0, or negative answered. */
int activitypub_admit(req_t *r, const char *key_id);

#endif
