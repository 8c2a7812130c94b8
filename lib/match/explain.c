/* match/explain.c: the reasons (pure): for a scored pair, one sentence per
 * kind saying why it earned its points ("Supports Clean water (energy 40)",
 * "Has 3 of 4 skills: C, PostgreSQL, Rust"...). The API returns these
 * sentences verbatim, so any change here is a change of the API's bodies. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "match/formula.h"
#include "match/internal.h"

/* Lists longer than this (twice this for skills) end in "and N more". */
#define REASON_MAX_LISTED 6

static const char *safe_name(const char *s) { return s && *s ? s : "?"; }

/* Before item i of n: ", " or, before the last, last (" and ", " or "). */
static void add_list_sep(strbuf_t *b, size_t i, size_t n, const char *last)
{
    if (i == 0) return;
    strbuf_addf(b, "%s", i + 1 == n ? last : ", ");
}

typedef struct shared_purpose {
    uint32_t purpose, energy;
    const char *name;
} shared_purpose_t;

/* Most energy first, then by name. */
static int cmp_shared_purpose(const void *x, const void *y)
{
    const shared_purpose_t *a = x, *b = y;
    if (a->energy != b->energy) return a->energy > b->energy ? -1 : 1;
    return strcmp(a->name, b->name);
}

static void explain_purpose(strbuf_t *b, const match_names_t *names, const match_agent_t *a,
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
    strbuf_addf(b, "Supports ");
    for (size_t k = 0; k < shown; k++) {
        add_list_sep(b, k, shown == n ? n : shown + 1, " and ");
        strbuf_addf(b, "%s (energy %u)", list[k].name, (unsigned)list[k].energy);
    }
    if (shown < n) strbuf_addf(b, " and %zu more", n - shown);
    if (list != stack) free(list);
}

/* Case-insensitively, then exactly (a stable order for "C" and "c"). */
static int cmp_name_ci(const void *x, const void *y)
{
    const char *const *a = x, *const *b = y;
    int c = strcasecmp(*a, *b);
    return c ? c : strcmp(*a, *b);
}

static void explain_skills(strbuf_t *b, const match_names_t *names, const match_agent_t *a,
                           const match_engagement_t *e)
{
    if (e->nskills == 0) {
        strbuf_addf(b, "Asks for no particular skills");
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
            /* the engagement's spelling of the skill, as its page shows it */
            have[n++] = safe_name(e->skill_names ? e->skill_names[j]
                                                 : names->skill(names->ctx, e->skills[j]));
            i++;
            j++;
        }
    }
    const char *noun = e->nskills == 1 ? "skill" : "skills";
    if (n == 0) {
        strbuf_addf(b, e->nskills == 1 ? "Does not have the skill asked for"
                                          : "Has none of the %zu skills asked for", e->nskills);
    } else {
        qsort(have, n, sizeof *have, cmp_name_ci);
        strbuf_addf(b, "Has %zu of %zu %s: ", n, e->nskills, noun);
        size_t shown = n > REASON_MAX_LISTED * 2 ? REASON_MAX_LISTED * 2 : n;
        for (size_t k = 0; k < shown; k++) strbuf_addf(b, "%s%s", k ? ", " : "", have[k]);
        if (shown < n) strbuf_addf(b, " and %zu more", n - shown);
    }
    if (have != stack) free(have);
}

static void explain_capacity(strbuf_t *b, const match_agent_t *a, const match_engagement_t *e)
{
    int avail = match_available_hours(a);
    if (avail >= e->hours)
        strbuf_addf(b, "Needs %d h/week; %d h/week available", e->hours, avail);
    else if (avail > 0)
        strbuf_addf(b, "Needs %d h/week; only %d h/week available", e->hours, avail);
    else
        strbuf_addf(b, "Needs %d h/week; no hours available (%d committed of %d)", e->hours,
                       a->committed_hours, a->capacity_hours);
}

/* "volunteer", "consulting and volunteer", "none". */
static void add_packagings(strbuf_t *b, unsigned bits, const char *last)
{
    size_t n = 0, k = 0;
    for (int i = 0; i < MATCH_PACKAGINGS; i++) n += (bits >> i) & 1u;
    if (n == 0) {
        strbuf_addf(b, "none");
        return;
    }
    for (int i = 0; i < MATCH_PACKAGINGS; i++)
        if (bits & (1u << i)) {
            add_list_sep(b, k++, n, last);
            strbuf_addf(b, "%s", vocab_packagings[i]);
        }
}

static void explain_packaging(strbuf_t *b, const match_agent_t *a, const match_engagement_t *e)
{
    unsigned common = a->packagings & e->packagings;
    if (common) {
        strbuf_addf(b, "Packaging in common: ");
        add_packagings(b, common, " and ");
    } else {
        strbuf_addf(b, "No packaging in common (offered: ");
        add_packagings(b, e->packagings, " or ");
        strbuf_addf(b, "; accepted: ");
        add_packagings(b, a->packagings, " or ");
        strbuf_addf(b, ")");
    }
}

static void explain_location(strbuf_t *b, const match_agent_t *a, const match_engagement_t *e)
{
    switch (match_place_fit(a, e)) {
    case MATCH_PLACE_SAME: strbuf_addf(b, "Both in %s", safe_name(e->location_name)); break;
    case MATCH_PLACE_REMOTE: strbuf_addf(b, "Remote on both sides"); break;
    case MATCH_PLACE_DISTANCE: {
        double d = match_distance_km(a->latitude, a->longitude, e->latitude, e->longitude);
        if (d < 1.0) strbuf_addf(b, "Less than 1 km apart");
        else if (d < MATCH_NEAR_KM) strbuf_addf(b, "%.0f km apart", d);
        else strbuf_addf(b, "%.0f km apart: too far (%.0f km or more)", d, MATCH_NEAR_KM);
        break;
    }
    default: strbuf_addf(b, "Not in the same place, and not remote on both sides"); break;
    }
}

static void explain_follows(strbuf_t *b, const match_agent_t *a, const match_engagement_t *e)
{
    const char *org = e->organisation_name && *e->organisation_name ? e->organisation_name
                                                                    : "the organisation";
    strbuf_addf(b, match_follows_organisation(a, e) ? "Follows %s" : "Does not follow %s", org);
}

/* A new kind needs a case here and an entry in match_kind_t (README.md,
 * "Adding a reason kind"). */
json_t *match_reasons(const match_names_t *names, const match_agent_t *a,
                      const match_engagement_t *e, const match_score_t *s)
{
    json_t *out = json_array();
    if (!out) return NULL;
    for (int k = 0; k < MATCH_KINDS; k++) {
        strbuf_t b = {0};
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
                                  : json_pack("{s:s, s:s, s:f}", "kind", match_kind_name(k),
                                              "detail", strbuf_str(&b), "points", s->points[k]);
        strbuf_release(&b);
        if (!reason || json_array_append_new(out, reason) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}
