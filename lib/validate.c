/* validate: field readers with length, range, pattern and enum checks. */
#include "validate.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "utf8.h"

void validate_known_fields(const json_t *obj, const char *const *allowed, problem_t *p)
{
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)obj, key, v) {
        bool ok = false;
        for (const char *const *a = allowed; *a; a++)
            if (strcmp(*a, key) == 0) {
                ok = true;
                break;
            }
        if (!ok) {
            char field[80];
            snprintf(field, sizeof field, "%s", key);
            problem_field(p, field, "unknown field");
        }
    }
}

bool validate_slug(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 64) return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
        if (!alnum && !(c == '-' && i > 0 && i < n - 1)) return false;
    }
    return true;
}

bool validate_email(const char *s)
{
    size_t n = strlen(s);
    if (n < 3 || n > 254) return false;
    const char *at = strchr(s, '@');
    if (!at || at == s || strchr(at + 1, '@')) return false;
    const char *domain = at + 1;
    if ((size_t)(at - s) > 64) return false;
    if (!*domain || domain[0] == '.' || s[n - 1] == '.' || !strchr(domain, '.')) return false;
    if (strstr(domain, "..")) return false;
    for (const char *c = s; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u <= 0x20 || u == 0x7f || u == '<' || u == '>' || u == '(' || u == ')' || u == ',' ||
            u == ';' || u == '\\' || u == '"' || u == '[' || u == ']')
            return false;
    }
    return true;
}

int validate_normalise_email(const char *in, char *out, size_t cap)
{
    while (*in == ' ' || *in == '\t' || *in == '\n' || *in == '\r') in++;
    size_t n = strlen(in);
    while (n && (in[n - 1] == ' ' || in[n - 1] == '\t' || in[n - 1] == '\n' || in[n - 1] == '\r'))
        n--;
    if (n + 1 > cap) return -PROBLEM_VALIDATION;
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)in[i]);
    out[n] = '\0';
    return validate_email(out) ? 0 : -PROBLEM_VALIDATION;
}

int validate_slugify(const char *name, char *out, size_t cap)
{
    size_t o = 0;
    bool dash = false;
    for (const unsigned char *c = (const unsigned char *)name; *c && o + 2 < cap && o < 64; c++) {
        if (isalnum(*c) && *c < 0x80) {
            if (dash && o > 0) out[o++] = '-';
            dash = false;
            out[o++] = (char)tolower(*c);
        } else {
            dash = true;
        }
    }
    while (o > 0 && out[o - 1] == '-') o--;
    out[o] = '\0';
    return o > 0 && validate_slug(out) ? 0 : -PROBLEM_VALIDATION;
}

static const json_t *field_of(const json_t *obj, const char *key, bool required, problem_t *p)
{
    const json_t *v = json_object_get(obj, key);
    if (!v && required) problem_field(p, key, "is required");
    return v;
}

const char *validate_string(const json_t *obj, const char *key, bool required, size_t min_chars,
                            size_t max_chars, problem_t *p)
{
    const json_t *v = field_of(obj, key, required, p);
    if (!v) return NULL;
    if (!json_is_string(v)) {
        problem_field(p, key, "must be a string");
        return NULL;
    }
    const char *s = json_string_value(v);
    if (strlen(s) != json_string_length(v)) {
        problem_field(p, key, "must not contain NUL characters");
        return NULL;
    }
    size_t n = utf8_length(s);
    if (n < min_chars) {
        problem_field(p, key, min_chars == 1 ? "must not be empty" : "must be at least %zu characters",
                      min_chars);
        return NULL;
    }
    if (n > max_chars) {
        problem_field(p, key, "must be at most %zu characters", max_chars);
        return NULL;
    }
    return s;
}

const char *validate_string_or_null(const json_t *obj, const char *key, size_t max_chars,
                                    bool *present, problem_t *p)
{
    const json_t *v = json_object_get(obj, key);
    if (present) *present = v != NULL;
    if (!v || json_is_null(v)) return NULL;
    return validate_string(obj, key, false, 0, max_chars, p);
}

bool validate_int(const json_t *obj, const char *key, bool required, long long lo, long long hi,
                  long long *out, problem_t *p)
{
    const json_t *v = field_of(obj, key, required, p);
    if (!v) return false;
    if (!json_is_integer(v)) {
        problem_field(p, key, "must be an integer between %lld and %lld", lo, hi);
        return false;
    }
    long long n = json_integer_value(v);
    if (n < lo || n > hi) {
        problem_field(p, key, "must be between %lld and %lld", lo, hi);
        return false;
    }
    *out = n;
    return true;
}

bool validate_number(const json_t *obj, const char *key, bool required, double lo, double hi,
                     double *out, problem_t *p)
{
    const json_t *v = field_of(obj, key, required, p);
    if (!v) return false;
    if (!json_is_number(v)) {
        problem_field(p, key, "must be a number");
        return false;
    }
    double d = json_number_value(v);
    if (!isfinite(d) || d < lo || d > hi) {
        problem_field(p, key, "must be between %g and %g", lo, hi);
        return false;
    }
    *out = d;
    return true;
}

bool validate_bool(const json_t *obj, const char *key, bool required, bool *out, problem_t *p)
{
    const json_t *v = field_of(obj, key, required, p);
    if (!v) return false;
    if (!json_is_boolean(v)) {
        problem_field(p, key, "must be true or false");
        return false;
    }
    *out = json_is_true(v);
    return true;
}

bool validate_in(const char *s, const char *const *values)
{
    for (const char *const *a = values; *a; a++)
        if (strcmp(*a, s) == 0) return true;
    return false;
}

static void list_values(const char *const *values, char *buf, size_t cap)
{
    size_t o = 0;
    buf[0] = '\0';
    for (const char *const *a = values; *a && o + 4 < cap; a++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", o ? ", " : "", *a);
}

const char *validate_enum_text(const char *text, const char *key, const char *const *values,
                               problem_t *p)
{
    if (!text || !validate_in(text, values)) {
        char list[200];
        list_values(values, list, sizeof list);
        problem_field(p, key, "must be one of: %s", list);
        return NULL;
    }
    return text;
}

const char *validate_enum(const json_t *obj, const char *key, bool required,
                          const char *const *values, problem_t *p)
{
    const json_t *v = field_of(obj, key, required, p);
    if (!v) return NULL;
    return validate_enum_text(json_is_string(v) ? json_string_value(v) : NULL, key, values, p);
}

const json_t *validate_string_array(const json_t *obj, const char *key, bool required,
                                    size_t max_items, size_t max_chars, bool slugs,
                                    const char *const *enum_values, problem_t *p)
{
    const json_t *v = field_of(obj, key, required, p);
    if (!v) return NULL;
    if (!json_is_array(v)) {
        problem_field(p, key, "must be an array of strings");
        return NULL;
    }
    if (json_array_size(v) > max_items) {
        problem_field(p, key, "must have at most %zu items", max_items);
        return NULL;
    }
    size_t i;
    const json_t *e;
    json_array_foreach(v, i, e) {
        if (!json_is_string(e)) {
            problem_field(p, key, "must be an array of strings");
            return NULL;
        }
        const char *s = json_string_value(e);
        size_t n = utf8_length(s);
        if (strlen(s) != json_string_length(e) || n == 0 || n > max_chars) {
            problem_field(p, key, "items must be 1 to %zu characters", max_chars);
            return NULL;
        }
        if (slugs && !validate_slug(s)) {
            problem_field(p, key, "\"%.64s\" is not a valid slug", s);
            return NULL;
        }
        if (enum_values && !validate_in(s, enum_values)) {
            char list[200];
            list_values(enum_values, list, sizeof list);
            problem_field(p, key, "items must be one of: %s", list);
            return NULL;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(json_string_value(json_array_get(v, j)), s) == 0) {
                problem_field(p, key, "must not repeat \"%.64s\"", s);
                return NULL;
            }
    }
    return v;
}

bool validate_date(const char *s)
{
    int y, m, d;
    char tail;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-') return false;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3) return false;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i])) return false;
    if (y < 1900 || y > 2200 || m < 1 || m > 12 || d < 1) return false;
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int max = days[m - 1];
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) max = 29;
    return d <= max;
}

int validate_json_depth(const char *text, size_t len)
{
    int depth = 0, max = 0;
    bool in_string = false;
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\') i++;
            else if (c == '"') in_string = false;
            continue;
        }
        if (c == '"') in_string = true;
        else if (c == '{' || c == '[') {
            if (++depth > max) max = depth;
        } else if (c == '}' || c == ']') depth--;
    }
    return max;
}
