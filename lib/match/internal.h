/* match/internal.h: what the files of lib/match/ share and nobody else uses
 * (the unit tests aside): the index's data layout, the hash tables, the
 * parsing of row lists, the ranking order, the bounded heap and the one
 * growable string buffer (the formula's factors are in formula.h). The public API is match.h; README.md explains the
 * index as a whole. */
#ifndef PURPOSED_MATCH_INTERNAL_H
#define PURPOSED_MATCH_INTERNAL_H

#include <math.h>
#include <stdarg.h>
#include <string.h>
#include <time.h>

#include "idmap.h"
#include "match/match.h"
#include "strbuf.h"

/* ======================================================================
 * Small helpers (rows.c)
 * ====================================================================== */

/* Arrays grow with idmap_grow (lib/idmap.h), ids map with idmap_t. */

/* ======================================================================
 * Ranking (inline: top-k compares candidates all the time)
 * ====================================================================== */

/* Scores are compared as integers in units of 1e-9, so that two scores
 * equal to 1e-9 tie and the order never depends on rounding noise. */
static inline int64_t match_quantise(double score) { return llround(score * 1e9); }

/* The ranking orders on quantised scores: negative when x ranks first.
 * Engagements: higher score, then newer, then higher id. Agents: higher
 * score, then lower id. */
static inline int match_rank_engagement(int64_t qx, int64_t cx, int64_t ix, int64_t qy,
                                        int64_t cy, int64_t iy)
{
    if (qx != qy) return qx > qy ? -1 : 1;
    if (cx != cy) return cx > cy ? -1 : 1;
    if (ix != iy) return ix > iy ? -1 : 1;
    return 0;
}

static inline int match_rank_agent(int64_t qx, int64_t ix, int64_t qy, int64_t iy)
{
    if (qx != qy) return qx > qy ? -1 : 1;
    if (ix != iy) return ix < iy ? -1 : 1;
    return 0;
}

/* ======================================================================
 * Row lists, parsed (rows.c)
 * ====================================================================== */

typedef struct match_raw_energy {
    int64_t purpose;
    uint32_t energy;
} match_raw_energy_t;

/* A skill of a row: its number, the number or text of its spelling, and
 * where it was in the row (to keep the first of duplicates). */
typedef struct match_skill_pair {
    uint32_t skill;
    uint32_t label;
    uint32_t order;
    const char *name;
} match_skill_pair_t;

/* What a row's lists hold: first as database ids and strings (parse_*),
 * then mapped to the index's numbers (the m_ arrays, sized by
 * match_parsed_reserve). Reused across rows: the arrays only grow. */
typedef struct match_parsed {
    match_raw_energy_t *energies;  /* agent purposes with energy */
    uint32_t nenergies, capenergies;
    int64_t *ids;                  /* engagement purposes, or agent follows */
    uint32_t nids, capids;
    int64_t *excluded;             /* sorted: pairs with a proposed or active agreement */
    uint32_t nexcluded, capexcluded;
    char *text;                    /* the skills' strings, unescaped */
    uint32_t captext;
    const char **strs;             /* into text: the keys, then (engagements) */
    uint32_t nstrs, capstrs;       /* the spellings */
    const char **names;            /* the spellings (an agent's: its keys) */
    uint32_t nskills;
    match_energy_t *m_energies;
    uint32_t capm_energies;
    uint32_t *m_purposes, *m_skills, *m_follows;
    uint32_t capm_purposes, capm_skills, capm_follows;
    match_skill_pair_t *m_pairs;
    uint32_t capm_pairs;
    const char **m_names;          /* parallel to m_skills */
    uint32_t capm_names;
} match_parsed_t;

void match_parsed_free(match_parsed_t *p);
/* Parse the lists of a row (database ids, strings). 0, or -1 malformed. */
/* A place's coordinates as the rows give them (text of float8s; NULL for
 * none) into doubles, NaN for none or unreadable. */
void match_row_coordinates(const char *latitude, const char *longitude, double *lat, double *lon);
int match_parse_agent(const match_agent_row_t *row, match_parsed_t *p);
int match_parse_engagement(const match_engagement_row_t *row, match_parsed_t *p);
/* Room in the m_ arrays. 0 or -1. */
int match_parsed_reserve(match_parsed_t *p, size_t energies, size_t purposes, size_t skills,
                         size_t follows);
size_t match_parsed_skill_count(const match_parsed_t *p);
const char *match_parsed_skill_key(const match_parsed_t *p, size_t i);
const char *match_parsed_skill_name(const match_parsed_t *p, size_t i);

/* Seconds on the monotonic clock since *t0 (build and load timings). */
static inline double match_seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Read a decimal int64 at *s, advancing it. false when there is none. */
bool match_parse_i64(const char **s, int64_t *out);

/* Sort and deduplicate in place; return how many remain. Energies of one
 * purpose add up; of skill pairs the first in row order is kept. */
size_t match_unique_u32(uint32_t *v, size_t n);
size_t match_unique_energies(match_energy_t *v, size_t n);
size_t match_unique_pairs(match_skill_pair_t *v, size_t n);
/* Sort and deduplicate int64 ids. */
size_t match_unique_i64(int64_t *v, size_t n);

/* The first index of sorted v whose value is not below x (n if none). */
static inline size_t match_lower_bound_i64(const int64_t *v, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static inline bool match_contains_i64(const int64_t *v, size_t n, int64_t x)
{
    size_t i = match_lower_bound_i64(v, n, x);
    return i < n && v[i] == x;
}

/* ======================================================================
 * Hash tables (tables.c)
 * ====================================================================== */

/* Interned strings (skills, places, spellings): key -> small number, with a
 * display name. The strings themselves live in the index's string pool
 * (match_index_t.str), by offset; entries are never removed. */
typedef struct match_interner {
    uint32_t *key_off, *name_off;  /* by number: offsets into the string pool */
    uint32_t n, cap;
    uint32_t *table;               /* number + 1; 0 = empty; tcap slots, a power of two */
    uint32_t tcap;
} match_interner_t;

struct match_index;
/* The number of key, or UINT32_MAX. */
uint32_t match_intern_find(const struct match_index *ix, const match_interner_t *in,
                           const char *key);
/* The number of key, adding it (with this display name; NULL: the key) when
 * new; UINT32_MAX out of memory. */
uint32_t match_intern_add(struct match_index *ix, match_interner_t *in, const char *key,
                          const char *name);
void match_intern_free(match_interner_t *in);
/* Append a NUL-terminated copy of s to the string pool. 0 or -1. */
int match_str_add(struct match_index *ix, const char *s, uint32_t *off);


/* ======================================================================
 * The index's data layout (index.c). README.md draws it.
 * ====================================================================== */

/* An agent's entry in a posting list: its slot and its energy for the
 * purpose in 32 bits, so that gathering candidates never reads a record.
 * Energy 1..100 fits in 7 bits, which leaves 2^25 agent slots. */
#define POSTING_ENERGY_BITS 7
#define POSTING_MAX_SLOT ((1u << (32 - POSTING_ENERGY_BITS)) - 1)
#define POSTING_ENTRY(slot, energy) (((slot) << POSTING_ENERGY_BITS) | (energy))
#define POSTING_SLOT(entry) ((entry) >> POSTING_ENERGY_BITS)
#define POSTING_ENERGY(entry) ((entry) & ((1u << POSTING_ENERGY_BITS) - 1))

/* The agents and the open engagements of one purpose (unordered). */
typedef struct match_posting {
    uint32_t *agents;              /* POSTING_ENTRY(slot, energy) */
    uint32_t nagents, capagents;
    uint32_t *engagements;         /* slots */
    uint32_t nengagements, capengagements;
} match_posting_t;

enum { REC_LIVE = 1, REC_REMOTE = 2 };

/* One discoverable agent: 56 bytes. Its lists live in the pools:
 * npurposes match_energy_t at energies[purposes_off] (sorted by purpose
 * number), nskills skill numbers then nfollows organisation numbers in
 * words[] (each sorted). location: place number + 1, 0 for none;
 * latitude and longitude of its place of the gazetteer, NaN for none. */
typedef struct match_agent_rec {
    int64_t id;
    double latitude, longitude;
    uint32_t purposes_off;         /* energies pool */
    uint32_t skills_off;           /* words pool */
    uint32_t follows_off;          /* words pool */
    uint32_t nfollows;
    uint32_t location;
    uint16_t npurposes, nskills;
    uint16_t capacity, committed;  /* hours per week, clamped */
    uint8_t packagings, flags;     /* match_packagings bits; REC_* */
} match_agent_rec_t;

/* One open engagement: 64 bytes. In words[]: npurposes purpose numbers at
 * purposes_off; at skills_off nskills skill numbers (sorted) followed by the
 * nskills label numbers of the engagement's own spellings, in the same
 * order. location and location_label: number + 1, 0 for none; latitude
 * and longitude as for agents. */
typedef struct match_engagement_rec {
    int64_t id;
    double latitude, longitude;
    int64_t created_us;
    uint32_t purposes_off;
    uint32_t skills_off;
    uint32_t organisation;         /* organisation number */
    uint32_t location;
    uint32_t location_label;
    uint16_t npurposes, nskills;
    uint8_t hours, packagings, flags;
} match_engagement_rec_t;

/* A record's skills as 64 bits: bit match_skill_bit(n) set for each skill
 * number n, 0 for none. Two records whose signatures share no bit share no
 * skill, so a search can bound the skills factor of a candidate from its
 * signature alone, without reading its record or its lists (topk.c). */
static inline uint64_t match_skill_bit(uint32_t skill)
{
    return 1ull << ((skill * 0x9E3779B1u) >> 26);
}

static inline uint64_t match_skill_signature(const uint32_t *skills, size_t n)
{
    uint64_t sig = 0;
    for (size_t i = 0; i < n; i++) sig |= match_skill_bit(skills[i]);
    return sig;
}

/* What a search needs of an engagement to bound its score before reading
 * its record (64 bytes, beyond the caches at scale 10) or its lists: 16
 * bytes by slot, copied from the record when it is put (topk.c). */
typedef struct match_brief {
    uint64_t skills;               /* match_skill_signature */
    uint32_t organisation;
    uint8_t hours, packagings;     /* as in the record */
    uint8_t pad[2];
} match_brief_t;

struct match_index {
    char *str;                     /* every string, NUL-terminated, by offset */
    uint32_t nstr, capstr;
    match_interner_t skills, places; /* by lower-case key; name: first spelling seen */
    match_interner_t labels;       /* exact spellings of engagements, for the sentences */
    /* purposes and organisations: database id -> number; names by number */
    idmap_t purpose_ids, org_ids;
    uint32_t *purpose_name, *org_name;
    uint32_t npurposes, cappurposes, norgs, caporgs;
    match_posting_t *postings;     /* by purpose number */
    /* the pools of the records' lists; waste_*: entries of replaced or
     * removed records, reclaimed by compaction */
    match_energy_t *energies;
    uint32_t nenergies, capenergies, waste_energies;
    uint32_t *words;
    uint32_t nwords, capwords, waste_words;
    /* records by slot; a freed slot (flags 0) is reused */
    match_agent_rec_t *agents;
    uint64_t *agent_sigs;          /* by slot: the skills' signature */
    uint32_t nagents, capagents, capagent_sigs;
    uint32_t *free_agents;
    uint32_t nfree_agents, capfree_agents;
    idmap_t agent_ids;       /* agent id -> slot */
    match_engagement_rec_t *engagements;
    match_brief_t *engagement_briefs; /* by slot */
    uint32_t nengagements, capengagements, capengagement_briefs;
    uint32_t *free_engagements;
    uint32_t nfree_engagements, capfree_engagements;
    idmap_t engagement_ids;  /* engagement id -> slot */
    size_t live_agents, live_engagements;
    match_parsed_t scratch;        /* for puts (the single writer) */
};

/* The record in slot as the formula sees it: pointers into the pools, no
 * copy. Inline: top-k makes one view per candidate it scores. */
static inline void match_agent_view(const match_index_t *ix, uint32_t slot, match_agent_t *v)
{
    const match_agent_rec_t *a = &ix->agents[slot];
    v->id = a->id;
    v->purposes = ix->energies + a->purposes_off;
    v->npurposes = a->npurposes;
    v->skills = ix->words + a->skills_off;
    v->nskills = a->nskills;
    v->follows = ix->words + a->follows_off;
    v->nfollows = a->nfollows;
    v->capacity_hours = a->capacity;
    v->committed_hours = a->committed;
    v->location = a->location;
    v->packagings = a->packagings;
    v->remote_ok = (a->flags & REC_REMOTE) != 0;
    v->placed = !isnan(a->latitude);
    v->latitude = a->latitude;
    v->longitude = a->longitude;
    v->has_point = false;
}

/* An exact spelling by label number ("" if unknown). */
static inline const char *match_label_text(const match_index_t *ix, uint32_t label)
{
    return label < ix->labels.n ? ix->str + ix->labels.name_off[label] : "";
}

/* The engagement in slot; with names (room for its nskills), its own
 * spellings of the skills and its organisation's name too, for the
 * sentences (NULL when only scoring). */
static inline void match_engagement_view(const match_index_t *ix, uint32_t slot,
                                         match_engagement_t *v, const char **names)
{
    const match_engagement_rec_t *e = &ix->engagements[slot];
    memset(v, 0, sizeof *v);
    v->id = e->id;
    v->created_us = e->created_us;
    v->purposes = ix->words + e->purposes_off;
    v->npurposes = e->npurposes;
    v->skills = ix->words + e->skills_off;
    v->nskills = e->nskills;
    v->organisation = e->organisation;
    /* for the sentences only: a random read the scoring loop need not pay */
    v->organisation_name = names ? ix->str + ix->org_name[e->organisation] : NULL;
    v->hours = e->hours;
    v->location = e->location;
    v->location_name = e->location_label ? match_label_text(ix, e->location_label - 1) : NULL;
    v->packagings = e->packagings;
    v->remote_ok = (e->flags & REC_REMOTE) != 0;
    v->placed = !isnan(e->latitude);
    v->latitude = e->latitude;
    v->longitude = e->longitude;
    if (names) {
        for (uint32_t j = 0; j < e->nskills; j++)
            names[j] = match_label_text(ix, ix->words[e->skills_off + e->nskills + j]);
        v->skill_names = names;
    }
}
/* Make every agent's signature and every engagement's brief from its
 * record (after a snapshot is read, which does not store them). 0, or -1
 * out of memory. */
int match_index_make_signatures(match_index_t *ix);
/* Names by number for match_reasons (ctx: the index). */
const char *match_index_purpose_name(const void *ctx, uint32_t n);
const char *match_index_skill_name(const void *ctx, uint32_t n);
/* Map a query row's skills to the index's numbers without changing the
 * index (into p->m_skills and p->m_names); how many. */
size_t match_index_map_skills(const match_index_t *ix, match_parsed_t *p);
/* The place number + 1 of key; 0 for none, UINT32_MAX if unknown. */
uint32_t match_index_place(const match_index_t *ix, const char *key);

/* ======================================================================
 * Top-k (topk.c)
 * ====================================================================== */

/* A scored candidate; the heap and the final sort compare these only. */
typedef struct match_cand {
    int64_t q;                     /* quantised score */
    int64_t created_us;            /* engagements only */
    int64_t id;
    uint32_t slot;
} match_cand_t;

typedef int (*match_cand_rank_fn)(const match_cand_t *x, const match_cand_t *y);
int match_cand_rank_engagement(const match_cand_t *x, const match_cand_t *y);
int match_cand_rank_agent(const match_cand_t *x, const match_cand_t *y);

/* The k best candidates seen so far: a heap whose root v[0] is the worst
 * kept, so a newcomer is compared with one element and, when better,
 * replaces it in O(log k). v has room for k. */
typedef struct match_topk {
    match_cand_t *v;
    size_t n, k;
    match_cand_rank_fn rank;
} match_topk_t;

void match_topk_push(match_topk_t *h, const match_cand_t *c);
/* Sort the kept candidates best first (the heap is consumed). */
void match_topk_sort(match_topk_t *h);

/* ======================================================================
 * The snapshot file (snapshot.c)
 * ====================================================================== */

/* Raise it whenever the index's layout or what it derives from a row
 * changes (rows.c, index.c), so that no daemon loads a file that means
 * something else now. The record sizes and the build statements'
 * text are checked without it. */
#define MATCH_SNAPSHOT_FORMAT 1

/* Write ix to path (through path.tmp, synced, then renamed), with the
 * identity of its database (match_load_identity) and the change log
 * position it is exact at. 0 (*bytes: the file's size), or -1 (errno). */
int match_snapshot_write(const match_index_t *ix, const char *path, const char *identity,
                         const char *position, size_t *bytes);
/* The index in path, if it was written with this identity and this layout
 * and is whole; its position into position (room for position_size).
 * NULL otherwise, *why saying why in words. */
match_index_t *match_snapshot_read(const char *path, const char *identity, char *position,
                                   size_t position_size, const char **why);

/* ======================================================================
 * From PostgreSQL (load.c): the full build and the changes named by the
 * change log (topic 'match'). The service thread runs these on its own
 * connection.
 * ====================================================================== */

/* Pending changed ids past which one full rebuild is cheaper than updates. */
#define MATCH_REBUILD_OVER 20000

/* A whole new index from one REPEATABLE READ snapshot, streamed row by row;
 * NULL when the database failed (logged). *seconds: how long it took. */
match_index_t *match_load(PGconn *c, double *seconds);

/* What a snapshot must have been written against (match_snapshot_*): the
 * cluster, the database, the migrations applied and the build statements,
 * as one text into out. 0, or -1 (logged). */
int match_load_identity(PGconn *c, char *out, size_t size);

typedef struct match_id_set {
    int64_t *v;
    uint32_t n, cap;
} match_id_set_t;

/* The ids named by changes since the last apply, by kind. */
typedef struct match_changes {
    match_id_set_t agents, engagements, purposes, organisations;
    bool overflow;             /* more than MATCH_REBUILD_OVER: rebuild instead */
    unsigned long received;    /* changes since the last clear, malformed included */
} match_changes_t;

/* Note one payload: "a:12" agent, "e:12" engagement, "p:12" purpose,
 * "o:12" organisation; anything else is counted and ignored. */
void match_changes_add(match_changes_t *ch, const char *payload);
size_t match_changes_count(const match_changes_t *ch);
void match_changes_clear(match_changes_t *ch);
void match_changes_free(match_changes_t *ch);

/* The current rows of the changed ids (read without any lock held). */
typedef struct match_fetched {
    PGresult *purposes, *organisations, *agents, *engagements;
} match_fetched_t;

/* Read them: 0, or -1 when the database failed (logged; nothing fetched).
 * The id sets are sorted and deduplicated. */
int match_changes_fetch(PGconn *c, match_changes_t *ch, match_fetched_t *out);
/* Apply them to ix (under the write lock): rows are put, ids without a row
 * (deleted) leave the index, and a row the index refuses leaves it too
 * (better missing than wrong). How many rows were refused. */
long match_changes_apply(match_index_t *ix, const match_changes_t *ch, const match_fetched_t *f);
void match_fetched_clear(match_fetched_t *f);

#endif
