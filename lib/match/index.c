/* match/index.c: the in-memory index (layout in internal.h, the picture in
 * README.md): adding, replacing and removing agents, engagements, purposes
 * and organisations, keeping the posting lists and the pools in step, and
 * compacting the pools when replaced lists pile up. Not thread-safe by
 * itself: service.c is its only writer and holds the write lock. */
#include <stdlib.h>
#include <string.h>

#include "match/internal.h"

/* ---------- construction ---------- */

match_index_t *match_index_new(void) { return calloc(1, sizeof(match_index_t)); }

void match_index_free(match_index_t *ix)
{
    if (!ix) return;
    free(ix->str);
    match_intern_free(&ix->skills);
    match_intern_free(&ix->places);
    match_intern_free(&ix->labels);
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
    free(ix->agent_sigs);
    free(ix->free_agents);
    idmap_free(&ix->agent_ids);
    free(ix->engagements);
    free(ix->engagement_briefs);
    free(ix->free_engagements);
    idmap_free(&ix->engagement_ids);
    match_parsed_free(&ix->scratch);
    free(ix);
}

/* ---------- purposes and organisations ---------- */

/* The number of purpose id, adding it (unnamed, with an empty posting list)
 * when new. Numbers are never taken back: a purpose costs a name offset and
 * an empty posting until the next full build. Renaming appends the new name
 * to the string pool; the old one stays there until the next build too. */
static uint32_t purpose_number(match_index_t *ix, int64_t id)
{
    uint32_t n = idmap_get(&ix->purpose_ids, id);
    if (n != UINT32_MAX) return n;
    if (ix->npurposes >= (1u << 24)) return UINT32_MAX;
    uint32_t cap = ix->cappurposes;
    if (idmap_grow((void **)&ix->purpose_name, &cap, (size_t)ix->npurposes + 1,
                   sizeof *ix->purpose_name))
        return UINT32_MAX;
    cap = ix->cappurposes;
    if (idmap_grow((void **)&ix->postings, &cap, (size_t)ix->npurposes + 1, sizeof *ix->postings))
        return UINT32_MAX;
    ix->cappurposes = cap;
    uint32_t off;
    if (match_str_add(ix, "", &off)) return UINT32_MAX;
    n = ix->npurposes;
    if (idmap_put(&ix->purpose_ids, id, n)) return UINT32_MAX;
    ix->purpose_name[n] = off;
    memset(&ix->postings[n], 0, sizeof ix->postings[n]);
    ix->npurposes++;
    return n;
}

/* The number of organisation id, adding it (unnamed) when new. */
static uint32_t org_number(match_index_t *ix, int64_t id)
{
    uint32_t n = idmap_get(&ix->org_ids, id);
    if (n != UINT32_MAX) return n;
    uint32_t cap = ix->caporgs;
    if (idmap_grow((void **)&ix->org_name, &cap, (size_t)ix->norgs + 1, sizeof *ix->org_name))
        return UINT32_MAX;
    ix->caporgs = cap;
    uint32_t off;
    if (match_str_add(ix, "", &off)) return UINT32_MAX;
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
    return match_str_add(ix, name ? name : "", &ix->purpose_name[n]);
}

int match_index_put_organisation(match_index_t *ix, int64_t id, const char *name)
{
    uint32_t n = org_number(ix, id);
    if (n == UINT32_MAX) return -1;
    return match_str_add(ix, name ? name : "", &ix->org_name[n]);
}

size_t match_index_agent_count(const match_index_t *ix) { return ix->live_agents; }
size_t match_index_engagement_count(const match_index_t *ix) { return ix->live_engagements; }

/* By capacity, not by use: what the process holds for the index. The
 * records, the pools and the posting lists are nearly all of it (about 24
 * MiB for 90,000 agents and 40,000 engagements); the strings are shared. */
size_t match_index_memory(const match_index_t *ix)
{
    size_t b = sizeof *ix + ix->capstr;
    b += ((size_t)ix->skills.cap * 2 + ix->skills.tcap) * sizeof(uint32_t);
    b += ((size_t)ix->places.cap * 2 + ix->places.tcap) * sizeof(uint32_t);
    b += ((size_t)ix->labels.cap * 2 + ix->labels.tcap) * sizeof(uint32_t);
    b += ((size_t)ix->purpose_ids.cap + ix->org_ids.cap + ix->agent_ids.cap +
          ix->engagement_ids.cap) * (sizeof(int64_t) + sizeof(uint32_t));
    b += (size_t)ix->cappurposes * (sizeof(uint32_t) + sizeof(match_posting_t)) +
         (size_t)ix->caporgs * sizeof(uint32_t);
    for (uint32_t i = 0; i < ix->npurposes; i++)
        b += ((size_t)ix->postings[i].capagents + ix->postings[i].capengagements) *
             sizeof(uint32_t);
    b += (size_t)ix->capenergies * sizeof(match_energy_t) +
         (size_t)ix->capwords * sizeof(uint32_t);
    b += (size_t)ix->capagents * sizeof(match_agent_rec_t) +
         (size_t)ix->capagent_sigs * sizeof(uint64_t) +
         (size_t)ix->capfree_agents * sizeof(uint32_t);
    b += (size_t)ix->capengagements * sizeof(match_engagement_rec_t) +
         (size_t)ix->capengagement_briefs * sizeof(match_brief_t) +
         (size_t)ix->capfree_engagements * sizeof(uint32_t);
    return b;
}

/* match_index_memory split by what it is for: the agents' records, id map,
 * energies and posting entries and their share of the words pool (their
 * skills and follows); the engagements' likewise (their purposes, skills
 * and labels); what both share (strings, interners, purposes and
 * organisations) is in neither. Divided by the counts, what one more agent
 * or engagement costs, as the process holds it. */
void match_index_memory_parts(const match_index_t *ix, size_t *agents, size_t *engagements)
{
    size_t aw = 0, ew = 0;
    for (uint32_t s = 0; s < ix->nagents; s++)
        if (ix->agents[s].flags & REC_LIVE) aw += (size_t)ix->agents[s].nskills + ix->agents[s].nfollows;
    for (uint32_t s = 0; s < ix->nengagements; s++)
        if (ix->engagements[s].flags & REC_LIVE)
            ew += (size_t)ix->engagements[s].npurposes + 2u * ix->engagements[s].nskills;
    size_t words = (size_t)ix->capwords * sizeof(uint32_t);
    size_t a = (size_t)ix->capagents * sizeof(match_agent_rec_t) +
               (size_t)ix->capagent_sigs * sizeof(uint64_t) +
               (size_t)ix->capfree_agents * sizeof(uint32_t) +
               (size_t)ix->agent_ids.cap * (sizeof(int64_t) + sizeof(uint32_t)) +
               (size_t)ix->capenergies * sizeof(match_energy_t);
    size_t e = (size_t)ix->capengagements * sizeof(match_engagement_rec_t) +
               (size_t)ix->capengagement_briefs * sizeof(match_brief_t) +
               (size_t)ix->capfree_engagements * sizeof(uint32_t) +
               (size_t)ix->engagement_ids.cap * (sizeof(int64_t) + sizeof(uint32_t));
    for (uint32_t i = 0; i < ix->npurposes; i++) {
        a += (size_t)ix->postings[i].capagents * sizeof(uint32_t);
        e += (size_t)ix->postings[i].capengagements * sizeof(uint32_t);
    }
    if (aw + ew) {
        a += (size_t)((double)words * (double)aw / (double)(aw + ew));
        e += (size_t)((double)words * (double)ew / (double)(aw + ew));
    }
    *agents = a;
    *engagements = e;
}

/* ---------- postings ---------- */

/* Posting lists are unordered: adding appends, removing moves the last
 * entry into the hole. A removal scans the list (the purposes of one record,
 * each a few hundred entries at most at the bench's scale). */

static int posting_add(uint32_t **v, uint32_t *n, uint32_t *cap, uint32_t slot)
{
    if (idmap_grow((void **)v, cap, (size_t)*n + 1, sizeof **v)) return -1;
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

/* The lists of all records live in two arrays (energies: an agent's
 * purposes; words: everything else), appended to and addressed by offset.
 * Replacing a record appends its new lists and leaves the old ones as
 * waste; compaction rewrites both pools with the live lists only. */

static int words_add(match_index_t *ix, const uint32_t *v, size_t n, uint32_t *off)
{
    if (idmap_grow((void **)&ix->words, &ix->capwords, (size_t)ix->nwords + n, sizeof *ix->words))
        return -1;
    if (n) memcpy(ix->words + ix->nwords, v, n * sizeof *v);
    *off = ix->nwords;
    ix->nwords += (uint32_t)n;
    return 0;
}

static int energies_add(match_index_t *ix, const match_energy_t *v, size_t n, uint32_t *off)
{
    if (idmap_grow((void **)&ix->energies, &ix->capenergies, (size_t)ix->nenergies + n,
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
        match_agent_rec_t *a = &ix->agents[s];
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
        match_engagement_rec_t *e = &ix->engagements[s];
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

/* Compact once waste is more than half a pool and more than 64 Ki entries:
 * a full rewrite costs a few milliseconds at the bench's scale, so it must
 * be rare, and the pools never hold more than twice what is live. */
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
    match_agent_rec_t *a = &ix->agents[slot];
    for (uint32_t i = 0; i < a->npurposes; i++) {
        match_posting_t *p = &ix->postings[ix->energies[a->purposes_off + i].purpose];
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
    if (idmap_grow((void **)&ix->free_agents, &ix->capfree_agents, (size_t)ix->nfree_agents + 1,
                   sizeof *ix->free_agents) == 0)
        ix->free_agents[ix->nfree_agents++] = slot;
    ix->live_agents--;
    maybe_compact(ix);
}

/* Insert or replace: parse and map the lists first (adding unknown
 * purposes, organisations, skills and places, which is harmless), then make
 * room everywhere, and only then touch the record and its postings, so that
 * a failure leaves the agent as it was. */
int match_index_put_agent(match_index_t *ix, const match_agent_row_t *row)
{
    if (!row->discoverable) {
        match_index_remove_agent(ix, row->id);
        return 0;
    }
    match_parsed_t *p = &ix->scratch;
    if (row->id <= 0 || match_parse_agent(row, p)) return -1;
    size_t nskills = match_parsed_skill_count(p);
    if (p->nenergies > UINT16_MAX || nskills > UINT16_MAX ||
        match_parsed_reserve(p, p->nenergies, 0, nskills, p->nids))
        return -1;
    for (uint32_t i = 0; i < p->nenergies; i++) {
        uint32_t n = purpose_number(ix, p->energies[i].purpose);
        if (n == UINT32_MAX) return -1;
        p->m_energies[i].purpose = n;
        p->m_energies[i].energy = p->energies[i].energy;
    }
    size_t ne = match_unique_energies(p->m_energies, p->nenergies);
    for (size_t i = 0; i < nskills; i++) {
        uint32_t n = match_intern_add(ix, &ix->skills, match_parsed_skill_key(p, i),
                                      match_parsed_skill_name(p, i));
        if (n == UINT32_MAX) return -1;
        p->m_skills[i] = n;
    }
    size_t ns = match_unique_u32(p->m_skills, nskills);
    for (uint32_t i = 0; i < p->nids; i++) {
        uint32_t n = org_number(ix, p->ids[i]);
        if (n == UINT32_MAX) return -1;
        p->m_follows[i] = n;
    }
    size_t nf = match_unique_u32(p->m_follows, p->nids);
    uint32_t place = 0;
    if (row->location_key && *row->location_key) {
        uint32_t n = match_intern_add(ix, &ix->places, row->location_key, row->location);
        if (n == UINT32_MAX) return -1;
        place = n + 1;
    }
    /* room first, so that a failure below leaves the index as it was */
    if (idmap_grow((void **)&ix->energies, &ix->capenergies, (size_t)ix->nenergies + ne,
                   sizeof *ix->energies) ||
        idmap_grow((void **)&ix->words, &ix->capwords, (size_t)ix->nwords + ns + nf,
                   sizeof *ix->words) ||
        idmap_grow((void **)&ix->agents, &ix->capagents, (size_t)ix->nagents + 1,
                   sizeof *ix->agents) ||
        idmap_grow((void **)&ix->agent_sigs, &ix->capagent_sigs, (size_t)ix->nagents + 1,
                   sizeof *ix->agent_sigs))
        return -1;
    for (size_t i = 0; i < ne; i++) {
        match_posting_t *pp = &ix->postings[p->m_energies[i].purpose];
        if (idmap_grow((void **)&pp->agents, &pp->capagents, (size_t)pp->nagents + 1,
                       sizeof *pp->agents))
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
    match_agent_rec_t *a = &ix->agents[slot];
    memset(a, 0, sizeof *a);
    a->id = row->id;
    energies_add(ix, p->m_energies, ne, &a->purposes_off);
    words_add(ix, p->m_skills, ns, &a->skills_off);
    words_add(ix, p->m_follows, nf, &a->follows_off);
    a->npurposes = (uint16_t)ne;
    a->nskills = (uint16_t)ns;
    a->nfollows = (uint32_t)nf;
    a->location = place;
    match_row_coordinates(row->latitude, row->longitude, &a->latitude, &a->longitude);
    a->capacity = (uint16_t)clamp_int(row->capacity_hours, 0, 1000);
    a->committed = (uint16_t)clamp_int(row->committed_hours, 0, 60000);
    a->packagings = (uint8_t)match_packagings_from_text(row->packagings);
    a->flags = REC_LIVE | (row->remote_ok ? REC_REMOTE : 0);
    ix->agent_sigs[slot] = match_skill_signature(p->m_skills, ns);
    for (size_t i = 0; i < ne; i++) {
        match_posting_t *pp = &ix->postings[p->m_energies[i].purpose];
        uint32_t energy = p->m_energies[i].energy > 100 ? 100 : p->m_energies[i].energy;
        posting_add(&pp->agents, &pp->nagents, &pp->capagents, POSTING_ENTRY(slot, energy));
    }
    maybe_compact(ix);
    return 0;
}

/* ---------- engagements ---------- */

/* The brief of the record in slot (internal.h), from the record. */
static void engagement_brief(match_index_t *ix, uint32_t slot)
{
    const match_engagement_rec_t *e = &ix->engagements[slot];
    ix->engagement_briefs[slot] = (match_brief_t){
        .skills = match_skill_signature(ix->words + e->skills_off, e->nskills),
        .organisation = e->organisation,
        .hours = e->hours,
        .packagings = e->packagings,
    };
}

static void engagement_unlink(match_index_t *ix, uint32_t slot)
{
    match_engagement_rec_t *e = &ix->engagements[slot];
    for (uint32_t i = 0; i < e->npurposes; i++) {
        match_posting_t *p = &ix->postings[ix->words[e->purposes_off + i]];
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
    if (idmap_grow((void **)&ix->free_engagements, &ix->capfree_engagements,
                   (size_t)ix->nfree_engagements + 1, sizeof *ix->free_engagements) == 0)
        ix->free_engagements[ix->nfree_engagements++] = slot;
    ix->live_engagements--;
    maybe_compact(ix);
}

/* As match_index_put_agent. Skills keep the engagement's own spelling (a
 * label) next to the shared lower-case key, for its sentences. */
int match_index_put_engagement(match_index_t *ix, const match_engagement_row_t *row)
{
    if (!row->open) {
        match_index_remove_engagement(ix, row->id);
        return 0;
    }
    match_parsed_t *p = &ix->scratch;
    if (row->id <= 0 || match_parse_engagement(row, p)) return -1;
    size_t nskills = match_parsed_skill_count(p);
    if (p->nids > UINT16_MAX || nskills > UINT16_MAX ||
        match_parsed_reserve(p, 0, p->nids, nskills, 0))
        return -1;
    for (uint32_t i = 0; i < p->nids; i++) {
        uint32_t n = purpose_number(ix, p->ids[i]);
        if (n == UINT32_MAX) return -1;
        p->m_purposes[i] = n;
    }
    size_t np = match_unique_u32(p->m_purposes, p->nids);
    for (size_t i = 0; i < nskills; i++) {
        uint32_t n = match_intern_add(ix, &ix->skills, match_parsed_skill_key(p, i),
                                      match_parsed_skill_name(p, i));
        uint32_t label = match_intern_add(ix, &ix->labels, match_parsed_skill_name(p, i), NULL);
        if (n == UINT32_MAX || label == UINT32_MAX) return -1;
        p->m_pairs[i] = (match_skill_pair_t){n, label, (uint32_t)i, NULL};
    }
    size_t ns = match_unique_pairs(p->m_pairs, nskills);
    for (size_t i = 0; i < ns; i++) {
        p->m_skills[i] = p->m_pairs[i].skill;
        p->m_skills[ns + i] = p->m_pairs[i].label;
    }
    uint32_t org = org_number(ix, row->organisation_id);
    if (org == UINT32_MAX) return -1;
    uint32_t place = 0, place_label = 0;
    if (row->location_key && *row->location_key) {
        const char *spelt = row->location ? row->location : row->location_key;
        uint32_t n = match_intern_add(ix, &ix->places, row->location_key, spelt);
        uint32_t label = match_intern_add(ix, &ix->labels, spelt, NULL);
        if (n == UINT32_MAX || label == UINT32_MAX) return -1;
        place = n + 1;
        place_label = label + 1;
    }
    if (idmap_grow((void **)&ix->words, &ix->capwords, (size_t)ix->nwords + np + 2 * ns,
                   sizeof *ix->words) ||
        idmap_grow((void **)&ix->engagements, &ix->capengagements, (size_t)ix->nengagements + 1,
                   sizeof *ix->engagements) ||
        idmap_grow((void **)&ix->engagement_briefs, &ix->capengagement_briefs,
                   (size_t)ix->nengagements + 1, sizeof *ix->engagement_briefs))
        return -1;
    for (size_t i = 0; i < np; i++) {
        match_posting_t *pp = &ix->postings[p->m_purposes[i]];
        if (idmap_grow((void **)&pp->engagements, &pp->capengagements,
                       (size_t)pp->nengagements + 1, sizeof *pp->engagements))
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
    match_engagement_rec_t *e = &ix->engagements[slot];
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
    match_row_coordinates(row->latitude, row->longitude, &e->latitude, &e->longitude);
    e->hours = (uint8_t)clamp_int(row->hours, 0, 255);
    e->packagings = (uint8_t)match_packagings_from_text(row->packagings);
    e->flags = REC_LIVE | (row->remote_ok ? REC_REMOTE : 0);
    engagement_brief(ix, slot);
    for (size_t i = 0; i < np; i++) {
        match_posting_t *pp = &ix->postings[p->m_purposes[i]];
        posting_add(&pp->engagements, &pp->nengagements, &pp->capengagements, slot);
    }
    maybe_compact(ix);
    return 0;
}

int match_index_make_signatures(match_index_t *ix)
{
    if (idmap_grow((void **)&ix->agent_sigs, &ix->capagent_sigs, (size_t)ix->nagents + 1,
                   sizeof *ix->agent_sigs) ||
        idmap_grow((void **)&ix->engagement_briefs, &ix->capengagement_briefs,
                   (size_t)ix->nengagements + 1, sizeof *ix->engagement_briefs))
        return -1;
    for (uint32_t s = 0; s < ix->nagents; s++) {
        const match_agent_rec_t *a = &ix->agents[s];
        ix->agent_sigs[s] = match_skill_signature(ix->words + a->skills_off, a->nskills);
    }
    for (uint32_t s = 0; s < ix->nengagements; s++) engagement_brief(ix, s);
    return 0;
}

/* ---------- names and the query side ---------- */

const char *match_index_purpose_name(const void *ctx, uint32_t n)
{
    const match_index_t *ix = ctx;
    return n < ix->npurposes ? ix->str + ix->purpose_name[n] : "";
}

const char *match_index_skill_name(const void *ctx, uint32_t n)
{
    const match_index_t *ix = ctx;
    return n < ix->skills.n ? ix->str + ix->skills.name_off[n] : "";
}

/* Map a query row's lists to the index's numbers without changing the index:
 * purposes and organisations it does not know cannot be shared with any
 * candidate and are dropped; unknown skills keep distinct numbers of their
 * own so that they still count as asked for. */
size_t match_index_map_skills(const match_index_t *ix, match_parsed_t *p)
{
    size_t n = match_parsed_skill_count(p), unknown = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t s = match_intern_find(ix, &ix->skills, match_parsed_skill_key(p, i));
        if (s == UINT32_MAX) {
            bool seen = false;
            for (size_t j = 0; j < i && !seen; j++)
                seen = strcmp(match_parsed_skill_key(p, j), match_parsed_skill_key(p, i)) == 0;
            s = seen ? UINT32_MAX - 1 : UINT32_MAX - 1 - (uint32_t)++unknown;
        }
        p->m_pairs[i] = (match_skill_pair_t){s, 0, (uint32_t)i, match_parsed_skill_name(p, i)};
    }
    /* later spellings of an unknown skill share UINT32_MAX - 1: dropped */
    size_t k = match_unique_pairs(p->m_pairs, n);
    if (k && p->m_pairs[k - 1].skill == UINT32_MAX - 1) k--;
    for (size_t i = 0; i < k; i++) {
        p->m_skills[i] = p->m_pairs[i].skill;
        p->m_names[i] = p->m_pairs[i].name;
    }
    return k;
}

uint32_t match_index_place(const match_index_t *ix, const char *key)
{
    if (!key || !*key) return 0;
    uint32_t n = match_intern_find(ix, &ix->places, key);
    return n == UINT32_MAX ? UINT32_MAX : n + 1;
}

