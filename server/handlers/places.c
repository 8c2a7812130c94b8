/* places: the gazetteer (migration 0025: the world's cities of 15,000 people
 * or more, from GeoNames) — lookup as people type, one place by id — and
 * what the other resources share about places: the "place" field of a body
 * and the near= / within_km= filter of the lists. Distances are
 * place_distance_km (earthdistance, migration 0025). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "validate.h"

/* $1 the prefix as typed (compared without accents and case), $2 $3 the
 * cursor's keys (population, id), $4 limit + 1. Most populous first: the
 * Berlin people mean is the big one. Planned per call, so the pattern is a
 * constant the key's index seeks on. */
static db_stmt_t q_places_list = DB_STMT_CUSTOM_PLAN("places_list", true,
    "SELECT p.population::text, p.id::text, j::text FROM places p"
    " CROSS JOIN LATERAL place_json(p) j"
    " WHERE ($1::text IS NULL OR p.key COLLATE \"C\" LIKE"
    "     replace(replace(replace(search_unaccent(lower(btrim($1::text))), '\\', '\\\\'),"
    "       '%', '\\%'), '_', '\\_') || '%')"
    "   AND (p.population, p.id) < (coalesce($2::bigint, 9223372036854775807),"
    "       coalesce($3::bigint, 9223372036854775807))"
    " ORDER BY p.population DESC, p.id DESC LIMIT $4::int");

void handle_places_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "places", CURSOR_KEY_ID CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    /* ?prefix= as for skills; ?q= is the same, for a search box */
    const char *prefix = purposes_query_text(r, "prefix", 200, &p);
    const char *q = purposes_query_text(r, "q", 200, &p);
    if (prefix && q) problem_field(&p, "q", "give prefix or q, not both");
    if (problem_has_fields(&p)) {
        purposes_bad_query(r, &p);
        return;
    }
    const char *params[4] = {prefix ? prefix : q, page_key(&pg, 0), page_key(&pg, 1), pg.fetch};
    PGresult *res = db_exec(&q_places_list, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

static db_stmt_t q_place_get = DB_STMT("place_get", true,
    "SELECT j::text FROM places p CROSS JOIN LATERAL place_json(p) j WHERE p.id = $1::bigint");

void handle_place_get(req_t *r)
{
    long long id;
    char text[24];
    if (http_param_id(r, 0, &id, text, sizeof text) < 0) return;
    const char *params[1] = {text};
    reply_one(r, &q_place_get, 1, params, 200, false, "place");
}

/* ---------- shared with the other resources ---------- */

static db_stmt_t q_place_coordinates = DB_STMT("place_coordinates", true,
    "SELECT latitude::text, longitude::text FROM places WHERE id = $1::bigint");

/* The coordinates of place id into near; 0, 1 when there is no such place,
 * negative with p filled when the database fails. */
static int place_coordinates(const char *id, places_near_t *near, problem_t *p)
{
    const char *params[1] = {id};
    PGresult *res = db_exec(&q_place_coordinates, 1, params, p);
    if (!res) return problem_rc(p);
    int found = PQntuples(res) == 1;
    if (found) {
        snprintf(near->latitude, sizeof near->latitude, "%s", PQgetvalue(res, 0, 0));
        snprintf(near->longitude, sizeof near->longitude, "%s", PQgetvalue(res, 0, 1));
    }
    PQclear(res);
    return found ? 0 : 1;
}

int places_read(const json_t *body, const char *key, bool *given, char out[24], problem_t *p)
{
    out[0] = '\0';
    const json_t *v = json_object_get(body, key);
    *given = v != NULL;
    if (!v || json_is_null(v)) return 0;
    long long id = 0;
    if (!validate_int(body, key, false, 1, 9007199254740991LL, &id, p)) {
        *given = false;
        return 0;
    }
    snprintf(out, 24, "%lld", id);
    places_near_t unused;
    int rc = place_coordinates(out, &unused, p);
    if (rc < 0) return rc;
    if (rc == 1) {
        problem_field(p, key, "is not a place of GET /api/v1/places");
        out[0] = '\0';
        *given = false;
    }
    return 0;
}

/* A decimal number in [lo, hi] written as text; false otherwise. */
static bool number_text(const char *s, double lo, double hi, double *out)
{
    if (!s || !*s || strspn(s, "0123456789.-+eE") != strlen(s)) return false;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v) || v < lo || v > hi) return false;
    *out = v;
    return true;
}

/* A coordinate as the document states it: -?digits(.digits)?, nothing else
 * (no exponent, sign +, or bare point), so the document's pattern and this
 * parser refuse the same texts. */
static bool plain_decimal(const char *s)
{
    if (*s == '-') s++;
    size_t whole = strspn(s, "0123456789");
    if (!whole) return false;
    s += whole;
    if (*s == '.') {
        size_t frac = strspn(s + 1, "0123456789");
        if (!frac) return false;
        s += 1 + frac;
    }
    return *s == '\0';
}

int places_query_near(req_t *r, places_near_t *near, problem_t *p)
{
    const char *at = purposes_query_text(r, "near", 64, p);
    const char *km = purposes_query_text(r, "within_km", 32, p);
    return places_near_parse(at, km, near, p);
}

int places_near_parse(const char *at, const char *km, places_near_t *near, problem_t *p)
{
    memset(near, 0, sizeof *near);
    double value;
    if (km && !(number_text(km, 0, PLACES_MAX_KM, &value) && value > 0)) {
        problem_field(p, "within_km", "must be a number of kilometres above 0, at most %d",
                      PLACES_MAX_KM);
        km = NULL;
    }
    if (km && !at) problem_field(p, "within_km", "needs near=");
    if (!at) return 0;
    snprintf(near->text, sizeof near->text, "%s", at);
    snprintf(near->km, sizeof near->km, "%s", km ? km : PLACES_DEFAULT_KM);
    const char *comma = strchr(at, ',');
    if (comma) { /* lat,lon */
        char lat[32];
        size_t n = (size_t)(comma - at);
        double la, lo;
        if (n < sizeof lat) {
            memcpy(lat, at, n);
            lat[n] = '\0';
        }
        if (n >= sizeof lat || !plain_decimal(lat) || !plain_decimal(comma + 1) ||
            !number_text(lat, -90, 90, &la) || !number_text(comma + 1, -180, 180, &lo)) {
            problem_field(p, "near", "must be a place id or latitude,longitude in degrees");
            return 0;
        }
        snprintf(near->latitude, sizeof near->latitude, "%.17g", la);
        snprintf(near->longitude, sizeof near->longitude, "%.17g", lo);
        near->given = true;
        return 0;
    }
    if (strspn(at, "0123456789") != strlen(at) || strlen(at) > 18) {
        problem_field(p, "near", "must be a place id or latitude,longitude in degrees");
        return 0;
    }
    int rc = place_coordinates(at, near, p);
    if (rc < 0) return rc;
    if (rc == 1) problem_field(p, "near", "is not a place of GET /api/v1/places");
    else near->given = true;
    return 0;
}
