/* daemon: the libmicrohttpd daemon that serves the route table through the
 * pipeline (pipeline.h), with its worker pools. */
#ifndef PURPOSED_DAEMON_H
#define PURPOSED_DAEMON_H

#include <stddef.h>

#include "config.h"
#include "router.h"
#include "strbuf.h"

/* Start serving; 0, or -PROBLEM_INTERNAL (bad table, address in use, ...: logged). */
int daemon_start(const config_t *cfg, const route_t *routes, size_t nroutes);
/* Stop accepting, let in-flight requests finish (up to grace_s), stop. */
void daemon_stop(int grace_s);
/* Requests being served, and those suspended on a worker pool. */
long daemon_in_flight(void);
long daemon_suspended(void);
/* The worker pools (workers, queued, depth, done, refused, dropped), the
 * requests refused per address, heads that missed HEADER_TIMEOUT and
 * answers libmicrohttpd made itself, appended as Prometheus text. */
void daemon_metrics(strbuf_t *b);

#endif
