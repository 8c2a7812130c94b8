/* outbox: one mail job -> one message, sent, stored or refused. */
#include "outbox.h"

#include <curl/curl.h>
#include <sodium.h>
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
} g;

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
    return jobs_register("mail", outbox_deliver);
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
        return JOB_FAIL;
    }
    letter_t l;
    if (letters_render(template_name, json_object_get(job->payload, "vars"),
                       json_object_get(job->payload, "secret"), g.base, &l, err, errlen) != 0)
        return JOB_FAIL;
    if (!l.ignores_suppression) {
        problem_t p = {0};
        const char *params[] = {to};
        PGresult *r = db_exec(&s_suppressed, 1, params, &p);
        if (!r) {
            letters_free(&l);
            snprintf(err, errlen, "suppression list unreadable: %s", p.detail);
            return JOB_RETRY;
        }
        if (PQntuples(r) == 1) {
            snprintf(err, errlen, "suppressed address: %s", PQgetvalue(r, 0, 0));
            PQclear(r);
            letters_free(&l);
            return JOB_FAIL;
        }
        PQclear(r);
    }
    /* notification mail: a one-click unsubscribe from its kind */
    char unsubscribe_url[900] = "";
    json_t *unsub = json_object_get(job->payload, "unsubscribe");
    if (unsub) {
        json_t *acc = json_object_get(unsub, "account_id");
        const char *kind = json_string_value(json_object_get(unsub, "kind"));
        char key[SECRETS_HEX_LEN + 1], token[OUTBOX_UNSUBSCRIBE_TOKEN_MAX];
        problem_t p = {0};
        if (!json_is_integer(acc) || !kind) {
            letters_free(&l);
            snprintf(err, errlen, "\"unsubscribe\" needs account_id and kind");
            return JOB_FAIL;
        }
        if (secrets_get("unsubscribe", key, sizeof key, &p) != 0) {
            letters_free(&l);
            snprintf(err, errlen, "the unsubscribe key is unreadable: %s", p.detail);
            problem_clear(&p);
            return JOB_RETRY;
        }
        outbox_unsubscribe_token(token, sizeof token, (long long)json_integer_value(acc), kind, key);
        /* List-Unsubscribe is https (RFC 8058): an http PUBLIC_URL (or none,
         * in development) is named with https all the same */
        const char *host = g.base + (strncmp(g.base, "https://", 8) == 0 ? 8 : 7);
        snprintf(unsubscribe_url, sizeof unsubscribe_url, "https://%s/api/v1/unsubscribe?token=%s",
                 host, token);
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
    if (!message) return JOB_FAIL;

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
        return out;
    }
    mail_smtp_t smtp = {g.smtp_url, g.tls, g.user, g.password, g.timeout_s, jobs_stopping};
    bool aborted = false;
    mail_outcome_t sent = mail_send_smtp(&smtp, g.from_address, to, message, &aborted, err, errlen);
    free(message);
    switch (sent) {
    case MAIL_SENT:
        log_mail("mail_sent", job, template_name, NULL);
        return JOB_DONE;
    case MAIL_TEMPORARY:
        return aborted ? JOB_RELEASE : JOB_RETRY;
    case MAIL_PERMANENT: {
        char id[32];
        snprintf(id, sizeof id, "%lld", job->id);
        const char *params[] = {to, err, id};
        problem_t p = {0};
        PGresult *r = db_exec(&s_suppress, 3, params, &p);
        if (r) PQclear(r);
        return JOB_FAIL;
    }
    }
    return JOB_RETRY;
}
