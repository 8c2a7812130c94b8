/* validate: reading request JSON field by field, collecting every bad field
 * into a problem (422) instead of stopping at the first. */
#ifndef PURPOSED_VALIDATE_H
#define PURPOSED_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

/* Every key of obj must be in allowed (NULL-terminated); others are errors. */
void validate_known_fields(const json_t *obj, const char *const *allowed, problem_t *p);

bool validate_slug(const char *s);
bool validate_email(const char *s);
/* Trim and lowercase an email into out; returns 0, or -PROBLEM_VALIDATION when
 * invalid. */
int validate_normalise_email(const char *in, char *out, size_t cap);
/* Derive a slug from a name ("Clean Water!" -> "clean-water"); 0, or
 * -PROBLEM_VALIDATION when nothing is left. */
int validate_slugify(const char *name, char *out, size_t cap);

/* Field readers. Each returns the value (or the default when absent and not
 * required) and adds a field error to p when the value is bad. "present"
 * outputs say whether the key was in the object at all. */
const char *validate_string(const json_t *obj, const char *key, bool required, size_t min_chars,
                            size_t max_chars, problem_t *p);
/* Like validate_string but JSON null is allowed (returns NULL, *is_null = true). */
const char *validate_string_or_null(const json_t *obj, const char *key, size_t max_chars,
                                    bool *present, problem_t *p);
bool validate_int(const json_t *obj, const char *key, bool required, long long lo, long long hi,
                  long long *out, problem_t *p);
bool validate_number(const json_t *obj, const char *key, bool required, double lo, double hi,
                     double *out, problem_t *p);
bool validate_bool(const json_t *obj, const char *key, bool required, bool *out, problem_t *p);
/* value must be one of values (NULL-terminated; the lists are lib/vocab.h's). */
const char *validate_enum(const json_t *obj, const char *key, bool required,
                          const char *const *values, problem_t *p);
/* The same for text that is not in a JSON body (a query value): text when it
 * is one of values, else NULL and a field error for key. */
const char *validate_enum_text(const char *text, const char *key, const char *const *values,
                               problem_t *p);
bool validate_in(const char *s, const char *const *values);
/* An array of strings, each 1..max_chars, at most max_items, no duplicates.
 * If slugs, each must be a slug. Returns a borrowed array or NULL. */
const json_t *validate_string_array(const json_t *obj, const char *key, bool required,
                                    size_t max_items, size_t max_chars, bool slugs,
                                    const char *const *enum_values, problem_t *p);
/* "YYYY-MM-DD" that is a real date. */
bool validate_date(const char *s);

/* Largest nesting depth of a JSON text (cheap scan, strings skipped). */
int validate_json_depth(const char *text, size_t len);

#endif
