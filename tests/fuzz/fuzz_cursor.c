/* fuzz_cursor: cursor_decode on arbitrary text never crashes and returns
 * only arrays of nkeys strings/integers; any array of strings and integers
 * that cursor_encode accepts decodes back to the same keys. */
#include <assert.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cursor.h"

static int g_ready;

static int keys_ok(const json_t *a)
{
    if (!json_is_array(a)) return 0;
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) {
        if (!json_is_string(v) && !json_is_integer(v)) return 0;
    }
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) {
        if (sodium_init() < 0) abort();
        cursor_configure("fuzz-secret");
        g_ready = 1;
    }
    if (size < 1) return 0;
    size_t nkeys = data[0] % 4;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';

    /* 1. arbitrary text as a cursor */
    json_t *keys = cursor_decode(text, nkeys);
    if (keys) {
        assert(keys_ok(keys) && json_array_size(keys) == nkeys);
        char *again = cursor_encode(keys);
        assert(again);
        json_t *k2 = cursor_decode(again, nkeys);
        assert(k2 && json_equal(keys, k2));
        json_decref(k2);
        free(again);
        json_decref(keys);
    }

    /* 2. the text as JSON keys: encode, then decode must give them back */
    json_error_t err;
    json_t *j = json_loadb(text, size - 1, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &err);
    if (j && keys_ok(j)) {
        char *c = cursor_encode(j);
        if (c) {
            assert(strlen(c) <= CURSOR_MAX_LEN);
            json_t *back = cursor_decode(c, json_array_size(j));
            assert(back && json_equal(back, j));
            json_decref(back);
            /* one flipped character is refused (or, for the last one, harmless) */
            size_t n = strlen(c);
            size_t at = nkeys * 7919 % n;
            c[at] = c[at] == 'A' ? 'B' : 'A';
            json_t *bad = cursor_decode(c, json_array_size(j));
            assert(!bad || (at == n - 1 && json_equal(bad, j)));
            json_decref(bad);
            free(c);
        }
    }
    json_decref(j);
    free(text);
    return 0;
}
