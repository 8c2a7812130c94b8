/* instance: what the instance says about itself (GET /api/v1/instance: name,
 * description, rules shown at sign-up, contact, registration mode, software
 * version) and the administrators' change of it (docs/moderation.md). */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "db.h"
#include "handlers.h"
#include "validate.h"

#ifndef PURPOSED_VERSION
#error "PURPOSED_VERSION comes from CMakeLists.txt (the project's VERSION)"
#endif

static db_stmt_t q_instance = DB_STMT("instance_get", true,
    "SELECT s.version, j::text FROM instance_settings s CROSS JOIN LATERAL instance_json(s, $1) j");

void handle_instance_get(req_t *r)
{
    const char *params[1] = {PURPOSED_VERSION};
    reply_one(r, &q_instance, 1, params, 200, true, "instance");
}

/* Only the fields sent change; the row's version guards against lost
 * updates (If-Match). No row: another administrator changed it first. */
static db_stmt_t q_instance_patch = DB_STMT("instance_patch", false,
    "WITH u AS (UPDATE instance_settings SET name = coalesce($1, name),"
    "   description = coalesce($2, description),"
    "   rules = CASE WHEN $3::json IS NULL THEN rules"
    "           ELSE ARRAY(SELECT json_array_elements_text($3::json)) END,"
    "   contact = coalesce($4, contact), updated_by = $5::bigint, updated_at = now(),"
    "   version = version + 1"
    " WHERE version = $6::int RETURNING instance_settings AS s)"
    " SELECT (u.s).version, j::text FROM u CROSS JOIN LATERAL instance_json(u.s, $7) j");

void handle_instance_patch(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"name", "description", "rules", "contact", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *name = validate_string(body, "name", false, 1, 100, &p);
    const char *description = validate_string(body, "description", false, 0, 2000, &p);
    const json_t *rules = validate_string_array(body, "rules", false, 50, 500, false, NULL, &p);
    const char *contact = validate_string(body, "contact", false, 0, 320, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char *rules_json = rules ? json_dumps(rules, JSON_COMPACT) : NULL;
    if (rules && !rules_json) {
        json_decref(body);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    const char *params[7] = {name, description, rules_json, contact, r->caller.account_id_text,
                             r->if_match, PURPOSED_VERSION};
    PGresult *res = db_exec(&q_instance_patch, 7, params, &p);
    free(rules_json);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_PRECONDITION_FAILED,
                  "The instance's settings changed since you read them; read them again.");
        return;
    }
    set_etag(r, PQgetvalue(res, 0, 0));
    reply_row_json(r, 200, res, 1);
}
