/* outbox: one mail job -> one message, sent, stored or refused. */
#include "outbox.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "letters.h"
#include "log.h"
#include "mail.h"
#include "secrets.h"

static struct {
    char smtp_url[1024];
    mail_tls_t tls;
    char user[256], password[256];
    int timeout_s;
    char from_name[256], from_address[256];
    char mail_dir[1024];
    char base[600];
    int digest_interval_s;
} g;

/* Per template (lib/letters.h letters_templates, the last slot for any
 * other name): messages sent or stored, temporary failures to be tried
 * again, messages failed for good (this daemon's counts). */
#define OUTBOX_TEMPLATES 16
static struct {
    atomic_ulong sent, retried, failed;
} g_counts[OUTBOX_TEMPLATES + 1];
static atomic_ulong g_suppressed;

/* Count the outcome of a mail job under its template; returns it. A
 * temporary failure on the last attempt is a failure (lib/jobs ends it). */
static job_outcome_t count(const char *template_name, job_outcome_t out, const job_t *job)
{
    int i = 0;
    while (letters_templates[i] && i < OUTBOX_TEMPLATES &&
           !(template_name && strcmp(letters_templates[i], template_name) == 0))
        i++;
    if (!letters_templates[i] || i >= OUTBOX_TEMPLATES) i = OUTBOX_TEMPLATES;
    if (out == JOB_DONE) atomic_fetch_add(&g_counts[i].sent, 1);
    else if (out == JOB_FAIL || (out == JOB_RETRY && job->attempts >= job->max_attempts))
        atomic_fetch_add(&g_counts[i].failed, 1);
    else if (out == JOB_RETRY) atomic_fetch_add(&g_counts[i].retried, 1);
    return out;
}

static db_stmt_t s_suppressed = DB_STMT("outbox_suppressed", true,
    "SELECT reason FROM mail_suppressions WHERE email = lower(btrim($1))");
static db_stmt_t s_suppress = DB_STMT("outbox_suppress", true,
    "INSERT INTO mail_suppressions (email, reason, job_id) VALUES (lower(btrim($1)), left($2, 1000), $3)"
    " ON CONFLICT (email) DO UPDATE SET reason = EXCLUDED.reason, job_id = EXCLUDED.job_id,"
    " created_at = now()");

int outbox_start(const config_t *cfg)
{
    snprintf(g.smtp_url, sizeof g.smtp_url, "%s", cfg->smtp_curl_url);
    g.tls = (mail_tls_t)cfg->smtp_tls;
    snprintf(g.user, sizeof g.user, "%s", cfg->smtp_user);
    snprintf(g.password, sizeof g.password, "%s", cfg->smtp_password);
    g.timeout_s = cfg->smtp_timeout_s;
    snprintf(g.from_name, sizeof g.from_name, "%s", cfg->mail_from_name);
    snprintf(g.from_address, sizeof g.from_address, "%s", cfg->mail_from_address);
    snprintf(g.mail_dir, sizeof g.mail_dir, "%s", cfg->mail_dir);
    g.digest_interval_s = cfg->digest_interval_s;
    if (cfg->public_url[0])
        snprintf(g.base, sizeof g.base, "%s", cfg->public_url);
    else
        snprintf(g.base, sizeof g.base, "http://%s:%d",
                 strcmp(cfg->listen_address, "0.0.0.0") == 0 || strcmp(cfg->listen_address, "127.0.0.1") == 0
                     ? "localhost" : cfg->listen_address, cfg->port);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return -1;
    char msg[1200];
    if (g.smtp_url[0])
        snprintf(msg, sizeof msg, "mail goes through %s%s", g.smtp_url,
                 g.tls == MAIL_TLS_NONE ? " (no TLS)" : g.tls == MAIL_TLS_OPTIONAL ? " (STARTTLS if offered)" : "");
    else
        snprintf(msg, sizeof msg, "no SMTP_URL: mail is kept in %s/ as .eml files", g.mail_dir);
    log_event("info", "mail_configured", msg);
    return jobs_register("mail", outbox_deliver) == 0 && jobs_register("digest", outbox_digest) == 0
               ? 0 : -1;
}

void outbox_unsubscribe_token(char *out, size_t cap, long long account_id, const char *kind,
                              const char *key)
{
    char subject[96];
    snprintf(subject, sizeof subject, "%lld.%s", account_id, kind);
    unsigned char mac[16];
    crypto_generichash(mac, sizeof mac, (const unsigned char *)subject, strlen(subject),
                       (const unsigned char *)key, strlen(key) < crypto_generichash_KEYBYTES_MAX
                                                        ? strlen(key) : crypto_generichash_KEYBYTES_MAX);
    char hex[33];
    sodium_bin2hex(hex, sizeof hex, mac, sizeof mac);
    snprintf(out, cap, "%s.%s", subject, hex);
}

int outbox_unsubscribe_check(const char *token, const char *key, long long *account_id,
                             char *kind, size_t kindcap)
{
    if (!token || strlen(token) >= OUTBOX_UNSUBSCRIBE_TOKEN_MAX) return -1;
    char *end = NULL;
    long long id = strtoll(token, &end, 10);
    if (id <= 0 || !end || *end != '.') return -1;
    const char *k = end + 1, *dot = strchr(k, '.');
    if (!dot || dot == k || (size_t)(dot - k) >= kindcap || dot - k > 64) return -1;
    for (const char *c = k; c < dot; c++)
        if (!((*c >= 'a' && *c <= 'z') || *c == '_')) return -1;
    char want[OUTBOX_UNSUBSCRIBE_TOKEN_MAX + 64], kindbuf[65];
    snprintf(kindbuf, sizeof kindbuf, "%.*s", (int)(dot - k), k);
    outbox_unsubscribe_token(want, sizeof want, id, kindbuf, key);
    if (strlen(want) != strlen(token) || sodium_memcmp(want, token, strlen(token)) != 0) return -1;
    *account_id = id;
    snprintf(kind, kindcap, "%s", kindbuf);
    return 0;
}

static void log_mail(const char *event, const job_t *job, const char *template_name, const char *detail)
{
    json_t *o = json_pack("{s:s, s:I, s:s}", "event", event, "job", (json_int_t)job->id, "template",
                          template_name);
    if (o && detail) json_object_set_new(o, "detail", json_string(detail));
    if (o) log_json("info", o);
}

job_outcome_t outbox_deliver(const job_t *job, char *err, size_t errlen)
{
    const char *to = json_string_value(json_object_get(job->payload, "to"));
    const char *template_name = json_string_value(json_object_get(job->payload, "template"));
    if (!to || !template_name || !mail_address_valid(to)) {
        snprintf(err, errlen, "a mail job needs \"to\" (an address) and \"template\"");
        return count(template_name, JOB_FAIL, job);
    }
    /* notification mail: a one-click unsubscribe from its kind */
    char unsubscribe_url[900] = "", unsubscribe_page[900] = "";
    json_t *unsub = json_object_get(job->payload, "unsubscribe");
    if (unsub) {
        json_t *acc = json_object_get(unsub, "account_id");
        const char *kind = json_string_value(json_object_get(unsub, "kind"));
        char key[SECRETS_HEX_LEN + 1], token[OUTBOX_UNSUBSCRIBE_TOKEN_MAX];
        problem_t p = {0};
        if (!json_is_integer(acc) || !kind) {
            snprintf(err, errlen, "\"unsubscribe\" needs account_id and kind");
            return count(template_name, JOB_FAIL, job);
        }
        if (secrets_get("unsubscribe", key, sizeof key, &p) != 0) {
            snprintf(err, errlen, "the unsubscribe key is unreadable: %s", p.detail);
            problem_clear(&p);
            return count(template_name, JOB_RETRY, job);
        }
        outbox_unsubscribe_token(token, sizeof token, (long long)json_integer_value(acc), kind, key);
        /* List-Unsubscribe is https (RFC 8058): an http PUBLIC_URL (or none,
         * in development) is named with https all the same */
        const char *host = g.base + (strncmp(g.base, "https://", 8) == 0 ? 8 : 7);
        snprintf(unsubscribe_url, sizeof unsubscribe_url, "https://%s/api/v1/unsubscribe?token=%s",
                 host, token);
        /* and the page a person opens from the message's footer */
        snprintf(unsubscribe_page, sizeof unsubscribe_page, "%s/unsubscribe?token=%s", g.base, token);
    }
    json_t *vars = json_object_get(job->payload, "vars");
    vars = json_is_object(vars) ? json_copy(vars) : json_object();
    if (vars && unsubscribe_page[0])
        json_object_set_new(vars, "unsubscribe_url", json_string(unsubscribe_page));
    letter_t l;
    int rendered = letters_render(template_name, vars, json_object_get(job->payload, "secret"), g.base,
                                  &l, err, errlen);
    json_decref(vars);
    if (rendered != 0) return count(template_name, JOB_FAIL, job);
    if (!l.ignores_suppression) {
        problem_t p = {0};
        const char *params[] = {to};
        PGresult *r = db_exec(&s_suppressed, 1, params, &p);
        if (!r) {
            letters_free(&l);
            snprintf(err, errlen, "suppression list unreadable: %s", p.detail);
            return count(template_name, JOB_RETRY, job);
        }
        if (PQntuples(r) == 1) {
            snprintf(err, errlen, "suppressed address: %s", PQgetvalue(r, 0, 0));
            PQclear(r);
            letters_free(&l);
            return count(template_name, JOB_FAIL, job);
        }
        PQclear(r);
    }
    char message_id[320];
    mail_message_id(message_id, sizeof message_id, job->id, job->created_us, g.from_address);
    mail_message_t m = {
        .from_name = g.from_name,
        .from_address = g.from_address,
        .to = to,
        .subject = l.subject,
        .text = l.text,
        .html = l.html,
        .message_id = message_id,
        .date = time(NULL),
        .transactional = l.transactional,
        .unsubscribe_url = unsubscribe_url[0] ? unsubscribe_url : NULL,
    };
    char *message = mail_build(&m, err, errlen);
    letters_free(&l);
    if (!message) return count(template_name, JOB_FAIL, job);

    job_outcome_t out;
    if (!g.smtp_url[0]) {
        char name[64], path[1200];
        snprintf(name, sizeof name, "job-%lld", job->id);
        if (mail_store(g.mail_dir, name, message, path, sizeof path, err, errlen) == 0) {
            log_mail("mail_stored", job, template_name, path);
            out = JOB_DONE;
        } else {
            out = JOB_RETRY;
        }
        free(message);
        return count(template_name, out, job);
    }
    mail_smtp_t smtp = {g.smtp_url, g.tls, g.user, g.password, g.timeout_s, jobs_stopping};
    bool aborted = false;
    mail_outcome_t sent = mail_send_smtp(&smtp, g.from_address, to, message, &aborted, err, errlen);
    free(message);
    switch (sent) {
    case MAIL_SENT:
        log_mail("mail_sent", job, template_name, NULL);
        return count(template_name, JOB_DONE, job);
    case MAIL_TEMPORARY:
        return count(template_name, aborted ? JOB_RELEASE : JOB_RETRY, job);
    case MAIL_PERMANENT: {
        char id[32];
        snprintf(id, sizeof id, "%lld", job->id);
        const char *params[] = {to, err, id};
        problem_t p = {0};
        PGresult *r = db_exec(&s_suppress, 3, params, &p);
        if (r) PQclear(r);
        atomic_fetch_add(&g_suppressed, 1);
        return count(template_name, JOB_FAIL, job);
    }
    }
    return count(template_name, JOB_RETRY, job);
}

/* ---------- the daily digest ---------- */

/* The account's digest row, locked (the notifications trigger of migration
 * 0024 waits for it), with how many lines wait, and when the digest is
 * due: one interval after the oldest line, and never sooner than one
 * interval after the last digest. */
static db_stmt_t s_digest_state = DB_STMT("outbox_digest_state", false,
    "WITH d AS (SELECT account_id, last_sent_at FROM notification_digests"
    "  WHERE account_id = $1::bigint FOR UPDATE)"
    " SELECT count(i.notification_id),"
    "  greatest(min(i.created_at), coalesce(d.last_sent_at, '-infinity'))"
    "    + make_interval(secs => $2::int) <= now(),"
    "  greatest(min(i.created_at), coalesce(d.last_sent_at, '-infinity'))"
    "    + make_interval(secs => $2::int)"
    " FROM d LEFT JOIN notification_digest_items i ON i.account_id = d.account_id"
    " GROUP BY d.account_id, d.last_sent_at");

static db_stmt_t s_digest_later = DB_STMT("outbox_digest_later", false,
    "UPDATE notification_digests SET job_id = CASE WHEN $2::timestamptz IS NULL THEN NULL"
    "  ELSE job_enqueue('digest', jsonb_build_object('account_id', $1::bigint), $2::timestamptz) END"
    " WHERE account_id = $1::bigint");

/* Every waiting line leaves the queue; those still unread (the person may
 * have seen them in the app meanwhile) become one letter, grouped by kind
 * (at most ten lines shown per kind), to a verified address. */
static db_stmt_t s_digest_send = DB_STMT("outbox_digest_send", false,
    "WITH items AS (DELETE FROM notification_digest_items WHERE account_id = $1::bigint"
    "   RETURNING notification_id),"
    " n AS (SELECT n.id, n.kind, n.message FROM notifications n"
    "   JOIN items ON items.notification_id = n.id WHERE n.read_at IS NULL),"
    " g AS (SELECT kind, count(*) AS c, min(id) AS first,"
    "   (array_agg(message ORDER BY id))[1:10] AS msgs FROM n GROUP BY kind),"
    " acc AS (SELECT id, email, display_name FROM accounts WHERE id = $1::bigint"
    "   AND deleted_at IS NULL AND email_verified_at IS NOT NULL),"
    " letter AS (INSERT INTO jobs (kind, payload) SELECT 'mail', jsonb_build_object("
    "   'to', acc.email, 'template', 'digest',"
    "   'vars', jsonb_build_object('name', acc.display_name, 'total', (SELECT count(*) FROM n),"
    "     'groups', (SELECT jsonb_agg(jsonb_build_object('kind', kind, 'count', c,"
    "        'messages', to_jsonb(msgs)) ORDER BY first) FROM g)),"
    "   'unsubscribe', jsonb_build_object('account_id', acc.id, 'kind', 'digest'))"
    "   FROM acc WHERE EXISTS (SELECT 1 FROM n) RETURNING id),"
    " d AS (UPDATE notification_digests SET job_id = NULL,"
    "   last_sent_at = CASE WHEN EXISTS (SELECT 1 FROM letter) THEN now() ELSE last_sent_at END"
    "   WHERE account_id = $1::bigint)"
    " SELECT (SELECT id FROM letter), (SELECT count(*) FROM items)");

job_outcome_t outbox_digest(const job_t *job, char *err, size_t errlen)
{
    json_t *acc = json_object_get(job->payload, "account_id");
    if (!json_is_integer(acc)) {
        snprintf(err, errlen, "a digest job needs account_id");
        return JOB_FAIL;
    }
    char id[24], interval[16];
    snprintf(id, sizeof id, "%lld", (long long)json_integer_value(acc));
    snprintf(interval, sizeof interval, "%d", g.digest_interval_s);
    problem_t p = {0};
    if (db_begin(&p) < 0) goto retry;
    const char *params[2] = {id, interval};
    PGresult *r = db_exec(&s_digest_state, 2, params, &p);
    if (!r) goto rollback;
    long waiting = PQntuples(r) == 1 ? atol(PQgetvalue(r, 0, 0)) : 0;
    bool due = PQntuples(r) == 1 && strcmp(PQgetvalue(r, 0, 1), "t") == 0;
    char at[64] = "";
    if (waiting > 0 && !due) snprintf(at, sizeof at, "%s", PQgetvalue(r, 0, 2));
    PQclear(r);
    if (waiting == 0 || !due) {
        /* nothing waits (the job is done), or not yet: a job at the time it is due */
        const char *later[2] = {id, at[0] ? at : NULL};
        r = db_exec(&s_digest_later, 2, later, &p);
        if (!r) goto rollback;
        PQclear(r);
    } else {
        const char *send[1] = {id};
        r = db_exec(&s_digest_send, 1, send, &p);
        if (!r) goto rollback;
        if (!PQgetisnull(r, 0, 0)) {
            json_t *o = json_pack("{s:s, s:I, s:s, s:s}", "event", "digest_queued", "job",
                                  (json_int_t)job->id, "account", id, "mail_job", PQgetvalue(r, 0, 0));
            if (o) log_json("info", o);
        }
        PQclear(r);
    }
    if (db_commit(&p) < 0) goto retry;
    return JOB_DONE;
rollback:
    db_rollback();
retry:
    snprintf(err, errlen, "digest: %s", p.detail[0] ? p.detail : "database error");
    problem_clear(&p);
    return JOB_RETRY;
}

/* ---------- metrics ---------- */

static db_stmt_t s_depth = DB_STMT("outbox_depth", true,
    "SELECT coalesce(payload->>'template', ''), count(*) FILTER (WHERE state = 'queued'),"
    " count(*) FILTER (WHERE state = 'running') FROM jobs"
    " WHERE kind = 'mail' AND state IN ('queued', 'running') GROUP BY 1");
static db_stmt_t s_suppressions = DB_STMT("outbox_suppressions", true,
    "SELECT count(*) FROM mail_suppressions");

static int template_index(const char *name)
{
    for (int i = 0; letters_templates[i] && i < OUTBOX_TEMPLATES; i++)
        if (strcmp(letters_templates[i], name) == 0) return i;
    return OUTBOX_TEMPLATES;
}

void outbox_metrics_render(strbuf_t *b)
{
    long queued[OUTBOX_TEMPLATES + 1] = {0}, sending[OUTBOX_TEMPLATES + 1] = {0}, suppressed = 0;
    problem_t p = {0};
    PGresult *r = db_exec(&s_depth, 0, NULL, &p);
    for (int i = 0; r && i < PQntuples(r); i++) {
        int t = template_index(PQgetvalue(r, i, 0));
        queued[t] += atol(PQgetvalue(r, i, 1));
        sending[t] += atol(PQgetvalue(r, i, 2));
    }
    if (r) PQclear(r);
    problem_clear(&p);
    r = db_exec(&s_suppressions, 0, NULL, &p);
    if (r && PQntuples(r) == 1) suppressed = atol(PQgetvalue(r, 0, 0));
    if (r) PQclear(r);
    problem_clear(&p);
    int n = 0;
    while (letters_templates[n] && n < OUTBOX_TEMPLATES) n++;
#define TEMPLATE_NAME(i) ((i) < n ? letters_templates[i] : "other")
    static const char *const gauges[][2] = {
        {"mail_queued", "Messages waiting in the outbox (due or not), all daemons, by letter."},
        {"mail_sending", "Messages held under a lease (being sent), all daemons, by letter."},
    };
    for (int m = 0; m < 2; m++) {
        strbuf_addf(b, "# HELP %s %s\n# TYPE %s gauge\n", gauges[m][0], gauges[m][1], gauges[m][0]);
        for (int i = 0; i <= n; i++)
            strbuf_addf(b, "%s{template=\"%s\"} %ld\n", gauges[m][0], TEMPLATE_NAME(i),
                        m == 0 ? queued[i == n ? OUTBOX_TEMPLATES : i] : sending[i == n ? OUTBOX_TEMPLATES : i]);
    }
    static const char *const counters[][2] = {
        {"mail_sent_total", "Messages this daemon handed to the SMTP server (or stored as .eml), by letter."},
        {"mail_retried_total", "Temporary failures (4xx, timeouts, refused connections) this daemon will try again, by letter."},
        {"mail_failed_total", "Messages that failed for good here (5xx, suppressed address, out of attempts), by letter."},
    };
    for (int m = 0; m < 3; m++) {
        strbuf_addf(b, "# HELP %s %s\n# TYPE %s counter\n", counters[m][0], counters[m][1], counters[m][0]);
        for (int i = 0; i <= n; i++) {
            int k = i == n ? OUTBOX_TEMPLATES : i;
            atomic_ulong *c = m == 0 ? &g_counts[k].sent : m == 1 ? &g_counts[k].retried : &g_counts[k].failed;
            strbuf_addf(b, "%s{template=\"%s\"} %lu\n", counters[m][0], TEMPLATE_NAME(i), atomic_load(c));
        }
    }
#undef TEMPLATE_NAME
    strbuf_addf(b, "# HELP mail_suppressions_total Addresses this daemon suppressed after a 5xx.\n"
                   "# TYPE mail_suppressions_total counter\nmail_suppressions_total %lu\n"
                   "# HELP mail_suppressed_addresses Addresses nothing is sent to until verified again.\n"
                   "# TYPE mail_suppressed_addresses gauge\nmail_suppressed_addresses %ld\n",
                atomic_load(&g_suppressed), suppressed);
}
