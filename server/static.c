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

static void not_found(req_t *r)
{
    http_error(r, 404, "not-found", "Not found", "There is nothing at this address.");
}

void static_serve(req_t *r, const char *root)
{
    char rel[600];
    if (pathsafe_static(r->url, rel, sizeof rel) != 0) {
        not_found(r);
        return;
    }
    char root_real[PATH_MAX];
    if (!realpath(root, root_real)) {
        not_found(r);
        return;
    }
    char joined[PATH_MAX + 700];
    snprintf(joined, sizeof joined, "%s/%s", root_real, rel);
    char real[PATH_MAX];
    if (!realpath(joined, real)) {
        /* client-side routes such as /organisations/x fall back to the app shell */
        if (!strchr(rel, '.')) {
            snprintf(joined, sizeof joined, "%s/index.html", root_real);
            if (!realpath(joined, real)) {
                not_found(r);
                return;
            }
        } else {
            not_found(r);
            return;
        }
    }
    size_t rl = strlen(root_real);
    if (strncmp(real, root_real, rl) != 0 || real[rl] != '/') {
        not_found(r);
        return;
    }
    struct stat st;
    if (stat(real, &st) != 0) {
        not_found(r);
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        size_t n = strlen(real);
        if (n + 12 >= sizeof real) {
            not_found(r);
            return;
        }
        memcpy(real + n, "/index.html", 12);
        if (stat(real, &st) != 0 || !S_ISREG(st.st_mode)) {
            not_found(r);
            return;
        }
    }
    if (!S_ISREG(st.st_mode)) {
        not_found(r);
        return;
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
        return;
    }
    int fd = open(real, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        not_found(r);
        return;
    }
    http_reply_file(r, 200, pathsafe_content_type(real), fd, (uint64_t)st.st_size);
}
