/* idmap: what the in-memory indexes (lib/match, lib/textindex) share: a
 * map from an int64 database id to a small number or slot (open
 * addressing, linear probing, Fibonacci hashing, backward-shift deletion;
 * key 0 = empty, so id 0 cannot be stored), and arrays that grow by
 * doubling. Not thread-safe: each index guards its own. */
#ifndef PURPOSED_IDMAP_H
#define PURPOSED_IDMAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct idmap {
    int64_t *keys;
    uint32_t *vals;
    uint32_t cap, n; /* cap: a power of two, or 0 */
} idmap_t;

/* The number of id, or UINT32_MAX. */
uint32_t idmap_get(const idmap_t *m, int64_t id);
/* 0, or -1 (id 0, out of memory). */
int idmap_put(idmap_t *m, int64_t id, uint32_t val);
void idmap_del(idmap_t *m, int64_t id);
void idmap_free(idmap_t *m);

/* Room for need elements of elem bytes in *p (capacity *cap, doubled from
 * 8 as needed, at most UINT32_MAX / 2). 0, or -1 with *p unchanged. */
int idmap_grow(void **p, uint32_t *cap, size_t need, size_t elem);

#endif
