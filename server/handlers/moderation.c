/* moderation: running an instance (docs/moderation.md). Reports (anyone
 * signed in), the moderators' queue of cases, their actions and the
 * moderation log, appeals by the people actions concern, and instance roles.
 * Who may call each route is the route table's INSTANCE(action) (lib/authz). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "validate.h"
#include "vocab.h"

static void reply_page_or_problem(req_t *r, const page_t *pg, PGresult *res, problem_t *p)
{
    if (!res) {
        http_reply_problem(r, p);
        return;
    }
    page_reply(r, pg, res, NULL);
}

/* ---------- reports ---------- */

/* One statement: the thing as anyone sees it now (404 when it does not
 * exist or is hidden already; a message also when the reporter does not
 * read its thread), its open case (opened by the first report),
 * and the report with the snapshot. Row: (found, report JSON or NULL when
 * this person reported it already). */
static db_stmt_t q_report = DB_STMT("report_create", false,
    "WITH s AS (SELECT moderation_subject_id($1, $2, $3::int) AS id),"
    " snap AS (SELECT j FROM s CROSS JOIN LATERAL moderation_subject_json($1, s.id, $3::int) j"
    "   WHERE NOT CASE $1"
    "     WHEN 'organisation' THEN (SELECT o.hidden_at IS NOT NULL FROM organisations o WHERE o.id = s.id)"
    "     WHEN 'engagement' THEN (SELECT e.hidden FROM engagements e WHERE e.id = s.id)"
    "     WHEN 'agent_profile' THEN (SELECT g.hidden OR NOT g.discoverable FROM agents g WHERE g.id = s.id)"
    "     WHEN 'purpose' THEN (SELECT p.hidden_at IS NOT NULL FROM purposes p WHERE p.id = s.id)"
    "     WHEN 'account' THEN (SELECT a.suspended_at IS NOT NULL FROM accounts a WHERE a.id = s.id)"
    "     WHEN 'agreement_message' THEN NOT message_readable($1, s.id, $4::bigint)"
    "       OR EXISTS (SELECT 1 FROM hidden_messages h WHERE h.agreement_message_id = s.id)"
    "     WHEN 'engagement_message' THEN NOT message_readable($1, s.id, $4::bigint)"
    "       OR EXISTS (SELECT 1 FROM hidden_messages h WHERE h.engagement_message_id = s.id)"
    "     ELSE EXISTS (SELECT 1 FROM hidden_charter_versions h"
    "                  WHERE h.organisation_id = s.id AND h.version = $3::int)"
    "       OR (SELECT o.hidden_at IS NOT NULL FROM organisations o WHERE o.id = s.id) END),"
    " opened AS (INSERT INTO moderation_cases (subject_kind, subject_id, subject_version)"
    "   SELECT $1, s.id, $3::int FROM s, snap"
    "   ON CONFLICT (subject_kind, subject_id, coalesce(subject_version, 0)) WHERE status = 'open'"
    "   DO NOTHING RETURNING *),"
    " c AS (SELECT * FROM opened UNION ALL SELECT mc.* FROM moderation_cases mc, s, snap"
    "   WHERE mc.subject_kind = $1 AND mc.subject_id = s.id AND mc.status = 'open'"
    "   AND coalesce(mc.subject_version, 0) = coalesce($3::int, 0)),"
    " r AS (INSERT INTO reports (case_id, reporter_id, reason, note, snapshot)"
    "   SELECT c.id, $4::bigint, $5, $6, snap.j::jsonb FROM c, snap LIMIT 1"
    "   ON CONFLICT (case_id, reporter_id) DO NOTHING RETURNING *)"
    " SELECT EXISTS (SELECT 1 FROM snap),"
    "   (SELECT j::text FROM r, c CROSS JOIN LATERAL report_json(r, c) j LIMIT 1)");

void handle_report_create(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"kind", "target", "version", "reason", "note", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *kind = validate_enum(body, "kind", true, vocab_moderation_subjects, &p);
    const char *target = validate_string(body, "target", true, 1, 200, &p);
    long long version = 0;
    bool charter = kind && strcmp(kind, "charter_version") == 0;
    validate_int(body, "version", charter, 1, 2147483647, &version, &p);
    if (kind && !charter && json_object_get(body, "version"))
        problem_field(&p, "version", "is only for a charter_version");
    const char *reason = validate_enum(body, "reason", true, vocab_report_reasons, &p);
    const char *note = validate_string(body, "note", false, 0, 2000, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char vtext[16];
    snprintf(vtext, sizeof vtext, "%lld", version);
    const char *params[6] = {kind, target, charter ? vtext : NULL, r->caller.account_id_text,
                             reason, note ? note : ""};
    PGresult *res = db_exec(&q_report, 6, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        http_fail(r, PROBLEM_NOT_FOUND, "There is no such thing to report.");
        return;
    }
    if (PQgetisnull(res, 0, 1)) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT,
                  "You reported this already; moderators have your report.");
        return;
    }
    reply_row_json(r, 201, res, 1);
}

/* ---------- the queue ---------- */

static db_stmt_t q_cases = DB_STMT("moderation_cases", true,
    "SELECT cursor_time(c.opened_at), c.id::text, j::text FROM moderation_cases c"
    " CROSS JOIN LATERAL moderation_case_json(c) j"
    " WHERE c.status = $1 AND (c.opened_at, c.id) > (coalesce($2::timestamptz, '-infinity'),"
    "   coalesce($3::bigint, 0))"
    " ORDER BY c.opened_at, c.id LIMIT $4::int");

/* Oldest first: the queue is worked from its start. */
void handle_moderation_cases(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "moderation-cases", CURSOR_KEY_TIME CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *status = http_query(r, "status");
    if (status && !validate_enum_text(status, "status", vocab_case_statuses, &p)) {
        purposes_bad_query(r, &p);
        return;
    }
    const char *params[4] = {status ? status : "open", page_key(&pg, 0), page_key(&pg, 1), pg.fetch};
    reply_page_or_problem(r, &pg, db_exec(&q_cases, 4, params, &p), &p);
}

/* The case, its reports with their snapshots, the thing as it is now, and
 * the actions taken on the thing. */
static db_stmt_t q_case = DB_STMT("moderation_case", true,
    "SELECT json_concat(j, json_build_object("
    "   'reports', coalesce((SELECT json_agg(rj ORDER BY rp.id) FROM reports rp"
    "     CROSS JOIN LATERAL report_moderator_json(rp) rj WHERE rp.case_id = c.id), '[]'::json),"
    "   'current', (SELECT s FROM moderation_subject_json(c.subject_kind, c.subject_id,"
    "     c.subject_version) s),"
    "   'hidden', CASE c.subject_kind"
    "     WHEN 'organisation' THEN (SELECT o.hidden_at IS NOT NULL FROM organisations o"
    "       WHERE o.id = c.subject_id)"
    "     WHEN 'engagement' THEN (SELECT e.hidden FROM engagements e WHERE e.id = c.subject_id)"
    "     WHEN 'agent_profile' THEN (SELECT g.hidden FROM agents g WHERE g.id = c.subject_id)"
    "     WHEN 'purpose' THEN (SELECT p.hidden_at IS NOT NULL FROM purposes p WHERE p.id = c.subject_id)"
    "     WHEN 'account' THEN (SELECT a.suspended_at IS NOT NULL FROM accounts a"
    "       WHERE a.id = c.subject_id)"
    "     WHEN 'agreement_message' THEN EXISTS (SELECT 1 FROM hidden_messages h"
    "       WHERE h.agreement_message_id = c.subject_id)"
    "     WHEN 'engagement_message' THEN EXISTS (SELECT 1 FROM hidden_messages h"
    "       WHERE h.engagement_message_id = c.subject_id)"
    "     ELSE EXISTS (SELECT 1 FROM hidden_charter_versions h WHERE h.organisation_id = c.subject_id"
    "       AND h.version = c.subject_version) END,"
    "   'actions', coalesce((SELECT json_agg(aj ORDER BY a.id) FROM moderation_actions a"
    "     CROSS JOIN LATERAL moderation_action_json(a) aj WHERE a.subject_kind = c.subject_kind"
    "     AND a.subject_id = c.subject_id"
    "     AND coalesce(a.subject_version, 0) = coalesce(c.subject_version, 0)), '[]'::json)"
    " ))::text FROM moderation_cases c CROSS JOIN LATERAL moderation_case_json(c) j"
    " WHERE c.id = $1::bigint");

void handle_moderation_case(req_t *r)
{
    long long id;
    char idt[24];
    if (http_param_id(r, 0, &id, idt, sizeof idt) < 0) return;
    const char *params[1] = {idt};
    reply_one(r, &q_case, 1, params, 200, false, "item");
}

/* ---------- actions ---------- */

static db_stmt_t q_case_subject = DB_STMT("moderation_case_subject", true,
    "SELECT subject_kind, subject_id::text, subject_version::text FROM moderation_cases"
    " WHERE id = $1::bigint");
static db_stmt_t q_subject_id = DB_STMT("moderation_subject_id", true,
    "SELECT moderation_subject_id($1, $2, $3::int)::text");
static db_stmt_t q_apply = DB_STMT("moderation_apply", false,
    "SELECT m.outcome, m.action_id::text"
    " FROM moderation_apply($1::bigint, $2, $3, $4::bigint, $5::int, $6::bigint, $7) m");
/* A separate statement: the log row the function wrote is not in the
 * snapshot of the statement that called it. */
static db_stmt_t q_action = DB_STMT("moderation_action", false,
    "SELECT j::text FROM moderation_actions a CROSS JOIN LATERAL moderation_action_json(a) j"
    " WHERE a.id = $1::bigint");

/* The account an action would suspend: the subject's own (kind "account"). */
static bool suspension_allowed(req_t *r, const char *account_id, problem_t *p)
{
    char target_role[16];
    if (authz_instance_role(account_id, target_role, p) != 0) return false;
    bool self = strcmp(account_id, r->caller.account_id_text) == 0;
    if (authz_suspension_allows(r->instance_role, target_role, self)) return true;
    problem_fail(p, PROBLEM_FORBIDDEN,
                 self ? "Nobody suspends their own account."
                      : "This account holds an instance role: an administrator revokes it first.");
    return false;
}

/* {action, reason, case} or {action, reason, kind, target, version?}: what
 * the moderator does, to the thing of a case or to a thing named. */
void handle_moderation_act(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"action", "reason", "case", "kind", "target", "version",
                                         NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *action = validate_enum(body, "action", true, vocab_moderation_actions, &p);
    if (action && strstr(action, "_role"))
        problem_field(&p, "action", "roles are granted with PUT /api/v1/moderation/roles/{account_id}");
    else if (action && validate_in(action, vocab_curation_actions))
        problem_field(&p, "action", "the catalogue is curated with POST /api/v1/moderation/curation");
    else if (action && strstr(action, "block_instance"))
        problem_field(&p, "action", "instances are blocked with POST /api/v1/moderation/instance-blocks");
    else if (action && strstr(action, "verify"))
        problem_field(&p, "action", "organisations are verified with POST /api/v1/moderation/verifications");
    const char *reason = validate_string(body, "reason", true, 1, 2000, &p);
    long long case_id = 0, version = 0;
    bool by_case = json_object_get(body, "case") != NULL;
    validate_int(body, "case", false, 1, 9223372036854775807LL, &case_id, &p);
    const char *kind = NULL, *target = NULL;
    if (by_case) {
        if (json_object_get(body, "kind") || json_object_get(body, "target") ||
            json_object_get(body, "version"))
            problem_field(&p, "case", "names the thing already: leave kind, target and version out");
    } else {
        kind = validate_enum(body, "kind", true, vocab_moderation_subjects, &p);
        target = validate_string(body, "target", true, 1, 200, &p);
        validate_int(body, "version", kind && strcmp(kind, "charter_version") == 0, 1, 2147483647,
                     &version, &p);
    }
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    char case_text[24] = "", sid[24] = "", vtext[16] = "", kind_buf[24] = "";
    snprintf(case_text, sizeof case_text, "%lld", case_id);
    if (version) snprintf(vtext, sizeof vtext, "%lld", version);
    PGresult *res;
    if (by_case) {
        const char *cp[1] = {case_text};
        res = db_exec(&q_case_subject, 1, cp, &p);
        if (res && PQntuples(res) == 1) {
            snprintf(kind_buf, sizeof kind_buf, "%s", PQgetvalue(res, 0, 0));
            snprintf(sid, sizeof sid, "%s", PQgetvalue(res, 0, 1));
            snprintf(vtext, sizeof vtext, "%s", PQgetvalue(res, 0, 2));
            kind = kind_buf;
        }
    } else {
        const char *sp[3] = {kind, target, vtext[0] ? vtext : NULL};
        res = db_exec(&q_subject_id, 3, sp, &p);
        if (res && !PQgetisnull(res, 0, 0)) snprintf(sid, sizeof sid, "%s", PQgetvalue(res, 0, 0));
    }
    if (!res) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    PQclear(res);
    if (!sid[0]) {
        json_decref(body);
        http_fail(r, PROBLEM_NOT_FOUND,
                  "%s", by_case ? "No such case." : "There is no such thing to act on.");
        return;
    }
    if (strcmp(action, "suspend") == 0 && strcmp(kind, "account") == 0 &&
        !suspension_allowed(r, sid, &p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *ap[7] = {r->caller.account_id_text, action, kind, sid, vtext[0] ? vtext : NULL,
                         by_case ? case_text : NULL, reason};
    res = db_exec(&q_apply, 7, ap, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    const char *outcome = PQgetvalue(res, 0, 0);
    if (strcmp(outcome, "ok") == 0) {
        char aid[24];
        snprintf(aid, sizeof aid, "%s", PQgetvalue(res, 0, 1));
        PQclear(res);
        const char *gp[1] = {aid};
        res = db_exec(&q_action, 1, gp, &p);
        if (!res) {
            http_reply_problem(r, &p);
            return;
        }
        reply_row_json(r, 201, res, 0);
        return;
    }
    char detail[200];
    const char *colon = strchr(outcome, ':');
    snprintf(detail, sizeof detail, "%s", colon ? colon + 2 : outcome);
    bool conflict = strncmp(outcome, "conflict", 8) == 0;
    bool invalid = strncmp(outcome, "invalid", 7) == 0;
    PQclear(res);
    if (invalid) {
        problem_fail(&p, PROBLEM_INVALID, "%s.", detail);
        problem_field(&p, "action", "%s", detail);
        http_reply_problem(r, &p);
    } else if (conflict) {
        char d[220];
        snprintf(d, sizeof d, "Nothing done: %s.", detail);
        http_fail(r, PROBLEM_CONFLICT, "%s", d);
    } else {
        http_fail(r, PROBLEM_NOT_FOUND, "There is no such thing to act on.");
    }
}

/* ---------- the log, appeals, roles ---------- */

static db_stmt_t q_log = DB_STMT("moderation_log", true,
    "SELECT a.id::text, j::text FROM moderation_actions a"
    " CROSS JOIN LATERAL moderation_action_json(a) j"
    " WHERE a.id < coalesce($1::bigint, 9223372036854775807)"
    " ORDER BY a.id DESC LIMIT $2::int");

/* Newest first. */
void handle_moderation_log(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "moderation-log", CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[2] = {page_key(&pg, 0), pg.fetch};
    reply_page_or_problem(r, &pg, db_exec(&q_log, 2, params, &p), &p);
}

static db_stmt_t q_appeals = DB_STMT("moderation_appeals", true,
    "SELECT cursor_time(ap.created_at), a.id::text, j::text FROM moderation_appeals ap"
    " JOIN moderation_actions a ON a.id = ap.action_id"
    " CROSS JOIN LATERAL moderation_action_json(a) j WHERE ap.resolved_at IS NULL"
    " AND (ap.created_at, a.id) > (coalesce($1::timestamptz, '-infinity'), coalesce($2::bigint, 0))"
    " ORDER BY ap.created_at, a.id LIMIT $3::int");

/* The open appeals, oldest first, each with the action appealed. */
void handle_moderation_appeals(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "moderation-appeals", CURSOR_KEY_TIME CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[3] = {page_key(&pg, 0), page_key(&pg, 1), pg.fetch};
    reply_page_or_problem(r, &pg, db_exec(&q_appeals, 3, params, &p), &p);
}

static db_stmt_t q_roles = DB_STMT("instance_roles", true,
    "SELECT ir.account_id::text, j::text FROM instance_roles ir"
    " CROSS JOIN LATERAL instance_role_json(ir) j"
    " WHERE ir.account_id > coalesce($1::bigint, 0) ORDER BY ir.account_id LIMIT $2::int");

void handle_instance_roles(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "instance-roles", CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[2] = {page_key(&pg, 0), pg.fetch};
    reply_page_or_problem(r, &pg, db_exec(&q_roles, 2, params, &p), &p);
}

/* Grant or change a role, and log it. */
static db_stmt_t q_role_put = DB_STMT("instance_role_put", false,
    "WITH a AS (SELECT id, display_name FROM accounts WHERE id = $1::bigint AND deleted_at IS NULL),"
    " g AS (INSERT INTO instance_roles AS ir (account_id, role, granted_by)"
    "   SELECT id, $2, $3::bigint FROM a ON CONFLICT (account_id) DO UPDATE"
    "   SET role = excluded.role, granted_by = excluded.granted_by, granted_at = now()"
    "   RETURNING ir.*),"
    " l AS (INSERT INTO moderation_actions (moderator_id, action, subject_kind, subject_id,"
    "     subject_label, reason, affected)"
    "   SELECT $3::bigint, 'grant_role', 'account', a.id, a.display_name, 'granted ' || $2,"
    "     ARRAY[a.id] FROM a)"
    " SELECT j::text FROM g CROSS JOIN LATERAL instance_role_json(g) j");

void handle_instance_role_put(req_t *r)
{
    long long id;
    char idt[24];
    if (http_param_id(r, 0, &id, idt, sizeof idt) < 0) return;
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"role", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *role = validate_enum(body, "role", true, vocab_instance_roles, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    if (!authz_role_change_allows(r->instance_role, strcmp(idt, r->caller.account_id_text) == 0)) {
        json_decref(body);
        http_fail(r, PROBLEM_FORBIDDEN, "Nobody changes their own instance role.");
        return;
    }
    const char *params[3] = {idt, role, r->caller.account_id_text};
    reply_one(r, &q_role_put, 3, params, 200, false, "account");
    json_decref(body);
}

static db_stmt_t q_role_delete = DB_STMT("instance_role_delete", false,
    "WITH d AS (DELETE FROM instance_roles WHERE account_id = $1::bigint RETURNING *),"
    " l AS (INSERT INTO moderation_actions (moderator_id, action, subject_kind, subject_id,"
    "     subject_label, reason, affected)"
    "   SELECT $2::bigint, 'revoke_role', 'account', d.account_id,"
    "     (SELECT display_name FROM accounts WHERE id = d.account_id), 'revoked ' || d.role,"
    "     ARRAY[d.account_id] FROM d)"
    " SELECT count(*) FROM d");

void handle_instance_role_delete(req_t *r)
{
    long long id;
    char idt[24];
    if (http_param_id(r, 0, &id, idt, sizeof idt) < 0) return;
    if (!authz_role_change_allows(r->instance_role, strcmp(idt, r->caller.account_id_text) == 0)) {
        http_fail(r, PROBLEM_FORBIDDEN, "Nobody changes their own instance role.");
        return;
    }
    const char *params[2] = {idt, r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_role_delete, 2, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    bool gone = strcmp(PQgetvalue(res, 0, 0), "0") != 0;
    PQclear(res);
    if (!gone) {
        http_fail(r, PROBLEM_NOT_FOUND, "This account holds no instance role.");
        return;
    }
    http_reply_empty(r, 204);
}

/* ---------- what concerns me ---------- */

static db_stmt_t q_mine = DB_STMT("my_moderation", true,
    "SELECT a.id::text, j::text FROM moderation_actions a"
    " CROSS JOIN LATERAL moderation_notice_json(a) j"
    " WHERE a.affected @> ARRAY[$1::bigint]"
    "   AND a.id < coalesce($2::bigint, 9223372036854775807)"
    " ORDER BY a.id DESC LIMIT $3::int");

void handle_my_moderation(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "my-moderation", CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *params[3] = {r->caller.account_id_text, page_key(&pg, 0), pg.fetch};
    reply_page_or_problem(r, &pg, db_exec(&q_mine, 3, params, &p), &p);
}

/* Row: (concerns me, appeal written). */
static db_stmt_t q_appeal = DB_STMT("my_moderation_appeal", false,
    "WITH a AS (SELECT id FROM moderation_actions WHERE id = $1::bigint"
    "   AND affected @> ARRAY[$2::bigint] AND action IN ('hide', 'suspend')),"
    " i AS (INSERT INTO moderation_appeals (action_id, account_id, note)"
    "   SELECT id, $2::bigint, $3 FROM a ON CONFLICT (action_id) DO NOTHING RETURNING action_id)"
    " SELECT EXISTS (SELECT 1 FROM a), EXISTS (SELECT 1 FROM i)");
static db_stmt_t q_notice = DB_STMT("my_moderation_notice", true,
    "SELECT j::text FROM moderation_actions a CROSS JOIN LATERAL moderation_notice_json(a) j"
    " WHERE a.id = $1::bigint");

/* Once per action: a second appeal (by anyone it concerns) is a 409. */
void handle_my_moderation_appeal(req_t *r)
{
    long long id;
    char idt[24];
    if (http_param_id(r, 0, &id, idt, sizeof idt) < 0) return;
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"note", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *note = validate_string(body, "note", true, 1, 2000, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[3] = {idt, r->caller.account_id_text, note};
    PGresult *res = db_exec(&q_appeal, 3, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    bool mine = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
    bool written = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    PQclear(res);
    if (!mine) {
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such action concerns you.");
        return;
    }
    if (!written) {
        http_fail(r, PROBLEM_CONFLICT, "An action is appealed once.");
        return;
    }
    const char *np[1] = {idt};
    res = db_exec(&q_notice, 1, np, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 201, res, 0);
}

/* ---------- accounts and figures, for the administration pages ---------- */

/* Newest first; ?q= finds a part of the email or the name, any case. The
 * instance role is authz's (ADMIN_EMAILS wins over a row). */
static db_stmt_t q_accounts = DB_STMT("moderation_accounts", true,
    "SELECT a.id::text, j::text FROM accounts a"
    " CROSS JOIN LATERAL moderation_account_json(a, $2) j"
    " WHERE a.deleted_at IS NULL"
    "   AND ($1::text IS NULL OR strpos(lower(a.email), lower($1)) > 0"
    "        OR strpos(lower(a.display_name), lower($1)) > 0)"
    "   AND a.id < coalesce($3::bigint, 9223372036854775807)"
    " ORDER BY a.id DESC LIMIT $4::int");

void handle_moderation_accounts(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "moderation-accounts", CURSOR_KEY_ID) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *q = purposes_query_text(r, "q", 200, &p);
    if (problem_has_fields(&p)) {
        purposes_bad_query(r, &p);
        return;
    }
    const char *params[4] = {q, authz_admin_emails(), page_key(&pg, 0), pg.fetch};
    reply_page_or_problem(r, &pg, db_exec(&q_accounts, 4, params, &p), &p);
}

static db_stmt_t q_stats = DB_STMT("moderation_stats", true,
    "SELECT moderation_stats_json()::text");

void handle_moderation_stats(req_t *r)
{
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_stats, 0, NULL, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 200, res, 0);
}
