/* common: shared handler helpers. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "db.h"
#include "jsontext.h"
#include "validate.h"

void reply_row_json(req_t *r, int status, PGresult *res, int col)
{
    if (!res || PQntuples(res) < 1 || PQgetisnull(res, 0, col)) {
        if (res) PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such item.");
        return;
    }
    size_t len = (size_t)PQgetlength(res, 0, col);
    char *body = malloc(len + 1);
    if (!body) {
        PQclear(res);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    len = jsontext_compact(body, PQgetvalue(res, 0, col), len);
    body[len] = '\0';
    PQclear(res);
    http_reply_text(r, status, "application/json", body, len);
}

int reply_one(req_t *r, db_stmt_t *st, int n, const char *const *params, int status,
              bool versioned, const char *what)
{
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(st, n, params, &p);
    if (!res) return http_reply_problem(r, &p);
    if (PQntuples(res) < 1) {
        PQclear(res);
        return http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such %s.", what);
    }
    if (versioned) set_etag(r, PQgetvalue(res, 0, 0));
    reply_row_json(r, status, res, PQnfields(res) - 1);
    return 0;
}

void set_etag(req_t *r, const char *version)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%s\"", version);
    http_add_header(r, "ETag", etag);
}

int reply_cursor_key_unavailable(req_t *r)
{
    problem_t p;
    problem_init(&p);
    problem_fail(&p, PROBLEM_UNAVAILABLE,
                 "Cursors cannot be read until the database is reachable; try again.");
    p.retry_after = 2;
    return http_reply_problem(r, &p);
}

void field_unknown_purposes(problem_t *p, const char *slugs)
{
    problem_field(p, "purposes", "no such purpose (or one retired from the catalogue): %.200s",
                  slugs);
}

static db_stmt_t q_unknown_purposes = DB_STMT("unknown_purposes", true,
    "SELECT (i.ord - 1)::text, i.s FROM json_array_elements_text($1::json) WITH ORDINALITY AS i(s, ord)"
    " WHERE i.s IS NOT NULL AND NOT EXISTS (SELECT 1 FROM purposes p WHERE p.slug = i.s)"
    " ORDER BY i.ord");

int check_purposes(const char *slugs_json, const char *field, problem_t *p)
{
    const char *params[1] = {slugs_json};
    problem_t db;
    problem_init(&db);
    PGresult *res = db_exec(&q_unknown_purposes, 1, params, &db);
    if (!res) {
        problem_clear(p);
        *p = db;
        return problem_rc(p);
    }
    int n = PQntuples(res);
    if (field && n > 0) {
        char slugs[256] = "";
        size_t len = 0;
        for (int i = 0; i < n && len < sizeof slugs; i++) {
            int w = snprintf(slugs + len, sizeof slugs - len, "%s%s", i ? ", " : "",
                             PQgetvalue(res, i, 1));
            if (w < 0) break;
            len += (size_t)w;
        }
        field_unknown_purposes(p, slugs);
    }
    for (int i = 0; !field && i < n; i++) {
        char item[48];
        snprintf(item, sizeof item, "[%s].purpose", PQgetvalue(res, i, 0));
        problem_field(p, item, "no such purpose");
    }
    PQclear(res);
    return 0;
}

int patch_outcome(req_t *r, PGresult *res, const char *what)
{
    if (PQgetvalue(res, 0, 1)[0]) {
        problem_t p;
        problem_init(&p);
        field_unknown_purposes(&p, PQgetvalue(res, 0, 1));
        PQclear(res);
        http_reply_problem(r, &p);
        return -PROBLEM_VALIDATION;
    }
    bool changed = !PQgetisnull(res, 0, 0);
    PQclear(res);
    if (changed) return 0;
    http_fail(r, PROBLEM_PRECONDITION_FAILED,
              "The %s changed since you read it; read it again.", what);
    return -PROBLEM_PRECONDITION_FAILED;
}

/* Content a moderator hid (docs/moderation.md): who may still see it, for
 * the read paths of every resource. */

int moderation_caller_moderates(req_t *r, bool *out)
{
    *out = false;
    if (!r->caller.account_id) return 0;
    char role[16];
    problem_t p;
    problem_init(&p);
    if (authz_instance_role(r->caller.account_id_text, role, &p) != 0)
        return http_reply_problem(r, &p);
    *out = authz_hidden_visible(false, role);
    return 0;
}

int moderation_hidden_visible(req_t *r, bool owner)
{
    if (owner) return authz_hidden_visible(true, "");
    bool moderator;
    int rc = moderation_caller_moderates(r, &moderator);
    if (rc < 0) return rc;
    return moderator ? 1 : 0;
}

const char *validate_message_body(const json_t *body, size_t max_chars, problem_t *p)
{
    static const char *const fields[] = {"body", NULL};
    validate_known_fields(body, fields, p);
    const char *text = validate_string(body, "body", true, 1, max_chars, p);
    if (text && strspn(text, " \t\r\n") == strlen(text)) {
        problem_field(p, "body", "must say something");
        return NULL;
    }
    return text;
}
