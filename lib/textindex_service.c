/* textindex_service.c: the one words' index a daemon serves from, and the
 * follower (lib/follower.h) that keeps it: a build from engagement_search
 * at each new position, then the engagements named by the change log's
 * topic 'match' (payload e:<id>, written by every change of an engagement
 * row, which is the only way its engagement_search row changes: 0050),
 * read back from engagement_search and put or removed under the write side
 * of a read-write lock. docs/search.md, "The words' index", tells why.
 *
 * Read-your-writes: a search may use the index only when every write this
 * daemon committed before the search began has been read back. A write
 * bumps g_committed after its commit (textindex_service_local_write, from
 * the request pipeline) and pokes the follower; the follower notes
 * g_committed right before taking each new position (positioning) and,
 * once that position's changes are applied, publishes it as g_applied
 * (caught_up). A search that finds g_applied behind waits for it (the
 * poke makes that one poll, a millisecond or two) up to CATCH_UP_WAIT_MS,
 * then goes to PostgreSQL as searches always did. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "follower.h"
#include "log.h"
#include "strbuf.h"
#include "textindex.h"

#define CATCH_UP_WAIT_MS 200

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER; /* with g_cv: g_applied moved */
static pthread_cond_t g_cv;
static pthread_rwlock_t g_rw;
static textindex_t *g_index; /* guarded by g_rw */
static follower_t *g_follower;
static atomic_bool g_live;   /* built and following */
static atomic_uint_fast64_t g_committed, g_applied;
static uint64_t g_noted;     /* follower thread: g_committed at the last positioning */
static atomic_uint_fast64_t g_builds, g_served, g_declined, g_build_us;
static atomic_size_t g_docs, g_words, g_bytes;
/* follower thread: the engagement ids of one poll */
static int64_t *g_ids;
static size_t g_nids, g_capids;
static bool g_ids_lost; /* an id could not be kept: the batch fails, a build follows */

static void init_once(void)
{
    pthread_rwlockattr_t at;
    pthread_rwlockattr_init(&at);
    pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&g_rw, &at);
    pthread_rwlockattr_destroy(&at);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &ca);
    pthread_condattr_destroy(&ca);
}

static textindex_hooks_t g_hooks;
static bool g_built_once;  /* follower thread */
static atomic_bool g_stopping;
static size_t g_sized_told = SIZE_MAX; /* follower thread */

static void publish_size(const textindex_t *ix)
{
    textindex_size_t sz;
    textindex_size(ix, &sz);
    atomic_store(&g_docs, sz.docs);
    atomic_store(&g_words, sz.words);
    atomic_store(&g_bytes, sz.bytes);
    size_t d = sz.bytes > g_sized_told ? sz.bytes - g_sized_told : g_sized_told - sz.bytes;
    if (g_hooks.sized && (g_sized_told == SIZE_MAX || d >= (1u << 20))) {
        g_sized_told = sz.bytes;
        g_hooks.sized(sz.bytes);
    }
}

static int64_t be64(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | u[i];
    return (int64_t)v;
}

/* Rows (id int8, created_at timestamptz, search tsvector; binary) into ix:
 * a NULL search removes the id. A row that will not parse is left out
 * (logged as words_row_refused): it cannot be found until it changes. */
static int put_rows(textindex_t *ix, PGresult *r)
{
    for (int i = 0; i < PQntuples(r); i++) {
        if (PQgetlength(r, i, 0) != 8) continue;
        int64_t id = be64(PQgetvalue(r, i, 0));
        if (PQgetisnull(r, i, 2) || PQgetlength(r, i, 1) != 8) {
            textindex_remove(ix, id);
            continue;
        }
        int rc = textindex_put(ix, id, be64(PQgetvalue(r, i, 1)),
                               (const uint8_t *)PQgetvalue(r, i, 2), (size_t)PQgetlength(r, i, 2));
        if (rc == TEXTINDEX_NOMEM) return -1;
        if (rc) log_event("warn", "words_row_refused", PQgetvalue(r, i, 0));
    }
    return 0;
}

/* A whole index from engagement_search, oldest first (slots then follow
 * (created_at, id)), in one transaction, 4,096 rows at a time. */
static textindex_t *build(PGconn *c)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    textindex_t *ix = textindex_new();
    PGresult *r = PQexec(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    bool ok = ix && PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (ok) {
        r = PQexec(c, "DECLARE words_build BINARY NO SCROLL CURSOR FOR"
                      " SELECT engagement_id, created_at, search FROM engagement_search"
                      " ORDER BY created_at, engagement_id");
        ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        PQclear(r);
    }
    while (ok) {
        r = PQexec(c, "FETCH 4096 FROM words_build");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK && put_rows(ix, r) == 0;
        int rows = ok ? PQntuples(r) : 0;
        if (!ok) log_event("warn", "words_build_failed", PQresultErrorMessage(r));
        PQclear(r);
        if (!rows) break;
    }
    PQclear(PQexec(c, ok ? "COMMIT" : "ROLLBACK"));
    if (!ok) {
        textindex_free(ix);
        return NULL;
    }
    textindex_trim(ix);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    uint64_t us = (uint64_t)(t1.tv_sec - t0.tv_sec) * 1000000u + (uint64_t)((t1.tv_nsec - t0.tv_nsec) / 1000);
    atomic_store(&g_build_us, us);
    atomic_fetch_add(&g_builds, 1);
    textindex_size_t sz;
    textindex_size(ix, &sz);
    char what[160];
    snprintf(what, sizeof what, "%zu documents, %zu words, %zu MiB in %.2f s", sz.docs, sz.words,
             sz.bytes >> 20, (double)us / 1e6);
    log_event("info", "words_index_built", what);
    return ix;
}

static void swap_in(textindex_t *ix)
{
    pthread_rwlock_wrlock(&g_rw);
    textindex_t *old = g_index;
    g_index = ix;
    pthread_rwlock_unlock(&g_rw);
    textindex_free(old);
    publish_size(ix);
    if (g_hooks.changed) g_hooks.changed();
}

/* ---------- the follower's callbacks ---------- */

/* Before the first build only: until may_build says yes, for at most
 * TEXTINDEX_FIRST_BUILD_WAIT_S, asked every 100 ms; false when stopping. */
static bool wait_for_first_build(void)
{
    if (!g_built_once && g_hooks.may_build)
        for (int i = 0; i < TEXTINDEX_FIRST_BUILD_WAIT_S * 10 && !g_hooks.may_build() &&
                        !atomic_load(&g_stopping);
             i++)
            nanosleep(&(struct timespec){0, 100 * 1000000L}, NULL);
    g_built_once = true;
    return !atomic_load(&g_stopping);
}

static int on_resync(PGconn *c, void *ctx)
{
    (void)ctx;
    g_nids = 0;
    g_ids_lost = false;
    if (!wait_for_first_build()) return -1;
    textindex_t *ix = build(c);
    if (!ix) return -1;
    swap_in(ix);
    atomic_store(&g_live, true);
    return 0;
}

static void on_change(const char *payload, void *ctx)
{
    (void)ctx;
    if (strncmp(payload, "e:", 2) != 0) return;
    char *end;
    long long id = strtoll(payload + 2, &end, 10);
    if (*end || end == payload + 2) return;
    if (g_nids == g_capids) {
        size_t cap = g_capids ? g_capids * 2 : 256;
        int64_t *p = realloc(g_ids, cap * sizeof *p);
        if (!p) {
            g_ids_lost = true;
            return;
        }
        g_ids = p;
        g_capids = cap;
    }
    g_ids[g_nids++] = id;
}

static int on_batch(PGconn *c, void *ctx)
{
    (void)ctx;
    if (g_ids_lost) {
        g_ids_lost = false;
        g_nids = 0;
        return -1;
    }
    if (!g_nids) return 0;
    strbuf_t ids = STRBUF_INIT;
    for (size_t i = 0; i < g_nids; i++) strbuf_addf(&ids, "%c%lld", i ? ',' : '{', (long long)g_ids[i]);
    strbuf_addch(&ids, '}');
    g_nids = 0;
    if (ids.failed) {
        strbuf_release(&ids);
        return -1;
    }
    const char *params[1] = {strbuf_str(&ids)};
    PGresult *r = PQexecParams(c,
        "SELECT i.id, s.created_at, s.search FROM unnest($1::bigint[]) AS i(id)"
        " LEFT JOIN engagements e ON e.id = i.id"
        " LEFT JOIN engagement_search s"
        "   ON s.organisation_id = e.organisation_id AND s.engagement_id = e.id",
        1, NULL, params, NULL, NULL, 1);
    strbuf_release(&ids);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_event("warn", "words_follow_failed", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    pthread_rwlock_wrlock(&g_rw);
    int rc = g_index ? put_rows(g_index, r) : 0;
    bool wasteful = g_index && textindex_wasteful(g_index);
    pthread_rwlock_unlock(&g_rw);
    PQclear(r);
    if (rc) return -1;
    if (wasteful) { /* rebuilt aside; the position's changes are in it too */
        textindex_t *ix = build(c);
        if (!ix) return -1;
        swap_in(ix);
    } else {
        pthread_rwlock_rdlock(&g_rw);
        publish_size(g_index);
        pthread_rwlock_unlock(&g_rw);
        if (g_hooks.changed) g_hooks.changed();
    }
    return 0;
}

static void on_lost(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&g_mu);
    atomic_store(&g_live, false);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

static void on_positioning(void *ctx)
{
    (void)ctx;
    g_noted = atomic_load(&g_committed);
}

static void on_caught_up(void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&g_mu);
    atomic_store(&g_applied, g_noted);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

/* Wait (bounded) until this daemon's writes so far are read back. */
static bool caught_up(uint64_t need)
{
    if (atomic_load(&g_applied) >= need) return true;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_nsec += (long)CATCH_UP_WAIT_MS * 1000000L;
    until.tv_sec += until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    pthread_mutex_lock(&g_mu);
    while (atomic_load(&g_applied) < need && atomic_load(&g_live))
        if (pthread_cond_timedwait(&g_cv, &g_mu, &until) != 0) break;
    pthread_mutex_unlock(&g_mu);
    return atomic_load(&g_applied) >= need;
}

/* ---------- the service ---------- */

int textindex_service_start(const char *conninfo, const textindex_hooks_t *hooks)
{
    pthread_once(&g_once, init_once);
    if (g_follower) return 0;
    g_hooks = hooks ? *hooks : (textindex_hooks_t){0};
    g_built_once = false;
    atomic_store(&g_stopping, false);
    g_sized_told = SIZE_MAX;
    /* paused followers (tests) never read other daemons' changes: the
     * index would go stale, so there is none and PostgreSQL answers */
    if (follower_poll_ms() == 0) return 0;
    follower_ops_t ops = {
        .who = "words",
        .topic = "match",
        .setup = "SET statement_timeout = 0; SET jit = off",
        .resync = on_resync,
        .change = on_change,
        .batch = on_batch,
        .lost = on_lost,
        .positioning = on_positioning,
        .caught_up = on_caught_up,
    };
    g_follower = follower_start(conninfo, &ops);
    return g_follower ? 0 : -1;
}

void textindex_service_stop(void)
{
    atomic_store(&g_stopping, true);
    follower_stop(g_follower);
    g_follower = NULL;
    atomic_store(&g_live, false);
    pthread_once(&g_once, init_once);
    pthread_rwlock_wrlock(&g_rw);
    textindex_free(g_index);
    g_index = NULL;
    pthread_rwlock_unlock(&g_rw);
    free(g_ids);
    g_ids = NULL;
    g_nids = g_capids = 0;
}

void textindex_service_local_write(void)
{
    if (!g_follower) return;
    atomic_fetch_add(&g_committed, 1);
    follower_poke(g_follower);
}

bool textindex_service_ready(void) { return atomic_load(&g_live); }

int textindex_service_search(const uint8_t *query, size_t qlen, const textindex_hit_t *after,
                             size_t limit, textindex_hit_t *out, size_t *n)
{
    *n = 0;
    uint64_t need = atomic_load(&g_committed);
    if (!atomic_load(&g_live) || !caught_up(need)) {
        atomic_fetch_add(&g_declined, 1);
        return TEXTINDEX_UNSUPPORTED;
    }
    pthread_rwlock_rdlock(&g_rw);
    int rc = g_index ? textindex_search(g_index, query, qlen, after, limit, out, n)
                     : TEXTINDEX_UNSUPPORTED;
    pthread_rwlock_unlock(&g_rw);
    atomic_fetch_add(rc == TEXTINDEX_OK ? &g_served : &g_declined, 1);
    return rc;
}

void textindex_service_stats(textindex_stats_t *out)
{
    out->ready = atomic_load(&g_live);
    out->docs = atomic_load(&g_docs);
    out->words = atomic_load(&g_words);
    out->bytes = atomic_load(&g_bytes);
    out->build_seconds = (double)atomic_load(&g_build_us) / 1e6;
    out->builds = atomic_load(&g_builds);
    out->served = atomic_load(&g_served);
    out->declined = atomic_load(&g_declined);
}
