/* mail_sql: SQL pieces that write mail into the outbox (lib/outbox.h) in
 * the statement that causes it, so a message exists exactly when its event
 * committed. */
#ifndef PURPOSED_HANDLERS_MAIL_SQL_H
#define PURPOSED_HANDLERS_MAIL_SQL_H

/* CTEs (each after a comma) that give every row of ACC (a CTE with id,
 * email, display_name) a verification token - HASH is the parameter of its
 * hash (bytea text), TOKEN of the token itself - valid 7 days, and queue
 * the verify_email letter carrying it. The token leaves the job when it
 * finishes; only its hash stays. */
#define MAIL_SQL_VERIFY(ACC, HASH, TOKEN)                                                      \
    " vtok AS (INSERT INTO email_tokens (account_id, purpose, token_hash, email, expires_at)"  \
    "   SELECT id, 'verify', " HASH "::bytea, email, now() + interval '7 days' FROM " ACC "),"  \
    " vmail AS (INSERT INTO jobs (kind, payload) SELECT 'mail', jsonb_build_object("          \
    "   'to', email, 'template', 'verify_email', 'vars', jsonb_build_object('name', display_name)," \
    "   'secret', jsonb_build_object('token', " TOKEN "::text)) FROM " ACC ")"

/* A letter without secrets to each row of ROWS: TO and VARS are SQL
 * expressions over its columns. */
#define MAIL_SQL_LETTER(NAME, ROWS, TEMPLATE, TO, VARS)                                        \
    " " NAME " AS (INSERT INTO jobs (kind, payload) SELECT 'mail', jsonb_build_object("       \
    "   'to', " TO ", 'template', '" TEMPLATE "', 'vars', " VARS ") FROM " ROWS ")"

#endif
