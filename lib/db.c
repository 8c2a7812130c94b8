/* db: thread-local connections with prepared statements and error mapping. */
#include "db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define DB_MAX_STMTS 1024

static char g_conninfo[1200];
static int g_statement_timeout_ms = 5000;
static atomic_int g_next_stmt_id = 1;
static atomic_long g_open;
static atomic_long g_reconnects;
static atomic_long g_errors;

static _Thread_local PGconn *t_conn;
static _Thread_local unsigned t_generation;
static _Thread_local unsigned t_prepared[DB_MAX_STMTS];
static _Thread_local char t_sqlstate[8];
static _Thread_local char t_constraint[128];
static _Thread_local bool t_custom_mode; /* plan_cache_mode is force_custom_plan */

void db_configure(const char *conninfo, int statement_timeout_ms)
{
    snprintf(g_conninfo, sizeof g_conninfo, "%s", conninfo);
    g_statement_timeout_ms = statement_timeout_ms;
}

long db_open_connections(void) { return atomic_load(&g_open); }
long db_reconnects(void) { return atomic_load(&g_reconnects); }
long db_errors(void) { return atomic_load(&g_errors); }
const char *db_sqlstate(void) { return t_sqlstate; }
const char *db_constraint(void) { return t_constraint; }
bool db_is_unique_violation(void) { return strcmp(t_sqlstate, "23505") == 0; }

/* Threads we do not own (libmicrohttpd's workers) end without calling
 * db_thread_close: a thread-specific key closes their connection then. */
static pthread_key_t g_conn_key;
static pthread_once_t g_conn_key_once = PTHREAD_ONCE_INIT;

static void conn_at_thread_exit(void *conn)
{
    PQfinish(conn);
    atomic_fetch_sub(&g_open, 1);
}

static void make_conn_key(void) { pthread_key_create(&g_conn_key, conn_at_thread_exit); }

void db_thread_close(void)
{
    if (t_conn) {
        pthread_once(&g_conn_key_once, make_conn_key);
        pthread_setspecific(g_conn_key, NULL);
        PQfinish(t_conn);
        t_conn = NULL;
        atomic_fetch_sub(&g_open, 1);
    }
}

static void set_unavailable(problem_t *p, const char *why)
{
    problem_fail(p, PROBLEM_UNAVAILABLE,
                 "The database is not reachable right now (%s); try again shortly.", why);
    p->retry_after = 2;
}

/* A server that ended the session while this thread was idle (a restart,
 * pg_terminate_backend) has left an error and EOF on the socket. Read them
 * before sending, so the statement goes to a fresh connection instead of
 * failing: a write cannot be retried once it may have been sent. Two reads
 * because the error message and the EOF may arrive separately. */
static bool connection_alive(void)
{
    if (!t_conn || PQstatus(t_conn) != CONNECTION_OK) return false;
    if (PQtransactionStatus(t_conn) != PQTRANS_IDLE) return true;
    for (int i = 0; i < 2 && PQstatus(t_conn) == CONNECTION_OK; i++) {
        if (!PQconsumeInput(t_conn)) break;
        (void)PQisBusy(t_conn); /* parses what arrived */
    }
    return PQstatus(t_conn) == CONNECTION_OK;
}

/* Server notices (and errors that arrive while idle) as log lines. */
static void on_notice(void *arg, const char *message)
{
    (void)arg;
    log_event("warn", "db_notice", message);
}

/* who ("match", "cache") is a string literal: it outlives the connection. */
static void on_follower_notice(void *arg, const char *message)
{
    char event[64], line[300];
    snprintf(event, sizeof event, "%s_db_notice", (const char *)arg);
    snprintf(line, sizeof line, "%s", message);
    line[strcspn(line, "\n")] = '\0';
    log_event("warn", event, line);
}

PGconn *db_connect_follower(const char *conninfo, const char *who, const char *setup)
{
    char app[64], event[64];
    snprintf(app, sizeof app, "purposed-%s", who);
    static const char *const keys[] = {"dbname", "application_name", "connect_timeout",
                                       "keepalives_idle", "keepalives_interval",
                                       "keepalives_count", NULL};
    const char *const vals[] = {conninfo, app, "5", "30", "10", "3", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        snprintf(event, sizeof event, "%s_connect_failed", who);
        log_event("warn", event, c ? PQerrorMessage(c) : "out of memory");
        if (c) PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, on_follower_notice, (void *)who);
    if (!setup) return c;
    PGresult *r = PQexec(c, setup);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok) {
        snprintf(event, sizeof event, "%s_setup_failed", who);
        log_event("warn", event, PQresultErrorMessage(r));
    }
    PQclear(r);
    if (!ok) {
        PQfinish(c);
        return NULL;
    }
    return c;
}

static bool ensure_connection(problem_t *p)
{
    if (connection_alive()) return true;
    if (t_conn) db_thread_close();
    static const char *const keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *const vals[] = {g_conninfo, "purposed", "3", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        log_event("warn", "db_connect_failed", c ? PQerrorMessage(c) : "out of memory");
        if (c) PQfinish(c);
        set_unavailable(p, "cannot connect");
        return false;
    }
    PQsetNoticeProcessor(c, on_notice, NULL);
    /* Generic plans: the statements of the daemon and of its plpgsql
     * functions look rows up by key, and "auto" re-planned some of them on
     * every call (1.9 -> 0.4 ms for the follower fan-out of a new
     * engagement, -35 % for engagement_json). DB_STMT_CUSTOM_PLAN switches. */
    char sql[160];
    snprintf(sql, sizeof sql,
             "SET statement_timeout = %d; SET TIME ZONE 'UTC';"
             " SET plan_cache_mode = force_generic_plan",
             g_statement_timeout_ms);
    PGresult *r = PQexec(c, sql);
    PQclear(r);
    t_conn = c;
    t_custom_mode = false;
    pthread_once(&g_conn_key_once, make_conn_key);
    pthread_setspecific(g_conn_key, c);
    t_generation++;
    if (t_generation == 0) t_generation = 1;
    atomic_fetch_add(&g_open, 1);
    atomic_fetch_add(&g_reconnects, 1);
    return true;
}

int db_ping(problem_t *p) { return ensure_connection(p) ? 0 : problem_rc(p); }

static bool sqlstate_unavailable(const char *s)
{
    return strncmp(s, "08", 2) == 0 || !strcmp(s, "57P01") || !strcmp(s, "57P02") ||
           !strcmp(s, "57P03") || !strcmp(s, "40001") || !strcmp(s, "40P01") ||
           !strcmp(s, "55P03");
}

db_failure_t db_failure_problem(const char *sqlstate, problem_t *p)
{
    if (!strcmp(sqlstate, "57014")) {
        problem_fail(p, PROBLEM_TIMEOUT,
                     "The database took too long to answer; try again shortly.");
        p->retry_after = 1;
        return DB_FAILURE_TIMEOUT;
    }
    if (sqlstate_unavailable(sqlstate)) {
        set_unavailable(p, sqlstate);
        return DB_FAILURE_UNAVAILABLE;
    }
    if (strncmp(sqlstate, "53", 2) == 0) {
        /* insufficient resources (disk full, out of memory, too many
         * connections): the operator must act, the client may retry later */
        problem_fail(p, PROBLEM_UNAVAILABLE,
                     "The database is short of resources (%s); try again later.", sqlstate);
        p->retry_after = 5;
        return DB_FAILURE_RESOURCES;
    }
    if (strncmp(sqlstate, "54", 2) == 0) {
        /* program limit exceeded (a value too large to index, a statement
         * too complex): caused by the size of the request, not a fault */
        problem_fail(p, PROBLEM_TOO_LARGE,
                     "The request exceeds a limit of the database (%s); send less data.", sqlstate);
        return DB_FAILURE_LIMIT;
    }
    problem_fail(p, PROBLEM_INTERNAL, "The request could not be completed.");
    /* integrity violations are expected answers (409/422), not faults */
    return strncmp(sqlstate, "23", 2) == 0 ? DB_FAILURE_CONSTRAINT : DB_FAILURE_INTERNAL;
}

/* One log line for a failed statement: SQLSTATE and primary message only,
 * because DETAIL may quote row values (emails, hashes). */
static void log_db_error(const char *level, const char *event, const char *what,
                         const PGresult *r)
{
    const char *msg = r ? PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY) : NULL;
    char line[512];
    snprintf(line, sizeof line, "%s: %s %s", what, t_sqlstate, msg ? msg : "no result");
    log_event(level, event, line);
}

/* Inspect a result: NULL result, bad status. Returns the result on success. */
static PGresult *check_result(PGresult *r, const char *what, problem_t *p, bool *lost)
{
    *lost = false;
    ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
        t_sqlstate[0] = '\0';
        t_constraint[0] = '\0';
        return r;
    }
    const char *state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *cons = r ? PQresultErrorField(r, PG_DIAG_CONSTRAINT_NAME) : NULL;
    snprintf(t_sqlstate, sizeof t_sqlstate, "%s", state ? state : "08006");
    snprintf(t_constraint, sizeof t_constraint, "%s", cons ? cons : "");
    atomic_fetch_add(&g_errors, 1);
    if (PQstatus(t_conn) != CONNECTION_OK) {
        *lost = true;
        db_thread_close();
        set_unavailable(p, "connection lost");
    } else {
        switch (db_failure_problem(t_sqlstate, p)) {
        case DB_FAILURE_TIMEOUT:
        case DB_FAILURE_UNAVAILABLE: break;
        case DB_FAILURE_RESOURCES: log_db_error("error", "db_resources", what, r); break;
        case DB_FAILURE_LIMIT: log_db_error("warn", "db_limit", what, r); break;
        case DB_FAILURE_CONSTRAINT: log_db_error("info", "db_constraint", what, r); break;
        case DB_FAILURE_INTERNAL: log_db_error("error", "db_error", what, r); break;
        }
    }
    PQclear(r);
    return NULL;
}

static bool session_terminated(const char *s)
{
    return !strcmp(s, "57P01") || !strcmp(s, "57P02") || !strcmp(s, "57P03");
}

PGresult *db_exec(db_stmt_t *st, int nparams, const char *const *params, problem_t *p)
{
    int sid = __atomic_load_n(&st->id, __ATOMIC_ACQUIRE);
    if (sid == 0) {
        int fresh = atomic_fetch_add(&g_next_stmt_id, 1);
        if (fresh >= DB_MAX_STMTS) abort(); /* a programming error: raise DB_MAX_STMTS */
        int expected = 0;
        if (__atomic_compare_exchange_n(&st->id, &expected, fresh, false, __ATOMIC_ACQ_REL,
                                        __ATOMIC_ACQUIRE))
            sid = fresh;
        else
            sid = expected;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!ensure_connection(p)) return NULL;
        if (!st->custom_plan && t_prepared[sid] != t_generation) {
            PGresult *pr = PQprepare(t_conn, st->name, st->sql, 0, NULL);
            bool lost;
            pr = check_result(pr, st->name, p, &lost);
            if (!pr) {
                if (lost && attempt == 0) { problem_clear(p); continue; }
                return NULL;
            }
            PQclear(pr);
            t_prepared[sid] = t_generation;
        }
        bool outside_tx = PQtransactionStatus(t_conn) == PQTRANS_IDLE;
        /* Switched outside transactions only: a rollback would undo the SET. */
        if (st->custom_plan != t_custom_mode && outside_tx) {
            PGresult *sr = PQexec(t_conn, st->custom_plan
                                              ? "SET plan_cache_mode = force_custom_plan"
                                              : "SET plan_cache_mode = force_generic_plan");
            if (PQresultStatus(sr) == PGRES_COMMAND_OK) t_custom_mode = st->custom_plan;
            PQclear(sr);
        }
        PGresult *r = st->custom_plan
                          ? PQexecParams(t_conn, st->sql, nparams, NULL, params, NULL, NULL, 0)
                          : PQexecPrepared(t_conn, st->name, nparams, params, NULL, NULL, 0);
        bool lost;
        r = check_result(r, st->name, p, &lost);
        /* A lost connection: reads are retried. A write outside a transaction
         * is retried only when the server said it ended the session
         * (57P01-57P03, e.g. pg_terminate_backend, a restart): that aborts
         * whatever the statement did, so nothing can be written twice. */
        if (!r && lost && attempt == 0 &&
            (st->readonly || (outside_tx && session_terminated(db_sqlstate())))) {
            problem_clear(p);
            continue;
        }
        return r;
    }
    return NULL;
}

PGresult *db_exec_simple(const char *sql, problem_t *p)
{
    if (!ensure_connection(p)) return NULL;
    bool lost;
    return check_result(PQexec(t_conn, sql), "simple", p, &lost);
}

int db_begin(problem_t *p)
{
    PGresult *r = db_exec_simple("BEGIN", p);
    if (!r && p->status == 503 && !t_conn) {
        /* the connection was found dead by BEGIN itself: nothing was done yet */
        problem_clear(p);
        r = db_exec_simple("BEGIN", p);
    }
    if (!r) return problem_rc(p);
    PQclear(r);
    return 0;
}

int db_commit(problem_t *p)
{
    PGresult *r = db_exec_simple("COMMIT", p);
    if (!r) return problem_rc(p);
    PQclear(r);
    return 0;
}

void db_rollback(void)
{
    if (!t_conn || PQstatus(t_conn) != CONNECTION_OK) return;
    if (PQtransactionStatus(t_conn) == PQTRANS_IDLE) return;
    PQclear(PQexec(t_conn, "ROLLBACK"));
}

const char *db_value(const PGresult *r, int row, int col)
{
    if (PQgetisnull(r, row, col)) return NULL;
    return PQgetvalue(r, row, col);
}

bool db_is_null(const PGresult *r, int row, int col) { return PQgetisnull(r, row, col) != 0; }
