/* Unit tests for lib/follower: the pure part, the wait between connection
 * attempts (the thread itself is exercised against PostgreSQL by the API
 * tests that cut the match and cache followers off: matching.test.mjs and
 * cache.test.mjs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "follower.h"

/* 100 ms at once after a loss, doubling, never above 5 s, even after days
 * of failures (no overflow). */
static void backoff_doubles_from_100_ms_up_to_5_s(void **state)
{
    (void)state;
    const int expect[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000};
    for (unsigned i = 0; i < sizeof expect / sizeof *expect; i++)
        assert_int_equal(follower_backoff_ms(i), expect[i]);
    assert_int_equal(follower_backoff_ms(1000), 5000);
    assert_int_equal(follower_backoff_ms(UINT32_MAX), 5000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(backoff_doubles_from_100_ms_up_to_5_s),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
