/* Unit tests for lib/utf8: every boundary of the well-formed ranges
 * (the smallest and largest code point of each length, the overlong forms
 * just below, the surrogates, past U+10FFFF, truncated sequences), the
 * character count, cutting at a character boundary and repairing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

static void valid(const char *s)
{
    if (!utf8_valid(s)) {
        fprintf(stderr, "refused:");
        for (const unsigned char *u = (const unsigned char *)s; *u; u++) fprintf(stderr, " %02X", *u);
        fprintf(stderr, "\n");
        fail();
    }
}

static void invalid(const char *s)
{
    if (utf8_valid(s)) {
        fprintf(stderr, "accepted:");
        for (const unsigned char *u = (const unsigned char *)s; *u; u++) fprintf(stderr, " %02X", *u);
        fprintf(stderr, "\n");
        fail();
    }
}

static void test_boundaries(void **state)
{
    (void)state;
    valid("");
    valid("plain ASCII \x01\x7F");
    /* two bytes: U+0080 .. U+07FF; C0 and C1 lead only overlong forms */
    valid("\xC2\x80");
    valid("\xDF\xBF");
    invalid("\xC0\x80");
    invalid("\xC1\xBF");
    /* three bytes: U+0800 .. U+FFFF without the surrogates */
    valid("\xE0\xA0\x80");
    invalid("\xE0\x9F\xBF"); /* U+07FF, overlong */
    valid("\xED\x9F\xBF");   /* U+D7FF */
    invalid("\xED\xA0\x80"); /* U+D800 */
    invalid("\xED\xBF\xBF"); /* U+DFFF */
    valid("\xEE\x80\x80");   /* U+E000 */
    valid("\xEF\xBF\xBF");   /* U+FFFF */
    /* four bytes: U+10000 .. U+10FFFF */
    valid("\xF0\x90\x80\x80");
    invalid("\xF0\x8F\xBF\xBF"); /* U+FFFF, overlong */
    valid("\xF4\x8F\xBF\xBF");   /* U+10FFFF */
    invalid("\xF4\x90\x80\x80"); /* U+110000 */
    invalid("\xF5\x80\x80\x80");
    invalid("\xF7\xBF\xBF\xBF");
    /* lead bytes that start nothing */
    invalid("\xF8\x88\x80\x80\x80");
    invalid("\xFE");
    invalid("\xFF");
    /* stray continuation bytes */
    invalid("\x80");
    invalid("a\xBF");
    invalid("\xC3\xA9\xA9");
    /* truncated sequences, at the end and before more text */
    invalid("\xC3");
    invalid("\xE2\x82");
    invalid("\xF0\x9F\x98");
    invalid("\xE2\x82" "a");
    invalid("\xF0\x9F\x98" "abc");
    valid("na\xC3\xAFve \xE2\x9C\x93\xF0\x9D\x84\x9E");
}

static void test_char_bytes(void **state)
{
    (void)state;
    assert_int_equal(utf8_char_bytes("a", 1), 1);
    assert_int_equal(utf8_char_bytes("\xC3\xA9", 2), 2);
    assert_int_equal(utf8_char_bytes("\xE2\x9C\x93", 3), 3);
    assert_int_equal(utf8_char_bytes("\xF0\x9D\x84\x9E", 4), 4);
    /* the bound is respected: a character longer than what may be read */
    assert_int_equal(utf8_char_bytes("\xF0\x9D\x84\x9E", 3), 0);
    assert_int_equal(utf8_char_bytes("\xC3\xA9", 1), 0);
    assert_int_equal(utf8_char_bytes("a", 0), 0);
    assert_int_equal(utf8_char_bytes("\xED\xA0\x80", 3), 0);
}

static void test_length(void **state)
{
    (void)state;
    assert_int_equal(utf8_length(""), 0);
    assert_int_equal(utf8_length("abc"), 3);
    assert_int_equal(utf8_length("\xC3\xA9"), 1);             /* é, 2 bytes */
    assert_int_equal(utf8_length("\xE2\x9C\x93"), 1);         /* ✓, 3 bytes */
    assert_int_equal(utf8_length("\xF0\x9D\x84\x9E"), 1);     /* 𝄞, 4 bytes */
    assert_int_equal(utf8_length("na\xC3\xAFve \xE2\x9C\x93\xF0\x9D\x84\x9E"), 8);
    /* four emoji: 16 bytes, 4 characters */
    assert_int_equal(utf8_length("\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80\xF0\x9F\x98\x80"), 4);
}

static void test_prefix(void **state)
{
    (void)state;
    const char *s = "a\xC3\xA9\xE2\x9C\x93"; /* a é ✓: 1 + 2 + 3 bytes */
    assert_int_equal(utf8_prefix(s, 6, 10), 6);
    assert_int_equal(utf8_prefix(s, 6, 6), 6);
    assert_int_equal(utf8_prefix(s, 6, 5), 3); /* not inside ✓ */
    assert_int_equal(utf8_prefix(s, 6, 4), 3);
    assert_int_equal(utf8_prefix(s, 6, 3), 3);
    assert_int_equal(utf8_prefix(s, 6, 2), 1); /* not inside é */
    assert_int_equal(utf8_prefix(s, 6, 1), 1);
    assert_int_equal(utf8_prefix(s, 6, 0), 0);
}

static void test_repair(void **state)
{
    (void)state;
    char a[] = "ok \xC3\xA9";
    utf8_repair(a);
    assert_string_equal(a, "ok \xC3\xA9");
    char b[] = "cut \xE2\x9C"; /* "%.5s" of "cut ✓" */
    utf8_repair(b);
    assert_string_equal(b, "cut ??");
    char c[] = "\xC0\x80x\xED\xA0\x80y\xF4\x90\x80\x80";
    utf8_repair(c);
    assert_string_equal(c, "??x???y????");
    assert_true(utf8_valid(c));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_char_bytes),
        cmocka_unit_test(test_length),
        cmocka_unit_test(test_prefix),
        cmocka_unit_test(test_repair),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
