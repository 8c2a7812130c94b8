/* integrity: W3C Data Integrity proofs with the eddsa-jcs-2022 cryptosuite
 * (vc-di-eddsa): the proof configuration and the document without its proof
 * are canonicalised with JCS (lib/jcs.h), hashed with SHA-256 each, and the
 * two hashes (configuration first) signed with Ed25519 (lib/keys.h);
 * proofValue is the signature in multibase base58btc. */
#ifndef PURPOSED_INTEGRITY_H
#define PURPOSED_INTEGRITY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "keys.h"

#define INTEGRITY_CRYPTOSUITE "eddsa-jcs-2022"
#define INTEGRITY_HASH_BYTES 64

/* The bytes eddsa-jcs-2022 signs: SHA-256(JCS(proof_config)) ||
 * SHA-256(JCS(unsecured)). False with err set when either cannot be
 * canonicalised. */
bool integrity_hash_data(const json_t *unsecured, const json_t *proof_config,
                         unsigned char out[INTEGRITY_HASH_BYTES], char *err, size_t cap);
/* Add a "proof" to doc (which has none): an assertionMethod
 * DataIntegrityProof made now by k, naming verification_method and created
 * (an RFC 3339 time), with doc's @context. False with err set. */
bool integrity_add_proof(json_t *doc, const keys_signer_t *k, const char *verification_method,
                         const char *created, char *err, size_t cap);
/* The proof of secured when it is one this module can check (a single
 * DataIntegrityProof object, eddsa-jcs-2022, assertionMethod, a
 * verificationMethod string); NULL with why set otherwise. */
const json_t *integrity_proof(const json_t *secured, char *why, size_t cap);
/* Whether secured's proof is a good signature by public key pk over the
 * document as it is. why says what failed. */
bool integrity_verify(const json_t *secured, const unsigned char pk[KEYS_PUBLIC_BYTES], char *why,
                      size_t cap);

#endif
