/* verification: an organisation proves it controls its website. Its token
 * (purposed-<43 base64url characters>) is served either in the body of
 * <origin>/.well-known/purposed-verification or as
 * <meta name="purposed-verification" content="TOKEN"> on the website's page;
 * the daemon fetches both through lib/fetch (timeout, size limit, no
 * redirects followed, no private addresses) and says what it found. The
 * "verification_check" kind of job (lib/jobs) checks a verified website
 * again every VERIFICATION_RECHECK_DAYS; after its retries fail, the badge
 * goes and the owners are told (migration 0035). */
#ifndef PURPOSED_VERIFICATION_H
#define PURPOSED_VERIFICATION_H

#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

#define VERIFICATION_TOKEN_PREFIX "purposed-"
#define VERIFICATION_TOKEN_TEXT (sizeof VERIFICATION_TOKEN_PREFIX - 1 + 43 + 1)
#define VERIFICATION_TIMEOUT_MS 5000L        /* each of the two fetches */
#define VERIFICATION_MAX_BYTES (256 * 1024)  /* a longer answer is not read */
#define VERIFICATION_RECHECK_DAYS 7
#define VERIFICATION_RECHECK_ATTEMPTS 4      /* tries of a re-check before the badge goes */

/* A new random token. */
void verification_token_new(char out[VERIFICATION_TOKEN_TEXT]);

typedef enum verification_meta {
    VERIFICATION_META_NONE,   /* no <meta name="purposed-verification"> */
    VERIFICATION_META_OTHER,  /* one, with another content */
    VERIFICATION_META_MATCH,  /* one whose content is the token */
} verification_meta_t;

/* Pure: what the page's <meta name="purposed-verification" content="...">
 * tags say about token (names and attributes in any case and order, quoted
 * with " or ' or not at all). html is NUL-terminated. */
verification_meta_t verification_find_meta(const char *html, const char *token);

typedef struct verification_result {
    bool verified;
    const char *method;   /* "well_known" or "meta_tag" when verified, else NULL */
    char detail[1200];    /* what each place held, in words */
} verification_result_t;

/* Fetch well_known_url (its body must contain token), then, unless it did,
 * page_url (a matching meta tag). 0 with out filled, verified or not. */
int verification_check(const char *well_known_url, const char *page_url, const char *token,
                       verification_result_t *out);

/* Register the "verification_check" job kind (before jobs_start). 0, or -1. */
int verification_start(void);

#endif
