-- Review (finance staff): review state open | investigating | resolved |
-- written_off | tolerated on every discrepancy, with assignee, due day from
-- the SLA, a version counting the changes, an audit trail of every change,
-- comments, and the key of the workbook's row checksums.

ALTER TABLE discrepancies ADD COLUMN kind TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN ref TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN last_day TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN delta INTEGER NOT NULL DEFAULT 0;
ALTER TABLE discrepancies ADD COLUMN amount INTEGER NOT NULL DEFAULT 0;
ALTER TABLE discrepancies ADD COLUMN assignee TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN reason_code TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN tolerance_rule TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN due_day TEXT NOT NULL DEFAULT '';
ALTER TABLE discrepancies ADD COLUMN review_version INTEGER NOT NULL DEFAULT 0;

-- The states before 0004: new, acknowledged, resolved, wont_fix.
UPDATE discrepancies SET review_state = 'open' WHERE review_state = 'new';
UPDATE discrepancies SET review_state = 'investigating' WHERE review_state = 'acknowledged';
UPDATE discrepancies SET review_state = 'written_off', reason_code = 'legacy' WHERE review_state = 'wont_fix';
UPDATE discrepancies SET last_day = first_seen_day WHERE last_day = '';

CREATE INDEX IF NOT EXISTS discrepancies_state ON discrepancies (review_state, account, last_day);

CREATE TABLE IF NOT EXISTS review_audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    item_key    TEXT    NOT NULL,
    version     INTEGER NOT NULL,
    at          INTEGER NULL,
    actor       TEXT    NOT NULL,
    -- cli | workbook | run
    source      TEXT    NOT NULL,
    -- payrecon.ReviewFields as JSON
    before_json TEXT    NOT NULL DEFAULT '{}',
    after_json  TEXT    NOT NULL DEFAULT '{}',
    comment     TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS review_audit_key_version ON review_audit (item_key, version);

CREATE TABLE IF NOT EXISTS review_comments (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    item_key TEXT    NOT NULL,
    at       INTEGER NULL,
    author   TEXT    NOT NULL,
    source   TEXT    NOT NULL,
    body     TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS review_comments_key ON review_comments (item_key);

-- Keys payrecon generates for itself (the workbook checksum key), created
-- once; never printed.
CREATE TABLE IF NOT EXISTS app_keys (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    value      TEXT    NOT NULL,
    created_at INTEGER NULL
);
