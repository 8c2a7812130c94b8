/* strbuf: the growable string buffer (see strbuf.h); allocation failure
 * sets a sticky flag instead of being reported by every append. */
#include "strbuf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STRBUF_FIRST 64

void strbuf_init(strbuf_t *sb, size_t hint)
{
    *sb = (strbuf_t)STRBUF_INIT;
    if (hint) strbuf_reserve(sb, hint);
}

static void strbuf_fail(strbuf_t *sb)
{
    free(sb->buf);
    *sb = (strbuf_t)STRBUF_INIT;
    sb->failed = true;
}

bool strbuf_reserve(strbuf_t *sb, size_t more)
{
    if (sb->failed) return false;
    if (more > SIZE_MAX / 2 - 1 - sb->len) {
        strbuf_fail(sb);
        return false;
    }
    size_t need = sb->len + more + 1;
    if (need <= sb->cap) return true;
    size_t cap = sb->cap ? sb->cap : STRBUF_FIRST;
    while (cap < need) cap *= 2;
    char *s = realloc(sb->buf, cap);
    if (!s) {
        strbuf_fail(sb);
        return false;
    }
    if (!sb->buf) s[0] = '\0';
    sb->buf = s;
    sb->cap = cap;
    return true;
}

void strbuf_add(strbuf_t *sb, const void *data, size_t n)
{
    if (!strbuf_reserve(sb, n)) return;
    if (n) memcpy(sb->buf + sb->len, data, n);
    sb->len += n;
    sb->buf[sb->len] = '\0';
}

void strbuf_addstr(strbuf_t *sb, const char *s) { strbuf_add(sb, s, strlen(s)); }

void strbuf_addch(strbuf_t *sb, char c) { strbuf_add(sb, &c, 1); }

void strbuf_vaddf(strbuf_t *sb, const char *fmt, va_list ap)
{
    if (sb->failed) return;
    va_list again;
    va_copy(again, ap);
    size_t room = sb->buf ? sb->cap - sb->len : 0;
    int n = vsnprintf(sb->buf ? sb->buf + sb->len : NULL, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room && strbuf_reserve(sb, (size_t)n))
        n = vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, again);
    va_end(again);
    if (sb->failed) return; /* reserve failed */
    if (n < 0) {
        strbuf_fail(sb); /* an encoding error: the text would be wrong */
        return;
    }
    sb->len += (size_t)n;
}

void strbuf_addf(strbuf_t *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

const char *strbuf_str(const strbuf_t *sb) { return sb->buf ? sb->buf : ""; }

void strbuf_reset(strbuf_t *sb)
{
    sb->failed = false;
    sb->len = 0;
    if (sb->buf) sb->buf[0] = '\0';
}

char *strbuf_detach(strbuf_t *sb, size_t *len)
{
    if (!sb->failed && !sb->buf) strbuf_reserve(sb, 0);
    char *s = sb->failed ? NULL : sb->buf;
    if (sb->failed) free(sb->buf); /* NULL already, unless failed was set by hand */
    if (len) *len = s ? sb->len : 0;
    *sb = (strbuf_t)STRBUF_INIT;
    return s;
}

void strbuf_release(strbuf_t *sb)
{
    free(sb->buf);
    *sb = (strbuf_t)STRBUF_INIT;
}
