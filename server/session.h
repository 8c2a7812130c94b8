/* session: who is calling. Resolves a Bearer token or the session cookie to
 * an account, enforces CSRF on cookie-authenticated writes. */
#ifndef PURPOSED_SESSION_H
#define PURPOSED_SESSION_H

#include "http.h"

/* 1 authenticated, 0 anonymous, -1 the credentials given are bad or the
 * database failed (the response is set then). Cached per request. */
int session_resolve(req_t *r);
/* Require a signed-in caller: false with 401/403/503 set otherwise. */
bool session_require(req_t *r);
/* Set-Cookie for a new session token, and the one that removes it. */
void session_set_cookie(req_t *r, const char *token);
void session_clear_cookie(req_t *r);

#endif
