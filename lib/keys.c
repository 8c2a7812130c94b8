/* keys: Ed25519 signing keys in PostgreSQL, sealed at rest under KEYS_SECRET;
 * signatures; base58btc, Multikey and did:web. */
#include "keys.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

/* The secretbox key derived from KEYS_SECRET, and whether there is one. */
static unsigned char g_box_key[crypto_secretbox_KEYBYTES];
static bool g_box_configured;

#define SEALED_BYTES (crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + KEYS_SEED_BYTES)

void keys_configure(const char *secret)
{
    g_box_configured = secret && *secret;
    if (!g_box_configured) {
        sodium_memzero(g_box_key, sizeof g_box_key);
        return;
    }
    static const unsigned char context[] = "purposed signing keys v1";
    crypto_generichash(g_box_key, sizeof g_box_key, (const unsigned char *)secret, strlen(secret),
                       context, sizeof context - 1);
}

bool keys_encrypted(void) { return g_box_configured; }

void keys_signer_clear(keys_signer_t *k) { sodium_memzero(k, sizeof *k); }

void keys_from_seed(const unsigned char seed[KEYS_SEED_BYTES], keys_signer_t *out)
{
    crypto_sign_seed_keypair(out->public_key, out->secret_key, seed);
}

void keys_sign(const keys_signer_t *k, const unsigned char *msg, size_t len,
               unsigned char sig[KEYS_SIGNATURE_BYTES])
{
    crypto_sign_detached(sig, NULL, msg, len, k->secret_key);
}

bool keys_verify(const unsigned char pk[KEYS_PUBLIC_BYTES], const unsigned char *msg, size_t len,
                 const unsigned char sig[KEYS_SIGNATURE_BYTES])
{
    return crypto_sign_verify_detached(sig, msg, len, pk) == 0;
}

/* ---------- storage ---------- */

static db_stmt_t q_active = DB_STMT("keys_active", true,
    "SELECT id, encode(secret, 'hex'), encrypted FROM signing_keys WHERE retired_at IS NULL");
/* Made when there is none; a concurrent daemon's key wins the unique
 * index and this insert does nothing (the caller reads again). */
static db_stmt_t q_make = DB_STMT("keys_make", false,
    "INSERT INTO signing_keys (public_key, secret, encrypted)"
    " VALUES (decode($1, 'hex'), decode($2, 'hex'), $3::boolean) ON CONFLICT DO NOTHING");
static db_stmt_t q_retire = DB_STMT("keys_retire", false,
    "UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NULL");
static db_stmt_t q_unsealed = DB_STMT("keys_unsealed", false,
    "SELECT id, encode(secret, 'hex') FROM signing_keys WHERE NOT encrypted FOR UPDATE");
static db_stmt_t q_seal = DB_STMT("keys_seal", false,
    "UPDATE signing_keys SET secret = decode($2, 'hex'), encrypted = true"
    " WHERE id = $1::bigint AND NOT encrypted");
static db_stmt_t q_public = DB_STMT("keys_public", true,
    "SELECT encode(public_key, 'hex'), retired_at IS NOT NULL FROM signing_keys WHERE id = $1::bigint");
static db_stmt_t q_published = DB_STMT("keys_published", true,
    "SELECT id, encode(public_key, 'hex'), api_time(created_at), api_time(retired_at)"
    " FROM signing_keys ORDER BY id DESC");

/* The stored form of seed (hex, NUL-terminated): sealed when configured. */
static void store_form(const unsigned char seed[KEYS_SEED_BYTES], bool sealed, char *hex, size_t cap)
{
    if (!sealed) {
        sodium_bin2hex(hex, cap, seed, KEYS_SEED_BYTES);
        return;
    }
    unsigned char box[SEALED_BYTES];
    randombytes_buf(box, crypto_secretbox_NONCEBYTES);
    crypto_secretbox_easy(box + crypto_secretbox_NONCEBYTES, seed, KEYS_SEED_BYTES, box, g_box_key);
    sodium_bin2hex(hex, cap, box, sizeof box);
}

/* The seed from its stored form; false when it cannot be opened. */
static bool open_form(const char *hex, bool sealed, unsigned char seed[KEYS_SEED_BYTES], problem_t *p)
{
    unsigned char raw[SEALED_BYTES];
    size_t n = 0;
    if (sodium_hex2bin(raw, sizeof raw, hex, strlen(hex), NULL, &n, NULL) != 0 ||
        n != (sealed ? SEALED_BYTES : KEYS_SEED_BYTES)) {
        problem_fail(p, PROBLEM_KEYS_LOCKED, "The stored signing key is damaged.");
        return false;
    }
    if (!sealed) {
        memcpy(seed, raw, KEYS_SEED_BYTES);
        sodium_memzero(raw, sizeof raw);
        return true;
    }
    bool ok = g_box_configured &&
              crypto_secretbox_open_easy(seed, raw + crypto_secretbox_NONCEBYTES,
                                         n - crypto_secretbox_NONCEBYTES, raw, g_box_key) == 0;
    sodium_memzero(raw, sizeof raw);
    if (!ok)
        problem_fail(p, PROBLEM_KEYS_LOCKED,
                     g_box_configured ? "The signing key is sealed under another KEYS_SECRET."
                                      : "The signing key is sealed and KEYS_SECRET is not set.");
    return ok;
}

void keys_seed_store(const unsigned char seed[KEYS_SEED_BYTES], char out[KEYS_STORED_SEED_MAX],
                     bool *sealed)
{
    *sealed = g_box_configured;
    store_form(seed, g_box_configured, out, KEYS_STORED_SEED_MAX);
}

bool keys_seed_open(const char *stored, bool sealed, unsigned char seed[KEYS_SEED_BYTES],
                    problem_t *p)
{
    return open_form(stored, sealed, seed, p);
}

/* Insert a new key (the caller's transaction, if any); 0, or negative with p set. */
static int make_key(problem_t *p)
{
    unsigned char seed[KEYS_SEED_BYTES];
    keys_signer_t k;
    randombytes_buf(seed, sizeof seed);
    keys_from_seed(seed, &k);
    char pk_hex[KEYS_PUBLIC_BYTES * 2 + 1], secret_hex[SEALED_BYTES * 2 + 1];
    sodium_bin2hex(pk_hex, sizeof pk_hex, k.public_key, sizeof k.public_key);
    store_form(seed, g_box_configured, secret_hex, sizeof secret_hex);
    sodium_memzero(seed, sizeof seed);
    keys_signer_clear(&k);
    const char *params[3] = {pk_hex, secret_hex, db_bool(g_box_configured)};
    PGresult *res = db_exec(&q_make, 3, params, p);
    sodium_memzero(secret_hex, sizeof secret_hex);
    if (!res) return problem_rc(p);
    PQclear(res);
    return 0;
}

int keys_signer(keys_signer_t *out, problem_t *p)
{
    for (int attempt = 0; attempt < 3; attempt++) {
        PGresult *res = db_exec(&q_active, 0, NULL, p);
        if (!res) return problem_rc(p);
        if (PQntuples(res) == 1) {
            unsigned char seed[KEYS_SEED_BYTES];
            bool ok = open_form(PQgetvalue(res, 0, 1), strcmp(PQgetvalue(res, 0, 2), "t") == 0, seed, p);
            if (ok) {
                keys_from_seed(seed, out);
                out->id = atoll(PQgetvalue(res, 0, 0));
            }
            sodium_memzero(seed, sizeof seed);
            PQclear(res);
            return ok ? 0 : problem_rc(p);
        }
        PQclear(res);
        if (make_key(p) != 0) return problem_rc(p);
    }
    int rc = problem_fail(p, PROBLEM_UNAVAILABLE, "The signing key is not readable yet.");
    p->retry_after = 1;
    return rc;
}

int keys_rotate(keys_signer_t *out, problem_t *p)
{
    if (db_begin(p) != 0) return problem_rc(p);
    PGresult *res = db_exec(&q_retire, 0, NULL, p);
    if (!res) {
        db_rollback();
        return problem_rc(p);
    }
    PQclear(res);
    if (make_key(p) != 0 || db_commit(p) != 0) {
        db_rollback();
        return problem_rc(p);
    }
    return keys_signer(out, p);
}

int keys_check(problem_t *p)
{
    if (g_box_configured) {
        /* seal the seeds stored as is while there was no KEYS_SECRET */
        if (db_begin(p) != 0) return problem_rc(p);
        PGresult *res = db_exec(&q_unsealed, 0, NULL, p);
        if (!res) {
            db_rollback();
            return problem_rc(p);
        }
        for (int i = 0; i < PQntuples(res); i++) {
            unsigned char seed[KEYS_SEED_BYTES];
            if (!open_form(PQgetvalue(res, i, 1), false, seed, p)) {
                PQclear(res);
                db_rollback();
                return problem_rc(p);
            }
            char hex[SEALED_BYTES * 2 + 1];
            store_form(seed, true, hex, sizeof hex);
            sodium_memzero(seed, sizeof seed);
            const char *params[2] = {PQgetvalue(res, i, 0), hex};
            PGresult *u = db_exec(&q_seal, 2, params, p);
            if (!u) {
                PQclear(res);
                db_rollback();
                return problem_rc(p);
            }
            PQclear(u);
        }
        PQclear(res);
        if (db_commit(p) != 0) {
            db_rollback();
            return problem_rc(p);
        }
    }
    keys_signer_t k;
    int rc = keys_signer(&k, p);
    keys_signer_clear(&k);
    return rc;
}

int keys_public(long long id, unsigned char out[KEYS_PUBLIC_BYTES], bool *retired, problem_t *p)
{
    char id_text[24];
    snprintf(id_text, sizeof id_text, "%lld", id);
    const char *params[1] = {id_text};
    PGresult *res = db_exec(&q_public, 1, params, p);
    if (!res) return problem_rc(p);
    int found = PQntuples(res) == 1;
    if (found) {
        size_t n = 0;
        const char *hex = PQgetvalue(res, 0, 0);
        found = sodium_hex2bin(out, KEYS_PUBLIC_BYTES, hex, strlen(hex), NULL, &n, NULL) == 0 &&
                n == KEYS_PUBLIC_BYTES;
        if (retired) *retired = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
    }
    PQclear(res);
    return found;
}

json_t *keys_published(problem_t *p)
{
    PGresult *res = db_exec(&q_published, 0, NULL, p);
    if (!res) return NULL;
    json_t *list = json_array();
    for (int i = 0; list && i < PQntuples(res); i++) {
        unsigned char pk[KEYS_PUBLIC_BYTES];
        char mb[KEYS_MULTIBASE_MAX];
        size_t n = 0;
        const char *hex = PQgetvalue(res, i, 1);
        if (sodium_hex2bin(pk, sizeof pk, hex, strlen(hex), NULL, &n, NULL) != 0 || n != sizeof pk ||
            !keys_multikey(pk, mb))
            continue;
        json_array_append_new(list, json_pack("{s:I, s:s, s:s, s:o}", "id",
                                              (json_int_t)atoll(PQgetvalue(res, i, 0)),
                                              "public_key_multibase", mb, "created",
                                              PQgetvalue(res, i, 2), "retired",
                                              db_is_null(res, i, 3) ? json_null()
                                                                    : json_string(PQgetvalue(res, i, 3))));
    }
    PQclear(res);
    if (!list) problem_fail(p, PROBLEM_INTERNAL, "out of memory");
    return list;
}

/* ---------- encodings ---------- */

static const char k_base58[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

size_t keys_base58_encode(const unsigned char *in, size_t n, char *out, size_t cap)
{
    size_t zeros = 0;
    while (zeros < n && in[zeros] == 0) zeros++;
    /* log(256) / log(58) < 1.37: digits of the rest, base 58, little-endian */
    size_t size = (n - zeros) * 138 / 100 + 1;
    unsigned char *digits = calloc(size, 1);
    if (!digits) return 0;
    size_t used = 0;
    for (size_t i = zeros; i < n; i++) {
        unsigned carry = in[i];
        for (size_t j = 0; j < used; j++) {
            carry += (unsigned)digits[j] << 8;
            digits[j] = (unsigned char)(carry % 58);
            carry /= 58;
        }
        while (carry) {
            digits[used++] = (unsigned char)(carry % 58);
            carry /= 58;
        }
    }
    size_t len = zeros + used;
    if (len + 1 > cap) {
        free(digits);
        return 0;
    }
    for (size_t i = 0; i < zeros; i++) out[i] = '1';
    for (size_t i = 0; i < used; i++) out[zeros + i] = k_base58[digits[used - 1 - i]];
    out[len] = '\0';
    free(digits);
    return len;
}

long keys_base58_decode(const char *in, unsigned char *out, size_t cap)
{
    size_t n = strlen(in), zeros = 0;
    while (zeros < n && in[zeros] == '1') zeros++;
    unsigned char *bytes = calloc(n + 1, 1); /* little-endian; never longer than the text */
    if (!bytes) return -PROBLEM_INTERNAL;
    size_t used = 0;
    for (size_t i = zeros; i < n; i++) {
        const char *c = in[i] ? strchr(k_base58, in[i]) : NULL;
        if (!c) {
            free(bytes);
            return -PROBLEM_MALFORMED;
        }
        unsigned carry = (unsigned)(c - k_base58);
        for (size_t j = 0; j < used; j++) {
            carry += (unsigned)bytes[j] * 58;
            bytes[j] = (unsigned char)(carry & 0xff);
            carry >>= 8;
        }
        while (carry) {
            bytes[used++] = (unsigned char)(carry & 0xff);
            carry >>= 8;
        }
    }
    if (zeros + used > cap) {
        free(bytes);
        return -PROBLEM_MALFORMED;
    }
    memset(out, 0, zeros);
    for (size_t i = 0; i < used; i++) out[zeros + i] = bytes[used - 1 - i];
    free(bytes);
    return (long)(zeros + used);
}

bool keys_multikey(const unsigned char pk[KEYS_PUBLIC_BYTES], char out[KEYS_MULTIBASE_MAX])
{
    unsigned char prefixed[2 + KEYS_PUBLIC_BYTES] = {0xed, 0x01};
    memcpy(prefixed + 2, pk, KEYS_PUBLIC_BYTES);
    out[0] = 'z';
    return keys_base58_encode(prefixed, sizeof prefixed, out + 1, KEYS_MULTIBASE_MAX - 1) > 0;
}

bool keys_multikey_decode(const char *mb, unsigned char pk[KEYS_PUBLIC_BYTES])
{
    unsigned char raw[2 + KEYS_PUBLIC_BYTES + 1];
    if (!mb || mb[0] != 'z') return false;
    long n = keys_base58_decode(mb + 1, raw, sizeof raw);
    if (n != 2 + KEYS_PUBLIC_BYTES || raw[0] != 0xed || raw[1] != 0x01) return false;
    memcpy(pk, raw + 2, KEYS_PUBLIC_BYTES);
    return true;
}

bool keys_did_web(const char *base, char *out, size_t cap)
{
    const char *host = strncmp(base, "https://", 8) == 0 ? base + 8
                       : strncmp(base, "http://", 7) == 0 ? base + 7
                                                           : NULL;
    if (!host || !*host || *host == '/' || cap < 9) return false;
    size_t o = (size_t)snprintf(out, cap, "did:web:");
    bool in_path = false;
    for (const char *c = host; *c; c++) {
        const char *add;
        char one[2] = {*c, '\0'};
        if (*c == ':' && !in_path) add = "%3A";
        else if (*c == '/') {
            in_path = true;
            if (c[1] == '\0') break;
            add = ":";
        } else add = one;
        size_t n = strlen(add);
        if (o + n + 1 > cap) return false;
        memcpy(out + o, add, n + 1);
        o += n;
    }
    return true;
}

json_t *keys_did_document(const char *did, const json_t *published)
{
    json_t *methods = json_array(), *assertion = json_array();
    size_t i;
    const json_t *k;
    json_array_foreach(published, i, k) {
        char id[KEYS_DID_MAX + 32];
        snprintf(id, sizeof id, "%s#key-%" JSON_INTEGER_FORMAT, did,
                 json_integer_value(json_object_get(k, "id")));
        json_array_append_new(methods, json_pack("{s:s, s:s, s:s, s:O}", "id", id, "type", "Multikey",
                                                 "controller", did, "publicKeyMultibase",
                                                 json_object_get(k, "public_key_multibase")));
        json_array_append_new(assertion, json_string(id));
    }
    return json_pack("{s:[s,s], s:s, s:o, s:o}", "@context", "https://www.w3.org/ns/did/v1",
                     "https://w3id.org/security/multikey/v1", "id", did, "verificationMethod", methods,
                     "assertionMethod", assertion);
}
