-- 0013_instance_secrets: secrets of this instance that the daemon makes
-- itself when the operator gives none (the key that signs pagination
-- cursors when CURSOR_SECRET is not set). Made once, at random, by the first
-- daemon that needs one, and read by every daemon on the database, so what
-- one signs the others accept, before and after a restart. Readable by
-- whoever can read the database, like everything else in it.
CREATE TABLE instance_secrets (
    name       text PRIMARY KEY,
    value      text NOT NULL CHECK (length(value) >= 64),
    created_at timestamptz NOT NULL DEFAULT now()
);
