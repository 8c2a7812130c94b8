/* problem: building RFC 9457 problem details with every offending field. */
#include "problem.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

static const problem_kind_t catalogue[PROBLEM_COUNT] = {
#define PROBLEM(NAME, SLUG, STATUS, TITLE) [PROBLEM_##NAME] = {#NAME, SLUG, STATUS, TITLE},
#include "problems.def"
#undef PROBLEM
};

const problem_kind_t *problem_kind(problem_code_t code)
{
    if (code <= PROBLEM_NONE || code >= PROBLEM_COUNT) return NULL;
    return &catalogue[code];
}

void problem_init(problem_t *p) { memset(p, 0, sizeof *p); }

void problem_clear(problem_t *p)
{
    if (p->errors) json_decref(p->errors);
    if (p->extensions) json_decref(p->extensions);
    problem_init(p);
}

static void copy_str(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void set_detail(problem_t *p, const char *detail_fmt, va_list ap)
{
    if (detail_fmt)
        vsnprintf(p->detail, sizeof p->detail, detail_fmt, ap);
    else
        p->detail[0] = '\0';
}

int problem_fail(problem_t *p, problem_code_t code, const char *detail_fmt, ...)
{
    const problem_kind_t *k = problem_kind(code);
    if (!k) {
        code = PROBLEM_INTERNAL;
        k = &catalogue[code];
    }
    if (!p) return -(int)code;
    p->code = code;
    p->status = k->status;
    copy_str(p->type, sizeof p->type, k->slug);
    copy_str(p->title, sizeof p->title, k->title);
    va_list ap;
    va_start(ap, detail_fmt);
    set_detail(p, detail_fmt, ap);
    va_end(ap);
    return -(int)code;
}

int problem_rc(const problem_t *p)
{
    return p->code > PROBLEM_NONE ? -(int)p->code : -(int)PROBLEM_INTERNAL;
}

void problem_extend(problem_t *p, const char *key, json_t *value)
{
    if (!value) return;
    if (!p) {
        json_decref(value);
        return;
    }
    if (!p->extensions) p->extensions = json_object();
    json_object_set_new(p->extensions, key, value);
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
        problem_fail(p, PROBLEM_VALIDATION, "%zu field%s failed validation", n,
                     n == 1 ? "" : "s");
    }
}

json_t *problem_to_json(const problem_t *p)
{
    char type_uri[96];
    snprintf(type_uri, sizeof type_uri, PROBLEM_TYPE_BASE "%s", p->type[0] ? p->type : "error");
    json_t *o = json_pack("{s:s, s:s, s:i}", "type", type_uri, "title",
                          p->title[0] ? p->title : "Error", "status", p->status);
    if (p->detail[0]) json_object_set_new(o, "detail", json_string(p->detail));
    if (p->errors) json_object_set(o, "errors", p->errors);
    if (p->extensions) json_object_update_missing(o, p->extensions);
    return o;
}

const char *problem_duration_words(int seconds, char *buf, size_t cap)
{
    if (!buf || cap == 0) return buf;
    if (seconds < 1) seconds = 1;
    if (seconds < 60) {
        snprintf(buf, cap, "%d second%s", seconds, seconds == 1 ? "" : "s");
        return buf;
    }
    int minutes = (seconds + 59) / 60;
    int hours = minutes / 60;
    minutes %= 60;
    if (hours == 0)
        snprintf(buf, cap, "%d minute%s", minutes, minutes == 1 ? "" : "s");
    else if (minutes == 0)
        snprintf(buf, cap, "%d hour%s", hours, hours == 1 ? "" : "s");
    else
        snprintf(buf, cap, "%d hour%s %d minute%s", hours, hours == 1 ? "" : "s", minutes,
                 minutes == 1 ? "" : "s");
    return buf;
}
