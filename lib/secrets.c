/* secrets: get or make an instance secret in PostgreSQL. */
#include "secrets.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "db.h"

/* The stored value, or the new one when this call stored it. When another
 * daemon stores one at the same moment, the insert does nothing and this
 * statement's snapshot may not see that row yet: no row, and the caller
 * asks again. */
static db_stmt_t q_secret = DB_STMT("secret_get_or_make", false,
    "WITH made AS (INSERT INTO instance_secrets (name, value) VALUES ($1, $2)"
    "   ON CONFLICT (name) DO NOTHING RETURNING value)"
    " SELECT value FROM made UNION ALL"
    " SELECT value FROM instance_secrets WHERE name = $1 LIMIT 1");

int secrets_get(const char *name, char *out, size_t cap, problem_t *p)
{
    if (cap < SECRETS_HEX_LEN + 1) {
        return problem_fail(p, PROBLEM_INTERNAL, "secret buffer too small");
    }
    unsigned char raw[SECRETS_HEX_LEN / 2];
    char fresh[SECRETS_HEX_LEN + 1];
    for (int attempt = 0; attempt < 3; attempt++) {
        randombytes_buf(raw, sizeof raw);
        sodium_bin2hex(fresh, sizeof fresh, raw, sizeof raw);
        const char *params[2] = {name, fresh};
        PGresult *res = db_exec(&q_secret, 2, params, p);
        if (!res) {
            sodium_memzero(fresh, sizeof fresh);
            return problem_rc(p);
        }
        bool found = PQntuples(res) == 1 && (size_t)PQgetlength(res, 0, 0) < cap;
        if (found) snprintf(out, cap, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        if (found) {
            sodium_memzero(fresh, sizeof fresh);
            return 0;
        }
    }
    sodium_memzero(fresh, sizeof fresh);
    int rc = problem_fail(p, PROBLEM_UNAVAILABLE, "The instance secret is not readable yet.");
    p->retry_after = 1;
    return rc;
}
