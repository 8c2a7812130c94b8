/* fed_remote: remote organisations and their engagements as rows of
 * organisations and engagements (migration 0043, docs/federation.md). */
#define _GNU_SOURCE /* strptime */
#include "fed_remote.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "chain.h"
#include "db.h"
#include "jobs.h"
#include "log.h"
#include "strbuf.h"
#include "utf8.h"
#include "validate.h"
#include "vocab.h"

#define AS_JSON "application/activity+json"

static const char *jstr(const json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* An object given inline or by its id. */
static const char *ref_id(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : jstr(v, "id");
}

/* Does url live where the actor does (same scheme and authority)? A server
 * speaks only for its own objects. */
static bool same_origin(const char *url, const char *actor_uri)
{
    if (!url || strlen(url) >= FEDERATION_URI_MAX) return false;
    const char *s = strstr(actor_uri, "://");
    if (!s) return false;
    const char *end = strchr(s + 3, '/');
    size_t n = end ? (size_t)(end - actor_uri) : strlen(actor_uri);
    return !strncmp(url, actor_uri, n) && (url[n] == '/' || url[n] == '\0' || url[n] == '?' ||
                                            url[n] == '#');
}

char *fed_remote_html_text(const char *html)
{
    strbuf_t b;
    strbuf_init(&b, strlen(html) + 1);
    static const struct { const char *e; char c; } ents[] = {
        {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}};
    for (const char *c = html; *c;) {
        if (*c == '<') {
            if (!strncasecmp(c, "</p>", 4) && c[4]) strbuf_addstr(&b, "\n\n");
            if (!strncasecmp(c, "<br", 3)) strbuf_addch(&b, '\n');
            const char *end = strchr(c, '>');
            if (!end) break;
            c = end + 1;
            continue;
        }
        bool done = false;
        for (size_t i = 0; *c == '&' && i < sizeof ents / sizeof ents[0]; i++)
            if (!strncmp(c, ents[i].e, strlen(ents[i].e))) {
                strbuf_addch(&b, ents[i].c);
                c += strlen(ents[i].e);
                done = true;
                break;
            }
        if (!done) strbuf_addch(&b, *c++);
    }
    char *text = strbuf_detach(&b, NULL);
    return text ? text : strdup("");
}

/* s cut to at most max bytes (whole characters), malloc'd; NULL stays NULL. */
static char *cut(const char *s, size_t max)
{
    if (!s) return NULL;
    size_t n = utf8_prefix(s, strlen(s), max);
    char *out = malloc(n + 1);
    if (!out) return NULL;
    memcpy(out, s, n);
    out[n] = '\0';
    return out;
}

/* A JSON array of the strings of arr (each cut to max_chars, empty ones and
 * duplicates left out, at most max_items), for a statement's text[]; keep()
 * filters when given. malloc'd. */
static char *string_list(const json_t *arr, size_t max_items, size_t max_chars,
                         bool (*keep)(const char *))
{
    json_t *out = json_array();
    size_t i;
    const json_t *v;
    json_array_foreach(arr, i, v) {
        const char *s = json_string_value(v);
        if (!s || json_array_size(out) >= max_items) continue;
        char *c = cut(s, max_chars);
        bool dup = false;
        size_t j;
        const json_t *w;
        json_array_foreach(out, j, w) dup = dup || (c && !strcmp(json_string_value(w), c));
        if (c && *c && !dup && (!keep || keep(c))) json_array_append_new(out, json_string(c));
        free(c);
    }
    char *text = json_dumps(out, JSON_COMPACT);
    json_decref(out);
    return text;
}

static bool is_packaging(const char *s) { return validate_in(s, vocab_packagings); }

/* A date-time a sender gave ("2026-12-07T04:00:00.123Z…", read as UTC to
 * the microsecond), written out again so PostgreSQL takes it whatever it was
 * ("02-31" is read as March): out, or NULL when it reads as none. */
static const char *timestamp(const char *s, char *out, size_t cap)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    const char *rest = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (!rest) return NULL;
    char fraction[8] = "";
    if (rest[0] == '.') /* the fraction of a second, at most six digits */
        for (size_t i = 0; i < 6 && rest[i + 1] >= '0' && rest[i + 1] <= '9'; i++) {
            fraction[0] = '.';
            fraction[i + 1] = rest[i + 1];
        }
    time_t t = timegm(&tm);
    char second[32];
    if (!gmtime_r(&t, &tm) || tm.tm_year < 0 || tm.tm_year > 8000 ||
        !strftime(second, sizeof second, "%Y-%m-%dT%H:%M:%S", &tm))
        return NULL;
    snprintf(out, cap, "%s%sZ", second, fraction);
    return out;
}

/* The skills of a Page: its Hashtag tags, without their "#". */
static char *skills_of(const json_t *o)
{
    json_t *names = json_array();
    size_t i;
    const json_t *t;
    json_array_foreach(json_object_get(o, "tag"), i, t) {
        const char *type = jstr(t, "type"), *name = jstr(t, "name");
        if (type && !strcmp(type, "Hashtag") && name)
            json_array_append_new(names, json_string(name[0] == '#' ? name + 1 : name));
    }
    char *text = string_list(names, 30, 60, NULL);
    json_decref(names);
    return text;
}

/* The purposes of an object, by catalogue slug ([{slug, name}] or [slug]). */
static char *purpose_slugs(const json_t *o)
{
    json_t *slugs = json_array();
    size_t i;
    const json_t *pu;
    json_array_foreach(json_object_get(o, "purposes"), i, pu) {
        const char *slug = json_is_string(pu) ? json_string_value(pu) : jstr(pu, "slug");
        if (slug) json_array_append_new(slugs, json_string(slug));
    }
    char *text = string_list(slugs, 10, 64, validate_slug);
    json_decref(slugs);
    return text;
}

/* A place given as an ActivityStreams Place ({name}) or as text. */
static const char *place_name(const json_t *v)
{
    return json_is_string(v) ? json_string_value(v) : jstr(v, "name");
}

/* ---------- engagements ---------- */

#define TEXT_ARRAY(N) "ARRAY(SELECT json_array_elements_text(" N "::json))"

/* One statement: the organisation of the actor (made when it has none yet;
 * none when the actor is no Group or Organization),
 * the engagement put by its origin_uri (only ever by the actor that sent it
 * first), and its purposes those of this catalogue the object names. */
static db_stmt_t q_take = DB_STMT("fed_remote_take", false,
    "WITH org AS (SELECT x.id FROM (SELECT remote_organisation($1::bigint) AS id"
    "   WHERE EXISTS (SELECT 1 FROM remote_follows f WHERE f.actor_id = $1::bigint)) x"
    "   WHERE x.id IS NOT NULL),"
    " wanted AS (SELECT p.id FROM purposes p"
    "   WHERE p.slug IN (SELECT json_array_elements_text($20::json)) AND purpose_offered(p)),"
    " e AS (INSERT INTO engagements AS e (organisation_id, origin_uri, origin_url, title,"
    "     description, packagings, hours_per_week, duration_weeks, skills, location, remote_ok,"
    "     cash_min, cash_max, cash_currency, cash_period, non_cash, status, closes_on, created_at)"
    "   SELECT org.id, $2, $3, $4, $5, " TEXT_ARRAY("$6") ", $7::int, $8::int, " TEXT_ARRAY("$9")
    "     , $10, coalesce($11::boolean, false), $12::numeric, $13::numeric, $14, $15, "
    TEXT_ARRAY("$16") ", $17, $18::date, least(coalesce($19::timestamptz, now()), now()) FROM org"
    "   ON CONFLICT (origin_uri) DO UPDATE SET origin_url = EXCLUDED.origin_url,"
    "     title = EXCLUDED.title, description = EXCLUDED.description,"
    "     packagings = EXCLUDED.packagings, hours_per_week = EXCLUDED.hours_per_week,"
    "     duration_weeks = EXCLUDED.duration_weeks, skills = EXCLUDED.skills,"
    "     location = EXCLUDED.location, remote_ok = EXCLUDED.remote_ok,"
    "     cash_min = EXCLUDED.cash_min, cash_max = EXCLUDED.cash_max,"
    "     cash_currency = EXCLUDED.cash_currency, cash_period = EXCLUDED.cash_period,"
    "     non_cash = EXCLUDED.non_cash, status = EXCLUDED.status, closes_on = EXCLUDED.closes_on,"
    "     version = e.version + 1, updated_at = now()"
    "   WHERE e.organisation_id = EXCLUDED.organisation_id"
    "   RETURNING e.id),"
    " gone AS (DELETE FROM engagement_purposes ep USING e WHERE ep.engagement_id = e.id"
    "   AND ep.purpose_id NOT IN (SELECT id FROM wanted)),"
    " added AS (INSERT INTO engagement_purposes (engagement_id, purpose_id)"
    "   SELECT e.id, w.id FROM e, wanted w ON CONFLICT DO NOTHING)"
    " SELECT count(*) FROM e");

/* cash {min, max, currency, period} within the columns' rules, else none */
static bool cash_of(const json_t *cash, char *min, char *max, size_t cap, const char **currency,
                    const char **period)
{
    const json_t *lo = json_object_get(cash, "min"), *hi = json_object_get(cash, "max");
    const char *cur = jstr(cash, "currency"), *per = jstr(cash, "period");
    double l = json_number_value(lo), h = json_number_value(hi);
    if (!json_is_number(lo) || !json_is_number(hi) || l < 0 || h < l || h > 9999999999.0 ||
        !cur || strlen(cur) != 3 || !per || !validate_in(per, vocab_cash_periods))
        return false;
    for (const char *c = cur; *c; c++)
        if (*c < 'A' || *c > 'Z') return false;
    snprintf(min, cap, "%.2f", l);
    snprintf(max, cap, "%.2f", h);
    *currency = cur;
    *period = per;
    return true;
}

int fed_remote_take_engagement(const federation_actor_t *a, const json_t *o, problem_t *p)
{
    const char *id = jstr(o, "id"), *name = jstr(o, "name"), *type = jstr(o, "type");
    const char *by = ref_id(json_object_get(o, "attributedTo"));
    const json_t *hours = json_object_get(o, "hoursPerWeek");
    /* an engagement of the sender's, with what a row of engagements needs */
    if (!type || strcmp(type, "Page") != 0 || !same_origin(id, a->uri) || !name || !*name ||
        !by || strcmp(by, a->uri) != 0 || !json_is_integer(hours) ||
        json_integer_value(hours) < 1 || json_integer_value(hours) > 80)
        return 0;
    char *packagings = string_list(json_object_get(o, "packagings"), 5, 20, is_packaging);
    if (!packagings || !strcmp(packagings, "[]")) {
        free(packagings);
        return 0;
    }
    const json_t *url = json_object_get(o, "url");
    const char *home = json_is_string(url) && same_origin(json_string_value(url), a->uri)
                           ? json_string_value(url) : id;
    char *title = cut(name, 200);
    char *text = fed_remote_html_text(jstr(o, "content") ? jstr(o, "content") : "");
    char *description = cut(*text ? text : name, 10000);
    free(text);
    const char *status = jstr(o, "engagementStatus");
    if (!status || !validate_in(status, vocab_engagement_statuses)) status = "open";
    char hours_text[8], duration[8] = "", actor_id[24], min[32], max[32], published[40];
    snprintf(hours_text, sizeof hours_text, "%d", (int)json_integer_value(hours));
    const json_t *weeks = json_object_get(o, "durationWeeks");
    if (json_is_integer(weeks) && json_integer_value(weeks) >= 1 && json_integer_value(weeks) <= 520)
        snprintf(duration, sizeof duration, "%d", (int)json_integer_value(weeks));
    snprintf(actor_id, sizeof actor_id, "%lld", a->id);
    char *skills = skills_of(o);
    char *location = cut(place_name(json_object_get(o, "location")), 200);
    const json_t *remote = json_object_get(o, "remoteOk");
    const json_t *rewards = json_object_get(o, "rewards");
    const char *currency = NULL, *period = NULL;
    bool cash = cash_of(json_object_get(rewards, "cash"), min, max, sizeof min, &currency, &period);
    char *non_cash = string_list(json_object_get(rewards, "nonCash"), 20, 200, NULL);
    const char *closes = jstr(o, "closesOn");
    char *purposes = purpose_slugs(o);
    const char *params[20] = {
        actor_id, id, home, title, description, packagings, hours_text,
        duration[0] ? duration : NULL, skills, location && *location ? location : NULL,
        json_is_boolean(remote) ? db_bool(json_is_true(remote)) : NULL, cash ? min : NULL,
        cash ? max : NULL, cash ? currency : NULL, cash ? period : NULL, non_cash, status,
        closes && validate_date(closes) ? closes : NULL, timestamp(jstr(o, "published"), published, sizeof published), purposes};
    int rc = 0;
    if (!title || !description || !skills || !non_cash || !purposes) {
        rc = problem_fail(p, PROBLEM_INTERNAL, "Out of memory.");
    } else {
        PGresult *res = db_exec(&q_take, 20, params, p);
        if (!res) rc = problem_rc(p);
        else rc = PQgetvalue(res, 0, 0)[0] == '1' ? 1 : 0;
        PQclear(res);
    }
    free(packagings);
    free(title);
    free(description);
    free(skills);
    free(location);
    free(non_cash);
    free(purposes);
    return rc;
}

static db_stmt_t q_close = DB_STMT("fed_remote_close", false,
    "UPDATE engagements e SET status = 'closed', version = e.version + 1, updated_at = now()"
    " FROM organisations o WHERE e.origin_uri = $1 AND o.id = e.organisation_id"
    "   AND o.remote_actor_id = $2::bigint AND e.status <> 'closed'");

int fed_remote_close_engagement(const federation_actor_t *a, const char *object_uri, problem_t *p)
{
    char actor_id[24];
    snprintf(actor_id, sizeof actor_id, "%lld", a->id);
    const char *params[2] = {object_uri, actor_id};
    PGresult *res = db_exec(&q_close, 2, params, p);
    if (!res) return problem_rc(p);
    PQclear(res);
    return 0;
}

/* ---------- the organisation: document, charter, open engagements ---------- */

static db_stmt_t q_refresh_later = DB_STMT("fed_remote_refresh_later", false,
    "SELECT job_enqueue('remote_organisation', jsonb_build_object('actor_id', $1::bigint))"
    " WHERE EXISTS (SELECT 1 FROM remote_follows f WHERE f.actor_id = $1::bigint)");

int fed_remote_refresh_later(long long actor_id, problem_t *p)
{
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", actor_id);
    const char *params[1] = {idtext};
    PGresult *res = db_exec(&q_refresh_later, 1, params, p);
    if (!res) return problem_rc(p);
    PQclear(res);
    return 0;
}

static db_stmt_t q_followed_actor = DB_STMT("fed_remote_followed_actor", false,
    "SELECT a.uri FROM remote_actors a JOIN remote_follows f ON f.actor_id = a.id"
    " WHERE a.id = $1::bigint");

/* The organisation as its document says, its charter versions (append-only:
 * a version kept is never changed), its purposes known here, and the local
 * people who follow it as followers of its row (matching's "follows"). */
static db_stmt_t q_org_ensure = DB_STMT("fed_remote_org_ensure", false,
    "SELECT remote_organisation($1::bigint)");
/* the row made by q_org_ensure before: a row made in this same statement
 * would be out of its UPDATE's sight */
static db_stmt_t q_org_put = DB_STMT("fed_remote_org_put", false,
    "WITH org AS (SELECT id FROM organisations WHERE remote_actor_id = $1::bigint),"
    " versions AS (SELECT (v->>'version')::int AS version,"
    "     left(v->>'purpose_statement', 5000) AS statement,"
    "     left(coalesce(v->>'association_norms', ''), 10000) AS norms,"
    "     left(v->>'change_note', 1000) AS note, (v->>'changed_at')::timestamptz AS at"
    "   FROM json_array_elements($9::json) v),"
    " ch AS (INSERT INTO organisation_charters (organisation_id, version, purpose_statement,"
    "     association_norms, change_note, changed_at)"
    "   SELECT org.id, v.version, v.statement, v.norms, v.note, least(coalesce(v.at, now()), now())"
    "   FROM org, versions v ON CONFLICT DO NOTHING),"
    " newest AS (SELECT * FROM versions ORDER BY version DESC LIMIT 1),"
    " wanted AS (SELECT p.id FROM purposes p"
    "   WHERE p.slug IN (SELECT json_array_elements_text($8::json)) AND purpose_offered(p)),"
    " u AS (UPDATE organisations o SET name = $2,"
    "     purpose_statement = coalesce((SELECT statement FROM newest), $3),"
    "     association_norms = coalesce((SELECT norms FROM newest), o.association_norms),"
    "     charter_version = coalesce((SELECT version FROM newest), o.charter_version),"
    "     legal_form = coalesce($4, o.legal_form), governance = coalesce($5, o.governance),"
    "     website = $6, location = $7, version = o.version + 1, updated_at = now()"
    "   FROM org WHERE o.id = org.id RETURNING o.id),"
    " gone AS (DELETE FROM organisation_purposes op USING org WHERE op.organisation_id = org.id"
    "   AND op.purpose_id NOT IN (SELECT id FROM wanted)),"
    " added AS (INSERT INTO organisation_purposes (organisation_id, purpose_id)"
    "   SELECT org.id, w.id FROM org, wanted w ON CONFLICT DO NOTHING),"
    " followers AS (INSERT INTO follows (agent_id, organisation_id)"
    "   SELECT g.id, org.id FROM org, remote_follows f"
    "   JOIN remote_follow_people rp ON rp.remote_follow_id = f.id"
    "   JOIN agents g ON g.account_id = rp.account_id"
    "   WHERE f.actor_id = $1::bigint ON CONFLICT DO NOTHING)"
    " SELECT (SELECT id FROM u)::text");

/* The versions of a charter collection (an OrderedCollection of the
 * versions, newest first, inline or in pages: first, next), as the JSON
 * array q_org_put reads. At most FED_REMOTE_MAX_CHARTER versions. */
static json_t *charter_versions(const char *url, const char *actor_uri, char *err, size_t errlen)
{
    json_t *out = json_array();
    problem_t p;
    problem_init(&p);
    json_t *page = federation_fetch_json(url, AS_JSON, &p);
    for (int pages = 0; page && pages < 50; pages++) {
        const json_t *first = json_object_get(page, "first");
        const json_t *items = json_object_get(page, "orderedItems");
        if (!items && ref_id(first)) {
            /* a collection that pages: its first page */
            char next[FEDERATION_URI_MAX];
            snprintf(next, sizeof next, "%s", ref_id(first));
            json_decref(page);
            page = same_origin(next, actor_uri) ? federation_fetch_json(next, AS_JSON, &p) : NULL;
            continue;
        }
        size_t i;
        const json_t *v;
        json_array_foreach(items, i, v) {
            const json_t *version = json_object_get(v, "version");
            const char *statement = jstr(v, "purposeStatement");
            if (!json_is_integer(version) || json_integer_value(version) < 1 ||
                json_integer_value(version) > 1000000 || !statement || !*statement ||
                json_array_size(out) >= FED_REMOTE_MAX_CHARTER)
                continue;
            /* plain text, as the organisation wrote it (not HTML) */
            const char *norms = jstr(v, "associationNorms");
            char at[40];
            json_array_append_new(out, json_pack("{s:O, s:s, s:s, s:s?, s:s?}", "version", version,
                                                 "purpose_statement", statement,
                                                 "association_norms", norms ? norms : "",
                                                 "change_note", jstr(v, "changeNote"), "changed_at",
                                                 timestamp(jstr(v, "published"), at, sizeof at)));
        }
        const char *next = ref_id(json_object_get(page, "next"));
        char next_url[FEDERATION_URI_MAX] = "";
        if (next && same_origin(next, actor_uri) && json_array_size(out) < FED_REMOTE_MAX_CHARTER)
            snprintf(next_url, sizeof next_url, "%s", next);
        json_decref(page);
        page = next_url[0] ? federation_fetch_json(next_url, AS_JSON, &p) : NULL;
    }
    json_decref(page);
    if (p.status) {
        snprintf(err, errlen, "%s", p.detail);
        json_decref(out);
        out = NULL;
    }
    problem_clear(&p);
    return out;
}

/* The open engagements of the organisation's outbox (Create activities),
 * kept as if they had been delivered: a follow sees what was posted before. */
static int outbox_engagements(const federation_actor_t *a, const char *url, char *err,
                              size_t errlen)
{
    problem_t p;
    problem_init(&p);
    json_t *box = federation_fetch_json(url, AS_JSON, &p);
    const json_t *first = json_object_get(box, "first");
    if (box && !json_object_get(box, "orderedItems") && ref_id(first) &&
        same_origin(ref_id(first), a->uri)) {
        char next[FEDERATION_URI_MAX];
        snprintf(next, sizeof next, "%s", ref_id(first));
        json_decref(box);
        box = federation_fetch_json(next, AS_JSON, &p);
    }
    int rc = 0;
    size_t i;
    const json_t *act;
    json_array_foreach(json_object_get(box, "orderedItems"), i, act) {
        const char *type = jstr(act, "type");
        const json_t *object = json_object_get(act, "object");
        if (i >= FED_REMOTE_MAX_OUTBOX) break;
        if (!type || strcmp(type, "Create") != 0 || !json_is_object(object)) continue;
        if ((rc = fed_remote_take_engagement(a, object, &p)) < 0) break;
    }
    if (!box || rc < 0) {
        snprintf(err, errlen, "%s", p.detail);
        rc = -1;
    }
    json_decref(box);
    problem_clear(&p);
    return rc < 0 ? -1 : 0;
}

static job_outcome_t organisation_run(const job_t *job, char *err, size_t errlen)
{
    json_t *id = json_object_get(job->payload, "actor_id");
    if (!json_is_integer(id)) {
        snprintf(err, errlen, "the job names no actor");
        return JOB_FAIL;
    }
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)json_integer_value(id));
    const char *params[9] = {idtext};
    problem_t p;
    problem_init(&p);
    PGresult *res = db_exec(&q_followed_actor, 1, params, &p);
    if (!res || PQntuples(res) == 0) {
        /* nobody here follows it (any more): nothing to keep */
        snprintf(err, errlen, "%s", res ? "not followed" : p.detail);
        PQclear(res);
        problem_clear(&p);
        return res ? JOB_DONE : JOB_RETRY;
    }
    char uri[FEDERATION_URI_MAX];
    snprintf(uri, sizeof uri, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    federation_actor_t a;
    json_t *doc = NULL;
    if (federation_actor_fetch_doc(uri, &a, &doc, &p) < 0) {
        snprintf(err, errlen, "%s", p.detail);
        /* a document that is no actor will not become one by asking again */
        job_outcome_t outcome = p.status == 422 ? JOB_FAIL : JOB_RETRY;
        problem_clear(&p);
        federation_actor_clear(&a);
        return outcome;
    }
    json_t *versions = NULL;
    const char *charter = jstr(doc, "charter");
    if (charter && same_origin(charter, a.uri) &&
        !(versions = charter_versions(charter, a.uri, err, errlen))) {
        json_decref(doc);
        federation_actor_clear(&a);
        return JOB_RETRY;
    }
    char *name = cut(a.name[0] ? a.name : a.username[0] ? a.username : a.uri, 200);
    char *summary = fed_remote_html_text(jstr(doc, "summary") ? jstr(doc, "summary") : "");
    char *statement = cut(*summary ? summary : name, 5000);
    const char *legal = jstr(doc, "legalForm"), *governance = jstr(doc, "governance");
    const char *website = jstr(doc, "website");
    char *site = cut(website && (!strncmp(website, "https://", 8) || !strncmp(website, "http://", 7))
                         ? website : NULL, 500);
    char *location = cut(place_name(json_object_get(doc, "location")), 200);
    char *purposes = purpose_slugs(doc);
    char *versions_text = versions ? json_dumps(versions, JSON_COMPACT) : strdup("[]");
    params[1] = name;
    params[2] = statement;
    params[3] = legal && validate_in(legal, vocab_legal_forms) ? legal : NULL;
    params[4] = governance && validate_in(governance, vocab_governances) ? governance : NULL;
    params[5] = site;
    params[6] = location && *location ? location : NULL;
    params[7] = purposes;
    params[8] = versions_text;
    job_outcome_t outcome = JOB_DONE;
    res = db_exec(&q_org_ensure, 1, params, &p);
    PQclear(res);
    res = res && name && statement && purposes && versions_text
              ? db_exec(&q_org_put, 9, params, &p) : NULL;
    if (!res) {
        snprintf(err, errlen, "%s", p.status ? p.detail : "out of memory");
        outcome = JOB_RETRY;
    } else if (!PQgetisnull(res, 0, 0)) {
        problem_t cp;
        problem_init(&cp);
        /* the copies join a charter chain of this instance's, as local versions do */
        if (chain_sync(CHAIN_CHARTER, PQgetvalue(res, 0, 0), &cp) < 0)
            log_event("warn", "charter_chain_pending", cp.detail);
        problem_clear(&cp);
    }
    PQclear(res);
    problem_clear(&p);
    const char *outbox = jstr(doc, "outbox");
    if (outcome == JOB_DONE && outbox && same_origin(outbox, a.uri) &&
        outbox_engagements(&a, outbox, err, errlen) < 0)
        outcome = JOB_RETRY;
    free(name);
    free(summary);
    free(statement);
    free(site);
    free(location);
    free(purposes);
    free(versions_text);
    json_decref(versions);
    json_decref(doc);
    federation_actor_clear(&a);
    return outcome;
}

/* ---------- sending: an organisation of this instance changed ---------- */

/* Its actor's id, version and the inboxes of its remote followers (a shared
 * inbox once). */
static db_stmt_t q_org_followers = DB_STMT("fed_remote_org_followers", false,
    "SELECT o.slug, o.version, i.inbox FROM organisations o"
    " CROSS JOIN LATERAL (SELECT DISTINCT coalesce(a.shared_inbox, a.inbox) AS inbox"
    "   FROM remote_followers f JOIN remote_actors a ON a.id = f.actor_id"
    "   WHERE f.organisation_id = o.id) i"
    " WHERE o.id = $1::bigint AND o.remote_actor_id IS NULL AND o.hidden_at IS NULL");

/* An Update of the organisation's Group to each remote follower's inbox; the
 * object is named by its id (and type): a receiver fetches the actor and its
 * charter again. All deliveries in one transaction, or none. */
static job_outcome_t federate_organisation_run(const job_t *job, char *err, size_t errlen)
{
    json_t *id = json_object_get(job->payload, "organisation_id");
    if (!json_is_integer(id)) {
        snprintf(err, errlen, "the job names no organisation");
        return JOB_FAIL;
    }
    if (!federation_base()[0]) {
        snprintf(err, errlen, "PUBLIC_URL is not set: this instance does not federate");
        return JOB_FAIL;
    }
    char idtext[24];
    snprintf(idtext, sizeof idtext, "%lld", (long long)json_integer_value(id));
    const char *params[1] = {idtext};
    problem_t p;
    problem_init(&p);
    if (db_begin(&p) < 0) {
        snprintf(err, errlen, "%s", p.detail);
        problem_clear(&p);
        return JOB_RETRY;
    }
    PGresult *res = db_exec(&q_org_followers, 1, params, &p);
    int rc = res ? 0 : -1;
    for (int i = 0; res && rc == 0 && i < PQntuples(res); i++) {
        char actor[700], followers[800], update_id[900];
        federation_actor_uri("organisation", PQgetvalue(res, i, 0), actor, sizeof actor);
        snprintf(followers, sizeof followers, "%s/ap/organisations/%s/followers",
                 federation_base(), PQgetvalue(res, i, 0));
        snprintf(update_id, sizeof update_id, "%s#updates/%s", actor, PQgetvalue(res, i, 1));
        json_t *update = json_pack("{s:s, s:s, s:s, s:s, s:[s], s:[s], s:{s:s, s:s}}", "@context",
                                   "https://www.w3.org/ns/activitystreams", "id", update_id,
                                   "type", "Update", "actor", actor, "to",
                                   "https://www.w3.org/ns/activitystreams#Public", "cc", followers,
                                   "object", "id", actor, "type", "Group");
        rc = federation_enqueue(update, PQgetvalue(res, i, 2), "organisation",
                                json_integer_value(id), actor, &p);
        json_decref(update);
    }
    PQclear(res);
    if (rc < 0 || db_commit(&p) < 0) {
        if (rc < 0) db_rollback();
        snprintf(err, errlen, "%s", p.detail);
        problem_clear(&p);
        return JOB_RETRY;
    }
    return JOB_DONE;
}

int fed_remote_start(void)
{
    return jobs_register("remote_organisation", organisation_run) == 0 &&
                   jobs_register("federate_organisation", federate_organisation_run) == 0
               ? 0 : -1;
}
