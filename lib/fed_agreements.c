/* fed_agreements: an agreement's acts sent to and taken from the other
 * party's instance (fed_agreements.h, docs/federation.md). */
#include "fed_agreements.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agreement.h"
#include "chain.h"
#include "db.h"
#include "federation.h"
#include "validate.h"

#define FED_RECORD_MAX 8

/* ---------- the activity of an action ---------- */

static const struct {
    const char *action, *type, *kind, *verb;
} k_actions[] = {
    {"propose", "Offer", "agreement_proposed", "proposed"},
    {"accept", "Accept", "agreement_accepted", "accepted"},
    {"decline", "Reject", "agreement_declined", "declined"},
    {"withdraw", "Undo", "agreement_withdrawn", "withdrew"},
    {"amend", "Update", "agreement_amended", "proposed new terms for"},
    {"renew", "Update", "agreement_renewal_proposed", "proposed to renew"},
    {"conclude", "Update", "agreement_concluded", "concluded"},
};

static int action_index(const char *action)
{
    for (size_t i = 0; action && i < sizeof k_actions / sizeof k_actions[0]; i++)
        if (!strcmp(k_actions[i].action, action)) return (int)i;
    return -1;
}

/* ---------- sending ---------- */

static db_stmt_t q_federated = DB_STMT("fed_agreement_federated", false,
    "SELECT a.federated_uri, a.local_actor, ra.inbox,"
    " CASE WHEN a.agent_id IS NULL THEN 'organisation' ELSE 'agent' END,"
    " coalesce(a.organisation_id, a.agent_id), a.status, a.terms_version, a.active_version,"
    " CASE WHEN a.agent_id IS NULL THEN ra.uri ELSE a.local_actor END,"
    " CASE WHEN a.organisation_id IS NULL THEN ra.uri ELSE a.local_actor END,"
    " a.engagement_id, re.object_uri, ra.uri,"
    " (SELECT json_build_object('role', v.role, 'terms', v.terms, 'hours', v.hours_per_week)::text"
    "  FROM agreement_versions v WHERE v.agreement_id = a.id AND v.version = a.terms_version)"
    " FROM agreements a JOIN remote_actors ra ON ra.id = a.remote_actor_id"
    " LEFT JOIN remote_engagements re ON re.id = a.remote_engagement_id"
    " WHERE a.id = $1::bigint AND a.federated_uri IS NOT NULL");

/* The entries this transaction linked (recorded_at is the transaction's
 * time), as history_entries gives them, with their links. */
static db_stmt_t q_written = DB_STMT("fed_agreement_written", false,
    "SELECT l.seq, l.kind, l.entry_key, e.content::text, encode(l.hash, 'hex')"
    " FROM history_links l JOIN history_entries('agreement', $1::bigint) e"
    "  ON e.kind = l.kind AND e.entry_key = l.entry_key"
    " WHERE l.chain = 'agreement' AND l.subject_id = $1::bigint AND l.recorded_at = now()"
    " ORDER BY l.seq");

static json_t *context(void)
{
    return json_pack("[s, {s:s, s:s, s:s, s:s, s:s}]", "https://www.w3.org/ns/activitystreams",
                     "purposed", "https://purposed.dev/ns#", "vf", "https://w3id.org/valueflows/ont/vf#",
                     "Agreement", "vf:Agreement", "Commitment", "vf:Commitment", "stipulates",
                     "vf:stipulates");
}

int fed_agreement_send(const char *agreement_id, const char *action, problem_t *p)
{
    int ai = action_index(action);
    if (ai < 0) return problem_fail(p, PROBLEM_INTERNAL, "No agreement activity for %s.", action);
    const char *params[1] = {agreement_id};
    PGresult *fa = db_exec(&q_federated, 1, params, p);
    if (!fa) return problem_rc(p);
    if (PQntuples(fa) != 1) {
        PQclear(fa);
        return 0; /* kept here only */
    }
    if (!federation_base()[0]) {
        PQclear(fa);
        return problem_fail(p, PROBLEM_CONFLICT,
                            "This instance has no PUBLIC_URL: it cannot act on an agreement with "
                            "another instance.");
    }
    PGresult *wr = db_exec(&q_written, 1, params, p);
    if (!wr) {
        PQclear(fa);
        return problem_rc(p);
    }
    int n = PQntuples(wr);
    json_t *record = json_array();
    for (int i = 0; i < n; i++) {
        json_t *content = json_loads(PQgetvalue(wr, i, 3), 0, NULL);
        json_array_append_new(record, json_pack("{s:s, s:s, s:o}", "kind", PQgetvalue(wr, i, 1),
                                                "entry", PQgetvalue(wr, i, 2), "content",
                                                content ? content : json_null()));
    }
    json_t *head = n > 0 ? json_pack("{s:I, s:s}", "seq", (json_int_t)atoll(PQgetvalue(wr, n - 1, 0)),
                                     "hash", PQgetvalue(wr, n - 1, 4))
                         : json_null();
    const char *furi = PQgetvalue(fa, 0, 0), *local_actor = PQgetvalue(fa, 0, 1);
    char engagement[FEDERATION_URI_MAX] = "";
    if (!PQgetisnull(fa, 0, 10))
        snprintf(engagement, sizeof engagement, "%s/engagements/%s", federation_base(),
                 PQgetvalue(fa, 0, 10));
    else if (!PQgetisnull(fa, 0, 11))
        snprintf(engagement, sizeof engagement, "%s", PQgetvalue(fa, 0, 11));
    json_t *object = json_pack(
        "{s:s, s:s, s:s, s:s, s:s, s:s, s:o, s:I, s:o, s:o, s:o}", "id", furi, "type", "Agreement",
        "purposed:action", action, "purposed:status", PQgetvalue(fa, 0, 5), "purposed:agent",
        PQgetvalue(fa, 0, 8), "purposed:organisation", PQgetvalue(fa, 0, 9), "purposed:engagement",
        engagement[0] ? json_string(engagement) : json_null(), "purposed:termsVersion",
        (json_int_t)atoll(PQgetvalue(fa, 0, 6)), "purposed:activeVersion",
        PQgetisnull(fa, 0, 7) ? json_null() : json_integer(atoll(PQgetvalue(fa, 0, 7))),
        "purposed:record", record, "purposed:chainHead", head);
    /* what a plain fediverse server can show: the role and terms, and the
     * hours as a FEP-0837 commitment to the engagement */
    json_t *latest = PQgetisnull(fa, 0, 13) ? NULL : json_loads(PQgetvalue(fa, 0, 13), 0, NULL);
    if (latest) {
        json_object_set(object, "name", json_object_get(latest, "role"));
        json_object_set(object, "content", json_object_get(latest, "terms"));
        json_t *commitment = json_pack("{s:s, s:{s:s, s:O}}", "type", "Commitment",
                                       "resourceQuantity", "hasUnit", "hour",
                                       "hasNumericalValue", json_object_get(latest, "hours"));
        if (commitment && engagement[0])
            json_object_set_new(commitment, "satisfies", json_string(engagement));
        if (commitment) json_object_set_new(object, "stipulates", commitment);
        json_decref(latest);
    }
    char activity_id[FEDERATION_URI_MAX + 64];
    snprintf(activity_id, sizeof activity_id, "%s#%s/%s", furi, action,
             n > 0 ? PQgetvalue(wr, n - 1, 0) : "0");
    json_t *activity = json_pack("{s:o, s:s, s:s, s:s, s:[s], s:o}", "@context", context(), "id",
                                 activity_id, "type", k_actions[ai].type, "actor", local_actor, "to",
                                 PQgetvalue(fa, 0, 12), "object", object);
    int rc = activity ? federation_enqueue(activity, PQgetvalue(fa, 0, 2), PQgetvalue(fa, 0, 3),
                                           atoll(PQgetvalue(fa, 0, 4)), local_actor, p)
                      : problem_fail(p, PROBLEM_INTERNAL, "The activity could not be made.");
    json_decref(activity);
    PQclear(wr);
    PQclear(fa);
    return rc;
}

/* ---------- receiving ---------- */

static db_stmt_t q_seen = DB_STMT("fed_agreement_seen", false,
    "INSERT INTO federated_activities (activity_uri) VALUES ($1) ON CONFLICT DO NOTHING RETURNING 1");
static db_stmt_t q_seen_agreement = DB_STMT("fed_agreement_seen_agreement", false,
    "UPDATE federated_activities SET agreement_id = $2::bigint WHERE activity_uri = $1");
static db_stmt_t q_local_org = DB_STMT("fed_agreement_local_org", false,
    "SELECT o.id, $3::bigint IS NULL OR EXISTS (SELECT 1 FROM engagements e WHERE e.id = $3::bigint"
    "   AND e.organisation_id = o.id)"
    " FROM organisations o WHERE o.slug = $1 AND o.hidden_at IS NULL AND $2 <> ''");
static db_stmt_t q_offer = DB_STMT("fed_agreement_offer", false,
    "INSERT INTO agreements (organisation_id, agent_id, engagement_id, proposed_by, remote_actor_id,"
    "   federated_uri, local_actor)"
    " VALUES ($1::bigint, NULL, $2::bigint, 'agent', $3::bigint, $4, $5)"
    " ON CONFLICT (federated_uri) DO NOTHING RETURNING id");
static db_stmt_t q_lock = DB_STMT("fed_agreement_lock", false,
    "SELECT a.id, a.remote_actor_id = $2::bigint,"
    " CASE WHEN a.agent_id IS NULL THEN 'agent' ELSE 'organisation' END,"
    " a.status, a.active_version IS NOT NULL, a.proposed_by,"
    " EXISTS (SELECT 1 FROM agreement_closures c WHERE c.agreement_id = a.id AND c.side = 'agent'),"
    " EXISTS (SELECT 1 FROM agreement_closures c WHERE c.agreement_id = a.id AND c.side = 'organisation'),"
    " a.terms_version"
    " FROM agreements a WHERE a.federated_uri = $1 FOR UPDATE");
static db_stmt_t q_terms = DB_STMT("fed_agreement_terms", false,
    "WITH v AS (INSERT INTO agreement_versions (agreement_id, version, role, packaging, hours_per_week,"
    "   terms, rewards, starts_on, review_on, change_note, proposed_by, author_id, author_actor,"
    "   created_at)"
    "  VALUES ($1::bigint, $2::int, $3, $4, $5::int, $6, $7::jsonb, $8::date, $9::date, $10, $11,"
    "   NULL, $12, $13::timestamptz) RETURNING agreement_id, version),"
    " vp AS (INSERT INTO agreement_version_purposes (agreement_id, version, purpose_id)"
    "  SELECT v.agreement_id, v.version, p.id FROM v JOIN purposes p"
    "   ON p.slug IN (SELECT json_array_elements_text($14::json)) RETURNING 1)"
    " SELECT (SELECT count(*) FROM vp) = json_array_length($14::json)");
static db_stmt_t q_outcome = DB_STMT("fed_agreement_outcome", false,
    "INSERT INTO agreement_version_outcomes (agreement_id, version, outcome, side, decided_by,"
    "   decided_by_actor, decided_at)"
    " VALUES ($1::bigint, $2::int, $3, $4, NULL, $5, $6::timestamptz)");
static db_stmt_t q_closure = DB_STMT("fed_agreement_closure", false,
    "INSERT INTO agreement_closures (agreement_id, side, commitments_kept, note, closed_by,"
    "   closed_by_actor, closed_at)"
    " VALUES ($1::bigint, $2, $3::bool, $4, NULL, $5, $6::timestamptz)");
static db_stmt_t q_apply = DB_STMT("fed_agreement_apply", false,
    "UPDATE agreements SET status = $2,"
    " active_version = CASE WHEN $3::bool THEN $4::int ELSE active_version END,"
    " terms_version = $4::int, proposed_by = coalesce($5, proposed_by),"
    " version = version + 1, updated_at = now()"
    " WHERE id = $1::bigint");
/* the other side's people are told, as for a local act (agreement_sql.h) */
static db_stmt_t q_notify = DB_STMT("fed_agreement_notify", false,
    "INSERT INTO notifications (account_id, kind, agreement_id, message, payload)"
    " SELECT rc.account_id, $2::text, a.id,"
    "  left(format('%s %s the agreement \"%s\".', coalesce(ra.name, ra.username), $3::text, t.role), 1000),"
    "  jsonb_build_object('agreement_id', a.id, 'status', a.status, 'by', $4::text)"
    " FROM agreements a JOIN remote_actors ra ON ra.id = a.remote_actor_id"
    " JOIN agreement_versions t ON t.agreement_id = a.id AND t.version = a.terms_version"
    " CROSS JOIN LATERAL (SELECT m.account_id FROM memberships m WHERE m.organisation_id = a.organisation_id"
    "   UNION SELECT g.account_id FROM agents g WHERE g.id = a.agent_id) rc"
    " WHERE a.id = $1::bigint");
static db_stmt_t q_head = DB_STMT("fed_agreement_head", false,
    "SELECT encode(hash, 'hex') FROM history_links WHERE chain = 'agreement'"
    " AND subject_id = $1::bigint ORDER BY seq DESC LIMIT 1");

/* A member of an entry's content as text: a string as it is, a number or a
 * boolean written out, NULL for null or absent (and for a number when cap is 0). */
static const char *member_text(const json_t *o, const char *key, char *buf, size_t cap)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_string(v)) return json_string_value(v);
    if (json_is_integer(v)) {
        /* no buffer (a text member: role, terms): not taken, rather than what buf held */
        if (!cap) return NULL;
        snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
        return buf;
    }
    if (json_is_boolean(v)) return json_is_true(v) ? "true" : "false";
    return NULL;
}

static bool member_is(const json_t *o, const char *key, const char *want)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v && want && !strcmp(v, want);
}

/* One entry of the sender's record, written here as the sender wrote it.
 * Only the sender's own acts, for its side, about this agreement. *version
 * is the agreement's terms version, moved on by a new version. */
static int take_entry(const char *id, const char *furi, const char *sender_uri,
                      const char *remote_side, const json_t *entry, int *version, problem_t *p)
{
    const char *kind = json_string_value(json_object_get(entry, "kind"));
    const json_t *c = json_object_get(entry, "content");
    if (!kind || !json_is_object(c) || !member_is(c, "agreement", furi))
        return problem_fail(p, PROBLEM_VALIDATION, "A record entry is not about this agreement.");
    char b1[24], b2[24];
    const char *at = member_text(c, "at", b1, sizeof b1);
    PGresult *res = NULL;
    if (!strcmp(kind, "terms_version")) {
        const char *v = member_text(c, "version", b1, sizeof b1);
        at = json_string_value(json_object_get(c, "at"));
        if (!v || atoi(v) != *version + 1)
            return problem_fail(p, PROBLEM_CONFLICT, "Version %d of the terms is expected next.",
                                *version + 1);
        if (!member_is(c, "author", sender_uri) || !member_is(c, "proposed_by", remote_side))
            return problem_fail(p, PROBLEM_FORBIDDEN, "Terms are proposed here by their author only.");
        const json_t *purposes = json_object_get(c, "purposes");
        char *rewards = json_dumps(json_object_get(c, "rewards"), JSON_COMPACT | JSON_ENCODE_ANY);
        char *purposes_text = json_is_array(purposes) ? json_dumps(purposes, JSON_COMPACT) : NULL;
        const char *params[14] = {id, v, member_text(c, "role", b2, 0), member_text(c, "packaging", b2, 0),
                                  member_text(c, "hours_per_week", b2, sizeof b2), member_text(c, "terms", b2, 0),
                                  rewards, member_text(c, "starts_on", b2, 0), member_text(c, "review_on", b2, 0),
                                  member_text(c, "change_note", b2, 0), remote_side, sender_uri, at,
                                  purposes_text ? purposes_text : "[]"};
        res = at ? db_exec(&q_terms, 14, params, p) : NULL;
        free(rewards);
        free(purposes_text);
        if (res && strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
            PQclear(res);
            return problem_fail(p, PROBLEM_VALIDATION,
                                "The terms name a purpose this instance does not know.");
        }
        if (res) *version = atoi(v);
    } else if (!strcmp(kind, "version_outcome")) {
        if (!member_is(c, "decided_by", sender_uri) || !member_is(c, "side", remote_side))
            return problem_fail(p, PROBLEM_FORBIDDEN, "A decision is recorded here by its author only.");
        const char *params[6] = {id, member_text(c, "version", b2, sizeof b2),
                                 member_text(c, "outcome", b1, 0), remote_side, sender_uri,
                                 json_string_value(json_object_get(c, "at"))};
        res = params[1] && params[5] ? db_exec(&q_outcome, 6, params, p) : NULL;
    } else if (!strcmp(kind, "closure")) {
        if (!member_is(c, "closed_by", sender_uri) || !member_is(c, "side", remote_side))
            return problem_fail(p, PROBLEM_FORBIDDEN, "A closure is recorded here by its author only.");
        const char *params[6] = {id, remote_side, member_text(c, "commitments_kept", b2, 0),
                                 json_string_value(json_object_get(c, "note")), sender_uri,
                                 json_string_value(json_object_get(c, "at"))};
        res = params[2] && params[3] && params[5] ? db_exec(&q_closure, 6, params, p) : NULL;
    } else {
        return problem_fail(p, PROBLEM_VALIDATION, "A record entry of kind %s is not taken here.", kind);
    }
    if (!res) {
        /* no statement ran (a member missing or not a string): problem_rc() of an empty
         * problem is an internal error, so this is asked first */
        if (p->code == PROBLEM_NONE)
            return problem_fail(p, PROBLEM_VALIDATION, "A record entry misses a member.");
        const char *state = db_sqlstate();
        /* 23: a constraint; 22: a value of the wrong type or out of range ("true" hours, "nope" a date) */
        if (state && (!strncmp(state, "23", 2) || !strncmp(state, "22", 2))) {
            problem_clear(p);
            return problem_fail(p, PROBLEM_VALIDATION, "A record entry is not one this instance can keep.");
        }
        return problem_rc(p);
    }
    PQclear(res);
    return 0;
}

/* The local organisation of an actor URI (base/organisations/slug) and the
 * local engagement of an engagement URI (base/engagements/N). */
static bool local_path(const char *uri, const char *prefix, char *out, size_t cap)
{
    const char *base = federation_base();
    size_t bl = strlen(base), pl = strlen(prefix);
    if (!uri || !bl || strncmp(uri, base, bl) != 0 || strncmp(uri + bl, prefix, pl) != 0) return false;
    snprintf(out, cap, "%s", uri + bl + pl);
    return out[0] != '\0';
}

/* The Offer: the agreement made here, the sender its agent. Its id, or
 * negative with p set (0 when it exists already: a duplicate). */
static int take_offer(const json_t *object, const char *furi, long long sender_id,
                      const char *sender_uri, char *id, size_t cap, problem_t *p)
{
    if (!member_is(object, "purposed:agent", sender_uri))
        return problem_fail(p, PROBLEM_FORBIDDEN, "An agreement is offered by its agent's own actor.");
    char slug[200] = "", engagement[32] = "";
    const char *org = json_string_value(json_object_get(object, "purposed:organisation"));
    if (!local_path(org, "/organisations/", slug, sizeof slug) || !validate_slug(slug))
        return problem_fail(p, PROBLEM_VALIDATION, "The organisation offered to is not one of this instance's.");
    const char *eng = json_string_value(json_object_get(object, "purposed:engagement"));
    if (eng && (!local_path(eng, "/engagements/", engagement, sizeof engagement) ||
                strspn(engagement, "0123456789") != strlen(engagement) || strlen(engagement) > 18))
        return problem_fail(p, PROBLEM_VALIDATION, "The engagement is not one of this instance's.");
    const char *lp[3] = {slug, "x", engagement[0] ? engagement : NULL};
    PGresult *res = db_exec(&q_local_org, 3, lp, p);
    if (!res) return problem_rc(p);
    if (PQntuples(res) != 1 || strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
        PQclear(res);
        return problem_fail(p, PROBLEM_VALIDATION,
                            "No such organisation here, or the engagement is not its.");
    }
    char org_id[24], sender[24];
    snprintf(org_id, sizeof org_id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    snprintf(sender, sizeof sender, "%lld", sender_id);
    const char *op[5] = {org_id, engagement[0] ? engagement : NULL, sender, furi, org};
    res = db_exec(&q_offer, 5, op, p);
    if (!res) {
        if (db_is_unique_violation()) {
            problem_clear(p);
            return problem_fail(p, PROBLEM_CONFLICT,
                                "This agent already has an open agreement with this organisation for "
                                "this engagement.");
        }
        return problem_rc(p);
    }
    int rc = PQntuples(res) == 1 ? 1 : 0;
    if (rc) snprintf(id, cap, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return rc;
}

static int receive(const json_t *act, const json_t *object, long long sender_id,
                   const char *sender_uri, problem_t *p)
{
    const char *activity_id = json_string_value(json_object_get(act, "id"));
    const char *furi = json_string_value(json_object_get(object, "id"));
    const char *action = json_string_value(json_object_get(object, "purposed:action"));
    const json_t *record = json_object_get(object, "purposed:record");
    const char *head = json_string_value(json_object_get(json_object_get(object, "purposed:chainHead"), "hash"));
    int ai = action_index(action);
    if (!activity_id || strlen(activity_id) > 1000 || !furi || strncmp(furi, "http", 4) != 0 ||
        strlen(furi) > 1000 || ai < 0 || !json_is_array(record) || json_array_size(record) == 0 ||
        json_array_size(record) > FED_RECORD_MAX || !head)
        return problem_fail(p, PROBLEM_VALIDATION,
                            "An agreement activity needs an id, the Agreement's id, purposed:action, "
                            "purposed:record and purposed:chainHead.");
    const char *sp[1] = {activity_id};
    PGresult *res = db_exec(&q_seen, 1, sp, p);
    if (!res) return problem_rc(p);
    bool first = PQntuples(res) == 1;
    PQclear(res);
    if (!first) return 1; /* taken before */
    char id[24] = "", sender[24], b[24];
    snprintf(sender, sizeof sender, "%lld", sender_id);
    const char *remote_side;
    int version = 0;
    agreement_outcome_t out;
    memset(&out, 0, sizeof out);
    out.status = AGREEMENT_PROPOSED;
    if (!strcmp(action, "propose")) {
        int rc = take_offer(object, furi, sender_id, sender_uri, id, sizeof id, p);
        if (rc <= 0) return rc; /* 0: offered before, under another activity id */
        remote_side = "agent";
    } else {
        const char *lp[2] = {furi, sender};
        res = db_exec(&q_lock, 2, lp, p);
        if (!res) return problem_rc(p);
        if (PQntuples(res) != 1) {
            PQclear(res);
            return problem_fail(p, PROBLEM_CONFLICT,
                                "No agreement %s here (yet): its Offer has not arrived.", furi);
        }
        if (strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
            PQclear(res);
            return problem_fail(p, PROBLEM_FORBIDDEN, "The sender is not a party to this agreement.");
        }
        snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
        remote_side = !strcmp(PQgetvalue(res, 0, 2), "agent") ? "agent" : "organisation";
        agreement_state_t st;
        int s = agreement_status_parse(PQgetvalue(res, 0, 3));
        st.status = s < 0 ? AGREEMENT_DECLINED : (agreement_status_t)s;
        st.has_active_terms = !strcmp(PQgetvalue(res, 0, 4), "t");
        int prop = agreement_side_parse(PQgetvalue(res, 0, 5));
        st.proposer = prop < 0 ? AGREEMENT_SIDE_NONE : (agreement_side_t)prop;
        st.agent_closed = !strcmp(PQgetvalue(res, 0, 6), "t");
        st.organisation_closed = !strcmp(PQgetvalue(res, 0, 7), "t");
        version = atoi(PQgetvalue(res, 0, 8));
        PQclear(res);
        int act_code = agreement_action_parse(action);
        agreement_side_t side = !strcmp(remote_side, "agent") ? AGREEMENT_SIDE_AGENT
                                                              : AGREEMENT_SIDE_ORGANISATION;
        /* out of order (an amendment's answer before the amendment): not yet */
        if (act_code < 0 || agreement_transition(&st, (agreement_action_t)act_code, side, &out, p) < 0)
            return problem_rc(p) ? problem_rc(p)
                                 : problem_fail(p, PROBLEM_CONFLICT, "Not an action here.");
    }
    size_t i;
    const json_t *entry;
    json_array_foreach(record, i, entry) {
        if (take_entry(id, furi, sender_uri, remote_side, entry, &version, p) < 0) return problem_rc(p);
    }
    const char *claimed = json_string_value(json_object_get(object, "purposed:status"));
    const char *status = agreement_status_name(out.status);
    if (!claimed || strcmp(claimed, status) != 0)
        return problem_fail(p, PROBLEM_CONFLICT, "The agreement would be %s here, not %s.", status,
                            claimed ? claimed : "(none)");
    snprintf(b, sizeof b, "%d", version);
    bool new_terms = !strcmp(action, "amend") || !strcmp(action, "renew");
    const char *ap[5] = {id, status, db_bool(out.activates_pending), b, new_terms ? remote_side : NULL};
    res = strcmp(action, "propose") ? db_exec(&q_apply, 5, ap, p) : NULL;
    if (strcmp(action, "propose") && !res) return problem_rc(p);
    PQclear(res);
    const char *np[4] = {id, k_actions[action_index(action)].kind, k_actions[action_index(action)].verb,
                         remote_side};
    if (!(res = db_exec(&q_notify, 4, np, p))) return problem_rc(p);
    PQclear(res);
    if (chain_append(CHAIN_AGREEMENT, id, p) < 0) return problem_rc(p);
    const char *hp[1] = {id};
    if (!(res = db_exec(&q_head, 1, hp, p))) return problem_rc(p);
    bool same = PQntuples(res) == 1 && !strcmp(PQgetvalue(res, 0, 0), head);
    PQclear(res);
    if (!same)
        return problem_fail(p, PROBLEM_VALIDATION,
                            "The agreement's history here would not end with the sender's chain head %s.",
                            head);
    const char *seen[2] = {activity_id, id};
    if (!(res = db_exec(&q_seen_agreement, 2, seen, p))) return problem_rc(p);
    PQclear(res);
    return 1;
}

int fed_agreement_receive(const json_t *activity, long long sender_id, const char *sender_uri,
                          problem_t *p)
{
    const json_t *object = json_object_get(activity, "object");
    if (!json_is_object(object) || !member_is(object, "type", "Agreement")) return 0;
    if (db_begin(p) < 0) return problem_rc(p);
    int rc = receive(activity, object, sender_id, sender_uri, p);
    if (rc < 0 || db_commit(p) < 0) {
        db_rollback();
        return problem_rc(p);
    }
    return 1;
}
