/* Unit tests for lib/strbuf: appends keep the text NUL-terminated across
 * every growth boundary, printf text of any length, reset and detach; an
 * allocation failure (injected by wrapping realloc, see CMakeLists.txt) is
 * sticky and surfaces once, as NULL from strbuf_detach. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "strbuf.h"

/* realloc calls still allowed before the next one fails; -1 = never fail. */
static int g_reallocs_left = -1;
static int g_realloc_calls;

void *__real_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_realloc(void *p, size_t n)
{
    g_realloc_calls++;
    if (g_reallocs_left == 0) return NULL;
    if (g_reallocs_left > 0) g_reallocs_left--;
    return __real_realloc(p, n);
}

static int setup(void **state)
{
    (void)state;
    g_reallocs_left = -1;
    g_realloc_calls = 0;
    return 0;
}

static void test_empty(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    assert_string_equal(strbuf_str(&sb), "");
    assert_int_equal(sb.len, 0);
    size_t len = 99;
    char *s = strbuf_detach(&sb, &len);
    assert_non_null(s);
    assert_string_equal(s, "");
    assert_int_equal(len, 0);
    free(s);
    strbuf_release(&sb); /* of an empty buffer: a no-op */
}

/* One byte at a time past several doublings: every prefix is intact. */
static void test_growth_across_boundaries(void **state)
{
    (void)state;
    strbuf_t sb;
    strbuf_init(&sb, 0);
    char want[5000];
    for (size_t i = 0; i < sizeof want - 1; i++) {
        char c = (char)('a' + i % 26);
        want[i] = c;
        want[i + 1] = '\0';
        size_t before = sb.cap;
        strbuf_addch(&sb, c);
        assert_int_equal(sb.len, i + 1);
        assert_true(sb.cap > sb.len); /* room for the NUL */
        assert_int_equal(sb.buf[sb.len], '\0');
        if (sb.cap != before) assert_memory_equal(sb.buf, want, i + 1);
    }
    assert_string_equal(strbuf_str(&sb), want);
    strbuf_release(&sb);
    assert_null(sb.buf);
    assert_int_equal(sb.len, 0);
}

/* Appends that exactly fill the allocation, and one byte more. */
static void test_exact_fit(void **state)
{
    (void)state;
    strbuf_t sb;
    strbuf_init(&sb, 10);
    size_t cap = sb.cap;
    assert_true(cap >= 11);
    char fill[256];
    memset(fill, 'x', sizeof fill);
    strbuf_add(&sb, fill, cap - 1);
    assert_int_equal(sb.cap, cap); /* len + NUL == cap: no growth */
    assert_int_equal(sb.buf[cap - 1], '\0');
    strbuf_addch(&sb, 'y');
    assert_true(sb.cap > cap);
    assert_int_equal(sb.len, cap);
    assert_int_equal(sb.buf[cap - 1], 'y');
    assert_int_equal(sb.buf[cap], '\0');
    strbuf_release(&sb);
}

static void test_addf(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    strbuf_addf(&sb, "%d-%s", 42, "x");
    assert_string_equal(strbuf_str(&sb), "42-x");
    /* longer than what is free: the text is formatted again after growing */
    char big[3000];
    memset(big, 'b', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    strbuf_addf(&sb, "[%s]", big);
    assert_int_equal(sb.len, 4 + 2 + sizeof big - 1);
    assert_int_equal(sb.buf[4], '[');
    assert_int_equal(sb.buf[sb.len - 1], ']');
    assert_int_equal(strlen(sb.buf), sb.len);
    /* empty formats add nothing */
    size_t len = sb.len;
    strbuf_addf(&sb, "%s", "");
    assert_int_equal(sb.len, len);
    strbuf_release(&sb);
}

static void test_reset_keeps_memory(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    strbuf_addstr(&sb, "hello, world");
    char *mem = sb.buf;
    size_t cap = sb.cap;
    strbuf_reset(&sb);
    assert_string_equal(strbuf_str(&sb), "");
    assert_ptr_equal(sb.buf, mem);
    assert_int_equal(sb.cap, cap);
    strbuf_addstr(&sb, "again");
    assert_string_equal(strbuf_str(&sb), "again");
    size_t len = 0;
    char *s = strbuf_detach(&sb, &len);
    assert_string_equal(s, "again");
    assert_int_equal(len, 5);
    assert_null(sb.buf); /* the buffer no longer owns it */
    assert_int_equal(sb.len, 0);
    free(s);
}

/* The first allocation fails: every later append is ignored, without
 * touching the allocator again, and detach says NULL. */
static void test_oom_sticky(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    strbuf_addstr(&sb, "before");
    assert_false(sb.failed);
    g_reallocs_left = 0;
    char big[500];
    memset(big, 'z', sizeof big);
    strbuf_add(&sb, big, sizeof big); /* needs to grow: fails */
    assert_true(sb.failed);
    g_reallocs_left = -1;
    int calls = g_realloc_calls;
    strbuf_addstr(&sb, "after");
    strbuf_addf(&sb, "%d", 7);
    strbuf_addch(&sb, '!');
    assert_false(strbuf_reserve(&sb, 1));
    assert_int_equal(g_realloc_calls, calls);
    assert_true(sb.failed);
    assert_string_equal(strbuf_str(&sb), ""); /* the partial text is dropped */
    size_t len = 99;
    assert_null(strbuf_detach(&sb, &len));
    assert_int_equal(len, 0);
    assert_false(sb.failed); /* detached: a fresh buffer */
    strbuf_release(&sb);
}

/* A failure inside strbuf_addf (growing for the formatted text). */
static void test_oom_in_addf(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    strbuf_addstr(&sb, "x");
    g_reallocs_left = 0;
    strbuf_addf(&sb, "%0200d", 1);
    assert_true(sb.failed);
    g_reallocs_left = -1;
    assert_null(strbuf_detach(&sb, NULL));
}

/* After a reset the buffer works again. */
static void test_reset_after_oom(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    g_reallocs_left = 0;
    strbuf_addstr(&sb, "lost");
    assert_true(sb.failed);
    g_reallocs_left = -1;
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "kept");
    char *s = strbuf_detach(&sb, NULL);
    assert_string_equal(s, "kept");
    free(s);
}

/* A size that cannot be allocated fails without asking for it. */
static void test_overflow(void **state)
{
    (void)state;
    strbuf_t sb = STRBUF_INIT;
    strbuf_addstr(&sb, "abc");
    int calls = g_realloc_calls;
    assert_false(strbuf_reserve(&sb, SIZE_MAX - 2));
    assert_int_equal(g_realloc_calls, calls);
    assert_true(sb.failed);
    assert_null(strbuf_detach(&sb, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty, setup),
        cmocka_unit_test_setup(test_growth_across_boundaries, setup),
        cmocka_unit_test_setup(test_exact_fit, setup),
        cmocka_unit_test_setup(test_addf, setup),
        cmocka_unit_test_setup(test_reset_keeps_memory, setup),
        cmocka_unit_test_setup(test_oom_sticky, setup),
        cmocka_unit_test_setup(test_oom_in_addf, setup),
        cmocka_unit_test_setup(test_reset_after_oom, setup),
        cmocka_unit_test_setup(test_overflow, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
