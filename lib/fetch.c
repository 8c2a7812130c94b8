/* fetch: outbound HTTP through libcurl with the limits untrusted servers
 * need (lib/fetch.h). The SSRF guard sits in CURLOPT_OPENSOCKETFUNCTION: it
 * sees every address curl is about to connect to, after DNS and for every
 * redirect hop, so a name that resolves to 10.0.0.1 is refused as surely as
 * the literal. Proxies are switched off (the address checked must be the
 * server's), and only http and https are spoken. */
#include "fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "peers.h"

#define FETCH_DEFAULT_TIMEOUT_MS 10000L
#define FETCH_DEFAULT_MAX_BYTES (1024u * 1024u)

static atomic_bool g_allow_private;
static char g_user_agent[256] = "Purposed/" PURPOSED_VERSION;
static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }

void fetch_configure(bool allow_private, const char *user_agent)
{
    pthread_once(&g_curl_once, curl_init_once);
    atomic_store(&g_allow_private, allow_private);
    if (user_agent && *user_agent) snprintf(g_user_agent, sizeof g_user_agent, "%s", user_agent);
}

/* ---- which addresses are public ---- */

static bool in4(uint32_t a, uint32_t net, int bits)
{
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    return (a & mask) == (net & mask);
}

/* a: host byte order */
static bool ipv4_public(uint32_t a)
{
    static const struct { uint32_t net; int bits; } blocked[] = {
        {0x00000000u, 8},  /* 0.0.0.0/8 "this network" */
        {0x0a000000u, 8},  /* 10/8 private */
        {0x64400000u, 10}, /* 100.64/10 shared (CGNAT) */
        {0x7f000000u, 8},  /* 127/8 loopback */
        {0xa9fe0000u, 16}, /* 169.254/16 link-local (cloud metadata) */
        {0xac100000u, 12}, /* 172.16/12 private */
        {0xc0000000u, 24}, /* 192.0.0/24 IETF protocol assignments */
        {0xc0000200u, 24}, /* 192.0.2/24 documentation (TEST-NET-1) */
        {0xc0586300u, 24}, /* 192.88.99/24 6to4 relay anycast (deprecated) */
        {0xc0a80000u, 16}, /* 192.168/16 private */
        {0xc6120000u, 15}, /* 198.18/15 benchmarking */
        {0xc6336400u, 24}, /* 198.51.100/24 documentation (TEST-NET-2) */
        {0xcb007100u, 24}, /* 203.0.113/24 documentation (TEST-NET-3) */
        {0xe0000000u, 4},  /* 224/4 multicast */
        {0xf0000000u, 4},  /* 240/4 reserved, and 255.255.255.255 broadcast */
    };
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
        if (in4(a, blocked[i].net, blocked[i].bits)) return false;
    return true;
}

static uint32_t be32(const unsigned char *b)
{
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static bool prefix6(const unsigned char *a, const unsigned char *net, int bits)
{
    int whole = bits / 8, rest = bits % 8;
    if (memcmp(a, net, (size_t)whole) != 0) return false;
    if (rest == 0) return true;
    unsigned char mask = (unsigned char)(0xff << (8 - rest));
    return (a[whole] & mask) == (net[whole] & mask);
}

static bool ipv6_public(const unsigned char *a)
{
    /* Forms that carry an IPv4 address are judged by it. */
    static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const unsigned char nat64[12] = {0x00, 0x64, 0xff, 0x9b}; /* 64:ff9b::/96 */
    if (memcmp(a, mapped, 12) == 0 || memcmp(a, nat64, 12) == 0) return ipv4_public(be32(a + 12));
    if (a[0] == 0x20 && a[1] == 0x02) return ipv4_public(be32(a + 2)); /* 6to4 2002::/16 */
    /* Everything else outside global unicast 2000::/3 is not public: ::,
     * ::1, IPv4-compatible ::/96, discard 100::/64, 64:ff9b:1::/48 local
     * NAT64, unique-local fc00::/7, link-local fe80::/10, site-local
     * fec0::/10, multicast ff00::/8. */
    if ((a[0] & 0xe0) != 0x20) return false;
    static const struct { unsigned char net[16]; int bits; } blocked[] = {
        {{0x20, 0x01, 0x00, 0x00}, 23}, /* 2001::/23 IETF protocol assignments (Teredo, ORCHID...) */
        {{0x20, 0x01, 0x0d, 0xb8}, 32}, /* 2001:db8::/32 documentation */
        {{0x3f, 0xff, 0x00, 0x00}, 20}, /* 3fff::/20 documentation (RFC 9637) */
    };
    for (size_t i = 0; i < sizeof blocked / sizeof blocked[0]; i++)
        if (prefix6(a, blocked[i].net, blocked[i].bits)) return false;
    return true;
}

bool fetch_address_is_public(const char *numeric_host)
{
    if (!numeric_host) return false;
    char text[INET6_ADDRSTRLEN + 2];
    size_t n = strlen(numeric_host);
    if (n >= 2 && numeric_host[0] == '[' && numeric_host[n - 1] == ']') {
        numeric_host++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof text) return false;
    memcpy(text, numeric_host, n);
    text[n] = '\0';
    unsigned char bytes[16];
    if (inet_pton(AF_INET, text, bytes) == 1) return ipv4_public(be32(bytes));
    if (inet_pton(AF_INET6, text, bytes) == 1) return ipv6_public(bytes);
    return false; /* not a numeric address (or a zone index, "fe80::1%eth0") */
}

static bool sockaddr_public(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ipv4_public(ntohl(((const struct sockaddr_in *)(const void *)sa)->sin_addr.s_addr));
    if (sa->sa_family == AF_INET6)
        return ipv6_public(((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr.s6_addr);
    return false;
}

/* ---- one transfer ---- */

typedef struct transfer {
    strbuf_t *body;
    size_t max_bytes;
    bool too_large;
    bool refused_address;
    char refused[INET6_ADDRSTRLEN];
} transfer_t;

static curl_socket_t open_checked_socket(void *userp, curlsocktype purpose, struct curl_sockaddr *a)
{
    transfer_t *t = userp;
    if (purpose != CURLSOCKTYPE_IPCXN) return CURL_SOCKET_BAD;
    if (!atomic_load(&g_allow_private) && !sockaddr_public(&a->addr)) {
        t->refused_address = true;
        const void *where = a->family == AF_INET6
                                ? (const void *)&((struct sockaddr_in6 *)(void *)&a->addr)->sin6_addr
                                : (const void *)&((struct sockaddr_in *)(void *)&a->addr)->sin_addr;
        if (!inet_ntop(a->family, where, t->refused, sizeof t->refused)) t->refused[0] = '\0';
        return CURL_SOCKET_BAD;
    }
    return socket(a->family, a->socktype, a->protocol);
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    transfer_t *t = userp;
    size_t n = size * nmemb;
    if (t->body->len + n > t->max_bytes) {
        t->too_large = true;
        return 0; /* aborts the transfer: CURLE_WRITE_ERROR */
    }
    strbuf_add(t->body, data, n);
    return t->body->failed ? 0 : n;
}

/* Every failure to get an answer is one problem: 502, "the remote server ...". */
static int remote_failed(problem_t *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int remote_failed(problem_t *p, const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return problem_fail(p, PROBLEM_BAD_GATEWAY, "%s", detail);
}

static bool http_url(const char *url)
{
    return strncasecmp(url, "http://", 7) == 0 || strncasecmp(url, "https://", 8) == 0;
}

int fetch(const fetch_request_t *req, fetch_response_t *out, problem_t *p)
{
    memset(out, 0, sizeof *out);
    strbuf_init(&out->body, 0);
    const char *url = req->url;
    if (!url || !http_url(url) || strpbrk(url, " \r\n\t"))
        return remote_failed(p, "The remote server's address %s is not an http:// or https:// URL.",
                             url ? url : "(none)");
    const char *method = req->method ? req->method : "GET";
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 && strcmp(method, "HEAD") != 0)
        return problem_fail(p, PROBLEM_INTERNAL, "fetch: unsupported method %s", method);
    char authority[PEERS_AUTHORITY_MAX];
    int retry_after = 0;
    if (req->per_instance && peers_authority(url, authority) &&
        !peers_fetch_take(authority, &retry_after)) {
        problem_fail(p, PROBLEM_TOO_MANY_REQUESTS,
                     "%s was asked for as many documents as a minute allows: try again later.",
                     authority);
        p->retry_after = retry_after;
        return problem_rc(p);
    }
    pthread_once(&g_curl_once, curl_init_once);

    CURL *c = curl_easy_init();
    if (!c) return problem_fail(p, PROBLEM_INTERNAL, "fetch: no curl handle");
    transfer_t t = {.body = &out->body, .max_bytes = req->max_bytes ? req->max_bytes : FETCH_DEFAULT_MAX_BYTES};
    long timeout_ms = req->timeout_ms > 0 ? req->timeout_ms : FETCH_DEFAULT_TIMEOUT_MS;
    struct curl_slist *headers = NULL;
    bool header_failed = false;
    for (const char *const *h = req->headers; h && *h; h++) {
        if (strpbrk(*h, "\r\n")) {
            header_failed = true;
            break;
        }
        struct curl_slist *more = curl_slist_append(headers, *h);
        if (!more) {
            header_failed = true;
            break;
        }
        headers = more;
    }
    if (!header_failed && strcmp(method, "POST") == 0) {
        /* no "Expect: 100-continue" wait before the body */
        struct curl_slist *more = curl_slist_append(headers, "Expect:");
        if (more) headers = more;
        else header_failed = true;
    }
    if (header_failed) {
        curl_slist_free_all(headers);
        curl_easy_cleanup(c);
        return problem_fail(p, PROBLEM_INTERNAL, "fetch: a request header could not be used");
    }

    char error[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* never through a proxy from the environment */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(c, CURLOPT_USERAGENT, g_user_agent);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETFUNCTION, open_checked_socket);
    curl_easy_setopt(c, CURLOPT_OPENSOCKETDATA, &t);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &t);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t.max_bytes);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, error);
    if (req->max_redirects > 0) {
        curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
        curl_easy_setopt(c, CURLOPT_MAXREDIRS, (long)req->max_redirects);
    }
    if (headers) curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
    if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
    } else if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    }

    CURLcode rc = curl_easy_perform(c);
    int result = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &out->status);
        char *ct = NULL;
        if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
            snprintf(out->content_type, sizeof out->content_type, "%s", ct);
        char *location = NULL;
        if (out->status >= 300 && out->status < 400 &&
            curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &location) == CURLE_OK && location)
            snprintf(out->location, sizeof out->location, "%s", location);
        if (out->body.failed) result = problem_fail(p, PROBLEM_INTERNAL, "fetch: out of memory");
        else strbuf_addstr(&out->body, ""); /* a NUL-terminated buffer even when empty */
    } else if (t.refused_address) {
        result = remote_failed(p, "The remote server %s is at a private or reserved address (%s); it is not fetched.",
                               url, t.refused);
    } else if (t.too_large || rc == CURLE_FILESIZE_EXCEEDED) {
        result = remote_failed(p, "The remote server %s answered with more than %zu bytes.", url, t.max_bytes);
    } else if (rc == CURLE_OPERATION_TIMEDOUT) {
        result = remote_failed(p, "The remote server %s did not answer within %ld ms.", url, timeout_ms);
    } else if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
        result = remote_failed(p, "The remote server's address %s is not a usable http:// or https:// URL%s.",
                               url, rc == CURLE_UNSUPPORTED_PROTOCOL ? " (a redirect to another scheme?)" : "");
    } else if (rc == CURLE_TOO_MANY_REDIRECTS) {
        result = remote_failed(p, "The remote server %s redirected too many times.", url);
    } else {
        result = remote_failed(p, "The remote server %s could not be reached: %s.", url,
                               error[0] ? error : curl_easy_strerror(rc));
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(c);
    if (result < 0) strbuf_release(&out->body);
    return result;
}

void fetch_response_free(fetch_response_t *out)
{
    if (!out) return;
    strbuf_release(&out->body);
}
