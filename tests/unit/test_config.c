/* Unit tests for lib/config: defaults, every variable parsed, and every bad
 * value refused with a message naming the variable. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "config.h"
#include "mail.h"

/* A fake environment: NAME=value pairs. */
static const char *g_env[64][2];
static int g_nenv;

static void env_reset(void) { g_nenv = 0; }
static void env_set(const char *name, const char *value)
{
    for (int i = 0; i < g_nenv; i++)
        if (strcmp(g_env[i][0], name) == 0) {
            g_env[i][1] = value;
            return;
        }
    g_env[g_nenv][0] = name;
    g_env[g_nenv][1] = value;
    g_nenv++;
}
static const char *env_get(const char *name)
{
    for (int i = 0; i < g_nenv; i++)
        if (strcmp(g_env[i][0], name) == 0) return g_env[i][1];
    return NULL;
}

static void defaults(void **state)
{
    (void)state;
    env_reset();
    config_t c;
    problem_t err = {0};
    assert_int_equal(config_load(&c, env_get, &err), 0);
    assert_string_equal(c.listen_address, "127.0.0.1");
    assert_int_equal(c.port, 8080);
    assert_string_equal(c.database_url, "postgresql:///purposed");
    assert_int_equal(c.threads, 0);
    assert_int_equal(c.body_limit, 64 * 1024);
    assert_string_equal(c.static_dir, "static");
    assert_string_equal(c.migrations_dir, "migrations");
    assert_int_equal(c.statement_timeout_ms, 5000);
    assert_int_equal(c.max_connections, 1024);
    assert_int_equal(c.per_ip_connections, 64);
    assert_int_equal(c.connection_timeout_s, 30);
    assert_int_equal(c.header_timeout_s, 10);
    assert_int_equal(c.read_workers, config_default_read_workers());
    assert_true(c.read_workers >= 2 && c.read_workers <= 8);
    assert_int_equal(c.queue_depth, 8);
    assert_int_equal(c.per_ip_requests, 32);
    assert_true(c.auto_migrate);
    assert_true(c.log_requests);
    assert_false(c.cookie_secure);
    assert_int_equal(c.session_ttl_days, 30);
    assert_int_equal(c.pwhash_opslimit, crypto_pwhash_OPSLIMIT_INTERACTIVE);
    assert_int_equal(c.pwhash_memlimit, crypto_pwhash_MEMLIMIT_INTERACTIVE);
    assert_int_equal(c.hash_workers, 0); /* half the cores */
    assert_int_equal(c.write_workers, 8);
    assert_int_equal(c.cache_mb, 128);
    assert_string_equal(c.public_url, "");
    assert_int_equal(c.login_max_failures, 10);
    assert_int_equal(c.login_window_s, 900);
    assert_string_equal(c.cursor_secret, ""); /* the instance's own, from the database */
    assert_int_equal(c.signup_max_per_address, 20);
    assert_false(c.fetch_allow_private); /* no SSRF by default */
    assert_string_equal(c.fetch_user_agent, "Purposed/" PURPOSED_VERSION);
    assert_string_equal(c.match_snapshot, ""); /* no file: the index is built at each start */
    double sum = c.w_purpose + c.w_skills + c.w_capacity + c.w_packaging + c.w_location +
                 c.w_follows;
    assert_true(sum > 0.999 && sum < 1.001);
}

static void empty_values_keep_defaults(void **state)
{
    (void)state;
    env_reset();
    env_set("PORT", "");
    env_set("LOG_REQUESTS", "");
    env_set("DATABASE_URL", "");
    config_t c;
    problem_t err = {0};
    assert_int_equal(config_load(&c, env_get, &err), 0);
    assert_int_equal(c.port, 8080);
    assert_true(c.log_requests);
    assert_string_equal(c.database_url, "postgresql:///purposed");
}

static void every_variable_is_read(void **state)
{
    (void)state;
    env_reset();
    env_set("LISTEN_ADDRESS", "0.0.0.0");
    env_set("PORT", "9000");
    env_set("DATABASE_URL", "postgresql://u@h/db");
    env_set("THREADS", "3");
    env_set("BODY_LIMIT", "2048");
    env_set("STATIC_DIR", "/srv/static");
    env_set("MIGRATIONS_DIR", "/srv/migrations");
    env_set("STATEMENT_TIMEOUT_MS", "250");
    env_set("MAX_CONNECTIONS", "10");
    env_set("PER_IP_CONNECTIONS", "0");
    env_set("CONNECTION_TIMEOUT", "5");
    env_set("HEADER_TIMEOUT", "3");
    env_set("READ_WORKERS", "0");
    env_set("QUEUE_DEPTH", "2");
    env_set("PER_IP_REQUESTS", "0");
    env_set("AUTO_MIGRATE", "no");
    env_set("LOG_REQUESTS", "off");
    env_set("COOKIE_SECURE", "yes");
    env_set("SESSION_TTL_DAYS", "7");
    env_set("PWHASH_OPSLIMIT", "2");
    env_set("PWHASH_MEMLIMIT", "8192");
    env_set("HASH_WORKERS", "4");
    env_set("WRITE_WORKERS", "0");
    env_set("CACHE_MB", "0");
    env_set("LOGIN_MAX_FAILURES", "3");
    env_set("LOGIN_WINDOW_SECONDS", "60");
    env_set("SIGNUP_MAX_PER_ADDRESS", "0");
    env_set("CURSOR_SECRET", "s3cret");
    env_set("PUBLIC_URL", "https://purposed.example/base//");
    env_set("MATCH_WEIGHT_PURPOSE", "1");
    env_set("MATCH_WEIGHT_SKILLS", "0");
    env_set("MATCH_WEIGHT_CAPACITY", "0.5");
    env_set("MATCH_WEIGHT_PACKAGING", "0");
    env_set("MATCH_WEIGHT_LOCATION", "0");
    env_set("MATCH_WEIGHT_FOLLOWS", "2.25");
    env_set("FETCH_ALLOW_PRIVATE", "1");
    env_set("FETCH_USER_AGENT", "Purposed/9 (+https://purposed.example)");
    env_set("MATCH_SNAPSHOT", "/var/lib/purposed/match.snapshot");
    config_t c;
    problem_t err = {0};
    assert_int_equal(config_load(&c, env_get, &err), 0);
    assert_string_equal(c.listen_address, "0.0.0.0");
    assert_int_equal(c.port, 9000);
    assert_string_equal(c.database_url, "postgresql://u@h/db");
    assert_int_equal(c.threads, 3);
    assert_int_equal(c.body_limit, 2048);
    assert_string_equal(c.static_dir, "/srv/static");
    assert_string_equal(c.migrations_dir, "/srv/migrations");
    assert_int_equal(c.statement_timeout_ms, 250);
    assert_int_equal(c.max_connections, 10);
    assert_int_equal(c.per_ip_connections, 0);
    assert_int_equal(c.connection_timeout_s, 5);
    assert_int_equal(c.header_timeout_s, 3);
    assert_int_equal(c.read_workers, 0);
    assert_int_equal(c.queue_depth, 2);
    assert_int_equal(c.per_ip_requests, 0);
    assert_false(c.auto_migrate);
    assert_false(c.log_requests);
    assert_true(c.cookie_secure);
    assert_int_equal(c.session_ttl_days, 7);
    assert_int_equal(c.pwhash_opslimit, 2);
    assert_int_equal(c.pwhash_memlimit, 8192);
    assert_int_equal(c.hash_workers, 4);
    assert_int_equal(c.write_workers, 0);
    assert_int_equal(c.cache_mb, 0);
    assert_int_equal(c.login_max_failures, 3);
    assert_int_equal(c.login_window_s, 60);
    assert_int_equal(c.signup_max_per_address, 0);
    assert_string_equal(c.cursor_secret, "s3cret");
    assert_string_equal(c.public_url, "https://purposed.example/base"); /* no trailing slash */
    assert_true(c.w_purpose == 1.0 && c.w_skills == 0.0 && c.w_capacity == 0.5);
    assert_true(c.w_follows == 2.25);
    assert_true(c.fetch_allow_private);
    assert_string_equal(c.fetch_user_agent, "Purposed/9 (+https://purposed.example)");
    assert_string_equal(c.match_snapshot, "/var/lib/purposed/match.snapshot");
    env_set("FETCH_USER_AGENT", "a\r\nX-Injected: 1");
    assert_true(config_load(&c, env_get, &err) < 0);
    assert_non_null(strstr(err.detail, "FETCH_USER_AGENT"));
}

static void booleans(void **state)
{
    (void)state;
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    config_t c;
    problem_t err = {0};
    for (size_t i = 0; i < 4; i++) {
        env_reset();
        env_set("COOKIE_SECURE", yes[i]);
        env_set("AUTO_MIGRATE", no[i]);
        assert_int_equal(config_load(&c, env_get, &err), 0);
        assert_true(c.cookie_secure);
        assert_false(c.auto_migrate);
    }
}

/* Each bad value must fail and the message must name the variable. */
static void bad_values_name_the_variable(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"PORT", "0"}, {"PORT", "65536"}, {"PORT", "80a"}, {"PORT", "-1"}, {"PORT", "8 0"},
        {"PORT", "99999999999999999999999"}, {"PORT", "0x50"},
        {"THREADS", "-1"}, {"THREADS", "257"},
        {"BODY_LIMIT", "1023"}, {"BODY_LIMIT", "16777217"}, {"BODY_LIMIT", "64k"},
        {"STATEMENT_TIMEOUT_MS", "-5"}, {"STATEMENT_TIMEOUT_MS", "3600001"},
        {"MAX_CONNECTIONS", "0"}, {"PER_IP_CONNECTIONS", "-1"},
        {"CONNECTION_TIMEOUT", "0"}, {"CONNECTION_TIMEOUT", "3601"},
        {"HEADER_TIMEOUT", "0"}, {"HEADER_TIMEOUT", "3601"}, {"READ_WORKERS", "-1"},
        {"READ_WORKERS", "257"}, {"QUEUE_DEPTH", "0"}, {"QUEUE_DEPTH", "4097"},
        {"PER_IP_REQUESTS", "-1"},
        {"AUTO_MIGRATE", "maybe"}, {"LOG_REQUESTS", "TRUE "}, {"COOKIE_SECURE", "2"},
        {"SESSION_TTL_DAYS", "0"}, {"SESSION_TTL_DAYS", "3651"},
        {"PWHASH_OPSLIMIT", "0"}, {"PWHASH_OPSLIMIT", "65"},
        {"PWHASH_MEMLIMIT", "8191"}, {"PWHASH_MEMLIMIT", "1073741825"},
        {"HASH_WORKERS", "-1"}, {"HASH_WORKERS", "65"},
        {"WRITE_WORKERS", "-1"}, {"WRITE_WORKERS", "257"}, {"CACHE_MB", "-1"},
        {"CACHE_MB", "65537"}, {"CACHE_MB", "1G"},
        {"PUBLIC_URL", "ftp://x"}, {"PUBLIC_URL", "example.org"}, {"PUBLIC_URL", "https://a b"},
        {"PUBLIC_URL", "https://x/<script>"},
        {"LOGIN_MAX_FAILURES", "0"}, {"LOGIN_WINDOW_SECONDS", "86401"},
        {"SIGNUP_MAX_PER_ADDRESS", "-1"}, {"SIGNUP_MAX_PER_ADDRESS", "1000001"},
        {"MATCH_WEIGHT_PURPOSE", "-0.1"}, {"MATCH_WEIGHT_SKILLS", "nan"},
        {"MATCH_WEIGHT_CAPACITY", "inf"}, {"MATCH_WEIGHT_PACKAGING", "1001"},
        {"MATCH_WEIGHT_LOCATION", "x"}, {"MATCH_WEIGHT_FOLLOWS", "1e999"},
        {"CURSOR_SECRET", "purposed-cursor-v1"}, /* the old default: public */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        env_reset();
        env_set(bad[i][0], bad[i][1]);
        config_t c;
        problem_t err = {0};
        int rc = config_load(&c, env_get, &err);
        if (rc != -PROBLEM_VALIDATION || !strstr(err.detail, bad[i][0])) {
            fprintf(stderr, "%s=\"%s\": rc %d, err \"%s\"\n", bad[i][0], bad[i][1], rc, err.detail);
            fail();
        }
    }
}

static void overlong_strings_name_the_variable(void **state)
{
    (void)state;
    static const char *const names[] = {"LISTEN_ADDRESS", "DATABASE_URL", "STATIC_DIR",
                                        "MIGRATIONS_DIR", "CURSOR_SECRET", "PUBLIC_URL"};
    static char longv[4096];
    memset(longv, 'a', sizeof longv - 1);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        env_reset();
        env_set(names[i], longv);
        config_t c;
        problem_t err = {0};
        assert_int_equal(config_load(&c, env_get, &err), -PROBLEM_VALIDATION);
        assert_non_null(strstr(err.detail, names[i]));
    }
}

static void all_weights_zero_is_refused(void **state)
{
    (void)state;
    env_reset();
    static const char *const w[] = {"MATCH_WEIGHT_PURPOSE", "MATCH_WEIGHT_SKILLS",
                                    "MATCH_WEIGHT_CAPACITY", "MATCH_WEIGHT_PACKAGING",
                                    "MATCH_WEIGHT_LOCATION", "MATCH_WEIGHT_FOLLOWS"};
    for (size_t i = 0; i < 6; i++) env_set(w[i], "0");
    config_t c;
    problem_t err = {0};
    assert_int_equal(config_load(&c, env_get, &err), -PROBLEM_VALIDATION);
    assert_non_null(strstr(err.detail, "MATCH_WEIGHT_"));
}

/* The variables read after the first version of these tests: the write
 * rate limit, CORS origins and the trusted proxy. */
static void write_limits_cors_and_proxy(void **state)
{
    (void)state;
    config_t c;
    problem_t err = {0};
    env_reset();
    assert_int_equal(config_load(&c, env_get, &err), 0);
    assert_int_equal(c.write_rate_per_minute, 600);
    assert_int_equal(c.write_burst, 60);
    assert_string_equal(c.cors_origins, "");
    assert_string_equal(c.trusted_proxy, "");

    env_set("WRITE_RATE_PER_MINUTE", "0"); /* 0 = no limit */
    env_set("WRITE_BURST", "1");
    env_set("CORS_ORIGINS", "https://app.example, http://localhost:5173,https://[::1]:8443");
    env_set("TRUSTED_PROXY", "10.0.0.1");
    assert_int_equal(config_load(&c, env_get, &err), 0);
    assert_int_equal(c.write_rate_per_minute, 0);
    assert_int_equal(c.write_burst, 1);
    assert_string_equal(c.cors_origins, "https://app.example, http://localhost:5173,https://[::1]:8443");
    assert_string_equal(c.trusted_proxy, "10.0.0.1");

    static const char *const bad[][2] = {
        {"WRITE_RATE_PER_MINUTE", "-1"}, {"WRITE_RATE_PER_MINUTE", "1000001"},
        {"WRITE_RATE_PER_MINUTE", "10/s"}, {"WRITE_BURST", "0"}, {"WRITE_BURST", "1000001"},
        {"CORS_ORIGINS", "app.example"}, {"CORS_ORIGINS", "https://app.example/path"},
        {"CORS_ORIGINS", "ftp://app.example"}, {"CORS_ORIGINS", "https://"},
        {"CORS_ORIGINS", "https://ok.example,*"}, {"CORS_ORIGINS", "https://a.example;b"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        env_reset();
        env_set(bad[i][0], bad[i][1]);
        err.detail[0] = '\0';
        int rc = config_load(&c, env_get, &err);
        if (rc != -PROBLEM_VALIDATION || !strstr(err.detail, bad[i][0]))
            fail_msg("%s=\"%s\": rc %d, err \"%s\"", bad[i][0], bad[i][1], rc, err.detail);
    }
    static char longv[200];
    memset(longv, '1', sizeof longv - 1);
    env_reset();
    env_set("TRUSTED_PROXY", longv);
    assert_int_equal(config_load(&c, env_get, &err), -PROBLEM_VALIDATION);
    assert_non_null(strstr(err.detail, "TRUSTED_PROXY"));
}

static void jobs_and_mail(void **state)
{
    (void)state;
    config_t c;
    problem_t err = {0};
    env_reset();
    assert_int_equal(config_load(&c, env_get, &err), 0);
    assert_int_equal(c.job_workers, 2);
    assert_int_equal(c.job_lease_s, 300);
    assert_int_equal(c.job_poll_ms, 1000);
    assert_int_equal(c.job_retry_base_ms, 30000);
    assert_int_equal(c.job_retry_max_s, 21600);
    assert_string_equal(c.smtp_url, "");
    assert_int_equal(c.smtp_timeout_s, 60);
    assert_string_equal(c.mail_from_name, "Purposed");
    assert_string_equal(c.mail_from_address, "purposed@localhost");
    assert_string_equal(c.mail_dir, "var/mail");

    env_set("JOB_WORKERS", "0");
    env_set("JOB_LEASE_SECONDS", "30");
    env_set("JOB_POLL_MS", "50");
    env_set("JOB_RETRY_BASE_MS", "250");
    env_set("JOB_RETRY_MAX_SECONDS", "60");
    env_set("SMTP_URL", "smtp://127.0.0.1:2525?tls=none");
    env_set("SMTP_USER", "u");
    env_set("SMTP_PASSWORD", "p w");
    env_set("SMTP_TIMEOUT_SECONDS", "20");
    env_set("MAIL_FROM", "\"Purposed, Inc.\" <hello@purposed.example>");
    env_set("MAIL_DIR", "/tmp/mail");
    assert_int_equal(config_load(&c, env_get, &err), 0);
    assert_int_equal(c.job_workers, 0);
    assert_int_equal(c.job_lease_s, 30);
    assert_int_equal(c.job_poll_ms, 50);
    assert_int_equal(c.job_retry_base_ms, 250);
    assert_int_equal(c.job_retry_max_s, 60);
    assert_string_equal(c.smtp_url, "smtp://127.0.0.1:2525?tls=none");
    assert_string_equal(c.smtp_curl_url, "smtp://127.0.0.1:2525");
    assert_int_equal(c.smtp_tls, MAIL_TLS_NONE);
    assert_string_equal(c.smtp_user, "u");
    assert_string_equal(c.smtp_password, "p w");
    assert_int_equal(c.smtp_timeout_s, 20);
    assert_string_equal(c.mail_from_name, "Purposed, Inc.");
    assert_string_equal(c.mail_from_address, "hello@purposed.example");
    assert_string_equal(c.mail_dir, "/tmp/mail");
    env_set("MAIL_FROM", "plain@purposed.example");
    assert_int_equal(config_load(&c, env_get, &err), 0);
    assert_string_equal(c.mail_from_name, "");
    assert_string_equal(c.mail_from_address, "plain@purposed.example");

    static const char *const bad[][2] = {
        {"JOB_WORKERS", "-1"}, {"JOB_WORKERS", "65"}, {"JOB_LEASE_SECONDS", "1"},
        {"JOB_POLL_MS", "5"}, {"JOB_RETRY_BASE_MS", "x"}, {"JOB_RETRY_MAX_SECONDS", "0"},
        {"SMTP_URL", "mail.example:25"}, {"SMTP_URL", "smtp://relay?tls=off"},
        {"SMTP_URL", "smtps://relay?tls=none"}, {"SMTP_TIMEOUT_SECONDS", "0"},
        {"MAIL_FROM", "not an address"}, {"MAIL_FROM", "Name <a@b"},
        {"MAIL_FROM", "Name <a@b.example> trailing"}, {"MAIL_FROM", "Na\"me <a@b.example>"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        env_reset();
        env_set(bad[i][0], bad[i][1]);
        err.detail[0] = '\0';
        assert_int_equal(config_load(&c, env_get, &err), -PROBLEM_VALIDATION);
        assert_non_null(strstr(err.detail, bad[i][0]));
    }
    /* a job must end within its lease */
    env_reset();
    env_set("JOB_LEASE_SECONDS", "60");
    assert_int_equal(config_load(&c, env_get, &err), -PROBLEM_VALIDATION);
    assert_non_null(strstr(err.detail, "JOB_LEASE_SECONDS"));
    env_set("SMTP_TIMEOUT_SECONDS", "59");
    assert_int_equal(config_load(&c, env_get, &err), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults),
        cmocka_unit_test(empty_values_keep_defaults),
        cmocka_unit_test(every_variable_is_read),
        cmocka_unit_test(booleans),
        cmocka_unit_test(bad_values_name_the_variable),
        cmocka_unit_test(overlong_strings_name_the_variable),
        cmocka_unit_test(all_weights_zero_is_refused),
        cmocka_unit_test(write_limits_cors_and_proxy),
        cmocka_unit_test(jobs_and_mail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
