/* engagements: purposeful work an organisation offers — post, list and search
 * (keyset pages, newest first or ranked by relevance), read, change. */
#include <ctype.h>
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "common.h"
#include "db.h"
#include "jsontext.h"
#include "rcache.h"
#include "strbuf.h"
#include "textindex.h"
#include "handlers.h"
#include "page.h"
#include "query.h"
#include "session.h"
#include "validate.h"
#include "vocab.h"

#define MAX_PURPOSES 10
#define MAX_SKILLS 30
#define MAX_NON_CASH 20
#define MAX_CASH 9999999999.0 /* numeric(12, 2) */

/* What a POST or PATCH body says; strings borrow from the body, the JSON
 * array texts are owned. */
typedef struct engagement_input {
    const char *title, *description, *location, *status;
    char *purposes, *packagings, *skills, *non_cash;
    char hours[16], duration[16];
    bool hours_given, duration_given, location_given, remote_given, remote_ok, rewards_given;
    bool place_given;
    char place[24]; /* a place id, "" for none */
    bool closes_given;
    const char *closes_on; /* YYYY-MM-DD or NULL */
    bool cash;
    char cash_min[32], cash_max[32];
    const char *currency, *period;
} engagement_input_t;

static void input_free(engagement_input_t *in)
{
    free(in->purposes);
    free(in->packagings);
    free(in->skills);
    free(in->non_cash);
}

/* Copy the field errors of sub into p, each field prefixed ("rewards.cash."). */
static void prefix_errors(problem_t *p, const problem_t *sub, const char *prefix)
{
    size_t i;
    const json_t *e;
    if (!sub->errors) return;
    json_array_foreach(sub->errors, i, e) {
        char field[128];
        snprintf(field, sizeof field, "%s%s", prefix,
                 json_string_value(json_object_get(e, "field")));
        problem_field(p, field, "%s", json_string_value(json_object_get(e, "message")));
    }
}

static char *array_text(const json_t *a) { return a ? json_dumps(a, JSON_COMPACT) : NULL; }

/* An array with at least one item when given. */
static char *read_nonempty(const json_t *body, const char *key, bool required, size_t max_items,
                           size_t max_chars, bool slugs, const char *const *values, problem_t *p)
{
    const json_t *a =
        validate_string_array(body, key, required, max_items, max_chars, slugs, values, p);
    if (a && json_array_size(a) == 0) {
        problem_field(p, key, "must have at least one item");
        return NULL;
    }
    return array_text(a);
}

/* rewards: {cash?: {min, max, currency, period} | null, non_cash?: [str]}. */
static void read_rewards(const json_t *body, engagement_input_t *in, problem_t *p)
{
    const json_t *rewards = json_object_get(body, "rewards");
    if (!rewards) return;
    in->rewards_given = true;
    if (!json_is_object(rewards)) {
        problem_field(p, "rewards", "must be an object {cash, non_cash}");
        return;
    }
    problem_t sub;
    problem_init(&sub);
    static const char *const fields[] = {"cash", "non_cash", NULL};
    validate_known_fields(rewards, fields, &sub);
    const json_t *nc =
        validate_string_array(rewards, "non_cash", false, MAX_NON_CASH, 200, false, NULL, &sub);
    in->non_cash = nc ? array_text(nc) : strdup("[]");
    prefix_errors(p, &sub, "rewards.");
    problem_clear(&sub);

    const json_t *cash = json_object_get(rewards, "cash");
    if (!cash || json_is_null(cash)) return;
    if (!json_is_object(cash)) {
        problem_field(p, "rewards.cash", "must be an object {min, max, currency, period} or null");
        return;
    }
    static const char *const cash_fields[] = {"min", "max", "currency", "period", NULL};
    validate_known_fields(cash, cash_fields, &sub);
    double min = 0, max = 0;
    bool min_ok = validate_number(cash, "min", true, 0, MAX_CASH, &min, &sub);
    bool max_ok = validate_number(cash, "max", true, 0, MAX_CASH, &max, &sub);
    if (min_ok && max_ok && max < min) problem_field(&sub, "max", "must not be less than the lowest amount");
    const char *currency = validate_string(cash, "currency", true, 3, 3, &sub);
    if (currency && !(currency[0] >= 'A' && currency[0] <= 'Z' && currency[1] >= 'A' &&
                      currency[1] <= 'Z' && currency[2] >= 'A' && currency[2] <= 'Z')) {
        problem_field(&sub, "currency", "must be an ISO 4217 code such as EUR");
        currency = NULL;
    }
    in->period = validate_enum(cash, "period", true, vocab_cash_periods, &sub);
    in->currency = currency;
    snprintf(in->cash_min, sizeof in->cash_min, "%.2f", min);
    snprintf(in->cash_max, sizeof in->cash_max, "%.2f", max);
    in->cash = true;
    prefix_errors(p, &sub, "rewards.cash.");
    problem_clear(&sub);
}

/* Read the engagement fields; on POST (create) the required ones must be
 * there. Negative with p filled when the database fails (checking a place). */
static int read_engagement(const json_t *body, bool create, engagement_input_t *in, problem_t *p)
{
    static const char *const create_fields[] = {
        "title", "description", "purposes", "packagings", "hours_per_week", "duration_weeks",
        "skills", "location", "place", "remote_ok", "rewards", "closes_on", NULL};
    static const char *const update_fields[] = {
        "title", "description", "purposes", "packagings", "hours_per_week", "duration_weeks",
        "skills", "location", "place", "remote_ok", "rewards", "closes_on", "status", NULL};
    validate_known_fields(body, create ? create_fields : update_fields, p);
    in->title = validate_string(body, "title", create, 1, 200, p);
    in->description = validate_string(body, "description", create, 1, 10000, p);
    in->purposes = read_nonempty(body, "purposes", create, MAX_PURPOSES, 64, true, NULL, p);
    in->packagings = read_nonempty(body, "packagings", create, 5, 20, false, vocab_packagings, p);
    long long n;
    if (validate_int(body, "hours_per_week", create, 1, 80, &n, p)) {
        in->hours_given = true;
        snprintf(in->hours, sizeof in->hours, "%lld", n);
    }
    const json_t *d = json_object_get(body, "duration_weeks");
    in->duration_given = d != NULL;
    if (d && !json_is_null(d) && validate_int(body, "duration_weeks", false, 1, 520, &n, p))
        snprintf(in->duration, sizeof in->duration, "%lld", n);
    in->skills = array_text(
        validate_string_array(body, "skills", false, MAX_SKILLS, 60, false, NULL, p));
    in->location = validate_string_or_null(body, "location", 200, &in->location_given, p);
    in->remote_given = validate_bool(body, "remote_ok", false, &in->remote_ok, p);
    in->closes_on = validate_string_or_null(body, "closes_on", 10, &in->closes_given, p);
    if (in->closes_on && !validate_date(in->closes_on)) {
        problem_field(p, "closes_on", "must be a date YYYY-MM-DD");
        in->closes_on = NULL;
    }
    if (places_read(body, "place", &in->place_given, in->place, p) < 0) return -1;
    read_rewards(body, in, p);
    if (!create) {
        in->status = validate_enum(body, "status", false, vocab_engagement_statuses, p);
        if (json_object_size(body) == 0)
            problem_field(p, "body", "must name at least one field to change");
    }
    return 0;
}

/* ---------- reading one ---------- */

static db_stmt_t q_engagement_get = DB_STMT("engagement_get", true,
    "SELECT d.version, d.doc FROM engagement_docs d WHERE d.engagement_id = $1::bigint");

/* The public read: public and cached (one answer for everyone), so an
 * engagement a moderator hid answers 404 here to everyone; its members see
 * it in the answers of their changes and moderators in their queue. */
static db_stmt_t q_engagement_get_public = DB_STMT("engagement_get_public", true,
    "SELECT d.version, d.doc FROM engagement_docs d"
    " WHERE d.engagement_id = $1::bigint AND NOT d.hidden");

static void reply_engagement_from(req_t *r, int status, db_stmt_t *st, const char *id)
{
    const char *params[1] = {id};
    reply_one(r, st, 1, params, status, true, "engagement");
}

static void reply_engagement(req_t *r, int status, const char *id)
{
    reply_engagement_from(r, status, &q_engagement_get, id);
}

void handle_engagement_get(req_t *r)
{
    long long id;
    char text[24];
    if (http_param_id(r, 0, &id, text, sizeof text) < 0) return;
    reply_engagement_from(r, 200, &q_engagement_get_public, text);
}

/* ---------- posting ---------- */

/* A JSON array of strings ($n::json) as text[], in order. */
#define TEXT_ARRAY(N)                                                                       \
    "ARRAY(SELECT t.v FROM json_array_elements_text(" N "::json) WITH ORDINALITY AS t(v, i)"   \
    " ORDER BY t.i)"
/* known: purposes offered for new use, or held already (HELD, about p) */
#define PURPOSES_WANTED(N, HELD)                                                            \
    "wanted AS (SELECT DISTINCT s FROM json_array_elements_text(" N "::json) AS s),"          \
    " known AS (SELECT p.id, p.slug FROM purposes p JOIN wanted w ON w.s = p.slug"           \
    "   WHERE purpose_offered(p) OR " HELD "),"                                               \
    " missing AS (SELECT coalesce(string_agg(w.s, ', ' ORDER BY w.s), '') AS slugs"          \
    "   FROM wanted w WHERE NOT EXISTS (SELECT 1 FROM known k WHERE k.slug = w.s)),"

/* One statement: the engagement and its purposes, or nothing when a purpose
 * is unknown. Columns: the new id, the unknown slugs ("" if none). */
static db_stmt_t q_engagement_insert = DB_STMT("engagement_insert", false,
    "WITH " PURPOSES_WANTED("$4", "false")
    " e AS (INSERT INTO engagements (organisation_id, title, description, packagings,"
    "     hours_per_week, duration_weeks, skills, location, remote_ok, cash_min, cash_max,"
    "     cash_currency, cash_period, non_cash, created_by, place_id, closes_on)"
    "   SELECT $1::bigint, $2, $3, " TEXT_ARRAY("$5") ", $6::int, $7::int, " TEXT_ARRAY("$8")
    "     , $9, $10::boolean, $11::numeric, $12::numeric, $13, $14, " TEXT_ARRAY("$15")
    "     , $16::bigint, $17::bigint, $18::date FROM missing WHERE missing.slugs = '' RETURNING id),"
    " ep AS (INSERT INTO engagement_purposes (engagement_id, purpose_id)"
    "   SELECT e.id, k.id FROM e, known k)"
    " SELECT (SELECT id FROM e), (SELECT slugs FROM missing)");

void handle_engagement_create(req_t *r)
{
    const authz_org_t org = r->org;
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    engagement_input_t in = {0};
    read_engagement(body, true, &in, &p);
    if (problem_has_fields(&p) && in.purposes) check_purposes(in.purposes, "purposes", &p);
    if (problem_has_fields(&p) || p.status) {
        input_free(&in);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[18] = {org.id, in.title, in.description, in.purposes, in.packagings,
                              in.hours, in.duration[0] ? in.duration : NULL,
                              in.skills ? in.skills : "[]", in.location,
                              db_bool(in.remote_given && in.remote_ok),
                              in.cash ? in.cash_min : NULL, in.cash ? in.cash_max : NULL,
                              in.cash ? in.currency : NULL, in.cash ? in.period : NULL,
                              in.non_cash ? in.non_cash : "[]", r->caller.account_id_text,
                              in.place[0] ? in.place : NULL, in.closes_on};
    PGresult *res = db_exec(&q_engagement_insert, 18, params, &p);
    input_free(&in);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQgetisnull(res, 0, 0)) {
        field_unknown_purposes(&p, PQgetvalue(res, 0, 1));
        PQclear(res);
        http_reply_problem(r, &p);
        return;
    }
    char id[24], location[64];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(location, sizeof location, "/api/v1/engagements/%s", id);
    http_add_header(r, "Location", location);
    reply_engagement(r, 201, id);
}

/* ---------- changing ---------- */

/* One statement: the change (optimistic on version) and the new set of
 * purposes. rewards are replaced as a whole. Columns: id when changed,
 * unknown purpose slugs ("" if none). */
static db_stmt_t q_engagement_update = DB_STMT("engagement_update", false,
    "WITH " PURPOSES_WANTED("$5", "EXISTS (SELECT 1 FROM engagement_purposes x"
    " WHERE x.engagement_id = $1::bigint AND x.purpose_id = p.id)")
    " u AS (UPDATE engagements e SET title = coalesce($3, e.title),"
    "     description = coalesce($4, e.description),"
    "     packagings = CASE WHEN $6::json IS NULL THEN e.packagings ELSE " TEXT_ARRAY("$6") " END,"
    "     hours_per_week = coalesce($7::int, e.hours_per_week),"
    "     duration_weeks = CASE WHEN $8::boolean THEN $9::int ELSE e.duration_weeks END,"
    "     skills = CASE WHEN $10::json IS NULL THEN e.skills ELSE " TEXT_ARRAY("$10") " END,"
    "     location = CASE WHEN $11::boolean THEN $12 ELSE e.location END,"
    "     remote_ok = coalesce($13::boolean, e.remote_ok),"
    "     cash_min = CASE WHEN $14::boolean THEN $15::numeric ELSE e.cash_min END,"
    "     cash_max = CASE WHEN $14::boolean THEN $16::numeric ELSE e.cash_max END,"
    "     cash_currency = CASE WHEN $14::boolean THEN $17 ELSE e.cash_currency END,"
    "     cash_period = CASE WHEN $14::boolean THEN $18 ELSE e.cash_period END,"
    "     non_cash = CASE WHEN $14::boolean THEN " TEXT_ARRAY("$19") " ELSE e.non_cash END,"
    "     status = coalesce($20, e.status),"
    "     place_id = CASE WHEN $21::boolean THEN $22::bigint ELSE e.place_id END,"
    "     closes_on = CASE WHEN $23::boolean THEN $24::date ELSE e.closes_on END,"
    "     version = e.version + 1, updated_at = now()"
    "   FROM missing WHERE e.id = $1::bigint AND e.version = $2::int AND missing.slugs = ''"
    "   RETURNING e.id),"
    " del AS (DELETE FROM engagement_purposes ep USING u WHERE ep.engagement_id = u.id"
    "   AND $5::json IS NOT NULL AND ep.purpose_id NOT IN (SELECT id FROM known)),"
    " ins AS (INSERT INTO engagement_purposes (engagement_id, purpose_id)"
    "   SELECT u.id, k.id FROM u, known k ON CONFLICT DO NOTHING)"
    " SELECT (SELECT id FROM u), (SELECT slugs FROM missing)");

void handle_engagement_update(req_t *r)
{
    const char *id_text = r->resource_id;
    const char *version = r->if_match;
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    engagement_input_t in = {0};
    read_engagement(body, false, &in, &p);
    if (problem_has_fields(&p) && in.purposes) check_purposes(in.purposes, "purposes", &p);
    if (problem_has_fields(&p) || p.status) {
        input_free(&in);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[24] = {
        id_text, version, in.title, in.description, in.purposes, in.packagings,
        in.hours_given ? in.hours : NULL, db_bool(in.duration_given),
        in.duration[0] ? in.duration : NULL, in.skills, db_bool(in.location_given),
        in.location, in.remote_given ? db_bool(in.remote_ok) : NULL,
        db_bool(in.rewards_given), in.cash ? in.cash_min : NULL,
        in.cash ? in.cash_max : NULL, in.cash ? in.currency : NULL, in.cash ? in.period : NULL,
        in.non_cash ? in.non_cash : "[]", in.status, db_bool(in.place_given),
        in.place[0] ? in.place : NULL, db_bool(in.closes_given), in.closes_on};
    PGresult *res = db_exec(&q_engagement_update, 24, params, &p);
    input_free(&in);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (patch_outcome(r, res, "engagement") < 0) return;
    reply_engagement(r, 200, id_text);
}

/* ---------- listing ----------
 * Parameters of every list statement: $1 status, $2 organisation slug,
 * $3 purpose slug, $4 skill, $5 packaging, $6 remote, $7 q, $8 $9 the
 * cursor's keys (NULL on the first page), $10 limit + 1, $11 $12 $13 near
 * (latitude, longitude, km; NULL for none). Newest first: one statement per driving
 * index (open engagements by date, one organisation's, one purpose's), so
 * a cached generic plan is still the right plan; with q, by relevance. */

#define ENG_ORG_FILTER                                                                      \
    " AND ($2::text IS NULL OR e.organisation_id ="                                         \
    "   (SELECT o.id FROM organisations o WHERE o.slug = $2::text))"
#define ENG_PURPOSE_FILTER                                                                  \
    " AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM engagement_purposes ep"                \
    "   JOIN purposes p ON p.id = ep.purpose_id"                                             \
    "   WHERE ep.engagement_id = e.id AND p.slug = $3::text))"
/* near: $11 $12 the centre, $13 the radius in km (NULL: no filter). The
 * places within it by the GiST index of places (earth_box holds every point
 * within the radius; one metre more absorbs its rounding), then the exact
 * great-circle distance: a place at exactly within_km is in. */
#define ENG_NEAR_FILTER                                                                     \
    " AND ($13::float8 IS NULL OR e.place_id IN (SELECT pl.id FROM places pl"              \
    "   WHERE earth_box(ll_to_earth($11::float8, $12::float8), $13::float8 * 1000 + 1)"     \
    "       @> pl.earth"                                      \
    "     AND place_distance_km($11::float8, $12::float8, pl.latitude, pl.longitude)"       \
    "       <= $13::float8))"
/* The same for the statements that run only with near=: without "$13 IS
 * NULL OR", so the planner turns the IN into a join that starts from the
 * few places within the radius and their engagements (engagements_place_idx);
 * behind an OR it stays a filter tested on every engagement walked newest
 * first (a town with few engagements walked most of them). */
#define ENG_NEAR_ONLY                                                                       \
    " AND e.place_id IN (SELECT pl.id FROM places pl"                                      \
    "   WHERE earth_box(ll_to_earth($11::float8, $12::float8), $13::float8 * 1000 + 1)"     \
    "       @> pl.earth"                                                                    \
    "     AND place_distance_km($11::float8, $12::float8, pl.latitude, pl.longitude)"       \
    "       <= $13::float8)"
/* A listed engagement: with near=, its distance_km from the centre. */
/* The item's text (engagement_docs) is read in the select list, so only for
 * the rows the LIMIT keeps (a join reads it for every row before a sort). */
#define ENG_ITEM                                                                            \
    "item_with_distance((SELECT d.doc FROM engagement_docs d WHERE d.engagement_id = e.id),"  \
    " $11::float8, $12::float8, e.place_id)"
#define ENG_ATTR_FILTERS                                                                    \
    " AND ($4::text IS NULL OR e.skill_keys @> ARRAY[skill_key($4::text)])"                 \
    " AND ($5::text IS NULL OR e.packagings @> ARRAY[$5::text])"                            \
    " AND ($6::boolean IS NULL OR e.remote_ok = $6::boolean)"
#define ENG_OTHER_FILTERS ENG_ATTR_FILTERS ENG_NEAR_FILTER
/* For the statements that run only without near= (the handler sends near=
 * to q_list_near): no place filter at all. "$13 IS NULL OR <places within>"
 * cost nothing to run, but its hashed subplan's start-up cost was charged
 * to the planner's estimate once per candidate row, so the generic plan of
 * one purpose's listing preferred reading all of engagement_purposes in
 * parallel and sorting (220-400 ms at scale 10) over its listing index (6
 * ms). */
#define ENG_NOT_NEAR " AND $13::float8 IS NULL"
#define ENG_AFTER(TS, ID)                                                                   \
    " (" TS ", " ID ") < (coalesce($8::timestamptz, 'infinity'),"                            \
    "   coalesce($9::bigint, 9223372036854775807))"
#define ENG_BY_DATE                                                                         \
    "SELECT cursor_time(e.created_at), e.id::text, " ENG_ITEM                              \
    " FROM engagements e"                                                                   \
    " WHERE" ENG_AFTER("e.created_at", "e.id") " AND $7::text IS NULL AND NOT e.hidden"
#define ENG_DATE_ORDER " ORDER BY e.created_at DESC, e.id DESC LIMIT $10::int"

static db_stmt_t q_list_open = DB_STMT("engagements_list_open", true,
    ENG_BY_DATE " AND e.status = 'open' AND $1::text = 'open'"
    ENG_ORG_FILTER ENG_PURPOSE_FILTER ENG_ATTR_FILTERS ENG_NOT_NEAR ENG_DATE_ORDER);
static db_stmt_t q_list_status = DB_STMT("engagements_list_status", true,
    ENG_BY_DATE " AND e.status = $1::text"
    ENG_ORG_FILTER ENG_PURPOSE_FILTER ENG_ATTR_FILTERS ENG_NOT_NEAR ENG_DATE_ORDER);
static db_stmt_t q_list_org = DB_STMT("engagements_list_org", true,
    ENG_BY_DATE " AND e.status = $1::text"
    " AND e.organisation_id = (SELECT o.id FROM organisations o WHERE o.slug = $2::text)"
    ENG_PURPOSE_FILTER ENG_ATTR_FILTERS ENG_NOT_NEAR ENG_DATE_ORDER);
/* engagement_purposes carries created_at and status (0007), so its listing
 * index gives one purpose's engagements newest first without a sort. */
static db_stmt_t q_list_purpose = DB_STMT("engagements_list_purpose", true,
    "SELECT cursor_time(e.created_at), e.id::text, " ENG_ITEM
    " FROM engagement_purposes ep JOIN engagements e ON e.id = ep.engagement_id"
    " WHERE ep.purpose_id = (SELECT p.id FROM purposes p WHERE p.slug = $3::text)"
    "   AND ep.status = $1::text AND $2::text IS NULL AND $7::text IS NULL AND NOT e.hidden"
    "   AND" ENG_AFTER("ep.created_at", "ep.engagement_id")
    ENG_ATTR_FILTERS ENG_NOT_NEAR
    " ORDER BY ep.created_at DESC, ep.engagement_id DESC LIMIT $10::int");
/* Near a place, newest first: planned per call, so that a small radius
 * starts from the places index and a large one from the newest engagements. */
static db_stmt_t q_list_near = DB_STMT_CUSTOM_PLAN("engagements_list_near", true,
    ENG_BY_DATE " AND e.status = $1::text"
    ENG_ORG_FILTER ENG_PURPOSE_FILTER ENG_ATTR_FILTERS ENG_NEAR_ONLY ENG_DATE_ORDER);
/* Nearest first (sort=distance, near= given), then id; with q, among its
 * matches. The keys are the distance in km and the id. */
static db_stmt_t q_list_by_distance = DB_STMT_CUSTOM_PLAN("engagements_list_distance", true,
    "SELECT k.d::text, k.id::text, " ENG_ITEM " FROM ("
    "  SELECT e.id, place_distance_km($11::float8, $12::float8, pl.latitude, pl.longitude) AS d"
    "  FROM engagements e JOIN places pl ON pl.id = e.place_id"
    "  WHERE e.status = $1::text AND NOT e.hidden"
    "    AND ($7::text IS NULL OR numnode(search_query($7::text)) = 0"
    "         OR e.search @@ search_query($7::text))"
    ENG_ORG_FILTER ENG_PURPOSE_FILTER ENG_ATTR_FILTERS ENG_NEAR_ONLY ") k"
    " JOIN engagements e ON e.id = k.id"
    " WHERE (k.d, k.id) > (coalesce($8::float8, '-Infinity'), coalesce($9::bigint, 0))"
    " ORDER BY k.d, k.id LIMIT $10::int");

/* By relevance (title words weigh most, then the organisation's name,
 * skills and place, then the description), then id. search_query (0014)
 * makes every word required and the last one a prefix; it is IMMUTABLE,
 * so the plan made per call holds it as a constant the planner estimates.
 * A query of stop words only ("the") is an empty tsquery: it then filters
 * nothing and the candidates are the newest engagements. */
/* Ranking every match of a common word costs a row and a ts_rank per
 * match (17 k rows for "water" at 50 k engagements), so relevance is
 * ranked among the SEARCH_CANDIDATES newest matches: bounded work, and a
 * recent engagement is what a searcher wants among thousands of matches.
 * 200, not 1,000: a common word's walk newest first stops five times
 * sooner (uncached p99 over the bench terms 65 -> 33 ms of PostgreSQL,
 * docs/search.md); a search reaches its 200 best-matching newest
 * engagements, ten pages of 20.
 * Open engagements are searched in engagement_search (0050: their
 * documents alone, a few hundred bytes a row, newest first and in a GIN
 * index); other statuses in engagements.
 * Planned per call: the walk newest first suits a common word, the GIN
 * bitmap a rare one, and the planner's estimate of one word is good. Of
 * several words it is not: it multiplies their frequencies as if they
 * were unrelated, and the words people type together occur together
 * ("river clean-ups": 231 estimated, 56,845 matches at scale 10, so the
 * bitmap read every match's row: 248 ms). A query of two words or more
 * (querytree: the words an index can use) therefore first walks the
 * SEARCH_WINDOW newest (filtered) documents; if SEARCH_CANDIDATES of them
 * match, those are the newest matches of all, and the statement for any
 * query does not run (a one-time filter on the walk's count); otherwise
 * it does (the words are rare together; the walk cost 1-3 ms).
 * Each rank is computed once (OFFSET 0 keeps the planner from copying
 * ts_rank into the cursor's filter). */
#define SEARCH_CANDIDATES "200"
#define SEARCH_WINDOW "4000"
/* Three statements of the same answer, each planned per call, so that the
 * planner has no more to plan than the request needs (planning was 0.3 of
 * a search's PostgreSQL time at scale 1; docs/search.md, "Speed"): open
 * engagements without a filter, one word (q_search_open) or several
 * (q_search_open_words, with the walk); and any status or filter
 * (q_list_search, all of it). The first two say their filters are absent
 * ($2..$6, $13 IS NULL), so they can take the same thirteen parameters. */
#define SEARCH_NO_FILTERS                                                                   \
    " AND $2::text IS NULL AND $3::text IS NULL AND $4::text IS NULL"                      \
    " AND $5::text IS NULL AND $6::boolean IS NULL AND $13::float8 IS NULL"
#define SEARCH_FILTERS ENG_ORG_FILTER ENG_PURPOSE_FILTER ENG_OTHER_FILTERS
/* Open engagements' documents; JOINED: with the engagement, for filters
 * (with none the plan made per call drops the join: nothing of e is read). */
#define SEARCH_DOCS " FROM engagement_search s WHERE $1::text = 'open'"
#define SEARCH_DOCS_JOINED                                                                  \
    " FROM engagement_search s LEFT JOIN engagements e"                                     \
    "   ON e.organisation_id = s.organisation_id AND e.id = s.engagement_id"               \
    " WHERE $1::text = 'open'"
#define SEARCH_MATCH(DOC)                                                                   \
    " AND (numnode(search_query($7::text)) = 0 OR " DOC ".search @@ search_query($7::text))"
/* The newest SEARCH_CANDIDATES matches among open documents. */
#define SEARCH_NEWEST(DOCS, FILTERS)                                                        \
    "SELECT s.engagement_id AS id, s.search" DOCS SEARCH_MATCH("s") FILTERS                 \
    " ORDER BY s.created_at DESC, s.engagement_id DESC LIMIT " SEARCH_CANDIDATES
/* The same, several words: the walk of the SEARCH_WINDOW newest first,
 * then, if it found fewer than SEARCH_CANDIDATES, the statement above. */
#define SEARCH_WALKED(DOCS, FILTERS)                                                        \
    "WITH walk AS MATERIALIZED ("                                                           \
    "  SELECT w.id, w.search FROM ("                                                        \
    "    SELECT s.engagement_id AS id, s.search, s.created_at" DOCS                         \
    "      AND numnode(querytree(search_query($7::text))::tsquery) > 1" FILTERS             \
    "    ORDER BY s.created_at DESC, s.engagement_id DESC LIMIT " SEARCH_WINDOW ") w"       \
    "  WHERE w.search @@ search_query($7::text)"                                            \
    "  ORDER BY w.created_at DESC, w.id DESC LIMIT " SEARCH_CANDIDATES ")"                 \
    " SELECT id, search FROM walk WHERE (SELECT count(*) FROM walk) = " SEARCH_CANDIDATES  \
    " UNION ALL"                                                                            \
    " SELECT * FROM (" SEARCH_NEWEST(DOCS, FILTERS) ") o"                                   \
    " WHERE (SELECT count(*) FROM walk) < " SEARCH_CANDIDATES
/* Other statuses, from engagements. */
#define SEARCH_OTHER_STATUS                                                                 \
    "SELECT * FROM (SELECT e.id, e.search FROM engagements e"                               \
    "  WHERE $1::text <> 'open' AND e.status = $1::text AND NOT e.hidden"                   \
    SEARCH_MATCH("e") SEARCH_FILTERS                                                        \
    "  ORDER BY e.created_at DESC, e.id DESC LIMIT " SEARCH_CANDIDATES ") x"
/* The page's order and keys only: each engagement's rank, id and, with
 * near=, its distance_km from the centre (as item_with_distance
 * writes it). The JSON is not read here: the answer cache holds most of
 * the items (search_page), and engagement_json inlined into a statement
 * planned per call was planned again on every search (docs/search.md,
 * "Speed"). */
#define SEARCH_RANKED(DISTANCE, CANDIDATES)                                                 \
    "SELECT k.rank::text, k.id::text, " DISTANCE " FROM ("                                  \
    "  SELECT r.id, r.rank FROM ("                                                          \
    "    SELECT c.id, ts_rank(c.search, search_query($7::text)) AS rank"                    \
    "    FROM (" CANDIDATES ") c OFFSET 0) r"                                               \
    "  WHERE (r.rank, r.id)"                                                                \
    "      < (coalesce($8::real, 'Infinity'), coalesce($9::bigint, 9223372036854775807))"  \
    "  ORDER BY 2 DESC, 1 DESC LIMIT $10::int) k"                                           \
    " ORDER BY k.rank DESC, k.id DESC"
#define SEARCH_DISTANCE                                                                     \
    "CASE WHEN $11::float8 IS NULL OR $12::float8 IS NULL"                                  \
    "   THEN NULL ELSE (SELECT round(place_distance_km($11::float8, $12::float8,"           \
    "       pl.latitude, pl.longitude)::numeric, 1)::text"                                  \
    "     FROM engagements e JOIN places pl ON pl.id = e.place_id WHERE e.id = k.id) END"
/* Without near= (the unfiltered statements): NULL, and $11 and $12 typed. */
#define SEARCH_NO_DISTANCE "($11::float8 + $12::float8)::text"
static db_stmt_t q_search_open = DB_STMT_CUSTOM_PLAN("engagements_search_open", true,
    SEARCH_RANKED(SEARCH_NO_DISTANCE, SEARCH_NEWEST(SEARCH_DOCS, SEARCH_NO_FILTERS)));
static db_stmt_t q_search_open_words = DB_STMT_CUSTOM_PLAN("engagements_search_open_words", true,
    SEARCH_RANKED(SEARCH_NO_DISTANCE, SEARCH_WALKED(SEARCH_DOCS, SEARCH_NO_FILTERS)));
static db_stmt_t q_list_search = DB_STMT_CUSTOM_PLAN("engagements_search", true,
    SEARCH_RANKED(SEARCH_DISTANCE,
                  SEARCH_WALKED(SEARCH_DOCS_JOINED, SEARCH_FILTERS) " UNION ALL " SEARCH_OTHER_STATUS));

/* Does q have two words or more (letters or digits, split by anything
 * else; a byte of a multi-byte character counts as a letter)? Chooses the
 * statement with the walk; the answer is the same either way. */
static bool search_several_words(const char *q)
{
    int words = 0;
    bool in = false;
    for (const unsigned char *c = (const unsigned char *)q; *c; c++) {
        bool letter = isalnum(*c) || *c >= 0x80;
        if (letter && !in && ++words > 1) return true;
        in = letter;
    }
    return false;
}

/* An unfiltered search of open engagements from the words' index in the
 * daemon (lib/textindex.h), which answers what q_search_open and
 * q_search_open_words answer without their PostgreSQL time: the query's
 * words come from PostgreSQL (search_query, as the statements use it), the
 * matches and ranks from memory. Rows (rank, id, NULL) as those statements
 * give them, or NULL when the index cannot answer (not built or following,
 * this daemon's last write not read back yet, a query it does not take):
 * the statement then runs as before. */
static db_stmt_t q_search_words = DB_STMT("engagements_search_words", true,
    "SELECT encode(tsquerysend(search_query($1::text)), 'hex')");

static PGresult *search_from_index(const char *q, const page_t *pg)
{
    if (!textindex_service_ready()) return NULL; /* off, or not built yet */
    textindex_hit_t after, hits[PAGE_LIMIT_MAX + 1];
    bool has_after = page_key(pg, 0) != NULL;
    if (has_after) {
        char *end;
        errno = 0;
        after.rank = strtof(page_key(pg, 0), &end);
        if (errno || end == page_key(pg, 0) || *end) return NULL;
        long long id = strtoll(page_key(pg, 1), &end, 10);
        if (errno || end == page_key(pg, 1) || *end) return NULL;
        after.id = id;
    }
    problem_t p;
    problem_init(&p);
    const char *params[1] = {q};
    PGresult *words = db_exec(&q_search_words, 1, params, &p);
    problem_clear(&p);
    if (!words) return NULL;
    const char *hex = PQntuples(words) == 1 ? PQgetvalue(words, 0, 0) : "";
    size_t hlen = strlen(hex), blen = 0;
    uint8_t *bytes = malloc(hlen / 2 + 1);
    bool ok = bytes && sodium_hex2bin(bytes, hlen / 2 + 1, hex, hlen, NULL, &blen, NULL) == 0 &&
              blen * 2 == hlen;
    PQclear(words);
    size_t n = 0;
    int limit = pg->limit + 1;
    ok = ok && textindex_service_search(bytes, blen, has_after ? &after : NULL, (size_t)limit,
                                        hits, &n) == TEXTINDEX_OK;
    free(bytes);
    if (!ok) return NULL;
    PGresult *out = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    static char k_rank[] = "rank", k_id[] = "id", k_distance[] = "distance_km";
    PGresAttDesc attrs[3] = {{.name = k_rank, .typid = 25, .typlen = -1, .atttypmod = -1},
                             {.name = k_id, .typid = 25, .typlen = -1, .atttypmod = -1},
                             {.name = k_distance, .typid = 25, .typlen = -1, .atttypmod = -1}};
    ok = out && PQsetResultAttrs(out, 3, attrs);
    for (size_t i = 0; ok && i < n; i++) {
        char rank[TEXTINDEX_RANK_TEXT], id[24];
        textindex_rank_text(hits[i].rank, rank);
        int idlen = snprintf(id, sizeof id, "%lld", (long long)hits[i].id);
        ok = PQsetvalue(out, (int)i, 0, rank, (int)strlen(rank)) &&
             PQsetvalue(out, (int)i, 1, id, idlen) && PQsetvalue(out, (int)i, 2, NULL, -1);
    }
    if (ok) return out;
    if (out) PQclear(out);
    return NULL;
}

/* Engagements as GET /api/v1/engagements/{id} answers them (the public
 * read: hidden ones are not), by id: $1 the ids as a bigint[]. Prepared
 * with a generic plan like the read of one. */
static db_stmt_t q_engagements_json = DB_STMT("engagements_json", true,
    "SELECT d.engagement_id::text, d.version, d.doc FROM engagement_docs d"
    " WHERE d.engagement_id = ANY($1::bigint[]) AND NOT d.hidden");

/* A search's rows (rank, id, distance) as page rows (rank, id, item): each
 * item is the engagement's cached answer (lib/rcache.h, the key of GET
 * /api/v1/engagements/{id}) or, for those not cached, read in one statement
 * and stored there under a ticket taken before reading, with the ETag GET
 * gives. The item is the same text either way (GET's body is the compacted
 * engagement_docs text); with near= its distance_km is added before the closing
 * brace, as item_with_distance does in SQL. An engagement hidden or
 * gone since the search has a NULL item, which the page leaves out. NULL
 * with p filled when the read fails. */
static PGresult *search_page_rows(PGresult *res, problem_t *p)
{
    int rows = PQntuples(res);
    size_t n = rows > 0 ? (size_t)rows : 1;
    char **bodies = calloc(n, sizeof *bodies);
    size_t *lens = calloc(n, sizeof *lens);
    rcache_ticket_t *tickets = calloc(n, sizeof *tickets);
    bool *ticketed = calloc(n, sizeof *ticketed);
    PGresult *out = PQmakeEmptyPGresult(NULL, PGRES_TUPLES_OK);
    strbuf_t ids;
    strbuf_init(&ids, 16 * n);
    bool ok = bodies && lens && tickets && ticketed && out;
    char key[RCACHE_KEY_MAX], meta[RCACHE_META_MAX];
    int misses = 0;
    for (int i = 0; ok && i < rows; i++) {
        size_t klen = rcache_item_key(PQgetvalue(res, i, 1), key, sizeof key), mlen = 0;
        if (klen && rcache_get(key, klen, &bodies[i], &lens[i], meta, &mlen)) continue;
        if (klen) ticketed[i] = rcache_ticket(key, klen, RCACHE_ITEM, &tickets[i]);
        strbuf_addch(&ids, misses++ ? ',' : '{');
        strbuf_addstr(&ids, PQgetvalue(res, i, 1));
    }
    strbuf_addch(&ids, '}');
    ok = ok && !ids.failed;
    if (ok && misses) {
        const char *params[1] = {strbuf_str(&ids)};
        PGresult *js = db_exec(&q_engagements_json, 1, params, p);
        ok = js != NULL;
        for (int j = 0; ok && j < PQntuples(js); j++) {
            const char *id = PQgetvalue(js, j, 0);
            int i = 0;
            while (i < rows && (bodies[i] || strcmp(PQgetvalue(res, i, 1), id) != 0)) i++;
            if (i == rows) continue;
            size_t len = (size_t)PQgetlength(js, j, 2);
            if (!(bodies[i] = malloc(len + 1))) {
                ok = false;
                break;
            }
            lens[i] = jsontext_compact(bodies[i], PQgetvalue(js, j, 2), len);
            size_t klen = ticketed[i] ? rcache_item_key(id, key, sizeof key) : 0;
            int mlen = snprintf(meta, sizeof meta, "ETag%c\"%s\"", 0, PQgetvalue(js, j, 1));
            if (klen && mlen > 0 && (size_t)mlen < sizeof meta)
                rcache_put(&tickets[i], key, klen, meta, (size_t)mlen + 1, bodies[i], lens[i]);
        }
        if (js) PQclear(js);
    }
    static char k_rank[] = "rank", k_id[] = "id", k_item[] = "item"; /* text columns */
    PGresAttDesc attrs[3] = {{.name = k_rank, .typid = 25, .typlen = -1, .atttypmod = -1},
                             {.name = k_id, .typid = 25, .typlen = -1, .atttypmod = -1},
                             {.name = k_item, .typid = 25, .typlen = -1, .atttypmod = -1}};
    ok = ok && PQsetResultAttrs(out, 3, attrs);
    for (int i = 0; ok && i < rows; i++) {
        ok = PQsetvalue(out, i, 0, PQgetvalue(res, i, 0), PQgetlength(res, i, 0)) &&
             PQsetvalue(out, i, 1, PQgetvalue(res, i, 1), PQgetlength(res, i, 1));
        if (!ok || !bodies[i]) {
            ok = ok && PQsetvalue(out, i, 2, NULL, -1);
            continue;
        }
        if (!PQgetisnull(res, i, 2) && lens[i] >= 2 && bodies[i][lens[i] - 1] == '}') {
            strbuf_t item;
            strbuf_init(&item, lens[i] + 32);
            strbuf_add(&item, bodies[i], lens[i] - 1);
            strbuf_addf(&item, ",\"distance_km\":%s}", PQgetvalue(res, i, 2));
            size_t len = 0;
            char *text = strbuf_detach(&item, &len);
            ok = text && PQsetvalue(out, i, 2, text, (int)len);
            free(text);
        } else {
            ok = PQsetvalue(out, i, 2, bodies[i], (int)lens[i]);
        }
    }
    for (int i = 0; bodies && i < rows; i++) free(bodies[i]);
    free(bodies);
    free(lens);
    free(tickets);
    free(ticketed);
    strbuf_release(&ids);
    if (ok) return out;
    if (out) PQclear(out);
    if (!p->status) problem_fail(p, PROBLEM_INTERNAL, NULL); /* else db_exec's */
    return NULL;
}

/* "Did you mean": when a search finds nothing, each word that is not a known
 * term (search_terms: words of titles, organisation names, skills, places)
 * is replaced by the most similar one by trigrams (pg_trgm's similarity
 * threshold, 0.3), and the result is offered only when it finds engagements
 * of the same status. $1 q, $2 status. One row: the suggestion as a JSON
 * string, or none. */
static db_stmt_t q_search_suggest = DB_STMT("engagements_search_suggest", true,
    "WITH t AS (SELECT lower(p.token) AS low, row_number() OVER () AS n"
    "   FROM ts_parse('default', $1::text) AS p WHERE p.tokid IN (1, 2, 3, 9, 10, 11, 20, 21, 22)),"
    " s AS (SELECT t.n, t.low, coalesce("
    "     CASE WHEN char_length(t.low) < 3"
    "          OR EXISTS (SELECT 1 FROM search_terms st WHERE st.term = t.low) THEN t.low END,"
    "     (SELECT st.term FROM search_terms st WHERE st.term % t.low"
    "       ORDER BY similarity(st.term, t.low) DESC, st.term LIMIT 1),"
    "     t.low) AS word FROM t),"
    " sug AS (SELECT string_agg(s.word, ' ' ORDER BY s.n) AS text,"
    "     bool_or(s.word <> s.low) AS changed FROM s)"
    " SELECT to_json(sug.text)::text FROM sug WHERE sug.changed"
    "   AND EXISTS (SELECT 1 FROM engagements e"
    "     WHERE e.search @@ search_query(sug.text) AND e.status = $2::text AND NOT e.hidden)");

/* The envelope's extra member for a search that found nothing: 
 * "did_you_mean":"…" when a suggestion finds something, else NULL. */
static char *search_suggestion(const char *q, const char *status)
{
    const char *params[2] = {q, status};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_search_suggest, 2, params, &p);
    problem_clear(&p);
    char *extra = NULL;
    if (res && PQntuples(res) == 1 && !PQgetisnull(res, 0, 0)) {
        size_t n = strlen(PQgetvalue(res, 0, 0)) + 32;
        extra = malloc(n);
        if (extra) snprintf(extra, n, "\"did_you_mean\":%s", PQgetvalue(res, 0, 0));
    }
    if (res) PQclear(res);
    return extra;
}

void handle_engagements_list(req_t *r)
{
    /* nearest first with sort=distance, else by relevance with q, else
     * newest first: each order has its cursors */
    const char *q_given = http_query(r, "q");
    const char *sort = http_query(r, "sort");
    bool by_distance = sort && strcmp(sort, "distance") == 0;
    bool ranked = !by_distance && q_given && q_given[0];
    page_t pg;
    if (page_read(r, &pg,
                  by_distance ? "engagements-near" : ranked ? "engagements-rank" : "engagements",
                  by_distance || ranked ? CURSOR_KEY_RANK CURSOR_KEY_ID
                                        : CURSOR_KEY_TIME CURSOR_KEY_ID) < 0)
        return;
    problem_t p;
    problem_init(&p);
    if (sort && sort[0] && !by_distance) problem_field(&p, "sort", "must be distance");
    const char *status = http_query(r, "status");
    if (status && !status[0]) status = NULL;
    if (status) status = validate_enum_text(status, "status", vocab_engagement_statuses, &p);
    const char *organisation = purposes_query_slug(r, "organisation", &p);
    const char *purpose = purposes_query_slug(r, "purpose", &p);
    const char *skill = purposes_query_text(r, "skill", 60, &p);
    const char *packaging = http_query(r, "packaging");
    if (packaging && !packaging[0]) packaging = NULL;
    if (packaging) packaging = validate_enum_text(packaging, "packaging", vocab_packagings, &p);
    const char *remote = http_query(r, "remote");
    bool remote_ok = false;
    if (remote && !remote[0]) remote = NULL;
    if (remote && query_bool(remote, false, &remote_ok) != 0) {
        problem_field(&p, "remote", "must be true or false");
        remote = NULL;
    }
    if (remote) remote = db_bool(remote_ok);
    const char *q = purposes_query_text(r, "q", 200, &p);
    places_near_t near;
    if (places_query_near(r, &near, &p) < 0) {
        http_reply_problem(r, &p);
        return;
    }
    if (by_distance && !near.given && !problem_has_fields(&p))
        problem_field(&p, "sort", "sort=distance needs near=");
    if (problem_has_fields(&p)) {
        purposes_bad_query(r, &p);
        return;
    }
    if (!status) status = "open";
    bool filtered = organisation || purpose || skill || packaging || remote || near.given;
    db_stmt_t *st = by_distance              ? &q_list_by_distance
                  : q && !filtered && strcmp(status, "open") == 0
                      ? (search_several_words(q) ? &q_search_open_words : &q_search_open)
                  : q                        ? &q_list_search
                  : near.given               ? &q_list_near
                  : organisation             ? &q_list_org
                  : purpose                  ? &q_list_purpose
                  : strcmp(status, "open") == 0 ? &q_list_open
                                             : &q_list_status;
    const char *params[13] = {status, organisation, purpose, skill, packaging,
                              remote, q, page_key(&pg, 0), page_key(&pg, 1), pg.fetch,
                              near.given ? near.latitude : NULL,
                              near.given ? near.longitude : NULL, near.given ? near.km : NULL};
    PGresult *res = st == &q_search_open || st == &q_search_open_words ? search_from_index(q, &pg)
                                                                        : NULL;
    if (!res) res = db_exec(st, 13, params, &p);
    if (res && (st == &q_list_search || st == &q_search_open || st == &q_search_open_words)) {
        PGresult *rows = search_page_rows(res, &p);
        PQclear(res);
        res = rows;
    }
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    /* nothing found on a first page: perhaps a typo */
    char *extra = q && !page_key(&pg, 0) && PQntuples(res) == 0 ? search_suggestion(q, status)
                                                                 : NULL;
    page_reply(r, &pg, res, extra);
    free(extra);
}
