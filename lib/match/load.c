/* match/load.c: the index from PostgreSQL. A full build reads every
 * discoverable agent and open engagement from one snapshot; afterwards the
 * ids named by the change log (topic 'match') are read again and applied. The SQL
 * is here; the thread, its connection and the lock are service.c's. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "match/internal.h"

/* ---------- the full build ---------- */

typedef int (*row_fn)(match_index_t *ix, const PGresult *res, int i);

static int row_purpose(match_index_t *ix, const PGresult *res, int i)
{
    return match_index_put_purpose(ix, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                   PQgetvalue(res, i, 1));
}

static int row_organisation(match_index_t *ix, const PGresult *res, int i)
{
    return match_index_put_organisation(ix, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                        PQgetvalue(res, i, 1));
}

static int row_agent(match_index_t *ix, const PGresult *res, int i)
{
    match_agent_row_t row;
    match_agent_row_read(res, i, &row);
    return match_index_put_agent(ix, &row);
}

static int row_engagement(match_index_t *ix, const PGresult *res, int i)
{
    match_engagement_row_t row;
    match_engagement_row_read(res, i, &row);
    return match_index_put_engagement(ix, &row);
}

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

/* Every row of sql to fn, 4096 at a time from a cursor (the daemon never
 * holds a whole result). -1 when the query failed; rows fn refused are
 * counted in *refused. Purposes and organisations, before the rest. */
static int read_all(PGconn *c, const char *sql, match_index_t *ix, row_fn fn, long *refused)
{
    strbuf_t b = {0};
    strbuf_addf(&b, "DECLARE match_build NO SCROLL CURSOR FOR %s", sql);
    char *declare = strbuf_detach(&b, NULL);
    bool ok = declare && exec_ok(c, declare);
    free(declare);
    while (ok) {
        PGresult *r = PQexec(c, "FETCH 4096 FROM match_build");
        ok = PQresultStatus(r) == PGRES_TUPLES_OK;
        int n = ok ? PQntuples(r) : 0;
        if (!ok) log_event("warn", "match_query_failed", PQresultErrorMessage(r));
        for (int i = 0; i < n; i++)
            if (fn(ix, r, i) != 0) (*refused)++;
        PQclear(r);
        if (n == 0) break;
    }
    return ok && exec_ok(c, "CLOSE match_build") ? 0 : -1;
}

/* The agents of a full build: MATCH_AGENT_COLUMNS, with the lists of all
 * agents aggregated once and joined instead of three sub-selects per
 * agent (1.5-1.9 s -> 1.2-1.4 s of PostgreSQL time at 100,000 agents).
 * One part of MATCH_BUILD_PARTS: the agents of one range of ids (%lld,
 * %lld, repeated for each table, so that every aggregate reads only its
 * part). A range rather than id % parts: each part's tables are read by
 * their indexes in id order and merged without a sort, instead of every
 * part reading every table whole and sorting its half (at scale 10,
 * 4.4-5.0 s -> 3.3-3.7 s of PostgreSQL a part). */
#define MATCH_BUILD_AGENTS                                                                   \
    "SELECT a.id, a.discoverable AND NOT a.hidden, a.remote_ok, a.capacity_hours_per_week,"  \
    " coalesce(m.hours, 0), array_to_string(a.packagings, ','), a.location,"                 \
    " lower(btrim(a.location)), pl.latitude, pl.longitude, ap.list, a.skill_keys, f.list"    \
    " FROM agents a LEFT JOIN places pl ON pl.id = a.place_id"                               \
    " LEFT JOIN (SELECT agent_id, string_agg(purpose_id || ':' || energy, ',') AS list"      \
    "   FROM agent_purposes WHERE agent_id BETWEEN %lld AND %lld GROUP BY agent_id) ap"     \
    "   ON ap.agent_id = a.id"                                                               \
    " LEFT JOIN (SELECT agent_id, string_agg(organisation_id::text, ',') AS list"            \
    "   FROM follows WHERE agent_id BETWEEN %lld AND %lld GROUP BY agent_id) f"             \
    "   ON f.agent_id = a.id"                                                               \
    " LEFT JOIN (SELECT agent_id, sum(committed_hours) AS hours"                             \
    "   FROM match_agreements WHERE agent_id BETWEEN %lld AND %lld GROUP BY agent_id) m"    \
    "   ON m.agent_id = a.id"                                                                \
    " WHERE a.discoverable AND NOT a.hidden AND a.id BETWEEN %lld AND %lld"

/* The open engagements of a full build: MATCH_ENGAGEMENT_COLUMNS, with the
 * place joined and every engagement's purposes aggregated once and hash
 * joined instead of three sub-selects per engagement (40,000 open
 * engagements, loaded machine: 4.4-5.1 s -> 2.3-3.0 s of PostgreSQL). */
#define MATCH_BUILD_ENGAGEMENTS                                                              \
    "SELECT e.id, e.organisation_id, (extract(epoch FROM e.created_at) * 1000000)::bigint,"  \
    " e.status = 'open' AND NOT e.hidden, e.remote_ok, e.hours_per_week,"                    \
    " array_to_string(e.packagings, ','), e.location, lower(btrim(e.location)),"             \
    " pl.latitude, pl.longitude, ep.list, e.skill_keys || e.skills"                          \
    " FROM engagements e LEFT JOIN places pl ON pl.id = e.place_id"                          \
    " LEFT JOIN (SELECT engagement_id, string_agg(purpose_id::text, ',') AS list"            \
    "   FROM engagement_purposes GROUP BY engagement_id) ep ON ep.engagement_id = e.id"      \
    " WHERE e.status = 'open' AND NOT e.hidden"

/* The least and greatest agent id in the build's snapshot (on c, in its
 * transaction): the parts' ranges. No agents: an empty range. 0 or -1. */
static int agent_id_range(PGconn *c, long long *lo, long long *hi)
{
    PGresult *r = PQexec(c, "SELECT coalesce(min(id), 1), coalesce(max(id), 0) FROM agents");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (ok) {
        *lo = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        *hi = strtoll(PQgetvalue(r, 0, 1), NULL, 10);
    } else {
        log_event("warn", "match_query_failed", PQresultErrorMessage(r));
    }
    PQclear(r);
    return ok ? 0 : -1;
}

/* ---------- reading in parallel ----------
 *
 * The agents (in MATCH_BUILD_PARTS parts) and the engagements are read on
 * MATCH_BUILD_CONNECTIONS connections at once, each in a transaction that
 * imports the snapshot the build's own connection exported
 * (pg_export_snapshot, SET TRANSACTION SNAPSHOT): so PostgreSQL runs the
 * statements on several backends and every one sees exactly the same data
 * as the build's transaction. One thread per connection fetches batches
 * from a cursor into a bounded queue; the building thread takes them from
 * it and puts their rows, so the index itself is written by one thread.
 * Without the extra connections (refused, too many clients), every part
 * is read in turn on the build's own connection. */

#define MATCH_BUILD_PARTS 2       /* of the agents */
#define MATCH_BUILD_CONNECTIONS 3 /* the build's own and two more */
#define MATCH_BUILD_QUEUE 6       /* batches waiting at most (4,096 rows each) */
#define MATCH_BUILD_STREAMS (MATCH_BUILD_PARTS + 1)

typedef struct build_queue {
    pthread_mutex_t mu;
    pthread_cond_t changed;
    PGresult *batch[MATCH_BUILD_QUEUE];
    row_fn fn[MATCH_BUILD_QUEUE];
    int head, n;
    int producers; /* still running */
    bool failed;   /* a producer failed or the builder gave up: everyone stops */
} build_queue_t;

typedef struct build_reader {
    PGconn *conn;
    build_queue_t *q;
    const char *sql[MATCH_BUILD_STREAMS];
    row_fn fn[MATCH_BUILD_STREAMS];
    int nsql;
    pthread_t thread;
} build_reader_t;

/* Hand over one batch; false when the build is failing (batch freed). */
static bool queue_push(build_queue_t *q, PGresult *r, row_fn fn)
{
    pthread_mutex_lock(&q->mu);
    while (q->n == MATCH_BUILD_QUEUE && !q->failed) pthread_cond_wait(&q->changed, &q->mu);
    bool ok = !q->failed;
    if (ok) {
        int at = (q->head + q->n) % MATCH_BUILD_QUEUE;
        q->batch[at] = r;
        q->fn[at] = fn;
        q->n++;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->mu);
    if (!ok) PQclear(r);
    return ok;
}

/* The next batch, or NULL once every reader is done (or one failed). */
static PGresult *queue_pop(build_queue_t *q, row_fn *fn)
{
    pthread_mutex_lock(&q->mu);
    while (q->n == 0 && q->producers > 0 && !q->failed) pthread_cond_wait(&q->changed, &q->mu);
    PGresult *r = NULL;
    if (q->n > 0 && !q->failed) {
        r = q->batch[q->head];
        *fn = q->fn[q->head];
        q->head = (q->head + 1) % MATCH_BUILD_QUEUE;
        q->n--;
        pthread_cond_broadcast(&q->changed);
    }
    pthread_mutex_unlock(&q->mu);
    return r;
}

static void queue_fail(build_queue_t *q)
{
    pthread_mutex_lock(&q->mu);
    q->failed = true;
    pthread_cond_broadcast(&q->changed);
    pthread_mutex_unlock(&q->mu);
}

static void *reader_main(void *arg)
{
    build_reader_t *rd = arg;
    bool ok = true;
    for (int k = 0; ok && k < rd->nsql; k++) {
        strbuf_t b = {0};
        strbuf_addf(&b, "DECLARE match_build NO SCROLL CURSOR FOR %s", rd->sql[k]);
        char *declare = strbuf_detach(&b, NULL);
        ok = declare && exec_ok(rd->conn, declare);
        free(declare);
        if (!ok) log_event("warn", "match_query_failed", PQerrorMessage(rd->conn));
        while (ok) {
            PGresult *r = PQexec(rd->conn, "FETCH 4096 FROM match_build");
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                log_event("warn", "match_query_failed", PQresultErrorMessage(r));
                PQclear(r);
                ok = false;
            } else if (PQntuples(r) == 0) {
                PQclear(r);
                break;
            } else {
                ok = queue_push(rd->q, r, rd->fn[k]);
            }
        }
        ok = ok && exec_ok(rd->conn, "CLOSE match_build");
    }
    pthread_mutex_lock(&rd->q->mu);
    rd->q->producers--;
    if (!ok) rd->q->failed = true;
    pthread_cond_broadcast(&rd->q->changed);
    pthread_mutex_unlock(&rd->q->mu);
    return NULL;
}

/* Another connection like c (the same parameters), in a transaction that
 * imports the snapshot; NULL when it cannot be had. */
static PGconn *connect_like(PGconn *c, const char *snapshot)
{
    PQconninfoOption *opts = PQconninfo(c);
    if (!opts) return NULL;
    size_t n = 0;
    for (PQconninfoOption *o = opts; o->keyword; o++) n++;
    const char **keys = calloc(n + 1, sizeof *keys), **vals = calloc(n + 1, sizeof *vals);
    PGconn *c2 = NULL;
    if (keys && vals) {
        size_t k = 0;
        for (PQconninfoOption *o = opts; o->keyword; o++)
            if (o->val && *o->val) {
                keys[k] = o->keyword;
                vals[k++] = o->val;
            }
        c2 = PQconnectdbParams(keys, vals, 0);
    }
    free(keys);
    free(vals);
    PQconninfoFree(opts);
    if (c2 && PQstatus(c2) == CONNECTION_OK) {
        char *lit = PQescapeLiteral(c2, snapshot, strlen(snapshot));
        strbuf_t b = {0};
        strbuf_addf(&b,
                    "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT %s;"
                    " SET LOCAL statement_timeout = 0; SET LOCAL jit = off;"
                    " SET LOCAL cursor_tuple_fraction = 1",
                    lit ? lit : "NULL");
        PQfreemem(lit);
        char *sql = strbuf_detach(&b, NULL);
        bool ok = sql && exec_ok(c2, sql);
        free(sql);
        if (ok) return c2;
    }
    log_event("warn", "match_build_connection_failed",
              c2 ? PQerrorMessage(c2) : "out of memory");
    if (c2) PQfinish(c2);
    return NULL;
}

/* The snapshot c's transaction exported (malloc'd), or NULL. */
static char *export_snapshot(PGconn *c)
{
    PGresult *r = PQexec(c, "SELECT pg_export_snapshot()");
    char *id = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1
                   ? strdup(PQgetvalue(r, 0, 0))
                   : NULL;
    PQclear(r);
    return id;
}

/* Read the agents and the engagements on up to MATCH_BUILD_CONNECTIONS
 * connections (c, in its transaction, and more importing its snapshot),
 * putting every row into ix on this thread. 0, or -1. */
static int read_in_parallel(PGconn *c, match_index_t *ix, long *refused)
{
    char *sql[MATCH_BUILD_STREAMS] = {0};
    row_fn fn[MATCH_BUILD_STREAMS];
    long long lo, hi;
    if (agent_id_range(c, &lo, &hi) != 0) return -1;
    unsigned long long step = ((unsigned long long)(hi - lo) + 1) / MATCH_BUILD_PARTS;
    for (int k = 0; k < MATCH_BUILD_PARTS; k++) {
        long long from = lo + (long long)(step * (unsigned long long)k);
        long long to = k == MATCH_BUILD_PARTS - 1 ? hi : from + (long long)step - 1;
        strbuf_t b = {0};
        strbuf_addf(&b, MATCH_BUILD_AGENTS, from, to, from, to, from, to, from, to);
        sql[k] = strbuf_detach(&b, NULL);
        fn[k] = row_agent;
    }
    sql[MATCH_BUILD_PARTS] = strdup(MATCH_BUILD_ENGAGEMENTS);
    fn[MATCH_BUILD_PARTS] = row_engagement;
    build_queue_t q = {.producers = 0};
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.changed, NULL);
    build_reader_t rd[MATCH_BUILD_CONNECTIONS] = {{0}};
    int nrd = 0, rc = 0;
    for (int k = 0; k < MATCH_BUILD_STREAMS; k++)
        if (!sql[k]) rc = -1;
    char *snapshot = rc == 0 ? export_snapshot(c) : NULL;
    rd[nrd++].conn = c;
    for (int k = 1; snapshot && k < MATCH_BUILD_CONNECTIONS; k++) {
        PGconn *c2 = connect_like(c, snapshot);
        if (!c2) break;
        rd[nrd++].conn = c2;
    }
    free(snapshot);
    /* the engagements first on their own connection, the agents' parts
     * after them: the statements of most work start first */
    for (int k = MATCH_BUILD_STREAMS - 1, i = 0; k >= 0; k--, i++) {
        build_reader_t *r = &rd[i % nrd];
        r->sql[r->nsql] = sql[k];
        r->fn[r->nsql++] = fn[k];
    }
    for (int i = 0; rc == 0 && i < nrd; i++) {
        rd[i].q = &q;
        pthread_mutex_lock(&q.mu);
        q.producers++;
        pthread_mutex_unlock(&q.mu);
        if (pthread_create(&rd[i].thread, NULL, reader_main, &rd[i]) != 0) {
            pthread_mutex_lock(&q.mu);
            q.producers--;
            pthread_mutex_unlock(&q.mu);
            rc = -1;
            rd[i].q = NULL;
        }
    }
    if (rc != 0) queue_fail(&q);
    row_fn put;
    PGresult *r;
    while ((r = queue_pop(&q, &put))) {
        for (int i = 0, n = PQntuples(r); i < n; i++)
            if (put(ix, r, i) != 0) (*refused)++;
        PQclear(r);
    }
    for (int i = 0; i < nrd; i++)
        if (rd[i].q) pthread_join(rd[i].thread, NULL);
    if (q.failed) rc = -1;
    while (q.n > 0) { /* left behind by a failure */
        PQclear(q.batch[q.head]);
        q.head = (q.head + 1) % MATCH_BUILD_QUEUE;
        q.n--;
    }
    for (int i = 1; i < nrd; i++) {
        PQclear(PQexec(rd[i].conn, "COMMIT"));
        PQfinish(rd[i].conn);
    }
    pthread_cond_destroy(&q.changed);
    pthread_mutex_destroy(&q.mu);
    for (int k = 0; k < MATCH_BUILD_STREAMS; k++) free(sql[k]);
    return rc;
}

match_index_t *match_load(PGconn *c, double *seconds)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    match_index_t *ix = match_index_new();
    if (!ix) return NULL;
    long refused = 0;
    /* purposes and organisations first, so that they have their names when
     * the records refer to them */
    bool ok = exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
                         " SET LOCAL cursor_tuple_fraction = 1") &&
              read_all(c, "SELECT id, name FROM purposes", ix, row_purpose, &refused) == 0 &&
              read_all(c, "SELECT id, name FROM organisations", ix, row_organisation,
                       &refused) == 0 &&
              read_in_parallel(c, ix, &refused) == 0 && exec_ok(c, "COMMIT");
    if (!ok) {
        if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, "ROLLBACK"));
        match_index_free(ix);
        return NULL;
    }
    *seconds = match_seconds_since(&t0);
    size_t abytes, ebytes, na = match_index_agent_count(ix), ne = match_index_engagement_count(ix);
    match_index_memory_parts(ix, &abytes, &ebytes);
    char msg[300];
    snprintf(msg, sizeof msg,
             "%zu agents, %zu engagements, %zu KiB, %ld ms; %zu bytes an agent, %zu an engagement%s",
             na, ne, match_index_memory(ix) / 1024, (long)(*seconds * 1000),
             na ? abytes / na : 0, ne ? ebytes / ne : 0, refused ? ", some rows refused" : "");
    log_event(refused ? "warn" : "info", "match_index_built", msg);
    return ix;
}

/* ---------- what a snapshot must match ---------- */

/* The statements that decide what the index holds: a snapshot made while
 * any of them read otherwise is refused (its hash is in the identity). */
static const char IDENTITY_SQL_TEXT[] = MATCH_BUILD_AGENTS "|" MATCH_BUILD_ENGAGEMENTS
    "|" MATCH_AGENT_COLUMNS "|" MATCH_ENGAGEMENT_COLUMNS;

/* The cluster (its system identifier), the database (its oid: a database
 * dropped and made again is another one) and every migration applied,
 * with their checksums. */
static const char IDENTITY_SQL[] =
    "SELECT (SELECT system_identifier FROM pg_control_system())::text || '/' || d.oid || '/' ||"
    " (SELECT md5(coalesce(string_agg(name || ':' || checksum, ',' ORDER BY name), ''))"
    "  FROM schema_migrations)"
    " FROM pg_database d WHERE d.datname = current_database()";

int match_load_identity(PGconn *c, char *out, size_t size)
{
    PGresult *r = PQexec(c, IDENTITY_SQL);
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1;
    if (!ok) {
        log_event("warn", "match_query_failed", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    unsigned char h[16];
    crypto_generichash(h, sizeof h, (const unsigned char *)IDENTITY_SQL_TEXT,
                       sizeof IDENTITY_SQL_TEXT - 1, NULL, 0);
    char hex[2 * sizeof h + 1];
    sodium_bin2hex(hex, sizeof hex, h, sizeof h);
    int n = snprintf(out, size, "%s/%s", PQgetvalue(r, 0, 0), hex);
    PQclear(r);
    return n > 0 && (size_t)n < size ? 0 : -1;
}

/* ---------- changes ---------- */

size_t match_changes_count(const match_changes_t *ch)
{
    return (size_t)ch->agents.n + ch->engagements.n + ch->purposes.n + ch->organisations.n;
}

void match_changes_clear(match_changes_t *ch)
{
    ch->agents.n = ch->engagements.n = ch->purposes.n = ch->organisations.n = 0;
    ch->overflow = false;
    ch->received = 0;
}

void match_changes_free(match_changes_t *ch)
{
    free(ch->agents.v);
    free(ch->engagements.v);
    free(ch->purposes.v);
    free(ch->organisations.v);
    memset(ch, 0, sizeof *ch);
}

void match_changes_add(match_changes_t *ch, const char *payload)
{
    ch->received++;
    if (!payload || !payload[0] || payload[1] != ':') return;
    match_id_set_t *set = payload[0] == 'a'   ? &ch->agents
                          : payload[0] == 'e' ? &ch->engagements
                          : payload[0] == 'p' ? &ch->purposes
                          : payload[0] == 'o' ? &ch->organisations
                                              : NULL;
    const char *s = payload + 2;
    int64_t id;
    if (!set || !match_parse_i64(&s, &id) || *s) return;
    if (ch->overflow) return;
    if (match_changes_count(ch) >= MATCH_REBUILD_OVER ||
        idmap_grow((void **)&set->v, &set->cap, (size_t)set->n + 1, sizeof *set->v)) {
        ch->overflow = true;
        return;
    }
    set->v[set->n++] = id;
}

/* Sort and deduplicate; the PostgreSQL array text "{1,2}" (malloc'd). */
static char *id_set_text(match_id_set_t *s)
{
    s->n = (uint32_t)match_unique_i64(s->v, s->n);
    strbuf_t b = {0};
    strbuf_addf(&b, "{");
    for (uint32_t i = 0; i < s->n; i++)
        strbuf_addf(&b, "%s%lld", i ? "," : "", (long long)s->v[i]);
    strbuf_addf(&b, "}");
    return strbuf_detach(&b, NULL);
}

/* Rows for the ids in s (NULL result and true when s is empty). */
static bool fetch_ids(PGconn *c, const char *sql, match_id_set_t *s, PGresult **out)
{
    *out = NULL;
    if (s->n == 0) return true;
    char *arr = id_set_text(s);
    if (!arr) return false;
    const char *params[1] = {arr};
    PGresult *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_event("warn", "match_query_failed", PQresultErrorMessage(r));
        PQclear(r);
        return false;
    }
    *out = r;
    return true;
}

int match_changes_fetch(PGconn *c, match_changes_t *ch, match_fetched_t *out)
{
    *out = (match_fetched_t){0};
    bool ok = fetch_ids(c, "SELECT id, name FROM purposes WHERE id = ANY($1::bigint[])",
                        &ch->purposes, &out->purposes) &&
              fetch_ids(c, "SELECT id, name FROM organisations WHERE id = ANY($1::bigint[])",
                        &ch->organisations, &out->organisations) &&
              fetch_ids(c,
                        "SELECT " MATCH_AGENT_COLUMNS
                        " FROM agents a WHERE a.id = ANY($1::bigint[])",
                        &ch->agents, &out->agents) &&
              fetch_ids(c,
                        "SELECT " MATCH_ENGAGEMENT_COLUMNS
                        " FROM engagements e WHERE e.id = ANY($1::bigint[])",
                        &ch->engagements, &out->engagements);
    if (!ok) match_fetched_clear(out);
    return ok ? 0 : -1;
}

void match_fetched_clear(match_fetched_t *f)
{
    PQclear(f->purposes);
    PQclear(f->organisations);
    PQclear(f->agents);
    PQclear(f->engagements);
    *f = (match_fetched_t){0};
}

/* Put the rows of res; ids of s (sorted) without a row are removed. */
static void apply_rows(match_index_t *ix, const PGresult *res, const match_id_set_t *s,
                       row_fn put, void (*remove)(match_index_t *, int64_t), long *refused)
{
    if (!res) return;
    bool *seen = calloc(s->n ? s->n : 1, sizeof *seen);
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        if (put(ix, res, i) != 0) {
            remove(ix, id); /* better missing than wrong */
            (*refused)++;
        }
        if (!seen) continue;
        size_t at = match_lower_bound_i64(s->v, s->n, id);
        if (at < s->n && s->v[at] == id) seen[at] = true;
    }
    for (uint32_t i = 0; seen && i < s->n; i++)
        if (!seen[i]) remove(ix, s->v[i]);
    free(seen);
}

/* Purposes and organisations are never removed (a number costs little and
 * records may still name it until they change too). */
static void remove_nothing(match_index_t *ix, int64_t id)
{
    (void)ix;
    (void)id;
}

long match_changes_apply(match_index_t *ix, const match_changes_t *ch, const match_fetched_t *f)
{
    long refused = 0;
    apply_rows(ix, f->purposes, &ch->purposes, row_purpose, remove_nothing, &refused);
    apply_rows(ix, f->organisations, &ch->organisations, row_organisation, remove_nothing,
               &refused);
    apply_rows(ix, f->agents, &ch->agents, row_agent, match_index_remove_agent, &refused);
    apply_rows(ix, f->engagements, &ch->engagements, row_engagement,
               match_index_remove_engagement, &refused);
    return refused;
}
