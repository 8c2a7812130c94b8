/* keys: the instance's signing keys and every signature it makes. Ed25519
 * (libsodium): one key signs at a time, made on first use and kept in
 * PostgreSQL (signing_keys, migration 0014), its seed sealed with
 * secretbox under KEYS_SECRET when one is configured; rotation retires it
 * and makes the next, and retired keys stay published so what they signed
 * still verifies. Also the encodings keys travel in: base58btc, multibase,
 * Multikey (publicKeyMultibase), did:web. */
#ifndef PURPOSED_KEYS_H
#define PURPOSED_KEYS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

#define KEYS_PUBLIC_BYTES 32
#define KEYS_SEED_BYTES 32
#define KEYS_SIGNATURE_BYTES 64
/* "z" + base58btc of 0xed01 and 32 bytes (48 characters), with room */
#define KEYS_MULTIBASE_MAX 128
/* "did:web:" + host[%3Aport][:path] */
#define KEYS_DID_MAX 600

/* The key that signs now: its row id ("key-<id>" in the did document),
 * public key and libsodium secret key. keys_signer_clear wipes it. */
typedef struct keys_signer {
    long long id;
    unsigned char public_key[KEYS_PUBLIC_BYTES];
    unsigned char secret_key[64];
} keys_signer_t;

/* KEYS_SECRET: "" stores new seeds as is; otherwise seeds are sealed under
 * a key derived from it (BLAKE2b), and ones stored as is are sealed by
 * keys_check. Call once before any other keys_ call on the database. */
void keys_configure(const char *secret);
/* Whether a KEYS_SECRET is configured. */
bool keys_encrypted(void);

/* The signing key, made and stored when there is none. 0, or negative with p set:
 * 503 when the database is away; 500 "keys-locked" when the stored seed is
 * sealed and KEYS_SECRET is missing or another. Uses this thread's
 * connection (lib/db.h). */
int keys_signer(keys_signer_t *out, problem_t *p);
/* Retire the signing key and make the next one (out: the new key). */
int keys_rotate(keys_signer_t *out, problem_t *p);
/* At start: the signing key is readable with this KEYS_SECRET (made when
 * there is none), and seeds stored as is are sealed when a secret is
 * configured. 0, or negative with p set. */
int keys_check(problem_t *p);
void keys_signer_clear(keys_signer_t *k);

/* The public key "key-<id>" names (retired or not): 1 found, 0 no such key,
 * negative with p set. retired is set to whether it was retired. */
int keys_public(long long id, unsigned char out[KEYS_PUBLIC_BYTES], bool *retired, problem_t *p);
/* Every key, newest first: [{id, public_key_multibase, created, retired|null}]
 * (the caller owns it), or NULL with p set. */
json_t *keys_published(problem_t *p);

/* Ed25519 over msg with the signer's key; verification with a public key. */
void keys_sign(const keys_signer_t *k, const unsigned char *msg, size_t len,
               unsigned char sig[KEYS_SIGNATURE_BYTES]);
bool keys_verify(const unsigned char pk[KEYS_PUBLIC_BYTES], const unsigned char *msg, size_t len,
                 const unsigned char sig[KEYS_SIGNATURE_BYTES]);
/* A seed as the signing keys' seeds are stored (other keys kept in the
 * database use it too: federation's actor keys): hex, sealed under
 * KEYS_SECRET when one is configured (*sealed says so). And back: false
 * with p set (500 keys-locked) when it cannot be opened. */
#define KEYS_STORED_SEED_MAX 160
void keys_seed_store(const unsigned char seed[KEYS_SEED_BYTES], char out[KEYS_STORED_SEED_MAX],
                     bool *sealed);
bool keys_seed_open(const char *stored, bool sealed, unsigned char seed[KEYS_SEED_BYTES],
                    problem_t *p);
/* The key pair of a 32-byte seed (test vectors, stored keys). */
void keys_from_seed(const unsigned char seed[KEYS_SEED_BYTES], keys_signer_t *out);

/* base58btc (Bitcoin alphabet). Encode: characters written (out gets a
 * NUL), 0 when cap is too small. Decode: bytes written, -PROBLEM_MALFORMED
 * when the text is not base58 or the bytes do not fit (-PROBLEM_INTERNAL
 * out of memory). */
size_t keys_base58_encode(const unsigned char *in, size_t n, char *out, size_t cap);
long keys_base58_decode(const char *in, unsigned char *out, size_t cap);
/* Multikey: "z" + base58btc(0xed 0x01 || public key); decode checks both. */
bool keys_multikey(const unsigned char pk[KEYS_PUBLIC_BYTES], char out[KEYS_MULTIBASE_MAX]);
bool keys_multikey_decode(const char *mb, unsigned char pk[KEYS_PUBLIC_BYTES]);

/* The did:web of an instance at base ("https://host[:port][/path]"): the
 * host, a port as %3A, path segments after ":". False when base is not an
 * http(s) URL or out is too small. */
bool keys_did_web(const char *base, char *out, size_t cap);
/* The did document of did: every published key as a Multikey
 * verification method "<did>#key-<id>", all of them assertion methods. */
json_t *keys_did_document(const char *did, const json_t *published);

#endif
