/* cursor: opaque keyset-pagination cursors. A cursor is the base64url form
 * of a small JSON array of key values plus a keyed BLAKE2b tag, so a
 * tampered cursor is detected and answered 400. */
#ifndef PURPOSED_CURSOR_H
#define PURPOSED_CURSOR_H

#include <jansson.h>
#include <stddef.h>

/* Longest cursor text; the encoder never issues a longer one. */
#define CURSOR_MAX_LEN 2048

void cursor_configure(const char *secret);
/* Encode an array of key values (strings or integers). Returns a malloc'd
 * string, or NULL when out of memory or longer than CURSOR_MAX_LEN. */
char *cursor_encode(const json_t *keys);
/* Decode; returns the key array (caller decrefs) of exactly nkeys elements,
 * or NULL when the cursor is malformed or tampered with. */
json_t *cursor_decode(const char *cursor, size_t nkeys);

#endif
