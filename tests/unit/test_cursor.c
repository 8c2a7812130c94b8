/* Unit tests for lib/cursor: round trip, tampering detected, the wrong
 * number of keys, another key, garbage and overlong input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "cursor.h"

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0) return -1;
    cursor_configure("test-secret");
    return 0;
}

static char *encode_pack(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    json_error_t err;
    json_t *keys = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    char *c = cursor_encode(keys);
    json_decref(keys);
    return c;
}

static void roundtrip(void **state)
{
    (void)state;
    char *c = encode_pack("[s, I]", "2024-05-01T10:00:00.123456Z", (json_int_t)9007199254740993LL);
    assert_non_null(c);
    /* base64url without padding: safe in a query string as it is */
    for (const char *s = c; *s; s++)
        assert_true((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z') ||
                    (*s >= '0' && *s <= '9') || *s == '-' || *s == '_');
    json_t *keys = cursor_decode(c, 2);
    assert_non_null(keys);
    assert_string_equal(json_string_value(json_array_get(keys, 0)), "2024-05-01T10:00:00.123456Z");
    assert_true(json_integer_value(json_array_get(keys, 1)) == 9007199254740993LL);
    json_decref(keys);
    free(c);

    c = encode_pack("[s]", "naïve \"quoted\" ✓");
    keys = cursor_decode(c, 1);
    assert_non_null(keys);
    assert_string_equal(json_string_value(json_array_get(keys, 0)), "naïve \"quoted\" ✓");
    json_decref(keys);
    free(c);
}

static void every_flipped_character_is_refused(void **state)
{
    (void)state;
    char *c = encode_pack("[s, i]", "alpha", 42);
    size_t n = strlen(c);
    for (size_t i = 0; i < n; i++) {
        char saved = c[i];
        c[i] = saved == 'A' ? 'B' : 'A';
        json_t *k = cursor_decode(c, 2);
        if (k) {
            /* the last character may only carry padding bits: then it must decode the same */
            assert_int_equal(i, n - 1);
            assert_string_equal(json_string_value(json_array_get(k, 0)), "alpha");
            json_decref(k);
        }
        c[i] = saved;
    }
    json_t *k = cursor_decode(c, 2);
    assert_non_null(k);
    json_decref(k);
    free(c);
}

static void truncated_and_extended_are_refused(void **state)
{
    (void)state;
    char *c = encode_pack("[s, i]", "beta", 7);
    size_t n = strlen(c);
    char *t = strdup(c);
    for (size_t len = 0; len < n; len++) {
        t[len] = '\0';
        assert_null(cursor_decode(t, 2));
        memcpy(t, c, n + 1);
    }
    char *longer = malloc(n + 3);
    memcpy(longer, c, n);
    memcpy(longer + n, "AA", 3);
    assert_null(cursor_decode(longer, 2));
    free(longer);
    free(t);
    free(c);
}

static void wrong_key_count_is_refused(void **state)
{
    (void)state;
    char *c = encode_pack("[s, i]", "gamma", 1);
    assert_null(cursor_decode(c, 1));
    assert_null(cursor_decode(c, 3));
    assert_null(cursor_decode(c, 0));
    free(c);
    c = encode_pack("[]");
    json_t *k = cursor_decode(c, 0);
    assert_non_null(k);
    assert_int_equal(json_array_size(k), 0);
    json_decref(k);
    free(c);
}

static void signed_with_another_secret_is_refused(void **state)
{
    (void)state;
    char *c = encode_pack("[i]", 5);
    cursor_configure("another-secret");
    assert_null(cursor_decode(c, 1));
    cursor_configure("test-secret");
    json_t *k = cursor_decode(c, 1);
    assert_non_null(k);
    json_decref(k);
    free(c);
}

/* Properly signed payloads that are not arrays of strings/integers. */
static void signed_but_wrong_shape_is_refused(void **state)
{
    (void)state;
    const char *fmts[] = {"{s:i}", "[f]", "[n]", "[b]", "[[i]]", "[{}]"};
    for (size_t i = 0; i < sizeof fmts / sizeof fmts[0]; i++) {
        json_t *v;
        switch (i) {
        case 0: v = json_pack(fmts[i], "a", 1); break;
        case 1: v = json_pack(fmts[i], 1.5); break;
        case 3: v = json_pack(fmts[i], 1); break;
        case 4: v = json_pack(fmts[i], 1); break;
        default: v = json_pack(fmts[i]); break;
        }
        assert_non_null(v);
        char *c = cursor_encode(v);
        json_decref(v);
        assert_non_null(c);
        assert_null(cursor_decode(c, 1));
        free(c);
    }
}

static void garbage_is_refused(void **state)
{
    (void)state;
    const char *bad[] = {"", "a", "!!!!", "not a cursor", "AAAAAAAAAAAAAAAAAAAAAAAA",
                         "eyJhIjoxfQ", "WyJ4Il0=", "WyJ4Il0", "%00", "////", "\xff\xfe"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) assert_null(cursor_decode(bad[i], 1));
    assert_null(cursor_decode(NULL, 1));
    char big[CURSOR_MAX_LEN + 2];
    memset(big, 'A', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_null(cursor_decode(big, 1));
}

/* Keys such as names can be long and non-ASCII: every cursor the encoder
 * issues must decode again (a 200-character name of 3-byte characters). */
static void long_keys_round_trip(void **state)
{
    (void)state;
    char s[700];
    size_t o = 0;
    for (int i = 0; i < 200; i++) { memcpy(s + o, "\xe2\x9c\x93", 3); o += 3; }
    s[o] = '\0';
    char *c = encode_pack("[s, I]", s, (json_int_t)123);
    assert_non_null(c);
    assert_true(strlen(c) <= CURSOR_MAX_LEN);
    json_t *k = cursor_decode(c, 2);
    assert_non_null(k);
    assert_string_equal(json_string_value(json_array_get(k, 0)), s);
    json_decref(k);
    free(c);
}

/* A key too long for any cursor is refused by the encoder, not issued. */
static void overlong_keys_are_not_encoded(void **state)
{
    (void)state;
    char s[CURSOR_MAX_LEN * 2];
    memset(s, 'k', sizeof s - 1);
    s[sizeof s - 1] = '\0';
    char *c = encode_pack("[s]", s);
    assert_null(c);
}

/* Each kind of key accepts what the lists give out and nothing a cast in
 * SQL would fail on (or accept as something else). */
static void keys_are_checked_against_their_kind(void **state)
{
    (void)state;
    static const struct { const char *kind, *text; bool ok; } cases[] = {
        {CURSOR_KEY_TEXT, "any name, even ✓", true}, {CURSOR_KEY_TEXT, "", true},
        {CURSOR_KEY_ID, "0", true}, {CURSOR_KEY_ID, "42", true},
        {CURSOR_KEY_ID, "9223372036854775807", true}, {CURSOR_KEY_ID, "9223372036854775808", false},
        {CURSOR_KEY_ID, "99999999999999999999", false}, {CURSOR_KEY_ID, "-1", false},
        {CURSOR_KEY_ID, "+1", false}, {CURSOR_KEY_ID, " 1", false}, {CURSOR_KEY_ID, "1 ", false},
        {CURSOR_KEY_ID, "1.5", false}, {CURSOR_KEY_ID, "1e3", false}, {CURSOR_KEY_ID, "0x10", false},
        {CURSOR_KEY_ID, "", false}, {CURSOR_KEY_ID, "abc", false},
        {CURSOR_KEY_TIME, "2024-05-01T10:00:00.123456Z", true},
        {CURSOR_KEY_TIME, "2024-02-29T23:59:59.999999Z", true},
        {CURSOR_KEY_TIME, "2000-02-29T00:00:00.000000Z", true},
        {CURSOR_KEY_TIME, "0001-01-01T00:00:00.000000Z", true},
        {CURSOR_KEY_TIME, "2023-02-29T00:00:00.000000Z", false}, /* not a leap year */
        {CURSOR_KEY_TIME, "1900-02-29T00:00:00.000000Z", false},
        {CURSOR_KEY_TIME, "2024-04-31T00:00:00.000000Z", false},
        {CURSOR_KEY_TIME, "2024-13-01T00:00:00.000000Z", false},
        {CURSOR_KEY_TIME, "2024-00-01T00:00:00.000000Z", false},
        {CURSOR_KEY_TIME, "2024-05-01T24:00:00.000000Z", false},
        {CURSOR_KEY_TIME, "2024-05-01T10:60:00.000000Z", false},
        {CURSOR_KEY_TIME, "2024-05-01T10:00:60.000000Z", false},
        {CURSOR_KEY_TIME, "0000-01-01T00:00:00.000000Z", false},
        {CURSOR_KEY_TIME, "2024-05-01T10:00:00.123456", false},
        {CURSOR_KEY_TIME, "2024-05-01T10:00:00Z", false}, {CURSOR_KEY_TIME, "2024-05-01", false},
        {CURSOR_KEY_TIME, "2024-05-01T10:00:00.12345xZ", false},
        {CURSOR_KEY_TIME, "infinity", false}, {CURSOR_KEY_TIME, "", false},
        {CURSOR_KEY_MICROS, "1714557600123456", true}, {CURSOR_KEY_MICROS, "0", true},
        {CURSOR_KEY_MICROS, "-1", true}, {CURSOR_KEY_MICROS, "253402300799999999", true},
        {CURSOR_KEY_MICROS, "253402300800000000", false},
        {CURSOR_KEY_MICROS, "-62135596800000001", false},
        {CURSOR_KEY_MICROS, "9223372036854775807", false}, {CURSOR_KEY_MICROS, "1e5", false},
        {CURSOR_KEY_MICROS, "--1", false}, {CURSOR_KEY_MICROS, "-", false},
        {CURSOR_KEY_RANK, "0.0607927", true}, {CURSOR_KEY_RANK, "1e-20", true},
        {CURSOR_KEY_RANK, "6.07927e-05", true}, {CURSOR_KEY_RANK, "0", true},
        {CURSOR_KEY_RANK, "1", true}, {CURSOR_KEY_RANK, "1e999", false},
        {CURSOR_KEY_RANK, "1e-999", false}, {CURSOR_KEY_RANK, "1e39", false},
        {CURSOR_KEY_RANK, "-1", false}, {CURSOR_KEY_RANK, "NaN", false},
        {CURSOR_KEY_RANK, "Infinity", false}, {CURSOR_KEY_RANK, "inf", false},
        {CURSOR_KEY_RANK, "0x1p3", false}, {CURSOR_KEY_RANK, ".5", false},
        {CURSOR_KEY_RANK, "", false}, {CURSOR_KEY_RANK, "1 ", false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (cursor_key_valid(cases[i].kind[0], cases[i].text) != cases[i].ok) {
            fprintf(stderr, "kind %s \"%s\": expected %s\n", cases[i].kind, cases[i].text,
                    cases[i].ok ? "valid" : "invalid");
            fail();
        }
    }
    assert_false(cursor_key_valid('?', "1"));
    assert_false(cursor_key_valid(CURSOR_KEY_TEXT[0], NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(roundtrip),
        cmocka_unit_test(keys_are_checked_against_their_kind),
        cmocka_unit_test(every_flipped_character_is_refused),
        cmocka_unit_test(truncated_and_extended_are_refused),
        cmocka_unit_test(wrong_key_count_is_refused),
        cmocka_unit_test(signed_with_another_secret_is_refused),
        cmocka_unit_test(signed_but_wrong_shape_is_refused),
        cmocka_unit_test(garbage_is_refused),
        cmocka_unit_test(long_keys_round_trip),
        cmocka_unit_test(overlong_keys_are_not_encoded),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
