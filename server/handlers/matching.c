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
#include "jsontext.h"
#include "match/match.h"
#include "page.h"
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
 * best first, $2 the limit. Rows: (position in $1, the JSON of the thing as
 * GET /engagements/{id} and GET /agents/{handle} show it). An engagement's
 * is its text in engagement_docs (migration 0054), with the status and
 * hidden flag beside it; an agent's its text in agent_docs (0055). */
static db_stmt_t q_engagement_items = DB_STMT("match_engagement_items", true,
    "SELECT c.ord, d.doc FROM unnest($1::bigint[]) WITH ORDINALITY AS c(id, ord)"
    " JOIN engagement_docs d ON d.engagement_id = c.id AND d.status = 'open' AND NOT d.hidden"
    " ORDER BY c.ord LIMIT $2::int");

static db_stmt_t q_agent_items = DB_STMT("match_agent_items", true,
    "SELECT c.ord, d.doc FROM unnest($1::bigint[]) WITH ORDINALITY AS c(id, ord)"
    " JOIN agents g ON g.id = c.id AND g.discoverable AND NOT g.hidden"
    " JOIN accounts a ON a.id = g.account_id AND a.deleted_at IS NULL"
    " JOIN agent_docs d ON d.agent_id = g.id"
    " ORDER BY c.ord LIMIT $2::int");

/* The index (the service starts with the daemon, server/main.c; starting
 * it here is a no-op then); NULL with the response set (503). */
static const match_index_t *acquire_index(req_t *r)
{
    problem_t p;
    problem_init(&p);
    if (match_service_start(http_config->database_url) != 0) {
        http_fail(r, PROBLEM_UNAVAILABLE, "The matcher could not start.");
        return NULL;
    }
    const match_index_t *ix = match_service_acquire(MATCH_WAIT_MS, &p);
    if (!ix) http_reply_problem(r, &p);
    return ix;
}

/* Re-check the hits with the statement st (still open, still discoverable),
 * take the first limit, and reply the page {items: [{<key>, score, reasons}]}. */
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
        else http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    strbuf_t b = STRBUF_INIT;
    bool lost = false; /* a score or reasons text could not be made */
    int rows = PQntuples(res), shown = 0;
    for (int i = 0; i < rows; i++) {
        long ord = strtol(PQgetvalue(res, i, 0), NULL, 10);
        if (ord < 1 || ord > n) continue;
        match_hit_t *h = &hits[ord - 1];
        json_t *score = json_real(h->score);
        char *score_text = score ? json_dumps(score, JSON_ENCODE_ANY | JSON_REAL_PRECISION(12)) : NULL;
        char *reasons_text = json_dumps(h->reasons, JSON_COMPACT | JSON_REAL_PRECISION(12));
        json_decref(score);
        if (!score_text || !reasons_text) lost = true;
        strbuf_addstr(&b, shown++ ? ",{\"" : "{\"");
        strbuf_addstr(&b, key);
        strbuf_addstr(&b, "\":");
        size_t jl = (size_t)PQgetlength(res, i, 1);
        if (strbuf_reserve(&b, jl)) { /* the representation, compacted on its way in */
            b.len += jsontext_compact(b.buf + b.len, PQgetvalue(res, i, 1), jl);
            b.buf[b.len] = '\0';
        }
        strbuf_addstr(&b, ",\"score\":");
        strbuf_addstr(&b, score_text ? score_text : "0");
        strbuf_addstr(&b, ",\"reasons\":");
        strbuf_addstr(&b, reasons_text ? reasons_text : "[]");
        strbuf_addstr(&b, "}");
        free(score_text);
        free(reasons_text);
    }
    PQclear(res);
    match_hits_clear(hits, (size_t)n);
    size_t len;
    char *text = strbuf_detach(&b, &len);
    if (!text || lost) {
        free(text);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    page_reply_items(r, text, len);
}

static void matches_failed(req_t *r)
{
    http_fail(r, PROBLEM_INTERNAL, "The matches could not be computed.");
}

void handle_my_matches(req_t *r)
{
    int limit;
    if (http_query_limit(r, &limit) < 0) return;
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
        http_fail(r, PROBLEM_NOT_FOUND,
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
    if (http_query_limit(r, &limit) < 0) return;
    const char *params[1] = {id_text};
    PGresult *res = db_exec(&q_engagement, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such engagement.");
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
