/* query: decoding and reading query-string values (?limit=, ?remote=, ...).
 * Pure functions; server/http.c hands the values over. */
#ifndef PURPOSED_QUERY_H
#define PURPOSED_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

/* Decode %HH escapes in place (a malformed escape stays as it is) and
 * return the new length. A decoded NUL byte becomes 0x7f (DEL), so a C
 * string never ends early: "/a%00/../x" cannot pass for "/a", and every
 * validator refuses DEL. Used for the URL path and query values. */
size_t query_unescape(char *s);

/* A page size: decimal digits only, lo..hi. NULL (absent) gives def.
 * Returns 0 with *out set, or -PROBLEM_BAD_QUERY when the value is bad. */
int query_int(const char *value, int lo, int hi, int def, int *out);

/* A boolean: "true"/"1"/"yes" or "false"/"0"/"no". NULL gives def.
 * Returns 0 with *out set, or -PROBLEM_BAD_QUERY for anything else. */
int query_bool(const char *value, bool def, bool *out);

#endif
