/* auth: libsodium-based credentials and tokens. */
#include "auth.h"

#include <ctype.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

static unsigned long long g_ops = crypto_pwhash_OPSLIMIT_INTERACTIVE;
static size_t g_mem = crypto_pwhash_MEMLIMIT_INTERACTIVE;
static char g_dummy[crypto_pwhash_STRBYTES];
static pthread_once_t g_dummy_once = PTHREAD_ONCE_INIT;

void auth_configure(unsigned long long opslimit, size_t memlimit)
{
    g_ops = opslimit;
    g_mem = memlimit;
}

int auth_password_hash(const char *password, char *out)
{
    if (crypto_pwhash_str(out, password, strlen(password), g_ops, g_mem) != 0)
        return -PROBLEM_UNAVAILABLE;
    return 0;
}

bool auth_password_verify(const char *hash, const char *password)
{
    return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

bool auth_password_needs_rehash(const char *hash)
{
    return crypto_pwhash_str_needs_rehash(hash, g_ops, g_mem) != 0;
}

static void make_dummy(void)
{
    if (crypto_pwhash_str(g_dummy, "purposed-dummy-password", 23, g_ops, g_mem) != 0)
        g_dummy[0] = '\0';
}

void auth_password_burn(const char *password)
{
    pthread_once(&g_dummy_once, make_dummy);
    if (g_dummy[0]) {
        volatile int ignored = crypto_pwhash_str_verify(g_dummy, password, strlen(password));
        (void)ignored;
    }
}

void auth_token_new(char out[AUTH_TOKEN_TEXT])
{
    unsigned char raw[AUTH_TOKEN_BYTES];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2base64(out, AUTH_TOKEN_TEXT, raw, sizeof raw,
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    sodium_memzero(raw, sizeof raw);
}

int auth_token_hash(const char *token, char out[AUTH_HASH_HEX])
{
    unsigned char raw[AUTH_TOKEN_BYTES + 4];
    size_t len = 0;
    if (!token || strlen(token) != AUTH_TOKEN_TEXT - 1) return -PROBLEM_UNAUTHORISED;
    if (sodium_base642bin(raw, sizeof raw, token, strlen(token), NULL, &len, NULL,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        len != AUTH_TOKEN_BYTES)
        return -PROBLEM_UNAUTHORISED;
    unsigned char h[32];
    crypto_generichash(h, sizeof h, raw, len, NULL, 0);
    out[0] = '\\';
    out[1] = 'x';
    sodium_bin2hex(out + 2, AUTH_HASH_HEX - 2, h, sizeof h);
    return 0;
}

void auth_csrf_new(char out[AUTH_CSRF_TEXT])
{
    unsigned char raw[32];
    randombytes_buf(raw, sizeof raw);
    sodium_bin2hex(out, AUTH_CSRF_TEXT, raw, sizeof raw);
}

bool auth_csrf_equal(const char *expected, const char *given)
{
    if (!expected || !given) return false;
    size_t n = strlen(expected);
    if (n == 0 || strlen(given) != n) return false;
    return sodium_memcmp(expected, given, n) == 0;
}

int auth_cookie_value(const char *cookie_header, const char *name, char *out, size_t cap)
{
    if (!cookie_header) return -PROBLEM_UNAUTHORISED;
    size_t nlen = strlen(name);
    const char *p = cookie_header;
    while (*p) {
        while (*p == ' ' || *p == ';') p++;
        const char *eq = strchr(p, '=');
        const char *end = strchr(p, ';');
        if (!end) end = p + strlen(p);
        if (eq && eq < end && (size_t)(eq - p) == nlen && strncmp(p, name, nlen) == 0) {
            size_t vlen = (size_t)(end - eq - 1);
            if (vlen + 1 > cap) return -PROBLEM_UNAUTHORISED;
            memcpy(out, eq + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = end;
    }
    return -PROBLEM_UNAUTHORISED;
}

/* Does s contain the lowercase ASCII word w, ignoring ASCII case? */
static bool contains_word(const char *s, const char *w)
{
    size_t n = strlen(w);
    for (; *s; s++) {
        size_t i = 0;
        while (i < n && s[i] && tolower((unsigned char)s[i]) == w[i]) i++;
        if (i == n) return true;
    }
    return false;
}

bool auth_secret_field(const char *name)
{
    static const char *const fragments[] = {"password", "passphrase", "secret", "token", NULL};
    if (!name) return false;
    for (const char *const *f = fragments; *f; f++)
        if (contains_word(name, *f)) return true;
    return false;
}
