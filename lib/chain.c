/* chain: links of the tamper-evident history, made and checked (chain.h). */
#include "chain.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "jcs.h"

bool chain_hash_hex(const json_t *v, char out[CHAIN_HASH_HEX], char *err, size_t cap)
{
    size_t len = 0;
    char *text = jcs_serialize(v, &len, err, cap);
    if (!text) return false;
    unsigned char h[CHAIN_HASH_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)text, len);
    free(text);
    sodium_bin2hex(out, CHAIN_HASH_HEX, h, sizeof h);
    return true;
}

json_t *chain_link_header(const char *chain, long long subject, const char *subject_uri,
                          long long seq, const char *kind, const char *entry,
                          const char *content_hash_hex, const char *previous_hash_hex)
{
    return json_pack("{s:s, s:o, s:I, s:s, s:s, s:s, s:o}", "chain", chain, "subject",
                     subject_uri ? json_string(subject_uri) : json_integer((json_int_t)subject),
                     "seq", (json_int_t)seq, "kind", kind, "entry", entry,
                     "content_hash", content_hash_hex, "previous_hash",
                     previous_hash_hex ? json_string(previous_hash_hex) : json_null());
}

/* The federated id of an agreement kept on two instances (migration 0042):
 * its links' headers name it, not the local id. */
static db_stmt_t q_subject_uri = DB_STMT("chain_subject_uri", false,
    "SELECT federated_uri FROM agreements WHERE $1 = 'agreement' AND id = $2::bigint"
    " AND federated_uri IS NOT NULL");

/* subject's federated id into out ("" when it has none). 0, or negative with p set. */
static int subject_uri(const char *chain, const char *subject_id, char *out, size_t cap, problem_t *p)
{
    const char *params[2] = {chain, subject_id};
    PGresult *res = db_exec(&q_subject_uri, 2, params, p);
    if (!res) return problem_rc(p);
    snprintf(out, cap, "%s", PQntuples(res) == 1 ? PQgetvalue(res, 0, 0) : "");
    PQclear(res);
    return 0;
}

/* ---------- appending ---------- */

/* The entries without a link, in the order they happened, and the last
 * link (its seq and hash) on every row. */
static db_stmt_t q_pending = DB_STMT("chain_pending", false,
    "SELECT e.kind, e.entry_key, e.content::text, last.seq, encode(last.hash, 'hex')"
    " FROM history_entries($1, $2::bigint) e"
    " LEFT JOIN LATERAL (SELECT l.seq, l.hash FROM history_links l WHERE l.chain = $1"
    "   AND l.subject_id = $2::bigint ORDER BY l.seq DESC LIMIT 1) last ON true"
    " WHERE NOT EXISTS (SELECT 1 FROM history_links l WHERE l.chain = $1 AND l.subject_id = $2::bigint"
    "   AND l.kind = e.kind AND l.entry_key = e.entry_key)"
    " ORDER BY e.at, e.ord, e.entry_key");

static db_stmt_t q_link = DB_STMT("chain_link", false,
    "INSERT INTO history_links (chain, subject_id, seq, kind, entry_key, content_hash, previous_hash, hash)"
    " VALUES ($1, $2::bigint, $3::int, $4, $5, decode($6, 'hex'), decode($7, 'hex'), decode($8, 'hex'))");

int chain_append(const char *chain, const char *subject_id, problem_t *p)
{
    char uri[1001];
    if (subject_uri(chain, subject_id, uri, sizeof uri, p) < 0) return problem_rc(p);
    const char *params[2] = {chain, subject_id};
    PGresult *res = db_exec(&q_pending, 2, params, p);
    if (!res) return problem_rc(p);
    int n = PQntuples(res);
    long long seq = n > 0 && !PQgetisnull(res, 0, 3) ? atoll(PQgetvalue(res, 0, 3)) : 0;
    char previous[CHAIN_HASH_HEX] = "";
    if (n > 0 && !PQgetisnull(res, 0, 4)) snprintf(previous, sizeof previous, "%s", PQgetvalue(res, 0, 4));
    long long subject = atoll(subject_id);
    for (int i = 0; i < n; i++) {
        const char *kind = PQgetvalue(res, i, 0), *entry = PQgetvalue(res, i, 1);
        char err[128] = "", content_hash[CHAIN_HASH_HEX], hash[CHAIN_HASH_HEX];
        json_t *content = json_loads(PQgetvalue(res, i, 2), 0, NULL);
        bool ok = content && chain_hash_hex(content, content_hash, err, sizeof err);
        json_decref(content);
        json_t *header = ok ? chain_link_header(chain, subject, uri[0] ? uri : NULL, seq + 1, kind, entry, content_hash,
                                                previous[0] ? previous : NULL)
                            : NULL;
        ok = header && chain_hash_hex(header, hash, err, sizeof err);
        json_decref(header);
        if (!ok) {
            PQclear(res);
            return problem_fail(p, PROBLEM_INTERNAL, "A %s entry cannot be hashed: %s", chain, err);
        }
        char seq_text[24];
        snprintf(seq_text, sizeof seq_text, "%lld", seq + 1);
        const char *lp[8] = {chain, subject_id, seq_text, kind, entry, content_hash,
                             previous[0] ? previous : NULL, hash};
        PGresult *ins = db_exec(&q_link, 8, lp, p);
        if (!ins) {
            PQclear(res);
            return problem_rc(p);
        }
        PQclear(ins);
        seq++;
        snprintf(previous, sizeof previous, "%s", hash);
    }
    PQclear(res);
    return n;
}

static db_stmt_t q_lock_agreement = DB_STMT("chain_lock_agreement", false,
    "SELECT 1 FROM agreements WHERE id = $1::bigint FOR UPDATE");
static db_stmt_t q_lock_organisation = DB_STMT("chain_lock_organisation", false,
    "SELECT 1 FROM organisations WHERE id = $1::bigint FOR UPDATE");

int chain_sync(const char *chain, const char *subject_id, problem_t *p)
{
    if (db_begin(p) < 0) return problem_rc(p);
    const char *params[1] = {subject_id};
    PGresult *res = db_exec(strcmp(chain, CHAIN_CHARTER) == 0 ? &q_lock_organisation : &q_lock_agreement,
                            1, params, p);
    int n = res ? chain_append(chain, subject_id, p) : problem_rc(p);
    if (res) PQclear(res);
    if (n < 0 || db_commit(p) < 0) {
        db_rollback();
        return problem_rc(p);
    }
    return n;
}

/* Subjects without a single link: records from before the chain, or loaded
 * with SQL (demo data, the bench). A subject that has links keeps any entry
 * without one unlinked, for the proof to show, until a write of the daemon
 * on it links what is pending; except the messages and hours written before
 * they were chained (migration 0031): agreements with one of those unlinked
 * are synced too. */
#define UNLINKED_BEFORE_0031(table, at, key)                                                   \
    " UNION SELECT 'agreement', t.agreement_id::text FROM " table " t"                         \
    " WHERE t." at " < (SELECT m.applied_at FROM schema_migrations m"                          \
    "  WHERE m.name = '0031_history_threads.sql')"                                              \
    " AND NOT EXISTS (SELECT 1 FROM history_links l WHERE l.chain = 'agreement'"                \
    "  AND l.subject_id = t.agreement_id AND l.kind = " key ")"
static db_stmt_t q_unlinked = DB_STMT("chain_unlinked", true,
    "SELECT 'agreement', a.id::text FROM agreements a"
    " WHERE NOT EXISTS (SELECT 1 FROM history_links l WHERE l.chain = 'agreement' AND l.subject_id = a.id)"
    " UNION SELECT 'charter', o.id::text FROM organisations o"
    " WHERE NOT EXISTS (SELECT 1 FROM history_links l WHERE l.chain = 'charter' AND l.subject_id = o.id)"
    UNLINKED_BEFORE_0031("agreement_messages", "created_at", "'message' AND l.entry_key = t.id::text")
    UNLINKED_BEFORE_0031("agreement_hours", "logged_at", "'hours_entry' AND l.entry_key = t.id::text")
    " UNION SELECT 'agreement', h.agreement_id::text FROM agreement_hours_decisions t"
    " JOIN agreement_hours h ON h.id = t.entry_id"
    " WHERE t.decided_at < (SELECT m.applied_at FROM schema_migrations m"
    "  WHERE m.name = '0031_history_threads.sql')"
    " AND NOT EXISTS (SELECT 1 FROM history_links l WHERE l.chain = 'agreement'"
    "  AND l.subject_id = h.agreement_id AND l.kind = 'hours_decision'"
    "  AND l.entry_key = t.entry_id::text)");

int chain_sync_all(problem_t *p)
{
    PGresult *res = db_exec(&q_unlinked, 0, NULL, p);
    if (!res) return problem_rc(p);
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        if (chain_sync(PQgetvalue(res, i, 0), PQgetvalue(res, i, 1), p) < 0) {
            PQclear(res);
            return problem_rc(p);
        }
    }
    PQclear(res);
    return n;
}

/* ---------- checking ---------- */

/* Every link with its entry as it is now (NULL when the entry is gone),
 * then the entries nobody linked (seq NULL). */
static db_stmt_t q_links = DB_STMT("chain_links", true,
    "SELECT l.seq, l.kind, l.entry_key, e.content::text, encode(l.content_hash, 'hex'),"
    " encode(l.previous_hash, 'hex'), encode(l.hash, 'hex'), api_time(l.recorded_at)"
    " FROM history_links l LEFT JOIN history_entries($1, $2::bigint) e"
    "  ON e.kind = l.kind AND e.entry_key = l.entry_key"
    " WHERE l.chain = $1 AND l.subject_id = $2::bigint"
    " UNION ALL SELECT NULL, e.kind, e.entry_key, e.content::text, NULL, NULL, NULL, NULL"
    " FROM history_entries($1, $2::bigint) e WHERE NOT EXISTS (SELECT 1 FROM history_links l"
    "  WHERE l.chain = $1 AND l.subject_id = $2::bigint AND l.kind = e.kind AND l.entry_key = e.entry_key)"
    " ORDER BY 1 NULLS LAST, 2, 3");

static const char *nullable(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

/* Why link row i breaks the chain (NULL when it holds); previous is the
 * hash of the link before it ("" for the first). */
static const char *link_fault(PGresult *res, int i, const char *chain, long long subject,
                              const char *uri, long long expected_seq, const char *previous, const json_t *content)
{
    static const char *const faults[] = {
        "an entry of the record has no link: it was written around the daemon",
        "the link's entry is gone from the record",
        "the entry's content is not what was hashed when it was linked: it was changed since",
        "the links are not numbered one after another: a link is missing",
        "previous_hash is not the hash of the link before: a link was changed or removed",
        "the link's hash is not the hash of its header: the link was changed",
    };
    if (PQgetisnull(res, i, 0)) return faults[0];
    if (!content) return faults[1];
    char err[128], content_hash[CHAIN_HASH_HEX], hash[CHAIN_HASH_HEX];
    if (!chain_hash_hex(content, content_hash, err, sizeof err) ||
        strcmp(content_hash, PQgetvalue(res, i, 4)) != 0)
        return faults[2];
    if (atoll(PQgetvalue(res, i, 0)) != expected_seq) return faults[3];
    const char *prev = nullable(res, i, 5);
    if (strcmp(prev ? prev : "", previous) != 0) return faults[4];
    json_t *header = chain_link_header(chain, subject, uri, expected_seq, PQgetvalue(res, i, 1),
                                       PQgetvalue(res, i, 2), PQgetvalue(res, i, 4), prev);
    bool ok = header && chain_hash_hex(header, hash, err, sizeof err) &&
              strcmp(hash, PQgetvalue(res, i, 6)) == 0;
    json_decref(header);
    return ok ? NULL : faults[5];
}

json_t *chain_document(const char *chain, const char *subject_id, problem_t *p)
{
    char uri[1001];
    if (subject_uri(chain, subject_id, uri, sizeof uri, p) < 0) return NULL;
    const char *params[2] = {chain, subject_id};
    PGresult *res = db_exec(&q_links, 2, params, p);
    if (!res) return NULL;
    long long subject = atoll(subject_id);
    json_t *links = json_array(), *first_broken = json_null(), *head = json_null();
    char previous[CHAIN_HASH_HEX] = "";
    long long expected = 1;
    for (int i = 0; i < PQntuples(res); i++) {
        json_t *content = PQgetisnull(res, i, 3) ? NULL : json_loads(PQgetvalue(res, i, 3), 0, NULL);
        const char *fault = json_is_null(first_broken)
                                ? link_fault(res, i, chain, subject, uri[0] ? uri : NULL, expected, previous, content)
                                : NULL;
        if (fault) {
            json_decref(first_broken);
            first_broken = json_pack("{s:o, s:s, s:s, s:s}", "seq",
                                     PQgetisnull(res, i, 0) ? json_null()
                                                            : json_integer(atoll(PQgetvalue(res, i, 0))),
                                     "kind", PQgetvalue(res, i, 1), "entry", PQgetvalue(res, i, 2),
                                     "reason", fault);
        }
        if (PQgetisnull(res, i, 0)) {
            json_decref(content);
            continue; /* unlinked: named by first_broken, not a link */
        }
        json_array_append_new(links, json_pack("{s:I, s:s, s:s, s:o, s:s, s:o, s:s, s:s}",
            "seq", (json_int_t)atoll(PQgetvalue(res, i, 0)), "kind", PQgetvalue(res, i, 1),
            "entry", PQgetvalue(res, i, 2), "content", content ? content : json_null(),
            "content_hash", PQgetvalue(res, i, 4),
            "previous_hash", nullable(res, i, 5) ? json_string(PQgetvalue(res, i, 5)) : json_null(),
            "hash", PQgetvalue(res, i, 6), "recorded_at", PQgetvalue(res, i, 7)));
        snprintf(previous, sizeof previous, "%s", PQgetvalue(res, i, 6));
        json_decref(head);
        head = json_pack("{s:I, s:s}", "seq", (json_int_t)atoll(PQgetvalue(res, i, 0)), "hash", previous);
        expected = atoll(PQgetvalue(res, i, 0)) + 1;
    }
    PQclear(res);
    json_t *doc = json_pack("{s:s, s:I, s:s, s:s, s:o, s:o, s:b, s:o}", "chain", chain, "subject",
                            (json_int_t)subject, "hash_algorithm", "SHA-256", "canonicalization",
                            "JCS (RFC 8785)", "links", links, "head", head, "verified",
                            json_is_null(first_broken), "first_broken", first_broken);
    if (doc && uri[0]) json_object_set_new(doc, "subject_uri", json_string(uri));
    if (!doc) problem_fail(p, PROBLEM_INTERNAL, "out of memory");
    return doc;
}
