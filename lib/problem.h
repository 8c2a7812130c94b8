/* problem: one error value for the whole service; becomes an RFC 9457
 * problem+json response in exactly one place (server/http.c:
 * http_reply_problem, or http_fail for a code and a detail).
 *
 * Every problem type comes from the catalogue lib/problems.def (slug, HTTP
 * status, title); a caller picks the type by its code and gives the detail:
 *
 *     return problem_fail(p, PROBLEM_NO_SUCH_ITEM, "No such %s.", what);
 *
 * Return convention of lib/ and of the handler gates (docs/architecture.md,
 * "Errors and return values"): 0 or a positive value on success, a negative
 * value on error -- -PROBLEM_<CODE>, what problem_fail returns -- with the
 * problem_t filled when the function takes one. Functions returning a
 * pointer return NULL on error, with the problem_t filled. */
#ifndef PURPOSED_PROBLEM_H
#define PURPOSED_PROBLEM_H

#include <jansson.h>
#include <stdbool.h>

typedef enum problem_code {
    PROBLEM_NONE = 0,
#define PROBLEM(name, slug, status, title) PROBLEM_##name,
#include "problems.def"
#undef PROBLEM
    PROBLEM_COUNT
} problem_code_t;

/* One line of the catalogue. */
typedef struct problem_kind {
    const char *name;      /* "NOT_FOUND" */
    const char *slug;      /* "not-found"; the type URI ends with it */
    int status;            /* HTTP status */
    const char *title;
} problem_kind_t;

/* The catalogue line of code; NULL for PROBLEM_NONE or an unknown code. */
const problem_kind_t *problem_kind(problem_code_t code);
/* The base of every type URI; the slug follows it. */
#define PROBLEM_TYPE_BASE "https://purposed.dev/problems/"

typedef struct problem {
    problem_code_t code;   /* PROBLEM_NONE while no problem has been set */
    int status;            /* 0 while no problem has been set */
    char type[48];         /* the catalogue's slug, e.g. "validation" */
    char title[96];
    char detail[512];
    json_t *errors;        /* array of {field, message}, or NULL */
    json_t *extensions;    /* object of extra members of the answer, or NULL */
    int retry_after;       /* seconds, for 429/503; 0 when absent */
    char allow[192];       /* for 405 */
} problem_t;

void problem_init(problem_t *p);
void problem_clear(problem_t *p);
/* Set the problem of type code (status, type and title from the catalogue)
 * with a printf-style detail (NULL: none). Keeps field errors and extensions.
 * Returns -code, so a function can `return problem_fail(p, ...);`; p may be
 * NULL when the caller wants only that. An unknown code is PROBLEM_INTERNAL. */
int problem_fail(problem_t *p, problem_code_t code, const char *detail_fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The negative return value for the problem p holds (-p->code; -PROBLEM_INTERNAL
 * when none is set): for passing on a problem a callee filled. */
int problem_rc(const problem_t *p);
/* An extra member of the answer (RFC 9457 extension), e.g. the allowed
 * actions of an illegal transition. Steals value (dropped when p is NULL). */
void problem_extend(problem_t *p, const char *key, json_t *value);
/* Add a field error; sets 422 "validation" unless a status is already set. */
void problem_field(problem_t *p, const char *field, const char *message_fmt, ...)
    __attribute__((format(printf, 3, 4)));
bool problem_has_fields(const problem_t *p);
/* When field errors were collected but no status set, finish as 422. */
void problem_finish_validation(problem_t *p);
/* A wait as people say it, for details ("try again in %s"): "1 second",
 * "45 seconds", "15 minutes" (rounded up past a minute), "1 hour",
 * "2 hours 5 minutes". Returns buf. */
const char *problem_duration_words(int seconds, char *buf, size_t cap);
/* The problem+json body (caller owns the result). */
json_t *problem_to_json(const problem_t *p);

#endif
