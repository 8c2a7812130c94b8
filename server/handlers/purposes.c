/* purposes: the shared catalogue of causes (list with full-text search, read,
 * create), and the keyset-page helpers the purpose-domain lists share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cursor.h"
#include "db.h"
#include "handlers.h"
#include "session.h"
#include "utf8.h"
#include "validate.h"

/* ---------- pages (shared with organisations.c and engagements.c) ---------- */

static void bad_cursor(req_t *r)
{
    problem_t p;
    problem_init(&p);
    problem_field(&p, "cursor", "is not a cursor this list gave out");
    problem_set(&p, 400, "bad-cursor", "Bad cursor",
                "The cursor is malformed, tampered with or belongs to another list.");
    http_reply_problem(r, &p);
}

bool purposes_read_cursor(req_t *r, const char *tag, const char *kinds, char keys[][PAGE_KEY_MAX])
{
    size_t nkeys = strlen(kinds);
    for (size_t i = 0; i < nkeys; i++) keys[i][0] = '\0';
    const char *c = http_query(r, "cursor");
    if (!c) return true;
    if (!cursor_ready()) {
        reply_cursor_key_unavailable(r);
        return false;
    }
    json_t *arr = cursor_decode(c, nkeys + 1);
    const json_t *t = arr ? json_array_get(arr, 0) : NULL;
    bool ok = t && json_is_string(t) && strcmp(json_string_value(t), tag) == 0;
    /* Signed is not valid: each key must be what the list gives out (a
     * forged or stale key never reaches SQL as something it cannot cast). */
    for (size_t i = 0; ok && i < nkeys; i++) {
        const json_t *k = json_array_get(arr, i + 1);
        ok = json_is_string(k) && json_string_length(k) < PAGE_KEY_MAX &&
             strlen(json_string_value(k)) == json_string_length(k);
        if (ok) snprintf(keys[i], PAGE_KEY_MAX, "%s", json_string_value(k));
        /* "" is the first key a list sends when it is too long for a cursor */
        ok = ok && ((i == 0 && !keys[i][0] && kinds[i] == CURSOR_KEY_TEXT[0]) ||
                    cursor_key_valid(kinds[i], keys[i]));
    }
    json_decref(arr);
    if (!ok) bad_cursor(r);
    return ok;
}

/* [tag, keys of row] as a cursor; with blank_first the first key is "". */
static char *encode_cursor(const PGresult *res, int row, const char *tag, int nkeys,
                           bool blank_first)
{
    json_t *arr = json_array();
    json_array_append_new(arr, json_string(tag));
    for (int i = 0; i < nkeys; i++)
        json_array_append_new(arr, json_string(blank_first && i == 0 ? "" : PQgetvalue(res, row, i)));
    char *c = cursor_encode(arr);
    json_decref(arr);
    return c;
}

void purposes_reply_page(req_t *r, PGresult *res, int limit, const char *tag, int nkeys)
{
    int n = PQntuples(res);
    int shown = n > limit ? limit : n;
    char *cursor = NULL;
    if (n > limit) {
        cursor = encode_cursor(res, shown - 1, tag, nkeys, false);
        if (!cursor || strlen(cursor) > CURSOR_MAX_LEN) {
            free(cursor);
            cursor = encode_cursor(res, shown - 1, tag, nkeys, true);
        }
        if (!cursor || strlen(cursor) > CURSOR_MAX_LEN) {
            free(cursor);
            PQclear(res);
            http_error(r, 500, "internal", "Internal error", "Could not make the next cursor.");
            return;
        }
    }
    static const char head[] = "{\"items\":[", mid[] = "],\"next_cursor\":";
    size_t len = sizeof head - 1 + sizeof mid - 1 + (cursor ? strlen(cursor) + 2 : 4) + 1;
    for (int i = 0; i < shown; i++) len += (size_t)PQgetlength(res, i, nkeys) + 1;
    char *body = malloc(len + 1);
    if (!body) {
        free(cursor);
        PQclear(res);
        http_error(r, 500, "internal", "Internal error", NULL);
        return;
    }
    size_t o = 0;
    memcpy(body + o, head, sizeof head - 1);
    o += sizeof head - 1;
    for (int i = 0; i < shown; i++) {
        if (i) body[o++] = ',';
        size_t l = (size_t)PQgetlength(res, i, nkeys);
        memcpy(body + o, PQgetvalue(res, i, nkeys), l);
        o += l;
    }
    memcpy(body + o, mid, sizeof mid - 1);
    o += sizeof mid - 1;
    if (cursor) o += (size_t)sprintf(body + o, "\"%s\"}", cursor);
    else o += (size_t)sprintf(body + o, "null}");
    free(cursor);
    PQclear(res);
    http_reply_text(r, 200, "application/json", body, o);
}

void purposes_bad_query(req_t *r, problem_t *p)
{
    problem_set(p, 400, "bad-query", "Bad query parameter",
                "A query parameter is not valid; see errors.");
    http_reply_problem(r, p);
}

const char *purposes_query_text(req_t *r, const char *key, size_t max_chars, problem_t *p)
{
    const char *v = http_query(r, key);
    if (!v || !v[0]) return NULL;
    if (!utf8_valid(v)) { /* query strings are raw bytes once decoded */
        problem_field(p, key, "must be UTF-8 text");
        return NULL;
    }
    if (utf8_length(v) > max_chars) {
        problem_field(p, key, "must be at most %zu characters", max_chars);
        return NULL;
    }
    return v;
}

const char *purposes_query_slug(req_t *r, const char *key, problem_t *p)
{
    const char *v = http_query(r, key);
    if (!v || !v[0]) return NULL;
    if (!validate_slug(v)) {
        problem_field(p, key, "must be a slug (lowercase letters, digits, inner dashes)");
        return NULL;
    }
    return v;
}

/* ---------- purposes ---------- */

static db_stmt_t q_purposes_list = DB_STMT("purposes_list", true,
    "SELECT p.slug, purpose_json(p)::text FROM purposes p"
    " WHERE ($1::text IS NULL OR p.search @@ websearch_to_tsquery('english', $1::text))"
    "   AND p.slug > $2::text"
    " ORDER BY p.slug LIMIT $3::int");

void handle_purposes_list(req_t *r)
{
    int limit;
    if (!http_limit(r, &limit)) return;
    problem_t p;
    problem_init(&p);
    const char *q = purposes_query_text(r, "q", 200, &p);
    if (problem_has_fields(&p)) {
        purposes_bad_query(r, &p);
        return;
    }
    char keys[1][PAGE_KEY_MAX];
    if (!purposes_read_cursor(r, "purposes", CURSOR_KEY_TEXT, keys)) return;
    char lim[16];
    snprintf(lim, sizeof lim, "%d", limit + 1);
    const char *params[3] = {q, keys[0], lim};
    PGresult *res = db_exec(&q_purposes_list, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    purposes_reply_page(r, res, limit, "purposes", 1);
}

static db_stmt_t q_purpose_get = DB_STMT("purpose_get", true,
    "SELECT purpose_json(p)::text FROM purposes p WHERE p.slug = $1");

void handle_purpose_get(req_t *r)
{
    const char *slug = http_param(r, 0);
    if (!validate_slug(slug)) {
        http_error(r, 404, "not-found", "Not found", "No such purpose.");
        return;
    }
    const char *params[1] = {slug};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_purpose_get, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 200, res, 0);
}

static db_stmt_t q_purpose_insert = DB_STMT("purpose_insert", false,
    "INSERT INTO purposes AS p (slug, name, description, created_by)"
    " VALUES ($1, $2, $3, $4::bigint) RETURNING purpose_json(p)::text");

void handle_purpose_create(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"name", "description", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *name = validate_string(body, "name", true, 1, 100, &p);
    const char *description = validate_string(body, "description", false, 0, 2000, &p);
    char slug[72];
    if (name && validate_slugify(name, slug, sizeof slug) != 0)
        problem_field(&p, "name", "must contain letters or digits (a-z, 0-9) to make a slug from");
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[4] = {slug, name, description ? description : "",
                             r->caller.account_id_text};
    PGresult *res = db_exec(&q_purpose_insert, 4, params, &p);
    json_decref(body);
    if (!res) {
        if (db_is_unique_violation()) {
            problem_clear(&p);
            problem_set(&p, 409, "conflict", "Purpose exists",
                        "A purpose with this name or slug (%s) is already in the catalogue.", slug);
            problem_field(&p, "name", "is already in the catalogue");
        }
        http_reply_problem(r, &p);
        return;
    }
    char location[128];
    snprintf(location, sizeof location, "/api/v1/purposes/%s", slug);
    http_add_header(r, "Location", location);
    reply_row_json(r, 201, res, 0);
}
