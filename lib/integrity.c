/* integrity: eddsa-jcs-2022 Data Integrity proofs over jansson documents. */
#include "integrity.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jcs.h"

static bool sha256_jcs(const json_t *v, unsigned char out[32], char *err, size_t cap)
{
    size_t len = 0;
    char *text = jcs_serialize(v, &len, err, cap);
    if (!text) return false;
    crypto_hash_sha256(out, (const unsigned char *)text, len);
    free(text);
    return true;
}

bool integrity_hash_data(const json_t *unsecured, const json_t *proof_config,
                         unsigned char out[INTEGRITY_HASH_BYTES], char *err, size_t cap)
{
    return sha256_jcs(proof_config, out, err, cap) && sha256_jcs(unsecured, out + 32, err, cap);
}

bool integrity_add_proof(json_t *doc, const keys_signer_t *k, const char *verification_method,
                         const char *created, char *err, size_t cap)
{
    json_t *proof = json_pack("{s:s, s:s, s:s, s:s, s:s}", "type", "DataIntegrityProof",
                              "cryptosuite", INTEGRITY_CRYPTOSUITE, "created", created,
                              "verificationMethod", verification_method, "proofPurpose",
                              "assertionMethod");
    if (!proof) {
        snprintf(err, cap, "out of memory");
        return false;
    }
    json_t *context = json_object_get(doc, "@context");
    if (context) json_object_set(proof, "@context", context);
    unsigned char data[INTEGRITY_HASH_BYTES], sig[KEYS_SIGNATURE_BYTES];
    if (!integrity_hash_data(doc, proof, data, err, cap)) {
        json_decref(proof);
        return false;
    }
    keys_sign(k, data, sizeof data, sig);
    char value[KEYS_SIGNATURE_BYTES * 2] = "z";
    if (!keys_base58_encode(sig, sizeof sig, value + 1, sizeof value - 1)) {
        json_decref(proof);
        snprintf(err, cap, "signature encoding");
        return false;
    }
    json_object_set_new(proof, "proofValue", json_string(value));
    return json_object_set_new(doc, "proof", proof) == 0;
}

const json_t *integrity_proof(const json_t *secured, char *why, size_t cap)
{
    const json_t *proof = json_object_get(secured, "proof");
    const char *problem =
        !json_is_object(secured)                                          ? "the credential is not a JSON object"
        : !proof                                                          ? "there is no proof"
        : !json_is_object(proof)                                          ? "the proof is not one object"
        : !json_is_string(json_object_get(proof, "type")) ||
                strcmp(json_string_value(json_object_get(proof, "type")), "DataIntegrityProof") != 0
            ? "the proof is not a DataIntegrityProof"
        : !json_is_string(json_object_get(proof, "cryptosuite")) ||
                strcmp(json_string_value(json_object_get(proof, "cryptosuite")), INTEGRITY_CRYPTOSUITE) != 0
            ? "the cryptosuite is not " INTEGRITY_CRYPTOSUITE
        : !json_is_string(json_object_get(proof, "proofPurpose")) ||
                strcmp(json_string_value(json_object_get(proof, "proofPurpose")), "assertionMethod") != 0
            ? "the proof purpose is not assertionMethod"
        : !json_is_string(json_object_get(proof, "verificationMethod"))  ? "the proof names no verification method"
        : !json_is_string(json_object_get(proof, "proofValue"))          ? "the proof has no proofValue"
                                                                          : NULL;
    if (problem) {
        snprintf(why, cap, "%s", problem);
        return NULL;
    }
    return proof;
}

bool integrity_verify(const json_t *secured, const unsigned char pk[KEYS_PUBLIC_BYTES], char *why,
                      size_t cap)
{
    const json_t *proof = integrity_proof(secured, why, cap);
    if (!proof) return false;
    /* the proof's @context, when present, is the document's */
    const json_t *proof_context = json_object_get(proof, "@context");
    if (proof_context && !json_equal(proof_context, json_object_get(secured, "@context"))) {
        snprintf(why, cap, "the proof's @context is not the document's");
        return false;
    }
    const char *value = json_string_value(json_object_get(proof, "proofValue"));
    unsigned char sig[KEYS_SIGNATURE_BYTES + 1];
    if (value[0] != 'z' || keys_base58_decode(value + 1, sig, sizeof sig) != KEYS_SIGNATURE_BYTES) {
        snprintf(why, cap, "the proofValue is not a base58btc Ed25519 signature");
        return false;
    }
    json_t *unsecured = json_deep_copy(secured), *config = json_deep_copy(proof);
    bool ok = unsecured && config;
    unsigned char data[INTEGRITY_HASH_BYTES];
    if (ok) {
        json_object_del(unsecured, "proof");
        json_object_del(config, "proofValue");
        ok = integrity_hash_data(unsecured, config, data, why, cap);
    } else {
        snprintf(why, cap, "out of memory");
    }
    json_decref(unsecured);
    json_decref(config);
    if (!ok) return false;
    if (!keys_verify(pk, data, sizeof data, sig)) {
        snprintf(why, cap, "the signature does not match the document");
        return false;
    }
    return true;
}
