-- Review (finance staff): review state open | investigating | resolved |
-- written_off | tolerated on every discrepancy, with assignee, due day from
-- the SLA, a version counting the changes, an audit trail of every change,
-- comments, and the key of the workbook's row checksums.

ALTER TABLE discrepancies
    ADD COLUMN kind           VARCHAR(16)  NOT NULL DEFAULT '',
    ADD COLUMN ref            VARCHAR(160) NOT NULL DEFAULT '',
    ADD COLUMN last_day       CHAR(10)     NOT NULL DEFAULT '',
    ADD COLUMN delta          BIGINT       NOT NULL DEFAULT 0,
    ADD COLUMN amount         BIGINT       NOT NULL DEFAULT 0,
    ADD COLUMN assignee       VARCHAR(128) NOT NULL DEFAULT '',
    ADD COLUMN reason_code    VARCHAR(64)  NOT NULL DEFAULT '',
    ADD COLUMN tolerance_rule VARCHAR(64)  NOT NULL DEFAULT '',
    ADD COLUMN due_day        CHAR(10)     NOT NULL DEFAULT '',
    ADD COLUMN review_version BIGINT       NOT NULL DEFAULT 0;

-- The states before 0004: new, acknowledged, resolved, wont_fix.
UPDATE discrepancies SET review_state = 'open' WHERE review_state = 'new';
UPDATE discrepancies SET review_state = 'investigating' WHERE review_state = 'acknowledged';
UPDATE discrepancies SET review_state = 'written_off', reason_code = 'legacy' WHERE review_state = 'wont_fix';
UPDATE discrepancies SET last_day = first_seen_day WHERE last_day = '';

CREATE INDEX discrepancies_state ON discrepancies (review_state, account, last_day);

CREATE TABLE IF NOT EXISTS review_audit (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    item_key    CHAR(32)     NOT NULL,
    version     BIGINT       NOT NULL,
    at          DATETIME(6)  NULL,
    actor       VARCHAR(128) NOT NULL,
    -- cli | workbook | run
    source      VARCHAR(16)  NOT NULL,
    -- payrecon.ReviewFields as JSON
    before_json TEXT         NOT NULL,
    after_json  TEXT         NOT NULL,
    comment     TEXT         NOT NULL,
    UNIQUE KEY review_audit_key_version (item_key, version)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS review_comments (
    id       BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    item_key CHAR(32)     NOT NULL,
    at       DATETIME(6)  NULL,
    author   VARCHAR(128) NOT NULL,
    source   VARCHAR(16)  NOT NULL,
    body     TEXT         NOT NULL,
    KEY review_comments_key (item_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

-- Keys payrecon generates for itself (the workbook checksum key), created
-- once; never printed.
CREATE TABLE IF NOT EXISTS app_keys (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(64)  NOT NULL,
    value      VARCHAR(255) NOT NULL,
    created_at DATETIME(6)  NULL,
    UNIQUE KEY app_keys_name (name)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
