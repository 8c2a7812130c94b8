/* credentials: the instance's did:web document, Open Badges 3.0 credentials
 * for concluded agreements whose commitments the organisation says were kept
 * (signed with eddsa-jcs-2022, lib/integrity.h), their Bitstring Status List,
 * revocation by the organisation, publication by the agent, and verification
 * of any credential this instance issued. docs/credentials.md has the model. */
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "chain.h"
#include "common.h"
#include "db.h"
#include "feeds.h"
#include "handlers.h"
#include "integrity.h"
#include "jcs.h"
#include "keys.h"
#include "log.h"
#include "cursor.h"
#include "page.h"
#include "validate.h"

/* Entries in one status list: 16 KiB of bits, the minimum the Bitstring
 * Status List specification asks for (herd privacy). */
#define STATUS_LIST_BITS 131072
#define BASE_MAX 600

/* The base of this instance's URLs and its did (PUBLIC_URL, else the Host). */
typedef struct instance {
    char base[BASE_MAX];
    bool from_request;
    char did[KEYS_DID_MAX];
} instance_t;

static bool instance_of(req_t *r, instance_t *in)
{
    in->from_request = feeds_base_url(r, in->base, sizeof in->base);
    if (!keys_did_web(in->base, in->did, sizeof in->did)) {
        http_fail(r, PROBLEM_INTERNAL, "The instance's address makes no did:web.");
        return false;
    }
    return true;
}

static void utc_now(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* Sign doc with the instance's key as "<did>#key-<id>"; false with the
 * answer set. */
static bool sign(req_t *r, const instance_t *in, json_t *doc, long long *key_id)
{
    problem_t p;
    problem_init(&p);
    keys_signer_t k;
    if (keys_signer(&k, &p) != 0) {
        if (p.status >= 500 && p.status != 503) log_event("error", "signing_key_unreadable", p.detail);
        http_reply_problem(r, &p);
        return false;
    }
    char method[KEYS_DID_MAX + 32], created[32], err[128];
    snprintf(method, sizeof method, "%s#key-%lld", in->did, k.id);
    utc_now(created);
    bool ok = integrity_add_proof(doc, &k, method, created, err, sizeof err);
    if (key_id) *key_id = k.id;
    keys_signer_clear(&k);
    if (!ok) {
        log_event("error", "credential_sign_failed", err);
        http_fail(r, PROBLEM_INTERNAL, NULL);
    }
    return ok;
}

/* ---------- the did document ---------- */

void handle_did_document(req_t *r)
{
    instance_t in;
    if (!instance_of(r, &in)) return;
    problem_t p;
    problem_init(&p);
    /* the first key is made before it is published */
    keys_signer_t k;
    if (keys_signer(&k, &p) != 0) {
        http_reply_problem(r, &p);
        return;
    }
    keys_signer_clear(&k);
    json_t *published = keys_published(&p);
    if (!published) {
        http_reply_problem(r, &p);
        return;
    }
    json_t *doc = keys_did_document(in.did, published);
    json_decref(published);
    feeds_cache_control(r, in.from_request, 300);
    http_reply_json(r, 200, doc);
}

/* ---------- the hash-chained history (lib/chain.h) ---------- */

/* The chain of subject, every entry as it is now, the verdict, and its head
 * signed by the instance (eddsa-jcs-2022, as credentials are): what a party
 * hands to anyone who should check that the record was not rewritten. */
static void reply_chain(req_t *r, const char *chain, const char *subject_id, const char *path)
{
    instance_t in;
    if (!instance_of(r, &in)) return;
    problem_t p;
    problem_init(&p);
    json_t *doc = chain_document(chain, subject_id, &p);
    if (!doc) {
        http_reply_problem(r, &p);
        return;
    }
    char url[BASE_MAX + 128], now[32];
    snprintf(url, sizeof url, "%s%s", in.base, path);
    utc_now(now);
    const json_t *head = json_object_get(doc, "head");
    /* s:o takes the reference: a new 0 for an empty chain, else the head's */
    json_t *seq = json_is_null(head) ? json_integer(0) : json_incref(json_object_get(head, "seq"));
    json_t *signed_head = json_pack("{s:s, s:s, s:s, s:s, s:O, s:o, s:O, s:O, s:s}", "id", url,
        "type", "HistoryChainHead", "issuer", in.did, "chain", chain,
        "subject", json_object_get(doc, "subject"),
        "seq", seq,
        "hash", json_is_null(head) ? json_null() : json_object_get(head, "hash"),
        "verified", json_object_get(doc, "verified"), "validFrom", now);
    if (!signed_head) {
        json_decref(doc);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    if (!sign(r, &in, signed_head, NULL)) {
        json_decref(signed_head);
        json_decref(doc);
        return;
    }
    json_object_set_new(doc, "signed_head", signed_head);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_json(r, 200, doc);
}

void handle_agreement_proof(req_t *r)
{
    char path[96];
    snprintf(path, sizeof path, "/api/v1/agreements/%s/proof", r->resource_id);
    reply_chain(r, CHAIN_AGREEMENT, r->resource_id, path);
}

void handle_charter_proof(req_t *r)
{
    char path[128];
    snprintf(path, sizeof path, "/api/v1/organisations/%s/charter/proof", http_param(r, 0));
    reply_chain(r, CHAIN_CHARTER, r->org.id, path);
}

/* ---------- issuing ---------- */

/* Everything a credential says, or why there is none: the agreement's
 * status, the organisation's closure, an existing credential, and the
 * unsigned document (built only when one may be issued; its id and status
 * index are taken from credential_ids then). $2 is the instance's base, $3
 * and $4 the hash and seq of the head of the agreement's history chain. */
static db_stmt_t q_issue_source = DB_STMT("credential_issue_source", false,
    "WITH a AS (SELECT a.*, (SELECT c.commitments_kept FROM agreement_closures c"
    "   WHERE c.agreement_id = a.id AND c.side = 'organisation') AS org_kept,"
    "  (SELECT min(c.closed_at) FROM agreement_closures c WHERE c.agreement_id = a.id) AS ended_at"
    "  FROM agreements a WHERE a.id = $1::bigint),"
    /* the hours given under it that the other side confirmed, "12.5"; NULL when none */
    " hrs AS (SELECT trim_scale(sum(h.hours))::text AS confirmed FROM agreement_hours h"
    "  JOIN agreement_hours_decisions d ON d.entry_id = h.id AND d.outcome = 'confirmed'"
    "  WHERE h.agreement_id = $1::bigint),"
    " existing AS (SELECT cr.document FROM credentials cr WHERE cr.agreement_id = $1::bigint),"
    " fresh AS (SELECT nextval('credential_ids') AS id, gen_random_uuid()::text AS uuid FROM a"
    "  WHERE a.status = 'concluded' AND a.org_kept AND NOT EXISTS (SELECT 1 FROM existing))"
    "SELECT a.status, a.org_kept, (SELECT document FROM existing), fresh.id, fresh.uuid,"
    " CASE WHEN fresh.id IS NOT NULL THEN json_build_object("
    "  '@context', json_build_array('https://www.w3.org/ns/credentials/v2',"
    "    'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'),"
    "  'id', $2 || '/api/v1/credentials/' || fresh.uuid,"
    "  'type', json_build_array('VerifiableCredential', 'OpenBadgeCredential'),"
    "  'name', v.role || ' at ' || o.name,"
    "  'issuer', json_build_object('id', $2 || '/organisations/' || o.slug,"
    "    'type', json_build_array('Profile'), 'name', o.name, 'url', $2 || '/organisations/' || o.slug),"
    "  'validFrom', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "  'credentialSubject', json_build_object('id', $2 || '/agents/' || g.handle,"
    "    'type', json_build_array('AchievementSubject'), 'role', v.role,"
    "    'activityStartDate', to_char(v.starts_on, 'YYYY-MM-DD') || 'T00:00:00Z',"
    "    'activityEndDate', to_char(a.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    "    'achievement', json_build_object('id', $2 || '/api/v1/credentials/' || fresh.uuid || '#achievement',"
    "      'type', json_build_array('Achievement'), 'name', v.role,"
    "      'description', v.role || ' with ' || o.name || ' (' || v.packaging || ', '"
    "        || v.hours_per_week || ' hours a week) from ' || to_char(v.starts_on, 'YYYY-MM-DD')"
    "        || ' to ' || to_char(a.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    "        || coalesce(', for ' || (SELECT string_agg(p.name, ', ' ORDER BY p.name)"
    "          FROM agreement_version_purposes vp JOIN purposes p ON p.id = vp.purpose_id"
    "          WHERE vp.agreement_id = a.id AND vp.version = a.active_version), '') || '.'"
    "        || coalesce(' ' || (SELECT confirmed FROM hrs) || ' hours given, each entry confirmed by the"
    " side that did not log it.', ''),"
    "      'criteria', json_build_object('narrative', 'A relationship agreement between ' || o.name"
    "        || ' and the agent, in force from ' || to_char(v.starts_on, 'YYYY-MM-DD') || ' at '"
    "        || v.hours_per_week || ' hours a week, concluded on '"
    "        || to_char(a.ended_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')"
    "        || '; the organisation recorded that the agent''s commitments were kept.'),"
    "      'tag', coalesce((SELECT json_agg(p.name ORDER BY p.name) FROM agreement_version_purposes vp"
    "        JOIN purposes p ON p.id = vp.purpose_id"
    "        WHERE vp.agreement_id = a.id AND vp.version = a.active_version), '[]'::json))),"
    "  'evidence', json_build_array(json_build_object("
    "    'id', $2 || '/api/v1/agreements/' || a.id || '/proof#' || $3,"
    "    'type', json_build_array('Evidence'), 'name', 'The agreement''s hash-chained history',"
    "    'narrative', 'The record of the agreement (every version of the terms, their outcomes, both"
    " closures, every message and every hours entry with its answer) is a SHA-256 hash chain over JCS (RFC 8785); when this credential was issued its head was"
    " link ' || $4 || ', hash ' || $3 || '. The parties can show the chain at the evidence URL; a rewritten"
    " record no longer ends in this hash.')),"
    "  'credentialStatus', json_build_object("
    "    'id', $2 || '/api/v1/credentials/status/' || ((fresh.id - 1) / " "131072" " + 1) || '#'"
    "      || ((fresh.id - 1) % 131072),"
    "    'type', 'BitstringStatusListEntry', 'statusPurpose', 'revocation',"
    "    'statusListIndex', ((fresh.id - 1) % 131072)::text,"
    "    'statusListCredential', $2 || '/api/v1/credentials/status/' || ((fresh.id - 1) / 131072 + 1))"
    " )::text END, a.agent_id, a.organisation_id"
    " FROM a JOIN organisations o ON o.id = a.organisation_id JOIN agents g ON g.id = a.agent_id"
    " LEFT JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = a.active_version"
    " LEFT JOIN fresh ON true");

/* An agreement between two instances (migration 0042): one of its parties
 * is kept elsewhere, so no organisation here can stand behind a credential. */
static db_stmt_t q_federated = DB_STMT("credential_federated", true,
    "SELECT federated_uri FROM agreements WHERE id = $1::bigint AND federated_uri IS NOT NULL");

static db_stmt_t q_issue = DB_STMT("credential_issue", false,
    "INSERT INTO credentials (id, uuid, agreement_id, agent_id, organisation_id, signing_key_id, document)"
    " VALUES ($1::bigint, $2::uuid, $3::bigint, $4::bigint, $5::bigint, $6::bigint, $7)"
    " ON CONFLICT (agreement_id) DO NOTHING RETURNING id");
static db_stmt_t q_existing = DB_STMT("credential_by_agreement", true,
    "SELECT document FROM credentials WHERE agreement_id = $1::bigint");

static void reply_document(req_t *r, int status, const char *text)
{
    json_t *doc = json_loads(text, 0, NULL);
    if (!doc) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_json(r, status, doc);
}

void handle_credential_issue(req_t *r)
{
    /* the credential is the agent's: only the agent asks for it */
    if (r->agreement.side != AGREEMENT_SIDE_AGENT) {
        http_fail(r, PROBLEM_FORBIDDEN,
                      "Only the agreement's agent may ask for its credential.");
        return;
    }
    instance_t in;
    if (!instance_of(r, &in)) return;
    problem_t p;
    problem_init(&p);
    /* the credential names the head of the agreement's history as it is */
    json_t *chain = chain_document(CHAIN_AGREEMENT, r->resource_id, &p);
    if (!chain) {
        http_reply_problem(r, &p);
        return;
    }
    const json_t *head = json_object_get(chain, "head");
    bool chain_ok = json_is_true(json_object_get(chain, "verified")) && json_is_object(head);
    char head_seq[24] = "";
    if (chain_ok) snprintf(head_seq, sizeof head_seq, "%lld", (long long)json_integer_value(json_object_get(head, "seq")));
    const char *params[4] = {r->resource_id, in.base,
                             chain_ok ? json_string_value(json_object_get(head, "hash")) : NULL,
                             chain_ok ? head_seq : NULL};
    PGresult *res = db_exec(&q_issue_source, 4, params, &p);
    const json_t *broken = json_object_get(chain, "first_broken");
    char broken_text[256] = "";
    if (!chain_ok && json_is_object(broken))
        snprintf(broken_text, sizeof broken_text, "link %lld (%s %s): %s",
                 (long long)json_integer_value(json_object_get(broken, "seq")),
                 json_string_value(json_object_get(broken, "kind")),
                 json_string_value(json_object_get(broken, "entry")),
                 json_string_value(json_object_get(broken, "reason")));
    json_decref(chain);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        const char *fparams[1] = {r->resource_id};
        PGresult *fed = db_exec(&q_federated, 1, fparams, &p);
        if (!fed) {
            http_reply_problem(r, &p);
            return;
        }
        bool federated = PQntuples(fed) == 1;
        PQclear(fed);
        if (federated)
            http_fail(r, PROBLEM_REMOTE,
                      "This agreement is between two instances: a credential is issued by an "
                      "organisation kept on this instance, for an agreement it keeps itself. The "
                      "record and its proof chain are the same on both instances "
                      "(GET /api/v1/agreements/{id}/proof).");
        else
            http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such agreement.");
        return;
    }
    if (!db_is_null(res, 0, 2)) {
        reply_document(r, 200, PQgetvalue(res, 0, 2));
        PQclear(res);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "concluded") != 0 || db_is_null(res, 0, 5)) {
        bool concluded = strcmp(PQgetvalue(res, 0, 0), "concluded") == 0;
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT,
                      concluded ? "The organisation's closure does not say the commitments were kept."
                                : "The agreement is not concluded.");
        return;
    }
    if (!chain_ok) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT, "The agreement's history does not verify, so no credential "
                      "can vouch for it: %s", broken_text[0] ? broken_text : "it has no links");
        return;
    }
    json_t *doc = json_loads(PQgetvalue(res, 0, 5), 0, NULL);
    char id[24], uuid[40], agent_id[24], org_id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 3));
    snprintf(uuid, sizeof uuid, "%s", PQgetvalue(res, 0, 4));
    snprintf(agent_id, sizeof agent_id, "%s", PQgetvalue(res, 0, 6));
    snprintf(org_id, sizeof org_id, "%s", PQgetvalue(res, 0, 7));
    PQclear(res);
    long long key_id = 0;
    if (!doc) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    if (!sign(r, &in, doc, &key_id)) {
        json_decref(doc);
        return;
    }
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    char key_text[24];
    snprintf(key_text, sizeof key_text, "%lld", key_id);
    const char *iparams[7] = {id, uuid, r->resource_id, agent_id, org_id, key_text, text};
    res = db_exec(&q_issue, 7, iparams, &p);
    if (!res) {
        free(text);
        http_reply_problem(r, &p);
        return;
    }
    bool made = PQntuples(res) == 1;
    PQclear(res);
    if (made) {
        char location[96];
        snprintf(location, sizeof location, "/api/v1/credentials/%s", uuid);
        http_add_header(r, "Location", location);
        reply_document(r, 201, text);
        free(text);
        return;
    }
    free(text);
    /* another request issued it first: that one is the credential */
    const char *eparams[1] = {r->resource_id};
    res = db_exec(&q_existing, 1, eparams, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) == 1) reply_document(r, 200, PQgetvalue(res, 0, 0));
    else http_fail(r, PROBLEM_INTERNAL, NULL);
    PQclear(res);
}

/* ---------- reading, publishing, revoking ---------- */

/* Items are credential_item_json and published_credential_json
 * (migrations/R__representations.sql); lists go through the pager, newest
 * first by the credential's id. */

static bool uuid_ok(const char *s)
{
    if (!s || strlen(s) != 36) return false;
    for (int i = 0; i < 36; i++) {
        char c = s[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

static void no_credential(req_t *r)
{
    http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such credential.");
}

/* Published, or the caller's own. */
static db_stmt_t q_get = DB_STMT("credential_get", true,
    "SELECT c.document FROM credentials c JOIN agents g ON g.id = c.agent_id"
    " JOIN accounts acc ON acc.id = g.account_id"
    " WHERE c.uuid = $1::uuid AND (c.published AND acc.deleted_at IS NULL OR g.account_id = $2::bigint)");

void handle_credential_get(req_t *r)
{
    const char *uuid = http_param(r, 0);
    if (!uuid_ok(uuid)) {
        no_credential(r);
        return;
    }
    const char *params[2] = {uuid, r->caller.account_id ? r->caller.account_id_text : NULL};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_get, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) == 1) reply_document(r, 200, PQgetvalue(res, 0, 0));
    else no_credential(r);
    PQclear(res);
}

static db_stmt_t q_mine = DB_STMT("credentials_mine", true,
    "SELECT c.id::text, j::text FROM credentials c JOIN agents g ON g.id = c.agent_id"
    " CROSS JOIN LATERAL credential_item_json(c) j"
    " WHERE g.account_id = $1::bigint AND c.id < coalesce($2::bigint, 9223372036854775807)"
    " ORDER BY c.id DESC LIMIT $3::int");

void handle_my_credentials(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "my-credentials", CURSOR_KEY_ID) < 0) return;
    const char *params[3] = {r->caller.account_id_text, page_key(&pg, 0), pg.fetch};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_mine, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

static db_stmt_t q_publish = DB_STMT("credential_publish", false,
    "WITH c AS (UPDATE credentials c SET published = $3::boolean FROM agents g"
    "  WHERE g.id = c.agent_id AND g.account_id = $2::bigint AND c.uuid = $1::uuid RETURNING c.*)"
    "SELECT j::text FROM c CROSS JOIN LATERAL credential_item_json(c) j");

void handle_my_credential_publication(req_t *r)
{
    json_t *body = http_take_body(r);
    const char *uuid = http_param(r, 0);
    problem_t p;
    problem_init(&p);
    static const char *const fields[] = {"published", NULL};
    validate_known_fields(body, fields, &p);
    bool published = false;
    validate_bool(body, "published", true, &published, &p);
    json_decref(body);
    if (!uuid_ok(uuid)) {
        problem_clear(&p);
        no_credential(r);
        return;
    }
    if (problem_has_fields(&p)) {
        problem_finish_validation(&p);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[3] = {uuid, r->caller.account_id_text, db_bool(published)};
    PGresult *res = db_exec(&q_publish, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        no_credential(r);
        return;
    }
    reply_row_json(r, 200, res, 0);
}

/* The agent's published credentials; a hidden agent is seen by itself only.
 * No row: no such agent; a row without an item: none past the cursor. */
static db_stmt_t q_agent_credentials = DB_STMT("credentials_of_agent", true,
    "SELECT pg.id::text, pg.j::text FROM agents g JOIN accounts a ON a.id = g.account_id"
    " LEFT JOIN LATERAL (SELECT c.id, j FROM credentials c CROSS JOIN LATERAL published_credential_json(c) j"
    "  WHERE c.agent_id = g.id AND c.published AND c.id < coalesce($3::bigint, 9223372036854775807)"
    "  ORDER BY c.id DESC LIMIT $4::int) pg ON true"
    " WHERE g.handle = $1 AND a.deleted_at IS NULL AND (g.discoverable OR g.account_id = $2::bigint)"
    " ORDER BY pg.id DESC");

void handle_agent_credentials(req_t *r)
{
    const char *handle = http_param(r, 0);
    if (!validate_slug(handle)) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such agent.");
        return;
    }
    page_t pg;
    if (page_read(r, &pg, "agent-credentials", CURSOR_KEY_ID) < 0) return;
    const char *params[4] = {handle, r->caller.account_id ? r->caller.account_id_text : NULL,
                             page_key(&pg, 0), pg.fetch};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_agent_credentials, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such agent.");
        return;
    }
    page_reply(r, &pg, res, NULL);
}

static db_stmt_t q_org_credentials = DB_STMT("credentials_of_organisation", true,
    "SELECT c.id::text, j::text FROM credentials c CROSS JOIN LATERAL credential_item_json(c) j"
    " WHERE c.organisation_id = $1::bigint AND c.id < coalesce($2::bigint, 9223372036854775807)"
    " ORDER BY c.id DESC LIMIT $3::int");

void handle_organisation_credentials(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "organisation-credentials", CURSOR_KEY_ID) < 0) return;
    const char *params[3] = {r->org.id, page_key(&pg, 0), pg.fetch};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_org_credentials, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* Revocation is recorded once, with its reason; the credential must be this
 * organisation's (404 otherwise), a second revocation is a 409. */
static db_stmt_t q_revoke = DB_STMT("credential_revoke", false,
    "WITH c AS (SELECT id FROM credentials WHERE uuid = $1::uuid AND organisation_id = $2::bigint),"
    " ins AS (INSERT INTO credential_revocations (credential_id, reason, revoked_by)"
    "  SELECT id, $3, $4::bigint FROM c ON CONFLICT (credential_id) DO NOTHING"
    "  RETURNING credential_id)"
    "SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM ins)");
/* after it: the statement that revokes does not see its own insert */
static db_stmt_t q_credential_item = DB_STMT("credential_item", true,
    "SELECT j::text FROM credentials c CROSS JOIN LATERAL credential_item_json(c) j WHERE c.uuid = $1::uuid");

void handle_credential_revoke(req_t *r)
{
    json_t *body = http_take_body(r);
    const char *uuid = http_param(r, 1);
    problem_t p;
    problem_init(&p);
    static const char *const fields[] = {"reason", NULL};
    validate_known_fields(body, fields, &p);
    const char *reason = validate_string(body, "reason", true, 1, 1000, &p);
    if (!uuid_ok(uuid)) {
        json_decref(body);
        problem_clear(&p);
        no_credential(r);
        return;
    }
    if (problem_has_fields(&p)) {
        json_decref(body);
        problem_finish_validation(&p);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[4] = {uuid, r->org.id, reason, r->caller.account_id_text};
    PGresult *res = db_exec(&q_revoke, 4, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "1") != 0) {
        PQclear(res);
        no_credential(r);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "1") != 0) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT, "The credential is already revoked.");
        return;
    }
    PQclear(res);
    const char *iparams[1] = {uuid};
    res = db_exec(&q_credential_item, 1, iparams, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 200, res, 0);
}

/* ---------- the status list ---------- */

/* The revoked positions of list n (0-based bits). */
static db_stmt_t q_revoked_bits = DB_STMT("credential_revoked_bits", true,
    "SELECT (rv.credential_id - 1) % 131072 FROM credential_revocations rv"
    " WHERE rv.credential_id > ($1::bigint - 1) * 131072 AND rv.credential_id <= $1::bigint * 131072");

/* GZIP of bits, as the Bitstring Status List asks, in multibase base64url
 * without padding ("u..."); NULL when out of memory. */
static char *encode_list(const unsigned char *bits, size_t n)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + 15, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return NULL;
    uLong cap = deflateBound(&z, (uLong)n) + 32;
    unsigned char *gz = malloc(cap);
    if (!gz) {
        deflateEnd(&z);
        return NULL;
    }
    z.next_in = (unsigned char *)bits;
    z.avail_in = (uInt)n;
    z.next_out = gz;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    size_t len = z.total_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(gz);
        return NULL;
    }
    size_t b64 = sodium_base64_encoded_len(len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *out = malloc(b64 + 1);
    if (out) {
        out[0] = 'u';
        sodium_bin2base64(out + 1, b64, gz, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    }
    free(gz);
    return out;
}

void handle_credential_status_list(req_t *r)
{
    long long list;
    char list_text[24];
    if (http_param_id(r, 0, &list, list_text, sizeof list_text) < 0) return;
    instance_t in;
    if (!instance_of(r, &in)) return;
    const char *params[1] = {list_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_revoked_bits, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    unsigned char *bits = calloc(STATUS_LIST_BITS / 8, 1);
    if (!bits) {
        PQclear(res);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    /* index 0 is the first byte's most significant bit */
    for (int i = 0; i < PQntuples(res); i++) {
        long bit = atol(PQgetvalue(res, i, 0));
        if (bit >= 0 && bit < STATUS_LIST_BITS) bits[bit / 8] |= (unsigned char)(0x80 >> (bit % 8));
    }
    PQclear(res);
    char *encoded = encode_list(bits, STATUS_LIST_BITS / 8);
    free(bits);
    char url[BASE_MAX + 64], subject[BASE_MAX + 80], now[32];
    snprintf(url, sizeof url, "%s/api/v1/credentials/status/%lld", in.base, list);
    snprintf(subject, sizeof subject, "%s#list", url);
    utc_now(now);
    json_t *doc = encoded ? json_pack("{s:[s], s:s, s:[s,s], s:s, s:s, s:{s:s, s:s, s:s, s:s}}",
                                      "@context", "https://www.w3.org/ns/credentials/v2", "id", url,
                                      "type", "VerifiableCredential", "BitstringStatusListCredential",
                                      "issuer", in.did, "validFrom", now, "credentialSubject", "id",
                                      subject, "type", "BitstringStatusList", "statusPurpose",
                                      "revocation", "encodedList", encoded)
                          : NULL;
    free(encoded);
    if (!doc) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    if (!sign(r, &in, doc, NULL)) {
        json_decref(doc);
        return;
    }
    http_add_header(r, "Cache-Control", "no-cache");
    http_reply_json(r, 200, doc);
}

/* ---------- verification ---------- */

static db_stmt_t q_verify_record = DB_STMT("credential_verify_record", true,
    "SELECT c.id, c.document, rv.reason, api_time(rv.revoked_at)"
    " FROM credentials c LEFT JOIN credential_revocations rv ON rv.credential_id = c.id"
    " WHERE c.uuid = $1::uuid");

static void check(json_t *checks, bool *all, const char *name, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void check(json_t *checks, bool *all, const char *name, bool ok, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    json_array_append_new(checks, json_pack("{s:s, s:b, s:s}", "check", name, "ok", ok, "detail", detail));
    if (!ok) *all = false;
}

/* "YYYY-MM-DDTHH:MM:SS" followed by "Z" or ".fffZ": comparable as text. */
static bool utc_time_ok(const char *s)
{
    int y, mo, d, h, mi, se;
    char rest[8] = "";
    return s && sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%7s", &y, &mo, &d, &h, &mi, &se, rest) == 7 &&
           strlen(s) >= 20 && s[4] == '-' && s[10] == 'T' && s[strlen(s) - 1] == 'Z';
}

void handle_credential_verify(req_t *r)
{
    json_t *body = http_take_body(r);
    /* the credential itself, or {"verifiableCredential": ...} as the VC API sends it */
    const json_t *vc = json_object_get(body, "verifiableCredential");
    if (!vc) vc = body;
    instance_t in;
    if (!instance_of(r, &in)) {
        json_decref(body);
        return;
    }
    json_t *checks = json_array();
    bool all = true;
    char why[256];
    problem_t p;
    problem_init(&p);

    /* 1. a proof this instance makes */
    const json_t *proof = integrity_proof(vc, why, sizeof why);
    check(checks, &all, "proof", proof != NULL, "%s",
          proof ? "one DataIntegrityProof, eddsa-jcs-2022, for assertion" : why);

    /* 2. signed by a key of this instance's did */
    const char *method = proof ? json_string_value(json_object_get(proof, "verificationMethod")) : "";
    char prefix[KEYS_DID_MAX + 8];
    snprintf(prefix, sizeof prefix, "%s#key-", in.did);
    long long key_id = 0;
    char *end = NULL;
    bool ours = proof && strncmp(method, prefix, strlen(prefix)) == 0 &&
                (key_id = strtoll(method + strlen(prefix), &end, 10)) > 0 && end && *end == '\0';
    unsigned char pk[KEYS_PUBLIC_BYTES];
    bool retired = false;
    int known = 0;
    if (ours) {
        known = keys_public(key_id, pk, &retired, &p);
        if (known < 0) {
            json_decref(checks);
            json_decref(body);
            http_reply_problem(r, &p);
            return;
        }
    }
    check(checks, &all, "key", known == 1, "%s",
          !proof ? "no proof to name a key"
          : !ours ? "the verification method is not a key of this instance's did"
          : known != 1 ? "this instance has no such key"
          : retired ? "a retired key of this instance, still published"
                    : "the current key of this instance");

    /* 3. the signature over the document as it is */
    bool signature = known == 1 && integrity_verify(vc, pk, why, sizeof why);
    check(checks, &all, "signature", signature, "%s",
          signature ? "the document is exactly what was signed" : known == 1 ? why : "no key to check it with");

    /* 4. issued here, and not revoked */
    const char *id = json_string_value(json_object_get(vc, "id"));
    char id_prefix[BASE_MAX + 32];
    snprintf(id_prefix, sizeof id_prefix, "%s/api/v1/credentials/", in.base);
    const char *uuid = id && strncmp(id, id_prefix, strlen(id_prefix)) == 0 ? id + strlen(id_prefix) : NULL;
    PGresult *res = NULL;
    if (uuid_ok(uuid)) {
        const char *params[1] = {uuid};
        res = db_exec(&q_verify_record, 1, params, &p);
        if (!res) {
            json_decref(checks);
            json_decref(body);
            http_reply_problem(r, &p);
            return;
        }
    }
    bool issued = res && PQntuples(res) == 1;
    check(checks, &all, "issued", issued, "%s",
          issued ? "this instance issued it" : "this instance issued no credential with this id");
    if (issued) {
        /* the status entry points at this credential's bit, which is not set */
        long long cid = atoll(PQgetvalue(res, 0, 0));
        const json_t *status = json_object_get(vc, "credentialStatus");
        char list_url[BASE_MAX + 64], index[24];
        snprintf(list_url, sizeof list_url, "%s/api/v1/credentials/status/%lld", in.base,
                 (cid - 1) / STATUS_LIST_BITS + 1);
        snprintf(index, sizeof index, "%lld", (cid - 1) % STATUS_LIST_BITS);
        const char *entry_list = json_string_value(json_object_get(status, "statusListCredential"));
        const char *entry_index = json_string_value(json_object_get(status, "statusListIndex"));
        bool entry = entry_list && entry_index && strcmp(entry_list, list_url) == 0 &&
                     strcmp(entry_index, index) == 0;
        bool revoked = !db_is_null(res, 0, 2);
        if (!entry) check(checks, &all, "status", false, "the credentialStatus is not this credential's entry");
        else if (revoked)
            check(checks, &all, "status", false, "revoked by the organisation on %s: %s",
                  PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 2));
        else check(checks, &all, "status", true, "not revoked (bit %s of %s)", index, list_url);
    } else {
        check(checks, &all, "status", false, "no status for a credential this instance did not issue");
    }
    if (res) PQclear(res);

    /* 5. dates */
    char now[32];
    utc_now(now);
    const char *from = json_string_value(json_object_get(vc, "validFrom"));
    const char *until = json_string_value(json_object_get(vc, "validUntil"));
    bool dates_ok = utc_time_ok(from) && strncmp(from, now, 19) <= 0 &&
                    (!json_object_get(vc, "validUntil") || (utc_time_ok(until) && strncmp(until, now, 19) > 0));
    check(checks, &all, "dates", dates_ok, "%s",
          !utc_time_ok(from) ? "validFrom is missing or not a UTC time"
          : strncmp(from, now, 19) > 0 ? "not valid yet (validFrom is in the future)"
          : !dates_ok ? "expired, or validUntil is not a UTC time"
                      : "valid now");

    json_decref(body);
    json_t *answer = json_pack("{s:b, s:o}", "verified", all, "checks", checks);
    http_add_header(r, "Cache-Control", "no-store");
    http_reply_json(r, 200, answer);
}
