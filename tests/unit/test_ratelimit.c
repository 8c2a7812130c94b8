/* Unit tests for lib/ratelimit: burst, refill, Retry-After, separate keys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "ratelimit.h"

static void burst_then_refusal_with_retry_after(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(60, 3); /* one a second, three at once */
    int retry = 0;
    assert_true(ratelimit_take(rl, "10.0.0.1", 100.0, &retry));
    assert_true(ratelimit_take(rl, "10.0.0.1", 100.0, &retry));
    assert_true(ratelimit_take(rl, "10.0.0.1", 100.0, &retry));
    assert_false(ratelimit_take(rl, "10.0.0.1", 100.0, &retry));
    assert_int_equal(retry, 1);
    /* a second later one token is back */
    assert_true(ratelimit_take(rl, "10.0.0.1", 101.0, &retry));
    assert_false(ratelimit_take(rl, "10.0.0.1", 101.0, &retry));
    ratelimit_free(rl);
}

static void keys_are_independent(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(6, 1); /* one per ten seconds */
    int retry = 0;
    assert_true(ratelimit_take(rl, "a", 0.0, &retry));
    assert_false(ratelimit_take(rl, "a", 0.0, &retry));
    assert_int_equal(retry, 10);
    assert_true(ratelimit_take(rl, "b", 0.0, &retry));
    assert_true(ratelimit_take(rl, "a", 10.0, &retry));
    ratelimit_free(rl);
}

static void refill_never_exceeds_burst(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(600, 2);
    int retry = 0;
    assert_true(ratelimit_take(rl, "k", 0.0, &retry));
    assert_true(ratelimit_take(rl, "k", 1000.0, &retry));
    assert_true(ratelimit_take(rl, "k", 1000.0, &retry));
    assert_false(ratelimit_take(rl, "k", 1000.0, &retry));
    ratelimit_free(rl);
}

static void disabled_limiter_allows_everything(void **state)
{
    (void)state;
    assert_null(ratelimit_new(0, 10));
    int retry = 0;
    assert_true(ratelimit_take(NULL, "k", 0.0, &retry));
}

static void many_keys_do_not_break_the_table(void **state)
{
    (void)state;
    ratelimit_t *rl = ratelimit_new(60, 1);
    char key[32];
    int retry = 0;
    for (int i = 0; i < 50000; i++) {
        snprintf(key, sizeof key, "192.0.%d.%d", i / 256, i % 256);
        ratelimit_take(rl, key, (double)i / 1000.0, &retry);
    }
    assert_true(ratelimit_take(rl, "fresh", 60.0, &retry));
    ratelimit_free(rl);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(burst_then_refusal_with_retry_after),
        cmocka_unit_test(keys_are_independent),
        cmocka_unit_test(refill_never_exceeds_burst),
        cmocka_unit_test(disabled_limiter_allows_everything),
        cmocka_unit_test(many_keys_do_not_break_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
