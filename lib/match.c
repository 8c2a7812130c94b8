/* match: the formula and its reasons (pure), the compact in-memory index of
 * discoverable agents and open engagements by purpose, and the service thread
 * that builds it from PostgreSQL and applies LISTEN/NOTIFY updates. */
#define _GNU_SOURCE /* pthread_rwlockattr_setkind_np: a busy reader side must not starve the writer */
#include "match.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "log.h"

/* ======================================================================
 * The formula
 * ====================================================================== */

static const char *const kind_names[MATCH_KINDS] = {"purpose",   "skills",   "capacity",
                                                    "packaging", "location", "follows"};

const char *const match_packaging_names[MATCH_PACKAGINGS] = {"employment", "partnership",
                                                             "consulting", "interim", "volunteer"};

const char *match_kind_name(match_kind_t kind)
{
    return kind >= 0 && kind < MATCH_KINDS ? kind_names[kind] : "";
}

unsigned match_packagings_from_text(const char *text)
{
    unsigned bits = 0;
    if (!text) return 0;
    const char *s = text;
    for (;;) {
        const char *end = strchr(s, ',');
        size_t n = end ? (size_t)(end - s) : strlen(s);
        for (int i = 0; i < MATCH_PACKAGINGS; i++)
            if (strlen(match_packaging_names[i]) == n && memcmp(match_packaging_names[i], s, n) == 0)
                bits |= 1u << i;
        if (!end) break;
        s = end + 1;
    }
    return bits;
}

void match_weights_from_config(const config_t *cfg, match_weights_t *out)
{
    const double raw[MATCH_KINDS] = {cfg->w_purpose,   cfg->w_skills,   cfg->w_capacity,
                                     cfg->w_packaging, cfg->w_location, cfg->w_follows};
    double sum = 0.0;
    for (int k = 0; k < MATCH_KINDS; k++) sum += raw[k];
    for (int k = 0; k < MATCH_KINDS; k++) out->w[k] = sum > 0.0 ? raw[k] / sum : 0.0;
    if (!(sum > 0.0)) out->w[MATCH_PURPOSE] = 1.0;
}

/* Sum of the agent's energy over the purposes the engagement has. */
static uint32_t shared_energy(const match_agent_t *a, const match_engagement_t *e, size_t *nshared)
{
    uint32_t energy = 0;
    size_t i = 0, j = 0, n = 0;
    while (i < a->npurposes && j < e->npurposes) {
        if (a->purposes[i].purpose < e->purposes[j]) i++;
        else if (a->purposes[i].purpose > e->purposes[j]) j++;
        else {
            energy += a->purposes[i].energy;
            n++;
            i++;
            j++;
        }
    }
    *nshared = n;
    return energy;
}

static size_t shared_skills(const match_agent_t *a, const match_engagement_t *e)
{
    size_t i = 0, j = 0, n = 0;
    while (i < a->nskills && j < e->nskills) {
        if (a->skills[i] < e->skills[j]) i++;
        else if (a->skills[i] > e->skills[j]) j++;
        else {
            n++;
            i++;
            j++;
        }
    }
    return n;
}

static int available_hours(const match_agent_t *a)
{
    int v = a->capacity_hours - a->committed_hours;
    return v > 0 ? v : 0;
}

enum { PLACE_NONE, PLACE_SAME, PLACE_REMOTE };

static int place_fit(const match_agent_t *a, const match_engagement_t *e)
{
    if (a->location != 0 && a->location == e->location) return PLACE_SAME;
    if (a->remote_ok && e->remote_ok) return PLACE_REMOTE;
    return PLACE_NONE;
}

static bool contains_u32(const uint32_t *v, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo < n && v[lo] == x;
}

static bool follows_organisation(const match_agent_t *a, const match_engagement_t *e)
{
    return contains_u32(a->follows, a->nfollows, e->organisation);
}

/* How well each factor fits, 0..1. */
static double fit_purpose(uint32_t shared_energy)
{
    return (shared_energy >= 100 ? 100 : shared_energy) / 100.0;
}

static double fit_skills(const match_agent_t *a, const match_engagement_t *e)
{
    return e->nskills ? (double)shared_skills(a, e) / (double)e->nskills : 1.0;
}

static double fit_capacity(const match_agent_t *a, const match_engagement_t *e)
{
    int avail = available_hours(a);
    return e->hours <= 0 || avail >= e->hours ? 1.0 : (double)avail / e->hours;
}

static double fit_packaging(const match_agent_t *a, const match_engagement_t *e)
{
    return (a->packagings & e->packagings) ? 1.0 : 0.0;
}

static double fit_location(const match_agent_t *a, const match_engagement_t *e)
{
    return place_fit(a, e) != PLACE_NONE ? 1.0 : 0.0;
}

static double fit_follows(const match_agent_t *a, const match_engagement_t *e)
{
    return follows_organisation(a, e) ? 1.0 : 0.0;
}

bool match_score(const match_weights_t *w, const match_agent_t *a, const match_engagement_t *e,
                 match_score_t *out)
{
    memset(out, 0, sizeof *out);
    size_t nshared;
    uint32_t energy = shared_energy(a, e, &nshared);
    if (nshared == 0) return false;
    out->match = true;
    double fit[MATCH_KINDS];
    fit[MATCH_PURPOSE] = fit_purpose(energy);
    fit[MATCH_SKILLS] = fit_skills(a, e);
    fit[MATCH_CAPACITY] = fit_capacity(a, e);
    fit[MATCH_PACKAGING] = fit_packaging(a, e);
    fit[MATCH_LOCATION] = fit_location(a, e);
    fit[MATCH_FOLLOWS] = fit_follows(a, e);
    double score = 0.0;
    for (int k = 0; k < MATCH_KINDS; k++) {
        out->points[k] = w->w[k] * fit[k];
        score += out->points[k];
    }
    out->score = score > 1.0 ? 1.0 : score; /* weights sum to 1; this only absorbs rounding */
    return true;
}

/* The most a pair sharing shared_energy can score, reading neither side's
 * skills nor (unless follows_known) the agent's follows: lets the search skip
 * a candidate without touching its lists. Never below match_score's score. */
static double score_upper_bound(const match_weights_t *w, const match_agent_t *a,
                                const match_engagement_t *e, uint32_t shared_energy,
                                bool follows_known)
{
    double skills = e->nskills == 0 ? 1.0 : a->nskills == 0 ? 0.0 : 1.0;
    return w->w[MATCH_PURPOSE] * fit_purpose(shared_energy) + w->w[MATCH_SKILLS] * skills +
           w->w[MATCH_CAPACITY] * fit_capacity(a, e) + w->w[MATCH_PACKAGING] * fit_packaging(a, e) +
           w->w[MATCH_LOCATION] * fit_location(a, e) +
           w->w[MATCH_FOLLOWS] * (follows_known ? fit_follows(a, e) : 1.0);
}

/* ---------- reasons ---------- */

typedef struct sbuf {
    char *s;
    size_t len, cap;
    bool failed;
} sbuf_t;

static void sb_add(sbuf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_add(sbuf_t *b, const char *fmt, ...)
{
    if (b->failed) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0) {
            b->failed = true;
            return;
        }
        if (b->s && b->len + (size_t)n < b->cap) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 128;
        while (cap <= b->len + (size_t)n) cap *= 2;
        char *s = realloc(b->s, cap);
        if (!s) {
            b->failed = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

static const char *safe_name(const char *s) { return s && *s ? s : "?"; }

/* Join the list with ", " and a final " and " (or " or "). */
static void sb_list_sep(sbuf_t *b, size_t i, size_t n, const char *last)
{
    if (i == 0) return;
    sb_add(b, "%s", i + 1 == n ? last : ", ");
}

#define REASON_MAX_LISTED 6

typedef struct shared_purpose {
    uint32_t purpose, energy;
    const char *name;
} shared_purpose_t;

static int cmp_shared_purpose(const void *x, const void *y)
{
    const shared_purpose_t *a = x, *b = y;
    if (a->energy != b->energy) return a->energy > b->energy ? -1 : 1;
    return strcmp(a->name, b->name);
}

static void explain_purpose(sbuf_t *b, const match_names_t *names, const match_agent_t *a,
                            const match_engagement_t *e)
{
    size_t cap = a->npurposes < e->npurposes ? a->npurposes : e->npurposes;
    shared_purpose_t stack[16];
    shared_purpose_t *list = cap <= 16 ? stack : malloc(cap * sizeof *list);
    if (!list) {
        b->failed = true;
        return;
    }
    size_t n = 0, i = 0, j = 0;
    while (i < a->npurposes && j < e->npurposes) {
        if (a->purposes[i].purpose < e->purposes[j]) i++;
        else if (a->purposes[i].purpose > e->purposes[j]) j++;
        else {
            list[n].purpose = a->purposes[i].purpose;
            list[n].energy = a->purposes[i].energy;
            list[n].name = safe_name(names->purpose(names->ctx, a->purposes[i].purpose));
            n++;
            i++;
            j++;
        }
    }
    qsort(list, n, sizeof *list, cmp_shared_purpose);
    size_t shown = n > REASON_MAX_LISTED ? REASON_MAX_LISTED : n;
    sb_add(b, "Supports ");
    for (size_t k = 0; k < shown; k++) {
        sb_list_sep(b, k, shown == n ? n : shown + 1, " and ");
        sb_add(b, "%s (energy %u)", list[k].name, (unsigned)list[k].energy);
    }
    if (shown < n) sb_add(b, " and %zu more", n - shown);
    if (list != stack) free(list);
}

static int cmp_name_ci(const void *x, const void *y)
{
    const char *const *a = x, *const *b = y;
    int c = strcasecmp(*a, *b);
    return c ? c : strcmp(*a, *b);
}

static void explain_skills(sbuf_t *b, const match_names_t *names, const match_agent_t *a,
                           const match_engagement_t *e)
{
    if (e->nskills == 0) {
        sb_add(b, "Asks for no particular skills");
        return;
    }
    const char *stack[32];
    const char **have = e->nskills <= 32 ? stack : malloc(e->nskills * sizeof *have);
    if (!have) {
        b->failed = true;
        return;
    }
    size_t n = 0, i = 0, j = 0;
    while (i < a->nskills && j < e->nskills) {
        if (a->skills[i] < e->skills[j]) i++;
        else if (a->skills[i] > e->skills[j]) j++;
        else {
            have[n++] = safe_name(e->skill_names ? e->skill_names[j]
                                                 : names->skill(names->ctx, e->skills[j]));
            i++;
            j++;
        }
    }
    const char *noun = e->nskills == 1 ? "skill" : "skills";
    if (n == 0) {
        sb_add(b, e->nskills == 1 ? "Does not have the skill asked for"
                                  : "Has none of the %zu skills asked for", e->nskills);
    } else {
        qsort(have, n, sizeof *have, cmp_name_ci);
        sb_add(b, "Has %zu of %zu %s: ", n, e->nskills, noun);
        size_t shown = n > REASON_MAX_LISTED * 2 ? REASON_MAX_LISTED * 2 : n;
        for (size_t k = 0; k < shown; k++) sb_add(b, "%s%s", k ? ", " : "", have[k]);
        if (shown < n) sb_add(b, " and %zu more", n - shown);
    }
    if (have != stack) free(have);
}

static void explain_capacity(sbuf_t *b, const match_agent_t *a, const match_engagement_t *e)
{
    int avail = available_hours(a);
    if (avail >= e->hours)
        sb_add(b, "Needs %d h/week; %d h/week available", e->hours, avail);
    else if (avail > 0)
        sb_add(b, "Needs %d h/week; only %d h/week available", e->hours, avail);
    else
        sb_add(b, "Needs %d h/week; no hours available (%d committed of %d)", e->hours,
               a->committed_hours, a->capacity_hours);
}

static void sb_packagings(sbuf_t *b, unsigned bits, const char *last)
{
    size_t n = 0, k = 0;
    for (int i = 0; i < MATCH_PACKAGINGS; i++) n += (bits >> i) & 1u;
    if (n == 0) {
        sb_add(b, "none");
        return;
    }
    for (int i = 0; i < MATCH_PACKAGINGS; i++)
        if (bits & (1u << i)) {
            sb_list_sep(b, k++, n, last);
            sb_add(b, "%s", match_packaging_names[i]);
        }
}

static void explain_packaging(sbuf_t *b, const match_agent_t *a, const match_engagement_t *e)
{
    unsigned common = a->packagings & e->packagings;
    if (common) {
        sb_add(b, "Packaging in common: ");
        sb_packagings(b, common, " and ");
    } else {
        sb_add(b, "No packaging in common (offered: ");
        sb_packagings(b, e->packagings, " or ");
        sb_add(b, "; accepted: ");
        sb_packagings(b, a->packagings, " or ");
        sb_add(b, ")");
    }
}

static void explain_location(sbuf_t *b, const match_agent_t *a, const match_engagement_t *e)
{
    switch (place_fit(a, e)) {
    case PLACE_SAME: sb_add(b, "Both in %s", safe_name(e->location_name)); break;
    case PLACE_REMOTE: sb_add(b, "Remote on both sides"); break;
    default: sb_add(b, "Not in the same place, and not remote on both sides"); break;
    }
}

static void explain_follows(sbuf_t *b, const match_agent_t *a, const match_engagement_t *e)
{
    const char *org = e->organisation_name && *e->organisation_name ? e->organisation_name
                                                                    : "the organisation";
    sb_add(b, follows_organisation(a, e) ? "Follows %s" : "Does not follow %s", org);
}

json_t *match_reasons(const match_names_t *names, const match_agent_t *a,
                      const match_engagement_t *e, const match_score_t *s)
{
    json_t *out = json_array();
    if (!out) return NULL;
    for (int k = 0; k < MATCH_KINDS; k++) {
        sbuf_t b = {0};
        switch ((match_kind_t)k) {
        case MATCH_PURPOSE: explain_purpose(&b, names, a, e); break;
        case MATCH_SKILLS: explain_skills(&b, names, a, e); break;
        case MATCH_CAPACITY: explain_capacity(&b, a, e); break;
        case MATCH_PACKAGING: explain_packaging(&b, a, e); break;
        case MATCH_LOCATION: explain_location(&b, a, e); break;
        case MATCH_FOLLOWS: explain_follows(&b, a, e); break;
        case MATCH_KINDS: break;
        }
        json_t *reason = b.failed ? NULL
                                  : json_pack("{s:s, s:s, s:f}", "kind", kind_names[k], "detail",
                                              b.s ? b.s : "", "points", s->points[k]);
        free(b.s);
        if (!reason || json_array_append_new(out, reason) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* ---------- ranking ---------- */

static int64_t quantise(double score) { return llround(score * 1e9); }

static int rank_engagement(int64_t qx, int64_t cx, int64_t ix, int64_t qy, int64_t cy, int64_t iy)
{
    if (qx != qy) return qx > qy ? -1 : 1;
    if (cx != cy) return cx > cy ? -1 : 1;
    if (ix != iy) return ix > iy ? -1 : 1;
    return 0;
}

static int rank_agent(int64_t qx, int64_t ix, int64_t qy, int64_t iy)
{
    if (qx != qy) return qx > qy ? -1 : 1;
    if (ix != iy) return ix < iy ? -1 : 1;
    return 0;
}

int match_compare_engagements(double score_x, const match_engagement_t *x, double score_y,
                              const match_engagement_t *y)
{
    return rank_engagement(quantise(score_x), x->created_us, x->id, quantise(score_y),
                           y->created_us, y->id);
}

int match_compare_agents(double score_x, int64_t x, double score_y, int64_t y)
{
    return rank_agent(quantise(score_x), x, quantise(score_y), y);
}

/* ======================================================================
 * Rows: parsing the text columns
 * ====================================================================== */

static int64_t col_int(const PGresult *res, int i, int c)
{
    if (c >= PQnfields(res) || PQgetisnull(res, i, c)) return 0;
    return strtoll(PQgetvalue(res, i, c), NULL, 10);
}

static bool col_bool(const PGresult *res, int i, int c)
{
    return c < PQnfields(res) && !PQgetisnull(res, i, c) && PQgetvalue(res, i, c)[0] == 't';
}

static const char *col_text(const PGresult *res, int i, int c)
{
    if (c >= PQnfields(res) || PQgetisnull(res, i, c)) return NULL;
    return PQgetvalue(res, i, c);
}

void match_agent_row_read(const PGresult *res, int i, match_agent_row_t *out)
{
    memset(out, 0, sizeof *out);
    out->id = col_int(res, i, 0);
    out->discoverable = col_bool(res, i, 1);
    out->remote_ok = col_bool(res, i, 2);
    out->capacity_hours = (int)col_int(res, i, 3);
    int64_t committed = col_int(res, i, 4);
    out->committed_hours = committed > 1000000 ? 1000000 : committed < 0 ? 0 : (int)committed;
    out->packagings = col_text(res, i, 5);
    out->location = col_text(res, i, 6);
    out->location_key = col_text(res, i, 7);
    out->purposes = col_text(res, i, 8);
    out->skills = col_text(res, i, 9);
    out->follows = col_text(res, i, 10);
    out->excluded = col_text(res, i, 11);
}

void match_engagement_row_read(const PGresult *res, int i, match_engagement_row_t *out)
{
    memset(out, 0, sizeof *out);
    out->id = col_int(res, i, 0);
    out->organisation_id = col_int(res, i, 1);
    out->created_us = col_int(res, i, 2);
    out->open = col_bool(res, i, 3);
    out->remote_ok = col_bool(res, i, 4);
    out->hours = (int)col_int(res, i, 5);
    out->packagings = col_text(res, i, 6);
    out->location = col_text(res, i, 7);
    out->location_key = col_text(res, i, 8);
    out->purposes = col_text(res, i, 9);
    out->skills = col_text(res, i, 10);
    out->organisation_name = col_text(res, i, 11);
    out->excluded = col_text(res, i, 12);
}

/* Growable arrays used while parsing and searching. */
static int grow(void **p, uint32_t *cap, size_t need, size_t elem)
{
    if (need <= *cap) return 0;
    if (need > UINT32_MAX / 2) return -1;
    size_t cap2 = *cap ? *cap : 8;
    while (cap2 < need) cap2 *= 2;
    void *q = realloc(*p, cap2 * elem);
    if (!q) return -1;
    *p = q;
    *cap = (uint32_t)cap2;
    return 0;
}

/* A skill of a row: its number, the number or text of its spelling, and
 * where it was in the row (to keep the first of duplicates). */
typedef struct skill_pair {
    uint32_t skill;
    uint32_t label;
    uint32_t order;
    const char *name;
} skill_pair_t;

static int cmp_skill_pair(const void *x, const void *y)
{
    const skill_pair_t *a = x, *b = y;
    if (a->skill != b->skill) return a->skill < b->skill ? -1 : 1;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Sort by skill, keep the first of each; returns how many remain. */
static size_t unique_pairs(skill_pair_t *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_skill_pair);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i].skill != v[k - 1].skill) v[k++] = v[i];
    return k;
}

typedef struct raw_energy {
    int64_t purpose;
    uint32_t energy;
} raw_energy_t;

/* What a row's lists hold, before ids are mapped to the index's numbers. */
typedef struct parsed {
    raw_energy_t *energies;
    uint32_t nenergies, capenergies;
    int64_t *ids;              /* engagement purposes, or follows */
    uint32_t nids, capids;
    int64_t *excluded;
    uint32_t nexcluded, capexcluded;
    json_t *skills;            /* [[key, name], ...] or NULL */
    /* mapped, for the view */
    match_energy_t *m_energies;
    uint32_t capm_energies;
    uint32_t *m_purposes, *m_skills, *m_follows;
    uint32_t capm_purposes, capm_skills, capm_follows;
    struct skill_pair *m_pairs;
    uint32_t capm_pairs;
    const char **m_names;      /* parallel to m_skills */
    uint32_t capm_names;
} parsed_t;

static void parsed_free(parsed_t *p)
{
    free(p->energies);
    free(p->ids);
    free(p->excluded);
    json_decref(p->skills);
    free(p->m_energies);
    free(p->m_purposes);
    free(p->m_skills);
    free(p->m_pairs);
    free(p->m_names);
    free(p->m_follows);
    memset(p, 0, sizeof *p);
}

static bool parse_i64(const char **s, int64_t *out)
{
    const char *p = *s;
    int64_t v = 0;
    if (*p < '0' || *p > '9') return false;
    while (*p >= '0' && *p <= '9') {
        if (v > (INT64_MAX - 9) / 10) return false;
        v = v * 10 + (*p - '0');
        p++;
    }
    *s = p;
    *out = v;
    return true;
}

/* "1,2,3" (NULL or "" = empty) */
static int parse_ids(const char *text, int64_t **v, uint32_t *n, uint32_t *cap)
{
    *n = 0;
    if (!text || !*text) return 0;
    const char *s = text;
    for (;;) {
        int64_t id;
        if (!parse_i64(&s, &id)) return -1;
        if (grow((void **)v, cap, (size_t)*n + 1, sizeof **v)) return -1;
        (*v)[(*n)++] = id;
        if (*s == '\0') return 0;
        if (*s != ',') return -1;
        s++;
    }
}

/* "purpose:energy,..." */
static int parse_energies(const char *text, parsed_t *p)
{
    p->nenergies = 0;
    if (!text || !*text) return 0;
    const char *s = text;
    for (;;) {
        int64_t id, energy;
        if (!parse_i64(&s, &id) || *s++ != ':' || !parse_i64(&s, &energy)) return -1;
        if (grow((void **)&p->energies, &p->capenergies, (size_t)p->nenergies + 1,
                 sizeof *p->energies))
            return -1;
        if (energy > 0) { /* energy is 1..100; none is no share at all */
            p->energies[p->nenergies].purpose = id;
            p->energies[p->nenergies].energy = energy > 100 ? 100 : (uint32_t)energy;
            p->nenergies++;
        }
        if (*s == '\0') return 0;
        if (*s != ',') return -1;
        s++;
    }
}

static int parse_skills(const char *text, parsed_t *p)
{
    json_decref(p->skills);
    p->skills = NULL;
    if (!text || !*text) return 0;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
    if (!json_is_array(j)) {
        json_decref(j);
        return -1;
    }
    size_t i;
    json_t *pair;
    json_array_foreach(j, i, pair) {
        if (!json_is_array(pair) || json_array_size(pair) != 2 ||
            !json_is_string(json_array_get(pair, 0)) || !json_is_string(json_array_get(pair, 1))) {
            json_decref(j);
            return -1;
        }
    }
    p->skills = j;
    return 0;
}

static const char *skill_key(const parsed_t *p, size_t i)
{
    return json_string_value(json_array_get(json_array_get(p->skills, i), 0));
}

static const char *skill_name(const parsed_t *p, size_t i)
{
    return json_string_value(json_array_get(json_array_get(p->skills, i), 1));
}

static size_t skill_count(const parsed_t *p) { return p->skills ? json_array_size(p->skills) : 0; }

static int cmp_u32(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_i64(const void *x, const void *y)
{
    int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
    return a < b ? -1 : a > b;
}

static int cmp_energy(const void *x, const void *y)
{
    const match_energy_t *a = x, *b = y;
    return a->purpose < b->purpose ? -1 : a->purpose > b->purpose;
}

static size_t unique_u32(uint32_t *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_u32);
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[k - 1]) v[k++] = v[i];
    return k;
}

static size_t unique_energies(match_energy_t *v, size_t n)
{
    if (n == 0) return 0;
    qsort(v, n, sizeof *v, cmp_energy);
    size_t k = 1;
    for (size_t i = 1; i < n; i++) {
        if (v[i].purpose != v[k - 1].purpose) v[k++] = v[i];
        else v[k - 1].energy += v[i].energy;
    }
    return k;
}

/* The first index of sorted v whose value is not below x (n if none). */
static size_t lower_bound_i64(const int64_t *v, size_t n, int64_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] < x) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static bool contains_i64(const int64_t *v, size_t n, int64_t x)
{
    size_t i = lower_bound_i64(v, n, x);
    return i < n && v[i] == x;
}

/* ======================================================================
 * The index
 * ====================================================================== */

/* Interned strings (skills, places): key -> small number, with a display name. */
typedef struct interner {
    uint32_t *key_off, *name_off;
    uint32_t n, cap;
    uint32_t *table;           /* entry + 1; 0 = empty; size tcap (power of two) */
    uint32_t tcap;
} interner_t;

/* int64 id -> small number (open addressing, linear probing; key 0 = empty). */
typedef struct idmap {
    int64_t *keys;
    uint32_t *vals;
    uint32_t cap, n;           /* cap: power of two or 0 */
} idmap_t;

/* An agent's entry in a posting list: its slot and its energy for the purpose. */
#define POSTING_ENERGY_BITS 7
#define POSTING_MAX_SLOT ((1u << (32 - POSTING_ENERGY_BITS)) - 1)
#define POSTING_ENTRY(slot, energy) (((slot) << POSTING_ENERGY_BITS) | (energy))
#define POSTING_SLOT(entry) ((entry) >> POSTING_ENERGY_BITS)
#define POSTING_ENERGY(entry) ((entry) & ((1u << POSTING_ENERGY_BITS) - 1))

typedef struct posting {
    uint32_t *agents;          /* POSTING_ENTRY(slot, energy) */
    uint32_t nagents, capagents;
    uint32_t *engagements;
    uint32_t nengagements, capengagements;
} posting_t;

enum { REC_LIVE = 1, REC_REMOTE = 2 };

typedef struct agent_rec {
    int64_t id;
    uint32_t purposes_off;     /* energies pool */
    uint32_t skills_off;       /* words pool */
    uint32_t follows_off;      /* words pool */
    uint32_t nfollows;
    uint32_t location;
    uint16_t npurposes, nskills;
    uint16_t capacity, committed;
    uint8_t packagings, flags;
} agent_rec_t;

typedef struct engagement_rec {
    int64_t id;
    int64_t created_us;
    uint32_t purposes_off;
    uint32_t skills_off;       /* nskills skill numbers, then their nskills labels */
    uint32_t organisation;
    uint32_t location;
    uint32_t location_label;
    uint16_t npurposes, nskills;
    uint8_t hours, packagings, flags;
} engagement_rec_t;

struct match_index {
    char *str;                 /* every string, NUL-terminated, by offset */
    uint32_t nstr, capstr;
    interner_t skills, places;  /* by lower-case key */
    interner_t labels;          /* exact spellings, for the sentences */
    /* purposes and organisations: database id -> number; names by number */
    idmap_t purpose_ids, org_ids;
    uint32_t *purpose_name, *org_name;
    uint32_t npurposes, cappurposes, norgs, caporgs;
    posting_t *postings;       /* by purpose number */
    /* variable-length parts of the records */
    match_energy_t *energies;
    uint32_t nenergies, capenergies, waste_energies;
    uint32_t *words;
    uint32_t nwords, capwords, waste_words;
    /* records; a freed slot is reused */
    agent_rec_t *agents;
    uint32_t nagents, capagents;
    uint32_t *free_agents;
    uint32_t nfree_agents, capfree_agents;
    idmap_t agent_ids;
    engagement_rec_t *engagements;
    uint32_t nengagements, capengagements;
    uint32_t *free_engagements;
    uint32_t nfree_engagements, capfree_engagements;
    idmap_t engagement_ids;
    size_t live_agents, live_engagements;
    parsed_t scratch;          /* for puts (the single writer) */
};

/* ---------- strings ---------- */

static int str_add(match_index_t *ix, const char *s, uint32_t *off)
{
    size_t n = strlen(s) + 1;
    if ((size_t)ix->nstr + n > UINT32_MAX / 2) return -1;
    if (grow((void **)&ix->str, &ix->capstr, (size_t)ix->nstr + n, 1)) return -1;
    memcpy(ix->str + ix->nstr, s, n);
    *off = ix->nstr;
    ix->nstr += (uint32_t)n;
    return 0;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static uint32_t intern_find(const match_index_t *ix, const interner_t *in, const char *key)
{
    if (in->tcap == 0) return UINT32_MAX;
    uint32_t mask = in->tcap - 1;
    for (uint32_t h = (uint32_t)hash_str(key) & mask;; h = (h + 1) & mask) {
        uint32_t e = in->table[h];
        if (e == 0) return UINT32_MAX;
        if (strcmp(ix->str + in->key_off[e - 1], key) == 0) return e - 1;
    }
}

static int intern_rehash(const match_index_t *ix, interner_t *in, uint32_t tcap)
{
    uint32_t *t = calloc(tcap, sizeof *t);
    if (!t) return -1;
    for (uint32_t e = 0; e < in->n; e++) {
        uint32_t h = (uint32_t)hash_str(ix->str + in->key_off[e]) & (tcap - 1);
        while (t[h]) h = (h + 1) & (tcap - 1);
        t[h] = e + 1;
    }
    free(in->table);
    in->table = t;
    in->tcap = tcap;
    return 0;
}

/* The number of key, adding it (with this display name) when new; UINT32_MAX out of memory. */
static uint32_t intern_add(match_index_t *ix, interner_t *in, const char *key, const char *name)
{
    uint32_t found = intern_find(ix, in, key);
    if (found != UINT32_MAX) return found;
    if (in->n >= UINT32_MAX / 4) return UINT32_MAX;
    if ((size_t)(in->n + 1) * 2 > in->tcap &&
        intern_rehash(ix, in, in->tcap ? in->tcap * 2 : 64) != 0)
        return UINT32_MAX;
    uint32_t cap = in->cap;
    if (grow((void **)&in->key_off, &cap, (size_t)in->n + 1, sizeof *in->key_off)) return UINT32_MAX;
    cap = in->cap;
    if (grow((void **)&in->name_off, &cap, (size_t)in->n + 1, sizeof *in->name_off))
        return UINT32_MAX;
    in->cap = cap;
    uint32_t koff, noff;
    if (str_add(ix, key, &koff) || str_add(ix, name ? name : key, &noff)) return UINT32_MAX;
    uint32_t e = in->n++;
    in->key_off[e] = koff;
    in->name_off[e] = noff;
    uint32_t mask = in->tcap - 1;
    uint32_t h = (uint32_t)hash_str(key) & mask;
    while (in->table[h]) h = (h + 1) & mask;
    in->table[h] = e + 1;
    return e;
}

static void intern_free(interner_t *in)
{
    free(in->key_off);
    free(in->name_off);
    free(in->table);
    memset(in, 0, sizeof *in);
}

/* ---------- id maps ---------- */

static uint32_t hash_id(int64_t id, uint32_t mask)
{
    return (uint32_t)(((uint64_t)id * 0x9E3779B97F4A7C15ULL) >> 32) & mask;
}

static uint32_t idmap_get(const idmap_t *m, int64_t id)
{
    if (m->cap == 0 || id == 0) return UINT32_MAX;
    uint32_t mask = m->cap - 1;
    for (uint32_t h = hash_id(id, mask);; h = (h + 1) & mask) {
        if (m->keys[h] == id) return m->vals[h];
        if (m->keys[h] == 0) return UINT32_MAX;
    }
}

static int idmap_put(idmap_t *m, int64_t id, uint32_t val);

static int idmap_resize(idmap_t *m, uint32_t cap)
{
    idmap_t n = {calloc(cap, sizeof(int64_t)), calloc(cap, sizeof(uint32_t)), cap, 0};
    if (!n.keys || !n.vals) {
        free(n.keys);
        free(n.vals);
        return -1;
    }
    for (uint32_t i = 0; i < m->cap; i++)
        if (m->keys[i]) idmap_put(&n, m->keys[i], m->vals[i]);
    free(m->keys);
    free(m->vals);
    *m = n;
    return 0;
}

static int idmap_put(idmap_t *m, int64_t id, uint32_t val)
{
    if (id == 0) return -1;
    if ((size_t)(m->n + 1) * 2 > m->cap) {
        if (m->cap >= (1u << 30) || idmap_resize(m, m->cap ? m->cap * 2 : 64)) return -1;
    }
    uint32_t mask = m->cap - 1;
    uint32_t h = hash_id(id, mask);
    while (m->keys[h] && m->keys[h] != id) h = (h + 1) & mask;
    if (!m->keys[h]) m->n++;
    m->keys[h] = id;
    m->vals[h] = val;
    return 0;
}

static void idmap_del(idmap_t *m, int64_t id)
{
    if (m->cap == 0 || id == 0) return;
    uint32_t mask = m->cap - 1;
    uint32_t h = hash_id(id, mask);
    while (m->keys[h] != id) {
        if (m->keys[h] == 0) return;
        h = (h + 1) & mask;
    }
    /* backward-shift deletion keeps probe chains intact */
    uint32_t hole = h;
    for (uint32_t j = (h + 1) & mask; m->keys[j]; j = (j + 1) & mask) {
        uint32_t home = hash_id(m->keys[j], mask);
        bool movable = hole <= j ? (home <= hole || home > j) : (home <= hole && home > j);
        if (movable) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->keys[hole] = 0;
    m->n--;
}

static void idmap_free(idmap_t *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ---------- construction ---------- */

match_index_t *match_index_new(void) { return calloc(1, sizeof(match_index_t)); }

void match_index_free(match_index_t *ix)
{
    if (!ix) return;
    free(ix->str);
    intern_free(&ix->skills);
    intern_free(&ix->places);
    intern_free(&ix->labels);
    idmap_free(&ix->purpose_ids);
    idmap_free(&ix->org_ids);
    free(ix->purpose_name);
    free(ix->org_name);
    for (uint32_t i = 0; i < ix->npurposes; i++) {
        free(ix->postings[i].agents);
        free(ix->postings[i].engagements);
    }
    free(ix->postings);
    free(ix->energies);
    free(ix->words);
    free(ix->agents);
    free(ix->free_agents);
    idmap_free(&ix->agent_ids);
    free(ix->engagements);
    free(ix->free_engagements);
    idmap_free(&ix->engagement_ids);
    parsed_free(&ix->scratch);
    free(ix);
}

/* The number of purpose id, adding it (unnamed) when new. */
static uint32_t purpose_number(match_index_t *ix, int64_t id)
{
    uint32_t n = idmap_get(&ix->purpose_ids, id);
    if (n != UINT32_MAX) return n;
    if (ix->npurposes >= (1u << 24)) return UINT32_MAX;
    uint32_t cap = ix->cappurposes;
    if (grow((void **)&ix->purpose_name, &cap, (size_t)ix->npurposes + 1, sizeof *ix->purpose_name))
        return UINT32_MAX;
    cap = ix->cappurposes;
    if (grow((void **)&ix->postings, &cap, (size_t)ix->npurposes + 1, sizeof *ix->postings))
        return UINT32_MAX;
    ix->cappurposes = cap;
    uint32_t off;
    if (str_add(ix, "", &off)) return UINT32_MAX;
    n = ix->npurposes;
    if (idmap_put(&ix->purpose_ids, id, n)) return UINT32_MAX;
    ix->purpose_name[n] = off;
    memset(&ix->postings[n], 0, sizeof ix->postings[n]);
    ix->npurposes++;
    return n;
}

static uint32_t org_number(match_index_t *ix, int64_t id)
{
    uint32_t n = idmap_get(&ix->org_ids, id);
    if (n != UINT32_MAX) return n;
    uint32_t cap = ix->caporgs;
    if (grow((void **)&ix->org_name, &cap, (size_t)ix->norgs + 1, sizeof *ix->org_name))
        return UINT32_MAX;
    ix->caporgs = cap;
    uint32_t off;
    if (str_add(ix, "", &off)) return UINT32_MAX;
    n = ix->norgs;
    if (idmap_put(&ix->org_ids, id, n)) return UINT32_MAX;
    ix->org_name[n] = off;
    ix->norgs++;
    return n;
}

int match_index_put_purpose(match_index_t *ix, int64_t id, const char *name)
{
    uint32_t n = purpose_number(ix, id);
    if (n == UINT32_MAX) return -1;
    return str_add(ix, name ? name : "", &ix->purpose_name[n]);
}

int match_index_put_organisation(match_index_t *ix, int64_t id, const char *name)
{
    uint32_t n = org_number(ix, id);
    if (n == UINT32_MAX) return -1;
    return str_add(ix, name ? name : "", &ix->org_name[n]);
}

size_t match_index_agent_count(const match_index_t *ix) { return ix->live_agents; }
size_t match_index_engagement_count(const match_index_t *ix) { return ix->live_engagements; }

size_t match_index_memory(const match_index_t *ix)
{
    size_t b = sizeof *ix + ix->capstr;
    b += ((size_t)ix->skills.cap * 2 + ix->skills.tcap) * sizeof(uint32_t);
    b += ((size_t)ix->places.cap * 2 + ix->places.tcap) * sizeof(uint32_t);
    b += ((size_t)ix->labels.cap * 2 + ix->labels.tcap) * sizeof(uint32_t);
    b += ((size_t)ix->purpose_ids.cap + ix->org_ids.cap + ix->agent_ids.cap +
          ix->engagement_ids.cap) * (sizeof(int64_t) + sizeof(uint32_t));
    b += (size_t)ix->cappurposes * (sizeof(uint32_t) + sizeof(posting_t)) +
         (size_t)ix->caporgs * sizeof(uint32_t);
    for (uint32_t i = 0; i < ix->npurposes; i++)
        b += ((size_t)ix->postings[i].capagents + ix->postings[i].capengagements) * sizeof(uint32_t);
    b += (size_t)ix->capenergies * sizeof(match_energy_t) + (size_t)ix->capwords * sizeof(uint32_t);
    b += (size_t)ix->capagents * sizeof(agent_rec_t) + (size_t)ix->capfree_agents * sizeof(uint32_t);
    b += (size_t)ix->capengagements * sizeof(engagement_rec_t) +
         (size_t)ix->capfree_engagements * sizeof(uint32_t);
    return b;
}

/* ---------- postings ---------- */

static int posting_add(uint32_t **v, uint32_t *n, uint32_t *cap, uint32_t slot)
{
    if (grow((void **)v, cap, (size_t)*n + 1, sizeof **v)) return -1;
    (*v)[(*n)++] = slot;
    return 0;
}

static void posting_remove(uint32_t *v, uint32_t *n, uint32_t slot, unsigned shift)
{
    for (uint32_t i = 0; i < *n; i++)
        if (v[i] >> shift == slot) {
            v[i] = v[--*n];
            return;
        }
}

/* ---------- pools ---------- */

static void compact_pools(match_index_t *ix);

static int words_add(match_index_t *ix, const uint32_t *v, size_t n, uint32_t *off)
{
    if (grow((void **)&ix->words, &ix->capwords, (size_t)ix->nwords + n, sizeof *ix->words))
        return -1;
    if (n) memcpy(ix->words + ix->nwords, v, n * sizeof *v);
    *off = ix->nwords;
    ix->nwords += (uint32_t)n;
    return 0;
}

static int energies_add(match_index_t *ix, const match_energy_t *v, size_t n, uint32_t *off)
{
    if (grow((void **)&ix->energies, &ix->capenergies, (size_t)ix->nenergies + n,
             sizeof *ix->energies))
        return -1;
    if (n) memcpy(ix->energies + ix->nenergies, v, n * sizeof *v);
    *off = ix->nenergies;
    ix->nenergies += (uint32_t)n;
    return 0;
}

/* Rewrite the pools without the parts of replaced and removed records. */
static void compact_pools(match_index_t *ix)
{
    size_t live_words = 0, live_energies = 0;
    for (uint32_t s = 0; s < ix->nagents; s++)
        if (ix->agents[s].flags & REC_LIVE) {
            live_energies += ix->agents[s].npurposes;
            live_words += (size_t)ix->agents[s].nskills + ix->agents[s].nfollows;
        }
    for (uint32_t s = 0; s < ix->nengagements; s++)
        if (ix->engagements[s].flags & REC_LIVE)
            live_words += ix->engagements[s].npurposes + 2u * ix->engagements[s].nskills;
    uint32_t *words = malloc(((size_t)live_words + 1) * sizeof *words);
    match_energy_t *energies = malloc(((size_t)live_energies + 1) * sizeof *energies);
    if (!words || !energies) { /* keep the old pools; try again later */
        free(words);
        free(energies);
        return;
    }
    uint32_t nw = 0, ne = 0;
    for (uint32_t s = 0; s < ix->nagents; s++) {
        agent_rec_t *a = &ix->agents[s];
        if (!(a->flags & REC_LIVE)) continue;
        memcpy(energies + ne, ix->energies + a->purposes_off, a->npurposes * sizeof *energies);
        a->purposes_off = ne;
        ne += a->npurposes;
        memcpy(words + nw, ix->words + a->skills_off, a->nskills * sizeof *words);
        a->skills_off = nw;
        nw += a->nskills;
        memcpy(words + nw, ix->words + a->follows_off, a->nfollows * sizeof *words);
        a->follows_off = nw;
        nw += a->nfollows;
    }
    for (uint32_t s = 0; s < ix->nengagements; s++) {
        engagement_rec_t *e = &ix->engagements[s];
        if (!(e->flags & REC_LIVE)) continue;
        memcpy(words + nw, ix->words + e->purposes_off, e->npurposes * sizeof *words);
        e->purposes_off = nw;
        nw += e->npurposes;
        memcpy(words + nw, ix->words + e->skills_off, 2u * e->nskills * sizeof *words);
        e->skills_off = nw;
        nw += 2u * e->nskills;
    }
    free(ix->words);
    free(ix->energies);
    ix->words = words;
    ix->nwords = nw;
    ix->capwords = (uint32_t)live_words + 1;
    ix->waste_words = 0;
    ix->energies = energies;
    ix->nenergies = ne;
    ix->capenergies = (uint32_t)live_energies + 1;
    ix->waste_energies = 0;
}

static void maybe_compact(match_index_t *ix)
{
    if ((ix->waste_words > 65536 && ix->waste_words > ix->nwords / 2) ||
        (ix->waste_energies > 65536 && ix->waste_energies > ix->nenergies / 2))
        compact_pools(ix);
}

/* ---------- agents ---------- */

static int clamp_int(int v, int lo, int hi) { return v < lo ? lo : v > hi ? hi : v; }

static void agent_unlink(match_index_t *ix, uint32_t slot)
{
    agent_rec_t *a = &ix->agents[slot];
    for (uint32_t i = 0; i < a->npurposes; i++) {
        posting_t *p = &ix->postings[ix->energies[a->purposes_off + i].purpose];
        posting_remove(p->agents, &p->nagents, slot, POSTING_ENERGY_BITS);
    }
    ix->waste_energies += a->npurposes;
    ix->waste_words += a->nskills + a->nfollows;
}

void match_index_remove_agent(match_index_t *ix, int64_t id)
{
    uint32_t slot = idmap_get(&ix->agent_ids, id);
    if (slot == UINT32_MAX) return;
    agent_unlink(ix, slot);
    ix->agents[slot].flags = 0;
    idmap_del(&ix->agent_ids, id);
    if (grow((void **)&ix->free_agents, &ix->capfree_agents, (size_t)ix->nfree_agents + 1,
             sizeof *ix->free_agents) == 0)
        ix->free_agents[ix->nfree_agents++] = slot;
    ix->live_agents--;
    maybe_compact(ix);
}

/* Parse the lists of an agent row into p (database ids, strings). */
static int parse_agent(const match_agent_row_t *row, parsed_t *p)
{
    if (parse_energies(row->purposes, p)) return -1;
    if (parse_skills(row->skills, p)) return -1;
    if (parse_ids(row->follows, &p->ids, &p->nids, &p->capids)) return -1;
    if (parse_ids(row->excluded, &p->excluded, &p->nexcluded, &p->capexcluded)) return -1;
    if (p->nexcluded) qsort(p->excluded, p->nexcluded, sizeof *p->excluded, cmp_i64);
    return 0;
}

static int parse_engagement(const match_engagement_row_t *row, parsed_t *p)
{
    if (parse_ids(row->purposes, &p->ids, &p->nids, &p->capids)) return -1;
    if (parse_skills(row->skills, p)) return -1;
    if (parse_ids(row->excluded, &p->excluded, &p->nexcluded, &p->capexcluded)) return -1;
    if (p->nexcluded) qsort(p->excluded, p->nexcluded, sizeof *p->excluded, cmp_i64);
    return 0;
}

static int reserve_mapped(parsed_t *p, size_t energies, size_t purposes, size_t skills,
                          size_t follows)
{
    if (grow((void **)&p->m_energies, &p->capm_energies, energies + 1, sizeof *p->m_energies) ||
        grow((void **)&p->m_purposes, &p->capm_purposes, purposes + 1, sizeof *p->m_purposes) ||
        grow((void **)&p->m_skills, &p->capm_skills, 2 * skills + 1, sizeof *p->m_skills) ||
        grow((void **)&p->m_pairs, &p->capm_pairs, skills + 1, sizeof *p->m_pairs) ||
        grow((void **)&p->m_names, &p->capm_names, skills + 1, sizeof *p->m_names) ||
        grow((void **)&p->m_follows, &p->capm_follows, follows + 1, sizeof *p->m_follows))
        return -1;
    return 0;
}

int match_index_put_agent(match_index_t *ix, const match_agent_row_t *row)
{
    if (!row->discoverable) {
        match_index_remove_agent(ix, row->id);
        return 0;
    }
    parsed_t *p = &ix->scratch;
    if (row->id <= 0 || parse_agent(row, p)) return -1;
    size_t nskills = skill_count(p);
    if (p->nenergies > UINT16_MAX || nskills > UINT16_MAX ||
        reserve_mapped(p, p->nenergies, 0, nskills, p->nids))
        return -1;
    for (uint32_t i = 0; i < p->nenergies; i++) {
        uint32_t n = purpose_number(ix, p->energies[i].purpose);
        if (n == UINT32_MAX) return -1;
        p->m_energies[i].purpose = n;
        p->m_energies[i].energy = p->energies[i].energy;
    }
    size_t ne = unique_energies(p->m_energies, p->nenergies);
    for (size_t i = 0; i < nskills; i++) {
        uint32_t n = intern_add(ix, &ix->skills, skill_key(p, i), skill_name(p, i));
        if (n == UINT32_MAX) return -1;
        p->m_skills[i] = n;
    }
    size_t ns = unique_u32(p->m_skills, nskills);
    for (uint32_t i = 0; i < p->nids; i++) {
        uint32_t n = org_number(ix, p->ids[i]);
        if (n == UINT32_MAX) return -1;
        p->m_follows[i] = n;
    }
    size_t nf = unique_u32(p->m_follows, p->nids);
    uint32_t place = 0;
    if (row->location_key && *row->location_key) {
        uint32_t n = intern_add(ix, &ix->places, row->location_key, row->location);
        if (n == UINT32_MAX) return -1;
        place = n + 1;
    }
    /* room first, so that a failure below leaves the index as it was */
    if (grow((void **)&ix->energies, &ix->capenergies, (size_t)ix->nenergies + ne,
             sizeof *ix->energies) ||
        grow((void **)&ix->words, &ix->capwords, (size_t)ix->nwords + ns + nf, sizeof *ix->words) ||
        grow((void **)&ix->agents, &ix->capagents, (size_t)ix->nagents + 1, sizeof *ix->agents))
        return -1;
    for (size_t i = 0; i < ne; i++) {
        posting_t *pp = &ix->postings[p->m_energies[i].purpose];
        if (grow((void **)&pp->agents, &pp->capagents, (size_t)pp->nagents + 1, sizeof *pp->agents))
            return -1;
    }
    uint32_t slot = idmap_get(&ix->agent_ids, row->id);
    if (slot != UINT32_MAX) {
        agent_unlink(ix, slot);
    } else {
        slot = ix->nfree_agents ? ix->free_agents[ix->nfree_agents - 1] : ix->nagents;
        if (slot > POSTING_MAX_SLOT) return -1;
        if (idmap_put(&ix->agent_ids, row->id, slot)) return -1;
        if (ix->nfree_agents) ix->nfree_agents--;
        else ix->nagents++;
        ix->live_agents++;
    }
    agent_rec_t *a = &ix->agents[slot];
    memset(a, 0, sizeof *a);
    a->id = row->id;
    energies_add(ix, p->m_energies, ne, &a->purposes_off);
    words_add(ix, p->m_skills, ns, &a->skills_off);
    words_add(ix, p->m_follows, nf, &a->follows_off);
    a->npurposes = (uint16_t)ne;
    a->nskills = (uint16_t)ns;
    a->nfollows = (uint32_t)nf;
    a->location = place;
    a->capacity = (uint16_t)clamp_int(row->capacity_hours, 0, 1000);
    a->committed = (uint16_t)clamp_int(row->committed_hours, 0, 60000);
    a->packagings = (uint8_t)match_packagings_from_text(row->packagings);
    a->flags = REC_LIVE | (row->remote_ok ? REC_REMOTE : 0);
    for (size_t i = 0; i < ne; i++) {
        posting_t *pp = &ix->postings[p->m_energies[i].purpose];
        uint32_t energy = p->m_energies[i].energy > 100 ? 100 : p->m_energies[i].energy;
        posting_add(&pp->agents, &pp->nagents, &pp->capagents, POSTING_ENTRY(slot, energy));
    }
    maybe_compact(ix);
    return 0;
}

/* ---------- engagements ---------- */

static void engagement_unlink(match_index_t *ix, uint32_t slot)
{
    engagement_rec_t *e = &ix->engagements[slot];
    for (uint32_t i = 0; i < e->npurposes; i++) {
        posting_t *p = &ix->postings[ix->words[e->purposes_off + i]];
        posting_remove(p->engagements, &p->nengagements, slot, 0);
    }
    ix->waste_words += e->npurposes + 2u * e->nskills;
}

void match_index_remove_engagement(match_index_t *ix, int64_t id)
{
    uint32_t slot = idmap_get(&ix->engagement_ids, id);
    if (slot == UINT32_MAX) return;
    engagement_unlink(ix, slot);
    ix->engagements[slot].flags = 0;
    idmap_del(&ix->engagement_ids, id);
    if (grow((void **)&ix->free_engagements, &ix->capfree_engagements,
             (size_t)ix->nfree_engagements + 1, sizeof *ix->free_engagements) == 0)
        ix->free_engagements[ix->nfree_engagements++] = slot;
    ix->live_engagements--;
    maybe_compact(ix);
}

int match_index_put_engagement(match_index_t *ix, const match_engagement_row_t *row)
{
    if (!row->open) {
        match_index_remove_engagement(ix, row->id);
        return 0;
    }
    parsed_t *p = &ix->scratch;
    if (row->id <= 0 || parse_engagement(row, p)) return -1;
    size_t nskills = skill_count(p);
    if (p->nids > UINT16_MAX || nskills > UINT16_MAX ||
        reserve_mapped(p, 0, p->nids, nskills, 0))
        return -1;
    for (uint32_t i = 0; i < p->nids; i++) {
        uint32_t n = purpose_number(ix, p->ids[i]);
        if (n == UINT32_MAX) return -1;
        p->m_purposes[i] = n;
    }
    size_t np = unique_u32(p->m_purposes, p->nids);
    for (size_t i = 0; i < nskills; i++) {
        uint32_t n = intern_add(ix, &ix->skills, skill_key(p, i), skill_name(p, i));
        uint32_t label = intern_add(ix, &ix->labels, skill_name(p, i), NULL);
        if (n == UINT32_MAX || label == UINT32_MAX) return -1;
        p->m_pairs[i] = (skill_pair_t){n, label, (uint32_t)i, NULL};
    }
    size_t ns = unique_pairs(p->m_pairs, nskills);
    for (size_t i = 0; i < ns; i++) {
        p->m_skills[i] = p->m_pairs[i].skill;
        p->m_skills[ns + i] = p->m_pairs[i].label;
    }
    uint32_t org = org_number(ix, row->organisation_id);
    if (org == UINT32_MAX) return -1;
    uint32_t place = 0, place_label = 0;
    if (row->location_key && *row->location_key) {
        const char *spelt = row->location ? row->location : row->location_key;
        uint32_t n = intern_add(ix, &ix->places, row->location_key, spelt);
        uint32_t label = intern_add(ix, &ix->labels, spelt, NULL);
        if (n == UINT32_MAX || label == UINT32_MAX) return -1;
        place = n + 1;
        place_label = label + 1;
    }
    if (grow((void **)&ix->words, &ix->capwords, (size_t)ix->nwords + np + 2 * ns,
             sizeof *ix->words) ||
        grow((void **)&ix->engagements, &ix->capengagements, (size_t)ix->nengagements + 1,
             sizeof *ix->engagements))
        return -1;
    for (size_t i = 0; i < np; i++) {
        posting_t *pp = &ix->postings[p->m_purposes[i]];
        if (grow((void **)&pp->engagements, &pp->capengagements, (size_t)pp->nengagements + 1,
                 sizeof *pp->engagements))
            return -1;
    }
    uint32_t slot = idmap_get(&ix->engagement_ids, row->id);
    if (slot != UINT32_MAX) {
        engagement_unlink(ix, slot);
    } else {
        slot = ix->nfree_engagements ? ix->free_engagements[ix->nfree_engagements - 1]
                                     : ix->nengagements;
        if (idmap_put(&ix->engagement_ids, row->id, slot)) return -1;
        if (ix->nfree_engagements) ix->nfree_engagements--;
        else ix->nengagements++;
        ix->live_engagements++;
    }
    engagement_rec_t *e = &ix->engagements[slot];
    memset(e, 0, sizeof *e);
    e->id = row->id;
    e->created_us = row->created_us;
    words_add(ix, p->m_purposes, np, &e->purposes_off);
    words_add(ix, p->m_skills, 2 * ns, &e->skills_off);
    e->npurposes = (uint16_t)np;
    e->nskills = (uint16_t)ns;
    e->organisation = org;
    e->location = place;
    e->location_label = place_label;
    e->hours = (uint8_t)clamp_int(row->hours, 0, 255);
    e->packagings = (uint8_t)match_packagings_from_text(row->packagings);
    e->flags = REC_LIVE | (row->remote_ok ? REC_REMOTE : 0);
    for (size_t i = 0; i < np; i++) {
        posting_t *pp = &ix->postings[p->m_purposes[i]];
        posting_add(&pp->engagements, &pp->nengagements, &pp->capengagements, slot);
    }
    maybe_compact(ix);
    return 0;
}

/* ---------- views and names ---------- */

static void agent_view(const match_index_t *ix, uint32_t slot, match_agent_t *v)
{
    const agent_rec_t *a = &ix->agents[slot];
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
}

static const char *label_text(const match_index_t *ix, uint32_t label)
{
    return label < ix->labels.n ? ix->str + ix->labels.name_off[label] : "";
}

/* The engagement in slot; with names (room for its skills), the sentences'
 * spellings too. */
static void engagement_view(const match_index_t *ix, uint32_t slot, match_engagement_t *v,
                            const char **names)
{
    const engagement_rec_t *e = &ix->engagements[slot];
    memset(v, 0, sizeof *v);
    v->id = e->id;
    v->created_us = e->created_us;
    v->purposes = ix->words + e->purposes_off;
    v->npurposes = e->npurposes;
    v->skills = ix->words + e->skills_off;
    v->nskills = e->nskills;
    v->organisation = e->organisation;
    v->organisation_name = ix->str + ix->org_name[e->organisation];
    v->hours = e->hours;
    v->location = e->location;
    v->location_name = e->location_label ? label_text(ix, e->location_label - 1) : NULL;
    v->packagings = e->packagings;
    v->remote_ok = (e->flags & REC_REMOTE) != 0;
    if (names) {
        for (uint32_t j = 0; j < e->nskills; j++)
            names[j] = label_text(ix, ix->words[e->skills_off + e->nskills + j]);
        v->skill_names = names;
    }
}

static const char *name_purpose(const void *ctx, uint32_t n)
{
    const match_index_t *ix = ctx;
    return n < ix->npurposes ? ix->str + ix->purpose_name[n] : "";
}

static const char *name_skill(const void *ctx, uint32_t n)
{
    const match_index_t *ix = ctx;
    return n < ix->skills.n ? ix->str + ix->skills.name_off[n] : "";
}

/* Map a query row's lists to the index's numbers without changing the index:
 * purposes and organisations it does not know cannot be shared with any
 * candidate and are dropped; unknown skills keep distinct numbers of their
 * own so that they still count as asked for. */
static size_t map_skills_readonly(const match_index_t *ix, parsed_t *p)
{
    size_t n = skill_count(p), unknown = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = intern_find(ix, &ix->skills, skill_key(p, i));
        if (s == UINT32_MAX) {
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++) seen = strcmp(skill_key(p, j), skill_key(p, i)) == 0;
            s = seen ? UINT32_MAX - 1 : UINT32_MAX - 1 - (uint32_t)++unknown;
        }
        p->m_pairs[i] = (skill_pair_t){s, 0, (uint32_t)i, skill_name(p, i)};
    }
    /* later spellings of an unknown skill share UINT32_MAX - 1: dropped */
    size_t k = unique_pairs(p->m_pairs, n);
    if (k && p->m_pairs[k - 1].skill == UINT32_MAX - 1) k--;
    for (size_t i = 0; i < k; i++) {
        p->m_skills[i] = p->m_pairs[i].skill;
        p->m_names[i] = p->m_pairs[i].name;
    }
    return k;
}

static uint32_t place_readonly(const match_index_t *ix, const char *key)
{
    if (!key || !*key) return 0;
    uint32_t n = intern_find(ix, &ix->places, key);
    return n == UINT32_MAX ? UINT32_MAX : n + 1;
}

/* ---------- search ---------- */

typedef struct cand {
    int64_t q;                 /* quantised score */
    int64_t created_us;
    int64_t id;
    uint32_t slot;
} cand_t;

typedef int (*cand_rank_fn)(const cand_t *x, const cand_t *y);

static int cand_rank_engagement(const cand_t *x, const cand_t *y)
{
    return rank_engagement(x->q, x->created_us, x->id, y->q, y->created_us, y->id);
}

static int cand_rank_agent(const cand_t *x, const cand_t *y)
{
    return rank_agent(x->q, x->id, y->q, y->id);
}

/* A bounded heap whose root is the worst kept candidate. */
typedef struct topk {
    cand_t *v;
    size_t n, k;
    cand_rank_fn rank;
} topk_t;

static void topk_sift_down(topk_t *h, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < h->n && h->rank(&h->v[l], &h->v[w]) > 0) w = l;
        if (r < h->n && h->rank(&h->v[r], &h->v[w]) > 0) w = r;
        if (w == i) return;
        cand_t t = h->v[i];
        h->v[i] = h->v[w];
        h->v[w] = t;
        i = w;
    }
}

static void topk_push(topk_t *h, const cand_t *c)
{
    if (h->k == 0) return;
    if (h->n < h->k) {
        size_t i = h->n++;
        h->v[i] = *c;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (h->rank(&h->v[i], &h->v[parent]) <= 0) break;
            cand_t t = h->v[i];
            h->v[i] = h->v[parent];
            h->v[parent] = t;
            i = parent;
        }
        return;
    }
    if (h->rank(c, &h->v[0]) >= 0) return;
    h->v[0] = *c;
    topk_sift_down(h, 0);
}

static int cmp_cand_engagement(const void *x, const void *y) { return cand_rank_engagement(x, y); }
static int cmp_cand_agent(const void *x, const void *y) { return cand_rank_agent(x, y); }

/* Candidates that share a purpose with the query, each with the energy
 * shared (which fixes its purpose points), best energy first. */
typedef struct gathered {
    uint16_t *shared;          /* by slot; 0 = not a candidate */
    uint32_t *order;           /* candidate slots, by shared energy descending */
    uint32_t n;
} gathered_t;

static void gathered_free(gathered_t *g)
{
    free(g->shared);
    free(g->order);
    memset(g, 0, sizeof *g);
}

/* After g->shared is filled for the touched slots, sort them by energy
 * (a counting sort: energy is 1..100). */
static int gathered_sort(gathered_t *g, const uint32_t *touched, uint32_t n)
{
    uint32_t count[102] = {0};
    for (uint32_t i = 0; i < n; i++) {
        if (g->shared[touched[i]] > 100) g->shared[touched[i]] = 100;
        count[100 - g->shared[touched[i]] + 1]++;
    }
    for (int e = 1; e <= 101; e++) count[e] += count[e - 1];
    g->order = malloc(((size_t)n + 1) * sizeof *g->order);
    if (!g->order) return -1;
    for (uint32_t i = 0; i < n; i++) g->order[count[100 - g->shared[touched[i]]]++] = touched[i];
    g->n = n;
    return 0;
}

/* How many candidates ahead the scoring loop asks the memory for. */
#define PREFETCH_AHEAD 8

/* The best score a candidate sharing this much energy could reach. */
static int64_t score_bound(const match_weights_t *w, uint32_t energy)
{
    double bound = w->w[MATCH_PURPOSE] * energy / 100.0;
    for (int k = 0; k < MATCH_KINDS; k++)
        if (k != MATCH_PURPOSE) bound += w->w[k];
    return quantise(bound) + 1; /* + 1: rounding never prunes a candidate that could tie */
}

int match_index_engagements_for(const match_index_t *ix, const match_weights_t *w,
                                const match_agent_row_t *row, size_t k, match_hit_t *out)
{
    parsed_t p = {0};
    int result = -1;
    cand_t *heap = NULL;
    uint32_t *touched = NULL;
    gathered_t g = {0};
    if (parse_agent(row, &p)) goto done;
    size_t nskills = skill_count(&p);
    if (reserve_mapped(&p, p.nenergies, 0, nskills, p.nids)) goto done;
    size_t ne = 0;
    for (uint32_t i = 0; i < p.nenergies; i++) {
        uint32_t n = idmap_get(&ix->purpose_ids, p.energies[i].purpose);
        if (n == UINT32_MAX) continue;
        p.m_energies[ne].purpose = n;
        p.m_energies[ne].energy = p.energies[i].energy;
        ne++;
    }
    ne = unique_energies(p.m_energies, ne);
    size_t ns = map_skills_readonly(ix, &p);
    size_t nf = 0;
    for (uint32_t i = 0; i < p.nids; i++) {
        uint32_t n = idmap_get(&ix->org_ids, p.ids[i]);
        if (n != UINT32_MAX) p.m_follows[nf++] = n;
    }
    nf = unique_u32(p.m_follows, nf);
    match_agent_t a = {
        .id = row->id,
        .purposes = p.m_energies,
        .npurposes = ne,
        .skills = p.m_skills,
        .nskills = ns,
        .follows = p.m_follows,
        .nfollows = nf,
        .capacity_hours = row->capacity_hours,
        .committed_hours = row->committed_hours,
        .location = place_readonly(ix, row->location_key),
        .packagings = match_packagings_from_text(row->packagings),
        .remote_ok = row->remote_ok,
    };
    heap = malloc((k ? k : 1) * sizeof *heap);
    size_t total = 0;
    for (size_t i = 0; i < ne; i++) total += ix->postings[a.purposes[i].purpose].nengagements;
    touched = malloc((total + 1) * sizeof *touched);
    g.shared = calloc((size_t)ix->nengagements + 1, sizeof *g.shared);
    if (!heap || !touched || !g.shared) goto done;
    uint32_t nt = 0;
    for (size_t i = 0; i < ne; i++) {
        const posting_t *pp = &ix->postings[a.purposes[i].purpose];
        for (uint32_t j = 0; j < pp->nengagements; j++) {
            uint32_t slot = pp->engagements[j];
            if (g.shared[slot] == 0) touched[nt++] = slot;
            g.shared[slot] = (uint16_t)(g.shared[slot] + a.purposes[i].energy);
        }
    }
    if (gathered_sort(&g, touched, nt)) goto done;
    topk_t h = {heap, 0, k, cand_rank_engagement};
    for (uint32_t i = 0; i < g.n; i++) {
        uint32_t slot = g.order[i];
        if (h.n == h.k && score_bound(w, g.shared[slot]) < h.v[0].q) break; /* no one left can enter */
        if (i + 2 * PREFETCH_AHEAD < g.n)
            __builtin_prefetch(&ix->engagements[g.order[i + 2 * PREFETCH_AHEAD]]);
        if (i + PREFETCH_AHEAD < g.n) {
            const engagement_rec_t *ahead = &ix->engagements[g.order[i + PREFETCH_AHEAD]];
            __builtin_prefetch(ix->words + ahead->purposes_off);
            __builtin_prefetch(ix->words + ahead->skills_off);
        }
        const engagement_rec_t *rec = &ix->engagements[slot];
        match_engagement_t e;
        engagement_view(ix, slot, &e, NULL);
        if (h.n == h.k &&
            quantise(score_upper_bound(w, &a, &e, g.shared[slot], true)) + 1 < h.v[0].q)
            continue;
        if (contains_i64(p.excluded, p.nexcluded, rec->id)) continue;
        match_score_t s;
        if (!match_score(w, &a, &e, &s)) continue;
        cand_t c = {quantise(s.score), rec->created_us, rec->id, slot};
        topk_push(&h, &c);
    }
    qsort(heap, h.n, sizeof *heap, cmp_cand_engagement);
    match_names_t names = {name_purpose, name_skill, ix};
    for (size_t i = 0; i < h.n; i++) {
        const char **skill_names =
            malloc(((size_t)ix->engagements[heap[i].slot].nskills + 1) * sizeof *skill_names);
        match_engagement_t e;
        engagement_view(ix, heap[i].slot, &e, skill_names);
        match_score_t s;
        match_score(w, &a, &e, &s);
        out[i].id = e.id;
        out[i].score = s.score;
        out[i].reasons = skill_names ? match_reasons(&names, &a, &e, &s) : NULL;
        free(skill_names);
        if (!out[i].reasons) {
            match_hits_clear(out, i);
            goto done;
        }
    }
    result = (int)h.n;
done:
    free(heap);
    free(touched);
    gathered_free(&g);
    parsed_free(&p);
    return result;
}

int match_index_agents_for(const match_index_t *ix, const match_weights_t *w,
                           const match_engagement_row_t *row, size_t k, match_hit_t *out)
{
    parsed_t p = {0};
    int result = -1;
    cand_t *heap = NULL;
    uint32_t *touched = NULL;
    gathered_t g = {0};
    if (parse_engagement(row, &p)) goto done;
    size_t nskills = skill_count(&p);
    if (reserve_mapped(&p, 0, p.nids, nskills, 0)) goto done;
    size_t np = 0;
    for (uint32_t i = 0; i < p.nids; i++) {
        uint32_t n = idmap_get(&ix->purpose_ids, p.ids[i]);
        if (n != UINT32_MAX) p.m_purposes[np++] = n;
    }
    np = unique_u32(p.m_purposes, np);
    size_t ns = map_skills_readonly(ix, &p);
    uint32_t org = idmap_get(&ix->org_ids, row->organisation_id);
    match_engagement_t e = {
        .id = row->id,
        .created_us = row->created_us,
        .purposes = p.m_purposes,
        .npurposes = np,
        .skills = p.m_skills,
        .nskills = ns,
        .skill_names = p.m_names,
        .organisation = org,
        .organisation_name = row->organisation_name
                                 ? row->organisation_name
                                 : (org != UINT32_MAX ? ix->str + ix->org_name[org] : NULL),
        .hours = row->hours,
        .location = place_readonly(ix, row->location_key),
        .location_name = row->location,
        .packagings = match_packagings_from_text(row->packagings),
        .remote_ok = row->remote_ok,
    };
    heap = malloc((k ? k : 1) * sizeof *heap);
    size_t total = 0;
    for (size_t i = 0; i < np; i++) total += ix->postings[e.purposes[i]].nagents;
    touched = malloc((total + 1) * sizeof *touched);
    g.shared = calloc((size_t)ix->nagents + 1, sizeof *g.shared);
    if (!heap || !touched || !g.shared) goto done;
    uint32_t nt = 0;
    for (size_t i = 0; i < np; i++) {
        const posting_t *pp = &ix->postings[e.purposes[i]];
        for (uint32_t j = 0; j < pp->nagents; j++) {
            uint32_t slot = POSTING_SLOT(pp->agents[j]);
            if (g.shared[slot] == 0) touched[nt++] = slot;
            g.shared[slot] = (uint16_t)(g.shared[slot] + POSTING_ENERGY(pp->agents[j]));
        }
    }
    if (gathered_sort(&g, touched, nt)) goto done;
    topk_t h = {heap, 0, k, cand_rank_agent};
    for (uint32_t i = 0; i < g.n; i++) {
        uint32_t slot = g.order[i];
        if (h.n == h.k && score_bound(w, g.shared[slot]) < h.v[0].q) break; /* no one left can enter */
        if (i + 2 * PREFETCH_AHEAD < g.n)
            __builtin_prefetch(&ix->agents[g.order[i + 2 * PREFETCH_AHEAD]]);
        if (i + PREFETCH_AHEAD < g.n) {
            const agent_rec_t *ahead = &ix->agents[g.order[i + PREFETCH_AHEAD]];
            __builtin_prefetch(ix->energies + ahead->purposes_off);
            __builtin_prefetch(ix->words + ahead->skills_off);
            __builtin_prefetch(ix->words + ahead->follows_off);
        }
        const agent_rec_t *rec = &ix->agents[slot];
        match_agent_t a;
        agent_view(ix, slot, &a);
        if (h.n == h.k &&
            quantise(score_upper_bound(w, &a, &e, g.shared[slot], false)) + 1 < h.v[0].q)
            continue;
        if (contains_i64(p.excluded, p.nexcluded, rec->id)) continue;
        match_score_t s;
        if (!match_score(w, &a, &e, &s)) continue;
        cand_t c = {quantise(s.score), 0, rec->id, slot};
        topk_push(&h, &c);
    }
    qsort(heap, h.n, sizeof *heap, cmp_cand_agent);
    match_names_t names = {name_purpose, name_skill, ix};
    for (size_t i = 0; i < h.n; i++) {
        match_agent_t a;
        agent_view(ix, heap[i].slot, &a);
        match_score_t s;
        match_score(w, &a, &e, &s);
        out[i].id = a.id;
        out[i].score = s.score;
        out[i].reasons = match_reasons(&names, &a, &e, &s);
        if (!out[i].reasons) {
            match_hits_clear(out, i);
            goto done;
        }
    }
    result = (int)h.n;
done:
    free(heap);
    free(touched);
    gathered_free(&g);
    parsed_free(&p);
    return result;
}

void match_hits_clear(match_hit_t *hits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(hits[i].reasons);
        hits[i].reasons = NULL;
    }
}

/* ======================================================================
 * The service: build from PostgreSQL, then follow NOTIFY 'purposed_match'
 * ====================================================================== */

#define MATCH_CHANNEL "purposed_match"
/* Pending changed ids past which one full rebuild is cheaper than updates. */
#define MATCH_REBUILD_OVER 20000

static pthread_once_t g_once = PTHREAD_ONCE_INIT;
static pthread_rwlock_t g_rw;                   /* readers: requests; writer: the service */
static match_index_t *g_index;                  /* guarded by g_rw */
static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv = PTHREAD_COND_INITIALIZER;
static bool g_started, g_stopping, g_built;     /* guarded by g_mu */
static atomic_bool g_running, g_ready;          /* lock-free copies of g_started, g_built */
static pthread_t g_thread;
static int g_wake[2] = {-1, -1};                /* written to stop the thread */
static char g_conninfo[1200];
/* match_service_stats(): written by the service thread only */
static atomic_bool g_st_ready;
static atomic_size_t g_st_bytes, g_st_agents, g_st_engagements;
static atomic_ulong g_st_build_us, g_st_builds, g_st_notifications;

static void service_init_once(void)
{
    pthread_rwlockattr_t at;
    pthread_rwlockattr_init(&at);
    pthread_rwlockattr_setkind_np(&at, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&g_rw, &at);
    pthread_rwlockattr_destroy(&at);
}

static bool service_stopping(void)
{
    pthread_mutex_lock(&g_mu);
    bool s = g_stopping;
    pthread_mutex_unlock(&g_mu);
    return s;
}

/* Sleep up to ms; returns early when asked to stop. */
static void service_nap(int ms)
{
    struct pollfd pfd = {g_wake[0], POLLIN, 0};
    poll(&pfd, 1, ms);
}

static long elapsed_us(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000000 + (t1.tv_nsec - t0->tv_nsec) / 1000);
}

static long elapsed_ms(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)((t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000);
}

static PGconn *service_connect(void)
{
    /* no JIT: compiling the build's statements costs more than it saves */
    return db_connect_listener(g_conninfo, "match",
                               "SET statement_timeout = 0; SET TIME ZONE 'UTC'; SET jit = off;"
                               " LISTEN " MATCH_CHANNEL);
}

typedef int (*row_fn)(match_index_t *ix, const PGresult *res, int i);

static int row_purpose(match_index_t *ix, const PGresult *res, int i)
{
    return match_index_put_purpose(ix, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                   PQgetvalue(res, i, 1));
}

static int row_organisation(match_index_t *ix, const PGresult *res, int i)
{
    return match_index_put_organisation(ix, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                        PQgetvalue(res, i, 1));
}

static int row_agent(match_index_t *ix, const PGresult *res, int i)
{
    match_agent_row_t row;
    match_agent_row_read(res, i, &row);
    return match_index_put_agent(ix, &row);
}

static int row_engagement(match_index_t *ix, const PGresult *res, int i)
{
    match_engagement_row_t row;
    match_engagement_row_read(res, i, &row);
    return match_index_put_engagement(ix, &row);
}

/* Run sql in single-row mode, giving each row to fn. -1 when the query
 * failed; rows fn refused are counted in *refused. */
static int stream_rows(PGconn *c, const char *sql, match_index_t *ix, row_fn fn, long *refused)
{
    if (!PQsendQuery(c, sql)) {
        log_event("warn", "match_query_failed", PQerrorMessage(c));
        return -1;
    }
    PQsetSingleRowMode(c);
    int rc = 0;
    PGresult *r;
    while ((r = PQgetResult(c))) {
        ExecStatusType st = PQresultStatus(r);
        if (st == PGRES_SINGLE_TUPLE) {
            if (rc == 0 && fn(ix, r, 0) != 0) (*refused)++;
        } else if (st != PGRES_TUPLES_OK) {
            log_event("warn", "match_query_failed", PQresultErrorMessage(r));
            rc = -1;
        }
        PQclear(r);
    }
    return rc;
}

static bool exec_ok(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    return ok;
}

/* The agents of a full build: MATCH_AGENT_COLUMNS, with the lists of all
 * agents aggregated once and hash-joined instead of three sub-selects per
 * agent (1.5-1.9 s -> 1.2-1.4 s of PostgreSQL time at 100,000 agents). */
#define MATCH_BUILD_AGENTS                                                                   \
    "SELECT a.id, a.discoverable, a.remote_ok, a.capacity_hours_per_week,"                  \
    " coalesce(m.hours, 0), array_to_string(a.packagings, ','), a.location,"                 \
    " lower(btrim(a.location)), ap.list,"                                                    \
    " (SELECT json_agg(json_build_array(lower(s), s))::text FROM unnest(a.skills) s),"      \
    " f.list"                                                                                \
    " FROM agents a"                                                                         \
    " LEFT JOIN (SELECT agent_id, string_agg(purpose_id || ':' || energy, ',') AS list"      \
    "   FROM agent_purposes GROUP BY agent_id) ap ON ap.agent_id = a.id"                     \
    " LEFT JOIN (SELECT agent_id, string_agg(organisation_id::text, ',') AS list"            \
    "   FROM follows GROUP BY agent_id) f ON f.agent_id = a.id"                              \
    " LEFT JOIN (SELECT agent_id, sum(committed_hours) AS hours"                             \
    "   FROM match_agreements GROUP BY agent_id) m ON m.agent_id = a.id"                     \
    " WHERE a.discoverable"

/* A whole new index from one consistent snapshot; NULL on failure. */
static match_index_t *service_build(PGconn *c)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    match_index_t *ix = match_index_new();
    if (!ix) return NULL;
    long refused = 0;
    bool ok = exec_ok(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") &&
              stream_rows(c, "SELECT id, name FROM purposes", ix, row_purpose, &refused) == 0 &&
              stream_rows(c, "SELECT id, name FROM organisations", ix, row_organisation,
                          &refused) == 0 &&
              stream_rows(c, MATCH_BUILD_AGENTS, ix, row_agent, &refused) == 0 &&
              stream_rows(c, "SELECT " MATCH_ENGAGEMENT_COLUMNS
                             " FROM engagements e WHERE e.status = 'open'",
                          ix, row_engagement, &refused) == 0 &&
              exec_ok(c, "COMMIT");
    if (!ok) {
        if (PQstatus(c) == CONNECTION_OK) PQclear(PQexec(c, "ROLLBACK"));
        match_index_free(ix);
        return NULL;
    }
    long took_ms = elapsed_ms(&t0);
    atomic_store(&g_st_build_us, (unsigned long)elapsed_us(&t0));
    atomic_fetch_add(&g_st_builds, 1);
    char msg[200];
    snprintf(msg, sizeof msg, "%zu agents, %zu engagements, %zu KiB, %ld ms%s",
             match_index_agent_count(ix), match_index_engagement_count(ix),
             match_index_memory(ix) / 1024, took_ms, refused ? ", some rows refused" : "");
    log_event(refused ? "warn" : "info", "match_index_built", msg);
    return ix;
}

/* Called by the service thread (the only writer) after every change. */
static void stats_publish(const match_index_t *ix)
{
    atomic_store(&g_st_bytes, match_index_memory(ix));
    atomic_store(&g_st_agents, match_index_agent_count(ix));
    atomic_store(&g_st_engagements, match_index_engagement_count(ix));
    atomic_store(&g_st_ready, true);
}

void match_service_stats(match_stats_t *out)
{
    out->ready = atomic_load(&g_st_ready);
    out->bytes = atomic_load(&g_st_bytes);
    out->agents = atomic_load(&g_st_agents);
    out->engagements = atomic_load(&g_st_engagements);
    out->build_seconds = (double)atomic_load(&g_st_build_us) / 1e6;
    out->builds = atomic_load(&g_st_builds);
    out->notifications = atomic_load(&g_st_notifications);
}

static void service_publish(match_index_t *fresh)
{
    stats_publish(fresh);
    pthread_rwlock_wrlock(&g_rw);
    match_index_t *old = g_index;
    g_index = fresh;
    pthread_rwlock_unlock(&g_rw);
    match_index_free(old);
    pthread_mutex_lock(&g_mu);
    g_built = true;
    atomic_store(&g_ready, true);
    pthread_cond_broadcast(&g_cv);
    pthread_mutex_unlock(&g_mu);
}

/* ---------- pending notifications ---------- */

typedef struct id_set {
    int64_t *v;
    uint32_t n, cap;
} id_set_t;

typedef struct pending {
    id_set_t agents, engagements, purposes, organisations;
    bool overflow;             /* too many: rebuild instead */
    unsigned long received;    /* notifications since the last clear */
} pending_t;

static size_t pending_count(const pending_t *pd)
{
    return (size_t)pd->agents.n + pd->engagements.n + pd->purposes.n + pd->organisations.n;
}

static void pending_clear(pending_t *pd)
{
    pd->agents.n = pd->engagements.n = pd->purposes.n = pd->organisations.n = 0;
    pd->overflow = false;
    pd->received = 0;
}

static void pending_free(pending_t *pd)
{
    free(pd->agents.v);
    free(pd->engagements.v);
    free(pd->purposes.v);
    free(pd->organisations.v);
    memset(pd, 0, sizeof *pd);
}

/* "a:12" agent, "e:" engagement, "p:" purpose, "o:" organisation. */
static void pending_add(pending_t *pd, const char *payload)
{
    pd->received++;
    if (!payload || !payload[0] || payload[1] != ':') return;
    id_set_t *set = payload[0] == 'a'   ? &pd->agents
                    : payload[0] == 'e' ? &pd->engagements
                    : payload[0] == 'p' ? &pd->purposes
                    : payload[0] == 'o' ? &pd->organisations
                                        : NULL;
    const char *s = payload + 2;
    int64_t id;
    if (!set || !parse_i64(&s, &id) || *s) return;
    if (pd->overflow) return;
    if (pending_count(pd) >= MATCH_REBUILD_OVER ||
        grow((void **)&set->v, &set->cap, (size_t)set->n + 1, sizeof *set->v)) {
        pd->overflow = true;
        return;
    }
    set->v[set->n++] = id;
}

static int pending_drain(PGconn *c, pending_t *pd)
{
    if (!PQconsumeInput(c)) return -1;
    PGnotify *n;
    while ((n = PQnotifies(c))) {
        pending_add(pd, n->extra);
        PQfreemem(n);
    }
    return 0;
}

/* Sort and deduplicate; the PostgreSQL array text "{1,2}" (malloc'd). */
static char *id_set_text(id_set_t *s)
{
    if (s->n) qsort(s->v, s->n, sizeof *s->v, cmp_i64);
    uint32_t k = 0;
    for (uint32_t i = 0; i < s->n; i++)
        if (k == 0 || s->v[i] != s->v[k - 1]) s->v[k++] = s->v[i];
    s->n = k;
    sbuf_t b = {0};
    sb_add(&b, "{");
    for (uint32_t i = 0; i < s->n; i++) sb_add(&b, "%s%lld", i ? "," : "", (long long)s->v[i]);
    sb_add(&b, "}");
    if (b.failed) {
        free(b.s);
        return NULL;
    }
    return b.s;
}

/* Rows for the ids in s (NULL result and true when s is empty). */
static bool fetch_ids(PGconn *c, const char *sql, id_set_t *s, PGresult **out)
{
    *out = NULL;
    if (s->n == 0) return true;
    char *arr = id_set_text(s);
    if (!arr) return false;
    const char *params[1] = {arr};
    PGresult *r = PQexecParams(c, sql, 1, NULL, params, NULL, NULL, 0);
    free(arr);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        log_event("warn", "match_query_failed", PQresultErrorMessage(r));
        PQclear(r);
        return false;
    }
    *out = r;
    return true;
}

/* Put the rows of res; ids of s without a row are removed (deleted). */
static void apply_rows(match_index_t *ix, const PGresult *res, id_set_t *s, row_fn put,
                       void (*remove)(match_index_t *, int64_t), long *refused)
{
    if (!res) return;
    bool *seen = calloc(s->n ? s->n : 1, sizeof *seen);
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        int64_t id = strtoll(PQgetvalue(res, i, 0), NULL, 10);
        if (put(ix, res, i) != 0) {
            remove(ix, id); /* better missing than wrong */
            (*refused)++;
        }
        if (!seen) continue;
        size_t at = lower_bound_i64(s->v, s->n, id);
        if (at < s->n && s->v[at] == id) seen[at] = true;
    }
    for (uint32_t i = 0; seen && i < s->n; i++)
        if (!seen[i]) remove(ix, s->v[i]);
    free(seen);
}

static void remove_nothing(match_index_t *ix, int64_t id)
{
    (void)ix;
    (void)id;
}

/* Apply what the notifications named. -1 when the database failed. */
static int service_apply(PGconn *c, pending_t *pd)
{
    PGresult *rp = NULL, *ro = NULL, *ra = NULL, *re = NULL;
    bool ok = fetch_ids(c, "SELECT id, name FROM purposes WHERE id = ANY($1::bigint[])",
                        &pd->purposes, &rp) &&
              fetch_ids(c, "SELECT id, name FROM organisations WHERE id = ANY($1::bigint[])",
                        &pd->organisations, &ro) &&
              fetch_ids(c, "SELECT " MATCH_AGENT_COLUMNS " FROM agents a WHERE a.id = ANY($1::bigint[])",
                        &pd->agents, &ra) &&
              fetch_ids(c, "SELECT " MATCH_ENGAGEMENT_COLUMNS
                           " FROM engagements e WHERE e.id = ANY($1::bigint[])",
                        &pd->engagements, &re);
    if (ok) {
        long refused = 0;
        pthread_rwlock_wrlock(&g_rw);
        if (g_index) {
            apply_rows(g_index, rp, &pd->purposes, row_purpose, remove_nothing, &refused);
            apply_rows(g_index, ro, &pd->organisations, row_organisation, remove_nothing, &refused);
            apply_rows(g_index, ra, &pd->agents, row_agent, match_index_remove_agent, &refused);
            apply_rows(g_index, re, &pd->engagements, row_engagement,
                       match_index_remove_engagement, &refused);
            stats_publish(g_index);
        }
        pthread_rwlock_unlock(&g_rw);
        if (refused) log_event("warn", "match_rows_refused", "some changed rows were not indexed");
        atomic_fetch_add(&g_st_notifications, pd->received);
        pending_clear(pd);
    }
    PQclear(rp);
    PQclear(ro);
    PQclear(ra);
    PQclear(re);
    return ok ? 0 : -1;
}

static void *service_main(void *arg)
{
    (void)arg;
    int backoff = 250;
    pending_t pd = {0};
    while (!service_stopping()) {
        PGconn *c = service_connect();
        match_index_t *fresh = c ? service_build(c) : NULL;
        if (!fresh) {
            if (c) PQfinish(c);
            service_nap(backoff);
            backoff = backoff >= 4000 ? 5000 : backoff * 2;
            continue;
        }
        backoff = 250;
        service_publish(fresh);
        pending_clear(&pd);
        for (;;) {
            if (service_stopping() || pending_drain(c, &pd) != 0) break;
            if (pd.overflow) {
                atomic_fetch_add(&g_st_notifications, pd.received); /* the rebuild absorbs them */
                pending_clear(&pd);
                fresh = service_build(c);
                if (!fresh) break;
                service_publish(fresh);
                continue;
            }
            if (pending_count(&pd)) {
                if (service_apply(c, &pd) != 0) break;
                continue;
            }
            struct pollfd fds[2] = {{PQsocket(c), POLLIN, 0}, {g_wake[0], POLLIN, 0}};
            int n = poll(fds, 2, 30000);
            if (n < 0 && errno != EINTR) break;
            if (fds[1].revents) break;
            if (n == 0 && !exec_ok(c, "SELECT 1") && PQstatus(c) != CONNECTION_OK) break;
        }
        PQfinish(c);
        if (!service_stopping()) {
            log_event("warn", "match_listener_lost", "reconnecting and rebuilding the index");
            service_nap(backoff);
        }
    }
    pending_free(&pd);
    return NULL;
}

int match_service_start(const char *conninfo)
{
    if (atomic_load(&g_running)) return 0;
    pthread_once(&g_once, service_init_once);
    pthread_mutex_lock(&g_mu);
    if (g_started) {
        pthread_mutex_unlock(&g_mu);
        return 0;
    }
    snprintf(g_conninfo, sizeof g_conninfo, "%s", conninfo);
    if (pipe2(g_wake, O_CLOEXEC) != 0) {
        pthread_mutex_unlock(&g_mu);
        return -1;
    }
    g_stopping = false;
    /* the thread takes no signals: they belong to main's sigwait */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&g_thread, NULL, service_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        close(g_wake[0]);
        close(g_wake[1]);
        g_wake[0] = g_wake[1] = -1;
        pthread_mutex_unlock(&g_mu);
        return -1;
    }
    g_started = true;
    atomic_store(&g_running, true);
    pthread_mutex_unlock(&g_mu);
    return 0;
}

void match_service_stop(void)
{
    pthread_once(&g_once, service_init_once);
    pthread_mutex_lock(&g_mu);
    if (!g_started) {
        pthread_mutex_unlock(&g_mu);
        return;
    }
    g_stopping = true;
    pthread_mutex_unlock(&g_mu);
    if (write(g_wake[1], "x", 1) < 0) log_event("warn", "match_stop_signal_failed", NULL);
    pthread_join(g_thread, NULL);
    close(g_wake[0]);
    close(g_wake[1]);
    g_wake[0] = g_wake[1] = -1;
    pthread_rwlock_wrlock(&g_rw);
    match_index_free(g_index);
    g_index = NULL;
    pthread_rwlock_unlock(&g_rw);
    atomic_store(&g_st_ready, false);
    atomic_store(&g_st_bytes, 0);
    atomic_store(&g_st_agents, 0);
    atomic_store(&g_st_engagements, 0);
    pthread_mutex_lock(&g_mu);
    g_started = false;
    g_built = false;
    atomic_store(&g_ready, false);
    atomic_store(&g_running, false);
    pthread_mutex_unlock(&g_mu);
}

const match_index_t *match_service_acquire(int wait_ms, problem_t *p)
{
    pthread_once(&g_once, service_init_once);
    if (atomic_load(&g_ready)) {
        pthread_rwlock_rdlock(&g_rw);
        if (g_index) return g_index;
        pthread_rwlock_unlock(&g_rw);
    }
    pthread_mutex_lock(&g_mu);
    if (!g_built && wait_ms > 0) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += wait_ms / 1000;
        until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        while (!g_built && pthread_cond_timedwait(&g_cv, &g_mu, &until) == 0) {
        }
    }
    bool built = g_built;
    pthread_mutex_unlock(&g_mu);
    if (built) {
        pthread_rwlock_rdlock(&g_rw);
        if (g_index) return g_index;
        pthread_rwlock_unlock(&g_rw);
    }
    problem_set(p, 503, "unavailable", "Matching is warming up",
                "The matching index is being built; try again shortly.");
    p->retry_after = 2;
    return NULL;
}

void match_service_release(void) { pthread_rwlock_unlock(&g_rw); }
