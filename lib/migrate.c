/* migrate: the migration runner used by `purposed migrate` and at start.
 * Numbered migrations first (each once), then repeatable ones (each again
 * when its text changed), all under one advisory lock, one transaction per
 * file. */
#include "migrate.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MIGRATE_LOCK_KEY "7372616"

bool migrate_is_file_name(const char *n)
{
    size_t len = strlen(n);
    if (len < 10 || strcmp(n + len - 4, ".sql") != 0) return false;
    for (int i = 0; i < 4; i++)
        if (n[i] < '0' || n[i] > '9') return false;
    return n[4] == '_';
}

migrate_kind_t migrate_kind(const char *n)
{
    if (migrate_is_file_name(n)) return MIGRATE_NUMBERED;
    size_t len = strlen(n);
    if (len > 7 && strncmp(n, "R__", 3) == 0 && strcmp(n + len - 4, ".sql") == 0)
        return MIGRATE_REPEATABLE;
    return MIGRATE_NOT_A_MIGRATION;
}

void migrate_checksum(const char *sql, size_t len, char hex[MIGRATE_CHECKSUM_HEX])
{
    unsigned char hash[32];
    crypto_generichash(hash, sizeof hash, (const unsigned char *)sql, len, NULL, 0);
    sodium_bin2hex(hex, MIGRATE_CHECKSUM_HEX, hash, sizeof hash);
}

migrate_action_t migrate_decide(migrate_kind_t kind, const char *recorded, const char *checksum)
{
    if (!recorded) return MIGRATE_APPLY;
    if (strcmp(recorded, checksum) == 0) return MIGRATE_SKIP;
    return kind == MIGRATE_REPEATABLE ? MIGRATE_APPLY : MIGRATE_EDITED;
}

static int is_numbered(const struct dirent *d) { return migrate_kind(d->d_name) == MIGRATE_NUMBERED; }
static int is_repeatable(const struct dirent *d)
{
    return migrate_kind(d->d_name) == MIGRATE_REPEATABLE;
}

void migrate_names_free(char **names, int n)
{
    for (int i = 0; names && i < n; i++) free(names[i]);
    free(names);
}

int migrate_list(const char *dir, char ***names)
{
    *names = NULL;
    struct dirent **num = NULL, **rep = NULL;
    int nn = scandir(dir, &num, is_numbered, alphasort);
    int nr = nn < 0 ? -1 : scandir(dir, &rep, is_repeatable, alphasort);
    int n = nn < 0 || nr < 0 ? -1 : nn + nr;
    char **out = n > 0 ? calloc((size_t)n, sizeof *out) : NULL;
    if (n > 0 && !out) n = -1;
    for (int i = 0; n > 0 && i < n; i++) {
        out[i] = strdup(i < nn ? num[i]->d_name : rep[i - nn]->d_name);
        if (!out[i]) {
            migrate_names_free(out, i);
            out = NULL;
            n = -1;
        }
    }
    for (int i = 0; i < nn; i++) free(num[i]);
    for (int i = 0; i < nr; i++) free(rep[i]);
    free(num);
    free(rep);
    if (n < 0) return -1;
    *names = out;
    return n;
}

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0) {
        fclose(f);
        return NULL;
    }
    char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(f);
    if (buf) {
        buf[n] = '\0';
        *len = (size_t)n;
    }
    return buf;
}

int migrate_latest_name(const char *dir, char *out, size_t cap)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_numbered, alphasort);
    if (n < 0) return -1;
    out[0] = '\0';
    if (n > 0) snprintf(out, cap, "%s", list[n - 1]->d_name);
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
    return 0;
}

static bool ok(PGresult *r)
{
    ExecStatusType s = PQresultStatus(r);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
}

/* Run one statement that returns nothing of interest: 0, or negative with
 * p set (-PROBLEM_INTERNAL). */
static int exec_sql(PGconn *c, const char *sql, const char *what, problem_t *p)
{
    PGresult *r = PQexec(c, sql);
    bool good = ok(r);
    PQclear(r);
    return good ? 0 : problem_fail(p, PROBLEM_INTERNAL, "cannot %s: %s", what, PQerrorMessage(c));
}

/* Where each kind is recorded. A repeatable migration's row is replaced. */
static const char *const k_select[] = {
    [MIGRATE_NUMBERED] = "SELECT checksum FROM schema_migrations WHERE name = $1",
    [MIGRATE_REPEATABLE] = "SELECT checksum FROM schema_repeatables WHERE name = $1"};
static const char *const k_record[] = {
    [MIGRATE_NUMBERED] = "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)",
    [MIGRATE_REPEATABLE] =
        "INSERT INTO schema_repeatables (name, checksum) VALUES ($1, $2)"
        " ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()"};

/* Apply the file name of dir if it is pending: 1 applied, 0 skipped,
 * negative with p set. */
static int apply_file(PGconn *c, const char *dir, const char *name, problem_t *p)
{
    migrate_kind_t kind = migrate_kind(name);
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    size_t len = 0;
    char *sql = read_file(path, &len);
    if (!sql) return problem_fail(p, PROBLEM_INTERNAL, "cannot read %s", path);
    char hex[MIGRATE_CHECKSUM_HEX];
    migrate_checksum(sql, len, hex);
    const char *params[2] = {name, hex};
    PGresult *r = PQexecParams(c, k_select[kind], 1, NULL, params, NULL, NULL, 0);
    if (!ok(r)) {
        problem_fail(p, PROBLEM_INTERNAL, "cannot read the migration records: %s",
                     PQerrorMessage(c));
        PQclear(r);
        free(sql);
        return problem_rc(p);
    }
    migrate_action_t action = migrate_decide(kind, PQntuples(r) == 1 ? PQgetvalue(r, 0, 0) : NULL, hex);
    PQclear(r);
    if (action != MIGRATE_APPLY) {
        free(sql);
        if (action == MIGRATE_SKIP) return 0;
        return problem_fail(p, PROBLEM_CONFLICT,
                            "migration %s was edited after it was applied (checksum differs); "
                            "add a new migration instead of changing an applied one", name);
    }
    int rc = exec_sql(c, "BEGIN", "begin a transaction", p);
    if (rc < 0) {
        free(sql);
        return rc;
    }
    r = PQexec(c, sql);
    free(sql);
    if (!ok(r)) {
        problem_fail(p, PROBLEM_INTERNAL, "migration %s failed: %s", name, PQerrorMessage(c));
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return problem_rc(p);
    }
    PQclear(r);
    r = PQexecParams(c, k_record[kind], 2, NULL, params, NULL, NULL, 0);
    bool recorded = ok(r);
    PQclear(r);
    r = PQexec(c, "COMMIT");
    if (!recorded || !ok(r)) {
        problem_fail(p, PROBLEM_INTERNAL, "cannot record migration %s: %s", name,
                     PQerrorMessage(c));
        PQclear(r);
        PQclear(PQexec(c, "ROLLBACK"));
        return problem_rc(p);
    }
    PQclear(r);
    return 1;
}

int migrate_run(const char *conninfo, const char *dir, problem_t *p)
{
    char **names = NULL;
    int n = migrate_list(dir, &names);
    if (n < 0) return problem_fail(p, PROBLEM_INTERNAL, "cannot read migrations directory %s", dir);
    PGconn *c = PQconnectdb(conninfo);
    int applied = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        applied = problem_fail(p, PROBLEM_UNAVAILABLE, "cannot connect to the database: %s",
                               PQerrorMessage(c));
        goto done;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    applied = exec_sql(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")",
                       "take the migration lock", p);
    if (applied < 0) goto done;
    applied = exec_sql(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                          " name text PRIMARY KEY, checksum text NOT NULL,"
                          " applied_at timestamptz NOT NULL DEFAULT now())",
                       "create schema_migrations", p);
    if (applied == 0)
        applied = exec_sql(c, "CREATE TABLE IF NOT EXISTS schema_repeatables ("
                              " name text PRIMARY KEY, checksum text NOT NULL,"
                              " applied_at timestamptz NOT NULL DEFAULT now())",
                           "create schema_repeatables", p);
    for (int i = 0; applied >= 0 && i < n; i++) {
        int a = apply_file(c, dir, names[i], p);
        applied = a < 0 ? a : applied + a;
    }
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
done:
    PQfinish(c);
    migrate_names_free(names, n);
    return applied;
}
