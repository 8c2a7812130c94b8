/* migrate: the migration runner used by `purposed migrate` and at start. */
#include "migrate.h"

#include <dirent.h>
#include <libpq-fe.h>
#include <sodium.h>
#include <stdbool.h>
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

static int is_migration_name(const struct dirent *d) { return migrate_is_file_name(d->d_name); }

void migrate_checksum(const char *sql, size_t len, char hex[MIGRATE_CHECKSUM_HEX])
{
    unsigned char hash[32];
    crypto_generichash(hash, sizeof hash, (const unsigned char *)sql, len, NULL, 0);
    sodium_bin2hex(hex, MIGRATE_CHECKSUM_HEX, hash, sizeof hash);
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
    int n = scandir(dir, &list, is_migration_name, alphasort);
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

int migrate_run(const char *conninfo, const char *dir, char *err, size_t errlen)
{
    struct dirent **list = NULL;
    int n = scandir(dir, &list, is_migration_name, alphasort);
    if (n < 0) {
        snprintf(err, errlen, "cannot read migrations directory %s", dir);
        return -1;
    }
    PGconn *c = PQconnectdb(conninfo);
    int applied = 0;
    if (PQstatus(c) != CONNECTION_OK) {
        snprintf(err, errlen, "cannot connect to the database: %s", PQerrorMessage(c));
        applied = -1;
        goto done;
    }
    PQclear(PQexec(c, "SET client_min_messages = warning"));
    PGresult *r = PQexec(c, "SELECT pg_advisory_lock(" MIGRATE_LOCK_KEY ")");
    bool locked = ok(r);
    PQclear(r);
    if (!locked) {
        snprintf(err, errlen, "cannot take the migration lock: %s", PQerrorMessage(c));
        applied = -1;
        goto done;
    }
    r = PQexec(c, "CREATE TABLE IF NOT EXISTS schema_migrations ("
                  " name text PRIMARY KEY, checksum text NOT NULL,"
                  " applied_at timestamptz NOT NULL DEFAULT now())");
    if (!ok(r)) {
        snprintf(err, errlen, "cannot create schema_migrations: %s", PQerrorMessage(c));
        PQclear(r);
        applied = -1;
        goto unlock;
    }
    PQclear(r);
    for (int i = 0; i < n; i++) {
        char path[2048];
        snprintf(path, sizeof path, "%s/%s", dir, list[i]->d_name);
        size_t len = 0;
        char *sql = read_file(path, &len);
        if (!sql) {
            snprintf(err, errlen, "cannot read %s", path);
            applied = -1;
            goto unlock;
        }
        char hex[MIGRATE_CHECKSUM_HEX];
        migrate_checksum(sql, len, hex);
        const char *params[2] = {list[i]->d_name, hex};
        r = PQexecParams(c, "SELECT checksum FROM schema_migrations WHERE name = $1", 1, NULL,
                         params, NULL, NULL, 0);
        if (!ok(r)) {
            snprintf(err, errlen, "cannot read schema_migrations: %s", PQerrorMessage(c));
            PQclear(r);
            free(sql);
            applied = -1;
            goto unlock;
        }
        if (PQntuples(r) == 1) {
            bool same = strcmp(PQgetvalue(r, 0, 0), hex) == 0;
            PQclear(r);
            free(sql);
            if (!same) {
                snprintf(err, errlen,
                         "migration %s was edited after it was applied (checksum differs); "
                         "add a new migration instead of changing an applied one",
                         list[i]->d_name);
                applied = -1;
                goto unlock;
            }
            continue;
        }
        PQclear(r);
        PQclear(PQexec(c, "BEGIN"));
        r = PQexec(c, sql);
        free(sql);
        if (!ok(r)) {
            snprintf(err, errlen, "migration %s failed: %s", list[i]->d_name, PQerrorMessage(c));
            PQclear(r);
            PQclear(PQexec(c, "ROLLBACK"));
            applied = -1;
            goto unlock;
        }
        PQclear(r);
        r = PQexecParams(c, "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", 2,
                         NULL, params, NULL, NULL, 0);
        bool inserted = ok(r);
        PQclear(r);
        r = PQexec(c, "COMMIT");
        if (!inserted || !ok(r)) {
            snprintf(err, errlen, "cannot record migration %s: %s", list[i]->d_name,
                     PQerrorMessage(c));
            PQclear(r);
            applied = -1;
            goto unlock;
        }
        PQclear(r);
        applied++;
    }
unlock:
    PQclear(PQexec(c, "SELECT pg_advisory_unlock(" MIGRATE_LOCK_KEY ")"));
done:
    PQfinish(c);
    for (int i = 0; i < n; i++) free(list[i]);
    free(list);
    return applied;
}
