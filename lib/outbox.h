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
#include "strbuf.h"

/* Once at start, before the job workers (main thread): copies what it
 * needs from cfg, initialises libcurl, registers the "mail" kind. */
int outbox_start(const config_t *cfg);
/* The job handler (exposed for the tests). */
job_outcome_t outbox_deliver(const job_t *job, char *err, size_t errlen);
/* The "digest" kind: payload {"account_id": N}. Queued by the notifications
 * trigger (migration 0024) when a line waits for the account's daily
 * digest and no digest job is queued. When the digest is due (one
 * DIGEST_INTERVAL_SECONDS after its oldest line, and after the last
 * digest), it turns the waiting lines into one "digest" mail job; before,
 * it queues itself again for that time. */
job_outcome_t outbox_digest(const job_t *job, char *err, size_t errlen);
/* The outbox in the Prometheus text format, per letter template: mail_queued
 * and mail_sending (the database, all daemons), and this daemon's
 * mail_{sent,retried,failed}_total; suppressed addresses. One or two
 * statements on the calling thread's connection. */
void outbox_metrics_render(strbuf_t *sb);

/* One-click unsubscribe (RFC 8058) from one kind of notification mail,
 * without signing in: the token is "<account id>.<kind>.<MAC>", the MAC a
 * keyed BLAKE2b (16 bytes, hex) of "<account id>.<kind>" under key (the
 * instance secret "unsubscribe", lib/secrets.h). Pure. */
#define OUTBOX_UNSUBSCRIBE_TOKEN_MAX 128
void outbox_unsubscribe_token(char *out, size_t cap, long long account_id, const char *kind,
                              const char *key);
/* 0 with the account and kind (kind of at least 65 bytes) when token is
 * one outbox_unsubscribe_token made with key; -1 otherwise. */
int outbox_unsubscribe_check(const char *token, const char *key, long long *account_id,
                             char *kind, size_t kindcap);

#endif
