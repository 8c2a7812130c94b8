/* problem: one error value for the whole service; becomes an RFC 9457
 * problem+json response in exactly one place (server/http.c). */
#ifndef PURPOSED_PROBLEM_H
#define PURPOSED_PROBLEM_H

#include <jansson.h>
#include <stdbool.h>

typedef struct problem {
    int status;            /* 0 while no problem has been set */
    char type[48];         /* short slug, e.g. "validation"; URI built from it */
    char title[96];
    char detail[512];
    json_t *errors;        /* array of {field, message}, or NULL */
    int retry_after;       /* seconds, for 429/503; 0 when absent */
    char allow[192];       /* for 405 */
} problem_t;

void problem_init(problem_t *p);
void problem_clear(problem_t *p);
/* Set status, type slug, title and a printf-style detail. Keeps field errors. */
void problem_set(problem_t *p, int status, const char *type, const char *title,
                 const char *detail_fmt, ...) __attribute__((format(printf, 5, 6)));
/* Add a field error; sets 422 "validation" unless a status is already set. */
void problem_field(problem_t *p, const char *field, const char *message_fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool problem_has_fields(const problem_t *p);
/* When field errors were collected but no status set, finish as 422. */
void problem_finish_validation(problem_t *p);
/* The problem+json body (caller owns the result). */
json_t *problem_to_json(const problem_t *p);

#endif
