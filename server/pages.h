/* pages: the web interface's pages served with their content. Each public
 * page (an engagement, an organisation, an agent, a purpose and the lists)
 * is static/index.html with its <title>, description, canonical link, Open
 * Graph and Twitter tags, JSON-LD (a schema.org JobPosting for an open
 * engagement) and a readable version of its content in <main>, rendered
 * from the SQL representations; the ES modules (static/app) take over in
 * the browser. A page whose item does not exist, and a path no route
 * knows, is the same template with a "not found" content and status 404.
 * Also /sitemap.xml (an index past 50,000 addresses) and /robots.txt.
 * Routed through server/routes.c like every other answer. */
#ifndef PURPOSED_PAGES_H
#define PURPOSED_PAGES_H

#include "http.h"
#include "strbuf.h"

/* GET /, /engagements */
void pages_home(req_t *r);
/* GET /engagements/{id} */
void pages_engagement(req_t *r);
/* GET /organisations */
void pages_organisations(req_t *r);
/* GET /organisations/{slug} */
void pages_organisation(req_t *r);
/* GET /organisations/{slug}/{tab}: the members' tabs, rendered by the app */
void pages_organisation_tab(req_t *r);
/* GET /purposes */
void pages_purposes(req_t *r);
/* GET /purposes/{slug} */
void pages_purpose(req_t *r);
/* GET /agents/{handle}: discoverable agents only */
void pages_agent(req_t *r);
/* Pages the app renders for a signed-in person or a form (/signin, /me…):
 * the template, not indexed. */
void pages_app(req_t *r);
/* GET /me/{section} */
void pages_dashboard(req_t *r);
void pages_admin(req_t *r);
/* A path nothing answers: the template with "page not found", 404. */
void pages_not_found(req_t *r);
/* GET /sitemap.xml and GET /sitemaps/{part} (part "N.xml") */
void pages_sitemap(req_t *r);
void pages_sitemap_part(req_t *r);
/* GET /robots.txt */
void pages_robots(req_t *r);

/* The pure parts, for tests. */
/* Append s as HTML text or a quoted attribute value (& < > " ' escaped). */
void pages_html(strbuf_t *b, const char *s);
/* Append JSON text for a <script type="application/ld+json"> block: "<",
 * ">" and "&" become \u003c, \u003e, \u0026, so no "</script>" or
 * "<!--" can end or change the block. */
void pages_json_script(strbuf_t *b, const char *json);
/* Fill the template: the text between "<!--page-head-->" and
 * "<!--/page-head-->" is replaced by head, the text between
 * "<!--page-main-->" and "<!--/page-main-->" by main. -1 (out unchanged)
 * when a marker is missing or out of order. */
int pages_fill(strbuf_t *out, const char *tmpl, size_t len, const char *head, const char *main);

#endif
