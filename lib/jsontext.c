/* jsontext: compact JSON text in one pass (see jsontext.h). */
#include "jsontext.h"

#include <string.h>

size_t jsontext_compact(char *dst, const char *src, size_t len)
{
    size_t o = 0, i = 0;
    while (i < len) {
        /* outside strings: copy up to the next whitespace or string */
        size_t run = i;
        while (run < len && src[run] != '"' && src[run] != ' ' && src[run] != '\n' &&
               src[run] != '\t' && src[run] != '\r')
            run++;
        if (run > i) {
            memmove(dst + o, src + i, run - i);
            o += run - i;
            i = run;
        }
        if (i >= len) break;
        if (src[i] != '"') { /* insignificant whitespace */
            i++;
            continue;
        }
        /* a string: to its closing quote, stepping over escapes */
        size_t end = i + 1;
        while (end < len && src[end] != '"') end += src[end] == '\\' ? 2 : 1;
        if (end < len) end++; /* the closing quote */
        else end = len;
        memmove(dst + o, src + i, end - i);
        o += end - i;
        i = end;
    }
    return o;
}
