/* match/tables.c: the string pool and the interner, which turns a string
 * (a skill's or a place's lower-case key, an exact spelling) into a small
 * number, so records compare numbers, never strings: open addressing with
 * linear probing in flat arrays, a load at most one half, no allocation
 * per entry. The index's other table, database id (purpose, organisation,
 * agent, engagement) -> small number or slot, is lib/idmap.c, which the
 * words' index (lib/textindex.c) shares. */
#include <stdlib.h>
#include <string.h>

#include "match/internal.h"

/* ---------- the string pool ---------- */

int match_str_add(match_index_t *ix, const char *s, uint32_t *off)
{
    size_t n = strlen(s) + 1;
    if ((size_t)ix->nstr + n > UINT32_MAX / 2) return -1;
    if (idmap_grow((void **)&ix->str, &ix->capstr, (size_t)ix->nstr + n, 1)) return -1;
    memcpy(ix->str + ix->nstr, s, n);
    *off = ix->nstr;
    ix->nstr += (uint32_t)n;
    return 0;
}

/* ---------- the interner ---------- */

/* FNV-1a */
static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

uint32_t match_intern_find(const match_index_t *ix, const match_interner_t *in, const char *key)
{
    if (in->tcap == 0) return UINT32_MAX;
    uint32_t mask = in->tcap - 1;
    for (uint32_t h = (uint32_t)hash_str(key) & mask;; h = (h + 1) & mask) {
        uint32_t e = in->table[h];
        if (e == 0) return UINT32_MAX;
        if (strcmp(ix->str + in->key_off[e - 1], key) == 0) return e - 1;
    }
}

static int intern_rehash(const match_index_t *ix, match_interner_t *in, uint32_t tcap)
{
    uint32_t *t = calloc(tcap, sizeof *t);
    if (!t) return -1;
    for (uint32_t e = 0; e < in->n; e++) {
        uint32_t h = (uint32_t)hash_str(ix->str + in->key_off[e]) & (tcap - 1);
        while (t[h]) h = (h + 1) & (tcap - 1);
        t[h] = e + 1;
    }
    free(in->table);
    in->table = t;
    in->tcap = tcap;
    return 0;
}

uint32_t match_intern_add(match_index_t *ix, match_interner_t *in, const char *key,
                          const char *name)
{
    uint32_t found = match_intern_find(ix, in, key);
    if (found != UINT32_MAX) return found;
    if (in->n >= UINT32_MAX / 4) return UINT32_MAX;
    if ((size_t)(in->n + 1) * 2 > in->tcap &&
        intern_rehash(ix, in, in->tcap ? in->tcap * 2 : 64) != 0)
        return UINT32_MAX;
    /* key_off and name_off share one capacity: grow both from the old one */
    uint32_t cap = in->cap;
    if (idmap_grow((void **)&in->key_off, &cap, (size_t)in->n + 1, sizeof *in->key_off))
        return UINT32_MAX;
    cap = in->cap;
    if (idmap_grow((void **)&in->name_off, &cap, (size_t)in->n + 1, sizeof *in->name_off))
        return UINT32_MAX;
    in->cap = cap;
    uint32_t koff, noff;
    if (match_str_add(ix, key, &koff) || match_str_add(ix, name ? name : key, &noff))
        return UINT32_MAX;
    uint32_t e = in->n++;
    in->key_off[e] = koff;
    in->name_off[e] = noff;
    uint32_t mask = in->tcap - 1;
    uint32_t h = (uint32_t)hash_str(key) & mask;
    while (in->table[h]) h = (h + 1) & mask;
    in->table[h] = e + 1;
    return e;
}

void match_intern_free(match_interner_t *in)
{
    free(in->key_off);
    free(in->name_off);
    free(in->table);
    memset(in, 0, sizeof *in);
}
