/* common: small helpers every handler uses (ETag/If-Match, DB errors to
 * responses, JSON from SQL). Keep handler files thin: read, validate, call
 * one statement, reply. */
#ifndef PURPOSED_HANDLERS_COMMON_H
#define PURPOSED_HANDLERS_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "http.h"

/* Reply with the JSON text in column col of row 0 (produced by PostgreSQL,
 * e.g. json_build_object); 404 when there is no row. Clears res. */
void reply_row_json(req_t *r, int status, PGresult *res, int col);
/* ETag of a versioned resource: "\"<version>\"". */
void set_etag(req_t *r, const char *version);
/* Reply with a database failure (p from db_exec). */
void reply_db_problem(req_t *r, problem_t *p);
/* The field error for purpose slugs a statement did not find. */
void field_unknown_purposes(problem_t *p, const char *slugs);
/* The outcome of a versioned UPDATE whose row 0 is (id or version when the
 * row changed, else NULL; unknown purpose slugs, "" if none). True when it
 * changed; otherwise replies 422 naming purposes, or 412 naming what (e.g.
 * "organisation"). Clears res. */
bool patch_applied(req_t *r, PGresult *res, const char *what);

#endif
