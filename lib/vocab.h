/* vocab: the closed word lists of the API (packagings, cash periods,
 * statuses, legal forms, governance models, member roles, agreement sides
 * and actions), each written once. The database's CHECK constraints and the
 * OpenAPI enums say the same; tests/unit/test_vocab.c and
 * tests/api/vocabulary.test.mjs fail when they drift apart. */
#ifndef PURPOSED_VOCAB_H
#define PURPOSED_VOCAB_H

/* Every list is NULL-terminated (for validate_enum and validate_in). Those
 * with a count are indexed by an enum or a bit number elsewhere. */
#define VOCAB_PACKAGINGS 5
extern const char *const vocab_packagings[VOCAB_PACKAGINGS + 1];
extern const char *const vocab_cash_periods[];
extern const char *const vocab_engagement_statuses[];
/* In the order of agreement_status_t and agreement_action_t (agreement.h). */
#define VOCAB_AGREEMENT_STATUSES 5
extern const char *const vocab_agreement_statuses[VOCAB_AGREEMENT_STATUSES + 1];
#define VOCAB_AGREEMENT_ACTIONS 6
extern const char *const vocab_agreement_actions[VOCAB_AGREEMENT_ACTIONS + 1];
extern const char *const vocab_agreement_sides[];
/* What was decided about a version of an agreement's terms. */
extern const char *const vocab_version_outcomes[];
/* The other side's answer to hours logged under an agreement. */
extern const char *const vocab_hours_outcomes[];
extern const char *const vocab_legal_forms[];
extern const char *const vocab_governances[];
extern const char *const vocab_member_roles[];
/* Running the instance: instance roles, what is reported and acted on, why,
 * a case's status, the moderation log's actions, registration modes. */
extern const char *const vocab_instance_roles[];
extern const char *const vocab_moderation_subjects[];
extern const char *const vocab_report_reasons[];
extern const char *const vocab_case_statuses[];
extern const char *const vocab_moderation_actions[];
extern const char *const vocab_curation_actions[];
extern const char *const vocab_curation_kinds[];
extern const char *const vocab_logged_subjects[];
extern const char *const vocab_registration_modes[];
extern const char *const vocab_registration_statuses[];
/* Mail: notification kinds and how each reaches its account (migration 0024). */
extern const char *const vocab_notification_kinds[];
extern const char *const vocab_mail_deliveries[];

/* All of the above by name, ending with {NULL, NULL}: for tests that compare
 * them with the schema and the OpenAPI document. */
typedef struct vocab_list {
    const char *name;
    const char *const *words;
} vocab_list_t;
extern const vocab_list_t vocab_lists[];

#endif
