/* fuzz_pathsafe: the static path sanitiser, on raw paths and on paths after
 * %HH decoding (what MHD hands over). Whatever it accepts must be a relative
 * path with no "..", ".", hidden, empty or backslash segments and no
 * control bytes, that is valid UTF-8 and fits the output buffer. */
#include <assert.h>
#include <jansson.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pathsafe.h"
#include "query.h"

static void check(const char *path, size_t cap)
{
    char out[700];
    assert(cap <= sizeof out);
    memset(out, 'Z', sizeof out);
    if (pathsafe_static(path, out, cap) != 0) return;
    size_t n = strnlen(out, cap);
    assert(n < cap);                 /* terminated inside the buffer */
    assert(n > 0 && out[0] != '/' && out[n - 1] != '/');
    assert(!strstr(out, "//"));
    const char *seg = out;
    for (;;) {
        assert(seg[0] != '.' && seg[0] != '/' && seg[0] != '\0');
        const char *slash = strchr(seg, '/');
        if (!slash) break;
        seg = slash + 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)out[i];
        assert(c >= 0x20 && c != 0x7f && c != '\\' && c != ':' && c != '%');
    }
    assert(pathsafe_content_type(out) != NULL);
    json_t *utf8 = json_string(out); /* NULL for invalid UTF-8 */
    assert(utf8);
    json_decref(utf8);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    size_t cap = 16 + data[0] % 600;
    char *path = malloc(size);
    memcpy(path, data + 1, size - 1);
    path[size - 1] = '\0';
    check(path, cap);
    size_t before = strlen(path);
    size_t n = query_unescape(path);
    assert(n <= before && n == strlen(path));
    check(path, cap);
    free(path);
    return 0;
}
