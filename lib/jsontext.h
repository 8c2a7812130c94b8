/* jsontext: JSON text as the API sends it. PostgreSQL writes json with
 * spaces ("id" : 3 from json_build_object, "id": 3 from jsonb); every JSON
 * answer is compact ({"id":3}), so text that comes from SQL passes through
 * jsontext_compact on its way out. */
#ifndef PURPOSED_JSONTEXT_H
#define PURPOSED_JSONTEXT_H

#include <stddef.h>

/* Copy the JSON text src (len bytes) to dst without its insignificant
 * whitespace (space, tab, CR, LF outside strings); strings, escapes and
 * UTF-8 are copied byte for byte. dst may be src (in place) or must hold
 * len bytes; no NUL is added. Returns the length written. Text that is not
 * JSON is copied the same way, never read past len. */
size_t jsontext_compact(char *dst, const char *src, size_t len);

#endif
