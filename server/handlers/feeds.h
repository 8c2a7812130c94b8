/* feeds: XML escaping and the absolute base URL of the engagement feeds,
 * shared with other Atom documents (the personal notification feed in
 * me.c) so every feed escapes the same way. */
#ifndef PURPOSED_HANDLERS_FEEDS_H
#define PURPOSED_HANDLERS_FEEDS_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "strbuf.h"

/* Append s (valid UTF-8, may be NULL) as XML text or attribute value:
 * markup characters escaped, characters XML 1.0 forbids removed. */
void feeds_xml(strbuf_t *b, const char *s);
/* "scheme://host[:port]" for absolute links: PUBLIC_URL when configured,
 * else the Host header when it looks like a host, else localhost. Returns
 * true when the links come from the request (no PUBLIC_URL): the answer
 * then differs by a client's header and must not be kept by shared caches
 * (see feeds_cache_control). */
bool feeds_base_url(req_t *r, char *out, size_t cap);
/* Cache-Control of an answer with absolute links from feeds_base_url:
 * "public" only when they come from PUBLIC_URL, otherwise "private", so a
 * shared cache never serves one client's Host to others. */
void feeds_cache_control(req_t *r, bool links_from_request, int max_age);

#endif
