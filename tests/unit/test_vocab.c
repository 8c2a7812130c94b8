/* Unit tests for lib/vocab: the C word lists are the OpenAPI document's
 * enums (static/openapi.json, merged from docs/openapi). Every list appears
 * there as an enum, and every enum that shares two words with a list is that
 * list, word for word and in order: a word added, dropped or renamed on one
 * side only fails here. (tests/api/vocabulary.test.mjs holds the document
 * against the database's CHECK constraints.) */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "vocab.h"

#ifndef PURPOSED_SOURCE_DIR
#error "PURPOSED_SOURCE_DIR names the repository (set by CMakeLists.txt)"
#endif

static size_t count(const char *const *words)
{
    size_t n = 0;
    while (words[n]) n++;
    return n;
}

/* Append every "enum" array under node to out as {path, words}. */
static void collect(json_t *node, const char *path, json_t *out)
{
    if (json_is_object(node)) {
        const char *key;
        json_t *v;
        json_object_foreach(node, key, v) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%s", path, key);
            if (strcmp(key, "enum") == 0 && json_is_array(v))
                json_array_append_new(out, json_pack("{s:s, s:O}", "path", sub, "words", v));
            else
                collect(v, sub, out);
        }
    } else if (json_is_array(node)) {
        size_t i;
        json_t *v;
        json_array_foreach(node, i, v) {
            char sub[512];
            snprintf(sub, sizeof sub, "%s/%zu", path, i);
            collect(v, sub, out);
        }
    }
}

static json_t *document_enums(void)
{
    json_error_t err;
    json_t *doc = json_load_file(PURPOSED_SOURCE_DIR "/static/openapi.json", 0, &err);
    if (!doc) {
        fprintf(stderr, "static/openapi.json: %s (line %d)\n", err.text, err.line);
        fail();
    }
    json_t *enums = json_array();
    collect(doc, "", enums);
    json_decref(doc);
    return enums;
}

static bool same(const json_t *words, const char *const *list)
{
    if (json_array_size(words) != count(list)) return false;
    for (size_t i = 0; list[i]; i++) {
        const char *w = json_string_value(json_array_get(words, i));
        if (!w || strcmp(w, list[i]) != 0) return false;
    }
    return true;
}

static size_t shared(const json_t *words, const char *const *list)
{
    size_t n = 0;
    size_t i;
    const json_t *w;
    json_array_foreach(words, i, w) {
        for (size_t j = 0; list[j]; j++)
            if (json_is_string(w) && strcmp(json_string_value(w), list[j]) == 0) n++;
    }
    return n;
}

static void print_list(const char *const *list)
{
    for (size_t i = 0; list[i]; i++) fprintf(stderr, "%s%s", i ? ", " : "", list[i]);
}

/* Lists no operation shows yet; the one that does brings the enum, and
 * takes the list off here. */
static bool shown_by_no_operation(const char *name)
{
    (void)name;
    return false;
}

static void test_every_list_is_an_enum(void **state)
{
    (void)state;
    json_t *enums = document_enums();
    for (const vocab_list_t *v = vocab_lists; v->name; v++) {
        if (shown_by_no_operation(v->name)) continue;
        bool seen = false;
        size_t i;
        json_t *e;
        json_array_foreach(enums, i, e)
            if (same(json_object_get(e, "words"), v->words)) seen = true;
        if (!seen) {
            fprintf(stderr, "vocab %s (", v->name);
            print_list(v->words);
            fprintf(stderr, ") is no enum of static/openapi.json\n");
            fail();
        }
    }
    json_decref(enums);
}

static void test_every_enum_like_a_list_is_it(void **state)
{
    (void)state;
    json_t *enums = document_enums();
    assert_true(json_array_size(enums) > 10); /* the walk found the document's enums */
    size_t i;
    json_t *e;
    json_array_foreach(enums, i, e) {
        const json_t *words = json_object_get(e, "words");
        /* lists may share words (agreement statuses and version outcomes
         * share declined and withdrawn): an enum that is one of them is fine */
        bool is_a_list = false;
        for (const vocab_list_t *v = vocab_lists; v->name; v++)
            if (same(words, v->words)) is_a_list = true;
        if (is_a_list) continue;
        for (const vocab_list_t *v = vocab_lists; v->name; v++) {
            if (shared(words, v->words) < 2) continue;
            char *text = json_dumps(words, JSON_COMPACT);
            fprintf(stderr, "%s is %s, vocab %s is ", json_string_value(json_object_get(e, "path")),
                    text, v->name);
            print_list(v->words);
            fprintf(stderr, "\n");
            free(text);
            fail();
        }
    }
    json_decref(enums);
}

/* The lists indexed by an enum or a bit number (the match index's packaging
 * bits are vocab_packagings' indexes) have their declared size. */
static void test_counted_lists(void **state)
{
    (void)state;
    assert_int_equal(count(vocab_packagings), VOCAB_PACKAGINGS);
    assert_int_equal(count(vocab_agreement_statuses), VOCAB_AGREEMENT_STATUSES);
    assert_int_equal(count(vocab_agreement_actions), VOCAB_AGREEMENT_ACTIONS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_list_is_an_enum),
        cmocka_unit_test(test_every_enum_like_a_list_is_it),
        cmocka_unit_test(test_counted_lists),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
