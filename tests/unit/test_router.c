/* Unit tests for lib/router: matching, parameters, 404 and 405 + Allow. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "router.h"

static int h1, h2, h3;
static route_t routes[] = {
    {"GET", "/api/v1/organisations", &h1, 1},
    {"POST", "/api/v1/organisations", &h2, 2},
    {"GET", "/api/v1/organisations/{slug}", &h3, 3},
    {"PATCH", "/api/v1/organisations/{slug}", &h3, 4},
    {"DELETE", "/api/v1/organisations/{slug}/members/{account_id}", &h1, 5},
};
#define N (sizeof routes / sizeof routes[0])

static void matches_literal_and_method(void **state)
{
    (void)state;
    route_match_t m;
    assert_int_equal(router_match(routes, N, "GET", "/api/v1/organisations", &m), 0);
    assert_ptr_equal(m.route->data, &h1);
    assert_int_equal(router_match(routes, N, "POST", "/api/v1/organisations", &m), 0);
    assert_ptr_equal(m.route->data, &h2);
    assert_int_equal(router_match(routes, N, "HEAD", "/api/v1/organisations", &m), 0);
}

static void extracts_parameters(void **state)
{
    (void)state;
    route_match_t m;
    assert_int_equal(router_match(routes, N, "DELETE", "/api/v1/organisations/acme/members/42", &m), 0);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(m.params[0], "acme");
    assert_string_equal(m.params[1], "42");
}

static void unknown_path_is_404(void **state)
{
    (void)state;
    route_match_t m;
    assert_int_equal(router_match(routes, N, "GET", "/api/v1/nothing", &m), -PROBLEM_NOT_FOUND);
    assert_int_equal(router_match(routes, N, "GET", "/api/v1/organisations/", &m), -PROBLEM_NOT_FOUND);
    assert_int_equal(router_match(routes, N, "GET", "/api/v1/organisations//x", &m), -PROBLEM_NOT_FOUND);
    assert_int_equal(router_match(routes, N, "GET", "", &m), -PROBLEM_NOT_FOUND);
    assert_int_equal(router_match(routes, N, "GET", "/api/v1/organisationsX", &m), -PROBLEM_NOT_FOUND);
}

static void wrong_method_is_405_with_allow(void **state)
{
    (void)state;
    route_match_t m;
    assert_int_equal(router_match(routes, N, "PUT", "/api/v1/organisations/acme", &m), -PROBLEM_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, PATCH");
    assert_int_equal(router_match(routes, N, "DELETE", "/api/v1/organisations", &m), -PROBLEM_METHOD_NOT_ALLOWED);
    assert_string_equal(m.allow, "GET, HEAD, POST");
}

static void overlong_parameter_is_404(void **state)
{
    (void)state;
    char path[600] = "/api/v1/organisations/";
    memset(path + strlen(path), 'a', 300);
    route_match_t m;
    assert_int_equal(router_match(routes, N, "GET", path, &m), -PROBLEM_NOT_FOUND);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matches_literal_and_method),
        cmocka_unit_test(extracts_parameters),
        cmocka_unit_test(unknown_path_is_404),
        cmocka_unit_test(wrong_method_is_405_with_allow),
        cmocka_unit_test(overlong_parameter_is_404),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
