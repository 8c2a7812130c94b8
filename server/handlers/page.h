/* page: the one keyset pager of every list, and the one place the list
 * envelope {"items": [...], "next_cursor": "..." | null} is written.
 *
 * A list reads ?limit= and ?cursor= with page_read, runs one statement that
 * fetches LIMIT pg.fetch rows (limit + 1: the extra row says there is a next
 * page) whose first nkeys columns are the keys of its order and the next one
 * the item's JSON, and answers with page_reply. The next cursor is the
 * signed [tag, keys of the last item shown] (lib/cursor.h).
 *
 * One rule for a missing cursor: on the first page every key parameter is
 * NULL (page_key), and the statement says where its order starts, in a form
 * an index can still seek on:
 *     (e.created_at, e.id) < (coalesce($8::timestamptz, 'infinity'),
 *                             coalesce($9::bigint, 9223372036854775807)) */
#ifndef PURPOSED_HANDLERS_PAGE_H
#define PURPOSED_HANDLERS_PAGE_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "http.h"

#define PAGE_MAX_KEYS 2
#define PAGE_KEY_MAX 512

typedef struct page {
    const char *tag;   /* names the list in its cursors */
    const char *kinds; /* the kinds of its keys, one CURSOR_KEY_* each (lib/cursor.h) */
    int nkeys;
    int limit;         /* ?limit=: 1..100, default 20 */
    char fetch[16];    /* limit + 1 as text, for the statement's LIMIT */
    bool has_cursor;
    char keys[PAGE_MAX_KEYS][PAGE_KEY_MAX];
} page_t;

/* Read ?limit= and ?cursor= for the list tag whose order has the keys
 * kinds (CURSOR_KEY_TIME CURSOR_KEY_ID: one character each). 0, or negative
 * with the answer set when either is bad (400: a cursor of another list, or
 * a key not of its kind, never reaches SQL) or the cursor cannot be checked
 * yet (503). */
int page_read(req_t *r, page_t *pg, const char *tag, const char *kinds);
/* Key i of the cursor, for the statement: NULL on the first page. A first
 * key too long for a cursor comes back as "" (see page_reply). */
const char *page_key(const page_t *pg, int i);
/* Reply 200 with the page of res: columns 0..nkeys-1 the keys, column nkeys
 * the item's JSON text (compacted here); a row whose item is NULL is not an
 * item (a statement that must answer a row, e.g. with a count, LEFT JOINs
 * its page to it). extra is NULL or more members of the envelope
 * ("\"unread\":3"). A first key too long for a cursor is sent as "" (the
 * statement then finds the row by the others). Clears res. */
void page_reply(req_t *r, const page_t *pg, PGresult *res, const char *extra);
/* More members for the item of row: text like ",\"my_side\":\"agent\"" (owned by
 * the pager), added after the item's own; NULL for none. */
typedef char *(*page_more_fn)(const PGresult *res, int row, void *ctx);
/* page_reply, with more(res, row, ctx) members in each item: what depends on
 * the caller, which a representation never holds. */
void page_reply_more(req_t *r, const page_t *pg, PGresult *res, const char *extra,
                     page_more_fn more, void *ctx);
/* Reply 200 with a list that has no next page, its items already written
 * (compact JSON joined by commas; items is taken, may be NULL when len is 0). */
void page_reply_items(req_t *r, char *items, size_t len);

#endif
