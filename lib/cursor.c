/* cursor: sign, encode and verify pagination cursors, and check their keys. */
#include "cursor.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define TAG_LEN 12

static unsigned char g_key[crypto_generichash_KEYBYTES];
static atomic_bool g_ready;
static cursor_secret_loader_t g_loader;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_key(const char *secret)
{
    crypto_generichash(g_key, sizeof g_key, (const unsigned char *)secret, strlen(secret), NULL, 0);
    atomic_store_explicit(&g_ready, true, memory_order_release);
}

void cursor_configure(const char *secret)
{
    pthread_mutex_lock(&g_lock);
    set_key(secret);
    pthread_mutex_unlock(&g_lock);
}

void cursor_set_loader(cursor_secret_loader_t load)
{
    pthread_mutex_lock(&g_lock);
    g_loader = load;
    pthread_mutex_unlock(&g_lock);
}

bool cursor_ready(void)
{
    if (atomic_load_explicit(&g_ready, memory_order_acquire)) return true;
    pthread_mutex_lock(&g_lock);
    if (!atomic_load_explicit(&g_ready, memory_order_relaxed) && g_loader) {
        char secret[256];
        if (g_loader(secret, sizeof secret) == 0) set_key(secret);
        sodium_memzero(secret, sizeof secret);
    }
    pthread_mutex_unlock(&g_lock);
    return atomic_load_explicit(&g_ready, memory_order_acquire);
}

static void tag_of(const unsigned char *msg, size_t len, unsigned char tag[TAG_LEN])
{
    crypto_generichash(tag, TAG_LEN, msg, len, g_key, sizeof g_key);
}

char *cursor_encode(const json_t *keys)
{
    if (!cursor_ready()) return NULL;
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
    if (!cursor || !cursor_ready()) return NULL;
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

/* ---------- the kinds of key ---------- */

/* n decimal digits at s, as a number (n <= 4). */
static int digits(const char *s, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    return month == 2 && leap ? 29 : days[month - 1];
}

/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" as cursor_time() (migration 0003) writes it. */
static bool time_valid(const char *s)
{
    if (strlen(s) != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != '.' || s[26] != 'Z' || digits(s + 20, 3) < 0 ||
        digits(s + 23, 3) < 0)
        return false;
    int year = digits(s, 4), month = digits(s + 5, 2), day = digits(s + 8, 2);
    int hour = digits(s + 11, 2), minute = digits(s + 14, 2), second = digits(s + 17, 2);
    return year >= 1 && month >= 1 && month <= 12 && day >= 1 &&
           day <= days_in_month(year, month) && hour >= 0 && hour <= 23 && minute >= 0 &&
           minute <= 59 && second >= 0 && second <= 59;
}

/* A decimal integer (optional '-' when negative is true) within [lo, hi]. */
static bool integer_in(const char *s, bool negative, long long lo, long long hi)
{
    const char *d = s;
    if (negative && *d == '-') d++;
    size_t n = strspn(d, "0123456789");
    if (n == 0 || n > 19 || d[n] != '\0') return false;
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0' && v >= lo && v <= hi;
}

/* The µs of 0001-01-01T00:00:00Z and 9999-12-31T23:59:59.999999Z. */
#define MICROS_MIN (-62135596800000000LL)
#define MICROS_MAX 253402300799999999LL

/* A PostgreSQL real as text (digits, '.', an exponent): finite, >= 0, and
 * either 0 or within what a real holds without rounding to 0 or overflow. */
static bool rank_valid(const char *s)
{
    if (!*s || strspn(s, "0123456789.eE+-") != strlen(s) || !(s[0] >= '0' && s[0] <= '9'))
        return false;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v) || v < 0) return false;
    return v == 0 || (v >= 1e-37 && v <= 3e38);
}

bool cursor_key_valid(char kind, const char *text)
{
    if (!text) return false;
    switch (kind) {
    case 't': return true;
    case 'i': return integer_in(text, false, 0, INT64_MAX);
    case 'd': return time_valid(text);
    case 'u': return integer_in(text, true, MICROS_MIN, MICROS_MAX);
    case 'r': return rank_valid(text);
    default: return false;
    }
}
