/* Unit tests for lib/fetch: which addresses are public (every refused range,
 * IPv6 forms, IPv4 carried in IPv6), and real transfers against a tiny HTTP
 * server on a thread of this test (127.0.0.1): a 200, the size limit (with
 * and without Content-Length), the timeout, a redirect not followed unless
 * asked, other schemes refused, and loopback refused unless allowed. */
#define _GNU_SOURCE /* strcasestr */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"

/* ---- fetch_address_is_public ---- */

static void public_ipv4(void **state)
{
    const char *public_ones[] = {"8.8.8.8", "1.1.1.1", "93.184.216.34", "9.255.255.255", "11.0.0.0",
                                 "100.63.255.255", "100.128.0.0", "126.255.255.255", "128.0.0.0",
                                 "169.253.255.255", "169.255.0.0", "172.15.255.255", "172.32.0.0",
                                 "192.0.1.0", "192.0.3.0", "192.88.98.255", "192.167.255.255",
                                 "192.169.0.0", "198.17.255.255", "198.20.0.0", "198.51.99.255",
                                 "203.0.112.255", "223.255.255.255"};
    for (size_t i = 0; i < sizeof public_ones / sizeof *public_ones; i++) {
        if (!fetch_address_is_public(public_ones[i])) fail_msg("%s should be public", public_ones[i]);
    }
    const char *refused[] = {"0.0.0.0", "0.255.255.255",          /* this network */
                             "10.0.0.0", "10.255.255.255",         /* private */
                             "100.64.0.0", "100.127.255.255",      /* CGNAT */
                             "127.0.0.1", "127.255.255.254",       /* loopback */
                             "169.254.0.1", "169.254.169.254",     /* link-local, cloud metadata */
                             "172.16.0.0", "172.31.255.255",       /* private */
                             "192.0.0.1", "192.0.0.255",           /* IETF protocol assignments */
                             "192.0.2.1",                          /* TEST-NET-1 */
                             "192.88.99.1",                        /* 6to4 relay anycast */
                             "192.168.0.1", "192.168.255.255",     /* private */
                             "198.18.0.1", "198.19.255.255",       /* benchmarking */
                             "198.51.100.7",                       /* TEST-NET-2 */
                             "203.0.113.9",                        /* TEST-NET-3 */
                             "224.0.0.1", "239.255.255.255",       /* multicast */
                             "240.0.0.1", "255.255.255.255"};      /* reserved, broadcast */
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        if (fetch_address_is_public(refused[i])) fail_msg("%s should not be public", refused[i]);
    }
}

static void public_ipv6(void **state)
{
    const char *public_ones[] = {"2606:4700:4700::1111", "2a00:1450:4001:80b::200e", "[2001:4860::8888]",
                                 "2001:200::1", "3ffe::1", "3fff:1000::1", "2002:0808:0808::1",
                                 "::ffff:8.8.8.8", "::ffff:0808:0808", "64:ff9b::808:808",
                                 "64:ff9b::8.8.8.8"};
    for (size_t i = 0; i < sizeof public_ones / sizeof *public_ones; i++) {
        if (!fetch_address_is_public(public_ones[i])) fail_msg("%s should be public", public_ones[i]);
    }
    const char *refused[] = {"::", "::1", "[::1]", "0:0:0:0:0:0:0:1", "0000:0000:0000:0000:0000:0000:0000:0001",
                             "::ffff:127.0.0.1", "::ffff:7f00:1", "::ffff:10.1.2.3", "::ffff:169.254.169.254",
                             "::ffff:192.168.1.1", "::ffff:0.0.0.0",    /* IPv4-mapped private */
                             "::127.0.0.1", "::8.8.8.8",                /* IPv4-compatible (deprecated) */
                             "64:ff9b::127.0.0.1", "64:ff9b::a00:1",    /* NAT64 of private */
                             "64:ff9b:1::1",                            /* local-use NAT64 */
                             "2002:7f00:1::1", "2002:c0a8:101::1",      /* 6to4 of private */
                             "100::1",                                  /* discard */
                             "2001::1", "2001:0:4136:e378::1",          /* Teredo */
                             "2001:10::1", "2001:1ff::1",               /* IETF protocol assignments */
                             "2001:db8::1", "2001:db8:ffff::1",         /* documentation */
                             "3fff::1", "3fff:fff::1",                  /* documentation (RFC 9637) */
                             "fc00::1", "fd12:3456:789a::1",            /* unique local */
                             "fe80::1", "febf::1",                      /* link-local */
                             "fec0::1",                                 /* site-local */
                             "ff02::1", "ff0e::1",                      /* multicast */
                             "4000::1", "1fff::1"};                     /* outside 2000::/3 */
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        if (fetch_address_is_public(refused[i])) fail_msg("%s should not be public", refused[i]);
    }
}

static void not_numeric_is_not_public(void **state)
{
    const char *odd[] = {NULL, "", "example.org", "localhost", "127.1", "0x7f.0.0.1", "2130706433",
                         "017700000001", "8.8.8.8.", " 8.8.8.8", "8.8.8.8 ", "fe80::1%eth0", "[8.8.8.8",
                         "[]", "::ffff:8.8.8.8:80", "1.2.3.256"};
    for (size_t i = 0; i < sizeof odd / sizeof *odd; i++) {
        if (fetch_address_is_public(odd[i])) fail_msg("\"%s\" should not count as public", odd[i] ? odd[i] : "NULL");
    }
}

/* ---- a tiny HTTP server on 127.0.0.1 ---- */

#define MAX_CONNECTIONS 64

static struct {
    int listener;
    int port;
    pthread_t acceptor;
    pthread_t workers[MAX_CONNECTIONS];
    int nworkers;
    pthread_mutex_t lock;
    int connections; /* accepted so far */
} srv;

static void send_all(int fd, const char *data, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, data, n, MSG_NOSIGNAL);
        if (w <= 0) return;
        data += w;
        n -= (size_t)w;
    }
}

static void send_text(int fd, const char *text) { send_all(fd, text, strlen(text)); }

static void *serve_one(void *arg)
{
    int fd = (int)(intptr_t)arg;
    char req[8192];
    size_t len = 0;
    char *end = NULL;
    while (len < sizeof req - 1 && !end) {
        ssize_t r = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
        req[len] = '\0';
        end = strstr(req, "\r\n\r\n");
    }
    if (!end) {
        close(fd);
        return NULL;
    }
    /* the body of a POST, by Content-Length */
    const char *cl = strcasestr(req, "\r\ncontent-length:");
    size_t want = cl ? (size_t)strtoul(cl + 17, NULL, 10) : 0;
    size_t head = (size_t)(end + 4 - req);
    while (len - head < want && len < sizeof req - 1) {
        ssize_t r = recv(fd, req + len, sizeof req - 1 - len, 0);
        if (r <= 0) break;
        len += (size_t)r;
        req[len] = '\0';
    }
    char path[256] = "";
    sscanf(req, "%*s %255s", path);
    char buf[256];
    if (strcmp(path, "/ok") == 0) {
        send_text(fd, "HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
                      "Content-Length: 11\r\nConnection: close\r\n\r\n{\"ok\":true}");
    } else if (strcmp(path, "/echo") == 0) {
        snprintf(buf, sizeof buf, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n"
                                  "Connection: close\r\n\r\n", len);
        send_text(fd, buf);
        send_all(fd, req, len);
    } else if (strcmp(path, "/big") == 0 || strcmp(path, "/big-unsized") == 0) {
        if (path[4] == '\0') send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: close\r\n\r\n");
        else send_text(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
        char chunk[1000];
        memset(chunk, 'x', sizeof chunk);
        for (int i = 0; i < 100; i++) send_all(fd, chunk, sizeof chunk);
    } else if (strcmp(path, "/slow") == 0) {
        struct timespec two = {2, 0};
        nanosleep(&two, NULL);
        send_text(fd, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nlate");
    } else if (strcmp(path, "/redirect") == 0) {
        send_text(fd, "HTTP/1.1 302 Found\r\nLocation: /ok\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    } else if (strcmp(path, "/redirect-ftp") == 0) {
        send_text(fd, "HTTP/1.1 302 Found\r\nLocation: ftp://127.0.0.1/x\r\nContent-Length: 0\r\n"
                      "Connection: close\r\n\r\n");
    } else {
        send_text(fd, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
    shutdown(fd, SHUT_WR);
    close(fd);
    return NULL;
}

static void *accept_loop(void *arg)
{
    for (;;) {
        int fd = accept(srv.listener, NULL, NULL);
        if (fd < 0) return NULL; /* the listener was shut down */
        pthread_mutex_lock(&srv.lock);
        srv.connections++;
        bool room = srv.nworkers < MAX_CONNECTIONS;
        if (room && pthread_create(&srv.workers[srv.nworkers], NULL, serve_one, (void *)(intptr_t)fd) == 0)
            srv.nworkers++;
        else
            close(fd);
        pthread_mutex_unlock(&srv.lock);
    }
}

static int server_start(void **state)
{
    pthread_mutex_init(&srv.lock, NULL);
    srv.listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    if (srv.listener < 0 || bind(srv.listener, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(srv.listener, 16) != 0 || getsockname(srv.listener, (struct sockaddr *)&a, &alen) != 0)
        return -1;
    srv.port = ntohs(a.sin_port);
    return pthread_create(&srv.acceptor, NULL, accept_loop, NULL) == 0 ? 0 : -1;
}

static int server_stop(void **state)
{
    shutdown(srv.listener, SHUT_RDWR);
    pthread_join(srv.acceptor, NULL);
    close(srv.listener);
    for (int i = 0; i < srv.nworkers; i++) pthread_join(srv.workers[i], NULL);
    pthread_mutex_destroy(&srv.lock);
    return 0;
}

static int connections(void)
{
    pthread_mutex_lock(&srv.lock);
    int n = srv.connections;
    pthread_mutex_unlock(&srv.lock);
    return n;
}

static const char *url(const char *path)
{
    static char u[128];
    snprintf(u, sizeof u, "http://127.0.0.1:%d%s", srv.port, path);
    return u;
}

/* ---- transfers ---- */

static void fetches_200(void **state)
{
    fetch_configure(true, "PurposedTest/1");
    fetch_request_t req = {.url = url("/ok")};
    fetch_response_t res;
    problem_t p;
    problem_init(&p);
    assert_int_equal(fetch(&req, &res, &p), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(strbuf_str(&res.body), "{\"ok\":true}");
    assert_int_equal(res.body.len, 11);
    assert_string_equal(res.content_type, "application/activity+json");
    assert_string_equal(res.location, "");
    fetch_response_free(&res);

    req.url = url("/missing");
    assert_int_equal(fetch(&req, &res, &p), 0);
    assert_int_equal(res.status, 404);
    assert_string_equal(strbuf_str(&res.body), "");
    fetch_response_free(&res);
    problem_clear(&p);
}

static void posts_body_headers_and_user_agent(void **state)
{
    fetch_configure(true, "PurposedTest/1");
    const char *headers[] = {"Content-Type: application/activity+json", "Signature: keyId=\"k\"", NULL};
    const char body[] = "{\"type\":\"Follow\"}";
    fetch_request_t req = {.method = "POST", .url = url("/echo"), .headers = headers, .body = body,
                           .body_len = sizeof body - 1};
    fetch_response_t res;
    problem_t p;
    problem_init(&p);
    assert_int_equal(fetch(&req, &res, &p), 0);
    assert_int_equal(res.status, 200);
    const char *seen = strbuf_str(&res.body);
    assert_non_null(strstr(seen, "POST /echo HTTP/1.1\r\n"));
    assert_non_null(strstr(seen, "\r\nUser-Agent: PurposedTest/1\r\n"));
    assert_non_null(strstr(seen, "\r\nSignature: keyId=\"k\"\r\n"));
    assert_non_null(strstr(seen, "\r\nContent-Length: 17\r\n"));
    assert_null(strcasestr(seen, "Expect:"));
    assert_non_null(strstr(seen, "\r\n\r\n{\"type\":\"Follow\"}"));
    fetch_response_free(&res);

    /* a header with a line break would smuggle another header */
    const char *evil[] = {"X-A: 1\r\nX-B: 2", NULL};
    req.headers = evil;
    assert_true(fetch(&req, &res, &p) < 0);
    problem_clear(&p);
}

static void size_limit_aborts(void **state)
{
    fetch_configure(true, NULL);
    const char *paths[] = {"/big", "/big-unsized"};
    for (int i = 0; i < 2; i++) {
        fetch_request_t req = {.url = url(paths[i]), .max_bytes = 5000};
        fetch_response_t res;
        problem_t p;
        problem_init(&p);
        assert_true(fetch(&req, &res, &p) < 0);
        assert_int_equal(p.status, 502);
        assert_non_null(strstr(p.detail, "more than 5000 bytes"));
        assert_null(res.body.buf);
        fetch_response_free(&res);
        problem_clear(&p);
        /* the whole body fits a larger limit */
        req.max_bytes = 100000;
        assert_int_equal(fetch(&req, &res, &p), 0);
        assert_int_equal(res.body.len, 100000);
        fetch_response_free(&res);
    }
}

static void timeout_gives_up(void **state)
{
    fetch_configure(true, NULL);
    fetch_request_t req = {.url = url("/slow"), .timeout_ms = 300};
    fetch_response_t res;
    problem_t p;
    problem_init(&p);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_true(fetch(&req, &res, &p) < 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double waited = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    assert_true(waited < 1.5);
    assert_int_equal(p.status, 502);
    assert_non_null(strstr(p.detail, "did not answer within 300 ms"));
    fetch_response_free(&res);
    problem_clear(&p);
}

static void redirect_not_followed_unless_asked(void **state)
{
    fetch_configure(true, NULL);
    fetch_request_t req = {.url = url("/redirect")};
    fetch_response_t res;
    problem_t p;
    problem_init(&p);
    assert_int_equal(fetch(&req, &res, &p), 0);
    assert_int_equal(res.status, 302);
    assert_string_equal(res.location, url("/ok"));
    fetch_response_free(&res);

    req.max_redirects = 2;
    assert_int_equal(fetch(&req, &res, &p), 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(strbuf_str(&res.body), "{\"ok\":true}");
    fetch_response_free(&res);

    /* a redirect to another scheme is not followed */
    req.url = url("/redirect-ftp");
    assert_true(fetch(&req, &res, &p) < 0);
    assert_int_equal(p.status, 502);
    fetch_response_free(&res);
    problem_clear(&p);
}

static void other_schemes_refused(void **state)
{
    fetch_configure(true, NULL);
    const char *bad[] = {"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1:70/", "dict://127.0.0.1/",
                         "127.0.0.1/ok", "", "http://127.0.0.1/a b"};
    int before = connections();
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        fetch_request_t req = {.url = bad[i]};
        fetch_response_t res;
        problem_t p;
        problem_init(&p);
        if (fetch(&req, &res, &p) >= 0) fail_msg("%s was fetched", bad[i]);
        assert_int_equal(p.status, 502);
        fetch_response_free(&res);
        problem_clear(&p);
    }
    fetch_request_t none = {.url = NULL};
    fetch_response_t res;
    problem_t p;
    problem_init(&p);
    assert_true(fetch(&none, &res, &p) < 0);
    problem_clear(&p);
    assert_int_equal(connections(), before);
}

static void private_refused_unless_allowed(void **state)
{
    fetch_configure(false, NULL);
    int before = connections();
    char by_name[128];
    snprintf(by_name, sizeof by_name, "http://localhost:%d/ok", srv.port); /* refused after DNS */
    char v6[128];
    snprintf(v6, sizeof v6, "http://[::1]:%d/ok", srv.port);
    char mapped[128];
    snprintf(mapped, sizeof mapped, "http://[::ffff:127.0.0.1]:%d/ok", srv.port);
    const char *urls[] = {url("/ok"), by_name, v6, mapped};
    for (size_t i = 0; i < sizeof urls / sizeof *urls; i++) {
        fetch_request_t req = {.url = urls[i]};
        fetch_response_t res;
        problem_t p;
        problem_init(&p);
        if (fetch(&req, &res, &p) >= 0) fail_msg("%s was fetched", urls[i]);
        assert_int_equal(p.status, 502);
        if (!strstr(p.detail, "private or reserved address")) fail_msg("%s: %s", urls[i], p.detail);
        fetch_response_free(&res);
        problem_clear(&p);
    }
    assert_int_equal(connections(), before); /* no connection was even made */

    fetch_configure(true, NULL);
    fetch_request_t req = {.url = url("/ok")};
    fetch_response_t res;
    problem_t p;
    problem_init(&p);
    assert_int_equal(fetch(&req, &res, &p), 0);
    assert_int_equal(res.status, 200);
    fetch_response_free(&res);
    assert_int_equal(connections(), before + 1);
}

static void refused_connection_is_a_502(void **state)
{
    fetch_configure(true, NULL);
    /* a port nobody listens on: bind one, note it, close it */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    char u[64];
    snprintf(u, sizeof u, "http://127.0.0.1:%d/", ntohs(a.sin_port));
    fetch_request_t req = {.url = u};
    fetch_response_t res;
    problem_t p;
    problem_init(&p);
    assert_true(fetch(&req, &res, &p) < 0);
    assert_int_equal(p.status, 502);
    assert_non_null(strstr(p.detail, "could not be reached"));
    fetch_response_free(&res);
    problem_clear(&p);
}

int main(void)
{
    const struct CMUnitTest pure[] = {
        cmocka_unit_test(public_ipv4),
        cmocka_unit_test(public_ipv6),
        cmocka_unit_test(not_numeric_is_not_public),
    };
    const struct CMUnitTest transfers[] = {
        cmocka_unit_test(fetches_200),
        cmocka_unit_test(posts_body_headers_and_user_agent),
        cmocka_unit_test(size_limit_aborts),
        cmocka_unit_test(timeout_gives_up),
        cmocka_unit_test(redirect_not_followed_unless_asked),
        cmocka_unit_test(other_schemes_refused),
        cmocka_unit_test(private_refused_unless_allowed),
        cmocka_unit_test(refused_connection_is_a_502),
    };
    int failed = cmocka_run_group_tests(pure, NULL, NULL);
    failed += cmocka_run_group_tests(transfers, server_start, server_stop);
    return failed;
}
