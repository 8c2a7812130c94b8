/* ops: health, readiness, metrics and the OpenAPI document. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "daemon.h"
#include "db.h"
#include "follower.h"
#include "handlers.h"
#include "jobs.h"
#include "jsontext.h"
#include "match/match.h"
#include "metrics.h"
#include "outbox.h"
#include "rcache.h"
#include "strbuf.h"
#include "textindex.h"

static char g_latest_migration[256];

void ops_set_latest_migration(const char *name)
{
    snprintf(g_latest_migration, sizeof g_latest_migration, "%s", name);
}

void handle_healthz(req_t *r)
{
    http_reply_json(r, 200, json_pack("{s:s}", "status", "ok"));
}

static db_stmt_t q_ready = DB_STMT("ops_ready", true,
    "SELECT coalesce(max(name), '') FROM schema_migrations");

void handle_readyz(req_t *r)
{
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_ready, 0, NULL, &p);
    if (!res) {
        if (p.status != 503) {
            problem_clear(&p);
            problem_fail(&p, PROBLEM_NOT_READY, "The database is not migrated.");
            p.retry_after = 2;
        }
        http_reply_problem(r, &p);
        return;
    }
    bool current = strcmp(PQgetvalue(res, 0, 0), g_latest_migration) >= 0;
    json_t *body = json_pack("{s:s, s:s, s:s}", "status", current ? "ready" : "migrations-pending",
                             "database", "ok", "migration", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!current) {
        http_add_header(r, "Retry-After", "5");
        http_reply_json(r, 503, body);
        return;
    }
    http_reply_json(r, 200, body);
}

/* The matching index (docs/matching.md), appended to the metrics text. */
static void append_match_metrics(strbuf_t *text)
{
    match_stats_t st;
    match_service_stats(&st);
    strbuf_addf(text,
        "# HELP match_index_ready 1 once the matching index has been built.\n"
        "# TYPE match_index_ready gauge\nmatch_index_ready %d\n"
        "# HELP match_index_bytes Memory held by the matching index.\n"
        "# TYPE match_index_bytes gauge\nmatch_index_bytes %zu\n"
        "# HELP match_index_agents Discoverable agents in the matching index.\n"
        "# TYPE match_index_agents gauge\nmatch_index_agents %zu\n"
        "# HELP match_index_engagements Open engagements in the matching index.\n"
        "# TYPE match_index_engagements gauge\nmatch_index_engagements %zu\n"
        "# HELP match_index_build_seconds Duration of the last full build from PostgreSQL.\n"
        "# TYPE match_index_build_seconds gauge\nmatch_index_build_seconds %.6f\n"
        "# HELP match_index_builds_total Full builds of the matching index.\n"
        "# TYPE match_index_builds_total counter\nmatch_index_builds_total %lu\n"
        "# HELP match_notifications_total Changes (change log rows) applied to the matching index.\n"
        "# TYPE match_notifications_total counter\nmatch_notifications_total %lu\n"
        "# HELP match_index_snapshot_loads_total Indexes loaded from the snapshot file (MATCH_SNAPSHOT) instead of built.\n"
        "# TYPE match_index_snapshot_loads_total counter\nmatch_index_snapshot_loads_total %lu\n"
        "# HELP match_index_snapshot_load_seconds Duration of reading and checking the snapshot file.\n"
        "# TYPE match_index_snapshot_load_seconds gauge\nmatch_index_snapshot_load_seconds %.6f\n"
        "# HELP match_index_start_seconds From the daemon's start to its first index (built or loaded).\n"
        "# TYPE match_index_start_seconds gauge\nmatch_index_start_seconds %.6f\n",
        st.ready ? 1 : 0, st.bytes, st.agents, st.engagements, st.build_seconds, st.builds,
        st.notifications, st.loads, st.load_seconds, st.start_seconds);
}

/* The words' index (lib/textindex.h, docs/search.md). */
static void append_words_metrics(strbuf_t *text)
{
    textindex_stats_t st;
    textindex_service_stats(&st);
    strbuf_addf(text,
        "# HELP words_index_ready 1 while the words' index is built and follows the change log.\n"
        "# TYPE words_index_ready gauge\nwords_index_ready %d\n"
        "# HELP words_index_documents Open engagements in the words' index.\n"
        "# TYPE words_index_documents gauge\nwords_index_documents %zu\n"
        "# HELP words_index_words Distinct lexemes in the words' index.\n"
        "# TYPE words_index_words gauge\nwords_index_words %zu\n"
        "# HELP words_index_bytes Memory held by the words' index.\n"
        "# TYPE words_index_bytes gauge\nwords_index_bytes %zu\n"
        "# HELP words_index_build_seconds Duration of the last full build from PostgreSQL.\n"
        "# TYPE words_index_build_seconds gauge\nwords_index_build_seconds %.6f\n"
        "# HELP words_index_builds_total Full builds of the words' index.\n"
        "# TYPE words_index_builds_total counter\nwords_index_builds_total %llu\n"
        "# HELP words_searches_total Searches of open engagements without filters that reached the words' index: answered by it, or passed to PostgreSQL.\n"
        "# TYPE words_searches_total counter\n"
        "words_searches_total{answered_by=\"index\"} %llu\n"
        "words_searches_total{answered_by=\"postgresql\"} %llu\n",
        st.ready ? 1 : 0, st.docs, st.words, st.bytes, st.build_seconds,
        (unsigned long long)st.builds, (unsigned long long)st.served,
        (unsigned long long)st.declined);
}

/* The followers of the change log (lib/follower.h), both topics. */
static void append_follower_metrics(strbuf_t *text)
{
    follower_stats_t st;
    follower_stats(&st);
    strbuf_addf(text,
        "# HELP change_log_polls_total Reads of the change log by this daemon's followers.\n"
        "# TYPE change_log_polls_total counter\nchange_log_polls_total %llu\n"
        "# HELP change_log_changes_total Change log rows read and applied.\n"
        "# TYPE change_log_changes_total counter\nchange_log_changes_total %llu\n"
        "# HELP change_log_resyncs_total New positions taken (a connection, a pruned log, a batch too large).\n"
        "# TYPE change_log_resyncs_total counter\nchange_log_resyncs_total %llu\n"
        "# HELP change_log_pruned_total Change log rows this daemon deleted past retention.\n"
        "# TYPE change_log_pruned_total counter\nchange_log_pruned_total %llu\n",
        (unsigned long long)st.polls, (unsigned long long)st.changes,
        (unsigned long long)st.resyncs, (unsigned long long)st.pruned);
}

/* The answer cache (lib/rcache.h). */
static void append_cache_metrics(strbuf_t *text)
{
    rcache_stats_t st;
    rcache_stats(&st);
    strbuf_addf(text,
        "# HELP answer_cache_live 1 while the answer cache follows the change log (and is used).\n"
        "# TYPE answer_cache_live gauge\nanswer_cache_live %d\n"
        "# HELP answer_cache_entries Answers held.\n"
        "# TYPE answer_cache_entries gauge\nanswer_cache_entries %zu\n"
        "# HELP answer_cache_bytes Memory held by answers.\n"
        "# TYPE answer_cache_bytes gauge\nanswer_cache_bytes %zu\n"
        "# HELP answer_cache_max_bytes Their bound: CACHE_MB less the words' index, at least an eighth of it.\n"
        "# TYPE answer_cache_max_bytes gauge\nanswer_cache_max_bytes %zu\n"
        "# HELP answer_cache_hits_total Reads answered from memory.\n"
        "# TYPE answer_cache_hits_total counter\nanswer_cache_hits_total %llu\n"
        "# HELP answer_cache_misses_total Reads answered from PostgreSQL.\n"
        "# TYPE answer_cache_misses_total counter\nanswer_cache_misses_total %llu\n"
        "# HELP answer_cache_evictions_total Answers dropped for room.\n"
        "# TYPE answer_cache_evictions_total counter\nanswer_cache_evictions_total %llu\n"
        "# HELP answer_cache_invalidations_total Changes that made every held answer stale.\n"
        "# TYPE answer_cache_invalidations_total counter\nanswer_cache_invalidations_total %llu\n"
        "# HELP answer_cache_item_invalidations_total Engagements changed (each drops its answer and the lists).\n"
        "# TYPE answer_cache_item_invalidations_total counter\nanswer_cache_item_invalidations_total %llu\n",
        st.live ? 1 : 0, st.entries, st.bytes, st.max_bytes, (unsigned long long)st.hits,
        (unsigned long long)st.misses, (unsigned long long)st.evictions,
        (unsigned long long)st.invalidations, (unsigned long long)st.item_invalidations);
}

void handle_metrics(req_t *r)
{
    strbuf_t b = STRBUF_INIT;
    metrics_render(&b, db_open_connections(), db_reconnects(), db_errors(), daemon_in_flight(),
                   daemon_suspended());
    append_match_metrics(&b);
    append_words_metrics(&b);
    append_cache_metrics(&b);
    daemon_metrics(&b);
    append_follower_metrics(&b);
    jobs_metrics_render(&b);
    outbox_metrics_render(&b);
    db_replica_metrics_render(&b);
    size_t len;
    char *text = strbuf_detach(&b, &len);
    if (!text) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    http_reply_text(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len);
}

void handle_openapi(req_t *r)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/openapi.json", http_config->static_dir);
    FILE *f = fopen(path, "rb");
    if (!f) {
        http_fail(r, PROBLEM_NOT_FOUND, "The OpenAPI document is missing.");
        return;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = n > 0 ? malloc((size_t)n) : NULL;
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    fclose(f);
    http_add_header(r, "Cache-Control", "no-cache");
    /* the file is indented for people; the answer is compact like every other */
    http_reply_text(r, 200, "application/json", buf, jsontext_compact(buf, buf, (size_t)n));
}
