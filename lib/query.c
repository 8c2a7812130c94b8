/* query: %HH decoding and strict integer/boolean query values. */
#include "query.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

size_t query_unescape(char *s)
{
    char *r = s, *w = s;
    while (*r) {
        int hi, lo;
        if (r[0] == '%' && (hi = hex_value(r[1])) >= 0 && (lo = hex_value(r[2])) >= 0) {
            char c = (char)(hi * 16 + lo);
            *w++ = c == '\0' ? '\x7f' : c;
            r += 3;
        } else {
            *w++ = *r++;
        }
    }
    *w = '\0';
    return (size_t)(w - s);
}

int query_int(const char *value, int lo, int hi, int def, int *out)
{
    if (!value) {
        *out = def;
        return 0;
    }
    if (!*value) return -PROBLEM_BAD_QUERY;
    long long n = 0;
    for (const char *c = value; *c; c++) {
        if (*c < '0' || *c > '9') return -PROBLEM_BAD_QUERY;
        n = n * 10 + (*c - '0');
        if (n > hi) return -PROBLEM_BAD_QUERY; /* also stops overflow */
    }
    if (n < lo) return -PROBLEM_BAD_QUERY;
    *out = (int)n;
    return 0;
}

int query_bool(const char *value, bool def, bool *out)
{
    if (!value) {
        *out = def;
        return 0;
    }
    if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes")) {
        *out = true;
        return 0;
    }
    if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no")) {
        *out = false;
        return 0;
    }
    return -PROBLEM_BAD_QUERY;
}
