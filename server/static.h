/* static: files under the static directory, with ETag/304 and no escape
 * from the tree (traversal and symlinks pointing outside are not there). */
#ifndef PURPOSED_STATIC_H
#define PURPOSED_STATIC_H

#include <stdbool.h>

#include "http.h"

/* Serve the file the request's path names: true when answered (the file or
 * 304), false when there is no such file (nothing is answered: the caller
 * says so, server/pages.c's 404 page). */
bool static_serve(req_t *r, const char *root);

#endif
