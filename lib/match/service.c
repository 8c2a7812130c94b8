/* match/service.c: the one index a daemon serves from, and the thread that
 * keeps it. The thread is a follower (lib/follower.h) of the change log's
 * topic 'match': at each resync it builds a whole new index (load.c) and
 * swaps it in; each batch of changes is read back from PostgreSQL and applied
 * under the write side of a read-write lock. Requests take the read side
 * (match_service_acquire). README.md, "Freshness", tells the whole story. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np: a busy reader side must not starve the writer */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "follower.h"
#include "log.h"
#include "match/internal.h"

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_rwlock_t g_rw;                   /* readers: requests; writer: the service */
static match_index_t *g_index;                  /* guarded by g_rw */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static follower_t *g_follower;                  /* guarded by g_mu */
static bool g_stopping;                         /* guarded by g_mu: no start meanwhile */
static bool g_built;                            /* guarded by g_mu; signalled on g_cv */
static atomic_bool g_running, g_ready;          /* lock-free copies of g_follower != NULL, g_built */
/* Owned by the follower thread: the ids changed and not yet applied. */
static match_changes_t g_changes;
/* match_service_stats(): written by the follower thread only */
static atomic_bool g_st_ready;
static atomic_size_t g_st_bytes, g_st_agents, g_st_engagements;
static atomic_ulong g_st_build_us, g_st_builds, g_st_notifications;
static atomic_ulong g_st_load_us, g_st_loads, g_st_start_us;
static struct timespec g_started;              /* match_service_start: for start_seconds */
/* The snapshot file (match_service_set_snapshot); "" for none. Set
 * before start, read by the follower thread only. */
static char g_snapshot[4096];
/* The database's identity (match_load_identity) taken before the current
 * index's build snapshot, or the one of the file it was loaded from: what
 * the index is exact for. A snapshot is written with this one, not with the
 * identity at the stop, so that a migration run meanwhile (which may change
 * rows without the change log) makes the next daemon build. Follower
 * thread only. */
static char g_index_identity[1024];

static void service_init_once(void)
{
    pthread_rwlockattr_t at;
    pthread_rwlockattr_init(&at);
    pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&g_rw, &at);
    pthread_rwlockattr_destroy(&at);
}

/* ---------- stats ---------- */

/* Called by the follower thread (the only writer) after every change. */
static void stats_publish(const match_index_t *ix)
{
    atomic_store(&g_st_bytes, match_index_memory(ix));
    atomic_store(&g_st_agents, match_index_agent_count(ix));
    atomic_store(&g_st_engagements, match_index_engagement_count(ix));
    atomic_store(&g_st_ready, true);
}

void match_service_stats(match_stats_t *out)
{
    out->ready = atomic_load(&g_st_ready);
    out->bytes = atomic_load(&g_st_bytes);
    out->agents = atomic_load(&g_st_agents);
    out->engagements = atomic_load(&g_st_engagements);
    out->build_seconds = (double)atomic_load(&g_st_build_us) / 1e6;
    out->builds = atomic_load(&g_st_builds);
    out->notifications = atomic_load(&g_st_notifications);
    out->load_seconds = (double)atomic_load(&g_st_load_us) / 1e6;
    out->loads = atomic_load(&g_st_loads);
    out->start_seconds = (double)atomic_load(&g_st_start_us) / 1e6;
}

void match_service_set_snapshot(const char *path)
{
    snprintf(g_snapshot, sizeof g_snapshot, "%s", path ? path : "");
}

/* ---------- the follower's callbacks (its thread) ---------- */

/* Swap in a whole new index; requests already searching the old one
 * finish first (the write lock waits for them). */
static void install(match_index_t *fresh)
{
    stats_publish(fresh);
    pthread_rwlock_wrlock(&g_rw);
    match_index_t *old = g_index;
    g_index = fresh;
    pthread_rwlock_unlock(&g_rw);
    match_index_free(old);
    pthread_mutex_lock(&g_mu);
    if (!g_built) atomic_store(&g_st_start_us, (unsigned long)(match_seconds_since(&g_started) * 1e6));
    g_built = true;
    atomic_store(&g_ready, true);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

/* Build a whole new index from PostgreSQL and swap it in. */
static int rebuild(PGconn *c)
{
    double seconds = 0;
    char identity[sizeof g_index_identity] = "";
    if (g_snapshot[0] && match_load_identity(c, identity, sizeof identity) != 0) identity[0] = '\0';
    match_index_t *fresh = match_load(c, &seconds);
    if (!fresh) return -1;
    memcpy(g_index_identity, identity, sizeof identity);
    atomic_store(&g_st_build_us, (unsigned long)(seconds * 1e6));
    atomic_fetch_add(&g_st_builds, 1);
    install(fresh);
    return 0;
}

/* The follower's first start: the index of the snapshot file, when it was
 * written against this database (match_load_identity) and is whole; its
 * position is where the follower reads the log from. -1: build instead. */
static int on_restore(PGconn *c, void *ctx, char **position)
{
    (void)ctx;
    if (!g_snapshot[0]) return -1;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char identity[sizeof g_index_identity], pos[8192];
    const char *why = NULL;
    if (match_load_identity(c, identity, sizeof identity) != 0) return -1;
    match_index_t *ix = match_snapshot_read(g_snapshot, identity, pos, sizeof pos, &why);
    if (!ix) {
        log_event("info", "match_snapshot_not_used", why);
        return -1;
    }
    *position = strdup(pos);
    if (!*position) {
        match_index_free(ix);
        return -1;
    }
    double seconds = match_seconds_since(&t0);
    atomic_store(&g_st_load_us, (unsigned long)(seconds * 1e6));
    atomic_fetch_add(&g_st_loads, 1);
    char msg[512];
    snprintf(msg, sizeof msg, "%zu agents, %zu engagements, %zu KiB, %ld ms; from %.300s",
             match_index_agent_count(ix), match_index_engagement_count(ix),
             match_index_memory(ix) / 1024, (long)(seconds * 1000), g_snapshot);
    log_event("info", "match_index_loaded", msg);
    memcpy(g_index_identity, identity, sizeof identity);
    install(ix);
    match_changes_clear(&g_changes);
    return 0;
}

/* The follower stops while following: the index is exact at position, for
 * the database as it was when it was built or loaded (g_index_identity).
 * Only this thread writes the index, so it reads it without the lock
 * while requests go on. */
static void on_save(const char *position, void *ctx)
{
    (void)ctx;
    if (!g_snapshot[0] || !g_index || !g_index_identity[0]) return;
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char msg[512];
    size_t bytes = 0;
    if (match_snapshot_write(g_index, g_snapshot, g_index_identity, position, &bytes) != 0) {
        snprintf(msg, sizeof msg, "%.300s: %.100s", g_snapshot, strerror(errno));
        log_event("warn", "match_snapshot_failed", msg);
        return;
    }
    snprintf(msg, sizeof msg, "%zu KiB in %ld ms to %.300s", bytes / 1024,
             (long)(match_seconds_since(&t0) * 1000), g_snapshot);
    log_event("info", "match_snapshot_saved", msg);
}

/* A new position: whatever changed before it is in the new build. */
static int on_resync(PGconn *c, void *ctx)
{
    (void)ctx;
    if (rebuild(c) != 0) return -1;
    match_changes_clear(&g_changes);
    return 0;
}

static void on_change(const char *payload, void *ctx)
{
    (void)ctx;
    match_changes_add(&g_changes, payload);
}

/* Apply what the changes named: read the rows without the lock, then
 * apply them under it (well under a millisecond for a usual batch). A
 * burst past MATCH_REBUILD_OVER ids is one rebuild instead. */
static int on_batch(PGconn *c, void *ctx)
{
    (void)ctx;
    match_changes_t *ch = &g_changes;
    if (ch->overflow) {
        atomic_fetch_add(&g_st_notifications, ch->received); /* the rebuild absorbs them */
        match_changes_clear(ch);
        return rebuild(c);
    }
    if (match_changes_count(ch) == 0) return 0; /* only malformed payloads: counted later */
    match_fetched_t rows;
    if (match_changes_fetch(c, ch, &rows) != 0) return -1;
    long refused = 0;
    pthread_rwlock_wrlock(&g_rw);
    if (g_index) {
        refused = match_changes_apply(g_index, ch, &rows);
        stats_publish(g_index);
    }
    pthread_rwlock_unlock(&g_rw);
    match_fetched_clear(&rows);
    if (refused) log_event("warn", "match_rows_refused", "some changed rows were not indexed");
    atomic_fetch_add(&g_st_notifications, ch->received);
    match_changes_clear(ch);
    return 0;
}

/* ---------- the API ---------- */

int match_service_start(const char *conninfo)
{
    if (atomic_load(&g_running)) return 0;
    pthread_once(&g_once, service_init_once);
    pthread_mutex_lock(&g_mu);
    if (g_follower || g_stopping) {
        pthread_mutex_unlock(&g_mu);
        return 0;
    }
    follower_ops_t ops = {
        .who = "match",
        .topic = "match",
        /* no JIT: compiling the build's statements costs more than it saves */
        .setup = "SET statement_timeout = 0; SET TIME ZONE 'UTC'; SET jit = off",
        .resync = on_resync,
        .change = on_change,
        .batch = on_batch,
        .restore = on_restore,
        .save = on_save,
    };
    clock_gettime(CLOCK_MONOTONIC, &g_started);
    g_follower = follower_start(conninfo, &ops);
    bool ok = g_follower != NULL;
    if (ok) atomic_store(&g_running, true);
    pthread_mutex_unlock(&g_mu);
    return ok ? 0 : -PROBLEM_INTERNAL;
}

void match_service_stop(void)
{
    pthread_once(&g_once, service_init_once);
    pthread_mutex_lock(&g_mu);
    follower_t *l = g_follower;
    g_follower = NULL;
    g_stopping = l != NULL;
    pthread_mutex_unlock(&g_mu);
    if (!l) return;
    follower_stop(l);
    match_changes_free(&g_changes);
    pthread_rwlock_wrlock(&g_rw);
    match_index_free(g_index);
    g_index = NULL;
    pthread_rwlock_unlock(&g_rw);
    atomic_store(&g_st_ready, false);
    atomic_store(&g_st_bytes, 0);
    atomic_store(&g_st_agents, 0);
    atomic_store(&g_st_engagements, 0);
    pthread_mutex_lock(&g_mu);
    g_stopping = false;
    g_built = false;
    atomic_store(&g_ready, false);
    atomic_store(&g_running, false);
    pthread_mutex_unlock(&g_mu);
}

const match_index_t *match_service_acquire(int wait_ms, problem_t *p)
{
    pthread_once(&g_once, service_init_once);
    if (atomic_load(&g_ready)) {
        pthread_rwlock_rdlock(&g_rw);
        if (g_index) return g_index;
        pthread_rwlock_unlock(&g_rw);
    }
    /* before the first build: wait for it, up to wait_ms */
    pthread_mutex_lock(&g_mu);
    if (!g_built && wait_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!g_built && pthread_cond_timedwait(&g_cv, &g_mu, &until) == 0) {
        }
    }
    bool built = g_built;
    pthread_mutex_unlock(&g_mu);
    if (built) {
        pthread_rwlock_rdlock(&g_rw);
        if (g_index) return g_index;
        pthread_rwlock_unlock(&g_rw);
    }
    problem_fail(p, PROBLEM_UNAVAILABLE, "The matching index is being built; try again shortly.");
    p->retry_after = 2;
    return NULL;
}

void match_service_release(void) { pthread_rwlock_unlock(&g_rw); }
