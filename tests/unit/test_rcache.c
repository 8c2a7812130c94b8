/* Unit tests for lib/rcache: served only while live and at the generation
 * an answer was read at; a stale store is dropped; the byte budget holds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "rcache.h"

static int setup_live(void **state)
{
    (void)state;
    if (rcache_init(1024 * 1024) != 0) return -1;
    rcache_set_live(true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rcache_shutdown();
    return 0;
}

static bool get(const char *key, char **body, size_t *len, char *meta, size_t *mlen)
{
    return rcache_get(key, strlen(key), body, len, meta, mlen);
}

static void stored_answer_comes_back_with_its_headers(void **state)
{
    (void)state;
    uint64_t g = rcache_generation();
    assert_true(g != 0);
    static const char meta[] = "ETag\0\"3\"";
    rcache_put(g, "/a", 2, meta, sizeof meta, "{\"x\":1}", 7);
    char *body = NULL, m[RCACHE_META_MAX];
    size_t len = 0, mlen = 0;
    assert_true(get("/a", &body, &len, m, &mlen));
    assert_int_equal(len, 7);
    assert_memory_equal(body, "{\"x\":1}", 7);
    assert_int_equal(mlen, sizeof meta);
    assert_memory_equal(m, meta, sizeof meta);
    free(body);
    assert_false(get("/b", &body, &len, m, &mlen));
    /* a key that is a prefix of another is another key */
    assert_false(rcache_get("/", 1, &body, &len, m, &mlen));
}

static void a_change_makes_every_answer_stale(void **state)
{
    (void)state;
    uint64_t g = rcache_generation();
    rcache_put(g, "/a", 2, "", 0, "old", 3);
    rcache_invalidate();
    char *body = NULL, m[RCACHE_META_MAX];
    size_t len = 0, mlen = 0;
    assert_false(get("/a", &body, &len, m, &mlen));
    /* read before the change, stored after it: never served */
    rcache_put(g, "/a", 2, "", 0, "old", 3);
    assert_false(get("/a", &body, &len, m, &mlen));
    uint64_t g2 = rcache_generation();
    assert_true(g2 > g);
    rcache_put(g2, "/a", 2, "", 0, "new", 3);
    assert_true(get("/a", &body, &len, m, &mlen));
    assert_memory_equal(body, "new", 3);
    free(body);
}

static void nothing_is_used_while_not_live(void **state)
{
    (void)state;
    uint64_t g = rcache_generation();
    rcache_put(g, "/a", 2, "", 0, "v", 1);
    rcache_set_live(false);
    assert_int_equal(rcache_generation(), 0);
    char *body = NULL, m[RCACHE_META_MAX];
    size_t len = 0, mlen = 0;
    assert_false(get("/a", &body, &len, m, &mlen));
    rcache_put(0, "/b", 2, "", 0, "v", 1);
    /* live again: what was stored before is still stale */
    rcache_set_live(true);
    assert_false(get("/a", &body, &len, m, &mlen));
    assert_false(get("/b", &body, &len, m, &mlen));
    rcache_stats_t st;
    rcache_stats(&st);
    assert_true(st.live);
}

static void the_byte_budget_holds_and_recent_answers_stay(void **state)
{
    (void)state;
    char body[2000];
    memset(body, 'x', sizeof body);
    uint64_t g = rcache_generation();
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "/e/%d", i);
        rcache_put(g, key, (size_t)n, "", 0, body, sizeof body);
    }
    rcache_stats_t st;
    rcache_stats(&st);
    assert_true(st.bytes <= st.max_bytes);
    assert_true(st.entries > 100);
    assert_true(st.evictions > 0);
    assert_int_equal(st.stores, 5000);
    char *out = NULL, m[RCACHE_META_MAX];
    size_t len = 0, mlen = 0;
    assert_true(get("/e/4999", &out, &len, m, &mlen));
    free(out);
    assert_false(get("/e/0", &out, &len, m, &mlen));
    /* too big for the budget: not kept */
    char *big = calloc(1, 512 * 1024);
    assert_non_null(big);
    rcache_put(g, "/big", 4, "", 0, big, 512 * 1024);
    assert_false(get("/big", &out, &len, m, &mlen));
    free(big);
}

static void off_when_sized_zero(void **state)
{
    (void)state;
    assert_int_equal(rcache_init(0), 0);
    rcache_set_live(true);
    assert_int_equal(rcache_generation(), 0);
    char *out = NULL, m[RCACHE_META_MAX];
    size_t len = 0, mlen = 0;
    rcache_put(1, "/a", 2, "", 0, "v", 1);
    assert_false(get("/a", &out, &len, m, &mlen));
    rcache_set_live(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stored_answer_comes_back_with_its_headers, setup_live,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_change_makes_every_answer_stale, setup_live, teardown),
        cmocka_unit_test_setup_teardown(nothing_is_used_while_not_live, setup_live, teardown),
        cmocka_unit_test_setup_teardown(the_byte_budget_holds_and_recent_answers_stay,
                                        setup_live, teardown),
        cmocka_unit_test(off_when_sized_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
