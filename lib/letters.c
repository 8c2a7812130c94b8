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
    l->text = format("Hello %s,\n\n%s\n\nSee it on Purposed: %s/me\n\nYou get this because you have an "
                     "account on Purposed. Your mail program's unsubscribe button stops this kind of "
                     "message.\n", name, message, base);
    char *body = format("<p>Hello %s,</p>\n<p>%s</p>\n<p><a href=\"%s/me\">See it on Purposed</a></p>\n"
                        "<p style=\"color:#666;font-size:small\">You get this because you have an account "
                        "on Purposed. Your mail program's unsubscribe button stops this kind of "
                        "message.</p>", esc(&e, name), esc(&e, message), esc(&e, base));
    l->html = body ? html_page("Purposed", body) : NULL;
    free(body);
    esc_free(&e);
    return 0;
}

/* An owner asks the account to join an organisation (transactional: a
 * request made to this person, answered in the app). */
static int invitation(json_t *vars, json_t *secret, const char *base, letter_t *l, char *err,
                      size_t errlen)
{
    const char *name = str_of(vars, "name"), *org = str_of(vars, "organisation"),
               *role = str_of(vars, "role"), *inviter = str_of(vars, "inviter");
    if (!name || !org || !role || !inviter) {
        snprintf(err, errlen, "invitation needs vars.name, organisation, role and inviter");
        return -1;
    }
    esc_t e = {0};
    l->transactional = true;
    size_t cut = utf8_prefix(org, strlen(org), 60);
    l->subject = format("Invitation to join %.*s%s on Purposed", (int)cut, org, cut < strlen(org) ? "…" : "");
    for (char *c = l->subject; c && *c; c++)
        if (*c == '\r' || *c == '\n' || *c == '\t') *c = ' ';
    l->text = format("Hello %s,\n\n%s invited you to join %s as %s.\n\nNothing changes until you "
                     "accept. Accept or decline on Purposed: %s/me\n\nIf you do not know this "
                     "organisation, decline or ignore this message.\n", name, inviter, org, role, base);
    char *body = format("<p>Hello %s,</p>\n<p>%s invited you to join <strong>%s</strong> as %s.</p>\n"
                        "<p>Nothing changes until you accept. <a href=\"%s/me\">Accept or decline on "
                        "Purposed</a>.</p>\n<p>If you do not know this organisation, decline or ignore "
                        "this message.</p>", esc(&e, name), esc(&e, inviter), esc(&e, org), esc(&e, role),
                        esc(&e, base));
    l->html = body ? html_page("Invitation", body) : NULL;
    free(body);
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
};

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
