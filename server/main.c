/* main: `purposed` serves; `purposed migrate` applies migrations and exits. */
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "config.h"
#include "cursor.h"
#include "db.h"
#include "daemon.h"
#include "handlers/handlers.h"
#include "log.h"
#include "match/match.h"
#include "metrics.h"
#include "migrate.h"
#include "rcache.h"
#include "route.h"
#include "routes.h"
#include "secrets.h"

static const char *env_get(const char *name) { return getenv(name); }

static void usage(void)
{
    fprintf(stderr,
            "usage: purposed [serve|migrate]\n"
            "  serve    run the HTTP daemon (default); applies pending migrations\n"
            "           unless AUTO_MIGRATE=0\n"
            "  migrate  apply pending migrations and exit\n"
            "Configuration comes from the environment; see README.md.\n");
}

static int run_migrations(const config_t *cfg)
{
    char err[1024];
    int n = migrate_run(cfg->database_url, cfg->migrations_dir, err, sizeof err);
    if (n < 0) {
        log_event("error", "migrate_failed", err);
        return -1;
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

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0) {
        usage();
        return 0;
    }
    if (strcmp(cmd, "serve") != 0 && strcmp(cmd, "migrate") != 0) {
        usage();
        return 2;
    }
    if (sodium_init() < 0) {
        log_event("error", "sodium_init_failed", NULL);
        return 1;
    }
    json_object_seed(0);
    static config_t cfg;
    char err[512];
    if (config_load(&cfg, env_get, err, sizeof err) != 0) {
        log_event("error", "bad_config", err);
        return 2;
    }
    if (strcmp(cmd, "migrate") == 0) return run_migrations(&cfg) == 0 ? 0 : 1;

    if (cfg.auto_migrate && run_migrations(&cfg) != 0) return 1;
    char latest[256];
    if (migrate_latest_name(cfg.migrations_dir, latest, sizeof latest) != 0) latest[0] = '\0';
    ops_set_latest_migration(latest);
    auth_configure(cfg.pwhash_opslimit, cfg.pwhash_memlimit);
    db_configure(cfg.database_url, cfg.statement_timeout_ms);
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
    if (match_service_start(cfg.database_url) != 0) log_event("warn", "match_start_failed", NULL);
    /* Answers are kept only while the listener hears every change. */
    if (rcache_init((size_t)cfg.cache_mb * 1024 * 1024) != 0 ||
        rcache_listen_start(cfg.database_url, cache_item_prefix()) != 0)
        log_event("warn", "cache_start_failed", "reads go to PostgreSQL");
    if (daemon_start(&cfg, routes, routes_count) != 0) {
        log_event("error", "listen_failed", "could not start the HTTP daemon (port in use?)");
        rcache_listen_stop();
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
    rcache_listen_stop();
    rcache_shutdown();
    match_service_stop();
    db_thread_close();
    log_event("info", "stopped", NULL);
    return 0;
}
