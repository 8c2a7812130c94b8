/* pathsafe: turn a request path into a safe relative file path under the
 * static root, or refuse it. Pure; the caller still checks symlinks. */
#ifndef PURPOSED_PATHSAFE_H
#define PURPOSED_PATHSAFE_H

#include <stddef.h>

#include "problem.h"

/* path: the decoded URL path ("/app/main.js"). On success writes the
 * relative path ("app/main.js", "index.html" for "/" and directories ending
 * in "/") to out and returns 0; returns -PROBLEM_NOT_FOUND for anything unsafe: "..", ".",
 * empty or hidden segments, backslashes, control bytes, invalid UTF-8, or
 * too long. */
int pathsafe_static(const char *path, char *out, size_t cap);

/* Content type for a file name by extension ("application/octet-stream" otherwise). */
const char *pathsafe_content_type(const char *name);

#endif
