/* rcache: whole answers of public GETs (engagements by id and in lists),
 * kept in memory until what they are built from changes.
 *
 * Two kinds of answer: an item (one engagement, under a key that names
 * it) and a list (any number of engagements). Correctness rests on
 * stamps taken before a reader reads PostgreSQL (a ticket) and checked
 * when it stores its answer: the generation (everything), the list
 * generation (every list) and the stamp of the item key's shard (bumped
 * when any item of that shard is invalidated). An item is served while
 * the generation is unchanged and it has not been dropped; a list while
 * both generations are unchanged.
 *
 * Every commit that changes what the answers are built from appends to the
 * change log, topic 'cache' (migrations 0009, 0018): "*" (everything), "l"
 * (the lists: a new engagement) or "e:1,2" (those engagements and the
 * lists). The follower thread (lib/follower.h) applies them; a daemon's
 * own changes are applied before it answers them (read-your-writes). While
 * the follower is not connected nothing is served or stored. See
 * docs/performance.md. */
#ifndef PURPOSED_RCACHE_H
#define PURPOSED_RCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "problem.h"

#define RCACHE_TOPIC "cache" /* change_log.topic */
#define RCACHE_META_MAX 1024  /* content type and headers of one answer */
#define RCACHE_KEY_MAX 2048

typedef struct rcache_stats {
    bool live;
    uint64_t generation, hits, misses, stores, evictions, invalidations, item_invalidations;
    size_t entries, bytes, max_bytes;
} rcache_stats_t;

typedef enum { RCACHE_ITEM, RCACHE_LIST } rcache_kind_t;

/* Taken before reading PostgreSQL for an answer; stored with it. */
typedef struct rcache_ticket {
    rcache_kind_t kind;
    uint64_t gen, list_gen, stamp;
} rcache_ticket_t;

/* Size the cache (0 turns it off). Call once, before any other call. 0, or
 * -PROBLEM_INTERNAL when there is no memory for it. */
int rcache_init(size_t max_bytes);
void rcache_shutdown(void);
/* A new bound (bytes, at least one answer's worth): answers past it are
 * dropped, oldest first. server/main.c gives the answers what the words'
 * index (lib/textindex.h) leaves of CACHE_MB. */
void rcache_set_budget(size_t max_bytes);

/* A ticket for key: false when the cache may not be used now. */
bool rcache_ticket(const char *key, size_t klen, rcache_kind_t kind, rcache_ticket_t *t);
/* Something changed: everything, the lists, or one item (and the lists). */
void rcache_invalidate(void);
void rcache_invalidate_lists(void);
void rcache_invalidate_item(const char *key, size_t klen);
/* Is the follower connected (answers may be served)? Used by the follower
 * and by tests; going either way also invalidates everything. */
void rcache_set_live(bool live);
bool rcache_live(void);

/* A stored answer for key, still current: true with *body (malloc'd, the
 * caller frees it), *len and meta (content type, then header name/value
 * pairs, each NUL-terminated; *meta_len bytes). */
bool rcache_get(const char *key, size_t klen, char **body, size_t *len, char *meta,
                size_t *meta_len);
/* Store an answer read under ticket t (ignored when anything it was built
 * from may have changed since). */
void rcache_put(const rcache_ticket_t *t, const char *key, size_t klen, const char *meta,
                size_t meta_len, const char *body, size_t len);

/* Apply a change's payload ("*", "l", "e:1,2"); items are the keys
 * item_prefix + id. Unknown payloads invalidate everything. */
void rcache_apply(const char *payload, const char *item_prefix);

void rcache_stats(rcache_stats_t *out);

/* The follower thread (lib/follower.h) of topic 'cache' on its own
 * connection, applying every change (item keys: item_prefix + id); live
 * from each resync on, not live while the connection is lost. 0, or
 * -PROBLEM_INTERNAL when the thread could not start. */
int rcache_follow_start(const char *conninfo, const char *item_prefix);
void rcache_follow_stop(void);
/* The key of the item id (item_prefix + id, as the follower and the
 * pipeline key it): its length, or 0 before rcache_follow_start. */
size_t rcache_item_key(const char *id, char *buf, size_t cap);

#endif
