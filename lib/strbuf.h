/* strbuf: the one growable string buffer (in the manner of git's strbuf):
 * appends of bytes, strings and printf text, always NUL-terminated. Running
 * out of memory is sticky: after one failed allocation every append does
 * nothing and strbuf_detach returns NULL, so a builder checks once, at the end. */
#ifndef PURPOSED_STRBUF_H
#define PURPOSED_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct strbuf {
    char *buf;   /* NULL until the first append; then len bytes and a NUL */
    size_t len;  /* bytes held, without the NUL */
    size_t cap;  /* bytes allocated */
    bool failed; /* an allocation failed: appends are ignored from then on */
} strbuf_t;

#define STRBUF_INIT {NULL, 0, 0, false}

/* An empty buffer; hint (may be 0) bytes are allocated up front. */
void strbuf_init(strbuf_t *sb, size_t hint);
/* Room for more bytes (and the NUL) after len; false once failed. */
bool strbuf_reserve(strbuf_t *sb, size_t more);
void strbuf_add(strbuf_t *sb, const void *data, size_t n);
void strbuf_addstr(strbuf_t *sb, const char *s);
void strbuf_addch(strbuf_t *sb, char c);
void strbuf_addf(strbuf_t *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(strbuf_t *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* The text so far ("" before the first append); valid until the next append. */
const char *strbuf_str(const strbuf_t *sb);
/* Empty again, keeping the memory; a failed buffer becomes usable again. */
void strbuf_reset(strbuf_t *sb);
/* The malloc'd text (the caller frees it; *len its length when len is not
 * NULL), or NULL when an allocation failed. The buffer is empty afterwards. */
char *strbuf_detach(strbuf_t *sb, size_t *len);
/* Free the memory; the buffer is empty and usable again. */
void strbuf_release(strbuf_t *sb);

#endif
