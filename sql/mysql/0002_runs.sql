-- Runs: reconciliation runs, their classified items, discrepancy identity and
-- review state across re-runs, repair actions and their audit trail, and the
-- run lease. Times are DATETIME(6) in UTC, NULL for the zero time.

CREATE TABLE IF NOT EXISTS runs (
    id            BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account       VARCHAR(64)  NOT NULL,
    provider      VARCHAR(32)  NOT NULL DEFAULT '',
    day           CHAR(10)     NOT NULL,
    state         VARCHAR(16)  NOT NULL,
    started_at    DATETIME(6)  NULL,
    finished_at   DATETIME(6)  NULL,
    -- payrecon.Totals as JSON
    totals_json   MEDIUMTEXT   NOT NULL,
    -- []payrecon.BillFile as JSON
    bills_json    MEDIUMTEXT   NOT NULL,
    error         TEXT         NOT NULL,
    version       VARCHAR(64)  NOT NULL DEFAULT '',
    -- the run that replaced this one for reporting; NULL while current
    superseded_by BIGINT       NULL,
    KEY runs_account_day (account, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS run_items (
    id                 BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    run_id             BIGINT       NOT NULL,
    item_key           CHAR(32)     NOT NULL,
    account            VARCHAR(64)  NOT NULL,
    day                CHAR(10)     NOT NULL,
    class              VARCHAR(32)  NOT NULL,
    kind               VARCHAR(16)  NOT NULL,
    merchant_order_no  VARCHAR(128) NOT NULL DEFAULT '',
    provider_txn_no    VARCHAR(128) NOT NULL DEFAULT '',
    merchant_refund_no VARCHAR(128) NOT NULL DEFAULT '',
    provider_refund_no VARCHAR(128) NOT NULL DEFAULT '',
    agreement_no       VARCHAR(128) NOT NULL DEFAULT '',
    ledger_amount      BIGINT       NOT NULL,
    bill_amount        BIGINT       NOT NULL,
    delta              BIGINT       NOT NULL,
    ledger_status      VARCHAR(16)  NOT NULL DEFAULT '',
    provider_status    VARCHAR(16)  NOT NULL DEFAULT '',
    ledger_fee         BIGINT       NOT NULL,
    bill_fee           BIGINT       NOT NULL,
    ledger_time        DATETIME(6)  NULL,
    bill_time          DATETIME(6)  NULL,
    -- the day a carried-over item was first seen; '' for others
    origin_day         CHAR(10)     NOT NULL DEFAULT '',
    note               TEXT         NOT NULL,
    product            TEXT         NOT NULL,
    ledger_entry_id    BIGINT       NOT NULL DEFAULT 0,
    action             VARCHAR(32)  NOT NULL DEFAULT '',
    -- for an item that settles an earlier day's carried_over item (resolved
    -- late, or turned into a discrepancy): that item's key
    resolves_key       CHAR(32)     NULL,
    KEY run_items_run (run_id),
    KEY run_items_carry (account, class, origin_day),
    KEY run_items_resolves (account, resolves_key)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS discrepancies (
    item_key       CHAR(32)     NOT NULL PRIMARY KEY,
    account        VARCHAR(64)  NOT NULL,
    class          VARCHAR(32)  NOT NULL,
    first_seen_day CHAR(10)     NOT NULL,
    last_run_id    BIGINT       NOT NULL,
    -- new | acknowledged | resolved | wont_fix
    review_state   VARCHAR(16)  NOT NULL DEFAULT 'new',
    reviewer       VARCHAR(128) NOT NULL DEFAULT '',
    review_note    TEXT         NOT NULL,
    updated_at     DATETIME(6)  NULL,
    KEY discrepancies_account (account, first_seen_day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS actions (
    id              BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    discrepancy_key CHAR(32)     NOT NULL,
    account         VARCHAR(64)  NOT NULL,
    day             CHAR(10)     NOT NULL,
    kind            VARCHAR(32)  NOT NULL,
    state           VARCHAR(16)  NOT NULL,
    -- payrecon.Item as JSON
    item_json       MEDIUMTEXT   NOT NULL,
    idempotency_key VARCHAR(128) NOT NULL DEFAULT '',
    approved_by     VARCHAR(128) NOT NULL DEFAULT '',
    reason          TEXT         NOT NULL,
    result          TEXT         NOT NULL,
    created_at      DATETIME(6)  NULL,
    updated_at      DATETIME(6)  NULL,
    UNIQUE KEY actions_discrepancy_kind (discrepancy_key, kind),
    KEY actions_account_day (account, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS action_audit (
    id        BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    action_id BIGINT       NOT NULL,
    at        DATETIME(6)  NULL,
    actor     VARCHAR(128) NOT NULL,
    step      VARCHAR(32)  NOT NULL,
    detail    TEXT         NOT NULL,
    KEY action_audit_action (action_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS run_locks (
    account    VARCHAR(64)  NOT NULL,
    day        CHAR(10)     NOT NULL,
    owner      VARCHAR(191) NOT NULL,
    expires_at DATETIME(6)  NOT NULL,
    PRIMARY KEY (account, day)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
