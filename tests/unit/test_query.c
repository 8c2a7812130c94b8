/* Unit tests for lib/query: %HH decoding (NUL never ends a string early),
 * strict integers for ?limit= and booleans for ?remote= and the like. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "query.h"

static void unescape(const char *in, const char *want)
{
    char buf[256];
    strcpy(buf, in);
    size_t n = query_unescape(buf);
    assert_int_equal(n, strlen(want));
    assert_memory_equal(buf, want, n + 1);
}

static void decodes_escapes(void **state)
{
    (void)state;
    unescape("", "");
    unescape("plain", "plain");
    unescape("a%20b", "a b");
    unescape("%2e%2E%2f", "../");
    unescape("%C3%A9", "\xc3\xa9");
    unescape("100%", "100%");        /* malformed escapes stay */
    unescape("%zz%4", "%zz%4");
    unescape("%%41", "%A");
    unescape("%2541", "%41");        /* decoded once only */
    unescape("a+b", "a+b");          /* '+' is MHD's business, not ours */
}

static void nul_never_truncates(void **state)
{
    (void)state;
    unescape("/a%00/../x", "/a\x7f/../x");
    unescape("%00", "\x7f");
    char buf[] = "x%00y%00";
    assert_int_equal(query_unescape(buf), 4);
    assert_int_equal(strlen(buf), 4);
}

static void integers(void **state)
{
    (void)state;
    int v = -1;
    assert_int_equal(query_int(NULL, 1, 100, 20, &v), 0);
    assert_int_equal(v, 20);
    assert_int_equal(query_int("1", 1, 100, 20, &v), 0);
    assert_int_equal(v, 1);
    assert_int_equal(query_int("100", 1, 100, 20, &v), 0);
    assert_int_equal(v, 100);
    assert_int_equal(query_int("007", 1, 100, 20, &v), 0);
    assert_int_equal(v, 7);
    const char *bad[] = {"", "0", "101", "-1", "+5", " 5", "5 ", "5a", "0x10", "1e2", "1.0",
                         "99999999999999999999999999", "\x7f", "½"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v = 42;
        assert_int_equal(query_int(bad[i], 1, 100, 20, &v), -PROBLEM_BAD_QUERY);
        assert_int_equal(v, 42); /* untouched */
    }
}

static void booleans(void **state)
{
    (void)state;
    bool b = false;
    assert_int_equal(query_bool(NULL, true, &b), 0);
    assert_true(b);
    const char *yes[] = {"true", "1", "yes"}, *no[] = {"false", "0", "no"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(query_bool(yes[i], false, &b), 0);
        assert_true(b);
        assert_int_equal(query_bool(no[i], true, &b), 0);
        assert_false(b);
    }
    const char *bad[] = {"", "TRUE", "on", "2", "truee", "t"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(query_bool(bad[i], false, &b), -PROBLEM_BAD_QUERY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(decodes_escapes),
        cmocka_unit_test(nul_never_truncates),
        cmocka_unit_test(integers),
        cmocka_unit_test(booleans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
