-- Operations: run attempts that did not produce a run (refused because
-- another process held the lease, failed, bill not ready), the audit trail
-- of run leases (operator releases, expired leases taken over), and the
-- full length of a callback body whose stored body is only a prefix
-- (rejected callbacks keep a bounded prefix). Times are INTEGER unix
-- microseconds (UTC).

CREATE TABLE IF NOT EXISTS run_attempts (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    account TEXT    NOT NULL,
    day     TEXT    NOT NULL,
    at      INTEGER NULL,
    -- refused | failed | not_ready
    outcome TEXT    NOT NULL,
    -- the attempting process (host:pid:nonce)
    owner   TEXT    NOT NULL DEFAULT '',
    -- for refused attempts: the lease holder and its expiry
    holder  TEXT    NOT NULL DEFAULT '',
    holder_expires_at INTEGER NULL,
    reason  TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS run_attempts_account_day ON run_attempts (account, day, at);

CREATE TABLE IF NOT EXISTS lock_audit (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account    TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    at         INTEGER NULL,
    -- the operator (release) or the process that took an expired lease over
    actor      TEXT    NOT NULL,
    -- release | takeover
    step       TEXT    NOT NULL,
    -- the lease concerned: its owner and expiry
    owner      TEXT    NOT NULL,
    expires_at INTEGER NULL,
    detail     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS lock_audit_account_day ON lock_audit (account, day);

-- NULL: the stored body is the whole body (every row before this migration).
ALTER TABLE raw_callbacks ADD COLUMN body_length INTEGER NULL;
