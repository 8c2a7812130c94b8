/* jcs: RFC 8785 canonical JSON text of a jansson value. */
#include "jcs.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "utf8.h"

/* 2^53: past it not every integer is a double (RFC 8785 3.2.2.3, I-JSON). */
#define JCS_INT_LIMIT 9007199254740992LL

bool jcs_number(double d, char out[JCS_NUMBER_MAX])
{
    if (!isfinite(d)) return false;
    if (d == 0) {
        strcpy(out, "0");
        return true;
    }
    char *o = out, *end = out + JCS_NUMBER_MAX;
    if (d < 0) {
        *o++ = '-';
        d = -d;
    }
    /* The shortest decimal that reads back as d: the correctly rounded one
     * of p significant digits for the smallest p that round-trips (the
     * nearest p-digit decimal is the one ECMAScript picks among ties). */
    char sci[40];
    for (int p = 1; p <= 17; p++) {
        snprintf(sci, sizeof sci, "%.*e", p - 1, d);
        if (strtod(sci, NULL) == d) break;
    }
    char digits[20];
    int k = 0;
    const char *s = sci;
    for (; *s && *s != 'e'; s++)
        if (*s >= '0' && *s <= '9') digits[k++] = *s;
    while (k > 1 && digits[k - 1] == '0') k--;
    digits[k] = '\0';
    int n = atoi(s + 1) + 1; /* the decimal point sits after n digits */
    size_t room = (size_t)(end - o);
    int w;
    if (k <= n && n <= 21) {
        /* 17 digits and up to 21 places: at most 22 characters with the sign */
        w = snprintf(o, room, "%s%.*s", digits, n - k, "000000000000000000000");
    } else if (0 < n && n <= 21) {
        w = snprintf(o, room, "%.*s.%s", n, digits, digits + n);
    } else if (-6 < n && n <= 0) {
        w = snprintf(o, room, "0.%.*s%s", -n, "000000", digits);
    } else {
        int e = n - 1;
        if (k == 1) w = snprintf(o, room, "%se%c%d", digits, e < 0 ? '-' : '+', abs(e));
        else w = snprintf(o, room, "%c.%se%c%d", digits[0], digits + 1, e < 0 ? '-' : '+', abs(e));
    }
    if (w < 0 || (size_t)w >= room) return false; /* the caller's buffer is too small */
    return true;
}

/* The next UTF-16 code unit of well-formed UTF-8 text at *s (before end);
 * *low holds the second half of a surrogate pair between calls. */
static unsigned next_unit(const unsigned char **s, const unsigned char *end, unsigned *low)
{
    if (*low) {
        unsigned u = *low;
        *low = 0;
        return u;
    }
    const unsigned char *p = *s;
    uint32_t cp;
    size_t n = utf8_char_bytes((const char *)p, (size_t)(end - p));
    if (n == 0) n = 1; /* not reached for checked text */
    if (n == 1) cp = p[0];
    else if (n == 2) cp = ((p[0] & 0x1Fu) << 6) | (p[1] & 0x3Fu);
    else if (n == 3) cp = ((p[0] & 0x0Fu) << 12) | ((p[1] & 0x3Fu) << 6) | (p[2] & 0x3Fu);
    else cp = ((p[0] & 0x07u) << 18) | ((p[1] & 0x3Fu) << 12) | ((p[2] & 0x3Fu) << 6) | (p[3] & 0x3Fu);
    *s = p + n;
    if (cp < 0x10000) return cp;
    cp -= 0x10000;
    *low = 0xDC00 + (cp & 0x3FF);
    return 0xD800 + (cp >> 10);
}

int jcs_compare_names(const char *a, size_t alen, const char *b, size_t blen)
{
    const unsigned char *pa = (const unsigned char *)a, *ea = pa + alen;
    const unsigned char *pb = (const unsigned char *)b, *eb = pb + blen;
    unsigned la = 0, lb = 0;
    while ((pa < ea || la) && (pb < eb || lb)) {
        unsigned ua = next_unit(&pa, ea, &la), ub = next_unit(&pb, eb, &lb);
        if (ua != ub) return ua < ub ? -1 : 1;
    }
    bool a_left = pa < ea || la, b_left = pb < eb || lb;
    return a_left == b_left ? 0 : a_left ? 1 : -1;
}

static bool valid_text(const char *s, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t n = utf8_char_bytes(s + i, len - i);
        if (n == 0) return false;
        i += n;
    }
    return true;
}

static void add_string(strbuf_t *sb, const char *s, size_t len)
{
    strbuf_addch(sb, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '"': strbuf_addstr(sb, "\\\""); break;
        case '\\': strbuf_addstr(sb, "\\\\"); break;
        case '\b': strbuf_addstr(sb, "\\b"); break;
        case '\f': strbuf_addstr(sb, "\\f"); break;
        case '\n': strbuf_addstr(sb, "\\n"); break;
        case '\r': strbuf_addstr(sb, "\\r"); break;
        case '\t': strbuf_addstr(sb, "\\t"); break;
        default:
            if (c < 0x20) strbuf_addf(sb, "\\u%04x", c);
            else strbuf_addch(sb, (char)c);
        }
    }
    strbuf_addch(sb, '"');
}

typedef struct member {
    const char *name;
    size_t len;
    const json_t *value;
} member_t;

static int member_order(const void *x, const void *y)
{
    const member_t *a = x, *b = y;
    return jcs_compare_names(a->name, a->len, b->name, b->len);
}

static bool add_value(strbuf_t *sb, const json_t *v, char *err, size_t errcap)
{
    switch (json_typeof(v)) {
    case JSON_NULL: strbuf_addstr(sb, "null"); return true;
    case JSON_TRUE: strbuf_addstr(sb, "true"); return true;
    case JSON_FALSE: strbuf_addstr(sb, "false"); return true;
    case JSON_INTEGER: {
        json_int_t i = json_integer_value(v);
        if (i > JCS_INT_LIMIT || i < -JCS_INT_LIMIT) {
            snprintf(err, errcap, "the integer %" JSON_INTEGER_FORMAT " is beyond 2^53", i);
            return false;
        }
        strbuf_addf(sb, "%" JSON_INTEGER_FORMAT, i);
        return true;
    }
    case JSON_REAL: {
        char num[JCS_NUMBER_MAX];
        if (!jcs_number(json_real_value(v), num)) {
            snprintf(err, errcap, "a number is not finite");
            return false;
        }
        strbuf_addstr(sb, num);
        return true;
    }
    case JSON_STRING: {
        const char *s = json_string_value(v);
        size_t len = json_string_length(v);
        if (!valid_text(s, len)) {
            snprintf(err, errcap, "a string is not UTF-8");
            return false;
        }
        add_string(sb, s, len);
        return true;
    }
    case JSON_ARRAY: {
        strbuf_addch(sb, '[');
        for (size_t i = 0; i < json_array_size(v); i++) {
            if (i) strbuf_addch(sb, ',');
            if (!add_value(sb, json_array_get(v, i), err, errcap)) return false;
        }
        strbuf_addch(sb, ']');
        return true;
    }
    case JSON_OBJECT: {
        size_t n = json_object_size(v);
        member_t *m = n ? calloc(n, sizeof *m) : NULL;
        if (n && !m) {
            snprintf(err, errcap, "out of memory");
            return false;
        }
        size_t i = 0;
        const char *name;
        json_t *value;
        void *iter = json_object_iter((json_t *)v);
        while (iter && i < n) {
            name = json_object_iter_key(iter);
            value = json_object_iter_value(iter);
            m[i++] = (member_t){name, strlen(name), value};
            iter = json_object_iter_next((json_t *)v, iter);
        }
        if (i > 1) qsort(m, i, sizeof *m, member_order);
        strbuf_addch(sb, '{');
        bool ok = true;
        for (size_t j = 0; j < i && ok; j++) {
            if (j) strbuf_addch(sb, ',');
            if (!valid_text(m[j].name, m[j].len)) {
                snprintf(err, errcap, "a member name is not UTF-8");
                ok = false;
                break;
            }
            add_string(sb, m[j].name, m[j].len);
            strbuf_addch(sb, ':');
            ok = add_value(sb, m[j].value, err, errcap);
        }
        free(m);
        if (ok) strbuf_addch(sb, '}');
        return ok;
    }
    }
    snprintf(err, errcap, "not a JSON value");
    return false;
}

char *jcs_serialize(const json_t *v, size_t *len, char *err, size_t errcap)
{
    if (err && errcap) err[0] = '\0';
    char scratch[8];
    if (!err || !errcap) {
        err = scratch;
        errcap = sizeof scratch;
    }
    if (!v) {
        snprintf(err, errcap, "no value");
        return NULL;
    }
    strbuf_t sb = STRBUF_INIT;
    if (!add_value(&sb, v, err, errcap)) {
        strbuf_release(&sb);
        return NULL;
    }
    char *out = strbuf_detach(&sb, len);
    if (!out) snprintf(err, errcap, "out of memory");
    return out;
}
