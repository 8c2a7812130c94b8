/* follower: see follower.h. One thread per follower; it is woken for stop
 * through a pipe that it polls between reads of the log. */
#define _GNU_SOURCE /* pipe2 */
#include "follower.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
/* A paused follower (poll_ms 0) still pings this often, so that a dead
 * connection is noticed. */
#define IDLE_PING_MS 30000
#define PRUNE_EVERY_MS 60000

/* Rows of one topic committed after the position $1 and visible now, with
 * the snapshot they were read under (the next position) and whether the
 * log was pruned past what $1 still needed. One statement, so one
 * snapshot: pg_current_snapshot() is the statement's own. */
#define WAL_POSITION \
    "(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_insert_lsn() END)::text"
static const char POLL_SQL[] =
    "SELECT s.snap::text, h.pruned_xid >= pg_snapshot_xmin($1::pg_snapshot), l.payload, s.lsn"
    " FROM (SELECT pg_current_snapshot() AS snap, " WAL_POSITION " AS lsn) s"
    " CROSS JOIN change_log_horizon h"
    " LEFT JOIN LATERAL (SELECT seq, payload FROM change_log"
    "   WHERE topic = $2 AND xid >= pg_snapshot_xmin($1::pg_snapshot)"
    "   AND NOT pg_visible_in_snapshot(xid, $1::pg_snapshot)"
    "   ORDER BY seq LIMIT $3) l ON true"
    " ORDER BY l.seq";

struct follower {
    follower_ops_t ops;
    char *conninfo;
    char *position;       /* the snapshot text of the last poll */
    int poll_ms;
    pthread_t thread;
    int wake[2];          /* a byte written to wake[1] ends a nap (to stop, or to poll now) */
    atomic_bool stopping;
};

static atomic_int g_poll_ms = FOLLOWER_POLL_MS;
static atomic_uint_fast64_t g_polls, g_changes, g_resyncs, g_pruned;
static _Atomic db_lsn_t g_changed_lsn;

/* A change (or a resync) was handed over at this WAL position or before. */
static void changed_at(const char *lsn_text)
{
    db_lsn_t lsn = db_lsn_parse(lsn_text), cur = atomic_load(&g_changed_lsn);
    while (lsn > cur && !atomic_compare_exchange_weak(&g_changed_lsn, &cur, lsn)) {
    }
}

db_lsn_t follower_changed_lsn(void) { return atomic_load(&g_changed_lsn); }

void follower_set_poll_ms(int ms) { atomic_store(&g_poll_ms, ms < 0 ? 0 : ms); }

void follower_stats(follower_stats_t *out)
{
    out->polls = atomic_load(&g_polls);
    out->changes = atomic_load(&g_changes);
    out->resyncs = atomic_load(&g_resyncs);
    out->pruned = atomic_load(&g_pruned);
}

int follower_backoff_ms(unsigned attempt)
{
    int ms = BACKOFF_FIRST_MS;
    for (unsigned i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++) ms *= 2;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/* Sleep up to ms, less when poked; true when asked to stop. */
static bool nap(follower_t *f, int ms)
{
    struct pollfd p = {f->wake[0], POLLIN, 0};
    if (poll(&p, 1, ms) > 0 && p.revents) {
        char drain[64];
        ssize_t got = read(f->wake[0], drain, sizeof drain); /* non-blocking */
        (void)got;
    }
    return atomic_load(&f->stopping);
}

void follower_poke(follower_t *f)
{
    if (!f) return;
    ssize_t w = write(f->wake[1], "p", 1); /* non-blocking: a full pipe wakes it anyway */
    (void)w;
}

int follower_poll_ms(void) { return atomic_load(&g_poll_ms); }

static long long now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static bool ping(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT 1");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok;
}

static void set_position(follower_t *f, const char *snap)
{
    char *copy = strdup(snap);
    if (!copy) return; /* keep the older one: changes are read again, harmlessly */
    free(f->position);
    f->position = copy;
}

/* A new position (the current snapshot), then the resync. -1 when either
 * failed. */
static int resync(follower_t *f, PGconn *c)
{
    if (f->ops.positioning) f->ops.positioning(f->ops.ctx);
    PGresult *r = PQexec(c, "SELECT pg_current_snapshot()::text, " WAL_POSITION);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok) {
        set_position(f, PQgetvalue(r, 0, 0));
        changed_at(PQgetvalue(r, 0, 1));
    }
    PQclear(r);
    if (!ok || !f->position) return -1;
    atomic_fetch_add(&g_resyncs, 1);
    int rc = f->ops.resync(c, f->ops.ctx);
    if (rc == 0 && f->ops.caught_up) f->ops.caught_up(f->ops.ctx);
    return rc;
}

/* Old rows out, by one daemon at a time (the function skips when another
 * holds its lock, or on a standby). A failure is logged, not fatal. */
static void prune(follower_t *f, PGconn *c)
{
    char keep[32];
    snprintf(keep, sizeof keep, "%d seconds", FOLLOWER_KEEP_SECONDS);
    const char *params[1] = {keep};
    PGresult *r = PQexecParams(c, "SELECT change_log_prune($1::interval)", 1, NULL, params,
                               NULL, NULL, 0);
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1)
        atomic_fetch_add(&g_pruned, (uint_fast64_t)strtoull(PQgetvalue(r, 0, 0), NULL, 10));
    else
        log_event("warn", "change_log_prune_failed", PQresultErrorMessage(r));
    PQclear(r);
    (void)f;
}

typedef enum { POLL_OK, POLL_RESYNC, POLL_FAILED } poll_result_t;

/* One read of the log: hand over its changes, move the position. *n is
 * the number of changes. */
static poll_result_t poll_once(follower_t *f, PGconn *c, int *n)
{
    *n = 0;
    char limit[24];
    snprintf(limit, sizeof limit, "%d", FOLLOWER_BATCH_MAX + 1);
    const char *params[3] = {f->position, f->ops.topic, limit};
    if (f->ops.positioning) f->ops.positioning(f->ops.ctx);
    PGresult *r = PQexecParams(c, POLL_SQL, 3, NULL, params, NULL, NULL, 0);
    atomic_fetch_add(&g_polls, 1);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) < 1) {
        char event[64];
        snprintf(event, sizeof event, "%s_follow_failed", f->ops.who);
        log_event("warn", event, PQresultErrorMessage(r));
        PQclear(r);
        return POLL_FAILED;
    }
    int rows = PQntuples(r);
    bool pruned_past = PQgetvalue(r, 0, 1)[0] == 't';
    db_note_primary_lsn(db_lsn_parse(PQgetvalue(r, 0, 3)));
    if (pruned_past || rows > FOLLOWER_BATCH_MAX) {
        char event[64];
        snprintf(event, sizeof event, "%s_follow_resync", f->ops.who);
        log_event("info", event, pruned_past ? "the log was pruned past this position"
                                             : "more changes than one batch");
        PQclear(r);
        return POLL_RESYNC;
    }
    /* before the changes are applied: a read routed after this point needs
     * a replica that has them (follower_changed_lsn) */
    if (rows > 1 || !PQgetisnull(r, 0, 2)) changed_at(PQgetvalue(r, 0, 3));
    for (int i = 0; i < rows; i++) {
        if (PQgetisnull(r, i, 2)) continue; /* the LEFT JOIN's row when nothing changed */
        f->ops.change(PQgetvalue(r, i, 2), f->ops.ctx);
        (*n)++;
    }
    /* the rows handed over, then the position: a batch that fails reads
     * them again after the resync */
    char *next = strdup(PQgetvalue(r, 0, 0));
    PQclear(r);
    if (!next) return POLL_FAILED;
    atomic_fetch_add(&g_changes, (uint_fast64_t)*n);
    if (*n && f->ops.batch && f->ops.batch(c, f->ops.ctx) != 0) {
        free(next);
        return POLL_FAILED;
    }
    free(f->position);
    f->position = next;
    if (f->ops.caught_up) f->ops.caught_up(f->ops.ctx);
    return POLL_OK;
}

/* Follow the log on c until the connection fails (false) or the follower
 * is asked to stop (true). */
static bool follow(follower_t *f, PGconn *c)
{
    long long last_prune = now_ms(), last_ping = now_ms();
    for (;;) {
        if (atomic_load(&f->stopping)) return true;
        if (f->poll_ms == 0) { /* paused (tests): keep the connection alive only */
            if (nap(f, 200)) return true;
            if (now_ms() - last_ping >= IDLE_PING_MS) {
                if (!ping(c)) return false;
                last_ping = now_ms();
            }
            continue;
        }
        int n = 0;
        poll_result_t pr = poll_once(f, c, &n);
        if (pr == POLL_FAILED) return false;
        if (pr == POLL_RESYNC) {
            if (resync(f, c) != 0) return false;
            continue;
        }
        if (now_ms() - last_prune >= PRUNE_EVERY_MS) {
            prune(f, c);
            last_prune = now_ms();
        }
        if (PQstatus(c) != CONNECTION_OK) return false;
        /* a full batch may have more behind it: read again at once */
        if (n < FOLLOWER_BATCH_MAX / 2 && nap(f, f->poll_ms)) return true;
    }
}

static void log_lost(const char *who, PGconn *c)
{
    char event[64], why[200];
    snprintf(event, sizeof event, "%s_follower_lost", who);
    snprintf(why, sizeof why, "%s", PQerrorMessage(c));
    why[strcspn(why, "\n")] = '\0';
    log_event("warn", event, why[0] ? why : "reconnecting");
}

/* The first connection's start: the saved state and its position when
 * restore gives them, else a resync. */
static int restore_or_resync(follower_t *f, PGconn *c, bool *first)
{
    char *saved = NULL;
    bool tried = *first && f->ops.restore;
    *first = false; /* tried once: a state that could not be restored is rebuilt */
    if (tried && f->ops.restore(c, f->ops.ctx, &saved) == 0 && saved) {
        free(f->position);
        f->position = saved;
        return 0;
    }
    free(saved);
    return resync(f, c);
}

static void *follower_main(void *arg)
{
    follower_t *f = arg;
    const follower_ops_t *ops = &f->ops;
    unsigned attempt = 0;
    bool first = true;
    for (;;) {
        if (atomic_load(&f->stopping)) break;
        PGconn *c = db_connect_follower(f->conninfo, ops->who, ops->setup);
        if (c && restore_or_resync(f, c, &first) == 0) {
            attempt = 0;
            bool stop = follow(f, c);
            if (stop && ops->save) ops->save(f->position, ops->ctx);
            if (ops->lost) ops->lost(ops->ctx);
            if (!stop) log_lost(ops->who, c);
        }
        if (c) PQfinish(c);
        if (nap(f, follower_backoff_ms(attempt++))) break;
    }
    return NULL;
}

follower_t *follower_start(const char *conninfo, const follower_ops_t *ops)
{
    follower_t *f = calloc(1, sizeof *f);
    if (!f) return NULL;
    f->ops = *ops;
    f->poll_ms = atomic_load(&g_poll_ms);
    f->conninfo = strdup(conninfo);
    if (!f->conninfo || pipe2(f->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
        free(f->conninfo);
        free(f);
        return NULL;
    }
    atomic_init(&f->stopping, false);
    /* the thread takes no signals: they belong to main's sigwait */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&f->thread, NULL, follower_main, f);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(f->wake[0]);
        close(f->wake[1]);
        free(f->conninfo);
        free(f);
        return NULL;
    }
    return f;
}

void follower_stop(follower_t *f)
{
    if (!f) return;
    atomic_store(&f->stopping, true);
    ssize_t w;
    do w = write(f->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(f->thread, NULL);
    close(f->wake[0]);
    close(f->wake[1]);
    free(f->conninfo);
    free(f->position);
    free(f);
}
