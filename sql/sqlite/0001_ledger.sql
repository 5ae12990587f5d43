-- Ledger: raw callbacks, ledger entries and their history, bill files.
-- Times are INTEGER unix microseconds (UTC), NULL for the zero time.

CREATE TABLE IF NOT EXISTS raw_callbacks (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account            TEXT    NOT NULL,
    provider           TEXT    NOT NULL DEFAULT '',
    event_id           TEXT    NOT NULL DEFAULT '',
    -- event_id for accepted callbacks that have one, NULL otherwise: the
    -- unique index below then dedupes accepted events only.
    accepted_event_key TEXT    NULL,
    received_at        INTEGER NULL,
    headers            TEXT    NOT NULL DEFAULT '{}',
    body               BLOB    NOT NULL,
    body_sha256        TEXT    NOT NULL,
    accepted           INTEGER NOT NULL,
    reason             TEXT    NOT NULL DEFAULT '',
    source             TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX IF NOT EXISTS raw_callbacks_accepted_event ON raw_callbacks (account, accepted_event_key);
CREATE INDEX IF NOT EXISTS raw_callbacks_account_received ON raw_callbacks (account, received_at);

CREATE TABLE IF NOT EXISTS ledger_entries (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    account            TEXT    NOT NULL,
    provider           TEXT    NOT NULL,
    event_key          TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    status             TEXT    NOT NULL,
    merchant_order_no  TEXT    NOT NULL DEFAULT '',
    provider_txn_no    TEXT    NOT NULL DEFAULT '',
    merchant_refund_no TEXT    NOT NULL DEFAULT '',
    provider_refund_no TEXT    NOT NULL DEFAULT '',
    agreement_no       TEXT    NOT NULL DEFAULT '',
    merchant_agree_no  TEXT    NOT NULL DEFAULT '',
    plan_id            TEXT    NOT NULL DEFAULT '',
    amount             INTEGER NOT NULL,
    payer_amount       INTEGER NOT NULL,
    promotion_amount   INTEGER NOT NULL,
    currency           TEXT    NOT NULL DEFAULT '',
    occurred_at        INTEGER NULL,
    received_at        INTEGER NULL,
    source             TEXT    NOT NULL DEFAULT '',
    callback_id        INTEGER NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS ledger_entries_event ON ledger_entries (account, event_key);
CREATE INDEX IF NOT EXISTS ledger_entries_occurred ON ledger_entries (account, occurred_at);
CREATE INDEX IF NOT EXISTS ledger_entries_merchant_order ON ledger_entries (account, merchant_order_no);
CREATE INDEX IF NOT EXISTS ledger_entries_provider_txn ON ledger_entries (account, provider_txn_no);
CREATE INDEX IF NOT EXISTS ledger_entries_merchant_refund ON ledger_entries (account, merchant_refund_no);
CREATE INDEX IF NOT EXISTS ledger_entries_provider_refund ON ledger_entries (account, provider_refund_no);
CREATE INDEX IF NOT EXISTS ledger_entries_agreement ON ledger_entries (account, agreement_no);
CREATE INDEX IF NOT EXISTS ledger_entries_callback ON ledger_entries (callback_id);

CREATE TABLE IF NOT EXISTS ledger_history (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_id    INTEGER NOT NULL REFERENCES ledger_entries (id),
    account     TEXT    NOT NULL,
    old_status  TEXT    NOT NULL DEFAULT '',
    new_status  TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    reason      TEXT    NOT NULL DEFAULT '',
    changed_at  INTEGER NULL
);
CREATE INDEX IF NOT EXISTS ledger_history_entry ON ledger_history (entry_id, id);

CREATE TABLE IF NOT EXISTS bill_files (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    account        TEXT    NOT NULL,
    day            TEXT    NOT NULL,
    kind           TEXT    NOT NULL,
    name           TEXT    NOT NULL DEFAULT '',
    sha256         TEXT    NOT NULL,
    line_count     INTEGER NOT NULL DEFAULT 0,
    summary_count  INTEGER NOT NULL DEFAULT 0,
    summary_amount INTEGER NOT NULL DEFAULT 0,
    summary_refund INTEGER NOT NULL DEFAULT 0,
    summary_fee    INTEGER NOT NULL DEFAULT 0,
    has_summary    INTEGER NOT NULL DEFAULT 0,
    fetched_at     INTEGER NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS bill_files_content ON bill_files (account, day, kind, sha256);
