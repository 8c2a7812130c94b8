/* feeds: open engagements as Atom 1.0 (RFC 4287) and JSON Feed 1.1, newest
 * first, filtered by ?organisation= and ?purpose=, with ETag/Last-Modified
 * and 304 answers so aggregators can poll cheaply. */
#define _XOPEN_SOURCE 700 /* strptime */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common.h"
#include "db.h"
#include "feeds.h"
#include "handlers.h"
#include "utf8.h"

#define FEED_ITEMS 50
#define FEED_STR_(x) #x
#define FEED_STR(x) FEED_STR_(x)
#define FEED_SUMMARY_BYTES 300

/* ---------- XML text ---------- */

/* Text for XML content and attributes: markup characters escaped, and the
 * characters XML 1.0 forbids (C0 controls but tab/newline/return, U+FFFE,
 * U+FFFF) removed. s is valid UTF-8 (it went through jansson). */
static void xml_add(strbuf_t *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        switch (c) {
        case '&': strbuf_addstr(b, "&amp;"); continue;
        case '<': strbuf_addstr(b, "&lt;"); continue;
        case '>': strbuf_addstr(b, "&gt;"); continue;
        case '"': strbuf_addstr(b, "&quot;"); continue;
        case '\'': strbuf_addstr(b, "&apos;"); continue;
        default: break;
        }
        if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') continue;
        if (c == 0xEF && i + 2 < n && (unsigned char)s[i + 1] == 0xBF &&
            ((unsigned char)s[i + 2] == 0xBE || (unsigned char)s[i + 2] == 0xBF)) {
            i += 2;
            continue;
        }
        strbuf_add(b, s + i, 1);
    }
}

static void xml_add_str(strbuf_t *b, const char *s) { xml_add(b, s, s ? strlen(s) : 0); }

void feeds_xml(strbuf_t *b, const char *s) { xml_add_str(b, s); }

/* ---------- the request: filters and absolute URLs ---------- */

typedef struct feed_req {
    const char *organisation;  /* slug or NULL */
    const char *purpose;       /* slug or NULL */
    char base[600];            /* "http://host:port", no trailing slash */
    bool base_from_request;    /* base came from Host, not PUBLIC_URL */
    char query[160];           /* "" or "?organisation=x&purpose=y" (raw, not escaped) */
} feed_req_t;

static bool host_ok(const char *h)
{
    size_t n = h ? strlen(h) : 0;
    if (n < 1 || n > 255) return false;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == ':'))
            return false;
    }
    return true;
}

bool feeds_base_url(req_t *r, char *out, size_t cap)
{
    if (http_config->public_url[0]) {
        snprintf(out, cap, "%s", http_config->public_url);
        return false;
    }
    const char *host = http_header(r, "Host");
    snprintf(out, cap, "%s://%s", http_config->cookie_secure ? "https" : "http",
             host_ok(host) ? host : "localhost");
    return true;
}

void feeds_cache_control(req_t *r, bool links_from_request, int max_age)
{
    char value[48];
    snprintf(value, sizeof value, "%s, max-age=%d", links_from_request ? "private" : "public",
             max_age);
    http_add_header(r, "Cache-Control", value);
}

static bool read_feed_request(req_t *r, feed_req_t *f)
{
    memset(f, 0, sizeof *f);
    problem_t p;
    problem_init(&p);
    f->organisation = purposes_query_slug(r, "organisation", &p);
    f->purpose = purposes_query_slug(r, "purpose", &p);
    if (problem_has_fields(&p)) {
        purposes_bad_query(r, &p);
        return false;
    }
    f->base_from_request = feeds_base_url(r, f->base, sizeof f->base);
    if (f->organisation && f->purpose)
        snprintf(f->query, sizeof f->query, "?organisation=%s&purpose=%s", f->organisation,
                 f->purpose);
    else if (f->organisation)
        snprintf(f->query, sizeof f->query, "?organisation=%s", f->organisation);
    else if (f->purpose)
        snprintf(f->query, sizeof f->query, "?purpose=%s", f->purpose);
    return true;
}

/* ---------- the data: one statement, one JSON document ---------- */

static db_stmt_t q_feed = DB_STMT("feed_engagements", true,
    "WITH o AS (SELECT id, name FROM organisations WHERE slug = $1 AND hidden_at IS NULL),"
    " pu AS (SELECT id, name FROM purposes WHERE slug = $2 AND hidden_at IS NULL),"
    " page AS (SELECT e.created_at, e.id,"
    "   (SELECT d.doc FROM engagement_docs d WHERE d.engagement_id = e.id)::json AS j"
    "   FROM engagements e WHERE e.status = 'open' AND NOT e.hidden"
    "   AND ($1::text IS NULL OR e.organisation_id = (SELECT id FROM o))"
    "   AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM engagement_purposes ep"
    "        WHERE ep.engagement_id = e.id AND ep.purpose_id = (SELECT id FROM pu)))"
    "   ORDER BY e.created_at DESC, e.id DESC LIMIT " FEED_STR(FEED_ITEMS) "),"
    /* every engagement of the filter, open or not: closing one changes the feed */
    " changed AS (SELECT max(e.updated_at) AS at FROM engagements e"
    "   WHERE ($1::text IS NULL OR e.organisation_id = (SELECT id FROM o))"
    "   AND ($2::text IS NULL OR EXISTS (SELECT 1 FROM engagement_purposes ep"
    "        WHERE ep.engagement_id = e.id AND ep.purpose_id = (SELECT id FROM pu))))"
    "SELECT json_build_object("
    " 'organisation_found', $1::text IS NULL OR EXISTS (SELECT 1 FROM o),"
    " 'organisation_name', (SELECT name FROM o),"
    " 'purpose_found', $2::text IS NULL OR EXISTS (SELECT 1 FROM pu),"
    " 'purpose_name', (SELECT name FROM pu),"
    " 'updated', api_time(coalesce((SELECT at FROM changed), 'epoch')),"
    " 'updated_epoch', floor(extract(epoch FROM coalesce((SELECT at FROM changed), 'epoch')))::bigint,"
    /* items as GET /api/v1/engagements/{id} shows them (engagement_docs,
     * migration 0054) */
    " 'items', coalesce((SELECT json_agg(j ORDER BY created_at DESC, id DESC) FROM page), '[]'::json)"
    ")::text");

/* The feed document, or NULL with the response set. */
static json_t *load_feed(req_t *r, const feed_req_t *f)
{
    const char *params[2] = {f->organisation, f->purpose};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_feed, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return NULL;
    }
    json_t *doc = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!doc) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return NULL;
    }
    if (!json_is_true(json_object_get(doc, "organisation_found")) ||
        !json_is_true(json_object_get(doc, "purpose_found"))) {
        json_decref(doc);
        http_fail(r, PROBLEM_NO_SUCH_ITEM,
                  f->organisation && f->purpose ? "No such organisation or purpose."
                  : f->organisation             ? "No such organisation."
                                                : "No such purpose.");
        return NULL;
    }
    return doc;
}

static const char *jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static void feed_title(const json_t *doc, char *out, size_t cap)
{
    const char *org = json_string_value(json_object_get(doc, "organisation_name"));
    const char *purpose = json_string_value(json_object_get(doc, "purpose_name"));
    if (org && purpose)
        snprintf(out, cap, "Open engagements at %s for %s", org, purpose);
    else if (org)
        snprintf(out, cap, "Open engagements at %s", org);
    else if (purpose)
        snprintf(out, cap, "Open engagements for %s", purpose);
    else
        snprintf(out, cap, "Open engagements on Purposed");
}

/* ---------- conditional requests ---------- */

static void http_date(long long epoch, char *out, size_t cap)
{
    time_t t = (time_t)epoch;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

/* Set ETag (a hash of the body), Last-Modified and Cache-Control (public
 * only when the links come from PUBLIC_URL); answer 304 when the client has
 * this version already. Steals body (len bytes; NULL when it could not be
 * built). */
static void reply_feed(req_t *r, const feed_req_t *f, const json_t *doc, const char *content_type,
                       char *body, size_t len)
{
    if (!body) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    unsigned char hash[16];
    crypto_generichash(hash, sizeof hash, (const unsigned char *)body, len, NULL, 0);
    char hex[33], etag[40], modified[64];
    sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
    snprintf(etag, sizeof etag, "\"%s\"", hex);
    long long updated = (long long)json_integer_value(json_object_get(doc, "updated_epoch"));
    http_date(updated, modified, sizeof modified);
    http_add_header(r, "ETag", etag);
    http_add_header(r, "Last-Modified", modified);
    feeds_cache_control(r, f->base_from_request, 60);
    const char *inm = http_header(r, "If-None-Match");
    const char *ims = http_header(r, "If-Modified-Since");
    bool not_modified = false;
    if (inm) {
        not_modified = http_etag_listed(inm, etag);
    } else if (ims) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *end = strptime(ims, "%a, %d %b %Y %H:%M:%S GMT", &tm);
        if (end && *end == '\0') not_modified = (long long)timegm(&tm) >= updated;
    }
    if (not_modified) {
        free(body);
        http_reply_empty(r, 304);
        return;
    }
    http_reply_text(r, 200, content_type, body, len);
}

/* ---------- Atom ---------- */

static void atom_link(strbuf_t *b, const char *rel, const char *type, const char *href_a,
                      const char *href_b, const char *href_c)
{
    strbuf_addstr(b, "<link rel=\"");
    strbuf_addstr(b, rel);
    strbuf_addstr(b, "\" type=\"");
    strbuf_addstr(b, type);
    strbuf_addstr(b, "\" href=\"");
    xml_add_str(b, href_a);
    xml_add_str(b, href_b);
    xml_add_str(b, href_c);
    strbuf_addstr(b, "\"/>\n");
}

static void atom_element(strbuf_t *b, const char *name, const char *text)
{
    strbuf_addstr(b, "<");
    strbuf_addstr(b, name);
    strbuf_addstr(b, ">");
    xml_add_str(b, text);
    strbuf_addstr(b, "</");
    strbuf_addstr(b, name);
    strbuf_addstr(b, ">\n");
}

/* The first bytes of s, cut at a character boundary, with an ellipsis. */
static void atom_summary(strbuf_t *b, const char *s)
{
    size_t n = strlen(s);
    strbuf_addstr(b, "<summary type=\"text\">");
    if (n <= FEED_SUMMARY_BYTES) {
        xml_add(b, s, n);
    } else {
        xml_add(b, s, utf8_prefix(s, n, FEED_SUMMARY_BYTES));
        strbuf_addstr(b, "\xE2\x80\xA6"); /* … */
    }
    strbuf_addstr(b, "</summary>\n");
}

void handle_feed_atom(req_t *r)
{
    feed_req_t f;
    if (!read_feed_request(r, &f)) return;
    json_t *doc = load_feed(r, &f);
    if (!doc) return;
    char title[600], id[24];
    feed_title(doc, title, sizeof title);
    strbuf_t b = STRBUF_INIT;
    strbuf_addstr(&b, "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
                      "<feed xmlns=\"http://www.w3.org/2005/Atom\">\n");
    strbuf_addstr(&b, "<id>");
    xml_add_str(&b, f.base);
    strbuf_addstr(&b, "/feeds/engagements.atom");
    xml_add_str(&b, f.query);
    strbuf_addstr(&b, "</id>\n");
    atom_element(&b, "title", title);
    atom_element(&b, "updated", jstr(doc, "updated"));
    atom_link(&b, "self", "application/atom+xml", f.base, "/feeds/engagements.atom", f.query);
    atom_link(&b, "alternate", "text/html", f.base, "/engagements", "");
    atom_link(&b, "alternate", "application/feed+json", f.base, "/feeds/engagements.json", f.query);
    strbuf_addstr(&b, "<author><name>Purposed</name></author>\n"
                      "<generator uri=\"https://purposed.dev\">Purposed</generator>\n");
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(doc, "items"), i, e) {
        snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(e, "id")));
        const json_t *org = json_object_get(e, "organisation");
        strbuf_addstr(&b, "<entry>\n<id>");
        xml_add_str(&b, f.base);
        strbuf_addstr(&b, "/engagements/");
        strbuf_addstr(&b, id);
        strbuf_addstr(&b, "</id>\n");
        atom_element(&b, "title", jstr(e, "title"));
        atom_element(&b, "published", jstr(e, "created_at"));
        atom_element(&b, "updated", jstr(e, "updated_at"));
        char path[48];
        snprintf(path, sizeof path, "/engagements/%s", id);
        atom_link(&b, "alternate", "text/html", f.base, path, "");
        strbuf_addstr(&b, "<author><name>");
        xml_add_str(&b, jstr(org, "name"));
        strbuf_addstr(&b, "</name><uri>");
        xml_add_str(&b, f.base);
        strbuf_addstr(&b, "/organisations/");
        xml_add_str(&b, jstr(org, "slug"));
        strbuf_addstr(&b, "</uri></author>\n");
        size_t j;
        const json_t *purpose;
        json_array_foreach(json_object_get(e, "purposes"), j, purpose) {
            strbuf_addstr(&b, "<category term=\"");
            xml_add_str(&b, jstr(purpose, "slug"));
            strbuf_addstr(&b, "\" scheme=\"");
            xml_add_str(&b, f.base);
            strbuf_addstr(&b, "/purposes/\" label=\"");
            xml_add_str(&b, jstr(purpose, "name"));
            strbuf_addstr(&b, "\"/>\n");
        }
        atom_summary(&b, jstr(e, "description"));
        strbuf_addstr(&b, "<content type=\"text\">");
        xml_add_str(&b, jstr(e, "description"));
        strbuf_addstr(&b, "</content>\n</entry>\n");
    }
    strbuf_addstr(&b, "</feed>\n");
    size_t len;
    char *text = strbuf_detach(&b, &len);
    reply_feed(r, &f, doc, "application/atom+xml; charset=utf-8", text, len);
    json_decref(doc);
}

/* ---------- JSON Feed 1.1 ---------- */

static json_t *url_of(const feed_req_t *f, const char *path, const char *query)
{
    char url[900];
    snprintf(url, sizeof url, "%s%s%s", f->base, path, query ? query : "");
    return json_string(url);
}

void handle_feed_json(req_t *r)
{
    feed_req_t f;
    if (!read_feed_request(r, &f)) return;
    json_t *doc = load_feed(r, &f);
    if (!doc) return;
    char title[600];
    feed_title(doc, title, sizeof title);
    json_t *feed = json_object();
    json_object_set_new(feed, "version", json_string("https://jsonfeed.org/version/1.1"));
    json_object_set_new(feed, "title", json_string(title));
    json_object_set_new(feed, "home_page_url", url_of(&f, "/engagements", NULL));
    json_object_set_new(feed, "feed_url", url_of(&f, "/feeds/engagements.json", f.query));
    json_object_set_new(feed, "description",
                        json_string("Purposeful work that organisations offer, newest first."));
    json_object_set_new(feed, "authors", json_pack("[{s:s}]", "name", "Purposed"));
    json_t *items = json_array();
    size_t i;
    const json_t *e;
    json_array_foreach(json_object_get(doc, "items"), i, e) {
        char path[48];
        snprintf(path, sizeof path, "/engagements/%lld",
                 (long long)json_integer_value(json_object_get(e, "id")));
        const json_t *org = json_object_get(e, "organisation");
        char org_path[96];
        snprintf(org_path, sizeof org_path, "/organisations/%s", jstr(org, "slug"));
        json_t *tags = json_array();
        size_t j;
        const json_t *purpose;
        json_array_foreach(json_object_get(e, "purposes"), j, purpose)
            json_array_append_new(tags, json_string(jstr(purpose, "name")));
        json_t *item = json_object();
        json_object_set_new(item, "id", url_of(&f, path, NULL));
        json_object_set_new(item, "url", url_of(&f, path, NULL));
        json_object_set_new(item, "title", json_string(jstr(e, "title")));
        json_object_set_new(item, "content_text", json_string(jstr(e, "description")));
        json_object_set_new(item, "date_published", json_string(jstr(e, "created_at")));
        json_object_set_new(item, "date_modified", json_string(jstr(e, "updated_at")));
        json_t *author = json_object();
        json_object_set_new(author, "name", json_string(jstr(org, "name")));
        json_object_set_new(author, "url", url_of(&f, org_path, NULL));
        json_object_set_new(item, "authors", json_pack("[o]", author));
        json_object_set_new(item, "tags", tags);
        json_t *ext = json_object();
        json_object_set(ext, "organisation", json_object_get(e, "organisation"));
        json_object_set(ext, "purposes", json_object_get(e, "purposes"));
        json_object_set(ext, "packagings", json_object_get(e, "packagings"));
        json_object_set(ext, "rewards", json_object_get(e, "rewards"));
        json_object_set(ext, "skills", json_object_get(e, "skills"));
        json_object_set(ext, "hours_per_week", json_object_get(e, "hours_per_week"));
        json_object_set(ext, "duration_weeks", json_object_get(e, "duration_weeks"));
        json_object_set(ext, "location", json_object_get(e, "location"));
        json_object_set(ext, "remote_ok", json_object_get(e, "remote_ok"));
        json_object_set_new(item, "_purposed", ext);
        json_array_append_new(items, item);
    }
    json_object_set_new(feed, "items", items);
    char *text = json_dumps(feed, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(feed);
    reply_feed(r, &f, doc, "application/feed+json; charset=utf-8", text, text ? strlen(text) : 0);
    json_decref(doc);
}
