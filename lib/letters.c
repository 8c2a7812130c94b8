/* letters: one function per template, each filling subject, text and HTML. */
#include "letters.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strbuf.h"
#include "utf8.h"

static char *format(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *format(const char *fmt, ...)
{
    strbuf_t b = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&b, fmt, ap);
    va_end(ap);
    return strbuf_detach(&b, NULL);
}

char *letters_html_escape(const char *s)
{
    size_t n = 0;
    for (const char *c = s; *c; c++)
        n += *c == '&' ? 5 : (*c == '<' || *c == '>') ? 4 : (*c == '"' || *c == '\'') ? 5 : 1;
    char *out = malloc(n + 1), *o = out;
    if (!out) return NULL;
    for (const char *c = s; *c; c++) {
        const char *rep = *c == '&' ? "&amp;" : *c == '<' ? "&lt;" : *c == '>' ? "&gt;"
                        : *c == '"' ? "&#34;" : *c == '\'' ? "&#39;" : NULL;
        if (rep) {
            memcpy(o, rep, strlen(rep));
            o += strlen(rep);
        } else *o++ = *c;
    }
    *o = '\0';
    return out;
}

static const char *str_of(json_t *obj, const char *key)
{
    json_t *v = obj ? json_object_get(obj, key) : NULL;
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The HTML around every letter's body (already escaped). */
static char *html_page(const char *title_esc, const char *body_html)
{
    return format("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
                  "<title>%s</title></head>\n<body style=\"font-family:sans-serif;line-height:1.5;"
                  "max-width:36em\">\n%s\n<p style=\"color:#666;font-size:small\">Purposed</p>\n"
                  "</body></html>\n", title_esc, body_html);
}

typedef struct esc {
    char *v[6];
    int n;
} esc_t;

/* Escaped copies freed together. */
static const char *esc(esc_t *e, const char *s)
{
    if (e->n >= 6) return "";
    e->v[e->n] = letters_html_escape(s ? s : "");
    return e->v[e->n] ? e->v[e->n++] : "";
}

static void esc_free(esc_t *e)
{
    for (int i = 0; i < e->n; i++) free(e->v[i]);
}

static int verify_email(json_t *vars, json_t *secret, const char *base, letter_t *l, char *err,
                        size_t errlen)
{
    const char *name = str_of(vars, "name"), *token = str_of(secret, "token");
    if (!name || !token) {
        snprintf(err, errlen, "verify_email needs vars.name and secret.token");
        return -1;
    }
    char *link = format("%s/verify-email#token=%s", base, token);
    esc_t e = {0};
    l->transactional = true;
    l->ignores_suppression = true;
    l->subject = format("Confirm your email address for Purposed");
    l->text = format("Hello %s,\n\nPlease confirm that this is your email address by opening this link:\n\n"
                     "%s\n\nThe link works for 7 days. Until you confirm, you can browse, build your "
                     "profile and follow organisations, but not propose agreements or post "
                     "engagements.\n\nIf you did not create an account on Purposed, ignore this "
                     "message.\n", name, link ? link : "");
    char *body = format("<p>Hello %s,</p>\n<p>Please confirm that this is your email address:</p>\n"
                        "<p><a href=\"%s\">Confirm my email address</a></p>\n"
                        "<p>The link works for 7 days. Until you confirm, you can browse, build your "
                        "profile and follow organisations, but not propose agreements or post "
                        "engagements.</p>\n<p>If you did not create an account on Purposed, ignore "
                        "this message.</p>", esc(&e, name), esc(&e, link));
    l->html = body ? html_page("Confirm your email address", body) : NULL;
    free(body);
    free(link);
    esc_free(&e);
    return 0;
}

static int email_changed(json_t *vars, json_t *secret, const char *base, letter_t *l, char *err,
                         size_t errlen)
{
    const char *name = str_of(vars, "name"), *new_email = str_of(vars, "new_email");
    if (!name || !new_email) {
        snprintf(err, errlen, "email_changed needs vars.name and vars.new_email");
        return -1;
    }
    esc_t e = {0};
    l->transactional = true;
    l->subject = format("The email address of your Purposed account was changed");
    l->text = format("Hello %s,\n\nThe email address of your Purposed account was changed to %s. "
                     "Messages will go there from now on.\n\nIf you did not do this, reset your "
                     "password at %s/reset-password and write to the operator of this site.\n",
                     name, new_email, base);
    char *body = format("<p>Hello %s,</p>\n<p>The email address of your Purposed account was changed "
                        "to <strong>%s</strong>. Messages will go there from now on.</p>\n"
                        "<p>If you did not do this, <a href=\"%s/reset-password\">reset your "
                        "password</a> and write to the operator of this site.</p>",
                        esc(&e, name), esc(&e, new_email), esc(&e, base));
    l->html = body ? html_page("Your email address was changed", body) : NULL;
    free(body);
    esc_free(&e);
    return 0;
}

static int password_reset(json_t *vars, json_t *secret, const char *base, letter_t *l, char *err,
                          size_t errlen)
{
    const char *token = str_of(secret, "token");
    if (!token) {
        snprintf(err, errlen, "password_reset needs secret.token");
        return -1;
    }
    char *link = format("%s/reset-password#token=%s", base, token);
    esc_t e = {0};
    l->transactional = true;
    l->subject = format("Reset your Purposed password");
    l->text = format("Someone asked to reset the password of the Purposed account of this address.\n\n"
                     "To choose a new password, open this link within an hour:\n\n%s\n\n"
                     "It works once. Choosing a new password signs you out everywhere.\n\n"
                     "If you did not ask for this, ignore this message: your password stays as it is.\n",
                     link ? link : "");
    char *body = format("<p>Someone asked to reset the password of the Purposed account of this "
                        "address.</p>\n<p><a href=\"%s\">Choose a new password</a> (the link works "
                        "once, within an hour). Choosing a new password signs you out "
                        "everywhere.</p>\n<p>If you did not ask for this, ignore this message: your "
                        "password stays as it is.</p>", esc(&e, link));
    l->html = body ? html_page("Reset your password", body) : NULL;
    free(body);
    free(link);
    esc_free(&e);
    return 0;
}

static int password_changed(json_t *vars, json_t *secret, const char *base, letter_t *l,
                            char *err, size_t errlen)
{
    const char *name = str_of(vars, "name");
    if (!name) {
        snprintf(err, errlen, "password_changed needs vars.name");
        return -1;
    }
    esc_t e = {0};
    l->transactional = true;
    l->subject = format("Your Purposed password was changed");
    l->text = format("Hello %s,\n\nThe password of your Purposed account was just reset, and every "
                     "session was signed out.\n\nIf you did not do this, reset it again at "
                     "%s/reset-password and write to the operator of this site.\n", name, base);
    char *body = format("<p>Hello %s,</p>\n<p>The password of your Purposed account was just reset, "
                        "and every session was signed out.</p>\n<p>If you did not do this, "
                        "<a href=\"%s/reset-password\">reset it again</a> and write to the "
                        "operator of this site.</p>", esc(&e, name), esc(&e, base));
    l->html = body ? html_page("Your password was changed", body) : NULL;
    free(body);
    esc_free(&e);
    return 0;
}

/* The footer of a letter that is not transactional: why it came, the
 * one-click way to stop this kind (vars.unsubscribe_url, added by the
 * outbox) and the settings. Appended to text and to html. */
static void footer(json_t *vars, const char *base, const char *what, strbuf_t *text, strbuf_t *html)
{
    const char *unsub = str_of(vars, "unsubscribe_url");
    strbuf_addf(text, "\n--\nYou get this because you have an account on Purposed.\n");
    if (unsub) strbuf_addf(text, "Stop %s: %s\n", what, unsub);
    strbuf_addf(text, "Choose what Purposed emails you: %s/settings#notifications\n", base);
    char *w = letters_html_escape(what), *u = letters_html_escape(unsub ? unsub : ""),
         *b = letters_html_escape(base);
    strbuf_addf(html, "<p style=\"color:#666;font-size:small\">You get this because you have an "
                      "account on Purposed.");
    if (unsub) strbuf_addf(html, " <a href=\"%s\">Stop %s</a> ·", u ? u : "", w ? w : "");
    strbuf_addf(html, " <a href=\"%s/settings#notifications\">Choose what Purposed emails you</a>"
                      "</p>", b ? b : "");
    free(w);
    free(u);
    free(b);
}

/* A notification the account also sees in the app (kind, message). */
static int notification(json_t *vars, json_t *secret, const char *base, letter_t *l, char *err,
                        size_t errlen)
{
    const char *name = str_of(vars, "name"), *message = str_of(vars, "message");
    if (!name || !message) {
        snprintf(err, errlen, "notification needs vars.name and vars.message");
        return -1;
    }
    size_t cut = utf8_prefix(message, strlen(message), 70);
    esc_t e = {0};
    l->transactional = false;
    l->subject = format("Purposed: %.*s%s", (int)cut, message, cut < strlen(message) ? "…" : "");
    for (char *c = l->subject; c && *c; c++)
        if (*c == '\r' || *c == '\n' || *c == '\t') *c = ' ';
    strbuf_t text = STRBUF_INIT, body = STRBUF_INIT;
    strbuf_addf(&text, "Hello %s,\n\n%s\n\nSee it on Purposed: %s/me\n", name, message, base);
    strbuf_addf(&body, "<p>Hello %s,</p>\n<p>%s</p>\n<p><a href=\"%s/me\">See it on Purposed</a></p>\n",
                esc(&e, name), esc(&e, message), esc(&e, base));
    footer(vars, base, "this kind of email", &text, &body);
    l->text = strbuf_detach(&text, NULL);
    char *html = strbuf_detach(&body, NULL);
    l->html = html ? html_page("Purposed", html) : NULL;
    free(html);
    esc_free(&e);
    return 0;
}

/* What a digest calls a group of notifications of one kind. */
static const char *kind_heading(const char *kind)
{
    static const struct {
        const char *kind, *heading;
    } k[] = {
        {"agreement_proposed", "Agreements proposed"},
        {"agreement_amended", "New terms proposed"},
        {"agreement_accepted", "Agreements accepted"},
        {"agreement_declined", "Agreements declined"},
        {"agreement_withdrawn", "Proposals withdrawn"},
        {"agreement_concluded", "Agreements concluded"},
        {"agreement_closure_recorded", "Closures recorded"},
        {"agreement_review_due", "Reviews due"},
        {"agreement_renewal_proposed", "Renewals proposed"},
        {"agreement_message", "Messages on your agreements"},
        {"agreement_hours_logged", "Hours logged"},
        {"agreement_hours_confirmed", "Hours confirmed"},
        {"agreement_hours_disputed", "Hours disputed"},
        {"engagement_posted", "New engagements from organisations you follow"},
        {"engagement_question", "Questions about your engagements"},
        {"engagement_answer", "Answers to your questions"},
        {"saved_search_match", "New engagements for your saved searches"},
        {"moderation", "Moderation"},
    };
    for (size_t i = 0; kind && i < sizeof k / sizeof k[0]; i++)
        if (strcmp(k[i].kind, kind) == 0) return k[i].heading;
    return "Other news";
}

/* The daily digest: vars.name, vars.total, vars.groups [{kind, count,
 * messages: [text]}] (messages may be fewer than count). */
static int digest(json_t *vars, json_t *secret, const char *base, letter_t *l, char *err, size_t errlen)
{
    const char *name = str_of(vars, "name");
    json_t *groups = json_object_get(vars, "groups");
    json_t *total = json_object_get(vars, "total");
    if (!name || !json_is_array(groups) || !json_is_integer(total)) {
        snprintf(err, errlen, "digest needs vars.name, vars.total and vars.groups");
        return -1;
    }
    long long n = (long long)json_integer_value(total);
    l->transactional = false;
    l->subject = format("Purposed: your daily digest (%lld new)", n);
    strbuf_t text = STRBUF_INIT, body = STRBUF_INIT;
    char *name_esc = letters_html_escape(name);
    strbuf_addf(&text, "Hello %s,\n\nWhat happened on Purposed since your last digest (%lld).\n", name, n);
    strbuf_addf(&body, "<p>Hello %s,</p>\n<p>What happened on Purposed since your last digest "
                       "(%lld).</p>\n", name_esc ? name_esc : "", n);
    free(name_esc);
    size_t i;
    json_t *g;
    json_array_foreach(groups, i, g) {
        const char *heading = kind_heading(str_of(g, "kind"));
        json_t *messages = json_object_get(g, "messages");
        long long count = (long long)json_integer_value(json_object_get(g, "count"));
        strbuf_addf(&text, "\n%s (%lld)\n", heading, count);
        strbuf_addf(&body, "<h2 style=\"font-size:1.1em\">%s (%lld)</h2>\n<ul>\n", heading, count);
        size_t j;
        json_t *m;
        json_array_foreach(messages, j, m) {
            if (!json_is_string(m)) continue;
            char *me = letters_html_escape(json_string_value(m));
            strbuf_addf(&text, "- %s\n", json_string_value(m));
            strbuf_addf(&body, "<li>%s</li>\n", me ? me : "");
            free(me);
        }
        if (count > (long long)json_array_size(messages)) {
            strbuf_addf(&text, "- and %lld more\n", count - (long long)json_array_size(messages));
            strbuf_addf(&body, "<li>and %lld more</li>\n", count - (long long)json_array_size(messages));
        }
        strbuf_addstr(&body, "</ul>\n");
    }
    char *b = letters_html_escape(base);
    strbuf_addf(&text, "\nSee everything on Purposed: %s/me/notifications\n", base);
    strbuf_addf(&body, "<p><a href=\"%s/me/notifications\">See everything on Purposed</a></p>\n", b ? b : "");
    free(b);
    footer(vars, base, "the daily digest", &text, &body);
    l->text = strbuf_detach(&text, NULL);
    char *html = strbuf_detach(&body, NULL);
    l->html = html ? html_page("Your daily digest", html) : NULL;
    free(html);
    return 0;
}

/* An owner asks someone to join an organisation (transactional: a request
 * made to this person). vars.name is absent when the address has no
 * account yet; secret.token makes the link of the accept page. */
static int invitation(json_t *vars, json_t *secret, const char *base, letter_t *l, char *err,
                      size_t errlen)
{
    const char *name = str_of(vars, "name"), *org = str_of(vars, "organisation"),
               *role = str_of(vars, "role"), *inviter = str_of(vars, "inviter"),
               *token = str_of(secret, "token");
    if (!org || !role || !inviter || !token) {
        snprintf(err, errlen, "invitation needs vars.organisation, role, inviter and secret.token");
        return -1;
    }
    char *link = format("%s/invitations/accept#token=%s", base, token);
    esc_t e = {0};
    l->transactional = true;
    size_t cut = utf8_prefix(org, strlen(org), 60);
    l->subject = format("Invitation to join %.*s%s on Purposed", (int)cut, org, cut < strlen(org) ? "…" : "");
    for (char *c = l->subject; c && *c; c++)
        if (*c == '\r' || *c == '\n' || *c == '\t') *c = ' ';
    l->text = format("Hello%s%s,\n\n%s invited you to join %s as %s.\n\nNothing changes "
                     "until you accept. To accept or decline, open this link within 14 days%s:\n\n%s\n\n"
                     "If you do not know this organisation, ignore this message.\n",
                     name ? " " : "", name ? name : "", inviter, org, role,
                     name ? "" : " (you can create an account there)", link ? link : "");
    char *body = format("<p>Hello%s%s,</p>\n<p>%s invited you to join <strong>%s</strong> as %s."
                        "</p>\n<p>Nothing changes until you accept. <a href=\"%s\">Accept or "
                        "decline the invitation</a> within 14 days%s.</p>\n<p>If you do not know this "
                        "organisation, ignore this message.</p>", name ? " " : "",
                        name ? esc(&e, name) : "", esc(&e, inviter), esc(&e, org), esc(&e, role),
                        esc(&e, link), name ? "" : " (you can create an account there)");
    l->html = body ? html_page("Invitation", body) : NULL;
    free(body);
    free(link);
    esc_free(&e);
    return 0;
}

/* An administrator decided on an account that awaited approval
 * (transactional: the answer to the person's own request). vars.decision is
 * "approved" or "refused"; vars.note what the administrator wrote, or "". */
static int registration_decided(json_t *vars, json_t *secret, const char *base, letter_t *l,
                                char *err, size_t errlen)
{
    (void)secret;
    const char *name = str_of(vars, "name"), *decision = str_of(vars, "decision"),
               *note = str_of(vars, "note");
    bool approved = decision && strcmp(decision, "approved") == 0;
    if (!name || !decision || (!approved && strcmp(decision, "refused") != 0)) {
        snprintf(err, errlen, "registration_decided needs vars.name and vars.decision "
                              "(approved or refused)");
        return -1;
    }
    bool noted = note && note[0];
    esc_t e = {0};
    l->transactional = true;
    l->subject = format(approved ? "Your Purposed account is approved"
                                 : "Your Purposed account was not approved");
    const char *said = approved ? "An administrator approved your account: you can sign in now"
                                : "An administrator did not approve your account, and it was "
                                  "deleted";
    l->text = format("Hello %s,\n\n%s.%s%s%s\n\n%s\n", name, said,
                     noted ? "\n\nThe administrator wrote: \"" : "", noted ? note : "",
                     noted ? "\"" : "",
                     approved ? "Sign in:" : "You may sign up again with this address.");
    char *link = format("%s/%s", base, approved ? "signin" : "signup");
    char *body = format("<p>Hello %s,</p>\n<p>%s.</p>\n%s%s%s<p><a href=\"%s\">%s</a></p>",
                        esc(&e, name), said, noted ? "<p>The administrator wrote: &#8220;" : "",
                        noted ? esc(&e, note) : "", noted ? "&#8221;</p>\n" : "", esc(&e, link),
                        approved ? "Sign in" : "Sign up again");
    char *text = l->text ? format("%s%s\n", l->text, link ? link : "") : NULL;
    free(l->text);
    l->text = text;
    l->html = body ? html_page(approved ? "Your account is approved" : "Your account was not approved",
                               body) : NULL;
    free(body);
    free(link);
    esc_free(&e);
    return 0;
}

typedef int (*template_fn)(json_t *, json_t *, const char *, letter_t *, char *, size_t);
static const struct {
    const char *name;
    template_fn fn;
} k_templates[] = {
    {"verify_email", verify_email},
    {"email_changed", email_changed},
    {"password_reset", password_reset},
    {"password_changed", password_changed},
    {"notification", notification},
    {"invitation", invitation},
    {"digest", digest},
    {"registration_decided", registration_decided},
};

const char *const letters_templates[] = {"verify_email", "email_changed", "password_reset",
                                         "password_changed", "notification", "invitation",
                                         "digest", "registration_decided", NULL};

int letters_render(const char *template_name, json_t *vars, json_t *secret, const char *base,
                   letter_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof k_templates / sizeof k_templates[0]; i++) {
        if (strcmp(k_templates[i].name, template_name) != 0) continue;
        if (k_templates[i].fn(vars, secret, base, out, err, errlen) != 0) return -1;
        if (!out->subject || !out->text || !out->html) {
            letters_free(out);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    snprintf(err, errlen, "no such letter: %s", template_name);
    return -1;
}

void letters_free(letter_t *l)
{
    if (!l) return;
    free(l->subject);
    free(l->text);
    free(l->html);
    l->subject = l->text = l->html = NULL;
}
