/* mail: building a message (RFC 5322 + MIME, pure) and handing it over —
 * to an SMTP server through libcurl, or to a .eml file when no server is
 * configured. What a reply from the server means is decided here too. */
#ifndef PURPOSED_MAIL_H
#define PURPOSED_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

typedef struct mail_message {
    const char *from_name;        /* display name, UTF-8; may be "" */
    const char *from_address;     /* addr-spec: local@domain */
    const char *to;               /* addr-spec */
    const char *subject;          /* UTF-8; encoded per RFC 2047 when not plain ASCII */
    const char *text;             /* UTF-8, lines end with \n */
    const char *html;             /* UTF-8 */
    const char *message_id;       /* "<...@...>" */
    time_t date;
    /* Everything that is not transactional carries List-Unsubscribe (RFC
     * 2369) with this https URL and List-Unsubscribe-Post (RFC 8058);
     * mail_build refuses a non-transactional message without it. */
    bool transactional;
    const char *unsubscribe_url;
} mail_message_t;

/* The message as sent: CRLF line ends, multipart/alternative (text, then
 * HTML, both quoted-printable UTF-8). malloc'd; NULL with err filled when a
 * field is unusable (an address that is not one, CR or LF in a header). */
char *mail_build(const mail_message_t *m, char *err, size_t errlen);

/* Pure pieces of mail_build, exposed for the tests. Each returns a
 * malloc'd string or NULL when out of memory. */
/* An unstructured header value (Subject, a display name): as is when
 * printable ASCII, else RFC 2047 encoded-words (=?UTF-8?B?...?=), each at
 * most 75 characters, never splitting a UTF-8 sequence, joined by CRLF SP. */
char *mail_encode_header(const char *utf8);
/* Quoted-printable (RFC 2045) of UTF-8 text with \n or \r\n line ends:
 * CRLF line ends, lines at most 76 characters, '.' at a line start encoded. */
char *mail_encode_qp(const char *text);
/* True for a plain addr-spec: ASCII, one '@', no spaces, quotes, brackets or controls. */
bool mail_address_valid(const char *address);
/* Message-ID of a job: "<purposed.<id>.<created_us>@<domain of from>>". */
void mail_message_id(char *out, size_t cap, long long job_id, long long created_us,
                     const char *from_address);

/* What the attempt to hand a message over means for the job. */
typedef enum mail_outcome {
    MAIL_SENT,
    MAIL_TEMPORARY,  /* 4xx, timeouts, refused or lost connections, TLS and sign-in trouble: retry */
    MAIL_PERMANENT,  /* 5xx to the recipient or the message: do not retry, suppress the address */
} mail_outcome_t;
/* Pure: classify libcurl's result code and the last SMTP reply code (0 if
 * none) for a message; curl_error is libcurl's error text (it says at which
 * step the server refused: a 5xx to MAIL FROM is the sender's
 * configuration, not the recipient, and stays temporary). */
mail_outcome_t mail_classify(int curl_code, long smtp_code, const char *curl_error);

typedef enum mail_tls {
    MAIL_TLS_REQUIRED,  /* smtp://: STARTTLS or nothing is sent (the default) */
    MAIL_TLS_OPTIONAL,  /* smtp://…?tls=optional: STARTTLS when the server offers it */
    MAIL_TLS_NONE,      /* smtp://…?tls=none: plain text (a relay on loopback, tests) */
    MAIL_TLS_IMPLICIT,  /* smtps://: TLS from the first byte */
} mail_tls_t;

/* Pure: check SMTP_URL and split its "?tls=" off. url_out gets the URL for
 * libcurl (no query). Returns 0, or -1 with err filled. */
int mail_parse_smtp_url(const char *url, char *url_out, size_t cap, mail_tls_t *tls,
                        char *err, size_t errlen);

typedef struct mail_smtp {
    const char *url;         /* from mail_parse_smtp_url */
    mail_tls_t tls;
    const char *user;        /* "" = no AUTH */
    const char *password;
    int timeout_s;           /* the whole conversation */
    bool (*cancelled)(void); /* polled while sending; true = give up (shutdown) */
} mail_smtp_t;

/* Send message (from mail_build) from from_address to to. Returns the
 * outcome; MAIL_SENT or a reason in err. *aborted is set when cancelled()
 * ended the conversation. */
mail_outcome_t mail_send_smtp(const mail_smtp_t *smtp, const char *from_address, const char *to,
                              const char *message, bool *aborted, char *err, size_t errlen);

/* Keep message as dir/name.eml (written to a temporary name, then
 * renamed: a retry replaces, never duplicates). path gets the file's path.
 * Returns 0, or -1 with err filled. */
int mail_store(const char *dir, const char *name, const char *message, char *path, size_t pathcap,
               char *err, size_t errlen);

#endif
