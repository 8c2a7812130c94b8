/* Unit tests for lib/rcache: served only while live and while nothing it
 * was built from changed since its ticket; a stale store is dropped; an
 * item survives a new engagement, a list does not; the byte budget holds. */
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

static rcache_ticket_t ticket(const char *key, rcache_kind_t kind)
{
    rcache_ticket_t t;
    assert_true(rcache_ticket(key, strlen(key), kind, &t));
    return t;
}

static void put(const char *key, rcache_kind_t kind, const char *body)
{
    rcache_ticket_t t = ticket(key, kind);
    rcache_put(&t, key, strlen(key), "", 0, body, strlen(body));
}

static bool has(const char *key, const char *body)
{
    char *out = NULL, m[RCACHE_META_MAX];
    size_t len = 0, mlen = 0;
    if (!get(key, &out, &len, m, &mlen)) return false;
    bool same = len == strlen(body) && memcmp(out, body, len) == 0;
    free(out);
    return same;
}

static void stored_answer_comes_back_with_its_headers(void **state)
{
    (void)state;
    rcache_ticket_t t = ticket("/a", RCACHE_LIST);
    static const char meta[] = "ETag\0\"3\"";
    rcache_put(&t, "/a", 2, meta, sizeof meta, "{\"x\":1}", 7);
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
    rcache_ticket_t t = ticket("/a", RCACHE_LIST);
    put("/a", RCACHE_LIST, "old");
    put("/e/1", RCACHE_ITEM, "one");
    rcache_invalidate();
    assert_false(has("/a", "old"));
    assert_false(has("/e/1", "one"));
    /* read before the change, stored after it: never kept */
    rcache_put(&t, "/a", 2, "", 0, "old", 3);
    assert_false(has("/a", "old"));
    put("/a", RCACHE_LIST, "new");
    assert_true(has("/a", "new"));
}

static void a_new_engagement_makes_lists_stale_not_items(void **state)
{
    (void)state;
    put("/list?p", RCACHE_LIST, "[1]");
    put("/e/1", RCACHE_ITEM, "one");
    rcache_ticket_t late = ticket("/list?p", RCACHE_LIST);
    rcache_apply("l", "/e/");
    assert_false(has("/list?p", "[1]"));
    assert_true(has("/e/1", "one"));
    rcache_put(&late, "/list?p", 7, "", 0, "[1]", 3);
    assert_false(has("/list?p", "[1]"));
}

static void a_changed_engagement_drops_itself_and_the_lists(void **state)
{
    (void)state;
    put("/e/1", RCACHE_ITEM, "one");
    put("/e/2", RCACHE_ITEM, "two");
    put("/e/12", RCACHE_ITEM, "twelve");
    put("/list", RCACHE_LIST, "[1,2]");
    rcache_ticket_t late = ticket("/e/2", RCACHE_ITEM);
    rcache_apply("e:2,12", "/e/");
    assert_true(has("/e/1", "one"));
    assert_false(has("/e/2", "two"));
    assert_false(has("/e/12", "twelve"));
    assert_false(has("/list", "[1,2]"));
    /* read before the change, stored after it: not kept */
    rcache_put(&late, "/e/2", 4, "", 0, "two", 3);
    assert_false(has("/e/2", "two"));
    put("/e/2", RCACHE_ITEM, "two, changed");
    assert_true(has("/e/2", "two, changed"));
    /* what it cannot read drops everything */
    rcache_apply("e:2;DROP", "/e/");
    assert_false(has("/e/1", "one"));
    put("/e/1", RCACHE_ITEM, "one");
    rcache_apply("something else", "/e/");
    assert_false(has("/e/1", "one"));
    put("/e/1", RCACHE_ITEM, "one");
    rcache_apply(NULL, "/e/");
    assert_false(has("/e/1", "one"));
    put("/e/1", RCACHE_ITEM, "one");
    rcache_apply("e:123456789012345678901234567890", "/e/");
    assert_false(has("/e/1", "one"));
}

static void nothing_is_used_while_not_live(void **state)
{
    (void)state;
    put("/a", RCACHE_LIST, "v");
    rcache_ticket_t before = ticket("/b", RCACHE_LIST);
    rcache_set_live(false);
    rcache_ticket_t t;
    assert_false(rcache_ticket("/a", 2, RCACHE_LIST, &t));
    assert_false(has("/a", "v"));
    rcache_put(&before, "/b", 2, "", 0, "v", 1);
    /* live again: what was stored or read before is stale */
    rcache_set_live(true);
    assert_false(has("/a", "v"));
    rcache_put(&before, "/b", 2, "", 0, "v", 1);
    assert_false(has("/b", "v"));
    rcache_stats_t st;
    rcache_stats(&st);
    assert_true(st.live);
}

static void the_byte_budget_holds_and_recent_answers_stay(void **state)
{
    (void)state;
    char body[2000];
    memset(body, 'x', sizeof body);
    char key[32];
    for (int i = 0; i < 5000; i++) {
        int n = snprintf(key, sizeof key, "/e/%d", i);
        rcache_ticket_t t = ticket(key, RCACHE_ITEM);
        rcache_put(&t, key, (size_t)n, "", 0, body, sizeof body);
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
    rcache_ticket_t t = ticket("/big", RCACHE_LIST);
    rcache_put(&t, "/big", 4, "", 0, big, 512 * 1024);
    assert_false(get("/big", &out, &len, m, &mlen));
    free(big);
    /* a smaller budget (the words' index took the rest): held answers are
     * dropped to it at once, the newest stay */
    rcache_set_budget(256 * 1024);
    rcache_stats(&st);
    assert_int_equal(st.max_bytes, 256 * 1024);
    assert_true(st.bytes <= st.max_bytes);
    assert_true(get("/e/4999", &out, &len, m, &mlen));
    free(out);
    rcache_set_budget(1024 * 1024);
}

static void off_when_sized_zero(void **state)
{
    (void)state;
    assert_int_equal(rcache_init(0), 0);
    rcache_set_live(true);
    rcache_ticket_t t = {RCACHE_LIST, 1, 1, 0};
    assert_false(rcache_ticket("/a", 2, RCACHE_LIST, &t));
    rcache_put(&t, "/a", 2, "", 0, "v", 1);
    assert_false(has("/a", "v"));
    rcache_apply("e:1", "/e/");
    rcache_set_live(false);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(stored_answer_comes_back_with_its_headers, setup_live,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_change_makes_every_answer_stale, setup_live, teardown),
        cmocka_unit_test_setup_teardown(a_new_engagement_makes_lists_stale_not_items, setup_live,
                                        teardown),
        cmocka_unit_test_setup_teardown(a_changed_engagement_drops_itself_and_the_lists,
                                        setup_live, teardown),
        cmocka_unit_test_setup_teardown(nothing_is_used_while_not_live, setup_live, teardown),
        cmocka_unit_test_setup_teardown(the_byte_budget_holds_and_recent_answers_stay,
                                        setup_live, teardown),
        cmocka_unit_test(off_when_sized_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
