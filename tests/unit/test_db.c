/* Unit tests for lib/db's pure part: the answer a failed statement gives,
 * by SQLSTATE. A database that is away, overloaded or slow must answer 503
 * with Retry-After (clients retry), a request too large for it 413, and
 * everything else 500. The table is the policy, written out row by row. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "db.h"

static const char *failure_name(db_failure_t f)
{
    switch (f) {
    case DB_FAILURE_TIMEOUT: return "TIMEOUT";
    case DB_FAILURE_UNAVAILABLE: return "UNAVAILABLE";
    case DB_FAILURE_RESOURCES: return "RESOURCES";
    case DB_FAILURE_LIMIT: return "LIMIT";
    case DB_FAILURE_CONSTRAINT: return "CONSTRAINT";
    case DB_FAILURE_INTERNAL: return "INTERNAL";
    }
    return "?";
}

static const struct {
    const char *sqlstate;
    db_failure_t failure;
    int status;
    const char *type;
    int retry_after;
} k_policy[] = {
    /* statement_timeout */
    {"57014", DB_FAILURE_TIMEOUT, 503, "timeout", 1},
    /* class 08: connection exceptions */
    {"08000", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    {"08001", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    {"08003", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    {"08006", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    {"08P01", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    /* the server is shutting down or restarting */
    {"57P01", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    {"57P02", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    {"57P03", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    /* transient conflicts: serialization failure, deadlock, lock not available */
    {"40001", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    {"40P01", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    {"55P03", DB_FAILURE_UNAVAILABLE, 503, "unavailable", 2},
    /* class 53: insufficient resources */
    {"53000", DB_FAILURE_RESOURCES, 503, "unavailable", 5},
    {"53100", DB_FAILURE_RESOURCES, 503, "unavailable", 5},
    {"53200", DB_FAILURE_RESOURCES, 503, "unavailable", 5},
    {"53300", DB_FAILURE_RESOURCES, 503, "unavailable", 5},
    {"53400", DB_FAILURE_RESOURCES, 503, "unavailable", 5},
    /* class 54: program limit exceeded */
    {"54000", DB_FAILURE_LIMIT, 413, "too-large", 0},
    {"54001", DB_FAILURE_LIMIT, 413, "too-large", 0},
    {"54011", DB_FAILURE_LIMIT, 413, "too-large", 0},
    {"54023", DB_FAILURE_LIMIT, 413, "too-large", 0},
    /* class 23: integrity violations (handlers map the ones they expect) */
    {"23502", DB_FAILURE_CONSTRAINT, 500, "internal", 0},
    {"23503", DB_FAILURE_CONSTRAINT, 500, "internal", 0},
    {"23505", DB_FAILURE_CONSTRAINT, 500, "internal", 0},
    {"23514", DB_FAILURE_CONSTRAINT, 500, "internal", 0},
    {"23P01", DB_FAILURE_CONSTRAINT, 500, "internal", 0},
    /* neighbours of the codes above that are faults, not transient */
    {"57000", DB_FAILURE_INTERNAL, 500, "internal", 0},
    {"57P04", DB_FAILURE_INTERNAL, 500, "internal", 0},
    {"40002", DB_FAILURE_INTERNAL, 500, "internal", 0},
    {"55006", DB_FAILURE_INTERNAL, 500, "internal", 0},
    /* programming errors and the rest */
    {"42P01", DB_FAILURE_INTERNAL, 500, "internal", 0},
    {"42601", DB_FAILURE_INTERNAL, 500, "internal", 0},
    {"22001", DB_FAILURE_INTERNAL, 500, "internal", 0},
    {"P0001", DB_FAILURE_INTERNAL, 500, "internal", 0},
    {"XX000", DB_FAILURE_INTERNAL, 500, "internal", 0},
    {"", DB_FAILURE_INTERNAL, 500, "internal", 0},
};

static void sqlstate_policy_table(void **state)
{
    (void)state;
    int wrong = 0;
    for (size_t i = 0; i < sizeof k_policy / sizeof k_policy[0]; i++) {
        problem_t p;
        problem_init(&p);
        db_failure_t f = db_failure_problem(k_policy[i].sqlstate, &p);
        if (f != k_policy[i].failure || p.status != k_policy[i].status ||
            strcmp(p.type, k_policy[i].type) != 0 || p.retry_after != k_policy[i].retry_after) {
            print_error("%-5s -> %s %d %s retry %d; policy says %s %d %s retry %d\n",
                        k_policy[i].sqlstate, failure_name(f), p.status, p.type, p.retry_after,
                        failure_name(k_policy[i].failure), k_policy[i].status, k_policy[i].type,
                        k_policy[i].retry_after);
            wrong++;
        }
        problem_clear(&p);
    }
    assert_int_equal(wrong, 0);
}

/* An operator reading a 503 or 413 learns which condition it was; a 500
 * says nothing about the database (details stay in the log). */
static void detail_names_the_condition_only_when_transient(void **state)
{
    (void)state;
    static const char *const named[] = {"08006", "57P01", "40P01", "53100", "54000"};
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        problem_t p;
        problem_init(&p);
        db_failure_problem(named[i], &p);
        if (!strstr(p.detail, named[i])) fail_msg("%s: detail \"%s\"", named[i], p.detail);
        problem_clear(&p);
    }
    problem_t p;
    problem_init(&p);
    db_failure_problem("42P01", &p);
    assert_null(strstr(p.detail, "42P01"));
    assert_string_equal(p.detail, "The request could not be completed.");
    problem_clear(&p);
}

/* WAL positions as PostgreSQL writes them, both ways; anything else is 0
 * (a client's Purposed-LSN header is untrusted input). */
static void lsn_text_round_trips(void **state)
{
    (void)state;
    assert_int_equal(db_lsn_parse("16/B374D848"), (0x16ULL << 32) | 0xB374D848ULL);
    assert_int_equal(db_lsn_parse("0/0"), 0);
    assert_int_equal(db_lsn_parse("FFFFFFFF/FFFFFFFF"), UINT64_MAX);
    char buf[40];
    db_lsn_format((0x16ULL << 32) | 0xB374D848ULL, buf, sizeof buf);
    assert_string_equal(buf, "16/B374D848");
    const char *bad[] = {"", "16", "16/", "/1", "16/B374D848x", "1/2/3", "100000000/0", "x/1", NULL};
    for (int i = 0; bad[i]; i++)
        if (db_lsn_parse(bad[i]) != 0) fail_msg("\"%s\" parsed", bad[i]);
    assert_int_equal(db_lsn_parse(NULL), 0);
}

/* A session's position only grows; another session is unaffected, and an
 * anonymous caller (no key) needs nothing. */
static void read_your_writes_keeps_the_highest_position(void **state)
{
    (void)state;
    db_ryw_remember("token-a", 7, 500);
    db_ryw_remember("token-a", 7, 300);
    assert_int_equal(db_ryw_needed("token-a", 7), 500);
    db_ryw_remember("token-a", 7, 900);
    assert_int_equal(db_ryw_needed("token-a", 7), 900);
    assert_true(db_ryw_needed("token-b", 7) == 0 || db_ryw_needed("token-b", 7) == 900);
    assert_int_equal(db_ryw_needed(NULL, 0), 0);
    db_ryw_remember(NULL, 0, 1000);
    assert_int_equal(db_ryw_needed("", 0), 0);
}

/* No DATABASE_READ_URL: every read is on the primary, without a word to
 * any server. */
static void without_a_replica_reads_stay_on_the_primary(void **state)
{
    (void)state;
    db_configure_replica("", 1000);
    assert_false(db_replica_configured());
    assert_false(db_read_from_replica(0));
    assert_false(db_on_replica());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sqlstate_policy_table),
        cmocka_unit_test(detail_names_the_condition_only_when_transient),
        cmocka_unit_test(lsn_text_round_trips),
        cmocka_unit_test(read_your_writes_keeps_the_highest_position),
        cmocka_unit_test(without_a_replica_reads_stay_on_the_primary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
