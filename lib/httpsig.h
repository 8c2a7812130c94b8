/* httpsig: signing and verifying HTTP requests between instances
 * (federation). Two schemes:
 *  - draft-cavage-http-signatures-12 with rsa-sha256, which Mastodon and most
 *    ActivityPub servers require: RSA PKCS#1 v1.5 over SHA-256 needs
 *    OpenSSL's libcrypto (libsodium has no RSA); keys travel as PEM
 *    (publicKeyPem). With it, the Digest header (RFC 3230, SHA-256).
 *  - RFC 9421 HTTP Message Signatures with Ed25519 (libsodium), accepted when
 *    a sender uses them (Signature-Input + Signature, with Content-Digest).
 * Pure functions: no database, no network; the caller fetches keys. */
#ifndef PURPOSED_HTTPSIG_H
#define PURPOSED_HTTPSIG_H

#include <stdbool.h>
#include <stddef.h>

/* One request header as received or to be sent; names compare
 * case-insensitively. */
typedef struct httpsig_header {
    const char *name;
    const char *value;
} httpsig_header_t;

/* A new RSA-2048 key pair as PEM text (SubjectPublicKeyInfo "PUBLIC KEY" and
 * PKCS#8 "PRIVATE KEY"), malloc'd. 0 or -1. */
int httpsig_rsa_generate(char **public_pem, char **private_pem);

/* "SHA-256=<base64>" of body (Digest, RFC 3230) into out (>= 60 bytes). */
void httpsig_digest(const void *body, size_t len, char *out, size_t cap);
/* "sha-256=:<base64>:" (Content-Digest, RFC 9530) into out (>= 60 bytes). */
void httpsig_content_digest(const void *body, size_t len, char *out, size_t cap);

/* draft-cavage: sign method + path over the listed headers (names
 * lower-case, space-separated, "(request-target)" allowed, e.g.
 * "(request-target) host date digest"), taking values from headers[0..n).
 * Returns the malloc'd Signature header value
 * (keyId="...",algorithm="rsa-sha256",headers="...",signature="..."), or NULL. */
char *httpsig_cavage_sign(const char *method, const char *path,
                          const httpsig_header_t *headers, size_t n,
                          const char *signed_names, const char *key_id,
                          const char *private_pem);

/* The parsed Signature header of a draft-cavage request. */
typedef struct httpsig_cavage {
    char key_id[1024];
    char algorithm[64];     /* "" when absent (then hs2019 / rsa-sha256 is assumed) */
    char headers[512];      /* default "date" when absent */
    unsigned char signature[1024];
    size_t signature_len;
    long long created, expires;  /* 0 when absent */
} httpsig_cavage_t;

/* Parse a Signature header value. 0, or -1 (malformed: err says what). */
int httpsig_cavage_parse(const char *value, httpsig_cavage_t *out, char *err, size_t errlen);
/* Verify a parsed signature against the request with the sender's public
 * key PEM: 0 valid, -1 not (err says why: a signed header missing, bad
 * signature, unsupported algorithm, bad key). Checking Date's window and the
 * Digest against the body is the caller's (httpsig_digest). */
int httpsig_cavage_verify(const httpsig_cavage_t *sig, const char *method, const char *path,
                          const httpsig_header_t *headers, size_t n,
                          const char *public_pem, char *err, size_t errlen);

/* Whether the parsed signature covers `name` (a lower-case header name or
 * "(request-target)"): the caller's policy, e.g. digest on a POST. */
bool httpsig_cavage_covers(const httpsig_cavage_t *sig, const char *name);

/* RFC 9421 with ed25519: verify the signature labelled `label` (NULL: the
 * first) in Signature-Input/Signature of the request, with the 32-byte
 * public key. key_id_out receives its keyid parameter (for the caller to
 * find the key first: call with public_key NULL to only parse, returning 0
 * when it parsed). Covered components supported: "@method", "@target-uri",
 * "@authority", "@path", "@query", "@request-target" and header fields.
 * 0 valid, -1 not (err says why). target_uri is the full request URI. */
int httpsig_rfc9421_verify(const char *method, const char *target_uri,
                           const httpsig_header_t *headers, size_t n,
                           const char *label, const unsigned char *public_key,
                           char *key_id_out, size_t key_id_cap,
                           char *err, size_t errlen);
/* The same with the sender's public key as PEM (SubjectPublicKeyInfo), as
 * actors publish it: RSA (rsa-v1_5-sha256, what Fedify-based servers send
 * first; 2048 bits or more) or Ed25519 (ed25519). public_pem NULL: only
 * parse, as above. */
int httpsig_rfc9421_verify_pem(const char *method, const char *target_uri,
                               const httpsig_header_t *headers, size_t n,
                               const char *label, const char *public_pem,
                               char *key_id_out, size_t key_id_cap,
                               char *err, size_t errlen);
/* What a Signature-Input member says, for the caller's policy before or
 * after verifying: whether the body (content-digest) and a time (date, or
 * created within a window) are covered. */
typedef struct httpsig_rfc9421_info {
    char label[64];
    char key_id[1024];        /* "" when absent */
    char alg[64];             /* "" when absent */
    long long created, expires;  /* 0 when absent */
    char components[1024];    /* the covered components, e.g. "\"@method\" \"date\"" */
} httpsig_rfc9421_info_t;
/* The member `label` (NULL: the first) of Signature-Input. 0, or -1 (err). */
int httpsig_rfc9421_info(const httpsig_header_t *headers, size_t n, const char *label,
                         httpsig_rfc9421_info_t *out, char *err, size_t errlen);
/* Whether `component` ("content-digest", "@method"...) is covered. */
bool httpsig_rfc9421_covers(const httpsig_rfc9421_info_t *info, const char *component);
/* RFC 9421 with ed25519: sign the listed components (e.g. "\"@method\"
 * \"@target-uri\" \"content-digest\""), created now; writes malloc'd
 * Signature-Input and Signature header values. 0 or -1. */
int httpsig_rfc9421_sign(const char *method, const char *target_uri,
                         const httpsig_header_t *headers, size_t n,
                         const char *components, const char *key_id, long long created,
                         const unsigned char secret_key[64],
                         char **signature_input, char **signature);
/* The RFC 9421 signature base (RFC 9421 2.5) of the request for one
 * Signature-Input member value, e.g. ("@method" "date");created=1;keyid="k":
 * the exact bytes signed, for tests and for saying why a signature failed.
 * Malloc'd, or NULL (err says why). */
char *httpsig_rfc9421_signature_base(const char *method, const char *target_uri,
                                     const httpsig_header_t *headers, size_t n, const char *signature_params,
                                     char *err, size_t errlen);
/* The same under another label than "sig1" (a dictionary key: lower case). */
int httpsig_rfc9421_sign_labelled(const char *label, const char *method, const char *target_uri,
                                  const httpsig_header_t *headers, size_t n, const char *components,
                                  const char *key_id, long long created, const unsigned char secret_key[64],
                                  char **signature_input, char **signature);

#endif
