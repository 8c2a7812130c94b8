/* handlers: every route handler, one file per resource under handlers/. */
#ifndef PURPOSED_HANDLERS_H
#define PURPOSED_HANDLERS_H

#include "http.h"

/* ops.c */
void ops_set_latest_migration(const char *name);
void handle_healthz(req_t *r);
void handle_readyz(req_t *r);
void handle_metrics(req_t *r);
void handle_openapi(req_t *r);

/* accounts.c — accounts, sessions, /me */
void handle_account_create(req_t *r);
void handle_session_create(req_t *r);
void handle_session_delete(req_t *r);
void handle_me(req_t *r);

/* purposes.c */

/* organisations.c (organisations, charter, members, follows) */

/* agents.c */

/* engagements.c */

/* feeds.c */

/* matching.c */

/* agreements.c (agreements, portfolio, notifications) */

#endif
