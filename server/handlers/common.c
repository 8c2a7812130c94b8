/* common: shared handler helpers. */
#include "common.h"

#include <errno.h>
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

bool require_if_match(req_t *r, char *out, size_t cap)
{
    const char *im = http_header(r, "If-Match");
    if (!im) {
        http_error(r, 428, "precondition-required", "If-Match required",
                   "Send If-Match with the ETag you last read, so no change is lost.");
        return false;
    }
    const char *s = im;
    if (strncmp(s, "W/", 2) == 0) s += 2;
    char *end = NULL;
    errno = 0;
    if (*s == '"') s++;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 1 || (*end != '"' && *end != '\0') ||
        (*end == '"' && end[1] != '\0')) {
        http_error(r, 412, "precondition-failed", "Stale or unknown version",
                   "If-Match does not name the current version; read the resource again.");
        return false;
    }
    snprintf(out, cap, "%lld", v);
    return true;
}

void reply_db_problem(req_t *r, problem_t *p) { http_reply_problem(r, p); }

bool path_id(req_t *r, int i, long long *out, char *text, size_t cap)
{
    const char *s = http_param(r, i);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 1 || s[0] == '+' || s[0] == '0') {
        http_error(r, 404, "not-found", "Not found", "There is nothing at this address.");
        return false;
    }
    *out = v;
    snprintf(text, cap, "%lld", v);
    return true;
}

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
