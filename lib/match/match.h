/* match: the matching formula (pure: one agent, one engagement and the
 * weights give a score and the reasons for it), the in-memory index that finds
 * the candidates sharing a purpose, and the service that builds that index
 * from PostgreSQL and keeps it fresh from the change log. The public API of
 * lib/match/: score.c and explain.c (the formula and its sentences), rows.c
 * (rows from PostgreSQL), index.c and tables.c (the index), topk.c (the
 * search), load.c and service.c (building it and keeping it fresh).
 * lib/match/README.md explains the index; docs/matching.md the formula. */
#ifndef PURPOSED_MATCH_H
#define PURPOSED_MATCH_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "vocab.h"
#include "problem.h"

/* ---------- the formula ---------- */

typedef enum match_kind {
    MATCH_PURPOSE,
    MATCH_SKILLS,
    MATCH_CAPACITY,
    MATCH_PACKAGING,
    MATCH_LOCATION,
    MATCH_FOLLOWS,
    MATCH_KINDS
} match_kind_t;

/* "purpose", "skills", ... as in the API's reasons. */
const char *match_kind_name(match_kind_t kind);

/* Packagings as bits, in the order of the API's enumeration. */
#define MATCH_PACKAGINGS VOCAB_PACKAGINGS /* the names: lib/vocab.h */
/* "consulting,volunteer" -> bits; unknown names are ignored. */
unsigned match_packagings_from_text(const char *text);

typedef struct match_weights {
    double w[MATCH_KINDS];   /* sum to 1 */
} match_weights_t;

/* The MATCH_WEIGHT_* weights of cfg, scaled so that they sum to 1. */
void match_weights_from_config(const config_t *cfg, match_weights_t *out);

typedef struct match_energy {
    uint32_t purpose;
    uint32_t energy;         /* 1..100 */
} match_energy_t;

/* An agent as the formula sees it. Ids are the index's small numbers;
 * arrays are sorted ascending without duplicates. */
typedef struct match_agent {
    int64_t id;
    const match_energy_t *purposes;
    size_t npurposes;
    const uint32_t *skills;
    size_t nskills;
    const uint32_t *follows;    /* organisations */
    size_t nfollows;
    int capacity_hours;
    int committed_hours;        /* in force in open agreements */
    uint32_t location;          /* 0: none given */
    unsigned packagings;
    bool remote_ok;
    bool placed;                /* a place of the gazetteer: latitude, longitude */
    double latitude, longitude;
    bool has_point;             /* point is match_point(latitude, longitude): set for
                                   a search's caller, computed once; else computed
                                   where a distance needs it */
    double point[3];
} match_agent_t;

typedef struct match_engagement {
    int64_t id;
    int64_t created_us;         /* for ties: newest first */
    const uint32_t *purposes;
    size_t npurposes;
    const uint32_t *skills;
    size_t nskills;
    const char *const *skill_names; /* as the engagement spells them, parallel to skills;
                                       NULL: match_names_t.skill */
    uint32_t organisation;
    const char *organisation_name;
    int hours;
    uint32_t location;          /* 0: none given */
    const char *location_name;  /* as the engagement spells it */
    unsigned packagings;
    bool remote_ok;
    bool placed;                /* a place of the gazetteer: latitude, longitude */
    double latitude, longitude;
    bool has_point;             /* point is match_point(latitude, longitude): set for
                                   a search's caller, computed once; else computed
                                   where a distance needs it */
    double point[3];
} match_engagement_t;

typedef struct match_score {
    bool match;                 /* false: no purpose in common, not a match at all */
    double points[MATCH_KINDS]; /* weight x how well each factor fits */
    double score;               /* the sum of points, in [0, 1] */
} match_score_t;

/* Score one pair. Returns out->match. */
bool match_score(const match_weights_t *w, const match_agent_t *a, const match_engagement_t *e,
                 match_score_t *out);

/* Names for the sentences of the reasons. */
typedef struct match_names {
    const char *(*purpose)(const void *ctx, uint32_t purpose);
    const char *(*skill)(const void *ctx, uint32_t skill);
    const void *ctx;
} match_names_t;

/* The reasons of a scored pair: [{kind, detail, points}] in the order of
 * match_kind_t, one per kind; their points add up to s->score. NULL when
 * out of memory. */
json_t *match_reasons(const match_names_t *names, const match_agent_t *a,
                      const match_engagement_t *e, const match_score_t *s);

/* Ranking order: higher score first (scores equal to 1e-9 tie), then the
 * newest engagement, then the higher engagement id; for agents, the lower
 * agent id. Negative when x ranks before y. */
int match_compare_engagements(double score_x, const match_engagement_t *x, double score_y,
                              const match_engagement_t *y);
int match_compare_agents(double score_x, int64_t x, double score_y, int64_t y);

/* ---------- rows, as read from the database ---------- */

/* Text columns are borrowed; NULL for SQL NULL. Lists are "id,id" or
 * "purpose_id:energy,..."; skills a text[] as PostgreSQL writes it: an
 * agent's catalogue keys (skill_keys: 0015), {rust,c}; an engagement's keys
 * then its spellings, skill_keys || skills, {rust,c,Rust,C} (the triggers of
 * 0015 keep the two arrays parallel). */
typedef struct match_agent_row {
    int64_t id;
    bool discoverable;
    bool remote_ok;
    int capacity_hours;
    int committed_hours;
    const char *packagings;
    const char *location;
    const char *location_key;   /* lower(btrim(location)) */
    const char *latitude, *longitude; /* of its place; NULL for none */
    const char *purposes;
    const char *skills;
    const char *follows;
    const char *excluded;       /* engagement ids with a proposed or active agreement */
} match_agent_row_t;

typedef struct match_engagement_row {
    int64_t id;
    int64_t organisation_id;
    int64_t created_us;
    bool open;
    bool remote_ok;
    int hours;
    const char *packagings;
    const char *location;
    const char *location_key;
    const char *latitude, *longitude;
    const char *purposes;
    const char *skills;
    const char *organisation_name;
    const char *excluded;       /* agent ids with a proposed or active agreement */
} match_engagement_row_t;

/* The select lists that produce those rows (agents AS a, engagements AS e),
 * and how to read them. The queries of the handlers append
 * MATCH_*_QUERY_COLUMNS (organisation name, exclusions). */
#define MATCH_AGENT_COLUMNS                                                                  \
    "a.id, a.discoverable AND NOT a.hidden, a.remote_ok, a.capacity_hours_per_week,"                        \
    " coalesce((SELECT sum(m.committed_hours) FROM match_agreements m"                      \
    "   WHERE m.agent_id = a.id), 0),"                                                      \
    " array_to_string(a.packagings, ','), a.location, lower(btrim(a.location)),"            \
    " (SELECT pl.latitude FROM places pl WHERE pl.id = a.place_id),"                        \
    " (SELECT pl.longitude FROM places pl WHERE pl.id = a.place_id),"                       \
    " (SELECT string_agg(ap.purpose_id || ':' || ap.energy, ',') FROM agent_purposes ap"    \
    "   WHERE ap.agent_id = a.id),"                                                         \
    " a.skill_keys,"                                    \
    " (SELECT string_agg(f.organisation_id::text, ',') FROM follows f WHERE f.agent_id = a.id)"
#define MATCH_AGENT_QUERY_COLUMNS                                                            \
    ", (SELECT string_agg(DISTINCT m.engagement_id::text, ',') FROM match_agreements m"     \
    "   WHERE m.agent_id = a.id AND m.status IN ('proposed', 'active')"                     \
    "   AND m.engagement_id IS NOT NULL)"
#define MATCH_ENGAGEMENT_COLUMNS                                                             \
    "e.id, e.organisation_id, (extract(epoch FROM e.created_at) * 1000000)::bigint,"       \
    " e.status = 'open' AND NOT e.hidden, e.remote_ok, e.hours_per_week, array_to_string(e.packagings, ','),"\
    " e.location, lower(btrim(e.location)),"                                                \
    " (SELECT pl.latitude FROM places pl WHERE pl.id = e.place_id),"                        \
    " (SELECT pl.longitude FROM places pl WHERE pl.id = e.place_id),"                       \
    " (SELECT string_agg(ep.purpose_id::text, ',') FROM engagement_purposes ep"             \
    "   WHERE ep.engagement_id = e.id),"                                                    \
    " e.skill_keys || e.skills"
#define MATCH_ENGAGEMENT_QUERY_COLUMNS                                                       \
    ", (SELECT o.name FROM organisations o WHERE o.id = e.organisation_id),"                \
    " (SELECT string_agg(DISTINCT m.agent_id::text, ',') FROM match_agreements m"           \
    "   WHERE m.engagement_id = e.id AND m.status IN ('proposed', 'active'))"

/* Read row i of a result of those select lists (with or without the query
 * columns). Pointers borrow from res. */
void match_agent_row_read(const PGresult *res, int i, match_agent_row_t *out);
void match_engagement_row_read(const PGresult *res, int i, match_engagement_row_t *out);

/* ---------- the index ---------- */

/* Discoverable agents and open engagements, by purpose. Not thread-safe by
 * itself: the service guards it with a read-write lock. */
typedef struct match_index match_index_t;

match_index_t *match_index_new(void);
void match_index_free(match_index_t *ix);
/* Name (or rename) a purpose or an organisation. 0, or -1 out of memory. */
int match_index_put_purpose(match_index_t *ix, int64_t id, const char *name);
int match_index_put_organisation(match_index_t *ix, int64_t id, const char *name);
/* Insert or replace; a non-discoverable agent or an engagement that is not
 * open is removed. 0, or -1 (malformed row, out of memory: nothing changed). */
int match_index_put_agent(match_index_t *ix, const match_agent_row_t *row);
int match_index_put_engagement(match_index_t *ix, const match_engagement_row_t *row);
void match_index_remove_agent(match_index_t *ix, int64_t id);
void match_index_remove_engagement(match_index_t *ix, int64_t id);
size_t match_index_agent_count(const match_index_t *ix);
size_t match_index_engagement_count(const match_index_t *ix);
/* Bytes held by the index. */
size_t match_index_memory(const match_index_t *ix);
/* The part of it that is the agents' and the engagements' (not what both
 * share: strings, interners, purposes, organisations). */
void match_index_memory_parts(const match_index_t *ix, size_t *agents, size_t *engagements);

typedef struct match_hit {
    int64_t id;                 /* engagement or agent id */
    double score;
    json_t *reasons;            /* owned */
} match_hit_t;

/* The k best open engagements for the agent of row (row->excluded left
 * out), best first, into out[0..k). Returns how many, or -1 (malformed row,
 * out of memory). */
int match_index_engagements_for(const match_index_t *ix, const match_weights_t *w,
                                const match_agent_row_t *row, size_t k, match_hit_t *out);
/* The k best discoverable agents for the engagement of row. */
int match_index_agents_for(const match_index_t *ix, const match_weights_t *w,
                           const match_engagement_row_t *row, size_t k, match_hit_t *out);
void match_hits_clear(match_hit_t *hits, size_t n);

/* ---------- the service ---------- */

/* Start the thread that builds the index from the database at conninfo and
 * follows the change log's topic 'match' (rebuilding after a lost
 * connection). Idempotent; 0, or -PROBLEM_INTERNAL when the thread could not
 * start. */
int match_service_start(const char *conninfo);
/* Before match_service_start: keep the index in this file when the service
 * stops, and load it from there at start instead of building it when it
 * was written against the same database and nothing pruned the change log
 * past it (snapshot.c; README.md, "A snapshot at stop"). NULL or "": none. */
void match_service_set_snapshot(const char *path);
/* Stop the thread and free the index. */
void match_service_stop(void);
/* The current index, read-locked: waits up to wait_ms for the first build;
 * NULL with a 503 in p when there is none yet. Pair with match_service_release(). */
const match_index_t *match_service_acquire(int wait_ms, problem_t *p);
void match_service_release(void);

/* What /metrics reports of the service; all zero until the first build. */
typedef struct match_stats {
    bool ready;                     /* an index has been built */
    size_t bytes;                   /* match_index_memory() of the current index */
    size_t agents, engagements;     /* indexed: discoverable agents, open engagements */
    double build_seconds;           /* the last full build, from PostgreSQL */
    unsigned long builds;           /* full builds, the first included */
    unsigned long notifications;    /* changes applied (or absorbed by a rebuild) */
    double load_seconds;            /* the snapshot file read at start, if one was */
    unsigned long loads;            /* snapshots loaded (0 or 1) */
    double start_seconds;           /* from match_service_start to the first index */
} match_stats_t;

/* Lock-free: the service thread publishes these after every change. */
void match_service_stats(match_stats_t *out);

#endif
