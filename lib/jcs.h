/* jcs: the JSON Canonicalization Scheme (RFC 8785) over jansson values: the
 * one byte sequence of a JSON value that signatures and hashes are made
 * over (Data Integrity proofs, the agreement chain). Object members sorted
 * by their names' UTF-16 code units, strings with the minimal escapes,
 * numbers as ECMAScript's Number.prototype.toString writes them. (jansson
 * holds no U+0000 in a member name; in string values it is kept.) */
#ifndef PURPOSED_JCS_H
#define PURPOSED_JCS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* Longest number text jcs_number writes, with its NUL. */
#define JCS_NUMBER_MAX 32

/* The canonical text of v (malloc'd, NUL-terminated; *len its length when
 * len is not NULL), or NULL with err set: an integer beyond 2^53 in
 * magnitude (I-JSON: not exact in every reader), a non-finite real, a
 * string that is not UTF-8, or out of memory. */
char *jcs_serialize(const json_t *v, size_t *len, char *err, size_t errcap);
/* d as ECMAScript writes it (shortest text that reads back as d; -0 is
 * "0"). False for NaN and infinities. */
bool jcs_number(double d, char out[JCS_NUMBER_MAX]);
/* The order of object member names: negative, 0 or positive as a sorts
 * before, with or after b by UTF-16 code units (both UTF-8). */
int jcs_compare_names(const char *a, size_t alen, const char *b, size_t blen);

#endif
