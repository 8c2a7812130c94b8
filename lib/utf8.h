/* utf8: checking, measuring and cutting UTF-8 text. Well-formed means RFC
 * 3629: no stray continuation bytes, no overlong forms, no surrogates
 * (U+D800..U+DFFF), nothing past U+10FFFF, no sequence cut short. */
#ifndef PURPOSED_UTF8_H
#define PURPOSED_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes (1 to 4) of the well-formed character that starts at s, reading at
 * most n bytes; 0 when s does not start one (or n is 0). */
size_t utf8_char_bytes(const char *s, size_t n);
/* Whether the NUL-terminated s is well-formed. */
bool utf8_valid(const char *s);
/* Characters (code points) in s, which is well-formed: a password of four
 * emoji is 4, not 16. */
size_t utf8_length(const char *s);
/* The longest prefix of s (of len bytes, well-formed) that is at most max
 * bytes and does not end inside a character. */
size_t utf8_prefix(const char *s, size_t len, size_t max);
/* Replace, in place, every byte that does not start a well-formed character
 * with '?': text cut inside a character (by a size limit or "%.64s") still
 * becomes a valid JSON string. */
void utf8_repair(char *s);

#endif
