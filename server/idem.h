/* idem: Idempotency-Key on POST. The same key and body from the same caller
 * within 24 h replays the first response; another body is a 422. Secret
 * fields are not compared: a replay never runs the request again, and a
 * response carrying a secret is never stored (http.c). */
#ifndef PURPOSED_IDEM_H
#define PURPOSED_IDEM_H

#include "http.h"

/* The stored fingerprint of a request: BLAKE2b-256 (hex) of its path and
 * of its JSON body in a canonical form without any secret field
 * (auth_secret_field), so no stored value is a fast function of a secret.
 * A body that is not JSON counts by its length only. */
void idem_fingerprint(const char *url, const char *body, size_t body_len, char hex[65]);
/* Before the handler: 0 when the handler runs (no key, or the key is
 * claimed now); negative when the request is answered and the handler must
 * not run: HTTP_ANSWERED for a replay, -PROBLEM_<CODE> for a bad key, a
 * conflict or a database failure. */
int idem_begin(req_t *r);
/* After the handler, with the response set: remember it (2xx) or forget the key. */
void idem_finish(req_t *r);

#endif
