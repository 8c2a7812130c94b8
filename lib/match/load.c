/* match/load.c: the index from PostgreSQL. A full build reads every
 * discoverable agent and open engagement from one snapshot; afterwards the
 * ids named by the change log (topic 'match') are read again and applied. The SQL
 * is here; the thread, its connection and the lock are service.c's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

/* Run sql in single-row mode (the daemon never holds the whole result),
 * giving each row to fn. -1 when the query failed; rows fn refused are
 * counted in *refused. */
static int stream_rows(PGconn *c, const char *sql, match_index_t *ix, row_fn fn, long *refused)
{
    if (!PQsendQuery(c, sql)) {
        log_event("warn", "match_query_failed", PQerrorMessage(c));
        return -1;
    }
    PQsetSingleRowMode(c);
    int rc = 0;
    PGresult *r;
    while ((r = PQgetResult(c))) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            if (rc == 0 && fn(ix, r, 0) != 0) (*refused)++;
        } else if (st != PGRES_TUPLES_OK) {
            log_event("warn", "match_query_failed", PQresultErrorMessage(r));
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

/* The agents of a full build: MATCH_AGENT_COLUMNS, with the lists of all
 * agents aggregated once and hash-joined instead of three sub-selects per
 * agent (1.5-1.9 s -> 1.2-1.4 s of PostgreSQL time at 100,000 agents). */
#define MATCH_BUILD_AGENTS                                                                   \
    "SELECT a.id, a.discoverable AND NOT a.hidden, a.remote_ok, a.capacity_hours_per_week,"                  \
    " coalesce(m.hours, 0), array_to_string(a.packagings, ','), a.location,"                 \
    " lower(btrim(a.location)), pl.latitude, pl.longitude, ap.list,"                         \
    " a.skill_keys,"                                    \
    " f.list"                                                                                \
    " FROM agents a LEFT JOIN places pl ON pl.id = a.place_id"                               \
    " LEFT JOIN (SELECT agent_id, string_agg(purpose_id || ':' || energy, ',') AS list"      \
    "   FROM agent_purposes GROUP BY agent_id) ap ON ap.agent_id = a.id"                     \
    " LEFT JOIN (SELECT agent_id, string_agg(organisation_id::text, ',') AS list"            \
    "   FROM follows GROUP BY agent_id) f ON f.agent_id = a.id"                              \
    " LEFT JOIN (SELECT agent_id, sum(committed_hours) AS hours"                             \
    "   FROM match_agreements GROUP BY agent_id) m ON m.agent_id = a.id"                     \
    " WHERE a.discoverable AND NOT a.hidden"

/* The open engagements of a full build: MATCH_ENGAGEMENT_COLUMNS, with the
 * place joined and every engagement's purposes aggregated once and hash
 * joined instead of three sub-selects per engagement (40,000 open
 * engagements, loaded machine: 4.4-5.1 s -> 2.3-3.0 s of PostgreSQL). */
#define MATCH_BUILD_ENGAGEMENTS                                                              \
    "SELECT e.id, e.organisation_id, (extract(epoch FROM e.created_at) * 1000000)::bigint,"  \
    " e.status = 'open' AND NOT e.hidden, e.remote_ok, e.hours_per_week,"                    \
    " array_to_string(e.packagings, ','), e.location, lower(btrim(e.location)),"             \
    " pl.latitude, pl.longitude, ep.list,"                                                   \
    " e.skill_keys || e.skills"                                        \
    " FROM engagements e LEFT JOIN places pl ON pl.id = e.place_id"                          \
    " LEFT JOIN (SELECT engagement_id, string_agg(purpose_id::text, ',') AS list"            \
    "   FROM engagement_purposes GROUP BY engagement_id) ep ON ep.engagement_id = e.id"      \
    " WHERE e.status = 'open' AND NOT e.hidden"

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
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
    bool ok = exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") &&
              stream_rows(c, "SELECT id, name FROM purposes", ix, row_purpose, &refused) == 0 &&
              stream_rows(c, "SELECT id, name FROM organisations", ix, row_organisation,
                          &refused) == 0 &&
              stream_rows(c, MATCH_BUILD_AGENTS, ix, row_agent, &refused) == 0 &&
              stream_rows(c, MATCH_BUILD_ENGAGEMENTS, ix, row_engagement, &refused) == 0 &&
              exec_ok(c, "COMMIT");
    if (!ok) {
        if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, "ROLLBACK"));
        match_index_free(ix);
        return NULL;
    }
    *seconds = seconds_since(&t0);
    char msg[200];
    snprintf(msg, sizeof msg, "%zu agents, %zu engagements, %zu KiB, %ld ms%s",
             match_index_agent_count(ix), match_index_engagement_count(ix),
             match_index_memory(ix) / 1024, (long)(*seconds * 1000),
             refused ? ", some rows refused" : "");
    log_event(refused ? "warn" : "info", "match_index_built", msg);
    return ix;
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
        match_grow((void **)&set->v, &set->cap, (size_t)set->n + 1, sizeof *set->v)) {
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
