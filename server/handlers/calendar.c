/* calendar: the personal iCalendar feed (RFC 5545) of an account's
 * agreements, at the secret address /feeds/calendar/{token}.ics, the same
 * token as the personal Atom feed (POST /api/v1/me/notifications/feed makes
 * it; revoking it closes both). All-day events: the start and the review
 * date of the terms in force (or proposed) of every proposed or active
 * agreement, and the day a concluded one ended; as agent and as member. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "db.h"
#include "feeds.h"
#include "handlers.h"
#include "strbuf.h"

/* One row per event: uid, date (YYYYMMDD), the day after, summary,
 * agreement id, stamp (UTC). Newest agreements first, at most 500 events. */
static db_stmt_t q_calendar = DB_STMT("calendar_events", true,
    "WITH mine AS ("
    "  SELECT x.id FROM agreements x JOIN agents g ON g.id = x.agent_id WHERE g.account_id = $1::bigint"
    "  UNION SELECT x.id FROM agreements x JOIN memberships m ON m.organisation_id = x.organisation_id"
    "  WHERE m.account_id = $1::bigint),"
    " ag AS (SELECT a.id, a.status, a.updated_at, v.role, v.starts_on, v.review_on, o.name AS org,"
    "   acc.display_name AS agent, (SELECT min(c.closed_at) FROM agreement_closures c"
    "     WHERE c.agreement_id = a.id)::date AS ended"
    "  FROM agreements a JOIN mine ON mine.id = a.id"
    "  JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = agreement_shown_version(a)"
    "  JOIN organisations o ON o.id = a.organisation_id"
    "  JOIN agents g ON g.id = a.agent_id JOIN accounts acc ON acc.id = g.account_id"
    "  WHERE a.status IN ('proposed', 'active', 'concluded')),"
    " ev AS ("
    "  SELECT id, 'start' AS k, starts_on AS d, format('Starts: %s (%s and %s)%s', role, agent, org,"
    "    CASE WHEN status = 'proposed' THEN ', if agreed' ELSE '' END) AS s, updated_at FROM ag"
    "   WHERE status <> 'concluded'"
    "  UNION ALL SELECT id, 'review', review_on, format('Review: %s (%s and %s)', role, agent, org),"
    "   updated_at FROM ag WHERE status <> 'concluded' AND review_on IS NOT NULL"
    "  UNION ALL SELECT id, 'end', ended, format('Concluded: %s (%s and %s)', role, agent, org),"
    "   updated_at FROM ag WHERE status = 'concluded' AND ended IS NOT NULL)"
    " SELECT 'agreement-' || id || '-' || k, to_char(d, 'YYYYMMDD'), to_char(d + 1, 'YYYYMMDD'), s,"
    "  id::text, to_char(updated_at AT TIME ZONE 'UTC', 'YYYYMMDD\"T\"HH24MISS\"Z\"')"
    " FROM ev ORDER BY id DESC, d LIMIT 500");

/* A content line: NAME:value with TEXT escaped (\\ \; \, \n), folded at 75
 * octets without splitting a UTF-8 character, CRLF-terminated. */
static void ics_line(strbuf_t *sb, const char *name, const char *value, bool text)
{
    strbuf_addstr(sb, name);
    strbuf_addch(sb, ':');
    size_t used = strlen(name) + 1;
    const unsigned char *c = (const unsigned char *)value;
    while (*c) {
        char piece[4];
        size_t n;
        if (text && (*c == '\\' || *c == ';' || *c == ',' || *c == '\n')) {
            piece[0] = '\\';
            piece[1] = *c == '\n' ? 'n' : (char)*c;
            n = 2;
            c++;
        } else if (*c < 0x20) {
            c++; /* other control characters have no place in a line */
            continue;
        } else {
            size_t want = *c >= 0xF0 ? 4 : *c >= 0xE0 ? 3 : *c >= 0xC0 ? 2 : 1;
            for (n = 0; n < want && c[n]; n++) piece[n] = (char)c[n];
            c += n;
        }
        if (used + n > 75) {
            strbuf_addstr(sb, "\r\n ");
            used = 1;
        }
        strbuf_add(sb, piece, n);
        used += n;
    }
    strbuf_addstr(sb, "\r\n");
}

void handle_calendar_feed(req_t *r)
{
    const char *params[1] = {r->caller.account_id_text};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_calendar, 1, params, &p);
    if (!res) {
        http_reply_problem(r, &p);
        return;
    }
    char base[600];
    feeds_base_url(r, base, sizeof base);
    const char *host = strstr(base, "://");
    host = host ? host + 3 : "purposed";
    strbuf_t sb = STRBUF_INIT;
    ics_line(&sb, "BEGIN", "VCALENDAR", false);
    ics_line(&sb, "VERSION", "2.0", false);
    ics_line(&sb, "PRODID", "-//Purposed//Agreements//EN", false);
    ics_line(&sb, "CALSCALE", "GREGORIAN", false);
    ics_line(&sb, "X-WR-CALNAME", "Purposed agreements", true);
    for (int i = 0; i < PQntuples(res); i++) {
        char uid[400], url[800];
        snprintf(uid, sizeof uid, "%s@%s", PQgetvalue(res, i, 0), host);
        snprintf(url, sizeof url, "%s/agreements/%s", base, PQgetvalue(res, i, 4));
        ics_line(&sb, "BEGIN", "VEVENT", false);
        ics_line(&sb, "UID", uid, false);
        ics_line(&sb, "DTSTAMP", PQgetvalue(res, i, 5), false);
        ics_line(&sb, "DTSTART;VALUE=DATE", PQgetvalue(res, i, 1), false);
        ics_line(&sb, "DTEND;VALUE=DATE", PQgetvalue(res, i, 2), false);
        ics_line(&sb, "SUMMARY", PQgetvalue(res, i, 3), true);
        ics_line(&sb, "URL", url, false);
        ics_line(&sb, "TRANSP", "TRANSPARENT", false);
        ics_line(&sb, "END", "VEVENT", false);
    }
    ics_line(&sb, "END", "VCALENDAR", false);
    PQclear(res);
    size_t len = 0;
    char *text = strbuf_detach(&sb, &len);
    if (!text) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    /* a secret address, as the personal Atom feed */
    feeds_cache_control(r, true, 300);
    http_add_header(r, "X-Robots-Tag", "noindex");
    http_reply_text(r, 200, "text/calendar; charset=utf-8", text, len);
}
