/* peers: what this instance allows the instances it federates with —
 * administrators' blocks (migration 0044: a blocked instance's inbox POSTs
 * are refused, nothing is delivered to it, its keys are not fetched) and
 * how much each instance may cost it a minute: inbox POSTs (the FEDERATION
 * gate) and fetches of its documents (lib/fetch, federation's GETs). The
 * limits are token buckets per daemon (lib/ratelimit), as the write limit
 * is: a minute's worth at once, then one more each 60/N seconds
 * (docs/federation.md, "Blocking" and "Limits"). */
#ifndef PURPOSED_PEERS_H
#define PURPOSED_PEERS_H

#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

/* the longest authority (host[:port]) a block or a limit keeps */
#define PEERS_AUTHORITY_MAX 301

/* Once at start: inbox POSTs and fetches per instance per minute (0 = no limit). */
void peers_configure(int inbox_per_minute, int fetch_per_minute);

/* The authority (host[:port], lower case, no user info) of an http(s) URL,
 * or of an authority given as is. False when there is none or it is too long. */
bool peers_authority(const char *url, char out[PEERS_AUTHORITY_MAX]);

/* Whether a block covers the URL's (or authority's) instance: 1 blocked,
 * 0 not, negative with p set (the database). */
int peers_blocked(const char *url, problem_t *p);

/* Take one inbox POST / one fetch of the instance at authority. True when
 * allowed; otherwise false and *retry_after_s is set (whole seconds). */
bool peers_inbox_take(const char *authority, int *retry_after_s);
bool peers_fetch_take(const char *authority, int *retry_after_s);

#endif
