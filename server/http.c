/* http: the request object. Reading what the client sent through the
 * request's source, and setting the answer the daemon sends. */
#include "http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "query.h"

const config_t *http_config;

void http_req_init(req_t *r, const req_source_t *src, void *src_ctx, const char *method,
                   const char *url)
{
    memset(r, 0, sizeof *r);
    r->src = src;
    r->src_ctx = src_ctx;
    r->method = method;
    r->url = url;
    r->file_fd = -1;
    r->client_fd = -1;
}

void http_req_clear(req_t *r)
{
    if (r->ctx && r->ctx_free) r->ctx_free(r->ctx);
    r->ctx = NULL;
    json_decref(r->json);
    r->json = NULL;
    strbuf_release(&r->body);
    free(r->resp_body);
    r->resp_body = NULL;
    free(r->cache_key);
    r->cache_key = NULL;
    if (r->file_fd >= 0) close(r->file_fd);
    r->file_fd = -1;
    for (int i = 0; i < r->nheaders; i++) {
        free(r->header_names[i]);
        free(r->header_values[i]);
    }
    r->nheaders = 0;
}

/* ---------- reading the request ---------- */

const char *http_param(const req_t *r, int i)
{
    return i < r->match.nparams ? r->match.params[i] : "";
}

const char *http_query(const req_t *r, const char *key)
{
    return r->src->value(r, REQ_QUERY, key);
}

const char *http_header(const req_t *r, const char *name)
{
    return r->src->value(r, REQ_HEADER, name);
}

/* The value of the last X-Forwarded-For line (lines are one list, in order). */
static void last_forwarded(void *cls, const char *key, const char *value)
{
    if (value && strcasecmp(key, "X-Forwarded-For") == 0) *(const char **)cls = value;
}

const char *http_client_address(const req_t *r, char *buf, size_t cap)
{
    buf[0] = '\0';
    r->src->peer(r, buf, cap);
    /* Behind the configured reverse proxy, the client is the last address
     * the proxy appended to X-Forwarded-For: the last one across all its
     * lines (earlier ones, in any line, are the client's own claims).
     * Anything that is not an IP address is ignored. */
    if (http_config->trusted_proxy[0] && strcmp(buf, http_config->trusted_proxy) == 0) {
        const char *xff = NULL;
        r->src->each(r, REQ_HEADER, last_forwarded, &xff);
        if (xff) {
            const char *last = strrchr(xff, ',');
            last = last ? last + 1 : xff;
            while (*last == ' ' || *last == '\t') last++;
            char candidate[64];
            size_t n = strcspn(last, " \t");
            if (n > 0 && n < sizeof candidate) {
                memcpy(candidate, last, n);
                candidate[n] = '\0';
                unsigned char bin[16];
                if ((inet_pton(AF_INET, candidate, bin) == 1 || inet_pton(AF_INET6, candidate, bin) == 1) &&
                    n < cap)
                    memcpy(buf, candidate, n + 1);
            }
        }
    }
    return buf;
}

int http_param_id(req_t *r, int i, long long *out, char *text, size_t cap)
{
    const char *s = http_param(r, i);
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < 1 || s[0] == '+' || s[0] == '0')
        return http_fail(r, PROBLEM_NO_SUCH_ITEM, "No such item: ids are positive whole numbers.");
    *out = v;
    snprintf(text, cap, "%lld", v);
    return 0;
}

json_t *http_take_body(req_t *r)
{
    json_t *j = r->json;
    r->json = NULL;
    return j;
}

int http_query_limit(req_t *r, int *limit)
{
    if (query_int(http_query(r, "limit"), 1, PAGE_LIMIT_MAX, 20, limit) == 0) return 0;
    *limit = 20;
    problem_t p;
    problem_init(&p);
    problem_field(&p, "limit", "must be an integer from 1 to 100");
    problem_fail(&p, PROBLEM_BAD_QUERY, "limit must be 1 to 100.");
    return http_reply_problem(r, &p);
}

/* ---------- setting the response ---------- */

static void reset_response(req_t *r)
{
    free(r->resp_body);
    r->resp_body = NULL;
    r->resp_len = 0;
    if (r->file_fd >= 0) close(r->file_fd);
    r->file_fd = -1;
}

void http_reply_text(req_t *r, int status, const char *content_type, char *body, size_t len)
{
    reset_response(r);
    r->status = status;
    r->content_type = content_type;
    r->resp_body = body;
    r->resp_len = len;
    r->responded = true;
}

void http_reply_json(req_t *r, int status, json_t *body)
{
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    if (!s) {
        http_fail(r, PROBLEM_INTERNAL, NULL);
        return;
    }
    http_reply_text(r, status, "application/json", s, strlen(s));
}

void http_reply_empty(req_t *r, int status) { http_reply_text(r, status, NULL, NULL, 0); }

void http_reply_file(req_t *r, int status, const char *content_type, int fd, uint64_t size)
{
    reset_response(r);
    r->status = status;
    r->content_type = content_type;
    r->file_fd = fd;
    r->file_size = size;
    r->responded = true;
}

int http_reply_problem(req_t *r, problem_t *p)
{
    if (p->status == 0) problem_finish_validation(p);
    if (p->status == 0) problem_fail(p, PROBLEM_INTERNAL, NULL);
    int rc = problem_rc(p);
    json_t *body = problem_to_json(p);
    char *s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(body);
    int status = p->status;
    if (p->retry_after > 0) {
        char ra[16];
        snprintf(ra, sizeof ra, "%d", p->retry_after);
        http_add_header(r, "Retry-After", ra);
    }
    if (p->allow[0]) http_add_header(r, "Allow", p->allow);
    problem_clear(p);
    if (!s) {
        http_reply_text(r, 500, "application/problem+json", NULL, 0);
        return -PROBLEM_INTERNAL;
    }
    http_reply_text(r, status, "application/problem+json", s, strlen(s));
    return rc;
}

int http_fail(req_t *r, problem_code_t code, const char *detail_fmt, ...)
{
    problem_t p;
    problem_init(&p);
    if (detail_fmt) {
        char detail[sizeof p.detail];
        va_list ap;
        va_start(ap, detail_fmt);
        vsnprintf(detail, sizeof detail, detail_fmt, ap);
        va_end(ap);
        problem_fail(&p, code, "%s", detail);
    } else {
        problem_fail(&p, code, NULL);
    }
    return http_reply_problem(r, &p);
}

void http_add_header(req_t *r, const char *name, const char *value)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->header_names[i], name) == 0 && strcasecmp(name, "Set-Cookie") != 0) {
            free(r->header_values[i]);
            r->header_values[i] = strdup(value);
            return;
        }
    if (r->nheaders >= HTTP_MAX_HEADERS) return;
    r->header_names[r->nheaders] = strdup(name);
    r->header_values[r->nheaders] = strdup(value);
    r->nheaders++;
}

/* Does If-None-Match list etag (or "*")? Weak comparison, as RFC 9110 says. */
bool http_etag_listed(const char *header, const char *etag)
{
    const char *s = header;
    while (*s) {
        while (*s == ' ' || *s == '\t' || *s == ',') s++;
        if (!*s) break;
        if (*s == '*') return true;
        if (strncmp(s, "W/", 2) == 0) s += 2;
        const char *end = s;
        if (*end == '"') {
            end = strchr(end + 1, '"');
            if (!end) return false;
            end++;
        } else {
            while (*end && *end != ',' && *end != ' ') end++;
        }
        if ((size_t)(end - s) == strlen(etag) && strncmp(s, etag, (size_t)(end - s)) == 0)
            return true;
        s = end;
    }
    return false;
}

const char *http_response_header(const req_t *r, const char *name)
{
    for (int i = 0; i < r->nheaders; i++)
        if (strcasecmp(r->header_names[i], name) == 0) return r->header_values[i];
    return NULL;
}

void http_defer(req_t *r, handler_fn fn)
{
    r->deferred = fn;
    r->deferred_work = WORK_HASH;
}
