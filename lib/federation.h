/* federation: ActivityPub between instances, the parts with no HTTP server
 * types (docs/federation.md): the RSA key of each local actor (made on first
 * use, migration 0038), remote actors fetched and kept with their keys,
 * WebFinger lookups, the ActivityStreams object of an engagement, and the
 * "deliver" kind of job that signs (lib/httpsig) and POSTs an activity to a
 * remote inbox (lib/fetch), retried with backoff per inbox. */
#ifndef PURPOSED_FEDERATION_H
#define PURPOSED_FEDERATION_H

#include <jansson.h>
#include <stdbool.h>

#include "keys.h"
#include "problem.h"

#define FEDERATION_URI_MAX 1001
/* the largest document fetched from another instance (an actor, a JRD) */
#define FEDERATION_FETCH_MAX (256 * 1024)
/* the deepest JSON taken from another instance */
#define FEDERATION_JSON_DEPTH 16
/* a remote actor kept longer than this is fetched again at its next use */
#define FEDERATION_ACTOR_TTL "1 day"
/* an instance failing this long has its deliveries dropped */
#define FEDERATION_DEAD_DAYS 7

/* The instance's public base ("https://purposed.example", PUBLIC_URL), once
 * at start. Without it nothing is delivered: ids would depend on the Host of
 * each request. */
void federation_configure(const char *public_url);
const char *federation_base(void);

/* A local actor's key pair (kind "instance" with id 0, "organisation",
 * "agent"), made and stored on first use. *public_pem and, when asked,
 * *private_pem are malloc'd. 0, or negative with p set. */
int federation_key(const char *kind, long long id, char **public_pem, char **private_pem,
                   problem_t *p);

/* The same actor's Ed25519 key (FEP-521a assertionMethod, RFC 9421
 * signatures), made and stored beside the RSA pair on first use: out holds
 * the pair (keys_signer_clear it). 0, or negative with p set. */
int federation_ed25519_key(const char *kind, long long id, keys_signer_t *out, problem_t *p);

typedef struct federation_actor {
    long long id;                      /* remote_actors.id */
    char uri[FEDERATION_URI_MAX];
    char type[41];
    char username[201];
    char name[501];
    char url[FEDERATION_URI_MAX];
    char inbox[FEDERATION_URI_MAX];
    char shared_inbox[FEDERATION_URI_MAX]; /* "" when none */
    char key_id[FEDERATION_URI_MAX];
    char *public_pem;                  /* malloc'd, NULL when none */
    char ed25519_key_id[FEDERATION_URI_MAX];
    char ed25519_multibase[201];
    bool refreshed;                    /* fetched by this call */
} federation_actor_t;

/* The remote actor at uri (a fragment is dropped): kept, or fetched when
 * unknown, older than FEDERATION_ACTOR_TTL, or refresh. 0, or negative with
 * p set (502 when the remote server failed, 422 when its document is not an
 * actor). federation_actor_clear frees public_pem. */
int federation_actor_get(const char *uri, bool refresh, federation_actor_t *out, problem_t *p);
void federation_actor_clear(federation_actor_t *a);
/* The same, always fetched, with the actor's whole document in *doc (the
 * caller's, json_decref) for what federation_actor_t does not keep. */
int federation_actor_fetch_doc(const char *uri, federation_actor_t *out, json_t **doc,
                               problem_t *p);

/* GET url as a JSON object (Accept given), through lib/fetch with the limits
 * of FEDERATION_FETCH_MAX and FEDERATION_JSON_DEPTH; NULL with p set (502
 * when the server failed or answered non-2xx, 422 when it is no object). */
json_t *federation_fetch_json(const char *url, const char *accept, problem_t *p);

/* WebFinger: "acct:slug@host" (or "slug@host", "@slug@host") -> the actor
 * URI its JRD links as self. 0, or negative with p set. */
int federation_webfinger(const char *handle, char *actor_uri, size_t cap, problem_t *p);

/* The id of a local organisation's or agent's actor and its key. */
void federation_actor_uri(const char *kind, const char *name, char *out, size_t cap);

/* Queue the delivery of activity (a complete document, borrowed) to inbox,
 * signed by the local actor (kind, id) whose actor URI is actor_uri.
 * 0, or negative with p set. */
int federation_enqueue(const json_t *activity, const char *inbox, const char *kind, long long id,
                       const char *actor_uri, problem_t *p);

/* The ActivityStreams object of a local engagement (a Page named by its
 * title, its description as content, its url), as of now; NULL with p set
 * (404 when there is none). base is the public base URL. */
json_t *federation_engagement_object(const char *base, long long engagement_id,
                                     char *org_slug, size_t slug_cap, problem_t *p);

/* The instance serving url spoke to us (a verified request): not dead. */
void federation_instance_seen(const char *url);

/* The instance serving url verified an RFC 9421 signature of ours, or
 * refused one (speaks false): deliveries to it are signed accordingly. */
void federation_instance_rfc9421(const char *url, bool speaks);

/* Register the "deliver" kind of job (before jobs_start). */
int federation_start(void);

#endif
