/* peers: instance blocks and per-instance limits (lib/peers.h). */
#include "peers.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db.h"
#include "ratelimit.h"

static ratelimit_t *g_inbox, *g_fetch;

void peers_configure(int inbox_per_minute, int fetch_per_minute)
{
    ratelimit_free(g_inbox);
    ratelimit_free(g_fetch);
    /* a minute's worth may come at once: N in a row pass, the next waits */
    g_inbox = inbox_per_minute > 0 ? ratelimit_new(inbox_per_minute, inbox_per_minute) : NULL;
    g_fetch = fetch_per_minute > 0 ? ratelimit_new(fetch_per_minute, fetch_per_minute) : NULL;
}

bool peers_authority(const char *url, char out[PEERS_AUTHORITY_MAX])
{
    if (!url) return false;
    const char *s = strstr(url, "://");
    s = s ? s + 3 : url;
    size_t n = strcspn(s, "/?#");
    const char *at = memchr(s, '@', n);
    if (at) {
        n -= (size_t)(at + 1 - s);
        s = at + 1;
    }
    if (n == 0 || n >= PEERS_AUTHORITY_MAX) return false;
    for (size_t i = 0; i < n; i++) out[i] = (char)tolower((unsigned char)s[i]);
    out[n] = '\0';
    return true;
}

static db_stmt_t q_blocked = DB_STMT("peers_blocked", true, "SELECT instance_blocked($1)");

int peers_blocked(const char *url, problem_t *p)
{
    char authority[PEERS_AUTHORITY_MAX];
    if (!peers_authority(url, authority)) return 0;
    const char *params[1] = {authority};
    PGresult *res = db_exec(&q_blocked, 1, params, p);
    if (!res) return problem_rc(p);
    int blocked = PQntuples(res) == 1 && PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    return blocked;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static bool take(ratelimit_t *rl, const char *authority, int *retry_after_s)
{
    *retry_after_s = 0;
    /* the bucket's key is cut at 47 characters: the end of a long host name
     * says more than its start */
    size_t n = strlen(authority);
    return ratelimit_take(rl, n > 47 ? authority + n - 47 : authority, now_s(), retry_after_s);
}

bool peers_inbox_take(const char *authority, int *retry_after_s)
{
    return take(g_inbox, authority, retry_after_s);
}

bool peers_fetch_take(const char *authority, int *retry_after_s)
{
    return take(g_fetch, authority, retry_after_s);
}
