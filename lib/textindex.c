/* textindex.c: the words of open engagements, their posting lists, and
 * the search that reads them (textindex.h says what it must agree with).
 *
 * Layout (docs/search.md, "The words' index", has the figures):
 * - docs[slot]: id, created_us, where its document is. Slots are handed
 *   out in arrival order (at a build, in (created_at, id) order), never
 *   reused; a replaced or removed document leaves a dead slot until the
 *   next build (textindex_wasteful).
 * - a document: its lexemes as word numbers, ascending, each with its
 *   positions and weights (PostgreSQL's WordEntryPos: weight in the top
 *   two bits, position in the low fourteen), varint-coded, in 1 MiB chunks.
 * - words[]: each lexeme once (its text in one pool), its posting list:
 *   the slots of the documents that have it, ascending, in blocks of 64
 *   (the first slot of a block in the block table, the others as varint
 *   gaps), so a list is read newest first a block at a time.
 * - sorted[]: the words in PostgreSQL's order of lexemes (bytes, then
 *   length: strcmp, lexemes hold no NUL), for the words of a prefix.
 * - kmax[block of 1024 slots]: the largest (created_us, id) of any slot up
 *   to the end of that block. A walk newest first by slot stops once it
 *   holds SEARCH_CANDIDATES matches newer than anything left, which is
 *   exact even when a transaction that began earlier committed later (its
 *   engagement gets a later slot for an older created_at). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "textindex.h"

#define CHUNK_SHIFT 20
#define CHUNK_BYTES (1u << CHUNK_SHIFT)
#define MAX_CHUNKS (1u << (32 - CHUNK_SHIFT)) /* 4 GiB of documents */
#define BLOCK 64               /* postings per block */
#define KBLOCK 1024            /* slots per kmax entry */
#define MAX_ITEMS 32           /* words of a query (an item mask is 32 bits) */
#define MAX_NODES 256          /* items and operators of a query */
#define MAX_PREFIX_WORDS 65536 /* words one prefix may stand for */
#define MERGE_WORDS 64         /* past this many words, walk every document */
#define DEAD 0x80000000u

typedef struct {
    int64_t id, created_us;
    uint32_t at;  /* chunk << CHUNK_SHIFT | offset in it */
    uint32_t len; /* bytes of the document; DEAD set when removed */
} doc_t;          /* 24 bytes */

typedef struct {
    uint32_t str;   /* offset in strs */
    uint32_t len;
    uint32_t count; /* postings (live or dead) */
    uint32_t last;  /* the last slot posted */
    uint8_t *bytes; /* gaps */
    uint32_t nbytes, capbytes;
    uint32_t *blocks; /* pairs: first slot, offset in bytes of its gaps */
    uint32_t nblocks, capblocks;
} word_t;

struct textindex {
    doc_t *docs;
    uint32_t ndocs, capdocs, dead;
    uint8_t **chunks;
    uint32_t nchunks, capchunks, chunk_used;
    word_t *words;
    uint32_t nwords, capwords;
    char *strs;
    size_t nstrs, capstrs;
    uint32_t *wtable; /* word number + 1; open addressing */
    uint32_t wtcap;
    uint32_t *sorted;
    idmap_t ids; /* engagement id -> slot */
    struct key {
        int64_t us, id;
    } *kmax; /* per KBLOCK slots: the largest (created_us, id) up to its end */
    uint32_t nkmax, capkmax;
};

/* ---------- small things ---------- */

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

static uint64_t hash_i64(int64_t v)
{
    uint64_t x = (uint64_t)v;
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return x;
}

static size_t put_varint(uint8_t *b, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        b[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    b[n++] = (uint8_t)v;
    return n;
}

static uint32_t get_varint(const uint8_t **p)
{
    uint32_t v = 0;
    for (int shift = 0; shift < 35; shift += 7) {
        uint8_t c = *(*p)++;
        v |= (uint32_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) break;
    }
    return v;
}

static const char *word_text(const textindex_t *ix, uint32_t w) { return ix->strs + ix->words[w].str; }

/* Keys (created_us, id), newest first is larger first. */
static int key_cmp(int64_t au, int64_t aid, int64_t bu, int64_t bid)
{
    if (au != bu) return au < bu ? -1 : 1;
    return aid < bid ? -1 : aid > bid ? 1 : 0;
}

/* ---------- life ---------- */

textindex_t *textindex_new(void)
{
    textindex_t *ix = calloc(1, sizeof *ix);
    return ix;
}

void textindex_free(textindex_t *ix)
{
    if (!ix) return;
    for (uint32_t i = 0; i < ix->nchunks; i++) free(ix->chunks[i]);
    for (uint32_t w = 0; w < ix->nwords; w++) {
        free(ix->words[w].bytes);
        free(ix->words[w].blocks);
    }
    free(ix->chunks);
    free(ix->words);
    free(ix->docs);
    free(ix->strs);
    free(ix->wtable);
    free(ix->sorted);
    idmap_free(&ix->ids);
    free(ix->kmax);
    free(ix);
}

/* ---------- words ---------- */

static uint32_t word_find(const textindex_t *ix, const char *s, size_t n)
{
    if (!ix->wtcap) return UINT32_MAX;
    uint32_t mask = ix->wtcap - 1;
    for (uint32_t h = (uint32_t)hash_bytes(s, n) & mask;; h = (h + 1) & mask) {
        uint32_t e = ix->wtable[h];
        if (!e) return UINT32_MAX;
        const word_t *w = &ix->words[e - 1];
        if (w->len == n && memcmp(ix->strs + w->str, s, n) == 0) return e - 1;
    }
}

static int word_rehash(textindex_t *ix, uint32_t cap)
{
    uint32_t *t = calloc(cap, sizeof *t);
    if (!t) return -1;
    for (uint32_t w = 0; w < ix->nwords; w++) {
        uint32_t h = (uint32_t)hash_bytes(word_text(ix, w), ix->words[w].len) & (cap - 1);
        while (t[h]) h = (h + 1) & (cap - 1);
        t[h] = w + 1;
    }
    free(ix->wtable);
    ix->wtable = t;
    ix->wtcap = cap;
    return 0;
}

/* The first place in sorted[] whose word is not below s. */
static uint32_t sorted_lower(const textindex_t *ix, const char *s)
{
    uint32_t lo = 0, hi = ix->nwords;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (strcmp(word_text(ix, ix->sorted[mid]), s) < 0) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static uint32_t word_add(textindex_t *ix, const char *s, size_t n)
{
    uint32_t w = word_find(ix, s, n);
    if (w != UINT32_MAX) return w;
    if ((ix->nwords + 1) * 2 > ix->wtcap && word_rehash(ix, ix->wtcap ? ix->wtcap * 2 : 4096))
        return UINT32_MAX;
    uint32_t capw = ix->capwords;
    if (idmap_grow((void **)&ix->words, &ix->capwords, ix->nwords + 1, sizeof *ix->words)) return UINT32_MAX;
    if (capw != ix->capwords) {
        uint32_t *s2 = realloc(ix->sorted, (size_t)ix->capwords * sizeof *s2);
        if (!s2) return UINT32_MAX;
        ix->sorted = s2;
    }
    if (ix->nstrs + n + 1 > ix->capstrs) {
        size_t c = ix->capstrs ? ix->capstrs : 65536;
        while (c < ix->nstrs + n + 1) c *= 2;
        if (c > UINT32_MAX) return UINT32_MAX;
        char *p = realloc(ix->strs, c);
        if (!p) return UINT32_MAX;
        ix->strs = p;
        ix->capstrs = c;
    }
    w = ix->nwords;
    word_t *wd = &ix->words[w];
    memset(wd, 0, sizeof *wd);
    wd->str = (uint32_t)ix->nstrs;
    wd->len = (uint32_t)n;
    memcpy(ix->strs + ix->nstrs, s, n);
    ix->strs[ix->nstrs + n] = '\0';
    ix->nstrs += n + 1;
    uint32_t at = sorted_lower(ix, word_text(ix, w));
    memmove(ix->sorted + at + 1, ix->sorted + at, (size_t)(ix->nwords - at) * sizeof *ix->sorted);
    ix->sorted[at] = w;
    ix->nwords++;
    uint32_t mask = ix->wtcap - 1, h = (uint32_t)hash_bytes(s, n) & mask;
    while (ix->wtable[h]) h = (h + 1) & mask;
    ix->wtable[h] = w + 1;
    return w;
}

static int post(word_t *w, uint32_t slot)
{
    if (w->count % BLOCK == 0) {
        if (idmap_grow((void **)&w->blocks, &w->capblocks, (size_t)w->nblocks * 2 + 2, sizeof *w->blocks))
            return -1;
        w->blocks[w->nblocks * 2] = slot;
        w->blocks[w->nblocks * 2 + 1] = w->nbytes;
        w->nblocks++;
    } else {
        if (idmap_grow((void **)&w->bytes, &w->capbytes, (size_t)w->nbytes + 5, 1)) return -1;
        w->nbytes += (uint32_t)put_varint(w->bytes + w->nbytes, slot - w->last);
    }
    w->count++;
    w->last = slot;
    return 0;
}

/* Block b of w's postings into out (ascending); their number. */
static uint32_t read_block(const word_t *w, uint32_t b, uint32_t *out)
{
    uint32_t n = 0, slot = w->blocks[b * 2];
    out[n++] = slot;
    const uint8_t *p = w->bytes + w->blocks[b * 2 + 1];
    const uint8_t *end = w->bytes + (b + 1 < w->nblocks ? w->blocks[b * 2 + 3] : w->nbytes);
    while (p < end && n < BLOCK) {
        slot += get_varint(&p);
        out[n++] = slot;
    }
    return n;
}

/* ---------- documents ---------- */

typedef struct {
    uint32_t word;
    uint32_t npos;
    const uint8_t *pos; /* npos big-endian uint16 in the tsvector */
} entry_in_t;

static int entry_word_cmp(const void *a, const void *b)
{
    uint32_t x = ((const entry_in_t *)a)->word, y = ((const entry_in_t *)b)->word;
    return x < y ? -1 : x > y;
}

static uint16_t be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static void kmax_note(textindex_t *ix, uint32_t slot, int64_t us, int64_t id)
{
    uint32_t b = slot / KBLOCK;
    if (b >= ix->nkmax) {
        /* no room: cands_done never stops early past nkmax, which is exact */
        if (idmap_grow((void **)&ix->kmax, &ix->capkmax, b + 1, sizeof *ix->kmax)) return;
        /* blocks skipped by a note that found no room hold keys unknown
         * here: from them on, the largest key of all (no early stop) */
        struct key prev = b != ix->nkmax ? (struct key){INT64_MAX, INT64_MAX}
                          : b ? ix->kmax[b - 1] : (struct key){INT64_MIN, INT64_MIN};
        for (uint32_t i = ix->nkmax; i <= b; i++) ix->kmax[i] = prev;
        ix->nkmax = b + 1;
    }
    if (key_cmp(us, id, ix->kmax[b].us, ix->kmax[b].id) > 0) ix->kmax[b] = (struct key){us, id};
}

int textindex_put(textindex_t *ix, int64_t id, int64_t created_us, const uint8_t *vec, size_t len)
{
    textindex_remove(ix, id);
    if (len < 4) return TEXTINDEX_BAD;
    uint32_t n = (uint32_t)vec[0] << 24 | (uint32_t)vec[1] << 16 | (uint32_t)vec[2] << 8 | vec[3];
    if (n > len) return TEXTINDEX_BAD;
    entry_in_t *es = n ? malloc((size_t)n * sizeof *es) : NULL;
    if (n && !es) return TEXTINDEX_NOMEM;
    const uint8_t *p = vec + 4, *end = vec + len;
    size_t bytes = 8;
    int rc = 0;
    for (uint32_t i = 0; i < n && !rc; i++) {
        const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
        if (!nul || nul == p || end - nul < 3) {
            rc = TEXTINDEX_BAD;
            break;
        }
        uint32_t np = be16(nul + 1);
        if ((size_t)(end - (nul + 3)) < (size_t)np * 2) {
            rc = TEXTINDEX_BAD;
            break;
        }
        uint32_t w = word_add(ix, (const char *)p, (size_t)(nul - p));
        if (w == UINT32_MAX) rc = TEXTINDEX_NOMEM;
        es[i] = (entry_in_t){w, np, nul + 3};
        bytes += 10 + (size_t)np * 3;
        p = nul + 3 + (size_t)np * 2;
    }
    if (!rc && p != end) rc = TEXTINDEX_BAD;
    if (!rc && bytes > CHUNK_BYTES) rc = TEXTINDEX_BAD;
    if (rc) {
        free(es);
        return rc;
    }
    if (n) qsort(es, n, sizeof *es, entry_word_cmp);
    for (uint32_t i = 1; i < n; i++)
        if (es[i].word == es[i - 1].word) rc = TEXTINDEX_BAD; /* a tsvector holds each once */
    /* the document's chunk */
    if (!rc && (!ix->nchunks || ix->chunk_used + bytes > CHUNK_BYTES)) {
        uint8_t *c = ix->nchunks < MAX_CHUNKS ? malloc(CHUNK_BYTES) : NULL;
        if (!c || idmap_grow((void **)&ix->chunks, &ix->capchunks, ix->nchunks + 1, sizeof *ix->chunks)) {
            free(c);
            rc = TEXTINDEX_NOMEM;
        } else {
            ix->chunks[ix->nchunks++] = c;
            ix->chunk_used = 0;
        }
    }
    if (!rc && idmap_grow((void **)&ix->docs, &ix->capdocs, (size_t)ix->ndocs + 1, sizeof *ix->docs))
        rc = TEXTINDEX_NOMEM;
    if (rc) {
        free(es);
        return rc;
    }
    uint8_t *out = ix->chunks[ix->nchunks - 1] + ix->chunk_used, *o = out;
    o += put_varint(o, n);
    uint32_t prev = 0;
    for (uint32_t i = 0; i < n; i++) {
        /* word gap << 2 | 0: one position, 1: several (count - 2 follows), 2: none */
        uint32_t kind = es[i].npos == 1 ? 0 : es[i].npos ? 1 : 2;
        o += put_varint(o, (es[i].word - prev) << 2 | kind);
        prev = es[i].word;
        if (kind == 1) o += put_varint(o, es[i].npos - 2);
        uint32_t last = 0;
        for (uint32_t j = 0; j < es[i].npos; j++) {
            uint16_t wep = be16(es[i].pos + 2 * j);
            uint32_t pos = wep & 0x3fff, weight = wep >> 14;
            /* positions ascend in a tsvector; a descent is stored as is */
            uint32_t gap = pos >= last ? pos - last : pos;
            o += put_varint(o, (gap << 1 | (pos < last)) << 2 | weight);
            last = pos;
        }
    }
    uint32_t slot = ix->ndocs;
    doc_t *d = &ix->docs[slot];
    d->id = id;
    d->created_us = created_us;
    d->at = (ix->nchunks - 1) << CHUNK_SHIFT | ix->chunk_used;
    d->len = (uint32_t)(o - out);
    ix->chunk_used += d->len;
    for (uint32_t i = 0; i < n && !rc; i++)
        if (post(&ix->words[es[i].word], slot)) rc = TEXTINDEX_NOMEM;
    free(es);
    ix->ndocs++;
    kmax_note(ix, slot, created_us, id);
    if (rc || idmap_put(&ix->ids, id, slot)) {
        d->len |= DEAD; /* its postings lead nowhere */
        ix->dead++;
        return TEXTINDEX_NOMEM;
    }
    return 0;
}

void textindex_remove(textindex_t *ix, int64_t id)
{
    uint32_t slot = idmap_get(&ix->ids, id);
    if (slot == UINT32_MAX) return;
    ix->docs[slot].len |= DEAD;
    ix->dead++;
    idmap_del(&ix->ids, id);
}

void textindex_trim(textindex_t *ix)
{
    for (uint32_t w = 0; w < ix->nwords; w++) {
        word_t *wd = &ix->words[w];
        if (wd->capbytes > wd->nbytes && wd->nbytes) {
            uint8_t *b = realloc(wd->bytes, wd->nbytes);
            if (b) {
                wd->bytes = b;
                wd->capbytes = wd->nbytes;
            }
        }
        if (wd->capblocks > wd->nblocks * 2) {
            uint32_t *b = realloc(wd->blocks, (size_t)wd->nblocks * 2 * sizeof *b);
            if (b) {
                wd->blocks = b;
                wd->capblocks = wd->nblocks * 2;
            }
        }
    }
}

void textindex_size(const textindex_t *ix, textindex_size_t *out)
{
    memset(out, 0, sizeof *out);
    out->docs = ix->ndocs - ix->dead;
    out->dead = ix->dead;
    out->words = ix->nwords;
    size_t b = sizeof *ix + (size_t)ix->capdocs * sizeof *ix->docs +
               (size_t)ix->nchunks * CHUNK_BYTES + (size_t)ix->capchunks * sizeof *ix->chunks +
               (size_t)ix->capwords * (sizeof *ix->words + sizeof *ix->sorted) + ix->capstrs +
               (size_t)ix->wtcap * sizeof *ix->wtable +
               (size_t)ix->ids.cap * (sizeof *ix->ids.keys + sizeof *ix->ids.vals) +
               (size_t)ix->capkmax * sizeof *ix->kmax;
    for (uint32_t w = 0; w < ix->nwords; w++)
        b += ix->words[w].capbytes + (size_t)ix->words[w].capblocks * sizeof(uint32_t);
    out->bytes = b;
}

bool textindex_wasteful(const textindex_t *ix)
{
    return ix->dead > 65536 && ix->dead > ix->ndocs - ix->dead;
}

/* ---------- a document, read back ---------- */

typedef struct {
    uint32_t word;
    uint32_t npos;
    uint32_t pos; /* first of its positions in the scratch's positions */
} entry_t;

typedef struct {
    entry_t *e;
    uint32_t ne, cape;
    uint16_t *pos; /* WordEntryPos, as PostgreSQL holds them */
    uint32_t npos, cappos;
    uint32_t lexemes;        /* the document's, in all */
    const entry_t **by_item; /* ranking: each item's entries (MAX_ITEMS x ne) */
    uint32_t capby;
} scratch_t;


/* ---------- queries ---------- */

enum { QI_VAL = 1, QI_OPR = 2 };
enum { OP_NOT = 1, OP_AND = 2, OP_OR = 3, OP_PHRASE = 4 };

typedef struct {
    uint8_t type, oper, prefix;
    uint16_t distance;
    int left, right; /* operators: children (NOT: right only) */
    int item;        /* values: their item */
    const char *text;
} qnode_t;

typedef struct {
    const char *text;
    bool prefix;
    uint32_t first, nwords; /* its words: sorted[first..] (prefix) or the one in word */
    uint32_t word;
    uint64_t postings;
} qitem_t;

typedef struct {
    qnode_t node[MAX_NODES];
    int nnodes;
    qitem_t item[MAX_ITEMS]; /* each (text, prefix) once: what a value matches */
    int nitems;
    int rank[MAX_ITEMS];     /* ts_rank's items (SortAndUniqItems): their item */
    int nrank;
    char *texts; /* the values' text, each NUL-terminated */
    /* word -> mask of items, open addressing */
    uint32_t *hw, *hm, hcap;
    uint64_t filter;    /* bit (word & 63) of every word of the query's items */
    uint32_t all_items; /* every item's bit */
    bool phrases;       /* matching needs positions */
} query_t;

/* Node i and its subtree from the bytes (Polish notation: an operator,
 * its right operand, then its left). The index after the subtree, or -1. */
static int parse_node(query_t *q, int i, int size)
{
    if (i >= size) return -1;
    qnode_t *nd = &q->node[i];
    if (nd->type == QI_VAL) return i + 1;
    int r = parse_node(q, i + 1, size);
    if (r < 0) return -1;
    nd->right = i + 1;
    if (nd->oper == OP_NOT) return r;
    nd->left = r;
    return parse_node(q, r, size);
}

static int query_parse(query_t *q, const uint8_t *b, size_t len)
{
    if (len < 4) return TEXTINDEX_BAD;
    uint32_t size = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    if (size > MAX_NODES) return size > len ? TEXTINDEX_BAD : TEXTINDEX_UNSUPPORTED;
    q->nnodes = (int)size;
    q->texts = malloc(len);
    if (!q->texts) return TEXTINDEX_NOMEM;
    size_t tn = 0;
    const uint8_t *p = b + 4, *end = b + len;
    for (uint32_t i = 0; i < size; i++) {
        qnode_t *nd = &q->node[i];
        memset(nd, 0, sizeof *nd);
        nd->item = -1;
        if (end - p < 2) return TEXTINDEX_BAD;
        nd->type = *p++;
        if (nd->type == QI_VAL) {
            if (end - p < 3) return TEXTINDEX_BAD;
            uint8_t weight = *p++;
            nd->prefix = *p++;
            const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
            if (!nul) return TEXTINDEX_BAD;
            if (weight) return TEXTINDEX_UNSUPPORTED; /* 'word':A */
            memcpy(q->texts + tn, p, (size_t)(nul - p) + 1);
            nd->text = q->texts + tn;
            tn += (size_t)(nul - p) + 1;
            p = nul + 1;
        } else if (nd->type == QI_OPR) {
            nd->oper = *p++;
            if (nd->oper < OP_NOT || nd->oper > OP_PHRASE) return TEXTINDEX_BAD;
            if (nd->oper == OP_PHRASE) {
                if (end - p < 2) return TEXTINDEX_BAD;
                nd->distance = be16(p);
                p += 2;
            }
        } else {
            return TEXTINDEX_BAD;
        }
    }
    if (p != end) return TEXTINDEX_BAD;
    if (size && parse_node(q, 0, (int)size) != (int)size) return TEXTINDEX_BAD;
    return 0;
}

/* Phrases of words in a row only: (a <N> b) <M> c. */
static bool phrase_supported(const query_t *q, int i)
{
    const qnode_t *nd = &q->node[i];
    if (nd->type == QI_VAL) return true;
    if (nd->oper != OP_PHRASE) return false;
    return q->node[nd->right].type == QI_VAL && phrase_supported(q, nd->left);
}

static bool tree_supported(const query_t *q, int i)
{
    const qnode_t *nd = &q->node[i];
    if (nd->type == QI_VAL) return true;
    if (nd->oper == OP_PHRASE) return phrase_supported(q, i);
    if (nd->oper == OP_NOT) return tree_supported(q, nd->right);
    return tree_supported(q, nd->left) && tree_supported(q, nd->right);
}

static int hm_put(query_t *q, uint32_t word, uint32_t bit)
{
    uint32_t mask = q->hcap - 1;
    uint32_t h = (uint32_t)hash_i64(word) & mask;
    while (q->hw[h] != UINT32_MAX && q->hw[h] != word) h = (h + 1) & mask;
    q->hw[h] = word;
    q->hm[h] |= bit;
    q->filter |= 1ull << (word & 63);
    return 0;
}

static uint32_t hm_get(const query_t *q, uint32_t word)
{
    uint32_t mask = q->hcap - 1;
    for (uint32_t h = (uint32_t)hash_i64(word) & mask;; h = (h + 1) & mask) {
        if (q->hw[h] == word) return q->hm[h];
        if (q->hw[h] == UINT32_MAX) return 0;
    }
}

/* The items (each value's text and prefix once, in the order of the
 * nodes), their words in this index, and ts_rank's items: the values
 * sorted by text with each text once, as SortAndUniqItems leaves them.
 * PostgreSQL sorts them with its qsort_arg, which is an insertion sort,
 * so stable, below seven values (and leaves a sorted array as it is): of
 * one text given with and without a prefix ("garden gardening": 'garden'
 * & 'garden':*) the first in the nodes' order stays. From seven values on
 * which one stays is not defined here: such a query is refused. */
static int query_items(const textindex_t *ix, query_t *q)
{
    int vals[MAX_NODES], n = 0, u = 0;
    for (int i = 0; i < q->nnodes; i++) {
        qnode_t *nd = &q->node[i];
        if (nd->type != QI_VAL) continue;
        vals[n++] = i;
        int k = 0;
        while (k < u && !(strcmp(q->item[k].text, nd->text) == 0 &&
                          q->item[k].prefix == (nd->prefix != 0)))
            k++;
        if (k == u) {
            if (u == MAX_ITEMS) return TEXTINDEX_UNSUPPORTED;
            q->item[u++] = (qitem_t){.text = nd->text, .prefix = nd->prefix != 0};
        }
        nd->item = k;
    }
    q->nitems = u;
    bool sorted = true, mixed = false;
    for (int i = 1; i < n; i++)
        if (strcmp(q->node[vals[i - 1]].text, q->node[vals[i]].text) > 0) sorted = false;
    for (int i = 0; i < n; i++) { /* insertion sort: stable */
        int v = vals[i], j = i;
        while (j && strcmp(q->node[vals[j - 1]].text, q->node[v].text) > 0) {
            vals[j] = vals[j - 1];
            j--;
        }
        vals[j] = v;
    }
    q->nrank = 0;
    for (int i = 0; i < n; i++) {
        const qnode_t *nd = &q->node[vals[i]];
        if (q->nrank && strcmp(q->item[q->rank[q->nrank - 1]].text, nd->text) == 0) {
            if (q->item[q->rank[q->nrank - 1]].prefix != (nd->prefix != 0)) mixed = true;
            continue;
        }
        q->rank[q->nrank++] = nd->item;
    }
    if (mixed && n >= 7 && !sorted) return TEXTINDEX_UNSUPPORTED;
    size_t total = 0;
    for (int i = 0; i < u; i++) {
        qitem_t *it = &q->item[i];
        it->word = UINT32_MAX;
        if (it->prefix) {
            size_t plen = strlen(it->text);
            it->first = sorted_lower(ix, it->text);
            uint32_t k = it->first;
            while (k < ix->nwords && strncmp(word_text(ix, ix->sorted[k]), it->text, plen) == 0) {
                if (k - it->first >= MAX_PREFIX_WORDS) return TEXTINDEX_UNSUPPORTED;
                it->postings += ix->words[ix->sorted[k]].count;
                k++;
            }
            it->nwords = k - it->first;
        } else {
            it->word = word_find(ix, it->text, strlen(it->text));
            it->nwords = it->word != UINT32_MAX;
            if (it->nwords) it->postings = ix->words[it->word].count;
        }
        total += it->nwords;
    }
    uint32_t cap = 16;
    while (cap < total * 2 + 2) cap *= 2;
    q->hcap = cap;
    q->hw = malloc((size_t)cap * sizeof *q->hw);
    q->hm = calloc(cap, sizeof *q->hm);
    if (!q->hw || !q->hm) return TEXTINDEX_NOMEM;
    memset(q->hw, 0xff, (size_t)cap * sizeof *q->hw);
    q->all_items = 0; /* the items a document can have: those with words here */
    for (int i = 0; i < u; i++)
        if (q->item[i].nwords) q->all_items |= 1u << i;
    for (int i = 0; i < q->nnodes; i++)
        if (q->node[i].type == QI_OPR && q->node[i].oper == OP_PHRASE) q->phrases = true;
    for (int i = 0; i < u; i++) {
        const qitem_t *it = &q->item[i];
        if (!it->prefix && it->nwords) hm_put(q, it->word, 1u << i);
        for (uint32_t k = 0; it->prefix && k < it->nwords; k++)
            hm_put(q, ix->sorted[it->first + k], 1u << i);
    }
    return 0;
}

static void query_free(query_t *q)
{
    free(q->texts);
    free(q->hw);
    free(q->hm);
}

/* The words whose documents hold every match (a cover), as a mask of
 * items; all ones for "any document" (NOT, or nothing better). */
#define COVER_ALL UINT64_MAX
static uint64_t cover_cost(const query_t *q, uint32_t items)
{
    uint64_t c = 0;
    for (int i = 0; i < q->nitems; i++)
        if (items >> i & 1) c += q->item[i].postings;
    return c;
}

static uint64_t cover(const query_t *q, int i, uint32_t *items)
{
    const qnode_t *nd = &q->node[i];
    if (nd->type == QI_VAL) {
        *items = 1u << nd->item;
        return q->item[nd->item].postings;
    }
    if (nd->oper == OP_NOT) return COVER_ALL;
    uint32_t a = 0, b = 0;
    uint64_t ca = cover(q, nd->left, &a), cb = cover(q, nd->right, &b);
    if (nd->oper == OP_OR) {
        if (ca == COVER_ALL || cb == COVER_ALL) return COVER_ALL;
        *items = a | b;
        return cover_cost(q, *items);
    }
    /* AND, PHRASE: either side's cover holds every match */
    if (ca <= cb) {
        *items = a;
        return ca;
    }
    *items = b;
    return cb;
}

/* ---------- one document against the query ---------- */

/* The positions (no weights) of item it in the document, ascending and
 * unique, into out; their number. */
static uint32_t item_positions(const query_t *q, const scratch_t *s, int it, uint16_t *out,
                               uint32_t cap)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < s->ne; i++) {
        if (!(hm_get(q, s->e[i].word) >> it & 1)) continue;
        for (uint32_t j = 0; j < s->e[i].npos && n < cap; j++)
            out[n++] = s->pos[s->e[i].pos + j] & 0x3fff;
    }
    /* insertion sort and unique: a few positions */
    for (uint32_t i = 1; i < n; i++) {
        uint16_t v = out[i];
        uint32_t j = i;
        while (j && out[j - 1] > v) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    uint32_t u = 0;
    for (uint32_t i = 0; i < n; i++)
        if (!u || out[u - 1] != out[i]) out[u++] = out[i];
    return u;
}

#define PHRASE_POS 512
/* A phrase's positions (of its last word) into out; their number. */
static uint32_t phrase_positions(const query_t *q, const scratch_t *s, int i, uint16_t *out)
{
    const qnode_t *nd = &q->node[i];
    if (nd->type == QI_VAL) return item_positions(q, s, nd->item, out, PHRASE_POS);
    uint16_t left[PHRASE_POS], right[PHRASE_POS];
    uint32_t nl = phrase_positions(q, s, nd->left, left);
    if (!nl) return 0;
    uint32_t nr = item_positions(q, s, q->node[nd->right].item, right, PHRASE_POS), n = 0, l = 0;
    for (uint32_t r = 0; r < nr; r++) {
        int want = (int)right[r] - (int)nd->distance;
        while (l < nl && (int)left[l] < want) l++;
        if (l < nl && (int)left[l] == want) out[n++] = right[r];
    }
    return n;
}

static bool eval(const query_t *q, const scratch_t *s, uint32_t present, int i)
{
    const qnode_t *nd = &q->node[i];
    if (nd->type == QI_VAL) return present >> nd->item & 1;
    switch (nd->oper) {
    case OP_NOT:
        return !eval(q, s, present, nd->right);
    case OP_AND:
        return eval(q, s, present, nd->left) && eval(q, s, present, nd->right);
    case OP_OR:
        return eval(q, s, present, nd->left) || eval(q, s, present, nd->right);
    default: {
        uint16_t out[PHRASE_POS];
        return phrase_positions(q, s, i, out) > 0;
    }
    }
}

/* The document's entries of the query's words (with their positions and
 * weights), in word order; s->lexemes is how many it has in all. */
static int doc_read(const textindex_t *ix, const query_t *q, uint32_t slot, scratch_t *s)
{
    const doc_t *d = &ix->docs[slot];
    const uint8_t *p = ix->chunks[d->at >> CHUNK_SHIFT] + (d->at & (CHUNK_BYTES - 1));
    uint32_t n = get_varint(&p), word = 0;
    s->ne = s->npos = 0;
    s->lexemes = n;
    if (idmap_grow((void **)&s->e, &s->cape, n, sizeof *s->e)) return -1;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t v = get_varint(&p), kind = v & 3, np = kind == 0 ? 1 : 0;
        word += v >> 2;
        if (kind == 1) np = get_varint(&p) + 2;
        if (!(q->filter >> (word & 63) & 1) || !hm_get(q, word)) {
            for (uint32_t j = 0; j < np; j++)
                while (*p++ & 0x80) {
                }
            continue;
        }
        if (idmap_grow((void **)&s->pos, &s->cappos, (size_t)s->npos + np, sizeof *s->pos)) return -1;
        s->e[s->ne++] = (entry_t){word, np, s->npos};
        uint32_t last = 0;
        for (uint32_t j = 0; j < np; j++) {
            uint32_t x = get_varint(&p), weight = x & 3, gap = x >> 3;
            uint32_t pos = (x >> 2 & 1) ? gap : last + gap;
            s->pos[s->npos++] = (uint16_t)(weight << 14 | (pos & 0x3fff));
            last = pos;
        }
    }
    return 0;
}

/* Which items a document has, read straight from its bytes (positions
 * skipped, a word outside the filter not looked up, done once every item
 * is seen): what a walk needs of most documents it visits. */
static uint32_t doc_items(const textindex_t *ix, const query_t *q, uint32_t slot)
{
    const doc_t *d = &ix->docs[slot];
    const uint8_t *p = ix->chunks[d->at >> CHUNK_SHIFT] + (d->at & (CHUNK_BYTES - 1));
    uint32_t n = get_varint(&p), word = 0, present = 0;
    for (uint32_t i = 0; i < n && present != q->all_items; i++) {
        uint32_t v = get_varint(&p), kind = v & 3, np = kind == 0 ? 1 : 0;
        word += v >> 2;
        if (kind == 1) np = get_varint(&p) + 2;
        for (uint32_t j = 0; j < np; j++)
            while (*p++ & 0x80) {
            }
        if (q->filter >> (word & 63) & 1) present |= hm_get(q, word);
    }
    return present;
}

static bool doc_matches(const query_t *q, const scratch_t *s)
{
    if (!q->nnodes) return true; /* no words (stop words only): every document */
    uint32_t present = 0;
    for (uint32_t i = 0; i < s->ne; i++) present |= hm_get(q, s->e[i].word);
    return eval(q, s, present, 0);
}

/* ---------- ts_rank, as PostgreSQL computes it ---------- */

static const float weights[] = {0.1f, 0.2f, 0.4f, 1.0f};
#define wpos(wep) (weights[(wep) >> 14])
#define WEP_GETPOS(x) ((x) & 0x3fff)
#define MAXENTRYPOS (1 << 14)

static float word_distance(int32_t w)
{
    if (w > 100) return 1e-30f;
    return 1.0 / (1.005 + 0.05 * exp(((float)w) / 1.5 - 2));
}

/* The entries of each item, in the tsvector's order (by text). */
typedef struct {
    uint32_t n;
    const entry_t **e;
} item_entries_t;

static int entry_text_cmp(const textindex_t *ix, const entry_t *a, const entry_t *b)
{
    return strcmp(word_text(ix, a->word), word_text(ix, b->word));
}

static int gather(const textindex_t *ix, const query_t *q, scratch_t *s, item_entries_t *ie)
{
    if (idmap_grow((void **)&s->by_item, &s->capby, (size_t)q->nrank * s->ne, sizeof *s->by_item))
        return -1;
    for (int i = 0; i < q->nrank; i++) {
        ie[i].n = 0;
        ie[i].e = s->ne ? s->by_item + (size_t)i * s->ne : NULL;
    }
    for (uint32_t k = 0; k < s->ne; k++) {
        uint32_t m = hm_get(q, s->e[k].word);
        for (int i = 0; m && i < q->nrank; i++) {
            if (!(m >> q->rank[i] & 1)) continue;
            uint32_t j = ie[i].n++;
            while (j && entry_text_cmp(ix, ie[i].e[j - 1], &s->e[k]) > 0) {
                ie[i].e[j] = ie[i].e[j - 1];
                j--;
            }
            ie[i].e[j] = &s->e[k];
        }
    }
    return 0;
}

static float calc_rank_or(const query_t *q, const scratch_t *s, const item_entries_t *ie)
{
    static const uint16_t posnull[1] = {0};
    float res = 0.0;
    int size = q->nrank;
    for (int i = 0; i < size; i++) {
        float resj, wjm;
        int32_t jm;
        for (uint32_t k = 0; k < ie[i].n; k++) {
            const entry_t *entry = ie[i].e[k];
            const uint16_t *post = entry->npos ? s->pos + entry->pos : posnull;
            int32_t dimt = entry->npos ? (int32_t)entry->npos : 1;
            resj = 0.0;
            wjm = -1.0;
            jm = 0;
            for (int32_t j = 0; j < dimt; j++) {
                resj = resj + wpos(post[j]) / ((j + 1) * (j + 1));
                if (wpos(post[j]) > wjm) {
                    wjm = wpos(post[j]);
                    jm = j;
                }
            }
            res = res + (wjm + resj - wjm / ((jm + 1) * (jm + 1))) / 1.64493406685;
        }
    }
    if (size > 0) res = res / size;
    return res;
}

static float calc_rank_and(const query_t *q, const scratch_t *s, const item_entries_t *ie)
{
    int size = q->nrank;
    if (size < 2) return calc_rank_or(q, s, ie);
    static const uint16_t posnull[1] = {MAXENTRYPOS - 1};
    const uint16_t *pos[MAX_ITEMS] = {0};
    int32_t npos[MAX_ITEMS] = {0};
    bool isnull[MAX_ITEMS] = {0};
    float res = -1.0;
    for (int i = 0; i < size; i++) {
        for (uint32_t e = 0; e < ie[i].n; e++) {
            const entry_t *entry = ie[i].e[e];
            isnull[i] = entry->npos == 0;
            pos[i] = isnull[i] ? posnull : s->pos + entry->pos;
            npos[i] = isnull[i] ? 1 : (int32_t)entry->npos;
            int32_t dimt = npos[i];
            const uint16_t *post = pos[i];
            for (int k = 0; k < i; k++) {
                if (!pos[k]) continue;
                int32_t lenct = npos[k];
                const uint16_t *ct = pos[k];
                for (int32_t l = 0; l < dimt; l++) {
                    for (int32_t p = 0; p < lenct; p++) {
                        int32_t dist = abs((int)WEP_GETPOS(post[l]) - (int)WEP_GETPOS(ct[p]));
                        if (dist || (dist == 0 && (isnull[i] || isnull[k]))) {
                            float curw;
                            if (!dist) dist = MAXENTRYPOS;
                            curw = sqrt(wpos(post[l]) * wpos(ct[p]) * word_distance(dist));
                            res = (res < 0) ? curw : 1.0 - (1.0 - res) * (1.0 - curw);
                        }
                    }
                }
            }
        }
    }
    return res;
}

/* -1 when out of memory, else 0 with *rank. */
static int calc_rank(const textindex_t *ix, const query_t *q, scratch_t *s, float *rank)
{
    *rank = 0.0;
    if (!s->lexemes || !q->nnodes) return 0;
    item_entries_t ie[MAX_ITEMS];
    if (gather(ix, q, s, ie)) return -1;
    const qnode_t *root = &q->node[0];
    float res = (root->type == QI_OPR && (root->oper == OP_AND || root->oper == OP_PHRASE))
                    ? calc_rank_and(q, s, ie)
                    : calc_rank_or(q, s, ie);
    if (res < 0) res = 1e-20f;
    *rank = res;
    return 0;
}

/* ---------- the search ---------- */

typedef struct {
    int64_t us, id;
    uint32_t slot;
} cand_t;

typedef struct {
    cand_t c[TEXTINDEX_CANDIDATES];
    int n;
} cands_t;

/* Keep the TEXTINDEX_CANDIDATES newest, newest first. */
static void cands_add(cands_t *cs, const doc_t *d, uint32_t slot)
{
    int n = cs->n;
    if (n == TEXTINDEX_CANDIDATES) {
        const cand_t *last = &cs->c[n - 1];
        if (key_cmp(d->created_us, d->id, last->us, last->id) <= 0) return;
        n--;
    }
    int j = n;
    while (j && key_cmp(cs->c[j - 1].us, cs->c[j - 1].id, d->created_us, d->id) < 0) {
        cs->c[j] = cs->c[j - 1];
        j--;
    }
    cs->c[j] = (cand_t){d->created_us, d->id, slot};
    cs->n = n + 1;
}

/* Slots newest first can stop at slot once the candidates are full and
 * newer than anything up to it. */
static bool cands_done(const textindex_t *ix, const cands_t *cs, uint32_t slot)
{
    if (cs->n < TEXTINDEX_CANDIDATES) return false;
    const cand_t *last = &cs->c[cs->n - 1];
    uint32_t b = slot / KBLOCK;
    return b < ix->nkmax && key_cmp(ix->kmax[b].us, ix->kmax[b].id, last->us, last->id) < 0;
}

/* Look at one slot; -1 on no memory. */
static int visit(const textindex_t *ix, const query_t *q, scratch_t *s, cands_t *cs, uint32_t slot)
{
    const doc_t *d = &ix->docs[slot];
    if (d->len & DEAD) return 0;
    if (!q->nnodes) {
        cands_add(cs, d, slot); /* no words: every document */
        return 0;
    }
    if (!q->phrases) {
        if (eval(q, s, doc_items(ix, q, slot), 0)) cands_add(cs, d, slot);
        return 0;
    }
    if (doc_read(ix, q, slot, s)) return -1;
    if (doc_matches(q, s)) cands_add(cs, d, slot);
    return 0;
}

/* One word's postings, newest first, a block at a time. */
typedef struct {
    const word_t *w;
    uint32_t block, buf[BLOCK], n; /* buf[0..n): what is left of the block */
} cursor_t;

static bool cursor_load(cursor_t *c)
{
    while (c->n == 0) {
        if (c->block == 0) return false;
        c->block--;
        c->n = read_block(c->w, c->block, c->buf);
    }
    return true;
}

static int walk_all(const textindex_t *ix, const query_t *q, scratch_t *s, cands_t *cs)
{
    for (uint32_t slot = ix->ndocs; slot-- > 0;) {
        if (cands_done(ix, cs, slot)) break;
        if (visit(ix, q, s, cs, slot)) return -1;
    }
    return 0;
}

static int walk_words(const textindex_t *ix, const query_t *q, scratch_t *s, cands_t *cs,
                      const uint32_t *words, int nwords)
{
    cursor_t *cur = calloc((size_t)nwords, sizeof *cur);
    if (!cur) return -1;
    int live = 0;
    for (int i = 0; i < nwords; i++) {
        cursor_t *c = &cur[live];
        c->w = &ix->words[words[i]];
        c->block = c->w->nblocks;
        c->n = 0;
        if (cursor_load(c)) live++;
    }
    int rc = 0;
    uint32_t prev = UINT32_MAX;
    while (live > 0) {
        /* the largest slot among the cursors (few: a linear look) */
        int best = 0;
        for (int i = 1; i < live; i++)
            if (cur[i].buf[cur[i].n - 1] > cur[best].buf[cur[best].n - 1]) best = i;
        uint32_t slot = cur[best].buf[--cur[best].n];
        if (!cursor_load(&cur[best])) cur[best] = cur[--live];
        if (slot == prev) continue;
        prev = slot;
        if (cands_done(ix, cs, slot)) break;
        if ((rc = visit(ix, q, s, cs, slot))) break;
    }
    free(cur);
    return rc;
}

typedef struct {
    int64_t id;
    float rank;
} ranked_t;

static int ranked_cmp(const void *a, const void *b)
{
    const ranked_t *x = a, *y = b;
    if (x->rank != y->rank) return x->rank > y->rank ? -1 : 1;
    return x->id > y->id ? -1 : x->id < y->id;
}

int textindex_search(const textindex_t *ix, const uint8_t *qb, size_t qlen,
                     const textindex_hit_t *after, size_t limit, textindex_hit_t *out, size_t *n)
{
    *n = 0;
    query_t *q = calloc(1, sizeof *q);
    cands_t *cs = calloc(1, sizeof *cs);
    scratch_t s = {0};
    int rc = q && cs ? 0 : TEXTINDEX_NOMEM;
    if (!rc) rc = query_parse(q, qb, qlen);
    if (!rc && q->nnodes && !tree_supported(q, 0)) rc = TEXTINDEX_UNSUPPORTED;
    if (!rc) rc = query_items(ix, q);
    if (!rc) {
        uint32_t items = 0;
        uint64_t cost = q->nnodes ? cover(q, 0, &items) : COVER_ALL;
        uint32_t nwords = 0;
        for (int i = 0; cost != COVER_ALL && i < q->nitems; i++)
            if (items >> i & 1) nwords += q->item[i].nwords;
        if (cost == COVER_ALL || nwords > MERGE_WORDS) {
            if (walk_all(ix, q, &s, cs)) rc = TEXTINDEX_NOMEM;
        } else if (nwords) {
            uint32_t words[MERGE_WORDS];
            int k = 0;
            for (int i = 0; i < q->nitems; i++) {
                const qitem_t *it = &q->item[i];
                if (!(items >> i & 1)) continue;
                if (!it->prefix && it->nwords) words[k++] = it->word;
                for (uint32_t j = 0; it->prefix && j < it->nwords; j++)
                    words[k++] = ix->sorted[it->first + j];
            }
            if (walk_words(ix, q, &s, cs, words, k)) rc = TEXTINDEX_NOMEM;
        }
        /* no words to walk: a required word is in no document */
    }
    ranked_t r[TEXTINDEX_CANDIDATES];
    int nr = 0;
    for (int i = 0; !rc && i < cs->n; i++) {
        float rank;
        if (doc_read(ix, q, cs->c[i].slot, &s) || calc_rank(ix, q, &s, &rank)) {
            rc = TEXTINDEX_NOMEM;
            break;
        }
        r[nr++] = (ranked_t){cs->c[i].id, rank};
    }
    if (!rc) {
        qsort(r, (size_t)nr, sizeof *r, ranked_cmp);
        for (int i = 0; i < nr && *n < limit; i++) {
            if (after && !(r[i].rank < after->rank ||
                           (r[i].rank == after->rank && r[i].id < after->id)))
                continue;
            out[(*n)++] = (textindex_hit_t){r[i].id, r[i].rank};
        }
    }
    if (q) query_free(q);
    free(q);
    free(cs);
    free(s.e);
    free(s.pos);
    free(s.by_item);
    return rc;
}

/* ---------- a rank's text ---------- */

void textindex_rank_text(float rank, char *buf)
{
    if (rank == 0) {
        strcpy(buf, "0");
        return;
    }
    if (isnan(rank) || isinf(rank)) {
        strcpy(buf, isnan(rank) ? "NaN" : rank > 0 ? "Infinity" : "-Infinity");
        return;
    }
    char e[TEXTINDEX_RANK_TEXT];
    int digits = 1;
    for (; digits < 9; digits++) {
        snprintf(e, sizeof e, "%.*e", digits - 1, (double)rank);
        if (strtof(e, NULL) == rank) break;
    }
    snprintf(e, sizeof e, "%.*e", digits - 1, (double)rank);
    /* e: [-]d[.ddd]e[+-]xx */
    const char *p = e;
    char *o = buf;
    if (*p == '-') *o++ = *p++;
    char d[16];
    int nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.') d[nd++] = *p;
    int exp10 = atoi(p + 1);
    while (nd > 1 && d[nd - 1] == '0') nd--;
    if (exp10 < -4 || exp10 >= 6) {
        *o++ = d[0];
        if (nd > 1) {
            *o++ = '.';
            memcpy(o, d + 1, (size_t)nd - 1);
            o += nd - 1;
        }
        int mag = exp10 < 0 ? -exp10 : exp10; /* at most 45 for a float */
        *o++ = 'e';
        *o++ = exp10 < 0 ? '-' : '+';
        *o++ = (char)('0' + mag / 10 % 10);
        *o++ = (char)('0' + mag % 10);
        *o = '\0';
        return;
    }
    if (exp10 < 0) {
        *o++ = '0';
        *o++ = '.';
        for (int i = 0; i < -exp10 - 1; i++) *o++ = '0';
        memcpy(o, d, (size_t)nd);
        o += nd;
    } else {
        for (int i = 0; i <= exp10; i++) *o++ = i < nd ? d[i] : '0';
        if (nd > exp10 + 1) {
            *o++ = '.';
            memcpy(o, d + exp10 + 1, (size_t)(nd - exp10 - 1));
            o += nd - exp10 - 1;
        }
    }
    *o = '\0';
}
