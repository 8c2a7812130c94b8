/* httpsig: HTTP request signatures between instances (lib/httpsig.h):
 * draft-cavage-http-signatures-12 with rsa-sha256 and RFC 9421 HTTP Message
 * Signatures with Ed25519, and the body digests that go with them.
 *
 * Why two libraries: libsodium has no RSA at all (only Curve25519/Ed25519
 * and friends), and the fediverse (Mastodon and most ActivityPub servers)
 * signs and requires RSASSA-PKCS1-v1_5 with SHA-256 over PEM keys; so RSA
 * comes from OpenSSL's libcrypto, and libsodium keeps everything Ed25519 and
 * the hashes. Pure: no database, no network. */
#include "httpsig.h"

#include <ctype.h>
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "strbuf.h"

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* ---- keys ---- */

static char *bio_text(BIO *b)
{
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    if (n <= 0) return NULL;
    char *out = malloc((size_t)n + 1);
    if (!out) return NULL;
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    return out;
}

int httpsig_rsa_generate(char **public_pem, char **private_pem)
{
    *public_pem = *private_pem = NULL;
    EVP_PKEY *key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
    BIO *pub = BIO_new(BIO_s_mem()), *priv = BIO_new(BIO_s_mem());
    int rc = -1;
    if (key && pub && priv && PEM_write_bio_PUBKEY(pub, key) == 1 &&
        PEM_write_bio_PrivateKey(priv, key, NULL, NULL, 0, NULL, NULL) == 1) {
        *public_pem = bio_text(pub);
        *private_pem = bio_text(priv);
        rc = *public_pem && *private_pem ? 0 : -1;
    }
    if (rc != 0) {
        free(*public_pem);
        if (*private_pem) sodium_memzero(*private_pem, strlen(*private_pem));
        free(*private_pem);
        *public_pem = *private_pem = NULL;
    }
    BIO_free(pub);
    BIO_free(priv);
    EVP_PKEY_free(key);
    ERR_clear_error();
    return rc;
}

/* An RSA key from PEM (public: SubjectPublicKeyInfo; private: PKCS#8 or
 * PKCS#1), or NULL. */
static EVP_PKEY *rsa_key(const char *pem, bool private_key)
{
    if (!pem) return NULL;
    BIO *b = BIO_new_mem_buf(pem, -1);
    if (!b) return NULL;
    EVP_PKEY *key = private_key ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
    BIO_free(b);
    ERR_clear_error();
    if (key && (!EVP_PKEY_is_a(key, "RSA") || EVP_PKEY_get_bits(key) < 1024)) {
        EVP_PKEY_free(key);
        return NULL;
    }
    return key;
}

/* ---- digests ---- */

static void sha256_base64(const void *body, size_t len, char *b64, size_t cap)
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, body ? (const unsigned char *)body : (const unsigned char *)"", body ? len : 0);
    sodium_bin2base64(b64, cap, h, sizeof h, sodium_base64_VARIANT_ORIGINAL);
}

void httpsig_digest(const void *body, size_t len, char *out, size_t cap)
{
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sha256_base64(body, len, b64, sizeof b64);
    snprintf(out, cap, "SHA-256=%s", b64);
}

void httpsig_content_digest(const void *body, size_t len, char *out, size_t cap)
{
    char b64[sodium_base64_ENCODED_LEN(crypto_hash_sha256_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sha256_base64(body, len, b64, sizeof b64);
    snprintf(out, cap, "sha-256=:%s:", b64);
}

/* ---- header values ---- */

/* Every value of header `name` (name given as [name, name + name_len)),
 * trimmed, joined with ", " (how both schemes combine repeated fields).
 * False when there is none. */
static bool header_values(const httpsig_header_t *headers, size_t n, const char *name, size_t name_len,
                          strbuf_t *out)
{
    bool found = false;
    for (size_t i = 0; i < n; i++) {
        const char *hn = headers[i].name;
        if (!hn || strlen(hn) != name_len || strncasecmp(hn, name, name_len) != 0) continue;
        const char *v = headers[i].value ? headers[i].value : "";
        while (*v == ' ' || *v == '\t') v++;
        size_t vl = strlen(v);
        while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) vl--;
        if (found) strbuf_addstr(out, ", ");
        strbuf_add(out, v, vl);
        found = true;
    }
    return found;
}

static bool one_line(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f) return false;
    return true;
}

/* ---- draft-cavage ---- */

/* The signing string of the space-separated names: "name: value" lines
 * joined by "\n". sig gives (created) and (expires) when verifying. */
static int cavage_signing_string(const char *method, const char *path, const httpsig_header_t *headers,
                                 size_t n, const char *names, const httpsig_cavage_t *sig, strbuf_t *out,
                                 char *err, size_t errlen)
{
    const char *p = names;
    bool first = true;
    while (*p) {
        while (*p == ' ') p++;
        if (!*p) break;
        size_t len = strcspn(p, " ");
        char name[128];
        if (len >= sizeof name) return fail(err, errlen, "a signed header name is too long");
        for (size_t i = 0; i < len; i++) name[i] = (char)tolower((unsigned char)p[i]);
        name[len] = '\0';
        p += len;
        if (!first) strbuf_addch(out, '\n');
        first = false;
        if (strcmp(name, "(request-target)") == 0) {
            if (!method || !path || !*path) return fail(err, errlen, "(request-target) needs the method and path");
            strbuf_addstr(out, "(request-target): ");
            for (const char *m = method; *m; m++) strbuf_addch(out, (char)tolower((unsigned char)*m));
            strbuf_addch(out, ' ');
            strbuf_addstr(out, path);
        } else if (strcmp(name, "(created)") == 0 || strcmp(name, "(expires)") == 0) {
            long long v = !sig ? 0 : name[1] == 'c' ? sig->created : sig->expires;
            if (v <= 0) return fail(err, errlen, "%s is signed but the signature has no %s parameter", name,
                                    name[1] == 'c' ? "created" : "expires");
            strbuf_addf(out, "%s: %lld", name, v);
        } else if (name[0] == '(') {
            return fail(err, errlen, "unknown pseudo-header %s", name);
        } else {
            strbuf_addstr(out, name);
            strbuf_addstr(out, ": ");
            if (!header_values(headers, n, name, len, out))
                return fail(err, errlen, "the signed header %s is missing", name);
        }
    }
    if (first) return fail(err, errlen, "no header is signed");
    if (out->failed) return fail(err, errlen, "out of memory");
    return 0;
}

char *httpsig_cavage_sign(const char *method, const char *path, const httpsig_header_t *headers, size_t n,
                          const char *signed_names, const char *key_id, const char *private_pem)
{
    if (!signed_names) signed_names = "date";
    if (!key_id || !*key_id || strchr(key_id, '"') || !one_line(key_id) || strchr(signed_names, '"') ||
        !one_line(signed_names))
        return NULL;
    strbuf_t text = STRBUF_INIT;
    char err[128];
    if (cavage_signing_string(method, path, headers, n, signed_names, NULL, &text, err, sizeof err) != 0) {
        strbuf_release(&text);
        return NULL;
    }
    EVP_PKEY *key = rsa_key(private_pem, true);
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char sig[1024];
    size_t sig_len = sizeof sig;
    char *result = NULL;
    if (key && ctx && EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(ctx, NULL, &sig_len, (const unsigned char *)text.buf, text.len) == 1 &&
        sig_len <= sizeof sig &&
        EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)text.buf, text.len) == 1) {
        char b64[sodium_base64_ENCODED_LEN(sizeof sig, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof b64, sig, sig_len, sodium_base64_VARIANT_ORIGINAL);
        strbuf_t h = STRBUF_INIT;
        strbuf_addf(&h, "keyId=\"%s\",algorithm=\"rsa-sha256\",headers=\"", key_id);
        for (const char *c = signed_names; *c; c++) strbuf_addch(&h, (char)tolower((unsigned char)*c));
        strbuf_addf(&h, "\",signature=\"%s\"", b64);
        result = strbuf_detach(&h, NULL);
    }
    ERR_clear_error();
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    strbuf_release(&text);
    return result;
}

int httpsig_cavage_parse(const char *value, httpsig_cavage_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (!value) return fail(err, errlen, "no Signature header");
    const char *p = value;
    while (*p == ' ' || *p == '\t') p++;
    if (strncasecmp(p, "Signature ", 10) == 0) p += 10; /* the Authorization form */
    bool seen_key = false, seen_alg = false, seen_headers = false, seen_sig = false, seen_created = false,
         seen_expires = false;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) break;
        const char *k = p;
        while (isalnum((unsigned char)*p) || *p == '-' || *p == '_') p++;
        size_t klen = (size_t)(p - k);
        if (klen == 0 || *p != '=') return fail(err, errlen, "a Signature parameter is not name=value");
        p++;
        const char *v;
        size_t vlen;
        bool quoted = *p == '"';
        if (quoted) {
            v = ++p;
            const char *end = strchr(p, '"');
            if (!end) return fail(err, errlen, "an unterminated quoted value in Signature");
            vlen = (size_t)(end - v);
            p = end + 1;
        } else {
            v = p;
            while (isdigit((unsigned char)*p) || *p == '.') p++;
            vlen = (size_t)(p - v);
            if (vlen == 0) return fail(err, errlen, "a Signature parameter value is neither quoted nor a number");
        }
        for (size_t i = 0; i < vlen; i++)
            if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
                return fail(err, errlen, "a control character in a Signature parameter");
#define KEY_IS(s) (klen == sizeof(s) - 1 && strncasecmp(k, s, klen) == 0)
        if (KEY_IS("keyId")) {
            if (seen_key) return fail(err, errlen, "keyId given twice");
            if (!quoted || vlen == 0 || vlen >= sizeof out->key_id) return fail(err, errlen, "keyId must be a quoted string of 1 to %zu characters", sizeof out->key_id - 1);
            memcpy(out->key_id, v, vlen);
            seen_key = true;
        } else if (KEY_IS("algorithm")) {
            if (seen_alg) return fail(err, errlen, "algorithm given twice");
            if (!quoted || vlen >= sizeof out->algorithm) return fail(err, errlen, "algorithm must be a short quoted string");
            for (size_t i = 0; i < vlen; i++) out->algorithm[i] = (char)tolower((unsigned char)v[i]);
            seen_alg = true;
        } else if (KEY_IS("headers")) {
            if (seen_headers) return fail(err, errlen, "headers given twice");
            while (vlen > 0 && *v == ' ') v++, vlen--;
            while (vlen > 0 && v[vlen - 1] == ' ') vlen--;
            if (!quoted || vlen == 0 || vlen >= sizeof out->headers) return fail(err, errlen, "headers must be a quoted list of 1 to %zu characters", sizeof out->headers - 1);
            for (size_t i = 0; i < vlen; i++) out->headers[i] = (char)tolower((unsigned char)v[i]);
            seen_headers = true;
        } else if (KEY_IS("signature")) {
            if (seen_sig) return fail(err, errlen, "signature given twice");
            if (!quoted || vlen == 0) return fail(err, errlen, "signature must be quoted base64");
            if (sodium_base642bin(out->signature, sizeof out->signature, v, vlen, NULL, &out->signature_len,
                                  NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || out->signature_len == 0)
                return fail(err, errlen, "signature is not base64 (or longer than %zu bytes)", sizeof out->signature);
            seen_sig = true;
        } else if (KEY_IS("created") || KEY_IS("expires")) {
            bool created = klen == 7 && tolower((unsigned char)k[0]) == 'c';
            if (created ? seen_created : seen_expires) return fail(err, errlen, "%s given twice", created ? "created" : "expires");
            long long t = 0;
            size_t i = 0;
            for (; i < vlen && isdigit((unsigned char)v[i]); i++) {
                if (t > 100000000000LL) return fail(err, errlen, "%s is out of range", created ? "created" : "expires");
                t = t * 10 + (v[i] - '0');
            }
            if (i == 0 || t <= 0 || (i < vlen && (v[i] != '.' || i + 1 == vlen || strspn(v + i + 1, "0123456789") < vlen - i - 1)))
                return fail(err, errlen, "%s must be a number of seconds", created ? "created" : "expires");
            if (created) out->created = t, seen_created = true;
            else out->expires = t, seen_expires = true;
        }
        /* other parameters are ignored, as the draft asks */
#undef KEY_IS
        while (*p == ' ' || *p == '\t') p++;
        if (*p == ',') p++;
        else if (*p) return fail(err, errlen, "Signature parameters must be separated by commas");
    }
    if (!seen_key) return fail(err, errlen, "the Signature has no keyId");
    if (!seen_sig) return fail(err, errlen, "the Signature has no signature");
    if (!seen_headers) snprintf(out->headers, sizeof out->headers, "date");
    return 0;
}

bool httpsig_cavage_covers(const httpsig_cavage_t *sig, const char *name)
{
    size_t len = strlen(name);
    for (const char *p = sig->headers; *p;) {
        while (*p == ' ') p++;
        size_t n = strcspn(p, " ");
        if (n == len && n > 0 && strncasecmp(p, name, n) == 0) return true;
        p += n;
    }
    return false;
}

int httpsig_cavage_verify(const httpsig_cavage_t *sig, const char *method, const char *path,
                          const httpsig_header_t *headers, size_t n, const char *public_pem, char *err,
                          size_t errlen)
{
    const char *alg = sig->algorithm;
    bool rsa_named = strcmp(alg, "rsa-sha256") == 0;
    if (alg[0] && !rsa_named && strcmp(alg, "hs2019") != 0)
        return fail(err, errlen, "the algorithm %s is not supported (rsa-sha256 and hs2019 with an RSA key are)", alg);
    if (rsa_named && (httpsig_cavage_covers(sig, "(created)") || httpsig_cavage_covers(sig, "(expires)")))
        return fail(err, errlen, "(created) and (expires) may not be signed with rsa-sha256");
    strbuf_t text = STRBUF_INIT;
    if (cavage_signing_string(method, path, headers, n, sig->headers, sig, &text, err, errlen) != 0) {
        strbuf_release(&text);
        return -1;
    }
    EVP_PKEY *key = rsa_key(public_pem, false);
    int rc;
    if (!key) {
        rc = fail(err, errlen, "the key is not an RSA public key in PEM");
    } else {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        bool ok = ctx && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
                  EVP_DigestVerify(ctx, sig->signature, sig->signature_len, (const unsigned char *)text.buf,
                                   text.len) == 1;
        EVP_MD_CTX_free(ctx);
        rc = ok ? 0 : fail(err, errlen, "the signature does not match");
    }
    ERR_clear_error();
    EVP_PKEY_free(key);
    strbuf_release(&text);
    return rc;
}

/* ---- RFC 9421: structured fields (RFC 8941), as much as signatures need ---- */

typedef enum { SF_INTEGER, SF_DECIMAL, SF_STRING, SF_TOKEN, SF_BYTES, SF_BOOLEAN } sf_type_t;

typedef struct sf_bare {
    sf_type_t type;
    long long integer; /* SF_INTEGER, SF_BOOLEAN */
    char text[512];    /* SF_STRING (unescaped), SF_TOKEN, SF_DECIMAL (as written) */
    size_t nbytes;
    bool too_long;     /* a string or byte sequence longer than the buffers */
    unsigned char bytes[640]; /* SF_BYTES; last, so a new item clears only what comes before */
} sf_bare_t;

#define SF_MAX_PARAMS 8
#define SF_MAX_ITEMS 32

typedef struct sf_param {
    char key[64];
    sf_bare_t value;
} sf_param_t;

typedef struct sf_component {
    char name[128];
    bool is_string;
    bool has_params;
} sf_component_t;

/* One dictionary member's value: an inner list (Signature-Input) or an item
 * (Signature), with its parameters. */
typedef struct sf_value {
    bool is_list;
    sf_component_t items[SF_MAX_ITEMS];
    size_t nitems;
    sf_bare_t item;
    sf_param_t params[SF_MAX_PARAMS];
    size_t nparams;
} sf_value_t;

typedef struct sf_parser {
    const char *s;
    size_t i, n;
} sf_parser_t;

static int sf_peek(const sf_parser_t *p) { return p->i < p->n ? (unsigned char)p->s[p->i] : -1; }

static bool sf_key(sf_parser_t *p, char *out, size_t cap)
{
    int c = sf_peek(p);
    if (!((c >= 'a' && c <= 'z') || c == '*')) return false;
    size_t len = 0;
    while ((c = sf_peek(p)) != -1 &&
           ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' || c == '*')) {
        if (len + 1 >= cap) return false;
        out[len++] = (char)c;
        p->i++;
    }
    out[len] = '\0';
    return true;
}

static bool sf_bare_item(sf_parser_t *p, sf_bare_t *out)
{
    memset(out, 0, offsetof(sf_bare_t, bytes));
    int c = sf_peek(p);
    if (c == '-' || (c >= '0' && c <= '9')) {
        size_t start = p->i, digits = 0, frac = 0;
        bool neg = c == '-', dot = false;
        if (neg) p->i++;
        long long v = 0;
        while ((c = sf_peek(p)) != -1) {
            if (c >= '0' && c <= '9') {
                if (dot) frac++;
                else digits++;
                if (!dot) v = v * 10 + (c - '0');
                if (digits > 15 || frac > 3) return false;
            } else if (c == '.' && !dot && digits > 0 && digits <= 12) {
                dot = true;
            } else {
                break;
            }
            p->i++;
        }
        if (digits == 0 || (dot && frac == 0)) return false;
        out->type = dot ? SF_DECIMAL : SF_INTEGER;
        out->integer = neg ? -v : v;
        snprintf(out->text, sizeof out->text, "%.*s", (int)(p->i - start), p->s + start);
        return true;
    }
    if (c == '"') {
        p->i++;
        size_t len = 0;
        for (;;) {
            c = sf_peek(p);
            if (c == -1) return false;
            p->i++;
            if (c == '"') break;
            if (c == '\\') {
                c = sf_peek(p);
                if (c != '"' && c != '\\') return false;
                p->i++;
            } else if (c < 0x20 || c > 0x7e) {
                return false;
            }
            if (len + 1 < sizeof out->text) out->text[len++] = (char)c;
            else out->too_long = true;
        }
        out->text[len] = '\0';
        out->type = SF_STRING;
        return true;
    }
    if (c == ':') {
        p->i++;
        size_t start = p->i;
        while ((c = sf_peek(p)) != -1 && c != ':') {
            if (!isalnum(c) && c != '+' && c != '/' && c != '=') return false;
            p->i++;
        }
        if (c != ':') return false;
        size_t len = p->i - start;
        p->i++;
        out->type = SF_BYTES;
        if (sodium_base642bin(out->bytes, sizeof out->bytes, p->s + start, len, NULL, &out->nbytes, NULL,
                              sodium_base64_VARIANT_ORIGINAL) != 0) {
            out->nbytes = 0;
            out->too_long = true; /* longer than any key here, or not base64: never verifies */
        }
        return true;
    }
    if (c == '?') {
        p->i++;
        c = sf_peek(p);
        if (c != '0' && c != '1') return false;
        p->i++;
        out->type = SF_BOOLEAN;
        out->integer = c == '1';
        return true;
    }
    if (isalpha(c) || c == '*') {
        size_t len = 0;
        while ((c = sf_peek(p)) != -1 && (isalnum(c) || strchr("!#$%&'*+-.^_`|~:/", c))) {
            if (len + 1 < sizeof out->text) out->text[len++] = (char)c;
            else out->too_long = true;
            p->i++;
        }
        out->text[len] = '\0';
        out->type = SF_TOKEN;
        return true;
    }
    return false;
}

/* Parameters into params (NULL: only checked); a repeated key keeps its
 * last value (RFC 8941 4.2.3.2). */
static bool sf_parameters(sf_parser_t *p, sf_param_t *params, size_t *nparams)
{
    while (sf_peek(p) == ';') {
        p->i++;
        while (sf_peek(p) == ' ') p->i++;
        sf_param_t one;
        if (!sf_key(p, one.key, sizeof one.key)) return false;
        if (sf_peek(p) == '=') {
            p->i++;
            if (!sf_bare_item(p, &one.value)) return false;
        } else {
            memset(&one.value, 0, sizeof one.value);
            one.value.type = SF_BOOLEAN;
            one.value.integer = 1;
        }
        if (!params) continue;
        size_t k = 0;
        while (k < *nparams && strcmp(params[k].key, one.key) != 0) k++;
        if (k == *nparams) {
            if (k >= SF_MAX_PARAMS) return false; /* more parameters than anyone needs */
            (*nparams)++;
        }
        params[k] = one;
    }
    return true;
}

static bool sf_member_value(sf_parser_t *p, sf_value_t *v)
{
    memset(v, 0, sizeof *v);
    if (sf_peek(p) == '(') {
        v->is_list = true;
        p->i++;
        for (;;) {
            while (sf_peek(p) == ' ') p->i++;
            if (sf_peek(p) == ')') {
                p->i++;
                break;
            }
            if (v->nitems >= SF_MAX_ITEMS) return false;
            sf_bare_t item;
            if (!sf_bare_item(p, &item)) return false;
            sf_component_t *c = &v->items[v->nitems++];
            c->is_string = item.type == SF_STRING && !item.too_long && strlen(item.text) < sizeof c->name;
            if (c->is_string) memcpy(c->name, item.text, strlen(item.text) + 1);
            c->has_params = sf_peek(p) == ';';
            if (!sf_parameters(p, NULL, NULL)) return false;
            int next = sf_peek(p);
            if (next != ' ' && next != ')') return false;
        }
    } else {
        if (!sf_bare_item(p, &v->item)) return false;
    }
    return sf_parameters(p, v->params, &v->nparams);
}

/* The member `label` of the dictionary in text (NULL: the first) into v; its
 * key into found_label. 1 found, 0 not there, -1 malformed. */
static int sf_dictionary_member(const char *text, const char *label, sf_value_t *v, char *found_label,
                                size_t cap)
{
    sf_parser_t p = {text, 0, strlen(text)};
    while (sf_peek(&p) == ' ') p.i++;
    if (p.i == p.n) return -1;
    sf_value_t *other = malloc(sizeof *other); /* members before or after the one wanted */
    if (!other) return -1;
    int found = 0;
    while (p.i < p.n) {
        char key[64];
        if (!sf_key(&p, key, sizeof key)) goto malformed;
        bool wanted = !found && (!label || strcmp(key, label) == 0);
        sf_value_t *into = wanted ? v : other;
        if (sf_peek(&p) == '=') {
            p.i++;
            if (!sf_member_value(&p, into)) goto malformed;
        } else {
            memset(into, 0, sizeof *into);
            into->item.type = SF_BOOLEAN;
            into->item.integer = 1;
            if (!sf_parameters(&p, into->params, &into->nparams)) goto malformed;
        }
        if (wanted) {
            found = 1;
            snprintf(found_label, cap, "%s", key);
        }
        while (sf_peek(&p) == ' ' || sf_peek(&p) == '\t') p.i++;
        if (p.i == p.n) break;
        if (sf_peek(&p) != ',') goto malformed;
        p.i++;
        while (sf_peek(&p) == ' ' || sf_peek(&p) == '\t') p.i++;
        if (p.i == p.n) goto malformed; /* a trailing comma */
    }
    free(other);
    return found;
malformed:
    free(other);
    return -1;
}

static void sf_serialize_string(strbuf_t *out, const char *s)
{
    strbuf_addch(out, '"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') strbuf_addch(out, '\\');
        strbuf_addch(out, *s);
    }
    strbuf_addch(out, '"');
}

static bool sf_printable(const char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e) return false;
    return true;
}

/* The @signature-params value: the inner list serialized (RFC 8941 4.1). */
static bool serialize_signature_params(const sf_value_t *v, strbuf_t *out)
{
    strbuf_addch(out, '(');
    for (size_t i = 0; i < v->nitems; i++) {
        if (i) strbuf_addch(out, ' ');
        sf_serialize_string(out, v->items[i].name);
    }
    strbuf_addch(out, ')');
    for (size_t i = 0; i < v->nparams; i++) {
        const sf_param_t *pr = &v->params[i];
        strbuf_addch(out, ';');
        strbuf_addstr(out, pr->key);
        const sf_bare_t *b = &pr->value;
        if (b->too_long) return false;
        switch (b->type) {
        case SF_BOOLEAN:
            if (!b->integer) strbuf_addstr(out, "=?0");
            break;
        case SF_INTEGER:
            strbuf_addf(out, "=%lld", b->integer);
            break;
        case SF_DECIMAL: {
            /* canonical: no trailing zeros past the first decimal digit */
            char d[64];
            snprintf(d, sizeof d, "%s", b->text);
            char *dot = strchr(d, '.');
            size_t n = strlen(d);
            while (dot && n > (size_t)(dot - d) + 2 && d[n - 1] == '0') d[--n] = '\0';
            strbuf_addf(out, "=%s", d);
            break;
        }
        case SF_STRING:
            strbuf_addch(out, '=');
            sf_serialize_string(out, b->text);
            break;
        case SF_TOKEN:
            strbuf_addf(out, "=%s", b->text);
            break;
        case SF_BYTES: {
            char b64[sodium_base64_ENCODED_LEN(sizeof b->bytes, sodium_base64_VARIANT_ORIGINAL)];
            sodium_bin2base64(b64, sizeof b64, b->bytes, b->nbytes, sodium_base64_VARIANT_ORIGINAL);
            strbuf_addf(out, "=:%s:", b64);
            break;
        }
        }
    }
    return !out->failed;
}

/* ---- RFC 9421: the signature base ---- */

typedef struct target {
    char scheme[16];
    char authority[512];
    char path[2048];
    char query[2048];
    bool has_query;
} target_t;

static int parse_target(const char *uri, target_t *t, char *err, size_t errlen)
{
    memset(t, 0, sizeof *t);
    if (!uri) return fail(err, errlen, "no target URI");
    const char *colon = strstr(uri, "://");
    if (!colon || colon == uri || (size_t)(colon - uri) >= sizeof t->scheme)
        return fail(err, errlen, "the target URI %s is not absolute", uri);
    for (const char *c = uri; c < colon; c++) t->scheme[c - uri] = (char)tolower((unsigned char)*c);
    const char *a = colon + 3;
    size_t alen = strcspn(a, "/?#");
    const char *at = memchr(a, '@', alen);
    if (at) {
        alen -= (size_t)(at + 1 - a);
        a = at + 1;
    }
    if (alen == 0 || alen >= sizeof t->authority) return fail(err, errlen, "the target URI has no usable host");
    for (size_t i = 0; i < alen; i++) t->authority[i] = (char)tolower((unsigned char)a[i]);
    /* the default port is not part of @authority */
    size_t n = strlen(t->authority);
    const char *dflt = strcmp(t->scheme, "https") == 0 ? ":443" : strcmp(t->scheme, "http") == 0 ? ":80" : NULL;
    if (dflt && n > strlen(dflt) && strcmp(t->authority + n - strlen(dflt), dflt) == 0)
        t->authority[n - strlen(dflt)] = '\0';
    const char *rest = a + alen;
    size_t plen = strcspn(rest, "?#");
    if (plen >= sizeof t->path) return fail(err, errlen, "the target URI's path is too long");
    if (plen == 0) snprintf(t->path, sizeof t->path, "/");
    else memcpy(t->path, rest, plen);
    if (rest[plen] == '?') {
        const char *q = rest + plen + 1;
        size_t qlen = strcspn(q, "#");
        if (qlen >= sizeof t->query) return fail(err, errlen, "the target URI's query is too long");
        memcpy(t->query, q, qlen);
        t->has_query = true;
    }
    return 0;
}

static int rfc9421_base(const char *method, const char *target_uri, const httpsig_header_t *headers,
                        size_t n, const sf_value_t *v, strbuf_t *base, char *err, size_t errlen)
{
    target_t t;
    bool have_target = false;
    for (size_t i = 0; i < v->nitems; i++) {
        const sf_component_t *c = &v->items[i];
        if (!c->is_string || !c->name[0]) return fail(err, errlen, "a covered component is not a string");
        if (c->has_params) return fail(err, errlen, "the covered component \"%s\" has parameters, which are not supported", c->name);
        for (size_t j = 0; j < i; j++)
            if (strcmp(v->items[j].name, c->name) == 0) return fail(err, errlen, "\"%s\" is covered twice", c->name);
        strbuf_addf(base, "\"%s\": ", c->name);
        const char *name = c->name;
        if (name[0] == '@') {
            if (!have_target && strcmp(name, "@method") != 0) {
                if (parse_target(target_uri, &t, err, errlen) != 0) return -1;
                have_target = true;
            }
            if (strcmp(name, "@method") == 0) {
                if (!method || !*method) return fail(err, errlen, "no method");
                strbuf_addstr(base, method);
            } else if (strcmp(name, "@target-uri") == 0) {
                strbuf_addstr(base, target_uri);
            } else if (strcmp(name, "@authority") == 0) {
                strbuf_addstr(base, t.authority);
            } else if (strcmp(name, "@scheme") == 0) {
                strbuf_addstr(base, t.scheme);
            } else if (strcmp(name, "@path") == 0) {
                strbuf_addstr(base, t.path);
            } else if (strcmp(name, "@query") == 0) {
                strbuf_addf(base, "?%s", t.query);
            } else if (strcmp(name, "@request-target") == 0) {
                strbuf_addstr(base, t.path);
                if (t.has_query) strbuf_addf(base, "?%s", t.query);
            } else {
                return fail(err, errlen, "the derived component \"%s\" is not supported", name);
            }
        } else {
            for (const char *ch = name; *ch; ch++)
                if (isupper((unsigned char)*ch) || (unsigned char)*ch <= 0x20)
                    return fail(err, errlen, "the component \"%s\" is not a lower-case field name", name);
            if (strcmp(name, "signature") == 0 || strcmp(name, "signature-input") == 0)
                return fail(err, errlen, "\"%s\" cannot be covered here", name);
            if (!header_values(headers, n, name, strlen(name), base))
                return fail(err, errlen, "the covered field %s is missing", name);
        }
        strbuf_addch(base, '\n');
    }
    strbuf_addstr(base, "\"@signature-params\": ");
    if (!serialize_signature_params(v, base)) return fail(err, errlen, "a signature parameter is too long");
    if (base->failed) return fail(err, errlen, "out of memory");
    return 0;
}

static const sf_param_t *param(const sf_value_t *v, const char *key)
{
    for (size_t i = 0; i < v->nparams; i++)
        if (strcmp(v->params[i].key, key) == 0) return &v->params[i];
    return NULL;
}

/* The key a signature is checked with: a raw Ed25519 key, or a PEM one
 * (RSA: rsa-v1_5-sha256; Ed25519: ed25519); neither: only parse. */
typedef struct rfc9421_key {
    const unsigned char *ed25519;
    EVP_PKEY *pem;
} rfc9421_key_t;

static int rfc9421_verify(const char *method, const char *target_uri, const httpsig_header_t *headers, size_t n,
                          const char *label, rfc9421_key_t key, char *key_id_out, size_t key_id_cap, char *err,
                          size_t errlen)
{
    if (key_id_out && key_id_cap) key_id_out[0] = '\0';
    strbuf_t input = STRBUF_INIT, sigs = STRBUF_INIT, base = STRBUF_INIT;
    sf_value_t *v = malloc(sizeof *v), *s = malloc(sizeof *s);
    char found[64], found_sig[64];
    int rc = -1;
    if (!v || !s) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    if (!header_values(headers, n, "signature-input", 15, &input)) {
        fail(err, errlen, "no Signature-Input");
        goto out;
    }
    if (!header_values(headers, n, "signature", 9, &sigs)) {
        fail(err, errlen, "no Signature");
        goto out;
    }
    if (input.failed || sigs.failed) {
        fail(err, errlen, "out of memory");
        goto out;
    }
    int m = sf_dictionary_member(input.buf, label, v, found, sizeof found);
    if (m <= 0 || !v->is_list) {
        fail(err, errlen, m < 0 ? "Signature-Input is malformed" : !m ? "Signature-Input has no signature %s"
                                                                      : "Signature-Input's %s is not a list",
             label ? label : "");
        goto out;
    }
    m = sf_dictionary_member(sigs.buf, found, s, found_sig, sizeof found_sig);
    if (m <= 0 || s->is_list || s->item.type != SF_BYTES) {
        fail(err, errlen, m < 0 ? "Signature is malformed" : "Signature has no byte sequence labelled %s", found);
        goto out;
    }
    const sf_param_t *keyid = param(v, "keyid"), *alg = param(v, "alg"), *expires = param(v, "expires"),
                     *created = param(v, "created");
    if (!keyid || keyid->value.type != SF_STRING || keyid->value.too_long || !keyid->value.text[0]) {
        fail(err, errlen, "the signature %s names no keyid", found);
        goto out;
    }
    if (key_id_out && key_id_cap) snprintf(key_id_out, key_id_cap, "%s", keyid->value.text);
    if (alg && alg->value.type != SF_STRING) {
        fail(err, errlen, "alg must be a string");
        goto out;
    }
    bool rsa = key.pem && EVP_PKEY_is_a(key.pem, "RSA");
    const char *key_alg = key.ed25519 || (key.pem && EVP_PKEY_is_a(key.pem, "ED25519")) ? "ed25519"
                          : rsa                                                         ? "rsa-v1_5-sha256"
                                                                                        : NULL;
    if (alg && strcmp(alg->value.text, "ed25519") != 0 && strcmp(alg->value.text, "rsa-v1_5-sha256") != 0) {
        fail(err, errlen, "the algorithm %s is not supported (ed25519 and rsa-v1_5-sha256 are)", alg->value.text);
        goto out;
    }
    if (key.pem && !key_alg) {
        fail(err, errlen, "the key is neither RSA nor Ed25519");
        goto out;
    }
    if (alg && key_alg && strcmp(alg->value.text, key_alg) != 0) {
        fail(err, errlen, "the signature says %s but the key is for %s", alg->value.text, key_alg);
        goto out;
    }
    if ((created && created->value.type != SF_INTEGER) || (expires && expires->value.type != SF_INTEGER)) {
        fail(err, errlen, "created and expires must be integers");
        goto out;
    }
    if (expires && expires->value.integer < (long long)time(NULL)) {
        fail(err, errlen, "the signature expired");
        goto out;
    }
    if (!key.ed25519 && !key.pem) {
        rc = 0; /* parsed: the caller looks the key up */
        goto out;
    }
    if (rfc9421_base(method, target_uri, headers, n, v, &base, err, errlen) != 0) goto out;
    bool ok;
    if (key.ed25519) {
        ok = s->item.nbytes == crypto_sign_BYTES &&
             crypto_sign_verify_detached(s->item.bytes, (const unsigned char *)base.buf, base.len, key.ed25519) == 0;
    } else {
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        ok = ctx && s->item.nbytes > 0 &&
             EVP_DigestVerifyInit(ctx, NULL, rsa ? EVP_sha256() : NULL, NULL, key.pem) == 1 &&
             EVP_DigestVerify(ctx, s->item.bytes, s->item.nbytes, (const unsigned char *)base.buf, base.len) == 1;
        EVP_MD_CTX_free(ctx);
        ERR_clear_error();
    }
    if (!ok) {
        fail(err, errlen, "the signature does not match");
        goto out;
    }
    rc = 0;
out:
    strbuf_release(&input);
    strbuf_release(&sigs);
    strbuf_release(&base);
    free(v);
    free(s);
    return rc;
}

int httpsig_rfc9421_verify(const char *method, const char *target_uri, const httpsig_header_t *headers,
                           size_t n, const char *label, const unsigned char *public_key, char *key_id_out,
                           size_t key_id_cap, char *err, size_t errlen)
{
    rfc9421_key_t key = {public_key, NULL};
    return rfc9421_verify(method, target_uri, headers, n, label, key, key_id_out, key_id_cap, err, errlen);
}

int httpsig_rfc9421_verify_pem(const char *method, const char *target_uri, const httpsig_header_t *headers,
                               size_t n, const char *label, const char *public_pem, char *key_id_out,
                               size_t key_id_cap, char *err, size_t errlen)
{
    EVP_PKEY *pkey = NULL;
    if (public_pem) {
        BIO *b = BIO_new_mem_buf(public_pem, -1);
        pkey = b ? PEM_read_bio_PUBKEY(b, NULL, NULL, NULL) : NULL;
        BIO_free(b);
        ERR_clear_error();
        if (!pkey || (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) < 2048)) {
            EVP_PKEY_free(pkey);
            return fail(err, errlen, "the key is not a public key in PEM (RSA of 2048 bits or more, or Ed25519)");
        }
    }
    rfc9421_key_t key = {NULL, pkey};
    int rc = rfc9421_verify(method, target_uri, headers, n, label, key, key_id_out, key_id_cap, err, errlen);
    EVP_PKEY_free(pkey);
    return rc;
}

int httpsig_rfc9421_info(const httpsig_header_t *headers, size_t n, const char *label,
                         httpsig_rfc9421_info_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    strbuf_t input = STRBUF_INIT;
    sf_value_t *v = malloc(sizeof *v);
    int rc = -1;
    if (!v) {
        fail(err, errlen, "out of memory");
    } else if (!header_values(headers, n, "signature-input", 15, &input) || input.failed) {
        fail(err, errlen, "no Signature-Input");
    } else {
        char found[64];
        int m = sf_dictionary_member(input.buf, label, v, found, sizeof found);
        if (m < 0) fail(err, errlen, "Signature-Input is malformed");
        else if (m == 0) fail(err, errlen, "Signature-Input has no signature %s", label ? label : "");
        else if (!v->is_list) fail(err, errlen, "Signature-Input's %s is not a list", found);
        else rc = 0;
        if (rc == 0) {
            snprintf(out->label, sizeof out->label, "%s", found);
            const sf_param_t *keyid = param(v, "keyid"), *alg = param(v, "alg"), *created = param(v, "created"),
                             *expires = param(v, "expires");
            if (keyid && keyid->value.type == SF_STRING && !keyid->value.too_long)
                snprintf(out->key_id, sizeof out->key_id, "%s", keyid->value.text);
            if (alg && alg->value.type == SF_STRING && strlen(alg->value.text) < sizeof out->alg)
                memcpy(out->alg, alg->value.text, strlen(alg->value.text) + 1);
            if (created && created->value.type == SF_INTEGER) out->created = created->value.integer;
            if (expires && expires->value.type == SF_INTEGER) out->expires = expires->value.integer;
            strbuf_t c = STRBUF_INIT;
            for (size_t i = 0; i < v->nitems; i++) {
                if (i) strbuf_addch(&c, ' ');
                sf_serialize_string(&c, v->items[i].name);
            }
            if (c.failed || c.len >= sizeof out->components) rc = fail(err, errlen, "too many covered components");
            else memcpy(out->components, strbuf_str(&c), c.len + 1);
            strbuf_release(&c);
        }
    }
    strbuf_release(&input);
    free(v);
    return rc;
}

bool httpsig_rfc9421_covers(const httpsig_rfc9421_info_t *info, const char *component)
{
    size_t len = strlen(component);
    for (const char *p = strchr(info->components, '"'); p; p = strchr(p, '"')) {
        const char *end = strchr(p + 1, '"');
        if (!end) break;
        if ((size_t)(end - p - 1) == len && strncmp(p + 1, component, len) == 0) return true;
        p = end + 1;
    }
    return false;
}

char *httpsig_rfc9421_signature_base(const char *method, const char *target_uri,
                                     const httpsig_header_t *headers, size_t n, const char *signature_params,
                                     char *err, size_t errlen)
{
    if (!signature_params) {
        fail(err, errlen, "no signature parameters");
        return NULL;
    }
    sf_value_t *v = malloc(sizeof *v);
    strbuf_t base = STRBUF_INIT;
    char *out = NULL;
    sf_parser_t p = {signature_params, 0, strlen(signature_params)};
    if (!v) fail(err, errlen, "out of memory");
    else if (!sf_member_value(&p, v) || p.i != p.n || !v->is_list)
        fail(err, errlen, "the signature parameters are not an inner list");
    else if (rfc9421_base(method, target_uri, headers, n, v, &base, err, errlen) == 0)
        out = strbuf_detach(&base, NULL);
    strbuf_release(&base);
    free(v);
    return out;
}

int httpsig_rfc9421_sign_labelled(const char *label, const char *method, const char *target_uri,
                                  const httpsig_header_t *headers, size_t n, const char *components,
                                  const char *key_id, long long created, const unsigned char secret_key[64],
                                  char **signature_input, char **signature)
{
    *signature_input = *signature = NULL;
    if (!label || !key_id || !components || !sf_printable(key_id) || strlen(key_id) >= 512) return -1;
    char label_check[64];
    sf_parser_t lp = {label, 0, strlen(label)};
    if (!sf_key(&lp, label_check, sizeof label_check) || lp.i != lp.n) return -1;
    strbuf_t list = STRBUF_INIT, base = STRBUF_INIT, params = STRBUF_INIT;
    sf_value_t *v = malloc(sizeof *v);
    int rc = -1;
    if (!v) goto out;
    strbuf_addf(&list, "(%s)", components);
    if (list.failed) goto out;
    sf_parser_t p = {list.buf, 0, list.len};
    if (!sf_member_value(&p, v) || p.i != p.n || v->nparams != 0) goto out;
    sf_param_t *c = &v->params[v->nparams++];
    snprintf(c->key, sizeof c->key, "created");
    c->value.type = SF_INTEGER;
    c->value.integer = created;
    sf_param_t *k = &v->params[v->nparams++];
    snprintf(k->key, sizeof k->key, "keyid");
    k->value.type = SF_STRING;
    snprintf(k->value.text, sizeof k->value.text, "%s", key_id);
    char err[256];
    if (rfc9421_base(method, target_uri, headers, n, v, &base, err, sizeof err) != 0) goto out;
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)base.buf, base.len, secret_key);
    char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
    sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
    strbuf_addf(&params, "%s=", label);
    if (!serialize_signature_params(v, &params)) goto out;
    strbuf_t sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s=:%s:", label, b64);
    *signature = strbuf_detach(&sb, NULL);
    *signature_input = strbuf_detach(&params, NULL);
    if (!*signature || !*signature_input) {
        free(*signature);
        free(*signature_input);
        *signature = *signature_input = NULL;
        goto out;
    }
    rc = 0;
out:
    strbuf_release(&list);
    strbuf_release(&base);
    strbuf_release(&params);
    free(v);
    return rc;
}

int httpsig_rfc9421_sign(const char *method, const char *target_uri, const httpsig_header_t *headers, size_t n,
                         const char *components, const char *key_id, long long created,
                         const unsigned char secret_key[64], char **signature_input, char **signature)
{
    return httpsig_rfc9421_sign_labelled("sig1", method, target_uri, headers, n, components, key_id, created,
                                         secret_key, signature_input, signature);
}
