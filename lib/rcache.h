/* rcache: whole answers of public GETs (engagements by id and in lists),
 * kept in memory until anything they are built from changes.
 *
 * Correctness rests on one generation number. A reader takes the current
 * generation before it reads PostgreSQL and stores its answer tagged with
 * it; an answer is served only while the generation is unchanged. Every
 * commit that changes what the answers are built from NOTIFYs the channel
 * 'purposed_cache' (migration 0009); the listener thread bumps the
 * generation on each notification, and a daemon's own writes bump it
 * before they answer (read-your-writes). While the listener is not
 * connected, nothing is served or stored. See docs/performance.md. */
#ifndef PURPOSED_RCACHE_H
#define PURPOSED_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RCACHE_CHANNEL "purposed_cache"
#define RCACHE_META_MAX 1024  /* content type and headers of one answer */
#define RCACHE_KEY_MAX 2048

typedef struct rcache_stats {
    bool live;
    uint64_t generation, hits, misses, stores, evictions, invalidations;
    size_t entries, bytes, max_bytes;
} rcache_stats_t;

/* Size the cache (0 turns it off). Call once, before any other call. */
int rcache_init(size_t max_bytes);
void rcache_shutdown(void);

/* The generation to tag an answer with, or 0: do not use the cache. */
uint64_t rcache_generation(void);
/* Something changed: every stored answer is stale. */
void rcache_invalidate(void);
/* Is the listener connected (answers may be served)? Used by the listener
 * and by tests; going either way also invalidates. */
void rcache_set_live(bool live);

/* A stored answer for key, current at this generation: true with *body
 * (malloc'd, the caller frees it), *len and meta (content type, then
 * header name/value pairs, each NUL-terminated; *meta_len bytes). */
bool rcache_get(const char *key, size_t klen, char **body, size_t *len, char *meta,
                size_t *meta_len);
/* Store an answer read at generation gen (ignored when gen is stale). */
void rcache_put(uint64_t gen, const char *key, size_t klen, const char *meta, size_t meta_len,
                const char *body, size_t len);

void rcache_stats(rcache_stats_t *out);

/* The listener thread: LISTEN 'purposed_cache' on its own connection,
 * invalidating on every notification, reconnecting after failures. */
int rcache_listen_start(const char *conninfo);
void rcache_listen_stop(void);

#endif
