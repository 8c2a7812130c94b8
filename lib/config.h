/* config: every tunable of the daemon, read from the environment. */
#ifndef PURPOSED_CONFIG_H
#define PURPOSED_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "problem.h"

typedef struct config {
    char listen_address[64];
    int port;
    char database_url[1024];
    char database_read_url[1024]; /* reads on replicas (lib/db.h); "" = everything on the primary */
    int replica_max_lag_ms;       /* a replica further behind than this serves no read */
    int threads;                 /* MHD worker threads; 0 = number of cores */
    size_t body_limit;           /* bytes */
    char static_dir[1024];
    char migrations_dir[1024];
    int statement_timeout_ms;
    int max_connections;
    int per_ip_connections;
    int connection_timeout_s;
    int header_timeout_s;        /* the whole request head must arrive within this */
    bool auto_migrate;
    bool log_requests;
    bool cookie_secure;          /* behind TLS: add Secure to cookies */
    int session_ttl_days;
    unsigned long long pwhash_opslimit;
    size_t pwhash_memlimit;
    int hash_workers;            /* threads that run password hashing */
    int write_workers;           /* threads that run changes; 0 = on the HTTP threads */
    int read_workers;            /* threads that run database reads; 0 = on the HTTP threads;
                                    default config_default_read_workers() */
    int queue_depth;             /* requests that may wait per pool worker; more: 503 */
    int per_ip_requests;         /* requests one address may have in the pools; 0 = no limit */
    int cache_mb;                /* the answer cache (lib/rcache.h); 0 = off */
    bool search_index;           /* the words' index (lib/textindex.h); false: PostgreSQL searches */
    int changes_poll_ms;         /* change log poll interval (lib/follower.h); 0 = never (tests) */
    int login_max_failures;      /* per account/address within the window */
    int login_window_s;
    char cursor_secret[128];     /* "" = the instance's own, kept in the database */
    int signup_max_per_address;  /* sign-ups per address within the login window; 0 = no limit */
    char keys_secret[256];       /* seals signing keys at rest (lib/keys.h); "" = stored as is */
    char public_url[512];        /* "https://purposed.example" for feeds; "" = from Host */
    char cors_origins[1024];     /* comma-separated allowed origins; "" = CORS closed */
    int write_rate_per_minute;   /* writes per client address; 0 = no limit */
    int write_burst;             /* writes a client may make at once */
    char trusted_proxy[64];      /* peer whose X-Forwarded-For is believed; "" = none */
    char admin_emails[1024];     /* instance administrators, "a@x,b@y", lower case (lib/authz.h) */
    /* background work (lib/jobs) */
    int job_workers;             /* threads; 0 = this daemon runs no jobs */
    int job_lease_s;             /* a claimed job is held this long */
    int job_poll_ms;             /* idle workers look for due jobs this often */
    int job_retry_base_ms;       /* first retry delay, doubled per attempt */
    int job_retry_max_s;         /* longest retry delay */
    /* mail (lib/mail, lib/outbox) */
    char smtp_url[1024];         /* as given; "" = keep mail in mail_dir */
    char smtp_curl_url[1024];    /* smtp_url without its ?tls= option */
    int smtp_tls;                /* mail_tls_t */
    char smtp_user[256];
    char smtp_password[256];
    int smtp_timeout_s;          /* one SMTP conversation */
    int digest_interval_s;       /* a digest holds this long; one per account per interval */
    char mail_from[512];         /* "Name <address>" or "address" */
    char mail_from_name[256];    /* parsed from mail_from */
    char mail_from_address[256];
    char mail_dir[1024];         /* .eml files when there is no smtp_url */
    char match_snapshot[1024];   /* the match index kept at stop, loaded at start; "" = none */
    /* outbound HTTP (lib/fetch: website verification, federation) */
    bool fetch_allow_private;    /* may fetch loopback/private addresses (tests only) */
    int federation_inbox_per_minute; /* inbox POSTs per remote instance; 0 = no limit */
    int federation_fetch_per_minute; /* fetches of one remote instance's documents; 0 = none */
    char fetch_user_agent[256];  /* User-Agent of every outbound request */
    /* matching weights (docs/matching.md) */
    double w_purpose, w_skills, w_capacity, w_packaging, w_location, w_follows;
} config_t;

typedef const char *(*config_getenv_fn)(const char *name);

/* Fill cfg from the environment through get (getenv in the daemon).
 * Returns 0, or -PROBLEM_VALIDATION with p's detail naming the bad variable. */
int config_load(config_t *cfg, config_getenv_fn get, problem_t *p);

/* READ_WORKERS when not given: two per core, at most 8 (8 from four cores
 * on). On two cores, 4 workers answered GET by id 14-17 % faster than 8
 * and with a lower p99 on every read test (docs/performance.md): fewer
 * threads switching on the same cores, and PostgreSQL's backends there
 * too. */
int config_default_read_workers(void);

/* Pure: split MAIL_FROM ("Name <a@b>", "\"Name\" <a@b>" or "a@b") into its
 * display name ("" if none) and address. Returns 0 or -PROBLEM_VALIDATION. */
int config_parse_mail_from(const char *value, char *name, size_t namecap, char *address,
                           size_t addrcap);

#endif
