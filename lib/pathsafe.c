/* pathsafe: the static path sanitiser and content types. */
#include "pathsafe.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "utf8.h"

int pathsafe_static(const char *path, char *out, size_t cap)
{
    if (!path || path[0] != '/' || cap < 16) return -PROBLEM_NOT_FOUND;
    size_t len = strlen(path);
    if (len > 512) return -PROBLEM_NOT_FOUND;
    if (!utf8_valid(path)) return -PROBLEM_NOT_FOUND;
    const char *s = path + 1;
    size_t o = 0;
    while (*s) {
        const char *e = strchr(s, '/');
        size_t seg = e ? (size_t)(e - s) : strlen(s);
        if (seg == 0) return -PROBLEM_NOT_FOUND;            /* "//" */
        if (s[0] == '.') return -PROBLEM_NOT_FOUND;         /* ".", "..", hidden files */
        for (size_t i = 0; i < seg; i++) {
            unsigned char c = (unsigned char)s[i];
            if (c < 0x20 || c == 0x7f || c == '\\' || c == ':' || c == '%')
                return -PROBLEM_NOT_FOUND;
        }
        if (o + seg + 2 >= cap) return -PROBLEM_NOT_FOUND;
        memcpy(out + o, s, seg);
        o += seg;
        s += seg;
        if (*s == '/') {
            out[o++] = '/';
            s++;
        }
    }
    out[o] = '\0';
    if (o == 0 || out[o - 1] == '/') {
        const char *idx = "index.html";
        if (o + strlen(idx) + 1 > cap) return -PROBLEM_NOT_FOUND;
        memcpy(out + o, idx, strlen(idx) + 1);
    }
    return 0;
}

const char *pathsafe_content_type(const char *name)
{
    static const struct { const char *ext, *type; } types[] = {
        {".html", "text/html; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".jpg", "image/jpeg"},
        {".ico", "image/x-icon"},
        {".webmanifest", "application/manifest+json"},
        {".txt", "text/plain; charset=utf-8"},
        {".woff2", "font/woff2"},
    };
    const char *dot = strrchr(name, '.');
    if (dot && !strchr(dot, '/')) {
        for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
            if (strcasecmp(dot, types[i].ext) == 0) return types[i].type;
    }
    return "application/octet-stream";
}
