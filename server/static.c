/* static: serving static/ safely. */
#include "static.h"

#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pathsafe.h"

bool static_serve(req_t *r, const char *root)
{
    char rel[600];
    if (pathsafe_static(r->url, rel, sizeof rel) != 0) {
        return false;
    }
    char root_real[PATH_MAX];
    if (!realpath(root, root_real)) {
        return false;
    }
    char joined[PATH_MAX + 700];
    snprintf(joined, sizeof joined, "%s/%s", root_real, rel);
    char real[PATH_MAX];
    if (!realpath(joined, real)) {
        return false;
    }
    size_t rl = strlen(root_real);
    if (strncmp(real, root_real, rl) != 0 || real[rl] != '/') {
        return false;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        return false;
    }
    if (S_ISDIR(st.st_mode)) {
        size_t n = strlen(real);
        if (n + 12 >= sizeof real) {
            return false;
        }
        memcpy(real + n, "/index.html", 12);
        if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
            return false;
        }
    }
    if (!S_ISREG(st.st_mode)) {
        return false;
    }
    char etag[64];
    snprintf(etag, sizeof etag, "\"%llx-%llx\"", (unsigned long long)st.st_size,
             (unsigned long long)st.st_mtime);
    http_add_header(r, "ETag", etag);
    bool html = strlen(real) > 5 && strcmp(real + strlen(real) - 5, ".html") == 0;
    http_add_header(r, "Cache-Control", html ? "no-cache" : "public, max-age=300, must-revalidate");
    const char *inm = http_header(r, "If-None-Match");
    /* weak comparison (W/"x" matches "x"); "*" matches any representation */
    if (inm && (strstr(inm, etag) || strcmp(inm, "*") == 0)) {
        http_reply_empty(r, 304);
        return true;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    http_reply_file(r, 200, pathsafe_content_type(real), fd, (uint64_t)st.st_size);
    return true;
}
