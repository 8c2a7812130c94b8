-- 0023_engagement_skill_keys: engagements written before 0015 got no skill
-- keys (0015 re-wrote their titles, which fills the search document but not
-- the keys: its trigger normalises skills only when they change), so the
-- skill filter and the match index did not see their skills. Fill them the
-- way the trigger does, adding new keys to the catalogue.
UPDATE engagements e SET skills = l.names, skill_keys = l.keys
  FROM engagements x CROSS JOIN LATERAL skill_list_normalise(x.skills) l
 WHERE x.id = e.id AND e.skill_keys = '{}' AND e.skills <> '{}';
