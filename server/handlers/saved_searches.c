/* saved_searches: a signed-in person saves a search of engagements (any
 * filters of GET /api/v1/engagements), lists and deletes them. A new open
 * engagement that matches one is a notification "saved_search_match", and
 * so a letter (migration 0025's trigger; 0022 mails notifications). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "validate.h"
#include "vocab.h"

#define MAX_SAVED_SEARCHES "100"

static db_stmt_t q_saved_list = DB_STMT("saved_searches_list", true,
    "SELECT s.id::text, j::text FROM saved_searches s CROSS JOIN LATERAL saved_search_json(s) j"
    " WHERE s.account_id = $1::bigint AND s.id < coalesce($2::bigint, 9223372036854775807)"
    " ORDER BY s.id DESC LIMIT $3::int");

void handle_saved_searches_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "saved-searches", CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[3] = {r->caller.account_id_text, page_key(&pg, 0), pg.fetch};
    PGresult *res = db_exec(&q_saved_list, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* At most MAX_SAVED_SEARCHES per account: no row when the account has them. */
static db_stmt_t q_saved_insert = DB_STMT("saved_search_insert", false,
    "WITH s AS (INSERT INTO saved_searches (account_id, name, q, purpose, skill, packaging,"
    "   remote, organisation, near, near_latitude, near_longitude, within_km)"
    " SELECT $1::bigint, $2, $3, $4, $5, $6, $7::boolean, $8, $9, $10::float8, $11::float8,"
    "   $12::float8"
    " WHERE (SELECT count(*) FROM saved_searches x WHERE x.account_id = $1::bigint) < "
    MAX_SAVED_SEARCHES " RETURNING *)"
    " SELECT s.id::text, j::text FROM s CROSS JOIN LATERAL saved_search_json(s) j");

/* A filter that is text in the body: NULL when absent, null or "". */
static const char *filter_text(const json_t *body, const char *key, size_t max, problem_t *p)
{
    const char *v = validate_string_or_null(body, key, max, NULL, p);
    return v && *v ? v : NULL;
}

static const char *filter_slug(const json_t *body, const char *key, problem_t *p)
{
    const char *v = filter_text(body, key, 64, p);
    if (v && !validate_slug(v)) {
        problem_field(p, key, "must be a slug (lowercase letters, digits, inner dashes)");
        return NULL;
    }
    return v;
}

void handle_saved_search_create(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"name",   "q",            "purpose", "skill",
                                         "packaging", "remote",    "organisation",
                                         "near",   "within_km",    NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *name = validate_string(body, "name", true, 1, 100, &p);
    const char *q = filter_text(body, "q", 200, &p);
    const char *purpose = filter_slug(body, "purpose", &p);
    const char *skill = filter_text(body, "skill", 60, &p);
    const char *organisation = filter_slug(body, "organisation", &p);
    const char *packaging = NULL;
    if (json_is_string(json_object_get(body, "packaging")))
        packaging = validate_enum(body, "packaging", false, vocab_packagings, &p);
    else if (json_object_get(body, "packaging") && !json_is_null(json_object_get(body, "packaging")))
        problem_field(&p, "packaging", "must be a packaging or null");
    bool remote = false, remote_given = false;
    if (json_object_get(body, "remote") && !json_is_null(json_object_get(body, "remote")))
        remote_given = validate_bool(body, "remote", false, &remote, &p);
    /* near: a place id (number or text) or "lat,lon"; within_km: a number */
    const json_t *near_v = json_object_get(body, "near");
    char near_text[72] = "", km_text[40] = "";
    if (json_is_integer(near_v))
        snprintf(near_text, sizeof near_text, "%lld", (long long)json_integer_value(near_v));
    else if (json_is_string(near_v) && json_string_length(near_v) < sizeof near_text)
        snprintf(near_text, sizeof near_text, "%s", json_string_value(near_v));
    else if (near_v && !json_is_null(near_v))
        problem_field(&p, "near", "must be a place id or \"latitude,longitude\"");
    const json_t *km_v = json_object_get(body, "within_km");
    if (json_is_number(km_v)) snprintf(km_text, sizeof km_text, "%.17g", json_number_value(km_v));
    else if (km_v && !json_is_null(km_v))
        problem_field(&p, "within_km", "must be a number of kilometres");
    places_near_t near;
    if (places_near_parse(near_text[0] ? near_text : NULL, km_text[0] ? km_text : NULL, &near,
                          &p) < 0) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[12] = {r->caller.account_id_text, name, q, purpose, skill, packaging,
        remote_given ? db_bool(remote) : NULL, organisation,
        near.given ? near.text : NULL, near.given ? near.latitude : NULL,
        near.given ? near.longitude : NULL, near.given ? near.km : NULL};
    PGresult *res = db_exec(&q_saved_insert, 12, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT,
                      "You have " MAX_SAVED_SEARCHES " saved searches; delete one first.");
        return;
    }
    char location[80];
    snprintf(location, sizeof location, "/api/v1/me/saved-searches/%s", PQgetvalue(res, 0, 0));
    http_add_header(r, "Location", location);
    reply_row_json(r, 201, res, 1);
}

static db_stmt_t q_saved_delete = DB_STMT("saved_search_delete", false,
    "DELETE FROM saved_searches WHERE id = $1::bigint AND account_id = $2::bigint RETURNING id");

void handle_saved_search_delete(req_t *r)
{
    long long id;
    char text[24];
    if (http_param_id(r, 0, &id, text, sizeof text) < 0) return;
    const char *params[2] = {text, r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_saved_delete, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    int n = PQntuples(res);
    PQclear(res);
    if (n != 1) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such saved search.");
        return;
    }
    http_reply_empty(r, 204);
}
