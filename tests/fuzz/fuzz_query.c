/* fuzz_query: %HH decoding against a naive reference decoder, and the strict
 * integer and boolean readers against what they promise. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "query.h"

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s);

    /* reference decoder into a separate buffer */
    char *ref = malloc(len + 1);
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] == '%' && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            int c = hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]);
            ref[o++] = c == 0 ? '\x7f' : (char)c;
            i += 2;
        } else {
            ref[o++] = s[i];
        }
    }
    ref[o] = '\0';

    char *dec = strdup(s);
    size_t n = query_unescape(dec);
    assert(n == o && memcmp(dec, ref, o + 1) == 0);
    assert(strlen(dec) == n); /* never an early NUL */

    int v = -7;
    if (query_int(s, 1, 100, 20, &v) == 0) {
        assert(v >= 1 && v <= 100 && len >= 1);
        for (size_t i = 0; i < len; i++) assert(s[i] >= '0' && s[i] <= '9');
        assert(atoi(s) == v);
    } else {
        assert(v == -7);
    }
    bool b = false;
    if (query_bool(s, false, &b) == 0) {
        assert(len >= 1 && len <= 5);
        assert(b == (strchr("1ty", s[0]) != NULL));
    }
    free(dec);
    free(ref);
    free(s);
    return 0;
}
