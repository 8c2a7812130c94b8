/* bench/tokens.c: a deterministic pool of session tokens for the load scripts.
 * Prints "token<TAB>\x<hex BLAKE2b-256 of the raw token>" per line, as the daemon
 * (lib/auth.c) stores them; PostgreSQL has no BLAKE2b, so the generator COPYs this.
 * usage: tokens SEED COUNT     build: cc -O2 -o tokens bench/tokens.c -lsodium */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s SEED COUNT\n", argv[0]);
        return 2;
    }
    char *end = NULL;
    long long seed = strtoll(argv[1], &end, 10);
    if (*end != '\0') return 2;
    long count = strtol(argv[2], &end, 10);
    if (*end != '\0' || count < 0 || count > 10000000) return 2;
    if (sodium_init() < 0) return 1;
    for (long i = 0; i < count; i++) {
        char label[64];
        int n = snprintf(label, sizeof label, "purposed-bench-token:%lld:%ld", seed, i);
        unsigned char raw[32], hash[32];
        crypto_generichash(raw, sizeof raw, (const unsigned char *)label, (size_t)n, NULL, 0);
        crypto_generichash(hash, sizeof hash, raw, sizeof raw, NULL, 0);
        char token[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_URLSAFE_NO_PADDING)];
        char hex[65];
        sodium_bin2base64(token, sizeof token, raw, sizeof raw, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
        sodium_bin2hex(hex, sizeof hex, hash, sizeof hash);
        printf("%s\t\\\\x%s\n", token, hex);
    }
    return fflush(stdout) == 0 ? 0 : 1;
}
