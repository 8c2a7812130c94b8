/* Unit tests for lib/problem: the error catalogue (lib/problems.def) and
 * its agreement with the OpenAPI document, problem_fail and the return
 * convention, status, field errors collected in order and without
 * duplicates, the 422 finish and the problem+json shape. */
#include <ctype.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "problem.h"

static void starts_empty(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    assert_int_equal(p.status, 0);
    assert_false(problem_has_fields(&p));
    problem_finish_validation(&p);
    assert_int_equal(p.status, 0); /* nothing collected: stays unset */
    problem_clear(&p);
}

static void set_formats_detail(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    problem_fail(&p, PROBLEM_NOT_FOUND, "No such %s: %d.", "thing", 7);
    assert_int_equal(p.status, 404);
    assert_string_equal(p.type, "not-found");
    assert_string_equal(p.title, "Not found");
    assert_string_equal(p.detail, "No such thing: 7.");
    problem_fail(&p, PROBLEM_CONFLICT, NULL);
    assert_string_equal(p.detail, "");
    assert_int_equal(p.status, 409);
    problem_clear(&p);
}

static void long_detail_is_truncated_not_overflowed(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    char big[2000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_int_equal(problem_fail(&p, PROBLEM_MALFORMED, "%s", big), -PROBLEM_MALFORMED);
    assert_int_equal(strlen(p.detail), sizeof p.detail - 1);
    assert_string_equal(p.type, "malformed");
    problem_clear(&p);
}

static void collects_every_field_once(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    problem_field(&p, "email", "is required");
    problem_field(&p, "password", "must be at least %d characters", 12);
    problem_field(&p, "email", "a second message is ignored");
    assert_true(problem_has_fields(&p));
    assert_int_equal(json_array_size(p.errors), 2);
    json_t *e0 = json_array_get(p.errors, 0), *e1 = json_array_get(p.errors, 1);
    assert_string_equal(json_string_value(json_object_get(e0, "field")), "email");
    assert_string_equal(json_string_value(json_object_get(e0, "message")), "is required");
    assert_string_equal(json_string_value(json_object_get(e1, "field")), "password");
    assert_string_equal(json_string_value(json_object_get(e1, "message")),
                        "must be at least 12 characters");
    problem_finish_validation(&p);
    assert_int_equal(p.status, 422);
    assert_string_equal(p.type, "validation");
    assert_string_equal(p.detail, "2 fields failed validation");
    problem_clear(&p);
    assert_null(p.errors);
    assert_int_equal(p.status, 0);
}

static void explicit_status_survives_finish(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    problem_field(&p, "limit", "must be an integer from 1 to 100");
    problem_fail(&p, PROBLEM_BAD_QUERY, "limit must be 1 to 100.");
    problem_finish_validation(&p);
    assert_int_equal(p.status, 400);
    assert_true(problem_has_fields(&p)); /* problem_fail keeps field errors */
    problem_clear(&p);
}

static void json_shape(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    problem_field(&p, "slug", "is taken");
    problem_fail(&p, PROBLEM_CONFLICT, "The slug is taken.");
    json_t *j = problem_to_json(&p);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "https://purposed.dev/problems/conflict");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Conflict");
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 409);
    assert_string_equal(json_string_value(json_object_get(j, "detail")), "The slug is taken.");
    json_t *errors = json_object_get(j, "errors");
    assert_int_equal(json_array_size(errors), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(errors, 0), "field")),
                        "slug");
    json_decref(j);
    problem_clear(&p);

    /* no detail, no errors: both keys absent */
    problem_init(&p);
    problem_fail(&p, PROBLEM_INTERNAL, NULL);
    j = problem_to_json(&p);
    assert_null(json_object_get(j, "detail"));
    assert_null(json_object_get(j, "errors"));
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "https://purposed.dev/problems/internal");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Internal error");
    json_decref(j);
    problem_clear(&p);
}

static void field_names_with_non_ascii_are_kept(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    problem_field(&p, "naïve", "unknown field");
    problem_field(&p, "100%", "unknown field %s", "%s");
    assert_int_equal(json_array_size(p.errors), 2);
    assert_string_equal(json_string_value(json_object_get(json_array_get(p.errors, 1), "message")),
                        "unknown field %s");
    problem_clear(&p);
}


/* ---------- the catalogue ---------- */

static void catalogue_entries_are_complete(void **state)
{
    (void)state;
    assert_null(problem_kind(PROBLEM_NONE));
    assert_null(problem_kind(PROBLEM_COUNT));
    assert_true(PROBLEM_COUNT > 1);
    for (int c = PROBLEM_NONE + 1; c < PROBLEM_COUNT; c++) {
        const problem_kind_t *k = problem_kind((problem_code_t)c);
        assert_non_null(k);
        assert_non_null(k->name);
        assert_non_null(k->slug);
        assert_non_null(k->title);
        if (!k->slug[0] || !k->title[0] || !k->name[0]) fail_msg("entry %d has an empty column", c);
        if (k->status < 400 || k->status > 599) fail_msg("%s: status %d is not 4xx/5xx", k->slug, k->status);
        /* a slug is the last segment of a URI: lower case, digits and '-' */
        for (const char *s = k->slug; *s; s++)
            if (!(islower((unsigned char)*s) || isdigit((unsigned char)*s) || *s == '-'))
                fail_msg("%s: slug has '%c'", k->slug, *s);
        /* it must fit the problem_t fields */
        if (strlen(k->slug) >= sizeof(((problem_t *)0)->type)) fail_msg("%s: slug too long", k->slug);
        if (strlen(k->title) >= sizeof(((problem_t *)0)->title)) fail_msg("%s: title too long", k->slug);
    }
}

static void catalogue_slugs_and_names_are_unique(void **state)
{
    (void)state;
    for (int a = PROBLEM_NONE + 1; a < PROBLEM_COUNT; a++)
        for (int b = a + 1; b < PROBLEM_COUNT; b++) {
            if (strcmp(problem_kind((problem_code_t)a)->slug, problem_kind((problem_code_t)b)->slug) == 0)
                fail_msg("slug %s appears twice", problem_kind((problem_code_t)a)->slug);
            if (strcmp(problem_kind((problem_code_t)a)->name, problem_kind((problem_code_t)b)->name) == 0)
                fail_msg("name %s appears twice", problem_kind((problem_code_t)a)->name);
        }
}

static void every_code_answers_its_catalogue_line(void **state)
{
    (void)state;
    for (int c = PROBLEM_NONE + 1; c < PROBLEM_COUNT; c++) {
        const problem_kind_t *k = problem_kind((problem_code_t)c);
        problem_t p;
        problem_init(&p);
        assert_int_equal(problem_fail(&p, (problem_code_t)c, "Detail %d.", c), -c);
        assert_int_equal(p.code, c);
        assert_int_equal(problem_rc(&p), -c);
        json_t *j = problem_to_json(&p);
        char uri[128];
        snprintf(uri, sizeof uri, "https://purposed.dev/problems/%s", k->slug);
        assert_string_equal(json_string_value(json_object_get(j, "type")), uri);
        assert_string_equal(json_string_value(json_object_get(j, "title")), k->title);
        assert_int_equal(json_integer_value(json_object_get(j, "status")), k->status);
        char detail[32];
        snprintf(detail, sizeof detail, "Detail %d.", c);
        assert_string_equal(json_string_value(json_object_get(j, "detail")), detail);
        json_decref(j);
        problem_clear(&p);
    }
    /* the names are the enum's: a spot check that the X-macro lines up */
    assert_string_equal(problem_kind(PROBLEM_NOT_FOUND)->slug, "not-found");
    assert_int_equal(problem_kind(PROBLEM_NOT_FOUND)->status, 404);
    assert_string_equal(problem_kind(PROBLEM_NOT_FOUND)->name, "NOT_FOUND");
    assert_string_equal(problem_kind(PROBLEM_INTERNAL)->slug, "internal");
    assert_int_equal(problem_kind(PROBLEM_INTERNAL)->status, 500);
}

static void fail_keeps_fields_and_tolerates_bad_input(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    problem_field(&p, "cursor", "is not a cursor this list gave out");
    assert_int_equal(problem_fail(&p, PROBLEM_BAD_CURSOR, NULL), -PROBLEM_BAD_CURSOR);
    assert_true(problem_has_fields(&p));
    assert_string_equal(p.detail, "");
    problem_clear(&p);
    /* an unknown code is an internal error, never an answer without a type */
    assert_int_equal(problem_fail(&p, (problem_code_t)9999, "x"), -PROBLEM_INTERNAL);
    assert_int_equal(p.status, 500);
    assert_string_equal(p.type, "internal");
    problem_clear(&p);
    /* no problem_t: only the return value */
    assert_int_equal(problem_fail(NULL, PROBLEM_CONFLICT, "x"), -PROBLEM_CONFLICT);
    problem_extend(NULL, "k", json_true()); /* dropped, not leaked */
    /* nothing set yet: passing it on is still an error */
    assert_int_equal(problem_rc(&p), -PROBLEM_INTERNAL);
}

static void extensions_add_members_but_never_replace_the_core(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    problem_extend(&p, "allowed_actions", json_pack("[s]", "amend"));
    problem_extend(&p, "status", json_integer(200));
    problem_extend(&p, "type", json_string("about:blank"));
    problem_fail(&p, PROBLEM_ILLEGAL_TRANSITION, "Cannot accept.");
    json_t *j = problem_to_json(&p);
    assert_int_equal(json_integer_value(json_object_get(j, "status")), 409);
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "https://purposed.dev/problems/illegal-transition");
    assert_string_equal(json_string_value(json_array_get(json_object_get(j, "allowed_actions"), 0)),
                        "amend");
    json_decref(j);
    problem_clear(&p);
    assert_null(p.extensions);
}

/* The OpenAPI document (static/openapi.json, written by scripts/openapi.mjs
 * from lib/problems.def) lists exactly the catalogue this library was built
 * with: type, status and title, in order. */
static void openapi_lists_the_catalogue(void **state)
{
    (void)state;
    json_error_t err;
    json_t *doc = json_load_file(PURPOSED_SOURCE_DIR "/static/openapi.json", 0, &err);
    if (!doc) fail_msg("static/openapi.json: %s", err.text);
    json_t *problem = json_object_get(json_object_get(json_object_get(doc, "components"), "schemas"),
                                      "Problem");
    json_t *list = json_object_get(problem, "x-problem-types");
    json_t *enums = json_object_get(json_object_get(json_object_get(problem, "properties"), "type"),
                                    "enum");
    assert_non_null(list);
    assert_non_null(enums);
    if (json_array_size(list) != PROBLEM_COUNT - 1 || json_array_size(enums) != PROBLEM_COUNT - 1)
        fail_msg("static/openapi.json lists %zu problem types, the catalogue has %d: "
                 "run node scripts/openapi.mjs", json_array_size(list), PROBLEM_COUNT - 1);
    for (int c = PROBLEM_NONE + 1; c < PROBLEM_COUNT; c++) {
        const problem_kind_t *k = problem_kind((problem_code_t)c);
        json_t *e = json_array_get(list, (size_t)c - 1);
        char uri[128];
        snprintf(uri, sizeof uri, PROBLEM_TYPE_BASE "%s", k->slug);
        const char *type = json_string_value(json_object_get(e, "type"));
        const char *title = json_string_value(json_object_get(e, "title"));
        if (!type || strcmp(type, uri) != 0 || !title || strcmp(title, k->title) != 0 ||
            json_integer_value(json_object_get(e, "status")) != k->status ||
            strcmp(json_string_value(json_array_get(enums, (size_t)c - 1)), uri) != 0)
            fail_msg("static/openapi.json differs from lib/problems.def at %s: run node scripts/openapi.mjs",
                     k->slug);
    }
    json_decref(doc);
}

/* Waits are said in words, as a person would read them. */
static void durations_are_said_in_words(void **state)
{
    (void)state;
    static const struct { int seconds; const char *words; } cases[] = {
        {-5, "1 second"}, {0, "1 second"}, {1, "1 second"}, {2, "2 seconds"}, {59, "59 seconds"},
        {60, "1 minute"}, {61, "2 minutes"}, {894, "15 minutes"}, {3599, "1 hour"},
        {3600, "1 hour"}, {3660, "1 hour 1 minute"}, {7500, "2 hours 5 minutes"}, {86400, "24 hours"},
    };
    char buf[48];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(problem_duration_words(cases[i].seconds, buf, sizeof buf), cases[i].words);
    char small[6];
    assert_string_equal(problem_duration_words(894, small, sizeof small), "15 mi");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(starts_empty),
        cmocka_unit_test(set_formats_detail),
        cmocka_unit_test(long_detail_is_truncated_not_overflowed),
        cmocka_unit_test(collects_every_field_once),
        cmocka_unit_test(explicit_status_survives_finish),
        cmocka_unit_test(json_shape),
        cmocka_unit_test(field_names_with_non_ascii_are_kept),
        cmocka_unit_test(catalogue_entries_are_complete),
        cmocka_unit_test(catalogue_slugs_and_names_are_unique),
        cmocka_unit_test(every_code_answers_its_catalogue_line),
        cmocka_unit_test(fail_keeps_fields_and_tolerates_bad_input),
        cmocka_unit_test(extensions_add_members_but_never_replace_the_core),
        cmocka_unit_test(openapi_lists_the_catalogue),
        cmocka_unit_test(durations_are_said_in_words),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
