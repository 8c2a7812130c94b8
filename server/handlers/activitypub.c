/* activitypub: federation over HTTP (docs/federation.md). Actors (Group,
 * Person, Application) at the pages' URLs by content negotiation, WebFinger,
 * NodeInfo 2.1, the inboxes (signature checked by the FEDERATION gate),
 * outboxes and followers collections, following a remote organisation, and
 * the engagements remote organisations sent. Keys, remote actors and
 * deliveries are lib/federation's. */
#define _GNU_SOURCE /* strcasestr, strptime */
#include "activitypub.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "db.h"
#include "fed_agreements.h"
#include "fed_remote.h"
#include "federation.h"
#include "handlers/common.h"
#include "handlers/feeds.h"
#include "handlers/handlers.h"
#include "handlers/page.h"
#include "httpsig.h"
#include "keys.h"
#include "utf8.h"
#include "validate.h"

#define AS_CONTEXT "https://www.w3.org/ns/activitystreams"
#define AS_PUBLIC AS_CONTEXT "#Public"
#define ACTIVITY_JSON "application/activity+json"
/* a Date header further than this from now is refused (replays) */
#define DATE_WINDOW_S 300
/* the largest activity taken (BODY_LIMIT applies first when smaller) */
#define INBOX_MAX (256 * 1024)

bool activitypub_wanted(const req_t *r)
{
    const char *accept = http_header(r, "Accept");
    if (!accept) return false;
    if (strcasestr(accept, ACTIVITY_JSON)) return true;
    return strcasestr(accept, "application/ld+json") && strstr(accept, "activitystreams");
}

/* The base of every id: PUBLIC_URL, else from the request (then nothing is
 * delivered: lib/federation needs PUBLIC_URL). */
static void base_url(req_t *r, char *out, size_t cap) { (void)feeds_base_url(r, out, cap); }

/* host[:port] of the base, for acct: handles */
static const char *base_host(const char *base)
{
    const char *s = strstr(base, "://");
    return s ? s + 3 : base;
}

static void reply_activity_json(req_t *r, int status, json_t *doc)
{
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text) {
        http_fail(r, PROBLEM_INTERNAL, "The document could not be written.");
        return;
    }
    http_add_header(r, "Vary", "Accept");
    http_reply_text(r, status, ACTIVITY_JSON, text, strlen(text));
}

/* ---------- actors ---------- */

/* The actor's Ed25519 key as a FEP-521a Multikey in assertionMethod (what
 * verifies its RFC 9421 signatures), with the contexts that define it. */
static int actor_ed25519(json_t *doc, const char *id, const char *kind, long long owner,
                         problem_t *p)
{
    keys_signer_t k;
    if (federation_ed25519_key(kind, owner, &k, p) < 0) return problem_rc(p);
    char mb[KEYS_MULTIBASE_MAX], key_id[900];
    bool ok = keys_multikey(k.public_key, mb);
    keys_signer_clear(&k);
    if (!ok) return problem_fail(p, PROBLEM_INTERNAL, "The Ed25519 key could not be written.");
    snprintf(key_id, sizeof key_id, "%s#ed25519-key", id);
    json_t *ctx = json_object_get(doc, "@context");
    json_array_append_new(ctx, json_string("https://www.w3.org/ns/did/v1"));
    json_array_append_new(ctx, json_string("https://w3id.org/security/multikey/v1"));
    json_object_set_new(doc, "assertionMethod",
                        json_pack("[{s:s, s:s, s:s, s:s}]", "id", key_id, "type", "Multikey",
                                  "controller", id, "publicKeyMultibase", mb));
    return 0;
}

static json_t *actor_doc(req_t *r, const char *type, const char *id, const char *ap_path,
                         const char *username, const char *name, const char *summary,
                         const char *url, const char *kind, long long key_owner)
{
    char base[600], inbox[900], outbox[900], followers[900], shared[700], key_id[900];
    base_url(r, base, sizeof base);
    snprintf(inbox, sizeof inbox, "%s%s/inbox", base, ap_path);
    snprintf(outbox, sizeof outbox, "%s%s/outbox", base, ap_path);
    snprintf(followers, sizeof followers, "%s%s/followers", base, ap_path);
    snprintf(shared, sizeof shared, "%s/inbox", base);
    snprintf(key_id, sizeof key_id, "%s#main-key", id);
    problem_t p;
    problem_init(&p);
    char *pem = NULL;
    if (federation_key(kind, key_owner, &pem, NULL, &p) < 0) {
        http_reply_problem(r, &p);
        return NULL;
    }
    json_t *doc = json_pack(
        "{s:[s, s], s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s, s:s},"
        " s:b, s:b}",
        "@context", AS_CONTEXT, "https://w3id.org/security/v1", "id", id, "type", type,
        "preferredUsername", username, "name", name, "summary", summary ? summary : "", "url", url,
        "inbox", inbox, "outbox", outbox, "followers", followers, "endpoints", "sharedInbox",
        shared, "publicKey", "id", key_id, "owner", id, "publicKeyPem", pem,
        "manuallyApprovesFollowers", false, "discoverable", true);
    free(pem);
    if (!doc) {
        http_fail(r, PROBLEM_INTERNAL, "The actor could not be written.");
        return NULL;
    }
    if (actor_ed25519(doc, id, kind, key_owner, &p) < 0) {
        json_decref(doc);
        http_reply_problem(r, &p);
        return NULL;
    }
    return doc;
}

static db_stmt_t q_org_actor = DB_STMT("ap_org_actor", true,
    "SELECT id, slug, name, purpose_statement FROM organisations"
    " WHERE slug = $1 AND hidden_at IS NULL AND remote_actor_id IS NULL");
static db_stmt_t q_agent_actor = DB_STMT("ap_agent_actor", true,
    "SELECT g.id, g.handle, a.display_name, g.headline FROM agents g"
    " JOIN accounts a ON a.id = g.account_id"
    " WHERE g.handle = $1 AND g.discoverable AND NOT g.hidden AND a.deleted_at IS NULL");

/* One row of st for the path's first parameter; NULL answered (404, 503). */
static PGresult *one_row(req_t *r, db_stmt_t *st, const char *what)
{
    const char *name = http_param(r, 0);
    if (!validate_slug(name)) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such %s.", what);
        return NULL;
    }
    problem_t p;
    problem_init(&p);
    const char *params[1] = {name};
    PGresult *res = db_exec(st, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return NULL;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such %s.", what);
        return NULL;
    }
    return res;
}

/* What an organisation's Group carries beyond the actor, for a Purposed
 * instance following it (lib/fed_remote.c reads it back): its charter (a
 * collection of every version), legal form, governance, website, place and
 * purposes by catalogue slug. */
static db_stmt_t q_group_terms = DB_STMT("ap_group_terms", true,
    "SELECT j::text FROM organisations o CROSS JOIN LATERAL organisation_json(o) j"
    " WHERE o.id = $1::bigint");

static void group_terms(json_t *doc, const char *base, const char *org_id, const char *slug)
{
    problem_t p;
    problem_init(&p);
    const char *params[1] = {org_id};
    PGresult *res = db_exec(&q_group_terms, 1, params, &p);
    problem_clear(&p);
    json_t *o = res && PQntuples(res) == 1 ? json_loads(PQgetvalue(res, 0, 0), 0, NULL) : NULL;
    PQclear(res);
    if (!o) return;
    char charter[900];
    snprintf(charter, sizeof charter, "%s/ap/organisations/%s/charter", base, slug);
    json_object_set_new(doc, "charter", json_string(charter));
    json_object_set(doc, "charterVersion", json_object_get(o, "charter_version"));
    json_object_set(doc, "legalForm", json_object_get(o, "legal_form"));
    json_object_set(doc, "governance", json_object_get(o, "governance"));
    if (json_is_string(json_object_get(o, "website")))
        json_object_set(doc, "website", json_object_get(o, "website"));
    if (json_is_string(json_object_get(o, "location")))
        json_object_set_new(doc, "location", json_pack("{s:s, s:O}", "type", "Place", "name",
                                                       json_object_get(o, "location")));
    json_t *purposes = json_array();
    size_t i;
    const json_t *pu;
    json_array_foreach(json_object_get(o, "purposes"), i, pu)
        json_array_append_new(purposes, json_pack("{s:O, s:O}", "slug", json_object_get(pu, "slug"),
                                                  "name", json_object_get(pu, "name")));
    json_object_set_new(doc, "purposes", purposes);
    json_decref(o);
}

static void local_actor(req_t *r, db_stmt_t *st, const char *kind, const char *what,
                        const char *type, const char *page)
{
    PGresult *res = one_row(r, st, what);
    if (!res) return;
    char base[600], id[900], ap_path[400];
    base_url(r, base, sizeof base);
    snprintf(id, sizeof id, "%s/%s/%s", base, page, PQgetvalue(res, 0, 1));
    snprintf(ap_path, sizeof ap_path, "/ap/%s/%s", page, PQgetvalue(res, 0, 1));
    json_t *doc = actor_doc(r, type, id, ap_path, PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
                            PQgetvalue(res, 0, 3), id, kind,
                            strtoll(PQgetvalue(res, 0, 0), NULL, 10));
    if (doc && !strcmp(kind, "organisation"))
        group_terms(doc, base, PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1));
    PQclear(res);
    if (doc) reply_activity_json(r, 200, doc);
}

void activitypub_organisation_actor(req_t *r)
{
    local_actor(r, &q_org_actor, "organisation", "organisation", "Group", "organisations");
}

void activitypub_agent_actor(req_t *r)
{
    local_actor(r, &q_agent_actor, "agent", "agent", "Person", "agents");
}

void handle_ap_instance_actor(req_t *r)
{
    char base[600], id[700];
    base_url(r, base, sizeof base);
    snprintf(id, sizeof id, "%s/actor", base);
    json_t *doc = actor_doc(r, "Application", id, "/actor", base_host(base), "Purposed",
                            "This Purposed instance: it follows remote organisations for the "
                            "people here.",
                            base, "instance", 0);
    if (doc) reply_activity_json(r, 200, doc);
}

void handle_ap_org_actor(req_t *r) { activitypub_organisation_actor(r); }
void handle_ap_agent_actor(req_t *r) { activitypub_agent_actor(r); }

/* ---------- WebFinger and NodeInfo ---------- */

void handle_webfinger(req_t *r)
{
    const char *resource = http_query(r, "resource");
    char base[600];
    base_url(r, base, sizeof base);
    const char *host = base_host(base);
    char user[80];
    const char *at = resource && !strncmp(resource, "acct:", 5) ? strrchr(resource, '@') : NULL;
    if (!resource || !*resource) {
        http_fail(r, PROBLEM_BAD_QUERY, "Name the resource: ?resource=acct:slug@%s.", host);
        return;
    }
    if (!at || (size_t)(at - resource - 5) >= sizeof user || strcasecmp(at + 1, host) != 0) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such account here.");
        return;
    }
    memcpy(user, resource + 5, (size_t)(at - resource - 5));
    user[at - resource - 5] = '\0';
    if (*user == '@') memmove(user, user + 1, strlen(user));
    const char *kind = NULL;
    problem_t p;
    problem_init(&p);
    if (validate_slug(user)) {
        const char *params[1] = {user};
        PGresult *res = db_exec(&q_org_actor, 1, params, &p);
        if (res && PQntuples(res) == 1) kind = "organisations";
        PQclear(res);
        if (!kind && res) {
            res = db_exec(&q_agent_actor, 1, params, &p);
            if (res && PQntuples(res) == 1) kind = "agents";
            PQclear(res);
        }
        if (!res) {
            http_reply_problem(r, &p);
            return;
        }
    }
    if (!kind) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such account here.");
        return;
    }
    char subject[700], href[900];
    snprintf(subject, sizeof subject, "acct:%s@%s", user, host);
    snprintf(href, sizeof href, "%s/%s/%s", base, kind, user);
    json_t *jrd = json_pack("{s:s, s:[s], s:[{s:s, s:s, s:s}, {s:s, s:s, s:s}]}", "subject",
                            subject, "aliases", href, "links", "rel", "self", "type",
                            ACTIVITY_JSON, "href", href, "rel",
                            "http://webfinger.net/rel/profile-page", "type", "text/html", "href",
                            href);
    char *text = json_dumps(jrd, JSON_COMPACT);
    json_decref(jrd);
    http_add_header(r, "Access-Control-Allow-Origin", "*");
    http_reply_text(r, 200, "application/jrd+json", text, strlen(text));
}

void handle_nodeinfo_links(req_t *r)
{
    char base[600], href[700];
    base_url(r, base, sizeof base);
    snprintf(href, sizeof href, "%s/nodeinfo/2.1", base);
    http_reply_json(r, 200, json_pack("{s:[{s:s, s:s}]}", "links", "rel",
                                      "http://nodeinfo.diaspora.software/ns/schema/2.1", "href",
                                      href));
}

static db_stmt_t q_nodeinfo = DB_STMT("ap_nodeinfo", true,
    "SELECT (SELECT count(*) FROM accounts WHERE deleted_at IS NULL),"
    " (SELECT count(*) FROM accounts a WHERE deleted_at IS NULL AND EXISTS (SELECT 1 FROM sessions s"
    "   WHERE s.account_id = a.id AND s.last_seen_at > now() - interval '30 days')),"
    " (SELECT count(*) FROM engagements WHERE status = 'open' AND NOT hidden"
    "   AND origin_uri IS NULL)"); /* this instance's own posts, not what others sent (0043) */

void handle_nodeinfo(req_t *r)
{
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_nodeinfo, 0, NULL, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    json_t *doc = json_pack(
        "{s:s, s:{s:s, s:s, s:s}, s:[s], s:{s:[], s:[]}, s:b,"
        " s:{s:{s:I, s:I}, s:I}, s:{s:s}}",
        "version", "2.1", "software", "name", "purposed", "version", PURPOSED_VERSION,
        "repository", "https://purposed.dev", "protocols", "activitypub", "services", "inbound",
        "outbound", "openRegistrations", true, "usage", "users", "total",
        (json_int_t)strtoll(PQgetvalue(res, 0, 0), NULL, 10), "activeMonth",
        (json_int_t)strtoll(PQgetvalue(res, 0, 1), NULL, 10), "localPosts",
        (json_int_t)strtoll(PQgetvalue(res, 0, 2), NULL, 10), "metadata", "nodeName",
        "Purposed");
    PQclear(res);
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    http_reply_text(r, 200,
                    "application/json; profile=\"http://nodeinfo.diaspora.software/ns/schema/2.1#\"",
                    text, strlen(text));
}

/* ---------- outbox and followers ---------- */

static db_stmt_t q_org_counts = DB_STMT("ap_org_counts", true,
    "SELECT o.id, (SELECT count(*) FROM remote_followers f WHERE f.organisation_id = o.id)"
    "   + (SELECT count(*) FROM follows f WHERE f.organisation_id = o.id),"
    " coalesce((SELECT json_agg(e.id ORDER BY e.created_at DESC) FROM (SELECT id, created_at"
    "   FROM engagements WHERE organisation_id = o.id AND status = 'open' AND NOT hidden"
    "   ORDER BY created_at DESC LIMIT 20) e), '[]')::text"
    " FROM organisations o WHERE o.slug = $1 AND o.hidden_at IS NULL AND o.remote_actor_id IS NULL");

static void collection(req_t *r, const char *id, long long total, json_t *items)
{
    json_t *doc = json_pack("{s:s, s:s, s:s, s:I}", "@context", AS_CONTEXT, "id", id, "type",
                            "OrderedCollection", "totalItems", (json_int_t)total);
    if (items) json_object_set_new(doc, "orderedItems", items);
    reply_activity_json(r, 200, doc);
}

/* The organisation's open engagements as the Create activities that sent them. */
void handle_ap_org_outbox(req_t *r)
{
    PGresult *res = one_row(r, &q_org_counts, "organisation");
    if (!res) return;
    char base[600], id[900];
    base_url(r, base, sizeof base);
    snprintf(id, sizeof id, "%s/ap/organisations/%s/outbox", base, http_param(r, 0));
    json_t *ids = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
    PQclear(res);
    json_t *items = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v) {
        problem_t p;
        problem_init(&p);
        char slug[80];
        json_t *o = federation_engagement_object(base, (long long)json_integer_value(v), slug,
                                                 sizeof slug, &p);
        problem_clear(&p);
        if (!o) continue;
        char aid[900], actor[700];
        snprintf(aid, sizeof aid, "%s#Create", json_string_value(json_object_get(o, "id")));
        snprintf(actor, sizeof actor, "%s/organisations/%s", base, slug);
        json_array_append_new(items, json_pack("{s:s, s:s, s:s, s:[s], s:o}", "id", aid, "type",
                                               "Create", "actor", actor, "to", AS_PUBLIC,
                                               "object", o));
    }
    json_decref(ids);
    collection(r, id, (long long)json_array_size(items), items);
}

/* How many follow the organisation (here and on other instances); who is
 * not said: followers choose whether organisations see them. */
void handle_ap_org_followers(req_t *r)
{
    PGresult *res = one_row(r, &q_org_counts, "organisation");
    if (!res) return;
    char base[600], id[900];
    base_url(r, base, sizeof base);
    snprintf(id, sizeof id, "%s/ap/organisations/%s/followers", base, http_param(r, 0));
    long long n = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    collection(r, id, n, NULL);
}

/* An organisation's charter: every version, newest first, in pages of
 * CHARTER_PAGE (the collection names its first page). Each version as the
 * API shows it, plain text; versions a moderator hid are left out. */
#define CHARTER_PAGE 20
static db_stmt_t q_ap_charter = DB_STMT("ap_charter", true,
    "SELECT o.charter_version, c.version, c.purpose_statement, c.association_norms, c.change_note,"
    "   api_time(c.changed_at),"
    "   (SELECT count(*) FROM organisation_charters x WHERE x.organisation_id = o.id"
    "     AND NOT EXISTS (SELECT 1 FROM hidden_charter_versions h"
    "       WHERE h.organisation_id = o.id AND h.version = x.version))"
    " FROM organisations o LEFT JOIN LATERAL (SELECT * FROM organisation_charters c"
    "   WHERE c.organisation_id = o.id AND NOT EXISTS (SELECT 1 FROM hidden_charter_versions h"
    "     WHERE h.organisation_id = o.id AND h.version = c.version)"
    "   ORDER BY c.version DESC OFFSET $2::int LIMIT $3::int) c ON true"
    " WHERE o.slug = $1 AND o.hidden_at IS NULL AND o.remote_actor_id IS NULL"
    " ORDER BY c.version DESC");

void handle_ap_org_charter(req_t *r)
{
    const char *slug = http_param(r, 0), *page_text = http_query(r, "page");
    char *end = NULL;
    long page = page_text ? strtol(page_text, &end, 10) : 0;
    if (page_text && (!*page_text || *end || page < 1 || page > 100000)) {
        http_fail(r, PROBLEM_BAD_QUERY, "page is a number from 1.");
        return;
    }
    char offset[24], limit[24];
    snprintf(offset, sizeof offset, "%ld", page ? (page - 1) * CHARTER_PAGE : 0);
    snprintf(limit, sizeof limit, "%d", page ? CHARTER_PAGE + 1 : 0);
    problem_t p;
    problem_init(&p);
    const char *params[3] = {slug, offset, limit};
    PGresult *res = validate_slug(slug) ? db_exec(&q_ap_charter, 3, params, &p) : NULL;
    if (!res || PQntuples(res) == 0) {
        if (res || !p.status) http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such organisation.");
        else http_reply_problem(r, &p);
        PQclear(res);
        return;
    }
    char base[600], id[900], url[960];
    base_url(r, base, sizeof base);
    snprintf(id, sizeof id, "%s/ap/organisations/%s/charter", base, slug);
    json_t *doc;
    if (!page) {
        snprintf(url, sizeof url, "%s?page=1", id);
        doc = json_pack("{s:s, s:s, s:s, s:I, s:s}", "@context", AS_CONTEXT, "id", id, "type",
                        "OrderedCollection", "totalItems",
                        (json_int_t)strtoll(PQgetvalue(res, 0, 6), NULL, 10), "first", url);
    } else {
        json_t *items = json_array();
        int n = PQntuples(res);
        for (int i = 0; i < n && i < CHARTER_PAGE && !PQgetisnull(res, i, 1); i++) {
            char vid[960];
            snprintf(vid, sizeof vid, "%s#v%s", id, PQgetvalue(res, i, 1));
            json_t *v = json_pack("{s:s, s:s, s:I, s:s, s:s, s:s}", "id", vid, "type", "Document",
                                  "version", (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10),
                                  "purposeStatement", PQgetvalue(res, i, 2), "associationNorms",
                                  PQgetvalue(res, i, 3), "published", PQgetvalue(res, i, 5));
            if (!PQgetisnull(res, i, 4))
                json_object_set_new(v, "changeNote", json_string(PQgetvalue(res, i, 4)));
            json_array_append_new(items, v);
        }
        snprintf(url, sizeof url, "%s?page=%ld", id, page);
        doc = json_pack("{s:s, s:s, s:s, s:s, s:o}", "@context", AS_CONTEXT, "id", url, "type",
                        "OrderedCollectionPage", "partOf", id, "orderedItems", items);
        if (n > CHARTER_PAGE) {
            snprintf(url, sizeof url, "%s?page=%ld", id, page + 1);
            json_object_set_new(doc, "next", json_string(url));
        }
    }
    PQclear(res);
    reply_activity_json(r, 200, doc);
}

/* Agents and the instance publish nothing yet: empty collections. */
void handle_ap_empty_collection(req_t *r)
{
    char base[600], id[1200];
    base_url(r, base, sizeof base);
    snprintf(id, sizeof id, "%s%s", base, r->url);
    collection(r, id, 0, json_array());
}

/* ---------- the gate: HTTP signatures ---------- */

typedef struct header_list {
    httpsig_header_t h[48];
    size_t n;
} header_list_t;

static void add_header(void *cls, const char *key, const char *value)
{
    header_list_t *l = cls;
    if (l->n < sizeof l->h / sizeof l->h[0]) l->h[l->n++] = (httpsig_header_t){key, value};
}

/* Does the Digest header (one or more "alg=value") hold the body's SHA-256? */
static bool digest_matches(const char *header, const char *want)
{
    if (!header) return false;
    const char *s = header;
    size_t wl = strlen(want);
    while (*s) {
        while (*s == ' ' || *s == ',') s++;
        if (!strncasecmp(s, "SHA-256=", 8) && !strncmp(s + 8, want + 8, wl - 8) &&
            (s[wl] == '\0' || s[wl] == ',' || s[wl] == ' '))
            return true;
        const char *comma = strchr(s, ',');
        if (!comma) break;
        s = comma + 1;
    }
    return false;
}

static bool names_header(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *s = list; (s = strcasestr(s, name)) != NULL; s += n)
        if ((s == list || s[-1] == ' ') && (s[n] == '\0' || s[n] == ' ')) return true;
    return false;
}

static int refuse(req_t *r, federation_actor_t *a, const char *why)
{
    if (a) {
        federation_actor_clear(a);
        free(a);
    }
    return http_fail(r, PROBLEM_BAD_SIGNATURE, "%s", why);
}

static void actor_free(void *p)
{
    federation_actor_clear(p);
    free(p);
}

/* The sender's actor for a keyId, fetched or kept; NULL answered (a remote
 * failure is the sender's: 401 with what went wrong). */
static federation_actor_t *signer(req_t *r, const char *key_id, bool refresh)
{
    if (!refresh && activitypub_admit(r, key_id) < 0) return NULL;
    federation_actor_t *a = calloc(1, sizeof *a);
    problem_t p;
    problem_init(&p);
    if (!a || federation_actor_get(key_id, refresh, a, &p) < 0) {
        if (a && (p.status == 429 || p.status == 403)) { /* lib/peers: a limit, a block */
            free(a);
            http_reply_problem(r, &p);
            return NULL;
        }
        char why[600];
        snprintf(why, sizeof why, "The key %s could not be had: %s", key_id, p.detail);
        problem_clear(&p);
        free(a);
        refuse(r, NULL, why);
        return NULL;
    }
    return a;
}

static int verify_cavage(req_t *r, header_list_t *hl, const char *sig_header, const char *target)
{
    httpsig_cavage_t sig;
    char err[300];
    if (httpsig_cavage_parse(sig_header, &sig, err, sizeof err) != 0) return refuse(r, NULL, err);
    /* a body is signed through its Digest, and the time through Date or (created) */
    if (r->body.len && !names_header(sig.headers, "digest"))
        return refuse(r, NULL, "The signature must cover the Digest header.");
    if (!names_header(sig.headers, "date") && !names_header(sig.headers, "(created)"))
        return refuse(r, NULL, "The signature must cover Date or (created).");
    if (!names_header(sig.headers, "(request-target)"))
        return refuse(r, NULL, "The signature must cover (request-target).");
    time_t now = time(NULL), when = 0;
    const char *date = http_header(r, "Date");
    if (names_header(sig.headers, "date")) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        if (!date || !strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm))
            return refuse(r, NULL, "The Date header is missing or not an HTTP date.");
        when = timegm(&tm);
    } else {
        when = (time_t)sig.created;
    }
    if (when < now - DATE_WINDOW_S || when > now + DATE_WINDOW_S)
        return refuse(r, NULL, "The request's date is too far from now (5 minutes at most).");
    if (r->body.len) {
        char want[80];
        httpsig_digest(r->body.buf, r->body.len, want, sizeof want);
        if (!digest_matches(http_header(r, "Digest"), want))
            return refuse(r, NULL, "The Digest header does not match the body.");
    }
    federation_actor_t *a = signer(r, sig.key_id, false);
    if (!a) return -PROBLEM_BAD_SIGNATURE;
    for (int attempt = 0;; attempt++) {
        if (a->public_pem && !strcmp(a->key_id, sig.key_id) &&
            httpsig_cavage_verify(&sig, r->method, target, hl->h, hl->n, a->public_pem, err,
                                  sizeof err) == 0)
            break;
        if (!a->public_pem || strcmp(a->key_id, sig.key_id) != 0)
            snprintf(err, sizeof err, "%.200s is not the key of its actor", sig.key_id);
        /* a kept key that fails may have been rotated: fetch it once more */
        if (attempt > 0 || a->refreshed) return refuse(r, a, err);
        actor_free(a);
        if (!(a = signer(r, sig.key_id, true))) return -PROBLEM_BAD_SIGNATURE;
    }
    r->ctx = a;
    r->ctx_free = actor_free;
    return 0;
}

/* Whether the sender's actor holds the RFC 9421 key: its RSA or Ed25519
 * publicKeyPem (publicKey), or an Ed25519 Multikey (assertionMethod). */
static int rfc9421_with(const federation_actor_t *a, const char *method, const char *uri,
                        const header_list_t *hl, const char *key_id, char *err, size_t errlen)
{
    char kid[FEDERATION_URI_MAX];
    if (a->public_pem && !strcmp(a->key_id, key_id))
        return httpsig_rfc9421_verify_pem(method, uri, hl->h, hl->n, NULL, a->public_pem, kid,
                                          sizeof kid, err, errlen);
    unsigned char pk[KEYS_PUBLIC_BYTES];
    if (!strcmp(a->ed25519_key_id, key_id) && keys_multikey_decode(a->ed25519_multibase, pk))
        return httpsig_rfc9421_verify(method, uri, hl->h, hl->n, NULL, pk, kid, sizeof kid, err,
                                      errlen);
    snprintf(err, errlen, "%.200s is not a key of its actor", key_id);
    return -1;
}

static int verify_rfc9421(req_t *r, header_list_t *hl, const char *target)
{
    char base[600], uri[1600], err[300];
    base_url(r, base, sizeof base);
    snprintf(uri, sizeof uri, "%s%s", base, target);
    httpsig_rfc9421_info_t info;
    if (httpsig_rfc9421_info(hl->h, hl->n, NULL, &info, err, sizeof err) != 0)
        return refuse(r, NULL, err);
    if (!info.key_id[0]) return refuse(r, NULL, "The signature names no keyid.");
    /* the body counts only when its Content-Digest is signed; the time through a
     * signed Date or created */
    if (r->body.len && !httpsig_rfc9421_covers(&info, "content-digest"))
        return refuse(r, NULL, "The signature must cover Content-Digest.");
    time_t now = time(NULL), when = (time_t)info.created;
    if (!info.created) {
        struct tm tm;
        memset(&tm, 0, sizeof tm);
        const char *date = http_header(r, "Date");
        if (!httpsig_rfc9421_covers(&info, "date") || !date ||
            !strptime(date, "%a, %d %b %Y %H:%M:%S GMT", &tm))
            return refuse(r, NULL, "The signature must carry created or cover Date.");
        when = timegm(&tm);
    }
    if (when < now - DATE_WINDOW_S || when > now + DATE_WINDOW_S)
        return refuse(r, NULL, "The request's date is too far from now (5 minutes at most).");
    if (r->body.len) {
        char want[80];
        const char *cd = http_header(r, "Content-Digest");
        httpsig_content_digest(r->body.buf, r->body.len, want, sizeof want);
        if (!cd || !strstr(cd, want))
            return refuse(r, NULL, "The Content-Digest header does not match the body.");
    }
    federation_actor_t *a = signer(r, info.key_id, false);
    if (!a) return -PROBLEM_BAD_SIGNATURE;
    for (int attempt = 0;; attempt++) {
        if (rfc9421_with(a, r->method, uri, hl, info.key_id, err, sizeof err) == 0) {
            federation_instance_rfc9421(a->inbox, true); /* it speaks RFC 9421: answered in kind */
            break;
        }
        /* a kept key that fails may have been rotated: fetch it once more */
        if (attempt > 0 || a->refreshed) return refuse(r, a, err);
        actor_free(a);
        if (!(a = signer(r, info.key_id, true))) return -PROBLEM_BAD_SIGNATURE;
    }
    r->ctx = a;
    r->ctx_free = actor_free;
    return 0;
}

int activitypub_verify(req_t *r)
{
    if (r->body.len > INBOX_MAX)
        return http_fail(r, PROBLEM_TOO_LARGE, "An activity is at most %d bytes.", INBOX_MAX);
    header_list_t hl = {.n = 0};
    r->src->each(r, REQ_HEADER, add_header, &hl);
    /* (request-target) is the path as sent, its query included */
    const char *target = r->url;
    if (http_header(r, "Signature-Input")) return verify_rfc9421(r, &hl, target);
    const char *sig = http_header(r, "Signature");
    if (!sig)
        return http_fail(r, PROBLEM_BAD_SIGNATURE,
                         "Sign the request (HTTP Signatures, rsa-sha256, or RFC 9421 ed25519).");
    return verify_cavage(r, &hl, sig, target);
}

/* ---------- the inbox ---------- */

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An object given inline or by its id. */
static const char *ref_id(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : jstr(v, "id");
}

static db_stmt_t q_follower_add = DB_STMT("ap_follower_add", false,
    "INSERT INTO remote_followers (organisation_id, actor_id, follow_uri)"
    " SELECT o.id, $2::bigint, $3 FROM organisations o WHERE o.slug = $1 AND o.hidden_at IS NULL"
    "   AND o.remote_actor_id IS NULL"
    " ON CONFLICT (organisation_id, actor_id) DO UPDATE SET follow_uri = $3"
    " RETURNING organisation_id");
static db_stmt_t q_follower_remove = DB_STMT("ap_follower_remove", true,
    "DELETE FROM remote_followers WHERE actor_id = $1::bigint AND (follow_uri = $2"
    " OR organisation_id = (SELECT id FROM organisations WHERE slug = $3))");
static db_stmt_t q_follow_accepted = DB_STMT("ap_follow_accepted", true,
    "UPDATE remote_follows SET state = 'accepted', accepted_at = coalesce(accepted_at, now())"
    " WHERE follow_uri = $1 AND actor_id = $2::bigint");
/* The local organisation an actor URI names: its slug, or NULL. */
static const char *local_org(const char *base, const char *uri, char *slug, size_t cap)
{
    size_t bl = strlen(base);
    if (!uri || strncmp(uri, base, bl) != 0 || strncmp(uri + bl, "/organisations/", 15) != 0)
        return NULL;
    snprintf(slug, cap, "%s", uri + bl + 15);
    return validate_slug(slug) ? slug : NULL;
}

void handle_ap_inbox(req_t *r)
{
    const federation_actor_t *a = r->ctx;
    if (!a) { /* only behind the FEDERATION gate (routes.c), which sets the sender */
        http_fail(r, PROBLEM_INTERNAL, "The inbox has no verified sender.");
        return;
    }
    if (validate_json_depth(r->body.buf, r->body.len) > FEDERATION_JSON_DEPTH) {
        http_fail(r, PROBLEM_MALFORMED, "The activity is nested too deep.");
        return;
    }
    json_error_t jerr;
    json_t *act = r->body.len ? json_loadb(r->body.buf, r->body.len, JSON_REJECT_DUPLICATES, &jerr)
                              : NULL;
    if (!json_is_object(act)) {
        json_decref(act);
        http_fail(r, PROBLEM_MALFORMED, "The body must be an activity (a JSON object).");
        return;
    }
    const char *type = jstr(act, "type"), *actor = ref_id(json_object_get(act, "actor"));
    if (!type || !actor || strcmp(actor, a->uri) != 0) {
        json_decref(act);
        http_fail(r, PROBLEM_FORBIDDEN, "The activity's actor is not the signer.");
        return;
    }
    federation_instance_seen(a->inbox);
    char base[600], slug[200], actor_id[24];
    base_url(r, base, sizeof base);
    snprintf(actor_id, sizeof actor_id, "%lld", a->id);
    const json_t *object = json_object_get(act, "object");
    problem_t p;
    problem_init(&p);
    /* an act on an agreement across instances: lib/fed_agreements.h (1 taken) */
    int rc = fed_agreement_receive(act, a->id, a->uri, &p);
    if (rc != 0) {
        /* taken or refused */
    } else if (!strcmp(type, "Follow") && local_org(base, ref_id(object), slug, sizeof slug)) {
        const char *follow_id = jstr(act, "id") ? jstr(act, "id") : actor;
        const char *params[3] = {slug, actor_id, follow_id};
        /* remote_followers.follow_uri holds 1000 characters: a longer id is the sender's error */
        bool too_long = strlen(follow_id) > 1000;
        PGresult *res = too_long ? NULL : db_exec(&q_follower_add, 3, params, &p);
        if (too_long) {
            rc = problem_fail(&p, PROBLEM_MALFORMED, "The Follow's id is longer than 1000 characters.");
        } else if (!res) {
            rc = problem_rc(&p);
        } else if (PQntuples(res) == 1) {
            long long org_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
            char org_uri[900], accept_id[1200];
            snprintf(org_uri, sizeof org_uri, "%s/organisations/%s", base, slug);
            snprintf(accept_id, sizeof accept_id, "%s#accepts/%lld-%lld", org_uri, a->id,
                     (long long)time(NULL));
            json_t *accept = json_pack("{s:s, s:s, s:s, s:s, s:O}", "@context", AS_CONTEXT, "id",
                                       accept_id, "type", "Accept", "actor", org_uri, "object",
                                       act);
            rc = federation_enqueue(accept, a->inbox, "organisation", org_id, org_uri, &p);
            json_decref(accept);
        }
        PQclear(res);
    } else if (!strcmp(type, "Undo") && json_is_object(object) &&
               jstr(object, "type") && !strcmp(jstr(object, "type"), "Follow")) {
        const char *target = local_org(base, ref_id(json_object_get(object, "object")), slug,
                                       sizeof slug);
        const char *params[3] = {actor_id, ref_id(object) ? ref_id(object) : "", target};
        PGresult *res = db_exec(&q_follower_remove, 3, params, &p);
        if (!res) rc = problem_rc(&p);
        PQclear(res);
    } else if (!strcmp(type, "Accept") && ref_id(object)) {
        const char *params[2] = {ref_id(object), actor_id};
        PGresult *res = db_exec(&q_follow_accepted, 2, params, &p);
        if (!res) rc = problem_rc(&p);
        PQclear(res);
    } else if (!strcmp(type, "Update") && ref_id(object) && !strcmp(ref_id(object), a->uri)) {
        /* the organisation changed (its charter, its name): fetched again */
        rc = fed_remote_refresh_later(a->id, &p);
    } else if ((!strcmp(type, "Create") || !strcmp(type, "Update")) && json_is_object(object)) {
        rc = fed_remote_take_engagement(a, object, &p);
    } else if (!strcmp(type, "Delete") && ref_id(object)) {
        rc = fed_remote_close_engagement(a, ref_id(object), &p);
    }
    json_decref(act);
    if (rc < 0) {
        http_reply_problem(r, &p);
        return;
    }
    /* taken (or ignored: an activity this instance does nothing with) */
    http_reply_empty(r, 202);
}

/* ---------- following remote organisations ---------- */

static db_stmt_t q_remote_follow = DB_STMT("ap_remote_follow", false,
    "WITH f AS (INSERT INTO remote_follows (actor_id, follow_uri) VALUES ($1::bigint, $2)"
    "   ON CONFLICT (actor_id) DO UPDATE SET actor_id = EXCLUDED.actor_id"
    "   RETURNING id, follow_uri, state, (xmax = 0) AS made),"
    " p AS (INSERT INTO remote_follow_people (remote_follow_id, account_id, handle)"
    "   SELECT id, $3::bigint, $4 FROM f ON CONFLICT DO NOTHING)"
    " SELECT f.id, f.follow_uri, f.made FROM f");
static db_stmt_t q_remote_follow_get = DB_STMT("ap_remote_follow_get", false,
    "SELECT j::text FROM remote_follow_people rp JOIN remote_follows f ON f.id = rp.remote_follow_id"
    " JOIN remote_actors a ON a.id = f.actor_id CROSS JOIN LATERAL remote_follow_json(rp, f, a) j"
    " WHERE rp.account_id = $1::bigint AND f.id = $2::bigint");

/* POST {handle: "acct:slug@host"}: WebFinger, the actor fetched, the
 * instance's Follow sent (once per remote organisation, whoever asks first). */
void handle_remote_follow_create(req_t *r)
{
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, (const char *[]){"handle", NULL}, &p);
    const char *handle = json_string_value(json_object_get(body, "handle"));
    if (!handle || strlen(handle) > 300)
        problem_field(&p, "handle", "is required: acct:slug@host");
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char uri[FEDERATION_URI_MAX];
    federation_actor_t a;
    memset(&a, 0, sizeof a);
    if (!federation_base()[0]) {
        problem_fail(&p, PROBLEM_CONFLICT, "This instance does not federate: PUBLIC_URL is not set.");
    } else if (federation_webfinger(handle, uri, sizeof uri, &p) == 0 &&
               federation_actor_get(uri, false, &a, &p) == 0) {
        char follow_uri[1200];
        snprintf(follow_uri, sizeof follow_uri, "%s/actor#follows/%lld", federation_base(), a.id);
        char actor_id[24];
        snprintf(actor_id, sizeof actor_id, "%lld", a.id);
        const char *params[4] = {actor_id, follow_uri, r->caller.account_id_text, handle};
        if (db_begin(&p) == 0) {
            PGresult *res = db_exec(&q_remote_follow, 4, params, &p);
            if (res && PQgetvalue(res, 0, 2)[0] == 't') {
                char me[700];
                federation_actor_uri("instance", NULL, me, sizeof me);
                json_t *follow = json_pack("{s:s, s:s, s:s, s:s, s:s}", "@context", AS_CONTEXT,
                                           "id", PQgetvalue(res, 0, 1), "type", "Follow", "actor",
                                           me, "object", a.uri);
                if (federation_enqueue(follow, a.inbox, "instance", 0, me, &p) < 0) {
                    PQclear(res);
                    res = NULL;
                }
                json_decref(follow);
            }
            /* its document, charter and open engagements, fetched by a job */
            if (res && fed_remote_refresh_later(a.id, &p) < 0) {
                PQclear(res);
                res = NULL;
            }
            char id[24] = "";
            if (res) snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
            PQclear(res);
            if (res && db_commit(&p) == 0) {
                const char *gp[2] = {r->caller.account_id_text, id};
                problem_clear(&p);
                PGresult *g = db_exec(&q_remote_follow_get, 2, gp, &p);
                if (g && PQntuples(g) == 1) {
                    char loc[80];
                    snprintf(loc, sizeof loc, "/api/v1/me/remote-follows/%s", id);
                    http_add_header(r, "Location", loc);
                    reply_row_json(r, 201, g, 0); /* clears g */
                    federation_actor_clear(&a);
                    json_decref(body);
                    return;
                }
                PQclear(g);
            } else if (!res) {
                db_rollback();
            }
        }
    }
    federation_actor_clear(&a);
    json_decref(body);
    http_reply_problem(r, &p);
}

#define FOLLOW_AFTER(TS, ID)                                                                 \
    "(" TS ", " ID ") < (coalesce(timestamptz 'epoch' + $2::bigint * interval '1 microsecond',"  \
    " 'infinity'), coalesce($3::bigint, 9223372036854775807))"

static db_stmt_t q_remote_follows = DB_STMT("ap_remote_follows", true,
    "SELECT (extract(epoch FROM rp.created_at) * 1000000)::bigint::text, f.id::text, j::text"
    " FROM remote_follow_people rp JOIN remote_follows f ON f.id = rp.remote_follow_id"
    " JOIN remote_actors a ON a.id = f.actor_id CROSS JOIN LATERAL remote_follow_json(rp, f, a) j"
    " WHERE rp.account_id = $1::bigint AND " FOLLOW_AFTER("rp.created_at", "f.id")
    " ORDER BY rp.created_at DESC, f.id DESC LIMIT $4::int");

void handle_remote_follows_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "remote-follows", CURSOR_KEY_MICROS CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[4] = {r->caller.account_id_text, page_key(&pg, 0), page_key(&pg, 1),
                             pg.fetch};
    PGresult *res = db_exec(&q_remote_follows, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* The caller leaves; when nobody here follows any more, Undo is sent. */
static db_stmt_t q_remote_unfollow = DB_STMT("ap_remote_unfollow", false,
    "WITH gone AS (DELETE FROM remote_follow_people WHERE account_id = $1::bigint"
    "   AND remote_follow_id = $2::bigint RETURNING remote_follow_id),"
    " last AS (DELETE FROM remote_follows f USING gone WHERE f.id = gone.remote_follow_id"
    "   AND NOT EXISTS (SELECT 1 FROM remote_follow_people rp WHERE rp.remote_follow_id = f.id"
    "     AND rp.account_id <> $1::bigint)"
    "   RETURNING f.follow_uri, f.actor_id),"
    /* the caller's agent no longer follows the organisation's row here (0043) */
    " unfollowed AS (DELETE FROM follows fl USING gone, remote_follows f, organisations o, agents g"
    "   WHERE f.id = gone.remote_follow_id AND o.remote_actor_id = f.actor_id"
    "     AND g.account_id = $1::bigint AND fl.agent_id = g.id AND fl.organisation_id = o.id)"
    " SELECT (SELECT count(*) FROM gone), l.follow_uri, a.uri, coalesce(a.shared_inbox, a.inbox)"
    " FROM (SELECT 1) x LEFT JOIN last l ON true LEFT JOIN remote_actors a ON a.id = l.actor_id");

void handle_remote_follow_delete(req_t *r)
{
    long long id;
    char idtext[24];
    if (http_param_id(r, 0, &id, idtext, sizeof idtext) < 0) return;
    problem_t p;
    problem_init(&p);
    if (db_begin(&p) < 0) {
        http_reply_problem(r, &p);
        return;
    }
    const char *params[2] = {r->caller.account_id_text, idtext};
    PGresult *res = db_exec(&q_remote_unfollow, 2, params, &p);
    if (!res) {
        db_rollback();
        http_reply_problem(r, &p);
        return;
    }
    if (PQgetvalue(res, 0, 0)[0] == '0') {
        PQclear(res);
        db_rollback();
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such remote follow.");
        return;
    }
    int rc = 0;
    if (!PQgetisnull(res, 0, 1)) {
        char me[700], undo_id[1300];
        federation_actor_uri("instance", NULL, me, sizeof me);
        snprintf(undo_id, sizeof undo_id, "%s/undo", PQgetvalue(res, 0, 1));
        json_t *undo = json_pack("{s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "@context",
                                 AS_CONTEXT, "id", undo_id, "type", "Undo", "actor", me, "object",
                                 "id", PQgetvalue(res, 0, 1), "type", "Follow", "actor", me,
                                 "object", PQgetvalue(res, 0, 2));
        rc = federation_enqueue(undo, PQgetvalue(res, 0, 3), "instance", 0, me, &p);
        json_decref(undo);
    }
    PQclear(res);
    if (rc < 0 || db_commit(&p) < 0) {
        if (rc < 0) db_rollback();
        http_reply_problem(r, &p);
        return;
    }
    http_reply_empty(r, 204);
}

/* ---------- engagements from other instances ---------- */

static db_stmt_t q_remote_engagements = DB_STMT("ap_remote_engagements", true,
    "SELECT (extract(epoch FROM e.created_at) * 1000000)::bigint::text, e.id::text, j::text"
    " FROM engagements e JOIN organisations o ON o.id = e.organisation_id"
    " JOIN remote_actors a ON a.id = o.remote_actor_id"
    " CROSS JOIN LATERAL remote_engagement_json(e, o, a) j"
    " WHERE e.origin_uri IS NOT NULL AND NOT e.hidden AND e.status = coalesce($1, 'open')"
    "   AND " FOLLOW_AFTER("e.created_at", "e.id")
    " ORDER BY e.created_at DESC, e.id DESC LIMIT $4::int");

void handle_remote_engagements_list(req_t *r)
{
    const char *status = http_query(r, "status");
    if (status && *status && strcmp(status, "open") && strcmp(status, "paused") &&
        strcmp(status, "closed")) {
        http_fail(r, PROBLEM_BAD_QUERY, "status is open, paused or closed.");
        return;
    }
    page_t pg;
    if (page_read(r, &pg, "remote-engagements", CURSOR_KEY_MICROS CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[4] = {status && *status ? status : NULL, page_key(&pg, 0),
                             page_key(&pg, 1), pg.fetch};
    PGresult *res = db_exec(&q_remote_engagements, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}
