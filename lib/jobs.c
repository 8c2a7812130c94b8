/* jobs: worker threads claiming leased rows of `jobs`, one outcome each. */
#include "jobs.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "problem.h"

#define JOBS_MAX_KINDS 16
#define JOBS_MAX_WORKERS 64

typedef struct kind_entry {
    char name[33];
    jobs_handler_fn fn;
    atomic_ulong started, done, retried, failed, released;
} kind_entry_t;

static kind_entry_t g_kinds[JOBS_MAX_KINDS];
static int g_nkinds;
static char g_kinds_array[JOBS_MAX_KINDS * 36 + 3]; /* {"mail","..."} for = ANY($n) */
static jobs_config_t g_cfg;
static char g_worker_id[128];
static pthread_t g_threads[JOBS_MAX_WORKERS];
static int g_nthreads;
static atomic_bool g_stopping;
static atomic_ulong g_lease_expired;
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;

/* Due queued rows, the oldest first; attempts is counted at the claim so a
 * job that crashes its daemon still runs out of attempts. */
static db_stmt_t s_claim = DB_STMT("jobs_claim", false,
    "WITH c AS ("
    "  SELECT id FROM jobs WHERE state = 'queued' AND run_at <= now() AND kind = ANY($3::text[])"
    "  ORDER BY run_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs j SET state = 'running', attempts = j.attempts + 1,"
    "   lease_until = now() + make_interval(secs => $1::int), lease_token = gen_random_uuid(),"
    "   leased_by = $2"
    " FROM c WHERE j.id = c.id"
    " RETURNING j.id, j.kind, j.payload::text, j.attempts, j.max_attempts, j.lease_token,"
    "   (extract(epoch FROM j.created_at) * 1000000)::bigint");

/* Leases that ran out: their daemon died or lost the database. The job is
 * due again (or failed, when that was its last attempt). */
static db_stmt_t s_expire = DB_STMT("jobs_expire_leases", false,
    "WITH x AS ("
    "  SELECT id FROM jobs WHERE state = 'running' AND lease_until < now()"
    "  ORDER BY lease_until LIMIT 100 FOR UPDATE SKIP LOCKED)"
    " UPDATE jobs j SET"
    "   state = CASE WHEN j.attempts >= j.max_attempts THEN 'failed' ELSE 'queued' END,"
    "   finished_at = CASE WHEN j.attempts >= j.max_attempts THEN now() END,"
    "   payload = CASE WHEN j.attempts >= j.max_attempts THEN j.payload - 'secret' ELSE j.payload END,"
    "   run_at = now(), lease_until = NULL, lease_token = NULL,"
    "   last_error = left('lease expired (held by ' || coalesce(j.leased_by, '?') || ')', 1000)"
    " FROM x WHERE j.id = x.id RETURNING j.id, j.kind, j.state");

static db_stmt_t s_done = DB_STMT("jobs_done", false,
    "UPDATE jobs SET state = 'done', finished_at = now(), lease_until = NULL, lease_token = NULL,"
    " last_error = NULL, payload = payload - 'secret'"
    " WHERE id = $1 AND lease_token = $2 AND state = 'running'");

static db_stmt_t s_retry = DB_STMT("jobs_retry", false,
    "UPDATE jobs SET"
    " state = CASE WHEN attempts >= max_attempts THEN 'failed' ELSE 'queued' END,"
    " finished_at = CASE WHEN attempts >= max_attempts THEN now() END,"
    " payload = CASE WHEN attempts >= max_attempts THEN payload - 'secret' ELSE payload END,"
    " run_at = now() + make_interval(secs => $3::double precision),"
    " lease_until = NULL, lease_token = NULL, last_error = left($4, 1000)"
    " WHERE id = $1 AND lease_token = $2 AND state = 'running' RETURNING state");

static db_stmt_t s_fail = DB_STMT("jobs_fail", false,
    "UPDATE jobs SET state = 'failed', finished_at = now(), lease_until = NULL, lease_token = NULL,"
    " last_error = left($3, 1000), payload = payload - 'secret'"
    " WHERE id = $1 AND lease_token = $2 AND state = 'running'");

static db_stmt_t s_release = DB_STMT("jobs_release", false,
    "UPDATE jobs SET state = 'queued', attempts = greatest(attempts - 1, 0), run_at = now(),"
    " lease_until = NULL, lease_token = NULL"
    " WHERE id = $1 AND lease_token = $2 AND state = 'running'");

/* Finished rows are kept a week (done) or a month (failed), for inspection. */
static db_stmt_t s_sweep = DB_STMT("jobs_sweep", false,
    "DELETE FROM jobs WHERE id IN (SELECT id FROM jobs WHERE finished_at IS NOT NULL"
    " AND finished_at < now() - CASE WHEN state = 'done' THEN interval '7 days'"
    "                                ELSE interval '30 days' END LIMIT 1000)");

static db_stmt_t s_depth = DB_STMT("jobs_depth", true,
    "SELECT kind, count(*) FILTER (WHERE state = 'queued'), count(*) FILTER (WHERE state = 'running')"
    " FROM jobs WHERE state IN ('queued', 'running') GROUP BY kind ORDER BY kind");

double jobs_backoff_seconds(int attempt, double base_s, double max_s, double u)
{
    if (attempt < 1) attempt = 1;
    if (u < 0) u = 0;
    if (u >= 1) u = 1;
    double d = base_s * ldexp(1.0, attempt > 60 ? 60 : attempt - 1);
    if (d > max_s) d = max_s;
    return d / 2 + d / 2 * u;
}

int jobs_register(const char *kind, jobs_handler_fn fn)
{
    if (g_nkinds >= JOBS_MAX_KINDS || strlen(kind) > 32 || !fn) return -1;
    for (const char *c = kind; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_')) return -1;
    kind_entry_t *k = &g_kinds[g_nkinds++];
    snprintf(k->name, sizeof k->name, "%s", kind);
    k->fn = fn;
    return 0;
}

bool jobs_stopping(void) { return atomic_load(&g_stopping); }

static kind_entry_t *kind_find(const char *name)
{
    for (int i = 0; i < g_nkinds; i++)
        if (strcmp(g_kinds[i].name, name) == 0) return &g_kinds[i];
    return NULL;
}

/* Sleep up to ms, woken early by jobs_stop. */
static void idle_wait(int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&g_mu);
    if (!atomic_load(&g_stopping)) pthread_cond_timedwait(&g_cv, &g_mu, &ts);
    pthread_mutex_unlock(&g_mu);
}

static void expire_leases(void)
{
    problem_t p = {0};
    PGresult *r = db_exec(&s_expire, 0, NULL, &p);
    if (!r) return;
    for (int i = 0; i < PQntuples(r); i++) {
        atomic_fetch_add(&g_lease_expired, 1);
        kind_entry_t *k = kind_find(PQgetvalue(r, i, 1));
        bool failed = strcmp(PQgetvalue(r, i, 2), "failed") == 0;
        if (k && failed) atomic_fetch_add(&k->failed, 1);
        char msg[160];
        snprintf(msg, sizeof msg, "job %s (%s) %s", PQgetvalue(r, i, 0), PQgetvalue(r, i, 1),
                 failed ? "failed: its last attempt's lease expired" : "is due again");
        log_event("warn", "job_lease_expired", msg);
    }
    PQclear(r);
}

/* Record an outcome; a few tries when the database is briefly away (the
 * lease keeps the row ours meanwhile). Returns the result or NULL. */
static PGresult *record(db_stmt_t *st, int n, const char *const *params)
{
    for (int i = 0; i < 5; i++) {
        problem_t p = {0};
        PGresult *r = db_exec(st, n, params, &p);
        if (r) return r;
        if (p.status != 503) break;
        sleep(1);
    }
    return NULL;
}

static void run_one(PGresult *claimed)
{
    const char *id = PQgetvalue(claimed, 0, 0);
    const char *kind = PQgetvalue(claimed, 0, 1);
    const char *token = PQgetvalue(claimed, 0, 5);
    kind_entry_t *k = kind_find(kind);
    json_error_t jerr;
    json_t *payload = json_loads(PQgetvalue(claimed, 0, 2), 0, &jerr);
    job_t job = {
        .id = atoll(id),
        .kind = kind,
        .payload = payload,
        .attempts = atoi(PQgetvalue(claimed, 0, 3)),
        .max_attempts = atoi(PQgetvalue(claimed, 0, 4)),
        .created_us = atoll(PQgetvalue(claimed, 0, 6)),
    };
    char err[1000] = "";
    job_outcome_t out;
    if (!k) {
        out = JOB_RELEASE; /* cannot happen: only registered kinds are claimed */
    } else if (!payload) {
        snprintf(err, sizeof err, "payload is not JSON: %s", jerr.text);
        out = JOB_FAIL;
    } else {
        atomic_fetch_add(&k->started, 1);
        out = k->fn(&job, err, sizeof err);
    }
    json_decref(payload);

    PGresult *r = NULL;
    const char *event = NULL;
    switch (out) {
    case JOB_DONE: {
        const char *params[] = {id, token};
        r = record(&s_done, 2, params);
        if (r && strcmp(PQcmdTuples(r), "1") == 0) atomic_fetch_add(&k->done, 1);
        break;
    }
    case JOB_RETRY: {
        char delay[32];
        snprintf(delay, sizeof delay, "%.3f",
                 jobs_backoff_seconds(job.attempts, g_cfg.retry_base_s, g_cfg.retry_max_s,
                                      randombytes_uniform(1000000) / 1e6));
        const char *params[] = {id, token, delay, err[0] ? err : "temporary failure"};
        r = record(&s_retry, 4, params);
        if (r && PQntuples(r) == 1) {
            bool failed = strcmp(PQgetvalue(r, 0, 0), "failed") == 0;
            atomic_fetch_add(failed ? &k->failed : &k->retried, 1);
            event = failed ? "job_failed" : "job_retry";
        }
        break;
    }
    case JOB_FAIL: {
        const char *params[] = {id, token, err[0] ? err : "failed"};
        r = record(&s_fail, 3, params);
        if (r && strcmp(PQcmdTuples(r), "1") == 0) {
            if (k) atomic_fetch_add(&k->failed, 1);
            event = "job_failed";
        }
        break;
    }
    case JOB_RELEASE: {
        const char *params[] = {id, token};
        r = record(&s_release, 2, params);
        if (r && k) atomic_fetch_add(&k->released, 1);
        break;
    }
    }
    char msg[1200];
    if (!r) {
        snprintf(msg, sizeof msg, "job %s (%s): the outcome could not be recorded; the lease will expire", id, kind);
        log_event("warn", "job_unrecorded", msg);
    } else {
        if (event) {
            snprintf(msg, sizeof msg, "job %s (%s) attempt %d: %s", id, kind, job.attempts, err);
            log_event("warn", event, msg);
        } else if (PQntuples(r) == 0 && strcmp(PQcmdTuples(r), "0") == 0) {
            snprintf(msg, sizeof msg, "job %s (%s): its lease expired and another worker took it", id, kind);
            log_event("warn", "job_lease_lost", msg);
        }
        PQclear(r);
    }
}

static void *worker_main(void *arg)
{
    int index = (int)(long)arg;
    time_t last_expire = 0, last_sweep = 0;
    char lease[16];
    snprintf(lease, sizeof lease, "%d", g_cfg.lease_s);
    while (!atomic_load(&g_stopping)) {
        time_t now = time(NULL);
        if (now - last_expire >= 1) {
            last_expire = now;
            expire_leases();
        }
        if (index == 0 && now - last_sweep >= 600) {
            last_sweep = now;
            problem_t p = {0};
            PGresult *r = db_exec(&s_sweep, 0, NULL, &p);
            if (r) PQclear(r);
        }
        problem_t p = {0};
        const char *params[] = {lease, g_worker_id, g_kinds_array};
        PGresult *r = db_exec(&s_claim, 3, params, &p);
        if (!r || PQntuples(r) == 0) {
            if (r) PQclear(r);
            idle_wait(r ? g_cfg.poll_ms : (g_cfg.poll_ms > 1000 ? g_cfg.poll_ms : 1000));
            continue;
        }
        run_one(r);
        PQclear(r);
    }
    db_thread_close();
    return NULL;
}

int jobs_start(const jobs_config_t *cfg)
{
    g_cfg = *cfg;
    atomic_store(&g_stopping, false);
    if (cfg->workers <= 0 || g_nkinds == 0) return 0;
    char host[64] = "";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    snprintf(g_worker_id, sizeof g_worker_id, "%s:%ld", host, (long)getpid());
    size_t n = 0;
    n += (size_t)snprintf(g_kinds_array + n, sizeof g_kinds_array - n, "{");
    for (int i = 0; i < g_nkinds; i++)
        n += (size_t)snprintf(g_kinds_array + n, sizeof g_kinds_array - n, "%s%s",
                              i ? "," : "", g_kinds[i].name);
    snprintf(g_kinds_array + n, sizeof g_kinds_array - n, "}");
    int want = cfg->workers > JOBS_MAX_WORKERS ? JOBS_MAX_WORKERS : cfg->workers;
    for (g_nthreads = 0; g_nthreads < want; g_nthreads++)
        if (pthread_create(&g_threads[g_nthreads], NULL, worker_main, (void *)(long)g_nthreads) != 0) {
            jobs_stop();
            return -1;
        }
    return 0;
}

void jobs_stop(void)
{
    pthread_mutex_lock(&g_mu);
    atomic_store(&g_stopping, true);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
    for (int i = 0; i < g_nthreads; i++) pthread_join(g_threads[i], NULL);
    g_nthreads = 0;
}

void jobs_metrics_render(strbuf_t *b)
{
    long queued[JOBS_MAX_KINDS] = {0}, running[JOBS_MAX_KINDS] = {0};
    problem_t p = {0};
    PGresult *r = db_exec(&s_depth, 0, NULL, &p);
    for (int i = 0; r && i < PQntuples(r); i++)
        for (int k = 0; k < g_nkinds; k++)
            if (strcmp(g_kinds[k].name, PQgetvalue(r, i, 0)) == 0) {
                queued[k] = atol(PQgetvalue(r, i, 1));
                running[k] = atol(PQgetvalue(r, i, 2));
            }
    if (r) PQclear(r);
    strbuf_addf(b, "# HELP jobs_queued Jobs waiting to run (due or not), all daemons.\n"
                  "# TYPE jobs_queued gauge\n");
    for (int k = 0; k < g_nkinds; k++) strbuf_addf(b, "jobs_queued{kind=\"%s\"} %ld\n", g_kinds[k].name, queued[k]);
    strbuf_addf(b, "# HELP jobs_running Jobs held under a lease, all daemons.\n"
                  "# TYPE jobs_running gauge\n");
    for (int k = 0; k < g_nkinds; k++) strbuf_addf(b, "jobs_running{kind=\"%s\"} %ld\n", g_kinds[k].name, running[k]);
    static const char *const names[] = {"started", "done", "retried", "failed", "released"};
    static const char *const help[] = {
        "Jobs this daemon claimed and ran.",
        "Jobs this daemon finished.",
        "Temporary failures this daemon scheduled again.",
        "Jobs that failed for good (permanent failure or out of attempts).",
        "Jobs handed back unrun at shutdown."};
    for (int m = 0; m < 5; m++) {
        strbuf_addf(b, "# HELP jobs_%s_total %s\n# TYPE jobs_%s_total counter\n", names[m], help[m], names[m]);
        for (int k = 0; k < g_nkinds; k++) {
            kind_entry_t *e = &g_kinds[k];
            atomic_ulong *c = m == 0 ? &e->started : m == 1 ? &e->done : m == 2 ? &e->retried
                            : m == 3 ? &e->failed : &e->released;
            strbuf_addf(b, "jobs_%s_total{kind=\"%s\"} %lu\n", names[m], e->name, atomic_load(c));
        }
    }
    strbuf_addf(b, "# HELP jobs_lease_expired_total Leases this daemon found expired and took back.\n"
                  "# TYPE jobs_lease_expired_total counter\njobs_lease_expired_total %lu\n",
              atomic_load(&g_lease_expired));
}
