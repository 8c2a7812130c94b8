/* common: small helpers every handler uses (ETag/If-Match, DB errors to
 * responses, JSON from SQL). Keep handler files thin: read, validate, call
 * one statement, reply.
 *
 * A handler answers a problem in one way: a problem_t it collected (field
 * errors, a problem a lib function filled) goes out with
 * http_reply_problem(r, &p); a problem it has just found with
 * http_fail(r, PROBLEM_<CODE>, detail...) (server/http.h). Helpers that may
 * answer return 0 when the handler may go on and a negative code when they
 * have answered. */
#ifndef PURPOSED_HANDLERS_COMMON_H
#define PURPOSED_HANDLERS_COMMON_H

#include <libpq-fe.h>
#include <stdbool.h>

#include "db.h"
#include "http.h"

/* The text of a message's body ({"body": text}, no other field): 1 to
 * max_chars characters, not only white space; NULL with every bad field named
 * in p otherwise. One rule for agreement messages and engagement questions. */
const char *validate_message_body(const json_t *body, size_t max_chars, problem_t *p);
/* Reply with the JSON text in column col of row 0 (a representation of
 * migrations/R__representations.sql), compacted; 404 when there is no row.
 * Clears res. */
void reply_row_json(req_t *r, int status, PGresult *res, int col);
/* The one way to answer one resource read by one statement: run st with its
 * n params; a database failure answers its problem, no row answers 404
 * no-such-item "No such <what>.", and a row answers status with the JSON
 * text of its last column (reply_row_json). A versioned statement's row is
 * (version, JSON): the version becomes the ETag. 0, or negative when it
 * answered a problem. */
int reply_one(req_t *r, db_stmt_t *st, int n, const char *const *params, int status,
              bool versioned, const char *what);
/* ETag of a versioned resource: "\"<version>\"". */
void set_etag(req_t *r, const char *version);
/* 503 + Retry-After: a cursor came but its key (the instance secret, read
 * from the database) could not be loaded yet (lib/cursor.h cursor_ready).
 * Returns -PROBLEM_UNAVAILABLE. */
int reply_cursor_key_unavailable(req_t *r);
/* The field error for purpose slugs a statement did not find. */
void field_unknown_purposes(problem_t *p, const char *slugs);
/* Name the slugs in slugs_json (JSON array text; null items are skipped)
 * that are not purposes, as field errors: all under field ("purposes"), or,
 * with field NULL, each as "[i].purpose". A handler calls it before it
 * answers a 422, so one answer names every bad field, unknown references
 * included. Writes that name unknown slugs themselves (their statement
 * reports them with field_unknown_purposes) call it only when other
 * fields are bad, so a valid write costs no extra round trip. 0, or
 * negative with p replaced by the database problem. */
int check_purposes(const char *slugs_json, const char *field, problem_t *p);
/* The outcome of a versioned UPDATE whose row 0 is (id or version when the
 * row changed, else NULL; unknown purpose slugs, "" if none). 0 when it
 * changed; otherwise replies 422 naming purposes, or 412 naming what (e.g.
 * "organisation"), and returns negative. Clears res. */
int patch_outcome(req_t *r, PGresult *res, const char *what);

/* Content a moderator hid answers 404 but to its owners and moderators
 * (lib/authz.h authz_hidden_visible). *out: the caller moderates (false when
 * signed out). 0, or negative with the answer set (503). */
int moderation_caller_moderates(req_t *r, bool *out);
/* 1: the caller sees the hidden thing (owner: it is theirs); 0: answer 404;
 * negative: answered (503). */
int moderation_hidden_visible(req_t *r, bool owner);

#endif
