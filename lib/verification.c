/* verification: fetching an organisation's website for its token, and the
 * "verification_check" job that does it again every week. */
#include "verification.h"

#include <ctype.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"
#include "db.h"
#include "fetch.h"
#include "jobs.h"

void verification_token_new(char out[VERIFICATION_TOKEN_TEXT])
{
    char random[AUTH_TOKEN_TEXT];
    auth_token_new(random);
    snprintf(out, VERIFICATION_TOKEN_TEXT, "%s%s", VERIFICATION_TOKEN_PREFIX, random);
}

/* ---------- the meta tag ---------- */

static const char *skip_space(const char *q)
{
    while (*q && isspace((unsigned char)*q)) q++;
    return q;
}

static bool equals_nocase(const char *s, size_t n, const char *word)
{
    return n == strlen(word) && strncasecmp(s, word, n) == 0;
}

verification_meta_t verification_find_meta(const char *html, const char *token)
{
    verification_meta_t seen = VERIFICATION_META_NONE;
    size_t token_len = strlen(token);
    for (const char *s = strchr(html, '<'); s; s = strchr(s, '<')) {
        s++;
        if (strncasecmp(s, "meta", 4) != 0 || !(isspace((unsigned char)s[4]) || s[4] == '/')) continue;
        const char *q = s + 4;
        bool named = false;
        const char *content = NULL;
        size_t content_len = 0;
        for (;;) { /* attributes, up to '>' */
            while (*q == '/' || isspace((unsigned char)*q)) q++;
            if (!*q || *q == '>') break;
            const char *name = q;
            while (*q && !isspace((unsigned char)*q) && *q != '=' && *q != '>' && *q != '/') q++;
            size_t name_len = (size_t)(q - name);
            q = skip_space(q);
            const char *value = NULL;
            size_t value_len = 0;
            if (*q == '=') {
                q = skip_space(q + 1);
                if (*q == '"' || *q == '\'') {
                    char quote = *q++;
                    value = q;
                    while (*q && *q != quote) q++;
                    value_len = (size_t)(q - value);
                    if (*q) q++;
                } else {
                    value = q;
                    while (*q && !isspace((unsigned char)*q) && *q != '>') q++;
                    value_len = (size_t)(q - value);
                }
                while (value_len && isspace((unsigned char)*value)) value++, value_len--;
                while (value_len && isspace((unsigned char)value[value_len - 1])) value_len--;
            }
            if (equals_nocase(name, name_len, "name"))
                named = value && equals_nocase(value, value_len, "purposed-verification");
            else if (equals_nocase(name, name_len, "content") && value) {
                content = value;
                content_len = value_len;
            }
        }
        if (named) {
            if (content && content_len == token_len && memcmp(content, token, token_len) == 0)
                return VERIFICATION_META_MATCH;
            seen = VERIFICATION_META_OTHER;
        }
        if (!*q) break;
        s = q;
    }
    return seen;
}

/* ---------- fetching ---------- */

/* One place: true when it holds the token; said is what it held, in words. */
static bool check_place(const char *url, const char *token, bool page, char *said, size_t n)
{
    static const char *const headers[] = {"Accept: text/html, text/plain;q=0.9, */*;q=0.1", NULL};
    fetch_request_t req = {.url = url, .headers = headers, .timeout_ms = VERIFICATION_TIMEOUT_MS,
                           .max_bytes = VERIFICATION_MAX_BYTES, .max_redirects = 0};
    fetch_response_t res;
    memset(&res, 0, sizeof res);
    problem_t p;
    problem_init(&p);
    bool found = false;
    if (fetch(&req, &res, &p) < 0) {
        if (p.detail[0] && strstr(p.detail, url)) /* lib/fetch's words name the address */
            snprintf(said, n, "%s", p.detail);
        else
            snprintf(said, n, "%s could not be fetched: %s", url, p.detail[0] ? p.detail : "no answer.");
    } else if (res.status >= 300 && res.status < 400) {
        /* a long Location is cut: the place names the problem, not the whole address */
        snprintf(said, n, "%s answered %ld, a redirect%s%.256s, which is not followed: serve it at this address itself.",
                 url, res.status, res.location[0] ? " to " : "", res.location);
    } else if (res.status != 200) {
        snprintf(said, n, "%s answered %ld.", url, res.status);
    } else if (page) {
        switch (verification_find_meta(strbuf_str(&res.body), token)) {
        case VERIFICATION_META_MATCH:
            found = true;
            snprintf(said, n, "%s has the purposed-verification meta tag with the token.", url);
            break;
        case VERIFICATION_META_OTHER:
            snprintf(said, n, "%s has a purposed-verification meta tag with another token.", url);
            break;
        case VERIFICATION_META_NONE:
            snprintf(said, n, "%s has no purposed-verification meta tag.", url);
            break;
        }
    } else {
        found = strstr(strbuf_str(&res.body), token) != NULL;
        snprintf(said, n, found ? "%s holds the token." : "%s answered 200 without the token.", url);
    }
    fetch_response_free(&res);
    problem_clear(&p);
    return found;
}

int verification_check(const char *well_known_url, const char *page_url, const char *token,
                       verification_result_t *out)
{
    memset(out, 0, sizeof *out);
    char first[600], second[600];
    if (check_place(well_known_url, token, false, first, sizeof first)) {
        out->verified = true;
        out->method = "well_known";
        snprintf(out->detail, sizeof out->detail, "%s", first);
        return 0;
    }
    out->verified = check_place(page_url, token, true, second, sizeof second);
    if (out->verified) {
        out->method = "meta_tag";
        snprintf(out->detail, sizeof out->detail, "%s", second);
    } else {
        snprintf(out->detail, sizeof out->detail, "%s %s", first, second);
    }
    return 0;
}

/* ---------- the re-check job ---------- */

#define RECHECK_DAYS_TEXT(x) #x
#define RECHECK_TEXT(x) RECHECK_DAYS_TEXT(x)

/* The verification the job checks, unless the organisation was verified
 * again since (another job checks that one), lost it, or was verified by
 * hand (nothing on the website to check). */
static db_stmt_t s_load = DB_STMT("verification_job_load", true,
    "SELECT o.website, verification_well_known_url(o.website), v.token FROM organisations o"
    " JOIN organisation_verifications v ON v.organisation_id = o.id"
    " WHERE o.id = $1::bigint AND o.verification_method IN ('well_known', 'meta_tag')"
    "   AND (extract(epoch FROM o.verified_at) * 1000000)::bigint = $2::bigint"
    "   AND o.website IS NOT NULL");

/* Still there: the check is recorded and the next one queued. */
static db_stmt_t s_kept = DB_STMT("verification_job_kept", false,
    "WITH o AS (SELECT id, verified_at FROM organisations WHERE id = $1::bigint AND website = $2"
    "   AND (extract(epoch FROM verified_at) * 1000000)::bigint = $3::bigint FOR UPDATE),"
    " c AS (UPDATE organisation_verifications v SET checked_at = now(), check_outcome = 'verified',"
    "   check_detail = $4 FROM o WHERE v.organisation_id = o.id RETURNING 1)"
    " SELECT verification_recheck_enqueue(o.id, o.verified_at, $5::int, $6::int),"
    "   (SELECT count(*) FROM c) FROM o");

/* Not there, with tries left: recorded, the badge stays for now. */
static db_stmt_t s_missed = DB_STMT("verification_job_missed", false,
    "UPDATE organisation_verifications SET checked_at = now(), check_outcome = 'not_verified',"
    " check_detail = $2 WHERE organisation_id = $1::bigint");

/* Not there after the last try: the badge goes and the owners are told. */
static db_stmt_t s_lost = DB_STMT("verification_job_lost", false,
    "WITH o AS (UPDATE organisations SET verified_at = NULL, verification_method = NULL,"
    "   version = version + 1"
    "   WHERE id = $1::bigint AND verification_method IN ('well_known', 'meta_tag')"
    "     AND (extract(epoch FROM verified_at) * 1000000)::bigint = $2::bigint"
    "   RETURNING id, slug, name),"
    " c AS (UPDATE organisation_verifications v SET checked_at = now(), check_outcome = 'not_verified',"
    "   check_detail = $3 FROM o WHERE v.organisation_id = o.id RETURNING 1),"
    " n AS (INSERT INTO notifications (account_id, kind, message, payload)"
    "   SELECT m.account_id, 'moderation', left('The website of ' || o.name || ' no longer shows its"
    " verification token, so the organisation is no longer marked verified. ' || $3, 1000),"
    "     jsonb_build_object('organisation', o.slug, 'verification', 'removed')"
    "   FROM o JOIN memberships m ON m.organisation_id = o.id AND m.role = 'owner' RETURNING 1)"
    " SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM c), (SELECT count(*) FROM n)");

static job_outcome_t recheck_run(const job_t *job, char *err, size_t errlen)
{
    json_t *org = json_object_get(job->payload, "organisation_id");
    json_t *since = json_object_get(job->payload, "since");
    if (!json_is_integer(org) || !json_is_integer(since)) {
        snprintf(err, errlen, "the payload names no organisation_id and since");
        return JOB_FAIL;
    }
    char org_text[24], since_text[24];
    snprintf(org_text, sizeof org_text, "%lld", (long long)json_integer_value(org));
    snprintf(since_text, sizeof since_text, "%lld", (long long)json_integer_value(since));
    problem_t p;
    problem_init(&p);
    const char *lp[2] = {org_text, since_text};
    PGresult *r = db_exec(&s_load, 2, lp, &p);
    if (!r) goto database;
    if (PQntuples(r) != 1) { /* verified again, unverified or verified by hand since */
        PQclear(r);
        return JOB_DONE;
    }
    char *website = strdup(PQgetvalue(r, 0, 0));
    char *well_known = strdup(PQgetvalue(r, 0, 1));
    char *token = strdup(PQgetvalue(r, 0, 2));
    PQclear(r);
    if (!website || !well_known || !token) {
        free(website), free(well_known), free(token);
        snprintf(err, errlen, "out of memory");
        return JOB_RETRY;
    }
    if (jobs_stopping()) {
        free(website), free(well_known), free(token);
        return JOB_RELEASE;
    }
    verification_result_t res;
    verification_check(well_known, website, token, &res);
    job_outcome_t outcome;
    if (res.verified) {
        const char *kp[6] = {org_text, website, since_text, res.detail,
                             RECHECK_TEXT(VERIFICATION_RECHECK_DAYS), RECHECK_TEXT(VERIFICATION_RECHECK_ATTEMPTS)};
        r = db_exec(&s_kept, 6, kp, &p);
        outcome = JOB_DONE;
    } else if (job->attempts < job->max_attempts) {
        const char *mp[2] = {org_text, res.detail};
        r = db_exec(&s_missed, 2, mp, &p);
        snprintf(err, errlen, "%s", res.detail);
        outcome = JOB_RETRY;
    } else {
        const char *xp[3] = {org_text, since_text, res.detail};
        r = db_exec(&s_lost, 3, xp, &p);
        snprintf(err, errlen, "the badge was removed: %s", res.detail);
        outcome = JOB_FAIL;
    }
    free(website), free(well_known), free(token);
    if (!r) goto database;
    PQclear(r);
    return outcome;
database:
    snprintf(err, errlen, "%s", p.detail[0] ? p.detail : "the database failed");
    problem_clear(&p);
    return JOB_RETRY;
}

int verification_start(void) { return jobs_register("verification_check", recheck_run); }
