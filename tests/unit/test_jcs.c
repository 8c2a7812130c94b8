/* Unit tests for lib/jcs against RFC 8785's published examples: the
 * numbers of its Appendix B (IEEE-754 bit patterns and the text ECMAScript
 * writes), the sample of 3.2.2, the member order of 3.2.3, and the test data
 * that accompanies the RFC (cyberphone/json-canonicalization, testdata/:
 * arrays, structures, values, weird, unicode, french). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jcs.h"

static double from_bits(uint64_t bits)
{
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

static void number_is(uint64_t bits, const char *expected)
{
    char out[JCS_NUMBER_MAX];
    assert_true(jcs_number(from_bits(bits), out));
    if (strcmp(out, expected) != 0) fprintf(stderr, "%016llx: %s, expected %s\n",
                                            (unsigned long long)bits, out, expected);
    assert_string_equal(out, expected);
}

/* RFC 8785 Appendix B */
static void test_appendix_b_numbers(void **state)
{
    (void)state;
    number_is(0x0000000000000000ULL, "0");
    number_is(0x8000000000000000ULL, "0");
    number_is(0x0000000000000001ULL, "5e-324");
    number_is(0x8000000000000001ULL, "-5e-324");
    number_is(0x7fefffffffffffffULL, "1.7976931348623157e+308");
    number_is(0xffefffffffffffffULL, "-1.7976931348623157e+308");
    number_is(0x4340000000000000ULL, "9007199254740992");
    number_is(0xc340000000000000ULL, "-9007199254740992");
    number_is(0x4430000000000000ULL, "295147905179352830000");
    number_is(0x44b52d02c7e14af5ULL, "9.999999999999997e+22");
    number_is(0x44b52d02c7e14af6ULL, "1e+23");
    number_is(0x44b52d02c7e14af7ULL, "1.0000000000000001e+23");
    number_is(0x444b1ae4d6e2ef4eULL, "999999999999999700000");
    number_is(0x444b1ae4d6e2ef4fULL, "999999999999999900000");
    number_is(0x444b1ae4d6e2ef50ULL, "1e+21");
    number_is(0x3eb0c6f7a0b5ed8cULL, "9.999999999999997e-7");
    number_is(0x3eb0c6f7a0b5ed8dULL, "0.000001");
    number_is(0x41b3de4355555553ULL, "333333333.3333332");
    number_is(0x41b3de4355555554ULL, "333333333.33333325");
    number_is(0x41b3de4355555555ULL, "333333333.3333333");
    number_is(0x41b3de4355555556ULL, "333333333.3333334");
    number_is(0x41b3de4355555557ULL, "333333333.33333343");
    number_is(0xbecbf647612f3696ULL, "-0.0000033333333333333333");
    number_is(0x43143ff3c1cb0959ULL, "1424953923781206.2");
    /* NaN and Infinity are refused */
    char out[JCS_NUMBER_MAX];
    assert_false(jcs_number(from_bits(0x7fffffffffffffffULL), out));
    assert_false(jcs_number(from_bits(0x7ff0000000000000ULL), out));
    assert_false(jcs_number(from_bits(0xfff0000000000000ULL), out));
}

static void canonical_is(const char *input, const char *expected)
{
    json_error_t jerr;
    json_t *v = json_loads(input, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (!v) fprintf(stderr, "parse: %s\n", jerr.text);
    assert_non_null(v);
    char err[128];
    size_t len = 0;
    char *out = jcs_serialize(v, &len, err, sizeof err);
    if (!out) fprintf(stderr, "refused: %s\n", err);
    assert_non_null(out);
    assert_int_equal(len, strlen(expected));
    assert_memory_equal(out, expected, len);
    free(out);
    json_decref(v);
}

static void refused(const char *input, const char *why)
{
    json_t *v = json_loads(input, JSON_DECODE_ANY, NULL);
    assert_non_null(v);
    char err[128];
    assert_null(jcs_serialize(v, NULL, err, sizeof err));
    assert_non_null(strstr(err, why));
    json_decref(v);
}

/* RFC 8785 3.2.2 and testdata/input/values.json */
static void test_values(void **state)
{
    (void)state;
    canonical_is("{\n"
                 "  \"numbers\": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],\n"
                 "  \"string\": \"\\u20ac$\\u000F\\u000aA'\\u0042\\u0022\\u005c\\\\\\\"\\/\",\n"
                 "  \"literals\": [null, true, false]\n"
                 "}",
                 "{\"literals\":[null,true,false],\"numbers\":[333333333.3333333,1e+30,4.5,0.002,1e-27],"
                 "\"string\":\"\xE2\x82\xAC$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"}");
}

/* RFC 8785 3.2.3 and testdata/input/weird.json: names ordered by UTF-16
 * code units (U+1F602 is D83D DE02: before U+FB33, after U+20AC) */
static void test_weird_order(void **state)
{
    (void)state;
    canonical_is("{\n"
                 "  \"\\u20ac\": \"Euro Sign\",\n"
                 "  \"\\r\": \"Carriage Return\",\n"
                 "  \"\\u000a\": \"Newline\",\n"
                 "  \"1\": \"One\",\n"
                 "  \"\\u0080\": \"Control\\u007f\",\n"
                 "  \"\\ud83d\\ude02\": \"Smiley\",\n"
                 "  \"\\u00f6\": \"Latin Small Letter O With Diaeresis\",\n"
                 "  \"\\ufb33\": \"Hebrew Letter Dalet With Dagesh\",\n"
                 "  \"</script>\": \"Browser Challenge\"\n"
                 "}",
                 "{\"\\n\":\"Newline\",\"\\r\":\"Carriage Return\",\"1\":\"One\","
                 "\"</script>\":\"Browser Challenge\",\"\xC2\x80\":\"Control\x7F\","
                 "\"\xC3\xB6\":\"Latin Small Letter O With Diaeresis\",\"\xE2\x82\xAC\":\"Euro Sign\","
                 "\"\xF0\x9F\x98\x82\":\"Smiley\",\"\xEF\xAC\xB3\":\"Hebrew Letter Dalet With Dagesh\"}");
    /* UTF-8 byte order would put U+FB33 (EF AC B3) before U+1F602 (F0 ...) */
    assert_true(jcs_compare_names("\xF0\x9F\x98\x82", 4, "\xEF\xAC\xB3", 3) < 0);
    assert_true(jcs_compare_names("a", 1, "ab", 2) < 0);
    assert_true(jcs_compare_names("ab", 2, "a", 1) > 0);
    assert_int_equal(jcs_compare_names("", 0, "", 0), 0);
}

/* testdata: structures, arrays, unicode (no normalisation), french (no locale) */
static void test_structures(void **state)
{
    (void)state;
    canonical_is("{\n"
                 "  \"1\": {\"f\": {\"f\": \"hi\",\"F\": 5} ,\"\\n\": 56.0},\n"
                 "  \"10\": { },\n"
                 "  \"\": \"empty\",\n"
                 "  \"a\": { },\n"
                 "  \"111\": [ {\"e\": \"yes\",\"E\": \"no\" } ],\n"
                 "  \"A\": { }\n"
                 "}",
                 "{\"\":\"empty\",\"1\":{\"\\n\":56,\"f\":{\"F\":5,\"f\":\"hi\"}},\"10\":{},"
                 "\"111\":[{\"E\":\"no\",\"e\":\"yes\"}],\"A\":{},\"a\":{}}");
    canonical_is("[\n  56,\n  {\n    \"d\": true,\n    \"10\": null,\n    \"1\": [ ]\n  }\n]",
                 "[56,{\"1\":[],\"10\":null,\"d\":true}]");
    canonical_is("{\n  \"Unnormalized Unicode\":\"A\\u030a\"\n}",
                 "{\"Unnormalized Unicode\":\"A\xCC\x8A\"}");
    canonical_is("{\n  \"peach\": \"This sorting order\",\n  \"p\\u00e9ch\\u00e9\": \"is wrong according to French\",\n"
                 "  \"p\\u00eache\": \"but canonicalization MUST\",\n  \"sin\":   \"ignore locale\"\n}",
                 "{\"peach\":\"This sorting order\",\"p\xC3\xA9\x63h\xC3\xA9\":\"is wrong according to French\","
                 "\"p\xC3\xAA\x63he\":\"but canonicalization MUST\",\"sin\":\"ignore locale\"}");
    /* scalars alone, the other control characters, NUL inside a string */
    canonical_is("\"\\u0000\\u001f\\b\\f\\t\"", "\"\\u0000\\u001f\\b\\f\\t\"");
    canonical_is("-0.0", "0");
    canonical_is("9007199254740992", "9007199254740992");
    canonical_is("-9007199254740992", "-9007199254740992");
}

static void test_refused(void **state)
{
    (void)state;
    refused("9007199254740993", "beyond 2^53");
    refused("[{\"a\": -9007199254740993}]", "beyond 2^53");
    json_t *inf = json_real(1.0);
    json_real_set(inf, 1e308 * 10);
    char err[64];
    /* jansson refuses to hold a non-finite real; when it cannot, check the number path */
    if (json_is_real(inf) && !isfinite(json_real_value(inf)))
        assert_null(jcs_serialize(inf, NULL, err, sizeof err));
    json_decref(inf);
    assert_null(jcs_serialize(NULL, NULL, err, sizeof err));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_appendix_b_numbers),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_weird_order),
        cmocka_unit_test(test_structures),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
