/* session: who is calling. Resolves a Bearer token, the session cookie or a
 * feed's secret token to an account; CSRF on cookie-authenticated writes.
 * The pipeline's session and CSRF stages (pipeline.c) call these. */
#ifndef PURPOSED_SESSION_H
#define PURPOSED_SESSION_H

#include "http.h"

/* 1 authenticated, 0 anonymous, -1 the credentials given are bad or the
 * database failed (the response is set then). Cached per request. */
int session_resolve(req_t *r);
/* Require a signed-in caller: false with 401/503 set otherwise. */
bool session_require(req_t *r);
/* A write signed in by cookie must carry the session's X-CSRF-Token:
 * false with 403 set otherwise. */
bool session_csrf_ok(req_t *r);
/* The caller named by a personal feed's secret: name is the path's {token}
 * ending in suffix (".atom"). False with 404 (or 503) set when it names no
 * feed. */
bool session_feed_token(req_t *r, const char *name, const char *suffix);
/* Set-Cookie for a new session token, and the one that removes it. */
void session_set_cookie(req_t *r, const char *token);
void session_clear_cookie(req_t *r);

#endif
