/* ratelimit: per-key token buckets (client addresses) in a fixed table, for
 * limiting writes. In-process: each daemon limits what reaches it. */
#ifndef PURPOSED_RATELIMIT_H
#define PURPOSED_RATELIMIT_H

#include <stdbool.h>

typedef struct ratelimit ratelimit_t;

/* per_minute tokens refill per minute; the bucket holds burst tokens. */
ratelimit_t *ratelimit_new(double per_minute, double burst);
void ratelimit_free(ratelimit_t *rl);
/* Take one token for key at time now (seconds, monotonic). True when
 * allowed; otherwise false and *retry_after_s = whole seconds until a token. */
bool ratelimit_take(ratelimit_t *rl, const char *key, double now, int *retry_after_s);

#endif
