/* Unit tests for lib/auth: session tokens and their hashes, CSRF comparison,
 * cookie parsing, and password hashing with small limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "auth.h"

static bool is_base64url(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_'))
            return false;
    return true;
}

static void token_is_43_base64url_characters_and_fresh(void **state)
{
    (void)state;
    char a[AUTH_TOKEN_TEXT], b[AUTH_TOKEN_TEXT];
    auth_token_new(a);
    auth_token_new(b);
    assert_int_equal(strlen(a), AUTH_TOKEN_TEXT - 1);
    assert_true(is_base64url(a));
    assert_string_not_equal(a, b);
}

static void token_hash_is_a_stable_bytea_literal(void **state)
{
    (void)state;
    char token[AUTH_TOKEN_TEXT], h1[AUTH_HASH_HEX], h2[AUTH_HASH_HEX], other[AUTH_TOKEN_TEXT],
        h3[AUTH_HASH_HEX];
    auth_token_new(token);
    assert_int_equal(auth_token_hash(token, h1), 0);
    assert_int_equal(auth_token_hash(token, h2), 0);
    assert_string_equal(h1, h2);
    assert_int_equal(strlen(h1), AUTH_HASH_HEX - 1);
    assert_memory_equal(h1, "\\x", 2);
    for (const char *c = h1 + 2; *c; c++) assert_non_null(strchr("0123456789abcdef", *c));
    assert_null(strstr(h1, token));
    auth_token_new(other);
    assert_int_equal(auth_token_hash(other, h3), 0);
    assert_string_not_equal(h1, h3);
}

static void token_hash_rejects_malformed_tokens(void **state)
{
    (void)state;
    char h[AUTH_HASH_HEX], token[AUTH_TOKEN_TEXT], bad[AUTH_TOKEN_TEXT + 8];
    auth_token_new(token);
    assert_int_equal(auth_token_hash(NULL, h), -PROBLEM_UNAUTHORISED);
    assert_int_equal(auth_token_hash("", h), -PROBLEM_UNAUTHORISED);
    assert_int_equal(auth_token_hash("short", h), -PROBLEM_UNAUTHORISED);
    /* one character too long and too short */
    snprintf(bad, sizeof bad, "%sA", token);
    assert_int_equal(auth_token_hash(bad, h), -PROBLEM_UNAUTHORISED);
    snprintf(bad, sizeof bad, "%.*s", AUTH_TOKEN_TEXT - 2, token);
    assert_int_equal(auth_token_hash(bad, h), -PROBLEM_UNAUTHORISED);
    /* right length, characters outside base64url */
    memcpy(bad, token, AUTH_TOKEN_TEXT);
    bad[10] = '+';
    assert_int_equal(auth_token_hash(bad, h), -PROBLEM_UNAUTHORISED);
    bad[10] = '=';
    assert_int_equal(auth_token_hash(bad, h), -PROBLEM_UNAUTHORISED);
    bad[10] = ' ';
    assert_int_equal(auth_token_hash(bad, h), -PROBLEM_UNAUTHORISED);
}

static void csrf_tokens_are_64_hex_and_compare_exactly(void **state)
{
    (void)state;
    char a[AUTH_CSRF_TEXT], b[AUTH_CSRF_TEXT], c[AUTH_CSRF_TEXT];
    auth_csrf_new(a);
    auth_csrf_new(b);
    assert_int_equal(strlen(a), 64);
    for (const char *s = a; *s; s++) assert_non_null(strchr("0123456789abcdef", *s));
    assert_string_not_equal(a, b);
    memcpy(c, a, sizeof c);
    assert_true(auth_csrf_equal(a, c));
    assert_false(auth_csrf_equal(a, b));
    c[63] = c[63] == '0' ? '1' : '0';
    assert_false(auth_csrf_equal(a, c)); /* last character differs */
    char prefix[AUTH_CSRF_TEXT];
    snprintf(prefix, sizeof prefix, "%.32s", a);
    assert_false(auth_csrf_equal(a, prefix)); /* a prefix is not equal */
    char longer[AUTH_CSRF_TEXT + 2];
    snprintf(longer, sizeof longer, "%sx", a);
    assert_false(auth_csrf_equal(a, longer));
}

static void csrf_equal_refuses_null_and_empty(void **state)
{
    (void)state;
    assert_false(auth_csrf_equal(NULL, "abc"));
    assert_false(auth_csrf_equal("abc", NULL));
    assert_false(auth_csrf_equal(NULL, NULL));
    assert_false(auth_csrf_equal("", ""));
    assert_false(auth_csrf_equal("abc", ""));
    assert_true(auth_csrf_equal("abc", "abc"));
}

static void cookie_value_among_several(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(auth_cookie_value("session=abc", "session", out, sizeof out), 0);
    assert_string_equal(out, "abc");
    assert_int_equal(auth_cookie_value("theme=dark; session=xyz; lang=fr", "session", out, sizeof out), 0);
    assert_string_equal(out, "xyz");
    assert_int_equal(auth_cookie_value("a=1;session=last", "session", out, sizeof out), 0);
    assert_string_equal(out, "last");
    /* a name that only ends or starts with "session" is another cookie */
    assert_int_equal(auth_cookie_value("xsession=no; sessionx=no; session=yes", "session", out, sizeof out), 0);
    assert_string_equal(out, "yes");
    /* the first of two wins; an empty value is a value */
    assert_int_equal(auth_cookie_value("session=one; session=two", "session", out, sizeof out), 0);
    assert_string_equal(out, "one");
    assert_int_equal(auth_cookie_value("session=; a=b", "session", out, sizeof out), 0);
    assert_string_equal(out, "");
}

static void cookie_value_missing(void **state)
{
    (void)state;
    char out[64];
    assert_int_equal(auth_cookie_value(NULL, "session", out, sizeof out), -PROBLEM_UNAUTHORISED);
    assert_int_equal(auth_cookie_value("", "session", out, sizeof out), -PROBLEM_UNAUTHORISED);
    assert_int_equal(auth_cookie_value("theme=dark; lang=fr", "session", out, sizeof out), -PROBLEM_UNAUTHORISED);
    assert_int_equal(auth_cookie_value("session", "session", out, sizeof out), -PROBLEM_UNAUTHORISED);
    assert_int_equal(auth_cookie_value("session; theme=session=x", "session", out, sizeof out), -PROBLEM_UNAUTHORISED);
    assert_int_equal(auth_cookie_value(";;; ;", "session", out, sizeof out), -PROBLEM_UNAUTHORISED);
    assert_int_equal(auth_cookie_value("theme=dark; ", "session", out, sizeof out), -PROBLEM_UNAUTHORISED);
}

static void cookie_value_overlong_is_refused(void **state)
{
    (void)state;
    char out[8];
    assert_int_equal(auth_cookie_value("session=1234567", "session", out, sizeof out), 0);
    assert_string_equal(out, "1234567");
    assert_int_equal(auth_cookie_value("session=12345678", "session", out, sizeof out), -PROBLEM_UNAUTHORISED);
    char header[5000] = "a=b; session=";
    memset(header + strlen(header), 'z', 4000);
    char big[128];
    assert_int_equal(auth_cookie_value(header, "session", big, sizeof big), -PROBLEM_UNAUTHORISED);
}

static void password_hash_verify_and_rehash(void **state)
{
    (void)state;
    char hash[crypto_pwhash_STRBYTES], again[crypto_pwhash_STRBYTES];
    assert_int_equal(auth_password_hash("correct horse battery", hash), 0);
    assert_int_equal(strncmp(hash, "$argon2id$", 10), 0);
    assert_non_null(strstr(hash, "m=8,t=1,p=1"));
    assert_true(auth_password_verify(hash, "correct horse battery"));
    assert_false(auth_password_verify(hash, "correct horse batterY"));
    assert_false(auth_password_verify(hash, ""));
    assert_false(auth_password_verify("not a hash", "correct horse battery"));
    /* salted: the same password hashes differently */
    assert_int_equal(auth_password_hash("correct horse battery", again), 0);
    assert_string_not_equal(hash, again);
    assert_true(auth_password_verify(again, "correct horse battery"));
    /* made with the configured limits: no rehash; other limits or garbage: rehash */
    assert_false(auth_password_needs_rehash(hash));
    char stronger[crypto_pwhash_STRBYTES];
    assert_int_equal(crypto_pwhash_str(stronger, "pw", 2, 2, 16384), 0);
    assert_true(auth_password_needs_rehash(stronger));
    assert_true(auth_password_needs_rehash("not a hash"));
    /* after raising the limits, the old hash needs a rehash */
    auth_configure(2, 8192);
    assert_true(auth_password_needs_rehash(hash));
    auth_configure(1, 8192);
}

static void password_burn_does_not_crash(void **state)
{
    (void)state;
    auth_password_burn("anything at all");
    auth_password_burn("");
}

static int setup(void **state)
{
    (void)state;
    if (sodium_init() < 0) return -1;
    auth_configure(1, 8192);
    return 0;
}

static void secret_fields_are_recognised(void **state)
{
    (void)state;
    assert_true(auth_secret_field("password"));
    assert_true(auth_secret_field("new_password"));
    assert_true(auth_secret_field("current_password"));
    assert_true(auth_secret_field("Client_Secret"));
    assert_true(auth_secret_field("api_token"));
    assert_true(auth_secret_field("PASSPHRASE"));
    assert_false(auth_secret_field("email"));
    assert_false(auth_secret_field("display_name"));
    assert_false(auth_secret_field("pass"));
    assert_false(auth_secret_field(""));
    assert_false(auth_secret_field(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_is_43_base64url_characters_and_fresh),
        cmocka_unit_test(token_hash_is_a_stable_bytea_literal),
        cmocka_unit_test(token_hash_rejects_malformed_tokens),
        cmocka_unit_test(csrf_tokens_are_64_hex_and_compare_exactly),
        cmocka_unit_test(csrf_equal_refuses_null_and_empty),
        cmocka_unit_test(cookie_value_among_several),
        cmocka_unit_test(cookie_value_missing),
        cmocka_unit_test(cookie_value_overlong_is_refused),
        cmocka_unit_test(password_hash_verify_and_rehash),
        cmocka_unit_test(password_burn_does_not_crash),
        cmocka_unit_test(secret_fields_are_recognised),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
