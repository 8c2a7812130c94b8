/* Unit tests for lib/jsontext: the text PostgreSQL writes (json_build_object's
 * "a" : 1, jsonb's "a": 1) comes out compact; strings keep their spaces,
 * escaped quotes and backslashes, and UTF-8 bytes; in place works; and
 * jansson's indented output compacts to exactly jansson's compact output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <jansson.h>

#include "jsontext.h"

static void expect(const char *in, const char *want)
{
    size_t n = strlen(in);
    char *out = malloc(n + 1);
    assert_non_null(out);
    size_t m = jsontext_compact(out, in, n);
    out[m] = '\0';
    assert_string_equal(out, want);
    /* in place gives the same */
    char *copy = strdup(in);
    assert_non_null(copy);
    m = jsontext_compact(copy, copy, n);
    copy[m] = '\0';
    assert_string_equal(copy, want);
    free(copy);
    free(out);
}

static void postgres_styles(void **state)
{
    (void)state;
    expect("{\"id\" : 3, \"name\" : \"x\"}", "{\"id\":3,\"name\":\"x\"}");
    expect("{\"a\": [1, 2, 3], \"b\": {\"c\": null, \"d\": true}}",
           "{\"a\":[1,2,3],\"b\":{\"c\":null,\"d\":true}}");
    expect("[{\"slug\" : \"a\", \"name\" : \"A\"}, \n {\"slug\" : \"b\"}]",
           "[{\"slug\":\"a\",\"name\":\"A\"},{\"slug\":\"b\"}]");
    expect(" \t\r\n{ } \n", "{}");
    expect("{\"n\" : -1.50e+3}", "{\"n\":-1.50e+3}");
    expect("", "");
}

static void strings_untouched(void **state)
{
    (void)state;
    expect("{\"t\" : \"a : b, c\"}", "{\"t\":\"a : b, c\"}");
    expect("{\"t\" : \"say \\\"hi\\\" : now\" , \"u\" : 1}",
           "{\"t\":\"say \\\"hi\\\" : now\",\"u\":1}");
    /* a string ending in an escaped backslash, then whitespace */
    expect("[\"a\\\\\" , \"b\" ]", "[\"a\\\\\",\"b\"]");
    expect("{\"t\" : \"\\n\\t \\u00e9 \"}", "{\"t\":\"\\n\\t \\u00e9 \"}");
    /* UTF-8 (é, 漢, 𝄞) inside and around strings is copied byte for byte */
    expect("{\"é\" : \"漢 字\", \"𝄞\" : [ \"x y\" ]}", "{\"é\":\"漢 字\",\"𝄞\":[\"x y\"]}");
    /* raw tab and newline inside a string (not valid JSON, kept anyway) */
    expect("[\"a\tb\nc\"]", "[\"a\tb\nc\"]");
    /* unterminated: never reads past the end */
    expect("{\"a\" : \"open \\", "{\"a\":\"open \\");
}

static void same_as_jansson(void **state)
{
    (void)state;
    json_t *doc = json_pack("{s:i, s:s, s:[s, s, {s:n, s:b}], s:{}, s:[], s:s}", "id", 42,
                            "title", "Clean water : a \"plan\", with\ttabs", "list", "é ü",
                            "漢字 and 𝄞", "x", "y", 1, "empty", "none", "back", "C:\\ dir\\");
    assert_non_null(doc);
    for (int indent = 0; indent <= 4; indent += 2) {
        char *pretty = json_dumps(doc, JSON_INDENT(indent) | JSON_PRESERVE_ORDER);
        char *compact = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        assert_non_null(pretty);
        assert_non_null(compact);
        size_t m = jsontext_compact(pretty, pretty, strlen(pretty));
        pretty[m] = '\0';
        assert_string_equal(pretty, compact);
        free(pretty);
        free(compact);
    }
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(postgres_styles),
        cmocka_unit_test(strings_untouched),
        cmocka_unit_test(same_as_jansson),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
