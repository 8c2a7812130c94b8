/* rcache: see rcache.h. Sixteen shards, each a chained hash table with its
 * own lock and LRU list and a sixteenth of the byte budget. */
#include "rcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "follower.h"
#include "log.h"

#define SHARDS 16
#define BUCKETS 4096 /* per shard */

typedef struct ent {
    struct ent *chain;           /* same bucket */
    struct ent *newer, *older;   /* the shard's LRU list */
    uint64_t hash, gen, list_gen;
    rcache_kind_t kind;
    uint32_t klen, mlen;
    size_t blen;
    char data[];                 /* key, meta, body */
} ent_t;

typedef struct shard {
    pthread_mutex_t mu;
    ent_t *buckets[BUCKETS];
    ent_t *newest, *oldest;
    size_t bytes, entries;
    uint64_t stamp;              /* bumped when an item of this shard is dropped */
    uint64_t hits, misses, stores, evictions;
} shard_t;

static shard_t *g_shards;
static atomic_size_t g_shard_budget;
static atomic_uint_fast64_t g_gen = 1;      /* everything */
static atomic_uint_fast64_t g_list_gen = 1; /* every list */
static atomic_bool g_live;
static atomic_uint_fast64_t g_invalidations, g_item_invalidations;

static uint64_t hash_key(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)k[i];
        h *= 1099511628211ULL;
    }
    return h ^ (h >> 29);
}

static size_t ent_size(const ent_t *e) { return sizeof *e + e->klen + e->mlen + e->blen; }

int rcache_init(size_t max_bytes)
{
    if (g_shards || max_bytes == 0) return 0;
    g_shards = calloc(SHARDS, sizeof *g_shards);
    if (!g_shards) return -PROBLEM_INTERNAL;
    for (int i = 0; i < SHARDS; i++) pthread_mutex_init(&g_shards[i].mu, NULL);
    atomic_store(&g_shard_budget, max_bytes / SHARDS);
    return 0;
}

void rcache_shutdown(void)
{
    if (!g_shards) return;
    for (int i = 0; i < SHARDS; i++) {
        shard_t *s = &g_shards[i];
        for (ent_t *e = s->newest, *next; e; e = next) {
            next = e->older;
            free(e);
        }
        pthread_mutex_destroy(&s->mu);
    }
    free(g_shards);
    g_shards = NULL;
    atomic_store(&g_live, false);
}

static uint64_t load(atomic_uint_fast64_t *v) { return atomic_load_explicit(v, memory_order_acquire); }

bool rcache_live(void) { return g_shards && atomic_load_explicit(&g_live, memory_order_acquire); }

void rcache_invalidate(void)
{
    atomic_fetch_add_explicit(&g_gen, 1, memory_order_acq_rel);
    atomic_fetch_add_explicit(&g_invalidations, 1, memory_order_relaxed);
}

void rcache_invalidate_lists(void) { atomic_fetch_add_explicit(&g_list_gen, 1, memory_order_acq_rel); }

void rcache_set_live(bool live)
{
    /* Either way the stored answers may have missed a change. */
    rcache_invalidate();
    atomic_store_explicit(&g_live, live, memory_order_release);
}

/* ---------- one shard, its lock held ---------- */

static void lru_unlink(shard_t *s, ent_t *e)
{
    if (e->newer) e->newer->older = e->older;
    else s->newest = e->older;
    if (e->older) e->older->newer = e->newer;
    else s->oldest = e->newer;
    e->newer = e->older = NULL;
}

static void lru_push(shard_t *s, ent_t *e)
{
    e->older = s->newest;
    e->newer = NULL;
    if (s->newest) s->newest->newer = e;
    s->newest = e;
    if (!s->oldest) s->oldest = e;
}

static ent_t **find(shard_t *s, uint64_t h, const char *key, size_t klen)
{
    ent_t **pp = &s->buckets[(h >> 4) % BUCKETS];
    for (; *pp; pp = &(*pp)->chain) {
        ent_t *e = *pp;
        if (e->hash == h && e->klen == klen && memcmp(e->data, key, klen) == 0) return pp;
    }
    return pp;
}

static void drop(shard_t *s, ent_t **pp)
{
    ent_t *e = *pp;
    *pp = e->chain;
    lru_unlink(s, e);
    s->bytes -= ent_size(e);
    s->entries--;
    free(e);
}

/* Drop the oldest answers of s (never keep) until it holds at most
 * budget bytes. Under s->mu. */
static void evict(shard_t *s, size_t budget, const ent_t *keep)
{
    while (s->bytes > budget && s->oldest && s->oldest != keep) {
        ent_t *old = s->oldest;
        drop(s, find(s, old->hash, old->data, old->klen));
        s->evictions++;
    }
}

void rcache_set_budget(size_t max_bytes)
{
    if (!g_shards) return;
    size_t per = max_bytes / SHARDS;
    atomic_store(&g_shard_budget, per);
    for (int i = 0; i < SHARDS; i++) {
        shard_t *s = &g_shards[i];
        pthread_mutex_lock(&s->mu);
        evict(s, per, NULL);
        pthread_mutex_unlock(&s->mu);
    }
}

/* ---------- the interface ---------- */

static shard_t *shard_of(uint64_t h) { return &g_shards[h % SHARDS]; }

bool rcache_ticket(const char *key, size_t klen, rcache_kind_t kind, rcache_ticket_t *t)
{
    if (!rcache_live()) return false;
    t->kind = kind;
    /* the stamp first: a drop after it is seen by the put's check */
    shard_t *s = shard_of(hash_key(key, klen));
    pthread_mutex_lock(&s->mu);
    t->stamp = s->stamp;
    pthread_mutex_unlock(&s->mu);
    t->gen = load(&g_gen);
    t->list_gen = load(&g_list_gen);
    return rcache_live();
}

void rcache_invalidate_item(const char *key, size_t klen)
{
    if (g_shards) {
        uint64_t h = hash_key(key, klen);
        shard_t *s = shard_of(h);
        pthread_mutex_lock(&s->mu);
        ent_t **pp = find(s, h, key, klen);
        if (*pp) drop(s, pp);
        s->stamp++;
        pthread_mutex_unlock(&s->mu);
    }
    atomic_fetch_add_explicit(&g_item_invalidations, 1, memory_order_relaxed);
    rcache_invalidate_lists();
}

static bool current(const ent_t *e)
{
    return e->gen == load(&g_gen) && (e->kind == RCACHE_ITEM || e->list_gen == load(&g_list_gen));
}

bool rcache_get(const char *key, size_t klen, char **body, size_t *len, char *meta,
                size_t *meta_len)
{
    if (!rcache_live()) return false;
    uint64_t h = hash_key(key, klen);
    shard_t *s = shard_of(h);
    pthread_mutex_lock(&s->mu);
    ent_t **pp = find(s, h, key, klen);
    ent_t *e = *pp;
    if (e && !current(e)) {
        drop(s, pp);
        e = NULL;
    }
    char *copy = e ? malloc(e->blen ? e->blen : 1) : NULL;
    if (!copy) {
        s->misses++;
        pthread_mutex_unlock(&s->mu);
        return false;
    }
    memcpy(copy, e->data + e->klen + e->mlen, e->blen);
    memcpy(meta, e->data + e->klen, e->mlen);
    *meta_len = e->mlen;
    *len = e->blen;
    *body = copy;
    lru_unlink(s, e);
    lru_push(s, e);
    s->hits++;
    pthread_mutex_unlock(&s->mu);
    return true;
}

void rcache_put(const rcache_ticket_t *t, const char *key, size_t klen, const char *meta,
                size_t meta_len, const char *body, size_t len)
{
    if (!rcache_live() || klen > RCACHE_KEY_MAX || meta_len > RCACHE_META_MAX) return;
    size_t need = sizeof(ent_t) + klen + meta_len + len;
    if (need > atomic_load(&g_shard_budget) / 8) return; /* one answer may not crowd out the rest */
    uint64_t h = hash_key(key, klen);
    shard_t *s = shard_of(h);
    ent_t *n = malloc(need);
    if (!n) return;
    *n = (ent_t){.hash = h, .gen = t->gen, .list_gen = t->list_gen, .kind = t->kind,
                 .klen = (uint32_t)klen, .mlen = (uint32_t)meta_len, .blen = len};
    memcpy(n->data, key, klen);
    memcpy(n->data + klen, meta, meta_len);
    memcpy(n->data + klen + meta_len, body, len);
    pthread_mutex_lock(&s->mu);
    /* read before a change it may have missed: not kept */
    if (!current(n) || (t->kind == RCACHE_ITEM && t->stamp != s->stamp)) {
        pthread_mutex_unlock(&s->mu);
        free(n);
        return;
    }
    ent_t **pp = find(s, h, key, klen);
    if (*pp) drop(s, pp);
    pp = &s->buckets[(h >> 4) % BUCKETS];
    n->chain = *pp;
    *pp = n;
    lru_push(s, n);
    s->bytes += need;
    s->entries++;
    s->stores++;
    evict(s, atomic_load(&g_shard_budget), n);
    pthread_mutex_unlock(&s->mu);
}

void rcache_apply(const char *payload, const char *item_prefix)
{
    if (!payload) {
        rcache_invalidate();
        return;
    }
    if (strcmp(payload, "l") == 0) {
        rcache_invalidate_lists();
        return;
    }
    if (strncmp(payload, "e:", 2) != 0 || !item_prefix) {
        rcache_invalidate();
        return;
    }
    char key[RCACHE_KEY_MAX];
    size_t plen = strlen(item_prefix);
    if (plen + 24 > sizeof key) {
        rcache_invalidate();
        return;
    }
    memcpy(key, item_prefix, plen);
    for (const char *p = payload + 2; *p;) {
        size_t n = 0;
        while (p[n] >= '0' && p[n] <= '9' && n < 20) n++;
        if (n == 0 || (p[n] != ',' && p[n] != '\0')) {
            rcache_invalidate(); /* not a list of ids: play safe */
            return;
        }
        memcpy(key + plen, p, n);
        rcache_invalidate_item(key, plen + n);
        p += n;
        if (*p == ',') p++;
    }
    rcache_invalidate_lists();
}

void rcache_stats(rcache_stats_t *out)
{
    memset(out, 0, sizeof *out);
    out->live = rcache_live();
    out->generation = atomic_load(&g_gen);
    out->invalidations = atomic_load(&g_invalidations);
    out->item_invalidations = atomic_load(&g_item_invalidations);
    out->max_bytes = atomic_load(&g_shard_budget) * SHARDS;
    if (!g_shards) return;
    for (int i = 0; i < SHARDS; i++) {
        shard_t *s = &g_shards[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->stores += s->stores;
        out->evictions += s->evictions;
        out->entries += s->entries;
        out->bytes += s->bytes;
        pthread_mutex_unlock(&s->mu);
    }
}

/* ---------- the follower ---------- */

static follower_t *g_follower;
static char g_item_prefix[256];

/* A new position: what changed before it may have been missed, so every
 * stored answer is dropped (rcache_set_live invalidates) and serving
 * resumes. */
static int on_resync(PGconn *c, void *ctx)
{
    (void)c;
    (void)ctx;
    rcache_set_live(true);
    log_event("info", "cache_following", RCACHE_TOPIC);
    return 0;
}

static void on_change(const char *payload, void *ctx)
{
    (void)ctx;
    rcache_apply(payload, g_item_prefix);
}

/* Not following: nothing is served or stored until the next resync. */
static void on_lost(void *ctx)
{
    (void)ctx;
    rcache_set_live(false);
}

int rcache_follow_start(const char *conninfo, const char *item_prefix)
{
    if (!g_shards || g_follower) return 0;
    snprintf(g_item_prefix, sizeof g_item_prefix, "%s", item_prefix);
    follower_ops_t ops = {
        .who = "cache",
        .topic = RCACHE_TOPIC,
        .resync = on_resync,
        .change = on_change,
        .lost = on_lost,
    };
    g_follower = follower_start(conninfo, &ops);
    return g_follower ? 0 : -PROBLEM_INTERNAL;
}

size_t rcache_item_key(const char *id, char *buf, size_t cap)
{
    if (!g_item_prefix[0]) return 0;
    int n = snprintf(buf, cap, "%s%s", g_item_prefix, id);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

void rcache_follow_stop(void)
{
    follower_stop(g_follower);
    g_follower = NULL;
}
