/* migrate: apply migrations/NNNN_name.sql in order, each in one transaction,
 * under an advisory lock, recorded in schema_migrations with a checksum; then
 * the repeatable migrations R__name.sql (the JSON representations), each
 * applied again, in one transaction, whenever its checksum differs from the
 * one recorded in schema_repeatables. migrations/README.md says when to use
 * which. */
#ifndef PURPOSED_MIGRATE_H
#define PURPOSED_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

#define MIGRATE_CHECKSUM_HEX 65 /* BLAKE2b-256 as hex, with its NUL */

typedef enum migrate_kind {
    MIGRATE_NOT_A_MIGRATION = 0,
    MIGRATE_NUMBERED,   /* NNNN_name.sql: applied once, never edited */
    MIGRATE_REPEATABLE, /* R__name.sql: applied again whenever it changes */
} migrate_kind_t;

/* What to do with one file given the checksum recorded for it (NULL when
 * none is recorded). */
typedef enum migrate_action {
    MIGRATE_SKIP = 0,  /* applied, unchanged */
    MIGRATE_APPLY,     /* new, or (repeatable) changed */
    MIGRATE_EDITED,    /* a numbered migration changed after it was applied: an error */
} migrate_action_t;

/* Apply pending migrations. Returns the number applied (>= 0), or negative
 * with p's detail saying why: -PROBLEM_CONFLICT an applied migration was
 * edited, -PROBLEM_UNAVAILABLE no database, -PROBLEM_INTERNAL an SQL error
 * or an unreadable file. */
int migrate_run(const char *conninfo, const char *dir, problem_t *p);
/* Name of the newest numbered migration file in dir ("" if none); -1 if
 * unreadable. */
int migrate_latest_name(const char *dir, char *out, size_t cap);

/* Pure: is name a numbered migration file, "NNNN_name.sql" (four digits,
 * '_', at least one character, ".sql")? Migrations apply in byte order of
 * their names (alphasort in the C locale). */
bool migrate_is_file_name(const char *name);
/* Pure: numbered (migrate_is_file_name), repeatable ("R__name.sql", at
 * least one character of name) or neither (ignored). */
migrate_kind_t migrate_kind(const char *file_name);
/* Pure: the checksum recorded for a file's bytes: BLAKE2b-256
 * (crypto_generichash) in lowercase hex. Changing it would make every
 * applied migration look edited. */
void migrate_checksum(const char *sql, size_t len, char hex[MIGRATE_CHECKSUM_HEX]);
/* Pure: what to do with a file of kind given the checksum recorded for it. */
migrate_action_t migrate_decide(migrate_kind_t kind, const char *recorded, const char *checksum);
/* The migration files of dir in the order they are applied: numbered ones
 * by name, then repeatable ones by name. *names is a malloc'd array of
 * malloc'd names (free with migrate_names_free). Returns the count, or -1
 * when dir cannot be read. */
int migrate_list(const char *dir, char ***names);
void migrate_names_free(char **names, int n);

#endif
