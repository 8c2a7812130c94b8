/* listener: see listener.h. One thread per listener; it is woken for stop
 * through a pipe that it polls together with the connection's socket. */
#define _GNU_SOURCE /* pipe2 */
#include "listener.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

#define BACKOFF_FIRST_MS 100
#define BACKOFF_MAX_MS 5000
/* An idle connection is pinged this often, so that a dead one is noticed. */
#define IDLE_PING_MS 30000

struct listener {
    listener_ops_t ops;
    char *conninfo;
    pthread_t thread;
    int wake[2];          /* a byte written to wake[1] asks the thread to stop */
    atomic_bool stopping;
};

int listener_backoff_ms(unsigned attempt)
{
    int ms = BACKOFF_FIRST_MS;
    for (unsigned i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++) ms *= 2;
    return ms < BACKOFF_MAX_MS ? ms : BACKOFF_MAX_MS;
}

/* Sleep up to ms; true when asked to stop. */
static bool nap(listener_t *l, int ms)
{
    struct pollfd p = {l->wake[0], POLLIN, 0};
    int n = poll(&p, 1, ms);
    return (n > 0 && p.revents) || atomic_load(&l->stopping);
}

static bool ping(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT 1");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    return ok || PQstatus(c) == CONNECTION_OK;
}

/* Follow the channel on c until the connection fails (false) or the
 * listener is asked to stop (true). */
static bool follow(listener_t *l, PGconn *c)
{
    const listener_ops_t *ops = &l->ops;
    for (;;) {
        if (atomic_load(&l->stopping)) return true;
        if (!PQconsumeInput(c)) return false;
        unsigned n = 0;
        PGnotify *nf;
        while ((nf = PQnotifies(c))) {
            ops->notify(nf->extra ? nf->extra : "", ops->ctx);
            PQfreemem(nf);
            n++;
        }
        if (n) {
            if (ops->batch && ops->batch(c, ops->ctx) != 0) return false;
            /* batch may have run statements: notifications that came with
             * their answers wait in libpq, not on the socket */
            continue;
        }
        if (PQstatus(c) != CONNECTION_OK) return false;
        struct pollfd fds[2] = {{PQsocket(c), POLLIN, 0}, {l->wake[0], POLLIN, 0}};
        int ready = poll(fds, 2, IDLE_PING_MS);
        if (ready < 0 && errno != EINTR) return false;
        if (fds[1].revents) return true;
        if (ready == 0 && !ping(c)) return false;
    }
}

static void log_lost(const char *who, PGconn *c)
{
    char event[64], why[200];
    snprintf(event, sizeof event, "%s_listener_lost", who);
    snprintf(why, sizeof why, "%s", PQerrorMessage(c));
    why[strcspn(why, "\n")] = '\0';
    log_event("warn", event, why[0] ? why : "reconnecting");
}

static void *listener_main(void *arg)
{
    listener_t *l = arg;
    const listener_ops_t *ops = &l->ops;
    unsigned attempt = 0;
    for (;;) {
        if (atomic_load(&l->stopping)) break;
        PGconn *c = db_connect_listener(l->conninfo, ops->who, ops->setup);
        if (c && ops->resync(c, ops->ctx) == 0) {
            attempt = 0;
            bool stop = follow(l, c);
            if (ops->lost) ops->lost(ops->ctx);
            if (!stop) log_lost(ops->who, c);
        }
        if (c) PQfinish(c);
        if (nap(l, listener_backoff_ms(attempt++))) break;
    }
    return NULL;
}

listener_t *listener_start(const char *conninfo, const listener_ops_t *ops)
{
    listener_t *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->ops = *ops;
    l->conninfo = strdup(conninfo);
    if (!l->conninfo || pipe2(l->wake, O_CLOEXEC) != 0) {
        free(l->conninfo);
        free(l);
        return NULL;
    }
    atomic_init(&l->stopping, false);
    /* the thread takes no signals: they belong to main's sigwait */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&l->thread, NULL, listener_main, l);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(l->wake[0]);
        close(l->wake[1]);
        free(l->conninfo);
        free(l);
        return NULL;
    }
    return l;
}

void listener_stop(listener_t *l)
{
    if (!l) return;
    atomic_store(&l->stopping, true);
    ssize_t w;
    do w = write(l->wake[1], "x", 1);
    while (w < 0 && errno == EINTR);
    pthread_join(l->thread, NULL);
    close(l->wake[0]);
    close(l->wake[1]);
    free(l->conninfo);
    free(l);
}
