/* purposes: the shared catalogue of causes (list with full-text search, read,
 * create; the curation of moderators is curation.c), and the query-parameter
 * readers the lists share. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "session.h"
#include "utf8.h"
#include "validate.h"

/* ---------- query parameters (shared by the lists) ---------- */

void purposes_bad_query(req_t *r, problem_t *p)
{
    problem_fail(p, PROBLEM_BAD_QUERY, "A query parameter is not valid; see errors.");
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
    "SELECT p.slug, j::text FROM purposes p CROSS JOIN LATERAL purpose_json(p) j"
    " WHERE p.hidden_at IS NULL AND purpose_offered(p)"
    "   AND ($1::text IS NULL OR p.search @@ websearch_to_tsquery('english', $1::text))"
    "   AND p.slug > coalesce($2::text, '')"
    " ORDER BY p.slug LIMIT $3::int");

void handle_purposes_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "purposes", CURSOR_KEY_TEXT) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *q = purposes_query_text(r, "q", 200, &p);
    if (problem_has_fields(&p)) {
        purposes_bad_query(r, &p);
        return;
    }
    const char *params[3] = {q, page_key(&pg, 0), pg.fetch};
    PGresult *res = db_exec(&q_purposes_list, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* Where the slug leads (a renamed or merged purpose's old slug leads to the
 * purpose now: its slug, then the JSON). Hidden by a moderator: its creator
 * and moderators ($3) see it. */
static db_stmt_t q_purpose_get = DB_STMT("purpose_get", true,
    "SELECT t.slug, j::text FROM purpose_resolve($1) t JOIN purposes p ON p.id = t.id"
    " CROSS JOIN LATERAL purpose_json(p) j"
    " WHERE p.hidden_at IS NULL OR p.created_by = $2::bigint OR $3::bool");

void handle_purpose_get(req_t *r)
{
    const char *slug = http_param(r, 0);
    if (!validate_slug(slug)) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such purpose.");
        return;
    }
    bool moderator = false;
    if (moderation_caller_moderates(r, &moderator) != 0) return;
    const char *params[3] = {slug, r->caller.account_id ? r->caller.account_id_text : NULL,
                             db_bool(moderator)};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_purpose_get, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) < 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such purpose.");
        return;
    }
    /* 301, not 308: the route is a GET, which both keep; 301 is the one
     * every client and cache has always followed and kept. */
    if (strcmp(PQgetvalue(res, 0, 0), slug) != 0) {
        char to[72];
        snprintf(to, sizeof to, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        curation_reply_moved(r, "/api/v1/purposes/", to, true);
        return;
    }
    reply_row_json(r, 200, res, 1);
}

static db_stmt_t q_purpose_insert = DB_STMT("purpose_insert", false,
    "INSERT INTO purposes AS p (slug, name, description, created_by)"
    " VALUES ($1, $2, $3, $4::bigint) RETURNING (SELECT j::text FROM purpose_json(p) j)");

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
            problem_fail(&p, PROBLEM_CONFLICT,
                         "A purpose with this name or slug (%s) is already in the catalogue.",
                         slug);
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
