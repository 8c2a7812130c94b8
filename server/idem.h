/* idem: Idempotency-Key on POST. The same key and body from the same caller
 * within 24 h replays the first response; another body is a 422. */
#ifndef PURPOSED_IDEM_H
#define PURPOSED_IDEM_H

#include "http.h"

/* Before the handler. True when the response is already set (a replay, a
 * conflict, a bad key): the handler must not run. */
bool idem_begin(req_t *r);
/* After the handler, with the response set: remember it (2xx) or forget the key. */
void idem_finish(req_t *r);

#endif
