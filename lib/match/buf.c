/* match/buf.c: the growable string buffer of lib/match/ (the reasons'
 * sentences, the id arrays of the change statements). Kept in this one file
 * so that it can give way to a buffer type shared by all of lib/. */
#include <stdio.h>
#include <stdlib.h>

#include "match/internal.h"

void match_buf_addf(match_buf_t *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->buf ? b->buf + b->len : NULL, b->buf ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->buf && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 128;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *s = realloc(b->buf, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->buf = s;
        b->cap = cap;
    }
}

const char *match_buf_str(const match_buf_t *b) { return b->buf ? b->buf : ""; }

char *match_buf_detach(match_buf_t *b)
{
    char *s = b->failed ? NULL : b->buf;
    if (b->failed) free(b->buf);
    *b = (match_buf_t){0};
    return s;
}

void match_buf_release(match_buf_t *b)
{
    free(b->buf);
    *b = (match_buf_t){0};
}
