/* fanout: the "fan_out" kind of job (lib/jobs): the notifications of new
 * engagements for the followers of their organisation, written in the
 * background instead of in the posting transaction (migration 0027). */
#ifndef PURPOSED_FANOUT_H
#define PURPOSED_FANOUT_H

/* Register the handler (before jobs_start). 0, or -1. */
int fanout_start(void);

#endif
