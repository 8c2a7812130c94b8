/* cursor: opaque keyset-pagination cursors. A cursor is the base64url form
 * of a small JSON array of key values plus a keyed BLAKE2b tag, so a
 * tampered cursor is detected and answered 400. A cursor is still input:
 * whoever knows the key can sign anything, so each key is checked against
 * the kind the list gives out (cursor_key_valid) before it reaches SQL. */
#ifndef PURPOSED_CURSOR_H
#define PURPOSED_CURSOR_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest cursor text; the encoder never issues a longer one. */
#define CURSOR_MAX_LEN 2048

/* Sign with a key derived from secret (CURSOR_SECRET). */
void cursor_configure(const char *secret);
/* Without CURSOR_SECRET: load fills out with the secret (the instance's
 * stored one, lib/secrets.h) and returns 0, or -1 when it cannot yet (the
 * database is away); it is asked again on the next use until it succeeds. */
typedef int (*cursor_secret_loader_t)(char *out, size_t cap);
void cursor_set_loader(cursor_secret_loader_t load);
/* True once a key is configured (asks the loader when there is none yet).
 * Until then cursor_encode and cursor_decode return NULL. */
bool cursor_ready(void);
/* Encode an array of key values (strings or integers). Returns a malloc'd
 * string, or NULL when out of memory or longer than CURSOR_MAX_LEN. */
char *cursor_encode(const json_t *keys);
/* Decode; returns the key array (caller decrefs) of exactly nkeys elements,
 * or NULL when the cursor is malformed or tampered with. */
json_t *cursor_decode(const char *cursor, size_t nkeys);

/* The kinds of key a list's cursor carries, one character each; a list
 * names its keys by putting them side by side: CURSOR_KEY_TIME CURSOR_KEY_ID. */
#define CURSOR_KEY_TEXT "t"   /* any text without NUL (a slug, a name) */
#define CURSOR_KEY_ID "i"     /* a row id: decimal digits, 0 to 2^63 - 1 */
#define CURSOR_KEY_TIME "d"   /* cursor_time(): YYYY-MM-DDTHH:MM:SS.ffffffZ, a real
                               * date and time of the years 1 to 9999 */
#define CURSOR_KEY_MICROS "u" /* microseconds since the epoch, years 1 to 9999 */
#define CURSOR_KEY_RANK "r"   /* a relevance: a finite decimal >= 0 that a real holds */

/* Is text a value of kind (the character of a CURSOR_KEY_*)? */
bool cursor_key_valid(char kind, const char *text);

#endif
