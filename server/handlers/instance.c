/* instance: what the instance says about itself (GET /api/v1/instance: name,
 * description, rules shown at sign-up, contact, registration mode, the
 * limits of new accounts, software version) and the administrators' change
 * of it (docs/moderation.md, docs/operations.md "Registration"). */
#include <stdio.h>
#include <stdlib.h>

#include "common.h"
#include "db.h"
#include "handlers.h"
#include "validate.h"
#include "vocab.h"

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
    "   registration_mode = coalesce($8, registration_mode),"
    "   new_account_days = coalesce($9::int, new_account_days),"
    "   new_account_writes_per_hour = coalesce($10::int, new_account_writes_per_hour),"
    "   version = version + 1"
    " WHERE version = $6::int RETURNING instance_settings AS s)"
    " SELECT (u.s).version, j::text FROM u CROSS JOIN LATERAL instance_json(u.s, $7) j");

void handle_instance_patch(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"name", "description", "rules", "contact",
                                         "registration_mode", "new_account_days",
                                         "new_account_writes_per_hour", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *name = validate_string(body, "name", false, 1, 100, &p);
    const char *description = validate_string(body, "description", false, 0, 2000, &p);
    const json_t *rules = validate_string_array(body, "rules", false, 50, 500, false, NULL, &p);
    const char *contact = validate_string(body, "contact", false, 0, 320, &p);
    /* registration (docs/operations.md, "Registration") */
    const char *mode = validate_enum(body, "registration_mode", false, vocab_registration_modes, &p);
    long long days = 0, writes = 0;
    bool days_given = validate_int(body, "new_account_days", false, 0, 365, &days, &p);
    bool writes_given =
        validate_int(body, "new_account_writes_per_hour", false, 1, 100000, &writes, &p);
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
    char days_text[16], writes_text[16];
    snprintf(days_text, sizeof days_text, "%lld", days);
    snprintf(writes_text, sizeof writes_text, "%lld", writes);
    const char *params[10] = {name, description, rules_json, contact, r->caller.account_id_text,
                              r->if_match, PURPOSED_VERSION, mode,
                              days_given ? days_text : NULL, writes_given ? writes_text : NULL};
    PGresult *res = db_exec(&q_instance_patch, 10, params, &p);
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
