/* match/score.c: the formula (pure). One agent, one engagement and the
 * weights give a score and its points per kind (the factors are in
 * formula.h); plus the names of kinds and packagings, the weights from the
 * configuration and the ranking order. Nothing here allocates.
 * The formula is documented in docs/matching.md; the SQL there is what
 * tests/api/matching-consistency.test.mjs compares this with. */
#include <math.h>
#include <string.h>

#include "match/formula.h"
#include "match/internal.h"

static const char *const kind_names[MATCH_KINDS] = {"purpose",   "skills",   "capacity",
                                                    "packaging", "location", "follows"};

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
            if (strlen(vocab_packagings[i]) == n && memcmp(vocab_packagings[i], s, n) == 0)
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

bool match_score(const match_weights_t *w, const match_agent_t *a, const match_engagement_t *e,
                 match_score_t *out)
{
    memset(out, 0, sizeof *out);
    size_t nshared;
    uint32_t energy = match_shared_energy(a, e, &nshared);
    if (nshared == 0) return false;
    out->match = true;
    double fit[MATCH_KINDS];
    fit[MATCH_PURPOSE] = match_fit_purpose(energy);
    fit[MATCH_SKILLS] = match_fit_skills(a, e);
    fit[MATCH_CAPACITY] = match_fit_capacity(a, e);
    fit[MATCH_PACKAGING] = match_fit_packaging(a, e);
    fit[MATCH_LOCATION] = match_fit_location(a, e);
    fit[MATCH_FOLLOWS] = match_fit_follows(a, e);
    /* summed in the order of the kinds: the consistency test compares to 1e-9 */
    double score = 0.0;
    for (int k = 0; k < MATCH_KINDS; k++) {
        out->points[k] = w->w[k] * fit[k];
        score += out->points[k];
    }
    out->score = score > 1.0 ? 1.0 : score; /* weights sum to 1; this only absorbs rounding */
    return true;
}

/* ---------- ranking ---------- */

int match_compare_engagements(double score_x, const match_engagement_t *x, double score_y,
                              const match_engagement_t *y)
{
    return match_rank_engagement(match_quantise(score_x), x->created_us, x->id,
                                 match_quantise(score_y), y->created_us, y->id);
}

int match_compare_agents(double score_x, int64_t x, double score_y, int64_t y)
{
    return match_rank_agent(match_quantise(score_x), x, match_quantise(score_y), y);
}
