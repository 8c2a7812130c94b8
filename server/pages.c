/* pages: the web interface's pages as HTML with their content (title,
 * description, canonical link, Open Graph, JSON-LD, a readable <main>),
 * rendered from the SQL representations into static/index.html; a missing
 * item or path is a 404 page. Also the sitemap and robots.txt. */
#define _GNU_SOURCE /* memmem */
#include "pages.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "handlers/activitypub.h"
#include "handlers/common.h"
#include "handlers/feeds.h"
#include "handlers/handlers.h"
#include "log.h"
#include "utf8.h"
#include "validate.h"

#define SITE_NAME "Purposed"
#define HOME_TITLE "Purposed — purposeful work, agreed in the open"
#define HOME_DESCRIPTION                                                                       \
    "Purposed: purpose agents and for-purpose organisations find each other, agree how they " \
    "work together, and keep the record."
#define DESCRIPTION_BYTES 200
#define TEMPLATE_MAX (1 << 20)
/* the sitemap protocol's limit of addresses per file */
#define SITEMAP_URLS 50000
#define SITEMAP_STR_(x) #x
#define SITEMAP_STR(x) SITEMAP_STR_(x)
#define LIST_ITEMS 20

/* ---------- escaping ---------- */

void pages_html(strbuf_t *b, const char *s)
{
    if (!s) return;
    for (const char *c = s; *c; c++) {
        switch (*c) {
        case '&': strbuf_addstr(b, "&amp;"); break;
        case '<': strbuf_addstr(b, "&lt;"); break;
        case '>': strbuf_addstr(b, "&gt;"); break;
        case '"': strbuf_addstr(b, "&quot;"); break;
        case '\'': strbuf_addstr(b, "&#39;"); break;
        default: strbuf_addch(b, *c);
        }
    }
}

void pages_json_script(strbuf_t *b, const char *json)
{
    if (!json) return;
    for (const char *c = json; *c; c++) {
        switch (*c) {
        case '<': strbuf_addstr(b, "\\u003c"); break;
        case '>': strbuf_addstr(b, "\\u003e"); break;
        case '&': strbuf_addstr(b, "\\u0026"); break;
        default: strbuf_addch(b, *c);
        }
    }
}

/* ---------- the template ---------- */

static const char k_head_open[] = "<!--page-head-->", k_head_close[] = "<!--/page-head-->";
static const char k_main_open[] = "<!--page-main-->", k_main_close[] = "<!--/page-main-->";

static const char *find(const char *hay, size_t len, const char *needle)
{
    return memmem(hay, len, needle, strlen(needle));
}

int pages_fill(strbuf_t *out, const char *tmpl, size_t len, const char *head, const char *main)
{
    const char *ho = find(tmpl, len, k_head_open);
    const char *hc = find(tmpl, len, k_head_close);
    const char *mo = find(tmpl, len, k_main_open);
    const char *mc = find(tmpl, len, k_main_close);
    if (!ho || !hc || !mo || !mc || !(ho < hc && hc < mo && mo < mc)) return -1;
    strbuf_add(out, tmpl, (size_t)(ho - tmpl));
    strbuf_addstr(out, head);
    const char *after_head = hc + strlen(k_head_close);
    strbuf_add(out, after_head, (size_t)(mo - after_head));
    strbuf_addstr(out, main);
    const char *after_main = mc + strlen(k_main_close);
    strbuf_add(out, after_main, (size_t)(tmpl + len - after_main));
    return 0;
}

/* static/index.html, read at each page (a few KB; an edit shows at once).
 * NULL when it cannot be read. */
static char *read_template(size_t *len)
{
    char path[1100];
    snprintf(path, sizeof path, "%s/index.html", http_config->static_dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return NULL;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > TEMPLATE_MAX) {
        close(fd);
        return NULL;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        got += (size_t)n;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        free(buf);
        return NULL;
    }
    buf[got] = '\0';
    *len = got;
    return buf;
}

/* ---------- a page ---------- */

typedef struct page {
    int status;
    strbuf_t title;        /* text; SITE_NAME is added */
    strbuf_t description;  /* text, cut to DESCRIPTION_BYTES */
    char path[320];        /* the canonical path, "" when the page has none */
    const char *og_type;   /* "website" unless said */
    bool noindex;
    json_t *jsonld;        /* owned; NULL when none */
    strbuf_t main;         /* HTML */
} page_t;

static void page_init(page_t *pg, int status)
{
    memset(pg, 0, sizeof *pg);
    pg->status = status;
    strbuf_init(&pg->title, 64);
    strbuf_init(&pg->description, 256);
    strbuf_init(&pg->main, 4096);
    pg->og_type = "website";
}

static void page_free(page_t *pg)
{
    strbuf_release(&pg->title);
    strbuf_release(&pg->description);
    strbuf_release(&pg->main);
    if (pg->jsonld) json_decref(pg->jsonld);
}

/* The description: whitespace runs become one space, cut at a character
 * boundary with an ellipsis. */
static void page_describe(page_t *pg, const char *text)
{
    if (!text) return;
    char cut[DESCRIPTION_BYTES + 8];
    size_t n = 0;
    bool space = false;
    const char *s = text;
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') s++;
    for (; *s && n < sizeof cut - 1; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') {
            space = true;
            continue;
        }
        if (space && n) cut[n++] = ' ';
        space = false;
        if (n < sizeof cut - 1) cut[n++] = *s;
    }
    cut[n] = '\0';
    bool more = *s != '\0' || n > DESCRIPTION_BYTES;
    if (more) {
        n = utf8_prefix(cut, n, DESCRIPTION_BYTES - 3);
        cut[n] = '\0';
    }
    strbuf_addstr(&pg->description, cut);
    if (more) strbuf_addstr(&pg->description, "…");
}

static void meta(strbuf_t *b, const char *attr, const char *name, const char *content)
{
    strbuf_addf(b, "<meta %s=\"%s\" content=\"", attr, name);
    pages_html(b, content);
    strbuf_addstr(b, "\">\n  ");
}

/* The head: title, description, robots, canonical (only from PUBLIC_URL:
 * never from the request's Host, so the page is the same for everyone and
 * may be cached), Open Graph, Twitter card, JSON-LD. */
static void page_head(const page_t *pg, strbuf_t *b)
{
    const char *title = strbuf_str(&pg->title);
    const char *desc = pg->description.len ? strbuf_str(&pg->description) : HOME_DESCRIPTION;
    strbuf_addstr(b, "<title>");
    if (pg->title.len) {
        pages_html(b, title);
        strbuf_addstr(b, " · " SITE_NAME);
    } else {
        pages_html(b, HOME_TITLE);
    }
    strbuf_addstr(b, "</title>\n  ");
    meta(b, "name", "description", desc);
    if (pg->noindex) meta(b, "name", "robots", "noindex");
    const char *base = http_config->public_url;
    char url[900] = "";
    if (pg->path[0] && base[0]) {
        snprintf(url, sizeof url, "%s%s", base, pg->path);
        strbuf_addstr(b, "<link rel=\"canonical\" href=\"");
        pages_html(b, url);
        strbuf_addstr(b, "\">\n  ");
    }
    const char *og_title = pg->title.len ? title : HOME_TITLE;
    meta(b, "property", "og:site_name", SITE_NAME);
    meta(b, "property", "og:type", pg->og_type);
    meta(b, "property", "og:title", og_title);
    meta(b, "property", "og:description", desc);
    if (url[0]) meta(b, "property", "og:url", url);
    meta(b, "name", "twitter:card", "summary");
    meta(b, "name", "twitter:title", og_title);
    meta(b, "name", "twitter:description", desc);
    if (pg->jsonld) {
        char *json = json_dumps(pg->jsonld, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (json) {
            strbuf_addstr(b, "<script type=\"application/ld+json\">");
            pages_json_script(b, json);
            strbuf_addstr(b, "</script>\n  ");
            free(json);
        }
    }
}

static void page_reply(req_t *r, page_t *pg)
{
    size_t len = 0;
    char *tmpl = read_template(&len);
    if (!tmpl) {
        page_free(pg);
        http_fail(r, PROBLEM_NOT_FOUND, "The web interface is not installed.");
        return;
    }
    strbuf_t head, out, main;
    strbuf_init(&head, 2048);
    strbuf_init(&out, len + pg->main.len + 4096);
    strbuf_init(&main, pg->main.len + 64);
    page_head(pg, &head);
    /* data-served: the content as the daemon wrote it, until the app renders */
    strbuf_addstr(&main, "<div data-served>");
    strbuf_add(&main, strbuf_str(&pg->main), pg->main.len);
    strbuf_addstr(&main, "</div>");
    if (pages_fill(&out, tmpl, len, strbuf_str(&head), strbuf_str(&main)) != 0) {
        static bool told;
        if (!told) log_event("error", "page_template", "static/index.html lacks the page markers");
        told = true;
        strbuf_add(&out, tmpl, len);
    }
    free(tmpl);
    strbuf_release(&head);
    strbuf_release(&main);
    int status = pg->status;
    page_free(pg);
    size_t n = 0;
    char *body = strbuf_detach(&out, &n);
    if (!body) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    http_add_header(r, "Cache-Control", "no-cache");
    http_reply_text(r, status, "text/html; charset=utf-8", body, n);
}

/* A database failure: the page says so with the problem's status (503
 * with Retry-After while the database is away); the app retries. */
static void page_db_failed(req_t *r, problem_t *p)
{
    page_t pg;
    page_init(&pg, p->status ? p->status : 500);
    pg.noindex = true;
    strbuf_addstr(&pg.title, "Briefly unavailable");
    strbuf_addstr(&pg.main, "<section class=\"empty\"><h1 class=\"empty__title\">Purposed is "
                            "catching its breath</h1><p>This page could not be read just now. "
                            "Try again in a few seconds.</p></section>");
    if (p->retry_after > 0) {
        char v[16];
        snprintf(v, sizeof v, "%d", p->retry_after);
        http_add_header(r, "Retry-After", v);
    }
    problem_clear(p);
    page_reply(r, &pg);
}

static void word(strbuf_t *b, const char *w);

/* The 404 page of a missing item (what: "engagement"), with a way on. */
static void page_missing(req_t *r, const char *what, const char *text, const char *href,
                         const char *link)
{
    page_t pg;
    page_init(&pg, 404);
    pg.noindex = true;
    word(&pg.title, what);
    strbuf_addstr(&pg.title, " not found");
    strbuf_addf(&pg.main, "<section class=\"empty\"><h1 class=\"empty__title\">We could not find "
                          "this %s</h1><p>", what);
    pages_html(&pg.main, text);
    strbuf_addstr(&pg.main, "</p><div class=\"actions\"><a class=\"btn\" href=\"");
    pages_html(&pg.main, href);
    strbuf_addstr(&pg.main, "\">");
    pages_html(&pg.main, link);
    strbuf_addstr(&pg.main, "</a></div></section>");
    page_reply(r, &pg);
}

void pages_not_found(req_t *r)
{
    page_t pg;
    page_init(&pg, 404);
    pg.noindex = true;
    strbuf_addstr(&pg.title, "Page not found");
    strbuf_addstr(&pg.main,
                  "<section class=\"empty\"><h1 class=\"empty__title\">We could not find that "
                  "page</h1><p>The address may be mistyped, or the page has moved. Here are good "
                  "places to start.</p><div class=\"actions\"><a class=\"btn\" href=\"/\">Explore "
                  "open work</a> <a class=\"btn btn--secondary\" href=\"/organisations\">Browse "
                  "organisations</a></div></section>");
    page_reply(r, &pg);
}

/* ---------- reading the representations ---------- */

/* Run st with one parameter; the JSON document in column 0 of row 0, or
 * NULL with *missing (no row) or the problem answered. */
static json_t *load_json(req_t *r, db_stmt_t *st, const char *param, bool *missing)
{
    const char *params[1] = {param};
    problem_t p;
    problem_init(&p);
    *missing = false;
    PGresult *res = db_exec(st, param ? 1 : 0, params, &p);
    if (!res) {
        page_db_failed(r, &p);
        return NULL;
    }
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, 0)) {
        PQclear(res);
        *missing = true;
        return NULL;
    }
    json_error_t err;
    json_t *j = json_loads(PQgetvalue(res, 0, 0), 0, &err);
    PQclear(res);
    if (!j) http_fail(r, PROBLEM_INTERNAL, NULL);
    return j;
}

static const char *str(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* "employment" -> "Employment"; "non_cash" -> "Non cash" */
static void word(strbuf_t *b, const char *w)
{
    for (size_t i = 0; w && w[i]; i++) {
        char c = w[i] == '_' ? ' ' : w[i];
        if (i == 0 && c >= 'a' && c <= 'z') c = (char)(c - 'a' + 'A');
        strbuf_addch(b, c);
    }
}

static void number(strbuf_t *b, const json_t *n)
{
    double v = json_number_value(n);
    if (v == (double)(long long)v)
        strbuf_addf(b, "%lld", (long long)v);
    else
        strbuf_addf(b, "%.2f", v);
}

/* Text as paragraphs: blank lines part paragraphs, other line ends are <br>. */
static void paragraphs(strbuf_t *b, const char *text)
{
    if (!text || !*text) return;
    strbuf_addstr(b, "<p>");
    for (const char *s = text; *s; s++) {
        if (*s == '\r') continue;
        if (*s == '\n') {
            const char *t = s + 1;
            while (*t == '\r' || *t == ' ' || *t == '\t') t++;
            if (*t == '\n') {
                while (*t == '\n' || *t == '\r' || *t == ' ' || *t == '\t') t++;
                if (*t) strbuf_addstr(b, "</p><p>");
                s = t - 1;
            } else {
                strbuf_addstr(b, "<br>");
            }
            continue;
        }
        char one[2] = {*s, '\0'};
        pages_html(b, one);
    }
    strbuf_addstr(b, "</p>");
}

static void head_block(strbuf_t *b, const char *crumb_text, const char *crumb_href,
                       const char *eyebrow, const char *title, const char *lead)
{
    strbuf_addstr(b, "<header class=\"page-head\">");
    if (crumb_text) {
        strbuf_addstr(b, "<nav class=\"breadcrumbs\" aria-label=\"Breadcrumb\"><ol><li><a href=\"");
        pages_html(b, crumb_href);
        strbuf_addstr(b, "\">");
        pages_html(b, crumb_text);
        strbuf_addstr(b, "</a></li><li><span aria-current=\"page\">");
        pages_html(b, title);
        strbuf_addstr(b, "</span></li></ol></nav>");
    }
    strbuf_addstr(b, "<div class=\"page-head__row\"><div>");
    if (eyebrow && *eyebrow) {
        strbuf_addstr(b, "<p class=\"page-head__eyebrow\">");
        pages_html(b, eyebrow);
        strbuf_addstr(b, "</p>");
    }
    strbuf_addstr(b, "<h1>");
    pages_html(b, title);
    strbuf_addstr(b, "</h1>");
    if (lead && *lead) {
        strbuf_addstr(b, "<p class=\"lead\">");
        pages_html(b, lead);
        strbuf_addstr(b, "</p>");
    }
    strbuf_addstr(b, "</div></div></header>");
}

static void fact_open(strbuf_t *b, const char *label)
{
    strbuf_addstr(b, "<div class=\"key-fact\"><dt class=\"key-fact__label\">");
    pages_html(b, label);
    strbuf_addstr(b, "</dt><dd class=\"key-fact__value\">");
}

static void fact(strbuf_t *b, const char *label, const char *value)
{
    if (!value || !*value) return;
    fact_open(b, label);
    pages_html(b, value);
    strbuf_addstr(b, "</dd></div>");
}

/* A list of words (skills, packagings) as chips; words() capitalises. */
static void chips(strbuf_t *b, const char *heading, const json_t *a, bool capitalise)
{
    if (!json_is_array(a) || json_array_size(a) == 0) return;
    strbuf_addstr(b, "<section class=\"section\"><h2>");
    pages_html(b, heading);
    strbuf_addstr(b, "</h2><ul class=\"chips\">");
    size_t i;
    const json_t *v;
    json_array_foreach(a, i, v) {
        strbuf_addstr(b, "<li class=\"chip\">");
        if (capitalise) {
            strbuf_t w;
            strbuf_init(&w, 32);
            word(&w, json_string_value(v));
            pages_html(b, strbuf_str(&w));
            strbuf_release(&w);
        } else {
            pages_html(b, json_string_value(v));
        }
        strbuf_addstr(b, "</li>");
    }
    strbuf_addstr(b, "</ul></section>");
}

/* Purposes [{slug, name}] as links. */
static void purpose_links(strbuf_t *b, const json_t *a)
{
    if (!json_is_array(a) || json_array_size(a) == 0) return;
    strbuf_addstr(b, "<section class=\"section\"><h2>Purposes</h2><ul class=\"chips\">");
    size_t i;
    const json_t *p;
    json_array_foreach(a, i, p) {
        strbuf_addstr(b, "<li><a class=\"chip\" href=\"/purposes/");
        pages_html(b, str(p, "slug"));
        strbuf_addstr(b, "\">");
        pages_html(b, str(p, "name"));
        strbuf_addstr(b, "</a></li>");
    }
    strbuf_addstr(b, "</ul></section>");
}

/* "8 hours a week · Volunteer, Consulting · Remote" */
static void engagement_summary(strbuf_t *b, const json_t *e)
{
    long long hours = (long long)json_integer_value(json_object_get(e, "hours_per_week"));
    strbuf_addf(b, "%lld hour%s a week", hours, hours == 1 ? "" : "s");
    const json_t *pk = json_object_get(e, "packagings");
    size_t i;
    const json_t *v;
    json_array_foreach(pk, i, v) {
        strbuf_addstr(b, i ? ", " : " · ");
        word(b, json_string_value(v));
    }
    const char *loc = str(e, "location");
    if (loc && *loc) {
        strbuf_addstr(b, " · ");
        strbuf_addstr(b, loc);
    }
    if (json_is_true(json_object_get(e, "remote_ok"))) strbuf_addstr(b, " · Remote");
}

/* Engagements as cards with links (the list pages). */
static void engagement_cards(strbuf_t *b, const json_t *items, const char *none)
{
    if (!json_is_array(items) || json_array_size(items) == 0) {
        strbuf_addstr(b, "<p class=\"muted\">");
        pages_html(b, none);
        strbuf_addstr(b, "</p>");
        return;
    }
    strbuf_addstr(b, "<ul class=\"cards\">");
    size_t i;
    const json_t *e;
    json_array_foreach(items, i, e) {
        strbuf_addf(b, "<li class=\"card\"><h3 class=\"card__title\"><a href=\"/engagements/%lld\">",
                    (long long)json_integer_value(json_object_get(e, "id")));
        pages_html(b, str(e, "title"));
        strbuf_addstr(b, "</a></h3><p class=\"card__meta\">");
        const json_t *o = json_object_get(e, "organisation");
        pages_html(b, str(o, "name"));
        strbuf_addstr(b, " · ");
        strbuf_t s;
        strbuf_init(&s, 128);
        engagement_summary(&s, e);
        pages_html(b, strbuf_str(&s));
        strbuf_release(&s);
        strbuf_addstr(b, "</p></li>");
    }
    strbuf_addstr(b, "</ul>");
}

/* Cards of {name, href, text}: organisations, purposes, agents. */
static void named_cards(strbuf_t *b, const json_t *items, const char *prefix, const char *key,
                        const char *name_key, const char *text_key, const char *none)
{
    if (!json_is_array(items) || json_array_size(items) == 0) {
        strbuf_addstr(b, "<p class=\"muted\">");
        pages_html(b, none);
        strbuf_addstr(b, "</p>");
        return;
    }
    strbuf_addstr(b, "<ul class=\"cards\">");
    size_t i;
    const json_t *o;
    json_array_foreach(items, i, o) {
        strbuf_addstr(b, "<li class=\"card\"><h3 class=\"card__title\"><a href=\"");
        strbuf_addstr(b, prefix);
        pages_html(b, str(o, key));
        strbuf_addstr(b, "\">");
        pages_html(b, str(o, name_key));
        strbuf_addstr(b, "</a></h3>");
        const char *text = str(o, text_key);
        if (text && *text) {
            strbuf_addstr(b, "<p class=\"card__text\">");
            page_t tmp; /* the same cut as descriptions */
            page_init(&tmp, 200);
            page_describe(&tmp, text);
            pages_html(b, strbuf_str(&tmp.description));
            page_free(&tmp);
            strbuf_addstr(b, "</p>");
        }
        strbuf_addstr(b, "</li>");
    }
    strbuf_addstr(b, "</ul>");
}

/* ---------- an engagement and its JobPosting ---------- */

/* Google's employmentType for a packaging: employment is full or part time
 * by its hours; the others name themselves. */
static const char *employment_type(const char *packaging, long long hours)
{
    if (!packaging) return NULL;
    if (!strcmp(packaging, "employment")) return hours >= 35 ? "FULL_TIME" : "PART_TIME";
    if (!strcmp(packaging, "consulting")) return "CONTRACTOR";
    if (!strcmp(packaging, "interim")) return "TEMPORARY";
    if (!strcmp(packaging, "volunteer")) return "VOLUNTEER";
    return "OTHER"; /* partnership */
}

static const char *salary_unit(const char *period)
{
    static const char *const k[][2] = {{"hour", "HOUR"}, {"day", "DAY"}, {"week", "WEEK"},
                                       {"month", "MONTH"}, {"year", "YEAR"}};
    for (size_t i = 0; period && i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(period, k[i][0])) return k[i][1];
    return NULL; /* "total": no unit */
}

static void set_url(json_t *o, const char *key, const char *path)
{
    if (!http_config->public_url[0]) return;
    char url[900];
    snprintf(url, sizeof url, "%s%s", http_config->public_url, path);
    json_object_set_new(o, key, json_string(url));
}

/* The schema.org JobPosting of an open engagement e of organisation org,
 * or NULL when it has no place to name (no location of its own or its
 * organisation's, and not remote): Google refuses a posting without one. */
static json_t *job_posting(const json_t *e, const json_t *org, const char *path)
{
    const char *location = str(e, "location");
    if (!location || !*location) location = str(org, "location");
    if (location && !*location) location = NULL;
    bool remote = json_is_true(json_object_get(e, "remote_ok"));
    bool placed = json_is_object(json_object_get(e, "place")) ||
                  json_is_object(json_object_get(org, "place"));
    if (!location && !remote && !placed) return NULL;
    long long hours = (long long)json_integer_value(json_object_get(e, "hours_per_week"));

    json_t *ld = json_object();
    json_object_set_new(ld, "@context", json_string("https://schema.org/"));
    json_object_set_new(ld, "@type", json_string("JobPosting"));
    json_object_set_new(ld, "title", json_string(str(e, "title")));
    json_object_set_new(ld, "description", json_string(str(e, "description")));
    json_object_set_new(ld, "datePosted", json_string(str(e, "created_at")));
    json_t *hiring = json_pack("{s:s, s:s}", "@type", "Organization", "name", str(org, "name"));
    const char *website = str(org, "website");
    if (website && *website) json_object_set_new(hiring, "sameAs", json_string(website));
    char org_path[200];
    snprintf(org_path, sizeof org_path, "/organisations/%s", str(org, "slug"));
    set_url(hiring, "url", org_path);
    json_object_set_new(ld, "hiringOrganization", hiring);
    json_object_set_new(ld, "identifier",
                        json_pack("{s:s, s:s, s:I}", "@type", "PropertyValue", "name",
                                  str(org, "name"), "value",
                                  json_integer_value(json_object_get(e, "id"))));
    /* a place of the gazetteer names the town, its country and where it is */
    const json_t *place = json_object_get(e, "place");
    if (!json_is_object(place)) place = json_object_get(org, "place");
    if (json_is_object(place))
        json_object_set_new(
            ld, "jobLocation",
            json_pack("{s:s, s:{s:s, s:s, s:s}, s:{s:s, s:O, s:O}}", "@type", "Place", "address",
                      "@type", "PostalAddress", "addressLocality", str(place, "name"),
                      "addressCountry", str(place, "country"), "geo", "@type",
                      "GeoCoordinates", "latitude", json_object_get(place, "latitude"),
                      "longitude", json_object_get(place, "longitude")));
    else if (location)
        json_object_set_new(
            ld, "jobLocation",
            json_pack("{s:s, s:{s:s, s:s}}", "@type", "Place", "address", "@type", "PostalAddress",
                      "addressLocality", location));
    /* the last day it takes people, when known: to its end */
    const char *closes = str(e, "closes_on");
    if (closes && *closes) {
        char until[40];
        snprintf(until, sizeof until, "%sT23:59:59Z", closes);
        json_object_set_new(ld, "validThrough", json_string(until));
    }
    if (remote) {
        /* Purposed does not record where remote agents may live: anywhere */
        json_object_set_new(ld, "jobLocationType", json_string("TELECOMMUTE"));
        json_object_set_new(ld, "applicantLocationRequirements",
                            json_pack("{s:s, s:s}", "@type", "AdministrativeArea", "name",
                                      "Anywhere"));
    }
    json_t *types = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(json_object_get(e, "packagings"), i, v) {
        const char *t = employment_type(json_string_value(v), hours);
        bool seen = false;
        size_t k;
        const json_t *w;
        json_array_foreach(types, k, w) seen = seen || !strcmp(json_string_value(w), t);
        if (t && !seen) json_array_append_new(types, json_string(t));
    }
    json_object_set_new(ld, "employmentType", types);
    const json_t *cash = json_object_get(json_object_get(e, "rewards"), "cash");
    if (json_is_object(cash)) {
        json_t *value = json_pack("{s:s, s:O, s:O}", "@type", "QuantitativeValue", "minValue",
                                  json_object_get(cash, "min"), "maxValue",
                                  json_object_get(cash, "max"));
        const char *unit = salary_unit(str(cash, "period"));
        if (value && unit) json_object_set_new(value, "unitText", json_string(unit));
        json_t *salary = json_pack("{s:s, s:s?, s:o?}", "@type", "MonetaryAmount", "currency",
                                   str(cash, "currency"), "value", value);
        if (salary) json_object_set_new(ld, "baseSalary", salary);
    }
    json_object_set_new(ld, "directApply", json_false());
    set_url(ld, "url", path);
    return ld;
}

static db_stmt_t q_page_engagement = DB_STMT("page_engagement", true,
    "SELECT json_build_object('engagement', d.doc::json, 'organisation', oj)::text"
    " FROM engagements e JOIN engagement_docs d ON d.engagement_id = e.id"
    " JOIN organisations o ON o.id = e.organisation_id CROSS JOIN LATERAL organisation_json(o) oj"
    " WHERE e.id = $1::bigint AND NOT e.hidden");

static void engagement_missing(req_t *r)
{
    page_missing(r, "engagement",
                 "It may have been removed, or the address is mistyped. Open work is listed on "
                 "the home page.",
                 "/", "Explore open work");
}

void pages_engagement(req_t *r)
{
    const char *id = http_param(r, 0);
    char *end = NULL;
    errno = 0;
    long long n = strtoll(id, &end, 10);
    if (errno || end == id || *end || n < 1 || id[0] == '0' || id[0] == '+') {
        engagement_missing(r);
        return;
    }
    bool missing;
    json_t *doc = load_json(r, &q_page_engagement, id, &missing);
    if (!doc) {
        if (missing) engagement_missing(r);
        return;
    }
    const json_t *e = json_object_get(doc, "engagement");
    const json_t *org = json_object_get(doc, "organisation");
    page_t pg;
    page_init(&pg, 200);
    snprintf(pg.path, sizeof pg.path, "/engagements/%lld", n);
    const char *title = str(e, "title");
    const char *status = str(e, "status");
    bool open = status && !strcmp(status, "open");
    strbuf_addstr(&pg.title, title);
    page_describe(&pg, str(e, "description"));
    if (open) pg.jsonld = job_posting(e, org, pg.path);

    strbuf_t *b = &pg.main;
    strbuf_t eyebrow;
    strbuf_init(&eyebrow, 64);
    word(&eyebrow, status);
    strbuf_addstr(&eyebrow, " · ");
    strbuf_addstr(&eyebrow, str(org, "name"));
    strbuf_addstr(b, "<article class=\"stack-lg\">");
    char org_href[200];
    snprintf(org_href, sizeof org_href, "/organisations/%s", str(org, "slug"));
    head_block(b, str(org, "name"), org_href, strbuf_str(&eyebrow), title, NULL);
    strbuf_release(&eyebrow);
    strbuf_addstr(b, "<dl class=\"key-facts\">");
    strbuf_t v;
    strbuf_init(&v, 128);
    long long hours = (long long)json_integer_value(json_object_get(e, "hours_per_week"));
    strbuf_addf(&v, "%lld hour%s a week", hours, hours == 1 ? "" : "s");
    fact(b, "Time", strbuf_str(&v));
    strbuf_reset(&v);
    const json_t *weeks = json_object_get(e, "duration_weeks");
    if (json_is_integer(weeks)) {
        strbuf_addf(&v, "%lld week%s", (long long)json_integer_value(weeks),
                    json_integer_value(weeks) == 1 ? "" : "s");
        fact(b, "Duration", strbuf_str(&v));
        strbuf_reset(&v);
    }
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(e, "packagings"), i, w) {
        if (i) strbuf_addstr(&v, ", ");
        word(&v, json_string_value(w));
    }
    fact(b, "Ways to work", strbuf_str(&v));
    strbuf_reset(&v);
    const char *loc = str(e, "location");
    if (loc && *loc) strbuf_addstr(&v, loc);
    if (json_is_true(json_object_get(e, "remote_ok")))
        strbuf_addstr(&v, v.len ? " or remote" : "Remote");
    fact(b, "Where", strbuf_str(&v));
    strbuf_reset(&v);
    const json_t *rewards = json_object_get(e, "rewards");
    const json_t *cash = json_object_get(rewards, "cash");
    if (json_is_object(cash)) {
        number(&v, json_object_get(cash, "min"));
        strbuf_addstr(&v, "–");
        number(&v, json_object_get(cash, "max"));
        strbuf_addf(&v, " %s", str(cash, "currency") ? str(cash, "currency") : "");
        const char *period = str(cash, "period");
        if (period) strbuf_addf(&v, strcmp(period, "total") ? " a %s" : " in %s", period);
        fact(b, "Cash", strbuf_str(&v));
        strbuf_reset(&v);
    }
    json_array_foreach(json_object_get(rewards, "non_cash"), i, w) {
        if (i) strbuf_addstr(&v, ", ");
        strbuf_addstr(&v, json_string_value(w));
    }
    fact(b, "Other rewards", strbuf_str(&v));
    strbuf_release(&v);
    strbuf_addstr(b, "</dl>");
    strbuf_addstr(b, "<section class=\"section prose\"><h2>About this engagement</h2>");
    paragraphs(b, str(e, "description"));
    strbuf_addstr(b, "</section>");
    chips(b, "Skills", json_object_get(e, "skills"), false);
    purpose_links(b, json_object_get(e, "purposes"));
    strbuf_addstr(b, "</article>");
    json_decref(doc);
    page_reply(r, &pg);
}

/* ---------- an organisation ---------- */

static db_stmt_t q_page_organisation = DB_STMT("page_organisation", true,
    "SELECT json_build_object('organisation', oj, 'engagements', coalesce((SELECT json_agg(x.j)"
    "   FROM (SELECT (SELECT d.doc FROM engagement_docs d WHERE d.engagement_id = e.id)::json AS j"
    "         FROM engagements e"
    "         WHERE e.organisation_id = o.id AND e.status = 'open' AND NOT e.hidden"
    "         ORDER BY e.created_at DESC, e.id DESC LIMIT " SITEMAP_STR(LIST_ITEMS) ") x),"
    "   '[]'::json))::text"
    " FROM organisations o CROSS JOIN LATERAL organisation_json(o) oj"
    " WHERE o.slug = $1 AND o.hidden_at IS NULL");

static void organisation_missing(req_t *r)
{
    page_missing(r, "organisation",
                 "It may have a different address. Browse the list of organisations instead.",
                 "/organisations", "Browse organisations");
}

void pages_organisation(req_t *r)
{
    if (activitypub_wanted(r)) { /* the same URL is the organisation's ActivityPub actor */
        activitypub_organisation_actor(r);
        return;
    }
    const char *slug = http_param(r, 0);
    if (!validate_slug(slug)) {
        organisation_missing(r);
        return;
    }
    bool missing;
    json_t *doc = load_json(r, &q_page_organisation, slug, &missing);
    if (!doc) {
        if (missing) organisation_missing(r);
        return;
    }
    const json_t *o = json_object_get(doc, "organisation");
    page_t pg;
    page_init(&pg, 200);
    snprintf(pg.path, sizeof pg.path, "/organisations/%s", slug);
    const char *name = str(o, "name");
    strbuf_addstr(&pg.title, name);
    page_describe(&pg, str(o, "purpose_statement"));
    pg.jsonld = json_pack("{s:s, s:s, s:s, s:s?}", "@context", "https://schema.org/", "@type",
                          "Organization", "name", name, "description",
                          str(o, "purpose_statement"));
    const char *website = str(o, "website");
    if (pg.jsonld && website && *website)
        json_object_set_new(pg.jsonld, "sameAs", json_string(website));
    if (pg.jsonld) set_url(pg.jsonld, "url", pg.path);

    strbuf_t *b = &pg.main;
    strbuf_t eyebrow;
    strbuf_init(&eyebrow, 64);
    word(&eyebrow, str(o, "legal_form"));
    const char *where = str(o, "location");
    if (where && *where) {
        strbuf_addstr(&eyebrow, " · ");
        strbuf_addstr(&eyebrow, where);
    }
    strbuf_addstr(b, "<article class=\"stack-lg\">");
    head_block(b, "Organisations", "/organisations", strbuf_str(&eyebrow), name, NULL);
    strbuf_release(&eyebrow);
    strbuf_addstr(b, "<section class=\"section prose\"><h2>Purpose statement</h2>");
    paragraphs(b, str(o, "purpose_statement"));
    strbuf_addstr(b, "</section>");
    const char *norms = str(o, "association_norms");
    if (norms && *norms) {
        strbuf_addstr(b, "<section class=\"section prose\"><h2>How we work together</h2>");
        paragraphs(b, norms);
        strbuf_addstr(b, "</section>");
    }
    strbuf_addstr(b, "<dl class=\"key-facts\">");
    strbuf_t v;
    strbuf_init(&v, 64);
    word(&v, str(o, "governance"));
    fact(b, "Governance", strbuf_str(&v));
    strbuf_release(&v);
    if (website && *website) {
        fact_open(b, "Website");
        strbuf_addstr(b, "<a rel=\"external nofollow\" href=\"");
        pages_html(b, website);
        strbuf_addstr(b, "\">");
        pages_html(b, website);
        strbuf_addstr(b, "</a></dd></div>");
    }
    strbuf_addstr(b, "</dl>");
    purpose_links(b, json_object_get(o, "purposes"));
    strbuf_addstr(b, "<section class=\"section\"><h2>Open engagements</h2>");
    engagement_cards(b, json_object_get(doc, "engagements"), "No open engagements right now.");
    strbuf_addstr(b, "</section></article>");
    json_decref(doc);
    page_reply(r, &pg);
}

/* The members' tabs: rendered by the app; an unknown tab is a 404. */
void pages_organisation_tab(req_t *r)
{
    static const char *const tabs[] = {"edit", "members", "post", "agreements", "hours"};
    const char *tab = http_param(r, 1);
    for (size_t i = 0; i < sizeof tabs / sizeof tabs[0]; i++)
        if (!strcmp(tab, tabs[i])) {
            pages_app(r);
            return;
        }
    pages_not_found(r);
}

/* ---------- an agent ---------- */

static db_stmt_t q_page_agent = DB_STMT("page_agent", true,
    "SELECT d.doc FROM agents g JOIN accounts a ON a.id = g.account_id"
    " JOIN agent_docs d ON d.agent_id = g.id"
    " WHERE g.handle = $1 AND g.discoverable AND NOT g.hidden AND a.deleted_at IS NULL");

static void agent_missing(req_t *r)
{
    page_missing(r, "agent",
                 "The profile may be private, or the address is mistyped. Open work is listed "
                 "on the home page.",
                 "/", "Explore open work");
}

void pages_agent(req_t *r)
{
    if (activitypub_wanted(r)) { /* the same URL is the agent's ActivityPub actor */
        activitypub_agent_actor(r);
        return;
    }
    const char *handle = http_param(r, 0);
    if (!validate_slug(handle)) {
        agent_missing(r);
        return;
    }
    bool missing;
    json_t *g = load_json(r, &q_page_agent, handle, &missing);
    if (!g) {
        if (missing) agent_missing(r);
        return;
    }
    page_t pg;
    page_init(&pg, 200);
    pg.og_type = "profile";
    snprintf(pg.path, sizeof pg.path, "/agents/%s", handle);
    const char *name = str(g, "display_name");
    const char *headline = str(g, "headline");
    strbuf_addstr(&pg.title, name);
    page_describe(&pg, headline && *headline ? headline : str(g, "personal_purpose"));
    pg.jsonld = json_pack("{s:s, s:s, s:{s:s, s:s, s:s?}}", "@context", "https://schema.org/",
                          "@type", "ProfilePage", "mainEntity", "@type", "Person", "name", name,
                          "description", headline);
    strbuf_t *b = &pg.main;
    strbuf_addstr(b, "<article class=\"stack-lg\">");
    head_block(b, NULL, NULL, "Purpose agent", name, headline);
    const char *pp = str(g, "personal_purpose");
    if (pp && *pp) {
        strbuf_addstr(b, "<section class=\"section prose\"><h2>Personal purpose</h2>");
        paragraphs(b, pp);
        strbuf_addstr(b, "</section>");
    }
    strbuf_addstr(b, "<dl class=\"key-facts\">");
    strbuf_t v;
    strbuf_init(&v, 64);
    long long cap = (long long)json_integer_value(json_object_get(g, "capacity_hours_per_week"));
    strbuf_addf(&v, "%lld hour%s a week", cap, cap == 1 ? "" : "s");
    fact(b, "Capacity", strbuf_str(&v));
    strbuf_reset(&v);
    size_t i;
    const json_t *w;
    json_array_foreach(json_object_get(g, "packagings"), i, w) {
        if (i) strbuf_addstr(&v, ", ");
        word(&v, json_string_value(w));
    }
    fact(b, "Ways to work", strbuf_str(&v));
    strbuf_reset(&v);
    const char *loc = str(g, "location");
    if (loc && *loc) strbuf_addstr(&v, loc);
    if (json_is_true(json_object_get(g, "remote_ok")))
        strbuf_addstr(&v, v.len ? " or remote" : "Remote");
    fact(b, "Where", strbuf_str(&v));
    strbuf_reset(&v);
    const json_t *tr = json_object_get(g, "track_record");
    if (json_is_object(tr)) {
        strbuf_addf(&v, "%lld concluded, %lld with commitments kept",
                    (long long)json_integer_value(json_object_get(tr, "concluded")),
                    (long long)json_integer_value(json_object_get(tr, "commitments_kept")));
        fact(b, "Track record", strbuf_str(&v));
    }
    strbuf_release(&v);
    strbuf_addstr(b, "</dl>");
    chips(b, "Skills", json_object_get(g, "skills"), false);
    const json_t *purposes = json_object_get(g, "purposes");
    if (json_array_size(purposes)) {
        strbuf_addstr(b, "<section class=\"section\"><h2>Purposes and energy</h2><ul class=\"list-plain\">");
        const json_t *p;
        json_array_foreach(purposes, i, p) {
            strbuf_addstr(b, "<li><a href=\"/purposes/");
            pages_html(b, str(p, "slug"));
            strbuf_addstr(b, "\">");
            pages_html(b, str(p, "name"));
            strbuf_addf(b, "</a>: %lld%%</li>",
                        (long long)json_integer_value(json_object_get(p, "energy")));
        }
        strbuf_addstr(b, "</ul></section>");
    }
    strbuf_addstr(b, "</article>");
    json_decref(g);
    page_reply(r, &pg);
}

/* ---------- a purpose ---------- */

static db_stmt_t q_page_purpose = DB_STMT("page_purpose", true,
    "SELECT json_build_object('purpose', pj,"
    " 'engagements', coalesce((SELECT json_agg(x.j) FROM (SELECT"
    "   (SELECT d.doc FROM engagement_docs d WHERE d.engagement_id = e.id)::json AS j FROM engagements e"
    "   WHERE e.status = 'open' AND NOT e.hidden"
    "   AND EXISTS (SELECT 1"
    "   FROM engagement_purposes ep WHERE ep.engagement_id = e.id AND ep.purpose_id = p.id)"
    "   ORDER BY e.created_at DESC, e.id DESC LIMIT " SITEMAP_STR(LIST_ITEMS) ") x), '[]'::json),"
    " 'organisations', coalesce((SELECT json_agg(x.j) FROM (SELECT json_build_object('slug',"
    "   o.slug, 'name', o.name, 'purpose_statement', o.purpose_statement) AS j"
    "   FROM organisations o JOIN organisation_purposes op ON op.organisation_id = o.id"
    "   WHERE op.purpose_id = p.id AND o.hidden_at IS NULL ORDER BY o.name LIMIT " SITEMAP_STR(LIST_ITEMS) ") x),"
    "   '[]'::json))::text"
    " FROM purposes p CROSS JOIN LATERAL purpose_json(p) pj"
    " WHERE p.slug = $1 AND p.hidden_at IS NULL AND p.merged_into IS NULL");

static void purpose_missing(req_t *r)
{
    page_missing(r, "purpose", "Browse the catalogue for the cause you have in mind.", "/purposes",
                 "All purposes");
}

void pages_purpose(req_t *r)
{
    const char *slug = http_param(r, 0);
    if (!validate_slug(slug)) {
        purpose_missing(r);
        return;
    }
    bool missing;
    json_t *doc = load_json(r, &q_page_purpose, slug, &missing);
    if (!doc) {
        if (!missing) return;
        /* a renamed or merged purpose's old slug: 301 to where it leads */
        char to[72];
        int moved = curation_purpose_moved(r, slug, to, sizeof to);
        if (moved > 0)
            curation_reply_moved(r, "/purposes/", to, false);
        else if (moved == 0)
            purpose_missing(r);
        return;
    }
    const json_t *p = json_object_get(doc, "purpose");
    page_t pg;
    page_init(&pg, 200);
    snprintf(pg.path, sizeof pg.path, "/purposes/%s", slug);
    const char *name = str(p, "name");
    const char *desc = str(p, "description");
    strbuf_addstr(&pg.title, name);
    if (desc && *desc)
        page_describe(&pg, desc);
    else
        strbuf_addf(&pg.description, "Engagements, organisations and agents for %s on Purposed.",
                    name);
    strbuf_t eyebrow;
    strbuf_init(&eyebrow, 64);
    long long sup = (long long)json_integer_value(json_object_get(p, "supporters"));
    long long orgs = (long long)json_integer_value(json_object_get(p, "organisations"));
    strbuf_addf(&eyebrow, "%lld supporter%s · %lld organisation%s", sup, sup == 1 ? "" : "s", orgs,
                orgs == 1 ? "" : "s");
    strbuf_t *b = &pg.main;
    strbuf_addstr(b, "<article class=\"stack-lg\">");
    head_block(b, "Purposes", "/purposes", strbuf_str(&eyebrow), name, desc);
    strbuf_release(&eyebrow);
    strbuf_addstr(b, "<section class=\"section\"><h2>Open engagements</h2>");
    engagement_cards(b, json_object_get(doc, "engagements"), "No open engagements for it yet.");
    strbuf_addstr(b, "</section><section class=\"section\"><h2>Organisations</h2>");
    named_cards(b, json_object_get(doc, "organisations"), "/organisations/", "slug", "name",
                "purpose_statement", "No organisation has named it yet.");
    strbuf_addstr(b, "</section></article>");
    json_decref(doc);
    page_reply(r, &pg);
}

/* ---------- the lists ---------- */

static db_stmt_t q_page_home = DB_STMT("page_home", true,
    "SELECT coalesce(json_agg(x.j), '[]'::json)::text FROM (SELECT"
    " (SELECT d.doc FROM engagement_docs d WHERE d.engagement_id = e.id)::json AS j"
    " FROM engagements e WHERE e.status = 'open' AND NOT e.hidden"
    " ORDER BY e.created_at DESC, e.id DESC LIMIT " SITEMAP_STR(LIST_ITEMS) ") x");

void pages_home(req_t *r)
{
    bool missing;
    json_t *items = load_json(r, &q_page_home, NULL, &missing);
    if (!items) {
        if (missing) pages_not_found(r);
        return;
    }
    page_t pg;
    page_init(&pg, 200);
    snprintf(pg.path, sizeof pg.path, "/");
    strbuf_addstr(&pg.description,
                  "Open purposeful work: engagements from for-purpose organisations, with the "
                  "hours, skills and rewards of each.");
    pg.jsonld = json_pack("{s:s, s:s, s:s}", "@context", "https://schema.org/", "@type",
                          "WebSite", "name", SITE_NAME);
    if (pg.jsonld) set_url(pg.jsonld, "url", "/");
    strbuf_t *b = &pg.main;
    head_block(b, NULL, NULL, NULL, "Explore purposeful work",
               "Engagements from for-purpose organisations, newest first.");
    engagement_cards(b, items, "No open engagements yet.");
    json_decref(items);
    page_reply(r, &pg);
}

static db_stmt_t q_page_organisations = DB_STMT("page_organisations", true,
    "SELECT coalesce(json_agg(x.j), '[]'::json)::text FROM (SELECT oj AS j FROM organisations o"
    " CROSS JOIN LATERAL organisation_json(o) oj WHERE o.hidden_at IS NULL ORDER BY o.created_at DESC, o.id DESC LIMIT 100) x");

static db_stmt_t q_page_purposes = DB_STMT("page_purposes", true,
    "SELECT coalesce(json_agg(x.j), '[]'::json)::text FROM (SELECT pj AS j FROM purposes p"
    " CROSS JOIN LATERAL purpose_json(p) pj WHERE p.hidden_at IS NULL AND purpose_offered(p)"
    " ORDER BY p.slug LIMIT 200) x");

/* A catalogue list page (organisations, purposes): its items as named cards. */
typedef struct catalogue_page {
    const char *path, *title, *description, *lead, *prefix, *text_key, *empty;
} catalogue_page_t;

static void catalogue_page(req_t *r, db_stmt_t *st, const catalogue_page_t *c)
{
    bool missing;
    json_t *items = load_json(r, st, NULL, &missing);
    if (!items) {
        if (missing) pages_not_found(r);
        return;
    }
    page_t pg;
    page_init(&pg, 200);
    snprintf(pg.path, sizeof pg.path, "%s", c->path);
    strbuf_addstr(&pg.title, c->title);
    strbuf_addstr(&pg.description, c->description);
    head_block(&pg.main, NULL, NULL, NULL, c->title, c->lead);
    named_cards(&pg.main, items, c->prefix, "slug", "name", c->text_key, c->empty);
    json_decref(items);
    page_reply(r, &pg);
}

void pages_organisations(req_t *r)
{
    static const catalogue_page_t page = {
        "/organisations", "Organisations",
        "For-purpose organisations on Purposed: their charters, purposes and open engagements.",
        "For-purpose organisations, their charters and open engagements; newest first.",
        "/organisations/", "purpose_statement", "No organisations yet."};
    catalogue_page(r, &q_page_organisations, &page);
}

void pages_purposes(req_t *r)
{
    static const catalogue_page_t page = {
        "/purposes", "Purposes",
        "The catalogue of causes on Purposed, with the organisations and agents who give their "
        "energy to each.",
        "The shared catalogue of causes.", "/purposes/", "description", "No purposes yet."};
    catalogue_page(r, &q_page_purposes, &page);
}

/* ---------- pages the app renders alone ---------- */

void pages_app(req_t *r)
{
    page_t pg;
    page_init(&pg, 200);
    pg.noindex = true;
    strbuf_addstr(&pg.main, "<p class=\"loading\" role=\"status\"><span class=\"spinner\" "
                            "aria-hidden=\"true\"></span>Loading Purposed…</p><noscript><p "
                            "class=\"notice\">This page needs JavaScript. The API at <a "
                            "href=\"/api/v1/openapi.json\">/api/v1</a> works without it.</p>"
                            "</noscript>");
    page_reply(r, &pg);
}

void pages_dashboard(req_t *r)
{
    static const char *const sections[] = {"profile",   "purposes",      "matches",  "agreements",
                                           "portfolio", "notifications", "following"};
    const char *section = http_param(r, 0);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (!strcmp(section, sections[i])) {
            pages_app(r);
            return;
        }
    pages_not_found(r);
}

/* The administration pages (static/app/pages/admin.js): the app draws them
 * for moderators; a section it does not have is a 404 page. */
void pages_admin(req_t *r)
{
    static const char *const sections[] = {"reports",       "log",       "appeals",      "accounts",
                                           "registrations", "catalogue", "verification", "instances",
                                           "instance"};
    const char *section = http_param(r, 0);
    for (size_t i = 0; i < sizeof sections / sizeof sections[0]; i++)
        if (!strcmp(section, sections[i])) {
            pages_app(r);
            return;
        }
    pages_not_found(r);
}

/* ---------- sitemap and robots.txt ---------- */

/* Every address worth indexing, in one order (k, n, s): the lists, open
 * engagements, organisations, discoverable agents, purposes. */
#define SITEMAP_URLS_SQL                                                                        \
    "WITH u AS ("                                                                               \
    " SELECT 0 AS k, 1::bigint AS n, '' AS s, '/' AS path,"                                     \
    "   (SELECT max(updated_at) FROM engagements WHERE status = 'open' AND NOT hidden) AS at"   \
    " UNION ALL SELECT 0, 2, '', '/organisations', (SELECT max(updated_at) FROM organisations)" \
    " UNION ALL SELECT 0, 3, '', '/purposes', (SELECT max(created_at) FROM purposes)"           \
    " UNION ALL SELECT 1, e.id, '', '/engagements/' || e.id, e.updated_at FROM engagements e"   \
    "   WHERE e.status = 'open' AND NOT e.hidden"                                               \
    " UNION ALL SELECT 2, 0, o.slug, '/organisations/' || o.slug, o.updated_at"                \
    "   FROM organisations o WHERE o.hidden_at IS NULL"                                         \
    " UNION ALL SELECT 3, 0, g.handle, '/agents/' || g.handle, g.updated_at FROM agents g"      \
    "   JOIN accounts a ON a.id = g.account_id"                                                 \
    "   WHERE g.discoverable AND NOT g.hidden AND a.deleted_at IS NULL"                         \
    " UNION ALL SELECT 4, 0, p.slug, '/purposes/' || p.slug, p.created_at FROM purposes p"     \
    "   WHERE p.hidden_at IS NULL AND p.merged_into IS NULL)"

static db_stmt_t q_sitemap_urls = DB_STMT("sitemap_urls", true,
    SITEMAP_URLS_SQL
    " SELECT path, CASE WHEN at IS NULL THEN NULL ELSE api_time(at) END FROM u"
    " ORDER BY k, n, s OFFSET $1::bigint LIMIT " SITEMAP_STR(SITEMAP_URLS));

static db_stmt_t q_sitemap_parts = DB_STMT("sitemap_parts", true,
    SITEMAP_URLS_SQL
    ", numbered AS (SELECT at, (row_number() OVER (ORDER BY k, n, s) - 1) / "
    SITEMAP_STR(SITEMAP_URLS) " AS part FROM u)"
    " SELECT part + 1, CASE WHEN max(at) IS NULL THEN NULL ELSE api_time(max(at)) END"
    " FROM numbered GROUP BY part ORDER BY part");

static void xml_reply(req_t *r, strbuf_t *b, bool links_from_request)
{
    size_t n = 0;
    char *body = strbuf_detach(b, &n);
    if (!body) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    feeds_cache_control(r, links_from_request, 3600);
    http_reply_text(r, 200, "application/xml; charset=utf-8", body, n);
}

/* The urlset of part (1-based); false when the part is past the end. */
static bool sitemap_urlset(req_t *r, long long part)
{
    char base[600];
    bool from_request = feeds_base_url(r, base, sizeof base);
    char offset[24];
    snprintf(offset, sizeof offset, "%lld", (part - 1) * (long long)SITEMAP_URLS);
    const char *params[1] = {offset};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_sitemap_urls, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return true;
    }
    int rows = PQntuples(res);
    if (rows == 0 && part > 1) {
        PQclear(res);
        return false;
    }
    strbuf_t b;
    strbuf_init(&b, (size_t)rows * 120 + 256);
    strbuf_addstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<urlset xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for (int i = 0; i < rows; i++) {
        strbuf_addstr(&b, "<url><loc>");
        feeds_xml(&b, base);
        feeds_xml(&b, PQgetvalue(res, i, 0));
        strbuf_addstr(&b, "</loc>");
        if (!PQgetisnull(res, i, 1)) {
            strbuf_addstr(&b, "<lastmod>");
            feeds_xml(&b, PQgetvalue(res, i, 1));
            strbuf_addstr(&b, "</lastmod>");
        }
        strbuf_addstr(&b, "</url>\n");
    }
    strbuf_addstr(&b, "</urlset>\n");
    PQclear(res);
    xml_reply(r, &b, from_request);
    return true;
}

void pages_sitemap(req_t *r)
{
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_sitemap_parts, 0, NULL, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    int parts = PQntuples(res);
    if (parts <= 1) {
        PQclear(res);
        sitemap_urlset(r, 1);
        return;
    }
    char base[600];
    bool from_request = feeds_base_url(r, base, sizeof base);
    strbuf_t b;
    strbuf_init(&b, (size_t)parts * 120 + 256);
    strbuf_addstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                      "<sitemapindex xmlns=\"http://www.sitemaps.org/schemas/sitemap/0.9\">\n");
    for (int i = 0; i < parts; i++) {
        strbuf_addstr(&b, "<sitemap><loc>");
        feeds_xml(&b, base);
        strbuf_addf(&b, "/sitemaps/%s.xml</loc>", PQgetvalue(res, i, 0));
        if (!PQgetisnull(res, i, 1)) {
            strbuf_addstr(&b, "<lastmod>");
            feeds_xml(&b, PQgetvalue(res, i, 1));
            strbuf_addstr(&b, "</lastmod>");
        }
        strbuf_addstr(&b, "</sitemap>\n");
    }
    strbuf_addstr(&b, "</sitemapindex>\n");
    PQclear(res);
    xml_reply(r, &b, from_request);
}

void pages_sitemap_part(req_t *r)
{
    const char *name = http_param(r, 0);
    char *end = NULL;
    errno = 0;
    long long part = strtoll(name, &end, 10);
    if (errno || end == name || name[0] == '0' || name[0] == '+' || part < 1 ||
        part > 1000000 || strcmp(end, ".xml") != 0 || !sitemap_urlset(r, part))
        pages_not_found(r);
}

void pages_robots(req_t *r)
{
    char base[600];
    bool from_request = feeds_base_url(r, base, sizeof base);
    strbuf_t b;
    strbuf_init(&b, 512);
    strbuf_addf(&b,
                "# Purposed: public pages may be indexed; personal pages may not.\n"
                "User-agent: *\n"
                "Disallow: /me\n"
                "Disallow: /settings\n"
                "Disallow: /admin\n"
                "Disallow: /signin\n"
                "Disallow: /signup\n"
                "Disallow: /agreements/\n"
                "Disallow: /organisations/new\n"
                "Disallow: /feeds/me/\n"
                "Allow: /\n"
                "\n"
                "Sitemap: %s/sitemap.xml\n",
                base);
    size_t n = 0;
    char *body = strbuf_detach(&b, &n);
    if (!body) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    feeds_cache_control(r, from_request, 3600);
    http_reply_text(r, 200, "text/plain; charset=utf-8", body, n);
}
