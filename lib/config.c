/* config: defaults, environment parsing and range checks. */
#include "config.h"

#include <ctype.h>

#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mail.h"

/* A bad setting: p's detail names the variable and what it must be. */
static int bad(problem_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(problem_t *p, const char *fmt, ...)
{
    char detail[sizeof p->detail];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return problem_fail(p, PROBLEM_VALIDATION, "%s", detail);
}

static int parse_long(const char *name, const char *v, long lo, long hi, long *out, problem_t *p)
{
    char *end = NULL;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (errno || end == v || *end != '\0' || n < lo || n > hi) {
        return bad(p, "%s must be an integer between %ld and %ld (got \"%s\")",
                 name, lo, hi, v);
    }
    *out = n;
    return 0;
}

static int parse_bool(const char *name, const char *v, bool *out, problem_t *p)
{
    if (!strcmp(v, "1") || !strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on")) {
        *out = true;
        return 0;
    }
    if (!strcmp(v, "0") || !strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off")) {
        *out = false;
        return 0;
    }
    return bad(p, "%s must be true or false (got \"%s\")", name, v);
}

static int parse_double(const char *name, const char *v, double *out, problem_t *p)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (errno || end == v || *end != '\0' || !(d >= 0.0 && d <= 1000.0)) {
        return bad(p, "%s must be a number between 0 and 1000 (got \"%s\")", name, v);
    }
    *out = d;
    return 0;
}

static int copy_string(const char *name, const char *v, char *dst, size_t cap, problem_t *p)
{
    if (strlen(v) >= cap) {
        return bad(p, "%s is too long (at most %zu bytes)", name, cap - 1);
    }
    memcpy(dst, v, strlen(v) + 1);
    return 0;
}

int config_parse_mail_from(const char *v, char *name, size_t namecap, char *address,
                           size_t addrcap)
{
    const char *lt = strrchr(v, '<');
    name[0] = '\0';
    if (!lt) {
        if (!mail_address_valid(v) || strlen(v) >= addrcap) return -PROBLEM_VALIDATION;
        snprintf(address, addrcap, "%s", v);
        return 0;
    }
    const char *gt = strchr(lt, '>');
    if (!gt || gt[1] != '\0' || (size_t)(gt - lt - 1) >= addrcap) return -PROBLEM_VALIDATION;
    snprintf(address, addrcap, "%.*s", (int)(gt - lt - 1), lt + 1);
    if (!mail_address_valid(address)) return -PROBLEM_VALIDATION;
    /* the display name: trimmed, outer quotes dropped */
    const char *s = v, *e = lt;
    while (s < e && *s == ' ') s++;
    while (e > s && e[-1] == ' ') e--;
    if (e - s >= 2 && *s == '"' && e[-1] == '"') {
        s++;
        e--;
    }
    if ((size_t)(e - s) >= namecap) return -PROBLEM_VALIDATION;
    for (const char *c = s; c < e; c++)
        if ((unsigned char)*c < 0x20 || *c == '"' || *c == '<' || *c == '>')
            return -PROBLEM_VALIDATION;
    snprintf(name, namecap, "%.*s", (int)(e - s), s);
    return 0;
}

#define INT_VAR(NAME, FIELD, LO, HI)                                             \
    do {                                                                         \
        const char *v_ = get(NAME);                                              \
        long n_;                                                                 \
        if (v_ && *v_) {                                                         \
            int rc_ = parse_long(NAME, v_, LO, HI, &n_, p);                      \
            if (rc_ < 0) return rc_;                                             \
            cfg->FIELD = n_;                                                     \
        }                                                                        \
    } while (0)
#define BOOL_VAR(NAME, FIELD)                                                    \
    do {                                                                         \
        const char *v_ = get(NAME);                                              \
        int rc_ = v_ && *v_ ? parse_bool(NAME, v_, &cfg->FIELD, p) : 0;          \
        if (rc_ < 0) return rc_;                                                 \
    } while (0)
#define STR_VAR(NAME, FIELD)                                                     \
    do {                                                                         \
        const char *v_ = get(NAME);                                              \
        int rc_ = v_ && *v_ ? copy_string(NAME, v_, cfg->FIELD, sizeof cfg->FIELD, p) : 0; \
        if (rc_ < 0) return rc_;                                                 \
    } while (0)
#define DOUBLE_VAR(NAME, FIELD)                                                  \
    do {                                                                         \
        const char *v_ = get(NAME);                                              \
        int rc_ = v_ && *v_ ? parse_double(NAME, v_, &cfg->FIELD, p) : 0;        \
        if (rc_ < 0) return rc_;                                                 \
    } while (0)

int config_default_read_workers(void)
{
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    if (cores < 1) cores = 1;
    return cores >= 4 ? 8 : (int)(2 * cores);
}

int config_load(config_t *cfg, config_getenv_fn get, problem_t *p)
{
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen_address, sizeof cfg->listen_address, "127.0.0.1");
    cfg->port = 8080;
    snprintf(cfg->database_url, sizeof cfg->database_url, "postgresql:///purposed");
    cfg->threads = 0;
    cfg->body_limit = 64 * 1024;
    snprintf(cfg->static_dir, sizeof cfg->static_dir, "static");
    snprintf(cfg->migrations_dir, sizeof cfg->migrations_dir, "migrations");
    cfg->statement_timeout_ms = 5000;
    cfg->max_connections = 1024;
    cfg->per_ip_connections = 64;
    cfg->connection_timeout_s = 30;
    cfg->header_timeout_s = 10;
    cfg->auto_migrate = true;
    cfg->log_requests = true;
    cfg->cookie_secure = false;
    cfg->session_ttl_days = 30;
    cfg->pwhash_opslimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
    cfg->pwhash_memlimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;
    cfg->hash_workers = 0; /* 0: half the cores */
    cfg->write_workers = 8;
    cfg->read_workers = config_default_read_workers();
    cfg->queue_depth = 8;
    cfg->per_ip_requests = 32;
    cfg->cache_mb = 128;
    cfg->search_index = true;
    cfg->changes_poll_ms = 50;
    cfg->replica_max_lag_ms = 1000;
    cfg->login_max_failures = 10;
    cfg->login_window_s = 900;
    cfg->cursor_secret[0] = '\0'; /* none: the instance's own (lib/secrets.h) */
    cfg->signup_max_per_address = 20;
    cfg->write_rate_per_minute = 600;
    cfg->write_burst = 60;
    cfg->federation_inbox_per_minute = 300;
    cfg->federation_fetch_per_minute = 120;
    cfg->job_workers = 2;
    cfg->job_lease_s = 300;
    cfg->job_poll_ms = 1000;
    cfg->job_retry_base_ms = 30000;
    cfg->job_retry_max_s = 6 * 3600;
    cfg->smtp_timeout_s = 60;
    cfg->digest_interval_s = 86400;
    snprintf(cfg->mail_from, sizeof cfg->mail_from, "Purposed <purposed@localhost>");
    snprintf(cfg->mail_dir, sizeof cfg->mail_dir, "var/mail");
    snprintf(cfg->fetch_user_agent, sizeof cfg->fetch_user_agent, "Purposed/%s", PURPOSED_VERSION);
    cfg->w_purpose = 0.45;
    cfg->w_skills = 0.20;
    cfg->w_capacity = 0.10;
    cfg->w_packaging = 0.10;
    cfg->w_location = 0.05;
    cfg->w_follows = 0.10;

    STR_VAR("LISTEN_ADDRESS", listen_address);
    INT_VAR("PORT", port, 1, 65535);
    STR_VAR("DATABASE_URL", database_url);
    STR_VAR("DATABASE_READ_URL", database_read_url);
    INT_VAR("REPLICA_MAX_LAG_MS", replica_max_lag_ms, 10, 600000);
    INT_VAR("THREADS", threads, 0, 256);
    {
        const char *v = get("BODY_LIMIT");
        long n;
        if (v && *v) {
            int rc = parse_long("BODY_LIMIT", v, 1024, 16L * 1024 * 1024, &n, p);
            if (rc < 0) return rc;
            cfg->body_limit = (size_t)n;
        }
    }
    STR_VAR("STATIC_DIR", static_dir);
    STR_VAR("MIGRATIONS_DIR", migrations_dir);
    INT_VAR("STATEMENT_TIMEOUT_MS", statement_timeout_ms, 0, 3600000);
    INT_VAR("MAX_CONNECTIONS", max_connections, 1, 100000);
    INT_VAR("PER_IP_CONNECTIONS", per_ip_connections, 0, 100000);
    INT_VAR("CONNECTION_TIMEOUT", connection_timeout_s, 1, 3600);
    INT_VAR("HEADER_TIMEOUT", header_timeout_s, 1, 3600);
    BOOL_VAR("AUTO_MIGRATE", auto_migrate);
    BOOL_VAR("LOG_REQUESTS", log_requests);
    BOOL_VAR("COOKIE_SECURE", cookie_secure);
    BOOL_VAR("SEARCH_INDEX", search_index);
    INT_VAR("SESSION_TTL_DAYS", session_ttl_days, 1, 3650);
    {
        const char *v = get("PWHASH_OPSLIMIT");
        long n;
        if (v && *v) {
            int rc = parse_long("PWHASH_OPSLIMIT", v, (long)crypto_pwhash_OPSLIMIT_MIN, 64, &n, p);
            if (rc < 0) return rc;
            cfg->pwhash_opslimit = (unsigned long long)n;
        }
        v = get("PWHASH_MEMLIMIT");
        if (v && *v) {
            int rc = parse_long("PWHASH_MEMLIMIT", v, 8192, 1L << 30, &n, p);
            if (rc < 0) return rc;
            cfg->pwhash_memlimit = (size_t)n;
        }
    }
    INT_VAR("HASH_WORKERS", hash_workers, 0, 64);
    INT_VAR("WRITE_WORKERS", write_workers, 0, 256);
    INT_VAR("READ_WORKERS", read_workers, 0, 256);
    INT_VAR("QUEUE_DEPTH", queue_depth, 1, 4096);
    INT_VAR("PER_IP_REQUESTS", per_ip_requests, 0, 100000);
    INT_VAR("CACHE_MB", cache_mb, 0, 65536);
    INT_VAR("CHANGES_POLL_MS", changes_poll_ms, 0, 1000);
    INT_VAR("LOGIN_MAX_FAILURES", login_max_failures, 1, 100000);
    INT_VAR("LOGIN_WINDOW_SECONDS", login_window_s, 1, 86400);
    INT_VAR("SIGNUP_MAX_PER_ADDRESS", signup_max_per_address, 0, 1000000);
    STR_VAR("CURSOR_SECRET", cursor_secret);
    if (strcmp(cfg->cursor_secret, "purposed-cursor-v1") == 0) {
        return bad(p, "CURSOR_SECRET must not be purposed-cursor-v1, the old default that"
                              " anyone can read: set your own, or leave it out to use the"
                              " instance's own");
    }
    STR_VAR("KEYS_SECRET", keys_secret);
    if (cfg->keys_secret[0] && strlen(cfg->keys_secret) < 32) {
        return bad(p, "KEYS_SECRET must be at least 32 characters (a random string:"
                              " openssl rand -hex 32), or left out");
    }
    STR_VAR("PUBLIC_URL", public_url);
    {
        /* absolute links in feeds: scheme://host[:port][/path], no trailing slash */
        size_t n = strlen(cfg->public_url);
        while (n > 0 && cfg->public_url[n - 1] == '/') cfg->public_url[--n] = '\0';
        bool ok = n == 0 || strncmp(cfg->public_url, "http://", 7) == 0 ||
                  strncmp(cfg->public_url, "https://", 8) == 0;
        for (size_t i = 0; ok && i < n; i++) {
            unsigned char c = (unsigned char)cfg->public_url[i];
            ok = c > 0x20 && c < 0x7f && !strchr("\"<>\\^`{|}'", c);
        }
        if (!ok) {
            return bad(p, "PUBLIC_URL must be an http:// or https:// URL (got \"%s\")",
                     cfg->public_url);
        }
    }
    STR_VAR("CORS_ORIGINS", cors_origins);
    {
        /* each origin: scheme://host[:port], no path, separated by commas */
        const char *o = cfg->cors_origins;
        while (*o) {
            while (*o == ' ' || *o == ',') o++;
            if (!*o) break;
            size_t n = strcspn(o, ", ");
            bool ok = (n > 7 && strncmp(o, "http://", 7) == 0) || (n > 8 && strncmp(o, "https://", 8) == 0);
            const char *host = o + (o[4] == 's' ? 8 : 7);
            for (const char *c = host; ok && c < o + n; c++)
                ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
                     *c == '.' || *c == '-' || *c == ':' || *c == '[' || *c == ']';
            if (!ok) {
                return bad(p,
                         "CORS_ORIGINS must be origins like https://app.example, comma-separated (got \"%.*s\")",
                         (int)n, o);
            }
            o += n;
        }
    }
    INT_VAR("WRITE_RATE_PER_MINUTE", write_rate_per_minute, 0, 1000000);
    INT_VAR("WRITE_BURST", write_burst, 1, 1000000);
    STR_VAR("TRUSTED_PROXY", trusted_proxy);
    {
        /* ADMIN_EMAILS: "a@x, B@y" is kept as "a@x,b@y" (emails are stored lower case) */
        char raw[sizeof cfg->admin_emails];
        raw[0] = '\0';
        const char *v = get("ADMIN_EMAILS");
        int rc = v && *v ? copy_string("ADMIN_EMAILS", v, raw, sizeof raw, p) : 0;
        if (rc < 0) return rc;
        size_t out = 0;
        for (const char *o = raw; *o;) {
            while (*o == ' ' || *o == ',') o++;
            size_t n = strcspn(o, ", ");
            if (!n) break;
            const char *at = memchr(o, '@', n);
            if (!at || at == o || at == o + n - 1) {
                return bad(p, "ADMIN_EMAILS must be email addresses, comma-separated (got \"%.*s\")",
                         (int)n, o);
            }
            if (out) cfg->admin_emails[out++] = ',';
            for (size_t i = 0; i < n; i++)
                cfg->admin_emails[out++] = (char)tolower((unsigned char)o[i]);
            o += n;
        }
        cfg->admin_emails[out] = '\0';
    }
    INT_VAR("JOB_WORKERS", job_workers, 0, 64);
    INT_VAR("JOB_LEASE_SECONDS", job_lease_s, 2, 86400);
    INT_VAR("JOB_POLL_MS", job_poll_ms, 10, 60000);
    INT_VAR("JOB_RETRY_BASE_MS", job_retry_base_ms, 10, 86400000);
    INT_VAR("JOB_RETRY_MAX_SECONDS", job_retry_max_s, 1, 604800);
    STR_VAR("SMTP_URL", smtp_url);
    if (cfg->smtp_url[0]) {
        mail_tls_t tls;
        char why[256];
        if (mail_parse_smtp_url(cfg->smtp_url, cfg->smtp_curl_url, sizeof cfg->smtp_curl_url, &tls,
                                why, sizeof why) != 0)
            return bad(p, "%s", why);
        cfg->smtp_tls = (int)tls;
    }
    STR_VAR("SMTP_USER", smtp_user);
    STR_VAR("SMTP_PASSWORD", smtp_password);
    INT_VAR("SMTP_TIMEOUT_SECONDS", smtp_timeout_s, 1, 600);
    INT_VAR("DIGEST_INTERVAL_SECONDS", digest_interval_s, 1, 604800);
    if (cfg->job_lease_s <= cfg->smtp_timeout_s) {
        return bad(p,
                 "JOB_LEASE_SECONDS (%d) must be more than SMTP_TIMEOUT_SECONDS (%d): a job must end within its lease",
                 cfg->job_lease_s, cfg->smtp_timeout_s);
    }
    STR_VAR("MAIL_FROM", mail_from);
    if (config_parse_mail_from(cfg->mail_from, cfg->mail_from_name, sizeof cfg->mail_from_name,
                               cfg->mail_from_address, sizeof cfg->mail_from_address) != 0) {
        return bad(p, "MAIL_FROM must be an address or \"Name <address>\" (got \"%s\")",
                 cfg->mail_from);
    }
    STR_VAR("MAIL_DIR", mail_dir);
    STR_VAR("MATCH_SNAPSHOT", match_snapshot);
    BOOL_VAR("FETCH_ALLOW_PRIVATE", fetch_allow_private);
    INT_VAR("FEDERATION_INBOX_PER_MINUTE", federation_inbox_per_minute, 0, 1000000);
    INT_VAR("FEDERATION_FETCH_PER_MINUTE", federation_fetch_per_minute, 0, 1000000);
    STR_VAR("FETCH_USER_AGENT", fetch_user_agent);
    if (strpbrk(cfg->fetch_user_agent, "\r\n"))
        return bad(p, "FETCH_USER_AGENT must be one line");
    DOUBLE_VAR("MATCH_WEIGHT_PURPOSE", w_purpose);
    DOUBLE_VAR("MATCH_WEIGHT_SKILLS", w_skills);
    DOUBLE_VAR("MATCH_WEIGHT_CAPACITY", w_capacity);
    DOUBLE_VAR("MATCH_WEIGHT_PACKAGING", w_packaging);
    DOUBLE_VAR("MATCH_WEIGHT_LOCATION", w_location);
    DOUBLE_VAR("MATCH_WEIGHT_FOLLOWS", w_follows);
    double wsum = cfg->w_purpose + cfg->w_skills + cfg->w_capacity + cfg->w_packaging +
                  cfg->w_location + cfg->w_follows;
    if (wsum <= 0.0) {
        return bad(p, "MATCH_WEIGHT_* must not all be zero");
    }
    return 0;
}
