/* main: `purposed` serves; `purposed migrate` applies migrations and exits;
 * `purposed keys rotate` makes the next signing key; `purposed jcs`
 * canonicalises JSON (RFC 8785) from stdin; `purposed routes` lists the
 * route table. */
#include <jansson.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "chain.h"
#include "config.h"
#include "cursor.h"
#include "db.h"
#include "fanout.h"
#include "fetch.h"
#include "fed_remote.h"
#include "federation.h"
#include "follower.h"
#include "textindex.h"
#include "daemon.h"
#include "handlers/handlers.h"
#include "jcs.h"
#include "jobs.h"
#include "keys.h"
#include "log.h"
#include "match/match.h"
#include "metrics.h"
#include "migrate.h"
#include "outbox.h"
#include "peers.h"
#include "rcache.h"
#include "route.h"
#include "routes.h"
#include "secrets.h"
#include "validate.h"
#include "verification.h"
#include "vocab.h"

static const char *env_get(const char *name) { return getenv(name); }

static void usage(void)
{
    fprintf(stderr,
            "usage: purposed [serve|migrate|keys rotate|admin grant EMAIL [ROLE]|jcs|routes]\n"
            "  serve        run the HTTP daemon (default); applies pending migrations\n"
            "               unless AUTO_MIGRATE=0\n"
            "  migrate      apply pending migrations and exit\n"
            "  keys rotate  retire the signing key and make the next one (the old one\n"
            "               stays published in /.well-known/did.json)\n"
            "  admin grant EMAIL [ROLE]\n"
            "               make the account with this email an instance administrator\n"
            "               (or ROLE: administrator, moderator; docs/moderation.md)\n"
            "  jcs          print the JSON on stdin canonicalised (RFC 8785)\n"
            "  routes       print the route table, one \"METHOD PATTERN\" a line\n"
            "Configuration comes from the environment; see README.md.\n");
}

static int run_migrations(const config_t *cfg)
{
    problem_t p;
    problem_init(&p);
    int n = migrate_run(cfg->database_url, cfg->migrations_dir, &p);
    if (n < 0) {
        log_event("error", "migrate_failed", p.detail);
        problem_clear(&p);
        return n;
    }
    char msg[64];
    snprintf(msg, sizeof msg, "%d applied", n);
    log_event("info", "migrate", msg);
    return 0;
}

/* The instance's cursor secret (lib/secrets.h) on this thread's connection. */
static int load_cursor_secret(char *out, size_t cap)
{
    problem_t p;
    problem_init(&p);
    int rc = secrets_get("cursor", out, cap, &p);
    if (rc != 0) log_event("warn", "cursor_secret_unavailable", p.detail);
    problem_clear(&p);
    return rc;
}

/* The key prefix of cached items ("/api/v1/engagements/"): their route's
 * pattern up to its "{" (pipeline.c keys them the same way). */
static const char *cache_item_prefix(void)
{
    static char prefix[128];
    for (size_t i = 0; i < routes_count; i++)
        if (route_spec(&routes[i])->cache & ROUTE_CACHED_ITEM) {
            const char *brace = strchr(routes[i].pattern, '{');
            snprintf(prefix, sizeof prefix, "%.*s",
                     (int)(brace ? brace - routes[i].pattern : 0), routes[i].pattern);
            break;
        }
    return prefix;
}

/* `purposed routes`: every route of the table (server/routes.c), as the
 * router sees it: what tests check their coverage against. */
/* CACHE_MB is the memory for reads kept in the daemon: the words' index
 * (lib/textindex.h) takes what it needs, the answer cache the rest, and
 * never less than an eighth. */
static size_t g_cache_bytes;
static void words_sized(size_t words_bytes)
{
    size_t floor = g_cache_bytes / 8;
    if (g_cache_bytes) rcache_set_budget(g_cache_bytes > words_bytes + floor ? g_cache_bytes - words_bytes : floor);
#ifdef __GLIBC__
    /* The answers dropped (the cache may have filled to all of CACHE_MB
     * while the index was building) and an old index freed are many small
     * blocks among live ones: without a trim the process keeps their pages
     * (run G at scale 10: RSS 529 MiB against 498 in run F). */
    malloc_trim(0);
#endif
}

/* The words' index builds once the match index is ready (or loaded). */
static bool match_ready(void)
{
    match_stats_t st;
    match_service_stats(&st);
    return st.ready;
}

static int run_routes(void)
{
    for (size_t i = 0; i < routes_count; i++) printf("%s %s\n", routes[i].method, routes[i].pattern);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* `purposed jcs`: the canonical form of the JSON text on stdin. */
static int run_jcs(void)
{
    json_error_t jerr;
    json_t *v = json_loadf(stdin, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
    if (!v) {
        fprintf(stderr, "purposed jcs: %s (line %d)\n", jerr.text, jerr.line);
        return 1;
    }
    char err[128];
    size_t len = 0;
    char *out = jcs_serialize(v, &len, err, sizeof err);
    json_decref(v);
    if (!out) {
        fprintf(stderr, "purposed jcs: %s\n", err);
        return 1;
    }
    fwrite(out, 1, len, stdout);
    free(out);
    return 0;
}

/* `purposed keys rotate`: the next signing key, printed as its did fragment. */
static int run_keys_rotate(void)
{
    problem_t p;
    problem_init(&p);
    keys_signer_t k;
    if (keys_check(&p) != 0 || keys_rotate(&k, &p) != 0) {
        fprintf(stderr, "purposed keys rotate: %s\n", p.detail);
        problem_clear(&p);
        return 1;
    }
    char mb[KEYS_MULTIBASE_MAX];
    keys_multikey(k.public_key, mb);
    printf("key-%lld %s\n", k.id, mb);
    keys_signer_clear(&k);
    db_thread_close();
    return 0;
}

/* `purposed admin grant EMAIL [ROLE]`: the first administrator of an
 * instance (later ones are granted through the API), recorded in the
 * moderation log as granted by the account itself. */
static int run_admin_grant(const char *email, const char *role)
{
    if (!validate_in(role, vocab_instance_roles)) {
        fprintf(stderr, "purposed admin grant: ROLE is administrator or moderator\n");
        return 2;
    }
    static db_stmt_t q_grant = DB_STMT("admin_grant", false,
        "WITH a AS (SELECT id, display_name FROM accounts"
        "   WHERE email = lower(btrim($1)) AND deleted_at IS NULL),"
        " g AS (INSERT INTO instance_roles (account_id, role) SELECT id, $2 FROM a"
        "   ON CONFLICT (account_id) DO UPDATE SET role = excluded.role, granted_at = now()"
        "   RETURNING account_id),"
        " l AS (INSERT INTO moderation_actions (moderator_id, action, subject_kind, subject_id,"
        "     subject_label, reason, affected)"
        "   SELECT a.id, 'grant_role', 'account', a.id, a.display_name,"
        "     'purposed admin grant: ' || $2, ARRAY[a.id] FROM a JOIN g ON g.account_id = a.id)"
        " SELECT id FROM a");
    problem_t p;
    problem_init(&p);
    const char *params[2] = {email, role};
    PGresult *res = db_exec(&q_grant, 2, params, &p);
    if (!res) {
        fprintf(stderr, "purposed admin grant: %s\n", p.detail);
        problem_clear(&p);
        return 1;
    }
    int n = PQntuples(res);
    if (n == 1) printf("account %s is now %s\n", PQgetvalue(res, 0, 0), role);
    else fprintf(stderr, "purposed admin grant: no account has the email %s (sign up first)\n", email);
    PQclear(res);
    db_thread_close();
    return n == 1 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage();
        return 0;
    }
    bool rotate = strcmp(cmd, "keys") == 0 && argc == 3 && strcmp(argv[2], "rotate") == 0;
    bool grant = strcmp(cmd, "admin") == 0 && (argc == 4 || argc == 5) && strcmp(argv[2], "grant") == 0;
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0 && strcmp(cmd, "jcs") != 0 && strcmp(cmd, "routes") != 0 && !rotate &&
        !grant) {
        usage();
        return 2;
    }
    if (sodium_init() < 0) {
        log_event("error", "sodium_init_failed", NULL);
        return 1;
    }
    json_object_seed(0);
    if (strcmp(cmd, "jcs") == 0) return run_jcs();
    if (strcmp(cmd, "routes") == 0) return run_routes();
    static config_t cfg;
    problem_t bad;
    problem_init(&bad);
    if (config_load(&cfg, env_get, &bad) < 0) {
        log_event("error", "bad_config", bad.detail);
        problem_clear(&bad);
        return 2;
    }
    if (strcmp(cmd, "migrate") == 0) return run_migrations(&cfg) == 0 ? 0 : 1;
    keys_configure(cfg.keys_secret);
    if (rotate) {
        db_configure(cfg.database_url, cfg.statement_timeout_ms);
        return run_keys_rotate();
    }
    if (grant) {
        if (cfg.auto_migrate && run_migrations(&cfg) != 0) return 1;
        db_configure(cfg.database_url, cfg.statement_timeout_ms);
        return run_admin_grant(argv[3], argc == 5 ? argv[4] : "administrator");
    }
    authz_set_admin_emails(cfg.admin_emails);
    fetch_configure(cfg.fetch_allow_private, cfg.fetch_user_agent);
    peers_configure(cfg.federation_inbox_per_minute, cfg.federation_fetch_per_minute);
    if (cfg.fetch_allow_private)
        log_event("warn", "fetch_private_allowed",
                  "FETCH_ALLOW_PRIVATE is set: outbound requests may reach loopback and private addresses");

    if (cfg.auto_migrate && run_migrations(&cfg) != 0) return 1;
    char latest[256];
    if (migrate_latest_name(cfg.migrations_dir, latest, sizeof latest) != 0) latest[0] = '\0';
    ops_set_latest_migration(latest);
    auth_configure(cfg.pwhash_opslimit, cfg.pwhash_memlimit);
    db_configure(cfg.database_url, cfg.statement_timeout_ms);
    db_configure_replica(cfg.database_read_url, cfg.replica_max_lag_ms);
    {
        /* the signing key: made now if there is none, sealed if KEYS_SECRET
         * came since; a key this KEYS_SECRET cannot open stops the daemon */
        problem_t kp;
        problem_init(&kp);
        if (keys_check(&kp) != 0) {
            bool locked = kp.code == PROBLEM_KEYS_LOCKED;
            log_event(locked ? "error" : "warn", locked ? "signing_key_locked" : "signing_key_pending",
                      kp.detail);
            problem_clear(&kp);
            if (locked) return 2;
        }
        if (!keys_encrypted()) log_event("warn", "signing_key_unsealed",
                                         "KEYS_SECRET is not set: the signing key is stored as is");
    }
    {
        /* records written before the hash chain or loaded with SQL (demo
         * data) are linked now */
        problem_t cp;
        problem_init(&cp);
        int synced = chain_sync_all(&cp);
        if (synced < 0) log_event("warn", "history_chain_pending", cp.detail);
        else if (synced > 0) {
            char message[64];
            snprintf(message, sizeof message, "%d records linked", synced);
            log_event("info", "history_chain_linked", message);
        }
        problem_clear(&cp);
    }
    if (cfg.cursor_secret[0]) {
        cursor_configure(cfg.cursor_secret);
    } else {
        /* no CURSOR_SECRET: the instance's own, made once and kept in the
         * database; read now, or at the first cursor if the database is
         * not reachable yet (the daemon still starts, /readyz says 503) */
        cursor_set_loader(load_cursor_secret);
        if (!cursor_ready()) log_event("warn", "cursor_secret_pending", "the database is not reachable yet");
    }
    for (size_t i = 0; i < routes_count; i++) {
        routes[i].id = (int)i + 1;
        metrics_set_route_name((int)i + 1, routes[i].pattern);
    }
    metrics_set_route_name(0, "static");

    /* Signals are taken by sigwait in this thread only. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    /* The match index builds in the background from the start, so the
     * first matching request does not wait for it. */
    follower_set_poll_ms(cfg.changes_poll_ms);
    match_service_set_snapshot(cfg.match_snapshot);
    if (match_service_start(cfg.database_url) != 0) log_event("warn", "match_start_failed", NULL);
    /* Answers are kept only while the follower reads every change. */
    if (rcache_init((size_t)cfg.cache_mb * 1024 * 1024) != 0 ||
        rcache_follow_start(cfg.database_url, cache_item_prefix()) != 0)
        log_event("warn", "cache_start_failed", "reads go to PostgreSQL");
    /* The words of open engagements, for searches (docs/search.md). */
    g_cache_bytes = (size_t)cfg.cache_mb * 1024 * 1024;
    textindex_hooks_t words_hooks = {words_sized, match_ready, rcache_invalidate_lists};
    if (cfg.search_index && textindex_service_start(cfg.database_url, &words_hooks) != 0)
        log_event("warn", "words_start_failed", "searches go to PostgreSQL");
    /* Background work (lib/jobs): the outbox's mail, on worker threads. */
    jobs_config_t jobs = {cfg.job_workers, cfg.job_lease_s, cfg.job_poll_ms,
                          cfg.job_retry_base_ms / 1000.0, cfg.job_retry_max_s};
    federation_configure(cfg.public_url);
    if (outbox_start(&cfg) != 0 || fanout_start() != 0 || federation_start() != 0 ||
        fed_remote_start() != 0 || verification_start() != 0 || jobs_start(&jobs) != 0)
        log_event("warn", "jobs_start_failed",
                  "background work (mail, fan-out, deliveries, re-checks) is not running in this daemon");
    if (daemon_start(&cfg, routes, routes_count) != 0) {
        log_event("error", "listen_failed", "could not start the HTTP daemon (port in use?)");
        jobs_stop();
        rcache_follow_stop();
        textindex_service_stop();
        match_service_stop();
        return 1;
    }
    char msg[128];
    snprintf(msg, sizeof msg, "listening on http://%s:%d", cfg.listen_address, cfg.port);
    log_event("info", "started", msg);
    int sig = 0;
    sigwait(&set, &sig);
    log_event("info", "stopping", sig == SIGINT ? "SIGINT" : "SIGTERM");
    daemon_stop(10);
    jobs_stop(); /* each worker finishes its job or hands it back */
    rcache_follow_stop();
    rcache_shutdown();
    textindex_service_stop();
    match_service_stop();
    db_thread_close();
    log_event("info", "stopped", NULL);
    return 0;
}
