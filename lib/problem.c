/* problem: building RFC 9457 problem details with every offending field. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void problem_init(problem_t *p) { memset(p, 0, sizeof *p); }

void problem_clear(problem_t *p)
{
    if (p->errors) json_decref(p->errors);
    problem_init(p);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

void problem_set(problem_t *p, int status, const char *type, const char *title,
                 const char *detail_fmt, ...)
{
    p->status = status;
    copy_str(p->type, sizeof p->type, type);
    copy_str(p->title, sizeof p->title, title);
    if (detail_fmt) {
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(p->detail, sizeof p->detail, detail_fmt, ap);
        va_end(ap);
    } else {
        p->detail[0] = '\0';
    }
}

/* Replace every byte that does not start a valid UTF-8 sequence with '?',
 * in place: a message or field name cut inside a character (by a size limit
 * or "%.64s") must still become a JSON string instead of being dropped. */
static void utf8_repair(char *s)
{
    unsigned char *u = (unsigned char *)s;
    while (*u) {
        unsigned c = u[0];
        size_t len = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3
                   : (c & 0xF8) == 0xF0 ? 4 : 0;
        unsigned cp = len == 2 ? (c & 0x1F) : len == 3 ? (c & 0x0F) : (c & 0x07);
        bool ok = len > 0;
        for (size_t i = 1; ok && i < len; i++) {
            ok = (u[i] & 0xC0) == 0x80;
            cp = (cp << 6) | (u[i] & 0x3F);
        }
        if (ok && len > 1)
            ok = !(len == 2 && cp < 0x80) && !(len == 3 && cp < 0x800) &&
                 !(len == 4 && cp < 0x10000) && cp <= 0x10FFFF && !(cp >= 0xD800 && cp <= 0xDFFF);
        if (!ok) {
            *u++ = '?';
            continue;
        }
        u += len;
    }
}

void problem_field(problem_t *p, const char *field, const char *message_fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, message_fmt);
    vsnprintf(msg, sizeof msg, message_fmt, ap);
    va_end(ap);
    utf8_repair(msg);
    char name[128];
    snprintf(name, sizeof name, "%s", field ? field : "");
    utf8_repair(name);
    field = name;
    if (!p->errors) p->errors = json_array();
    /* one message per field is enough; keep the first */
    size_t i;
    json_t *e;
    json_array_foreach(p->errors, i, e) {
        if (strcmp(json_string_value(json_object_get(e, "field")), field) == 0) return;
    }
    json_array_append_new(p->errors, json_pack("{s:s, s:s}", "field", field, "message", msg));
}

bool problem_has_fields(const problem_t *p)
{
    return p->errors && json_array_size(p->errors) > 0;
}

void problem_finish_validation(problem_t *p)
{
    if (problem_has_fields(p) && p->status == 0) {
        size_t n = json_array_size(p->errors);
        problem_set(p, 422, "validation", "The request is not valid",
                    "%zu field%s failed validation", n, n == 1 ? "" : "s");
    }
}

json_t *problem_to_json(const problem_t *p)
{
    char type_uri[96];
    snprintf(type_uri, sizeof type_uri, "https://purposed.dev/problems/%s",
             p->type[0] ? p->type : "error");
    json_t *o = json_pack("{s:s, s:s, s:i}", "type", type_uri, "title",
                          p->title[0] ? p->title : "Error", "status", p->status);
    if (p->detail[0]) json_object_set_new(o, "detail", json_string(p->detail));
    if (p->errors) json_object_set(o, "errors", p->errors);
    return o;
}
