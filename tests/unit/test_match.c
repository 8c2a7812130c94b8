/* Unit tests for lib/match: each reason's points and sentence, points that
 * add up to the score, no purpose in common = no match, the weights from the
 * configuration, the ranking order, the index (top-k, exclusions, updates
 * and compaction) without a database, and two private parts: the bounded
 * heap both directions share, and the collection of change notifications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"
#include "match/internal.h"
#include "match/formula.h"
#include "match/match.h"

/* ---------- fixtures ---------- */

static const char *env_none(const char *name)
{
    (void)name;
    return NULL;
}

static match_weights_t default_weights(void)
{
    config_t cfg;
    problem_t err = {0};
    assert_int_equal(config_load(&cfg, env_none, &err), 0);
    match_weights_t w;
    match_weights_from_config(&cfg, &w);
    return w;
}

/* purposes 1 "Clean water", 2 "Open science", 5 "Soil health", 9 "Oceans";
 * skills 10 "Rust", 11 "C", 12 "PostgreSQL", 13 "Go"; place 3 "Berlin". */
static const char *test_purpose_name(const void *ctx, uint32_t n)
{
    (void)ctx;
    switch (n) {
    case 1: return "Clean water";
    case 2: return "Open science";
    case 5: return "Soil health";
    case 9: return "Oceans";
    default: return "Other";
    }
}

static const char *test_skill_name(const void *ctx, uint32_t n)
{
    (void)ctx;
    switch (n) {
    case 10: return "Rust";
    case 11: return "C";
    case 12: return "PostgreSQL";
    case 13: return "Go";
    default: return "x";
    }
}

static const match_names_t test_names = {test_purpose_name, test_skill_name, NULL};

static const match_energy_t agent_purposes[] = {{1, 40}, {2, 20}, {5, 10}};
static const uint32_t agent_skills[] = {10, 11, 12};
static const uint32_t agent_follows[] = {7};
static const uint32_t eng_purposes[] = {1, 2, 9};
static const uint32_t eng_skills[] = {10, 11, 12, 13};

static match_agent_t sample_agent(void)
{
    match_agent_t a = {
        .id = 1,
        .purposes = agent_purposes, .npurposes = 3,
        .skills = agent_skills, .nskills = 3,
        .follows = agent_follows, .nfollows = 1,
        .capacity_hours = 30, .committed_hours = 10,
        .location = 3,
        .packagings = (1u << 2) | (1u << 4), /* consulting, volunteer */
        .remote_ok = true,
    };
    return a;
}

static match_engagement_t sample_engagement(void)
{
    match_engagement_t e = {
        .id = 100, .created_us = 1000,
        .purposes = eng_purposes, .npurposes = 3,
        .skills = eng_skills, .nskills = 4,
        .organisation = 7, .organisation_name = "Acme Water",
        .hours = 10,
        .location = 3,
        .location_name = "Berlin",
        .packagings = 1u << 4, /* volunteer */
        .remote_ok = false,
    };
    return e;
}

static json_t *reason(json_t *reasons, const char *kind)
{
    size_t i;
    json_t *r;
    json_array_foreach(reasons, i, r) if (!strcmp(json_string_value(json_object_get(r, "kind")), kind)) return r;
    fail_msg("no reason of kind %s", kind);
    return NULL;
}

static double points_sum(json_t *reasons)
{
    double sum = 0;
    size_t i;
    json_t *r;
    json_array_foreach(reasons, i, r) sum += json_real_value(json_object_get(r, "points"));
    return sum;
}

#define assert_close(a, b) assert_true(fabs((double)(a) - (double)(b)) < 1e-9)

/* ---------- the formula ---------- */

static void each_reason_has_its_points_and_sentence(void **state)
{
    (void)state;
    match_weights_t w = default_weights();
    match_agent_t a = sample_agent();
    match_engagement_t e = sample_engagement();
    match_score_t s;
    assert_true(match_score(&w, &a, &e, &s));
    assert_close(s.points[MATCH_PURPOSE], 0.45 * 0.60);  /* energy 40 + 20 of 100 */
    assert_close(s.points[MATCH_SKILLS], 0.20 * 3 / 4);  /* 3 of 4 skills */
    assert_close(s.points[MATCH_CAPACITY], 0.10);        /* 10 h needed, 20 available */
    assert_close(s.points[MATCH_PACKAGING], 0.10);       /* volunteer in common */
    assert_close(s.points[MATCH_LOCATION], 0.05);        /* both in Berlin */
    assert_close(s.points[MATCH_FOLLOWS], 0.10);         /* follows organisation 7 */
    assert_close(s.score, 0.27 + 0.15 + 0.10 + 0.10 + 0.05 + 0.10);

    json_t *reasons = match_reasons(&test_names, &a, &e, &s);
    assert_non_null(reasons);
    assert_int_equal(json_array_size(reasons), MATCH_KINDS);
    const char *kinds[] = {"purpose", "skills", "capacity", "packaging", "location", "follows"};
    for (int k = 0; k < MATCH_KINDS; k++) {
        json_t *r = json_array_get(reasons, (size_t)k);
        assert_string_equal(json_string_value(json_object_get(r, "kind")), kinds[k]);
        assert_close(json_real_value(json_object_get(r, "points")), s.points[k]);
    }
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "purpose"), "detail")),
                        "Supports Clean water (energy 40) and Open science (energy 20)");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "skills"), "detail")),
                        "Has 3 of 4 skills: C, PostgreSQL, Rust");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "capacity"), "detail")),
                        "Needs 10 h/week; 20 h/week available");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "packaging"), "detail")),
                        "Packaging in common: volunteer");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "location"), "detail")),
                        "Both in Berlin");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "follows"), "detail")),
                        "Follows Acme Water");
    assert_close(points_sum(reasons), s.score);
    json_decref(reasons);
}

/* Places of the gazetteer: the distance decides the location factor, falling
 * from 1 at the same point to 0 at MATCH_NEAR_KM, and the reason says how
 * far; remote on both sides still fits fully. */
static void distance_between_places_is_the_location_factor(void **state)
{
    (void)state;
    match_weights_t w = default_weights();
    match_agent_t a = sample_agent();
    match_engagement_t e = sample_engagement();
    a.remote_ok = false;
    a.placed = e.placed = true;
    a.latitude = 52.52437, a.longitude = 13.41053; /* Berlin */
    e.latitude = 52.39886, e.longitude = 13.06566; /* Potsdam */
    double d = match_distance_km(a.latitude, a.longitude, e.latitude, e.longitude);
    assert_true(d > 26.0 && d < 28.0); /* earthdistance says 26.97... */
    assert_close(match_distance_km(e.latitude, e.longitude, a.latitude, a.longitude), d);
    match_score_t s;
    assert_true(match_score(&w, &a, &e, &s));
    assert_close(s.points[MATCH_LOCATION], w.w[MATCH_LOCATION] * (1.0 - d / MATCH_NEAR_KM));
    json_t *reasons = match_reasons(&test_names, &a, &e, &s);
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "location"), "detail")),
                        "27 km apart");
    json_decref(reasons);
    /* the same free-text location no longer counts when both are placed */
    e.latitude = 48.13743, e.longitude = 11.57549; /* Munich, 505 km */
    assert_true(match_score(&w, &a, &e, &s));
    assert_close(s.points[MATCH_LOCATION], 0.0);
    reasons = match_reasons(&test_names, &a, &e, &s);
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "location"), "detail")),
                        "505 km apart: too far (100 km or more)");
    json_decref(reasons);
    /* remote on both sides fits whatever the distance */
    a.remote_ok = e.remote_ok = true;
    assert_true(match_score(&w, &a, &e, &s));
    assert_close(s.points[MATCH_LOCATION], w.w[MATCH_LOCATION]);
    /* the same point */
    a.remote_ok = false;
    e.latitude = a.latitude, e.longitude = a.longitude;
    assert_true(match_score(&w, &a, &e, &s));
    assert_close(s.points[MATCH_LOCATION], w.w[MATCH_LOCATION]);
    reasons = match_reasons(&test_names, &a, &e, &s);
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "location"), "detail")),
                        "Less than 1 km apart");
    json_decref(reasons);
}

static void partial_and_missing_factors(void **state)
{
    (void)state;
    match_weights_t w = default_weights();
    match_agent_t a = sample_agent();
    match_engagement_t e = sample_engagement();
    a.follows = NULL;
    a.nfollows = 0;
    a.location = 4;
    a.remote_ok = true;
    e.remote_ok = true;
    e.hours = 40;           /* 20 of 40 hours available */
    e.packagings = 1u << 0; /* employment only */
    e.skills = NULL;
    e.nskills = 0;
    match_score_t s;
    assert_true(match_score(&w, &a, &e, &s));
    assert_close(s.points[MATCH_CAPACITY], 0.10 * 0.5);
    assert_close(s.points[MATCH_PACKAGING], 0.0);
    assert_close(s.points[MATCH_LOCATION], 0.05); /* remote on both sides */
    assert_close(s.points[MATCH_FOLLOWS], 0.0);
    assert_close(s.points[MATCH_SKILLS], 0.20);   /* nothing asked: nothing missing */
    json_t *reasons = match_reasons(&test_names, &a, &e, &s);
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "capacity"), "detail")),
                        "Needs 40 h/week; only 20 h/week available");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "packaging"), "detail")),
                        "No packaging in common (offered: employment; accepted: consulting or volunteer)");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "location"), "detail")),
                        "Remote on both sides");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "follows"), "detail")),
                        "Does not follow Acme Water");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "skills"), "detail")),
                        "Asks for no particular skills");
    assert_close(points_sum(reasons), s.score);
    json_decref(reasons);

    /* fully committed; no skill in common; neither same place nor remote both */
    a.committed_hours = 45;
    a.skills = NULL;
    a.nskills = 0;
    e.skills = eng_skills;
    e.nskills = 4;
    e.remote_ok = false;
    assert_true(match_score(&w, &a, &e, &s));
    assert_close(s.points[MATCH_CAPACITY], 0.0);
    assert_close(s.points[MATCH_SKILLS], 0.0);
    assert_close(s.points[MATCH_LOCATION], 0.0);
    reasons = match_reasons(&test_names, &a, &e, &s);
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "capacity"), "detail")),
                        "Needs 40 h/week; no hours available (45 committed of 30)");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "skills"), "detail")),
                        "Has none of the 4 skills asked for");
    assert_string_equal(json_string_value(json_object_get(reason(reasons, "location"), "detail")),
                        "Not in the same place, and not remote on both sides");
    assert_close(points_sum(reasons), s.score);
    json_decref(reasons);
}

static void no_purpose_in_common_is_no_match(void **state)
{
    (void)state;
    match_weights_t w = default_weights();
    match_agent_t a = sample_agent();
    match_engagement_t e = sample_engagement();
    static const uint32_t other[] = {3, 4, 9};
    e.purposes = other;
    match_score_t s;
    assert_false(match_score(&w, &a, &e, &s));
    assert_false(s.match);
    assert_close(s.score, 0.0);
    a.npurposes = 0;
    e.purposes = eng_purposes;
    assert_false(match_score(&w, &a, &e, &s));
}

static void purpose_is_the_strongest_factor_and_energy_weighs(void **state)
{
    (void)state;
    match_weights_t w = default_weights();
    for (int k = 1; k < MATCH_KINDS; k++) assert_true(w.w[MATCH_PURPOSE] > w.w[k]);
    match_agent_t a = sample_agent();
    match_engagement_t e = sample_engagement();
    static const uint32_t clean_water[] = {1};
    static const uint32_t soil[] = {5};
    e.purposes = clean_water;
    e.npurposes = 1;
    match_score_t s1, s2;
    match_score(&w, &a, &e, &s1);
    e.purposes = soil;
    match_score(&w, &a, &e, &s2);
    assert_close(s1.points[MATCH_PURPOSE], w.w[MATCH_PURPOSE] * 0.40);
    assert_close(s2.points[MATCH_PURPOSE], w.w[MATCH_PURPOSE] * 0.10);
    assert_true(s1.score > s2.score);
}

static const char *env_weights(const char *name)
{
    if (!strcmp(name, "MATCH_WEIGHT_PURPOSE")) return "3";
    if (!strcmp(name, "MATCH_WEIGHT_SKILLS")) return "1";
    if (!strncmp(name, "MATCH_WEIGHT_", 13)) return "0";
    return NULL;
}

static void weights_come_from_the_configuration(void **state)
{
    (void)state;
    match_weights_t d = default_weights();
    assert_close(d.w[MATCH_PURPOSE], 0.45);
    assert_close(d.w[MATCH_SKILLS], 0.20);
    assert_close(d.w[MATCH_CAPACITY], 0.10);
    assert_close(d.w[MATCH_PACKAGING], 0.10);
    assert_close(d.w[MATCH_LOCATION], 0.05);
    assert_close(d.w[MATCH_FOLLOWS], 0.10);

    config_t cfg;
    problem_t err = {0};
    assert_int_equal(config_load(&cfg, env_weights, &err), 0);
    match_weights_t w;
    match_weights_from_config(&cfg, &w); /* 3:1 scaled to sum 1 */
    assert_close(w.w[MATCH_PURPOSE], 0.75);
    assert_close(w.w[MATCH_SKILLS], 0.25);
    match_agent_t a = sample_agent();
    match_engagement_t e = sample_engagement();
    match_score_t s;
    assert_true(match_score(&w, &a, &e, &s));
    assert_close(s.points[MATCH_PURPOSE], 0.75 * 0.60);
    assert_close(s.points[MATCH_SKILLS], 0.25 * 0.75);
    assert_close(s.points[MATCH_FOLLOWS], 0.0);
    assert_close(s.score, 0.45 + 0.1875);
}

/* Random pairs: points always add up to the score, which stays in [0, 1]. */
static uint64_t rng_state = 88172645463325252ULL;
static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state % n);
}

static size_t random_set(uint32_t *v, size_t max, uint32_t range)
{
    size_t n = rnd((uint32_t)max + 1), k = 0;
    for (uint32_t x = 0; x < range && k < n; x++)
        if (rnd(range) < n) v[k++] = x;
    return k;
}

static void points_always_add_up_to_the_score(void **state)
{
    (void)state;
    config_t cfg;
    problem_t err = {0};
    assert_int_equal(config_load(&cfg, env_none, &err), 0);
    cfg.w_skills = 0.37; /* weights that do not sum to 1 are scaled */
    cfg.w_location = 0.011;
    match_weights_t w;
    match_weights_from_config(&cfg, &w);
    int matched = 0;
    for (int round = 0; round < 5000; round++) {
        uint32_t ap[12], as[10], af[6], ep[6], es[8];
        match_energy_t ae[12];
        size_t nap = random_set(ap, 12, 20);
        uint32_t left = 100;
        for (size_t i = 0; i < nap; i++) {
            uint32_t en = left ? 1 + rnd(left) : 0;
            if (en == 0) { nap = i; break; }
            ae[i].purpose = ap[i];
            ae[i].energy = en;
            left -= en;
        }
        match_agent_t a = {.id = round, .purposes = ae, .npurposes = nap,
                           .skills = as, .nskills = random_set(as, 10, 30),
                           .follows = af, .nfollows = random_set(af, 6, 10),
                           .capacity_hours = (int)rnd(81), .committed_hours = (int)rnd(100),
                           .location = rnd(4), .packagings = rnd(32), .remote_ok = rnd(2)};
        match_engagement_t e = {.id = round, .purposes = ep, .npurposes = random_set(ep, 6, 20),
                                .skills = es, .nskills = random_set(es, 8, 30),
                                .organisation = rnd(10), .organisation_name = "Org",
                                .hours = 1 + (int)rnd(80), .location = rnd(4),
                                .packagings = 1 + rnd(31), .remote_ok = rnd(2)};
        match_score_t s;
        if (!match_score(&w, &a, &e, &s)) {
            assert_close(s.score, 0.0);
            continue;
        }
        matched++;
        assert_true(s.score >= 0.0 && s.score <= 1.0);
        double sum = 0;
        for (int k = 0; k < MATCH_KINDS; k++) {
            assert_true(s.points[k] >= 0.0 && s.points[k] <= w.w[k] + 1e-12);
            sum += s.points[k];
        }
        assert_close(sum, s.score);
        json_t *reasons = match_reasons(&test_names, &a, &e, &s);
        assert_non_null(reasons);
        assert_close(points_sum(reasons), s.score);
        json_decref(reasons);
    }
    assert_true(matched > 100);
}

static void ties_are_broken_newest_first_then_id(void **state)
{
    (void)state;
    match_engagement_t older = sample_engagement(), newer = sample_engagement();
    older.created_us = 1000;
    older.id = 200;
    newer.created_us = 2000;
    newer.id = 100;
    assert_true(match_compare_engagements(0.5, &newer, 0.5, &older) < 0);
    assert_true(match_compare_engagements(0.5, &older, 0.5, &newer) > 0);
    assert_true(match_compare_engagements(0.6, &older, 0.5, &newer) < 0); /* score first */
    /* scores equal to 1e-9 tie: 0.1 + 0.2 is not 0.3 in floating point */
    assert_true(match_compare_engagements(0.1 + 0.2, &older, 0.3, &newer) > 0);
    older.created_us = newer.created_us;
    assert_true(match_compare_engagements(0.5, &older, 0.5, &newer) < 0); /* higher id first */
    assert_int_equal(match_compare_engagements(0.5, &older, 0.5, &older), 0);
    assert_true(match_compare_agents(0.5, 3, 0.5, 7) < 0); /* lower agent id first */
    assert_true(match_compare_agents(0.4, 3, 0.5, 7) > 0);
}

static void packagings_parse(void **state)
{
    (void)state;
    assert_int_equal(match_packagings_from_text("consulting,volunteer"), (1u << 2) | (1u << 4));
    assert_int_equal(match_packagings_from_text(""), 0);
    assert_int_equal(match_packagings_from_text(NULL), 0);
    assert_int_equal(match_packagings_from_text("employment,bogus,interim"), 1u | (1u << 3));
}

/* Skills come as PostgreSQL writes a text[]: quoted when they hold a space,
 * a comma, a brace or a quote, with backslash escapes. */
static void skills_parse_as_postgresql_writes_them(void **state)
{
    (void)state;
    match_parsed_t p = {0};
    match_engagement_row_t e = {.purposes = "1",
                                .skills = "{c++,\"a b\",\"x\\\"y\\\\z\",\"\",C++,\"A B\",\"X\\\"Y\\\\Z\",\"\"}"};
    assert_int_equal(match_parse_engagement(&e, &p), 0);
    assert_int_equal(match_parsed_skill_count(&p), 4);
    assert_string_equal(match_parsed_skill_key(&p, 0), "c++");
    assert_string_equal(match_parsed_skill_key(&p, 1), "a b");
    assert_string_equal(match_parsed_skill_key(&p, 2), "x\"y\\z");
    assert_string_equal(match_parsed_skill_key(&p, 3), "");
    assert_string_equal(match_parsed_skill_name(&p, 0), "C++");
    assert_string_equal(match_parsed_skill_name(&p, 2), "X\"Y\\Z");
    /* an agent's are keys only, its own spelling */
    match_agent_row_t a = {.purposes = "1:10", .skills = "{rust,\"go lang\"}"};
    assert_int_equal(match_parse_agent(&a, &p), 0);
    assert_int_equal(match_parsed_skill_count(&p), 2);
    assert_string_equal(match_parsed_skill_name(&p, 1), "go lang");
    a.skills = "{}";
    assert_int_equal(match_parse_agent(&a, &p), 0);
    assert_int_equal(match_parsed_skill_count(&p), 0);
    /* malformed: keys without their spellings, a null, no braces, junk after */
    const char *bad_engagement[] = {"{rust}", "{rust,NULL}", "rust,Rust", "{rust,Rust}x",
                                    "{\"rust,Rust}", "{rust,,Rust}", "{{rust},{Rust}}"};
    for (size_t i = 0; i < sizeof bad_engagement / sizeof *bad_engagement; i++) {
        e.skills = bad_engagement[i];
        assert_int_equal(match_parse_engagement(&e, &p), -1);
    }
    match_parsed_free(&p);
}

/* ---------- the index ---------- */

static void put_engagement(match_index_t *ix, int64_t id, int64_t created, const char *purposes,
                           const char *skills, bool open)
{
    match_engagement_row_t row = {.id = id, .organisation_id = 7, .created_us = created,
                                  .open = open, .remote_ok = true, .hours = 10,
                                  .packagings = "volunteer", .location = "Berlin",
                                  .location_key = "berlin", .purposes = purposes, .skills = skills};
    assert_int_equal(match_index_put_engagement(ix, &row), 0);
}

static void put_agent(match_index_t *ix, int64_t id, const char *purposes, const char *skills,
                      bool discoverable)
{
    match_agent_row_t row = {.id = id, .discoverable = discoverable, .remote_ok = true,
                             .capacity_hours = 20, .packagings = "volunteer",
                             .location = "Berlin ", .location_key = "berlin",
                             .purposes = purposes, .skills = skills, .follows = "7"};
    assert_int_equal(match_index_put_agent(ix, &row), 0);
}

static match_index_t *small_index(void)
{
    match_index_t *ix = match_index_new();
    assert_non_null(ix);
    assert_int_equal(match_index_put_purpose(ix, 1, "Clean water"), 0);
    assert_int_equal(match_index_put_purpose(ix, 2, "Open science"), 0);
    assert_int_equal(match_index_put_purpose(ix, 3, "Soil"), 0);
    assert_int_equal(match_index_put_organisation(ix, 7, "Acme Water"), 0);
    return ix;
}

static void index_ranks_engagements_with_ties_newest_first(void **state)
{
    (void)state;
    match_index_t *ix = small_index();
    /* seen first with other spellings: the sentences still use the engagement's */
    put_agent(ix, 1, "3:10", "{rust}", true);
    const char *sk = "{rust,c,Rust,C}";
    put_engagement(ix, 10, 5000, "1", sk, true);   /* tie with 11, 12 */
    put_engagement(ix, 11, 6000, "1", sk, true);   /* newest of the tie */
    put_engagement(ix, 12, 5000, "1", sk, true);   /* same time as 10, higher id */
    put_engagement(ix, 13, 1000, "1,2", sk, true); /* more energy: best */
    put_engagement(ix, 14, 9000, "3", sk, true);   /* no purpose in common */
    put_engagement(ix, 15, 9000, "1", sk, false);  /* closed: not indexed */
    put_engagement(ix, 16, 9000, "1", sk, true);   /* excluded (agreement) */
    assert_int_equal(match_index_engagement_count(ix), 6);
    match_weights_t w = default_weights();
    match_agent_row_t me = {.id = 99, .discoverable = false, .remote_ok = true,
                            .capacity_hours = 20, .packagings = "volunteer",
                            .location_key = "berlin", .purposes = "1:50,2:30",
                            .skills = "{rust}", .follows = "", .excluded = "16"};
    match_hit_t hits[10];
    int n = match_index_engagements_for(ix, &w, &me, 10, hits);
    assert_int_equal(n, 4);
    int64_t expect[] = {13, 11, 12, 10};
    for (int i = 0; i < n; i++) {
        assert_int_equal(hits[i].id, expect[i]);
        assert_close(points_sum(hits[i].reasons), hits[i].score);
    }
    assert_close(hits[1].score, hits[2].score);
    assert_string_equal(json_string_value(json_object_get(reason(hits[0].reasons, "purpose"), "detail")),
                        "Supports Clean water (energy 50) and Open science (energy 30)");
    assert_string_equal(json_string_value(json_object_get(reason(hits[0].reasons, "skills"), "detail")),
                        "Has 1 of 2 skills: Rust");
    assert_string_equal(json_string_value(json_object_get(reason(hits[0].reasons, "location"), "detail")),
                        "Both in Berlin");
    match_hits_clear(hits, (size_t)n);

    /* k bounds the answer to the best k */
    n = match_index_engagements_for(ix, &w, &me, 2, hits);
    assert_int_equal(n, 2);
    assert_int_equal(hits[0].id, 13);
    assert_int_equal(hits[1].id, 11);
    match_hits_clear(hits, (size_t)n);

    /* closing 13 takes it out; a purpose change moves 14 in */
    put_engagement(ix, 13, 1000, "1,2", sk, false);
    put_engagement(ix, 14, 9000, "2,3", sk, true);
    n = match_index_engagements_for(ix, &w, &me, 10, hits);
    assert_int_equal(n, 4);
    assert_int_equal(hits[0].id, 11); /* energy 50 beats 30 */
    assert_int_equal(hits[3].id, 14);
    match_hits_clear(hits, (size_t)n);

    /* a malformed row is refused and changes nothing */
    match_engagement_row_t bad = {.id = 11, .organisation_id = 7, .open = true, .hours = 5,
                                  .purposes = "1,x", .skills = NULL};
    assert_int_equal(match_index_put_engagement(ix, &bad), -1);
    bad.purposes = "1";
    bad.skills = "{\"not\":\"an array\"}";
    assert_int_equal(match_index_put_engagement(ix, &bad), -1);
    assert_int_equal(match_index_engagement_count(ix), 5);
    match_index_free(ix);
}

static void index_ranks_discoverable_agents_by_id_on_ties(void **state)
{
    (void)state;
    match_index_t *ix = small_index();
    put_agent(ix, 5, "1:40", "{rust}", true);
    put_agent(ix, 3, "1:40", "{rust}", true);
    put_agent(ix, 4, "1:40", "{rust}", false); /* hidden */
    put_agent(ix, 8, "1:80,2:10", NULL, true);
    put_agent(ix, 9, "3:100", NULL, true);                   /* no purpose in common */
    put_agent(ix, 6, "1:40", "{rust}", true); /* excluded (agreement) */
    assert_int_equal(match_index_agent_count(ix), 5);
    match_weights_t w = default_weights();
    match_engagement_row_t e = {.id = 50, .organisation_id = 7, .created_us = 1, .open = true,
                                .remote_ok = false, .hours = 10, .packagings = "volunteer",
                                .location_key = "berlin", .purposes = "1",
                                .skills = "{rust,zig,ZIG,Rust,Zig,ZIG}",
                                .organisation_name = "Acme Water", .excluded = "6"};
    match_hit_t hits[10];
    int n = match_index_agents_for(ix, &w, &e, 10, hits);
    assert_int_equal(n, 3);
    assert_int_equal(hits[0].id, 8);
    assert_int_equal(hits[1].id, 3);
    assert_int_equal(hits[2].id, 5);
    /* "zig" is known to no agent: still one of the skills asked for */
    assert_string_equal(json_string_value(json_object_get(reason(hits[1].reasons, "skills"), "detail")),
                        "Has 1 of 3 skills: Rust");
    assert_string_equal(json_string_value(json_object_get(reason(hits[1].reasons, "follows"), "detail")),
                        "Follows Acme Water");
    match_hits_clear(hits, (size_t)n);

    /* the agent becomes discoverable; then another is removed */
    put_agent(ix, 4, "1:40", "{rust}", true);
    match_index_remove_agent(ix, 3);
    match_index_remove_agent(ix, 12345); /* unknown: nothing happens */
    n = match_index_agents_for(ix, &w, &e, 10, hits);
    assert_int_equal(n, 3);
    assert_int_equal(hits[1].id, 4);
    assert_int_equal(hits[2].id, 5);
    match_hits_clear(hits, (size_t)n);
    match_index_free(ix);
}

/* Many updates (enough to compact the pools) leave the same answers as an
 * index built once from the final rows; top-k equals the head of the full list. */
static void updates_and_compaction_keep_answers(void **state)
{
    (void)state;
    match_index_t *churned = small_index(), *fresh = small_index();
    for (int p = 4; p <= 40; p++) {
        match_index_put_purpose(churned, p, "P");
        match_index_put_purpose(fresh, p, "P");
    }
    char skills[2048], purposes[256];
    int nagents = 1500;
    for (int round = 0; round < 6; round++) {
        for (int id = 1; id <= nagents; id++) {
            int len = snprintf(skills, sizeof skills, "{");
            int ns = 5 + (int)rnd(30);
            for (int s = 0; s < ns; s++)
                len += snprintf(skills + len, sizeof skills - (size_t)len, "%ss%u", s ? "," : "",
                                rnd(60));
            snprintf(skills + len, sizeof skills - (size_t)len, "}");
            unsigned pa = 1 + rnd(40), pb = 1 + rnd(40);
            if (pa == pb) snprintf(purposes, sizeof purposes, "%u:10", pa);
            else snprintf(purposes, sizeof purposes, "%u:%u,%u:%u", pa, 1 + rnd(50), pb, 1 + rnd(40));
            match_agent_row_t row = {.id = id, .discoverable = rnd(10) != 0, .remote_ok = rnd(2),
                                     .capacity_hours = (int)rnd(40), .packagings = "volunteer",
                                     .purposes = purposes, .skills = skills, .follows = "7"};
            assert_int_equal(match_index_put_agent(churned, &row), 0);
            if (round == 5) assert_int_equal(match_index_put_agent(fresh, &row), 0);
        }
    }
    assert_int_equal(match_index_agent_count(churned), match_index_agent_count(fresh));
    match_weights_t w = default_weights();
    for (int q = 0; q < 40; q++) {
        char ep[64];
        snprintf(ep, sizeof ep, "%u,%u", 1 + rnd(40), 1 + rnd(40));
        match_engagement_row_t e = {.id = 1, .organisation_id = 7, .open = true, .hours = 10,
                                    .packagings = "volunteer", .purposes = ep,
                                    .skills = "{s1,s2,s3,S1,S2,S3}"};
        static match_hit_t all1[2000], all2[2000], top[20];
        int n1 = match_index_agents_for(churned, &w, &e, 2000, all1);
        int n2 = match_index_agents_for(fresh, &w, &e, 2000, all2);
        assert_int_equal(n1, n2);
        for (int i = 0; i < n1; i++) {
            assert_int_equal(all1[i].id, all2[i].id);
            assert_close(all1[i].score, all2[i].score);
            if (i) assert_true(match_compare_agents(all1[i - 1].score, all1[i - 1].id, all1[i].score,
                                                    all1[i].id) < 0);
        }
        int nt = match_index_agents_for(churned, &w, &e, 20, top);
        assert_int_equal(nt, n1 < 20 ? n1 : 20);
        for (int i = 0; i < nt; i++) assert_int_equal(top[i].id, all1[i].id);
        match_hits_clear(all1, (size_t)n1);
        match_hits_clear(all2, (size_t)n2);
        match_hits_clear(top, (size_t)nt);
    }
    assert_true(match_index_memory(churned) < 4 * match_index_memory(fresh) + (1u << 20));
    match_index_free(churned);
    match_index_free(fresh);
}

/* ---------- the snapshot file ---------- */

/* An index with history: agents and engagements put, replaced and removed
 * (free slots, waste in the pools, renamed purposes), places and labels. */
static match_index_t *churned_index(void)
{
    match_index_t *ix = small_index();
    static const char *const places[] = {"berlin", "lima", "oslo", "Lima"};
    char skills[256], purposes[128], lat[32], lon[32];
    for (int round = 0; round < 3; round++) {
        for (int p = 4; p <= 30; p++) match_index_put_purpose(ix, p, round ? "Renamed" : "P");
        for (int id = 1; id <= 800; id++) {
            snprintf(skills, sizeof skills, "{s%u,s%u,s%u}", rnd(40), rnd(40), rnd(40));
            snprintf(purposes, sizeof purposes, "%u:%u,%u:%u", 1 + rnd(30), 1 + rnd(99),
                     1 + rnd(30), 1 + rnd(99));
            snprintf(lat, sizeof lat, "%.4f", 40.0 + rnd(2000) / 100.0);
            snprintf(lon, sizeof lon, "%.4f", -5.0 + rnd(2000) / 100.0);
            const char *place = places[rnd(4)];
            match_agent_row_t a = {.id = id, .discoverable = rnd(8) != 0, .remote_ok = rnd(2),
                                   .capacity_hours = (int)rnd(40), .packagings = "volunteer,consulting",
                                   .location = place, .location_key = place,
                                   .latitude = rnd(3) ? lat : NULL, .longitude = rnd(3) ? lon : NULL,
                                   .purposes = purposes, .skills = skills, .follows = "7"};
            assert_int_equal(match_index_put_agent(ix, &a), 0);
            if (id % 3 == 0) {
                snprintf(purposes, sizeof purposes, "%u,%u", 1 + rnd(30), 1 + rnd(30));
                snprintf(skills, sizeof skills, "{s%u,s%u,S%u,s%u}", rnd(40), rnd(40), rnd(40), rnd(40));
                match_engagement_row_t e = {.id = 5000 + id, .organisation_id = 7 + (int64_t)rnd(3),
                                            .created_us = rnd(500), .open = rnd(6) != 0,
                                            .remote_ok = rnd(2), .hours = 1 + (int)rnd(30),
                                            .packagings = "volunteer", .location = place,
                                            .location_key = place, .purposes = purposes,
                                            .skills = skills};
                assert_int_equal(match_index_put_engagement(ix, &e), 0);
            }
        }
        for (int id = 1 + round; id <= 800; id += 17) match_index_remove_agent(ix, id);
        match_index_put_organisation(ix, 8, round ? "Beta renamed" : "Beta");
    }
    return ix;
}

/* Two searches' hits are the same, reasons included; both are cleared. */
static void assert_same_hits(match_hit_t *hx, int nx, match_hit_t *hy, int ny)
{
    assert_int_equal(nx, ny);
    for (int i = 0; i < nx; i++) {
        assert_int_equal(hx[i].id, hy[i].id);
        assert_close(hx[i].score, hy[i].score);
        assert_true(json_equal(hx[i].reasons, hy[i].reasons));
    }
    match_hits_clear(hx, (size_t)nx);
    match_hits_clear(hy, (size_t)ny);
}

/* The same answers, reasons included, from two indexes. */
static void assert_same_answers(const match_index_t *x, const match_index_t *y)
{
    match_weights_t w = default_weights();
    static match_hit_t hx[1000], hy[1000];
    assert_int_equal(match_index_agent_count(x), match_index_agent_count(y));
    assert_int_equal(match_index_engagement_count(x), match_index_engagement_count(y));
    for (int q = 0; q < 30; q++) {
        char purposes[64], skills[128];
        snprintf(purposes, sizeof purposes, "%u:%u,%u:%u", 1 + rnd(30), 1 + rnd(99), 1 + rnd(30),
                 1 + rnd(99));
        snprintf(skills, sizeof skills, "{s%u,s%u,nowhere}", rnd(40), rnd(40));
        match_agent_row_t me = {.id = 1, .remote_ok = rnd(2), .capacity_hours = (int)rnd(40),
                                .packagings = "volunteer", .location_key = q % 2 ? "lima" : "oslo",
                                .purposes = purposes, .skills = skills, .follows = "7,8"};
        int nx = match_index_engagements_for(x, &w, &me, 1000, hx);
        int ny = match_index_engagements_for(y, &w, &me, 1000, hy);
        assert_same_hits(hx, nx, hy, ny);
        snprintf(purposes, sizeof purposes, "%u,%u", 1 + rnd(30), 1 + rnd(30));
        match_engagement_row_t e = {.id = 1, .organisation_id = 8, .open = true, .hours = 10,
                                    .packagings = "volunteer", .location_key = "berlin",
                                    .purposes = purposes, .skills = "{s1,s2,s3,S1,S2,S3}"};
        nx = match_index_agents_for(x, &w, &e, 1000, hx);
        ny = match_index_agents_for(y, &w, &e, 1000, hy);
        assert_same_hits(hx, nx, hy, ny);
    }
}

static char *temp_path(void)
{
    static char path[64];
    snprintf(path, sizeof path, "/tmp/test_match_snapshot.%ld", (long)getpid());
    return path;
}

/* A snapshot read back answers every search as the index it was written
 * from, keeps its position, and takes further changes as that index does. */
static void snapshot_round_trip_answers_the_same(void **state)
{
    (void)state;
    const char *path = temp_path();
    match_index_t *ix = churned_index();
    size_t bytes = 0;
    assert_int_equal(match_snapshot_write(ix, path, "db-1", "100:105:101,103", &bytes), 0);
    assert_true(bytes > 0);
    char pos[64];
    const char *why = "unset";
    match_index_t *back = match_snapshot_read(path, "db-1", pos, sizeof pos, &why);
    assert_non_null(back);
    assert_null(why);
    assert_string_equal(pos, "100:105:101,103");
    assert_same_answers(ix, back);
    /* the same changes to both (growth from exactly full arrays) */
    for (int id = 700; id <= 900; id++) {
        match_agent_row_t a = {.id = id, .discoverable = true, .capacity_hours = 20,
                               .packagings = "volunteer", .location_key = "newtown",
                               .purposes = "4:50,5:20", .skills = "{fresh,s3}", .follows = "9"};
        assert_int_equal(match_index_put_agent(ix, &a), 0);
        assert_int_equal(match_index_put_agent(back, &a), 0);
    }
    for (int p = 31; p <= 40; p++) {
        match_index_put_purpose(ix, p, "New");
        match_index_put_purpose(back, p, "New");
    }
    match_index_remove_engagement(ix, 5003);
    match_index_remove_engagement(back, 5003);
    assert_same_answers(ix, back);
    match_index_free(back);
    /* an empty index too */
    match_index_t *empty = match_index_new();
    assert_int_equal(match_snapshot_write(empty, path, "db-1", "1:1:", NULL), 0);
    back = match_snapshot_read(path, "db-1", pos, sizeof pos, &why);
    assert_non_null(back);
    assert_same_answers(empty, back);
    match_index_free(back);
    match_index_free(empty);
    match_index_free(ix);
    unlink(path);
}

/* Another database's file, a file cut short, any byte changed, no file:
 * refused, with a reason, never half used. */
static void snapshot_refuses_what_is_not_its_own(void **state)
{
    (void)state;
    const char *path = temp_path();
    match_index_t *ix = churned_index();
    assert_int_equal(match_snapshot_write(ix, path, "db-1", "100:105:", NULL), 0);
    char pos[64];
    const char *why = NULL;
    assert_null(match_snapshot_read(path, "db-2", pos, sizeof pos, &why));
    assert_non_null(strstr(why, "another database"));
    /* read the file, then try it changed in many places and cut short */
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *bytes = malloc((size_t)size);
    assert_int_equal(fread(bytes, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    char bad[80];
    snprintf(bad, sizeof bad, "%s.bad", path);
    for (int k = 0; k < 40; k++) {
        long at = k == 0 ? size - 1 : k == 1 ? 8 : (long)(rnd(1u << 30) % (unsigned long)size);
        bytes[at] ^= 0x5a;
        f = fopen(bad, "wb");
        fwrite(bytes, 1, (size_t)size, f);
        fclose(f);
        bytes[at] ^= 0x5a;
        why = NULL;
        assert_null(match_snapshot_read(bad, "db-1", pos, sizeof pos, &why));
        assert_non_null(why);
    }
    long cuts[] = {0, 7, 30, size / 2, size - 32, size - 1};
    for (size_t k = 0; k < sizeof cuts / sizeof cuts[0]; k++) {
        f = fopen(bad, "wb");
        fwrite(bytes, 1, (size_t)cuts[k], f);
        fclose(f);
        why = NULL;
        assert_null(match_snapshot_read(bad, "db-1", pos, sizeof pos, &why));
        assert_non_null(strstr(why, "damaged"));
    }
    /* a whole file (its hash right) whose numbers point outside their
     * arrays: refused too, before anything reads through them */
    uint32_t slot = 0;
    while (!(ix->agents[slot].flags & REC_LIVE)) slot++;
    uint32_t kept = ix->agents[slot].skills_off;
    ix->agents[slot].skills_off = ix->nwords;
    assert_int_equal(match_snapshot_write(ix, bad, "db-1", "100:105:", NULL), 0);
    assert_null(match_snapshot_read(bad, "db-1", pos, sizeof pos, &why));
    ix->agents[slot].skills_off = kept;
    uint32_t entry = ix->postings[1].agents[0];
    ix->postings[1].agents[0] = POSTING_ENTRY(ix->nagents, 5u);
    assert_int_equal(match_snapshot_write(ix, bad, "db-1", "100:105:", NULL), 0);
    assert_null(match_snapshot_read(bad, "db-1", pos, sizeof pos, &why));
    ix->postings[1].agents[0] = entry;
    uint32_t name = ix->skills.name_off[0];
    ix->skills.name_off[0] = ix->nstr;
    assert_int_equal(match_snapshot_write(ix, bad, "db-1", "100:105:", NULL), 0);
    assert_null(match_snapshot_read(bad, "db-1", pos, sizeof pos, &why));
    ix->skills.name_off[0] = name;
    /* the whole file is still good: the refusals were the changes */
    f = fopen(bad, "wb");
    fwrite(bytes, 1, (size_t)size, f);
    fclose(f);
    match_index_t *back = match_snapshot_read(bad, "db-1", pos, sizeof pos, &why);
    assert_non_null(back);
    match_index_free(back);
    unlink(bad);
    unlink(path);
    assert_null(match_snapshot_read(path, "db-1", pos, sizeof pos, &why));
    assert_string_equal(why, "no snapshot");
    /* nowhere to write: -1, nothing left behind */
    assert_int_equal(match_snapshot_write(ix, "/nonexistent-dir/x.snapshot", "db-1", "1:1:", NULL), -1);
    free(bytes);
    match_index_free(ix);
}

/* top (nt hits, pruned) is the head of all (n hits, the full ranking): the
 * same ids and scores in the same order. Clears both. */
static void assert_head_of(match_hit_t *top, int nt, match_hit_t *all, int n)
{
    assert_true(nt <= n);
    for (int i = 0; i < nt; i++) {
        assert_int_equal(top[i].id, all[i].id);
        assert_close(top[i].score, all[i].score);
    }
    match_hits_clear(all, (size_t)n);
    match_hits_clear(top, (size_t)nt);
}

/* The pruned top k is the head of the full ranking (engagements side). */
static void top_k_is_the_head_of_the_full_ranking(void **state)
{
    (void)state;
    match_index_t *ix = small_index();
    for (int p = 4; p <= 30; p++) match_index_put_purpose(ix, p, "P");
    static const char *const places[] = {"berlin", "lima", "oslo"};
    for (int id = 1; id <= 3000; id++) {
        char purposes[64], skills[256];
        snprintf(purposes, sizeof purposes, "%u,%u,%u", 1 + rnd(30), 1 + rnd(30), 1 + rnd(30));
        snprintf(skills, sizeof skills, "{s%u,s%u,S,S}", rnd(20), rnd(20));
        const char *place = places[rnd(3)];
        match_engagement_row_t row = {.id = id, .organisation_id = 1 + rnd(5), .created_us = rnd(50),
                                      .open = true, .remote_ok = rnd(2), .hours = 1 + (int)rnd(40),
                                      .packagings = rnd(2) ? "volunteer" : "employment,consulting",
                                      .location = place, .location_key = place,
                                      .purposes = purposes, .skills = skills};
        assert_int_equal(match_index_put_engagement(ix, &row), 0);
    }
    match_weights_t w = default_weights();
    static match_hit_t all[3000], top[25];
    for (int q = 0; q < 60; q++) {
        char purposes[64], skills[128];
        snprintf(purposes, sizeof purposes, "%u:%u,%u:%u", 1 + rnd(15), 1 + rnd(50), 16 + rnd(15), 1 + rnd(50));
        snprintf(skills, sizeof skills, "{s%u,s%u}", rnd(20), rnd(20));
        match_agent_row_t me = {.id = 1, .remote_ok = rnd(2), .capacity_hours = (int)rnd(40),
                                .packagings = "volunteer", .location_key = places[rnd(3)],
                                .purposes = purposes, .skills = skills, .follows = "2,3"};
        int n = match_index_engagements_for(ix, &w, &me, 3000, all);
        int nt = match_index_engagements_for(ix, &w, &me, 25, top);
        assert_true(n > 25);
        assert_int_equal(nt, 25);
        for (int i = 1; i < n; i++) assert_true(all[i - 1].score >= all[i].score - 1e-9);
        assert_head_of(top, nt, all, n);
    }
    match_index_free(ix);
}

/* The same on the agents' side: an engagement's top k (pruned by the
 * agents' skill signatures, then their records) is the head of the full
 * ranking of its agents, engagements asking for no skill included. */
static void top_k_agents_is_the_head_of_the_full_ranking(void **state)
{
    (void)state;
    match_index_t *ix = small_index();
    for (int p = 4; p <= 30; p++) match_index_put_purpose(ix, p, "P");
    static const char *const places[] = {"berlin", "lima", "oslo"};
    for (int id = 1; id <= 3000; id++) {
        char purposes[64], skills[256], follows[32];
        snprintf(purposes, sizeof purposes, "%u:%u,%u:%u", 1 + rnd(15), 1 + rnd(60), 16 + rnd(15),
                 1 + rnd(40));
        snprintf(skills, sizeof skills, "{s%u,s%u,s%u}", rnd(20), rnd(20), rnd(20));
        snprintf(follows, sizeof follows, "%u", 1 + rnd(5));
        const char *place = places[rnd(3)];
        match_agent_row_t row = {.id = id, .discoverable = true, .remote_ok = rnd(2),
                                 .capacity_hours = (int)rnd(40), .committed_hours = (int)rnd(10),
                                 .packagings = rnd(2) ? "volunteer" : "employment,consulting",
                                 .location = place, .location_key = place, .purposes = purposes,
                                 .skills = rnd(8) ? skills : "{}", .follows = follows};
        assert_int_equal(match_index_put_agent(ix, &row), 0);
    }
    match_weights_t w = default_weights();
    static match_hit_t all[3000], top[25];
    for (int q = 0; q < 60; q++) {
        char purposes[64], skills[128];
        snprintf(purposes, sizeof purposes, "%u,%u", 1 + rnd(15), 16 + rnd(15));
        unsigned k1 = rnd(20), k2 = rnd(20), k3 = rnd(20); /* keys, then their spellings */
        snprintf(skills, sizeof skills, "{s%u,s%u,s%u,S%u,S%u,S%u}", k1, k2, k3, k1, k2, k3);
        match_engagement_row_t me = {.id = 1, .organisation_id = 1 + rnd(5), .created_us = 1,
                                     .open = true, .remote_ok = rnd(2), .hours = 1 + (int)rnd(30),
                                     .packagings = "volunteer", .location_key = places[rnd(3)],
                                     .purposes = purposes, .skills = q % 5 ? skills : "{}"};
        int n = match_index_agents_for(ix, &w, &me, 3000, all);
        int nt = match_index_agents_for(ix, &w, &me, 25, top);
        assert_true(n > 25);
        assert_int_equal(nt, 25);
        assert_head_of(top, nt, all, n);
    }
    match_index_free(ix);
}

/* A search computes its caller's point on the sphere once and each
 * candidate's as it scores it: placed agents and engagements at many
 * distances score the same pair the same from either side, and as
 * match_distance_km says (the fit falls with the distance). */
static void placed_pairs_score_the_same_from_either_side(void **state)
{
    (void)state;
    match_index_t *ix = small_index();
    char lat[32], lon[32];
    for (int id = 1; id <= 40; id++) {
        snprintf(lat, sizeof lat, "%.5f", 52.0 + 0.05 * id);
        snprintf(lon, sizeof lon, "%.5f", 13.0 - 0.03 * id);
        match_agent_row_t a = {.id = id, .discoverable = true, .capacity_hours = 10,
                               .packagings = "volunteer", .purposes = "1:40", .skills = "{rust}",
                               .latitude = lat, .longitude = lon};
        assert_int_equal(match_index_put_agent(ix, &a), 0);
        snprintf(lat, sizeof lat, "%.5f", 52.1 + 0.05 * id);
        snprintf(lon, sizeof lon, "%.5f", 13.0 - 0.02 * id);
        match_engagement_row_t e = {.id = 100 + id, .organisation_id = 7, .created_us = id,
                                    .open = true, .hours = 5, .packagings = "volunteer",
                                    .purposes = "1", .skills = "{rust,Rust}",
                                    .latitude = lat, .longitude = lon};
        assert_int_equal(match_index_put_engagement(ix, &e), 0);
    }
    match_weights_t w = default_weights();
    static match_hit_t mine[40], theirs[40];
    for (int id = 1; id <= 40; id += 13) {
        snprintf(lat, sizeof lat, "%.5f", 52.0 + 0.05 * id);
        snprintf(lon, sizeof lon, "%.5f", 13.0 - 0.03 * id);
        match_agent_row_t me = {.id = id, .discoverable = true, .capacity_hours = 10,
                                .packagings = "volunteer", .purposes = "1:40", .skills = "{rust}",
                                .latitude = lat, .longitude = lon};
        int n = match_index_engagements_for(ix, &w, &me, 40, mine);
        assert_int_equal(n, 40);
        for (int i = 0; i < n; i++) {
            int eid = (int)mine[i].id - 100;
            char elat[32], elon[32];
            snprintf(elat, sizeof elat, "%.5f", 52.1 + 0.05 * eid);
            snprintf(elon, sizeof elon, "%.5f", 13.0 - 0.02 * eid);
            match_engagement_row_t e = {.id = mine[i].id, .organisation_id = 7, .created_us = eid,
                                        .open = true, .hours = 5, .packagings = "volunteer",
                                        .purposes = "1", .skills = "{rust,Rust}",
                                        .latitude = elat, .longitude = elon};
            int m = match_index_agents_for(ix, &w, &e, 40, theirs);
            assert_int_equal(m, 40);
            int k = 0;
            while (k < m && theirs[k].id != id) k++;
            assert_true(k < m);
            assert_true(mine[i].score == theirs[k].score);
            match_hits_clear(theirs, (size_t)m);
        }
        /* the nearest first: the location's points are all that differ */
        for (int i = 1; i < n; i++) assert_true(mine[i - 1].score >= mine[i].score);
        assert_true(mine[0].score > mine[n - 1].score);
        match_hits_clear(mine, (size_t)n);
    }
    match_index_free(ix);
}

/* The bounded heap of top-k (match/internal.h), in both rank orders: after
 * any number of pushes in any order it holds the k best, and sorting gives
 * them best first, exactly the head of a full sort. Scores and creation
 * times tie often, so the tie-breaks are exercised. */
static int cmp_rank_engagement(const void *x, const void *y)
{
    return match_cand_rank_engagement(x, y);
}

static int cmp_rank_agent(const void *x, const void *y) { return match_cand_rank_agent(x, y); }

static void the_bounded_heap_keeps_the_k_best_in_rank_order(void **state)
{
    (void)state;
    static match_cand_t all[400], sorted[400], heap[410];
    const match_cand_rank_fn ranks[2] = {match_cand_rank_engagement, match_cand_rank_agent};
    int (*const cmps[2])(const void *, const void *) = {cmp_rank_engagement, cmp_rank_agent};
    for (int r = 0; r < 2; r++) {
        for (int trial = 0; trial < 60; trial++) {
            size_t n = 1 + rnd(400);
            for (size_t i = 0; i < n; i++)
                all[i] = (match_cand_t){(int64_t)rnd(12) * 1000, rnd(4), (int64_t)i + 1, (uint32_t)i};
            for (size_t i = n - 1; i > 0; i--) { /* shuffle: push order must not matter */
                size_t j = rnd((uint32_t)i + 1);
                match_cand_t t = all[i];
                all[i] = all[j];
                all[j] = t;
            }
            memcpy(sorted, all, n * sizeof *all);
            qsort(sorted, n, sizeof *sorted, cmps[r]);
            const size_t ks[] = {0, 1, 2, 7, 25, n - 1, n, n + 5};
            for (size_t t = 0; t < sizeof ks / sizeof *ks; t++) {
                size_t k = ks[t];
                match_topk_t h = {heap, 0, k, ranks[r]};
                for (size_t i = 0; i < n; i++) match_topk_push(&h, &all[i]);
                assert_int_equal(h.n, k < n ? k : n);
                match_topk_sort(&h);
                for (size_t i = 0; i < h.n; i++) {
                    assert_int_equal(heap[i].id, sorted[i].id);
                    assert_int_equal(heap[i].q, sorted[i].q);
                    assert_int_equal(heap[i].slot, sorted[i].slot);
                }
            }
        }
    }
}

/* Notifications are collected by kind ("a:", "e:", "p:", "o:" and an id);
 * anything else is counted but names nothing; past MATCH_REBUILD_OVER ids
 * the service rebuilds instead. */
static void change_notifications_are_collected_by_kind(void **state)
{
    (void)state;
    match_changes_t ch = {0};
    const char *payloads[] = {"a:12", "e:5", "p:3", "o:9", "a:12", "a:7", "x:1", "a:",
                              "a:12x", "a-12", "", NULL, "e:-1", "e:99999999999999999999"};
    for (size_t i = 0; i < sizeof payloads / sizeof *payloads; i++)
        match_changes_add(&ch, payloads[i]);
    assert_int_equal(ch.received, sizeof payloads / sizeof *payloads);
    assert_int_equal(ch.agents.n, 3); /* duplicates go at the fetch */
    assert_int_equal(ch.agents.v[0], 12);
    assert_int_equal(ch.agents.v[2], 7);
    assert_int_equal(ch.engagements.n, 1);
    assert_int_equal(ch.engagements.v[0], 5);
    assert_int_equal(ch.purposes.n, 1);
    assert_int_equal(ch.organisations.n, 1);
    assert_int_equal(match_changes_count(&ch), 6);
    assert_false(ch.overflow);
    for (int i = 0; i < MATCH_REBUILD_OVER; i++) {
        char payload[32];
        snprintf(payload, sizeof payload, "e:%d", i + 100);
        match_changes_add(&ch, payload);
    }
    assert_true(ch.overflow);
    assert_true(match_changes_count(&ch) <= MATCH_REBUILD_OVER);
    match_changes_clear(&ch);
    assert_int_equal(match_changes_count(&ch), 0);
    assert_int_equal(ch.received, 0);
    assert_false(ch.overflow);
    match_changes_add(&ch, "o:1");
    assert_int_equal(ch.organisations.n, 1);
    match_changes_free(&ch);
}

/* What /metrics shows: nothing before the service has built an index; the
 * index's memory grows with what it holds, and counts follow removals. */
static void memory_and_counts_are_reported(void **state)
{
    (void)state;
    match_stats_t st;
    match_service_stats(&st);
    assert_false(st.ready);
    assert_int_equal(st.bytes, 0);
    assert_int_equal(st.agents, 0);
    assert_int_equal(st.builds, 0);
    assert_int_equal(st.notifications, 0);

    match_index_t *ix = match_index_new();
    assert_non_null(ix);
    size_t empty = match_index_memory(ix);
    assert_true(empty > 0);
    assert_int_equal(match_index_put_purpose(ix, 1, "Clean water"), 0);
    for (int id = 1; id <= 2000; id++) {
        match_agent_row_t row = {.id = id, .discoverable = true, .capacity_hours = 10,
                                 .packagings = "volunteer", .purposes = "1:40",
                                 .skills = "{rust}", .follows = "3"};
        assert_int_equal(match_index_put_agent(ix, &row), 0);
    }
    assert_int_equal(match_index_agent_count(ix), 2000);
    assert_int_equal(match_index_engagement_count(ix), 0);
    /* a record, a posting and three list entries per agent at least */
    assert_true(match_index_memory(ix) >= empty + 2000 * (32 + 4 + 3 * 4));
    /* the agents' part holds them; the engagements' is empty; neither is
     * more than the whole */
    size_t pa, pe;
    match_index_memory_parts(ix, &pa, &pe);
    assert_true(pa >= 2000 * (32 + 4 + 3 * 4));
    assert_true(pa + pe <= match_index_memory(ix));
    for (int id = 1; id <= 2000; id += 2) match_index_remove_agent(ix, id);
    assert_int_equal(match_index_agent_count(ix), 1000);
    match_index_free(ix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_reason_has_its_points_and_sentence),
        cmocka_unit_test(partial_and_missing_factors),
        cmocka_unit_test(distance_between_places_is_the_location_factor),
        cmocka_unit_test(no_purpose_in_common_is_no_match),
        cmocka_unit_test(purpose_is_the_strongest_factor_and_energy_weighs),
        cmocka_unit_test(weights_come_from_the_configuration),
        cmocka_unit_test(points_always_add_up_to_the_score),
        cmocka_unit_test(ties_are_broken_newest_first_then_id),
        cmocka_unit_test(packagings_parse),
        cmocka_unit_test(skills_parse_as_postgresql_writes_them),
        cmocka_unit_test(index_ranks_engagements_with_ties_newest_first),
        cmocka_unit_test(index_ranks_discoverable_agents_by_id_on_ties),
        cmocka_unit_test(updates_and_compaction_keep_answers),
        cmocka_unit_test(top_k_is_the_head_of_the_full_ranking),
        cmocka_unit_test(top_k_agents_is_the_head_of_the_full_ranking),
        cmocka_unit_test(snapshot_round_trip_answers_the_same),
        cmocka_unit_test(snapshot_refuses_what_is_not_its_own),
        cmocka_unit_test(placed_pairs_score_the_same_from_either_side),
        cmocka_unit_test(memory_and_counts_are_reported),
        cmocka_unit_test(the_bounded_heap_keeps_the_k_best_in_rank_order),
        cmocka_unit_test(change_notifications_are_collected_by_kind),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
