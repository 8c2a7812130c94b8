/* outbox: the "mail" kind of lib/jobs. A mail job's payload is
 *   {"to": "a@b.example", "template": "verify_email", "vars": {...}, "secret": {...}}
 * (lib/letters says what each template reads); it is written by the
 * transaction that causes it: SELECT job_enqueue('mail', jsonb_build_object(...)).
 * The worker renders the letter, skips suppressed addresses, builds the
 * message (lib/mail) and sends it through SMTP_URL, or keeps it as
 * MAIL_DIR/job-<id>.eml when no SMTP server is configured. */
#ifndef PURPOSED_OUTBOX_H
#define PURPOSED_OUTBOX_H

#include "config.h"
#include "jobs.h"

/* Once at start, before the job workers (main thread): copies what it
 * needs from cfg, initialises libcurl, registers the "mail" kind. */
int outbox_start(const config_t *cfg);
/* The job handler (exposed for the tests). */
job_outcome_t outbox_deliver(const job_t *job, char *err, size_t errlen);

#endif
