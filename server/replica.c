/* replica: read routing per request, read-your-writes by WAL position. */
#include "replica.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db.h"
#include "follower.h"
#include "route.h"

#define LSN_HEADER "Purposed-LSN"

/* The bytes naming the caller's session: its bearer token or session
 * cookie, as sent (0 when anonymous). Only hashed into db's table. */
static size_t session_key(const req_t *r, char *out, size_t cap)
{
    const char *authz = http_header(r, "Authorization");
    if (authz && strncasecmp(authz, "Bearer ", 7) == 0) {
        snprintf(out, cap, "%s", authz + 7);
        return strlen(out);
    }
    if (auth_cookie_value(http_header(r, "Cookie"), "session", out, cap) == 0) return strlen(out);
    return 0;
}

void replica_route_read(req_t *r)
{
    if (!db_replica_configured()) {
        db_count_primary_read();
        return;
    }
    char key[160];
    size_t klen = session_key(r, key, sizeof key);
    db_lsn_t need = db_ryw_needed(key, klen);
    db_lsn_t sent = db_lsn_parse(http_header(r, LSN_HEADER));
    if (sent > need) need = sent;
    const route_spec_t *s = r->match.route ? route_spec(r->match.route) : NULL;
    if (s && (s->cache & (ROUTE_CACHED_LIST | ROUTE_CACHED_ITEM))) {
        db_lsn_t changed = follower_changed_lsn();
        if (changed > need) need = changed;
    }
    db_read_from_replica(need);
}

void replica_read_done(void) { db_use_primary(); }

void replica_after_write(req_t *r)
{
    if (!db_replica_configured() || r->status >= 500) return;
    db_lsn_t lsn = db_primary_lsn();
    if (!lsn) return;
    char key[160];
    db_ryw_remember(key, session_key(r, key, sizeof key), lsn);
    char text[40];
    db_lsn_format(lsn, text, sizeof text);
    http_add_header(r, LSN_HEADER, text);
}
