-- 0010_notification_links: deleting an engagement sets notifications.engagement_id
-- to NULL, and that foreign key had no index of its own: every deleted
-- engagement scanned all notifications (the bench's clean-up of 33,000
-- posted engagements ran for minutes). The same for agreement_id.
CREATE INDEX notifications_engagement_idx ON notifications (engagement_id)
    WHERE engagement_id IS NOT NULL;
CREATE INDEX notifications_agreement_idx ON notifications (agreement_id)
    WHERE agreement_id IS NOT NULL;
