/* organisations: create, list, read and change organisations; their charter
 * history (every version kept); their members (owners, admins, members). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "auth.h"
#include "authz.h"
#include "chain.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "log.h"
#include "page.h"
#include "session.h"
#include "validate.h"
#include "vocab.h"

#define MAX_ORG_PURPOSES 20

static int not_found(req_t *r)
{
    return http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such organisation.");
}

/* The {slug} path parameter; 0, or negative with 404 set when it cannot be
 * a slug. */
static int slug_param(req_t *r, const char **slug)
{
    *slug = http_param(r, 0);
    return validate_slug(*slug) ? 0 : not_found(r);
}

/* A host name as people type it without a scheme ("river-keepers.example",
 * "river-keepers.example/about"): no colon anywhere (so no other scheme),
 * starting with a letter or digit, a dot in the host part. */
static bool bare_host(const char *w)
{
    if (!((*w >= 'a' && *w <= 'z') || (*w >= 'A' && *w <= 'Z') || (*w >= '0' && *w <= '9'))) return false;
    if (strchr(w, ':')) return false;
    size_t host = strcspn(w, "/?#");
    const char *dot = memchr(w, '.', host);
    return dot && dot + 1 < w + host;
}

/* An http(s) address without spaces or control characters, or NULL; an
 * address given without a scheme is stored as https:// (into buf, which
 * holds the answer then). */
static const char *read_website(const json_t *body, bool *present, char buf[static 501], problem_t *p)
{
    const char *w = validate_string_or_null(body, "website", 500, present, p);
    if (!w) return NULL;
    bool ok = strncasecmp(w, "https://", 8) == 0 ? w[8] != '\0'
            : strncasecmp(w, "http://", 7) == 0  ? w[7] != '\0'
                                                 : bare_host(w);
    for (const unsigned char *c = (const unsigned char *)w; ok && *c; c++)
        if (*c <= 0x20 || *c == 0x7f) ok = false;
    if (!ok) {
        problem_field(p, "website", "must be a web address, such as example.org or https://example.org/about, without spaces");
        return NULL;
    }
    if (strncasecmp(w, "http", 4) == 0 && strstr(w, "://")) return w;
    int n = snprintf(buf, 501, "https://%s", w);
    if (n < 0 || n > 500) {
        problem_field(p, "website", "must be at most 500 characters with its https://");
        return NULL;
    }
    return buf;
}

/* purposes: [slug] as JSON text for the SQL (caller frees), or NULL. */
static char *read_purpose_slugs(const json_t *body, bool required, problem_t *p)
{
    const json_t *a = validate_string_array(body, "purposes", required, MAX_ORG_PURPOSES, 64, true,
                                            NULL, p);
    return a ? json_dumps(a, JSON_COMPACT) : NULL;
}

/* ---------- reading ---------- */

static db_stmt_t q_org_by_id = DB_STMT("organisation_by_id", true,
    "SELECT o.version, j::text FROM organisations o CROSS JOIN LATERAL organisation_json(o) j"
    " WHERE o.id = $1::bigint");

/* Reply with the organisation (ETag from its version). */
static void reply_organisation(req_t *r, int status, db_stmt_t *st, const char *key)
{
    const char *params[1] = {key};
    reply_one(r, st, 1, params, status, true, "organisation");
}

/* Hidden by a moderator: its members and moderators see it, others get 404. */
static db_stmt_t q_org_get = DB_STMT("organisation_get", true,
    "SELECT o.version, j::text, o.hidden_at IS NOT NULL, EXISTS (SELECT 1 FROM memberships m"
    "   WHERE m.organisation_id = o.id AND m.account_id = $2::bigint)"
    " FROM organisations o CROSS JOIN LATERAL organisation_json(o) j WHERE o.slug = $1");

void handle_organisation_get(req_t *r)
{
    const char *slug;
    if (slug_param(r, &slug) < 0) return;
    const char *params[2] = {slug, r->caller.account_id ? r->caller.account_id_text : NULL};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_org_get, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
        int seen = moderation_hidden_visible(r, strcmp(PQgetvalue(res, 0, 3), "t") == 0);
        if (seen <= 0) {
            PQclear(res);
            if (seen == 0) not_found(r);
            return;
        }
    }
    if (PQntuples(res) == 1) set_etag(r, PQgetvalue(res, 0, 0));
    reply_row_json(r, 200, res, 1);
}

/* Ordered by name then id. The name in the cursor may be "" (too long for a
 * cursor): then the name of the organisation with the cursor's id is used. */
#define ORG_LIST_SELECT                                                                     \
    "SELECT o.name, o.id::text, j::text FROM organisations o"                               \
    " CROSS JOIN LATERAL organisation_json(o) j"                                            \
    " WHERE o.hidden_at IS NULL"                                                            \
    "   AND ($1::text IS NULL OR EXISTS (SELECT 1 FROM organisation_purposes op"             \
    "     JOIN purposes p ON p.id = op.purpose_id"                                           \
    "     WHERE op.organisation_id = o.id AND p.slug = $1::text))"                           \
    "   AND (o.name, o.id) > (coalesce(nullif($2::text, ''),"                                \
    "     (SELECT c.name FROM organisations c WHERE c.id = $3::bigint), ''),"               \
    "     coalesce($3::bigint, 0))"
static db_stmt_t q_org_list = DB_STMT("organisations_list", true,
    ORG_LIST_SELECT " AND $5::text IS NULL ORDER BY o.name, o.id LIMIT $4::int");
static db_stmt_t q_org_search = DB_STMT("organisations_search", true,
    ORG_LIST_SELECT " AND o.search @@ websearch_to_tsquery('english', $5::text)"
    " ORDER BY o.name, o.id LIMIT $4::int");

void handle_organisations_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "organisations", CURSOR_KEY_TEXT CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *purpose = purposes_query_slug(r, "purpose", &p);
    const char *q = purposes_query_text(r, "q", 200, &p);
    if (problem_has_fields(&p)) {
        purposes_bad_query(r, &p);
        return;
    }
    const char *params[5] = {purpose, page_key(&pg, 0), page_key(&pg, 1), pg.fetch, q};
    PGresult *res = db_exec(q ? &q_org_search : &q_org_list, 5, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* ---------- creating ---------- */

/* A new charter version joins the organisation's hash chain (lib/chain.h)
 * right after the write; should that fail, its proof shows the version
 * unlinked until the next charter change links it. */
static void link_charter(const char *org_id)
{
    problem_t p;
    problem_init(&p);
    if (chain_sync(CHAIN_CHARTER, org_id, &p) < 0) log_event("warn", "charter_chain_pending", p.detail);
    problem_clear(&p);
}

/* One statement, so one transaction: the organisation, its purposes, charter
 * version 1 and the creator as owner; nothing when a purpose is unknown (the
 * second column then names the unknown slugs). */
static db_stmt_t q_org_insert = DB_STMT("organisation_insert", false,
    "WITH wanted AS (SELECT DISTINCT s FROM json_array_elements_text($9::json) AS s),"
    " known AS (SELECT p.id, p.slug FROM purposes p JOIN wanted w ON w.s = p.slug"
    "   WHERE purpose_offered(p)),"
    " missing AS (SELECT coalesce(string_agg(w.s, ', ' ORDER BY w.s), '') AS slugs FROM wanted w"
    "   WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.slug = w.s)),"
    " o AS (INSERT INTO organisations (slug, name, purpose_statement, association_norms,"
    "     legal_form, governance, website, location, place_id)"
    "   SELECT $1, $2, $3, $4, $5, $6, $7, $8, $11::bigint FROM missing WHERE missing.slugs = ''"
    "   RETURNING id, purpose_statement, association_norms),"
    " op AS (INSERT INTO organisation_purposes (organisation_id, purpose_id)"
    "   SELECT o.id, k.id FROM o, known k),"
    " ch AS (INSERT INTO organisation_charters (organisation_id, version, purpose_statement,"
    "     association_norms, change_note, changed_by)"
    "   SELECT o.id, 1, o.purpose_statement, o.association_norms, NULL, $10::bigint FROM o),"
    " m AS (INSERT INTO memberships (organisation_id, account_id, role)"
    "   SELECT o.id, $10::bigint, 'owner' FROM o)"
    " SELECT (SELECT id FROM o), (SELECT slugs FROM missing)");

void handle_organisation_create(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"name", "slug", "purpose_statement", "association_norms",
                                         "purposes", "legal_form", "governance", "website",
                                         "location", "place", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *name = validate_string(body, "name", true, 1, 200, &p);
    const char *given_slug = validate_string(body, "slug", false, 1, 64, &p);
    const char *statement = validate_string(body, "purpose_statement", true, 1, 5000, &p);
    const char *norms = validate_string(body, "association_norms", false, 0, 10000, &p);
    char *purposes = read_purpose_slugs(body, true, &p);
    const char *legal_form = validate_enum(body, "legal_form", true, vocab_legal_forms, &p);
    const char *governance = validate_enum(body, "governance", true, vocab_governances, &p);
    char website_buf[501];
    const char *website = read_website(body, NULL, website_buf, &p);
    const char *location = validate_string_or_null(body, "location", 200, NULL, &p);
    bool place_given;
    char place[24];
    if (places_read(body, "place", &place_given, place, &p) < 0) {
        free(purposes);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char slug[72] = "";
    if (given_slug) {
        if (validate_slug(given_slug)) snprintf(slug, sizeof slug, "%s", given_slug);
        else problem_field(&p, "slug", "must be lowercase letters, digits and inner dashes");
    } else if (name && !json_object_get(body, "slug") &&
               validate_slugify(name, slug, sizeof slug) != 0) {
        problem_field(&p, "slug", "is required when the name has no letters or digits (a-z, 0-9)");
    }
    if (problem_has_fields(&p) && purposes) check_purposes(purposes, "purposes", &p);
    if (problem_has_fields(&p) || p.status) {
        free(purposes);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[11] = {slug, name, statement, norms ? norms : "", legal_form, governance,
                              website, location, purposes, r->caller.account_id_text,
                              place[0] ? place : NULL};
    PGresult *res = db_exec(&q_org_insert, 11, params, &p);
    free(purposes);
    json_decref(body);
    if (!res) {
        if (db_is_unique_violation()) {
            problem_clear(&p);
            problem_fail(&p, PROBLEM_CONFLICT,
                         "An organisation with the slug %s exists; choose another slug.", slug);
            problem_field(&p, "slug", "is taken");
        }
        http_reply_problem(r, &p);
        return;
    }
    if (PQgetisnull(res, 0, 0)) {
        field_unknown_purposes(&p, PQgetvalue(res, 0, 1));
        PQclear(res);
        http_reply_problem(r, &p);
        return;
    }
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    link_charter(id);
    char location_header[128];
    snprintf(location_header, sizeof location_header, "/api/v1/organisations/%s", slug);
    http_add_header(r, "Location", location_header);
    reply_organisation(r, 201, &q_org_by_id, id);
}

/* ---------- changing ---------- */

/* One statement: the change (optimistic on version, row locked), a new
 * charter version when the statement or the norms changed, and the new set
 * of purposes. Columns: id when changed, unknown purpose slugs ("" if none). */
static db_stmt_t q_org_update = DB_STMT("organisation_update", false,
    "WITH cur AS (SELECT * FROM organisations WHERE id = $1::bigint AND version = $2::int"
    "   FOR UPDATE),"
    " wanted AS (SELECT DISTINCT s FROM json_array_elements_text($6::json) AS s),"
    " known AS (SELECT p.id, p.slug FROM purposes p JOIN wanted w ON w.s = p.slug"
    "   WHERE purpose_offered(p) OR EXISTS (SELECT 1 FROM organisation_purposes x"
    "     WHERE x.organisation_id = $1::bigint AND x.purpose_id = p.id)),"
    " missing AS (SELECT coalesce(string_agg(w.s, ', ' ORDER BY w.s), '') AS slugs FROM wanted w"
    "   WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.slug = w.s)),"
    " u AS (UPDATE organisations o SET name = coalesce($3, o.name),"
    "     purpose_statement = coalesce($4, o.purpose_statement),"
    "     association_norms = coalesce($5, o.association_norms),"
    "     charter_version = o.charter_version + CASE WHEN"
    "       coalesce($4, o.purpose_statement) IS DISTINCT FROM o.purpose_statement OR"
    "       coalesce($5, o.association_norms) IS DISTINCT FROM o.association_norms THEN 1 ELSE 0 END,"
    "     legal_form = coalesce($7, o.legal_form), governance = coalesce($8, o.governance),"
    "     website = CASE WHEN $9::boolean THEN $10 ELSE o.website END,"
    "     location = CASE WHEN $11::boolean THEN $12 ELSE o.location END,"
    "     place_id = CASE WHEN $15::boolean THEN $16::bigint ELSE o.place_id END,"
    "     version = o.version + 1, updated_at = now()"
    "   FROM cur, missing WHERE o.id = cur.id AND missing.slugs = ''"
    "   RETURNING o.id, o.charter_version, cur.charter_version AS old_charter_version,"
    "     o.purpose_statement, o.association_norms),"
    " ch AS (INSERT INTO organisation_charters (organisation_id, version, purpose_statement,"
    "     association_norms, change_note, changed_by)"
    "   SELECT u.id, u.charter_version, u.purpose_statement, u.association_norms, $13,"
    "     $14::bigint FROM u WHERE u.charter_version <> u.old_charter_version),"
    " del AS (DELETE FROM organisation_purposes op USING u WHERE op.organisation_id = u.id"
    "   AND $6::json IS NOT NULL AND op.purpose_id NOT IN (SELECT id FROM known)),"
    " ins AS (INSERT INTO organisation_purposes (organisation_id, purpose_id)"
    "   SELECT u.id, k.id FROM u, known k ON CONFLICT DO NOTHING)"
    " SELECT (SELECT id FROM u), (SELECT slugs FROM missing)");

void handle_organisation_update(req_t *r)
{
    const authz_org_t org = r->org;
    const char *version = r->if_match;
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    static const char *const fields[] = {"name", "slug", "purpose_statement", "association_norms",
                                         "purposes", "legal_form", "governance", "website",
                                         "location", "place", "change_note", NULL};
    validate_known_fields(body, fields, &p);
    if (json_object_get(body, "slug"))
        problem_field(&p, "slug", "cannot be changed: links and feeds point at it");
    if (json_object_size(body) == 0)
        problem_field(&p, "body", "must name at least one field to change");
    const char *name = validate_string(body, "name", false, 1, 200, &p);
    const char *statement = validate_string(body, "purpose_statement", false, 1, 5000, &p);
    const char *norms = validate_string(body, "association_norms", false, 0, 10000, &p);
    char *purposes = read_purpose_slugs(body, false, &p);
    const char *legal_form = validate_enum(body, "legal_form", false, vocab_legal_forms, &p);
    const char *governance = validate_enum(body, "governance", false, vocab_governances, &p);
    bool website_given = false, location_given = false;
    char website_buf[501];
    const char *website = read_website(body, &website_given, website_buf, &p);
    const char *location = validate_string_or_null(body, "location", 200, &location_given, &p);
    const char *note = validate_string_or_null(body, "change_note", 1000, NULL, &p);
    bool place_given;
    char place[24];
    if (places_read(body, "place", &place_given, place, &p) < 0) {
        free(purposes);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    if (problem_has_fields(&p) && purposes) check_purposes(purposes, "purposes", &p);
    if (problem_has_fields(&p) || p.status) {
        free(purposes);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[16] = {org.id, version, name, statement, norms, purposes, legal_form,
                              governance, db_bool(website_given), website,
                              db_bool(location_given), location, note,
                              r->caller.account_id_text, db_bool(place_given),
                              place[0] ? place : NULL};
    PGresult *res = db_exec(&q_org_update, 16, params, &p);
    free(purposes);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (patch_outcome(r, res, "organisation") < 0) return;
    link_charter(org.id);
    reply_organisation(r, 200, &q_org_by_id, org.id);
}

/* ---------- charter ---------- */

/* Newest first. No row: no such organisation; a row without an item: it has
 * no versions past the cursor. */
static db_stmt_t q_charter = DB_STMT("organisation_charter", true,
    "SELECT c.version::text, c.j::text FROM organisations o"
    /* hidden by a moderator: its members and moderators ($5) see it */
    " CROSS JOIN LATERAL (SELECT $5::bool OR EXISTS (SELECT 1 FROM memberships m"
    "   WHERE m.organisation_id = o.id AND m.account_id = $4::bigint) AS sees) v"
    " LEFT JOIN LATERAL ("
    "  SELECT c.version, j FROM organisation_charters c CROSS JOIN LATERAL charter_version_json(c) j"
    "  WHERE c.organisation_id = o.id AND c.version < coalesce($2::int, 2147483647)"
    "    AND (v.sees OR NOT EXISTS (SELECT 1 FROM hidden_charter_versions h"
    "      WHERE h.organisation_id = o.id AND h.version = c.version))"
    "  ORDER BY c.version DESC LIMIT $3::int) c ON true"
    " WHERE o.slug = $1 AND (o.hidden_at IS NULL OR v.sees) ORDER BY c.version DESC");

void handle_charter_list(req_t *r)
{
    const char *slug;
    if (slug_param(r, &slug) < 0) return;
    page_t pg;
    if (page_read(r, &pg, "charter", CURSOR_KEY_ID) < 0) return;
    bool moderator = false;
    if (moderation_caller_moderates(r, &moderator) != 0) return;
    const char *params[5] = {slug, page_key(&pg, 0), pg.fetch,
                             r->caller.account_id ? r->caller.account_id_text : NULL,
                             db_bool(moderator)};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_charter, 5, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        not_found(r);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* ---------- members ---------- */

static db_stmt_t q_members = DB_STMT("organisation_members", true,
    "SELECT cursor_time(m.created_at), m.account_id::text, j::text"
    " FROM memberships m JOIN accounts a ON a.id = m.account_id"
    " CROSS JOIN LATERAL member_json(m, a) j"
    " WHERE m.organisation_id = $1::bigint"
    "   AND (m.created_at, m.account_id) > (coalesce($2::timestamptz, '-infinity'),"
    "     coalesce($3::bigint, 0))"
    " ORDER BY m.created_at, m.account_id LIMIT $4::int");

void handle_members_list(req_t *r)
{
    const authz_org_t org = r->org;
    problem_t p;
    problem_init(&p);
    page_t pg;
    if (page_read(r, &pg, "members", CURSOR_KEY_TIME CURSOR_KEY_ID) < 0) return;
    const char *params[4] = {org.id, page_key(&pg, 0), page_key(&pg, 1), pg.fetch};
    PGresult *res = db_exec(&q_members, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* Adding a member is asking: the owner's request becomes an invitation of
 * the address (and of the account with that address, if there is one and
 * it is not a member already; asking again replaces the role asked for).
 * It grants nothing and is listed to the owners only by the address they
 * typed, so it can never hold up the person's leaving or their account's
 * deletion; and the answer is the same whether or not the email has an
 * account. A new invitation (or one asked again after it expired) gets a
 * fresh single-use link, mailed in the same statement; asking again while
 * it is pending mails nothing. $5 is the hash of the link's token $6. */
#define INVITATION_DAYS "14"
static db_stmt_t q_member_invite = DB_STMT("organisation_member_invite", false,
    "WITH a AS (SELECT id, display_name FROM accounts WHERE email = $2 AND deleted_at IS NULL),"
    " i AS (INSERT INTO membership_invitations (organisation_id, account_id, email, role, invited_by,"
    "     token_hash, expires_at)"
    "   SELECT $1::bigint, (SELECT id FROM a), $2, $3, $4::bigint, $5::bytea,"
    "     now() + interval '" INVITATION_DAYS " days'"
    "   WHERE NOT EXISTS (SELECT 1 FROM memberships m JOIN a ON a.id = m.account_id"
    "     WHERE m.organisation_id = $1::bigint)"
    "   ON CONFLICT (organisation_id, email) DO UPDATE"
    "   SET role = excluded.role, invited_by = excluded.invited_by, account_id = excluded.account_id,"
    "     token_hash = CASE WHEN membership_invitations.expires_at > now()"
    "       THEN membership_invitations.token_hash ELSE excluded.token_hash END,"
    "     created_at = CASE WHEN membership_invitations.expires_at > now()"
    "       THEN membership_invitations.created_at ELSE now() END,"
    "     expires_at = CASE WHEN membership_invitations.expires_at > now()"
    "       THEN membership_invitations.expires_at ELSE excluded.expires_at END"
    "   RETURNING token_hash = $5::bytea AS fresh),"
    " letter AS (INSERT INTO jobs (kind, payload)"
    "   SELECT 'mail', jsonb_strip_nulls(jsonb_build_object('to', $2::text, 'template', 'invitation',"
    "     'vars', jsonb_build_object('name', (SELECT display_name FROM a), 'organisation', o.name,"
    "       'slug', o.slug, 'role', $3::text, 'inviter', coalesce(w.display_name, 'A member')),"
    "     'secret', jsonb_build_object('token', $6::text)))"
    "   FROM i JOIN organisations o ON o.id = $1::bigint"
    "   LEFT JOIN accounts w ON w.id = $4::bigint AND w.deleted_at IS NULL WHERE i.fresh)"
    " SELECT json_build_object('email', $2::text, 'role', $3::text, 'status', 'invited')::text");

void handle_member_add(req_t *r)
{
    const authz_org_t org = r->org;
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    static const char *const fields[] = {"email", "role", NULL};
    validate_known_fields(body, fields, &p);
    const char *given = validate_string(body, "email", true, 1, 254, &p);
    char email[256] = "";
    if (given && validate_normalise_email(given, email, sizeof email) != 0)
        problem_field(&p, "email", "must be an email address like name@example.org");
    const char *role = validate_enum(body, "role", true, vocab_member_roles, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char token[AUTH_TOKEN_TEXT], hash[AUTH_HASH_HEX];
    auth_token_new(token);
    auth_token_hash(token, hash);
    const char *params[6] = {org.id, email, role, r->caller.account_id_text, hash, token};
    PGresult *res = db_exec(&q_member_invite, 6, params, &p);
    sodium_memzero(token, sizeof token);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 202, res, 0);
}

/* The invitations the caller may answer by organisation: to their account,
 * or to their address once it is verified; not expired. */
#define MY_INVITATION(I, CALLER)                                                               \
    " " I ".expires_at > now() AND (" I ".account_id = " CALLER "::bigint OR ("                 \
    I ".account_id IS NULL AND " I ".email = (SELECT email FROM accounts WHERE id = " CALLER   \
    "::bigint AND email_verified_at IS NOT NULL)))"

/* The caller accepts an invitation: it becomes a membership with the role
 * asked for, in one statement. No row: no invitation to this organisation. */
static db_stmt_t q_invitation_accept = DB_STMT("invitation_accept", false,
    "WITH i AS (DELETE FROM membership_invitations mi USING organisations o"
    "   WHERE o.slug = $2 AND mi.organisation_id = o.id AND" MY_INVITATION("mi", "$1")
    "   RETURNING mi.organisation_id, mi.role, mi.id),"
    " m AS (INSERT INTO memberships (organisation_id, account_id, role)"
    "   SELECT organisation_id, $1::bigint, role FROM i ORDER BY id LIMIT 1 ON CONFLICT DO NOTHING"
    "   RETURNING memberships AS m)"
    " SELECT j::text FROM m JOIN accounts a ON a.id = (m.m).account_id"
    " CROSS JOIN LATERAL member_json(m.m, a) j");

void handle_invitation_accept(req_t *r)
{
    const char *slug = http_param(r, 0);
    const char *params[2] = {r->caller.account_id_text, slug};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_invitation_accept, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NOT_FOUND, "No invitation to this organisation.");
        return;
    }
    char location[160];
    snprintf(location, sizeof location, "/api/v1/organisations/%s/members/%s", slug,
             r->caller.account_id_text);
    http_add_header(r, "Location", location);
    reply_row_json(r, 201, res, 0);
}

static db_stmt_t q_invitation_decline = DB_STMT("invitation_decline", false,
    "DELETE FROM membership_invitations mi USING organisations o"
    " WHERE o.slug = $2 AND mi.organisation_id = o.id AND" MY_INVITATION("mi", "$1"));

void handle_invitation_decline(req_t *r)
{
    const char *slug = http_param(r, 0);
    const char *params[2] = {r->caller.account_id_text, slug};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_invitation_decline, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    bool declined = strcmp(PQcmdTuples(res), "0") != 0;
    PQclear(res);
    if (!declined) {
        http_fail(r, PROBLEM_NOT_FOUND, "No invitation to this organisation.");
        return;
    }
    http_reply_empty(r, 204);
}

/* ---------- invitations by their mailed link ---------- */

/* The token of a body, hashed; 0, or negative with the answer given (422). */
static int invitation_token(req_t *r, char hash[AUTH_HASH_HEX])
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"token", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *token = validate_string(body, "token", true, 1, 200, &p);
    int bad = problem_has_fields(&p) ? -1 : auth_token_hash(token, hash);
    json_decref(body);
    if (problem_has_fields(&p)) {
        http_reply_problem(r, &p);
        return -1;
    }
    if (bad) {
        problem_fail(&p, PROBLEM_INVALID_TOKEN, "The invitation link is not valid, was used, or has expired.");
        problem_field(&p, "token", "is not valid, was used, or has expired");
        http_reply_problem(r, &p);
        return -1;
    }
    return 0;
}

static void invitation_gone(req_t *r)
{
    problem_t p;
    problem_init(&p);
    problem_fail(&p, PROBLEM_INVALID_TOKEN,
                 "The invitation link is not valid, was used, was revoked, or has expired; ask the "
                 "organisation for a new one.");
    problem_field(&p, "token", "is not valid, was used, or has expired");
    http_reply_problem(r, &p);
}

/* What a link invites to, for the page that shows it before anyone signs
 * in (the token is the proof): the organisation, the role, who asked, the
 * address it went to, until when. */
static db_stmt_t q_invitation_preview = DB_STMT("invitation_preview", true,
    "SELECT json_build_object('organisation', json_build_object('slug', o.slug, 'name', o.name),"
    " 'role', i.role, 'email', i.email,"
    " 'invited_by', (SELECT json_build_object('display_name', w.display_name) FROM accounts w"
    "   WHERE w.id = i.invited_by AND w.deleted_at IS NULL),"
    " 'invited_at', api_time(i.created_at), 'expires_at', api_time(i.expires_at))::text"
    " FROM membership_invitations i JOIN organisations o ON o.id = i.organisation_id"
    " WHERE i.token_hash = $1::bytea AND i.expires_at > now()");

void handle_invitation_preview(req_t *r)
{
    char hash[AUTH_HASH_HEX];
    if (invitation_token(r, hash) < 0) return;
    const char *params[1] = {hash};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_invitation_preview, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        invitation_gone(r);
        return;
    }
    http_add_header(r, "Cache-Control", "no-store");
    reply_row_json(r, 200, res, 0);
}

/* The signed-in caller accepts the invitation of the link, whatever
 * address their account has (the link reached its mailbox; an account of
 * that very address is verified by it). The link works once. Columns: the
 * membership (NULL: already a member), the organisation's slug. */
static db_stmt_t q_invitation_accept_link = DB_STMT("invitation_accept_link", false,
    "WITH i AS (DELETE FROM membership_invitations WHERE token_hash = $2::bytea AND expires_at > now()"
    "   RETURNING organisation_id, role, email),"
    " m AS (INSERT INTO memberships (organisation_id, account_id, role)"
    "   SELECT organisation_id, $1::bigint, role FROM i ON CONFLICT DO NOTHING"
    "   RETURNING memberships AS m),"
    " mine AS (DELETE FROM membership_invitations x USING i"
    "   WHERE x.organisation_id = i.organisation_id AND x.account_id = $1::bigint"
    "   AND x.token_hash IS DISTINCT FROM $2::bytea),"
    " verified AS (UPDATE accounts a SET email_verified_at = now(), version = a.version + 1,"
    "   updated_at = now() FROM i WHERE a.id = $1::bigint AND a.email = i.email"
    "   AND a.email_verified_at IS NULL AND a.deleted_at IS NULL)"
    " SELECT (SELECT j::text FROM m JOIN accounts a ON a.id = (m.m).account_id"
    "   CROSS JOIN LATERAL member_json(m.m, a) j), o.slug"
    " FROM i JOIN organisations o ON o.id = i.organisation_id");

void handle_invitation_accept_link(req_t *r)
{
    char hash[AUTH_HASH_HEX];
    if (invitation_token(r, hash) < 0) return;
    const char *params[2] = {r->caller.account_id_text, hash};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_invitation_accept_link, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        invitation_gone(r);
        return;
    }
    if (PQgetisnull(res, 0, 0)) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT, "You are a member of this organisation already.");
        return;
    }
    char location[160];
    snprintf(location, sizeof location, "/api/v1/organisations/%s/members/%s", PQgetvalue(res, 0, 1),
             r->caller.account_id_text);
    http_add_header(r, "Location", location);
    reply_row_json(r, 201, res, 0);
}

/* ---------- the organisation's pending invitations ---------- */

static db_stmt_t q_invitations = DB_STMT("organisation_invitations", true,
    "SELECT cursor_time(i.created_at), i.id::text, j::text"
    " FROM membership_invitations i CROSS JOIN LATERAL invitation_json(i) j"
    " WHERE i.organisation_id = $1::bigint"
    "   AND (i.created_at, i.id) < (coalesce($2::timestamptz, 'infinity'),"
    "     coalesce($3::bigint, 9223372036854775807))"
    " ORDER BY i.created_at DESC, i.id DESC LIMIT $4::int");

void handle_invitations_list(req_t *r)
{
    const authz_org_t org = r->org;
    problem_t p;
    problem_init(&p);
    page_t pg;
    if (page_read(r, &pg, "invitations", CURSOR_KEY_TIME CURSOR_KEY_ID) < 0) return;
    const char *params[4] = {org.id, page_key(&pg, 0), page_key(&pg, 1), pg.fetch};
    PGresult *res = db_exec(&q_invitations, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* Revoking: the link stops working at once. */
static db_stmt_t q_invitation_revoke = DB_STMT("organisation_invitation_revoke", true,
    "DELETE FROM membership_invitations WHERE organisation_id = $1::bigint AND id = $2::bigint");

void handle_invitation_revoke(req_t *r)
{
    const authz_org_t org = r->org;
    long long id;
    char id_text[24];
    if (http_param_id(r, 1, &id, id_text, sizeof id_text) < 0) return;
    const char *params[2] = {org.id, id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_invitation_revoke, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    bool revoked = strcmp(PQcmdTuples(res), "0") != 0;
    PQclear(res);
    if (!revoked) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such invitation.");
        return;
    }
    http_reply_empty(r, 204);
}

/* Owners are locked first, so two owners removing each other at once cannot
 * leave the organisation without one. Columns: the target's role (NULL: not
 * a member), rows deleted. */
static db_stmt_t q_member_remove = DB_STMT("organisation_member_remove", false,
    "WITH owners AS (SELECT account_id FROM memberships"
    "   WHERE organisation_id = $1::bigint AND role = 'owner' FOR UPDATE),"
    " target AS (SELECT role FROM memberships"
    "   WHERE organisation_id = $1::bigint AND account_id = $2::bigint),"
    " d AS (DELETE FROM memberships m WHERE m.organisation_id = $1::bigint"
    "   AND m.account_id = $2::bigint"
    "   AND (m.role <> 'owner' OR (SELECT count(*) FROM owners WHERE account_id <> $2::bigint) > 0)"
    "   RETURNING 1)"
    " SELECT (SELECT role FROM target), (SELECT count(*) FROM d)");

void handle_member_remove(req_t *r)
{
    const authz_org_t org = r->org;
    long long account;
    char account_text[24];
    if (http_param_id(r, 1, &account, account_text, sizeof account_text) < 0) return;
    problem_t p;
    problem_init(&p);
    if (!authz_member_removal_allows(org.role, account == r->caller.account_id)) {
        http_fail(r, PROBLEM_FORBIDDEN,
                  "Only an owner may remove other members; members may remove themselves.");
        return;
    }
    const char *params[2] = {org.id, account_text};
    PGresult *res = db_exec(&q_member_remove, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    bool member = !PQgetisnull(res, 0, 0);
    bool removed = strcmp(PQgetvalue(res, 0, 1), "0") != 0;
    PQclear(res);
    if (!member) {
        http_fail(r, PROBLEM_NOT_FOUND, "This account is not a member.");
        return;
    }
    if (!removed) {
        http_fail(r, PROBLEM_LAST_OWNER,
                  "The organisation needs an owner: add another owner first.");
        return;
    }
    http_reply_empty(r, 204);
}
