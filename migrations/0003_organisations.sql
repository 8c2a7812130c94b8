-- 0003_organisations: one JSON representation each for a purpose, an
-- organisation and an engagement (every endpoint, feed or match shares it),
-- and the index that lists organisations by name without sorting them all.

CREATE INDEX organisations_name_idx ON organisations (name, id);

-- {slug, name, description, supporters, organisations, created_at}
CREATE FUNCTION purpose_json(p purposes) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'slug', p.slug,
        'name', p.name,
        'description', p.description,
        'supporters', (SELECT count(*) FROM agent_purposes ap WHERE ap.purpose_id = p.id),
        'organisations', (SELECT count(*) FROM organisation_purposes op WHERE op.purpose_id = p.id),
        'created_at', api_time(p.created_at))
$$;

-- The organisation as GET /api/v1/organisations/{slug} shows it.
CREATE FUNCTION organisation_json(o organisations) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'slug', o.slug,
        'name', o.name,
        'purpose_statement', o.purpose_statement,
        'association_norms', o.association_norms,
        'charter_version', o.charter_version,
        'purposes', coalesce((
            SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name) ORDER BY p.slug)
            FROM organisation_purposes op JOIN purposes p ON p.id = op.purpose_id
            WHERE op.organisation_id = o.id), '[]'::json),
        'legal_form', o.legal_form,
        'governance', o.governance,
        'website', o.website,
        'location', o.location,
        'followers', (SELECT count(*) FROM follows f WHERE f.organisation_id = o.id),
        'open_engagements', (SELECT count(*) FROM engagements e
                             WHERE e.organisation_id = o.id AND e.status = 'open'),
        'version', o.version,
        'created_at', api_time(o.created_at),
        'updated_at', api_time(o.updated_at))
$$;

-- The engagement as GET /api/v1/engagements/{id} shows it.
CREATE FUNCTION engagement_json(e engagements) RETURNS json LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', e.id,
        'organisation', (SELECT json_build_object('slug', o.slug, 'name', o.name)
                         FROM organisations o WHERE o.id = e.organisation_id),
        'title', e.title,
        'description', e.description,
        'purposes', coalesce((
            SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name) ORDER BY p.slug)
            FROM engagement_purposes ep JOIN purposes p ON p.id = ep.purpose_id
            WHERE ep.engagement_id = e.id), '[]'::json),
        'packagings', to_json(e.packagings),
        'hours_per_week', e.hours_per_week,
        'duration_weeks', e.duration_weeks,
        'skills', to_json(e.skills),
        'location', e.location,
        'remote_ok', e.remote_ok,
        'rewards', json_build_object(
            'cash', CASE WHEN e.cash_min IS NULL THEN NULL ELSE json_build_object(
                'min', e.cash_min, 'max', e.cash_max,
                'currency', e.cash_currency, 'period', e.cash_period) END,
            'non_cash', to_json(e.non_cash)),
        'status', e.status,
        'version', e.version,
        'created_at', api_time(e.created_at),
        'updated_at', api_time(e.updated_at))
$$;

-- Keyset position of a timestamp in list cursors (microseconds, UTC).
CREATE FUNCTION cursor_time(t timestamptz) RETURNS text LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;
