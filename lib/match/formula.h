/* match/formula.h: the factors of the formula, each fit 0..1 (docs/matching.md,
 * "The formula"). Inline and in one place because three files must agree
 * on them: score.c (the points), explain.c (the sentences: a reason never
 * says something else than its points) and topk.c (the upper bounds that
 * skip candidates, which run once per candidate and must not cost a call). */
#ifndef PURPOSED_MATCH_FORMULA_H
#define PURPOSED_MATCH_FORMULA_H

#include "match/match.h"

/* Sum of the agent's energy over the purposes the engagement has; *nshared
 * how many purposes they share (0: no match at all). Both lists are sorted. */
static inline uint32_t match_shared_energy(const match_agent_t *a, const match_engagement_t *e,
                                           size_t *nshared)
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

/* How many of the engagement's skills the agent has (sorted numbers). */
static inline size_t match_shared_skills(const match_agent_t *a, const match_engagement_t *e)
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

/* Capacity minus committed hours, at least 0. */
static inline int match_available_hours(const match_agent_t *a)
{
    int v = a->capacity_hours - a->committed_hours;
    return v > 0 ? v : 0;
}

typedef enum { MATCH_PLACE_NONE, MATCH_PLACE_SAME, MATCH_PLACE_REMOTE } match_place_t;

static inline match_place_t match_place_fit(const match_agent_t *a, const match_engagement_t *e)
{
    if (a->location != 0 && a->location == e->location) return MATCH_PLACE_SAME;
    if (a->remote_ok && e->remote_ok) return MATCH_PLACE_REMOTE;
    return MATCH_PLACE_NONE;
}

static inline bool match_follows_organisation(const match_agent_t *a, const match_engagement_t *e)
{
    size_t lo = 0, hi = a->nfollows;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (a->follows[mid] < e->organisation) lo = mid + 1;
        else hi = mid;
    }
    return lo < a->nfollows && a->follows[lo] == e->organisation;
}

static inline double match_fit_purpose(uint32_t shared_energy)
{
    return (shared_energy >= 100 ? 100 : shared_energy) / 100.0;
}

static inline double match_fit_skills(const match_agent_t *a, const match_engagement_t *e)
{
    return e->nskills ? (double)match_shared_skills(a, e) / (double)e->nskills : 1.0;
}

static inline double match_fit_capacity(const match_agent_t *a, const match_engagement_t *e)
{
    int avail = match_available_hours(a);
    return e->hours <= 0 || avail >= e->hours ? 1.0 : (double)avail / e->hours;
}

static inline double match_fit_packaging(const match_agent_t *a, const match_engagement_t *e)
{
    return (a->packagings & e->packagings) ? 1.0 : 0.0;
}

static inline double match_fit_location(const match_agent_t *a, const match_engagement_t *e)
{
    return match_place_fit(a, e) != MATCH_PLACE_NONE ? 1.0 : 0.0;
}

static inline double match_fit_follows(const match_agent_t *a, const match_engagement_t *e)
{
    return match_follows_organisation(a, e) ? 1.0 : 0.0;
}

#endif
