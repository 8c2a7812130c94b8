/* Unit tests for lib/problem: status, field errors collected in order and
 * without duplicates, the 422 finish and the problem+json shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
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
    problem_set(&p, 404, "not-found", "Not found", "No such %s: %d.", "thing", 7);
    assert_int_equal(p.status, 404);
    assert_string_equal(p.type, "not-found");
    assert_string_equal(p.title, "Not found");
    assert_string_equal(p.detail, "No such thing: 7.");
    problem_set(&p, 409, "conflict", "Conflict", NULL);
    assert_string_equal(p.detail, "");
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
    problem_set(&p, 400, big, big, "%s", big);
    assert_int_equal(strlen(p.detail), sizeof p.detail - 1);
    assert_int_equal(strlen(p.type), sizeof p.type - 1);
    assert_int_equal(strlen(p.title), sizeof p.title - 1);
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
    problem_set(&p, 400, "bad-query", "Bad query parameter", "limit must be 1 to 100.");
    problem_finish_validation(&p);
    assert_int_equal(p.status, 400);
    assert_true(problem_has_fields(&p)); /* problem_set keeps field errors */
    problem_clear(&p);
}

static void json_shape(void **state)
{
    (void)state;
    problem_t p;
    problem_init(&p);
    problem_field(&p, "slug", "is taken");
    problem_set(&p, 409, "conflict", "Conflict", "The slug is taken.");
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

    /* no detail, no errors: both keys absent; empty type/title get defaults */
    problem_init(&p);
    problem_set(&p, 500, "", "", NULL);
    j = problem_to_json(&p);
    assert_null(json_object_get(j, "detail"));
    assert_null(json_object_get(j, "errors"));
    assert_string_equal(json_string_value(json_object_get(j, "type")),
                        "https://purposed.dev/problems/error");
    assert_string_equal(json_string_value(json_object_get(j, "title")), "Error");
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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
