/* fuzz_validate: the JSON depth scan agrees with the parser on every valid
 * document, and the field readers run over every key of a parsed object:
 * no crash, every refusal is reported as a field error, and the problem
 * always renders as JSON. Also the string predicates on every string value. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "problem.h"
#include "utf8.h"
#include "validate.h"

static int depth_of(const json_t *v)
{
    int max = 0;
    if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) {
            int d = depth_of(e);
            if (d > max) max = d;
        }
        return max + 1;
    }
    if (json_is_object(v)) {
        const char *k;
        json_t *e;
        json_object_foreach((json_t *)v, k, e) {
            int d = depth_of(e);
            if (d > max) max = d;
        }
        return max + 1;
    }
    return 0;
}

static bool has_field(const problem_t *p, const char *key)
{
    if (!p->errors) return false;
    size_t i;
    json_t *e;
    /* field names are repaired to valid UTF-8 and capped: compare a prefix */
    json_array_foreach(p->errors, i, e) {
        const char *f = json_string_value(json_object_get(e, "field"));
        if (f && strncmp(f, key, 20) == 0) return true;
        if (f && strchr(f, '?')) return true;
    }
    return false;
}

static void check_renders(problem_t *p)
{
    problem_finish_validation(p);
    json_t *j = problem_to_json(p);
    assert(j);
    char *s = json_dumps(j, JSON_COMPACT);
    assert(s);
    free(s);
    json_decref(j);
}

static void strings(const char *s)
{
    (void)utf8_length(s);
    bool slug = validate_slug(s);
    if (slug) assert(strlen(s) >= 1 && strlen(s) <= 64);
    (void)validate_email(s);
    (void)validate_date(s);
    char out[300];
    if (validate_normalise_email(s, out, sizeof out) == 0) assert(validate_email(out));
    char sl[80];
    if (validate_slugify(s, sl, sizeof sl) == 0) assert(validate_slug(sl));
    char tiny[5];
    if (validate_slugify(s, tiny, sizeof tiny) == 0) assert(validate_slug(tiny));
}

static void readers(const json_t *obj, const char *key)
{
    static const char *const kinds[] = {"employment", "partnership", "volunteer", NULL};
    problem_t p;
    problem_init(&p);
    long long n;
    double d;
    bool b, present;
    if (!validate_string(obj, key, true, 1, 20, &p)) assert(has_field(&p, key));
    problem_clear(&p);
    validate_string_or_null(obj, key, 10, &present, &p);
    assert(present);
    check_renders(&p);
    problem_clear(&p);
    if (!validate_int(obj, key, true, -5, 80, &n, &p)) assert(has_field(&p, key));
    else assert(n >= -5 && n <= 80);
    problem_clear(&p);
    if (!validate_number(obj, key, true, 0, 1, &d, &p)) assert(has_field(&p, key));
    else assert(d >= 0 && d <= 1);
    problem_clear(&p);
    if (!validate_bool(obj, key, true, &b, &p)) assert(has_field(&p, key));
    problem_clear(&p);
    if (!validate_enum(obj, key, true, kinds, &p)) assert(has_field(&p, key));
    problem_clear(&p);
    if (!validate_string_array(obj, key, true, 5, 30, true, NULL, &p)) assert(has_field(&p, key));
    problem_clear(&p);
    if (!validate_string_array(obj, key, true, 5, 30, false, kinds, &p)) assert(has_field(&p, key));
    check_renders(&p);
    problem_clear(&p);
    const json_t *v = json_object_get(obj, key);
    if (json_is_string(v)) strings(json_string_value(v));
    if (json_is_array(v)) {
        size_t i;
        const json_t *e;
        json_array_foreach(v, i, e) if (json_is_string(e)) strings(json_string_value(e));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    int scanned = validate_json_depth(text, size);
    json_error_t err;
    json_t *j = json_loadb(text, size, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY | JSON_ALLOW_NUL,
                           &err);
    if (!j) return 0;
    assert(scanned == depth_of(j));
    if (json_is_object(j) && scanned <= 32) {
        static const char *const allowed[] = {"name", "slug", "purposes", NULL};
        problem_t p;
        problem_init(&p);
        validate_known_fields(j, allowed, &p);
        size_t unknown = 0;
        const char *key;
        json_t *v;
        json_object_foreach(j, key, v) {
            if (strcmp(key, "name") && strcmp(key, "slug") && strcmp(key, "purposes")) unknown++;
        }
        assert((unknown > 0) == problem_has_fields(&p));
        check_renders(&p);
        problem_clear(&p);
        json_object_foreach(j, key, v) readers(j, key);
    } else if (json_is_string(j)) {
        strings(json_string_value(j));
    }
    json_decref(j);
    return 0;
}
