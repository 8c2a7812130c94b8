/* common: shared handler helpers. */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void reply_row_json(req_t *r, int status, PGresult *res, int col)
{
    if (!res || PQntuples(res) < 1 || PQgetisnull(res, 0, col)) {
        if (res) PQclear(res);
        http_error(r, 404, "not-found", "Not found", "There is nothing at this address.");
        return;
    }
    size_t len = (size_t)PQgetlength(res, 0, col);
    char *body = malloc(len + 1);
    if (!body) {
        PQclear(res);
        http_error(r, 500, "internal", "Internal error", NULL);
        return;
    }
    memcpy(body, PQgetvalue(res, 0, col), len + 1);
    PQclear(res);
    http_reply_text(r, status, "application/json", body, len);
}

void set_etag(req_t *r, const char *version)
{
    char etag[32];
    snprintf(etag, sizeof etag, "\"%s\"", version);
    http_add_header(r, "ETag", etag);
}

void reply_db_problem(req_t *r, problem_t *p) { http_reply_problem(r, p); }

void field_unknown_purposes(problem_t *p, const char *slugs)
{
    problem_field(p, "purposes", "unknown purpose: %.200s", slugs);
}

bool patch_applied(req_t *r, PGresult *res, const char *what)
{
    if (PQgetvalue(res, 0, 1)[0]) {
        problem_t p;
        problem_init(&p);
        field_unknown_purposes(&p, PQgetvalue(res, 0, 1));
        PQclear(res);
        http_reply_problem(r, &p);
        return false;
    }
    bool changed = !PQgetisnull(res, 0, 0);
    PQclear(res);
    if (!changed) {
        char detail[128];
        snprintf(detail, sizeof detail, "The %s changed since you read it; read it again.", what);
        http_error(r, 412, "precondition-failed", "Stale version", detail);
    }
    return changed;
}
