/* match/topk.c: the k best candidates for one caller, in either direction
 * (open engagements for an agent, discoverable agents for an engagement),
 * with their scores and reasons. One search serves both directions: the
 * direction is a constant at each of its two call sites, so the compiler
 * specialises it and neither pays for the other's branches. README.md,
 * "Top-k", says how it works and what it costs. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "match/formula.h"
#include "match/internal.h"

/* ---------- the bounded heap ---------- */

int match_cand_rank_engagement(const match_cand_t *x, const match_cand_t *y)
{
    return match_rank_engagement(x->q, x->created_us, x->id, y->q, y->created_us, y->id);
}

int match_cand_rank_agent(const match_cand_t *x, const match_cand_t *y)
{
    return match_rank_agent(x->q, x->id, y->q, y->id);
}

/* Restore the heap below i: a parent ranks after (is worse than) its children. */
static void topk_sift_down(match_cand_t *v, size_t n, size_t i, match_cand_rank_fn rank)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, w = i;
        if (l < n && rank(&v[l], &v[w]) > 0) w = l;
        if (r < n && rank(&v[r], &v[w]) > 0) w = r;
        if (w == i) return;
        match_cand_t t = v[i];
        v[i] = v[w];
        v[w] = t;
        i = w;
    }
}

static inline void topk_push(match_topk_t *h, const match_cand_t *c)
{
    if (h->k == 0) return;
    if (h->n < h->k) {
        size_t i = h->n++;
        h->v[i] = *c;
        while (i > 0) {
            size_t parent = (i - 1) / 2;
            if (h->rank(&h->v[i], &h->v[parent]) <= 0) break;
            match_cand_t t = h->v[i];
            h->v[i] = h->v[parent];
            h->v[parent] = t;
            i = parent;
        }
        return;
    }
    if (h->rank(c, &h->v[0]) >= 0) return; /* not better than the worst kept */
    h->v[0] = *c;
    topk_sift_down(h->v, h->n, 0, h->rank);
}

void match_topk_push(match_topk_t *h, const match_cand_t *c) { topk_push(h, c); }

/* Heapsort: moving the worst to the end, again and again, leaves the best
 * first. The rank is a total order (ids differ), so this is the order any
 * sort would give. */
void match_topk_sort(match_topk_t *h)
{
    for (size_t n = h->n; n > 1; n--) {
        match_cand_t t = h->v[0];
        h->v[0] = h->v[n - 1];
        h->v[n - 1] = t;
        topk_sift_down(h->v, n - 1, 0, h->rank);
    }
}

/* ---------- gathering the candidates ---------- */

typedef enum { FIND_ENGAGEMENTS, FIND_AGENTS } direction_t;

/* Candidates that share a purpose with the caller, each with the energy
 * shared (which fixes its purpose points), best energy first. The arrays
 * are the thread's (below). */
typedef struct gathered {
    uint16_t *shared;          /* by slot; 0 = not a candidate */
    uint32_t *order;           /* candidate slots, by shared energy descending */
    uint32_t n;
} gathered_t;

/* A search's arrays are the thread's, kept from one search to the next
 * and grown when too small: the dense array of shared energies (all zero
 * between searches: a search clears only the slots it touched), the slots
 * touched and their order. Fresh ones per search were 2 bytes for every
 * slot (2 MB for an engagement's agents at scale 10) allocated, zeroed and
 * touched all over, and two arrays as long as the caller's posting lists,
 * on every request. */
typedef struct scratch {
    uint16_t *shared;
    uint32_t *touched, *order;
    size_t nshared, nlists;    /* their capacities */
} scratch_t;

static pthread_key_t g_scratch_key;
static pthread_once_t g_scratch_once = PTHREAD_ONCE_INIT;

static void scratch_at_thread_exit(void *p)
{
    scratch_t *s = p;
    free(s->shared);
    free(s->touched);
    free(s->order);
    free(s);
}

static void make_scratch_key(void) { pthread_key_create(&g_scratch_key, scratch_at_thread_exit); }

/* This thread's arrays for slots slots (zeroed) and lists candidates, or NULL. */
static scratch_t *scratch_get(size_t slots, size_t lists)
{
    pthread_once(&g_scratch_once, make_scratch_key);
    scratch_t *s = pthread_getspecific(g_scratch_key);
    if (!s) {
        s = calloc(1, sizeof *s);
        if (!s) return NULL;
        if (pthread_setspecific(g_scratch_key, s)) {
            free(s);
            return NULL;
        }
    }
    if (s->nshared < slots) {
        uint16_t *b = calloc(slots, sizeof *b);
        if (!b) return NULL;
        free(s->shared);
        s->shared = b;
        s->nshared = slots;
    }
    if (s->nlists < lists) {
        uint32_t *t = malloc(lists * sizeof *t), *o = malloc(lists * sizeof *o);
        if (!t || !o) {
            free(t);
            free(o);
            return NULL;
        }
        free(s->touched);
        free(s->order);
        s->touched = t;
        s->order = o;
        s->nlists = lists;
    }
    return s;
}

/* Leave the dense array all zero for the next search. */
static void gathered_clear(gathered_t *g)
{
    for (uint32_t i = 0; i < g->n; i++) g->shared[g->order[i]] = 0;
    g->n = 0;
}

/* After g->shared is filled for the touched slots, order them by energy:
 * a counting sort, energy being 1..100 (an agent's energies sum to at most
 * 100; the clamp only guards against a database that says otherwise). */
static void gathered_sort(gathered_t *g, const uint32_t *touched, uint32_t n)
{
    uint32_t count[102] = {0};
    for (uint32_t i = 0; i < n; i++) {
        if (g->shared[touched[i]] > 100) g->shared[touched[i]] = 100;
        count[100 - g->shared[touched[i]] + 1]++;
    }
    for (int e = 1; e <= 101; e++) count[e] += count[e - 1];
    for (uint32_t i = 0; i < n; i++) g->order[count[100 - g->shared[touched[i]]]++] = touched[i];
    g->n = n;
}

/* Walk the posting lists of the caller's purposes, term at a time, adding
 * up the energy each candidate shares with the caller. For engagements the
 * energy is the calling agent's; for agents it is in the posting entry. */
static inline __attribute__((always_inline)) int
gather(const match_index_t *ix, direction_t dir, const match_agent_t *a,
       const match_engagement_t *e, gathered_t *g)
{
    size_t np = dir == FIND_ENGAGEMENTS ? a->npurposes : e->npurposes;
    size_t total = 0;
    for (size_t i = 0; i < np; i++) {
        const match_posting_t *pp =
            &ix->postings[dir == FIND_ENGAGEMENTS ? a->purposes[i].purpose : e->purposes[i]];
        total += dir == FIND_ENGAGEMENTS ? pp->nengagements : pp->nagents;
    }
    uint32_t slots = dir == FIND_ENGAGEMENTS ? ix->nengagements : ix->nagents;
    scratch_t *s = scratch_get((size_t)slots + 1, total + 1);
    if (!s) return -1;
    g->shared = s->shared;
    g->order = s->order;
    uint32_t *touched = s->touched;
    uint32_t nt = 0;
    for (size_t i = 0; i < np; i++) {
        if (dir == FIND_ENGAGEMENTS) {
            const match_posting_t *pp = &ix->postings[a->purposes[i].purpose];
            for (uint32_t j = 0; j < pp->nengagements; j++) {
                uint32_t slot = pp->engagements[j];
                if (g->shared[slot] == 0) touched[nt++] = slot;
                g->shared[slot] = (uint16_t)(g->shared[slot] + a->purposes[i].energy);
            }
        } else {
            const match_posting_t *pp = &ix->postings[e->purposes[i]];
            for (uint32_t j = 0; j < pp->nagents; j++) {
                uint32_t slot = POSTING_SLOT(pp->agents[j]);
                if (g->shared[slot] == 0) touched[nt++] = slot;
                g->shared[slot] = (uint16_t)(g->shared[slot] + POSTING_ENERGY(pp->agents[j]));
            }
        }
    }
    gathered_sort(g, touched, nt);
    return 0;
}

/* ---------- bounds ---------- */

/* The most a pair sharing this energy can score, reading neither side's
 * skills (skills: the bound brief_bound gives, from the signatures)
 * nor (unless follows_known: the agent is the caller, whose follows are at
 * hand) the agent's follows: lets the search skip a candidate without
 * touching its lists. Never below match_score's score. */
static inline double score_upper_bound(const match_weights_t *w, const match_agent_t *a,
                                       const match_engagement_t *e, uint32_t energy,
                                       bool follows_known, double skills)
{
    return w->w[MATCH_PURPOSE] * match_fit_purpose(energy) + w->w[MATCH_SKILLS] * skills +
           w->w[MATCH_CAPACITY] * match_fit_capacity(a, e) +
           w->w[MATCH_PACKAGING] * match_fit_packaging(a, e) +
           w->w[MATCH_LOCATION] * match_fit_location(a, e) +
           w->w[MATCH_FOLLOWS] * (follows_known ? match_fit_follows(a, e) : 1.0);
}

/* The best quantised score any candidate sharing this much energy could
 * reach, every other factor at its best; + 1 so that rounding never prunes
 * a candidate that could tie. */
static inline int64_t energy_bound(const match_weights_t *w, uint32_t energy)
{
    double bound = w->w[MATCH_PURPOSE] * energy / 100.0;
    for (int k = 0; k < MATCH_KINDS; k++)
        if (k != MATCH_PURPOSE) bound += w->w[k];
    return match_quantise(bound) + 1;
}

/* The caller's skills as the signatures see them: for an agent, its
 * signature; for an engagement, each skill's bit (the share of them an
 * agent's signature holds bounds the share of them it has). */
typedef struct caller_bits {
    uint64_t sig;
    const uint32_t *skills;
    size_t nskills;
} caller_bits_t;

/* The most a candidate sharing this energy can score, from what the search
 * has before reading its record (a random read beyond the caches at scale
 * 10) or its lists; *skills: the bound of its skills factor, for
 * score_upper_bound. An engagement's brief (internal.h) makes every factor
 * exact but the skills (bounded by the signatures) and the location (at
 * its best); of an agent only the signature is kept (an engagement's
 * search reads few agents' records: the signatures leave ~700 of ~25,000
 * candidates at scale 10), every other factor at its best. + 1 as above. */
static inline __attribute__((always_inline)) int64_t
brief_bound(const match_index_t *ix, const match_weights_t *w, direction_t dir,
            const match_agent_t *a, const match_engagement_t *e, const caller_bits_t *c,
            uint32_t slot, uint32_t energy, double *skills)
{
    double rest = w->w[MATCH_LOCATION];
    if (dir == FIND_ENGAGEMENTS) {
        const match_brief_t *b = &ix->engagement_briefs[slot];
        /* none asked: 1; else none in common: 0 */
        *skills = b->skills == 0 || (b->skills & c->sig) ? 1.0 : 0.0;
        match_engagement_t t = {
            .hours = b->hours, .packagings = b->packagings, .organisation = b->organisation};
        rest += w->w[MATCH_CAPACITY] * match_fit_capacity(a, &t) +
                w->w[MATCH_PACKAGING] * match_fit_packaging(a, &t) +
                w->w[MATCH_FOLLOWS] * match_fit_follows(a, &t);
    } else {
        if (c->nskills == 0) {
            *skills = 1.0;
        } else {
            uint64_t sig = ix->agent_sigs[slot];
            size_t held = 0;
            for (size_t i = 0; i < c->nskills; i++)
                held += (sig & match_skill_bit(c->skills[i])) != 0;
            *skills = (double)held / (double)c->nskills;
        }
        rest += w->w[MATCH_CAPACITY] + w->w[MATCH_PACKAGING] + w->w[MATCH_FOLLOWS];
    }
    return match_quantise(w->w[MATCH_PURPOSE] * match_fit_purpose(energy) +
                          w->w[MATCH_SKILLS] * *skills + rest) +
           1;
}

/* ---------- the search ---------- */

/* Candidates that pass their brief's bound wait in a ring before their
 * record is read, so that the memory is asked for it (and then for its
 * lists) while the candidates before it are scored: a record when it joins
 * the ring, its lists when RING / 2 more have joined (its record is there
 * by then), and it is scored when RING more have. Briefs are asked for
 * BRIEF_AHEAD candidates ahead of the walk. Prefetching records by their
 * place in the walk instead (before the briefs, 8 and 16 ahead) read the
 * records of candidates the brief then skipped: a third of the search. */
#define RING 16
#define BRIEF_AHEAD 32

typedef struct waiting {
    uint32_t slot;
    double skills;             /* brief_bound's bound of the skills factor */
} waiting_t;

/* An engagement's record at both ends: an array from realloc starts 16
 * bytes past a page (glibc), so each 64-byte engagement record spans two
 * cache lines, and prefetching the first alone left the counts and flags
 * at its end to a miss when the record was read (perf, /me/matches at
 * scale 10: 35 % of the daemon's CPU on that load; daemon CPU a request
 * 1.86-1.97 ms before, 1.48-1.83 after). An agent's record (56 bytes)
 * showed no gain from it. */
static inline __attribute__((always_inline)) void
prefetch_record(const match_index_t *ix, direction_t dir, uint32_t slot)
{
    if (dir == FIND_ENGAGEMENTS) {
        const char *r = (const char *)&ix->engagements[slot];
        __builtin_prefetch(r);
        __builtin_prefetch(r + sizeof *ix->engagements - 1);
    } else {
        __builtin_prefetch(&ix->agents[slot]);
    }
}

static inline __attribute__((always_inline)) void
prefetch_lists(const match_index_t *ix, direction_t dir, uint32_t slot)
{
    if (dir == FIND_ENGAGEMENTS) {
        const match_engagement_rec_t *r = &ix->engagements[slot];
        __builtin_prefetch(ix->words + r->purposes_off);
        __builtin_prefetch(ix->words + r->skills_off);
    } else {
        const match_agent_rec_t *r = &ix->agents[slot];
        __builtin_prefetch(ix->energies + r->purposes_off);
        __builtin_prefetch(ix->words + r->skills_off);
        __builtin_prefetch(ix->words + r->follows_off);
    }
}

/* The k best candidates into out, best first; how many, or -1. The caller
 * is *a (FIND_ENGAGEMENTS) or *e (FIND_AGENTS); the other one is filled
 * with each candidate in turn. excluded: sorted ids of the candidates left
 * out (a proposed or active agreement with the caller). */
static inline __attribute__((always_inline)) int
search(const match_index_t *ix, const match_weights_t *w, direction_t dir, match_agent_t *a,
       match_engagement_t *e, const int64_t *excluded, size_t nexcluded, size_t k,
       match_hit_t *out)
{
    if (k == 0) return 0;
    int result = -1;
    gathered_t g = {0};
    match_cand_t *heap = malloc(k * sizeof *heap);
    caller_bits_t bits = {0};
    if (dir == FIND_ENGAGEMENTS) {
        bits.sig = match_skill_signature(a->skills, a->nskills);
    } else {
        bits.skills = e->skills;
        bits.nskills = e->nskills;
    }
    if (!heap || gather(ix, dir, a, e, &g) != 0) goto done;
    match_topk_t h = {heap, 0, k,
                      dir == FIND_ENGAGEMENTS ? match_cand_rank_engagement : match_cand_rank_agent};
    /* Best shared energy first: once the heap is full, the first candidate
     * whose energy alone cannot reach the worst kept ends the walk, for
     * everyone after it shares no more. Those in the ring already are
     * scored still (they passed with the worst kept of their time; the
     * record's bound checks them again with today's). */
    waiting_t ring[RING];
    uint32_t head = 0, tail = 0, at = 0; /* at: the walk's place in g.order */
    for (;;) {
        while (tail - head < RING && at < g.n) {
            uint32_t slot = g.order[at];
            if (h.n == h.k && energy_bound(w, g.shared[slot]) < h.v[0].q) {
                at = g.n;
                break;
            }
            if (at + BRIEF_AHEAD < g.n) {
                uint32_t ahead = g.order[at + BRIEF_AHEAD];
                if (dir == FIND_ENGAGEMENTS) __builtin_prefetch(&ix->engagement_briefs[ahead]);
                else __builtin_prefetch(&ix->agent_sigs[ahead]);
            }
            at++;
            /* a bound from the brief skips reading the candidate's record */
            double skills;
            int64_t bound = brief_bound(ix, w, dir, a, e, &bits, slot, g.shared[slot], &skills);
            if (h.n == h.k && bound < h.v[0].q) continue;
            ring[tail++ % RING] = (waiting_t){slot, skills};
            prefetch_record(ix, dir, slot);
            if (tail - head > RING / 2)
                prefetch_lists(ix, dir, ring[(tail - 1 - RING / 2) % RING].slot);
        }
        if (head == tail) break;
        waiting_t next = ring[head++ % RING];
        uint32_t slot = next.slot;
        if (dir == FIND_ENGAGEMENTS) match_engagement_view(ix, slot, e, NULL);
        else match_agent_view(ix, slot, a);
        /* a bound from the record alone skips reading the candidate's lists */
        if (h.n == h.k &&
            match_quantise(score_upper_bound(w, a, e, g.shared[slot], dir == FIND_ENGAGEMENTS,
                                             next.skills)) +
                    1 <
                h.v[0].q)
            continue;
        int64_t id = dir == FIND_ENGAGEMENTS ? e->id : a->id;
        if (match_contains_i64(excluded, nexcluded, id)) continue;
        match_score_t s;
        if (!match_score(w, a, e, &s)) continue;
        match_cand_t c = {match_quantise(s.score), dir == FIND_ENGAGEMENTS ? e->created_us : 0,
                          id, slot};
        topk_push(&h, &c);
    }
    match_topk_sort(&h);
    /* Only the k winners are explained (and, for engagements, given their
     * own spellings of the skills). */
    match_names_t names = {match_index_purpose_name, match_index_skill_name, ix};
    for (size_t i = 0; i < h.n; i++) {
        const char **skill_names = NULL;
        if (dir == FIND_ENGAGEMENTS) {
            skill_names = malloc(((size_t)ix->engagements[heap[i].slot].nskills + 1) *
                                 sizeof *skill_names);
            match_engagement_view(ix, heap[i].slot, e, skill_names);
        } else {
            match_agent_view(ix, heap[i].slot, a);
        }
        match_score_t s;
        match_score(w, a, e, &s);
        out[i].id = dir == FIND_ENGAGEMENTS ? e->id : a->id;
        out[i].score = s.score;
        out[i].reasons = dir == FIND_ENGAGEMENTS && !skill_names ? NULL
                                                                 : match_reasons(&names, a, e, &s);
        free(skill_names);
        if (!out[i].reasons) {
            match_hits_clear(out, i);
            goto done;
        }
    }
    result = (int)h.n;
done:
    free(heap);
    gathered_clear(&g);
    return result;
}

/* ---------- the caller's side ---------- */

/* The caller's rows are read fresh by the request (not from the index), and
 * mapped to the index's numbers without changing it: purposes and
 * organisations it does not know cannot be shared with any candidate and
 * are dropped; unknown skills still count as asked for. */
static int query_agent(const match_index_t *ix, const match_agent_row_t *row, match_parsed_t *p,
                       match_agent_t *a)
{
    if (match_parse_agent(row, p)) return -1;
    size_t nskills = match_parsed_skill_count(p);
    if (match_parsed_reserve(p, p->nenergies, 0, nskills, p->nids)) return -1;
    size_t ne = 0;
    for (uint32_t i = 0; i < p->nenergies; i++) {
        uint32_t n = idmap_get(&ix->purpose_ids, p->energies[i].purpose);
        if (n == UINT32_MAX) continue;
        p->m_energies[ne].purpose = n;
        p->m_energies[ne].energy = p->energies[i].energy;
        ne++;
    }
    ne = match_unique_energies(p->m_energies, ne);
    size_t ns = match_index_map_skills(ix, p);
    size_t nf = 0;
    for (uint32_t i = 0; i < p->nids; i++) {
        uint32_t n = idmap_get(&ix->org_ids, p->ids[i]);
        if (n != UINT32_MAX) p->m_follows[nf++] = n;
    }
    nf = match_unique_u32(p->m_follows, nf);
    *a = (match_agent_t){
        .id = row->id,
        .purposes = p->m_energies,
        .npurposes = ne,
        .skills = p->m_skills,
        .nskills = ns,
        .follows = p->m_follows,
        .nfollows = nf,
        .capacity_hours = row->capacity_hours,
        .committed_hours = row->committed_hours,
        .location = match_index_place(ix, row->location_key),
        .packagings = match_packagings_from_text(row->packagings),
        .remote_ok = row->remote_ok,
    };
    match_row_coordinates(row->latitude, row->longitude, &a->latitude, &a->longitude);
    a->placed = !isnan(a->latitude);
    /* the caller's point once, not once per candidate */
    if (a->placed) {
        match_point(a->latitude, a->longitude, a->point);
        a->has_point = true;
    }
    return 0;
}

static int query_engagement(const match_index_t *ix, const match_engagement_row_t *row,
                            match_parsed_t *p, match_engagement_t *e)
{
    if (match_parse_engagement(row, p)) return -1;
    size_t nskills = match_parsed_skill_count(p);
    if (match_parsed_reserve(p, 0, p->nids, nskills, 0)) return -1;
    size_t np = 0;
    for (uint32_t i = 0; i < p->nids; i++) {
        uint32_t n = idmap_get(&ix->purpose_ids, p->ids[i]);
        if (n != UINT32_MAX) p->m_purposes[np++] = n;
    }
    np = match_unique_u32(p->m_purposes, np);
    size_t ns = match_index_map_skills(ix, p);
    uint32_t org = idmap_get(&ix->org_ids, row->organisation_id);
    *e = (match_engagement_t){
        .id = row->id,
        .created_us = row->created_us,
        .purposes = p->m_purposes,
        .npurposes = np,
        .skills = p->m_skills,
        .nskills = ns,
        .skill_names = p->m_names,
        .organisation = org,
        .organisation_name = row->organisation_name
                                 ? row->organisation_name
                                 : (org != UINT32_MAX ? ix->str + ix->org_name[org] : NULL),
        .hours = row->hours,
        .location = match_index_place(ix, row->location_key),
        .location_name = row->location,
        .packagings = match_packagings_from_text(row->packagings),
        .remote_ok = row->remote_ok,
    };
    match_row_coordinates(row->latitude, row->longitude, &e->latitude, &e->longitude);
    e->placed = !isnan(e->latitude);
    /* the caller's point once, not once per candidate */
    if (e->placed) {
        match_point(e->latitude, e->longitude, e->point);
        e->has_point = true;
    }
    return 0;
}

/* ---------- the API ---------- */

int match_index_engagements_for(const match_index_t *ix, const match_weights_t *w,
                                const match_agent_row_t *row, size_t k, match_hit_t *out)
{
    match_parsed_t p = {0};
    match_agent_t a;
    match_engagement_t e;
    int rc = -1;
    if (query_agent(ix, row, &p, &a) == 0)
        rc = search(ix, w, FIND_ENGAGEMENTS, &a, &e, p.excluded, p.nexcluded, k, out);
    match_parsed_free(&p);
    return rc;
}

int match_index_agents_for(const match_index_t *ix, const match_weights_t *w,
                           const match_engagement_row_t *row, size_t k, match_hit_t *out)
{
    match_parsed_t p = {0};
    match_agent_t a;
    match_engagement_t e;
    int rc = -1;
    if (query_engagement(ix, row, &p, &e) == 0)
        rc = search(ix, w, FIND_AGENTS, &a, &e, p.excluded, p.nexcluded, k, out);
    match_parsed_free(&p);
    return rc;
}

void match_hits_clear(match_hit_t *hits, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        json_decref(hits[i].reasons);
        hits[i].reasons = NULL;
    }
}
