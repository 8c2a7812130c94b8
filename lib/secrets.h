/* secrets: secrets of this instance kept in the database (instance_secrets,
 * migration 0013) when the operator configures none: made once at random by
 * the first daemon that asks, then the same for every daemon and restart. */
#ifndef PURPOSED_SECRETS_H
#define PURPOSED_SECRETS_H

#include <stddef.h>

#include "problem.h"

/* Hex characters of a secret made here (32 random bytes). */
#define SECRETS_HEX_LEN 64

/* The secret called name, made and stored the first time (concurrent
 * daemons agree on one). Writes it into out (at least SECRETS_HEX_LEN + 1
 * bytes). 0, or negative with p set (database unreachable: 503). Uses this
 * thread's connection (lib/db.h). */
int secrets_get(const char *name, char *out, size_t cap, problem_t *p);

#endif
