-- Runs: reconciliation runs, their classified items, discrepancy identity and
-- review state across re-runs, repair actions and their audit trail, and the
-- run lease. Times are INTEGER unix microseconds (UTC), NULL for the zero time.

CREATE TABLE IF NOT EXISTS runs (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    account       TEXT    NOT NULL,
    provider      TEXT    NOT NULL DEFAULT '',
    day           TEXT    NOT NULL,
    state         TEXT    NOT NULL,
    started_at    INTEGER NULL,
    finished_at   INTEGER NULL,
    -- payrecon.Totals as JSON
    totals_json   TEXT    NOT NULL DEFAULT '{}',
    -- []payrecon.BillFile as JSON
    bills_json    TEXT    NOT NULL DEFAULT '[]',
    error         TEXT    NOT NULL DEFAULT '',
    version       TEXT    NOT NULL DEFAULT '',
    -- the run that replaced this one for reporting; NULL while current
    superseded_by INTEGER NULL
);
CREATE INDEX IF NOT EXISTS runs_account_day ON runs (account, day);

CREATE TABLE IF NOT EXISTS run_items (
    id                 INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id             INTEGER NOT NULL,
    item_key           TEXT    NOT NULL,
    account            TEXT    NOT NULL,
    day                TEXT    NOT NULL,
    class              TEXT    NOT NULL,
    kind               TEXT    NOT NULL,
    merchant_order_no  TEXT    NOT NULL DEFAULT '',
    provider_txn_no    TEXT    NOT NULL DEFAULT '',
    merchant_refund_no TEXT    NOT NULL DEFAULT '',
    provider_refund_no TEXT    NOT NULL DEFAULT '',
    agreement_no       TEXT    NOT NULL DEFAULT '',
    ledger_amount      INTEGER NOT NULL,
    bill_amount        INTEGER NOT NULL,
    delta              INTEGER NOT NULL,
    ledger_status      TEXT    NOT NULL DEFAULT '',
    provider_status    TEXT    NOT NULL DEFAULT '',
    ledger_fee         INTEGER NOT NULL DEFAULT 0,
    bill_fee           INTEGER NOT NULL DEFAULT 0,
    ledger_time        INTEGER NULL,
    bill_time          INTEGER NULL,
    -- the day a carried-over item was first seen; '' for others
    origin_day         TEXT    NOT NULL DEFAULT '',
    note               TEXT    NOT NULL DEFAULT '',
    product            TEXT    NOT NULL DEFAULT '',
    ledger_entry_id    INTEGER NOT NULL DEFAULT 0,
    action             TEXT    NOT NULL DEFAULT '',
    -- for an item that settles an earlier day's carried_over item (resolved
    -- late, or turned into a discrepancy): that item's key
    resolves_key       TEXT    NULL
);
CREATE INDEX IF NOT EXISTS run_items_run ON run_items (run_id);
CREATE INDEX IF NOT EXISTS run_items_carry ON run_items (account, class, origin_day);
CREATE INDEX IF NOT EXISTS run_items_resolves ON run_items (account, resolves_key);

CREATE TABLE IF NOT EXISTS discrepancies (
    item_key       TEXT    NOT NULL PRIMARY KEY,
    account        TEXT    NOT NULL,
    class          TEXT    NOT NULL,
    first_seen_day TEXT    NOT NULL,
    last_run_id    INTEGER NOT NULL,
    -- new | acknowledged | resolved | wont_fix
    review_state   TEXT    NOT NULL DEFAULT 'new',
    reviewer       TEXT    NOT NULL DEFAULT '',
    review_note    TEXT    NOT NULL DEFAULT '',
    updated_at     INTEGER NULL
);
CREATE INDEX IF NOT EXISTS discrepancies_account ON discrepancies (account, first_seen_day);

CREATE TABLE IF NOT EXISTS actions (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    discrepancy_key TEXT    NOT NULL,
    account         TEXT    NOT NULL,
    day             TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    state           TEXT    NOT NULL,
    -- payrecon.Item as JSON
    item_json       TEXT    NOT NULL DEFAULT '{}',
    idempotency_key TEXT    NOT NULL DEFAULT '',
    approved_by     TEXT    NOT NULL DEFAULT '',
    reason          TEXT    NOT NULL DEFAULT '',
    result          TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NULL,
    updated_at      INTEGER NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS actions_discrepancy_kind ON actions (discrepancy_key, kind);
CREATE INDEX IF NOT EXISTS actions_account_day ON actions (account, day);

CREATE TABLE IF NOT EXISTS action_audit (
    id        INTEGER PRIMARY KEY AUTOINCREMENT,
    action_id INTEGER NOT NULL,
    at        INTEGER NULL,
    actor     TEXT    NOT NULL,
    step      TEXT    NOT NULL,
    detail    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS action_audit_action ON action_audit (action_id);

CREATE TABLE IF NOT EXISTS run_locks (
    account    TEXT    NOT NULL,
    day        TEXT    NOT NULL,
    owner      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (account, day)
);
