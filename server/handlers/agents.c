/* agents: a purpose agent's profile (PUT/GET /me/agent), the energy split
 * over purposes (PUT /me/agent/purposes) and the public directory
 * (GET /agents, GET /agents/{handle}). Emails are never part of an agent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "session.h"
#include "validate.h"
#include "vocab.h"

#define AGENT_MAX_PURPOSES 100

/* The agent JSON is agent_own_json for the agent itself
 * (migrations/R__representations.sql, of g (agents) and a (its account)),
 * and for anyone else agent_public_json as agent_docs keeps it as text
 * (migration 0055). */

/* ---------- PUT /api/v1/me/agent ----------
 * The profile is replaced as a whole, except the privacy flags
 * (discoverable, show_track_record, show_follows): a flag that is not sent
 * never makes the agent more visible. Left out, it keeps its stored value,
 * and a new agent starts private ($10-$12 NULL = not sent). */

static db_stmt_t q_agent_put = DB_STMT("agent_put", false,
    "WITH g AS ("
    " INSERT INTO agents (account_id, handle, headline, personal_purpose, skills,"
    "   capacity_hours_per_week, packagings, location, remote_ok, discoverable,"
    "   show_track_record, show_follows, place_id)"
    " VALUES ($1::bigint, $2, $3, $4, ARRAY(SELECT json_array_elements_text($5::json)),"
    "   $6::int, ARRAY(SELECT json_array_elements_text($7::json)), $8, $9::bool,"
    "   coalesce($10::bool, false), coalesce($11::bool, false), coalesce($12::bool, false),"
    "   $14::bigint)"
    " ON CONFLICT (account_id) DO UPDATE SET handle = EXCLUDED.handle,"
    "   headline = EXCLUDED.headline, personal_purpose = EXCLUDED.personal_purpose,"
    "   skills = EXCLUDED.skills, capacity_hours_per_week = EXCLUDED.capacity_hours_per_week,"
    "   packagings = EXCLUDED.packagings, location = EXCLUDED.location,"
    "   remote_ok = EXCLUDED.remote_ok, place_id = EXCLUDED.place_id,"
    "   discoverable = coalesce($10::bool, agents.discoverable),"
    "   show_track_record = coalesce($11::bool, agents.show_track_record),"
    "   show_follows = coalesce($12::bool, agents.show_follows),"
    "   updated_at = now(), version = agents.version + 1"
    " WHERE $13::int IS NULL OR agents.version = $13::int"
    " RETURNING agents AS g)"
    "SELECT (g.g).version, j::text FROM g JOIN accounts a ON a.id = (g.g).account_id"
    " CROSS JOIN LATERAL agent_own_json(g.g, a) j");

void handle_agent_put(req_t *r)
{
    const char *version = r->if_match[0] ? r->if_match : NULL;
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"handle", "headline", "personal_purpose", "skills",
        "capacity_hours_per_week", "packagings", "location", "place", "remote_ok", "discoverable",
        "show_track_record", "show_follows", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *handle = validate_string(body, "handle", true, 1, 64, &p);
    if (handle && !validate_slug(handle)) {
        problem_field(&p, "handle", "must be 1 to 64 lowercase letters, digits and inner hyphens");
        handle = NULL;
    }
    const char *headline = validate_string(body, "headline", false, 0, 200, &p);
    const char *personal = validate_string(body, "personal_purpose", false, 0, 2000, &p);
    const json_t *skills = validate_string_array(body, "skills", false, 50, 100, false, NULL, &p);
    long long capacity = 0;
    validate_int(body, "capacity_hours_per_week", false, 0, 80, &capacity, &p);
    const json_t *packagings = validate_string_array(body, "packagings", false, 5, 20, false,
                                                     vocab_packagings, &p);
    const char *location = validate_string_or_null(body, "location", 200, NULL, &p);
    bool remote_ok = true, discoverable = false, show_track_record = false, show_follows = false;
    validate_bool(body, "remote_ok", false, &remote_ok, &p);
    bool discoverable_sent = validate_bool(body, "discoverable", false, &discoverable, &p);
    bool track_record_sent = validate_bool(body, "show_track_record", false, &show_track_record, &p);
    bool follows_sent = validate_bool(body, "show_follows", false, &show_follows, &p);
    bool place_given;
    char place[24];
    if (places_read(body, "place", &place_given, place, &p) < 0 || problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char *skills_json = skills ? json_dumps(skills, JSON_COMPACT) : strdup("[]");
    char *packagings_json = packagings ? json_dumps(packagings, JSON_COMPACT) : strdup("[]");
    char capacity_text[16];
    snprintf(capacity_text, sizeof capacity_text, "%lld", capacity);
    const char *params[14] = {r->caller.account_id_text, handle, headline ? headline : "",
        personal ? personal : "", skills_json, capacity_text, packagings_json,
        location && *location ? location : NULL, db_bool(remote_ok),
        discoverable_sent ? db_bool(discoverable) : NULL,
        track_record_sent ? db_bool(show_track_record) : NULL,
        follows_sent ? db_bool(show_follows) : NULL, version, place[0] ? place : NULL};
    PGresult *res = NULL;
    if (skills_json && packagings_json) res = db_exec(&q_agent_put, 14, params, &p);
    else problem_fail(&p, PROBLEM_INTERNAL, NULL);
    free(skills_json);
    free(packagings_json);
    json_decref(body);
    if (!res) {
        if (db_is_unique_violation()) {
            problem_clear(&p);
            problem_fail(&p, PROBLEM_CONFLICT,
                         "Another agent already uses this handle; choose another.");
            problem_field(&p, "handle", "is already taken");
        }
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_PRECONDITION_FAILED,
                  "If-Match does not name the current version; read the agent again.");
        return;
    }
    set_etag(r, PQgetvalue(res, 0, 0));
    reply_row_json(r, 200, res, 1);
}

/* ---------- GET /api/v1/me/agent ---------- */

static db_stmt_t q_agent_own = DB_STMT("agent_own", true,
    "SELECT g.version, j::text FROM agents g JOIN accounts a ON a.id = g.account_id"
    " CROSS JOIN LATERAL agent_own_json(g, a) j WHERE g.account_id = $1::bigint");

/* PROBLEM_NOT_FOUND (reading one's profile) or PROBLEM_NO_AGENT (acting as one). */
static void no_agent(req_t *r, problem_code_t code)
{
    http_fail(r, code, "You have no agent profile yet: create your agent profile first with"
                       " PUT /api/v1/me/agent.");
}

void handle_agent_get_own(req_t *r)
{
    const char *params[1] = {r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_agent_own, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        no_agent(r, PROBLEM_NOT_FOUND);
        return;
    }
    set_etag(r, PQgetvalue(res, 0, 0));
    reply_row_json(r, 200, res, 1);
}

/* ---------- PUT /api/v1/me/agent/purposes ---------- */

/* Validate [{purpose, energy}]; every bad item field is named "[i].field". */
static void validate_energy_items(const json_t *items, problem_t *p)
{
    size_t n = json_array_size(items);
    if (n > AGENT_MAX_PURPOSES) {
        problem_field(p, "energy", "at most %d purposes: each needs at least 1 of the 100",
                      AGENT_MAX_PURPOSES);
        return;
    }
    long long sum = 0;
    bool sum_known = true;
    size_t i;
    const json_t *item;
    json_array_foreach(items, i, item) {
        char field[48];
        if (!json_is_object(item)) {
            snprintf(field, sizeof field, "[%zu]", i);
            problem_field(p, field, "must be an object {purpose, energy}");
            sum_known = false;
            continue;
        }
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)item, key, v) {
            if (strcmp(key, "purpose") != 0 && strcmp(key, "energy") != 0) {
                char unknown[128];
                snprintf(unknown, sizeof unknown, "[%zu].%.64s", i, key);
                problem_field(p, unknown, "unknown field");
            }
        }
        snprintf(field, sizeof field, "[%zu].purpose", i);
        const json_t *slug = json_object_get(item, "purpose");
        if (!slug) problem_field(p, field, "is required");
        else if (!json_is_string(slug) || !validate_slug(json_string_value(slug)) ||
                 strlen(json_string_value(slug)) != json_string_length(slug))
            problem_field(p, field, "must be the slug of a purpose");
        else
            for (size_t j = 0; j < i; j++) {
                const json_t *earlier = json_object_get(json_array_get(items, j), "purpose");
                if (json_is_string(earlier) &&
                    strcmp(json_string_value(earlier), json_string_value(slug)) == 0) {
                    problem_field(p, field, "repeats the purpose of item %zu; give each purpose once", j);
                    break;
                }
            }
        snprintf(field, sizeof field, "[%zu].energy", i);
        const json_t *energy = json_object_get(item, "energy");
        if (!energy) {
            problem_field(p, field, "is required");
            sum_known = false;
        } else if (!json_is_integer(energy) || json_integer_value(energy) < 1 ||
                   json_integer_value(energy) > 100) {
            problem_field(p, field, "must be an integer from 1 to 100");
            sum_known = false;
        } else {
            sum += json_integer_value(energy);
        }
    }
    if (sum_known && sum > 100)
        problem_field(p, "energy", "the energies sum to %lld; the total must be at most 100", sum);
}

static db_stmt_t q_energy_lock = DB_STMT("agent_energy_lock", false,
    "SELECT g.id, (SELECT coalesce(json_agg(i.ord - 1 ORDER BY i.ord), '[]'::json)"
    "  FROM json_array_elements($2::json) WITH ORDINALITY AS i(item, ord)"
    "  WHERE NOT EXISTS (SELECT 1 FROM purposes p WHERE p.slug = i.item->>'purpose'"
    "    AND (purpose_offered(p) OR EXISTS (SELECT 1 FROM agent_purposes x"
    "      WHERE x.agent_id = g.id AND x.purpose_id = p.id))))::text"
    " FROM agents g WHERE g.account_id = $1::bigint FOR UPDATE OF g");
static db_stmt_t q_energy_replace = DB_STMT("agent_energy_replace", false,
    "WITH input AS ("
    "  SELECT p.id AS purpose_id, p.slug, p.name, x.energy"
    "  FROM json_to_recordset($2::json) AS x(purpose text, energy int)"
    "  JOIN purposes p ON p.slug = x.purpose),"
    " gone AS (DELETE FROM agent_purposes WHERE agent_id = $1::bigint"
    "  AND purpose_id NOT IN (SELECT purpose_id FROM input)),"
    " put AS (INSERT INTO agent_purposes (agent_id, purpose_id, energy)"
    "  SELECT $1::bigint, purpose_id, energy FROM input"
    "  ON CONFLICT (agent_id, purpose_id) DO UPDATE SET energy = EXCLUDED.energy),"
    " bump AS (UPDATE agents SET version = version + 1, updated_at = now()"
    "  WHERE id = $1::bigint RETURNING version)"
    "SELECT (SELECT version FROM bump), coalesce((SELECT json_agg(json_build_object("
    "  'purpose', slug, 'name', name, 'energy', energy) ORDER BY energy DESC, slug)"
    "  FROM input), '[]'::json)::text");

static bool energy_sum_violated(void)
{
    return strcmp(db_sqlstate(), "23514") == 0 && strcmp(db_constraint(), "agent_energy_sum") == 0;
}

static void reply_energy_over(req_t *r, problem_t *p)
{
    problem_clear(p);
    problem_field(p, "energy", "the energies sum to more than 100");
    http_reply_problem(r, p);
}

void handle_agent_purposes_put(req_t *r)
{
    json_t *items = http_take_body(r);
    problem_t p;
    problem_init(&p);
    validate_energy_items(items, &p);
    if (problem_has_fields(&p) && json_array_size(items) <= AGENT_MAX_PURPOSES) {
        /* name unknown purposes too (the lock statement names them when
         * everything else is valid) */
        json_t *slugs = json_array();
        size_t i;
        const json_t *item;
        json_array_foreach(items, i, item) {
            const json_t *slug = json_object_get(item, "purpose");
            bool ok = json_is_string(slug) && validate_slug(json_string_value(slug)) &&
                      strlen(json_string_value(slug)) == json_string_length(slug);
            json_array_append_new(slugs, ok ? json_copy((json_t *)slug) : json_null());
        }
        char *slugs_json = json_dumps(slugs, JSON_COMPACT);
        json_decref(slugs);
        if (slugs_json) check_purposes(slugs_json, NULL, &p);
        free(slugs_json);
    }
    if (problem_has_fields(&p) || p.status) {
        json_decref(items);
        http_reply_problem(r, &p);
        return;
    }
    char *items_json = json_dumps(items, JSON_COMPACT);
    json_decref(items);
    if (!items_json) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    /* Lock the agent row first: two concurrent replacements run one after
     * the other, and the deferred trigger agent_energy_sum checks the total. */
    if (db_begin(&p) != 0) {
        free(items_json);
        http_reply_problem(r, &p);
        return;
    }
    const char *lock_params[2] = {r->caller.account_id_text, items_json};
    PGresult *res = db_exec(&q_energy_lock, 2, lock_params, &p);
    if (!res) {
        db_rollback();
        free(items_json);
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        db_rollback();
        free(items_json);
        no_agent(r, PROBLEM_NO_AGENT);
        return;
    }
    char agent_id[24];
    snprintf(agent_id, sizeof agent_id, "%s", PQgetvalue(res, 0, 0));
    json_t *unknown = json_loads(PQgetvalue(res, 0, 1), 0, NULL);
    PQclear(res);
    size_t i;
    json_t *idx;
    json_array_foreach(unknown, i, idx) {
        char field[48];
        snprintf(field, sizeof field, "[%lld].purpose", (long long)json_integer_value(idx));
        problem_field(&p, field, "is not a known purpose (or one retired from the catalogue)");
    }
    json_decref(unknown);
    if (problem_has_fields(&p)) {
        db_rollback();
        free(items_json);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[2] = {agent_id, items_json};
    res = db_exec(&q_energy_replace, 2, params, &p);
    free(items_json);
    if (!res) {
        bool over = energy_sum_violated();
        db_rollback();
        if (over) reply_energy_over(r, &p);
        else http_reply_problem(r, &p);
        return;
    }
    if (db_commit(&p) != 0) {
        PQclear(res);
        bool over = energy_sum_violated();
        db_rollback();
        if (over) reply_energy_over(r, &p);
        else http_reply_problem(r, &p);
        return;
    }
    set_etag(r, PQgetvalue(res, 0, 0));
    reply_row_json(r, 200, res, 1);
}

/* ---------- GET /api/v1/agents and /api/v1/agents/{handle} ---------- */

/* $1 $2 the cursor's keys, $3 purpose, $4 skill, $5 limit + 1, $6 $7 $8
 * near (latitude, longitude, km; NULL for none: handlers/engagements.c's
 * ENG_NEAR_FILTER explains the filter). */
#define AGENT_ATTR_FILTERS                                                                  \
    " WHERE g.discoverable AND NOT g.hidden AND a.deleted_at IS NULL"                       \
    "  AND ($3::text IS NULL OR EXISTS (SELECT 1 FROM agent_purposes ap"                    \
    "       JOIN purposes p ON p.id = ap.purpose_id WHERE ap.agent_id = g.id AND p.slug = $3))" \
    "  AND ($4::text IS NULL OR g.skill_keys @> ARRAY[skill_key($4::text)])"
#define AGENT_NEAR_WITHIN                                                                   \
    " g.place_id IN (SELECT pl.id FROM places pl"                                          \
    "    WHERE earth_box(ll_to_earth($6::float8, $7::float8), $8::float8 * 1000 + 1)"       \
    "        @> pl.earth"                                                                   \
    "      AND place_distance_km($6::float8, $7::float8, pl.latitude, pl.longitude)"        \
    "        <= $8::float8)"
#define AGENT_FILTERS AGENT_ATTR_FILTERS " AND ($8::float8 IS NULL OR" AGENT_NEAR_WITHIN ")"
/* With near= only: without "$8 IS NULL OR" the planner makes the IN a join
 * from the few places within the radius to their agents (agents_place_idx);
 * behind the OR it was a filter tested on every agent walked newest first
 * (67,000 walked for the 21 newest near a town, handlers/engagements.c). */
#define AGENT_NEAR_FILTERS AGENT_ATTR_FILTERS " AND" AGENT_NEAR_WITHIN
/* A listed agent: with near=, its distance_km from the centre. Its text
 * (agent_docs) is read in the select list, so only for the rows the LIMIT
 * keeps: a join read it for every agent within the radius before the sort
 * (794 near a city at scale 10: 45 of 123 ms). */
#define AGENT_ITEM                                                                          \
    "item_with_distance((SELECT d.doc FROM agent_docs d WHERE d.agent_id = g.id),"          \
    " $6::float8, $7::float8, g.place_id)"
/* Newest first ($2 unused); custom plans: near= may start from the places. */
static db_stmt_t q_agents_list = DB_STMT_CUSTOM_PLAN("agents_list", true,
    "SELECT g.id::text, " AGENT_ITEM " FROM agents g JOIN accounts a ON a.id = g.account_id"
    AGENT_FILTERS
    "  AND g.id < coalesce($1::bigint, 9223372036854775807) AND $2::text IS NULL"
    " ORDER BY g.id DESC LIMIT $5::int");
static db_stmt_t q_agents_near = DB_STMT_CUSTOM_PLAN("agents_list_near", true,
    "SELECT g.id::text, " AGENT_ITEM " FROM agents g JOIN accounts a ON a.id = g.account_id"
    AGENT_NEAR_FILTERS
    "  AND g.id < coalesce($1::bigint, 9223372036854775807) AND $2::text IS NULL"
    " ORDER BY g.id DESC LIMIT $5::int");
/* Nearest first (sort=distance), then id: keys distance in km, id. */
static db_stmt_t q_agents_by_distance = DB_STMT_CUSTOM_PLAN("agents_list_distance", true,
    "SELECT k.d::text, k.id::text, " AGENT_ITEM " FROM ("
    "  SELECT g.id, place_distance_km($6::float8, $7::float8, pl.latitude, pl.longitude) AS d"
    "  FROM agents g JOIN accounts a ON a.id = g.account_id JOIN places pl ON pl.id = g.place_id"
    AGENT_NEAR_FILTERS ") k"
    " JOIN agents g ON g.id = k.id JOIN accounts a ON a.id = g.account_id"
    " WHERE (k.d, k.id) > (coalesce($1::float8, '-Infinity'), coalesce($2::bigint, 0))"
    " ORDER BY k.d, k.id LIMIT $5::int");

void handle_agents_list(req_t *r)
{
    const char *sort = http_query(r, "sort");
    bool by_distance = sort && strcmp(sort, "distance") == 0;
    page_t pg;
    if (page_read(r, &pg, by_distance ? "agents-near" : "agents",
                  by_distance ? CURSOR_KEY_RANK CURSOR_KEY_ID : CURSOR_KEY_ID) < 0)
        return;
    problem_t p;
    problem_init(&p);
    if (sort && sort[0] && !by_distance) problem_field(&p, "sort", "must be distance");
    const char *purpose = purposes_query_slug(r, "purpose", &p);
    const char *skill = purposes_query_text(r, "skill", 100, &p);
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
    const char *params[8] = {page_key(&pg, 0), by_distance ? page_key(&pg, 1) : NULL, purpose,
        skill, pg.fetch, near.given ? near.latitude : NULL, near.given ? near.longitude : NULL,
        near.given ? near.km : NULL};
    db_stmt_t *st = by_distance ? &q_agents_by_distance : near.given ? &q_agents_near : &q_agents_list;
    PGresult *res = db_exec(st, 8, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

static db_stmt_t q_agent_by_handle = DB_STMT("agent_by_handle", true,
    "SELECT g.version, CASE WHEN g.account_id = $2::bigint"
    "  THEN (SELECT j::text FROM agent_own_json(g, a) j)"
    "  ELSE (SELECT d.doc FROM agent_docs d WHERE d.agent_id = g.id)"
    " END FROM agents g JOIN accounts a ON a.id = g.account_id"
    " WHERE g.handle = $1 AND a.deleted_at IS NULL"
    "  AND (g.account_id = $2::bigint"
    "   OR ((NOT g.hidden OR $3::bool) AND (g.discoverable"
    /* parties to an agreement see each other */
    "     OR EXISTS (SELECT 1 FROM agreements x JOIN memberships m ON m.organisation_id = x.organisation_id"
    "       WHERE x.agent_id = g.id AND m.account_id = $2::bigint))))");

void handle_agent_get(req_t *r)
{
    const char *handle = http_param(r, 0);
    if (!validate_slug(handle)) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such agent.");
        return;
    }
    /* hidden by a moderator: the agent itself and moderators see it */
    bool moderator = false;
    if (moderation_caller_moderates(r, &moderator) != 0) return;
    const char *params[3] = {handle, r->caller.account_id ? r->caller.account_id_text : NULL,
                             db_bool(moderator)};
    reply_one(r, &q_agent_by_handle, 3, params, 200, true, "agent");
}
