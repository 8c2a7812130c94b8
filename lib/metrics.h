/* metrics: lock-free request counters and latency histograms, rendered in
 * the Prometheus text format. */
#ifndef PURPOSED_METRICS_H
#define PURPOSED_METRICS_H

#include <stddef.h>

#include "strbuf.h"

#define METRICS_MAX_ROUTES 128

/* Name the routes once at start (index = route id); "other" is id 0. */
void metrics_set_route_name(int id, const char *name);
void metrics_observe(int route_id, const char *method, int status, double seconds);
/* Append all metrics plus the given gauges to b. */
void metrics_render(strbuf_t *b, long db_open, long db_reconnects, long db_errors, long in_flight,
                    long suspended);

#endif
