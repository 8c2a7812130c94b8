/* mail: MIME building, SMTP through libcurl, .eml files, reply classes. */
#include "mail.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "strbuf.h"
#include "utf8.h"

static bool printable_ascii(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return false;
    return true;
}

/* 39 bytes -> 52 base64 characters -> a 64-character encoded-word, so even
 * the first, after "Subject: ", stays within 76. */
#define HEADER_CHUNK 39

char *mail_encode_header(const char *utf8)
{
    size_t n = strlen(utf8);
    if (printable_ascii(utf8) && !strstr(utf8, "=?") && n <= 60) return strdup(utf8);
    strbuf_t b = STRBUF_INIT;
    size_t i = 0;
    bool first = true;
    while (i < n || first) {
        /* never end a chunk inside a UTF-8 character (bytes that start
         * none are cut anywhere: they decode to nothing better) */
        size_t take = utf8_prefix(utf8 + i, n - i, HEADER_CHUNK);
        if (take == 0) take = n - i < HEADER_CHUNK ? n - i : HEADER_CHUNK;
        char b64[sodium_base64_ENCODED_LEN(HEADER_CHUNK, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, (const unsigned char *)utf8 + i, take,
                          sodium_base64_VARIANT_ORIGINAL);
        if (!first) strbuf_addstr(&b, "\r\n ");
        strbuf_addstr(&b, "=?UTF-8?B?");
        strbuf_addstr(&b, b64);
        strbuf_addstr(&b, "?=");
        i += take;
        first = false;
    }
    return strbuf_detach(&b, NULL);
}

char *mail_encode_qp(const char *text)
{
    static const char hex[] = "0123456789ABCDEF";
    strbuf_t b = STRBUF_INIT;
    size_t col = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if (*p == '\r' && p[1] == '\n') continue;
        if (*p == '\n') {
            strbuf_addstr(&b, "\r\n");
            col = 0;
            continue;
        }
        bool at_eol = p[1] == '\0' || p[1] == '\n' || (p[1] == '\r' && p[2] == '\n');
        char piece[4];
        size_t len;
        bool literal = (*p >= 33 && *p <= 126 && *p != '=') ||
                       ((*p == ' ' || *p == '\t') && !at_eol);
        if (*p == '.' && col == 0) literal = false;
        if (literal) {
            piece[0] = (char)*p;
            len = 1;
        } else {
            piece[0] = '=';
            piece[1] = hex[*p >> 4];
            piece[2] = hex[*p & 15];
            len = 3;
        }
        /* a soft break keeps every line within 76 characters, "=" included */
        if (col + len > 75) {
            strbuf_addstr(&b, "=\r\n");
            col = 0;
            if (*p == '.') {
                piece[0] = '=';
                piece[1] = '2';
                piece[2] = 'E';
                len = 3;
            }
        }
        strbuf_add(&b, piece, len);
        col += len;
    }
    return strbuf_detach(&b, NULL);
}

bool mail_address_valid(const char *a)
{
    if (!a) return false;
    size_t n = strlen(a);
    if (n < 3 || n > 254) return false;
    const char *at = strchr(a, '@');
    if (!at || at == a || strchr(at + 1, '@') || at[1] == '\0' || at - a > 64) return false;
    for (const char *c = a; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u <= 0x20 || u >= 0x7f || strchr("\"(),:;<>[\\]", u)) return false;
    }
    return true;
}

void mail_message_id(char *out, size_t cap, long long job_id, long long created_us,
                     const char *from_address)
{
    const char *at = from_address ? strchr(from_address, '@') : NULL;
    snprintf(out, cap, "<purposed.%lld.%lld@%s>", job_id, created_us, at ? at + 1 : "localhost");
}

static bool has_line_break(const char *s) { return s && strpbrk(s, "\r\n") != NULL; }

char *mail_build(const mail_message_t *m, char *err, size_t errlen)
{
    if (!mail_address_valid(m->from_address) || !mail_address_valid(m->to)) {
        snprintf(err, errlen, "not an email address: %s",
                 mail_address_valid(m->to) ? m->from_address : m->to);
        return NULL;
    }
    if (has_line_break(m->subject) || has_line_break(m->from_name) ||
        has_line_break(m->message_id) || has_line_break(m->unsubscribe_url)) {
        snprintf(err, errlen, "a header value contains a line break");
        return NULL;
    }
    if (!m->transactional &&
        (!m->unsubscribe_url || strncmp(m->unsubscribe_url, "https://", 8) != 0 ||
         strpbrk(m->unsubscribe_url, "<> "))) {
        snprintf(err, errlen, "a message that is not transactional needs an https unsubscribe URL");
        return NULL;
    }
    char *subject = mail_encode_header(m->subject ? m->subject : "");
    char *name = m->from_name && *m->from_name ? mail_encode_header(m->from_name) : NULL;
    char *text = mail_encode_qp(m->text ? m->text : "");
    char *html = mail_encode_qp(m->html ? m->html : "");
    /* The boundary cannot occur in quoted-printable output: "=_" is never
     * produced there ("=" is followed by two hex digits or a line end). */
    unsigned char h[8];
    crypto_generichash(h, sizeof h, (const unsigned char *)m->message_id,
                       m->message_id ? strlen(m->message_id) : 0, NULL, 0);
    char hx[17];
    sodium_bin2hex(hx, sizeof hx, h, sizeof h);
    char date[64];
    struct tm tm;
    gmtime_r(&m->date, &tm);
    strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);

    strbuf_t b = STRBUF_INIT;
    bool short_of_memory = !subject || !text || !html || (m->from_name && *m->from_name && !name);
    if (name) {
        /* a plain display name goes in quotes (it may hold specials) */
        if (strncmp(name, "=?", 2) == 0) strbuf_addf(&b, "From: %s <%s>\r\n", name, m->from_address);
        else {
            strbuf_addstr(&b, "From: \"");
            for (const char *c = name; *c; c++)
                if (*c == '"' || *c == '\\') {
                    strbuf_add(&b, "\\", 1);
                    strbuf_add(&b, c, 1);
                } else strbuf_add(&b, c, 1);
            strbuf_addf(&b, "\" <%s>\r\n", m->from_address);
        }
    } else {
        strbuf_addf(&b, "From: <%s>\r\n", m->from_address);
    }
    strbuf_addf(&b, "To: <%s>\r\n", m->to);
    strbuf_addstr(&b, "Subject: ");
    if (subject) strbuf_addstr(&b, subject);
    strbuf_addstr(&b, "\r\n");
    strbuf_addf(&b, "Date: %s\r\n", date);
    strbuf_addf(&b, "Message-ID: %s\r\n", m->message_id ? m->message_id : "<unknown@localhost>");
    strbuf_addstr(&b, "MIME-Version: 1.0\r\n");
    strbuf_addstr(&b, "Auto-Submitted: auto-generated\r\n");
    if (!m->transactional) {
        strbuf_addstr(&b, "List-Unsubscribe: <");
        strbuf_addstr(&b, m->unsubscribe_url);
        strbuf_addstr(&b, ">\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n");
    }
    strbuf_addf(&b, "Content-Type: multipart/alternative; boundary=\"=_purposed_%s\"\r\n\r\n", hx);
    strbuf_addf(&b, "--=_purposed_%s\r\n"
                  "Content-Type: text/plain; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n", hx);
    if (text) strbuf_addstr(&b, text);
    strbuf_addf(&b, "\r\n--=_purposed_%s\r\n"
                  "Content-Type: text/html; charset=UTF-8\r\n"
                  "Content-Transfer-Encoding: quoted-printable\r\n\r\n", hx);
    if (html) strbuf_addstr(&b, html);
    strbuf_addf(&b, "\r\n--=_purposed_%s--\r\n", hx);
    free(subject);
    free(name);
    free(text);
    free(html);
    char *out = strbuf_detach(&b, NULL);
    if (out && short_of_memory) {
        free(out);
        out = NULL;
    }
    if (!out) snprintf(err, errlen, "out of memory");
    return out;
}

mail_outcome_t mail_classify(int curl_code, long smtp_code, const char *curl_error)
{
    if (curl_code == CURLE_OK) return MAIL_SENT;
    /* a refused sign-in is the operator's to fix, never the recipient's */
    if (curl_code == CURLE_LOGIN_DENIED || curl_code == CURLE_USE_SSL_FAILED) return MAIL_TEMPORARY;
    if (smtp_code >= 500 && smtp_code <= 599) {
        if (curl_error && (strstr(curl_error, "MAIL failed") || strstr(curl_error, "AUTH") ||
                           strstr(curl_error, "STARTTLS")))
            return MAIL_TEMPORARY;
        return MAIL_PERMANENT;
    }
    return MAIL_TEMPORARY;
}

int mail_parse_smtp_url(const char *url, char *url_out, size_t cap, mail_tls_t *tls, char *err,
                        size_t errlen)
{
    bool smtps = strncmp(url, "smtps://", 8) == 0;
    if (!smtps && strncmp(url, "smtp://", 7) != 0) {
        snprintf(err, errlen, "SMTP_URL must start with smtp:// or smtps:// (got \"%s\")", url);
        return -1;
    }
    const char *host = url + (smtps ? 8 : 7);
    const char *q = strchr(url, '?');
    size_t base = q ? (size_t)(q - url) : strlen(url);
    if (*host == '\0' || *host == '/' || *host == '?' || base >= cap) {
        snprintf(err, errlen, "SMTP_URL needs a host (got \"%s\")", url);
        return -1;
    }
    for (const char *c = url; c < url + base; c++)
        if ((unsigned char)*c <= 0x20 || (unsigned char)*c >= 0x7f) {
            snprintf(err, errlen, "SMTP_URL must not contain spaces or control characters");
            return -1;
        }
    *tls = smtps ? MAIL_TLS_IMPLICIT : MAIL_TLS_REQUIRED;
    if (q) {
        const char *opt = q + 1;
        if (smtps || (strcmp(opt, "tls=required") != 0 && strcmp(opt, "tls=optional") != 0 &&
                      strcmp(opt, "tls=none") != 0)) {
            snprintf(err, errlen,
                     "SMTP_URL takes one option, ?tls=required|optional|none, and only with smtp:// (got \"%s\")",
                     q);
            return -1;
        }
        *tls = !strcmp(opt, "tls=none") ? MAIL_TLS_NONE
             : !strcmp(opt, "tls=optional") ? MAIL_TLS_OPTIONAL : MAIL_TLS_REQUIRED;
    }
    memcpy(url_out, url, base);
    url_out[base] = '\0';
    return 0;
}

typedef struct upload {
    const char *data;
    size_t len, off;
} upload_t;

static size_t read_message(char *dst, size_t size, size_t nmemb, void *arg)
{
    upload_t *u = arg;
    size_t room = size * nmemb, left = u->len - u->off;
    size_t n = left < room ? left : room;
    memcpy(dst, u->data + u->off, n);
    u->off += n;
    return n;
}

/* Once the whole message is sent, the server may have taken it: a shutdown
 * then waits this long for its answer rather than hang up and leave the
 * job to be sent again (a duplicate). A server that answers later than
 * that is treated as not having answered. */
#define MAIL_STOP_GRACE_MS 2000

typedef struct conversation {
    const mail_smtp_t *smtp;
    curl_socket_t fd;
    time_t deadline;
    bool cancelled, timed_out;
    const upload_t *up;
    long long grace_until_ms;   /* 0 until a stop is seen after the whole message went */
} conversation_t;

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int on_socket(void *arg, curl_socket_t fd, curlsocktype purpose)
{
    ((conversation_t *)arg)->fd = fd;
    return CURL_SOCKOPT_OK;
}

/* Cancelled or past the deadline: also shut the socket, or libcurl would
 * still wait (up to two minutes) for the server's answers to the message
 * and to QUIT before giving up. */
static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    conversation_t *conv = arg;
    conv->cancelled = conv->smtp->cancelled && conv->smtp->cancelled();
    conv->timed_out = time(NULL) > conv->deadline;
    if (conv->cancelled && !conv->timed_out && conv->up && conv->up->off == conv->up->len) {
        if (!conv->grace_until_ms) conv->grace_until_ms = now_ms() + MAIL_STOP_GRACE_MS;
        if (now_ms() < conv->grace_until_ms) return 0; /* the answer to the message, first */
    }
    if (!conv->cancelled && !conv->timed_out) return 0;
    if (conv->fd != CURL_SOCKET_BAD) shutdown(conv->fd, SHUT_RDWR);
    return 1;
}

mail_outcome_t mail_send_smtp(const mail_smtp_t *smtp, const char *from_address, const char *to,
                              const char *message, bool *aborted, char *err, size_t errlen)
{
    *aborted = false;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "libcurl could not start");
        return MAIL_TEMPORARY;
    }
    char from[300], rcpt[300], errbuf[CURL_ERROR_SIZE] = "";
    snprintf(from, sizeof from, "<%s>", from_address);
    snprintf(rcpt, sizeof rcpt, "<%s>", to);
    struct curl_slist *rcpts = curl_slist_append(NULL, rcpt);
    upload_t up = {message, strlen(message), 0};
    curl_easy_setopt(c, CURLOPT_URL, smtp->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(c, CURLOPT_MAIL_FROM, from);
    curl_easy_setopt(c, CURLOPT_MAIL_RCPT, rcpts);
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, read_message);
    curl_easy_setopt(c, CURLOPT_READDATA, &up);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)up.len);
    curl_easy_setopt(c, CURLOPT_USE_SSL, smtp->tls == MAIL_TLS_NONE       ? (long)CURLUSESSL_NONE
                                         : smtp->tls == MAIL_TLS_OPTIONAL ? (long)CURLUSESSL_TRY
                                                                          : (long)CURLUSESSL_ALL);
    if (smtp->user && *smtp->user) {
        curl_easy_setopt(c, CURLOPT_USERNAME, smtp->user);
        curl_easy_setopt(c, CURLOPT_PASSWORD, smtp->password ? smtp->password : "");
    }
    long timeout = smtp->timeout_s > 0 ? smtp->timeout_s : 60;
    curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    conversation_t conv = {smtp, CURL_SOCKET_BAD, time(NULL) + timeout, false, false, &up, 0};
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &conv);
    curl_easy_setopt(c, CURLOPT_SOCKOPTFUNCTION, on_socket);
    curl_easy_setopt(c, CURLOPT_SOCKOPTDATA, &conv);
    CURLcode rc = curl_easy_perform(c);
    long code = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
    curl_slist_free_all(rcpts);
    curl_easy_cleanup(c);
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        *aborted = conv.cancelled;
        if (!conv.cancelled) {
            rc = CURLE_OPERATION_TIMEDOUT;
            snprintf(errbuf, sizeof errbuf, "no answer within %ld s", timeout);
        }
    }
    mail_outcome_t out = mail_classify((int)rc, code, errbuf);
    if (out != MAIL_SENT)
        snprintf(err, errlen, "%s (SMTP reply %ld)", errbuf[0] ? errbuf : curl_easy_strerror(rc), code);
    return out;
}

/* mkdir -p for a relative or absolute path. */
static int make_dirs(const char *dir)
{
    char path[1024];
    if (snprintf(path, sizeof path, "%s", dir) >= (int)sizeof path) return -1;
    for (char *p = path + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            if (mkdir(path, 0750) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    if (mkdir(path, 0750) != 0 && errno != EEXIST) return -1;
    return 0;
}

int mail_store(const char *dir, const char *name, const char *message, char *path, size_t pathcap,
               char *err, size_t errlen)
{
    char tmp[1200];
    if (make_dirs(dir) != 0) {
        snprintf(err, errlen, "cannot create %s: %s", dir, strerror(errno));
        return -1;
    }
    snprintf(path, pathcap, "%s/%s.eml", dir, name);
    snprintf(tmp, sizeof tmp, "%s/.%s.eml.tmp", dir, name);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
    if (fd < 0) {
        snprintf(err, errlen, "cannot write %s: %s", tmp, strerror(errno));
        return -1;
    }
    size_t len = strlen(message), off = 0;
    while (off < len) {
        ssize_t w = write(fd, message + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) break;
        off += (size_t)w;
    }
    bool ok = off == len && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0) ok = false;
    if (!ok || rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(ok ? errno : saved));
        unlink(tmp);
        return -1;
    }
    return 0;
}
