/* Unit tests for lib/verification's pure parts: the token's form, and
 * finding <meta name="purposed-verification" content="TOKEN"> in a page
 * however the page writes it (and not where it is not). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "verification.h"

#define TOKEN "purposed-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcde"

static void token_form(void **state)
{
    (void)state;
    char a[VERIFICATION_TOKEN_TEXT], b[VERIFICATION_TOKEN_TEXT];
    verification_token_new(a);
    verification_token_new(b);
    assert_int_equal(strlen(a), strlen(VERIFICATION_TOKEN_PREFIX) + 43);
    assert_memory_equal(a, VERIFICATION_TOKEN_PREFIX, strlen(VERIFICATION_TOKEN_PREFIX));
    assert_int_equal(strspn(a + strlen(VERIFICATION_TOKEN_PREFIX),
                            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"),
                     43);
    assert_string_not_equal(a, b);
}

static void meta_found_however_written(void **state)
{
    (void)state;
    static const char *const pages[] = {
        "<html><head><meta name=\"purposed-verification\" content=\"" TOKEN "\"></head></html>",
        "<META NAME=\"Purposed-Verification\" CONTENT=\"" TOKEN "\">",
        "<meta content='" TOKEN "' name='purposed-verification' />",
        "<meta\n\tname = purposed-verification\n content=" TOKEN ">",
        "<meta name=\"purposed-verification\" content=\" " TOKEN " \">",
        /* another tag with another token first: the right one still counts */
        "<meta name=\"purposed-verification\" content=\"old\"><meta name=\"purposed-verification\" content=\"" TOKEN "\">",
        "<meta charset=utf-8><meta name=description content=\"x\"><meta name=purposed-verification content=" TOKEN " />",
    };
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
        if (verification_find_meta(pages[i], TOKEN) != VERIFICATION_META_MATCH)
            fail_msg("page %zu: the token was not found in %s", i, pages[i]);
    }
}

static void meta_other_or_none(void **state)
{
    (void)state;
    /* a tag of the right name with something else */
    assert_int_equal(verification_find_meta("<meta name=\"purposed-verification\" content=\"purposed-x\">", TOKEN),
                     VERIFICATION_META_OTHER);
    assert_int_equal(verification_find_meta("<meta name=\"purposed-verification\" content=\"" TOKEN "x\">", TOKEN),
                     VERIFICATION_META_OTHER);
    assert_int_equal(verification_find_meta("<meta name=\"purposed-verification\">", TOKEN),
                     VERIFICATION_META_OTHER);
    /* the start of the token is not the token */
    assert_int_equal(verification_find_meta("<meta name=\"purposed-verification\" content=\"purposed-AbCd\">", TOKEN),
                     VERIFICATION_META_OTHER);
    assert_int_equal(verification_find_meta("<meta name=\"purposed-verification\" content=\"\">", TOKEN),
                     VERIFICATION_META_OTHER);
    /* the token elsewhere is not a tag */
    static const char *const none[] = {
        "",
        "no tags at all " TOKEN,
        "<p>" TOKEN "</p>",
        "<meta name=\"description\" content=\"" TOKEN "\">",
        "<meta name=\"purposed-verification-x\" content=\"" TOKEN "\">",
        "<metadata name=\"purposed-verification\" content=\"" TOKEN "\">",
        "<div name=\"purposed-verification\" content=\"" TOKEN "\">",
        /* cut short anywhere: no crash, no match */
        "<meta",
        "<meta name=\"purposed-verification",
        "<meta name=",
        "<meta content=\"" TOKEN,
    };
    for (size_t i = 0; i < sizeof none / sizeof *none; i++) {
        verification_meta_t got = verification_find_meta(none[i], TOKEN);
        if (got == VERIFICATION_META_MATCH) fail_msg("case %zu: found a token in %s", i, none[i]);
    }
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(token_form),
        cmocka_unit_test(meta_found_however_written),
        cmocka_unit_test(meta_other_or_none),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
