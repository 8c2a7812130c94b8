/* session: who is calling. Resolves a Bearer token, the session cookie or a
 * feed's secret token to an account; CSRF on cookie-authenticated writes.
 * The pipeline's session and CSRF stages (pipeline.c) call these. */
#ifndef PURPOSED_SESSION_H
#define PURPOSED_SESSION_H

#include "http.h"

/* 1 authenticated, 0 anonymous, negative when the credentials given are bad
 * (401) or the database failed (503), answered. Cached per request. */
int session_resolve(req_t *r);
/* Require a signed-in caller: 0, or negative with 401 (503) answered. */
int session_require(req_t *r);
/* A write signed in by cookie must carry the session's X-CSRF-Token: 0, or
 * negative with 403 answered. */
int session_csrf(req_t *r);
/* The caller named by a personal feed's secret: name is the path's {token}
 * ending in suffix (".atom"). 0, or negative with 404 (or 503) answered
 * when it names no feed. */
int session_feed_token(req_t *r, const char *name, const char *suffix);
/* Set (or clear) the session cookie, with the signed_in=1 marker beside it:
 * a cookie the pages can read, so an anonymous page never asks GET /me. */
/* Set-Cookie for a new session token, and the one that removes it. */
void session_set_cookie(req_t *r, const char *token);
void session_clear_cookie(req_t *r);

#endif
