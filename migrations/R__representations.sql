-- R__representations: the JSON representation of every resource the API
-- returns, one function each, used by every statement that returns it.
-- A repeatable migration (migrations/README.md): `purposed migrate` applies
-- this file again, in one transaction, whenever its text changes, after the
-- numbered migrations. Change a representation here and nowhere else.
--
-- Each is `name_json(row …) RETURNS SETOF json` in plain SQL with one
-- SELECT, and is called in FROM:
--     SELECT j::text FROM engagements e CROSS JOIN LATERAL engagement_json(e) j …
--     … (SELECT j FROM terms_json(v) j) …   -- where one value is wanted
-- PostgreSQL then inlines the body into the calling statement (a set-returning
-- SQL function in FROM is inlined; a scalar one with sub-selects never is, and
-- plpgsql runs its queries one by one): matching's 25 engagements cost what
-- the statement written out by hand costs, 1.6x less than the plpgsql of 0007.
-- So: no STRICT, no SECURITY DEFINER, no SET, not VOLATILE (each stops the
-- inlining). References to other things ({slug, name} of an organisation,
-- {handle, display_name} of an agent, {id, title} of an engagement) are
-- written where they are used; they are not representations.
--
-- Every function is dropped first, so a changed signature or return type
-- applies too. A view or numbered migration must not depend on these.

-- obj's members, then more's, in that order (jsonb would sort the keys):
-- for the members a representation adds to another one. plpgsql keeps its
-- plan; a plain SQL function given sub-selects is not inlined.
DROP FUNCTION IF EXISTS json_concat(json, json);
CREATE FUNCTION json_concat(obj json, more json) RETURNS json
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    o text := rtrim(obj::text);
    m text := ltrim(more::text);
BEGIN
    IF left(o, 1) <> '{' OR left(m, 1) <> '{' THEN
        RAISE EXCEPTION 'json_concat takes two objects';
    END IF;
    IF m ~ '^\{\s*\}$' THEN RETURN obj; END IF;
    IF o ~ '^\{\s*\}$' THEN RETURN more; END IF;
    RETURN (left(o, -1) || ',' || substr(m, 2))::json;
END $$;

-- ---------- accounts ----------

-- {id, email, display_name, created_at, updated_at, version}: the caller's own
-- account (never the password hash).
DROP FUNCTION IF EXISTS account_json(accounts);
CREATE FUNCTION account_json(a accounts) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', a.id,
        'email', a.email,
        'display_name', a.display_name,
        'email_verified_at', api_time(a.email_verified_at),
        'created_at', api_time(a.created_at),
        'updated_at', api_time(a.updated_at),
        'version', a.version)
$$;

-- GET /me: {account, agent: {id, handle, headline, discoverable, version} |
-- null, memberships: [{organisation, role}], csrf_token}.
DROP FUNCTION IF EXISTS me_json(accounts, text);
CREATE FUNCTION me_json(a accounts, csrf_token text) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'account', (SELECT j FROM account_json(a) j),
        'agent', (SELECT json_build_object('id', g.id, 'handle', g.handle, 'headline', g.headline,
                      'discoverable', g.discoverable, 'version', g.version)
                  FROM agents g WHERE g.account_id = a.id),
        'memberships', coalesce((
            SELECT json_agg(json_build_object(
                       'organisation', json_build_object('slug', o.slug, 'name', o.name),
                       'role', m.role) ORDER BY o.name)
            FROM memberships m JOIN organisations o ON o.id = m.organisation_id
            WHERE m.account_id = a.id), '[]'::json),
        'invitations', coalesce((
            SELECT json_agg(json_build_object(
                       'organisation', json_build_object('slug', o.slug, 'name', o.name),
                       'role', i.role, 'invited_at', api_time(i.created_at),
                       'expires_at', api_time(i.expires_at))
                   ORDER BY i.created_at, o.slug)
            FROM membership_invitations i JOIN organisations o ON o.id = i.organisation_id
            WHERE (i.account_id = a.id OR (i.account_id IS NULL AND i.email = a.email
                                           AND a.email_verified_at IS NOT NULL))
              AND i.expires_at > now()), '[]'::json),
        'csrf_token', csrf_token)
$$;

-- ---------- the purpose domain ----------

-- {slug, name, description, supporters, organisations, created_at, retired,
-- retired_at}: a retired purpose (0034) is offered for no new use.
DROP FUNCTION IF EXISTS purpose_json(purposes);
CREATE FUNCTION purpose_json(p purposes) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'slug', p.slug,
        'name', p.name,
        'description', p.description,
        'supporters', (SELECT count(*) FROM agent_purposes ap WHERE ap.purpose_id = p.id),
        'organisations', (SELECT count(*) FROM organisation_purposes op WHERE op.purpose_id = p.id),
        'created_at', api_time(p.created_at),
        'retired', p.retired_at IS NOT NULL,
        'retired_at', api_time(p.retired_at))
$$;

-- A skill of the catalogue (0014): {key, name}. key is what filters take
-- and compare (lower case, no accents, one space between words); name is
-- the first spelling anyone gave, for display.
DROP FUNCTION IF EXISTS skill_json(skill_catalogue);
CREATE FUNCTION skill_json(s skill_catalogue) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object('key', s.key, 'name', s.name)
$$;

-- A place of the gazetteer (migration 0025): {id (GeoNames), name, country
-- (ISO 3166-1 alpha-2), admin1 (GeoNames code), population, latitude,
-- longitude}; also inside organisations, agents and engagements as "place".
DROP FUNCTION IF EXISTS place_json(places);
CREATE FUNCTION place_json(p places) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object('id', p.id, 'name', p.name, 'country', p.country,
        'admin1', p.admin1, 'population', p.population,
        'latitude', p.latitude, 'longitude', p.longitude)
$$;

-- The closures of a concluded agreement as the public reads them, by side:
-- [{side, commitments_kept}], each with its note as well when both sides
-- recorded their closure and both agreed to publish the notes.
DROP FUNCTION IF EXISTS agreement_published_closures_json(agreements);
CREATE FUNCTION agreement_published_closures_json(a agreements) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_agg(CASE WHEN b.published
                         THEN json_build_object('side', cl.side, 'commitments_kept', cl.commitments_kept,
                                                'note', cl.note)
                         ELSE json_build_object('side', cl.side, 'commitments_kept', cl.commitments_kept) END
                    ORDER BY cl.side)
    FROM agreement_closures cl
    CROSS JOIN (SELECT count(*) FILTER (WHERE c.publish_note) = 2 AS published
                FROM agreement_closures c WHERE c.agreement_id = a.id) b
    WHERE cl.agreement_id = a.id
$$;

-- The organisation as GET /organisations/{slug} shows it. Purposes are
-- looked up by key: OFFSET 0 keeps the planner from hashing the whole
-- catalogue for the two or three purposes of one row.
DROP FUNCTION IF EXISTS organisation_json(organisations);
CREATE FUNCTION organisation_json(o organisations) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'slug', o.slug,
        'name', o.name,
        'purpose_statement', o.purpose_statement,
        'association_norms', o.association_norms,
        'charter_version', o.charter_version,
        'purposes', coalesce((
            SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name,
                                     'retired', p.retired_at IS NOT NULL) ORDER BY p.slug)
            FROM organisation_purposes op
            CROSS JOIN LATERAL (SELECT p.slug, p.name, p.retired_at FROM purposes p
                                WHERE p.id = op.purpose_id OFFSET 0) p
            WHERE op.organisation_id = o.id), '[]'::json),
        'legal_form', o.legal_form,
        'governance', o.governance,
        'website', o.website,
        -- the badge: the organisation proved it controls its website (or an
        -- administrator vouched for it), when and how (0035)
        'verified', o.verified_at IS NOT NULL,
        'verification', CASE WHEN o.verified_at IS NOT NULL THEN json_build_object(
                            'method', o.verification_method, 'verified_at', api_time(o.verified_at)) END,
        'location', o.location,
        'place', (SELECT j FROM places pl CROSS JOIN LATERAL place_json(pl) j
                  WHERE pl.id = o.place_id),
        'followers', (SELECT count(*) FROM follows f WHERE f.organisation_id = o.id),
        'open_engagements', (SELECT count(*) FROM engagements e
                             WHERE e.organisation_id = o.id AND e.status = 'open' AND NOT e.hidden),
        -- trust runs both ways: its concluded agreements, and in how many the
        -- agent recorded that the organisation kept its commitments
        'track_record', (SELECT json_build_object('concluded', count(*),
                                    'commitments_kept', count(*) FILTER (WHERE EXISTS (
                                        SELECT 1 FROM agreement_closures c WHERE c.agreement_id = a.id
                                          AND c.side = 'agent' AND c.commitments_kept)))
                         FROM agreements a WHERE a.organisation_id = o.id AND a.status = 'concluded'),
        -- the concluded agreements whose closing notes both sides agreed to
        -- publish, newest first (at most 20); the agent is named when its
        -- profile and track record are public
        'published_closures', (SELECT coalesce(json_agg(x.j ORDER BY x.ended DESC, x.id DESC), '[]'::json) FROM (
            SELECT a.id, c.ended, json_build_object(
                'role', v.role,
                'concluded_on', to_char(c.ended AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
                'agent', CASE WHEN g.discoverable AND g.show_track_record
                              THEN json_build_object('handle', g.handle, 'display_name', ac.display_name) END,
                'closures', (SELECT j FROM agreement_published_closures_json(a) j)) AS j
            FROM agreements a
            JOIN agents g ON g.id = a.agent_id
            JOIN accounts ac ON ac.id = g.account_id
            JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = a.active_version
            CROSS JOIN LATERAL (SELECT min(cl.closed_at) AS ended,
                                       count(*) FILTER (WHERE cl.publish_note) = 2 AS published
                                FROM agreement_closures cl WHERE cl.agreement_id = a.id) c
            WHERE a.organisation_id = o.id AND a.status = 'concluded' AND c.published
            ORDER BY c.ended DESC, a.id DESC LIMIT 20) x),
        -- an organisation of another instance (0043): its instance, its
        -- actor and its page there; null for this instance's own
        'remote', (SELECT json_build_object('instance', substring(ra.uri from '^https?://([^/]+)'),
                                            'actor', ra.uri, 'url', coalesce(ra.url, ra.uri))
                   FROM remote_actors ra WHERE ra.id = o.remote_actor_id),
        'version', o.version,
        'created_at', api_time(o.created_at),
        'updated_at', api_time(o.updated_at))
$$;

-- An organisation's website verification as its owners see it (0035): the
-- badge, the token to serve and where, and what the last check found. v is
-- NULL until a token was asked for.
DROP FUNCTION IF EXISTS organisation_verification_json(organisations, organisation_verifications);
CREATE FUNCTION organisation_verification_json(o organisations, v organisation_verifications)
RETURNS SETOF json LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'organisation', json_build_object('slug', o.slug, 'name', o.name),
        'website', o.website,
        'verified', o.verified_at IS NOT NULL,
        'verification', CASE WHEN o.verified_at IS NOT NULL THEN json_build_object(
                            'method', o.verification_method, 'verified_at', api_time(o.verified_at)) END,
        'token', v.token,
        'well_known_url', CASE WHEN v.token IS NOT NULL THEN verification_well_known_url(o.website) END,
        'meta_tag', CASE WHEN v.token IS NOT NULL
                         THEN '<meta name="purposed-verification" content="' || v.token || '">' END,
        'requested_at', api_time(v.requested_at),
        'last_check', CASE WHEN v.checked_at IS NOT NULL THEN json_build_object(
                          'checked_at', api_time(v.checked_at), 'outcome', v.check_outcome,
                          'detail', v.check_detail) END)
$$;

-- One version of a charter: {version, purpose_statement, association_norms,
-- change_note, changed_by: {id, display_name} | null, changed_at}.
DROP FUNCTION IF EXISTS charter_version_json(organisation_charters);
CREATE FUNCTION charter_version_json(c organisation_charters) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'version', c.version,
        'purpose_statement', c.purpose_statement,
        'association_norms', c.association_norms,
        'change_note', c.change_note,
        'changed_by', (SELECT json_build_object('id', a.id, 'display_name', a.display_name)
                       FROM accounts a WHERE a.id = c.changed_by),
        'changed_at', api_time(c.changed_at))
$$;

-- A member of an organisation: {account: {id, display_name}, role, since}.
DROP FUNCTION IF EXISTS member_json(memberships, accounts);
CREATE FUNCTION member_json(m memberships, a accounts) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'account', json_build_object('id', a.id, 'display_name', a.display_name),
        'role', m.role,
        'since', api_time(m.created_at))
$$;

-- The engagement as GET /engagements/{id} shows it (also in lists, feeds and
-- matches; the answer cache of 0009 knows which tables it reads).
DROP FUNCTION IF EXISTS engagement_json(engagements);
CREATE FUNCTION engagement_json(e engagements) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', e.id,
        'organisation', (SELECT json_build_object('slug', o.slug, 'name', o.name)
                         FROM organisations o WHERE o.id = e.organisation_id),
        'title', e.title,
        'description', e.description,
        'purposes', coalesce((
            SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name,
                                     'retired', p.retired_at IS NOT NULL) ORDER BY p.slug)
            FROM engagement_purposes ep
            CROSS JOIN LATERAL (SELECT p.slug, p.name, p.retired_at FROM purposes p
                                WHERE p.id = ep.purpose_id OFFSET 0) p
            WHERE ep.engagement_id = e.id), '[]'::json),
        'packagings', to_json(e.packagings),
        'hours_per_week', e.hours_per_week,
        'duration_weeks', e.duration_weeks,
        'closes_on', e.closes_on,
        'skills', to_json(e.skills),
        'location', e.location,
        'place', (SELECT j FROM places pl CROSS JOIN LATERAL place_json(pl) j
                  WHERE pl.id = e.place_id),
        'remote_ok', e.remote_ok,
        'rewards', json_build_object(
            'cash', CASE WHEN e.cash_min IS NULL THEN NULL ELSE json_build_object(
                'min', e.cash_min, 'max', e.cash_max,
                'currency', e.cash_currency, 'period', e.cash_period) END,
            'non_cash', to_json(e.non_cash)),
        'status', e.status,
        -- an engagement a remote organisation sent (0043): its instance and
        -- its page there; null for this instance's own
        'remote', CASE WHEN e.origin_uri IS NOT NULL THEN json_build_object(
                      'instance', substring(e.origin_uri from '^https?://([^/]+)'),
                      'url', coalesce(e.origin_url, e.origin_uri)) END,
        'version', e.version,
        'created_at', api_time(e.created_at),
        'updated_at', api_time(e.updated_at))
$$;

-- ---------- agents ----------

-- {concluded, commitments_kept} over the agent's concluded agreements (kept
-- when both sides recorded so). Never terms or organisations.
DROP FUNCTION IF EXISTS agent_track_record(bigint);
DROP FUNCTION IF EXISTS agent_track_record_json(agents);
CREATE FUNCTION agent_track_record_json(g agents) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'concluded', count(*),
        'commitments_kept', count(*) FILTER (WHERE (
            SELECT count(*) FROM agreement_closures c
            WHERE c.agreement_id = a.id AND c.commitments_kept) = 2))
    FROM agreements a
    WHERE a.agent_id = g.id AND a.status = 'concluded'
$$;

-- The concluded agreements of a public track record, newest first (at most
-- 50): with whom, in what role, for which purposes, over what period, the
-- hours the organisation confirmed, and each side's closure (commitments
-- kept or not; the notes only when both sides agreed to publish them:
-- agreement_published_closures_json).
DROP FUNCTION IF EXISTS agent_concluded_agreements_json(agents);
CREATE FUNCTION agent_concluded_agreements_json(g agents) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT coalesce(json_agg(x.j ORDER BY x.ended DESC, x.id DESC), '[]'::json) FROM (
        SELECT a.id, c.ended, json_build_object(
            'organisation', json_build_object('slug', o.slug, 'name', o.name),
            'role', v.role,
            'purposes', coalesce((
                SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name) ORDER BY p.slug)
                FROM agreement_version_purposes vp JOIN purposes p ON p.id = vp.purpose_id
                WHERE vp.agreement_id = a.id AND vp.version = v.version), '[]'::json),
            'started_on', (SELECT min(f.starts_on) FROM agreement_versions f
                           JOIN agreement_version_outcomes fo ON fo.agreement_id = f.agreement_id
                            AND fo.version = f.version AND fo.outcome = 'accepted'
                           WHERE f.agreement_id = a.id),
            'concluded_on', to_char(c.ended AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
            'hours_confirmed', (SELECT coalesce(sum(h.hours), 0) FROM agreement_hours h
                                JOIN agreement_hours_decisions d ON d.entry_id = h.id
                                 AND d.outcome = 'confirmed' WHERE h.agreement_id = a.id),
            'closures', (SELECT j FROM agreement_published_closures_json(a) j)) AS j
        FROM agreements a
        JOIN organisations o ON o.id = a.organisation_id
        JOIN agreement_versions v ON v.agreement_id = a.id AND v.version = a.active_version
        CROSS JOIN LATERAL (SELECT min(cl.closed_at) AS ended FROM agreement_closures cl
                            WHERE cl.agreement_id = a.id) c
        WHERE a.agent_id = g.id AND a.status = 'concluded' AND o.hidden_at IS NULL
        ORDER BY c.ended DESC, a.id DESC LIMIT 50) x
$$;

-- What every view of an agent shows first (g's account is a): the profile
-- and the purposes with energy, biggest share first. Emails never.
DROP FUNCTION IF EXISTS agent_profile_json(agents, accounts);
CREATE FUNCTION agent_profile_json(g agents, a accounts) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'handle', g.handle,
        'display_name', a.display_name,
        'headline', g.headline,
        'personal_purpose', g.personal_purpose,
        'skills', to_json(g.skills),
        'capacity_hours_per_week', g.capacity_hours_per_week,
        'packagings', to_json(g.packagings),
        'location', g.location,
        'place', (SELECT j FROM places pl CROSS JOIN LATERAL place_json(pl) j
                  WHERE pl.id = g.place_id),
        'remote_ok', g.remote_ok,
        'purposes', coalesce((
            SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name, 'energy', ap.energy,
                                     'retired', p.retired_at IS NOT NULL)
                            ORDER BY ap.energy DESC, p.slug)
            FROM agent_purposes ap
            CROSS JOIN LATERAL (SELECT p.slug, p.name, p.retired_at FROM purposes p
                                WHERE p.id = ap.purpose_id OFFSET 0) p
            WHERE ap.agent_id = g.id), '[]'::json))
$$;

-- What anyone may see of an agent: the profile, the track record when the
-- agent shows it, the version.
DROP FUNCTION IF EXISTS agent_public_json(agents, accounts);
CREATE FUNCTION agent_public_json(g agents, a accounts) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_concat((SELECT j FROM agent_profile_json(g, a) j),
        CASE WHEN g.show_track_record
             THEN json_build_object('track_record', (SELECT t FROM agent_track_record_json(g) t),
                                    'concluded_agreements',
                                    (SELECT c FROM agent_concluded_agreements_json(g) c),
                                    'version', g.version)
             ELSE json_build_object('version', g.version) END)
$$;

-- What the agent itself sees: its settings too.
DROP FUNCTION IF EXISTS agent_own_json(agents, accounts);
CREATE FUNCTION agent_own_json(g agents, a accounts) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_concat((SELECT j FROM agent_profile_json(g, a) j), json_build_object(
        'track_record', (SELECT t FROM agent_track_record_json(g) t),
        'concluded_agreements', (SELECT c FROM agent_concluded_agreements_json(g) c),
        'discoverable', g.discoverable,
        'show_track_record', g.show_track_record,
        'show_follows', g.show_follows,
        'created_at', api_time(g.created_at),
        'updated_at', api_time(g.updated_at),
        'version', g.version))
$$;

-- ---------- follows ----------

-- A follower as the organisation's members see it (g of account a).
DROP FUNCTION IF EXISTS follower_json(follows, agents, accounts);
CREATE FUNCTION follower_json(f follows, g agents, a accounts) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'handle', g.handle,
        'display_name', a.display_name,
        'headline', g.headline,
        'followed_at', api_time(f.created_at))
$$;

-- An organisation the agent follows (o).
DROP FUNCTION IF EXISTS follow_json(follows, organisations);
CREATE FUNCTION follow_json(f follows, o organisations) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'slug', o.slug,
        'name', o.name,
        'followed_at', api_time(f.created_at))
$$;

-- ---------- agreements ----------

-- One version of the terms.
DROP FUNCTION IF EXISTS terms_json(agreement_versions);
CREATE FUNCTION terms_json(v agreement_versions) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'version', v.version,
        'role', v.role,
        'purposes', coalesce((
            SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name) ORDER BY p.slug)
            FROM agreement_version_purposes vp JOIN purposes p ON p.id = vp.purpose_id
            WHERE vp.agreement_id = v.agreement_id AND vp.version = v.version), '[]'::json),
        'packaging', v.packaging,
        'hours_per_week', v.hours_per_week,
        'terms', v.terms,
        'rewards', v.rewards,
        'starts_on', v.starts_on,
        'review_on', v.review_on,
        'change_note', v.change_note,
        -- proposed as a renewal (0028): past the review date of the terms in force
        'renewal', EXISTS (SELECT 1 FROM agreement_renewals r
                           WHERE r.agreement_id = v.agreement_id AND r.version = v.version),
        'proposed_by', v.proposed_by,
        'author', coalesce((SELECT json_build_object('id', au.id, 'display_name', au.display_name)
                            FROM accounts au WHERE au.id = v.author_id),
                           CASE WHEN v.author_actor IS NOT NULL
                                THEN json_build_object('id', NULL, 'actor', v.author_actor) END),
        'author_actor', v.author_actor,
        'created_at', api_time(v.created_at),
        -- where this version stands: pending (awaits the other side),
        -- in_force, accepted (was in force; replaced or concluded since),
        -- declined, withdrawn, superseded (replaced before an answer)
        'outcome', CASE WHEN a.status = 'proposed' AND a.terms_version = v.version THEN 'pending'
                        WHEN a.status IN ('active', 'proposed') AND a.active_version = v.version THEN 'in_force'
                        ELSE o.outcome END,
        'decided_by', o.side,
        'decided_at', api_time(o.decided_at))
    FROM agreements a LEFT JOIN agreement_version_outcomes o
      ON o.agreement_id = v.agreement_id AND o.version = v.version
    WHERE a.id = v.agreement_id
$$;

-- The closures of an agreement, oldest first: [{side, commitments_kept, note,
-- publish_note (the side agreed to publish its note), closed_at}].
DROP FUNCTION IF EXISTS agreement_closures_json(agreements);
CREATE FUNCTION agreement_closures_json(a agreements) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT coalesce(json_agg(json_build_object(
               'side', c.side, 'commitments_kept', c.commitments_kept, 'note', c.note,
               'publish_note', c.publish_note,
               'closed_at', api_time(c.closed_at)) ORDER BY c.closed_at, c.side), '[]'::json)
    FROM agreement_closures c WHERE c.agreement_id = a.id
$$;

-- The version of the terms an agreement shows: the pending one while
-- proposed, else the one in force, else (declined or withdrawn) the last one
-- proposed.
DROP FUNCTION IF EXISTS agreement_shown_version(agreements);
CREATE FUNCTION agreement_shown_version(a agreements) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a.status = 'proposed' OR a.active_version IS NULL THEN a.terms_version
                ELSE a.active_version END
$$;

-- Where the relationship stands, pending changes aside: an active agreement
-- whose amendment awaits consent is still active (its status is 'proposed',
-- as the contract says, and its terms in force still bind).
DROP FUNCTION IF EXISTS agreement_standing(agreements);
CREATE FUNCTION agreement_standing(a agreements) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN a.status = 'proposed' AND a.active_version IS NOT NULL THEN 'active'
                ELSE a.status END
$$;

-- The latest change that never came into force, when none has come into
-- force since: {version, outcome (declined|withdrawn), by (side), at, terms}.
DROP FUNCTION IF EXISTS agreement_dropped_change_json(agreements);
CREATE FUNCTION agreement_dropped_change_json(a agreements) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT (SELECT json_build_object('version', o.version, 'outcome', o.outcome, 'by', o.side,
                                     'at', api_time(o.decided_at), 'terms', j)
            FROM agreement_version_outcomes o
            JOIN agreement_versions v ON v.agreement_id = o.agreement_id AND v.version = o.version
            CROSS JOIN LATERAL terms_json(v) j
            WHERE o.agreement_id = a.id AND o.outcome IN ('declined', 'withdrawn')
              AND o.version > coalesce(a.active_version, 0)
            ORDER BY o.version DESC LIMIT 1)
$$;

-- The party of a federated agreement kept on the other instance (migration
-- 0042): its actor, named by handle (preferredUsername@host) linking home.
-- slug (an organisation) is null: it has no page here.
DROP FUNCTION IF EXISTS remote_party_json(remote_actors, text);
CREATE FUNCTION remote_party_json(ra remote_actors, side text) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE side
        WHEN 'organisation' THEN json_build_object('slug', NULL, 'name', coalesce(ra.name, ra.username),
            'remote', true, 'handle', concat(ra.username, '@', substring(ra.uri from '^https?://([^/]+)')),
            'url', coalesce(ra.url, ra.uri), 'actor', ra.uri)
        ELSE json_build_object('handle', concat(ra.username, '@', substring(ra.uri from '^https?://([^/]+)')),
            'display_name', coalesce(ra.name, ra.username), 'remote', true,
            'url', coalesce(ra.url, ra.uri), 'actor', ra.uri) END
$$;

-- The engagement an agreement is for: a local one, or (on the agent's
-- instance of a federated agreement) the remote engagement it was proposed on.
DROP FUNCTION IF EXISTS agreement_engagement_json(agreements);
CREATE FUNCTION agreement_engagement_json(a agreements) RETURNS json
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT coalesce(
        (SELECT json_build_object('id', e.id, 'title', e.title) FROM engagements e WHERE e.id = a.engagement_id),
        (SELECT json_build_object('id', re.id, 'title', re.title, 'remote', true,
                                  'url', coalesce(re.url, re.object_uri))
         FROM remote_engagements re WHERE re.id = a.remote_engagement_id))
$$;

-- An agreement in a list: the parties and the shown terms in brief.
DROP FUNCTION IF EXISTS agreement_summary_json(agreements);
CREATE FUNCTION agreement_summary_json(a agreements) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', a.id,
        'status', a.status,
        'proposed_by', a.proposed_by,
        'organisation', CASE WHEN o.id IS NULL THEN remote_party_json(ra, 'organisation')
                             ELSE json_build_object('slug', o.slug, 'name', o.name) END,
        'agent', CASE WHEN g.id IS NULL THEN remote_party_json(ra, 'agent')
                      ELSE json_build_object('handle', g.handle, 'display_name', acc.display_name) END,
        'engagement', agreement_engagement_json(a),
        'federated_uri', a.federated_uri,
        'role', t.role,
        'packaging', t.packaging,
        'hours_per_week', t.hours_per_week,
        'starts_on', t.starts_on,
        'review_on', t.review_on,
        'terms_version', a.terms_version,
        'active_version', a.active_version,
        'standing', agreement_standing(a),
        'pending_version', CASE WHEN a.status = 'proposed' THEN a.terms_version END,
        'created_at', api_time(a.created_at),
        'updated_at', api_time(a.updated_at),
        'version', a.version)
    FROM agreement_versions t
    LEFT JOIN organisations o ON o.id = a.organisation_id
    LEFT JOIN agents g ON g.id = a.agent_id LEFT JOIN accounts acc ON acc.id = g.account_id
    LEFT JOIN remote_actors ra ON ra.id = a.remote_actor_id
    WHERE t.agreement_id = a.id AND t.version = agreement_shown_version(a)
$$;

-- An agreement in the agent's portfolio: the summary and the weekly hours
-- committed by the terms in force.
DROP FUNCTION IF EXISTS portfolio_agreement_json(agreements, integer);
CREATE FUNCTION portfolio_agreement_json(a agreements, committed_hours integer) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_concat(s, json_build_object('committed_hours', committed_hours))
    FROM agreement_summary_json(a) s
$$;

-- The energy ledger of an agent: what it said it would give each purpose
-- (energy) against the hours actually given, confirmed by the other side.
-- A confirmed entry counts for the purposes of its agreement's terms in
-- force, split evenly. Per purpose and per agreement: the confirmed hours
-- in all, and in each of the last 8 weeks (weeks: their Mondays, oldest
-- first); share: the purpose's part of all confirmed hours, in percent.
-- Only the agent's own agreements, read by the agent (GET /me/portfolio).
DROP FUNCTION IF EXISTS energy_ledger_json(agents);
CREATE FUNCTION energy_ledger_json(g agents) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    WITH weeks AS (
        SELECT w::date AS week FROM generate_series(date_trunc('week', current_date) - interval '7 weeks',
                                                     date_trunc('week', current_date), interval '1 week') w),
    mine AS (
        SELECT a.id, a.status, a.active_version, a.organisation_id FROM agreements a
        WHERE a.agent_id = g.id AND a.active_version IS NOT NULL),
    given AS (
        SELECT h.agreement_id, date_trunc('week', h.worked_on)::date AS week, h.hours
        FROM agreement_hours h JOIN mine m ON m.id = h.agreement_id
        JOIN agreement_hours_decisions d ON d.entry_id = h.id AND d.outcome = 'confirmed'),
    per_purpose AS (
        SELECT vp.purpose_id, gv.week, gv.hours / n.n AS hours
        FROM given gv JOIN mine m ON m.id = gv.agreement_id
        JOIN agreement_version_purposes vp ON vp.agreement_id = m.id AND vp.version = m.active_version
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM agreement_version_purposes x
                            WHERE x.agreement_id = m.id AND x.version = m.active_version) n),
    total AS (SELECT coalesce(sum(hours), 0) AS h FROM given),
    ids AS (SELECT ap.purpose_id FROM agent_purposes ap WHERE ap.agent_id = g.id
            UNION SELECT purpose_id FROM per_purpose)
    SELECT json_build_object(
        'weeks', (SELECT json_agg(week ORDER BY week) FROM weeks),
        'confirmed_hours', round((SELECT h FROM total), 2),
        'purposes', coalesce((
            SELECT json_agg(json_build_object(
                       'purpose', json_build_object('slug', p.slug, 'name', p.name),
                       'energy', coalesce(ap.energy, 0),
                       'confirmed_hours', round(x.h, 2),
                       'share', CASE WHEN t.h > 0 THEN round(100 * x.h / t.h) END,
                       'weeks', (SELECT json_agg(round(coalesce((SELECT sum(pp.hours) FROM per_purpose pp
                                                  WHERE pp.purpose_id = p.id AND pp.week = w.week), 0), 2)
                                        ORDER BY w.week) FROM weeks w))
                   ORDER BY coalesce(ap.energy, 0) DESC, x.h DESC, p.slug)
            FROM ids JOIN purposes p ON p.id = ids.purpose_id
            LEFT JOIN agent_purposes ap ON ap.agent_id = g.id AND ap.purpose_id = p.id
            CROSS JOIN LATERAL (SELECT coalesce(sum(pp.hours), 0) AS h FROM per_purpose pp
                                WHERE pp.purpose_id = p.id) x
            CROSS JOIN total t), '[]'::json),
        'agreements', coalesce((
            SELECT json_agg(json_build_object(
                       'id', m.id, 'status', m.status, 'role', v.role,
                       'organisation', json_build_object('slug', o.slug, 'name', o.name),
                       'hours_per_week', v.hours_per_week,
                       'confirmed_hours', round(coalesce((SELECT sum(gv.hours) FROM given gv
                                                          WHERE gv.agreement_id = m.id), 0), 2),
                       'weeks', (SELECT json_agg(round(coalesce((SELECT sum(gv.hours) FROM given gv
                                                  WHERE gv.agreement_id = m.id AND gv.week = w.week), 0), 2)
                                        ORDER BY w.week) FROM weeks w))
                   ORDER BY m.id DESC)
            FROM mine m
            JOIN agreement_versions v ON v.agreement_id = m.id AND v.version = m.active_version
            JOIN organisations o ON o.id = m.organisation_id), '[]'::json))
$$;

-- GET /me/portfolio: the agent's capacity and committed hours, the open
-- agreements (portfolio_agreement_json), energy and committed hours per
-- purpose, warnings (over capacity, reviews due within 14 days, energy
-- no active agreement serves) and the energy ledger (energy_ledger_json).
DROP FUNCTION IF EXISTS portfolio_json(agents);
CREATE FUNCTION portfolio_json(g agents) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    WITH g0 AS (SELECT g.id, g.capacity_hours_per_week AS cap),
    open AS (
        SELECT a.id, a.organisation_id, a.active_version
        FROM agreements a JOIN g0 ON a.agent_id = g0.id
        WHERE a.status IN ('proposed', 'active')),
    inforce AS (
        SELECT op.id, v.version, v.hours_per_week, v.review_on, v.role, org.slug, org.name,
               (SELECT count(*) FROM agreement_version_purposes vp
                WHERE vp.agreement_id = op.id AND vp.version = v.version) AS npurposes
        FROM open op
        JOIN agreement_versions v ON v.agreement_id = op.id AND v.version = op.active_version
        JOIN organisations org ON org.id = op.organisation_id),
    committed AS (SELECT coalesce(sum(hours_per_week), 0)::int AS h FROM inforce),
    purpose_hours AS (
        SELECT vp.purpose_id, sum(i.hours_per_week::numeric / greatest(i.npurposes, 1)) AS h
        FROM inforce i
        JOIN agreement_version_purposes vp ON vp.agreement_id = i.id AND vp.version = i.version
        GROUP BY vp.purpose_id),
    ids AS (
        SELECT ap.purpose_id FROM agent_purposes ap JOIN g0 ON ap.agent_id = g0.id
        UNION SELECT purpose_id FROM purpose_hours),
    purposes_all AS (
        SELECT p.slug, p.name, coalesce(ap.energy, 0) AS energy, coalesce(ph.h, 0) AS h
        FROM ids JOIN purposes p ON p.id = ids.purpose_id
        LEFT JOIN agent_purposes ap ON ap.purpose_id = p.id AND ap.agent_id = (SELECT id FROM g0)
        LEFT JOIN purpose_hours ph ON ph.purpose_id = p.id),
    warnings AS (
        SELECT 1 AS ord, '' AS k, json_build_object('kind', 'over_capacity', 'message',
                   format('You have committed %s hours per week, more than your capacity of %s.', c.h, g0.cap)) AS w
        FROM committed c, g0 WHERE c.h > g0.cap
        UNION ALL
        SELECT 2, i.review_on::text || '/' || i.id, json_build_object('kind', 'review_due', 'message',
                   CASE WHEN i.review_on < current_date
                        THEN format('The review of "%s" with %s was due on %s.', i.role, i.name, to_char(i.review_on, 'FMDD Mon YYYY'))
                        WHEN i.review_on = current_date
                        THEN format('The review of "%s" with %s is due today.', i.role, i.name)
                        WHEN i.review_on = current_date + 1
                        THEN format('The review of "%s" with %s is due tomorrow.', i.role, i.name)
                        ELSE format('The review of "%s" with %s is due on %s, in %s days.', i.role, i.name,
                                    to_char(i.review_on, 'FMDD Mon YYYY'), i.review_on - current_date) END,
                   'review_on', i.review_on,
                   'agreement', json_build_object('id', i.id, 'role', i.role,
                                'organisation', json_build_object('slug', i.slug, 'name', i.name)))
        FROM inforce i WHERE i.review_on <= current_date + 14
        UNION ALL
        SELECT 3, pa.slug, json_build_object('kind', 'energy_without_agreement', 'message',
                   format('You give %s%% of your energy to %s, but no active agreement serves it.', pa.energy, pa.name),
                   'purpose', json_build_object('slug', pa.slug, 'name', pa.name))
        FROM purposes_all pa WHERE pa.energy > 0 AND pa.h = 0 AND EXISTS (SELECT 1 FROM inforce))
    SELECT json_build_object(
        'capacity_hours_per_week', g0.cap,
        'committed_hours', c.h,
        'available_hours', greatest(g0.cap - c.h, 0),
        'agreements', coalesce((
            SELECT json_agg(x.j ORDER BY x.id DESC)
            FROM (SELECT a.id, j FROM agreements a LEFT JOIN inforce i ON i.id = a.id
                  CROSS JOIN LATERAL portfolio_agreement_json(a, coalesce(i.hours_per_week, 0)) j
                  WHERE a.id IN (SELECT id FROM open)) x), '[]'::json),
        'purposes', coalesce((
            SELECT json_agg(json_build_object(
                       'purpose', json_build_object('slug', pa.slug, 'name', pa.name),
                       'energy', pa.energy, 'committed_hours', round(pa.h, 2))
                   ORDER BY pa.energy DESC, pa.h DESC, pa.slug)
            FROM purposes_all pa), '[]'::json),
        'warnings', coalesce((SELECT json_agg(w ORDER BY ord, k) FROM warnings), '[]'::json),
        'energy_ledger', (SELECT l FROM energy_ledger_json(g) l))
    FROM g0, committed c
$$;

-- ---------- an agreement's conversation and hours (migration 0028) ----------

-- One message of an agreement's thread, as viewer reads it. A message a
-- moderator hid (hidden_messages, migration 0040) keeps its place with
-- hidden true and body null, except for its author and moderators
-- (moderator: the viewer moderates), who read the body with hidden true.
DROP FUNCTION IF EXISTS agreement_message_json(agreement_messages);
DROP FUNCTION IF EXISTS agreement_message_json(agreement_messages, bigint, boolean);
CREATE FUNCTION agreement_message_json(m agreement_messages, viewer bigint, moderator boolean)
RETURNS SETOF json LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', m.id,
        'agreement_id', m.agreement_id,
        'side', m.side,
        'author', json_build_object('id', au.id, 'display_name', au.display_name),
        'body', CASE WHEN hm.hidden AND NOT (moderator OR viewer = m.author_id) THEN NULL
                     ELSE m.body END,
        'hidden', hm.hidden,
        'created_at', api_time(m.created_at))
    FROM accounts au,
         LATERAL (SELECT EXISTS (SELECT 1 FROM hidden_messages h
                                 WHERE h.agreement_message_id = m.id) AS hidden) hm
    WHERE au.id = m.author_id
$$;

-- One message of a thread about an engagement, before any proposal; a
-- hidden one as agreement_message_json says.
DROP FUNCTION IF EXISTS engagement_message_json(engagement_messages);
DROP FUNCTION IF EXISTS engagement_message_json(engagement_messages, bigint, boolean);
CREATE FUNCTION engagement_message_json(m engagement_messages, viewer bigint, moderator boolean)
RETURNS SETOF json LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', m.id,
        'engagement_id', m.engagement_id,
        'side', m.side,
        'author', json_build_object('id', au.id, 'display_name', au.display_name),
        'body', CASE WHEN hm.hidden AND NOT (moderator OR viewer = m.author_id) THEN NULL
                     ELSE m.body END,
        'hidden', hm.hidden,
        'created_at', api_time(m.created_at))
    FROM accounts au,
         LATERAL (SELECT EXISTS (SELECT 1 FROM hidden_messages h
                                 WHERE h.engagement_message_id = m.id) AS hidden) hm
    WHERE au.id = m.author_id
$$;

-- One entry of hours and where it stands: awaiting (the other side has not
-- answered), confirmed or disputed.
DROP FUNCTION IF EXISTS agreement_hours_json(agreement_hours);
CREATE FUNCTION agreement_hours_json(h agreement_hours) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', h.id,
        'agreement_id', h.agreement_id,
        'worked_on', h.worked_on,
        'hours', h.hours,
        'note', h.note,
        'side', h.side,
        'logged_by', json_build_object('id', au.id, 'display_name', au.display_name),
        'logged_at', api_time(h.logged_at),
        'status', coalesce(d.outcome, 'awaiting'),
        'decision', CASE WHEN d.entry_id IS NOT NULL THEN json_build_object(
            'outcome', d.outcome, 'side', d.side, 'note', d.note,
            'by', (SELECT json_build_object('id', db.id, 'display_name', db.display_name)
                   FROM accounts db WHERE db.id = d.decided_by),
            'at', api_time(d.decided_at)) END)
    FROM accounts au LEFT JOIN agreement_hours_decisions d ON d.entry_id = h.id
    WHERE au.id = h.logged_by
$$;

-- The hours of an agreement in sum: {confirmed, awaiting, disputed, entries}.
DROP FUNCTION IF EXISTS agreement_hours_totals_json(agreements);
CREATE FUNCTION agreement_hours_totals_json(a agreements) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'confirmed', coalesce(sum(h.hours) FILTER (WHERE d.outcome = 'confirmed'), 0),
        'awaiting', coalesce(sum(h.hours) FILTER (WHERE d.outcome IS NULL), 0),
        'disputed', coalesce(sum(h.hours) FILTER (WHERE d.outcome = 'disputed'), 0),
        'entries', count(h.id))
    FROM agreement_hours h LEFT JOIN agreement_hours_decisions d ON d.entry_id = h.id
    WHERE h.agreement_id = a.id
$$;

-- The agreement as its parties read it. The answer adds what depends on the
-- caller (my_side, awaiting, allowed_actions: lib/agreement.c) in
-- handlers/agreements.c.
DROP FUNCTION IF EXISTS agreement_json(agreements);
CREATE FUNCTION agreement_json(a agreements) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', a.id,
        'status', a.status,
        'proposed_by', a.proposed_by,
        'organisation', CASE WHEN o.id IS NULL THEN remote_party_json(ra, 'organisation')
                             ELSE json_build_object('slug', o.slug, 'name', o.name) END,
        'agent', CASE WHEN g.id IS NULL THEN remote_party_json(ra, 'agent')
                      ELSE json_build_object('handle', g.handle, 'display_name', acc.display_name) END,
        'engagement', agreement_engagement_json(a),
        'federated_uri', a.federated_uri,
        'terms_version', a.terms_version,
        'active_version', a.active_version,
        'pending_version', CASE WHEN a.status = 'proposed' THEN a.terms_version END,
        'terms', (SELECT j FROM agreement_versions v CROSS JOIN LATERAL terms_json(v) j
                  WHERE v.agreement_id = a.id AND v.version = agreement_shown_version(a)),
        'active_terms', (SELECT j FROM agreement_versions v CROSS JOIN LATERAL terms_json(v) j
                         WHERE v.agreement_id = a.id AND v.version = a.active_version),
        -- three things a reader must never confuse: the terms in force
        -- (active_terms, null until accepted and once concluded they are the
        -- last ones), the change awaiting consent, the change refused
        'standing', agreement_standing(a),
        'pending_terms', (SELECT j FROM agreement_versions v CROSS JOIN LATERAL terms_json(v) j
                          WHERE a.status = 'proposed' AND v.agreement_id = a.id
                            AND v.version = a.terms_version),
        'dropped_change', (SELECT j FROM agreement_dropped_change_json(a) j),
        'closures', (SELECT j FROM agreement_closures_json(a) j),
        -- hours given under it (0028): confirmed, awaiting an answer, disputed
        'hours', (SELECT j FROM agreement_hours_totals_json(a) j),
        'messages', (SELECT count(*) FROM agreement_messages m WHERE m.agreement_id = a.id),
        'created_at', api_time(a.created_at),
        'updated_at', api_time(a.updated_at),
        'version', a.version)
    FROM (SELECT 1) one
    LEFT JOIN organisations o ON o.id = a.organisation_id
    LEFT JOIN agents g ON g.id = a.agent_id LEFT JOIN accounts acc ON acc.id = g.account_id
    LEFT JOIN remote_actors ra ON ra.id = a.remote_actor_id
$$;

-- ---------- notifications ----------

DROP FUNCTION IF EXISTS notification_json(notifications);
CREATE FUNCTION notification_json(n notifications) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', n.id,
        'kind', n.kind,
        'message', n.message,
        'agreement_id', n.agreement_id,
        'engagement_id', n.engagement_id,
        'payload', n.payload,
        'read', n.read_at IS NOT NULL,
        'read_at', api_time(n.read_at),
        'created_at', api_time(n.created_at))
$$;

-- How each kind of notification reaches the account by mail
-- (GET /me/notification-preferences): {preferences: [{kind, delivery}] for
-- every kind (immediately unless the account chose otherwise), digest:
-- {last_sent_at, waiting}}.
DROP FUNCTION IF EXISTS notification_preferences_json(accounts);
CREATE FUNCTION notification_preferences_json(acc accounts) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'preferences', (
            SELECT json_agg(json_build_object('kind', k.kind,
                                              'delivery', coalesce(p.delivery, 'immediately'))
                            ORDER BY k.n)
            FROM unnest(ARRAY['agreement_proposed', 'agreement_amended', 'agreement_renewal_proposed',
                              'agreement_accepted', 'agreement_declined', 'agreement_withdrawn',
                              'agreement_concluded', 'agreement_closure_recorded', 'agreement_review_due',
                              'agreement_message', 'agreement_hours_logged', 'agreement_hours_confirmed',
                              'agreement_hours_disputed', 'engagement_posted', 'engagement_question',
                              'engagement_answer', 'saved_search_match', 'moderation']) WITH ORDINALITY AS k(kind, n)
            LEFT JOIN notification_mail_preferences p ON p.account_id = acc.id AND p.kind = k.kind),
        'digest', json_build_object(
            'last_sent_at', (SELECT api_time(d.last_sent_at) FROM notification_digests d
                             WHERE d.account_id = acc.id),
            'waiting', (SELECT count(*) FROM notification_digest_items i WHERE i.account_id = acc.id)))
$$;

-- An invitation as the organisation's owners see it: the address they
-- typed (never whether it has an account), the role, who asked, when, and
-- whether it is still pending or expired.
DROP FUNCTION IF EXISTS invitation_json(membership_invitations);
CREATE FUNCTION invitation_json(i membership_invitations) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', i.id,
        'email', i.email,
        'role', i.role,
        'invited_by', (SELECT json_build_object('id', w.id, 'display_name', w.display_name)
                       FROM accounts w WHERE w.id = i.invited_by AND w.deleted_at IS NULL),
        'status', CASE WHEN i.expires_at > now() THEN 'pending' ELSE 'expired' END,
        'created_at', api_time(i.created_at),
        'expires_at', api_time(i.expires_at))
$$;

-- ---------- credentials (docs/credentials.md) ----------

-- A credential as its holder and its issuer see it: the document exactly as
-- issued and its state. {id, agreement_id, organisation: {slug, name},
-- published, issued_at, revocation: {reason, revoked_at} | null, credential}.
DROP FUNCTION IF EXISTS credential_item_json(credentials);
CREATE FUNCTION credential_item_json(c credentials) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', c.uuid,
        'agreement_id', c.agreement_id,
        'organisation', json_build_object('slug', o.slug, 'name', o.name),
        'published', c.published,
        'issued_at', api_time(c.issued_at),
        'revocation', (SELECT json_build_object('reason', rv.reason, 'revoked_at', api_time(rv.revoked_at))
                       FROM credential_revocations rv WHERE rv.credential_id = c.id),
        'credential', c.document::json)
    FROM organisations o WHERE o.id = c.organisation_id
$$;

-- A credential the agent published, as anyone sees it on the agent's
-- profile: {id, organisation: {slug, name}, issued_at, revoked, credential}.
DROP FUNCTION IF EXISTS published_credential_json(credentials);
CREATE FUNCTION published_credential_json(c credentials) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', c.uuid,
        'organisation', json_build_object('slug', o.slug, 'name', o.name),
        'issued_at', api_time(c.issued_at),
        'revoked', EXISTS (SELECT 1 FROM credential_revocations rv WHERE rv.credential_id = c.id),
        'credential', c.document::json)
    FROM organisations o WHERE o.id = c.organisation_id
$$;

-- ---------- the export (GET /me/export) ----------

-- Everything an account owns, in one document: the account (never its
-- password hash), the agent profile, purposes with energy, follows, the
-- agent's agreements with every version, closure, message and hours entry,
-- notifications,
-- memberships, the agent's credentials as issued (docs/credentials.md), and
-- whether a personal feed exists (never its token).
DROP FUNCTION IF EXISTS account_export_json(accounts);
CREATE FUNCTION account_export_json(acc accounts) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'format', 'purposed-export/1',
        'exported_at', api_time(now()),
        'account', (SELECT j FROM account_json(acc) j),
        'agent', (SELECT json_build_object('handle', g.handle, 'headline', g.headline,
                      'personal_purpose', g.personal_purpose, 'skills', to_json(g.skills),
                      'capacity_hours_per_week', g.capacity_hours_per_week,
                      'packagings', to_json(g.packagings), 'location', g.location,
                      'remote_ok', g.remote_ok, 'discoverable', g.discoverable,
                      'show_track_record', g.show_track_record, 'show_follows', g.show_follows,
                      'track_record', (SELECT t FROM agent_track_record_json(g) t),
                      'created_at', api_time(g.created_at), 'updated_at', api_time(g.updated_at),
                      'version', g.version)
                  FROM agents g WHERE g.account_id = acc.id),
        'purposes', coalesce((
            SELECT json_agg(json_build_object(
                       'purpose', json_build_object('slug', p.slug, 'name', p.name),
                       'energy', ap.energy) ORDER BY ap.energy DESC, p.slug)
            FROM agents g JOIN agent_purposes ap ON ap.agent_id = g.id
            JOIN purposes p ON p.id = ap.purpose_id WHERE g.account_id = acc.id), '[]'::json),
        'follows', coalesce((
            SELECT json_agg(json_build_object(
                       'organisation', json_build_object('slug', o.slug, 'name', o.name),
                       'created_at', api_time(f.created_at)) ORDER BY f.created_at, o.slug)
            FROM agents g JOIN follows f ON f.agent_id = g.id
            JOIN organisations o ON o.id = f.organisation_id WHERE g.account_id = acc.id),
            '[]'::json),
        'agreements', coalesce((
            SELECT json_agg(json_build_object(
                       'id', a.id, 'status', a.status, 'proposed_by', a.proposed_by,
                       'organisation', json_build_object('slug', o.slug, 'name', o.name),
                       'engagement', (SELECT json_build_object('id', e.id, 'title', e.title)
                                      FROM engagements e WHERE e.id = a.engagement_id),
                       'terms_version', a.terms_version, 'active_version', a.active_version,
                       'versions', (SELECT json_agg(j ORDER BY v.version)
                                    FROM agreement_versions v CROSS JOIN LATERAL terms_json(v) j
                                    WHERE v.agreement_id = a.id),
                       'closures', (SELECT j FROM agreement_closures_json(a) j),
                       'messages', coalesce((SELECT json_agg(j ORDER BY m.id)
                                             FROM agreement_messages m
                                             CROSS JOIN LATERAL agreement_message_json(m, acc.id, false) j
                                             WHERE m.agreement_id = a.id), '[]'::json),
                       'hours', coalesce((SELECT json_agg(j ORDER BY h.worked_on, h.id)
                                          FROM agreement_hours h
                                          CROSS JOIN LATERAL agreement_hours_json(h) j
                                          WHERE h.agreement_id = a.id), '[]'::json),
                       'created_at', api_time(a.created_at), 'updated_at', api_time(a.updated_at),
                       'version', a.version) ORDER BY a.id)
            FROM agents g JOIN agreements a ON a.agent_id = g.id
            JOIN organisations o ON o.id = a.organisation_id WHERE g.account_id = acc.id),
            '[]'::json),
        'notifications', coalesce((
            SELECT json_agg(json_build_object(
                       'id', n.id, 'kind', n.kind, 'message', n.message,
                       'agreement_id', n.agreement_id, 'engagement_id', n.engagement_id,
                       'payload', n.payload, 'read_at', api_time(n.read_at),
                       'created_at', api_time(n.created_at)) ORDER BY n.id)
            FROM notifications n WHERE n.account_id = acc.id), '[]'::json),
        'memberships', coalesce((
            SELECT json_agg(json_build_object(
                       'organisation', json_build_object('slug', o.slug, 'name', o.name),
                       'role', m.role, 'created_at', api_time(m.created_at)) ORDER BY o.slug)
            FROM memberships m JOIN organisations o ON o.id = m.organisation_id
            WHERE m.account_id = acc.id), '[]'::json),
        'credentials', coalesce((
            SELECT json_agg(j ORDER BY c.id)
            FROM agents g JOIN credentials c ON c.agent_id = g.id
            CROSS JOIN LATERAL credential_item_json(c) j WHERE g.account_id = acc.id),
            '[]'::json),
        'notification_feed', (SELECT json_build_object('created_at', api_time(nf.created_at))
                              FROM notification_feeds nf WHERE nf.account_id = acc.id),
        'notification_preferences', (SELECT j FROM notification_preferences_json(acc) j))
$$;

-- ---------- running the instance (docs/moderation.md) ----------

-- The thing a report or an action names as anyone saw it: the snapshot a
-- report keeps. kind and id as moderation_subject_id gives them.
DROP FUNCTION IF EXISTS moderation_subject_json(text, bigint, integer);
CREATE FUNCTION moderation_subject_json(kind text, sid bigint, ver integer) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT j FROM organisations o CROSS JOIN LATERAL organisation_json(o) j
     WHERE kind = 'organisation' AND o.id = sid
    UNION ALL
    SELECT j FROM engagements e CROSS JOIN LATERAL engagement_json(e) j
     WHERE kind = 'engagement' AND e.id = sid
    UNION ALL
    SELECT j FROM agents g JOIN accounts a ON a.id = g.account_id
     CROSS JOIN LATERAL agent_public_json(g, a) j WHERE kind = 'agent_profile' AND g.id = sid
    UNION ALL
    SELECT j FROM purposes p CROSS JOIN LATERAL purpose_json(p) j
     WHERE kind = 'purpose' AND p.id = sid
    UNION ALL
    SELECT json_build_object('organisation', (SELECT json_build_object('slug', o.slug, 'name', o.name)
                                              FROM organisations o WHERE o.id = c.organisation_id),
                             'charter', j)
      FROM organisation_charters c CROSS JOIN LATERAL charter_version_json(c) j
     WHERE kind = 'charter_version' AND c.organisation_id = sid AND c.version = ver
    UNION ALL
    SELECT json_build_object('id', a.id, 'display_name', a.display_name,
                             'agent', (SELECT g.handle FROM agents g WHERE g.account_id = a.id))
      FROM accounts a WHERE kind = 'account' AND a.id = sid
    UNION ALL
    SELECT json_build_object('message', j, 'thread', json_build_object(
               'kind', 'agreement', 'agreement_id', ag.id,
               'organisation', json_build_object('slug', o.slug, 'name', o.name),
               'agent', g.handle))
      FROM agreement_messages m JOIN agreements ag ON ag.id = m.agreement_id
      JOIN organisations o ON o.id = ag.organisation_id JOIN agents g ON g.id = ag.agent_id
      CROSS JOIN LATERAL agreement_message_json(m, NULL, true) j
     WHERE kind = 'agreement_message' AND m.id = sid
    UNION ALL
    SELECT json_build_object('message', j, 'thread', json_build_object(
               'kind', 'engagement', 'engagement_id', e.id, 'title', e.title,
               'organisation', json_build_object('slug', o.slug, 'name', o.name),
               'agent', g.handle))
      FROM engagement_messages m JOIN engagements e ON e.id = m.engagement_id
      JOIN organisations o ON o.id = e.organisation_id JOIN agents g ON g.id = m.agent_id
      CROSS JOIN LATERAL engagement_message_json(m, NULL, true) j
     WHERE kind = 'engagement_message' AND m.id = sid
$$;

-- {kind, id, version, label}: what a case or an action is about.
DROP FUNCTION IF EXISTS moderation_subject_ref(text, bigint, integer);
CREATE FUNCTION moderation_subject_ref(kind text, sid bigint, ver integer) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object('kind', kind, 'id', sid, 'version', ver, 'label',
        CASE kind
            WHEN 'organisation' THEN (SELECT o.slug FROM organisations o WHERE o.id = sid)
            WHEN 'charter_version' THEN (SELECT o.slug FROM organisations o WHERE o.id = sid)
            WHEN 'engagement' THEN (SELECT e.title FROM engagements e WHERE e.id = sid)
            WHEN 'agent_profile' THEN (SELECT g.handle FROM agents g WHERE g.id = sid)
            WHEN 'purpose' THEN (SELECT p.slug FROM purposes p WHERE p.id = sid)
            WHEN 'account' THEN (SELECT a.display_name FROM accounts a WHERE a.id = sid)
            WHEN 'agreement_message' THEN (SELECT left(m.body, 60) FROM agreement_messages m
                                           WHERE m.id = sid)
            WHEN 'engagement_message' THEN (SELECT left(m.body, 60) FROM engagement_messages m
                                            WHERE m.id = sid)
        END)
$$;

-- A report as its reporter sees it (never who else reported).
DROP FUNCTION IF EXISTS report_json(reports, moderation_cases);
CREATE FUNCTION report_json(r reports, c moderation_cases) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', r.id,
        'subject', (SELECT s FROM moderation_subject_ref(c.subject_kind, c.subject_id,
                                                         c.subject_version) s),
        'reason', r.reason,
        'note', r.note,
        'created_at', api_time(r.created_at))
$$;

-- A report as moderators see it: who reported, and the snapshot.
DROP FUNCTION IF EXISTS report_moderator_json(reports);
CREATE FUNCTION report_moderator_json(r reports) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', r.id,
        'reason', r.reason,
        'note', r.note,
        'reporter', (SELECT json_build_object('id', a.id, 'display_name', a.display_name)
                     FROM accounts a WHERE a.id = r.reporter_id),
        'snapshot', r.snapshot,
        'created_at', api_time(r.created_at))
$$;

-- A case of the queue: the reports of one thing, grouped.
DROP FUNCTION IF EXISTS moderation_case_json(moderation_cases);
CREATE FUNCTION moderation_case_json(c moderation_cases) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', c.id,
        'subject', (SELECT s FROM moderation_subject_ref(c.subject_kind, c.subject_id,
                                                         c.subject_version) s),
        'status', c.status,
        'reports', (SELECT count(*) FROM reports r WHERE r.case_id = c.id),
        'reasons', (SELECT json_object_agg(x.reason, x.n ORDER BY x.reason)
                    FROM (SELECT r.reason, count(*) AS n FROM reports r WHERE r.case_id = c.id
                          GROUP BY r.reason) x),
        'opened_at', api_time(c.opened_at),
        'last_reported_at', (SELECT api_time(max(r.created_at)) FROM reports r WHERE r.case_id = c.id),
        'resolved_at', api_time(c.resolved_at))
$$;

-- An entry of the moderation log as moderators see it.
DROP FUNCTION IF EXISTS moderation_action_json(moderation_actions);
CREATE FUNCTION moderation_action_json(a moderation_actions) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', a.id,
        'action', a.action,
        'subject', json_build_object('kind', a.subject_kind, 'id', a.subject_id,
                                     'version', a.subject_version, 'label', a.subject_label),
        'reason', a.reason,
        'case_id', a.case_id,
        'moderator', json_build_object('id', a.moderator_id, 'display_name',
                         (SELECT m.display_name FROM accounts m WHERE m.id = a.moderator_id)),
        'affected', to_json(a.affected),
        'details', a.details,
        'appeal', (SELECT json_build_object('note', ap.note, 'created_at', api_time(ap.created_at),
                                            'resolved_at', api_time(ap.resolved_at))
                   FROM moderation_appeals ap WHERE ap.action_id = a.id),
        'created_at', api_time(a.created_at))
$$;

-- An action as the person it concerns sees it: what, why, when, their
-- appeal; never which moderator.
DROP FUNCTION IF EXISTS moderation_notice_json(moderation_actions);
CREATE FUNCTION moderation_notice_json(a moderation_actions) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', a.id,
        'action', a.action,
        'subject', json_build_object('kind', a.subject_kind, 'id', a.subject_id,
                                     'version', a.subject_version, 'label', a.subject_label),
        'reason', a.reason,
        'appeal', (SELECT json_build_object('note', ap.note, 'created_at', api_time(ap.created_at),
                                            'resolved_at', api_time(ap.resolved_at))
                   FROM moderation_appeals ap WHERE ap.action_id = a.id),
        'created_at', api_time(a.created_at))
$$;

-- An instance role: {account: {id, display_name}, role, granted_at}.
DROP FUNCTION IF EXISTS instance_role_json(instance_roles);
CREATE FUNCTION instance_role_json(ir instance_roles) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'account', (SELECT json_build_object('id', a.id, 'display_name', a.display_name)
                    FROM accounts a WHERE a.id = ir.account_id),
        'role', ir.role,
        'granted_at', api_time(ir.granted_at))
$$;

-- The instance role of an account: ADMIN_EMAILS (admin_emails, comma-
-- separated, lower case) wins over its instance_roles row; NULL when none.
-- lib/authz.c asks this too, so pages show the role the gate applies.
DROP FUNCTION IF EXISTS account_instance_role(accounts, text);
CREATE FUNCTION account_instance_role(a accounts, admin_emails text) RETURNS SETOF text
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT CASE WHEN a.email = ANY (string_to_array(admin_emails, ',')) THEN 'administrator'
                ELSE (SELECT r.role FROM instance_roles r WHERE r.account_id = a.id) END
$$;

-- An account as moderators see it (GET /api/v1/moderation/accounts): {id,
-- email, display_name, email_verified_at, created_at, suspended_at,
-- instance_role, role_from_config (ADMIN_EMAILS: not revocable here),
-- agent: {handle, hidden} | null, memberships (organisations it belongs to)}.
DROP FUNCTION IF EXISTS moderation_account_json(accounts, text);
CREATE FUNCTION moderation_account_json(a accounts, admin_emails text) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', a.id,
        'email', a.email,
        'display_name', a.display_name,
        'email_verified_at', api_time(a.email_verified_at),
        'created_at', api_time(a.created_at),
        'suspended_at', api_time(a.suspended_at),
        'instance_role', (SELECT x FROM account_instance_role(a, admin_emails) x),
        'role_from_config', a.email = ANY (string_to_array(admin_emails, ',')),
        'agent', (SELECT json_build_object('handle', g.handle, 'hidden', g.hidden)
                  FROM agents g WHERE g.account_id = a.id),
        'memberships', (SELECT count(*) FROM memberships m WHERE m.account_id = a.id))
$$;

-- The instance in figures (GET /api/v1/moderation/stats). Hidden things
-- are counted apart; suspended accounts are among the accounts.
DROP FUNCTION IF EXISTS moderation_stats_json();
CREATE FUNCTION moderation_stats_json() RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'accounts', (SELECT json_build_object(
                'total', count(*),
                'suspended', count(*) FILTER (WHERE suspended_at IS NOT NULL),
                'new_last_7_days', count(*) FILTER (WHERE created_at > now() - interval '7 days'))
            FROM accounts WHERE deleted_at IS NULL),
        'organisations', (SELECT json_build_object(
                'total', count(*) FILTER (WHERE hidden_at IS NULL),
                'hidden', count(*) FILTER (WHERE hidden_at IS NOT NULL))
            FROM organisations),
        'engagements', (SELECT json_build_object(
                'total', count(*) FILTER (WHERE NOT hidden),
                'open', count(*) FILTER (WHERE NOT hidden AND status = 'open'),
                'hidden', count(*) FILTER (WHERE hidden))
            FROM engagements),
        'agreements', (SELECT json_build_object(
                'total', count(*),
                'active', count(*) FILTER (WHERE status = 'active'),
                'concluded', count(*) FILTER (WHERE status = 'concluded'))
            FROM agreements),
        'moderation', json_build_object(
            'open_cases', (SELECT count(*) FROM moderation_cases WHERE status = 'open'),
            'open_reports', (SELECT count(*) FROM reports r JOIN moderation_cases c ON c.id = r.case_id
                             WHERE c.status = 'open'),
            'open_appeals', (SELECT count(*) FROM moderation_appeals WHERE resolved_at IS NULL)))
$$;

-- The instance as it describes itself (GET /api/v1/instance); software is
-- the daemon's version, which the database does not know.
DROP FUNCTION IF EXISTS instance_json(instance_settings, text);
CREATE FUNCTION instance_json(s instance_settings, software text) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'name', s.name,
        'description', s.description,
        'rules', to_json(s.rules),
        'contact', s.contact,
        'registration_mode', s.registration_mode,
        'new_accounts', json_build_object('days', s.new_account_days,
                                          'writes_per_hour', s.new_account_writes_per_hour),
        'software', json_build_object('name', 'purposed', 'version', software),
        'version', s.version,
        'updated_at', api_time(s.updated_at))
$$;

-- An account's registration, as administrators see it (GET
-- /api/v1/registrations): {account: {id, email, display_name,
-- email_verified_at, created_at} (email null once refused), mode, status,
-- reason, invitation: {id, organisation: {slug, name} | null, created_by:
-- {id, display_name}} | null, decided_by: {id, display_name} | null,
-- decided_at, note, created_at}.
DROP FUNCTION IF EXISTS registration_json(account_registrations);
CREATE FUNCTION registration_json(r account_registrations) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'account', json_build_object('id', a.id, 'email', a.email, 'display_name', a.display_name,
                                     'email_verified_at', api_time(a.email_verified_at),
                                     'created_at', api_time(a.created_at)),
        'mode', r.mode,
        'status', r.status,
        'reason', r.reason,
        'invitation', (SELECT json_build_object(
                           'id', i.id,
                           'organisation', (SELECT json_build_object('slug', o.slug, 'name', o.name)
                                            FROM organisations o WHERE o.id = i.organisation_id),
                           'created_by', (SELECT json_build_object('id', c.id, 'display_name', c.display_name)
                                          FROM accounts c WHERE c.id = i.created_by))
                       FROM registration_invitations i WHERE i.id = r.invitation_id),
        'decided_by', (SELECT json_build_object('id', d.id, 'display_name', d.display_name)
                       FROM accounts d WHERE d.id = r.decided_by),
        'decided_at', api_time(r.decided_at),
        'note', r.note,
        'created_at', api_time(r.created_at))
    FROM accounts a WHERE a.id = r.account_id
$$;

-- A registration invitation link, as its creator sees it (never its
-- token, which only the answer that made it carries): {id, organisation:
-- {slug, name} | null, note, max_uses, uses, expires_at, revoked_at,
-- status: active | used | expired | revoked, created_at}.
DROP FUNCTION IF EXISTS registration_invitation_json(registration_invitations);
CREATE FUNCTION registration_invitation_json(i registration_invitations) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', i.id,
        'organisation', (SELECT json_build_object('slug', o.slug, 'name', o.name)
                         FROM organisations o WHERE o.id = i.organisation_id),
        'note', i.note,
        'max_uses', i.max_uses,
        'uses', i.uses,
        'expires_at', api_time(i.expires_at),
        'revoked_at', api_time(i.revoked_at),
        'status', CASE WHEN i.revoked_at IS NOT NULL THEN 'revoked'
                       WHEN i.uses >= i.max_uses THEN 'used'
                       WHEN i.expires_at <= now() THEN 'expired'
                       ELSE 'active' END,
        'created_at', api_time(i.created_at))
$$;

-- A saved search: {id, name, filters: {q, purpose, skill, packaging, remote,
-- organisation, near, within_km} (only those given), created_at}.
DROP FUNCTION IF EXISTS saved_search_json(saved_searches);
CREATE FUNCTION saved_search_json(s saved_searches) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', s.id,
        'name', s.name,
        'filters', json_strip_nulls(json_build_object(
            'q', s.q, 'purpose', s.purpose, 'skill', s.skill, 'packaging', s.packaging,
            'remote', s.remote, 'organisation', s.organisation,
            'near', s.near, 'within_km', s.within_km)),
        'created_at', api_time(s.created_at))
$$;

-- A list item asked with near=: the item's representation with
-- "distance_km" (great-circle, rounded to 0.1 km) from the centre (lat, lon)
-- to its place, appended as the object's last member so the item's own
-- members keep their order. Without a centre (or a place) the item as is.
DROP FUNCTION IF EXISTS item_with_distance_json(json, double precision, double precision, bigint);
DROP FUNCTION IF EXISTS item_with_distance(text, double precision, double precision, bigint);
CREATE FUNCTION item_with_distance(j text, lat double precision, lon double precision,
                                   place bigint) RETURNS text
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN lat IS NULL OR lon IS NULL OR place IS NULL THEN j
        ELSE left(j, -1) || ', "distance_km" : '
             || (SELECT round(place_distance_km(lat, lon, pl.latitude, pl.longitude)::numeric, 1)
                 FROM places pl WHERE pl.id = place)::text || '}' END
$$;

-- The hours given under an organisation's agreements, read by its members
-- (GET /organisations/{slug}/hours): per agreement, the confirmed hours in
-- all and in each of the last 8 weeks (weeks: their Mondays, oldest first),
-- the hours logged and still awaiting an answer, and the disputed ones; per
-- purpose, the confirmed hours (an entry split evenly over the purposes of
-- the terms in force), as in the agent's energy ledger. Only this
-- organisation's agreements: another organisation's hours with the same
-- agents never count here.
DROP FUNCTION IF EXISTS organisation_hours_json(organisations);
CREATE FUNCTION organisation_hours_json(o organisations) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    WITH weeks AS (
        SELECT w::date AS week FROM generate_series(date_trunc('week', current_date) - interval '7 weeks',
                                                     date_trunc('week', current_date), interval '1 week') w),
    ours AS (
        SELECT a.id, a.status, a.active_version, a.agent_id FROM agreements a
        WHERE a.organisation_id = o.id AND a.active_version IS NOT NULL),
    logged AS (
        SELECT h.agreement_id, date_trunc('week', h.worked_on)::date AS week, h.hours, d.outcome
        FROM agreement_hours h JOIN ours m ON m.id = h.agreement_id
        LEFT JOIN agreement_hours_decisions d ON d.entry_id = h.id),
    given AS (SELECT * FROM logged WHERE outcome = 'confirmed'),
    per_purpose AS (
        SELECT vp.purpose_id, gv.week, gv.hours / n.n AS hours
        FROM given gv JOIN ours m ON m.id = gv.agreement_id
        JOIN agreement_version_purposes vp ON vp.agreement_id = m.id AND vp.version = m.active_version
        CROSS JOIN LATERAL (SELECT count(*) AS n FROM agreement_version_purposes x
                            WHERE x.agreement_id = m.id AND x.version = m.active_version) n),
    week_sums AS (
        SELECT (SELECT json_agg(round(coalesce((SELECT sum(gv.hours) FROM given gv WHERE gv.week = w.week), 0), 2)
                                ORDER BY w.week) FROM weeks w) AS all_weeks)
    SELECT json_build_object(
        'weeks', (SELECT json_agg(week ORDER BY week) FROM weeks),
        'confirmed_hours', round((SELECT coalesce(sum(hours), 0) FROM given), 2),
        'awaiting_hours', round((SELECT coalesce(sum(hours), 0) FROM logged WHERE outcome IS NULL), 2),
        'disputed_hours', round((SELECT coalesce(sum(hours), 0) FROM logged WHERE outcome = 'disputed'), 2),
        'confirmed_weeks', (SELECT all_weeks FROM week_sums),
        'purposes', coalesce((
            SELECT json_agg(json_build_object(
                       'purpose', json_build_object('slug', p.slug, 'name', p.name),
                       'confirmed_hours', round(x.h, 2),
                       'weeks', (SELECT json_agg(round(coalesce((SELECT sum(pp.hours) FROM per_purpose pp
                                                  WHERE pp.purpose_id = p.id AND pp.week = w.week), 0), 2)
                                        ORDER BY w.week) FROM weeks w))
                   ORDER BY x.h DESC, p.slug)
            FROM (SELECT pp.purpose_id, sum(pp.hours) AS h FROM per_purpose pp GROUP BY pp.purpose_id) x
            JOIN purposes p ON p.id = x.purpose_id), '[]'::json),
        'agreements', coalesce((
            SELECT json_agg(json_build_object(
                       'id', m.id, 'status', m.status, 'standing', agreement_standing(a), 'role', v.role,
                       'agent', json_build_object('handle', g.handle, 'display_name', acc.display_name),
                       'hours_per_week', v.hours_per_week,
                       'confirmed_hours', round(coalesce((SELECT sum(l.hours) FROM given l
                                                          WHERE l.agreement_id = m.id), 0), 2),
                       'awaiting_hours', round(coalesce((SELECT sum(l.hours) FROM logged l
                                                         WHERE l.agreement_id = m.id AND l.outcome IS NULL), 0), 2),
                       'disputed_hours', round(coalesce((SELECT sum(l.hours) FROM logged l
                                                         WHERE l.agreement_id = m.id AND l.outcome = 'disputed'), 0), 2),
                       'weeks', (SELECT json_agg(round(coalesce((SELECT sum(l.hours) FROM given l
                                                  WHERE l.agreement_id = m.id AND l.week = w.week), 0), 2)
                                        ORDER BY w.week) FROM weeks w))
                   ORDER BY (m.status = 'active') DESC, m.id DESC)
            FROM ours m JOIN agreements a ON a.id = m.id
            JOIN agreement_versions v ON v.agreement_id = m.id AND v.version = m.active_version
            JOIN agents g ON g.id = m.agent_id JOIN accounts acc ON acc.id = g.account_id), '[]'::json))
$$;

-- ---------- federation (docs/federation.md) ----------

-- A local person's follow of a remote organisation: the handle they gave,
-- the remote actor, and whether the remote instance accepted.
DROP FUNCTION IF EXISTS remote_follow_json(remote_follow_people, remote_follows, remote_actors);
CREATE FUNCTION remote_follow_json(rp remote_follow_people, f remote_follows, a remote_actors)
RETURNS SETOF json LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', f.id,
        'handle', rp.handle,
        'actor', a.uri,
        'name', coalesce(a.name, a.username),
        'url', coalesce(a.url, a.uri),
        'state', f.state,
        'followed_at', api_time(rp.created_at))
$$;

-- An engagement a remote organisation sent (0043: a row of engagements with
-- origin_uri, of an organisation with remote_actor_id), as GET
-- /remote-engagements lists it: marked remote, linking home.
DROP FUNCTION IF EXISTS remote_engagement_json(engagements, organisations, remote_actors);
CREATE FUNCTION remote_engagement_json(e engagements, o organisations, a remote_actors)
RETURNS SETOF json LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', e.id,
        'remote', true,
        'url', coalesce(e.origin_url, e.origin_uri),
        'object', e.origin_uri,
        'title', e.title,
        'description', e.description,
        'status', e.status,
        'hours_per_week', e.hours_per_week,
        'remote_ok', e.remote_ok,
        'organisation', json_build_object('actor', a.uri, 'name', o.name, 'slug', o.slug,
                                          'url', coalesce(a.url, a.uri)),
        'published_at', api_time(e.created_at),
        'updated_at', api_time(e.updated_at))
$$;

-- A block of a remote instance (migration 0044), as the moderation routes
-- answer it: the host, why, which administrator, when.
DROP FUNCTION IF EXISTS instance_block_json(instance_blocks);
CREATE FUNCTION instance_block_json(b instance_blocks) RETURNS SETOF json
LANGUAGE sql STABLE PARALLEL SAFE ROWS 1 AS $$
    SELECT json_build_object(
        'id', b.id,
        'host', b.host,
        'reason', b.reason,
        'blocked_by', json_build_object('id', b.blocked_by, 'display_name',
                          (SELECT m.display_name FROM accounts m WHERE m.id = b.blocked_by)),
        'created_at', api_time(b.created_at))
$$;

-- ---------- engagement_docs: engagement_json kept as text (0054) ----------
--
-- The statements that answer an engagement read its text here instead of
-- computing it (three times the reads at scale 10: 0054). These triggers
-- keep every engagement's row equal to engagement_json of its engagement,
-- at the end of each statement that changes anything the text shows: the
-- engagement, its purposes, its organisation's slug or name, a purpose's
-- slug, name or retirement, its place. They are here, not in a numbered
-- migration, because they call engagement_json. ENABLE ALWAYS: bulk loads
-- under session_replication_role = replica (bench/generate) keep them too.
-- An unchanged text is not written again, and a change of purposes makes
-- again only the texts that lack the purposes as they are now (a post's
-- purposes find the text its engagement's row trigger just made).
-- tests/api/engagement-docs.test.mjs compares every row with
-- engagement_json after each kind of change.

-- The one statement that writes a text (the row trigger, the purposes'
-- trigger, the named things' trigger and the full refresh all call it).
-- plan_cache_mode: it runs from PL/pgSQL with the ids as a parameter; a
-- custom plan planned engagement_json's sub-plans on every call (about 0.9
-- ms a post, more than running them).
CREATE OR REPLACE FUNCTION engagement_docs_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    INSERT INTO engagement_docs AS d (organisation_id, engagement_id, version, status, hidden,
                                      purposes, doc)
    SELECT e.organisation_id, e.id, e.version, e.status, e.hidden,
           ARRAY(SELECT ep.purpose_id FROM engagement_purposes ep
                  WHERE ep.engagement_id = e.id ORDER BY ep.purpose_id), j::text
      FROM engagements e CROSS JOIN LATERAL engagement_json(e) j
     WHERE e.id = ANY (ids)
    ON CONFLICT (organisation_id, engagement_id) DO UPDATE
       SET version = EXCLUDED.version, status = EXCLUDED.status, hidden = EXCLUDED.hidden,
           purposes = EXCLUDED.purposes, doc = EXCLUDED.doc
     WHERE (d.version, d.status, d.hidden, d.purposes, d.doc)
           IS DISTINCT FROM (EXCLUDED.version, EXCLUDED.status, EXCLUDED.hidden,
                             EXCLUDED.purposes, EXCLUDED.doc);
END $$;

CREATE OR REPLACE FUNCTION engagement_doc_put() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM engagement_docs_refresh(ARRAY[NEW.id]);
    RETURN NULL;
END $$;

-- Of the engagements whose purposes a statement changed, those whose text
-- lacks their purposes as they are now (or that have no text) are made
-- again. PL/pgSQL, one statement: its plan is kept (an SQL function called
-- from here is planned again on every call: 0.2 ms a post).
CREATE OR REPLACE FUNCTION engagement_docs_of_purposes() RETURNS trigger
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    ids bigint[];
    stale bigint[];
BEGIN
    IF TG_OP = 'INSERT' THEN
        ids := ARRAY(SELECT DISTINCT engagement_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN
        ids := ARRAY(SELECT DISTINCT engagement_id FROM old_rows);
    ELSE
        ids := ARRAY(SELECT engagement_id FROM old_rows UNION SELECT engagement_id FROM new_rows);
    END IF;
    stale := ARRAY(
        SELECT c.id FROM unnest(ids) AS c(id)
          LEFT JOIN engagement_docs d ON d.engagement_id = c.id
         WHERE d.purposes IS DISTINCT FROM
               ARRAY(SELECT ep.purpose_id FROM engagement_purposes ep
                      WHERE ep.engagement_id = c.id ORDER BY ep.purpose_id));
    IF cardinality(stale) > 0 THEN
        PERFORM engagement_docs_refresh(stale);
    END IF;
    RETURN NULL;
END $$;
DROP FUNCTION IF EXISTS engagement_docs_stale_purposes(bigint[]);

CREATE OR REPLACE FUNCTION engagement_docs_of_named() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'organisations' THEN
        PERFORM engagement_docs_refresh(ARRAY(SELECT e.id FROM engagements e
                                               WHERE e.organisation_id = NEW.id));
    ELSIF TG_TABLE_NAME = 'purposes' THEN
        PERFORM engagement_docs_refresh(ARRAY(SELECT ep.engagement_id FROM engagement_purposes ep
                                               WHERE ep.purpose_id = NEW.id));
    ELSE
        PERFORM engagement_docs_refresh(ARRAY(SELECT e.id FROM engagements e
                                               WHERE e.place_id = NEW.id));
    END IF;
    RETURN NULL;
END $$;

DROP TRIGGER IF EXISTS engagement_docs_insert ON engagements;
DROP TRIGGER IF EXISTS engagement_docs_update ON engagements;
DROP TRIGGER IF EXISTS engagement_docs_purposes_insert ON engagement_purposes;
DROP TRIGGER IF EXISTS engagement_docs_purposes_update ON engagement_purposes;
DROP TRIGGER IF EXISTS engagement_docs_purposes_delete ON engagement_purposes;
DROP TRIGGER IF EXISTS engagement_docs_organisation ON organisations;
DROP TRIGGER IF EXISTS engagement_docs_purpose ON purposes;
DROP TRIGGER IF EXISTS engagement_docs_place ON places;
CREATE TRIGGER engagement_docs_insert AFTER INSERT ON engagements
    FOR EACH ROW EXECUTE FUNCTION engagement_doc_put();
CREATE TRIGGER engagement_docs_update AFTER UPDATE ON engagements
    FOR EACH ROW EXECUTE FUNCTION engagement_doc_put();
CREATE TRIGGER engagement_docs_purposes_insert AFTER INSERT ON engagement_purposes
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_docs_of_purposes();
CREATE TRIGGER engagement_docs_purposes_update AFTER UPDATE ON engagement_purposes
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_docs_of_purposes();
CREATE TRIGGER engagement_docs_purposes_delete AFTER DELETE ON engagement_purposes
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_docs_of_purposes();
CREATE TRIGGER engagement_docs_organisation AFTER UPDATE ON organisations
    FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug OR OLD.name IS DISTINCT FROM NEW.name)
    EXECUTE FUNCTION engagement_docs_of_named();
CREATE TRIGGER engagement_docs_purpose AFTER UPDATE ON purposes
    FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug OR OLD.name IS DISTINCT FROM NEW.name
                       OR OLD.retired_at IS DISTINCT FROM NEW.retired_at)
    EXECUTE FUNCTION engagement_docs_of_named();
CREATE TRIGGER engagement_docs_place AFTER UPDATE ON places
    FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW)
    EXECUTE FUNCTION engagement_docs_of_named();
ALTER TABLE engagements ENABLE ALWAYS TRIGGER engagement_docs_insert;
ALTER TABLE engagements ENABLE ALWAYS TRIGGER engagement_docs_update;
ALTER TABLE engagement_purposes ENABLE ALWAYS TRIGGER engagement_docs_purposes_insert;
ALTER TABLE engagement_purposes ENABLE ALWAYS TRIGGER engagement_docs_purposes_update;
ALTER TABLE engagement_purposes ENABLE ALWAYS TRIGGER engagement_docs_purposes_delete;
ALTER TABLE organisations ENABLE ALWAYS TRIGGER engagement_docs_organisation;
ALTER TABLE purposes ENABLE ALWAYS TRIGGER engagement_docs_purpose;
ALTER TABLE places ENABLE ALWAYS TRIGGER engagement_docs_place;

-- Every text made again when the definitions it is made with changed (the
-- first time: every text made).
DO $$
DECLARE
    made text := md5(pg_get_functiondef('engagement_json(engagements)'::regprocedure)
                  || pg_get_functiondef('place_json(places)'::regprocedure)
                  || pg_get_functiondef('api_time(timestamptz)'::regprocedure));
BEGIN
    IF made IS DISTINCT FROM (SELECT md5 FROM engagement_docs_definition) THEN
        DELETE FROM engagement_docs;
        PERFORM engagement_docs_refresh(ARRAY(SELECT id FROM engagements));
        DELETE FROM engagement_docs_definition;
        INSERT INTO engagement_docs_definition (md5) VALUES (made);
    END IF;
END $$;

-- ---------- agent_docs: agent_public_json kept as text (0055) ----------
--
-- As engagement_docs above: the statements that answer an agent to others
-- read its text, and these triggers keep every agent's row equal to
-- agent_public_json of the agent and its account, at the end of each
-- statement that changes anything the text shows: the agent, its
-- account's display name, its purposes, a purpose's slug, name or
-- retirement, a place, an organisation's slug, name or hiding (the
-- organisations of its concluded agreements), and an agreement of its
-- (concluded, or its status changing to or from concluded) or a row of
-- one (version, purposes, outcomes, hours and their decisions, closures).
-- tests/api/agent-docs.test.mjs compares every row with agent_public_json.

CREATE OR REPLACE FUNCTION agent_docs_refresh(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
BEGIN
    INSERT INTO agent_docs AS d (account_id, agent_id, doc)
    SELECT g.account_id, g.id, j::text
      FROM agents g JOIN accounts a ON a.id = g.account_id
      CROSS JOIN LATERAL agent_public_json(g, a) j
     WHERE g.id = ANY (ids)
    ON CONFLICT (agent_id) DO UPDATE SET account_id = EXCLUDED.account_id, doc = EXCLUDED.doc
     WHERE (d.account_id, d.doc) IS DISTINCT FROM (EXCLUDED.account_id, EXCLUDED.doc);
END $$;

-- The agents whose concluded agreements are among these.
CREATE OR REPLACE FUNCTION agent_docs_of_agreement_ids(ids bigint[]) RETURNS void
LANGUAGE plpgsql SET plan_cache_mode = force_generic_plan AS $$
DECLARE
    agents bigint[] := ARRAY(SELECT DISTINCT a.agent_id FROM agreements a
                              WHERE a.id = ANY (ids) AND a.status = 'concluded');
BEGIN
    IF cardinality(agents) > 0 THEN
        PERFORM agent_docs_refresh(agents);
    END IF;
END $$;

CREATE OR REPLACE FUNCTION agent_docs_of_rows() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_TABLE_NAME = 'agents' THEN
        PERFORM agent_docs_refresh(ARRAY[NEW.id]);
    ELSIF TG_TABLE_NAME = 'accounts' THEN
        PERFORM agent_docs_refresh(ARRAY(SELECT g.id FROM agents g WHERE g.account_id = NEW.id));
    ELSIF TG_TABLE_NAME = 'places' THEN
        PERFORM agent_docs_refresh(ARRAY(SELECT g.id FROM agents g WHERE g.place_id = NEW.id));
    ELSIF TG_TABLE_NAME = 'purposes' THEN
        PERFORM agent_docs_refresh(ARRAY(
            SELECT ap.agent_id FROM agent_purposes ap WHERE ap.purpose_id = NEW.id
            UNION SELECT a.agent_id FROM agreement_version_purposes vp
                   JOIN agreements a ON a.id = vp.agreement_id
                  WHERE vp.purpose_id = NEW.id AND a.status = 'concluded'));
    ELSIF TG_TABLE_NAME = 'organisations' THEN
        PERFORM agent_docs_refresh(ARRAY(
            SELECT DISTINCT a.agent_id FROM agreements a
             WHERE a.organisation_id = NEW.id AND a.status = 'concluded'));
    ELSIF TG_TABLE_NAME = 'agreements' THEN -- concluded before or after (the triggers' WHEN)
        IF TG_OP = 'UPDATE' AND OLD.agent_id IS DISTINCT FROM NEW.agent_id THEN
            PERFORM agent_docs_refresh(ARRAY[OLD.agent_id, NEW.agent_id]);
        ELSE
            PERFORM agent_docs_refresh(ARRAY[NEW.agent_id]);
        END IF;
    END IF;
    RETURN NULL;
END $$;

-- A statement's rows of an agreement's tables (agreement_id), of
-- agent_purposes (agent_id) or of agreement_hours_decisions (entry_id).
CREATE OR REPLACE FUNCTION agent_docs_of_statement() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    ids bigint[];
BEGIN
    IF TG_TABLE_NAME = 'agent_purposes' THEN
        IF TG_OP = 'INSERT' THEN ids := ARRAY(SELECT DISTINCT agent_id FROM new_rows);
        ELSIF TG_OP = 'DELETE' THEN ids := ARRAY(SELECT DISTINCT agent_id FROM old_rows);
        ELSE ids := ARRAY(SELECT agent_id FROM old_rows UNION SELECT agent_id FROM new_rows);
        END IF;
        PERFORM agent_docs_refresh(ids);
        RETURN NULL;
    END IF;
    IF TG_TABLE_NAME = 'agreement_hours_decisions' THEN
        IF TG_OP = 'INSERT' THEN
            ids := ARRAY(SELECT DISTINCT h.agreement_id FROM new_rows r
                          JOIN agreement_hours h ON h.id = r.entry_id);
        ELSIF TG_OP = 'DELETE' THEN
            ids := ARRAY(SELECT DISTINCT h.agreement_id FROM old_rows r
                          JOIN agreement_hours h ON h.id = r.entry_id);
        ELSE
            ids := ARRAY(SELECT h.agreement_id FROM old_rows r JOIN agreement_hours h ON h.id = r.entry_id
                         UNION SELECT h.agreement_id FROM new_rows r
                                JOIN agreement_hours h ON h.id = r.entry_id);
        END IF;
    ELSIF TG_OP = 'INSERT' THEN ids := ARRAY(SELECT DISTINCT agreement_id FROM new_rows);
    ELSIF TG_OP = 'DELETE' THEN ids := ARRAY(SELECT DISTINCT agreement_id FROM old_rows);
    ELSE ids := ARRAY(SELECT agreement_id FROM old_rows UNION SELECT agreement_id FROM new_rows);
    END IF;
    PERFORM agent_docs_of_agreement_ids(ids);
    RETURN NULL;
END $$;

DO $$
DECLARE
    t text;
BEGIN
    -- row triggers
    EXECUTE 'DROP TRIGGER IF EXISTS agent_docs_insert ON agents';
    EXECUTE 'DROP TRIGGER IF EXISTS agent_docs_update ON agents';
    CREATE TRIGGER agent_docs_insert AFTER INSERT ON agents
        FOR EACH ROW EXECUTE FUNCTION agent_docs_of_rows();
    CREATE TRIGGER agent_docs_update AFTER UPDATE ON agents
        FOR EACH ROW EXECUTE FUNCTION agent_docs_of_rows();
    EXECUTE 'DROP TRIGGER IF EXISTS agent_docs_account ON accounts';
    CREATE TRIGGER agent_docs_account AFTER UPDATE ON accounts
        FOR EACH ROW WHEN (OLD.display_name IS DISTINCT FROM NEW.display_name)
        EXECUTE FUNCTION agent_docs_of_rows();
    EXECUTE 'DROP TRIGGER IF EXISTS agent_docs_place ON places';
    CREATE TRIGGER agent_docs_place AFTER UPDATE ON places
        FOR EACH ROW WHEN (OLD IS DISTINCT FROM NEW) EXECUTE FUNCTION agent_docs_of_rows();
    EXECUTE 'DROP TRIGGER IF EXISTS agent_docs_purpose ON purposes';
    CREATE TRIGGER agent_docs_purpose AFTER UPDATE ON purposes
        FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug OR OLD.name IS DISTINCT FROM NEW.name
                           OR OLD.retired_at IS DISTINCT FROM NEW.retired_at)
        EXECUTE FUNCTION agent_docs_of_rows();
    EXECUTE 'DROP TRIGGER IF EXISTS agent_docs_organisation ON organisations';
    CREATE TRIGGER agent_docs_organisation AFTER UPDATE ON organisations
        FOR EACH ROW WHEN (OLD.slug IS DISTINCT FROM NEW.slug OR OLD.name IS DISTINCT FROM NEW.name
                           OR OLD.hidden_at IS DISTINCT FROM NEW.hidden_at)
        EXECUTE FUNCTION agent_docs_of_rows();
    EXECUTE 'DROP TRIGGER IF EXISTS agent_docs_agreement_insert ON agreements';
    EXECUTE 'DROP TRIGGER IF EXISTS agent_docs_agreement_update ON agreements';
    CREATE TRIGGER agent_docs_agreement_insert AFTER INSERT ON agreements
        FOR EACH ROW WHEN (NEW.status = 'concluded') EXECUTE FUNCTION agent_docs_of_rows();
    CREATE TRIGGER agent_docs_agreement_update AFTER UPDATE ON agreements
        FOR EACH ROW WHEN (OLD.status = 'concluded' OR NEW.status = 'concluded')
        EXECUTE FUNCTION agent_docs_of_rows();
    ALTER TABLE agents ENABLE ALWAYS TRIGGER agent_docs_insert;
    ALTER TABLE agents ENABLE ALWAYS TRIGGER agent_docs_update;
    ALTER TABLE accounts ENABLE ALWAYS TRIGGER agent_docs_account;
    ALTER TABLE places ENABLE ALWAYS TRIGGER agent_docs_place;
    ALTER TABLE purposes ENABLE ALWAYS TRIGGER agent_docs_purpose;
    ALTER TABLE organisations ENABLE ALWAYS TRIGGER agent_docs_organisation;
    ALTER TABLE agreements ENABLE ALWAYS TRIGGER agent_docs_agreement_insert;
    ALTER TABLE agreements ENABLE ALWAYS TRIGGER agent_docs_agreement_update;
    -- statement triggers, one per event (a transition table allows no more)
    FOREACH t IN ARRAY ARRAY['agent_purposes', 'agreement_versions', 'agreement_version_purposes',
                             'agreement_version_outcomes', 'agreement_hours',
                             'agreement_hours_decisions', 'agreement_closures'] LOOP
        EXECUTE format('DROP TRIGGER IF EXISTS agent_docs_insert ON %I', t);
        EXECUTE format('DROP TRIGGER IF EXISTS agent_docs_update ON %I', t);
        EXECUTE format('DROP TRIGGER IF EXISTS agent_docs_delete ON %I', t);
        EXECUTE format('CREATE TRIGGER agent_docs_insert AFTER INSERT ON %I REFERENCING NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION agent_docs_of_statement()', t);
        EXECUTE format('CREATE TRIGGER agent_docs_update AFTER UPDATE ON %I'
                       ' REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION agent_docs_of_statement()', t);
        EXECUTE format('CREATE TRIGGER agent_docs_delete AFTER DELETE ON %I REFERENCING OLD TABLE AS old_rows'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION agent_docs_of_statement()', t);
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER agent_docs_insert', t);
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER agent_docs_update', t);
        EXECUTE format('ALTER TABLE %I ENABLE ALWAYS TRIGGER agent_docs_delete', t);
    END LOOP;
END $$;

-- Every text made again when the definitions it is made with changed.
DO $$
DECLARE
    made text := md5(pg_get_functiondef('agent_public_json(agents, accounts)'::regprocedure)
                  || pg_get_functiondef('agent_profile_json(agents, accounts)'::regprocedure)
                  || pg_get_functiondef('agent_track_record_json(agents)'::regprocedure)
                  || pg_get_functiondef('agent_concluded_agreements_json(agents)'::regprocedure)
                  || pg_get_functiondef('agreement_published_closures_json(agreements)'::regprocedure)
                  || pg_get_functiondef('json_concat(json, json)'::regprocedure)
                  || pg_get_functiondef('place_json(places)'::regprocedure));
BEGIN
    IF made IS DISTINCT FROM (SELECT md5 FROM agent_docs_definition) THEN
        DELETE FROM agent_docs;
        PERFORM agent_docs_refresh(ARRAY(SELECT id FROM agents));
        DELETE FROM agent_docs_definition;
        INSERT INTO agent_docs_definition (md5) VALUES (made);
    END IF;
END $$;
