/* Unit tests for lib/chain's hashing: a link's header and an entry's content
 * hash to what an outside verifier computes (the expected values are npm
 * canonicalize + node:crypto SHA-256 of the same values, as
 * tests/api/credentials-world.mjs does), including the first link's null
 * previous_hash, non-ASCII text, reals and member order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "chain.h"

static void header_hash(const char *chain, long long subject, long long seq, const char *kind,
                        const char *entry, const char *content_hash, const char *previous,
                        const char *expected)
{
    json_t *h = chain_link_header(chain, subject, NULL, seq, kind, entry, content_hash, previous);
    assert_non_null(h);
    char out[CHAIN_HASH_HEX], err[128];
    assert_true(chain_hash_hex(h, out, err, sizeof err));
    assert_string_equal(out, expected);
    json_decref(h);
}

static void test_link_headers(void **state)
{
    (void)state;
    char ab[65], cd[65], zero[65];
    for (int i = 0; i < 64; i += 2) {
        memcpy(ab + i, "ab", 2);
        memcpy(cd + i, "cd", 2);
        memcpy(zero + i, "00", 2);
    }
    ab[64] = cd[64] = zero[64] = '\0';
    header_hash("agreement", 7, 2, "closure", "agent", ab, cd,
                "d40ae1e74176e250785e87d4690e3ff59790c08e7cab10eb33abdc168e68882a");
    header_hash("charter", 3, 1, "charter_version", "1", zero, NULL,
                "3e9bf2829c4ab01ce09568c4ea6124a7ac120c5e2dd145a6f3fafeee9de30ea6");
    /* one field changed is another hash */
    json_t *h = chain_link_header("agreement", 7, NULL, 3, "closure", "agent", ab, cd);
    char out[CHAIN_HASH_HEX], err[128];
    assert_true(chain_hash_hex(h, out, err, sizeof err));
    assert_string_not_equal(out, "d40ae1e74176e250785e87d4690e3ff59790c08e7cab10eb33abdc168e68882a");
    json_decref(h);
}

static void test_content_hash(void **state)
{
    (void)state;
    json_t *content = json_loads(
        "{\"a\": -0.0, \"\\u20ac\": true, \"purposes\": [\"b\", \"a\"], \"review_on\": null,"
        " \"rewards\": {\"non_cash\": [], \"cash\": {\"currency\": \"EUR\", \"max\": 1e21, \"min\": 12.5}},"
        " \"role\": \"Pompiste \\u00e9 \\ud83d\\ude00\", \"version\": 1}", 0, NULL);
    assert_non_null(content);
    char out[CHAIN_HASH_HEX], err[128];
    assert_true(chain_hash_hex(content, out, err, sizeof err));
    assert_string_equal(out, "4f60488f2f5932bfc147f416195bdbecc59c42da815a8bbbb27f3ba2e468500a");
    json_decref(content);
    /* what JCS refuses is refused, never hashed some other way */
    json_t *big = json_pack("{s:I}", "n", (json_int_t)9007199254740993LL);
    assert_false(chain_hash_hex(big, out, err, sizeof err));
    json_decref(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_headers),
        cmocka_unit_test(test_content_hash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
