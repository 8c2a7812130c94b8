-- 0022_notification_mail: every in-app notification is also mailed, at
-- once, to a verified address, unless its account turned that kind off
-- (the one-click unsubscribe link of the message, POST /api/v1/unsubscribe);
-- and an invitation to join an organisation is mailed to the person invited.
-- Each letter is queued by the statement that writes its cause.

CREATE TABLE notification_mail_optouts (
    account_id bigint NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       text NOT NULL CHECK (kind ~ '^[a-z_]{1,64}$'),
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (account_id, kind)
);

CREATE FUNCTION notifications_mail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (kind, payload)
    SELECT 'mail', jsonb_build_object('to', a.email, 'template', 'notification',
               'vars', jsonb_build_object('name', a.display_name, 'message', NEW.message,
                                          'kind', NEW.kind),
               'unsubscribe', jsonb_build_object('account_id', a.id, 'kind', NEW.kind))
    FROM accounts a
    WHERE a.id = NEW.account_id AND a.deleted_at IS NULL AND a.email_verified_at IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM notification_mail_optouts o
                      WHERE o.account_id = a.id AND o.kind = NEW.kind);
    RETURN NULL;
END $$;
CREATE TRIGGER notifications_mail AFTER INSERT ON notifications
    FOR EACH ROW EXECUTE FUNCTION notifications_mail();

-- An invitation to join an organisation (membership_invitations, migration
-- 0012) is mailed to the invited account's verified address when it is
-- made; asking again (the same row updated) sends nothing more.
CREATE FUNCTION membership_invitations_mail() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO jobs (kind, payload)
    SELECT 'mail', jsonb_build_object('to', a.email, 'template', 'invitation',
               'vars', jsonb_build_object('name', a.display_name, 'organisation', o.name,
                                          'slug', o.slug, 'role', NEW.role,
                                          'inviter', coalesce(w.display_name, 'A member')))
    FROM accounts a
    JOIN organisations o ON o.id = NEW.organisation_id
    LEFT JOIN accounts w ON w.id = NEW.invited_by AND w.deleted_at IS NULL
    WHERE a.id = NEW.account_id AND a.deleted_at IS NULL AND a.email_verified_at IS NOT NULL;
    RETURN NULL;
END $$;
CREATE TRIGGER membership_invitations_mail AFTER INSERT ON membership_invitations
    FOR EACH ROW EXECUTE FUNCTION membership_invitations_mail();
