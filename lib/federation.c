/* federation: local actors' RSA keys, remote actors and their keys, WebFinger,
 * the engagement object, and the "deliver" job (docs/federation.md). */
#include "federation.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "db.h"
#include "fetch.h"
#include "httpsig.h"
#include "jobs.h"
#include "keys.h"
#include "log.h"
#include "peers.h"
#include "strbuf.h"
#include "validate.h"

static char g_base[512];

void federation_configure(const char *public_url)
{
    snprintf(g_base, sizeof g_base, "%s", public_url ? public_url : "");
    size_t n = strlen(g_base);
    while (n && g_base[n - 1] == '/') g_base[--n] = '\0';
}

const char *federation_base(void) { return g_base; }

void federation_actor_uri(const char *kind, const char *name, char *out, size_t cap)
{
    if (!strcmp(kind, "instance"))
        snprintf(out, cap, "%s/actor", g_base);
    else
        snprintf(out, cap, "%s/%s/%s", g_base,
                 !strcmp(kind, "organisation") ? "organisations" : "agents", name);
}

/* ---------- local keys ---------- */

static db_stmt_t q_key = DB_STMT("ap_key", false,
    "SELECT public_pem, private_pem FROM ap_keys WHERE actor_kind = $1 AND actor_id = $2");
/* two daemons making the first key at once: the first one stored is kept */
static db_stmt_t q_key_make = DB_STMT("ap_key_make", false,
    "WITH ins AS (INSERT INTO ap_keys (actor_kind, actor_id, public_pem, private_pem)"
    "   VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING public_pem, private_pem)"
    " SELECT public_pem, private_pem FROM ins"
    " UNION ALL SELECT public_pem, private_pem FROM ap_keys"
    "   WHERE actor_kind = $1 AND actor_id = $2 AND NOT EXISTS (SELECT 1 FROM ins)");

int federation_key(const char *kind, long long id, char **public_pem, char **private_pem,
                   problem_t *p)
{
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", id);
    const char *params[4] = {kind, idtext, NULL, NULL};
    PGresult *res = db_exec(&q_key, 2, params, p);
    if (!res) return problem_rc(p);
    char *made_pub = NULL, *made_priv = NULL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        if (httpsig_rsa_generate(&made_pub, &made_priv) != 0)
            return problem_fail(p, PROBLEM_INTERNAL, "An RSA key could not be made.");
        params[2] = made_pub;
        params[3] = made_priv;
        res = db_exec(&q_key_make, 4, params, p);
        free(made_pub);
        free(made_priv);
        if (!res) return problem_rc(p);
        if (PQntuples(res) == 0) {
            PQclear(res);
            return problem_fail(p, PROBLEM_INTERNAL, "The key was not stored.");
        }
    }
    *public_pem = strdup(PQgetvalue(res, 0, 0));
    if (private_pem) *private_pem = strdup(PQgetvalue(res, 0, 1));
    PQclear(res);
    return 0;
}

/* Each actor's Ed25519 key (migration 0044), beside its RSA pair: made on
 * first use; two daemons making it at once keep the first one stored. */
static db_stmt_t q_ed_key = DB_STMT("ap_ed_key", false,
    "SELECT encode(ed25519_public, 'hex'), ed25519_seed, ed25519_sealed FROM ap_keys"
    " WHERE actor_kind = $1 AND actor_id = $2 AND ed25519_public IS NOT NULL");
static db_stmt_t q_ed_key_make = DB_STMT("ap_ed_key_make", false,
    "UPDATE ap_keys SET ed25519_public = decode($3, 'hex'), ed25519_seed = $4,"
    "   ed25519_sealed = $5::boolean"
    " WHERE actor_kind = $1 AND actor_id = $2 AND ed25519_public IS NULL");

int federation_ed25519_key(const char *kind, long long id, keys_signer_t *out, problem_t *p)
{
    char *pem = NULL;
    if (federation_key(kind, id, &pem, NULL, p) < 0) return problem_rc(p); /* the row */
    free(pem);
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", id);
    const char *params[5] = {kind, idtext, NULL, NULL, NULL};
    for (int attempt = 0; attempt < 2; attempt++) {
        PGresult *res = db_exec(&q_ed_key, 2, params, p);
        if (!res) return problem_rc(p);
        if (PQntuples(res) == 1) {
            unsigned char seed[KEYS_SEED_BYTES];
            bool ok = keys_seed_open(PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2)[0] == 't', seed, p);
            PQclear(res);
            if (!ok) return problem_rc(p);
            keys_from_seed(seed, out);
            sodium_memzero(seed, sizeof seed);
            return 0;
        }
        PQclear(res);
        unsigned char seed[KEYS_SEED_BYTES];
        randombytes_buf(seed, sizeof seed);
        keys_signer_t made;
        keys_from_seed(seed, &made);
        char pk_hex[KEYS_PUBLIC_BYTES * 2 + 1], stored[KEYS_STORED_SEED_MAX];
        bool sealed = false;
        sodium_bin2hex(pk_hex, sizeof pk_hex, made.public_key, sizeof made.public_key);
        keys_seed_store(seed, stored, &sealed);
        sodium_memzero(seed, sizeof seed);
        keys_signer_clear(&made);
        params[2] = pk_hex;
        params[3] = stored;
        params[4] = db_bool(sealed);
        res = db_exec(&q_ed_key_make, 5, params, p);
        sodium_memzero(stored, sizeof stored);
        if (!res) return problem_rc(p);
        PQclear(res);
    }
    return problem_fail(p, PROBLEM_INTERNAL, "The Ed25519 key was not stored.");
}

/* ---------- fetching JSON from other instances ---------- */

/* GET url as JSON (Accept given); NULL with p set: 502 when the server
 * failed or answered non-2xx, 422 when the answer is not a JSON object. */
json_t *federation_fetch_json(const char *url, const char *accept, problem_t *p)
{
    char accept_line[200];
    snprintf(accept_line, sizeof accept_line, "Accept: %s", accept);
    const char *headers[] = {accept_line, NULL};
    /* a blocked instance's documents are not asked for (its keys neither) */
    int blocked = peers_blocked(url, p);
    if (blocked < 0) return NULL;
    if (blocked) {
        problem_fail(p, PROBLEM_FORBIDDEN, "%s is on an instance blocked here.", url);
        return NULL;
    }
    fetch_request_t req = {.method = "GET", .url = url, .headers = headers,
                           .max_bytes = FEDERATION_FETCH_MAX, .max_redirects = 3,
                           .per_instance = true};
    fetch_response_t resp;
    memset(&resp, 0, sizeof resp);
    if (fetch(&req, &resp, p) < 0) return NULL;
    json_t *j = NULL;
    if (resp.status < 200 || resp.status > 299) {
        problem_fail(p, PROBLEM_BAD_GATEWAY, "%s answered %ld.", url, resp.status);
    } else if (validate_json_depth(strbuf_str(&resp.body), resp.body.len) > FEDERATION_JSON_DEPTH) {
        problem_fail(p, PROBLEM_VALIDATION, "%s answered JSON nested too deep.", url);
    } else {
        json_error_t err;
        j = json_loadb(strbuf_str(&resp.body), resp.body.len, JSON_REJECT_DUPLICATES, &err);
        if (!json_is_object(j)) {
            json_decref(j);
            j = NULL;
            problem_fail(p, PROBLEM_VALIDATION, "%s did not answer a JSON object.", url);
        }
    }
    fetch_response_free(&resp);
    return j;
}

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static bool http_url(const char *s)
{
    return s && (!strncmp(s, "https://", 8) || !strncmp(s, "http://", 7)) &&
           strlen(s) < FEDERATION_URI_MAX;
}

/* ---------- remote actors ---------- */

#define ACTOR_COLUMNS \
    "id, uri, type, coalesce(username, ''), coalesce(name, ''), coalesce(url, ''), inbox," \
    " coalesce(shared_inbox, ''), coalesce(key_id, ''), public_pem," \
    " coalesce(ed25519_key_id, ''), coalesce(ed25519_multibase, '')"
static db_stmt_t q_actor = DB_STMT("ap_actor", true,
    "SELECT " ACTOR_COLUMNS ", fetched_at < now() - interval '" FEDERATION_ACTOR_TTL "'"
    " FROM remote_actors WHERE uri = $1");
static db_stmt_t q_actor_store = DB_STMT("ap_actor_store", true,
    "INSERT INTO remote_actors AS a (uri, type, username, name, url, inbox, shared_inbox, key_id,"
    "   public_pem, ed25519_key_id, ed25519_multibase)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    " ON CONFLICT (uri) DO UPDATE SET type = $2, username = $3, name = $4, url = $5, inbox = $6,"
    "   shared_inbox = $7, key_id = $8, public_pem = $9, ed25519_key_id = $10,"
    "   ed25519_multibase = $11, fetched_at = now()"
    " RETURNING " ACTOR_COLUMNS);

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

static void actor_from_row(const PGresult *res, federation_actor_t *a)
{
    a->id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    copy(a->uri, sizeof a->uri, PQgetvalue(res, 0, 1));
    copy(a->type, sizeof a->type, PQgetvalue(res, 0, 2));
    copy(a->username, sizeof a->username, PQgetvalue(res, 0, 3));
    copy(a->name, sizeof a->name, PQgetvalue(res, 0, 4));
    copy(a->url, sizeof a->url, PQgetvalue(res, 0, 5));
    copy(a->inbox, sizeof a->inbox, PQgetvalue(res, 0, 6));
    copy(a->shared_inbox, sizeof a->shared_inbox, PQgetvalue(res, 0, 7));
    copy(a->key_id, sizeof a->key_id, PQgetvalue(res, 0, 8));
    free(a->public_pem);
    a->public_pem = PQgetisnull(res, 0, 9) ? NULL : strdup(PQgetvalue(res, 0, 9));
    copy(a->ed25519_key_id, sizeof a->ed25519_key_id, PQgetvalue(res, 0, 10));
    copy(a->ed25519_multibase, sizeof a->ed25519_multibase, PQgetvalue(res, 0, 11));
}

/* The first Ed25519 Multikey of an actor's assertionMethod (FEP-521a): its
 * id and publicKeyMultibase, for RFC 9421 Ed25519 senders. Other keys there
 * (Fedify lists its RSA key as a Multikey too) are passed over. */
static void ed25519_key(const json_t *doc, const char **id, const char **mb)
{
    const json_t *am = json_object_get(doc, "assertionMethod");
    size_t i;
    const json_t *k;
    unsigned char pk[KEYS_PUBLIC_BYTES];
    if (json_is_object(am)) {
        if (jstr(am, "publicKeyMultibase") && keys_multikey_decode(jstr(am, "publicKeyMultibase"), pk)) {
            *id = jstr(am, "id");
            *mb = jstr(am, "publicKeyMultibase");
        }
        return;
    }
    json_array_foreach(am, i, k) {
        if (json_is_object(k) && jstr(k, "publicKeyMultibase") &&
            keys_multikey_decode(jstr(k, "publicKeyMultibase"), pk)) {
            *id = jstr(k, "id");
            *mb = jstr(k, "publicKeyMultibase");
            return;
        }
    }
}

static int actor_fetch(const char *uri, federation_actor_t *out, json_t **keep, problem_t *p)
{
    json_t *doc = federation_fetch_json(uri, "application/activity+json", p);
    if (!doc) return problem_rc(p);
    const char *id = jstr(doc, "id"), *inbox = jstr(doc, "inbox");
    const json_t *pk = json_object_get(doc, "publicKey");
    const char *key_id = jstr(pk, "id"), *pem = jstr(pk, "publicKeyPem");
    const char *shared = jstr(json_object_get(doc, "endpoints"), "sharedInbox");
    const char *type = jstr(doc, "type");
    const char *ed_id = NULL, *ed_mb = NULL;
    ed25519_key(doc, &ed_id, &ed_mb);
    int rc = 0;
    /* the document must be the actor asked for: a server speaks only for its own */
    if (!id || strcmp(id, uri) != 0 || !http_url(inbox) || !type ||
        (key_id && (!pem || strncmp(key_id, uri, strlen(uri)) != 0)) ||
        (ed_id && strncmp(ed_id, uri, strlen(uri)) != 0)) {
        rc = problem_fail(p, PROBLEM_VALIDATION, "%s is not an ActivityPub actor this instance takes.",
                          uri);
    } else {
        const json_t *url = json_object_get(doc, "url");
        const char *params[11] = {uri, type, jstr(doc, "preferredUsername"), jstr(doc, "name"),
                                  json_is_string(url) && http_url(json_string_value(url))
                                      ? json_string_value(url) : NULL,
                                  inbox, http_url(shared) ? shared : NULL, key_id, pem,
                                  ed_id, ed_mb};
        char name[501], username[201], typ[41];
        /* cut what is longer than the columns take rather than refuse the actor */
        if (params[3]) { copy(name, sizeof name, params[3]); params[3] = name; }
        if (params[2]) { copy(username, sizeof username, params[2]); params[2] = username; }
        copy(typ, sizeof typ, type);
        params[1] = typ;
        PGresult *res = db_exec(&q_actor_store, 11, params, p);
        if (!res) {
            rc = problem_rc(p);
        } else {
            actor_from_row(res, out);
            out->refreshed = true;
            PQclear(res);
        }
    }
    if (keep && rc == 0) *keep = doc;
    else json_decref(doc);
    return rc;
}

int federation_actor_get(const char *uri_in, bool refresh, federation_actor_t *out, problem_t *p)
{
    memset(out, 0, sizeof *out);
    char uri[FEDERATION_URI_MAX];
    if (!http_url(uri_in))
        return problem_fail(p, PROBLEM_VALIDATION, "An actor is named by an http(s) URL.");
    copy(uri, sizeof uri, uri_in);
    char *hash = strchr(uri, '#');
    if (hash) *hash = '\0';
    if (!refresh) {
        const char *params[1] = {uri};
        PGresult *res = db_exec(&q_actor, 1, params, p);
        if (!res) return problem_rc(p);
        bool stale = PQntuples(res) == 1 && PQgetvalue(res, 0, 12)[0] == 't';
        if (PQntuples(res) == 1 && !stale) {
            actor_from_row(res, out);
            PQclear(res);
            return 0;
        }
        PQclear(res);
    }
    return actor_fetch(uri, out, NULL, p);
}

int federation_actor_fetch_doc(const char *uri, federation_actor_t *out, json_t **doc, problem_t *p)
{
    memset(out, 0, sizeof *out);
    *doc = NULL;
    if (!http_url(uri))
        return problem_fail(p, PROBLEM_VALIDATION, "An actor is named by an http(s) URL.");
    return actor_fetch(uri, out, doc, p);
}

void federation_actor_clear(federation_actor_t *a)
{
    free(a->public_pem);
    a->public_pem = NULL;
}

/* ---------- WebFinger ---------- */

int federation_webfinger(const char *handle, char *actor_uri, size_t cap, problem_t *p)
{
    const char *h = handle;
    if (!strncmp(h, "acct:", 5)) h += 5;
    if (*h == '@') h++;
    const char *at = strchr(h, '@');
    char user[200], host[300];
    if (!at || at == h || (size_t)(at - h) >= sizeof user || strlen(at + 1) >= sizeof host ||
        !at[1] || strchr(at + 1, '@') || strchr(at + 1, '/'))
        return problem_fail(p, PROBLEM_VALIDATION, "A handle is written slug@host.");
    memcpy(user, h, (size_t)(at - h));
    user[at - h] = '\0';
    copy(host, sizeof host, at + 1);
    for (const char *c = host; *c; c++)
        if (!(isalnum((unsigned char)*c) || *c == '.' || *c == '-' || *c == ':' || *c == '[' ||
              *c == ']'))
            return problem_fail(p, PROBLEM_VALIDATION, "The host of %s is not a host name.", handle);
    /* the scheme follows this instance's own (tests run both on http) */
    bool plain = !strncmp(g_base, "http://", 7);
    char url[1200];
    snprintf(url, sizeof url, "%s://%s/.well-known/webfinger?resource=acct:%s@%s",
             plain ? "http" : "https", host, user, host);
    json_t *jrd = federation_fetch_json(url, "application/jrd+json, application/json", p);
    if (!jrd) return problem_rc(p);
    size_t i;
    const json_t *link;
    int rc = problem_fail(p, PROBLEM_VALIDATION, "%s links no ActivityPub actor.", handle);
    json_array_foreach(json_object_get(jrd, "links"), i, link) {
        const char *rel = jstr(link, "rel"), *type = jstr(link, "type"), *href = jstr(link, "href");
        if (rel && !strcmp(rel, "self") && type &&
            (!strcmp(type, "application/activity+json") || strstr(type, "activitystreams")) &&
            http_url(href) && strlen(href) < cap) {
            problem_clear(p);
            copy(actor_uri, cap, href);
            rc = 0;
            break;
        }
    }
    json_decref(jrd);
    return rc;
}

/* ---------- the engagement object ---------- */

static db_stmt_t q_engagement = DB_STMT("ap_engagement", true,
    "SELECT o.slug, d.doc FROM engagements e JOIN organisations o ON o.id = e.organisation_id"
    " JOIN engagement_docs d ON d.engagement_id = e.id WHERE e.id = $1"
    /* what a remote organisation sent is its own to publish (0043) */
    "   AND o.remote_actor_id IS NULL");

/* Plain text as HTML paragraphs (blank lines part them), escaped. */
static void html_paragraphs(strbuf_t *b, const char *text)
{
    strbuf_addstr(b, "<p>");
    for (const char *c = text ? text : ""; *c; c++) {
        if (c[0] == '\n' && c[1] == '\n') {
            strbuf_addstr(b, "</p><p>");
            while (c[1] == '\n') c++;
            continue;
        }
        switch (*c) {
        case '&': strbuf_addstr(b, "&amp;"); break;
        case '<': strbuf_addstr(b, "&lt;"); break;
        case '>': strbuf_addstr(b, "&gt;"); break;
        case '"': strbuf_addstr(b, "&quot;"); break;
        case '\n': strbuf_addstr(b, "<br>"); break;
        default: strbuf_addch(b, *c);
        }
    }
    strbuf_addstr(b, "</p>");
}

/* The terms a Purposed instance reads back (lib/fed_remote.c) beyond what
 * plain fediverse servers show: purposes by catalogue slug, the place
 * (an ActivityStreams Place), duration, closing date and rewards. */
static void engagement_object_terms(json_t *o, const json_t *e)
{
    json_t *purposes = json_array();
    size_t i;
    const json_t *pu;
    json_array_foreach(json_object_get(e, "purposes"), i, pu)
        json_array_append_new(purposes, json_pack("{s:O, s:O}", "slug", json_object_get(pu, "slug"),
                                                  "name", json_object_get(pu, "name")));
    json_object_set_new(o, "purposes", purposes);
    if (jstr(e, "location"))
        json_object_set_new(o, "location",
                            json_pack("{s:s, s:s}", "type", "Place", "name", jstr(e, "location")));
    if (json_is_integer(json_object_get(e, "duration_weeks")))
        json_object_set(o, "durationWeeks", json_object_get(e, "duration_weeks"));
    if (jstr(e, "closes_on")) json_object_set(o, "closesOn", json_object_get(e, "closes_on"));
    const json_t *rewards = json_object_get(e, "rewards");
    json_t *cash = json_object_get(rewards, "cash");
    json_t *non_cash = json_object_get(rewards, "non_cash");
    json_object_set_new(o, "rewards",
                        json_pack("{s:O, s:o}", "cash", cash ? cash : json_null(), "nonCash",
                                  non_cash ? json_incref(non_cash) : json_array()));
}

json_t *federation_engagement_object(const char *base, long long engagement_id, char *org_slug,
                                     size_t slug_cap, problem_t *p)
{
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", engagement_id);
    const char *params[1] = {idtext};
    PGresult *res = db_exec(&q_engagement, 1, params, p);
    if (!res) return NULL;
    if (PQntuples(res) == 0) {
        PQclear(res);
        problem_fail(p, PROBLEM_NO_SUCH_ITEM, "No such engagement.");
        return NULL;
    }
    copy(org_slug, slug_cap, PQgetvalue(res, 0, 0));
    json_t *e = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    PQclear(res);
    if (!e) {
        problem_fail(p, PROBLEM_INTERNAL, "The engagement could not be read.");
        return NULL;
    }
    char id[700], actor[700], followers[760];
    snprintf(id, sizeof id, "%s/engagements/%lld", base, engagement_id);
    snprintf(actor, sizeof actor, "%s/organisations/%s", base, org_slug);
    snprintf(followers, sizeof followers, "%s/ap/organisations/%s/followers", base, org_slug);
    strbuf_t content;
    strbuf_init(&content, 256);
    html_paragraphs(&content, jstr(e, "description"));
    json_t *tags = json_array();
    size_t i;
    const json_t *s;
    json_array_foreach(json_object_get(e, "skills"), i, s)
        json_array_append_new(tags, json_pack("{s:s, s:s}", "type", "Hashtag", "name",
                                              json_string_value(s) ? json_string_value(s) : ""));
    json_t *packagings = json_deep_copy(json_object_get(e, "packagings"));
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:[s], s:o, s:s, s:O, s:O, s:o, s:O, s:s}",
        "id", id, "type", "Page", "name", jstr(e, "title") ? jstr(e, "title") : "",
        "content", strbuf_str(&content), "mediaType", "text/html", "url", id,
        "attributedTo", actor, "to", "https://www.w3.org/ns/activitystreams#Public",
        "cc", followers, "tag", tags,
        "published", jstr(e, "created_at") ? jstr(e, "created_at") : "",
        "hoursPerWeek", json_object_get(e, "hours_per_week"),
        "remoteOk", json_object_get(e, "remote_ok"),
        "packagings", packagings ? packagings : json_array(),
        "engagementStatus", json_object_get(e, "status"),
        /* FEP-0837: the engagement is an offer of work */
        "purpose", "offer");
    strbuf_release(&content);
    if (o && jstr(e, "updated_at")) json_object_set(o, "updated", json_object_get(e, "updated_at"));
    if (o) engagement_object_terms(o, e);
    json_decref(e);
    if (!o) problem_fail(p, PROBLEM_INTERNAL, "The engagement object could not be made.");
    return o;
}

/* ---------- delivery ---------- */

static db_stmt_t q_enqueue = DB_STMT("ap_enqueue", false,
    "SELECT job_enqueue('deliver', jsonb_build_object('activity', $1::jsonb, 'inbox', $2::text,"
    " 'signer_kind', $3::text, 'signer_id', $4::bigint, 'actor', $5::text))");

int federation_enqueue(const json_t *activity, const char *inbox, const char *kind, long long id,
                       const char *actor_uri, problem_t *p)
{
    char *text = json_dumps(activity, JSON_COMPACT);
    if (!text) return problem_fail(p, PROBLEM_INTERNAL, "The activity could not be written.");
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", id);
    const char *params[5] = {text, inbox, kind, idtext, actor_uri};
    PGresult *res = db_exec(&q_enqueue, 5, params, p);
    free(text);
    if (!res) return problem_rc(p);
    PQclear(res);
    return 0;
}

static db_stmt_t q_org_id = DB_STMT("ap_org_id", true,
    "SELECT id FROM organisations WHERE slug = $1");
/* an instance's record of success and failure, and whether it is dead */
static db_stmt_t q_instance_ok = DB_STMT("ap_instance_ok", true,
    "INSERT INTO remote_instances (host, failures, failing_since, last_success_at)"
    " VALUES ($1, 0, NULL, now()) ON CONFLICT (host) DO UPDATE"
    " SET failures = 0, failing_since = NULL, last_success_at = now()");
static db_stmt_t q_instance_failed = DB_STMT("ap_instance_failed", false,
    "INSERT INTO remote_instances AS i (host, failures, failing_since) VALUES ($1, 1, now())"
    " ON CONFLICT (host) DO UPDATE SET failures = i.failures + 1,"
    "   failing_since = coalesce(i.failing_since, now())"
    " RETURNING failing_since < now() - make_interval(days => $2::int)");
static db_stmt_t q_instance_dead = DB_STMT("ap_instance_dead", true,
    "SELECT 1 FROM remote_instances WHERE host = $1"
    " AND failing_since < now() - make_interval(days => $2::int)");

/* scheme://authority/path -> authority and path ("/" when none). */
static bool split_url(const char *url, char *authority, size_t acap, char *path, size_t pcap)
{
    const char *s = strstr(url, "://");
    if (!s) return false;
    s += 3;
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    if (alen == 0 || alen >= acap) return false;
    memcpy(authority, s, alen);
    authority[alen] = '\0';
    copy(path, pcap, slash ? slash : "/");
    return true;
}

static bool instance_dead(const char *host)
{
    problem_t p;
    problem_init(&p);
    char days[12];
    snprintf(days, sizeof days, "%d", FEDERATION_DEAD_DAYS);
    const char *params[2] = {host, days};
    PGresult *res = db_exec(&q_instance_dead, 2, params, &p);
    problem_clear(&p);
    bool dead = res && PQntuples(res) > 0;
    PQclear(res);
    return dead;
}

static job_outcome_t instance_failed(const char *host)
{
    problem_t p;
    problem_init(&p);
    char days[12];
    snprintf(days, sizeof days, "%d", FEDERATION_DEAD_DAYS);
    const char *params[2] = {host, days};
    PGresult *res = db_exec(&q_instance_failed, 2, params, &p);
    problem_clear(&p);
    bool dead = res && PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return dead ? JOB_FAIL : JOB_RETRY;
}

static void instance_ok(const char *host)
{
    problem_t p;
    problem_init(&p);
    const char *params[1] = {host};
    PQclear(db_exec(&q_instance_ok, 1, params, &p));
    problem_clear(&p);
}

void federation_instance_seen(const char *url)
{
    char authority[300], path[1000];
    if (url && split_url(url, authority, sizeof authority, path, sizeof path)) instance_ok(authority);
}

/* The activity a "deliver" job sends: given whole, or (engagements, from
 * migration 0038's trigger) built now from the engagement's state. */
static json_t *job_activity(const json_t *pl, char *kind, size_t kcap, long long *signer,
                            char *actor, size_t acap, char *err, size_t errlen)
{
    const json_t *given = json_object_get(pl, "activity");
    if (json_is_object(given)) {
        copy(kind, kcap, jstr(pl, "signer_kind"));
        *signer = (long long)json_integer_value(json_object_get(pl, "signer_id"));
        copy(actor, acap, jstr(pl, "actor"));
        return json_incref((json_t *)given);
    }
    const char *type = json_string_value(given);
    long long eid = (long long)json_integer_value(json_object_get(pl, "engagement_id"));
    if (!type || eid <= 0) {
        snprintf(err, errlen, "the job names no activity");
        return NULL;
    }
    problem_t p;
    problem_init(&p);
    char slug[80];
    json_t *object = federation_engagement_object(g_base, eid, slug, sizeof slug, &p);
    if (!object) {
        snprintf(err, errlen, "%s", p.detail);
        problem_clear(&p);
        return NULL;
    }
    const char *params[1] = {slug};
    PGresult *res = db_exec(&q_org_id, 1, params, &p);
    if (!res || PQntuples(res) != 1) {
        snprintf(err, errlen, "the organisation %s is gone", slug);
        PQclear(res);
        problem_clear(&p);
        json_decref(object);
        return NULL;
    }
    *signer = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    copy(kind, kcap, "organisation");
    federation_actor_uri("organisation", slug, actor, acap);
    char followers[800], id[900];
    snprintf(followers, sizeof followers, "%s/ap/organisations/%s/followers", g_base, slug);
    /* an activity's id names the object's state it carries */
    snprintf(id, sizeof id, "%s#%s-%s", jstr(object, "id"), type,
             jstr(object, "updated") ? jstr(object, "updated") : "0");
    if (!strcmp(type, "Delete")) {
        json_t *tomb = json_pack("{s:s, s:s, s:s}", "id", jstr(object, "id"), "type", "Tombstone",
                                 "formerType", "Page");
        json_decref(object);
        object = tomb;
    }
    return json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s], s:o}", "@context",
                     "https://www.w3.org/ns/activitystreams", "id", id, "type", type, "actor",
                     actor, "to", "https://www.w3.org/ns/activitystreams#Public", "cc", followers,
                     "object", object);
}

static db_stmt_t q_instance_rfc9421 = DB_STMT("ap_instance_rfc9421", true,
    "SELECT 1 FROM remote_instances WHERE host = $1 AND rfc9421");
static db_stmt_t q_instance_rfc9421_set = DB_STMT("ap_instance_rfc9421_set", true,
    "INSERT INTO remote_instances AS i (host, rfc9421) VALUES ($1, $2::boolean)"
    " ON CONFLICT (host) DO UPDATE SET rfc9421 = $2::boolean"
    " WHERE i.rfc9421 IS DISTINCT FROM $2::boolean");

static bool instance_rfc9421(const char *host)
{
    problem_t p;
    problem_init(&p);
    const char *params[1] = {host};
    PGresult *res = db_exec(&q_instance_rfc9421, 1, params, &p);
    problem_clear(&p);
    bool yes = res && PQntuples(res) > 0;
    PQclear(res);
    return yes;
}

void federation_instance_rfc9421(const char *url, bool speaks)
{
    char authority[300], path[1000];
    if (!url || !split_url(url, authority, sizeof authority, path, sizeof path)) return;
    problem_t p;
    problem_init(&p);
    const char *params[2] = {authority, db_bool(speaks)};
    PQclear(db_exec(&q_instance_rfc9421_set, 2, params, &p));
    problem_clear(&p);
}

/* POST body to inbox signed by the local actor (kind, signer) at actor:
 * RFC 9421 (@method @target-uri content-digest date, created, Ed25519) or
 * draft-cavage rsa-sha256 ((request-target) host date digest content-type).
 * 0 with resp filled (any status), -PROBLEM_INTERNAL when the key or the
 * signature could not be had, or fetch's negative value; p set then. */
static int deliver_post(const char *kind, long long signer, const char *actor, const char *inbox,
                        const char *authority, const char *path, const char *body, bool rfc9421,
                        fetch_response_t *resp, problem_t *p)
{
    char date[64], digest[80], key_id[900], h_date[100], h_digest[120];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(h_date, sizeof h_date, "Date: %s", date);
    char *sig_input = NULL, *signature = NULL;
    if (rfc9421) {
        keys_signer_t k;
        if (federation_ed25519_key(kind, signer, &k, p) < 0) return -PROBLEM_INTERNAL;
        httpsig_content_digest(body, strlen(body), digest, sizeof digest);
        snprintf(h_digest, sizeof h_digest, "Content-Digest: %s", digest);
        snprintf(key_id, sizeof key_id, "%s#ed25519-key", actor);
        const httpsig_header_t signed_headers[] = {{"content-digest", digest}, {"date", date}};
        int rc = httpsig_rfc9421_sign("POST", inbox, signed_headers, 2,
                                      "\"@method\" \"@target-uri\" \"content-digest\" \"date\"",
                                      key_id, (long long)now, k.secret_key, &sig_input, &signature);
        keys_signer_clear(&k);
        if (rc != 0) return problem_fail(p, PROBLEM_INTERNAL, "The activity could not be signed.");
    } else {
        char *public_pem = NULL, *private_pem = NULL;
        if (federation_key(kind, signer, &public_pem, &private_pem, p) < 0) return -PROBLEM_INTERNAL;
        free(public_pem);
        httpsig_digest(body, strlen(body), digest, sizeof digest);
        snprintf(h_digest, sizeof h_digest, "Digest: %s", digest);
        snprintf(key_id, sizeof key_id, "%s#main-key", actor);
        const httpsig_header_t signed_headers[] = {
            {"host", authority}, {"date", date}, {"digest", digest},
            {"content-type", "application/activity+json"}};
        signature = httpsig_cavage_sign("POST", path, signed_headers, 4,
                                        "(request-target) host date digest content-type", key_id,
                                        private_pem);
        free(private_pem);
        if (!signature) return problem_fail(p, PROBLEM_INTERNAL, "The activity could not be signed.");
    }
    char *h_sig = malloc(strlen(signature) + 16);
    char *h_input = sig_input ? malloc(strlen(sig_input) + 24) : NULL;
    if (!h_sig || (sig_input && !h_input)) {
        free(h_sig);
        free(h_input);
        free(sig_input);
        free(signature);
        return problem_fail(p, PROBLEM_INTERNAL, "Out of memory.");
    }
    sprintf(h_sig, "Signature: %s", signature);
    if (h_input) sprintf(h_input, "Signature-Input: %s", sig_input);
    free(signature);
    free(sig_input);
    const char *headers[] = {"Content-Type: application/activity+json",
                             "Accept: application/activity+json", h_date, h_digest, h_sig,
                             h_input, NULL};
    fetch_request_t req = {.method = "POST", .url = inbox, .headers = headers, .body = body,
                           .body_len = strlen(body), .max_bytes = 64 * 1024};
    int rc = fetch(&req, resp, p);
    free(h_sig);
    free(h_input);
    return rc;
}

static job_outcome_t deliver_run(const job_t *job, char *err, size_t errlen)
{
    if (!g_base[0]) {
        snprintf(err, errlen, "PUBLIC_URL is not set: this instance does not federate");
        return JOB_FAIL;
    }
    const char *inbox = jstr(job->payload, "inbox");
    char authority[300], path[1000];
    if (!inbox || !split_url(inbox, authority, sizeof authority, path, sizeof path)) {
        snprintf(err, errlen, "the job names no inbox");
        return JOB_FAIL;
    }
    {
        problem_t bp;
        problem_init(&bp);
        int blocked = peers_blocked(authority, &bp);
        problem_clear(&bp);
        if (blocked != 0) {
            snprintf(err, errlen, blocked > 0 ? "%s is blocked: nothing is delivered to it"
                                              : "whether %s is blocked could not be read", authority);
            return blocked > 0 ? JOB_FAIL : JOB_RETRY;
        }
    }
    if (instance_dead(authority)) {
        snprintf(err, errlen, "%s has failed for %d days: dropped", authority, FEDERATION_DEAD_DAYS);
        return JOB_FAIL;
    }
    char kind[20], actor[800];
    long long signer = 0;
    json_t *activity = job_activity(job->payload, kind, sizeof kind, &signer, actor, sizeof actor,
                                    err, errlen);
    if (!activity) return JOB_FAIL;
    char *body = json_dumps(activity, JSON_COMPACT);
    json_decref(activity);
    problem_t p;
    problem_init(&p);
    if (!body) {
        snprintf(err, errlen, "out of memory");
        return JOB_RETRY;
    }
    fetch_response_t resp;
    memset(&resp, 0, sizeof resp);
    /* RFC 9421 with the actor's Ed25519 key to an instance known to speak
     * it; draft-cavage rsa-sha256 otherwise, and at once when such an
     * instance refuses the RFC 9421 signature (it is not asked again) */
    bool rfc9421 = instance_rfc9421(authority);
    int rc = deliver_post(kind, signer, actor, inbox, authority, path, body, rfc9421, &resp, &p);
    if (rc == 0 && rfc9421 && (resp.status == 400 || resp.status == 401 || resp.status == 403)) {
        federation_instance_rfc9421(inbox, false);
        fetch_response_free(&resp);
        memset(&resp, 0, sizeof resp);
        rc = deliver_post(kind, signer, actor, inbox, authority, path, body, false, &resp, &p);
    }
    free(body);
    if (rc == -PROBLEM_INTERNAL) {
        snprintf(err, errlen, "%s", p.detail);
        problem_clear(&p);
        fetch_response_free(&resp);
        return JOB_RETRY;
    }
    job_outcome_t outcome;
    if (rc < 0) {
        snprintf(err, errlen, "%s", p.detail);
        outcome = instance_failed(authority);
    } else if (resp.status >= 200 && resp.status <= 299) {
        instance_ok(authority);
        outcome = JOB_DONE;
    } else {
        snprintf(err, errlen, "%s answered %ld", inbox, resp.status);
        /* a refusal is final; the server's trouble is tried again */
        outcome = resp.status >= 500 || resp.status == 429 || resp.status == 408
                      ? instance_failed(authority) : JOB_FAIL;
        if (outcome == JOB_FAIL && resp.status < 500) instance_ok(authority);
        /* 409: not yet (an agreement's activity before the one it follows,
         * lib/fed_agreements.h): the instance is well, the job waits */
        if (resp.status == 409) outcome = JOB_RETRY;
    }
    problem_clear(&p);
    fetch_response_free(&resp);
    return outcome;
}

/* A change of an engagement with remote followers (migration 0041): one
 * 'deliver' job per remote inbox (a shared inbox once), written here on a
 * worker rather than in the posting transaction. One statement: all of them
 * or none, and a retry writes them again only if the statement failed. */
static db_stmt_t q_fan_deliveries = DB_STMT("ap_fan_deliveries", false,
    "SELECT count(job_enqueue('deliver', jsonb_build_object("
    "         'engagement_id', e.id, 'activity', $2::text, 'inbox', i.inbox)))"
    "  FROM engagements e,"
    "       LATERAL (SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) AS inbox"
    "                  FROM remote_followers f JOIN remote_actors a ON a.id = f.actor_id"
    "                 WHERE f.organisation_id = e.organisation_id) i"
    " WHERE e.id = $1::bigint");

static job_outcome_t federate_run(const job_t *job, char *err, size_t errlen)
{
    json_t *id = json_object_get(job->payload, "engagement_id");
    const char *activity = jstr(job->payload, "activity");
    if (!json_is_integer(id) || !activity) {
        snprintf(err, errlen, "the job names no engagement or activity");
        return JOB_FAIL;
    }
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)json_integer_value(id));
    const char *params[2] = {idtext, activity};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_fan_deliveries, 2, params, &p);
    if (!res) {
        snprintf(err, errlen, "%s", p.detail);
        problem_clear(&p);
        return JOB_RETRY;
    }
    PQclear(res);
    return JOB_DONE;
}

int federation_start(void)
{
    return jobs_register("deliver", deliver_run) == 0 && jobs_register("federate", federate_run) == 0
               ? 0 : -1;
}
