/* httpsig-interop-tool: lib/httpsig from the command line, for
 * tests/federation/httpsig-interop.test.mjs, which checks it against Fedify
 * (an implementation nobody here wrote). Built with the unit tests
 * (PURPOSED_TESTS). A request comes on standard input as HTTP/1.1 text
 * (request line, header lines, an empty line, the body; CRLF or LF):
 *
 *   verify-cavage PUBLIC.pem          Signature (+ Digest against the body)
 *   verify-rfc9421 PUBLIC.pem SCHEME  Signature-Input/Signature (+ Content-Digest);
 *                                     the target URI is SCHEME://Host<target>
 *   sign-cavage PRIVATE.pem KEY_ID NAMES
 *                                     prints "Digest: ..." (when there is a body)
 *                                     and "Signature: ..." lines to add
 *   sign-rfc9421 SEED_HEX KEY_ID SCHEME COMPONENTS
 *                                     Ed25519 from a 32-byte seed; prints
 *                                     Content-Digest (with a body),
 *                                     Signature-Input and Signature lines
 *
 * Verification prints "ok <keyId>" and exits 0, or "fail: <why>" and 1. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "httpsig.h"

#define MAX_HEADERS 64

typedef struct request {
    char method[16];
    char target[2048];
    httpsig_header_t headers[MAX_HEADERS + 2];
    size_t nheaders;
    const char *body;
    size_t body_len;
    char *text; /* owns every string above */
} request_t;

static char *read_all(FILE *f, size_t *len)
{
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap + 1);
    size_t r;
    while (buf && (r = fread(buf + n, 1, cap - n, f)) > 0) {
        n += r;
        if (n == cap) {
            char *bigger = realloc(buf, cap * 2 + 1);
            if (!bigger) {
                free(buf);
                return NULL;
            }
            buf = bigger;
            cap *= 2;
        }
    }
    if (buf) buf[n] = '\0';
    *len = n;
    return buf;
}

/* The line at *p, cut at its end (CRLF or LF); NULL at the end of text. */
static char *next_line(char **p)
{
    char *s = *p;
    if (!*s) return NULL;
    char *e = strchr(s, '\n');
    if (e) {
        *p = e + 1;
        if (e > s && e[-1] == '\r') e--;
        *e = '\0';
    } else {
        *p = s + strlen(s);
    }
    return s;
}

static int parse_request(request_t *r)
{
    size_t len;
    r->text = read_all(stdin, &len);
    if (!r->text) return -1;
    char *end = r->text + len;
    char *p = r->text;
    char *line = next_line(&p);
    if (!line || sscanf(line, "%15s %2047s", r->method, r->target) != 2) return -1;
    while ((line = next_line(&p)) != NULL && *line) {
        char *colon = strchr(line, ':');
        if (!colon || r->nheaders >= MAX_HEADERS) return -1;
        *colon = '\0';
        char *value = colon + 1;
        while (*value == ' ' || *value == '\t') value++;
        r->headers[r->nheaders++] = (httpsig_header_t){line, value};
    }
    r->body = p;
    r->body_len = (size_t)(end - p);
    return 0;
}

static const char *header(const request_t *r, const char *name)
{
    for (size_t i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->headers[i].name, name) == 0) return r->headers[i].value;
    return NULL;
}

static char *read_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t len;
    char *text = read_all(f, &len);
    fclose(f);
    return text;
}

static int verdict(int ok, const char *key_id, const char *why)
{
    if (ok) printf("ok %s\n", key_id);
    else printf("fail: %s\n", why);
    return ok ? 0 : 1;
}

static int verify_cavage(request_t *r, const char *pem)
{
    httpsig_cavage_t sig;
    char err[256];
    const char *value = header(r, "Signature");
    if (httpsig_cavage_parse(value, &sig, err, sizeof err) != 0) return verdict(0, NULL, err);
    if (httpsig_cavage_verify(&sig, r->method, r->target, r->headers, r->nheaders, pem, err, sizeof err) != 0)
        return verdict(0, NULL, err);
    const char *digest = header(r, "Digest");
    if (r->body_len > 0 && (!digest || !httpsig_cavage_covers(&sig, "digest")))
        return verdict(0, NULL, "a body without a signed Digest");
    if (digest) {
        char mine[80];
        httpsig_digest(r->body, r->body_len, mine, sizeof mine);
        if (strcmp(mine, digest) != 0) return verdict(0, NULL, "the Digest does not match the body");
    }
    return verdict(1, sig.key_id, NULL);
}

static int verify_rfc9421(request_t *r, const char *pem, const char *scheme)
{
    char uri[4096], key_id[1024], err[256];
    const char *host = header(r, "Host");
    if (!host) return verdict(0, NULL, "no Host");
    snprintf(uri, sizeof uri, "%s://%s%s", scheme, host, r->target);
    if (httpsig_rfc9421_verify_pem(r->method, uri, r->headers, r->nheaders, NULL, pem, key_id, sizeof key_id, err,
                                   sizeof err) != 0)
        return verdict(0, NULL, err);
    const char *digest = header(r, "Content-Digest");
    if (r->body_len > 0 && !digest) return verdict(0, NULL, "a body without Content-Digest");
    if (digest) {
        char mine[80];
        httpsig_content_digest(r->body, r->body_len, mine, sizeof mine);
        if (!strstr(digest, mine)) return verdict(0, NULL, "the Content-Digest does not match the body");
    }
    return verdict(1, key_id, NULL);
}

static int sign_cavage(request_t *r, const char *pem, const char *key_id, const char *names)
{
    char digest[80];
    if (r->body_len > 0) {
        httpsig_digest(r->body, r->body_len, digest, sizeof digest);
        r->headers[r->nheaders++] = (httpsig_header_t){"Digest", digest};
        printf("Digest: %s\n", digest);
    }
    char *sig = httpsig_cavage_sign(r->method, r->target, r->headers, r->nheaders, names, key_id, pem);
    if (!sig) {
        fprintf(stderr, "signing failed\n");
        return 1;
    }
    printf("Signature: %s\n", sig);
    free(sig);
    return 0;
}

static int sign_rfc9421(request_t *r, const char *seed_hex, const char *key_id, const char *scheme,
                        const char *components)
{
    unsigned char seed[32], pk[32], sk[64];
    size_t len = 0;
    if (sodium_hex2bin(seed, sizeof seed, seed_hex, strlen(seed_hex), NULL, &len, NULL) != 0 || len != 32) {
        fprintf(stderr, "the seed must be 64 hex digits\n");
        return 2;
    }
    crypto_sign_seed_keypair(pk, sk, seed);
    char digest[80];
    if (r->body_len > 0) {
        httpsig_content_digest(r->body, r->body_len, digest, sizeof digest);
        r->headers[r->nheaders++] = (httpsig_header_t){"Content-Digest", digest};
        printf("Content-Digest: %s\n", digest);
    }
    const char *host = header(r, "Host");
    char uri[4096];
    snprintf(uri, sizeof uri, "%s://%s%s", scheme, host ? host : "", r->target);
    char *input = NULL, *signature = NULL;
    if (httpsig_rfc9421_sign(r->method, uri, r->headers, r->nheaders, components, key_id,
                             (long long)time(NULL), sk, &input, &signature) != 0) {
        fprintf(stderr, "signing failed\n");
        return 1;
    }
    printf("Signature-Input: %s\nSignature: %s\n", input, signature);
    free(input);
    free(signature);
    sodium_memzero(sk, sizeof sk);
    return 0;
}

int main(int argc, char **argv)
{
    if (sodium_init() < 0) return 2;
    if (argc < 3) {
        fprintf(stderr, "usage: see the comment at the top of tests/federation/httpsig-interop-tool.c\n");
        return 2;
    }
    request_t r;
    memset(&r, 0, sizeof r);
    if (parse_request(&r) != 0) {
        fprintf(stderr, "no HTTP request on standard input\n");
        free(r.text);
        return 2;
    }
    int rc = 2;
    const char *cmd = argv[1];
    if (strcmp(cmd, "sign-rfc9421") == 0 && argc == 6) {
        rc = sign_rfc9421(&r, argv[2], argv[3], argv[4], argv[5]);
    } else {
        char *key = read_file(argv[2]);
        if (!key) fprintf(stderr, "cannot read %s\n", argv[2]);
        else if (strcmp(cmd, "verify-cavage") == 0 && argc == 3) rc = verify_cavage(&r, key);
        else if (strcmp(cmd, "verify-rfc9421") == 0 && argc == 4) rc = verify_rfc9421(&r, key, argv[3]);
        else if (strcmp(cmd, "sign-cavage") == 0 && argc == 5) rc = sign_cavage(&r, key, argv[3], argv[4]);
        else fprintf(stderr, "unknown command or wrong arguments\n");
        free(key);
    }
    free(r.text);
    return rc;
}
