/* Unit tests for lib/peers: the authority a block or a limit keys on, and
 * the per-instance limits of inbox POSTs and fetches at their boundary (N a
 * minute pass at once, the N + 1st waits 60/N seconds), each instance and
 * each kind counted apart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "peers.h"

static void authority_of_a_url(void **state)
{
    (void)state;
    char a[PEERS_AUTHORITY_MAX];
    assert_true(peers_authority("https://Social.Example/users/alice#main-key", a));
    assert_string_equal(a, "social.example");
    assert_true(peers_authority("http://127.0.0.1:8442/inbox", a));
    assert_string_equal(a, "127.0.0.1:8442");
    assert_true(peers_authority("https://user:pw@host.example:443?x", a));
    assert_string_equal(a, "host.example:443");
    assert_true(peers_authority("spam.example", a)); /* an authority as is */
    assert_string_equal(a, "spam.example");
    assert_false(peers_authority("https:///nohost", a));
    assert_false(peers_authority(NULL, a));
    char longer[400] = "https://";
    memset(longer + 8, 'a', 320);
    longer[328] = '\0';
    assert_false(peers_authority(longer, a));
}

static void inbox_limit_at_its_boundary(void **state)
{
    (void)state;
    peers_configure(3, 0);
    int retry = -1;
    for (int i = 0; i < 3; i++) assert_true(peers_inbox_take("a.example", &retry));
    assert_false(peers_inbox_take("a.example", &retry));
    assert_int_equal(retry, 20); /* one more each 60/3 s */
    /* another instance has its own minute */
    assert_true(peers_inbox_take("b.example", &retry));
    /* fetches are not limited here (0) */
    for (int i = 0; i < 100; i++) assert_true(peers_fetch_take("a.example", &retry));
}

static void fetch_limit_at_its_boundary(void **state)
{
    (void)state;
    peers_configure(0, 2);
    int retry = -1;
    assert_true(peers_fetch_take("c.example", &retry));
    assert_true(peers_fetch_take("c.example", &retry));
    assert_false(peers_fetch_take("c.example", &retry));
    assert_int_equal(retry, 30);
    assert_true(peers_fetch_take("d.example:8443", &retry));
    for (int i = 0; i < 100; i++) assert_true(peers_inbox_take("c.example", &retry));
}

static void no_limit_when_zero(void **state)
{
    (void)state;
    peers_configure(0, 0);
    int retry = -1;
    for (int i = 0; i < 1000; i++) {
        assert_true(peers_inbox_take("e.example", &retry));
        assert_true(peers_fetch_take("e.example", &retry));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(authority_of_a_url),
        cmocka_unit_test(inbox_limit_at_its_boundary),
        cmocka_unit_test(fetch_limit_at_its_boundary),
        cmocka_unit_test(no_limit_when_zero),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    peers_configure(0, 0);
    return rc;
}
