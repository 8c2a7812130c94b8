/* fanout: one "fan_out" job -> the oldest pending engagement's notifications. */
#include "fanout.h"

#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "jobs.h"

/* The oldest pending engagement's notifications, FANOUT_BATCH per
 * transaction under an advisory lock (notifications_fan_out, migration
 * 0027), until a batch comes back short: the engagement is done and has
 * left the queue. In posting order; a statement stays short whatever the
 * number of followers. Every post queues a job of its own, so the jobs
 * are at least as many as the engagements left: none is left behind. */
#define FANOUT_BATCH "2000"
static db_stmt_t s_drain = DB_STMT("fanout_drain", true /* ON CONFLICT DO NOTHING: safe to retry */,
    "SELECT notifications_fan_out(NULL, $1::int)");

static job_outcome_t fanout_run(const job_t *job, char *err, size_t errlen)
{
    (void)job;
    const char *params[1] = {FANOUT_BATCH};
    for (;;) {
        if (jobs_stopping()) return JOB_RELEASE;
        problem_t p;
        problem_init(&p);
        PGresult *r = db_exec(&s_drain, 1, params, &p);
        if (!r) {
            snprintf(err, errlen, "%s", p.detail[0] ? p.detail : "the drain failed");
            problem_clear(&p);
            return JOB_RETRY;
        }
        long long written = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        PQclear(r);
        if (written < atoll(FANOUT_BATCH)) return JOB_DONE;
    }
}

int fanout_start(void) { return jobs_register("fan_out", fanout_run); }
