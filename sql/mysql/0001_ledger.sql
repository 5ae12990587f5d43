-- Ledger: raw callbacks, ledger entries and their history, bill files.
-- Times are DATETIME(6) in UTC (DSN parseTime=true&loc=UTC), NULL for the zero time.

CREATE TABLE IF NOT EXISTS raw_callbacks (
    id                 BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account            VARCHAR(64)  NOT NULL,
    provider           VARCHAR(32)  NOT NULL DEFAULT '',
    event_id           VARCHAR(191) NOT NULL DEFAULT '',
    -- event_id for accepted callbacks that have one, NULL otherwise: the
    -- unique index below then dedupes accepted events only.
    accepted_event_key VARCHAR(191) NULL,
    received_at        DATETIME(6)  NULL,
    headers            MEDIUMTEXT   NOT NULL,
    body               LONGBLOB     NOT NULL,
    body_sha256        CHAR(64)     NOT NULL,
    accepted           BOOLEAN      NOT NULL,
    reason             TEXT         NOT NULL,
    source             VARCHAR(16)  NOT NULL DEFAULT '',
    UNIQUE KEY raw_callbacks_accepted_event (account, accepted_event_key),
    KEY raw_callbacks_account_received (account, received_at)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS ledger_entries (
    id                 BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account            VARCHAR(64)  NOT NULL,
    provider           VARCHAR(32)  NOT NULL,
    event_key          VARCHAR(255) NOT NULL,
    kind               VARCHAR(16)  NOT NULL,
    status             VARCHAR(16)  NOT NULL,
    merchant_order_no  VARCHAR(128) NOT NULL DEFAULT '',
    provider_txn_no    VARCHAR(128) NOT NULL DEFAULT '',
    merchant_refund_no VARCHAR(128) NOT NULL DEFAULT '',
    provider_refund_no VARCHAR(128) NOT NULL DEFAULT '',
    agreement_no       VARCHAR(128) NOT NULL DEFAULT '',
    merchant_agree_no  VARCHAR(128) NOT NULL DEFAULT '',
    plan_id            VARCHAR(128) NOT NULL DEFAULT '',
    amount             BIGINT       NOT NULL,
    payer_amount       BIGINT       NOT NULL,
    promotion_amount   BIGINT       NOT NULL,
    currency           VARCHAR(8)   NOT NULL DEFAULT '',
    occurred_at        DATETIME(6)  NULL,
    received_at        DATETIME(6)  NULL,
    source             VARCHAR(16)  NOT NULL DEFAULT '',
    callback_id        BIGINT       NOT NULL DEFAULT 0,
    UNIQUE KEY ledger_entries_event (account, event_key),
    KEY ledger_entries_occurred (account, occurred_at),
    KEY ledger_entries_merchant_order (account, merchant_order_no),
    KEY ledger_entries_provider_txn (account, provider_txn_no),
    KEY ledger_entries_merchant_refund (account, merchant_refund_no),
    KEY ledger_entries_provider_refund (account, provider_refund_no),
    KEY ledger_entries_agreement (account, agreement_no),
    KEY ledger_entries_callback (callback_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS ledger_history (
    id          BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    entry_id    BIGINT       NOT NULL,
    account     VARCHAR(64)  NOT NULL,
    old_status  VARCHAR(16)  NOT NULL DEFAULT '',
    new_status  VARCHAR(16)  NOT NULL,
    actor       VARCHAR(128) NOT NULL,
    reason      TEXT         NOT NULL,
    changed_at  DATETIME(6)  NULL,
    KEY ledger_history_entry (entry_id, id),
    CONSTRAINT ledger_history_entry_fk FOREIGN KEY (entry_id) REFERENCES ledger_entries (id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;

CREATE TABLE IF NOT EXISTS bill_files (
    id             BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    account        VARCHAR(64)  NOT NULL,
    day            CHAR(10)     NOT NULL,
    kind           VARCHAR(16)  NOT NULL,
    name           VARCHAR(255) NOT NULL DEFAULT '',
    sha256         CHAR(64)     NOT NULL,
    line_count     BIGINT       NOT NULL DEFAULT 0,
    summary_count  BIGINT       NOT NULL DEFAULT 0,
    summary_amount BIGINT       NOT NULL DEFAULT 0,
    summary_refund BIGINT       NOT NULL DEFAULT 0,
    summary_fee    BIGINT       NOT NULL DEFAULT 0,
    has_summary    BOOLEAN      NOT NULL DEFAULT FALSE,
    fetched_at     DATETIME(6)  NULL,
    UNIQUE KEY bill_files_content (account, day, kind, sha256)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin;
