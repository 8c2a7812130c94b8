-- demo.sql: a small, believable demo loaded by scripts/run (DEMO=0 skips it).
-- Idempotent: every insert is keyed on slugs, emails, handles or titles, so
-- loading it again adds nothing. Every demo account signs in with the
-- password "purposed-demo" (e.g. maya@demo.purposed.dev).
BEGIN;

-- ---------- accounts (Argon2id hash of "purposed-demo", libsodium INTERACTIVE) ----------
-- (their addresses taken as verified: demo accounts post and propose)
INSERT INTO accounts (email, password_hash, display_name, email_verified_at)
SELECT v.email, '$argon2id$v=19$m=65536,t=2,p=1$nKN6iXdtCRP2FXc7s4rEKA$ut044wAoHfLXtdLYe0+b1WNd7sLQXd62mQrtgqMRi70',
       v.display_name, now()
FROM (VALUES
    ('maya@demo.purposed.dev',  'Maya Okafor'),
    ('leo@demo.purposed.dev',   'Leo Brandt'),
    ('sofia@demo.purposed.dev', 'Sofía Marín'),
    ('kwame@demo.purposed.dev', 'Kwame Mensah'),
    ('hana@demo.purposed.dev',  'Hana Sato'),
    ('diego@demo.purposed.dev', 'Diego Alves'),
    ('noor@demo.purposed.dev',  'Noor Haddad'),
    ('elena@demo.purposed.dev', 'Elena Petrova'),
    ('ines@demo.purposed.dev',  'Inès Laurent'),
    ('tomas@demo.purposed.dev', 'Tomás Ruiz'),
    ('amara@demo.purposed.dev', 'Amara Diallo'),
    ('jonas@demo.purposed.dev', 'Jonas Weber'),
    ('priya@demo.purposed.dev', 'Priya Raman')
) AS v (email, display_name)
ON CONFLICT (email) WHERE email IS NOT NULL DO NOTHING;

-- ---------- the catalogue of purposes ----------
INSERT INTO purposes (slug, name, description, created_by)
SELECT v.slug, v.name, v.description, (SELECT id FROM accounts WHERE email = 'ines@demo.purposed.dev')
FROM (VALUES
    ('clean-water', 'Clean water', 'Safe drinking water and sanitation for every community, maintained by the people who use it.'),
    ('climate-action', 'Climate action', 'Cutting emissions and adapting to a changing climate, locally and measurably.'),
    ('open-science', 'Open science', 'Research that anyone can read, reproduce and build on: open data, open code, open access.'),
    ('digital-commons', 'Digital commons', 'Software, knowledge and infrastructure held in common and governed by their communities.'),
    ('food-sovereignty', 'Food sovereignty', 'Communities deciding how their food is grown, shared and priced.'),
    ('public-health', 'Public health', 'Prevention, primary care and health information that reach everyone.'),
    ('education-access', 'Education access', 'Learning that does not depend on income, postcode or age.'),
    ('biodiversity', 'Biodiversity', 'Protecting and restoring ecosystems, seeds and species.'),
    ('circular-economy', 'Circular economy', 'Repair, reuse and materials that stay in use instead of becoming waste.'),
    ('housing-justice', 'Housing justice', 'Affordable, secure homes and tenants with a voice.'),
    ('civic-tech', 'Civic tech', 'Tools that help people take part in public decisions and hold institutions to account.'),
    ('mental-health', 'Mental health', 'Peer support, access to care and workplaces that do not burn people out.')
) AS v (slug, name, description)
ON CONFLICT DO NOTHING;

-- ---------- organisations, with their charter history ----------
INSERT INTO organisations (slug, name, purpose_statement, association_norms, charter_version,
                           legal_form, governance, website, location, created_at)
SELECT v.slug, v.name, v.statement, v.norms, v.charter_version, v.legal_form, v.governance,
       v.website, v.location, now() - v.age
FROM (VALUES
    ('wellspring-collective', 'Wellspring Collective',
     'We help rural communities build, own and maintain their water systems, so that clean water outlasts any project cycle.',
     'Decisions by consent in circles. Every circle has a community-elected member. We publish our accounts quarterly. Anyone may pause work they believe is unsafe.',
     3, 'cooperative', 'sociocracy', 'https://wellspring.example.org', 'Accra, Ghana', interval '400 days'),
    ('open-lab-commons', 'Open Lab Commons',
     'We make laboratory science reproducible by publishing protocols, data and instrument designs under open licences.',
     'Work in the open by default. Credit every contributor in every output. Disagreements go to a monthly consent round.',
     2, 'foundation', 'consent_based', 'https://openlab.example.org', 'Lisbon, Portugal', interval '300 days'),
    ('seedline-cooperative', 'Seedline Cooperative',
     'We keep local seed varieties alive and in farmers'' hands through community seed banks and fair distribution.',
     'One member, one vote. Roles, not bosses: anyone can propose a role change. Surplus is shared by hours given, not by capital.',
     3, 'cooperative', 'holacracy', 'https://seedline.example.org', 'Oaxaca, Mexico', interval '520 days'),
    ('loop-works', 'Loop Works',
     'We design repair and take-back programmes that keep electronics in use for twice as long.',
     'Self-management in small teams. Salaries are transparent. We say no to clients whose business depends on planned obsolescence.',
     2, 'b_corp', 'teal', 'https://loopworks.example.org', 'Rotterdam, Netherlands', interval '250 days'),
    ('civic-signal', 'Civic Signal',
     'We build open tools that let residents follow, question and shape decisions made by their city council.',
     'All code is open source. Residents co-design every tool. Funding never comes with editorial control.',
     2, 'nonprofit', 'sociocracy', 'https://civicsignal.example.org', 'Nairobi, Kenya', interval '180 days')
) AS v (slug, name, statement, norms, charter_version, legal_form, governance, website, location, age)
ON CONFLICT DO NOTHING;

-- Every version of each charter; only for organisations that have none yet.
INSERT INTO organisation_charters (organisation_id, version, purpose_statement, association_norms,
                                   change_note, changed_by, changed_at)
SELECT o.id, v.version, v.statement, v.norms, v.note,
       (SELECT id FROM accounts WHERE email = v.author), now() - v.age
FROM (VALUES
    ('wellspring-collective', 1,
     'We install wells in rural communities.',
     'Decisions by the board. Quarterly reports to funders.',
     NULL, 'ines@demo.purposed.dev', interval '400 days'),
    ('wellspring-collective', 2,
     'We help rural communities build and maintain their water systems.',
     'Decisions by consent in circles. We publish our accounts quarterly.',
     'From installing wells to maintaining systems: half of the wells we built were broken within five years.',
     'ines@demo.purposed.dev', interval '250 days'),
    ('wellspring-collective', 3,
     'We help rural communities build, own and maintain their water systems, so that clean water outlasts any project cycle.',
     'Decisions by consent in circles. Every circle has a community-elected member. We publish our accounts quarterly. Anyone may pause work they believe is unsafe.',
     'Communities own the systems; every circle now includes a community-elected member; anyone may pause unsafe work.',
     'maya@demo.purposed.dev', interval '60 days'),
    ('open-lab-commons', 1,
     'We publish laboratory protocols under open licences.',
     'Work in the open by default. Credit every contributor.',
     NULL, 'tomas@demo.purposed.dev', interval '300 days'),
    ('open-lab-commons', 2,
     'We make laboratory science reproducible by publishing protocols, data and instrument designs under open licences.',
     'Work in the open by default. Credit every contributor in every output. Disagreements go to a monthly consent round.',
     'Data and instrument designs are in scope, not only protocols; a monthly consent round settles disagreements.',
     'tomas@demo.purposed.dev', interval '90 days'),
    ('seedline-cooperative', 1,
     'We run a seed bank for our village.',
     'One member, one vote.',
     NULL, 'amara@demo.purposed.dev', interval '520 days'),
    ('seedline-cooperative', 2,
     'We keep local seed varieties alive through community seed banks.',
     'One member, one vote. Roles, not bosses: anyone can propose a role change.',
     'Seven villages joined; we moved to role-based self-management.',
     'amara@demo.purposed.dev', interval '330 days'),
    ('seedline-cooperative', 3,
     'We keep local seed varieties alive and in farmers'' hands through community seed banks and fair distribution.',
     'One member, one vote. Roles, not bosses: anyone can propose a role change. Surplus is shared by hours given, not by capital.',
     'Fair distribution is part of the purpose; surplus is now shared by hours given.',
     'amara@demo.purposed.dev', interval '45 days'),
    ('loop-works', 1,
     'We repair electronics for businesses.',
     'Self-management in small teams. Salaries are transparent.',
     NULL, 'jonas@demo.purposed.dev', interval '250 days'),
    ('loop-works', 2,
     'We design repair and take-back programmes that keep electronics in use for twice as long.',
     'Self-management in small teams. Salaries are transparent. We say no to clients whose business depends on planned obsolescence.',
     'From a repair shop to programmes with manufacturers; we now refuse clients built on planned obsolescence.',
     'jonas@demo.purposed.dev', interval '30 days'),
    ('civic-signal', 1,
     'We build open tools that let residents follow their city council.',
     'All code is open source. Residents co-design every tool.',
     NULL, 'priya@demo.purposed.dev', interval '180 days'),
    ('civic-signal', 2,
     'We build open tools that let residents follow, question and shape decisions made by their city council.',
     'All code is open source. Residents co-design every tool. Funding never comes with editorial control.',
     'Following is not enough: residents should be able to question and shape decisions. Added our funding rule.',
     'priya@demo.purposed.dev', interval '20 days')
) AS v (slug, version, statement, norms, note, author, age)
JOIN organisations o ON o.slug = v.slug
WHERE NOT EXISTS (SELECT 1 FROM organisation_charters c WHERE c.organisation_id = o.id)
ON CONFLICT DO NOTHING;

INSERT INTO organisation_purposes (organisation_id, purpose_id)
SELECT o.id, p.id
FROM (VALUES
    ('wellspring-collective', 'clean-water'), ('wellspring-collective', 'public-health'),
    ('open-lab-commons', 'open-science'), ('open-lab-commons', 'digital-commons'),
    ('seedline-cooperative', 'food-sovereignty'), ('seedline-cooperative', 'biodiversity'),
    ('loop-works', 'circular-economy'), ('loop-works', 'climate-action'),
    ('civic-signal', 'civic-tech'), ('civic-signal', 'education-access'),
    ('civic-signal', 'digital-commons')
) AS v (org, purpose)
JOIN organisations o ON o.slug = v.org JOIN purposes p ON p.slug = v.purpose
WHERE NOT EXISTS (SELECT 1 FROM organisation_purposes x WHERE x.organisation_id = o.id)
ON CONFLICT DO NOTHING;

INSERT INTO memberships (organisation_id, account_id, role)
SELECT o.id, a.id, v.role
FROM (VALUES
    ('wellspring-collective', 'ines@demo.purposed.dev', 'owner'),
    ('wellspring-collective', 'maya@demo.purposed.dev', 'admin'),
    ('open-lab-commons', 'tomas@demo.purposed.dev', 'owner'),
    ('open-lab-commons', 'hana@demo.purposed.dev', 'member'),
    ('seedline-cooperative', 'amara@demo.purposed.dev', 'owner'),
    ('seedline-cooperative', 'sofia@demo.purposed.dev', 'member'),
    ('loop-works', 'jonas@demo.purposed.dev', 'owner'),
    ('loop-works', 'leo@demo.purposed.dev', 'admin'),
    ('civic-signal', 'priya@demo.purposed.dev', 'owner'),
    ('civic-signal', 'noor@demo.purposed.dev', 'member')
) AS v (org, email, role)
JOIN organisations o ON o.slug = v.org JOIN accounts a ON a.email = v.email
ON CONFLICT DO NOTHING;

-- ---------- agents and how they split their energy ----------
INSERT INTO agents (account_id, handle, headline, personal_purpose, skills, capacity_hours_per_week,
                    packagings, location, remote_ok, discoverable, show_track_record, show_follows)
SELECT a.id, v.handle, v.headline, v.purpose, v.skills, v.capacity, v.packagings, v.location,
       v.remote_ok, v.discoverable, true, v.show_follows
FROM (VALUES
    ('maya@demo.purposed.dev', 'maya', 'Water engineer turning projects into commons',
     'I want every water system I touch to be owned and understood by the people who drink from it.',
     ARRAY['hydraulics', 'community facilitation', 'project management'], 30,
     ARRAY['partnership', 'consulting', 'volunteer'], 'Accra, Ghana', true, true, true),
    ('leo@demo.purposed.dev', 'leo', 'Repair technician and trainer',
     'Teaching people to fix things is the fastest climate action I know.',
     ARRAY['electronics repair', 'training', 'supply chains'], 32,
     ARRAY['employment', 'partnership'], 'Rotterdam, Netherlands', false, true, true),
    ('sofia@demo.purposed.dev', 'sofia', 'Agronomist, seed keeper',
     'Seeds are a library that must be read aloud every season.',
     ARRAY['agronomy', 'seed saving', 'spanish', 'data collection'], 25,
     ARRAY['employment', 'volunteer'], 'Oaxaca, Mexico', true, true, true),
    ('kwame@demo.purposed.dev', 'kwame', 'Data scientist for public health',
     'Numbers should help nurses, not only funders.',
     ARRAY['python', 'statistics', 'data visualisation', 'epidemiology'], 20,
     ARRAY['consulting', 'interim', 'volunteer'], 'Kumasi, Ghana', true, true, false),
    ('hana@demo.purposed.dev', 'hana', 'Research software engineer',
     'Reproducible science needs software that outlives the grant.',
     ARRAY['python', 'rust', 'research software', 'open hardware'], 24,
     ARRAY['employment', 'partnership', 'consulting'], 'Lisbon, Portugal', true, true, true),
    ('diego@demo.purposed.dev', 'diego', 'Designer for civic participation',
     'Public decisions should be as easy to follow as a group chat.',
     ARRAY['service design', 'user research', 'figma', 'portuguese'], 16,
     ARRAY['consulting', 'volunteer'], 'Porto Alegre, Brazil', true, true, true),
    ('noor@demo.purposed.dev', 'noor', 'Community organiser and educator',
     'I help neighbourhoods learn the skills they need to govern themselves.',
     ARRAY['facilitation', 'curriculum design', 'arabic', 'community facilitation'], 28,
     ARRAY['employment', 'partnership', 'volunteer'], 'Nairobi, Kenya', true, true, true),
    ('elena@demo.purposed.dev', 'elena', 'Interim operations lead for cooperatives',
     'Good operations free everyone else to do the work that matters.',
     ARRAY['operations', 'finance', 'governance', 'project management'], 12,
     ARRAY['interim', 'consulting'], 'Sofia, Bulgaria', true, false, true)
) AS v (email, handle, headline, purpose, skills, capacity, packagings, location, remote_ok,
        discoverable, show_follows)
JOIN accounts a ON a.email = v.email
ON CONFLICT DO NOTHING;

-- Only for agents without a split yet: a split someone changed is theirs.
INSERT INTO agent_purposes (agent_id, purpose_id, energy)
SELECT g.id, p.id, v.energy
FROM (VALUES
    ('maya', 'clean-water', 60), ('maya', 'public-health', 25), ('maya', 'climate-action', 10),
    ('leo', 'circular-economy', 70), ('leo', 'climate-action', 30),
    ('sofia', 'food-sovereignty', 55), ('sofia', 'biodiversity', 35),
    ('kwame', 'public-health', 50), ('kwame', 'open-science', 30), ('kwame', 'clean-water', 20),
    ('hana', 'open-science', 60), ('hana', 'digital-commons', 40),
    ('diego', 'civic-tech', 65), ('diego', 'housing-justice', 20), ('diego', 'education-access', 10),
    ('noor', 'education-access', 45), ('noor', 'civic-tech', 30), ('noor', 'mental-health', 25),
    ('elena', 'food-sovereignty', 40), ('elena', 'circular-economy', 40)
) AS v (handle, purpose, energy)
JOIN agents g ON g.handle = v.handle JOIN purposes p ON p.slug = v.purpose
WHERE NOT EXISTS (SELECT 1 FROM agent_purposes x WHERE x.agent_id = g.id)
ON CONFLICT DO NOTHING;

INSERT INTO follows (agent_id, organisation_id, created_at)
SELECT g.id, o.id, now() - v.age
FROM (VALUES
    ('maya', 'seedline-cooperative', interval '40 days'),
    ('kwame', 'wellspring-collective', interval '35 days'),
    ('kwame', 'open-lab-commons', interval '12 days'),
    ('hana', 'civic-signal', interval '20 days'),
    ('diego', 'civic-signal', interval '50 days'),
    ('diego', 'loop-works', interval '8 days'),
    ('noor', 'wellspring-collective', interval '15 days'),
    ('elena', 'seedline-cooperative', interval '25 days'),
    ('elena', 'loop-works', interval '5 days'),
    ('sofia', 'wellspring-collective', interval '3 days'),
    ('leo', 'open-lab-commons', interval '2 days')
) AS v (handle, org, age)
JOIN agents g ON g.handle = v.handle JOIN organisations o ON o.slug = v.org
ON CONFLICT DO NOTHING;

-- ---------- open engagements (keyed on organisation and title) ----------
CREATE TEMPORARY TABLE demo_engagements ON COMMIT DROP AS
SELECT * FROM (VALUES
    ('wellspring-collective', 'Community water committee trainer',
     'Train elected water committees in five villages to run maintenance, collect fair tariffs and keep simple accounts. You will co-design the material with the committees and leave it with them.',
     ARRAY['clean-water', 'public-health'], ARRAY['partnership', 'volunteer'], 12, 24,
     ARRAY['community facilitation', 'training', 'finance'], 'Tamale, Ghana', false,
     NULL::numeric, NULL::numeric, NULL, NULL,
     ARRAY['learning: community-led infrastructure', 'network of 40 village committees', 'co-authorship of the maintenance handbook'],
     interval '3 days'),
    ('wellspring-collective', 'Water quality data volunteer',
     'Help us turn monthly water tests into a dashboard the communities can read. Remote, with one field visit if you like.',
     ARRAY['clean-water', 'open-science'], ARRAY['volunteer', 'consulting'], 4, 12,
     ARRAY['python', 'data visualisation'], NULL, true,
     NULL, NULL, NULL, NULL,
     ARRAY['credit on the public dashboard', 'reference letter', 'field visit covered'],
     interval '9 days'),
    ('open-lab-commons', 'Research software engineer for open instruments',
     'Maintain the firmware and analysis pipeline of our open spectrophotometer, used by 60 labs. Reproducibility first: tests, releases, documentation.',
     ARRAY['open-science', 'digital-commons'], ARRAY['employment', 'partnership'], 32, NULL,
     ARRAY['python', 'rust', 'research software'], 'Lisbon, Portugal', true,
     2800, 3400, 'EUR', 'month',
     ARRAY['authorship on instrument papers', 'conference travel', 'learning budget'],
     interval '1 day'),
    ('open-lab-commons', 'Protocol editor (open access)',
     'Edit and test community-submitted lab protocols before publication. Careful reading, patient feedback, and a love of clear instructions.',
     ARRAY['open-science'], ARRAY['consulting', 'volunteer'], 6, 16,
     ARRAY['technical writing', 'biology'], NULL, true,
     NULL, NULL, NULL, NULL,
     ARRAY['editor credit on every protocol', 'network of open science labs'],
     interval '14 days'),
    ('seedline-cooperative', 'Seed bank coordinator',
     'Coordinate seven community seed banks: germination tests, exchanges between villages, and the shared catalogue.',
     ARRAY['food-sovereignty', 'biodiversity'], ARRAY['employment'], 30, 52,
     ARRAY['agronomy', 'seed saving', 'spanish'], 'Oaxaca, Mexico', false,
     14000, 18000, 'MXN', 'month',
     ARRAY['housing in the cooperative', 'share of the surplus by hours given', 'spanish and zapotec lessons'],
     interval '5 days'),
    ('seedline-cooperative', 'Catalogue data steward',
     'Keep our open catalogue of 1,200 local varieties accurate and usable by farmers and researchers.',
     ARRAY['biodiversity', 'open-science'], ARRAY['volunteer', 'consulting'], 5, 20,
     ARRAY['data collection', 'python'], NULL, true,
     NULL, NULL, NULL, NULL,
     ARRAY['co-authorship of the catalogue', 'seeds for your own garden', 'learning: agroecology'],
     interval '21 days'),
    ('seedline-cooperative', 'Interim operations lead',
     'Six months to put our finances, roles and member records in order while our elected lead is on leave.',
     ARRAY['food-sovereignty'], ARRAY['interim'], 20, 26,
     ARRAY['operations', 'finance', 'governance'], 'Oaxaca, Mexico', true,
     NULL, NULL, NULL, NULL,
     ARRAY['membership of the cooperative', 'network of Latin American co-ops'],
     interval '2 days'),
    ('loop-works', 'Repair trainer for take-back programme',
     'Train technicians at partner shops to repair laptops returned through our take-back programme, and improve the repair guides as you go.',
     ARRAY['circular-economy', 'climate-action'], ARRAY['employment', 'partnership'], 32, NULL,
     ARRAY['electronics repair', 'training'], 'Rotterdam, Netherlands', false,
     3200, 3900, 'EUR', 'month',
     ARRAY['equity in the programme spin-off', 'learning budget', 'transparent salaries'],
     interval '4 days'),
    ('loop-works', 'Supply chain researcher (reuse)',
     'Map where our returned devices and parts go, and find partners who keep them in use longest.',
     ARRAY['circular-economy'], ARRAY['consulting', 'interim'], 10, 12,
     ARRAY['supply chains', 'statistics'], NULL, true,
     NULL, NULL, NULL, NULL,
     ARRAY['co-authored public report', 'network of repair businesses'],
     interval '11 days'),
    ('civic-signal', 'Designer for council meeting tracker',
     'Co-design, with residents, how people follow and question agenda items of the Nairobi city council.',
     ARRAY['civic-tech', 'digital-commons'], ARRAY['consulting', 'volunteer'], 8, 10,
     ARRAY['service design', 'user research', 'figma'], 'Nairobi, Kenya', true,
     NULL, NULL, NULL, NULL,
     ARRAY['portfolio credit', 'network of civic tech groups', 'learning: participatory design'],
     interval '6 days'),
    ('civic-signal', 'Civic education facilitator',
     'Run monthly workshops in community centres on how council decisions are made and how to take part.',
     ARRAY['education-access', 'civic-tech'], ARRAY['partnership', 'volunteer'], 6, 24,
     ARRAY['facilitation', 'curriculum design'], 'Nairobi, Kenya', false,
     NULL, NULL, NULL, NULL,
     ARRAY['training in facilitation', 'community recognition', 'travel covered'],
     interval '8 days'),
    ('civic-signal', 'Peer support circle host',
     'Host a fortnightly peer support circle for our volunteers: burnout is the main reason people leave civic work.',
     ARRAY['mental-health'], ARRAY['volunteer'], 2, 26,
     ARRAY['facilitation'], NULL, true,
     NULL, NULL, NULL, NULL,
     ARRAY['supervision by a licensed counsellor', 'learning: peer support'],
     interval '16 days')
) AS v (org, title, description, purposes, packagings, hours, weeks, skills, location, remote_ok,
        cash_min, cash_max, cash_currency, cash_period, non_cash, age);

INSERT INTO engagements (organisation_id, title, description, hours_per_week, duration_weeks, skills,
                         packagings, location, remote_ok, cash_min, cash_max, cash_currency,
                         cash_period, non_cash, status, created_by, created_at, updated_at)
SELECT o.id, d.title, d.description, d.hours, d.weeks, d.skills, d.packagings, d.location,
       d.remote_ok, d.cash_min, d.cash_max, d.cash_currency, d.cash_period, d.non_cash, 'open',
       (SELECT m.account_id FROM memberships m WHERE m.organisation_id = o.id AND m.role = 'owner'
        ORDER BY m.account_id LIMIT 1),
       now() - d.age, now() - d.age
FROM demo_engagements d JOIN organisations o ON o.slug = d.org
WHERE NOT EXISTS (SELECT 1 FROM engagements e WHERE e.organisation_id = o.id AND e.title = d.title);

INSERT INTO engagement_purposes (engagement_id, purpose_id)
SELECT e.id, p.id
FROM demo_engagements d
JOIN organisations o ON o.slug = d.org
JOIN engagements e ON e.organisation_id = o.id AND e.title = d.title
JOIN purposes p ON p.slug = ANY (d.purposes)
WHERE NOT EXISTS (SELECT 1 FROM engagement_purposes x WHERE x.engagement_id = e.id)
ON CONFLICT DO NOTHING;

COMMIT;
