/* db: one PostgreSQL connection per thread, statements prepared once per
 * connection, reconnect after loss, errors classified into problems. */
#ifndef PURPOSED_DB_H
#define PURPOSED_DB_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stdint.h>

#include "strbuf.h"

#include "problem.h"

typedef struct db_stmt {
    const char *name;   /* unique across the program */
    const char *sql;
    bool readonly;      /* reads, or writes that are idempotent: safe to retry once
                         * after a lost connection */
    int id;             /* assigned on first use; start at 0 */
    bool custom_plan;   /* not prepared: planned for its parameters on every call */
} db_stmt_t;

#define DB_STMT(NAME, RO, SQL) { NAME, SQL, RO, 0, false }
/* For the few statements whose best plan depends on the values (a search
 * term matching ten rows or ten thousand): a generic prepared plan would
 * be wrong for one of them. */
#define DB_STMT_CUSTOM_PLAN(NAME, RO, SQL) { NAME, SQL, RO, 0, true }

void db_configure(const char *conninfo, int statement_timeout_ms);

/* Run a prepared statement on this thread's connection. Returns the result
 * (caller PQclear()s it) or NULL with p filled: 503 + Retry-After when the
 * database is unreachable or overloaded, 500 otherwise (see db_sqlstate()). */
PGresult *db_exec(db_stmt_t *st, int nparams, const char *const *params, problem_t *p);
/* Run plain SQL without parameters (BEGIN, COMMIT, migrations). */
PGresult *db_exec_simple(const char *sql, problem_t *p);
/* 0, or negative (problem_rc) with p filled. */
int db_begin(problem_t *p);
int db_commit(problem_t *p);
void db_rollback(void);

/* A connection of a background thread's own, outside the per-thread ones
 * (lib/follower.c opens the change log connections of the match index and
 * the answer cache with it): application_name "purposed-<who>", TCP
 * keepalives, setup ("SET ...", or NULL) run once. Notices and failures go
 * to the log as "<who>_db_notice", "<who>_connect_failed" and
 * "<who>_setup_failed". NULL on failure. */
PGconn *db_connect_follower(const char *conninfo, const char *who, const char *setup);

/* What a failed statement's SQLSTATE means while the connection is still up
 * (a lost connection is always a 503 "unavailable", Retry-After 2). */
typedef enum db_failure {
    DB_FAILURE_TIMEOUT,      /* 57014 statement_timeout: 503 "timeout", Retry-After 1 */
    DB_FAILURE_UNAVAILABLE,  /* class 08, 57P01-57P03 (shutdown), 40001, 40P01 (serialization,
                              * deadlock), 55P03 (lock not available): 503, Retry-After 2 */
    DB_FAILURE_RESOURCES,    /* class 53 (disk, memory, connections): 503, Retry-After 5; logged */
    DB_FAILURE_LIMIT,        /* class 54 (program limit exceeded): 413 "too-large" */
    DB_FAILURE_CONSTRAINT,   /* class 23 (integrity): 500 unless the caller maps it to 409/422 */
    DB_FAILURE_INTERNAL,     /* anything else: 500 "internal"; logged as an error */
} db_failure_t;
/* Pure: classify sqlstate and fill p with the answer it gives. */
db_failure_t db_failure_problem(const char *sqlstate, problem_t *p);

/* SQLSTATE and constraint name of this thread's last failed statement ("" if none). */
const char *db_sqlstate(void);
const char *db_constraint(void);
bool db_is_unique_violation(void);

/* 0 when the thread's connection is up (connects if needed), else negative
 * with p filled (503). */
int db_ping(problem_t *p);
/* Close this thread's connection (thread exit, tests). */
void db_thread_close(void);

/* Counters for /metrics. */
long db_open_connections(void);
long db_reconnects(void);
long db_errors(void);

/* A boolean as a statement parameter ($n::boolean): "true" or "false". */
static inline const char *db_bool(bool b) { return b ? "true" : "false"; }

/* ---------- read replicas (DATABASE_READ_URL) ----------
 * Each thread may hold a second connection, read-only, to DATABASE_READ_URL
 * (libpq multi-host with target_session_attrs=prefer-standby or read-only).
 * A read request asks for it with db_read_from_replica(need): its
 * statements then run there, until the request ends (db_use_primary) or a
 * statement fails there (one that writes: 25006 on the read-only
 * connection; a lost server; a conflict with recovery): that statement and
 * the rest of the request run on the primary. Transactions (db_begin) are
 * on the primary. Without DATABASE_READ_URL everything is on the primary. */
typedef uint64_t db_lsn_t; /* a WAL position */
void db_configure_replica(const char *conninfo, int max_lag_ms);
bool db_replica_configured(void);
/* Route this thread's next statements to the replica when it is up, has
 * replayed need (the caller's last write) and lags the primary by less
 * than max_lag_ms (by the positions the change log followers sample);
 * true then. Otherwise false: the primary. */
bool db_read_from_replica(db_lsn_t need);
bool db_on_replica(void);
void db_use_primary(void);
/* A read that ran on the primary for want of a replica (metrics). */
void db_count_primary_read(void);
/* The primary's WAL insert position now, on this thread's connection
 * (after a commit: at or past it); 0 when unknown. */
db_lsn_t db_primary_lsn(void);
/* The primary's position as a change log follower saw it (lag estimate). */
void db_note_primary_lsn(db_lsn_t lsn);
/* "16/B374D848" <-> a position; 0 for text that is not one. */
db_lsn_t db_lsn_parse(const char *text);
void db_lsn_format(db_lsn_t lsn, char *buf, size_t cap);
/* Read-your-writes by session: the position of the last write made with a
 * credential (any bytes naming the session), and the one it needs. */
void db_ryw_remember(const char *key, size_t len, db_lsn_t lsn);
db_lsn_t db_ryw_needed(const char *key, size_t len);
/* db_replica_*, db_reads_total in the Prometheus text format. */
void db_replica_metrics_render(strbuf_t *sb);

/* Helpers for results. */
const char *db_value(const PGresult *r, int row, int col);  /* NULL for SQL NULL */
bool db_is_null(const PGresult *r, int row, int col);

#endif
