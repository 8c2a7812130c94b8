/* fanout: a "fan_out" job -> the pending engagements' notifications, oldest first. */
#include "fanout.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "db.h"
#include "jobs.h"

/* The queue, oldest engagement first: notifications_fan_out (migration
 * 0027) writes FANOUT_BATCH of the oldest pending engagement's
 * notifications per transaction under an advisory lock, and a batch that
 * comes back short means that engagement is done and has left the queue;
 * then the next, until the queue is empty. In posting order; a statement
 * stays short whatever the number of followers. A post queues a job only
 * when none is waiting (migration 0045), so one job drains what was posted
 * meanwhile: first the barrier (every post that saw this job waiting has
 * committed), then the drain. While posts keep coming the queue may never
 * be empty: after FANOUT_SLICE_MS a job queues its successor (unless one is
 * waiting already) and ends, well within its lease. The successor is due
 * before every queued job (fan_out_successor, migration 0053): behind the
 * mail its slice queued it waited for all of it to be sent. */
#define FANOUT_BATCH "2000"
#define FANOUT_SLICE_MS 1000
static db_stmt_t s_barrier = DB_STMT("fanout_barrier", true, "SELECT fan_out_barrier()");
static db_stmt_t s_drain = DB_STMT("fanout_drain", true /* ON CONFLICT DO NOTHING: safe to retry */,
    "SELECT notifications_fan_out(NULL, $1::int)");
static db_stmt_t s_pending = DB_STMT("fanout_pending", true,
    "SELECT EXISTS (SELECT 1 FROM engagement_fan_outs)");
/* At the head of the queue, before the mail the slice queued (0053). */
static db_stmt_t s_successor = DB_STMT("fanout_successor", false,
    "SELECT count(fan_out_successor())");

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One statement; its first column's first value, or -1 (err says why). */
static long long exec_value(db_stmt_t *st, int n, const char *const *params, char *err, size_t errlen)
{
    problem_t p;
    problem_init(&p);
    PGresult *r = db_exec(st, n, params, &p);
    if (!r) {
        snprintf(err, errlen, "%s", p.detail[0] ? p.detail : "the drain failed");
        problem_clear(&p);
        return -1;
    }
    const char *v = PQgetvalue(r, 0, 0);
    long long out = v[0] == 't' ? 1 : v[0] == 'f' ? 0 : strtoll(v, NULL, 10);
    PQclear(r);
    return out;
}

static job_outcome_t fanout_run(const job_t *job, char *err, size_t errlen)
{
    (void)job;
    const char *params[1] = {FANOUT_BATCH};
    if (exec_value(&s_barrier, 0, NULL, err, errlen) < 0) return JOB_RETRY;
    long long until = now_ms() + FANOUT_SLICE_MS;
    for (;;) {
        if (jobs_stopping()) return JOB_RELEASE;
        long long written = exec_value(&s_drain, 1, params, err, errlen);
        if (written < 0) return JOB_RETRY;
        if (written >= atoll(FANOUT_BATCH)) continue;
        long long pending = exec_value(&s_pending, 0, NULL, err, errlen);
        if (pending < 0) return JOB_RETRY;
        if (!pending) return JOB_DONE;
        if (now_ms() >= until)
            return exec_value(&s_successor, 0, NULL, err, errlen) < 0 ? JOB_RETRY : JOB_DONE;
    }
}

int fanout_start(void) { return jobs_register("fan_out", fanout_run); }
