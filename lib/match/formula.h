/* match/formula.h: the factors of the formula, each fit 0..1 (docs/matching.md,
 * "The formula"). Inline and in one place because three files must agree
 * on them: score.c (the points), explain.c (the sentences: a reason never
 * says something else than its points) and topk.c (the upper bounds that
 * skip candidates, which run once per candidate and must not cost a call). */
#ifndef PURPOSED_MATCH_FORMULA_H
#define PURPOSED_MATCH_FORMULA_H

#include <math.h>

#include "match/match.h"

/* The location fit falls from 1 (the same point) to 0 at this distance. */
#define MATCH_NEAR_KM 100.0
/* earthdistance's sphere (its earth(), in metres): the distance here is the
 * database's place_distance_km (migration 0025), step by step, so that the
 * SQL formula and the index agree. */
#define MATCH_EARTH_M 6378168.0

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

/* A point of the sphere in metres, as ll_to_earth makes it. */
static inline void match_point(double lat, double lon, double p[3])
{
    const double rad = 0.0174532925199432957692; /* PostgreSQL's RADIANS_PER_DEGREE */
    p[0] = MATCH_EARTH_M * cos(lat * rad) * cos(lon * rad);
    p[1] = MATCH_EARTH_M * cos(lat * rad) * sin(lon * rad);
    p[2] = MATCH_EARTH_M * sin(lat * rad);
}

/* Great-circle kilometres between two points of the sphere: the chord
 * between them, and earthdistance's sec_to_gc. */
static inline double match_points_km(const double a[3], const double b[3])
{
    double sum = 0.0;
    for (int i = 0; i < 3; i++) sum += (a[i] - b[i]) * (a[i] - b[i]);
    double chord = sqrt(sum);
    double gc = chord / (2.0 * MATCH_EARTH_M) > 1.0 ? M_PI * MATCH_EARTH_M
                                                   : 2.0 * MATCH_EARTH_M * asin(chord / (2.0 * MATCH_EARTH_M));
    return gc / 1000.0;
}

/* Great-circle kilometres between two places by latitude and longitude. */
static inline double match_distance_km(double lat1, double lon1, double lat2, double lon2)
{
    double a[3], b[3];
    match_point(lat1, lon1, a);
    match_point(lat2, lon2, b);
    return match_points_km(a, b);
}

/* Both placed in the gazetteer: the distance decides (remote on both sides
 * still fits fully); else the same free-text location, or remote on both
 * sides. */
typedef enum {
    MATCH_PLACE_NONE,
    MATCH_PLACE_SAME,
    MATCH_PLACE_REMOTE,
    MATCH_PLACE_DISTANCE
} match_place_t;

static inline match_place_t match_place_fit(const match_agent_t *a, const match_engagement_t *e)
{
    if (a->placed && e->placed)
        return a->remote_ok && e->remote_ok ? MATCH_PLACE_REMOTE : MATCH_PLACE_DISTANCE;
    if (a->location != 0 && a->location == e->location) return MATCH_PLACE_SAME;
    if (a->remote_ok && e->remote_ok) return MATCH_PLACE_REMOTE;
    return MATCH_PLACE_NONE;
}

/* 1 - distance / MATCH_NEAR_KM, at least 0. */
static inline double match_fit_distance(const match_agent_t *a, const match_engagement_t *e)
{
    double pa[3], pe[3];
    if (!a->has_point) match_point(a->latitude, a->longitude, pa);
    if (!e->has_point) match_point(e->latitude, e->longitude, pe);
    double d = match_points_km(a->has_point ? a->point : pa, e->has_point ? e->point : pe);
    return d >= MATCH_NEAR_KM ? 0.0 : 1.0 - d / MATCH_NEAR_KM;
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
    switch (match_place_fit(a, e)) {
    case MATCH_PLACE_NONE: return 0.0;
    case MATCH_PLACE_DISTANCE: return match_fit_distance(a, e);
    default: return 1.0;
    }
}

static inline double match_fit_follows(const match_agent_t *a, const match_engagement_t *e)
{
    return match_follows_organisation(a, e) ? 1.0 : 0.0;
}

#endif
