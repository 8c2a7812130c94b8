/* instance_blocks: administrators block remote instances (docs/federation.md,
 * "Blocking"; docs/operations.md), and the FEDERATION gate's first look at a
 * sender: a blocked instance is refused and each instance's inbox POSTs are
 * limited before its key is fetched. The blocks themselves and the limits
 * are lib/peers'. */
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "activitypub.h"
#include "db.h"
#include "federation.h"
#include "handlers/common.h"
#include "handlers/handlers.h"
#include "handlers/page.h"
#include "peers.h"
#include "validate.h"

/* ---------- the gate ---------- */

int activitypub_admit(req_t *r, const char *key_id)
{
    char authority[PEERS_AUTHORITY_MAX];
    if (!peers_authority(key_id, authority))
        return http_fail(r, PROBLEM_BAD_SIGNATURE, "The keyId names no instance.");
    problem_t p;
    problem_init(&p);
    int blocked = peers_blocked(authority, &p);
    if (blocked < 0) return http_reply_problem(r, &p);
    if (blocked)
        return http_fail(r, PROBLEM_FORBIDDEN, "This instance takes no activities from %s.",
                         authority);
    int retry_after = 0;
    if (!peers_inbox_take(authority, &retry_after)) {
        problem_fail(&p, PROBLEM_TOO_MANY_REQUESTS,
                     "%s sent as many activities as a minute allows: try again later.", authority);
        p.retry_after = retry_after;
        return http_reply_problem(r, &p);
    }
    return 0;
}

/* ---------- the moderation routes ---------- */

/* The block, what it removed (the remote actors it covers: their follows of
 * organisations here, the follows of people here of them, and their
 * organisations' rows here with the engagements they sent, hidden as a
 * moderator hides them so lists, search and matching drop them) and its row
 * in the moderation log, in one statement. No row: the host was blocked
 * already. */
static db_stmt_t q_block = DB_STMT("instance_block", false,
    "WITH b AS (INSERT INTO instance_blocks (host, reason, blocked_by) VALUES ($1, $2, $3::bigint)"
    "   ON CONFLICT (host) DO NOTHING RETURNING *),"
    " hit AS (SELECT a.id FROM remote_actors a, b"
    "   WHERE instance_block_covers(b.host, url_authority(a.uri))),"
    " f1 AS (DELETE FROM remote_followers WHERE actor_id IN (SELECT id FROM hit) RETURNING 1),"
    " f2 AS (DELETE FROM remote_follows WHERE actor_id IN (SELECT id FROM hit) RETURNING 1),"
    " o AS (UPDATE organisations SET hidden_at = coalesce(hidden_at, now())"
    "   WHERE remote_actor_id IN (SELECT id FROM hit) RETURNING id),"
    " f3 AS (DELETE FROM follows WHERE organisation_id IN (SELECT id FROM o)),"
    " e AS (UPDATE engagements SET hidden_at = now()"
    "   WHERE organisation_id IN (SELECT id FROM o) AND hidden_at IS NULL RETURNING 1),"
    " removed AS (SELECT jsonb_build_object('followers', (SELECT count(*) FROM f1),"
    "   'follows', (SELECT count(*) FROM f2), 'engagements', (SELECT count(*) FROM e)) AS r),"
    " l AS (INSERT INTO moderation_actions (moderator_id, action, subject_kind, subject_id,"
    "     subject_label, reason, details)"
    "   SELECT $3::bigint, 'block_instance', 'instance', b.id, b.host, b.reason,"
    "     jsonb_build_object('removed', removed.r) FROM b, removed RETURNING id)"
    " SELECT (j::jsonb || jsonb_build_object('removed', removed.r))::text, b.id"
    " FROM b CROSS JOIN LATERAL instance_block_json(ROW(b.*)::instance_blocks) j, removed, l");

/* host[:port] as migration 0044's CHECK takes it: letters, digits, dots and
 * hyphens, starting and ending with a letter or digit; a port of 1-5 digits. */
static bool host_shape(const char *host)
{
    const char *colon = strchr(host, ':');
    size_t n = colon ? (size_t)(colon - host) : strlen(host);
    if (n == 0 || host[0] == '.' || host[0] == '-' || host[n - 1] == '.' || host[n - 1] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((host[i] >= 'a' && host[i] <= 'z') || (host[i] >= '0' && host[i] <= '9') ||
              host[i] == '.' || host[i] == '-'))
            return false;
    if (!colon) return true;
    size_t digits = strlen(colon + 1);
    if (digits < 1 || digits > 5) return false;
    for (const char *c = colon + 1; *c; c++)
        if (*c < '0' || *c > '9') return false;
    return true;
}

/* What the host field takes (the document's pattern): a host, a port
 * perhaps, or an http(s) URL, read for its host. */
static bool host_given(const char *given)
{
    static const char pattern[] =
        "^(https?://)?[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?([/?#].*)?$";
    regex_t re;
    if (regcomp(&re, pattern, REG_EXTENDED | REG_ICASE | REG_NOSUB) != 0) return false;
    bool ok = regexec(&re, given, 0, NULL, 0) == 0;
    regfree(&re);
    return ok;
}

/* {host, reason} */
void handle_instance_block_create(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"host", "reason", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *given = validate_string(body, "host", true, 1, 300, &p);
    const char *reason = validate_string(body, "reason", true, 1, 2000, &p);
    char host[PEERS_AUTHORITY_MAX] = "", own[PEERS_AUTHORITY_MAX] = "";
    if (given) {
        bool ok = host_given(given) && peers_authority(given, host) && host_shape(host);
        if (!ok)
            problem_field(&p, "host", "must be a host name, with a port if only that one is meant");
        else if (federation_base()[0] && peers_authority(federation_base(), own) &&
                 peers_authority(own, own) && strcmp(own, host) == 0)
            problem_field(&p, "host", "is this instance's own");
    }
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[3] = {host, reason, r->caller.account_id_text};
    PGresult *res = db_exec(&q_block, 3, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT, "%s is blocked already.", host);
        return;
    }
    char loc[80];
    snprintf(loc, sizeof loc, "/api/v1/moderation/instance-blocks/%s", PQgetvalue(res, 0, 1));
    http_add_header(r, "Location", loc);
    reply_row_json(r, 201, res, 0);
}

static db_stmt_t q_blocks = DB_STMT("instance_blocks", true,
    "SELECT b.id::text, j::text FROM instance_blocks b"
    " CROSS JOIN LATERAL instance_block_json(b) j"
    " WHERE b.id < coalesce($1::bigint, 9223372036854775807)"
    " ORDER BY b.id DESC LIMIT $2::int");

/* Newest first. */
void handle_instance_blocks_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "instance-blocks", CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[2] = {page_key(&pg, 0), pg.fetch};
    PGresult *res = db_exec(&q_blocks, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* Lifting a block lets the instance in again; what blocking removed stays
 * removed (its people follow again, and it sends its engagements again). */
static db_stmt_t q_unblock = DB_STMT("instance_unblock", false,
    "WITH d AS (DELETE FROM instance_blocks WHERE id = $1::bigint RETURNING *),"
    " l AS (INSERT INTO moderation_actions (moderator_id, action, subject_kind, subject_id,"
    "     subject_label, reason)"
    "   SELECT $2::bigint, 'unblock_instance', 'instance', d.id, d.host, 'unblocked' FROM d)"
    " SELECT count(*) FROM d");

void handle_instance_block_delete(req_t *r)
{
    long long id;
    char idt[24];
    if (http_param_id(r, 0, &id, idt, sizeof idt) < 0) return;
    const char *params[2] = {idt, r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_unblock, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    bool gone = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    if (!gone) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such instance block.");
        return;
    }
    http_reply_empty(r, 204);
}
