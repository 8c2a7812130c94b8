/* auth: password hashing (Argon2id), session tokens and CSRF tokens.
 * Tokens are given to clients once; only their BLAKE2b hash is stored. */
#ifndef PURPOSED_AUTH_H
#define PURPOSED_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

#define AUTH_TOKEN_BYTES 32
#define AUTH_TOKEN_TEXT 44      /* base64url without padding, + NUL */
#define AUTH_HASH_HEX 67        /* "\\x" + 64 hex + NUL: a bytea literal for libpq */
#define AUTH_CSRF_TEXT 65       /* 64 hex + NUL */

void auth_configure(unsigned long long opslimit, size_t memlimit);
/* Hash a password; out must hold crypto_pwhash_STRBYTES. 0, or -PROBLEM_UNAVAILABLE (out of
 * memory: try again later). */
int auth_password_hash(const char *password, char *out);
bool auth_password_verify(const char *hash, const char *password);
bool auth_password_needs_rehash(const char *hash);
/* Verify against a fixed dummy hash so unknown accounts cost the same time. */
void auth_password_burn(const char *password);

/* Is a request field with this name a secret (a password, a token…)? One
 * list for the whole daemon: a secret field is never part of anything
 * stored about a request (the Idempotency-Key fingerprint). Any name that
 * contains "password", "passphrase", "secret" or "token", in any case. */
bool auth_secret_field(const char *name);

/* A new random session token (base64url text). */
void auth_token_new(char out[AUTH_TOKEN_TEXT]);
/* The stored form of a token: bytea hex literal "\\x…" of BLAKE2b-256.
 * Returns -PROBLEM_UNAUTHORISED when the token is not a well-formed token. */
int auth_token_hash(const char *token, char out[AUTH_HASH_HEX]);
void auth_csrf_new(char out[AUTH_CSRF_TEXT]);
/* Constant-time comparison of two CSRF tokens (false if either is NULL). */
bool auth_csrf_equal(const char *expected, const char *given);
/* The value of cookie `name` in a Cookie header, copied to out: 0, or
 * -PROBLEM_UNAUTHORISED when absent or too long. */
int auth_cookie_value(const char *cookie_header, const char *name, char *out, size_t cap);

#endif
