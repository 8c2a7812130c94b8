/* page: keyset pages and the list envelope (see page.h). */
#include "page.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "cursor.h"
#include "jsontext.h"

static int bad_cursor(req_t *r)
{
    problem_t p;
    problem_init(&p);
    problem_field(&p, "cursor", "is not a cursor this list gave out");
    problem_fail(&p, PROBLEM_BAD_CURSOR,
                 "The cursor is malformed, tampered with or belongs to another list.");
    return http_reply_problem(r, &p);
}

int page_read(req_t *r, page_t *pg, const char *tag, const char *kinds)
{
    memset(pg, 0, sizeof *pg);
    pg->tag = tag;
    pg->kinds = kinds;
    pg->nkeys = (int)strlen(kinds);
    if (pg->nkeys > PAGE_MAX_KEYS)
        return http_fail(r, PROBLEM_INTERNAL, "A list has too many cursor keys.");
    int rc = http_query_limit(r, &pg->limit);
    if (rc < 0) return rc;
    snprintf(pg->fetch, sizeof pg->fetch, "%d", pg->limit + 1);
    const char *c = http_query(r, "cursor");
    if (!c) return 0;
    if (!cursor_ready()) return reply_cursor_key_unavailable(r);
    json_t *arr = cursor_decode(c, (size_t)pg->nkeys + 1);
    const json_t *t = arr ? json_array_get(arr, 0) : NULL;
    bool ok = t && json_is_string(t) && strcmp(json_string_value(t), tag) == 0;
    /* Signed is not valid: each key must be what the list gives out (a
     * forged or stale key never reaches SQL as something it cannot cast). */
    for (int i = 0; ok && i < pg->nkeys; i++) {
        const json_t *k = json_array_get(arr, (size_t)i + 1);
        if (json_is_string(k))
            ok = json_string_length(k) < PAGE_KEY_MAX &&
                 strlen(json_string_value(k)) == json_string_length(k);
        else /* the agreement lists' cursors made before the one pager had integer ids */
            ok = json_is_integer(k) && kinds[i] == CURSOR_KEY_ID[0];
        if (!ok) break;
        if (json_is_string(k)) snprintf(pg->keys[i], PAGE_KEY_MAX, "%s", json_string_value(k));
        else snprintf(pg->keys[i], PAGE_KEY_MAX, "%lld", (long long)json_integer_value(k));
        /* "" is the first key a list sends when it is too long for a cursor */
        ok = (i == 0 && !pg->keys[i][0] && kinds[i] == CURSOR_KEY_TEXT[0]) ||
             cursor_key_valid(kinds[i], pg->keys[i]);
    }
    json_decref(arr);
    if (!ok) return bad_cursor(r);
    pg->has_cursor = true;
    return 0;
}

const char *page_key(const page_t *pg, int i)
{
    return pg->has_cursor && i < pg->nkeys ? pg->keys[i] : NULL;
}

/* [tag, keys of row] as a cursor; with blank_first the first key is "". */
static char *encode_cursor(const PGresult *res, int row, const page_t *pg, bool blank_first)
{
    json_t *arr = json_array();
    json_array_append_new(arr, json_string(pg->tag));
    for (int i = 0; i < pg->nkeys; i++)
        json_array_append_new(arr, json_string(blank_first && i == 0 ? "" : PQgetvalue(res, row, i)));
    char *c = cursor_encode(arr);
    json_decref(arr);
    return c;
}

static const char k_head[] = "{\"items\":[", k_mid[] = "],\"next_cursor\":";

/* The envelope around items (len bytes, joined by commas); takes nothing. */
static void reply_envelope(req_t *r, const char *items, size_t len, const char *cursor,
                           const char *extra)
{
    size_t cap = sizeof k_head + len + sizeof k_mid + (cursor ? strlen(cursor) + 2 : 4) +
                 (extra ? strlen(extra) + 1 : 0) + 2;
    char *body = malloc(cap);
    if (!body) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    size_t o = 0;
    memcpy(body, k_head, sizeof k_head - 1);
    o += sizeof k_head - 1;
    if (len) memcpy(body + o, items, len);
    o += len;
    memcpy(body + o, k_mid, sizeof k_mid - 1);
    o += sizeof k_mid - 1;
    o += (size_t)snprintf(body + o, cap - o, cursor ? "\"%s\"" : "null", cursor);
    if (extra && extra[0]) o += (size_t)snprintf(body + o, cap - o, ",%s", extra);
    body[o++] = '}';
    http_reply_text(r, 200, "application/json", body, o);
}

void page_reply_items(req_t *r, char *items, size_t len)
{
    reply_envelope(r, items, len, NULL, NULL);
    free(items);
}

void page_reply(req_t *r, const page_t *pg, PGresult *res, const char *extra)
{
    page_reply_more(r, pg, res, extra, NULL, NULL);
}

void page_reply_more(req_t *r, const page_t *pg, PGresult *res, const char *extra,
                     page_more_fn more, void *ctx)
{
    int col = pg->nkeys;
    int rows = PQntuples(res), n = 0, last = -1;
    size_t len = 0;
    /* the items, and the row of the last one shown */
    char **mores = more && rows ? calloc((size_t)rows, sizeof *mores) : NULL;
    if (more && rows && !mores) {
        PQclear(res);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    for (int i = 0; i < rows && n <= pg->limit; i++) {
        if (PQgetisnull(res, i, col)) continue;
        if (++n > pg->limit) break;
        len += (size_t)PQgetlength(res, i, col) + 1;
        if (mores) {
            mores[i] = more(res, i, ctx);
            len += mores[i] ? strlen(mores[i]) : 0;
        }
        last = i;
    }
    char *cursor = NULL;
    if (n > pg->limit) {
        cursor = encode_cursor(res, last, pg, false);
        if (!cursor || strlen(cursor) > CURSOR_MAX_LEN) {
            free(cursor);
            cursor = encode_cursor(res, last, pg, true);
        }
        if (!cursor || strlen(cursor) > CURSOR_MAX_LEN) {
            free(cursor);
            PQclear(res);
            http_fail(r, PROBLEM_INTERNAL, "Could not make the next cursor.");
            return;
        }
    }
    char *items = malloc(len + 1);
    if (!items) {
        free(cursor);
        for (int i = 0; mores && i < rows; i++) free(mores[i]);
        free(mores);
        PQclear(res);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    size_t o = 0;
    for (int i = 0; i <= last; i++) {
        if (PQgetisnull(res, i, col)) continue;
        if (o) items[o++] = ',';
        size_t at = jsontext_compact(items + o, PQgetvalue(res, i, col), (size_t)PQgetlength(res, i, col));
        if (mores && mores[i] && at >= 2 && items[o + at - 1] == '}') {
            /* the item's own members, then the caller's, then the brace */
            size_t ml = strlen(mores[i]);
            memcpy(items + o + at - 1, mores[i], ml);
            items[o + at - 1 + ml] = '}';
            at += ml;
        }
        o += at;
    }
    for (int i = 0; mores && i < rows; i++) free(mores[i]);
    free(mores);
    PQclear(res);
    reply_envelope(r, items, o, cursor, extra);
    free(items);
    free(cursor);
}
