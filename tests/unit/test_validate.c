/* Unit tests for lib/validate: slug pattern, email, UTF-8 length, JSON
 * depth, dates, the field readers and string arrays; every bad field is
 * collected, not just the first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "validate.h"

static json_t *parse(const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &err);
    if (!j) fprintf(stderr, "bad test JSON: %s\n", err.text);
    assert_non_null(j);
    return j;
}

static const char *message_for(const problem_t *p, const char *field)
{
    size_t i;
    json_t *e;
    json_array_foreach(p->errors, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0)
            return json_string_value(json_object_get(e, "message"));
    }
    return NULL;
}

static void slugs(void **state)
{
    (void)state;
    const char *good[] = {"a", "0", "abc", "a-b", "a--b", "clean-water", "x1-2y", "9lives"};
    const char *bad[] = {"", "-", "-a", "a-", "A", "aB", "a_b", "a b", "a.b", "é", "a/b",
                         "a\n", "--", "ab-"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) assert_true(validate_slug(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (validate_slug(bad[i])) {
            fprintf(stderr, "slug \"%s\" accepted\n", bad[i]);
            fail();
        }
    }
    char s[70];
    memset(s, 'a', 64);
    s[64] = '\0';
    assert_true(validate_slug(s));
    s[64] = 'a';
    s[65] = '\0';
    assert_false(validate_slug(s));
}

static void slugify(void **state)
{
    (void)state;
    char out[80];
    assert_int_equal(validate_slugify("Clean Water!", out, sizeof out), 0);
    assert_string_equal(out, "clean-water");
    assert_int_equal(validate_slugify("  --Open   Science-- ", out, sizeof out), 0);
    assert_string_equal(out, "open-science");
    assert_int_equal(validate_slugify("Café Society", out, sizeof out), 0);
    assert_string_equal(out, "caf-society");
    assert_int_equal(validate_slugify("!!!", out, sizeof out), -PROBLEM_VALIDATION);
    assert_int_equal(validate_slugify("", out, sizeof out), -PROBLEM_VALIDATION);
    assert_int_equal(validate_slugify("ééé", out, sizeof out), -PROBLEM_VALIDATION);
    char name[300];
    for (int i = 0; i < 299; i++) name[i] = (i % 3 == 2) ? ' ' : 'x';
    name[299] = '\0';
    assert_int_equal(validate_slugify(name, out, sizeof out), 0);
    assert_true(validate_slug(out)); /* at most 64, never ending in '-' */
    char tiny[4];
    assert_int_equal(validate_slugify("abcdef", tiny, sizeof tiny), 0);
    assert_true(strlen(tiny) < sizeof tiny);
}

static void emails(void **state)
{
    (void)state;
    const char *good[] = {"a@b.co", "first.last+tag@example.org", "x@sub.domain.example",
                          "o'brien@example.ie", "ünï@exämple.org"};
    const char *bad[] = {"", "a", "@b.co", "a@", "a@b", "a@@b.co", "a@b@c.co", "a@.b.co",
                         "a@b.co.", "a@b..co", "a b@c.co", "a@b.co ", "<a@b.co>", "a\"b@c.co",
                         "a@b\x7f.co", "a,b@c.co", "a@[1.2.3.4]", "a\\b@c.co"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        if (!validate_email(good[i])) {
            fprintf(stderr, "email \"%s\" refused\n", good[i]);
            fail();
        }
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (validate_email(bad[i])) {
            fprintf(stderr, "email \"%s\" accepted\n", bad[i]);
            fail();
        }
    }
    char local[80];
    memset(local, 'a', 65);
    strcpy(local + 65, "@b.co");
    assert_false(validate_email(local)); /* local part over 64 */
    char long_domain[300] = "a@";
    memset(long_domain + 2, 'd', 260);
    strcpy(long_domain + 262, ".org");
    assert_false(validate_email(long_domain)); /* over 254 */
}

static void normalise_email(void **state)
{
    (void)state;
    char out[256];
    assert_int_equal(validate_normalise_email("  Alice@Example.ORG \n", out, sizeof out), 0);
    assert_string_equal(out, "alice@example.org");
    assert_int_equal(validate_normalise_email("not an email", out, sizeof out), -PROBLEM_VALIDATION);
    assert_int_equal(validate_normalise_email("   ", out, sizeof out), -PROBLEM_VALIDATION);
    char small[8];
    assert_int_equal(validate_normalise_email("alice@example.org", small, sizeof small), -PROBLEM_VALIDATION);
}

static void json_depth(void **state)
{
    (void)state;
    assert_int_equal(validate_json_depth("", 0), 0);
    assert_int_equal(validate_json_depth("1", 1), 0);
    assert_int_equal(validate_json_depth("{}", 2), 1);
    assert_int_equal(validate_json_depth("{\"a\":[1,{\"b\":[]}]}", 18), 4);
    /* brackets inside strings, with escaped quotes and backslashes, do not count */
    const char *s = "{\"a\":\"[[[[{{{{\\\"[[[\\\\\",\"b\":[1]}";
    assert_int_equal(validate_json_depth(s, strlen(s)), 2);
    /* only len bytes are read */
    assert_int_equal(validate_json_depth("[[[[", 2), 2);
    char deep[200];
    memset(deep, '[', 100);
    memset(deep + 100, ']', 100);
    assert_int_equal(validate_json_depth(deep, sizeof deep), 100);
    /* a backslash at the very end of an unterminated string */
    assert_int_equal(validate_json_depth("[\"\\", 3), 1);
}

static void dates(void **state)
{
    (void)state;
    const char *good[] = {"2024-01-01", "2024-02-29", "2000-02-29", "1900-01-01", "2200-12-31",
                          "2023-04-30", "2023-12-31"};
    const char *bad[] = {"", "2024-1-01", "2024-01-1", "2023-02-29", "1900-02-29", "2024-13-01",
                         "2024-00-10", "2024-01-00", "2024-04-31", "1899-12-31", "2201-01-01",
                         "2024/01/01", "2024-01-01T00:00:00Z", "20240101", "2024-01-0a",
                         "+024-01-01", "2024-+1-01", "2024- 1-01", "２０２４-01-01", "2024-01-01 "};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) assert_true(validate_date(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (validate_date(bad[i])) {
            fprintf(stderr, "date \"%s\" accepted\n", bad[i]);
            fail();
        }
    }
}

static void known_fields_collects_every_unknown(void **state)
{
    (void)state;
    json_t *o = parse("{\"name\":\"x\",\"evil\":1,\"admin\":true}");
    static const char *const allowed[] = {"name", "description", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(o, allowed, &p);
    assert_int_equal(json_array_size(p.errors), 2);
    assert_string_equal(message_for(&p, "evil"), "unknown field");
    assert_string_equal(message_for(&p, "admin"), "unknown field");
    problem_clear(&p);
    json_decref(o);
}

/* An unknown field with a long non-ASCII name must still be reported. */
static void long_unicode_unknown_field_is_reported(void **state)
{
    (void)state;
    char text[600] = "{\"";
    size_t o = 2;
    for (int i = 0; i < 100; i++) { memcpy(text + o, "é", 2); o += 2; }
    text[o++] = 'x'; /* shift so that byte 79 falls inside a character */
    for (int i = 0; i < 100; i++) { memcpy(text + o, "é", 2); o += 2; }
    strcpy(text + o, "\":1}");
    json_t *obj = parse(text);
    static const char *const allowed[] = {"name", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(obj, allowed, &p);
    assert_true(problem_has_fields(&p));
    problem_clear(&p);
    json_decref(obj);
}

static void strings(void **state)
{
    (void)state;
    json_t *o = parse("{\"empty\":\"\",\"num\":5,\"long\":\"ééééé\",\"ok\":\"éé\","
                      "\"nul\":\"a\\u0000b\",\"null\":null}");
    problem_t p;
    problem_init(&p);
    assert_null(validate_string(o, "missing", true, 1, 10, &p));
    assert_null(validate_string(o, "absent", false, 1, 10, &p));
    assert_null(validate_string(o, "empty", true, 1, 10, &p));
    assert_null(validate_string(o, "num", true, 0, 10, &p));
    assert_null(validate_string(o, "long", true, 1, 4, &p));       /* 5 characters, 10 bytes */
    assert_string_equal(validate_string(o, "ok", true, 2, 2, &p), "éé"); /* 4 bytes, 2 chars */
    assert_null(validate_string(o, "nul", true, 0, 10, &p));
    assert_null(validate_string(o, "null", true, 0, 10, &p));
    assert_int_equal(json_array_size(p.errors), 6);
    assert_string_equal(message_for(&p, "missing"), "is required");
    assert_null(message_for(&p, "absent"));
    assert_string_equal(message_for(&p, "empty"), "must not be empty");
    assert_string_equal(message_for(&p, "num"), "must be a string");
    assert_string_equal(message_for(&p, "long"), "must be at most 4 characters");
    assert_string_equal(message_for(&p, "nul"), "must not contain NUL characters");
    assert_string_equal(message_for(&p, "null"), "must be a string");
    problem_finish_validation(&p);
    assert_int_equal(p.status, 422);
    problem_clear(&p);

    /* at least N characters */
    problem_init(&p);
    assert_null(validate_string(o, "ok", true, 3, 10, &p));
    assert_string_equal(message_for(&p, "ok"), "must be at least 3 characters");
    problem_clear(&p);

    /* string or null */
    problem_init(&p);
    bool present = false;
    assert_null(validate_string_or_null(o, "null", 10, &present, &p));
    assert_true(present);
    assert_null(validate_string_or_null(o, "absent", 10, &present, &p));
    assert_false(present);
    assert_string_equal(validate_string_or_null(o, "empty", 10, &present, &p), "");
    assert_null(validate_string_or_null(o, "num", 10, &present, &p));
    assert_int_equal(json_array_size(p.errors), 1);
    problem_clear(&p);
    json_decref(o);
}

static void numbers_and_booleans(void **state)
{
    (void)state;
    json_t *o = parse("{\"i\":5,\"big\":9223372036854775807,\"neg\":-1,\"real\":1.5,"
                      "\"str\":\"5\",\"t\":true,\"f\":false,\"zero\":0}");
    problem_t p;
    problem_init(&p);
    long long n = -7;
    assert_true(validate_int(o, "i", true, 0, 80, &n, &p));
    assert_int_equal(n, 5);
    assert_false(validate_int(o, "big", true, 0, 80, &n, &p));
    assert_false(validate_int(o, "neg", true, 0, 80, &n, &p));
    assert_false(validate_int(o, "real", true, 0, 80, &n, &p));
    assert_false(validate_int(o, "str", true, 0, 80, &n, &p));
    assert_false(validate_int(o, "nothing", false, 0, 80, &n, &p));
    assert_int_equal(n, 5); /* untouched on failure */
    double d = 0;
    assert_true(validate_number(o, "real", true, 0, 2, &d, &p));
    assert_true(d == 1.5);
    assert_true(validate_number(o, "zero", true, 0, 2, &d, &p)); /* integers are numbers */
    assert_false(validate_number(o, "big", true, 0, 2, &d, &p));
    assert_false(validate_number(o, "t", true, 0, 2, &d, &p));
    bool b = false;
    assert_true(validate_bool(o, "t", true, &b, &p));
    assert_true(b);
    assert_true(validate_bool(o, "f", true, &b, &p));
    assert_false(b);
    assert_false(validate_bool(o, "zero", true, &b, &p));
    assert_false(validate_bool(o, "absent", true, &b, &p));
    const char *fields[] = {"big", "neg", "real", "str", "t", "zero", "absent"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        assert_non_null(message_for(&p, fields[i]));
    assert_int_equal(json_array_size(p.errors), 7);
    problem_clear(&p);
    json_decref(o);
}

static void enums(void **state)
{
    (void)state;
    static const char *const packagings[] = {"employment", "partnership", "consulting", "interim",
                                             "volunteer", NULL};
    json_t *o = parse("{\"a\":\"interim\",\"b\":\"Interim\",\"c\":3}");
    problem_t p;
    problem_init(&p);
    assert_string_equal(validate_enum(o, "a", true, packagings, &p), "interim");
    assert_null(validate_enum(o, "b", true, packagings, &p));
    assert_null(validate_enum(o, "c", true, packagings, &p));
    assert_null(validate_enum(o, "d", true, packagings, &p));
    assert_string_equal(message_for(&p, "b"),
                        "must be one of: employment, partnership, consulting, interim, volunteer");
    assert_string_equal(message_for(&p, "d"), "is required");
    assert_true(validate_in("volunteer", packagings));
    assert_false(validate_in("", packagings));
    problem_clear(&p);
    json_decref(o);
}

static void string_arrays(void **state)
{
    (void)state;
    static const char *const kinds[] = {"cash", "learning", NULL};
    json_t *o = parse("{\"ok\":[\"a\",\"b-c\"],\"empty\":[],\"notarr\":\"a\",\"mixed\":[\"a\",1],"
                      "\"dup\":[\"a\",\"b\",\"a\"],\"emptyitem\":[\"\"],\"long\":[\"abcdef\"],"
                      "\"slug\":[\"Not A Slug\"],\"many\":[\"a\",\"b\",\"c\",\"d\"],"
                      "\"kind\":[\"cash\",\"equity\"],\"nul\":[\"a\\u0000\"]}");
    problem_t p;
    problem_init(&p);
    assert_non_null(validate_string_array(o, "ok", true, 3, 5, true, NULL, &p));
    const json_t *e = validate_string_array(o, "empty", true, 3, 5, true, NULL, &p);
    assert_non_null(e);
    assert_int_equal(json_array_size(e), 0);
    assert_null(validate_string_array(o, "absent", false, 3, 5, false, NULL, &p));
    assert_false(problem_has_fields(&p));
    assert_null(validate_string_array(o, "required", true, 3, 5, false, NULL, &p));
    assert_null(validate_string_array(o, "notarr", true, 3, 5, false, NULL, &p));
    assert_null(validate_string_array(o, "mixed", true, 3, 5, false, NULL, &p));
    assert_null(validate_string_array(o, "dup", true, 3, 5, false, NULL, &p));
    assert_null(validate_string_array(o, "emptyitem", true, 3, 5, false, NULL, &p));
    assert_null(validate_string_array(o, "long", true, 3, 5, false, NULL, &p));
    assert_null(validate_string_array(o, "slug", true, 3, 20, true, NULL, &p));
    assert_null(validate_string_array(o, "many", true, 3, 5, false, NULL, &p));
    assert_null(validate_string_array(o, "kind", true, 3, 10, false, kinds, &p));
    assert_null(validate_string_array(o, "nul", true, 3, 5, false, NULL, &p));
    assert_string_equal(message_for(&p, "required"), "is required");
    assert_string_equal(message_for(&p, "notarr"), "must be an array of strings");
    assert_string_equal(message_for(&p, "mixed"), "must be an array of strings");
    assert_string_equal(message_for(&p, "dup"), "must not repeat \"a\"");
    assert_string_equal(message_for(&p, "emptyitem"), "items must be 1 to 5 characters");
    assert_string_equal(message_for(&p, "long"), "items must be 1 to 5 characters");
    assert_string_equal(message_for(&p, "slug"), "\"Not A Slug\" is not a valid slug");
    assert_string_equal(message_for(&p, "many"), "must have at most 3 items");
    assert_string_equal(message_for(&p, "kind"), "items must be one of: cash, learning");
    assert_string_equal(message_for(&p, "nul"), "items must be 1 to 5 characters");
    assert_int_equal(json_array_size(p.errors), 10);
    problem_clear(&p);
    json_decref(o);
}

/* A bad item quoted in the message may be cut inside a multi-byte
 * character; the field error must still be recorded. */
static void non_ascii_bad_slug_is_reported(void **state)
{
    (void)state;
    char text[400] = "{\"purposes\":[\"x";
    size_t o = strlen(text);
    for (int i = 0; i < 60; i++) { memcpy(text + o, "é", 2); o += 2; }
    strcpy(text + o, "\"]}");
    json_t *obj = parse(text);
    problem_t p;
    problem_init(&p);
    assert_null(validate_string_array(obj, "purposes", true, 10, 100, true, NULL, &p));
    assert_true(problem_has_fields(&p));
    assert_non_null(message_for(&p, "purposes"));
    problem_clear(&p);
    json_decref(obj);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slugs),
        cmocka_unit_test(slugify),
        cmocka_unit_test(emails),
        cmocka_unit_test(normalise_email),
        cmocka_unit_test(json_depth),
        cmocka_unit_test(dates),
        cmocka_unit_test(known_fields_collects_every_unknown),
        cmocka_unit_test(long_unicode_unknown_field_is_reported),
        cmocka_unit_test(strings),
        cmocka_unit_test(numbers_and_booleans),
        cmocka_unit_test(enums),
        cmocka_unit_test(string_arrays),
        cmocka_unit_test(non_ascii_bad_slug_is_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
