/* cursor: sign, encode and verify pagination cursors. */
#include "cursor.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LEN 12

static unsigned char g_key[crypto_generichash_KEYBYTES];

void cursor_configure(const char *secret)
{
    crypto_generichash(g_key, sizeof g_key, (const unsigned char *)secret, strlen(secret), NULL, 0);
}

static void tag_of(const unsigned char *msg, size_t len, unsigned char tag[TAG_LEN])
{
    crypto_generichash(tag, TAG_LEN, msg, len, g_key, sizeof g_key);
}

char *cursor_encode(const json_t *keys)
{
    char *payload = json_dumps(keys, JSON_COMPACT);
    if (!payload) return NULL;
    size_t plen = strlen(payload);
    size_t raw_len = plen + TAG_LEN;
    unsigned char *raw = malloc(raw_len);
    if (!raw) {
        free(payload);
        return NULL;
    }
    memcpy(raw, payload, plen);
    tag_of(raw, plen, raw + plen);
    free(payload);
    size_t out_len = sodium_base64_ENCODED_LEN(raw_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    if (out_len - 1 > CURSOR_MAX_LEN) { /* cursor_decode would refuse it */
        free(raw);
        return NULL;
    }
    char *out = malloc(out_len);
    if (out) sodium_bin2base64(out, out_len, raw, raw_len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    free(raw);
    return out;
}

json_t *cursor_decode(const char *cursor, size_t nkeys)
{
    if (!cursor) return NULL;
    size_t clen = strlen(cursor);
    if (clen == 0 || clen > CURSOR_MAX_LEN) return NULL;
    unsigned char raw[CURSOR_MAX_LEN];
    size_t raw_len = 0;
    if (sodium_base642bin(raw, sizeof raw, cursor, clen, NULL, &raw_len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return NULL;
    if (raw_len <= TAG_LEN) return NULL;
    size_t plen = raw_len - TAG_LEN;
    unsigned char tag[TAG_LEN];
    tag_of(raw, plen, tag);
    if (sodium_memcmp(tag, raw + plen, TAG_LEN) != 0) return NULL;
    json_error_t err;
    json_t *keys = json_loadb((const char *)raw, plen, JSON_REJECT_DUPLICATES, &err);
    if (!keys || !json_is_array(keys) || json_array_size(keys) != nkeys) {
        json_decref(keys);
        return NULL;
    }
    size_t i;
    json_t *v;
    json_array_foreach(keys, i, v) {
        if (!json_is_string(v) && !json_is_integer(v)) {
            json_decref(keys);
            return NULL;
        }
    }
    return keys;
}
