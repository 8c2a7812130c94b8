/* replica: which database a request reads from (lib/db.h's read replicas)
 * and what a write leaves for the reads after it (read-your-writes). */
#ifndef PURPOSED_REPLICA_H
#define PURPOSED_REPLICA_H

#include "http.h"

/* Before a read's handler, on its pool thread: its statements go to the
 * replica when it has replayed the caller's last write (this daemon's
 * table, by session credential, or the Purposed-LSN header a client sends
 * back) and, for an answer the cache keeps, every change the change log
 * followers have applied; else to the primary. */
void replica_route_read(req_t *r);
/* After the read: the next request starts on the primary. */
void replica_read_done(void);
/* After a change (any answer but a 5xx) when a replica is configured: the
 * primary's WAL position, remembered for the caller's session and sent as
 * Purposed-LSN for clients that spread their requests over daemons. */
void replica_after_write(req_t *r);

#endif
