-- Operations: run attempts that did not produce a run (refused because
-- another process held the lease, failed, bill not ready), the audit trail
-- of run leases (operator releases, expired leases taken over), and the
-- full length of a callback body whose stored body is only a prefix
-- (rejected callbacks keep a bounded prefix). Times are DATETIME(6) in UTC.

CREATE TABLE IF NOT EXISTS run_attempts (
    id      BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account VARCHAR(64)  NOT NULL,
    day     CHAR(10)     NOT NULL,
    at      DATETIME(6)  NULL,
    -- refused | failed | not_ready
    outcome VARCHAR(16)  NOT NULL,
    -- the attempting process (host:pid:nonce)
    owner   VARCHAR(191) NOT NULL DEFAULT '',
    -- for refused attempts: the lease holder and its expiry
    holder  VARCHAR(191) NOT NULL DEFAULT '',
    holder_expires_at DATETIME(6) NULL,
    reason  TEXT         NOT NULL,
    KEY run_attempts_account_day (account, day, at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS lock_audit (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account    VARCHAR(64)  NOT NULL,
    day        CHAR(10)     NOT NULL,
    at         DATETIME(6)  NULL,
    -- the operator (release) or the process that took an expired lease over
    actor      VARCHAR(191) NOT NULL,
    -- release | takeover
    step       VARCHAR(16)  NOT NULL,
    -- the lease concerned: its owner and expiry
    owner      VARCHAR(191) NOT NULL,
    expires_at DATETIME(6)  NULL,
    detail     TEXT         NOT NULL,
    KEY lock_audit_account_day (account, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- NULL: the stored body is the whole body (every row before this migration).
ALTER TABLE raw_callbacks ADD COLUMN body_length BIGINT NULL;
