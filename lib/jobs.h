/* jobs: the durable queue of background work (mail now, federation
 * deliveries later), shared by every daemon on the database. A job is a row
 * of `jobs` (migration 0020) written by the transaction that causes it,
 * with SQL: `SELECT job_enqueue('mail', jsonb_build_object(...))`. Worker
 * threads claim due rows with FOR UPDATE SKIP LOCKED and a lease, run the
 * handler registered for the row's kind, and record the outcome. */
#ifndef PURPOSED_JOBS_H
#define PURPOSED_JOBS_H

#include <jansson.h>
#include <stdbool.h>

#include "strbuf.h"

typedef enum job_outcome {
    JOB_DONE,     /* finished: state 'done' */
    JOB_RETRY,    /* a temporary failure: again after a backoff, until max_attempts */
    JOB_FAIL,     /* a permanent failure: state 'failed' now */
    JOB_RELEASE,  /* not run (the daemon is stopping): queued again, the attempt not counted */
} job_outcome_t;

typedef struct job {
    long long id;
    const char *kind;
    json_t *payload;        /* borrowed for the handler's call */
    int attempts;           /* claims so far, this one included */
    int max_attempts;
    long long created_us;   /* created_at in microseconds since the epoch */
} job_t;

/* Runs one job on a worker thread (which has its own database connection
 * through lib/db). On JOB_RETRY/JOB_FAIL, err says why (kept as last_error). */
typedef job_outcome_t (*jobs_handler_fn)(const job_t *job, char *err, size_t errlen);

typedef struct jobs_config {
    int workers;            /* threads; 0 = this daemon runs no background work */
    int lease_s;            /* a claim is held this long; a job must finish within it */
    int poll_ms;            /* how often an idle worker looks for due jobs */
    double retry_base_s;    /* first retry delay; doubled per attempt, with jitter */
    double retry_max_s;     /* the delay never exceeds this */
} jobs_config_t;

/* Before jobs_start: the handler of a kind (at most 16 kinds). A daemon
 * claims only the kinds it has handlers for. Returns 0 or -1. */
int jobs_register(const char *kind, jobs_handler_fn fn);
/* Start the workers. Returns 0 or -1 (threads could not be created). */
int jobs_start(const jobs_config_t *cfg);
/* Stop: wake the workers, let each finish (or release) its job, join them. */
void jobs_stop(void);
/* True once jobs_stop was called: a long handler gives up and returns JOB_RELEASE. */
bool jobs_stopping(void);

/* Pure: the delay before the next try after `attempt` failed tries
 * (1, 2, ...): base * 2^(attempt-1), at most max, scaled by jitter u in
 * [0, 1) into [half, whole] of that ("equal jitter"). */
double jobs_backoff_seconds(int attempt, double base_s, double max_s, double u);

/* The queue in the Prometheus text format: jobs_queued and jobs_running
 * per kind (from the database, all daemons), and this daemon's
 * jobs_{started,done,retried,failed,released}_total per kind and
 * jobs_lease_expired_total, appended to sb. Runs one statement on the
 * calling thread's connection (without the database, the gauges are 0). */
void jobs_metrics_render(strbuf_t *sb);

#endif
