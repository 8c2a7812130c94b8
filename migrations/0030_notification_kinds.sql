-- 0030_notification_kinds: the kinds of notification that conversations,
-- hours and renewal (0028) and saved searches (0025) write can be set per account like the others
-- (immediately / daily / off); lib/vocab.c vocab_notification_kinds lists
-- the same kinds.
ALTER TABLE notification_mail_preferences DROP CONSTRAINT notification_mail_preferences_kind_check;
ALTER TABLE notification_mail_preferences ADD CONSTRAINT notification_mail_preferences_kind_check
    CHECK (kind = ANY (ARRAY['agreement_proposed', 'agreement_amended', 'agreement_renewal_proposed',
        'agreement_accepted', 'agreement_declined', 'agreement_withdrawn',
        'agreement_concluded', 'agreement_closure_recorded', 'agreement_review_due',
        'agreement_message', 'agreement_hours_logged', 'agreement_hours_confirmed',
        'agreement_hours_disputed', 'engagement_posted', 'engagement_question',
        'engagement_answer', 'saved_search_match', 'moderation']));
