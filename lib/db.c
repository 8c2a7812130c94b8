/* db: thread-local connections with prepared statements and error mapping. */
#include "db.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

#define DB_MAX_STMTS 1024

static char g_conninfo[1200];
static char g_read_conninfo[1200]; /* "": no replica */
static int g_replica_max_lag_ms = 1000;
static int g_statement_timeout_ms = 5000;
static atomic_int g_next_stmt_id = 1;
static atomic_long g_open;
static atomic_long g_reconnects;
static atomic_long g_errors;

static void replica_fell_back(bool write, bool down);
static long long mono_ms(void);
static void link_close_replica_only(void);

/* One connection of a thread: to the primary (DATABASE_URL) or to a
 * replica (DATABASE_READ_URL), with the statements prepared on it. */
typedef struct db_link {
    PGconn *conn;
    unsigned generation;
    unsigned prepared[DB_MAX_STMTS];
    bool custom_mode; /* plan_cache_mode is force_custom_plan */
    bool replica;
} db_link_t;

static _Thread_local db_link_t t_primary;
static _Thread_local db_link_t t_replica = {.replica = true};
static _Thread_local bool t_on_replica;      /* this request's statements go to t_replica */
static _Thread_local db_lsn_t t_replica_seen; /* replayed by t_replica's server, at least */
static _Thread_local long long t_replica_checked_ms;
static _Thread_local long long t_replica_connected_ms;
static _Thread_local char t_sqlstate[8];
static _Thread_local char t_constraint[128];
#define t_conn (t_primary.conn)

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

static void link_close(db_link_t *L)
{
    if (!L->conn) return;
    if (!L->replica) {
        pthread_once(&g_conn_key_once, make_conn_key);
        pthread_setspecific(g_conn_key, NULL);
    }
    PQfinish(L->conn);
    L->conn = NULL;
    atomic_fetch_sub(&g_open, 1);
}

void db_thread_close(void)
{
    link_close(&t_replica);
    link_close(&t_primary);
    t_on_replica = false;
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
static bool connection_alive(PGconn *c)
{
    if (!c || PQstatus(c) != CONNECTION_OK) return false;
    if (PQtransactionStatus(c) != PQTRANS_IDLE) return true;
    for (int i = 0; i < 2 && PQstatus(c) == CONNECTION_OK; i++) {
        if (!PQconsumeInput(c)) break;
        (void)PQisBusy(c); /* parses what arrived */
    }
    return PQstatus(c) == CONNECTION_OK;
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

static bool link_connect(db_link_t *L, problem_t *p)
{
    if (connection_alive(L->conn)) return true;
    if (L->conn) link_close(L);
    static const char *const keys[] = {"dbname", "application_name", "connect_timeout", NULL};
    const char *const vals[] = {L->replica ? g_read_conninfo : g_conninfo,
                                L->replica ? "purposed-read" : "purposed", "3", NULL};
    PGconn *c = PQconnectdbParams(keys, vals, 1);
    if (!c || PQstatus(c) != CONNECTION_OK) {
        log_event("warn", L->replica ? "db_replica_connect_failed" : "db_connect_failed",
                  c ? PQerrorMessage(c) : "out of memory");
        if (c) PQfinish(c);
        set_unavailable(p, "cannot connect");
        return false;
    }
    PQsetNoticeProcessor(c, on_notice, NULL);
    /* Generic plans: the statements of the daemon and of its plpgsql
     * functions look rows up by key, and "auto" re-planned some of them on
     * every call (1.9 -> 0.4 ms for the follower fan-out of a new
     * engagement, -35 % for engagement_json). DB_STMT_CUSTOM_PLAN switches.
     * A read connection is read-only whatever server it reached (libpq's
     * prefer-standby may land on the primary): a statement that writes
     * fails there without effect and runs again on the primary. */
    char sql[200];
    snprintf(sql, sizeof sql,
             "SET statement_timeout = %d; SET TIME ZONE 'UTC';"
             " SET plan_cache_mode = force_generic_plan%s",
             g_statement_timeout_ms, L->replica ? "; SET default_transaction_read_only = on" : "");
    PGresult *r = PQexec(c, sql);
    PQclear(r);
    L->conn = c;
    L->custom_mode = false;
    if (!L->replica) {
        pthread_once(&g_conn_key_once, make_conn_key);
        pthread_setspecific(g_conn_key, c);
    } else {
        t_replica_seen = 0;
        t_replica_checked_ms = 0;
        t_replica_connected_ms = mono_ms();
    }
    L->generation++;
    if (L->generation == 0) L->generation = 1;
    atomic_fetch_add(&g_open, 1);
    atomic_fetch_add(&g_reconnects, 1);
    return true;
}

static bool ensure_connection(problem_t *p) { return link_connect(&t_primary, p); }

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
static PGresult *check_result_on(db_link_t *L, PGresult *r, const char *what, problem_t *p,
                                 bool *lost)
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
    if (L->replica) {
        /* the caller goes to the primary: neither an error nor logged here */
        *lost = PQstatus(L->conn) != CONNECTION_OK;
        if (*lost) link_close(L);
        set_unavailable(p, "replica");
        PQclear(r);
        return NULL;
    }
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

static PGresult *check_result(PGresult *r, const char *what, problem_t *p, bool *lost)
{
    return check_result_on(&t_primary, r, what, p, lost);
}

static bool session_terminated(const char *s)
{
    return !strcmp(s, "57P01") || !strcmp(s, "57P02") || !strcmp(s, "57P03");
}

/* Run st on link L (prepared there first if need be). NULL with p filled;
 * *lost when the connection went. */
static PGresult *link_exec(db_link_t *L, db_stmt_t *st, int sid, int nparams,
                           const char *const *params, problem_t *p, bool *lost)
{
    *lost = false;
    if (!st->custom_plan && L->prepared[sid] != L->generation) {
        PGresult *pr = check_result_on(L, PQprepare(L->conn, st->name, st->sql, 0, NULL), st->name,
                                       p, lost);
        if (!pr) return NULL;
        PQclear(pr);
        L->prepared[sid] = L->generation;
    }
    /* Switched outside transactions only: a rollback would undo the SET. */
    if (st->custom_plan != L->custom_mode && PQtransactionStatus(L->conn) == PQTRANS_IDLE) {
        PGresult *sr = PQexec(L->conn, st->custom_plan ? "SET plan_cache_mode = force_custom_plan"
                                                       : "SET plan_cache_mode = force_generic_plan");
        if (PQresultStatus(sr) == PGRES_COMMAND_OK) L->custom_mode = st->custom_plan;
        PQclear(sr);
    }
    PGresult *r = st->custom_plan
                      ? PQexecParams(L->conn, st->sql, nparams, NULL, params, NULL, NULL, 0)
                      : PQexecPrepared(L->conn, st->name, nparams, params, NULL, NULL, 0);
    return check_result_on(L, r, st->name, p, lost);
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
    if (t_on_replica) {
        /* A read routed to the replica. Whatever fails there (a statement
         * that writes: 25006 on the read-only connection; a lost or
         * recovering server; a conflict with recovery) did nothing: it runs
         * on the primary, and so does the rest of the request. */
        bool lost;
        bool up = link_connect(&t_replica, p);
        PGresult *r = up ? link_exec(&t_replica, st, sid, nparams, params, p, &lost) : NULL;
        if (r) return r;
        replica_fell_back(up && strcmp(t_sqlstate, "25006") == 0, !up || lost);
        problem_clear(p);
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        if (!ensure_connection(p)) return NULL;
        bool outside_tx = PQtransactionStatus(t_conn) == PQTRANS_IDLE;
        bool lost;
        PGresult *r = link_exec(&t_primary, st, sid, nparams, params, p, &lost);
        /* A lost connection: reads are retried. A write outside a transaction
         * is retried only when the server said it ended the session
         * (57P01-57P03, e.g. pg_terminate_backend, a restart): that aborts
         * whatever the statement did, so nothing can be written twice. A
         * statement lost while being prepared never ran. */
        if (!r && lost && attempt == 0 &&
            (st->readonly || (outside_tx && session_terminated(db_sqlstate())) ||
             t_primary.prepared[sid] != t_primary.generation)) {
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
    db_use_primary(); /* transactions write: on the primary */
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

/* ---------- read replicas ---------- */

static atomic_llong g_replica_down_until_ms; /* after a failure, reads skip it until then */
static atomic_ulong g_routed_replica, g_routed_primary_none, g_routed_primary_behind,
    g_routed_primary_lag, g_routed_primary_down, g_fallback_write, g_fallback_failed;
static _Atomic db_lsn_t g_replica_best; /* the highest replay position any thread saw */

/* The primary's WAL position over time (fed by the change log followers'
 * polls): a ring of samples, to tell how far behind the replica is. */
#define LSN_SAMPLES 128
static struct { _Atomic long long ms; _Atomic db_lsn_t lsn; } g_samples[LSN_SAMPLES];
static atomic_uint g_sample_next;

static long long mono_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

void db_configure_replica(const char *conninfo, int max_lag_ms)
{
    snprintf(g_read_conninfo, sizeof g_read_conninfo, "%s", conninfo ? conninfo : "");
    g_replica_max_lag_ms = max_lag_ms;
}

bool db_replica_configured(void) { return g_read_conninfo[0] != '\0'; }
bool db_on_replica(void) { return t_on_replica; }
void db_use_primary(void) { t_on_replica = false; }

static void link_close_replica_only(void) { link_close(&t_replica); }

static void replica_fell_back(bool write, bool down)
{
    t_on_replica = false;
    atomic_fetch_add(write ? &g_fallback_write : &g_fallback_failed, 1);
    if (down) {
        link_close_replica_only();
        atomic_store(&g_replica_down_until_ms, mono_ms() + 1000);
    }
}

db_lsn_t db_lsn_parse(const char *text)
{
    if (!text) return 0;
    char *end;
    unsigned long long hi = strtoull(text, &end, 16);
    if (end == text || *end != '/' || hi > 0xffffffffULL) return 0;
    const char *lo_text = end + 1;
    unsigned long long lo = strtoull(lo_text, &end, 16);
    if (end == lo_text || *end != '\0' || lo > 0xffffffffULL) return 0;
    return (hi << 32) | lo;
}

void db_lsn_format(db_lsn_t lsn, char *buf, size_t cap)
{
    snprintf(buf, cap, "%X/%X", (unsigned)(lsn >> 32), (unsigned)(lsn & 0xffffffffu));
}

void db_note_primary_lsn(db_lsn_t lsn)
{
    if (!lsn) return;
    unsigned i = atomic_fetch_add(&g_sample_next, 1) % LSN_SAMPLES;
    atomic_store(&g_samples[i].lsn, lsn);
    atomic_store(&g_samples[i].ms, mono_ms());
}

/* The highest primary position sampled at least max_lag_ms ago: a replica
 * that has not replayed it lags more than that. 0 when none is known. */
static db_lsn_t lag_bound(long long now)
{
    db_lsn_t best = 0;
    for (int i = 0; i < LSN_SAMPLES; i++) {
        long long ms = atomic_load(&g_samples[i].ms);
        db_lsn_t lsn = atomic_load(&g_samples[i].lsn);
        if (ms && now - ms >= g_replica_max_lag_ms && lsn > best) best = lsn;
    }
    return best;
}

static db_lsn_t newest_sample(void)
{
    db_lsn_t best = 0;
    for (int i = 0; i < LSN_SAMPLES; i++) {
        db_lsn_t lsn = atomic_load(&g_samples[i].lsn);
        if (lsn > best) best = lsn;
    }
    return best;
}

/* What the replica link's server has replayed (asked again when older than
 * 100 ms or short of want). The primary, reached by prefer-standby, has
 * everything. 1, or 0 when the replica did not answer, -1 when the link
 * should look for a standby again. */
static int replica_position(db_lsn_t want, long long now)
{
    if (t_replica_seen >= want && now - t_replica_checked_ms < 100) return 1;
    PGresult *r = PQexec(t_replica.conn,
                         "SELECT pg_is_in_recovery(), pg_last_wal_replay_lsn()::text");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok && PQgetvalue(r, 0, 0)[0] != 't' && now - t_replica_connected_ms > 5000) {
        /* prefer-standby reached the primary (no standby answered then):
         * it serves, but the standbys are tried again every 5 s */
        PQclear(r);
        return -1;
    }
    if (ok) {
        db_lsn_t seen = PQgetvalue(r, 0, 0)[0] == 't' ? db_lsn_parse(PQgetvalue(r, 0, 1))
                                                      : (db_lsn_t)UINT64_MAX;
        if (seen > t_replica_seen) t_replica_seen = seen;
        t_replica_checked_ms = now;
        db_lsn_t best = atomic_load(&g_replica_best);
        while (t_replica_seen != UINT64_MAX && t_replica_seen > best &&
               !atomic_compare_exchange_weak(&g_replica_best, &best, t_replica_seen)) {
        }
    }
    PQclear(r);
    return ok ? 1 : 0;
}

bool db_read_from_replica(db_lsn_t need)
{
    t_on_replica = false;
    if (!db_replica_configured()) {
        return false;
    }
    long long now = mono_ms();
    if (now < atomic_load(&g_replica_down_until_ms)) {
        atomic_fetch_add(&g_routed_primary_down, 1);
        return false;
    }
    problem_t p;
    problem_init(&p);
    if (!link_connect(&t_replica, &p)) {
        problem_clear(&p);
        atomic_store(&g_replica_down_until_ms, now + 1000);
        atomic_fetch_add(&g_routed_primary_down, 1);
        return false;
    }
    db_lsn_t lag = lag_bound(now);
    db_lsn_t want = need > lag ? need : lag;
    int at = replica_position(want, now);
    if (at <= 0) {
        link_close(&t_replica);
        if (at == 0) atomic_store(&g_replica_down_until_ms, now + 1000);
        atomic_fetch_add(&g_routed_primary_down, 1);
        return false;
    }
    if (t_replica_seen < need) {
        atomic_fetch_add(&g_routed_primary_behind, 1);
        return false;
    }
    if (t_replica_seen < lag) {
        atomic_fetch_add(&g_routed_primary_lag, 1);
        return false;
    }
    atomic_fetch_add(&g_routed_replica, 1);
    t_on_replica = true;
    return true;
}

void db_count_primary_read(void) { atomic_fetch_add(&g_routed_primary_none, 1); }

db_lsn_t db_primary_lsn(void)
{
    if (!t_conn || PQtransactionStatus(t_conn) != PQTRANS_IDLE) return 0;
    PGresult *r = PQexec(t_conn, "SELECT pg_current_wal_insert_lsn()::text");
    db_lsn_t lsn = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                       ? db_lsn_parse(PQgetvalue(r, 0, 0)) : 0;
    PQclear(r);
    return lsn;
}

/* Read-your-writes: the WAL position of each session's last write, in a
 * fixed table indexed by a hash of its credential. Two sessions sharing a
 * slot keep the higher position: one reads from the primary a little
 * longer, never the other way round. */
#define RYW_SLOTS 8192
static _Atomic db_lsn_t g_ryw[RYW_SLOTS];

static unsigned ryw_slot(const char *key, size_t len)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return (unsigned)(h % RYW_SLOTS);
}

void db_ryw_remember(const char *key, size_t len, db_lsn_t lsn)
{
    if (!key || !len || !lsn) return;
    _Atomic db_lsn_t *slot = &g_ryw[ryw_slot(key, len)];
    db_lsn_t cur = atomic_load(slot);
    while (lsn > cur && !atomic_compare_exchange_weak(slot, &cur, lsn)) {
    }
}

db_lsn_t db_ryw_needed(const char *key, size_t len)
{
    return key && len ? atomic_load(&g_ryw[ryw_slot(key, len)]) : 0;
}

void db_replica_metrics_render(strbuf_t *b)
{
    db_lsn_t primary = newest_sample(), replica = atomic_load(&g_replica_best);
    long long down = atomic_load(&g_replica_down_until_ms) - mono_ms();
    strbuf_addf(b,
        "# HELP db_replica_configured 1 when DATABASE_READ_URL is set.\n"
        "# TYPE db_replica_configured gauge\ndb_replica_configured %d\n"
        "# HELP db_replica_up 0 while reads skip the replica after a failure.\n"
        "# TYPE db_replica_up gauge\ndb_replica_up %d\n"
        "# HELP db_replica_lag_bytes WAL the primary wrote (last change log poll) that the replica had not replayed (last check).\n"
        "# TYPE db_replica_lag_bytes gauge\ndb_replica_lag_bytes %llu\n",
        db_replica_configured() ? 1 : 0, db_replica_configured() && down <= 0 ? 1 : 0,
        (unsigned long long)(replica && primary > replica ? primary - replica : 0));
    strbuf_addf(b,
        "# HELP db_reads_total Reads by where they ran and why.\n"
        "# TYPE db_reads_total counter\n"
        "db_reads_total{to=\"replica\",why=\"fresh\"} %lu\n"
        "db_reads_total{to=\"primary\",why=\"no_replica\"} %lu\n"
        "db_reads_total{to=\"primary\",why=\"own_write\"} %lu\n"
        "db_reads_total{to=\"primary\",why=\"lag\"} %lu\n"
        "db_reads_total{to=\"primary\",why=\"down\"} %lu\n"
        "# HELP db_replica_fallbacks_total Reads sent to the replica that ended on the primary.\n"
        "# TYPE db_replica_fallbacks_total counter\n"
        "db_replica_fallbacks_total{why=\"write\"} %lu\n"
        "db_replica_fallbacks_total{why=\"failed\"} %lu\n",
        atomic_load(&g_routed_replica), atomic_load(&g_routed_primary_none),
        atomic_load(&g_routed_primary_behind), atomic_load(&g_routed_primary_lag),
        atomic_load(&g_routed_primary_down), atomic_load(&g_fallback_write),
        atomic_load(&g_fallback_failed));
}
