/* listener: a thread that follows one PostgreSQL notification channel for
 * state a daemon keeps in memory (the match index, the answer cache).
 *
 * The thread holds its own connection (db_connect_listener) and runs setup
 * on it, which must LISTEN on the channel. Notifications sent while nobody
 * listens are lost, so after every new connection it calls resync, which
 * brings the state in line with the database (a full rebuild, or "forget
 * everything"). Then it hands every notification's payload to notify and,
 * after each batch read at once, calls batch, which may use the connection
 * (the match index reads the changed rows there). An idle connection is
 * pinged every 30 s. When the connection drops, or resync or batch fails,
 * it calls lost, logs <who>_listener_lost and connects again, waiting
 * listener_backoff_ms between attempts. Every callback runs on the thread;
 * the thread takes no signals. */
#ifndef PURPOSED_LISTENER_H
#define PURPOSED_LISTENER_H

#include <libpq-fe.h>
#include <stdbool.h>

typedef struct listener_ops {
    const char *who;   /* "match": application_name purposed-match, log events match_... */
    const char *setup; /* SQL run on each new connection, with the LISTEN */
    /* After each (re)connect, before any notification. 0, or -1 to drop
     * the connection and try again after a backoff. */
    int (*resync)(PGconn *c, void *ctx);
    /* One notification (payload "" when it had none). */
    void (*notify)(const char *payload, void *ctx);
    /* Optional: after the notifications read at once. 0, or -1 to drop the
     * connection (then resync again). */
    int (*batch)(PGconn *c, void *ctx);
    /* Optional: a resynced connection was lost or the listener stops. */
    void (*lost)(void *ctx);
    void *ctx;
} listener_ops_t;

typedef struct listener listener_t;

/* Start the thread (ops is copied; its strings and ctx must outlive the
 * listener). NULL when it could not start. */
listener_t *listener_start(const char *conninfo, const listener_ops_t *ops);
/* Stop the thread (it finishes the callback it is in), wait for it and free
 * l. NULL is a no-op. */
void listener_stop(listener_t *l);

/* Milliseconds to wait before connection attempt n after a loss (0 the
 * first): 100 ms doubling to at most 5 s. */
int listener_backoff_ms(unsigned attempt);

#endif
