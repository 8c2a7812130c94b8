/* agreement_sql: SQL fragments that build agreement JSON, shared by
 * agreements.c (the API) and me.c (the export), so both show the same shape. */
#ifndef PURPOSED_HANDLERS_AGREEMENT_SQL_H
#define PURPOSED_HANDLERS_AGREEMENT_SQL_H

/* One version of the terms (row V of agreement_versions) as JSON. */
#define TERMS_JSON(V)                                                                        \
    "json_build_object('version', " V ".version, 'role', " V ".role,"                        \
    " 'purposes', coalesce((SELECT json_agg(json_build_object('slug', p.slug, 'name', p.name)" \
    "   ORDER BY p.slug) FROM agreement_version_purposes vp JOIN purposes p ON p.id = vp.purpose_id" \
    "   WHERE vp.agreement_id = " V ".agreement_id AND vp.version = " V ".version), '[]'::json)," \
    " 'packaging', " V ".packaging, 'hours_per_week', " V ".hours_per_week,"                 \
    " 'terms', " V ".terms, 'rewards', " V ".rewards, 'starts_on', " V ".starts_on,"         \
    " 'review_on', " V ".review_on, 'change_note', " V ".change_note,"                       \
    " 'proposed_by', " V ".proposed_by, 'author', (SELECT json_build_object('id', au.id,"    \
    "   'display_name', au.display_name) FROM accounts au WHERE au.id = " V ".author_id),"   \
    " 'created_at', api_time(" V ".created_at))"

/* The closures of agreement A.id, oldest first, as a JSON array. */
#define CLOSURES_JSON(A)                                                                     \
    "coalesce((SELECT json_agg(json_build_object('side', c.side,"                            \
    "   'commitments_kept', c.commitments_kept, 'note', c.note, 'closed_at', api_time(c.closed_at))" \
    "   ORDER BY c.closed_at, c.side) FROM agreement_closures c WHERE c.agreement_id = " A ".id), '[]'::json)"

#endif
