/* textindex: the words of open engagements, in the daemon, for full-text
 * searches nobody made before (docs/search.md, "The words' index").
 *
 * What it holds is engagement_search (migration 0050): for each open,
 * visible engagement its id, created_at and tsvector (lexemes with their
 * positions and weights), as PostgreSQL computed them. It never parses or
 * stems text itself: a query's words come from PostgreSQL too
 * (tsquerysend(search_query(q))). What it computes is what the statement
 * of an unfiltered open search computes (server/handlers/engagements.c,
 * q_search_open): the SEARCH_CANDIDATES newest documents that match, by
 * (created_at, id) descending, each ranked by ts_rank with its default
 * weights, the page by (rank, id) descending after the cursor. ts_rank is
 * ported line for line (PostgreSQL's src/backend/utils/adt/tsrank.c,
 * calc_rank_and and calc_rank_or), in the same float and double steps, so
 * the ranks are the same numbers and print the same (textindex_rank_text).
 *
 * A query it cannot answer exactly (a phrase other than words in a row, a
 * weight, a word given twice with and without a prefix, more than 32
 * words, a prefix of more than 65,536 words) is refused
 * (TEXTINDEX_UNSUPPORTED) and the caller asks PostgreSQL.
 *
 * The index is not thread-safe by itself: textindex_service.c owns the one
 * a daemon serves from, behind a read-write lock, kept by a follower of the
 * change log. */
#ifndef PURPOSED_TEXTINDEX_H
#define PURPOSED_TEXTINDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TEXTINDEX_CANDIDATES 200 /* the newest matches a search ranks (SEARCH_CANDIDATES) */
#define TEXTINDEX_RANK_TEXT 32   /* room for a rank's text */

typedef struct textindex textindex_t;

/* One page row: what the search statement returns, its rank as float4. */
typedef struct textindex_hit {
    int64_t id;
    float rank;
} textindex_hit_t;

typedef enum {
    TEXTINDEX_OK = 0,
    TEXTINDEX_UNSUPPORTED = 1, /* ask PostgreSQL */
    TEXTINDEX_BAD = -1,        /* the query bytes are malformed */
    TEXTINDEX_NOMEM = -2,
} textindex_rc_t;

textindex_t *textindex_new(void);
void textindex_free(textindex_t *ix);

/* Put a document (insert, or replace the one with that id): created_us is
 * created_at in microseconds (any epoch, the same for all), vec the
 * tsvector in PostgreSQL's binary send format (tsvectorsend), len bytes.
 * 0, TEXTINDEX_BAD (the document is then absent) or TEXTINDEX_NOMEM. */
int textindex_put(textindex_t *ix, int64_t id, int64_t created_us, const uint8_t *vec, size_t len);
/* Give back what the posting lists' growth reserved (after a build:
 * lists then grow again by doubling from their exact size). */
void textindex_trim(textindex_t *ix);
/* Remove a document (no-op when absent). */
void textindex_remove(textindex_t *ix, int64_t id);

/* The page of a search. query: tsquerysend's bytes, qlen. after: the
 * cursor (rank, id) or NULL for the first page; limit rows at most into
 * out (caller's array), *n set. */
int textindex_search(const textindex_t *ix, const uint8_t *query, size_t qlen,
                     const textindex_hit_t *after, size_t limit, textindex_hit_t *out, size_t *n);

/* A rank as PostgreSQL prints a real (float4out with extra_float_digits 1:
 * the shortest text that reads back the same, %g-style exponent outside
 * 1e-4..1e6). buf has TEXTINDEX_RANK_TEXT bytes. */
void textindex_rank_text(float rank, char *buf);

typedef struct textindex_size {
    size_t docs, dead, words, bytes;
} textindex_size_t;
void textindex_size(const textindex_t *ix, textindex_size_t *out);
/* Removed or replaced documents' slots outnumber the live ones (and are
 * many): time for a build from scratch. */
bool textindex_wasteful(const textindex_t *ix);

/* ---------- the one a daemon serves from (textindex_service.c) ---------- */

/* What the daemon around the index is told and asked, on the follower's
 * thread (each may be NULL):
 * - sized: the index's bytes, after a build and whenever they moved by a
 *   MiB;
 * - may_build: asked every 100 ms before the first build, for at most
 *   TEXTINDEX_FIRST_BUILD_WAIT_S (server/main.c: once the match index is
 *   built, so that the two builds do not share the cores at start);
 * - changed: the index now answers differently (a build swapped in, or a
 *   poll's changes applied). Answers built from it and kept elsewhere
 *   must go: server/main.c drops the answer cache's lists
 *   (lib/rcache.h), whose follower may have applied the same change
 *   before this one did, and so may hold a list the index gave while
 *   it was behind. */
typedef struct textindex_hooks {
    void (*sized)(size_t bytes);
    bool (*may_build)(void);
    void (*changed)(void);
} textindex_hooks_t;

/* Start following the change log (topic 'match': e:<engagement id>) on
 * its own connection, building from engagement_search first. 0 or -1. */
#define TEXTINDEX_FIRST_BUILD_WAIT_S 60
int textindex_service_start(const char *conninfo, const textindex_hooks_t *hooks);
void textindex_service_stop(void);
/* This daemon committed a change that may touch documents: searches wait
 * for the follower's next poll (and the call wakes it now). */
void textindex_service_local_write(void);
/* Is there an index, built and following? (A search that finds none asks
 * PostgreSQL without asking for its lexemes first.) */
bool textindex_service_ready(void);
/* The page of a search from the served index; TEXTINDEX_UNSUPPORTED also
 * when there is none yet, it is not following, or a local write has not
 * been read back yet. */
int textindex_service_search(const uint8_t *query, size_t qlen, const textindex_hit_t *after,
                             size_t limit, textindex_hit_t *out, size_t *n);

typedef struct textindex_stats {
    bool ready;
    size_t docs, words, bytes;
    double build_seconds;
    uint64_t builds, served, declined;
} textindex_stats_t;
void textindex_service_stats(textindex_stats_t *out);

#endif
