/* migrate: apply migrations/NNNN_name.sql in order, each in one transaction,
 * under an advisory lock, recorded in schema_migrations with a checksum. */
#ifndef PURPOSED_MIGRATE_H
#define PURPOSED_MIGRATE_H

#include <stddef.h>

/* Apply pending migrations. Returns the number applied (>= 0) or -1 with a
 * message in err (an edited applied migration, an SQL error, no database). */
int migrate_run(const char *conninfo, const char *dir, char *err, size_t errlen);
/* Name of the newest migration file in dir ("" if none); -1 if unreadable. */
int migrate_latest_name(const char *dir, char *out, size_t cap);

#endif
