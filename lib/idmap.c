/* idmap.c: an int64 database id to a small number, and growing arrays
 * (idmap.h). */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"

int idmap_grow(void **p, uint32_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    if (need > UINT32_MAX / 2) return -1;
    size_t cap2 = *cap ? *cap : 8;
    while (cap2 < need) cap2 *= 2;
    void *q = realloc(*p, cap2 * elem);
    if (!q) return -1;
    *p = q;
    *cap = (uint32_t)cap2;
    return 0;
}

/* Fibonacci hashing: ids are mostly consecutive, the multiply spreads them. */
static uint32_t hash_id(int64_t id, uint32_t mask)
{
    return (uint32_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}

uint32_t idmap_get(const idmap_t *m, int64_t id)
{
    if (m->cap == 0 || id == 0) return UINT32_MAX;
    uint32_t mask = m->cap - 1;
    for (uint32_t h = hash_id(id, mask);; h = (h + 1) & mask) {
        if (m->keys[h] == id) return m->vals[h];
        if (m->keys[h] == 0) return UINT32_MAX;
    }
}

static int idmap_resize(idmap_t *m, uint32_t cap)
{
    idmap_t n = {calloc(cap, sizeof(int64_t)), calloc(cap, sizeof(uint32_t)), cap, 0};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return -1;
    }
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->keys[i]) idmap_put(&n, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

int idmap_put(idmap_t *m, int64_t id, uint32_t val)
{
    if (id == 0) return -1;
    if ((size_t)(m->n + 1) * 2 > m->cap) {
        if (m->cap >= (1u << 30) || idmap_resize(m, m->cap ? m->cap * 2 : 64)) return -1;
    }
    uint32_t mask = m->cap - 1;
    uint32_t h = hash_id(id, mask);
    while (m->keys[h] && m->keys[h] != id) h = (h + 1) & mask;
    if (!m->keys[h]) m->n++;
    m->keys[h] = id;
    m->vals[h] = val;
    return 0;
}

void idmap_del(idmap_t *m, int64_t id)
{
    if (m->cap == 0 || id == 0) return;
    uint32_t mask = m->cap - 1;
    uint32_t h = hash_id(id, mask);
    while (m->keys[h] != id) {
        if (m->keys[h] == 0) return;
        h = (h + 1) & mask;
    }
    /* Backward-shift deletion (no tombstones): move each later entry of the
     * run into the hole when its home slot does not lie cyclically in
     * (hole, j], so every remaining key stays reachable from its home. */
    uint32_t hole = h;
    for (uint32_t j = (h + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        uint32_t home = hash_id(m->keys[j], mask);
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->n--;
}

void idmap_free(idmap_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
