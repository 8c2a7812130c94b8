/* Unit tests for lib/mail, lib/letters and the pure parts of lib/jobs: the
 * message as built (headers, RFC 2047 subjects, quoted-printable parts,
 * List-Unsubscribe), what an SMTP reply means, SMTP_URL's tls option, the
 * letters' escaping, and the retry backoff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <curl/curl.h>
#include <sodium.h>

#include "jobs.h"
#include "letters.h"
#include "mail.h"
#include "outbox.h"

/* True when s is whole UTF-8: no sequence cut at either end. */
static int utf8_whole(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = *p < 0x80 ? 1 : (*p & 0xE0) == 0xC0 ? 2 : (*p & 0xF0) == 0xE0 ? 3 : (*p & 0xF8) == 0xF0 ? 4 : 0;
        if (n == 0) return 0;
        for (int i = 1; i < n; i++)
            if ((p[i] & 0xC0) != 0x80) return 0;
        p += n;
    }
    return 1;
}

/* Decode one RFC 2047 B encoded-word sequence (what a mail client does). */
static void decode_header(const char *enc, char *out, size_t cap)
{
    size_t n = 0;
    const char *p = enc;
    while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
        p += 10;
        const char *end = strstr(p, "?=");
        assert_non_null(end);
        size_t len = 0;
        assert_int_equal(sodium_base642bin((unsigned char *)out + n, cap - n - 1, p, (size_t)(end - p),
                                           NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
        n += len;
        p = end + 2;
    }
    out[n] = '\0';
}

static void header_plain_ascii_stays(void **state)
{
    char *s = mail_encode_header("Confirm your email address");
    assert_string_equal(s, "Confirm your email address");
    free(s);
}

static void header_utf8_encoded_and_split_on_characters(void **state)
{
    /* 38 ASCII bytes, then "é" across the 39-byte chunk boundary, then 3-byte characters */
    const char *subject = "Votre engagement du Café des sciences é a été accepté ✓✓✓✓✓✓✓✓✓✓✓✓✓✓ — merci !";
    char *s = mail_encode_header(subject);
    assert_non_null(s);
    assert_true(strncmp(s, "=?UTF-8?B?", 10) == 0);
    /* each line (encoded-word) at most 75 characters, folded with CRLF SP */
    for (const char *line = s; line;) {
        const char *next = strstr(line, "\r\n ");
        size_t len = next ? (size_t)(next - line) : strlen(line);
        assert_true(len <= 75);
        /* every word decodes to whole UTF-8 characters on its own */
        char word[128], dec[128];
        snprintf(word, sizeof word, "%.*s", (int)len, line);
        decode_header(word, dec, sizeof dec);
        assert_int_equal(utf8_whole(dec), 1);
        line = next ? next + 3 : NULL;
    }
    char all[512];
    decode_header(s, all, sizeof all);
    assert_string_equal(all, subject);
    free(s);
    /* "=?" in plain ASCII would be read as an encoded word: encode it */
    s = mail_encode_header("a =?x?= b");
    assert_true(strncmp(s, "=?UTF-8?B?", 10) == 0);
    free(s);
}

static void qp_encodes_and_wraps(void **state)
{
    char line[200];
    memset(line, 'a', 100);
    line[100] = '\0';
    char text[400];
    snprintf(text, sizeof text, "Zoë = 1 \n.dot\n%s\ntrailing \n", line);
    char *q = mail_encode_qp(text);
    assert_non_null(q);
    assert_non_null(strstr(q, "Zo=C3=AB =3D 1=20\r\n"));  /* UTF-8, '=', trailing space */
    assert_non_null(strstr(q, "\r\n=2Edot\r\n"));          /* a '.' opening a line */
    assert_non_null(strstr(q, "trailing=20\r\n"));
    for (const char *l = q; *l;) {
        const char *end = strstr(l, "\r\n");
        assert_non_null(end);
        assert_true(end - l <= 76);
        l = end + 2;
    }
    for (const char *c = q; *c; c++)
        if (*c == '\n') assert_int_equal(c[-1], '\r');
    free(q);
}

static void addresses(void **state)
{
    assert_true(mail_address_valid("a@b.example"));
    assert_true(mail_address_valid("first.last+tag@sub.example.org"));
    assert_false(mail_address_valid("no-at.example"));
    assert_false(mail_address_valid("a@b@c"));
    assert_false(mail_address_valid("a b@c.example"));
    assert_false(mail_address_valid("a@c.example\r\nBcc: x@y"));
    assert_false(mail_address_valid("<a@c.example>"));
    assert_false(mail_address_valid("@c.example"));
    assert_false(mail_address_valid("a@"));
}

static mail_message_t sample_message(void)
{
    mail_message_t m = {
        .from_name = "Purposed",
        .from_address = "noreply@purposed.example",
        .to = "zoe@example.org",
        .subject = "Réinitialiser",
        .text = "Hello Zoë\nline two\n",
        .html = "<p>Hello Zoë</p>\n",
        .message_id = "<purposed.7.1700000000000000@purposed.example>",
        .date = 1700000000,
        .transactional = true,
    };
    return m;
}

static void build_transactional(void **state)
{
    mail_message_t m = sample_message();
    char err[200];
    char *msg = mail_build(&m, err, sizeof err);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "From: \"Purposed\" <noreply@purposed.example>\r\n"));
    assert_non_null(strstr(msg, "To: <zoe@example.org>\r\n"));
    assert_non_null(strstr(msg, "Subject: =?UTF-8?B?"));
    assert_non_null(strstr(msg, "Date: Tue, 14 Nov 2023 22:13:20 +0000\r\n"));
    assert_non_null(strstr(msg, "Message-ID: <purposed.7.1700000000000000@purposed.example>\r\n"));
    assert_non_null(strstr(msg, "MIME-Version: 1.0\r\n"));
    assert_non_null(strstr(msg, "Content-Type: multipart/alternative; boundary=\"=_purposed_"));
    assert_null(strstr(msg, "List-Unsubscribe"));
    /* the text part, then the HTML part, both quoted-printable UTF-8 */
    const char *t = strstr(msg, "Content-Type: text/plain; charset=UTF-8\r\n");
    const char *h = strstr(msg, "Content-Type: text/html; charset=UTF-8\r\n");
    assert_non_null(t);
    assert_non_null(h);
    assert_true(t < h);
    assert_non_null(strstr(msg, "Hello Zo=C3=AB\r\nline two\r\n"));
    /* headers and body separated once, every line CRLF */
    for (const char *c = msg; *c; c++)
        if (*c == '\n') assert_int_equal(c[-1], '\r');
    /* the same job builds the same message */
    char *again = mail_build(&m, err, sizeof err);
    assert_string_equal(msg, again);
    free(again);
    free(msg);
}

static void build_not_transactional_needs_unsubscribe(void **state)
{
    mail_message_t m = sample_message();
    m.transactional = false;
    char err[200] = "";
    assert_null(mail_build(&m, err, sizeof err));
    assert_non_null(strstr(err, "unsubscribe"));
    m.unsubscribe_url = "https://purposed.example/unsubscribe#t=abc";
    char *msg = mail_build(&m, err, sizeof err);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "List-Unsubscribe: <https://purposed.example/unsubscribe#t=abc>\r\n"));
    assert_non_null(strstr(msg, "List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"));
    free(msg);
}

static void build_refuses_header_injection(void **state)
{
    mail_message_t m = sample_message();
    char err[200];
    m.subject = "Hello\r\nBcc: victim@example.org";
    assert_null(mail_build(&m, err, sizeof err));
    m = sample_message();
    m.to = "zoe@example.org\r\nBcc: victim@example.org";
    assert_null(mail_build(&m, err, sizeof err));
    m = sample_message();
    m.from_name = "Evil\nX: y";
    assert_null(mail_build(&m, err, sizeof err));
}

static void message_id_from_job(void **state)
{
    char id[128];
    mail_message_id(id, sizeof id, 42, 1700000000123456LL, "noreply@purposed.example");
    assert_string_equal(id, "<purposed.42.1700000000123456@purposed.example>");
}

static void classify_replies(void **state)
{
    assert_int_equal(mail_classify(CURLE_OK, 250, ""), MAIL_SENT);
    assert_int_equal(mail_classify(CURLE_SEND_ERROR, 451, "RCPT failed: 451"), MAIL_TEMPORARY);
    assert_int_equal(mail_classify(CURLE_SEND_ERROR, 421, "MAIL failed: 421"), MAIL_TEMPORARY);
    assert_int_equal(mail_classify(CURLE_COULDNT_CONNECT, 0, "Connection refused"), MAIL_TEMPORARY);
    assert_int_equal(mail_classify(CURLE_OPERATION_TIMEDOUT, 250, "timed out"), MAIL_TEMPORARY);
    assert_int_equal(mail_classify(CURLE_COULDNT_RESOLVE_HOST, 0, ""), MAIL_TEMPORARY);
    assert_int_equal(mail_classify(CURLE_SEND_ERROR, 550, "RCPT failed: 550"), MAIL_PERMANENT);
    assert_int_equal(mail_classify(CURLE_WEIRD_SERVER_REPLY, 554, "DATA failed"), MAIL_PERMANENT);
    /* a 5xx to the sender or to the sign-in is the operator's configuration */
    assert_int_equal(mail_classify(CURLE_SEND_ERROR, 553, "MAIL failed: 553"), MAIL_TEMPORARY);
    assert_int_equal(mail_classify(CURLE_LOGIN_DENIED, 535, "Login denied"), MAIL_TEMPORARY);
    assert_int_equal(mail_classify(CURLE_USE_SSL_FAILED, 0, "STARTTLS not supported"), MAIL_TEMPORARY);
}

static void smtp_url_tls_option(void **state)
{
    char url[256], err[256];
    mail_tls_t tls;
    assert_int_equal(mail_parse_smtp_url("smtp://mail.example:587", url, sizeof url, &tls, err, sizeof err), 0);
    assert_string_equal(url, "smtp://mail.example:587");
    assert_int_equal(tls, MAIL_TLS_REQUIRED);
    assert_int_equal(mail_parse_smtp_url("smtps://mail.example", url, sizeof url, &tls, err, sizeof err), 0);
    assert_int_equal(tls, MAIL_TLS_IMPLICIT);
    assert_int_equal(mail_parse_smtp_url("smtp://127.0.0.1:2525?tls=none", url, sizeof url, &tls, err, sizeof err), 0);
    assert_string_equal(url, "smtp://127.0.0.1:2525");
    assert_int_equal(tls, MAIL_TLS_NONE);
    assert_int_equal(mail_parse_smtp_url("smtp://relay?tls=optional", url, sizeof url, &tls, err, sizeof err), 0);
    assert_int_equal(tls, MAIL_TLS_OPTIONAL);
    assert_int_equal(mail_parse_smtp_url("smtp://relay?tls=required", url, sizeof url, &tls, err, sizeof err), 0);
    assert_int_equal(tls, MAIL_TLS_REQUIRED);
    assert_int_equal(mail_parse_smtp_url("http://relay", url, sizeof url, &tls, err, sizeof err), -1);
    assert_int_equal(mail_parse_smtp_url("smtp://", url, sizeof url, &tls, err, sizeof err), -1);
    assert_int_equal(mail_parse_smtp_url("smtp://relay?tls=off", url, sizeof url, &tls, err, sizeof err), -1);
    assert_int_equal(mail_parse_smtp_url("smtps://relay?tls=none", url, sizeof url, &tls, err, sizeof err), -1);
    assert_non_null(strstr(err, "tls="));
}

static void letters_escape_and_link(void **state)
{
    json_t *vars = json_pack("{s:s}", "name", "<script>Zoë</script>");
    json_t *secret = json_pack("{s:s}", "token", "T0K");
    letter_t l;
    char err[200];
    assert_int_equal(letters_render("verify_email", vars, secret, "https://p.example", &l, err, sizeof err), 0);
    assert_true(l.transactional);
    assert_true(l.ignores_suppression);
    assert_non_null(strstr(l.text, "Hello <script>Zoë</script>,"));
    assert_null(strstr(l.html, "<script>"));
    assert_non_null(strstr(l.html, "&lt;script&gt;Zoë&lt;/script&gt;"));
    assert_non_null(strstr(l.text, "https://p.example/verify-email#token=T0K"));
    assert_non_null(strstr(l.html, "href=\"https://p.example/verify-email#token=T0K\""));
    letters_free(&l);
    assert_int_equal(letters_render("password_reset", NULL, NULL, "https://p.example", &l, err, sizeof err), -1);
    assert_int_equal(letters_render("no_such", vars, secret, "https://p.example", &l, err, sizeof err), -1);
    assert_non_null(strstr(err, "no such letter"));
    assert_int_equal(letters_render("password_reset", NULL, secret, "https://p.example", &l, err, sizeof err), 0);
    assert_false(l.ignores_suppression);
    letters_free(&l);
    json_decref(vars);
    json_decref(secret);
}

/* The digest: grouped by kind, escaped, "and N more" past the lines shown,
 * the unsubscribe link and the settings in its footer; not transactional. */
static void letters_digest_groups_lines(void **state)
{
    json_t *vars = json_pack("{s:s, s:i, s:[{s:s, s:i, s:[s, s]}, {s:s, s:i, s:[s]}], s:s}", "name", "Ada",
                             "total", 5, "groups", "kind", "engagement_posted", "count", 4, "messages",
                             "River <walk>", "Lake day", "kind", "moderation", "count", 1, "messages",
                             "Hidden", "unsubscribe_url", "https://p.example/unsubscribe?token=1.digest.ab");
    letter_t l;
    char err[200];
    assert_int_equal(letters_render("digest", vars, NULL, "https://p.example", &l, err, sizeof err), 0);
    assert_false(l.transactional);
    assert_string_equal(l.subject, "Purposed: your daily digest (5 new)");
    assert_non_null(strstr(l.text, "New engagements from organisations you follow (4)\n- River <walk>\n- Lake day\n- and 2 more\n"));
    assert_non_null(strstr(l.text, "Moderation (1)\n- Hidden\n"));
    assert_non_null(strstr(l.html, "<li>River &lt;walk&gt;</li>"));
    assert_null(strstr(l.html, "<walk>"));
    assert_non_null(strstr(l.text, "Stop the daily digest: https://p.example/unsubscribe?token=1.digest.ab"));
    assert_non_null(strstr(l.html, "href=\"https://p.example/unsubscribe?token=1.digest.ab\""));
    assert_non_null(strstr(l.text, "https://p.example/settings#notifications"));
    letters_free(&l);
    json_object_del(vars, "groups");
    assert_int_equal(letters_render("digest", vars, NULL, "https://p.example", &l, err, sizeof err), -1);
    json_decref(vars);
}

/* An invitation links to its accept page; without an account, no name. */
static void letters_invitation_link(void **state)
{
    json_t *vars = json_pack("{s:s, s:s, s:s}", "organisation", "Rivers & Co", "role", "admin", "inviter", "Ada");
    json_t *secret = json_pack("{s:s}", "token", "INV");
    letter_t l;
    char err[200];
    assert_int_equal(letters_render("invitation", vars, secret, "https://p.example", &l, err, sizeof err), 0);
    assert_true(l.transactional);
    assert_true(strncmp(l.text, "Hello,\n", 7) == 0);
    assert_non_null(strstr(l.text, "Ada invited you to join Rivers & Co as admin."));
    assert_non_null(strstr(l.text, "https://p.example/invitations/accept#token=INV"));
    assert_non_null(strstr(l.html, "<strong>Rivers &amp; Co</strong>"));
    letters_free(&l);
    json_object_set_new(vars, "name", json_string("Grace"));
    assert_int_equal(letters_render("invitation", vars, secret, "https://p.example", &l, err, sizeof err), 0);
    assert_true(strncmp(l.text, "Hello Grace,\n", 13) == 0);
    letters_free(&l);
    assert_int_equal(letters_render("invitation", vars, NULL, "https://p.example", &l, err, sizeof err), -1);
    json_decref(vars);
    json_decref(secret);
}

static void backoff_doubles_with_jitter_and_cap(void **state)
{
    assert_true(jobs_backoff_seconds(1, 30, 3600, 0.0) == 15.0);
    assert_true(jobs_backoff_seconds(1, 30, 3600, 0.999999) > 29.9);
    assert_true(jobs_backoff_seconds(2, 30, 3600, 0.0) == 30.0);
    assert_true(jobs_backoff_seconds(3, 30, 3600, 0.0) == 60.0);
    assert_true(jobs_backoff_seconds(4, 30, 3600, 1.0) == 240.0);
    /* the cap holds however many attempts */
    assert_true(jobs_backoff_seconds(20, 30, 3600, 0.0) == 1800.0);
    assert_true(jobs_backoff_seconds(1000, 30, 3600, 0.5) <= 3600.0);
    assert_true(jobs_backoff_seconds(0, 30, 3600, 0.0) == 15.0);
}

static void unsubscribe_tokens(void **state)
{
    char t[OUTBOX_UNSUBSCRIBE_TOKEN_MAX], kind[65];
    long long id = 0;
    const char *key = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    outbox_unsubscribe_token(t, sizeof t, 42, "engagement_posted", key);
    assert_true(strncmp(t, "42.engagement_posted.", 21) == 0);
    assert_int_equal(outbox_unsubscribe_check(t, key, &id, kind, sizeof kind), 0);
    assert_int_equal(id, 42);
    assert_string_equal(kind, "engagement_posted");
    /* another key, another account or kind, a changed MAC: refused */
    assert_int_equal(outbox_unsubscribe_check(t, "another key of the instance", &id, kind, sizeof kind), -1);
    char forged[OUTBOX_UNSUBSCRIBE_TOKEN_MAX];
    snprintf(forged, sizeof forged, "43%s", t + 2);
    assert_int_equal(outbox_unsubscribe_check(forged, key, &id, kind, sizeof kind), -1);
    snprintf(forged, sizeof forged, "42.agreement_proposed%s", strrchr(t, '.'));
    assert_int_equal(outbox_unsubscribe_check(forged, key, &id, kind, sizeof kind), -1);
    snprintf(forged, sizeof forged, "%s", t);
    forged[strlen(forged) - 1] = forged[strlen(forged) - 1] == '0' ? '1' : '0';
    assert_int_equal(outbox_unsubscribe_check(forged, key, &id, kind, sizeof kind), -1);
    assert_int_equal(outbox_unsubscribe_check(NULL, key, &id, kind, sizeof kind), -1);
    assert_int_equal(outbox_unsubscribe_check("x.y.z", key, &id, kind, sizeof kind), -1);
    assert_int_equal(outbox_unsubscribe_check("1.BAD.00", key, &id, kind, sizeof kind), -1);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_plain_ascii_stays),
        cmocka_unit_test(header_utf8_encoded_and_split_on_characters),
        cmocka_unit_test(qp_encodes_and_wraps),
        cmocka_unit_test(addresses),
        cmocka_unit_test(build_transactional),
        cmocka_unit_test(build_not_transactional_needs_unsubscribe),
        cmocka_unit_test(build_refuses_header_injection),
        cmocka_unit_test(message_id_from_job),
        cmocka_unit_test(classify_replies),
        cmocka_unit_test(smtp_url_tls_option),
        cmocka_unit_test(letters_escape_and_link),
        cmocka_unit_test(letters_digest_groups_lines),
        cmocka_unit_test(letters_invitation_link),
        cmocka_unit_test(backoff_doubles_with_jitter_and_cap),
        cmocka_unit_test(unsubscribe_tokens),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
