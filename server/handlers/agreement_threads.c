/* agreement_threads: what accumulates under one agreement besides its terms:
 * the conversation between its two sides (messages, what each account has
 * read) and the hours given (logged by one side, confirmed or disputed by
 * the other, in sum and as CSV). Both are append-only (migration 0028);
 * each new message, entry and answer notifies the other side, and so is
 * mailed (migration 0022), and is a link of the agreement's hash-chained
 * history (lib/chain.h, migration 0031), made in the same transaction with
 * the agreement's row locked. The pipeline has checked the caller is a
 * party: r->agreement.side is the side it acts for. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "agreement_sql.h"
#include "chain.h"
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"
#include "strbuf.h"
#include "validate.h"
#include "vocab.h"

#define MESSAGE_MAX_CHARS 5000
#define HOURS_NOTE_MAX_CHARS 1000

/* The role of the terms the agreement is known by (in force, else the
 * latest proposed), for the notifications' "the agreement \"%s\"". Needs up. */
#define UP_ROLE                                                                              \
    "(SELECT v.role FROM agreements x JOIN agreement_versions v ON v.agreement_id = x.id"    \
    "  AND v.version = coalesce(x.active_version, x.terms_version) WHERE x.id = up.id)"

static const char *caller_side(const req_t *r)
{
    return agreement_side_name(r->agreement.side);
}

/* One write of a message or hours entry and its link in the agreement's
 * history (lib/chain.h), in one transaction: the statement locks the
 * agreement's row, so links are appended one writer at a time. The
 * statement's result, or NULL with p set and nothing written. */
static db_stmt_t q_federated = DB_STMT("agreement_thread_federated", false,
    "SELECT 1 FROM agreements WHERE id = $1::bigint AND federated_uri IS NOT NULL");

static PGresult *chained_write(const char *agreement_id, db_stmt_t *stmt, int n,
                               const char *const *params, problem_t *p)
{
    /* An agreement across instances keeps one chain on both (docs/federation.md):
     * messages and hours do not travel, so they are not written on one side. */
    const char *fp[1] = {agreement_id};
    PGresult *fed = db_exec(&q_federated, 1, fp, p);
    if (!fed) return NULL;
    int federated = PQntuples(fed);
    PQclear(fed);
    if (federated) {
        problem_fail(p, PROBLEM_CONFLICT,
                     "This agreement is with a party on another instance: messages and hours "
                     "are not exchanged across instances (yet), and the record both keep must "
                     "stay the same.");
        return NULL;
    }
    if (db_begin(p) < 0) return NULL;
    PGresult *res = db_exec(stmt, n, params, p);
    if (res && (chain_append(CHAIN_AGREEMENT, agreement_id, p) < 0 || db_commit(p) < 0)) {
        PQclear(res);
        res = NULL;
    }
    if (!res) db_rollback();
    return res;
}

/* ---------- messages ---------- */

/* Newest first; with how far the caller has read and how many messages of
 * the other side are after that (one row even when the page is empty). $3
 * the cursor's id (NULL on the first page), $4 limit + 1, $5 whether the
 * caller moderates (reads the messages a moderator hid). */
static db_stmt_t q_messages = DB_STMT("agreement_messages", true,
    "SELECT pg.id::text, pg.j::text, u.unread, lr.last_read FROM"
    " (SELECT coalesce((SELECT r.last_read_id FROM agreement_message_reads r"
    "   WHERE r.agreement_id = $1::bigint AND r.account_id = $2::bigint), 0) AS last_read) lr"
    " CROSS JOIN LATERAL (SELECT count(*) AS unread FROM agreement_messages m"
    "   WHERE m.agreement_id = $1::bigint AND m.id > lr.last_read AND m.author_id <> $2::bigint) u"
    " LEFT JOIN LATERAL (SELECT m.id, j FROM agreement_messages m"
    "   CROSS JOIN LATERAL agreement_message_json(m, $2::bigint, $5::boolean) j"
    "   WHERE m.agreement_id = $1::bigint"
    "   AND m.id < coalesce($3::bigint, 9223372036854775807) ORDER BY m.id DESC LIMIT $4::int) pg"
    " ON true ORDER BY pg.id DESC");

void handle_agreement_messages(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "agreement-messages", CURSOR_KEY_ID) < 0) return;
    bool moderator;
    if (moderation_caller_moderates(r, &moderator) < 0) return;
    const char *params[5] = {r->resource_id, r->caller.account_id_text, page_key(&pg, 0), pg.fetch,
                             moderator ? "t" : "f"};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_messages, 5, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    char extra[96];
    snprintf(extra, sizeof extra, "\"unread\":%lld,\"last_read_id\":%lld",
             PQntuples(res) >= 1 ? strtoll(PQgetvalue(res, 0, 2), NULL, 10) : 0LL,
             PQntuples(res) >= 1 ? strtoll(PQgetvalue(res, 0, 3), NULL, 10) : 0LL);
    page_reply(r, &pg, res, extra);
}

/* The writer has read the thread up to its own message; the other side is
 * notified, with the start of the message as the note. */
static db_stmt_t q_message_create = DB_STMT("agreement_message_create", false,
    "WITH up AS (SELECT a.id, a.organisation_id, a.agent_id, a.status FROM agreements a"
    "  WHERE a.id = $1::bigint FOR UPDATE),"
    " msg AS (INSERT INTO agreement_messages (agreement_id, side, author_id, body)"
    "  SELECT up.id, $3::text, $2::bigint, $4 FROM up RETURNING *),"
    " seen AS (INSERT INTO agreement_message_reads (agreement_id, account_id, last_read_id)"
    "  SELECT msg.agreement_id, msg.author_id, msg.id FROM msg"
    "  ON CONFLICT (agreement_id, account_id) DO UPDATE SET read_at = now(),"
    "   last_read_id = greatest(agreement_message_reads.last_read_id, EXCLUDED.last_read_id)),"
    NOTIFY("$3::text", "$2::bigint", "'agreement_message'", "'wrote about'", UP_ROLE,
           "left($4, 280)")
    " SELECT msg.id::text, j::text FROM msg"
    " CROSS JOIN LATERAL agreement_message_json(ROW(msg.*)::agreement_messages, $2::bigint, false) j");

void handle_agreement_message_create(req_t *r)
{
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    const char *text = validate_message_body(body, MESSAGE_MAX_CHARS, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[4] = {r->resource_id, r->caller.account_id_text, caller_side(r), text};
    PGresult *res = chained_write(r->resource_id, &q_message_create, 4, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) == 1) {
        char location[96];
        snprintf(location, sizeof location, "/api/v1/agreements/%s/messages/%s", r->resource_id,
                 PQgetvalue(res, 0, 0));
        http_add_header(r, "Location", location);
    }
    reply_row_json(r, 201, res, 1);
}

/* Read up to up_to (NULL: every message so far); the thread's message
 * notifications up to there are read too. */
static db_stmt_t q_messages_read = DB_STMT("agreement_messages_read", false,
    "WITH upto AS (SELECT coalesce($3::bigint, (SELECT max(m.id) FROM agreement_messages m"
    "   WHERE m.agreement_id = $1::bigint), 0) AS id),"
    " seen AS (INSERT INTO agreement_message_reads (agreement_id, account_id, last_read_id)"
    "  SELECT $1::bigint, $2::bigint, upto.id FROM upto"
    "  ON CONFLICT (agreement_id, account_id) DO UPDATE SET read_at = now(),"
    "   last_read_id = greatest(agreement_message_reads.last_read_id, EXCLUDED.last_read_id)"
    "  RETURNING last_read_id),"
    " marked AS (UPDATE notifications n SET read_at = now() WHERE n.account_id = $2::bigint"
    "  AND n.agreement_id = $1::bigint AND n.kind = 'agreement_message' AND n.read_at IS NULL"
    "  AND ($3::bigint IS NULL OR n.created_at <= (SELECT m.created_at FROM agreement_messages m"
    "   WHERE m.id = $3::bigint AND m.agreement_id = $1::bigint))"
    "  RETURNING 1)"
    "SELECT json_build_object('last_read_id', s.last_read_id,"
    " 'unread', (SELECT count(*) FROM agreement_messages m WHERE m.agreement_id = $1::bigint"
    "   AND m.id > s.last_read_id AND m.author_id <> $2::bigint),"
    " 'notifications_marked', (SELECT count(*) FROM marked))::text FROM seen s");

void handle_agreement_messages_read(req_t *r)
{
    json_t *body = http_take_body(r);
    problem_t p;
    problem_init(&p);
    char up_to[24] = "";
    if (body) {
        static const char *const fields[] = {"up_to", NULL};
        validate_known_fields(body, fields, &p);
        long long id = 0;
        if (validate_int(body, "up_to", false, 1, 9223372036854775807LL, &id, &p))
            snprintf(up_to, sizeof up_to, "%lld", id);
        json_decref(body);
    }
    if (problem_has_fields(&p)) {
        http_reply_problem(r, &p);
        return;
    }
    const char *params[3] = {r->resource_id, r->caller.account_id_text, up_to[0] ? up_to : NULL};
    PGresult *res = db_exec(&q_messages_read, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    reply_row_json(r, 200, res, 0);
}

/* ---------- hours ---------- */

/* Newest first, with the totals (one row even when the page is empty). */
static db_stmt_t q_hours = DB_STMT("agreement_hours", true,
    "SELECT pg.id::text, pg.j::text, t::text FROM agreements a"
    " CROSS JOIN LATERAL agreement_hours_totals_json(a) t"
    " LEFT JOIN LATERAL (SELECT h.id, j FROM agreement_hours h CROSS JOIN LATERAL agreement_hours_json(h) j"
    "  WHERE h.agreement_id = a.id AND h.id < coalesce($2::bigint, 9223372036854775807)"
    "  ORDER BY h.id DESC LIMIT $3::int) pg ON true"
    " WHERE a.id = $1::bigint ORDER BY pg.id DESC");

void handle_agreement_hours(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "agreement-hours", CURSOR_KEY_ID) < 0) return;
    const char *params[3] = {r->resource_id, page_key(&pg, 0), pg.fetch};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_hours, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) < 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such agreement.");
        return;
    }
    strbuf_t extra;
    strbuf_init(&extra, 128);
    strbuf_addstr(&extra, "\"totals\":");
    strbuf_addstr(&extra, PQgetvalue(res, 0, 2));
    char *text = strbuf_detach(&extra, NULL);
    if (!text) {
        PQclear(res);
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    page_reply(r, &pg, res, text);
    free(text);
}

/* Logged under an agreement whose terms are in force (active, also while
 * an amendment awaits consent), for a day that has come. Answers whether it
 * could be, and the entry when it was. */
static db_stmt_t q_hours_log = DB_STMT("agreement_hours_log", false,
    "WITH a0 AS (SELECT a.id, a.organisation_id, a.agent_id, a.status,"
    "   agreement_standing(a) = 'active' AS open, $4::date <= current_date AS past"
    "  FROM agreements a WHERE a.id = $1::bigint FOR UPDATE),"
    " up AS (SELECT id, organisation_id, agent_id, status FROM a0 WHERE open AND past),"
    " h AS (INSERT INTO agreement_hours (agreement_id, worked_on, hours, note, side, logged_by)"
    "  SELECT up.id, $4::date, $5::numeric, coalesce($6, ''), $3::text, $2::bigint FROM up"
    "  RETURNING *),"
    NOTIFY("$3::text", "$2::bigint", "'agreement_hours_logged'",
           "format('logged %s hours on %s for', $5::numeric, to_char($4::date, 'YYYY-MM-DD'))",
           UP_ROLE, "nullif($6, '')")
    " SELECT a0.open, a0.past, (SELECT h.id::text FROM h),"
    "  (SELECT j::text FROM h CROSS JOIN LATERAL agreement_hours_json(ROW(h.*)::agreement_hours) j)"
    " FROM a0");

void handle_agreement_hours_log(req_t *r)
{
    json_t *body = http_take_body(r);
    static const char *const fields[] = {"worked_on", "hours", "note", NULL};
    problem_t p;
    problem_init(&p);
    validate_known_fields(body, fields, &p);
    const char *worked_on = validate_string(body, "worked_on", true, 1, 32, &p);
    if (worked_on && !validate_date(worked_on)) {
        problem_field(&p, "worked_on", "must be a date YYYY-MM-DD");
        worked_on = NULL;
    }
    double hours = 0;
    char hours_text[32] = "";
    if (validate_number(body, "hours", true, 0.25, 24, &hours, &p)) {
        /* quarter hours: what a person logs, and what numeric(4,2) holds exactly */
        double quarters = hours * 4;
        if (quarters != (double)(long long)quarters)
            problem_field(&p, "hours", "must be in quarter hours (0.25, 0.5, 1.75…)");
        else
            snprintf(hours_text, sizeof hours_text, "%.2f", hours);
    }
    const char *note = validate_string_or_null(body, "note", HOURS_NOTE_MAX_CHARS, NULL, &p);
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[6] = {r->resource_id, r->caller.account_id_text, caller_side(r), worked_on,
                             hours_text, note};
    PGresult *res = chained_write(r->resource_id, &q_hours_log, 6, params, &p);
    json_decref(body);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such agreement.");
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
        PQclear(res);
        http_fail(r, PROBLEM_CONFLICT,
                      "Hours are logged while the agreement is in force; this one is not.");
        return;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        PQclear(res);
        problem_field(&p, "worked_on", "must not be in the future");
        http_reply_problem(r, &p);
        return;
    }
    char location[96];
    snprintf(location, sizeof location, "/api/v1/agreements/%s/hours/%s", r->resource_id,
             PQgetvalue(res, 0, 2));
    http_add_header(r, "Location", location);
    reply_row_json(r, 201, res, 3);
}

/* The other side's answer to entry $2 of agreement $1, once. Answers
 * whether the entry exists, the side that logged it, and whether the answer
 * was recorded now. */
static db_stmt_t q_hours_decide = DB_STMT("agreement_hours_decide", false,
    "WITH e AS (SELECT h.id, h.side, h.hours, h.worked_on, a.id AS agreement_id, a.organisation_id,"
    "   a.agent_id, a.status FROM agreement_hours h JOIN agreements a ON a.id = h.agreement_id"
    "  WHERE h.id = $2::bigint AND h.agreement_id = $1::bigint FOR UPDATE OF h, a),"
    " d AS (INSERT INTO agreement_hours_decisions (entry_id, outcome, side, note, decided_by)"
    "  SELECT e.id, $5::text, $4::text, coalesce($6, ''), $3::bigint FROM e WHERE e.side <> $4::text"
    "  ON CONFLICT (entry_id) DO NOTHING RETURNING entry_id),"
    " up AS (SELECT e.agreement_id AS id, e.organisation_id, e.agent_id, e.status FROM e"
    "  WHERE EXISTS (SELECT 1 FROM d)),"
    NOTIFY("$4::text", "$3::bigint", "'agreement_hours_' || $5::text",
           "format('%s %s hours of %s on', $5::text, (SELECT e.hours FROM e),"
           " (SELECT to_char(e.worked_on, 'YYYY-MM-DD') FROM e))", UP_ROLE, "nullif($6, '')")
    " SELECT e.side, EXISTS (SELECT 1 FROM d) FROM e");

static db_stmt_t q_hours_entry = DB_STMT("agreement_hours_entry", false,
    "SELECT j::text FROM agreement_hours h CROSS JOIN LATERAL agreement_hours_json(h) j"
    " WHERE h.id = $1::bigint");

static void hours_decide(req_t *r, const char *outcome)
{
    long long entry = 0;
    char entry_text[24];
    if (http_param_id(r, 1, &entry, entry_text, sizeof entry_text) < 0) return;
    json_t *body = http_take_body(r);
    bool dispute = strcmp(outcome, "disputed") == 0;
    problem_t p;
    problem_init(&p);
    const char *note = NULL;
    if (body) {
        static const char *const fields[] = {"note", NULL};
        validate_known_fields(body, fields, &p);
        note = dispute ? validate_string(body, "note", true, 1, HOURS_NOTE_MAX_CHARS, &p)
                       : validate_string_or_null(body, "note", HOURS_NOTE_MAX_CHARS, NULL, &p);
    } else if (dispute) {
        problem_field(&p, "note", "is required: say what is wrong with these hours");
    }
    if (problem_has_fields(&p)) {
        json_decref(body);
        http_reply_problem(r, &p);
        return;
    }
    const char *params[6] = {r->resource_id, entry_text, r->caller.account_id_text, caller_side(r),
                             outcome, note};
    PGresult *res = NULL;
    if (db_begin(&p) < 0) goto fail;
    res = db_exec(&q_hours_decide, 6, params, &p);
    json_decref(body);
    body = NULL;
    if (!res) goto fail;
    if (PQntuples(res) != 1) {
        problem_fail(&p, PROBLEM_NO_SUCH_ITEM, "No such hours entry in this agreement.");
        goto fail;
    }
    if (strcmp(PQgetvalue(res, 0, 0), caller_side(r)) == 0) {
        problem_fail(&p, PROBLEM_CONFLICT,
                     "Your side logged these hours: the other side confirms or disputes them.");
        goto fail;
    }
    if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        problem_fail(&p, PROBLEM_CONFLICT, "These hours were already confirmed or disputed.");
        goto fail;
    }
    PQclear(res);
    res = NULL;
    /* the answer joins the agreement's history with it */
    if (chain_append(CHAIN_AGREEMENT, r->resource_id, &p) < 0) goto fail;
    const char *ep[1] = {entry_text};
    res = db_exec(&q_hours_entry, 1, ep, &p);
    if (!res || db_commit(&p) < 0) goto fail;
    reply_row_json(r, 200, res, 0);
    return;
fail:
    PQclear(res);
    json_decref(body);
    db_rollback();
    http_reply_problem(r, &p);
}

void handle_agreement_hours_confirm(req_t *r) { hours_decide(r, vocab_hours_outcomes[0]); }
void handle_agreement_hours_dispute(req_t *r) { hours_decide(r, vocab_hours_outcomes[1]); }

/* ---------- hours as CSV ---------- */

static db_stmt_t q_hours_csv = DB_STMT("agreement_hours_csv", true,
    "SELECT to_char(h.worked_on, 'YYYY-MM-DD'), h.hours::text, coalesce(d.outcome, 'awaiting'),"
    " h.side, la.display_name, h.note, coalesce(d.side, ''), coalesce(da.display_name, ''),"
    " coalesce(d.note, ''), to_char(h.logged_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    " FROM agreement_hours h JOIN accounts la ON la.id = h.logged_by"
    " LEFT JOIN agreement_hours_decisions d ON d.entry_id = h.id"
    " LEFT JOIN accounts da ON da.id = d.decided_by"
    " WHERE h.agreement_id = $1::bigint ORDER BY h.worked_on, h.id");

/* One CSV field (RFC 4180): quoted when it holds a comma, quote or line
 * break; text a spreadsheet would run as a formula gets a leading '. */
static void csv_field(strbuf_t *sb, const char *s, bool last)
{
    bool formula = s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' || s[0] == '\t' ||
                   s[0] == '\r';
    bool quote = formula || strpbrk(s, ",\"\r\n") != NULL;
    if (quote) strbuf_addch(sb, '"');
    if (formula) strbuf_addch(sb, '\'');
    for (const char *c = s; *c; c++) {
        if (*c == '"') strbuf_addch(sb, '"');
        strbuf_addch(sb, *c);
    }
    if (quote) strbuf_addch(sb, '"');
    strbuf_addstr(sb, last ? "\r\n" : ",");
}

void handle_agreement_hours_csv(req_t *r)
{
    const char *params[1] = {r->resource_id};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_hours_csv, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    static const char *const header[] = {"worked_on", "hours", "status", "logged_by_side",
        "logged_by", "note", "answered_by_side", "answered_by", "answer_note", "logged_at"};
    const int ncols = (int)(sizeof header / sizeof header[0]);
    strbuf_t sb;
    strbuf_init(&sb, 256 + (size_t)PQntuples(res) * 96);
    for (int c = 0; c < ncols; c++) csv_field(&sb, header[c], c == ncols - 1);
    for (int row = 0; row < PQntuples(res); row++)
        for (int c = 0; c < ncols; c++) csv_field(&sb, PQgetvalue(res, row, c), c == ncols - 1);
    PQclear(res);
    size_t len = 0;
    char *csv = strbuf_detach(&sb, &len);
    if (!csv) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    char disposition[96];
    snprintf(disposition, sizeof disposition, "attachment; filename=\"agreement-%s-hours.csv\"",
             r->resource_id);
    http_add_header(r, "Content-Disposition", disposition);
    http_reply_text(r, 200, "text/csv; charset=utf-8", csv, len);
}
