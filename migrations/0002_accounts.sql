-- 0002_accounts: let sign-in throttling purge expired failures cheaply
-- (every failure deletes the rows older than the window, whatever the scope).
CREATE INDEX login_failures_failed_at_idx ON login_failures (failed_at);
