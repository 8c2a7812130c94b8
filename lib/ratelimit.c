/* ratelimit: token buckets in an open-addressed table, sharded locks. Slots
 * idle long enough to be full again are reused, so the table never grows. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RL_SLOTS 8192
#define RL_SHARDS 32
#define RL_PROBES 16
#define RL_KEY 48

typedef struct slot {
    char key[RL_KEY];
    double tokens;
    double updated;
} slot_t;

struct ratelimit {
    double rate;   /* tokens per second */
    double burst;
    pthread_mutex_t locks[RL_SHARDS];
    slot_t slots[RL_SLOTS];
};

ratelimit_t *ratelimit_new(double per_minute, double burst)
{
    if (per_minute <= 0 || burst < 1) return NULL;
    ratelimit_t *rl = calloc(1, sizeof *rl);
    if (!rl) return NULL;
    rl->rate = per_minute / 60.0;
    rl->burst = burst;
    for (int i = 0; i < RL_SHARDS; i++) pthread_mutex_init(&rl->locks[i], NULL);
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (!rl) return;
    for (int i = 0; i < RL_SHARDS; i++) pthread_mutex_destroy(&rl->locks[i]);
    free(rl);
}

static uint32_t hash_key(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

bool ratelimit_take(ratelimit_t *rl, const char *key, double now, int *retry_after_s)
{
    if (!rl) return true;
    char k[RL_KEY];
    size_t n = strlen(key);
    if (n >= RL_KEY) n = RL_KEY - 1;
    memcpy(k, key, n);
    k[n] = '\0';
    uint32_t h = hash_key(k);
    /* probes stay inside one shard's run of slots, so one lock covers them */
    uint32_t shard = h % RL_SHARDS;
    uint32_t per_shard = RL_SLOTS / RL_SHARDS;
    uint32_t base = shard * per_shard;
    pthread_mutex_lock(&rl->locks[shard]);
    slot_t *found = NULL, *free_slot = NULL;
    double refill_time = rl->burst / rl->rate;
    for (uint32_t i = 0; i < RL_PROBES; i++) {
        slot_t *s = &rl->slots[base + (h / RL_SHARDS + i) % per_shard];
        if (s->key[0] && strcmp(s->key, k) == 0) {
            found = s;
            break;
        }
        if (!free_slot && (!s->key[0] || now - s->updated > refill_time)) free_slot = s;
    }
    if (!found) {
        if (!free_slot) { /* every nearby slot busy: do not punish a newcomer */
            pthread_mutex_unlock(&rl->locks[shard]);
            return true;
        }
        found = free_slot;
        memcpy(found->key, k, n + 1);
        found->tokens = rl->burst;
        found->updated = now;
    }
    double tokens = found->tokens + (now - found->updated) * rl->rate;
    if (tokens > rl->burst) tokens = rl->burst;
    found->updated = now;
    bool ok = tokens >= 1.0;
    if (ok) tokens -= 1.0;
    found->tokens = tokens;
    pthread_mutex_unlock(&rl->locks[shard]);
    if (!ok && retry_after_s) {
        int secs = (int)ceil((1.0 - tokens) / rl->rate);
        *retry_after_s = secs < 1 ? 1 : secs;
    }
    return ok;
}
