/* migrate: apply migrations/NNNN_name.sql in order, each in one transaction,
 * under an advisory lock, recorded in schema_migrations with a checksum. */
#ifndef PURPOSED_MIGRATE_H
#define PURPOSED_MIGRATE_H

#include <stdbool.h>
#include <stddef.h>

/* Apply pending migrations. Returns the number applied (>= 0) or -1 with a
 * message in err (an edited applied migration, an SQL error, no database). */
int migrate_run(const char *conninfo, const char *dir, char *err, size_t errlen);
/* Name of the newest migration file in dir ("" if none); -1 if unreadable. */
int migrate_latest_name(const char *dir, char *out, size_t cap);

/* Pure: is name a migration file, "NNNN_name.sql" (four digits, '_', at
 * least one character, ".sql")? Other files in the directory are ignored.
 * Migrations apply in byte order of their names (alphasort in the C locale). */
bool migrate_is_file_name(const char *name);

#define MIGRATE_CHECKSUM_HEX 65
/* Pure: the checksum recorded in schema_migrations for a file's bytes:
 * BLAKE2b-256 (crypto_generichash) in lowercase hex. Changing it would make
 * every applied migration look edited. */
void migrate_checksum(const char *sql, size_t len, char hex[MIGRATE_CHECKSUM_HEX]);

#endif
