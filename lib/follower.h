/* follower: a thread that follows one topic of the change log (table
 * change_log, migration 0019) for state a daemon keeps in memory (the match
 * index, the answer cache). It needs ordinary reads only: no LISTEN, so it
 * works through a transaction-mode pooler and could read a hot standby.
 *
 * The thread holds its own connection (db_connect_follower) and runs setup
 * on it. Its position is a PostgreSQL snapshot. After every new connection
 * it takes the current snapshot as its position, then calls resync, which
 * brings the state in line with the database (a full rebuild, or "forget
 * everything"): whatever committed before the position is in the resync,
 * whatever commits after it is read from the log (both, at worst, which
 * is harmless: applying a change means reading the row again).
 *
 * Then it polls every poll_ms: one statement returns its own snapshot and
 * the topic's rows whose transaction is visible in it and was not in the
 * previous position, in sequence order. Each row's payload goes to change,
 * then batch runs once (it may use the connection: the match index reads
 * the changed rows there). A row is read once, after its commit, whatever
 * order sequence numbers and commits came in: there are no gaps to wait
 * for. When a poll finds more than FOLLOWER_BATCH_MAX rows, or the log was
 * pruned past what its position still needed, it takes a new position and
 * resyncs again. When the connection drops, or resync or batch fails, it
 * calls lost, logs <who>_follower_lost and connects again, waiting
 * follower_backoff_ms between attempts. A follower with restore and save
 * resumes where the last one stopped instead of its first resync. Once a
 * minute it prunes the log
 * (change_log_prune: rows older than FOLLOWER_KEEP_SECONDS). Every callback
 * runs on the thread; the thread takes no signals. */
#ifndef PURPOSED_FOLLOWER_H
#define PURPOSED_FOLLOWER_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "db.h"

#define FOLLOWER_BATCH_MAX 20000  /* rows of one poll; past it, a resync */
#define FOLLOWER_KEEP_SECONDS 300 /* the log's retention */
#define FOLLOWER_POLL_MS 50       /* the default poll interval */

typedef struct follower_ops {
    const char *who;   /* "match": application_name purposed-match, log events match_... */
    const char *topic; /* change_log.topic: "match", "cache" */
    const char *setup; /* SQL run on each new connection; NULL for none */
    /* After each new position, before any change. 0, or -1 to drop the
     * connection and try again after a backoff. */
    int (*resync)(PGconn *c, void *ctx);
    /* One change's payload. */
    void (*change)(const char *payload, void *ctx);
    /* Optional: after the changes of one poll. 0, or -1 to drop the
     * connection (then resync again). */
    int (*batch)(PGconn *c, void *ctx);
    /* Optional: a resynced connection was lost or the follower stops. */
    void (*lost)(void *ctx);
    /* Optional, tried once, on the first connection, instead of the first
     * resync: bring the state back from where save kept it and give the
     * position it is exact at (a snapshot text, malloc'd) in *position.
     * 0: follow the log from there (a log pruned past it, or more changes
     * since than one batch, is a resync as always); -1: resync instead. */
    int (*restore)(PGconn *c, void *ctx, char **position);
    /* Optional: when the follower is stopped while following (not after a
     * failure), with the position its state is exact at. */
    void (*save)(const char *position, void *ctx);
    /* Optional: right before each statement that takes a new position (a
     * poll, a resync's), and once that position's changes are all applied
     * (the poll and its batch, or the resync, succeeded). Whatever committed
     * before the first is in the state by the second: a daemon's own
     * writes are read back this way (lib/textindex_service.c). */
    void (*positioning)(void *ctx);
    void (*caught_up)(void *ctx);
    void *ctx;
} follower_ops_t;

typedef struct follower follower_t;

/* The poll interval of followers started afterwards, in milliseconds
 * (CHANGES_POLL_MS). 0: never read the log after a resync, for tests that
 * show what a daemon guarantees without it. */
void follower_set_poll_ms(int ms);

/* The poll interval followers start with (0: paused). */
int follower_poll_ms(void);

/* Start the thread (ops is copied; its strings and ctx must outlive the
 * follower). NULL when it could not start. */
follower_t *follower_start(const char *conninfo, const follower_ops_t *ops);
/* Stop the thread (it finishes the callback it is in), wait for it and free
 * f. NULL is a no-op. */
void follower_stop(follower_t *f);

/* Poll now rather than at the end of the interval (any thread; never
 * blocks). NULL is a no-op. */
void follower_poke(follower_t *f);

/* Milliseconds to wait before connection attempt n after a loss (0 the
 * first): 100 ms doubling to at most 5 s. */
int follower_backoff_ms(unsigned attempt);

/* The primary's WAL position when a follower last handed over changes (or
 * resynced): a read that a cache may keep must come from a replica that has
 * replayed it, or it could put back what the change just dropped. */
db_lsn_t follower_changed_lsn(void);

typedef struct follower_stats {
    uint64_t polls, changes, resyncs, pruned;
} follower_stats_t;
/* Counters over every follower of the process. */
void follower_stats(follower_stats_t *out);

#endif
