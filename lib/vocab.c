/* vocab: the word lists themselves (see vocab.h). Adding a word here needs a
 * migration changing the CHECK constraint and the OpenAPI enum as well. */
#include "vocab.h"

#include <stddef.h>

const char *const vocab_packagings[VOCAB_PACKAGINGS + 1] = {
    "employment", "partnership", "consulting", "interim", "volunteer", NULL};

const char *const vocab_cash_periods[] = {"hour", "day", "week", "month", "year", "total", NULL};

const char *const vocab_engagement_statuses[] = {"open", "paused", "closed", NULL};

const char *const vocab_agreement_statuses[VOCAB_AGREEMENT_STATUSES + 1] = {
    "proposed", "active", "declined", "withdrawn", "concluded", NULL};

const char *const vocab_agreement_actions[VOCAB_AGREEMENT_ACTIONS + 1] = {
    "accept", "decline", "withdraw", "conclude", "amend", "renew", NULL};

const char *const vocab_agreement_sides[] = {"agent", "organisation", NULL};

const char *const vocab_version_outcomes[] = {"accepted", "declined", "withdrawn", "superseded", NULL};

/* The other side's answer to hours logged under an agreement. */
const char *const vocab_hours_outcomes[] = {"confirmed", "disputed", NULL};

const char *const vocab_legal_forms[] = {"for_purpose_enterprise", "cooperative", "nonprofit",
                                         "foundation", "b_corp", "company", "informal", "other",
                                         NULL};

const char *const vocab_governances[] = {"holacracy", "sociocracy", "teal", "consent_based",
                                         "traditional", "other", NULL};

const char *const vocab_member_roles[] = {"owner", "admin", "member", NULL};

/* Running the instance (docs/moderation.md). */
const char *const vocab_instance_roles[] = {"administrator", "moderator", NULL};
const char *const vocab_moderation_subjects[] = {
    "organisation", "engagement",        "agent_profile",      "purpose", "charter_version",
    "account",      "agreement_message", "engagement_message", NULL};
const char *const vocab_report_reasons[] = {"spam",    "fake",       "abusive",
                                            "illegal", "misleading", "other", NULL};
const char *const vocab_case_statuses[] = {"open", "resolved", NULL};
/* the log's words: POST /moderation/actions takes the first four (roles are
 * PUT and DELETE /moderation/roles, curation POST /moderation/curation,
 * verification by hand POST /moderation/verifications, 0035; instance blocks
 * POST and DELETE /moderation/instance-blocks, 0044) */
const char *const vocab_moderation_actions[] = {"dismiss",    "hide",        "suspend", "restore",
                                                "grant_role", "revoke_role", "merge",   "rename",
                                                "retire",     "verify",      "unverify", "block_instance",
                                                "unblock_instance", NULL};
/* Curating the catalogue (migration 0034): what moderators do to a purpose
 * or a skill; the moderation log's subjects are the ones above and skills.
 * The first two are not in vocab_lists: their words are part of the log's
 * lists (moderation_actions, logged_subjects), and the document gives them
 * as the const of each shape of CurationCreate. */
const char *const vocab_curation_actions[] = {"merge", "rename", "retire", NULL};
const char *const vocab_curation_kinds[] = {"purpose", "skill", NULL};
const char *const vocab_logged_subjects[] = {
    "organisation", "engagement", "agent_profile",     "purpose",           "charter_version",
    "account",      "skill",      "agreement_message", "engagement_message", "instance", NULL};
const char *const vocab_registration_modes[] = {"open", "approval", "invitation", NULL};
/* How an account came in (migration 0033): GET /api/v1/registrations?status= */
const char *const vocab_registration_statuses[] = {"admitted", "pending", "approved", "refused",
                                                   NULL};

/* Mail (migrations 0024, 0030): the kinds of notification the daemon writes, and
 * how each may reach its account by mail. */
const char *const vocab_notification_kinds[] = {
    "agreement_proposed",  "agreement_amended",          "agreement_renewal_proposed",
    "agreement_accepted",  "agreement_declined",         "agreement_withdrawn",
    "agreement_concluded", "agreement_closure_recorded", "agreement_review_due",
    "agreement_message",   "agreement_hours_logged",     "agreement_hours_confirmed",
    "agreement_hours_disputed", "engagement_posted",     "engagement_question",
    "engagement_answer",   "saved_search_match",         "moderation", NULL};
const char *const vocab_mail_deliveries[] = {"immediately", "daily", "off", NULL};

const vocab_list_t vocab_lists[] = {
    {"packagings", vocab_packagings},
    {"cash_periods", vocab_cash_periods},
    {"engagement_statuses", vocab_engagement_statuses},
    {"agreement_statuses", vocab_agreement_statuses},
    {"agreement_actions", vocab_agreement_actions},
    {"agreement_sides", vocab_agreement_sides},
    {"version_outcomes", vocab_version_outcomes},
    {"hours_outcomes", vocab_hours_outcomes},
    {"legal_forms", vocab_legal_forms},
    {"governances", vocab_governances},
    {"member_roles", vocab_member_roles},
    {"instance_roles", vocab_instance_roles},
    {"moderation_subjects", vocab_moderation_subjects},
    {"report_reasons", vocab_report_reasons},
    {"case_statuses", vocab_case_statuses},
    {"moderation_actions", vocab_moderation_actions},
    {"logged_subjects", vocab_logged_subjects},
    {"registration_modes", vocab_registration_modes},
    {"registration_statuses", vocab_registration_statuses},
    {"notification_kinds", vocab_notification_kinds},
    {"mail_deliveries", vocab_mail_deliveries},
    {NULL, NULL},
};
