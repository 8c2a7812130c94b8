/* fuzz_httpsig: the signature parsers on hostile header values. A parsed
 * draft-cavage Signature has a key id, a signature of 1 to 1024 bytes and a
 * lower-case header list, and verifying it never crashes; RFC 9421
 * Signature-Input/Signature never verify with a key nobody signed with; a
 * component list that signs verifies with the same request and key. */
#include <assert.h>
#include <ctype.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "httpsig.h"

static const char PUBLIC_PEM[] =
    "-----BEGIN PUBLIC KEY-----\n"
    "MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDCFENGw33yGihy92pDjZQhl0C3\n"
    "6rPJj+CvfSC8+q28hxA161QFNUd13wuCTUcq0Qd2qsBe/2hFyc2DCJJg0h1L78+6\n"
    "Z4UMR7EOcpfdUE9Hf3m/hs+FUR45uBJeDK1HSFHD8bHKD6kv8FPGfJTotc+2xjJw\n"
    "oYi+1hqp1fIekaxsyQIDAQAB\n"
    "-----END PUBLIC KEY-----\n";

static int g_ready;
static unsigned char g_pk[32], g_sk[64], g_other_pk[32];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g_ready) {
        if (sodium_init() < 0) abort();
        unsigned char seed[32] = {1};
        crypto_sign_seed_keypair(g_pk, g_sk, seed);
        unsigned char other_sk[64];
        seed[0] = 2;
        crypto_sign_seed_keypair(g_other_pk, other_sk, seed);
        g_ready = 1;
    }
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';

    /* 1. draft-cavage */
    httpsig_cavage_t sig;
    char err[256];
    if (httpsig_cavage_parse(text, &sig, err, sizeof err) == 0) {
        assert(sig.key_id[0] && sig.signature_len >= 1 && sig.signature_len <= sizeof sig.signature);
        assert(sig.headers[0]);
        for (const char *c = sig.headers; *c; c++) assert(!isupper((unsigned char)*c));
        httpsig_header_t h[] = {{"Host", "example.com"}, {"Date", "Sun, 05 Jan 2014 21:31:40 GMT"},
                                {"Digest", "SHA-256=X48E9qOokqqrvdts8nOJRJN3OWDUoyWxBf7kbu9DBPE="}};
        (void)httpsig_cavage_verify(&sig, "POST", "/foo?param=value&pet=dog", h, 3, PUBLIC_PEM, err, sizeof err);
        (void)httpsig_cavage_covers(&sig, "digest");
    }

    /* 2. RFC 9421: Signature-Input, a newline, Signature */
    char *nl = strchr(text, '\n');
    const char *input = text, *signature = nl ? nl + 1 : "";
    if (nl) *nl = '\0';
    httpsig_header_t h[] = {{"Date", "Tue, 20 Apr 2021 02:07:55 GMT"}, {"Content-Type", "application/json"},
                            {"Content-Length", "18"}, {"Signature-Input", input}, {"Signature", signature}};
    char key_id[128];
    const char *uri = "http://example.com/foo?param=Value&Pet=dog";
    (void)httpsig_rfc9421_verify("POST", uri, h, 5, NULL, NULL, key_id, sizeof key_id, err, sizeof err);
    assert(httpsig_rfc9421_verify("POST", uri, h, 5, NULL, g_other_pk, key_id, sizeof key_id, err, sizeof err) != 0);
    char *base = httpsig_rfc9421_signature_base("POST", uri, h, 3, input, err, sizeof err);
    free(base);

    /* 3. the text as a component list: what signs, verifies */
    char *si = NULL, *sv = NULL;
    if (httpsig_rfc9421_sign("POST", uri, h, 3, input, "k", 1618884473, g_sk, &si, &sv) == 0) {
        httpsig_header_t signed_h[] = {h[0], h[1], h[2], {"Signature-Input", si}, {"Signature", sv}};
        int rc = httpsig_rfc9421_verify("POST", uri, signed_h, 5, "sig1", g_pk, key_id, sizeof key_id, err,
                                        sizeof err);
        assert(rc == 0);
        assert(strcmp(key_id, "k") == 0);
        free(si);
        free(sv);
    }
    free(text);
    return 0;
}
