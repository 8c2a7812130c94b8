/* me: what belongs to the signed-in account as a whole — the export of
 * everything it owns (GET /me/export) and its personal notification feed, an
 * Atom document at a secret, revocable URL (/feeds/me/{token}.atom). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "common.h"
#include "db.h"
#include "feeds.h"
#include "handlers.h"
#include "session.h"

#define ME_FEED_ITEMS "50"

/* ---------- export ---------- */

/* One document (account_export_json, migrations/R__representations.sql);
 * column 1 is the file name. */
static db_stmt_t q_export = DB_STMT("me_export", true,
    "SELECT j::text,"
    " 'purposed-export-' || acc.id || '-' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD') || '.json'"
    " FROM accounts acc CROSS JOIN LATERAL account_export_json(acc) j"
    " WHERE acc.id = $1::bigint AND acc.deleted_at IS NULL");

void handle_my_export(req_t *r)
{
    const char *params[1] = {r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_export, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) == 1) {
        char disposition[128];
        snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", PQgetvalue(res, 0, 1));
        http_add_header(r, "Content-Disposition", disposition);
        http_add_header(r, "Cache-Control", "no-store");
    }
    reply_row_json(r, 200, res, 0);
}

/* ---------- the personal feed: create, rotate, revoke ---------- */

static db_stmt_t q_feed_set = DB_STMT("me_notification_feed_set", false,
    "INSERT INTO notification_feeds (account_id, token_hash) VALUES ($1::bigint, $2::bytea)"
    " ON CONFLICT (account_id) DO UPDATE SET token_hash = EXCLUDED.token_hash, created_at = now()"
    " RETURNING api_time(created_at)");

void handle_my_notification_feed_create(req_t *r)
{
    char token[AUTH_TOKEN_TEXT], hash[AUTH_HASH_HEX];
    auth_token_new(token);
    if (auth_token_hash(token, hash) != 0) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    const char *params[2] = {r->caller.account_id_text, hash};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_feed_set, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    char url[96];
    snprintf(url, sizeof url, "/feeds/me/%s" ME_FEED_SUFFIX, token);
    /* the same token opens the calendar of the account's agreements (calendar.c) */
    char calendar_url[96];
    snprintf(calendar_url, sizeof calendar_url, "/feeds/calendar/%s" CALENDAR_FEED_SUFFIX, token);
    json_t *body = json_pack("{s:s, s:s, s:s}", "url", url, "calendar_url", calendar_url,
                             "created_at", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!body) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    http_add_header(r, "Location", url);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_json(r, 201, body);
}

static db_stmt_t q_feed_delete = DB_STMT("me_notification_feed_delete", true,
    "DELETE FROM notification_feeds WHERE account_id = $1::bigint");

/* 204 whether or not there was a feed: revoking twice is revoking. */
void handle_my_notification_feed_delete(req_t *r)
{
    const char *params[1] = {r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_feed_delete, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    http_reply_empty(r, 204);
}

/* ---------- the personal feed: Atom ---------- */

static db_stmt_t q_feed_items = DB_STMT("me_notification_feed_items", true,
    "WITH page AS (SELECT n.id, n.kind, n.message, n.agreement_id, n.engagement_id, n.created_at"
    "  FROM notifications n WHERE n.account_id = $1::bigint ORDER BY n.id DESC LIMIT " ME_FEED_ITEMS ")"
    "SELECT json_build_object('display_name', a.display_name,"
    " 'updated', api_time(coalesce((SELECT max(created_at) FROM page), a.created_at)),"
    " 'items', coalesce((SELECT json_agg(json_build_object('id', id, 'kind', kind, 'message', message,"
    "   'agreement_id', agreement_id, 'engagement_id', engagement_id,"
    "   'created_at', api_time(created_at)) ORDER BY id DESC) FROM page), '[]'::json))::text"
    " FROM accounts a WHERE a.id = $1::bigint");

static void feed_not_found(req_t *r)
{
    http_fail(r, PROBLEM_NOT_FOUND, "There is no feed at this address.");
}

static void feed_element(strbuf_t *b, const char *name, const char *text)
{
    strbuf_addstr(b, "<");
    strbuf_addstr(b, name);
    strbuf_addstr(b, ">");
    feeds_xml(b, text);
    strbuf_addstr(b, "</");
    strbuf_addstr(b, name);
    strbuf_addstr(b, ">\n");
}

static void feed_link(strbuf_t *b, const char *rel, const char *type, const char *base,
                      const char *path)
{
    strbuf_addstr(b, "<link rel=\"");
    strbuf_addstr(b, rel);
    strbuf_addstr(b, "\" type=\"");
    strbuf_addstr(b, type);
    strbuf_addstr(b, "\" href=\"");
    feeds_xml(b, base);
    feeds_xml(b, path);
    strbuf_addstr(b, "\"/>\n");
}

static const char *jtext(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

/* The Atom document of doc ({display_name, updated, items}) into b. */
static void feed_atom(strbuf_t *b, const json_t *doc, const char *base, const char *account_id,
                      const char *self_path)
{
    char text[160];
    strbuf_addstr(b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                     "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    snprintf(text, sizeof text, "/accounts/%s/notifications", account_id);
    strbuf_addstr(b, "<id>");
    feeds_xml(b, base);
    feeds_xml(b, text);
    strbuf_addstr(b, "</id>\n<title>Notifications for ");
    feeds_xml(b, jtext(doc, "display_name"));
    strbuf_addstr(b, " on Purposed</title>\n");
    feed_element(b, "updated", jtext(doc, "updated"));
    feed_link(b, "self", "application/atom+xml", base, self_path);
    feed_link(b, "alternate", "text/html", base, "/me");
    strbuf_addstr(b, "<author><name>Purposed</name></author>\n"
                     "<generator uri=\"https://purposed.dev\">Purposed</generator>\n");
    size_t i;
    const json_t *n;
    json_array_foreach(json_object_get(doc, "items"), i, n) {
        long long id = (long long)json_integer_value(json_object_get(n, "id"));
        const json_t *agreement = json_object_get(n, "agreement_id");
        const json_t *engagement = json_object_get(n, "engagement_id");
        strbuf_addstr(b, "<entry>\n<id>");
        feeds_xml(b, base);
        snprintf(text, sizeof text, "/accounts/%s/notifications/%lld", account_id, id);
        feeds_xml(b, text);
        strbuf_addstr(b, "</id>\n");
        feed_element(b, "title", jtext(n, "message"));
        feed_element(b, "published", jtext(n, "created_at"));
        feed_element(b, "updated", jtext(n, "created_at"));
        strbuf_addstr(b, "<category term=\"");
        feeds_xml(b, jtext(n, "kind"));
        strbuf_addstr(b, "\"/>\n");
        if (json_is_integer(agreement)) {
            snprintf(text, sizeof text, "/agreements/%lld", (long long)json_integer_value(agreement));
            feed_link(b, "alternate", "text/html", base, text);
        } else if (json_is_integer(engagement)) {
            snprintf(text, sizeof text, "/engagements/%lld", (long long)json_integer_value(engagement));
            feed_link(b, "alternate", "text/html", base, text);
        }
        strbuf_addstr(b, "<content type=\"text\">");
        feeds_xml(b, jtext(n, "message"));
        strbuf_addstr(b, "</content>\n</entry>\n");
    }
    strbuf_addstr(b, "</feed>\n");
}

/* GET /feeds/me/{token}.atom: the newest notifications of the account the
 * token belongs to. Unknown, revoked or malformed tokens are a 404. Reading
 * the feed writes the review-due notifications first, as reading the list
 * does. Nothing is marked read. */
void handle_notification_feed_atom(req_t *r)
{
    const char *account_id = r->caller.account_id_text;
    problem_t p;
    problem_init(&p);
    PGresult *res;
    if (agreements_review_notifications(account_id, &p) != 0) {
        http_reply_problem(r, &p);
        return;
    }
    const char *ip[1] = {account_id};
    res = db_exec(&q_feed_items, 1, ip, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    json_t *doc = PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    if (!doc) {
        feed_not_found(r); /* the account went away between the statements */
        return;
    }
    char base[600], self_path[96];
    feeds_base_url(r, base, sizeof base);
    snprintf(self_path, sizeof self_path, "/feeds/me/%s", http_param(r, 0));
    strbuf_t b = STRBUF_INIT;
    feed_atom(&b, doc, base, account_id, self_path);
    json_decref(doc);
    size_t text_len;
    char *text = strbuf_detach(&b, &text_len);
    if (!text) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    /* a secret address: never kept by shared caches (whatever its links
     * come from), never indexed */
    feeds_cache_control(r, true, 60);
    http_add_header(r, "X-Robots-Tag", "noindex");
    http_reply_text(r, 200, "application/atom+xml; charset=utf-8", text, text_len);
}
