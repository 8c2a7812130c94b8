/* jsontext: compact JSON text in one pass (see jsontext.h). */
#include "jsontext.h"

#include <string.h>

size_t jsontext_compact(char *dst, const char *src, size_t len)
{
    size_t o = 0, i = 0;
    while (i < len) {
        char c = src[i];
        if (c != '"') { /* outside strings: drop whitespace */
            if (c != ' ' && c != '\n' && c != '\t' && c != '\r') dst[o++] = c;
            i++;
            continue;
        }
        /* a string: to its closing quote, the first one after an even
         * number of backslashes (memchr: strings are most of the bytes) */
        size_t end = i + 1;
        for (;;) {
            const char *q = memchr(src + end, '"', len - end);
            if (!q) {
                end = len;
                break;
            }
            size_t k = (size_t)(q - src), slashes = 0;
            while (k - slashes > i + 1 && src[k - slashes - 1] == '\\') slashes++;
            end = k + 1;
            if (slashes % 2 == 0) break;
        }
        memmove(dst + o, src + i, end - i);
        o += end - i;
        i = end;
    }
    return o;
}
