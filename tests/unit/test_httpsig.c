/* Unit tests for lib/httpsig against published test vectors:
 * draft-cavage-http-signatures-12 Appendix C (the "Test" RSA key; C.1 Default,
 * C.2 Basic and C.3 All Headers signatures, reproduced byte for byte and
 * verified), RFC 9421 Appendix B.2.6 (Ed25519, test-key-ed25519 of B.1.4),
 * the Digest of the draft's body; then tampering: one byte changed in each
 * covered component, in the signature, in the parameters, fails. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "httpsig.h"

/* ---- draft-cavage-http-signatures-12, Appendix C ---- */

static const char CAVAGE_PUBLIC[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3\n"
    "6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6\n"
    "Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw\n"
    "oYi+1hqp1fIekaxsyQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static const char CAVAGE_PRIVATE[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXgIBAAKBgQDCFENGw33yGihy92pDjZQhl0C36rPJj+CvfSC8+q28hxA161QF\n"
    "NUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6Z4UMR7EOcpfdUE9Hf3m/hs+F\n"
    "UR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJwoYi+1hqp1fIekaxsyQIDAQAB\n"
    "AoGBAJR8ZkCUvx5kzv+utdl7T5MnordT1TvoXXJGXK7ZZ+UuvMNUCdN2QPc4sBiA\n"
    "QWvLw1cSKt5DsKZ8UETpYPy8pPYnnDEz2dDYiaew9+xEpubyeW2oH4Zx71wqBtOK\n"
    "kqwrXa/pzdpiucRRjk6vE6YY7EBBs/g7uanVpGibOVAEsqH1AkEA7DkjVH28WDUg\n"
    "f1nqvfn2Kj6CT7nIcE3jGJsZZ7zlZmBmHFDONMLUrXR/Zm3pR5m0tCmBqa5RK95u\n"
    "412jt1dPIwJBANJT3v8pnkth48bQo/fKel6uEYyboRtA5/uHuHkZ6FQF7OUkGogc\n"
    "mSJluOdc5t6hI1VsLn0QZEjQZMEOWr+wKSMCQQCC4kXJEsHAve77oP6HtG/IiEn7\n"
    "kpyUXRNvFsDE0czpJJBvL/aRFUJxuRK91jhjC68sA7NsKMGg5OXb5I5Jj36xAkEA\n"
    "gIT7aFOYBFwGgQAQkWNKLvySgKbAZRTeLBacpHMuQdl1DfdntvAyqpAZ0lY0RKmW\n"
    "G6aFKaqQfOXKCyWoUiVknQJAXrlgySFci/2ueKlIE1QqIiLSZ8V8OlpFLRnb1pzI\n"
    "7U1yQXnTAEFYM560yJlzUpOb1V4cScGd365tiSMvxLOvTA==\n"
    "-----END RSA PRIVATE KEY-----\n";

/* POST /foo?param=value&pet=dog HTTP/1.1, its headers, and its body */
#define CAVAGE_PATH "/foo?param=value&pet=dog"
#define CAVAGE_BODY "{\"hello\": \"world\"}"
#define NCAVAGE 5
static httpsig_header_t cavage_headers[NCAVAGE];
static char cavage_values[NCAVAGE][128];

static void cavage_request(void)
{
    static const char *const names[NCAVAGE] = {"Host", "Date", "Content-Type", "Digest", "Content-Length"};
    static const char *const values[NCAVAGE] = {"example.com", "Sun, 05 Jan 2014 21:31:40 GMT", "application/json",
                                                "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=", "18"};
    for (int i = 0; i < NCAVAGE; i++) {
        snprintf(cavage_values[i], sizeof cavage_values[i], "%s", values[i]);
        cavage_headers[i].name = names[i];
        cavage_headers[i].value = cavage_values[i];
    }
}

/* the published Signature header values */
static const char C1_DEFAULT[] =
    "keyId=\"Test\",algorithm=\"rsa-sha256\","
    "signature=\"SjWJWbWN7i0wzBvtPl8rbASWz5xQW6mcJmn+ibttBqtifLN7Sazz"
    "6m79cNfwwb8DMJ5cou1s7uEGKKCs+FLEEaDV5lp7q25WqS+lavg7T8hc0GppauB"
    "6hbgEKTwblDHYGEtbGmtdHgVCk9SuS13F0hZ8FD0k/5OxEPXe5WozsbM=\"";
static const char C2_BASIC[] =
    "keyId=\"Test\",algorithm=\"rsa-sha256\","
    "headers=\"(request-target) host date\", signature=\"qdx+H7PHHDZgy4"
    "y/Ahn9Tny9V3GP6YgBPyUXMmoxWtLbHpUnXS2mg2+SbrQDMCJypxBLSPQR2aAjn"
    "7ndmw2iicw3HMbe8VfEdKFYRqzic+efkb3nndiv/x1xSHDJWeSWkx3ButlYSuBs"
    "kLu6kd9Fswtemr3lgdDEmn04swr2Os0=\"";
static const char C3_ALL[] =
    "keyId=\"Test\",algorithm=\"rsa-sha256\","
    "headers=\"(request-target) host date content-type digest content-length\","
    "signature=\"vSdrb+dS3EceC9bcwHSo4MlyKS59iFIrhgYkz8+oVLEEzmYZZvRs"
    "8rgOp+63LEM3v+MFHB32NfpB2bEKBIvB1q52LaEUHFv120V01IL+TAD48XaERZF"
    "ukWgHoBTLMhYS2Gb51gWxpeIq8knRmPnYePbF5MOkR0Zkly4zKH7s1dE=\"";

static const char *signature_of(const char *header)
{
    const char *s = strstr(header, "signature=\"");
    return s ? s + 11 : "";
}

static int cavage_check(const char *header, const char *method, const char *path, const httpsig_header_t *h,
                        size_t n, const char *public_pem)
{
    httpsig_cavage_t sig;
    char err[256];
    if (httpsig_cavage_parse(header, &sig, err, sizeof err) != 0) return -2;
    return httpsig_cavage_verify(&sig, method, path, h, n, public_pem, err, sizeof err);
}

static void cavage_digest_of_the_body(void **state)
{
    char d[80];
    httpsig_digest(CAVAGE_BODY, strlen(CAVAGE_BODY), d, sizeof d);
    assert_string_equal(d, "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=");
    httpsig_content_digest(CAVAGE_BODY, strlen(CAVAGE_BODY), d, sizeof d);
    assert_string_equal(d, "sha-256=:X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE=:");
    /* the empty body (RFC 9530's sha-256 of nothing) */
    httpsig_content_digest("", 0, d, sizeof d);
    assert_string_equal(d, "sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:");
}

static void cavage_signs_the_published_signatures(void **state)
{
    cavage_request();
    struct {
        const char *names, *published;
    } cases[] = {{"date", C1_DEFAULT},
                 {"(request-target) host date", C2_BASIC},
                 {"(request-target) host date content-type digest content-length", C3_ALL}};
    for (size_t i = 0; i < 3; i++) {
        char *h = httpsig_cavage_sign("POST", CAVAGE_PATH, cavage_headers, NCAVAGE, cases[i].names, "Test",
                                      CAVAGE_PRIVATE);
        assert_non_null(h);
        assert_string_equal(signature_of(h), signature_of(cases[i].published));
        char expect[128];
        snprintf(expect, sizeof expect, "keyId=\"Test\",algorithm=\"rsa-sha256\",headers=\"%s\",signature=\"",
                 cases[i].names);
        assert_memory_equal(h, expect, strlen(expect));
        free(h);
    }
}

static void cavage_verifies_the_published_signatures(void **state)
{
    cavage_request();
    httpsig_cavage_t sig;
    char err[256];
    assert_int_equal(httpsig_cavage_parse(C1_DEFAULT, &sig, err, sizeof err), 0);
    assert_string_equal(sig.key_id, "Test");
    assert_string_equal(sig.algorithm, "rsa-sha256");
    assert_string_equal(sig.headers, "date"); /* the default */
    assert_int_equal(sig.signature_len, 128);
    assert_int_equal(httpsig_cavage_verify(&sig, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC,
                                           err, sizeof err), 0);
    assert_int_equal(cavage_check(C2_BASIC, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC), 0);
    assert_int_equal(cavage_check(C3_ALL, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC), 0);
    assert_true(httpsig_cavage_parse(C3_ALL, &sig, err, sizeof err) == 0 && httpsig_cavage_covers(&sig, "digest") &&
                httpsig_cavage_covers(&sig, "(request-target)") && !httpsig_cavage_covers(&sig, "dig"));
    /* the Authorization form, and header names in any case */
    char auth[1024];
    snprintf(auth, sizeof auth, "Signature %s", C2_BASIC);
    assert_int_equal(cavage_check(auth, "post", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC), 0);
    httpsig_header_t lower[NCAVAGE];
    for (int i = 0; i < NCAVAGE; i++) lower[i] = (httpsig_header_t){i == 0 ? "HOST" : cavage_headers[i].name,
                                                                    cavage_headers[i].value};
    assert_int_equal(cavage_check(C3_ALL, "POST", CAVAGE_PATH, lower, NCAVAGE, CAVAGE_PUBLIC), 0);
    /* a header nobody signed may change */
    httpsig_header_t more[NCAVAGE + 1];
    memcpy(more, cavage_headers, sizeof cavage_headers);
    more[NCAVAGE] = (httpsig_header_t){"X-Unsigned", "anything"};
    assert_int_equal(cavage_check(C3_ALL, "POST", CAVAGE_PATH, more, NCAVAGE + 1, CAVAGE_PUBLIC), 0);
}

static void cavage_tampering_fails(void **state)
{
    cavage_request();
    /* each covered header, one byte changed */
    for (int i = 0; i < NCAVAGE; i++) {
        cavage_request();
        cavage_values[i][0] ^= 0x01;
        if (cavage_check(C3_ALL, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC) != -1)
            fail_msg("a changed %s still verifies", cavage_headers[i].name);
        if (i == 1 && cavage_check(C1_DEFAULT, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC) != -1)
            fail_msg("a changed date still verifies the default test");
    }
    cavage_request();
    /* the request target: method and path */
    assert_int_equal(cavage_check(C3_ALL, "PUT", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC), -1);
    assert_int_equal(cavage_check(C3_ALL, "POST", "/foo?param=value&pet=cat", cavage_headers, NCAVAGE,
                                  CAVAGE_PUBLIC), -1);
    assert_int_equal(cavage_check(C2_BASIC, "POST", "/fo0?param=value&pet=dog", cavage_headers, NCAVAGE,
                                  CAVAGE_PUBLIC), -1);
    /* a covered header missing */
    assert_int_equal(cavage_check(C3_ALL, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE - 1, CAVAGE_PUBLIC), -1);
    /* each byte position of the signature: one in the middle and the last base64 character's bits */
    char forged[sizeof C3_ALL];
    memcpy(forged, C3_ALL, sizeof C3_ALL);
    char *s = strstr(forged, "signature=\"") + 11;
    s[10] = s[10] == 'A' ? 'B' : 'A';
    assert_int_equal(cavage_check(forged, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC), -1);
    /* the list of headers changed (fewer signed than claimed) */
    memcpy(forged, C3_ALL, sizeof C3_ALL);
    memcpy(strstr(forged, "content-length\""), "content-type  ", 14);
    assert_int_equal(cavage_check(forged, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC), -1);
    /* another key */
    char *pub = NULL, *priv = NULL;
    assert_int_equal(httpsig_rsa_generate(&pub, &priv), 0);
    assert_int_equal(cavage_check(C3_ALL, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, pub), -1);
    free(pub);
    free(priv);
    /* not a key */
    assert_int_equal(cavage_check(C3_ALL, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, "not a key"), -1);
    assert_int_equal(cavage_check(C3_ALL, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, NULL), -1);
}

static void cavage_algorithms(void **state)
{
    cavage_request();
    char h[1024];
    /* hs2019 with an RSA key is what Mastodon-era servers send for RSA */
    snprintf(h, sizeof h, "keyId=\"Test\",algorithm=\"hs2019\"%s", strstr(C3_ALL, ",headers="));
    assert_int_equal(cavage_check(h, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC), 0);
    const char *unsupported[] = {"rsa-sha1", "hmac-sha256", "ecdsa-sha256", "ed25519"};
    for (size_t i = 0; i < 4; i++) {
        char other[1024];
        const char *rest = strstr(C3_ALL, ",headers=");
        snprintf(other, sizeof other, "keyId=\"Test\",algorithm=\"%s\"%s", unsupported[i], rest);
        httpsig_cavage_t sig;
        char err[256];
        assert_int_equal(httpsig_cavage_parse(other, &sig, err, sizeof err), 0);
        assert_int_equal(httpsig_cavage_verify(&sig, "POST", CAVAGE_PATH, cavage_headers, NCAVAGE, CAVAGE_PUBLIC,
                                               err, sizeof err), -1);
        assert_non_null(strstr(err, "not supported"));
    }
}

static void cavage_parse_refuses_malformed(void **state)
{
    const char *bad[] = {NULL, "", "keyId=\"k\"", "signature=\"AAAA\"", "keyId=\"k\",signature=\"!!!!\"",
                         "keyId=\"k\",keyId=\"j\",signature=\"AAAA\"", "keyId=\"k\" signature=\"AAAA\"",
                         "keyId=\"k,signature=\"AAAA\"", "keyId=k,signature=\"AAAA\"", "=\"k\",signature=\"AAAA\"",
                         "keyId=\"k\",signature=\"AAAA\",created=abc", "keyId=\"\",signature=\"AAAA\"",
                         "keyId=\"k\",signature=\"AAAA\",headers=\"\"", "keyId=\"a\tb\",signature=\"AAAA\""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        httpsig_cavage_t sig;
        char err[256] = "";
        if (httpsig_cavage_parse(bad[i], &sig, err, sizeof err) != -1) fail_msg("parsed: %s", bad[i] ? bad[i] : "NULL");
        assert_true(err[0] != '\0');
    }
    httpsig_cavage_t sig;
    char err[256];
    assert_int_equal(httpsig_cavage_parse("keyId=\"https://a.example/actor#main-key\",algorithm=\"hs2019\","
                                          "created=1402170695,expires=1402170995.5,headers=\"(request-target) "
                                          "(created) host\",signature=\"AAAA\",unknown=\"ignored\"",
                                          &sig, err, sizeof err), 0);
    assert_string_equal(sig.key_id, "https://a.example/actor#main-key");
    assert_int_equal(sig.created, 1402170695);
    assert_int_equal(sig.expires, 1402170995);
    assert_int_equal(sig.signature_len, 3);
}

static void cavage_round_trip_with_a_new_key(void **state)
{
    char *pub = NULL, *priv = NULL;
    assert_int_equal(httpsig_rsa_generate(&pub, &priv), 0);
    assert_non_null(strstr(pub, "-----BEGIN PUBLIC KEY-----"));
    assert_non_null(strstr(priv, "-----BEGIN PRIVATE KEY-----"));
    char digest[80];
    const char body[] = "{\"type\":\"Follow\"}";
    httpsig_digest(body, strlen(body), digest, sizeof digest);
    httpsig_header_t h[] = {{"Host", "b.example"}, {"Date", "Mon, 07 Dec 2026 04:00:00 GMT"}, {"Digest", digest}};
    char *sig = httpsig_cavage_sign("POST", "/inbox", h, 3, "(request-target) host date digest",
                                    "https://a.example/actor#main-key", priv);
    assert_non_null(sig);
    assert_int_equal(cavage_check(sig, "POST", "/inbox", h, 3, pub), 0);
    assert_int_equal(cavage_check(sig, "POST", "/inbox2", h, 3, pub), -1);
    free(sig);
    /* refused inputs: a missing header, a quote in the key id, no key */
    assert_null(httpsig_cavage_sign("POST", "/inbox", h, 2, "(request-target) host date digest", "k", priv));
    assert_null(httpsig_cavage_sign("POST", "/inbox", h, 3, "date", "k\"", priv));
    assert_null(httpsig_cavage_sign("POST", "/inbox", h, 3, "date", "k", CAVAGE_PUBLIC));
    assert_null(httpsig_cavage_sign("POST", "/inbox", h, 3, "date", "k", NULL));
    free(pub);
    free(priv);
}

/* ---- RFC 9421 Appendix B.2.6 ---- */

/* test-key-ed25519 (B.1.4): the seed of the PKCS#8 private key and the public key */
static const unsigned char ED_SEED[32] = {0x9f, 0x83, 0x62, 0xf8, 0x7a, 0x48, 0x4a, 0x95, 0x4e, 0x6e, 0x74,
                                          0x0c, 0x5b, 0x4c, 0x0e, 0x84, 0x22, 0x91, 0x39, 0xa2, 0x0a, 0xa8,
                                          0xab, 0x56, 0xff, 0x66, 0x58, 0x6f, 0x6a, 0x7d, 0x29, 0xc5};
static const char ED_PUBLIC_B64[] = "JrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=";
static const char B26_INPUT[] = "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
                                "\"content-length\");created=1618884473;keyid=\"test-key-ed25519\"";
static const char B26_SIGNATURE[] =
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:";
#define B26_URI "http://example.com/foo?param=Value&Pet=dog"

static unsigned char ed_public[32];
static unsigned char ed_secret[64];

static void ed_keys(void)
{
    unsigned char pk[32];
    crypto_sign_seed_keypair(pk, ed_secret, ED_SEED);
    size_t len = 0;
    assert_int_equal(sodium_base642bin(ed_public, sizeof ed_public, ED_PUBLIC_B64, strlen(ED_PUBLIC_B64), NULL,
                                       &len, NULL, sodium_base64_VARIANT_ORIGINAL), 0);
    assert_int_equal(len, 32);
    assert_memory_equal(pk, ed_public, 32); /* the published public key is the seed's */
}

#define NB26 6
static httpsig_header_t b26_headers[NB26];
static char b26_values[NB26][256];

static void b26_request(const char *input, const char *signature)
{
    static const char *const names[NB26] = {"Host", "Date", "Content-Type", "Content-Length", "Signature-Input",
                                            "Signature"};
    const char *values[NB26] = {"example.com", "Tue, 20 Apr 2021 02:07:55 GMT", "application/json", "18",
                                input, signature};
    for (int i = 0; i < NB26; i++) {
        snprintf(b26_values[i], sizeof b26_values[i], "%s", values[i]);
        b26_headers[i].name = names[i];
        b26_headers[i].value = b26_values[i];
    }
}

static int b26_check(const char *method, const char *uri)
{
    char key_id[64], err[256];
    return httpsig_rfc9421_verify(method, uri, b26_headers, NB26, NULL, ed_public, key_id, sizeof key_id, err,
                                  sizeof err);
}

static void rfc9421_signs_b26(void **state)
{
    ed_keys();
    b26_request("", "");
    char *input = NULL, *signature = NULL;
    assert_int_equal(httpsig_rfc9421_sign_labelled("sig-b26", "POST", B26_URI, b26_headers, 4,
                                                   "\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
                                                   "\"content-length\"",
                                                   "test-key-ed25519", 1618884473, ed_secret, &input, &signature),
                     0);
    assert_string_equal(input, B26_INPUT);
    assert_string_equal(signature, B26_SIGNATURE);
    free(input);
    free(signature);
    /* the default label */
    assert_int_equal(httpsig_rfc9421_sign("POST", B26_URI, b26_headers, 4, "\"@method\"", "k", 1, ed_secret,
                                          &input, &signature), 0);
    assert_string_equal(input, "sig1=(\"@method\");created=1;keyid=\"k\"");
    assert_memory_equal(signature, "sig1=:", 6);
    free(input);
    free(signature);
}

static void rfc9421_verifies_b26(void **state)
{
    ed_keys();
    b26_request(B26_INPUT, B26_SIGNATURE);
    char key_id[64], err[256];
    assert_int_equal(httpsig_rfc9421_verify("POST", B26_URI, b26_headers, NB26, NULL, ed_public, key_id,
                                            sizeof key_id, err, sizeof err), 0);
    assert_string_equal(key_id, "test-key-ed25519");
    assert_int_equal(httpsig_rfc9421_verify("POST", B26_URI, b26_headers, NB26, "sig-b26", ed_public, key_id,
                                            sizeof key_id, err, sizeof err), 0);
    /* only parsed: the key id, before the key is known */
    key_id[0] = '\0';
    assert_int_equal(httpsig_rfc9421_verify("POST", B26_URI, b26_headers, NB26, NULL, NULL, key_id, sizeof key_id,
                                            err, sizeof err), 0);
    assert_string_equal(key_id, "test-key-ed25519");
    /* what is not covered may change: the query, the scheme, a default port */
    assert_int_equal(b26_check("POST", "https://example.com/foo"), 0);
    assert_int_equal(b26_check("POST", "http://example.com:80/foo?x=1"), 0);
    assert_int_equal(b26_check("POST", "http://EXAMPLE.com/foo"), 0);
    /* what it covers, for the caller's policy */
    httpsig_rfc9421_info_t info;
    assert_int_equal(httpsig_rfc9421_info(b26_headers, NB26, NULL, &info, err, sizeof err), 0);
    assert_string_equal(info.label, "sig-b26");
    assert_string_equal(info.key_id, "test-key-ed25519");
    assert_string_equal(info.alg, "");
    assert_int_equal(info.created, 1618884473);
    assert_int_equal(info.expires, 0);
    assert_string_equal(info.components,
                        "\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\"");
    assert_true(httpsig_rfc9421_covers(&info, "date") && httpsig_rfc9421_covers(&info, "content-length") &&
                httpsig_rfc9421_covers(&info, "@method"));
    assert_false(httpsig_rfc9421_covers(&info, "content-digest") || httpsig_rfc9421_covers(&info, "content") ||
                 httpsig_rfc9421_covers(&info, "@query"));
    assert_int_equal(httpsig_rfc9421_info(b26_headers, NB26, "sig1", &info, err, sizeof err), -1);
    assert_int_equal(httpsig_rfc9421_info(b26_headers, 4, NULL, &info, err, sizeof err), -1);
    /* no such label */
    assert_int_equal(httpsig_rfc9421_verify("POST", B26_URI, b26_headers, NB26, "sig1", ed_public, key_id,
                                            sizeof key_id, err, sizeof err), -1);
}

static void rfc9421_tampering_fails(void **state)
{
    ed_keys();
    /* each covered field, one byte changed (Host is not covered: @authority
     * comes from the target URI, which the caller builds from it) */
    for (int i = 1; i < 4; i++) {
        b26_request(B26_INPUT, B26_SIGNATURE);
        b26_values[i][1] ^= 0x01;
        if (b26_check("POST", B26_URI) != -1) fail_msg("a changed %s still verifies", b26_headers[i].name);
    }
    b26_request(B26_INPUT, B26_SIGNATURE);
    assert_int_equal(b26_check("PUT", B26_URI), -1);                                 /* @method */
    assert_int_equal(b26_check("POST", "http://example.com/fop?param=Value&Pet=dog"), -1); /* @path */
    assert_int_equal(b26_check("POST", "http://example.org/foo?param=Value&Pet=dog"), -1); /* @authority */
    assert_int_equal(b26_check("POST", "http://example.com:8080/foo"), -1);             /* @authority's port */
    /* a covered field (Date) missing */
    char key_id[64], err[256];
    httpsig_header_t fewer[NB26 - 1];
    fewer[0] = b26_headers[0];
    memcpy(fewer + 1, b26_headers + 2, sizeof fewer - sizeof fewer[0]);
    assert_int_equal(httpsig_rfc9421_verify("POST", B26_URI, fewer, NB26 - 1, NULL, ed_public, key_id,
                                            sizeof key_id, err, sizeof err), -1);
    assert_non_null(strstr(err, "missing"));
    /* the signature: one byte changed */
    char forged[256];
    snprintf(forged, sizeof forged, "%s", B26_SIGNATURE);
    forged[20] = forged[20] == 'A' ? 'B' : 'A';
    b26_request(B26_INPUT, forged);
    assert_int_equal(b26_check("POST", B26_URI), -1);
    /* the parameters: created, keyid, the components' order */
    const char *inputs[] = {
        "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884474;keyid=\"test-key-ed25519\"",
        "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25518\"",
        "sig-b26=(\"@method\" \"date\" \"@path\" \"@authority\" \"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"",
        "sig-b26=(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\");created=1618884473;keyid=\"test-key-ed25519\"",
    };
    for (size_t i = 0; i < sizeof inputs / sizeof *inputs; i++) {
        b26_request(inputs[i], B26_SIGNATURE);
        if (b26_check("POST", B26_URI) != -1) fail_msg("verifies with %s", inputs[i]);
    }
    /* another key */
    unsigned char other[32], other_secret[64];
    crypto_sign_keypair(other, other_secret);
    b26_request(B26_INPUT, B26_SIGNATURE);
    assert_int_equal(httpsig_rfc9421_verify("POST", B26_URI, b26_headers, NB26, NULL, other, key_id, sizeof key_id,
                                            err, sizeof err), -1);
}

static void rfc9421_refuses_what_it_does_not_support(void **state)
{
    ed_keys();
    struct {
        const char *input, *why;
    } cases[] = {
        {"sig-b26=(\"date\");created=1618884473;keyid=\"k\";alg=\"rsa-pss-sha512\"", "not supported"},
        {"sig-b26=(\"date\");created=1618884473;keyid=\"k\";expires=1618884474", "expired"},
        {"sig-b26=(\"date\" \"date\");created=1618884473;keyid=\"k\"", "twice"},
        {"sig-b26=(\"content-type\";sf);created=1618884473;keyid=\"k\"", "parameters"},
        {"sig-b26=(\"@status\");created=1618884473;keyid=\"k\"", "not supported"},
        {"sig-b26=(\"Date\");created=1618884473;keyid=\"k\"", "lower-case"},
        {"sig-b26=(\"date\");created=1618884473", "no keyid"},
        {"sig-b26=(\"date\");created=\"1618884473\";keyid=\"k\"", "integers"},
        {"sig-b26=(\"date\" \"@method\"", "malformed"},
        {"sig-b26=\"date\";keyid=\"k\"", "not a list"},
        {"sig-b26=(\"date\");keyid=\"k\",", "malformed"},
        {"", "malformed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        b26_request(cases[i].input, B26_SIGNATURE);
        char key_id[64], err[256] = "";
        if (httpsig_rfc9421_verify("POST", B26_URI, b26_headers, NB26, NULL, ed_public, key_id, sizeof key_id, err,
                                   sizeof err) != -1)
            fail_msg("accepted %s", cases[i].input);
        if (!strstr(err, cases[i].why)) fail_msg("%s: \"%s\" does not say %s", cases[i].input, err, cases[i].why);
    }
    /* a signature that is not a byte sequence */
    b26_request(B26_INPUT, "sig-b26=\"wqcA\"");
    assert_int_equal(b26_check("POST", B26_URI), -1);
    /* a parameter added after signing is covered too (by @signature-params) */
    char input[256], *in2 = NULL, *sig2 = NULL;
    assert_int_equal(httpsig_rfc9421_sign_labelled("sig-b26", "POST", B26_URI, b26_headers, 4, "\"date\"", "k",
                                                   1618884473, ed_secret, &in2, &sig2), 0);
    snprintf(input, sizeof input, "%s;alg=\"ed25519\"", in2);
    b26_request(input, sig2);
    assert_int_equal(b26_check("POST", B26_URI), -1); /* alg is covered by @signature-params */
    free(in2);
    free(sig2);
}

static void expect_base(const char *method, const char *uri, const char *component, const char *value)
{
    char params[256], expect[512], err[256];
    snprintf(params, sizeof params, "(\"%s\");keyid=\"k\"", component);
    snprintf(expect, sizeof expect, "\"%s\": %s\n\"@signature-params\": %s", component, value, params);
    httpsig_header_t h[] = {{"Host", "www.example.com"}};
    char *base = httpsig_rfc9421_signature_base(method, uri, h, 1, params, err, sizeof err);
    if (!base) fail_msg("%s of %s: %s", component, uri, err);
    if (strcmp(base, expect) != 0) fail_msg("%s of %s:\n%s\nexpected\n%s", component, uri, base, expect);
    free(base);
}

/* The derived components as RFC 9421 section 2.2 gives them. */
static void rfc9421_derived_components(void **state)
{
    expect_base("POST", "https://www.example.com/path?param=value", "@method", "POST");
    expect_base("POST", "https://www.example.com/path?param=value", "@target-uri",
                "https://www.example.com/path?param=value");
    expect_base("POST", "https://www.example.com/path?param=value", "@authority", "www.example.com");
    expect_base("POST", "http://www.example.com/path?param=value", "@scheme", "http");
    expect_base("POST", "https://www.example.com/path?param=value", "@request-target", "/path?param=value");
    expect_base("POST", "https://www.example.com/path?param=value", "@path", "/path");
    expect_base("POST", "https://www.example.com/path?param=value&foo=bar&baz=bat%2Dman", "@query",
                "?param=value&foo=bar&baz=bat%2Dman");
    expect_base("GET", "https://www.example.com/path?queryString", "@query", "?queryString");
    expect_base("GET", "https://www.example.com/path", "@query", "?");
    expect_base("GET", "https://www.example.com", "@path", "/");
    expect_base("GET", "https://www.example.com:443/", "@authority", "www.example.com");
    expect_base("GET", "https://www.example.com:8443/", "@authority", "www.example.com:8443");
    expect_base("GET", "https://www.example.com/a#frag", "@request-target", "/a");
    /* a field: its lines joined with ", ", trimmed (RFC 9421 2.1) */
    httpsig_header_t h[] = {{"X-Two", "  a  "}, {"x-two", "b\t"}, {"X-Empty", ""}};
    char err[256];
    char *base = httpsig_rfc9421_signature_base("GET", "https://x.example/", h, 3, "(\"x-two\" \"x-empty\")",
                                                err, sizeof err);
    assert_non_null(base);
    assert_string_equal(base, "\"x-two\": a, b\n\"x-empty\": \n\"@signature-params\": (\"x-two\" \"x-empty\")");
    free(base);
    /* the B.2.6 base, from the RFC */
    b26_request("", "");
    base = httpsig_rfc9421_signature_base("POST", B26_URI, b26_headers, 4,
                                          "(\"date\" \"@method\" \"@path\" \"@authority\" \"content-type\" "
                                          "\"content-length\");created=1618884473;keyid=\"test-key-ed25519\"",
                                          err, sizeof err);
    assert_non_null(base);
    assert_string_equal(base, "\"date\": Tue, 20 Apr 2021 02:07:55 GMT\n"
                              "\"@method\": POST\n"
                              "\"@path\": /foo\n"
                              "\"@authority\": example.com\n"
                              "\"content-type\": application/json\n"
                              "\"content-length\": 18\n"
                              "\"@signature-params\": (\"date\" \"@method\" \"@path\" \"@authority\" "
                              "\"content-type\" \"content-length\");created=1618884473;keyid=\"test-key-ed25519\"");
    free(base);
}

/* B.2.6 again with the key as an actor publishes it (PEM), and RSA
 * (rsa-v1_5-sha256, what Fedify signs RFC 9421 with). */
static void rfc9421_with_pem_keys(void **state)
{
    b26_request(B26_INPUT, B26_SIGNATURE);
    static const char ed_pem[] = "-----BEGIN PUBLIC KEY-----\n"
                                 "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
                                 "-----END PUBLIC KEY-----\n";
    char key_id[64], err[256];
    assert_int_equal(httpsig_rfc9421_verify_pem("POST", B26_URI, b26_headers, NB26, NULL, ed_pem, key_id,
                                                sizeof key_id, err, sizeof err), 0);
    assert_string_equal(key_id, "test-key-ed25519");
    assert_int_equal(httpsig_rfc9421_verify_pem("PUT", B26_URI, b26_headers, NB26, NULL, ed_pem, key_id,
                                                sizeof key_id, err, sizeof err), -1);
    assert_int_equal(httpsig_rfc9421_verify_pem("POST", B26_URI, b26_headers, NB26, NULL, CAVAGE_PUBLIC, key_id,
                                                sizeof key_id, err, sizeof err), -1); /* 1024-bit RSA */

    char *pub = NULL, *priv = NULL;
    assert_int_equal(httpsig_rsa_generate(&pub, &priv), 0);
    httpsig_header_t h[4] = {{"Host", "b.example"}, {"Date", "Mon, 07 Dec 2026 04:00:00 GMT"}};
    const char *uri = "https://b.example/inbox";
    const char *member = "(\"@method\" \"@target-uri\" \"@authority\" \"host\" \"date\");"
                         "alg=\"rsa-v1_5-sha256\";keyid=\"https://a.example/actor#main-key\";created=1796616000";
    char *base = httpsig_rfc9421_signature_base("POST", uri, h, 2, member, err, sizeof err);
    assert_non_null(base);
    BIO *b = BIO_new_mem_buf(priv, -1);
    EVP_PKEY *key = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[256];
    size_t sig_len = sizeof sig;
    assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
    assert_int_equal(EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)base, strlen(base)), 1);
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    BIO_free(b);
    char b64[400], input[512], signature[512];
    sodium_bin2base64(b64, sizeof b64, sig, sig_len, sodium_base64_VARIANT_ORIGINAL);
    snprintf(input, sizeof input, "sig1=%s", member);
    snprintf(signature, sizeof signature, "sig1=:%s:", b64);
    h[2] = (httpsig_header_t){"Signature-Input", input};
    h[3] = (httpsig_header_t){"Signature", signature};
    assert_int_equal(httpsig_rfc9421_verify_pem("POST", uri, h, 4, NULL, pub, key_id, sizeof key_id, err, sizeof err), 0);
    assert_string_equal(key_id, "https://a.example/actor#main-key");
    assert_int_equal(httpsig_rfc9421_verify_pem("POST", "https://b.example/inbox2", h, 4, NULL, pub, key_id,
                                                sizeof key_id, err, sizeof err), -1);
    h[1].value = "Mon, 07 Dec 2026 04:00:01 GMT";
    assert_int_equal(httpsig_rfc9421_verify_pem("POST", uri, h, 4, NULL, pub, key_id, sizeof key_id, err, sizeof err), -1);
    h[1].value = "Mon, 07 Dec 2026 04:00:00 GMT";
    /* an Ed25519 key for an rsa-v1_5-sha256 signature */
    assert_int_equal(httpsig_rfc9421_verify_pem("POST", uri, h, 4, NULL, ed_pem, key_id, sizeof key_id, err, sizeof err), -1);
    assert_non_null(strstr(err, "the key is for ed25519"));
    assert_int_equal(httpsig_rfc9421_verify_pem("POST", uri, h, 4, NULL, "junk", key_id, sizeof key_id, err, sizeof err), -1);
    /* only parsed */
    assert_int_equal(httpsig_rfc9421_verify_pem("POST", uri, h, 4, NULL, NULL, key_id, sizeof key_id, err, sizeof err), 0);
    free(base);
    free(pub);
    free(priv);
}

static void rfc9421_round_trip_and_label_choice(void **state)
{
    unsigned char pk[32], sk[64];
    crypto_sign_keypair(pk, sk);
    char cd[80];
    const char body[] = "{\"type\":\"Create\"}";
    httpsig_content_digest(body, strlen(body), cd, sizeof cd);
    const char *uri = "https://b.example/inbox?x=1&y=%20z";
    httpsig_header_t h[4] = {{"Content-Digest", cd}, {"Date", "Mon, 07 Dec 2026 04:00:00 GMT"}};
    char *input = NULL, *sig = NULL;
    assert_int_equal(httpsig_rfc9421_sign("POST", uri, h, 2,
                                          "\"@method\" \"@target-uri\" \"@authority\" \"@scheme\" \"@path\" "
                                          "\"@query\" \"@request-target\" \"content-digest\" \"date\"",
                                          "https://a.example/actor#ed", (long long)time(NULL), sk, &input, &sig),
                     0);
    /* another signature first in each field: the label finds ours */
    char both_input[1024], both_sig[512];
    snprintf(both_input, sizeof both_input, "other=(\"date\");keyid=\"x\", %s", input);
    snprintf(both_sig, sizeof both_sig, "other=:AAAA:, %s", sig);
    h[2] = (httpsig_header_t){"Signature-Input", both_input};
    h[3] = (httpsig_header_t){"Signature", both_sig};
    char key_id[128], err[256];
    assert_int_equal(httpsig_rfc9421_verify("POST", uri, h, 4, "sig1", pk, key_id, sizeof key_id, err, sizeof err), 0);
    assert_string_equal(key_id, "https://a.example/actor#ed");
    assert_int_equal(httpsig_rfc9421_verify("POST", uri, h, 4, NULL, pk, key_id, sizeof key_id, err, sizeof err), -1);
    assert_int_equal(httpsig_rfc9421_verify("POST", "https://b.example/inbox?x=2&y=%20z", h, 4, "sig1", pk, key_id,
                                            sizeof key_id, err, sizeof err), -1); /* @query */
    assert_int_equal(httpsig_rfc9421_verify("POST", "http://b.example/inbox?x=1&y=%20z", h, 4, "sig1", pk, key_id,
                                            sizeof key_id, err, sizeof err), -1); /* @scheme */
    /* the fields split over two header lines are one */
    char *comma = strstr(both_sig, ", ");
    *comma = '\0';
    httpsig_header_t split[5] = {h[0], h[1], h[2], {"Signature", both_sig}, {"signature", comma + 2}};
    assert_int_equal(httpsig_rfc9421_verify("POST", uri, split, 5, "sig1", pk, key_id, sizeof key_id, err,
                                            sizeof err), 0);
    free(input);
    free(sig);
    /* refused on signing: unknown derived component, missing field, bad key id, bad label */
    assert_int_equal(httpsig_rfc9421_sign("POST", uri, h, 2, "\"@nothing\"", "k", 1, sk, &input, &sig), -1);
    assert_int_equal(httpsig_rfc9421_sign("POST", uri, h, 2, "\"host\"", "k", 1, sk, &input, &sig), -1);
    assert_int_equal(httpsig_rfc9421_sign("POST", uri, h, 2, "\"date\"", "k\n", 1, sk, &input, &sig), -1);
    assert_int_equal(httpsig_rfc9421_sign_labelled("Sig", "POST", uri, h, 2, "\"date\"", "k", 1, sk, &input, &sig), -1);
    assert_null(input);
    assert_null(sig);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(cavage_digest_of_the_body),
        cmocka_unit_test(cavage_signs_the_published_signatures),
        cmocka_unit_test(cavage_verifies_the_published_signatures),
        cmocka_unit_test(cavage_tampering_fails),
        cmocka_unit_test(cavage_algorithms),
        cmocka_unit_test(cavage_parse_refuses_malformed),
        cmocka_unit_test(cavage_round_trip_with_a_new_key),
        cmocka_unit_test(rfc9421_signs_b26),
        cmocka_unit_test(rfc9421_verifies_b26),
        cmocka_unit_test(rfc9421_tampering_fails),
        cmocka_unit_test(rfc9421_refuses_what_it_does_not_support),
        cmocka_unit_test(rfc9421_derived_components),
        cmocka_unit_test(rfc9421_with_pem_keys),
        cmocka_unit_test(rfc9421_round_trip_and_label_choice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
