/* match/snapshot.c: the whole index in one file, so that a restarted daemon
 * loads it in a second or two instead of building it from PostgreSQL
 * (half a minute to a minute at a million agents). README.md, "A snapshot
 * at stop, loaded at start", says when it is written and when it is used.
 *
 * The file is the index's flat arrays as they are in memory, each as a
 * length and its bytes, after a header that says what wrote it, and
 * followed by a BLAKE2b-256 of everything before. It is written to a
 * temporary name, synced and renamed, so a reader sees a whole file or
 * none. A reader checks the header, reads each array into memory of its
 * own (no second copy of the file), checks the hash, then checks that
 * every number that points somewhere points inside its array: a file that
 * fails any check is refused, never half used. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "match/internal.h"

static const char MAGIC[8] = {'P', 'M', 'I', 'X', 'S', 'N', 'A', 'P'};

/* What the arrays' bytes mean on this build: the format, the byte order and
 * the sizes of the records written raw. A file of another layout is refused. */
static void layout(char *out, size_t size)
{
    const uint32_t one = 1;
    snprintf(out, size, "format=%d;le=%d;agent=%zu;engagement=%zu;energy=%zu",
             MATCH_SNAPSHOT_FORMAT, *(const unsigned char *)&one, sizeof(match_agent_rec_t),
             sizeof(match_engagement_rec_t), sizeof(match_energy_t));
}

/* ---------- writing ---------- */

typedef struct writer {
    FILE *f;
    crypto_generichash_state h;
    bool failed;
} writer_t;

static void put_bytes(writer_t *w, const void *p, size_t n)
{
    if (w->failed || n == 0) return;
    if (fwrite(p, 1, n, w->f) != n) {
        w->failed = true;
        return;
    }
    crypto_generichash_update(&w->h, p, n);
}

static void put_u64(writer_t *w, uint64_t v) { put_bytes(w, &v, sizeof v); }

/* An array: its element count, then its bytes. */
static void put_array(writer_t *w, const void *p, size_t count, size_t elem)
{
    put_u64(w, count);
    put_bytes(w, p, count * elem);
}

static void put_text(writer_t *w, const char *s) { put_array(w, s, strlen(s), 1); }

static void put_interner(writer_t *w, const match_interner_t *in)
{
    put_array(w, in->key_off, in->n, sizeof *in->key_off);
    put_array(w, in->name_off, in->n, sizeof *in->name_off);
    put_array(w, in->table, in->tcap, sizeof *in->table);
}

static void put_idmap(writer_t *w, const idmap_t *m)
{
    put_u64(w, m->n);
    put_array(w, m->keys, m->cap, sizeof *m->keys);
    put_array(w, m->vals, m->cap, sizeof *m->vals);
}

int match_snapshot_write(const match_index_t *ix, const char *path, const char *identity,
                         const char *position, size_t *bytes)
{
    char tmp[4096], lay[160];
    /* a name of this process's own: daemons sharing the path never write
     * into one file */
    if (snprintf(tmp, sizeof tmp, "%s.%ld.tmp", path, (long)getpid()) >= (int)sizeof tmp)
        return -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return -1;
    writer_t w = {.f = fdopen(fd, "wb")};
    if (!w.f) {
        close(fd);
        unlink(tmp);
        return -1;
    }
    crypto_generichash_init(&w.h, NULL, 0, crypto_generichash_BYTES);
    layout(lay, sizeof lay);
    put_bytes(&w, MAGIC, sizeof MAGIC);
    put_text(&w, lay);
    put_text(&w, identity);
    put_text(&w, position);
    put_array(&w, ix->str, ix->nstr, 1);
    put_interner(&w, &ix->skills);
    put_interner(&w, &ix->places);
    put_interner(&w, &ix->labels);
    put_idmap(&w, &ix->purpose_ids);
    put_idmap(&w, &ix->org_ids);
    put_idmap(&w, &ix->agent_ids);
    put_idmap(&w, &ix->engagement_ids);
    put_array(&w, ix->purpose_name, ix->npurposes, sizeof *ix->purpose_name);
    put_array(&w, ix->org_name, ix->norgs, sizeof *ix->org_name);
    for (uint32_t i = 0; i < ix->npurposes; i++) {
        const match_posting_t *po = &ix->postings[i];
        put_array(&w, po->agents, po->nagents, sizeof *po->agents);
        put_array(&w, po->engagements, po->nengagements, sizeof *po->engagements);
    }
    put_array(&w, ix->energies, ix->nenergies, sizeof *ix->energies);
    put_u64(&w, ix->waste_energies);
    put_array(&w, ix->words, ix->nwords, sizeof *ix->words);
    put_u64(&w, ix->waste_words);
    put_array(&w, ix->agents, ix->nagents, sizeof *ix->agents);
    put_array(&w, ix->free_agents, ix->nfree_agents, sizeof *ix->free_agents);
    put_array(&w, ix->engagements, ix->nengagements, sizeof *ix->engagements);
    put_array(&w, ix->free_engagements, ix->nfree_engagements, sizeof *ix->free_engagements);
    put_u64(&w, ix->live_agents);
    put_u64(&w, ix->live_engagements);
    unsigned char digest[crypto_generichash_BYTES];
    crypto_generichash_final(&w.h, digest, sizeof digest);
    if (!w.failed && fwrite(digest, 1, sizeof digest, w.f) != sizeof digest) w.failed = true;
    if (!w.failed && fflush(w.f) != 0) w.failed = true;
    if (!w.failed && fsync(fileno(w.f)) != 0) w.failed = true;
    long size = w.failed ? 0 : ftell(w.f);
    if (fclose(w.f) != 0) w.failed = true;
    if (w.failed || rename(tmp, path) != 0) {
        unlink(tmp);
        return -1;
    }
    /* the rename itself survives a crash once the directory is synced */
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (slash) *(slash == dir ? slash + 1 : slash) = '\0';
    int dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    if (bytes) *bytes = (size_t)size;
    return 0;
}

/* ---------- reading ---------- */

typedef struct reader {
    FILE *f;
    crypto_generichash_state h;
    uint64_t left;   /* bytes of the file not yet read, the hash excluded */
    bool failed;
} reader_t;

static bool get_bytes(reader_t *r, void *p, size_t n)
{
    if (r->failed) return false;
    if (n > r->left || fread(p, 1, n, r->f) != n) {
        r->failed = true;
        return false;
    }
    r->left -= n;
    crypto_generichash_update(&r->h, p, n);
    return true;
}

static bool get_u64(reader_t *r, uint64_t *v) { return get_bytes(r, v, sizeof *v); }

/* An array of elem-sized elements into fresh memory (NULL when empty);
 * *count its length, which must not pass max (and must fit the file). */
static bool get_array(reader_t *r, void **p, uint32_t *count, size_t elem, uint64_t max)
{
    uint64_t n;
    *p = NULL;
    if (!get_u64(r, &n)) return false;
    if (n > max || n > UINT32_MAX / 2 || n * elem > r->left) {
        r->failed = true;
        return false;
    }
    *count = (uint32_t)n;
    if (n == 0) return true;
    *p = malloc((size_t)n * elem);
    if (!*p) {
        r->failed = true;
        return false;
    }
    return get_bytes(r, *p, (size_t)n * elem);
}

/* A text no longer than max, NUL-terminated into out (room for max + 1). */
static bool get_text(reader_t *r, char *out, size_t max)
{
    uint64_t n;
    if (!get_u64(r, &n) || n > max) {
        r->failed = true;
        return false;
    }
    if (!get_bytes(r, out, (size_t)n)) return false;
    out[n] = '\0';
    return true;
}

static bool get_interner(reader_t *r, match_interner_t *in)
{
    uint32_t n2;
    if (!get_array(r, (void **)&in->key_off, &in->n, sizeof *in->key_off, UINT32_MAX)) return false;
    in->cap = in->n;
    if (!get_array(r, (void **)&in->name_off, &n2, sizeof *in->name_off, in->n) || n2 != in->n)
        return false;
    return get_array(r, (void **)&in->table, &in->tcap, sizeof *in->table, UINT32_MAX);
}

static bool get_idmap(reader_t *r, idmap_t *m)
{
    uint64_t n;
    uint32_t cap2;
    if (!get_u64(r, &n)) return false;
    if (!get_array(r, (void **)&m->keys, &m->cap, sizeof *m->keys, UINT32_MAX)) return false;
    if (!get_array(r, (void **)&m->vals, &cap2, sizeof *m->vals, m->cap) || cap2 != m->cap)
        return false;
    m->n = (uint32_t)(n <= m->cap ? n : 0);
    return n <= m->cap;
}

static bool pow2_or_zero(uint32_t v) { return (v & (v - 1)) == 0; }

static bool interner_ok(const match_index_t *ix, const match_interner_t *in)
{
    if (!pow2_or_zero(in->tcap) || (size_t)in->n * 2 > in->tcap) return false;
    for (uint32_t i = 0; i < in->n; i++)
        if (in->key_off[i] >= ix->nstr || in->name_off[i] >= ix->nstr) return false;
    for (uint32_t i = 0; i < in->tcap; i++)
        if (in->table[i] > in->n) return false;
    return true;
}

/* Every value of m below limit, its count as said, its size a power of two. */
static bool idmap_ok(const idmap_t *m, uint32_t limit)
{
    if (!pow2_or_zero(m->cap) || (size_t)m->n * 2 > m->cap) return false;
    uint32_t used = 0;
    for (uint32_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        if (m->vals[i] >= limit) return false;
        used++;
    }
    return used == m->n;
}

/* The string pool ends with a NUL, so that every offset into it reads a
 * string that ends inside it. */
static bool strings_ok(const match_index_t *ix)
{
    return ix->nstr == 0 || ix->str[ix->nstr - 1] == '\0';
}

static bool records_ok(const match_index_t *ix)
{
    size_t live = 0;
    for (uint32_t s = 0; s < ix->nagents; s++) {
        const match_agent_rec_t *a = &ix->agents[s];
        if (!(a->flags & REC_LIVE)) continue;
        live++;
        if ((uint64_t)a->purposes_off + a->npurposes > ix->nenergies ||
            (uint64_t)a->skills_off + a->nskills > ix->nwords ||
            (uint64_t)a->follows_off + a->nfollows > ix->nwords || a->location > ix->places.n)
            return false;
        for (uint32_t j = 0; j < a->npurposes; j++)
            if (ix->energies[a->purposes_off + j].purpose >= ix->npurposes) return false;
        for (uint32_t j = 0; j < a->nskills; j++)
            if (ix->words[a->skills_off + j] >= ix->skills.n) return false;
        for (uint32_t j = 0; j < a->nfollows; j++)
            if (ix->words[a->follows_off + j] >= ix->norgs) return false;
    }
    if (live != ix->live_agents) return false;
    live = 0;
    for (uint32_t s = 0; s < ix->nengagements; s++) {
        const match_engagement_rec_t *e = &ix->engagements[s];
        if (!(e->flags & REC_LIVE)) continue;
        live++;
        if ((uint64_t)e->purposes_off + e->npurposes > ix->nwords ||
            (uint64_t)e->skills_off + 2u * e->nskills > ix->nwords ||
            e->organisation >= ix->norgs || e->location > ix->places.n ||
            e->location_label > ix->labels.n)
            return false;
        for (uint32_t j = 0; j < e->npurposes; j++)
            if (ix->words[e->purposes_off + j] >= ix->npurposes) return false;
        for (uint32_t j = 0; j < e->nskills; j++)
            if (ix->words[e->skills_off + j] >= ix->skills.n) return false;
    }
    if (live != ix->live_engagements) return false;
    for (uint32_t i = 0; i < ix->nfree_agents; i++)
        if (ix->free_agents[i] >= ix->nagents) return false;
    for (uint32_t i = 0; i < ix->nfree_engagements; i++)
        if (ix->free_engagements[i] >= ix->nengagements) return false;
    for (uint32_t p = 0; p < ix->npurposes; p++) {
        const match_posting_t *po = &ix->postings[p];
        for (uint32_t j = 0; j < po->nagents; j++)
            if (POSTING_SLOT(po->agents[j]) >= ix->nagents) return false;
        for (uint32_t j = 0; j < po->nengagements; j++)
            if (po->engagements[j] >= ix->nengagements) return false;
    }
    for (uint32_t i = 0; i < ix->npurposes; i++)
        if (ix->purpose_name[i] >= ix->nstr) return false;
    for (uint32_t i = 0; i < ix->norgs; i++)
        if (ix->org_name[i] >= ix->nstr) return false;
    return true;
}

/* Fill ix from r; false at the first thing that is not as written. */
static bool read_body(reader_t *r, match_index_t *ix)
{
    uint64_t v;
    if (!get_array(r, (void **)&ix->str, &ix->nstr, 1, UINT32_MAX)) return false;
    ix->capstr = ix->nstr;
    if (!get_interner(r, &ix->skills) || !get_interner(r, &ix->places) ||
        !get_interner(r, &ix->labels))
        return false;
    if (!get_idmap(r, &ix->purpose_ids) || !get_idmap(r, &ix->org_ids) ||
        !get_idmap(r, &ix->agent_ids) || !get_idmap(r, &ix->engagement_ids))
        return false;
    if (!get_array(r, (void **)&ix->purpose_name, &ix->npurposes, sizeof *ix->purpose_name,
                   1u << 24))
        return false;
    ix->cappurposes = ix->npurposes;
    if (!get_array(r, (void **)&ix->org_name, &ix->norgs, sizeof *ix->org_name, UINT32_MAX))
        return false;
    ix->caporgs = ix->norgs;
    if (ix->npurposes) {
        ix->postings = calloc(ix->npurposes, sizeof *ix->postings);
        if (!ix->postings) return false;
    }
    for (uint32_t i = 0; i < ix->npurposes; i++) {
        match_posting_t *po = &ix->postings[i];
        if (!get_array(r, (void **)&po->agents, &po->nagents, sizeof *po->agents, UINT32_MAX) ||
            !get_array(r, (void **)&po->engagements, &po->nengagements, sizeof *po->engagements,
                       UINT32_MAX))
            return false;
        po->capagents = po->nagents;
        po->capengagements = po->nengagements;
    }
    if (!get_array(r, (void **)&ix->energies, &ix->nenergies, sizeof *ix->energies, UINT32_MAX) ||
        !get_u64(r, &v) || v > ix->nenergies)
        return false;
    ix->capenergies = ix->nenergies;
    ix->waste_energies = (uint32_t)v;
    if (!get_array(r, (void **)&ix->words, &ix->nwords, sizeof *ix->words, UINT32_MAX) ||
        !get_u64(r, &v) || v > ix->nwords)
        return false;
    ix->capwords = ix->nwords;
    ix->waste_words = (uint32_t)v;
    if (!get_array(r, (void **)&ix->agents, &ix->nagents, sizeof *ix->agents, POSTING_MAX_SLOT + 1u))
        return false;
    ix->capagents = ix->nagents;
    if (!get_array(r, (void **)&ix->free_agents, &ix->nfree_agents, sizeof *ix->free_agents,
                   ix->nagents))
        return false;
    ix->capfree_agents = ix->nfree_agents;
    if (!get_array(r, (void **)&ix->engagements, &ix->nengagements, sizeof *ix->engagements,
                   UINT32_MAX))
        return false;
    ix->capengagements = ix->nengagements;
    if (!get_array(r, (void **)&ix->free_engagements, &ix->nfree_engagements,
                   sizeof *ix->free_engagements, ix->nengagements))
        return false;
    ix->capfree_engagements = ix->nfree_engagements;
    if (!get_u64(r, &v) || v > ix->nagents) return false;
    ix->live_agents = (size_t)v;
    if (!get_u64(r, &v) || v > ix->nengagements) return false;
    ix->live_engagements = (size_t)v;
    return r->left == 0;
}

match_index_t *match_snapshot_read(const char *path, const char *identity, char *position,
                                   size_t position_size, const char **why)
{
    *why = "no snapshot";
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno != ENOENT) *why = "the snapshot cannot be opened";
        return NULL;
    }
    reader_t r = {.f = f};
    match_index_t *ix = NULL;
    char lay[160], want[160], id[1024];
    if (fseek(f, 0, SEEK_END) != 0) goto refused;
    long size = ftell(f);
    if (size < (long)(sizeof MAGIC + crypto_generichash_BYTES) || fseek(f, 0, SEEK_SET) != 0)
        goto refused;
    r.left = (uint64_t)size - crypto_generichash_BYTES;
    crypto_generichash_init(&r.h, NULL, 0, crypto_generichash_BYTES);
    char magic[sizeof MAGIC];
    if (!get_bytes(&r, magic, sizeof magic) || memcmp(magic, MAGIC, sizeof MAGIC) != 0) goto refused;
    layout(want, sizeof want);
    if (!get_text(&r, lay, sizeof lay - 1)) goto refused;
    if (strcmp(lay, want) != 0) {
        *why = "the snapshot was written by another format of the index";
        goto out;
    }
    if (!get_text(&r, id, sizeof id - 1)) goto refused;
    if (strcmp(id, identity) != 0) {
        *why = "the snapshot is of another database, schema or build statement";
        goto out;
    }
    if (position_size < 2 || !get_text(&r, position, position_size - 1)) goto refused;
    ix = match_index_new();
    if (!ix || !read_body(&r, ix)) goto refused;
    unsigned char digest[crypto_generichash_BYTES], stored[crypto_generichash_BYTES];
    crypto_generichash_final(&r.h, digest, sizeof digest);
    if (fread(stored, 1, sizeof stored, f) != sizeof stored ||
        sodium_memcmp(digest, stored, sizeof digest) != 0)
        goto refused;
    if (!strings_ok(ix) || !interner_ok(ix, &ix->skills) || !interner_ok(ix, &ix->places) ||
        !interner_ok(ix, &ix->labels) || !idmap_ok(&ix->purpose_ids, ix->npurposes) ||
        !idmap_ok(&ix->org_ids, ix->norgs) || !idmap_ok(&ix->agent_ids, ix->nagents) ||
        !idmap_ok(&ix->engagement_ids, ix->nengagements) || !records_ok(ix))
        goto refused;
    if (match_index_make_signatures(ix) != 0) {
        *why = "out of memory";
        goto out;
    }
    fclose(f);
    *why = NULL;
    return ix;
refused:
    *why = "the snapshot is damaged or cut short";
out:
    match_index_free(ix);
    fclose(f);
    return NULL;
}
