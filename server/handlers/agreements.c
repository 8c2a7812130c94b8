/* agreements: relationship agreements (propose, read, amend, accept, decline,
 * withdraw, conclude, versions, lists), the agent's portfolio and the
 * notifications every transition leaves for the other side (and those of
 * review dates approaching). The lifecycle
 * rules are lib/agreement.c; which side the caller is, lib/authz.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "agreement_sql.h"
#include "authz.h"
#include "chain.h"
#include "common.h"
#include "db.h"
#include "fed_agreements.h"
#include "federation.h"
#include "handlers.h"
#include "jsontext.h"
#include "page.h"
#include "session.h"
#include "validate.h"
#include "vocab.h"

#define AGREEMENT_MAX_PURPOSES 10
#define AGREEMENT_MAX_NON_CASH 20


/* ---------- SQL fragments (a = agreements, g = agents) ----------
 * The JSON of an agreement, its summary in lists and its terms are
 * agreement_json, agreement_summary_json and terms_json
 * (migrations/R__representations.sql). */

/* What lib/agreement.c and lib/authz.c need, for caller CALLER (a
 * parameter, "$2"), in 8 columns; g is the agreement's agent. */
#define STATE_COLUMNS_OF(CALLER)                                                             \
    "a.status, a.active_version IS NOT NULL, a.proposed_by,"                                 \
    " EXISTS (SELECT 1 FROM agreement_closures c WHERE c.agreement_id = a.id AND c.side = 'agent'),"  \
    " EXISTS (SELECT 1 FROM agreement_closures c WHERE c.agreement_id = a.id"                \
    "   AND c.side = 'organisation'),"                                                       \
    " g.account_id = " CALLER "::bigint,"                                                    \
    " coalesce((SELECT m.role FROM memberships m WHERE m.organisation_id = a.organisation_id" \
    "   AND m.account_id = " CALLER "::bigint), ''),"                                        \
    " a.version"
#define STATE_COLUMNS STATE_COLUMNS_OF("$2")
#define STATE_NCOLS 8

/* ---------- small helpers ---------- */

static void reply_nothing_here(req_t *r)
{
    http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such agreement.");
}

static void bad_query(req_t *r, const char *field, const char *message)
{
    problem_t p;
    problem_init(&p);
    problem_field(&p, field, "%s", message);
    problem_fail(&p, PROBLEM_BAD_QUERY, "%s %s.", field, message);
    http_reply_problem(r, &p);
}

/* The state of the agreement in row 0 of a STATE_COLUMNS result. */
typedef struct loaded {
    agreement_state_t state;
    bool caller_is_agent;
    char role[16];
    char version[24];
} loaded_t;

/* The state in row of res, its STATE_COLUMNS starting at column col. */
static void read_state_at(const PGresult *res, int row, int col, loaded_t *l)
{
    memset(l, 0, sizeof *l);
    int st = agreement_status_parse(PQgetvalue(res, row, col));
    l->state.status = st < 0 ? AGREEMENT_DECLINED : (agreement_status_t)st;
    l->state.has_active_terms = strcmp(PQgetvalue(res, row, col + 1), "t") == 0;
    int side = agreement_side_parse(PQgetvalue(res, row, col + 2));
    l->state.proposer = side < 0 ? AGREEMENT_SIDE_NONE : (agreement_side_t)side;
    l->state.agent_closed = strcmp(PQgetvalue(res, row, col + 3), "t") == 0;
    l->state.organisation_closed = strcmp(PQgetvalue(res, row, col + 4), "t") == 0;
    l->caller_is_agent = strcmp(PQgetvalue(res, row, col + 5), "t") == 0;
    snprintf(l->role, sizeof l->role, "%s", PQgetvalue(res, row, col + 6));
    snprintf(l->version, sizeof l->version, "%s", PQgetvalue(res, row, col + 7));
}

static void read_state(const PGresult *res, loaded_t *l)
{
    read_state_at(res, 0, 0, l);
}

static json_t *actions_json(unsigned actions)
{
    json_t *a = json_array();
    for (int i = 0; i < AGREEMENT_ACTION_COUNT; i++)
        if (actions & (1u << i)) json_array_append_new(a, json_string(agreement_action_name((agreement_action_t)i)));
    return a;
}

/* What only the caller's side tells, as members to add after the
 * representation's: ,"my_side":…,"awaiting":…,"allowed_actions":[…]
 * (none unless may_act: the caller's role may decide). Owned; NULL when out
 * of memory. */
static char *caller_members(const loaded_t *l, agreement_side_t side, bool may_act)
{
    json_t *arr = actions_json(may_act ? agreement_allowed_actions(&l->state, side) : 0);
    char *actions = json_dumps(arr, JSON_COMPACT);
    json_decref(arr);
    agreement_side_t awaiting = agreement_awaiting(&l->state);
    char awaiting_text[24];
    snprintf(awaiting_text, sizeof awaiting_text, awaiting == AGREEMENT_SIDE_NONE ? "null" : "\"%s\"",
             agreement_side_name(awaiting));
    size_t len = (actions ? strlen(actions) : 2) + 96;
    char *out = actions ? malloc(len) : NULL;
    if (out)
        snprintf(out, len, ",\"my_side\":\"%s\",\"awaiting\":%s,\"allowed_actions\":%s",
                 agreement_side_name(side), awaiting_text, actions);
    free(actions);
    return out;
}

/* The side the caller of a list reads an agreement as, and whether its role
 * may decide: lib/authz.c, as the pipeline decides for one agreement. */
static agreement_side_t list_side(const loaded_t *l, bool *may_act)
{
    agreement_side_t side = authz_agreement_side(l->caller_is_agent, l->role, ORG_MEMBER_READ);
    *may_act = side != AGREEMENT_SIDE_NONE &&
               authz_agreement_side(l->caller_is_agent, l->role, ORG_POST) == side;
    return side;
}

/* page_more_fn of the agreement lists: the item's STATE_COLUMNS follow its
 * JSON (keys: 1 column, JSON: column 1, state from column 2). */
static char *list_item_members(const PGresult *res, int row, void *ctx)
{
    (void)ctx;
    loaded_t l;
    read_state_at(res, row, 2, &l);
    bool may_act;
    agreement_side_t side = list_side(&l, &may_act);
    return caller_members(&l, side, may_act);
}

/* ---------- reading one agreement ---------- */

/* Then the JSON, then the agent's capacity warning: the hours a week the
 * agent would be committed to (the other agreements' terms in force and this
 * one's shown terms) when that is past the agent's capacity. */
#define AGREEMENT_GET_SQL                                                                    \
    "SELECT " STATE_COLUMNS ", j::text,"                                                     \
    " (SELECT CASE WHEN a.status = 'proposed'"                                                \
    "    THEN format('With these terms you would commit %s hours a week, more than your capacity of %s.'," \
    "      c.total, g.capacity_hours_per_week)"                                               \
    "    ELSE format('You have committed %s hours a week, more than your capacity of %s.',"   \
    "      c.total, g.capacity_hours_per_week) END"                                           \
    "  FROM (SELECT t.hours_per_week + coalesce((SELECT sum(v.hours_per_week)"                \
    "     FROM agreements x JOIN agreement_versions v ON v.agreement_id = x.id"               \
    "      AND v.version = x.active_version"                                                  \
    "     WHERE x.agent_id = a.agent_id AND x.id <> a.id AND x.status IN ('active', 'proposed')), 0)" \
    "     AS total FROM agreement_versions t WHERE t.agreement_id = a.id"                     \
    "     AND t.version = agreement_shown_version(a)) c"                                      \
    "  WHERE a.status IN ('proposed', 'active') AND c.total > g.capacity_hours_per_week)"     \
    " FROM agreements a LEFT JOIN agents g ON g.id = a.agent_id"                              \
    " CROSS JOIN LATERAL agreement_json(a) j WHERE a.id = $1::bigint"

static db_stmt_t q_get = DB_STMT("agreement_get", true, AGREEMENT_GET_SQL);
/* The same inside a write transaction (never retried on another connection). */
static db_stmt_t q_get_tx = DB_STMT("agreement_get_tx", false, AGREEMENT_GET_SQL);

/* Reply with the agreement JSON of res (AGREEMENT_GET_SQL) plus what only the
 * caller's side tells: my_side, awaiting, allowed_actions (none unless
 * may_act: the caller's role may decide). Sets the ETag. */
static void reply_agreement(req_t *r, int status, PGresult *res, agreement_side_t side, bool may_act)
{
    loaded_t l;
    read_state(res, &l);
    const char *j = PQgetvalue(res, 0, STATE_NCOLS);
    size_t jl = (size_t)PQgetlength(res, 0, STATE_NCOLS);
    char *more = caller_members(&l, side, may_act);
    /* warnings for the viewer: past the agent's capacity, to the agent only */
    json_t *warnings = json_array();
    if (side == AGREEMENT_SIDE_AGENT && !PQgetisnull(res, 0, STATE_NCOLS + 1))
        json_array_append_new(warnings, json_pack("{s:s, s:s}", "kind", "over_capacity", "message",
                                                  PQgetvalue(res, 0, STATE_NCOLS + 1)));
    char *wtext = json_dumps(warnings, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(warnings);
    size_t len = jl + (more ? strlen(more) : 0) + (wtext ? strlen(wtext) : 0) + 24;
    char *body = more ? malloc(len) : NULL;
    size_t at = body ? jsontext_compact(body, j, jl) : 0;
    if (!body || !wtext || at < 2 || body[at - 1] != '}') {
        free(body);
        free(more);
        free(wtext);
        PQclear(res);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    /* what depends on the caller, after the representation's members */
    at--;
    at += (size_t)snprintf(body + at, len - at, "%s,\"warnings\":%s}", more, wtext);
    free(more);
    free(wtext);
    set_etag(r, l.version);
    PQclear(res);
    http_reply_text(r, status, "application/json", body, at);
}

void handle_agreement_get(req_t *r)
{
    const char *id = r->resource_id;
    const authz_agreement_t *az = &r->agreement;
    const char *params[2] = {id, r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_get, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        reply_nothing_here(r);
        return;
    }
    bool may_act = authz_agreement_side(az->caller_is_agent, az->role, ORG_POST) == az->side;
    reply_agreement(r, 200, res, az->side, may_act);
}

static db_stmt_t q_versions = DB_STMT("agreement_versions", true,
    "SELECT v.version::text, j::text FROM agreement_versions v CROSS JOIN LATERAL terms_json(v) j"
    " WHERE v.agreement_id = $1::bigint AND v.version < coalesce($2::int, 2147483647)"
    " ORDER BY v.version DESC LIMIT $3::int");

void handle_agreement_versions(req_t *r)
{
    const char *id = r->resource_id;
    page_t pg;
    if (page_read(r, &pg, "agreement-versions", CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[3] = {id, page_key(&pg, 0), pg.fetch};
    PGresult *res = db_exec(&q_versions, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}

/* ---------- reading terms (POST and PATCH) ---------- */

typedef struct terms_input {
    const char *role, *packaging, *terms, *starts_on, *review_on, *change_note;
    bool review_on_present;
    bool hours_present;
    char hours[16];
    char *rewards;   /* normalised JSON text, owned */
    char *purposes;  /* JSON array text of slugs, owned */
} terms_input_t;

static void terms_input_free(terms_input_t *t)
{
    free(t->rewards);
    free(t->purposes);
}

/* rewards: {cash?: {amount, currency, period} | null, non_cash?: [str]};
 * returns normalised JSON text (owned) or NULL with field errors added. */
static char *read_rewards(const json_t *body, bool required, problem_t *p)
{
    const json_t *v = json_object_get(body, "rewards");
    if (!v) {
        if (required) problem_field(p, "rewards", "is required");
        return NULL;
    }
    if (!json_is_object(v)) {
        problem_field(p, "rewards", "must be an object {cash?, non_cash?}");
        return NULL;
    }
    size_t before = p->errors ? json_array_size(p->errors) : 0;
    const char *key;
    json_t *val;
    json_object_foreach((json_t *)v, key, val) {
        if (strcmp(key, "cash") != 0 && strcmp(key, "non_cash") != 0)
            problem_field(p, "rewards", "has an unknown field; use cash and non_cash");
    }
    json_t *cash_out = json_null();
    const json_t *cash = json_object_get(v, "cash");
    if (cash && !json_is_null(cash)) {
        if (!json_is_object(cash)) {
            problem_field(p, "rewards.cash", "must be an object {amount, currency, period} or null");
        } else {
            problem_t q; /* errors inside cash, qualified as rewards.cash.* below */
            problem_init(&q);
            static const char *const cash_fields[] = {"amount", "currency", "period", NULL};
            validate_known_fields(cash, cash_fields, &q);
            double amount = 0;
            validate_number(cash, "amount", true, 0, 1e9, &amount, &q);
            const char *currency = validate_string(cash, "currency", true, 3, 3, &q);
            if (currency && !(currency[0] >= 'A' && currency[0] <= 'Z' && currency[1] >= 'A' &&
                              currency[1] <= 'Z' && currency[2] >= 'A' && currency[2] <= 'Z'))
                problem_field(&q, "currency", "must be an ISO 4217 code like EUR");
            const char *period = validate_enum(cash, "period", true, vocab_cash_periods, &q);
            size_t i;
            json_t *e;
            json_array_foreach(q.errors, i, e) {
                char field[64];
                snprintf(field, sizeof field, "rewards.cash.%.40s",
                         json_string_value(json_object_get(e, "field")));
                problem_field(p, field, "%s", json_string_value(json_object_get(e, "message")));
            }
            if (!problem_has_fields(&q))
                cash_out = json_pack("{s:f, s:s, s:s}", "amount", amount, "currency", currency,
                                     "period", period);
            problem_clear(&q);
        }
    }
    const json_t *non_cash = validate_string_array(v, "non_cash", false, AGREEMENT_MAX_NON_CASH,
                                                   100, false, NULL, p);
    /* validate_string_array names the field "non_cash": qualify it */
    if (p->errors) {
        size_t i;
        json_t *e;
        json_array_foreach(p->errors, i, e) {
            if (i >= before && strcmp(json_string_value(json_object_get(e, "field")), "non_cash") == 0)
                json_object_set_new(e, "field", json_string("rewards.non_cash"));
        }
    }
    if (p->errors && json_array_size(p->errors) > before) {
        json_decref(cash_out);
        return NULL;
    }
    json_t *out = json_pack("{s:o, s:o}", "cash", cash_out, "non_cash",
                            non_cash ? json_deep_copy(non_cash) : json_array());
    char *s = json_dumps(out, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(out);
    return s;
}

/* The terms fields of body; required = every field must be given (POST).
 * Adds field errors to p. */
static void read_terms(const json_t *body, bool required, terms_input_t *t, problem_t *p)
{
    memset(t, 0, sizeof *t);
    t->role = validate_string(body, "role", required, 1, 200, p);
    const json_t *purposes = validate_string_array(body, "purposes", required,
                                                   AGREEMENT_MAX_PURPOSES, 64, true, NULL, p);
    if (purposes && json_array_size(purposes) == 0)
        problem_field(p, "purposes", "must name at least one purpose");
    else if (purposes)
        t->purposes = json_dumps(purposes, JSON_COMPACT);
    t->packaging = validate_enum(body, "packaging", required, vocab_packagings, p);
    long long hours = 0;
    if (validate_int(body, "hours_per_week", required, 1, 80, &hours, p)) {
        t->hours_present = true;
        snprintf(t->hours, sizeof t->hours, "%lld", hours);
    }
    t->terms = validate_string(body, "terms", required, 1, 20000, p);
    t->rewards = read_rewards(body, required, p);
    t->starts_on = validate_string(body, "starts_on", required, 1, 32, p);
    if (t->starts_on && !validate_date(t->starts_on)) {
        problem_field(p, "starts_on", "must be a date YYYY-MM-DD");
        t->starts_on = NULL;
    }
    const json_t *rv = json_object_get(body, "review_on");
    t->review_on_present = rv != NULL;
    if (rv && !json_is_null(rv)) {
        if (!json_is_string(rv) || !validate_date(json_string_value(rv)))
            problem_field(p, "review_on", "must be a date YYYY-MM-DD or null");
        else
            t->review_on = json_string_value(rv);
    }
    if (t->review_on && t->starts_on && strcmp(t->review_on, t->starts_on) < 0)
        problem_field(p, "review_on", "must not be before the start date");
}

/* ---------- POST /agreements ---------- */

static db_stmt_t q_resolve = DB_STMT("agreement_resolve", true,
    "SELECT o.id, coalesce(m.role, ''),"
    " (SELECT g.id FROM agents g WHERE g.handle = $2 AND (g.discoverable OR g.account_id = $4::bigint"
    "   OR EXISTS (SELECT 1 FROM agreements x WHERE x.agent_id = g.id AND x.organisation_id = o.id))),"
    " EXISTS (SELECT 1 FROM agents g WHERE g.handle = $2 AND g.account_id = $4::bigint),"
    " $3::bigint IS NULL OR EXISTS (SELECT 1 FROM engagements e WHERE e.id = $3::bigint"
    "   AND e.organisation_id = o.id),"
    /* an organisation another instance keeps (0043): its home */
    " (SELECT coalesce(a.url, a.uri) FROM remote_actors a WHERE a.id = o.remote_actor_id)"
    " FROM (SELECT 1) one LEFT JOIN organisations o ON o.slug = $1"
    " LEFT JOIN memberships m ON m.organisation_id = o.id AND m.account_id = $4::bigint");

static db_stmt_t q_create = DB_STMT("agreement_create", false,
    "WITH up AS ("
    " INSERT INTO agreements (organisation_id, agent_id, engagement_id, proposed_by)"
    " VALUES ($1::bigint, $2::bigint, $3::bigint, $4::text)"
    " RETURNING id, organisation_id, agent_id, status),"
    " v AS (INSERT INTO agreement_versions (agreement_id, version, role, packaging, hours_per_week,"
    "   terms, rewards, starts_on, review_on, proposed_by, author_id)"
    "  SELECT up.id, 1, $6, $7, $8::int, $9, $10::jsonb, $11::date, $12::date, $4::text, $5::bigint"
    "  FROM up RETURNING agreement_id, version, role),"
    " vp AS (INSERT INTO agreement_version_purposes (agreement_id, version, purpose_id)"
    "  SELECT v.agreement_id, v.version, p.id FROM v JOIN purposes p"
    "   ON p.slug IN (SELECT json_array_elements_text($13::json))),"
    NOTIFY("$4::text", "$5::bigint", "'agreement_proposed'", "'proposed'", "(SELECT role FROM v)",
           "NULL::text")
    " SELECT id FROM up");

/* POST /agreements with remote_engagement: the caller's agent proposes to
 * the organisation on another instance that posted that engagement (one of
 * GET /remote-engagements). The agreement is kept here with the
 * organisation as a remote party, its federated id this instance's
 * /agreements/{id}, and the Offer goes to the organisation's inbox signed by
 * the agent's actor (lib/fed_agreements.h), in the same transaction. */
static db_stmt_t q_remote_resolve = DB_STMT("agreement_remote_resolve", false,
    "SELECT g.id, g.account_id = $3::bigint, g.discoverable AND g.hidden_at IS NULL,"
    " e.id, e.actor_id, e.status = 'open'"
    " FROM (SELECT 1) one LEFT JOIN agents g ON g.handle = $1"
    " LEFT JOIN remote_engagements e ON e.id = $2::bigint");

static db_stmt_t q_create_remote = DB_STMT("agreement_create_remote", false,
    "WITH n AS (SELECT nextval(pg_get_serial_sequence('agreements', 'id')) AS id),"
    " up AS (INSERT INTO agreements (id, organisation_id, agent_id, remote_engagement_id, proposed_by,"
    "   remote_actor_id, federated_uri, local_actor) OVERRIDING SYSTEM VALUE"
    "  SELECT n.id, NULL, $1::bigint, $2::bigint, 'agent', $3::bigint, $13 || '/agreements/' || n.id,"
    "   $13 || '/agents/' || $14 FROM n RETURNING id),"
    " v AS (INSERT INTO agreement_versions (agreement_id, version, role, packaging, hours_per_week,"
    "   terms, rewards, starts_on, review_on, proposed_by, author_id)"
    "  SELECT up.id, 1, $5, $6, $7::int, $8, $9::jsonb, $10::date, $11::date, 'agent', $4::bigint"
    "  FROM up RETURNING agreement_id, version),"
    " vp AS (INSERT INTO agreement_version_purposes (agreement_id, version, purpose_id)"
    "  SELECT v.agreement_id, v.version, p.id FROM v JOIN purposes p"
    "   ON p.slug IN (SELECT json_array_elements_text($12::json)))"
    " SELECT id FROM up");

static void create_remote(req_t *r, json_t *body)
{
    static const char *const fields[] = {"agent", "remote_engagement", "role", "purposes",
        "packaging", "hours_per_week", "terms", "rewards", "starts_on", "review_on", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *handle = validate_string(body, "agent", true, 1, 63, &p);
    if (handle && !validate_slug(handle)) {
        problem_field(&p, "agent", "must be an agent handle");
        handle = NULL;
    }
    long long eid = 0;
    validate_int(body, "remote_engagement", true, 1, 1000000000000000LL, &eid, &p);
    terms_input_t t;
    read_terms(body, true, &t, &p);
    char engagement[24], agent_id[24] = "", actor_id[24] = "";
    snprintf(engagement, sizeof engagement, "%lld", eid);
    PGresult *res = NULL;
    if (handle && eid > 0) {
        const char *rp[3] = {handle, engagement, r->caller.account_id_text};
        res = db_exec(&q_remote_resolve, 3, rp, &p);
        if (!res) goto fail;
        if (PQgetisnull(res, 0, 0) || strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
            PQclear(res);
            problem_clear(&p);
            terms_input_free(&t);
            json_decref(body);
            http_fail(r, PROBLEM_FORBIDDEN,
                      "Only the agent may propose to an organisation on another instance.");
            return;
        }
        if (strcmp(PQgetvalue(res, 0, 2), "t") != 0)
            problem_field(&p, "agent", "must be discoverable: the other instance reads its actor");
        if (PQgetisnull(res, 0, 3))
            problem_field(&p, "remote_engagement", "no such remote engagement");
        else if (strcmp(PQgetvalue(res, 0, 5), "t") != 0)
            problem_field(&p, "remote_engagement", "is not open");
        snprintf(agent_id, sizeof agent_id, "%s", PQgetvalue(res, 0, 0));
        snprintf(actor_id, sizeof actor_id, "%s", PQgetvalue(res, 0, 4));
        PQclear(res);
        res = NULL;
    }
    if ((t.purposes && check_purposes(t.purposes, "purposes", &p) != 0) || problem_has_fields(&p))
        goto fail;
    if (!federation_base()[0]) {
        problem_fail(&p, PROBLEM_CONFLICT,
                     "This instance has no PUBLIC_URL: it cannot propose to another instance.");
        goto fail;
    }
    const char *cp[14] = {agent_id, engagement, actor_id, r->caller.account_id_text, t.role,
                          t.packaging, t.hours, t.terms, t.rewards, t.starts_on, t.review_on,
                          t.purposes, federation_base(), handle};
    char id[24] = "";
    if (db_begin(&p) == 0) {
        res = db_exec(&q_create_remote, 14, cp, &p);
        if (res) {
            snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
            PQclear(res);
            const char *gp[2] = {id, r->caller.account_id_text};
            res = chain_append(CHAIN_AGREEMENT, id, &p) < 0 || fed_agreement_send(id, "propose", &p) < 0
                      ? NULL
                      : db_exec(&q_get_tx, 2, gp, &p);
        }
        if (res && db_commit(&p) != 0) {
            PQclear(res);
            res = NULL;
        }
    }
    if (!res) {
        bool conflict = db_is_unique_violation();
        db_rollback();
        if (conflict) {
            problem_clear(&p);
            problem_fail(&p, PROBLEM_CONFLICT,
                         "You already have a proposed or active agreement for this engagement; "
                         "amend it instead.");
        }
        goto fail;
    }
    terms_input_free(&t);
    json_decref(body);
    char location[64];
    snprintf(location, sizeof location, "/api/v1/agreements/%s", id);
    http_add_header(r, "Location", location);
    reply_agreement(r, 201, res, AGREEMENT_SIDE_AGENT, true);
    return;
fail:
    terms_input_free(&t);
    json_decref(body);
    http_reply_problem(r, &p);
}

void handle_agreement_create(req_t *r)
{
    json_t *body = http_take_body(r);
    if (json_object_get(body, "remote_engagement")) {
        create_remote(r, body);
        return;
    }
    static const char *const fields[] = {"organisation", "agent", "engagement", "role", "purposes",
        "packaging", "hours_per_week", "terms", "rewards", "starts_on", "review_on", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *org = validate_string(body, "organisation", true, 1, 63, &p);
    if (org && !validate_slug(org)) {
        problem_field(&p, "organisation", "must be an organisation slug");
        org = NULL;
    }
    const char *handle = validate_string(body, "agent", true, 1, 63, &p);
    if (handle && !validate_slug(handle)) {
        problem_field(&p, "agent", "must be an agent handle");
        handle = NULL;
    }
    char engagement[24] = "";
    const json_t *ej = json_object_get(body, "engagement");
    if (ej && !json_is_null(ej)) {
        if (!json_is_integer(ej) || json_integer_value(ej) < 1)
            problem_field(&p, "engagement", "must be an engagement id or null");
        else
            snprintf(engagement, sizeof engagement, "%lld", (long long)json_integer_value(ej));
    }
    terms_input_t t;
    read_terms(body, true, &t, &p);
    /* Who is who. References are checked even when other fields are bad, so
     * every bad field is named at once; outsiders get a 403 and learn nothing. */
    char org_id[24] = "", agent_id[24] = "";
    agreement_side_t side = AGREEMENT_SIDE_NONE;
    PGresult *res = NULL;
    if (org) {
        const char *rp[4] = {org, handle, engagement[0] ? engagement : NULL,
                             r->caller.account_id_text};
        res = db_exec(&q_resolve, 4, rp, &p);
        if (!res) {
            terms_input_free(&t);
            json_decref(body);
            http_reply_problem(r, &p);
            return;
        }
        bool org_known = !PQgetisnull(res, 0, 0);
        bool agent_known = !PQgetisnull(res, 0, 2);
        bool caller_is_agent = strcmp(PQgetvalue(res, 0, 3), "t") == 0;
        bool engagement_ok = strcmp(PQgetvalue(res, 0, 4), "t") == 0;
        snprintf(org_id, sizeof org_id, "%s", PQgetvalue(res, 0, 0));
        snprintf(agent_id, sizeof agent_id, "%s", PQgetvalue(res, 0, 2));
        side = authz_agreement_side(caller_is_agent, PQgetvalue(res, 0, 1), ORG_POST);
        if (!PQgetisnull(res, 0, 5)) {
            problem_fail(&p, PROBLEM_REMOTE,
                         "This organisation is kept by another instance (%.600s): propose on "
                         "one of its engagements with remote_engagement.", PQgetvalue(res, 0, 5));
            PQclear(res);
            terms_input_free(&t);
            json_decref(body);
            http_reply_problem(r, &p);
            return;
        }
        PQclear(res);
        res = NULL; /* reused below: a failed BEGIN must not leave it dangling */
        if (!org_known) {
            problem_field(&p, "organisation", "no such organisation");
        } else if (side == AGREEMENT_SIDE_NONE) {
            problem_clear(&p);
            terms_input_free(&t);
            json_decref(body);
            http_fail(r, PROBLEM_FORBIDDEN,
                      "Only the agent or a member of the organisation may propose this "
                      "agreement.");
            return;
        } else {
            if (handle && !agent_known) problem_field(&p, "agent", "no such agent");
            if (!engagement_ok)
                problem_field(&p, "engagement", "is not an engagement of this organisation");
        }
    }
    if ((t.purposes && check_purposes(t.purposes, "purposes", &p) != 0) || problem_has_fields(&p)) {
        terms_input_free(&t);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *cp[13] = {org_id, agent_id, engagement[0] ? engagement : NULL,
                          agreement_side_name(side), r->caller.account_id_text, t.role,
                          t.packaging, t.hours, t.terms, t.rewards, t.starts_on, t.review_on,
                          t.purposes};
    char id[24] = "";
    if (db_begin(&p) == 0) {
        res = db_exec(&q_create, 13, cp, &p);
        if (res) {
            snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
            PQclear(res);
            const char *gp[2] = {id, r->caller.account_id_text};
            /* the first link of its history (lib/chain.h), with it */
            res = chain_append(CHAIN_AGREEMENT, id, &p) < 0 ? NULL : db_exec(&q_get_tx, 2, gp, &p);
        }
        if (res && db_commit(&p) != 0) {
            PQclear(res);
            res = NULL;
        }
    }
    terms_input_free(&t);
    json_decref(body);
    if (!res) {
        bool conflict = db_is_unique_violation();
        db_rollback();
        if (conflict) {
            problem_clear(&p);
            problem_fail(&p, PROBLEM_CONFLICT,
                         "This agent and organisation already have a proposed or active agreement "
                         "for this engagement; amend it instead.");
        }
        http_reply_problem(r, &p);
        return;
    }
    char location[64];
    snprintf(location, sizeof location, "/api/v1/agreements/%s", id);
    http_add_header(r, "Location", location);
    reply_agreement(r, 201, res, side, true);
}

/* ---------- transitions ---------- */

static db_stmt_t q_lock = DB_STMT("agreement_lock", false,
    "SELECT " STATE_COLUMNS " FROM agreements a LEFT JOIN agents g ON g.id = a.agent_id"
    " WHERE a.id = $1::bigint FOR UPDATE OF a");

/* Begin a transaction and lock agreement id: 0 with the caller's side (the
 * pipeline found it allowed to decide) in *side and the state in l, or
 * negative with the response set and the transaction rolled back. if_match:
 * "" or a version. */
static int begin_locked(req_t *r, const char *id, const char *if_match, loaded_t *l,
                        agreement_side_t *side)
{
    problem_t p;
    problem_init(&p);
    if (db_begin(&p) < 0) goto fail;
    const char *params[2] = {id, r->caller.account_id_text};
    PGresult *res = db_exec(&q_lock, 2, params, &p);
    if (!res) goto fail;
    if (PQntuples(res) != 1) {
        PQclear(res);
        problem_fail(&p, PROBLEM_NO_SUCH_ITEM, "No such agreement.");
        goto fail;
    }
    read_state(res, l);
    PQclear(res);
    *side = r->agreement.side;
    if (if_match[0] && strcmp(if_match, l->version) != 0) {
        problem_fail(&p, PROBLEM_PRECONDITION_FAILED,
                     "The agreement changed since you read it; read it again.");
        goto fail;
    }
    return 0;
fail:
    db_rollback();
    int rc = problem_rc(&p);
    http_reply_problem(r, &p);
    return rc;
}

/* After the write: link what it recorded into the agreement's history
 * (lib/chain.h), tell the other instance of a federated agreement
 * (lib/fed_agreements.h: action is the act's name), read the agreement for
 * the reply, commit, reply. */
static void finish_write(req_t *r, const char *id, agreement_side_t side, int status,
                         const char *action)
{
    problem_t p;
    problem_init(&p);
    const char *params[2] = {id, r->caller.account_id_text};
    PGresult *res = chain_append(CHAIN_AGREEMENT, id, &p) < 0 || fed_agreement_send(id, action, &p) < 0
                        ? NULL
                        : db_exec(&q_get_tx, 2, params, &p);
    if (res && PQntuples(res) != 1) {
        PQclear(res);
        res = NULL;
        problem_fail(&p, PROBLEM_INTERNAL, NULL);
    }
    if (res && db_commit(&p) != 0) {
        PQclear(res);
        res = NULL;
    }
    if (!res) {
        db_rollback();
        http_reply_problem(r, &p);
        return;
    }
    reply_agreement(r, status, res, side, true);
}

static db_stmt_t q_apply = DB_STMT("agreement_apply", false,
    "WITH up AS ("
    " UPDATE agreements SET status = $3,"
    "  active_version = CASE WHEN $4::bool THEN terms_version ELSE active_version END,"
    "  version = version + 1, updated_at = now()"
    " WHERE id = $1::bigint RETURNING id, organisation_id, agent_id, status, terms_version),"
    " closure AS (INSERT INTO agreement_closures (agreement_id, side, commitments_kept, note, closed_by,"
    "   publish_note)"
    "  SELECT up.id, $5::text, $6::bool, coalesce($7, ''), $2::bigint, coalesce($11::bool, false)"
    "  FROM up WHERE $6::bool IS NOT NULL),"
    " outcome AS (INSERT INTO agreement_version_outcomes (agreement_id, version, outcome, side, decided_by)"
    "  SELECT up.id, up.terms_version, $10::text, $5::text, $2::bigint FROM up WHERE $10::text IS NOT NULL),"
    NOTIFY("$5::text", "$2::bigint", "$8::text", "$9::text",
           "(SELECT t.role FROM agreement_versions t WHERE t.agreement_id = up.id"
           " AND t.version = up.terms_version)", "nullif($7, '')")
    " SELECT 1 FROM up");

static void transition(req_t *r, agreement_action_t action)
{
    const char *id = r->resource_id;
    /* body: conclude needs {commitments_kept, note?, publish_note?}; the others
     * take an optional {note}. publish_note: this side agrees to publish its
     * note on the public track records (shown once both sides agreed). */
    bool kept = false, publish = false;
    char *note = NULL;
    json_t *body = http_take_body(r);
    if (body) {
        static const char *const conclude_fields[] = {"commitments_kept", "note", "publish_note", NULL};
        static const char *const note_fields[] = {"note", NULL};
        problem_t p;
        problem_init(&p);
        validate_known_fields(body, action == AGREEMENT_CONCLUDE ? conclude_fields : note_fields, &p);
        if (action == AGREEMENT_CONCLUDE) {
            validate_bool(body, "commitments_kept", true, &kept, &p);
            validate_bool(body, "publish_note", false, &publish, &p);
        }
        const char *n = validate_string_or_null(body, "note", 2000, NULL, &p);
        if (problem_has_fields(&p)) {
            json_decref(body);
            http_reply_problem(r, &p);
            return;
        }
        if (n) note = strdup(n);
        json_decref(body);
    }
    loaded_t l;
    agreement_side_t side;
    if (begin_locked(r, id, r->if_match, &l, &side) < 0) {
        free(note);
        return;
    }
    agreement_outcome_t out;
    problem_t p;
    problem_init(&p);
    if (agreement_transition(&l.state, action, side, &out, &p) < 0) {
        db_rollback();
        free(note);
        http_reply_problem(r, &p);
        return;
    }
    const char *kind, *verb;
    bool amendment = l.state.status == AGREEMENT_PROPOSED && l.state.has_active_terms;
    switch (action) {
    case AGREEMENT_ACCEPT:
        kind = "agreement_accepted";
        verb = amendment ? "accepted the new terms of" : "accepted";
        break;
    case AGREEMENT_DECLINE:
        kind = "agreement_declined";
        verb = amendment ? "declined the new terms of" : "declined";
        break;
    case AGREEMENT_WITHDRAW:
        kind = "agreement_withdrawn";
        verb = amendment ? "withdrew the new terms of" : "withdrew";
        break;
    default:
        kind = l.state.status == AGREEMENT_CONCLUDED ? "agreement_closure_recorded" : "agreement_concluded";
        verb = l.state.status == AGREEMENT_CONCLUDED ? "recorded their closure of" : "concluded";
        break;
    }
    /* what happens to the pending version: accepted, or dropped as declined or withdrawn */
    const char *outcome = out.activates_pending ? vocab_version_outcomes[0]
                          : action == AGREEMENT_DECLINE ? vocab_version_outcomes[1]
                          : action == AGREEMENT_WITHDRAW ? vocab_version_outcomes[2] : NULL;
    const char *params[11] = {id, r->caller.account_id_text, agreement_status_name(out.status),
                              db_bool(out.activates_pending), agreement_side_name(side),
                              out.records_closure ? db_bool(kept) : NULL, note, kind, verb, outcome,
                              db_bool(publish)};
    PGresult *res = db_exec(&q_apply, 11, params, &p);
    free(note);
    if (!res) {
        db_rollback();
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    finish_write(r, id, side, 200, agreement_action_name(action));
}

void handle_agreement_accept(req_t *r) { transition(r, AGREEMENT_ACCEPT); }
void handle_agreement_decline(req_t *r) { transition(r, AGREEMENT_DECLINE); }
void handle_agreement_withdraw(req_t *r) { transition(r, AGREEMENT_WITHDRAW); }
void handle_agreement_conclude(req_t *r) { transition(r, AGREEMENT_CONCLUDE); }

/* ---------- PATCH: amend ---------- */

static db_stmt_t q_amend = DB_STMT("agreement_amend", false,
    "WITH cur AS (SELECT a.id, a.terms_version + 1 AS next, agreement_shown_version(a) AS base"
    "   FROM agreements a WHERE a.id = $1::bigint),"
    " b AS (SELECT t.* FROM agreement_versions t JOIN cur ON t.agreement_id = cur.id"
    "   AND t.version = cur.base),"
    " v AS (INSERT INTO agreement_versions (agreement_id, version, role, packaging, hours_per_week,"
    "   terms, rewards, starts_on, review_on, change_note, proposed_by, author_id)"
    "  SELECT cur.id, cur.next, coalesce($4, b.role), coalesce($5, b.packaging),"
    "   coalesce($6::int, b.hours_per_week), coalesce($7, b.terms), coalesce($8::jsonb, b.rewards),"
    "   coalesce($9::date, b.starts_on), CASE WHEN $11::bool THEN $10::date ELSE b.review_on END,"
    "   $12, $3::text, $2::bigint FROM cur, b"
    "  RETURNING agreement_id, version, role),"
    " vp AS (INSERT INTO agreement_version_purposes (agreement_id, version, purpose_id)"
    "  SELECT v.agreement_id, v.version, p.id FROM v JOIN purposes p"
    "   ON p.slug IN (SELECT json_array_elements_text($13::json)) WHERE $13::json IS NOT NULL"
    "  UNION ALL"
    "  SELECT v.agreement_id, v.version, bp.purpose_id FROM v CROSS JOIN cur"
    "   JOIN agreement_version_purposes bp ON bp.agreement_id = cur.id AND bp.version = cur.base"
    "  WHERE $13::json IS NULL),"
    " up AS (UPDATE agreements a SET status = $14, proposed_by = $3::text, terms_version = v.version,"
    "   version = a.version + 1, updated_at = now() FROM v WHERE a.id = v.agreement_id"
    "  RETURNING a.id, a.organisation_id, a.agent_id, a.status),"
    /* a proposal still awaiting an answer is replaced by this one */
    " superseded AS (INSERT INTO agreement_version_outcomes (agreement_id, version, outcome, side, decided_by)"
    "  SELECT cur.id, cur.next - 1, 'superseded', $3::text, $2::bigint FROM cur WHERE $15::bool),"
    /* a renewal ($16) is an amendment that carries the relationship past its review date */
    " renewal AS (INSERT INTO agreement_renewals (agreement_id, version)"
    "  SELECT v.agreement_id, v.version FROM v WHERE $16::bool),"
    NOTIFY("$3::text", "$2::bigint",
           "CASE WHEN $16::bool THEN 'agreement_renewal_proposed' ELSE 'agreement_amended' END",
           "CASE WHEN $16::bool THEN 'proposed to renew' ELSE 'proposed new terms for' END",
           "(SELECT role FROM v)", "$12")
    " SELECT 1 FROM up");

/* The review date of the terms in force, and today (a renewal must carry
 * the relationship past both). */
static db_stmt_t q_renewal_dates = DB_STMT("agreement_renewal_dates", false,
    "SELECT coalesce(v.review_on::text, ''), current_date::text FROM agreements a"
    " JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = a.active_version"
    " WHERE a.id = $1::bigint");

/* 0 when the agreement (which the state machine lets the caller renew) may
 * be renewed to review_on; negative with the answer set and the transaction
 * rolled back. */
static int renewal_check(req_t *r, const char *id, const char *review_on)
{
    problem_t p;
    problem_init(&p);
    const char *params[1] = {id};
    PGresult *res = db_exec(&q_renewal_dates, 1, params, &p);
    if (!res) goto fail;
    bool later = PQntuples(res) == 1 && strcmp(review_on, PQgetvalue(res, 0, 0)) > 0 &&
                 strcmp(review_on, PQgetvalue(res, 0, 1)) >= 0;
    if (!later && PQntuples(res) == 1)
        problem_field(&p, "review_on", PQgetvalue(res, 0, 0)[0]
                          ? "must be after the current review date (%s) and not in the past"
                          : "must not be in the past%s",
                      PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!later) goto fail;
    return 0;
fail:
    db_rollback();
    int rc = problem_rc(&p);
    http_reply_problem(r, &p);
    return rc;
}

static void amend(req_t *r, bool renewal);

void handle_agreement_patch(req_t *r) { amend(r, false); }

/* POST /agreements/{id}/renew: new terms (a later review date at least)
 * for an agreement in force, awaiting the other side's consent like any
 * amendment; the version is marked a renewal. */
void handle_agreement_renew(req_t *r) { amend(r, true); }

static void amend(req_t *r, bool renewal)
{
    const char *id = r->resource_id;
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"role", "purposes", "packaging", "hours_per_week", "terms",
        "rewards", "starts_on", "review_on", "change_note", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    terms_input_t t;
    read_terms(body, false, &t, &p);
    t.change_note = validate_string_or_null(body, "change_note", 1000, NULL, &p);
    if (renewal && !problem_has_fields(&p) && !t.review_on)
        problem_field(&p, "review_on", "is required: the date the renewed terms run to");
    if (!problem_has_fields(&p) && !t.role && !t.purposes && !t.packaging && !t.hours_present &&
        !t.terms && !t.rewards && !t.starts_on && !t.review_on_present) {
        terms_input_free(&t);
        json_decref(body);
        http_fail(r, PROBLEM_VALIDATION,
                  "Give at least one field of the terms to propose new terms.");
        return;
    }
    if ((t.purposes && check_purposes(t.purposes, "purposes", &p) != 0) || problem_has_fields(&p)) {
        terms_input_free(&t);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    loaded_t l;
    agreement_side_t side;
    if (begin_locked(r, id, r->if_match, &l, &side) < 0) {
        terms_input_free(&t);
        json_decref(body);
        return;
    }
    agreement_outcome_t out;
    if (agreement_transition(&l.state, renewal ? AGREEMENT_RENEW : AGREEMENT_AMEND, side, &out, &p) < 0) {
        db_rollback();
        terms_input_free(&t);
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    if (renewal && renewal_check(r, id, t.review_on) < 0) {
        terms_input_free(&t);
        json_decref(body);
        return;
    }
    const char *params[16] = {id, r->caller.account_id_text, agreement_side_name(side), t.role,
                              t.packaging, t.hours_present ? t.hours : NULL, t.terms, t.rewards,
                              t.starts_on, t.review_on, db_bool(t.review_on_present),
                              t.change_note, t.purposes, agreement_status_name(out.status),
                              db_bool(l.state.status == AGREEMENT_PROPOSED), db_bool(renewal)};
    PGresult *res = db_exec(&q_amend, 16, params, &p);
    terms_input_free(&t);
    json_decref(body);
    if (!res) {
        bool bad_dates = strcmp(db_sqlstate(), "23514") == 0 &&
                         strcmp(db_constraint(), "agreement_versions_review_after_start") == 0;
        db_rollback();
        if (bad_dates) {
            problem_clear(&p);
            problem_field(&p, "review_on", "must not be before the start date");
        }
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    finish_write(r, id, side, 200, renewal ? "renew" : "amend");
}

/* ---------- lists ---------- */

/* ?status= and ?standing= (where the relationship stands, pending changes
 * aside: agreement_standing) into out (NULL when absent); 0, or negative with
 * 400 set when unknown. */
static int status_query(req_t *r, const char **out, const char **standing)
{
    *out = http_query(r, "status");
    *standing = http_query(r, "standing");
    problem_t p;
    problem_init(&p);
    if ((*out && !validate_enum_text(*out, "status", vocab_agreement_statuses, &p)) ||
        (*standing && !validate_enum_text(*standing, "standing", vocab_agreement_statuses, &p))) {
        purposes_bad_query(r, &p);
        return -PROBLEM_BAD_QUERY;
    }
    return 0;
}

/* Newest first; $3 the cursor's id (NULL on the first page), $4 limit + 1. */
static db_stmt_t q_mine = DB_STMT("agreements_mine", true,
    "SELECT a.id::text, j::text, " STATE_COLUMNS_OF("$1") " FROM agreements a"
    " LEFT JOIN agents g ON g.id = a.agent_id CROSS JOIN LATERAL agreement_summary_json(a) j"
    " WHERE a.id IN ("
    "   SELECT x.id FROM agreements x JOIN agents xg ON xg.id = x.agent_id"
    "   WHERE xg.account_id = $1::bigint AND $5::text IS DISTINCT FROM 'organisation'"
    "   UNION ALL"
    "   SELECT x.id FROM agreements x JOIN memberships m ON m.organisation_id = x.organisation_id"
    "   WHERE m.account_id = $1::bigint AND $5::text IS DISTINCT FROM 'agent')"
    " AND ($2::text IS NULL OR a.status = $2) AND ($6::text IS NULL OR agreement_standing(a) = $6)"
    " AND a.id < coalesce($3::bigint, 9223372036854775807)"
    " ORDER BY a.id DESC LIMIT $4::int");

void handle_my_agreements(req_t *r)
{
    page_t pg;
    const char *status, *standing;
    if (page_read(r, &pg, "my-agreements", CURSOR_KEY_ID) < 0 ||
        status_query(r, &status, &standing) < 0)
        return;
    const char *side = http_query(r, "side");
    if (side && agreement_side_parse(side) < 0) {
        bad_query(r, "side", "must be agent or organisation");
        return;
    }
    const char *params[6] = {r->caller.account_id_text, status, page_key(&pg, 0), pg.fetch, side,
                             standing};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_mine, 6, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply_more(r, &pg, res, NULL, list_item_members, NULL);
}

static db_stmt_t q_of_organisation = DB_STMT("agreements_of_organisation", true,
    "SELECT a.id::text, j::text, " STATE_COLUMNS_OF("$5") " FROM agreements a"
    " LEFT JOIN agents g ON g.id = a.agent_id CROSS JOIN LATERAL agreement_summary_json(a) j"
    " WHERE a.organisation_id = $1::bigint"
    " AND ($2::text IS NULL OR a.status = $2) AND ($6::text IS NULL OR agreement_standing(a) = $6)"
    " AND a.id < coalesce($3::bigint, 9223372036854775807)"
    " ORDER BY a.id DESC LIMIT $4::int");

void handle_organisation_agreements(req_t *r)
{
    const authz_org_t org = r->org;
    page_t pg;
    const char *status, *standing;
    if (page_read(r, &pg, "organisation-agreements", CURSOR_KEY_ID) < 0 ||
        status_query(r, &status, &standing) < 0)
        return;
    problem_t p;
    problem_init(&p);
    const char *params[6] = {org.id, status, page_key(&pg, 0), pg.fetch, r->caller.account_id_text,
                             standing};
    PGresult *res = db_exec(&q_of_organisation, 6, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply_more(r, &pg, res, NULL, list_item_members, NULL);
}

/* The hours given under the organisation's own agreements, for its members:
 * organisation_hours_json (R__representations.sql). */
static db_stmt_t q_organisation_hours = DB_STMT("organisation_hours", true,
    "SELECT j::text FROM organisations o CROSS JOIN LATERAL organisation_hours_json(o) j"
    " WHERE o.id = $1::bigint");

void handle_organisation_hours(req_t *r)
{
    const char *params[1] = {r->org.id};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_organisation_hours, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NOT_FOUND, "No such organisation.");
        return;
    }
    reply_row_json(r, 200, res, 0);
}

/* ---------- review dates approaching ---------- */

/* A review date has no event of its own to ride on, so its notification is
 * written when the account looks: reading the first page of notifications,
 * the portfolio or the personal feed. One per account, agreement and review
 * date (the unique index of 0008 makes concurrent readers safe). For the
 * terms in force (also while an amendment awaits consent), review_on within
 * 14 days or past; to the agent and to every member of the organisation.
 * Idempotent, so safe to retry. */
static db_stmt_t q_reviews_due = DB_STMT("notifications_reviews_due", true,
    "INSERT INTO notifications (account_id, kind, agreement_id, message, payload)"
    " SELECT $1::bigint, 'agreement_review_due', a.id,"
    "  left(format(CASE WHEN v.review_on < current_date THEN 'The review of \"%s\" with %s was due on %s.'"
    "   ELSE 'The review of \"%s\" with %s is due on %s.' END, v.role,"
    "   CASE WHEN g.account_id = $1::bigint THEN o.name ELSE gacc.display_name END,"
    "   to_char(v.review_on, 'FMDD Mon YYYY')), 1000),"
    "  jsonb_build_object('agreement_id', a.id, 'status', a.status, 'review_on', v.review_on,"
    "   'role', v.role, 'side', CASE WHEN g.account_id = $1::bigint THEN 'agent' ELSE 'organisation' END,"
    "   'organisation', jsonb_build_object('slug', o.slug, 'name', o.name),"
    "   'agent', jsonb_build_object('handle', g.handle, 'display_name', gacc.display_name))"
    " FROM agreements a JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = a.active_version"
    " JOIN organisations o ON o.id = a.organisation_id"
    " JOIN agents g ON g.id = a.agent_id JOIN accounts gacc ON gacc.id = g.account_id"
    " WHERE a.id IN ("
    "   SELECT x.id FROM agreements x JOIN agents xg ON xg.id = x.agent_id WHERE xg.account_id = $1::bigint"
    "   UNION"
    "   SELECT x.id FROM agreements x JOIN memberships m ON m.organisation_id = x.organisation_id"
    "   WHERE m.account_id = $1::bigint)"
    " AND a.status IN ('active', 'proposed') AND v.review_on <= current_date + 14"
    " AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.account_id = $1::bigint"
    "   AND n.kind = 'agreement_review_due' AND n.agreement_id = a.id"
    "   AND n.payload ->> 'review_on' = to_char(v.review_on, 'YYYY-MM-DD'))"
    " ON CONFLICT DO NOTHING");

/* The account's notifications of new engagements still queued for the
 * background fan-out (migration 0027): a follower reads them at once. */
static db_stmt_t q_fan_out_mine = DB_STMT("notifications_fan_out_mine", true,
    "SELECT notifications_fan_out($1::bigint)");

int agreements_review_notifications(const char *account_id, problem_t *p)
{
    const char *params[1] = {account_id};
    PGresult *res = db_exec(&q_fan_out_mine, 1, params, p);
    if (!res) return problem_rc(p);
    PQclear(res);
    res = db_exec(&q_reviews_due, 1, params, p);
    if (!res) return problem_rc(p);
    PQclear(res);
    return 0;
}

/* ---------- portfolio ---------- */

/* The portfolio is portfolio_json (migrations/R__representations.sql). */
static db_stmt_t q_portfolio = DB_STMT("agreements_portfolio", true,
    "SELECT j::text FROM agents g CROSS JOIN LATERAL portfolio_json(g) j WHERE g.account_id = $1::bigint");

void handle_my_portfolio(req_t *r)
{
    const char *params[1] = {r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    if (agreements_review_notifications(r->caller.account_id_text, &p) != 0) {
        http_reply_problem(r, &p);
        return;
    }
    PGresult *res = db_exec(&q_portfolio, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NOT_FOUND,
                  "You have no agent profile yet: create it with PUT /api/v1/me/agent.");
        return;
    }
    reply_row_json(r, 200, res, 0);
}

/* ---------- notifications ---------- */

/* Newest first, and the count of unread ones (one row even when the page is
 * empty). $2 the cursor's id (NULL on the first page), $3 limit + 1. */
static db_stmt_t q_notifications = DB_STMT("notifications_mine", true,
    "SELECT pg.id::text, pg.j::text, u.unread FROM (SELECT count(*) AS unread FROM notifications"
    "  WHERE account_id = $1::bigint AND read_at IS NULL) u"
    " LEFT JOIN LATERAL (SELECT n.id, j FROM notifications n CROSS JOIN LATERAL notification_json(n) j"
    "  WHERE n.account_id = $1::bigint AND n.id < coalesce($2::bigint, 9223372036854775807)"
    "  AND (NOT $4::bool OR n.read_at IS NULL) ORDER BY n.id DESC LIMIT $3::int) pg ON true"
    " ORDER BY pg.id DESC");

void handle_my_notifications(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "notifications", CURSOR_KEY_ID) < 0) return;
    const char *unread = http_query(r, "unread");
    if (unread && strcmp(unread, "true") != 0 && strcmp(unread, "false") != 0) {
        bad_query(r, "unread", "must be true or false");
        return;
    }
    const char *params[4] = {r->caller.account_id_text, page_key(&pg, 0), pg.fetch,
                             db_bool(unread && strcmp(unread, "true") == 0)};
    problem_t p;
    problem_init(&p);
    /* the first page is where new notifications appear: reviews due first */
    if (!pg.has_cursor && agreements_review_notifications(r->caller.account_id_text, &p) != 0) {
        http_reply_problem(r, &p);
        return;
    }
    PGresult *res = db_exec(&q_notifications, 4, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    char extra[48];
    snprintf(extra, sizeof extra, "\"unread\":%lld",
             PQntuples(res) >= 1 ? strtoll(PQgetvalue(res, 0, 2), NULL, 10) : 0LL);
    page_reply(r, &pg, res, extra);
}

static db_stmt_t q_notifications_read = DB_STMT("notifications_read", false,
    "WITH marked AS (UPDATE notifications SET read_at = now()"
    " WHERE account_id = $1::bigint AND read_at IS NULL"
    "  AND ($2::bool OR id IN (SELECT json_array_elements_text($3::json)::bigint)) RETURNING 1)"
    "SELECT json_build_object('marked', (SELECT count(*) FROM marked),"
    " 'unread', (SELECT count(*) FROM notifications WHERE account_id = $1::bigint AND read_at IS NULL)"
    "   - (SELECT count(*) FROM marked))::text");

void handle_my_notifications_read(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"ids", "all", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    bool all = false;
    validate_bool(body, "all", false, &all, &p);
    const json_t *ids = json_object_get(body, "ids");
    json_t *clean = json_array();
    if (ids) {
        if (!json_is_array(ids) || json_array_size(ids) > 100) {
            problem_field(&p, "ids", "must be an array of at most 100 notification ids");
        } else {
            size_t i;
            const json_t *e;
            json_array_foreach(ids, i, e) {
                if (!json_is_integer(e) || json_integer_value(e) < 1) {
                    problem_field(&p, "ids", "must be an array of notification ids");
                    break;
                }
                json_array_append_new(clean, json_integer(json_integer_value(e)));
            }
        }
    }
    if (!problem_has_fields(&p) && !all && !ids)
        problem_field(&p, "ids", "give the ids to mark read, or \"all\": true");
    if (!problem_has_fields(&p) && all && ids)
        problem_field(&p, "all", "give either ids or all, not both");
    char *ids_json = json_dumps(clean, JSON_COMPACT);
    json_decref(clean);
    json_decref(body);
    if (problem_has_fields(&p) || !ids_json) {
        free(ids_json);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[3] = {r->caller.account_id_text, db_bool(all), ids_json};
    PGresult *res = db_exec(&q_notifications_read, 3, params, &p);
    free(ids_json);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 200, res, 0);
}
