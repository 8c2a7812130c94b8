/* chain: the tamper-evident history of agreements and charters (migrations
 * 0026, 0031). Each entry of a subject's record (terms, outcomes, closures,
 * messages, hours and their answers; charter versions) is a link: content_hash =
 * SHA-256(JCS(content)), and the link's hash = SHA-256(JCS(header)) where
 * the header is {chain, subject, seq, kind, entry, content_hash,
 * previous_hash} (hashes in lower-case hex, previous_hash null for the
 * first link). Changing an entry, a stored hash, or the order breaks the
 * chain at that link; a verifier needs only JCS and SHA-256. */
#ifndef PURPOSED_CHAIN_H
#define PURPOSED_CHAIN_H

#include <jansson.h>
#include <stdbool.h>

#include "problem.h"

#define CHAIN_HASH_BYTES 32
#define CHAIN_HASH_HEX (CHAIN_HASH_BYTES * 2 + 1)

/* chain names: the history_links.chain values */
#define CHAIN_AGREEMENT "agreement"
#define CHAIN_CHARTER "charter"

/* Link the entries of subject's record that have no link yet, in the
 * caller's transaction (the subject's row locked by the caller, so links
 * are appended by one writer at a time). The number of links made, or
 * negative with p set. */
int chain_append(const char *chain, const char *subject_id, problem_t *p);
/* chain_append in a transaction of its own, the subject locked (for
 * writes made in one statement, and at start for records written before
 * the chain or around the daemon). */
int chain_sync(const char *chain, const char *subject_id, problem_t *p);
/* At start: link every subject that has no link yet (records from before
 * the chain, or loaded with SQL). The number of subjects synced, or
 * negative with p set. */
int chain_sync_all(problem_t *p);

/* The header a link's hash is made over (the caller owns it). subject is
 * the local id, or subject_uri when not NULL: a federated agreement's id,
 * the same on both instances that keep it (migration 0042). */
json_t *chain_link_header(const char *chain, long long subject, const char *subject_uri,
                          long long seq, const char *kind, const char *entry,
                          const char *content_hash_hex, const char *previous_hash_hex);
/* SHA-256 of JCS(v) in lower-case hex; false with err set when v cannot be
 * canonicalised. */
bool chain_hash_hex(const json_t *v, char out[CHAIN_HASH_HEX], char *err, size_t cap);

/* The chain of subject with every entry as it is now and the verdict:
 * {chain, subject, hash_algorithm, canonicalization, links: [{seq, kind,
 * entry, content, content_hash, previous_hash, hash, recorded_at}], head:
 * {seq, hash} | null, verified, first_broken: {seq, kind, entry, reason} |
 * null}, and subject_uri for a federated agreement. NULL with p set. */
json_t *chain_document(const char *chain, const char *subject_id, problem_t *p);

#endif
