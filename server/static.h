/* static: files under the static directory, with ETag/304 and no escape
 * from the tree (traversal and symlinks pointing outside are 404). */
#ifndef PURPOSED_STATIC_H
#define PURPOSED_STATIC_H

#include "http.h"

void static_serve(req_t *r, const char *root);

#endif
