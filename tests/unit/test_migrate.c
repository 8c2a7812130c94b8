/* Unit tests for lib/migrate's parts that need no database: which files are
 * migrations (numbered or repeatable), their order, the checksum recorded for
 * each, what to do given the recorded checksum (an edited numbered migration
 * is an error, a changed repeatable one is applied again), and that the
 * migrations already shipped have not been edited. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "migrate.h"

static void migration_file_names(void **state)
{
    (void)state;
    static const char *const good[] = {
        "0001_init.sql", "0010_notification_links.sql", "0000_a.sql", "9999_x.sql",
        "0002_with.dots.sql",
    };
    static const char *const bad[] = {
        "",               "0001_.sql",        /* no name */
        "001_init.sql",   "00001_init.sql",   /* not four digits */
        "0001init.sql",   "0001-init.sql",    /* no underscore */
        "abcd_init.sql",  "0x01_init.sql",    "001a_init.sql", /* not digits */
        "0001_init.SQL",  "0001_init.sq",     "0001_init", /* not .sql */
        "0001_init.sql~", "0001_init.sql.bak", "0001_init.sql.orig", /* editor leftovers */
        ".0001_init.sql", "README.md",        "schema.sql",
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        if (!migrate_is_file_name(good[i])) fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        if (migrate_is_file_name(bad[i])) fail_msg("accepted %s", bad[i]);
}

static char g_dir[64];

static void touch(const char *name)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("SELECT 1;\n", f);
    fclose(f);
}

static int make_dir(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof g_dir, "/tmp/purposed-migrate-XXXXXX");
    return mkdtemp(g_dir) ? 0 : -1;
}

static int remove_dir(void **state)
{
    (void)state;
    DIR *d = opendir(g_dir);
    if (!d) return -1;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        char path[sizeof g_dir + sizeof e->d_name + 1];
        snprintf(path, sizeof path, "%s/%s", g_dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    return rmdir(g_dir);
}

/* Migrations apply in the byte order of their names, so the newest is the
 * last one; files that are not migrations never count, however they sort. */
static void latest_is_last_in_name_order(void **state)
{
    (void)state;
    char latest[128];
    assert_int_equal(migrate_latest_name(g_dir, latest, sizeof latest), 0);
    assert_string_equal(latest, ""); /* empty directory */
    touch("README.md");
    touch("zzzz_notes.sql");
    assert_int_equal(migrate_latest_name(g_dir, latest, sizeof latest), 0);
    assert_string_equal(latest, "");
    touch("0002_accounts.sql");
    touch("0001_init.sql");
    touch("0009_cache.sql");
    assert_int_equal(migrate_latest_name(g_dir, latest, sizeof latest), 0);
    assert_string_equal(latest, "0009_cache.sql");
    touch("0010_links.sql"); /* zero-padded: 0010 after 0009 */
    touch("9999_draft.sql.orig");
    touch("99999_too_many_digits.sql");
    touch("9999-dash.sql");
    assert_int_equal(migrate_latest_name(g_dir, latest, sizeof latest), 0);
    assert_string_equal(latest, "0010_links.sql");
    touch("0010_more.sql"); /* same number: the name decides */
    assert_int_equal(migrate_latest_name(g_dir, latest, sizeof latest), 0);
    assert_string_equal(latest, "0010_more.sql");
}

static void kinds(void **state)
{
    (void)state;
    assert_int_equal(migrate_kind("0001_init.sql"), MIGRATE_NUMBERED);
    assert_int_equal(migrate_kind("0011_x.sql"), MIGRATE_NUMBERED);
    assert_int_equal(migrate_kind("R__representations.sql"), MIGRATE_REPEATABLE);
    assert_int_equal(migrate_kind("R__a.sql"), MIGRATE_REPEATABLE);
    assert_int_equal(migrate_kind("R__.sql"), MIGRATE_NOT_A_MIGRATION);
    assert_int_equal(migrate_kind("r__lower.sql"), MIGRATE_NOT_A_MIGRATION);
    assert_int_equal(migrate_kind("README.md"), MIGRATE_NOT_A_MIGRATION);
    assert_int_equal(migrate_kind("0001_init.sql~"), MIGRATE_NOT_A_MIGRATION);
    assert_int_equal(migrate_kind("001_short.sql"), MIGRATE_NOT_A_MIGRATION);
    assert_int_equal(migrate_kind("00a1_bad.sql"), MIGRATE_NOT_A_MIGRATION);
    assert_int_equal(migrate_kind("0001-dash.sql"), MIGRATE_NOT_A_MIGRATION);
    assert_int_equal(migrate_kind(".sql"), MIGRATE_NOT_A_MIGRATION);
}

static void decisions(void **state)
{
    (void)state;
    const char *x = "aa", *y = "bb";
    assert_int_equal(migrate_decide(MIGRATE_NUMBERED, NULL, x), MIGRATE_APPLY);
    assert_int_equal(migrate_decide(MIGRATE_NUMBERED, x, x), MIGRATE_SKIP);
    assert_int_equal(migrate_decide(MIGRATE_NUMBERED, y, x), MIGRATE_EDITED);
    assert_int_equal(migrate_decide(MIGRATE_REPEATABLE, NULL, x), MIGRATE_APPLY);
    assert_int_equal(migrate_decide(MIGRATE_REPEATABLE, x, x), MIGRATE_SKIP);
    assert_int_equal(migrate_decide(MIGRATE_REPEATABLE, y, x), MIGRATE_APPLY);
}

/* Numbered ones by name, then repeatable ones by name; nothing else. */
static void apply_order(void **state)
{
    (void)state;
    const char *files[] = {"R__z.sql", "0002_b.sql", "R__a.sql", "README.md", "0001_a.sql",
                           "0010_c.sql", "notes.sql", "R__.sql"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) touch(files[i]);
    char **names = NULL;
    int n = migrate_list(g_dir, &names);
    assert_int_equal(n, 5);
    const char *want[] = {"0001_a.sql", "0002_b.sql", "0010_c.sql", "R__a.sql", "R__z.sql"};
    for (int i = 0; i < n; i++) assert_string_equal(names[i], want[i]);
    migrate_names_free(names, n);
    char latest[64];
    assert_int_equal(migrate_latest_name(g_dir, latest, sizeof latest), 0);
    assert_string_equal(latest, "0010_c.sql"); /* readiness compares numbered ones only */
    assert_int_equal(migrate_list("/nonexistent/purposed", &names), -1);
}

static void unreadable_directory_is_an_error(void **state)
{
    (void)state;
    char latest[128];
    assert_int_equal(migrate_latest_name("/nonexistent/purposed/migrations", latest, sizeof latest),
                     -1);
}

/* The checksum is BLAKE2b-256 of the file's bytes in lowercase hex; the
 * expected values come from Python's hashlib.blake2b(digest_size=32). */
static void checksum_is_blake2b_256_hex(void **state)
{
    (void)state;
    char hex[MIGRATE_CHECKSUM_HEX];
    migrate_checksum("", 0, hex);
    assert_string_equal(hex, "0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8");
    const char *sql = "CREATE TABLE t (id int);\n";
    migrate_checksum(sql, strlen(sql), hex);
    assert_string_equal(hex, "a04eae571777ee447866e8dbdc57659f952dfeea72451ae514de4cba39eb99c4");
    /* every byte counts, the trailing newline included */
    migrate_checksum(sql, strlen(sql) - 1, hex);
    assert_string_not_equal(hex, "a04eae571777ee447866e8dbdc57659f952dfeea72451ae514de4cba39eb99c4");
}

static char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    *len = fread(buf, 1, (size_t)n, f);
    fclose(f);
    return buf;
}

/* Shipped migrations are applied on running databases, which recorded these
 * checksums: an edit would stop every such daemon at start ("was edited
 * after it was applied"). Change the schema with a new migration instead.
 * A new migration is added here once it is released. */
static void shipped_migrations_are_unchanged(void **state)
{
    (void)state;
    static const struct {
        const char *name, *checksum;
    } shipped[] = {
        {"0001_init.sql", "762e03af845e9a9c35a54812e19c0be22af8fb4f12ec876eb41c59f77187475f"},
        {"0002_accounts.sql", "d7104ae6fea58206026a1f15bbf5f4951be7858b0fd933c4889d85fcace6162e"},
        {"0003_organisations.sql", "6df30d78a48141dfbc80a4701efdae7573fa239c89f5edf70a546dd0b78a9129"},
        {"0004_agents.sql", "c77ba48c8084273b89e2ce4b8a7c3a27ade160bd9545ad1922f80b5ebc475844"},
        {"0005_agreements.sql", "67fe21aa33321e9dce191ee3c3cd683cc1f8ec907e90e0c446703678733b66e6"},
        {"0006_matching.sql", "1848f918041756fb8a6c04cb5d36ade4c52715451fd0859a09913c210fb12bbc"},
        {"0007_performance.sql", "598b3548161be512e4da65d6e56944ed863b3eec3b391e02f2ec3cf532c3b066"},
        {"0008_notifications.sql", "80e213715247d84fe5e957009f640fd786da8eeb83311b622a2f22d4c7442110"},
        {"0009_cache.sql", "95b824211ade3a797322dcd338f7614df56529425be4a1426c1242aadef2be49"},
        {"0010_notification_links.sql", "d878f4057f84dfead0438b3821d3ea1a24c2b64b076cc82a3d4118c00e3443bb"},
    };
    int edited = 0;
    for (size_t i = 0; i < sizeof shipped / sizeof shipped[0]; i++) {
        char path[1024];
        snprintf(path, sizeof path, "%s/migrations/%s", PURPOSED_SOURCE_DIR, shipped[i].name);
        size_t len = 0;
        char *sql = read_all(path, &len);
        if (!sql) fail_msg("%s is missing: shipped migrations are never removed", path);
        char hex[MIGRATE_CHECKSUM_HEX];
        migrate_checksum(sql, len, hex);
        free(sql);
        if (strcmp(hex, shipped[i].checksum) != 0) {
            print_error("%s was edited (checksum %s); add a new migration instead\n",
                        shipped[i].name, hex);
            edited++;
        }
    }
    assert_int_equal(edited, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(migration_file_names),
        cmocka_unit_test(kinds),
        cmocka_unit_test(decisions),
        cmocka_unit_test_setup_teardown(apply_order, make_dir, remove_dir),
        cmocka_unit_test_setup_teardown(latest_is_last_in_name_order, make_dir, remove_dir),
        cmocka_unit_test(unreadable_directory_is_an_error),
        cmocka_unit_test(checksum_is_blake2b_256_hex),
        cmocka_unit_test(shipped_migrations_are_unchanged),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
