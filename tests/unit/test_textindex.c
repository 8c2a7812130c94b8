/* Unit tests for lib/textindex: matches and ranks against what PostgreSQL
 * 15 answered for the same tsvectors and tsqueries (the numbers below are
 * ts_rank's, printed by PostgreSQL), a rank's text as float4out prints it,
 * replacing and removing documents, the newest candidates when slots and
 * created_at disagree, and bytes that are not a tsvector or a tsquery.
 * tests/api/words-index.test.mjs compares whole searches with PostgreSQL's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "textindex.h"

/* ---------- PostgreSQL's binary forms, written by hand ---------- */

typedef struct {
    uint8_t b[4096];
    size_t n;
} buf_t;

static void put8(buf_t *b, unsigned v) { b->b[b->n++] = (uint8_t)v; }
static void put16(buf_t *b, unsigned v)
{
    put8(b, v >> 8 & 0xff);
    put8(b, v & 0xff);
}
static void put32(buf_t *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b, v & 0xffff);
}
static void putstr(buf_t *b, const char *s)
{
    size_t n = strlen(s) + 1;
    memcpy(b->b + b->n, s, n);
    b->n += n;
}

/* "river:1A water:2A,5C": lexemes in PostgreSQL's order, as tsvectorsend. */
static buf_t tsvector(const char *text)
{
    buf_t b = {.n = 4};
    uint32_t count = 0;
    char copy[512];
    snprintf(copy, sizeof copy, "%s", text);
    for (char *save = NULL, *tok = strtok_r(copy, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
        char *colon = strchr(tok, ':');
        *colon = '\0';
        putstr(&b, tok);
        size_t at = b.n;
        put16(&b, 0);
        unsigned npos = 0;
        for (char *s2 = NULL, *p = strtok_r(colon + 1, ",", &s2); p; p = strtok_r(NULL, ",", &s2)) {
            unsigned pos = (unsigned)strtoul(p, &p, 10), w = 0;
            if (*p) w = 'D' - *p; /* A 3, B 2, C 1 */
            put16(&b, w << 14 | pos);
            npos++;
        }
        b.b[at] = (uint8_t)(npos >> 8);
        b.b[at + 1] = (uint8_t)npos;
        count++;
    }
    size_t end = b.n;
    b.n = 0;
    put32(&b, count);
    b.n = end;
    return b;
}

/* A tsquery in Polish notation: "&" "|" "!" "<1>" operators, "word" or
 * "word*" values, as tsquerysend. */
static buf_t tsquery(int n, ...)
{
    buf_t b = {0};
    put32(&b, (uint32_t)n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        const char *t = va_arg(ap, const char *);
        if (!strcmp(t, "&") || !strcmp(t, "|") || !strcmp(t, "!")) {
            put8(&b, 2);
            put8(&b, t[0] == '!' ? 1 : t[0] == '&' ? 2 : 3);
        } else if (t[0] == '<') {
            put8(&b, 2);
            put8(&b, 4);
            put16(&b, (unsigned)atoi(t + 1));
        } else {
            put8(&b, 1);
            put8(&b, 0);
            size_t len = strlen(t);
            put8(&b, t[len - 1] == '*');
            char w[64];
            snprintf(w, sizeof w, "%.*s", (int)(len - (t[len - 1] == '*')), t);
            putstr(&b, w);
        }
    }
    va_end(ap);
    return b;
}

static textindex_t *three(void)
{
    textindex_t *ix = textindex_new();
    buf_t d1 = tsvector("clean:3B river:1A water:2A,5C");
    buf_t d2 = tsvector("river:4C riverbank:1A");
    buf_t d3 = tsvector("garden:1A,2C water:3B");
    assert_int_equal(textindex_put(ix, 1, 100, d1.b, d1.n), 0);
    assert_int_equal(textindex_put(ix, 2, 200, d2.b, d2.n), 0);
    assert_int_equal(textindex_put(ix, 3, 300, d3.b, d3.n), 0);
    return ix;
}

/* The page of q as "id rank,id rank" with ranks as PostgreSQL prints them. */
static const char *page(const textindex_t *ix, const buf_t *q)
{
    static char out[512];
    textindex_hit_t hits[16];
    size_t n = 0;
    assert_int_equal(textindex_search(ix, q->b, q->n, NULL, 16, hits, &n), 0);
    out[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        char r[TEXTINDEX_RANK_TEXT];
        textindex_rank_text(hits[i].rank, r);
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%lld %s", i ? "," : "",
                 (long long)hits[i].id, r);
    }
    return out;
}

static void test_matches_and_ranks_are_postgresqls(void **state)
{
    (void)state;
    textindex_t *ix = three();
    buf_t q;
    q = tsquery(1, "river");
    assert_string_equal(page(ix, &q), "1 0.6079271,2 0.12158542");
    q = tsquery(1, "river*");
    assert_string_equal(page(ix, &q), "2 0.7295125,1 0.6079271");
    q = tsquery(3, "&", "water", "river");
    assert_string_equal(page(ix, &q), "1 0.99485195");
    q = tsquery(4, "&", "!", "clean", "water");
    assert_string_equal(page(ix, &q), "3 1e-20");
    q = tsquery(3, "<1>", "water", "river");
    assert_string_equal(page(ix, &q), "1 0.99485195");
    q = tsquery(3, "<2>", "water", "river"); /* water is at 2, river at 1 */
    assert_string_equal(page(ix, &q), "");
    q = tsquery(3, "|", "garden", "water");
    assert_string_equal(page(ix, &q), "3 0.44074714,1 0.3191617");
    /* 'river':* & 'river': ts_rank keeps the first in the nodes' order,
     * the exact one (PostgreSQL: 0.6079271 and 0.12158542) */
    q = tsquery(3, "&", "river", "river*");
    assert_string_equal(page(ix, &q), "1 0.6079271,2 0.12158542");
    q = tsquery(0); /* stop words only: every document, rank 0, newest first */
    assert_string_equal(page(ix, &q), "3 0,2 0,1 0");
    q = tsquery(1, "nowhere");
    assert_string_equal(page(ix, &q), "");
    textindex_free(ix);
}

static void test_rank_text_is_float4out(void **state)
{
    (void)state;
    /* PostgreSQL 15's output of these reals */
    static const struct {
        float v;
        const char *text;
    } cases[] = {{0.0607927f, "0.0607927"}, {1e-20f, "1e-20"}, {1e-5f, "1e-05"},
                 {123456789.0f, "1.2345679e+08"}, {1.5e-5f, "1.5e-05"}, {1e15f, "1e+15"},
                 {100.0f, "100"}, {0.1f, "0.1"}, {0.5f, "0.5"}, {123456.0f, "123456"},
                 {1234567.0f, "1.234567e+06"}, {0.0001f, "0.0001"}, {0.00012345f, "0.00012345"},
                 {999999.0f, "999999"}, {3.4028235e38f, "3.4028235e+38"},
                 {1.17549435e-38f, "1.1754944e-38"}, {0.0f, "0"}, {0.99485195f, "0.99485195"}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[TEXTINDEX_RANK_TEXT];
        textindex_rank_text(cases[i].v, buf);
        assert_string_equal(buf, cases[i].text);
    }
}

static void test_replace_remove_and_the_cursor(void **state)
{
    (void)state;
    textindex_t *ix = three();
    buf_t other = tsvector("garden:1A");
    assert_int_equal(textindex_put(ix, 1, 100, other.b, other.n), 0); /* 1 replaced */
    buf_t q = tsquery(1, "river");
    assert_string_equal(page(ix, &q), "2 0.12158542");
    q = tsquery(1, "garden");
    assert_string_equal(page(ix, &q), "3 0.6383234,1 0.6079271");
    textindex_remove(ix, 3);
    textindex_remove(ix, 3); /* twice: nothing */
    assert_string_equal(page(ix, &q), "1 0.6079271");
    /* after (rank, id): the rows below it */
    textindex_hit_t hits[4], after = {2, 0.6079271f};
    size_t n = 9;
    assert_int_equal(textindex_put(ix, 3, 300, other.b, other.n), 0);
    assert_int_equal(textindex_search(ix, q.b, q.n, &after, 4, hits, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(hits[0].id, 1);
    textindex_size_t sz;
    textindex_size(ix, &sz);
    assert_int_equal(sz.docs, 3);
    assert_int_equal(sz.dead, 2);
    assert_false(textindex_wasteful(ix));
    textindex_free(ix);
}

/* Slots in arrival order, keys older: the candidates are still the
 * newest TEXTINDEX_CANDIDATES by (created_at, id). */
static void test_candidates_are_the_newest_whatever_the_arrival(void **state)
{
    (void)state;
    textindex_t *ix = textindex_new();
    buf_t d = tsvector("water:1A");
    for (int i = 0; i < 300; i++) /* ids 1..300, created 1000..1299 */
        assert_int_equal(textindex_put(ix, i + 1, 1000 + i, d.b, d.n), 0);
    /* the last to arrive is the oldest of all */
    assert_int_equal(textindex_put(ix, 999, 5, d.b, d.n), 0);
    buf_t q = tsquery(1, "water");
    textindex_hit_t hits[TEXTINDEX_CANDIDATES + 1];
    size_t n = 0;
    assert_int_equal(textindex_search(ix, q.b, q.n, NULL, TEXTINDEX_CANDIDATES + 1, hits, &n), 0);
    assert_int_equal(n, TEXTINDEX_CANDIDATES);
    /* equal ranks: by id, descending: 300 down to 101 */
    assert_int_equal(hits[0].id, 300);
    assert_int_equal(hits[n - 1].id, 101);
    /* one that arrives last but is newest is in */
    assert_int_equal(textindex_put(ix, 50, 5000, d.b, d.n), 0);
    assert_int_equal(textindex_search(ix, q.b, q.n, NULL, TEXTINDEX_CANDIDATES + 1, hits, &n), 0);
    assert_int_equal(n, TEXTINDEX_CANDIDATES);
    assert_int_equal(hits[n - 2].id, 102);
    assert_int_equal(hits[n - 1].id, 50);
    textindex_free(ix);
}

static void test_bytes_that_are_not_a_tsvector_or_tsquery(void **state)
{
    (void)state;
    textindex_t *ix = three();
    static const uint8_t bad1[] = {0, 0, 0, 1, 'a'};             /* no NUL */
    static const uint8_t bad2[] = {0, 0, 0, 1, 'a', 0, 0, 5, 0}; /* 5 positions, none there */
    static const uint8_t bad3[] = {0, 0, 0, 2, 'a', 0, 0, 0};    /* one lexeme of two */
    static const uint8_t bad4[] = {0xff, 0xff, 0xff, 0xff};
    assert_int_equal(textindex_put(ix, 9, 1, bad1, sizeof bad1), TEXTINDEX_BAD);
    assert_int_equal(textindex_put(ix, 9, 1, bad2, sizeof bad2), TEXTINDEX_BAD);
    assert_int_equal(textindex_put(ix, 9, 1, bad3, sizeof bad3), TEXTINDEX_BAD);
    assert_int_equal(textindex_put(ix, 9, 1, bad4, sizeof bad4), TEXTINDEX_BAD);
    buf_t dup = tsvector("a:1 a:2");
    assert_int_equal(textindex_put(ix, 9, 1, dup.b, dup.n), TEXTINDEX_BAD);
    textindex_hit_t hits[4];
    size_t n;
    static const uint8_t q1[] = {0, 0, 0, 2, 2, 2, 1, 0, 0, 'a', 0}; /* & with one operand */
    static const uint8_t q2[] = {0, 0, 0, 1, 9};                     /* no such item */
    static const uint8_t q3[] = {0, 0, 0, 1, 1, 0, 0, 'a'};          /* no NUL */
    assert_int_equal(textindex_search(ix, q1, sizeof q1, NULL, 4, hits, &n), TEXTINDEX_BAD);
    assert_int_equal(textindex_search(ix, q2, sizeof q2, NULL, 4, hits, &n), TEXTINDEX_BAD);
    assert_int_equal(textindex_search(ix, q3, sizeof q3, NULL, 4, hits, &n), TEXTINDEX_BAD);
    /* a weight, a phrase of phrases on the right: PostgreSQL answers them */
    static const uint8_t qw[] = {0, 0, 0, 1, 1, 8, 0, 'a', 0};
    assert_int_equal(textindex_search(ix, qw, sizeof qw, NULL, 4, hits, &n), TEXTINDEX_UNSUPPORTED);
    buf_t qp = tsquery(5, "<1>", "<1>", "c", "b", "a");
    assert_int_equal(textindex_search(ix, qp.b, qp.n, NULL, 4, hits, &n), TEXTINDEX_UNSUPPORTED);
    /* random bytes: refused or answered, never a crash (ASan) */
    srand(7);
    for (int round = 0; round < 20000; round++) {
        uint8_t junk[48];
        size_t len = (size_t)(rand() % (int)sizeof junk);
        for (size_t i = 0; i < len; i++) junk[i] = (uint8_t)(rand() % 6 == 0 ? rand() : rand() % 5);
        if (len >= 4) junk[0] = junk[1] = junk[2] = 0;
        (void)textindex_search(ix, junk, len, NULL, 4, hits, &n);
        (void)textindex_put(ix, 100 + round % 50, round, junk, len);
    }
    textindex_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matches_and_ranks_are_postgresqls),
        cmocka_unit_test(test_rank_text_is_float4out),
        cmocka_unit_test(test_replace_remove_and_the_cursor),
        cmocka_unit_test(test_candidates_are_the_newest_whatever_the_arrival),
        cmocka_unit_test(test_bytes_that_are_not_a_tsvector_or_tsquery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
