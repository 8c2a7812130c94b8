-- 0035_organisation_verification: an organisation proves it controls its
-- website (docs/operations.md, "Verifying organisations"). Its owner asks
-- for a token, serves it at /.well-known/purposed-verification or in a
-- <meta name="purposed-verification"> tag of the home page, and asks the
-- daemon to check; or an administrator verifies it by hand (logged in the
-- moderation log). The badge is organisations.verified_at and
-- verification_method; a "verification_check" job (lib/verification.c)
-- checks the website again every week, and changing the website removes it.

ALTER TABLE organisations
    ADD COLUMN verified_at timestamptz,
    ADD COLUMN verification_method text
        CHECK (verification_method IN ('well_known', 'meta_tag', 'manual')),
    ADD CONSTRAINT organisations_verified_how CHECK ((verified_at IS NULL) = (verification_method IS NULL));

-- One token per organisation (kept while its website changes), and the
-- outcome of the last check, shown to its owners.
CREATE TABLE organisation_verifications (
    organisation_id bigint PRIMARY KEY REFERENCES organisations (id) ON DELETE CASCADE,
    token           text NOT NULL UNIQUE CHECK (token ~ '^purposed-[A-Za-z0-9_-]{43}$'),
    requested_by    bigint REFERENCES accounts (id) ON DELETE SET NULL,
    requested_at    timestamptz NOT NULL DEFAULT now(),
    checked_at      timestamptz,
    check_outcome   text CHECK (check_outcome IN ('verified', 'not_verified')),
    check_detail    text NOT NULL DEFAULT '' CHECK (char_length(check_detail) <= 2000),
    CHECK ((checked_at IS NULL) = (check_outcome IS NULL))
);

-- Another website is another claim: whatever proved the old one (the owner's
-- token or an administrator's word) does not prove the new one.
CREATE FUNCTION organisations_website_unverifies() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.verified_at := NULL;
    NEW.verification_method := NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER organisations_website_unverifies BEFORE UPDATE OF website ON organisations
    FOR EACH ROW WHEN (OLD.website IS DISTINCT FROM NEW.website AND OLD.verified_at IS NOT NULL)
    EXECUTE FUNCTION organisations_website_unverifies();

-- Administrators verify and unverify by hand; both are moderation log rows.
ALTER TABLE moderation_actions DROP CONSTRAINT moderation_actions_action_check;
ALTER TABLE moderation_actions ADD CONSTRAINT moderation_actions_action_check
    CHECK (action IN ('dismiss', 'hide', 'suspend', 'restore', 'grant_role', 'revoke_role',
                      'merge', 'rename', 'retire', 'verify', 'unverify'));

-- Where the token is looked for first: the website's origin (scheme and
-- authority, its path left out) + /.well-known/purposed-verification (RFC
-- 8615). The second place is the website's own page.
CREATE FUNCTION verification_well_known_url(website text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT substring(website from '^[A-Za-z][A-Za-z0-9+.-]*://[^/?#]*') || '/.well-known/purposed-verification'
$$;

-- The next re-check of a website verified at `since`: a job that does
-- nothing once the organisation was verified again, or not any more (its
-- payload names the verification it checks by its time, in microseconds).
CREATE FUNCTION verification_recheck_enqueue(p_organisation bigint, p_since timestamptz,
                                             p_days integer, p_attempts integer) RETURNS bigint
LANGUAGE sql AS $$
    SELECT job_enqueue('verification_check',
                       jsonb_build_object('organisation_id', p_organisation,
                                          'since', (extract(epoch FROM p_since) * 1000000)::bigint),
                       now() + make_interval(days => p_days), p_attempts)
$$;
