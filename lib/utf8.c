/* utf8: the one UTF-8 decoder (see utf8.h); every validity check, character
 * count and cut in the code goes through it. */
#include "utf8.h"

#include <string.h>

size_t utf8_char_bytes(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    if (n == 0) return 0;
    unsigned c = u[0];
    if (c < 0x80) return 1;
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || len > n) return 0;
    unsigned cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xC0) != 0x80) return 0; /* also stops at a NUL */
        cp = (cp << 6) | (u[i] & 0x3F);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000))
        return 0; /* overlong */
    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return len;
}

/* A NUL ends the text before any continuation byte is missing, so a
 * NUL-terminated string may be read with no bound. */
#define UTF8_MAX_BYTES 4

bool utf8_valid(const char *s)
{
    while (*s) {
        size_t len = utf8_char_bytes(s, UTF8_MAX_BYTES);
        if (!len) return false;
        s += len;
    }
    return true;
}

size_t utf8_length(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80) n++;
    return n;
}

size_t utf8_prefix(const char *s, size_t len, size_t max)
{
    if (len <= max) return len;
    size_t cut = max;
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80) cut--;
    return cut;
}

void utf8_repair(char *s)
{
    while (*s) {
        size_t len = utf8_char_bytes(s, UTF8_MAX_BYTES);
        if (!len) {
            *s++ = '?';
            continue;
        }
        s += len;
    }
}
