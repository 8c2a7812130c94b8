/* curation: moderators curate the shared catalogue (docs/operations.md,
 * "Curating the catalogue") — merge a duplicate purpose or skill into a kept
 * one, rename one, retire one — and where an old purpose slug leads now.
 * The work is migration 0034's functions, one transaction each; who may is
 * the route table's INSTANCE(INSTANCE_MODERATE) (lib/authz). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db.h"
#include "handlers.h"
#include "validate.h"
#include "vocab.h"

/* ---------- where an old slug leads ---------- */

void curation_reply_moved(req_t *r, const char *prefix, const char *slug, bool json)
{
    char location[160];
    snprintf(location, sizeof location, "%s%s", prefix, slug);
    http_add_header(r, "Location", location);
    if (json)
        http_reply_json(r, 301, json_pack("{s:s, s:s}", "slug", slug, "location", location));
    else
        http_reply_empty(r, 301);
}

static db_stmt_t q_purpose_moved = DB_STMT("purpose_moved", true,
    "SELECT t.slug FROM purpose_resolve($1) t WHERE t.slug <> $1");

int curation_purpose_moved(req_t *r, const char *slug, char *to, size_t cap)
{
    problem_t p;
    problem_init(&p);
    const char *params[1] = {slug};
    PGresult *res = db_exec(&q_purpose_moved, 1, params, &p);
    if (!res) return http_reply_problem(r, &p);
    int moved = PQntuples(res) == 1;
    if (moved) snprintf(to, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return moved;
}

/* ---------- the actions ---------- */

static db_stmt_t q_purpose_merge = DB_STMT("curation_purpose_merge", false,
    "SELECT c.outcome, c.action_id::text FROM curation_purpose_merge($1::bigint, $2, $3, $4) c");
static db_stmt_t q_purpose_rename = DB_STMT("curation_purpose_rename", false,
    "SELECT c.outcome, c.action_id::text FROM curation_purpose_rename($1::bigint, $2, $3, $4, $5) c");
static db_stmt_t q_purpose_retire = DB_STMT("curation_purpose_retire", false,
    "SELECT c.outcome, c.action_id::text FROM curation_purpose_retire($1::bigint, $2, $3) c");
static db_stmt_t q_skill_merge = DB_STMT("curation_skill_merge", false,
    "SELECT c.outcome, c.action_id::text FROM curation_skill_merge($1::bigint, $2, $3, $4) c");
static db_stmt_t q_skill_rename = DB_STMT("curation_skill_rename", false,
    "SELECT c.outcome, c.action_id::text FROM curation_skill_rename($1::bigint, $2, $3, $4) c");
static db_stmt_t q_skill_retire = DB_STMT("curation_skill_retire", false,
    "SELECT c.outcome, c.action_id::text FROM curation_skill_retire($1::bigint, $2, $3) c");
/* A separate statement: the log row the function wrote is not in the
 * snapshot of the statement that called it. */
static db_stmt_t q_logged = DB_STMT("curation_logged", false,
    "SELECT j::text FROM moderation_actions a CROSS JOIN LATERAL moderation_action_json(a) j"
    " WHERE a.id = $1::bigint");

/* A purpose is named by its slug, a skill by its key or any spelling of it. */
static const char *read_name_of(const json_t *body, const char *key, bool required, bool purpose,
                                problem_t *p)
{
    const char *v = validate_string(body, key, required, 1, 100, p);
    if (v && purpose && !validate_slug(v)) {
        problem_field(p, key, "must be a purpose's slug (lowercase letters, digits, inner dashes)");
        return NULL;
    }
    return v;
}

/* "only for" a field that the action does not take */
static void refuse_field(const json_t *body, const char *key, const char *why, problem_t *p)
{
    if (json_object_get(body, key)) problem_field(p, key, "%s", why);
}

/* The function's outcome -> the answer: the log entry (201), or 404, 409,
 * 422 naming the field ("invalid: into: why"). */
static void reply_outcome(req_t *r, PGresult *res, bool purpose)
{
    problem_t p;
    problem_init(&p);
    const char *outcome = PQgetvalue(res, 0, 0);
    if (strcmp(outcome, "ok") == 0) {
        char aid[24];
        snprintf(aid, sizeof aid, "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        const char *params[1] = {aid};
        PGresult *logged = db_exec(&q_logged, 1, params, &p);
        if (!logged) {
            http_reply_problem(r, &p);
            return;
        }
        reply_row_json(r, 201, logged, 0);
        return;
    }
    char text[300];
    snprintf(text, sizeof text, "%s", outcome);
    PQclear(res);
    if (strncmp(text, "invalid: ", 9) == 0) {
        const char *field = text + 9;
        char *why = strstr(text + 9, ": ");
        if (why) {
            *why = '\0';
            why += 2;
        } else {
            why = text + 9;
            field = "target";
        }
        problem_fail(&p, PROBLEM_INVALID, "Nothing done: %s %s.", field, why);
        problem_field(&p, field, "%s", why);
        http_reply_problem(r, &p);
    } else if (strncmp(text, "conflict: ", 10) == 0) {
        http_fail(r, PROBLEM_CONFLICT, "Nothing done: %s.", text + 10);
    } else {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "%s",
                  purpose ? "No such purpose." : "No such skill in the catalogue.");
    }
}

/* {action: merge|rename|retire, kind: purpose|skill, target, into (merge),
 * name and slug (rename; slug for a purpose only, made from the name when
 * left out), reason}: every bad field is named at once and nothing is
 * written; then one function does all of it in one transaction. */
void handle_curation(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"action", "kind", "target", "into", "name", "slug",
                                         "reason", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *action = validate_enum(body, "action", true, vocab_curation_actions, &p);
    const char *kind = validate_enum(body, "kind", true, vocab_curation_kinds, &p);
    bool purpose = !kind || strcmp(kind, "purpose") == 0;
    const char *target = read_name_of(body, "target", true, purpose, &p);
    const char *reason = validate_string(body, "reason", true, 1, 2000, &p);
    bool merge = action && strcmp(action, "merge") == 0;
    bool rename = action && strcmp(action, "rename") == 0;
    const char *into = NULL, *name = NULL, *slug = NULL;
    if (merge || !action)
        into = read_name_of(body, "into", merge, purpose, &p);
    else
        refuse_field(body, "into", "is only for merge", &p);
    if (rename || !action) {
        name = validate_string(body, "name", rename, 1, 100, &p);
    } else {
        refuse_field(body, "name", "is only for rename", &p);
    }
    char made[72] = "";
    if ((rename || !action) && purpose) {
        slug = validate_string(body, "slug", false, 1, 64, &p);
        if (slug && !validate_slug(slug)) {
            problem_field(&p, "slug", "must be a slug (lowercase letters, digits, inner dashes)");
            slug = NULL;
        }
        if (name && validate_slugify(name, made, sizeof made) != 0)
            problem_field(&p, "name", "must contain letters or digits (a-z, 0-9) to make a slug from");
    } else {
        refuse_field(body, "slug", rename ? "is only for a purpose" : "is only for rename", &p);
    }
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *who = r->caller.account_id_text;
    PGresult *res;
    if (merge) {
        const char *params[4] = {who, target, into, reason};
        res = db_exec(purpose ? &q_purpose_merge : &q_skill_merge, 4, params, &p);
    } else if (rename && purpose) {
        const char *params[5] = {who, target, name, slug ? slug : made, reason};
        res = db_exec(&q_purpose_rename, 5, params, &p);
    } else if (rename) {
        const char *params[4] = {who, target, name, reason};
        res = db_exec(&q_skill_rename, 4, params, &p);
    } else {
        const char *params[3] = {who, target, reason};
        res = db_exec(purpose ? &q_purpose_retire : &q_skill_retire, 3, params, &p);
    }
    json_decref(body);
    if (!res) {
        if (db_is_unique_violation()) { /* another moderator took the name meanwhile */
            problem_clear(&p);
            problem_fail(&p, PROBLEM_CONFLICT, "Nothing done: the name or slug was taken meanwhile.");
        }
        http_reply_problem(r, &p);
        return;
    }
    reply_outcome(r, res, purpose);
}
