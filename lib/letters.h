/* letters: the text of every email Purposed sends — subject, plain text and
 * HTML from a template name and its variables (pure). Whether a letter is
 * transactional (sent whatever the preferences, no List-Unsubscribe) is
 * the template's, not the caller's, to say. */
#ifndef PURPOSED_LETTERS_H
#define PURPOSED_LETTERS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct letter {
    char *subject, *text, *html;   /* malloc'd, UTF-8 */
    bool transactional;
    bool ignores_suppression;      /* verification: the way an address leaves suppression */
} letter_t;

/* Templates and what they read (vars: shown; secret: removed from the job
 * when it finishes):
 *   verify_email    vars.name, secret.token  -> link base/verify-email#token=…
 *   email_changed   vars.name, vars.new_email (sent to the old address)
 *   password_reset  secret.token             -> link base/reset-password#token=…
 *   password_changed vars.name
 *   invitation      vars.name (absent: no account yet), organisation, role,
 *                   inviter, secret.token -> link base/invitations/accept#token=…
 *                   (transactional)
 *   notification    vars.name, vars.message (not transactional: the job
 *                   carries "unsubscribe": {account_id, kind}, lib/outbox.h)
 *   digest          vars.name, vars.total, vars.groups [{kind, count,
 *                   messages}] (not transactional, "unsubscribe" kind digest)
 *   registration_decided vars.name, vars.decision (approved, refused),
 *                   vars.note (what the administrator wrote, may be "")
 * Letters that are not transactional print vars.unsubscribe_url when given
 * (the outbox adds it) and a link to the settings.
 * base is the absolute URL of the site ("https://purposed.example").
 * Returns 0, or -1 with err filled (unknown template, a variable missing). */
int letters_render(const char *template_name, json_t *vars, json_t *secret, const char *base,
                   letter_t *out, char *err, size_t errlen);
void letters_free(letter_t *l);
/* Every template's name, NULL-terminated (metrics count per template). */
extern const char *const letters_templates[];

/* Pure: s with & < > " ' escaped for HTML text and attributes; malloc'd. */
char *letters_html_escape(const char *s);

#endif
