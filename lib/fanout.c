/* fanout: one "fan_out" job -> the oldest pending engagement's notifications. */
#include "fanout.h"

#include <stdio.h>

#include "db.h"
#include "jobs.h"

/* Drains the oldest pending engagement, under an advisory lock, in one
 * transaction (notifications_fan_out, migration 0027): in posting order,
 * and one post's followers per statement (10,000 rows, well within
 * STATEMENT_TIMEOUT_MS). Every post queues a job of its own, so the jobs
 * are at least as many as the engagements left: none is left behind. */
static db_stmt_t s_drain = DB_STMT("fanout_drain", true /* ON CONFLICT DO NOTHING: safe to retry */,
    "SELECT notifications_fan_out(NULL, 1)");

static job_outcome_t fanout_run(const job_t *job, char *err, size_t errlen)
{
    (void)job;
    problem_t p;
    problem_init(&p);
    PGresult *r = db_exec(&s_drain, 0, NULL, &p);
    if (!r) {
        snprintf(err, errlen, "%s", p.detail[0] ? p.detail : "the drain failed");
        problem_clear(&p);
        return JOB_RETRY;
    }
    PQclear(r);
    return JOB_DONE;
}

int fanout_start(void) { return jobs_register("fan_out", fanout_run); }
