-- What an instance says about itself (GET /api/v1/instance): its name, a
-- description, the rules shown at sign-up, whom to contact, set by
-- administrators (PATCH /api/v1/instance, If-Match on version). One row,
-- made by 0018 with the registration mode.
ALTER TABLE instance_settings
    ADD COLUMN name        text NOT NULL DEFAULT 'Purposed'
                                CHECK (char_length(name) BETWEEN 1 AND 100),
    ADD COLUMN description text NOT NULL DEFAULT ''
                                CHECK (char_length(description) <= 2000),
    ADD COLUMN rules       text[] NOT NULL DEFAULT '{}'
                                CHECK (cardinality(rules) <= 50),
    ADD COLUMN contact     text NOT NULL DEFAULT ''
                                CHECK (char_length(contact) <= 320),
    ADD COLUMN version     integer NOT NULL DEFAULT 1,
    ADD COLUMN updated_by  bigint REFERENCES accounts (id) ON DELETE SET NULL;
