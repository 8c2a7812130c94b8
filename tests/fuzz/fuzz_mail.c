/* fuzz_mail: the message builder on hostile field values. Quoted-printable
 * and RFC 2047 headers decode back to what went in; a built message has
 * CRLF line ends only, no line over 998, and a header block that no value
 * could add a header to; SMTP_URL parsing keeps a prefix of its input. */
#include <assert.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Quoted-printable back to text with \n line ends. */
static char *qp_decode(const char *q)
{
    char *out = malloc(strlen(q) + 1), *o = out;
    for (const char *p = q; *p;) {
        if (p[0] == '=' && p[1] == '\r' && p[2] == '\n') p += 3;
        else if (p[0] == '=') {
            assert(hexval(p[1]) >= 0 && hexval(p[2]) >= 0);
            *o++ = (char)(hexval(p[1]) * 16 + hexval(p[2]));
            p += 3;
        } else if (p[0] == '\r' && p[1] == '\n') {
            *o++ = '\n';
            p += 2;
        } else {
            assert(*p != '\r' && *p != '\n');
            *o++ = *p++;
        }
    }
    *o = '\0';
    return out;
}

/* "\r\n" -> "\n", as the encoder reads line ends. */
static char *lf_only(const char *s)
{
    char *out = malloc(strlen(s) + 1), *o = out;
    for (; *s; s++)
        if (!(s[0] == '\r' && s[1] == '\n')) *o++ = *s;
    *o = '\0';
    return out;
}

static void check_header_roundtrip(const char *value)
{
    char *enc = mail_encode_header(value);
    assert(enc);
    if (strncmp(enc, "=?UTF-8?B?", 10) != 0) {
        assert(strcmp(enc, value) == 0);
    } else {
        unsigned char *dec = malloc(strlen(enc) + 1);
        size_t n = 0;
        for (const char *p = enc; (p = strstr(p, "=?UTF-8?B?")) != NULL;) {
            p += 10;
            const char *end = strstr(p, "?=");
            assert(end && end - p <= 63);
            size_t len = 0;
            assert(sodium_base642bin(dec + n, strlen(enc) - n, p, (size_t)(end - p), NULL, &len, NULL,
                                     sodium_base64_VARIANT_ORIGINAL) == 0);
            n += len;
            p = end + 2;
        }
        assert(n == strlen(value) && memcmp(dec, value, n) == 0);
        free(dec);
    }
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sodium_init() < 0) return 0;
    /* four NUL-separated fields: subject, text, to, from name */
    char *buf = malloc(size + 4);
    memcpy(buf, data, size);
    memset(buf + size, 0, 4);
    const char *field[4];
    const char *p = buf;
    for (int i = 0; i < 4; i++) {
        field[i] = p;
        p += strlen(p) + (p < buf + size ? 1 : 0);
        if (p > buf + size) p = buf + size;
    }
    check_header_roundtrip(field[0]);
    char *qp = mail_encode_qp(field[1]);
    char *back = qp_decode(qp), *want = lf_only(field[1]);
    assert(strcmp(back, want) == 0);
    for (const char *l = qp; *l;) {
        const char *end = strstr(l, "\r\n");
        size_t len = end ? (size_t)(end - l) : strlen(l);
        assert(len <= 76);
        assert(!(len > 0 && l[0] == '.'));
        l = end ? end + 2 : l + len;
    }
    free(qp);
    free(back);
    free(want);

    mail_message_t m = {
        .from_name = field[3], .from_address = "noreply@purposed.example", .to = field[2],
        .subject = field[0], .text = field[1], .html = field[1],
        .message_id = "<purposed.1.1@purposed.example>", .date = 0, .transactional = true,
    };
    char err[256];
    char *msg = mail_build(&m, err, sizeof err);
    if (msg) {
        for (const char *c = msg; *c; c++) {
            if (*c == '\n') assert(c > msg && c[-1] == '\r');
            if (*c == '\r') assert(c[1] == '\n');
        }
        const char *head_end = strstr(msg, "\r\n\r\n");
        assert(head_end);
        /* every header line is a known header or a folded continuation */
        static const char *const names[] = {"From: ", "To: ", "Subject: ", "Date: ", "Message-ID: ",
                                            "MIME-Version: ", "Auto-Submitted: ", "Content-Type: ", " "};
        for (const char *l = msg; l < head_end + 2;) {
            int known = 0;
            for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
                if (strncmp(l, names[i], strlen(names[i])) == 0) known = 1;
            assert(known);
            const char *end = strstr(l, "\r\n");
            assert(end - l <= 998);
            l = end + 2;
        }
        free(msg);
    }

    char url[1100];
    mail_tls_t tls;
    char first[1024];
    size_t n = strlen(buf) < sizeof first - 1 ? strlen(buf) : sizeof first - 1;
    memcpy(first, buf, n);
    first[n] = '\0';
    if (mail_parse_smtp_url(first, url, sizeof url, &tls, err, sizeof err) == 0)
        assert(strncmp(url, first, strlen(url)) == 0 && strchr(url, '?') == NULL);
    free(buf);
    return 0;
}
