/* skills: the shared catalogue of skills (migration 0015) — suggestions as
 * people type, in key order. A skill joins the catalogue when a profile or
 * an engagement first names it; merged and retired skills (curation.c) are
 * offered no more. */
#include "common.h"
#include "db.h"
#include "handlers.h"
#include "page.h"

/* $1 the prefix as typed (its key is compared), $2 the cursor's key, $3
 * limit + 1. The prefix is a LIKE pattern with its wildcards escaped; in
 * the "C" collation the key's index serves both the prefix and the order.
 * Planned per call, so that the pattern is a constant the index seeks on. */
static db_stmt_t q_skills_list = DB_STMT_CUSTOM_PLAN("skills_list", true,
    "SELECT s.key, j::text FROM skill_catalogue s CROSS JOIN LATERAL skill_json(s) j"
    " WHERE s.merged_into IS NULL AND s.retired_at IS NULL"
    "   AND ($1::text IS NULL OR s.key COLLATE \"C\" LIKE"
    "     replace(replace(replace(skill_key($1::text), '\\', '\\\\'), '%', '\\%'), '_', '\\_')"
    "     || '%')"
    "   AND s.key COLLATE \"C\" > coalesce($2::text, '')"
    " ORDER BY s.key COLLATE \"C\" LIMIT $3::int");

void handle_skills_list(req_t *r)
{
    page_t pg;
    if (page_read(r, &pg, "skills", CURSOR_KEY_TEXT) < 0) return;
    problem_t p;
    problem_init(&p);
    const char *prefix = purposes_query_text(r, "prefix", 100, &p);
    if (problem_has_fields(&p)) {
        purposes_bad_query(r, &p);
        return;
    }
    const char *params[3] = {prefix, page_key(&pg, 0), pg.fetch};
    PGresult *res = db_exec(&q_skills_list, 3, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    page_reply(r, &pg, res, NULL);
}
