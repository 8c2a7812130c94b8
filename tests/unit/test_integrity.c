/* Unit tests for lib/integrity and lib/keys against the eddsa-jcs-2022 test
 * vector of the W3C vc-di-eddsa specification (TestVectors/keyPair.json,
 * unsigned.json and eddsa-jcs-2022/): the published key pair, the document
 * signed with the published proof options must give the published combined
 * hash and proofValue exactly; the signed document verifies, and one changed
 * byte does not. Also base58btc, Multikey and did:web. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <sodium.h>

#include "integrity.h"
#include "keys.h"

#define VECTOR_PUBLIC "z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2"
#define VECTOR_PRIVATE "z3u2en7t5LR2WtQH5PfFqMqwVHBeXouLzo6haApm8XHqvjxq"
#define VECTOR_METHOD "did:key:" VECTOR_PUBLIC "#" VECTOR_PUBLIC
#define VECTOR_CREATED "2023-02-24T23:36:38Z"
#define VECTOR_COMBINED_HASH                                                      \
    "66ab154f5c2890a140cb8388a22a160454f80575f6eae09e5a097cabe539a1db"            \
    "59b7cb6251b8991add1ce0bc83107e3db9dbbab5bd2c28f687db1a03abc92f19"
#define VECTOR_PROOF_VALUE \
    "z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aX"

static const char k_unsigned[] =
    "{\"@context\": [\"https://www.w3.org/ns/credentials/v2\","
    "  \"https://www.w3.org/ns/credentials/examples/v2\"],"
    " \"id\": \"urn:uuid:58172aac-d8ba-11ed-83dd-0b3aef56cc33\","
    " \"type\": [\"VerifiableCredential\", \"AlumniCredential\"],"
    " \"name\": \"Alumni Credential\","
    " \"description\": \"A minimum viable example of an Alumni Credential.\","
    " \"issuer\": \"https://vc.example/issuers/5678\","
    " \"validFrom\": \"2023-01-01T00:00:00Z\","
    " \"credentialSubject\": {\"id\": \"did:example:abcdefgh\","
    "   \"alumniOf\": \"The School of Examples\"}}";

/* The vector's key: privateKeyMultibase is 0x8026 (ed25519-priv) + seed. */
static void vector_key(keys_signer_t *k)
{
    unsigned char raw[40];
    assert_int_equal(keys_base58_decode(VECTOR_PRIVATE + 1, raw, sizeof raw), 34);
    assert_int_equal(raw[0], 0x80);
    assert_int_equal(raw[1], 0x26);
    keys_from_seed(raw + 2, k);
    char mb[KEYS_MULTIBASE_MAX];
    assert_true(keys_multikey(k->public_key, mb));
    assert_string_equal(mb, VECTOR_PUBLIC);
    unsigned char back[KEYS_PUBLIC_BYTES];
    assert_true(keys_multikey_decode(mb, back));
    assert_memory_equal(back, k->public_key, sizeof back);
}

static void test_vector_signs_exactly(void **state)
{
    (void)state;
    keys_signer_t k;
    vector_key(&k);
    json_t *doc = json_loads(k_unsigned, 0, NULL);
    assert_non_null(doc);

    /* the combined hash of the published proof options and document */
    json_t *config = json_pack("{s:s, s:s, s:s, s:s, s:s, s:O}", "type", "DataIntegrityProof",
                               "cryptosuite", "eddsa-jcs-2022", "created", VECTOR_CREATED,
                               "verificationMethod", VECTOR_METHOD, "proofPurpose", "assertionMethod",
                               "@context", json_object_get(doc, "@context"));
    unsigned char data[INTEGRITY_HASH_BYTES];
    char err[128], hex[INTEGRITY_HASH_BYTES * 2 + 1];
    assert_true(integrity_hash_data(doc, config, data, err, sizeof err));
    sodium_bin2hex(hex, sizeof hex, data, sizeof data);
    assert_string_equal(hex, VECTOR_COMBINED_HASH);
    json_decref(config);

    assert_true(integrity_add_proof(doc, &k, VECTOR_METHOD, VECTOR_CREATED, err, sizeof err));
    const json_t *proof = json_object_get(doc, "proof");
    assert_string_equal(json_string_value(json_object_get(proof, "proofValue")), VECTOR_PROOF_VALUE);
    assert_string_equal(json_string_value(json_object_get(proof, "cryptosuite")), "eddsa-jcs-2022");

    char why[128];
    assert_true(integrity_verify(doc, k.public_key, why, sizeof why));

    /* one changed byte in the document, in the proof options, in the signature */
    json_object_set_new(json_object_get(doc, "credentialSubject"), "alumniOf",
                        json_string("The School of Examplez"));
    assert_false(integrity_verify(doc, k.public_key, why, sizeof why));
    assert_string_equal(why, "the signature does not match the document");
    json_object_set_new(json_object_get(doc, "credentialSubject"), "alumniOf",
                        json_string("The School of Examples"));
    assert_true(integrity_verify(doc, k.public_key, why, sizeof why));
    json_object_set_new((json_t *)proof, "created", json_string("2023-02-24T23:36:39Z"));
    assert_false(integrity_verify(doc, k.public_key, why, sizeof why));
    json_object_set_new((json_t *)proof, "created", json_string(VECTOR_CREATED));
    json_object_set_new((json_t *)proof, "proofValue", json_string("z2HnFSSPPBzR36zdDgK8PbEHeXbR56YF24jwMpt3R1eHXQzJDMWS93FCzpvJpwTWd3GAVFuUfjoJdcnTMuVor51aY"));
    assert_false(integrity_verify(doc, k.public_key, why, sizeof why));

    /* another key */
    keys_signer_t other;
    unsigned char seed[KEYS_SEED_BYTES] = {1};
    keys_from_seed(seed, &other);
    json_object_set_new((json_t *)proof, "proofValue", json_string(VECTOR_PROOF_VALUE));
    assert_true(integrity_verify(doc, k.public_key, why, sizeof why));
    assert_false(integrity_verify(doc, other.public_key, why, sizeof why));

    /* not a proof this suite checks */
    json_object_set_new((json_t *)proof, "cryptosuite", json_string("eddsa-rdfc-2022"));
    assert_false(integrity_verify(doc, k.public_key, why, sizeof why));
    assert_non_null(strstr(why, "cryptosuite"));
    json_decref(doc);
}

static void test_base58(void **state)
{
    (void)state;
    /* leading zero bytes are '1's; "Hello World!" is the classic example */
    char out[64];
    const unsigned char hello[] = "Hello World!";
    assert_int_equal(keys_base58_encode(hello, 12, out, sizeof out), 17);
    assert_string_equal(out, "2NEpo7TZRRrLZSi2U");
    unsigned char zeros[3] = {0, 0, 1};
    keys_base58_encode(zeros, 3, out, sizeof out);
    assert_string_equal(out, "112");
    unsigned char back[8];
    assert_int_equal(keys_base58_decode("112", back, sizeof back), 3);
    assert_memory_equal(back, zeros, 3);
    assert_int_equal(keys_base58_decode("0OIl", back, sizeof back), -PROBLEM_MALFORMED);
    assert_int_equal(keys_base58_encode(hello, 12, out, 5), 0);
}

static void test_did_web(void **state)
{
    (void)state;
    char did[KEYS_DID_MAX];
    assert_true(keys_did_web("https://purposed.example", did, sizeof did));
    assert_string_equal(did, "did:web:purposed.example");
    assert_true(keys_did_web("http://127.0.0.1:8520", did, sizeof did));
    assert_string_equal(did, "did:web:127.0.0.1%3A8520");
    assert_true(keys_did_web("https://example.org/purpose/x", did, sizeof did));
    assert_string_equal(did, "did:web:example.org:purpose:x");
    assert_false(keys_did_web("ftp://example.org", did, sizeof did));
    assert_false(keys_did_web("https://", did, sizeof did));

    json_t *published = json_pack("[{s:i, s:s}, {s:i, s:s}]", "id", 2, "public_key_multibase", "zB",
                                  "id", 1, "public_key_multibase", "zA");
    json_t *doc = keys_did_document("did:web:x.example", published);
    assert_string_equal(json_string_value(json_object_get(doc, "id")), "did:web:x.example");
    json_t *vm = json_array_get(json_object_get(doc, "verificationMethod"), 1);
    assert_string_equal(json_string_value(json_object_get(vm, "id")), "did:web:x.example#key-1");
    assert_string_equal(json_string_value(json_object_get(vm, "type")), "Multikey");
    assert_string_equal(json_string_value(json_object_get(vm, "publicKeyMultibase")), "zA");
    assert_int_equal(json_array_size(json_object_get(doc, "assertionMethod")), 2);
    json_decref(doc);
    json_decref(published);
}

int main(void)
{
    if (sodium_init() < 0) return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vector_signs_exactly),
        cmocka_unit_test(test_base58),
        cmocka_unit_test(test_did_web),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
