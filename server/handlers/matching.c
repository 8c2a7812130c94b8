/* matching: GET /me/matches (engagements for the calling agent) and
 * GET /engagements/{id}/matches (agents for an engagement, members only).
 * Candidates and their reasons come from the in-memory index (lib/match/match.h);
 * one statement then re-checks them and gives the JSON of each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "match/match.h"
#include "session.h"
#include "strbuf.h"

/* How long a request waits for the first build of the index. */
#define MATCH_WAIT_MS 10000
/* Candidates fetched beyond the limit, for those the final statement drops
 * (closed or hidden since the index last heard of them). */
#define MATCH_SLACK 5
#define MATCH_MAX_HITS (100 + MATCH_SLACK)

static db_stmt_t q_caller_agent = DB_STMT("match_caller_agent", true,
    "SELECT " MATCH_AGENT_COLUMNS MATCH_AGENT_QUERY_COLUMNS
    " FROM agents a WHERE a.account_id = $1::bigint");

static db_stmt_t q_engagement = DB_STMT("match_engagement", true,
    "SELECT " MATCH_ENGAGEMENT_COLUMNS MATCH_ENGAGEMENT_QUERY_COLUMNS
    " FROM engagements e WHERE e.id = $1::bigint");

/* The candidates still open (or discoverable), in rank order: $1 the ids
 * best first, $2 the limit. Rows: (position in $1, the JSON of the thing).
 * The JSON is the same as GET /engagements/{id} (engagement_json, migration
 * 0003) and GET /agents/{handle} (agents.c), written out here because
 * PostgreSQL never inlines an SQL function with sub-selects: calling
 * engagement_json costs three times as much (tests/api/matching.test.mjs
 * checks that both stay equal). */

/* The purpose of row R by its primary key. OFFSET 0 keeps PostgreSQL from
 * hashing the whole purposes table once per engagement (4x slower). */
#define PURPOSE_BY_ID(R) "(SELECT pu.slug, pu.name FROM purposes pu WHERE pu.id = " #R ".purpose_id OFFSET 0)"

static db_stmt_t q_engagement_items = DB_STMT("match_engagement_items", true,
    "SELECT c.ord, json_build_object('id', e.id,"
    "  'organisation', json_build_object('slug', o.slug, 'name', o.name),"
    "  'title', e.title, 'description', e.description,"
    "  'purposes', coalesce((SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name)"
    "    ORDER BY p.slug) FROM engagement_purposes ep CROSS JOIN LATERAL " PURPOSE_BY_ID(ep) " p"
    "    WHERE ep.engagement_id = e.id), '[]'::json),"
    "  'packagings', to_json(e.packagings), 'hours_per_week', e.hours_per_week,"
    "  'duration_weeks', e.duration_weeks, 'skills', to_json(e.skills),"
    "  'location', e.location, 'remote_ok', e.remote_ok,"
    "  'rewards', json_build_object('cash', CASE WHEN e.cash_min IS NULL THEN NULL"
    "    ELSE json_build_object('min', e.cash_min, 'max', e.cash_max,"
    "      'currency', e.cash_currency, 'period', e.cash_period) END,"
    "    'non_cash', to_json(e.non_cash)),"
    "  'status', e.status, 'version', e.version, 'created_at', api_time(e.created_at),"
    "  'updated_at', api_time(e.updated_at))::text"
    " FROM unnest($1::bigint[]) WITH ORDINALITY AS c(id, ord)"
    " JOIN engagements e ON e.id = c.id AND e.status = 'open'"
    " JOIN organisations o ON o.id = e.organisation_id"
    " ORDER BY c.ord LIMIT $2::int");

#define MATCH_AGENT_FIELDS                                                                   \
    "'handle', g.handle, 'display_name', a.display_name, 'headline', g.headline,"            \
    " 'personal_purpose', g.personal_purpose, 'skills', to_json(g.skills),"                  \
    " 'capacity_hours_per_week', g.capacity_hours_per_week,"                                 \
    " 'packagings', to_json(g.packagings), 'location', g.location, 'remote_ok', g.remote_ok," \
    " 'purposes', coalesce((SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name," \
    "   'energy', ap.energy) ORDER BY ap.energy DESC, p.slug)"                                \
    "   FROM agent_purposes ap CROSS JOIN LATERAL " PURPOSE_BY_ID(ap) " p"                    \
    "   WHERE ap.agent_id = g.id), '[]'::json)"

static db_stmt_t q_agent_items = DB_STMT("match_agent_items", true,
    "SELECT c.ord, CASE WHEN g.show_track_record"
    "  THEN json_build_object(" MATCH_AGENT_FIELDS ", 'track_record', agent_track_record(g.id),"
    "    'version', g.version)"
    "  ELSE json_build_object(" MATCH_AGENT_FIELDS ", 'version', g.version) END::text"
    " FROM unnest($1::bigint[]) WITH ORDINALITY AS c(id, ord)"
    " JOIN agents g ON g.id = c.id AND g.discoverable"
    " JOIN accounts a ON a.id = g.account_id AND a.deleted_at IS NULL"
    " ORDER BY c.ord LIMIT $2::int");

/* The index (the service starts with the daemon, server/main.c; starting
 * it here is a no-op then); NULL with the response set (503). */
static const match_index_t *acquire_index(req_t *r)
{
    problem_t p;
    problem_init(&p);
    if (match_service_start(http_config->database_url) != 0) {
        http_error(r, 503, "unavailable", "Matching unavailable", "The matcher could not start.");
        return NULL;
    }
    const match_index_t *ix = match_service_acquire(MATCH_WAIT_MS, &p);
    if (!ix) http_reply_problem(r, &p);
    return ix;
}

/* Re-check the hits with the statement st (still open, still discoverable),
 * take the first limit, and reply {items: [{<key>, score, reasons}], next_cursor}. */
static void reply_hits(req_t *r, db_stmt_t *st, const char *key, match_hit_t *hits, int n, int limit)
{
    strbuf_t ids = STRBUF_INIT;
    strbuf_addch(&ids, '{');
    for (int i = 0; i < n; i++) strbuf_addf(&ids, "%s%lld", i ? "," : "", (long long)hits[i].id);
    strbuf_addch(&ids, '}');
    char limit_text[16];
    snprintf(limit_text, sizeof limit_text, "%d", limit);
    problem_t p;
    problem_init(&p);
    PGresult *res = NULL;
    char *ids_text = strbuf_detach(&ids, NULL);
    if (ids_text) {
        const char *params[2] = {ids_text, limit_text};
        res = db_exec(st, 2, params, &p);
    }
    free(ids_text);
    if (!res) {
        match_hits_clear(hits, (size_t)n);
        if (p.status) http_reply_problem(r, &p);
        else http_error(r, 500, "internal", "Internal error", NULL);
        return;
    }
    strbuf_t b = STRBUF_INIT;
    bool lost = false; /* a score or reasons text could not be made */
    strbuf_addstr(&b, "{\"items\":[");
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        long ord = strtol(PQgetvalue(res, i, 0), NULL, 10);
        if (ord < 1 || ord > n) continue;
        match_hit_t *h = &hits[ord - 1];
        json_t *score = json_real(h->score);
        char *score_text = score ? json_dumps(score, JSON_ENCODE_ANY | JSON_REAL_PRECISION(12)) : NULL;
        char *reasons_text = json_dumps(h->reasons, JSON_COMPACT | JSON_REAL_PRECISION(12));
        json_decref(score);
        if (!score_text || !reasons_text) lost = true;
        strbuf_addstr(&b, i ? ",{\"" : "{\"");
        strbuf_addstr(&b, key);
        strbuf_addstr(&b, "\":");
        strbuf_add(&b, PQgetvalue(res, i, 1), (size_t)PQgetlength(res, i, 1));
        strbuf_addstr(&b, ",\"score\":");
        strbuf_addstr(&b, score_text ? score_text : "0");
        strbuf_addstr(&b, ",\"reasons\":");
        strbuf_addstr(&b, reasons_text ? reasons_text : "[]");
        strbuf_addstr(&b, "}");
        free(score_text);
        free(reasons_text);
    }
    strbuf_addstr(&b, "],\"next_cursor\":null}");
    PQclear(res);
    match_hits_clear(hits, (size_t)n);
    size_t len;
    char *text = strbuf_detach(&b, &len);
    if (!text || lost) {
        free(text);
        http_error(r, 500, "internal", "Internal error", NULL);
        return;
    }
    http_reply_text(r, 200, "application/json", text, len);
}

static void matches_failed(req_t *r)
{
    http_error(r, 500, "internal", "Internal error", "The matches could not be computed.");
}

void handle_my_matches(req_t *r)
{
    int limit;
    if (!http_limit(r, &limit)) return;
    const char *params[1] = {r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_caller_agent, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_error(r, 404, "not-found", "No agent profile",
                   "Matches are for agents: create your profile first (PUT /api/v1/me/agent).");
        return;
    }
    match_agent_row_t row;
    match_agent_row_read(res, 0, &row);
    match_weights_t w;
    match_weights_from_config(http_config, &w);
    const match_index_t *ix = acquire_index(r);
    if (!ix) {
        PQclear(res);
        return;
    }
    match_hit_t hits[MATCH_MAX_HITS];
    int n = match_index_engagements_for(ix, &w, &row, (size_t)limit + MATCH_SLACK, hits);
    match_service_release();
    PQclear(res);
    if (n < 0) {
        matches_failed(r);
        return;
    }
    reply_hits(r, &q_engagement_items, "engagement", hits, n, limit);
}

void handle_engagement_matches(req_t *r)
{
    const char *id_text = r->resource_id;
    problem_t p;
    problem_init(&p);
    int limit;
    if (!http_limit(r, &limit)) return;
    const char *params[1] = {id_text};
    PGresult *res = db_exec(&q_engagement, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_error(r, 404, "not-found", "Not found", "No such engagement.");
        return;
    }
    match_engagement_row_t row;
    match_engagement_row_read(res, 0, &row);
    match_weights_t w;
    match_weights_from_config(http_config, &w);
    const match_index_t *ix = acquire_index(r);
    if (!ix) {
        PQclear(res);
        return;
    }
    match_hit_t hits[MATCH_MAX_HITS];
    int n = match_index_agents_for(ix, &w, &row, (size_t)limit + MATCH_SLACK, hits);
    match_service_release();
    PQclear(res);
    if (n < 0) {
        matches_failed(r);
        return;
    }
    reply_hits(r, &q_agent_items, "agent", hits, n, limit);
}
