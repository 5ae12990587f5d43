package main

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/payrecon/payrecon"
)

// ledgerEntry is the ledger's record of position i, and false when the
// ledger has none (lost callbacks, other lines).
func (p plan) ledgerEntry(account string, i int) (payrecon.LedgerEntry, bool) {
	s := p.slot(i)
	if s == slotMissingInLedger || s == slotRefundMissingInLedger || s == slotOther {
		return payrecon.LedgerEntry{}, false
	}
	at := p.at(i)
	e := payrecon.LedgerEntry{Account: account, Provider: "huawei", Currency: "CNY", OccurredAt: at,
		ReceivedAt: at.Add(2e9), Source: "callback", Status: payrecon.StatusSuccess}
	switch {
	case p.isAgreement(i):
		e.Kind, e.Status, e.AgreementNo, e.MerchantAgreeNo, e.PlanID = payrecon.KindAgreement, payrecon.StatusSigned, agreementNo(i), "MC"+agreementNo(i), "plan1"
		e.EventKey = payrecon.EventKey(payrecon.KindAgreement, e.AgreementNo, payrecon.StatusSigned)
	case p.isRefund(i):
		e.Kind = payrecon.KindRefund
		e.MerchantRefundNo, e.ProviderRefundNo, e.MerchantOrderNo, e.ProviderTxnNo = refundNo(i), provRefundNo(i), orderNo(i), txnNo(i)
		e.Amount = refundAmount(i)
		if s == slotRefundAmountMismatch {
			e.Amount++
		}
		e.PayerAmount = e.Amount
		e.EventKey = payrecon.EventKey(payrecon.KindRefund, e.ProviderRefundNo, payrecon.StatusSuccess)
	default:
		e.Kind = payrecon.KindPayment
		e.MerchantOrderNo, e.ProviderTxnNo = orderNo(i), txnNo(i)
		e.Amount, e.PromotionAmount = amount(i), promotion(i)
		if s == slotAmountMismatch {
			e.Amount += 100
		}
		e.PayerAmount = e.Amount - e.PromotionAmount
		if s == slotStatusMismatch {
			e.Status = payrecon.StatusFailed
		}
		e.EventKey = payrecon.EventKey(payrecon.KindPayment, e.ProviderTxnNo, e.Status)
	}
	return e, true
}

var ledgerCols = []string{
	"account", "provider", "event_key", "kind", "status",
	"merchant_order_no", "provider_txn_no", "merchant_refund_no", "provider_refund_no",
	"agreement_no", "merchant_agree_no", "plan_id",
	"amount", "payer_amount", "promotion_amount", "currency",
	"occurred_at", "received_at", "source", "callback_id",
}

// loadLedger bulk-inserts the plan's ledger into the store's SQLite file
// (schema from the store's migrations; times as unix microseconds, as the
// store writes them) in multi-row INSERTs inside one transaction. It is
// setup, not part of the timed run.
func loadLedger(ctx context.Context, path, account string, p plan) (int64, error) {
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)&_pragma=busy_timeout(10000)")
	if err != nil {
		return 0, fmt.Errorf("open ledger db: %w", err)
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	// Bulk load without the indexes, then build each once: the same index
	// definitions (read back from sqlite_master), much faster than keeping
	// eight indexes up to date row by row.
	indexes, err := dropIndexes(ctx, db, "ledger_entries")
	if err != nil {
		return 0, err
	}
	const batch = 200
	row := "(" + strings.TrimSuffix(strings.Repeat("?,", len(ledgerCols)), ",") + ")"
	q := "INSERT INTO ledger_entries (" + strings.Join(ledgerCols, ", ") + ") VALUES " +
		strings.TrimSuffix(strings.Repeat(row+",", batch), ",")
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer tx.Rollback() //nolint:errcheck
	stmt, err := tx.PrepareContext(ctx, q)
	if err != nil {
		return 0, fmt.Errorf("prepare ledger insert: %w", err)
	}
	args := make([]any, 0, batch*len(ledgerCols))
	var n int64
	pending := 0
	flushOne := func(a []any) error {
		one := "INSERT INTO ledger_entries (" + strings.Join(ledgerCols, ", ") + ") VALUES " + row
		_, err := tx.ExecContext(ctx, one, a...)
		return err
	}
	for i := 0; i < p.n; i++ {
		e, ok := p.ledgerEntry(account, i)
		if !ok {
			continue
		}
		args = append(args, e.Account, e.Provider, e.EventKey, string(e.Kind), string(e.Status),
			e.MerchantOrderNo, e.ProviderTxnNo, e.MerchantRefundNo, e.ProviderRefundNo,
			e.AgreementNo, e.MerchantAgreeNo, e.PlanID,
			e.Amount, e.PayerAmount, e.PromotionAmount, e.Currency,
			e.OccurredAt.UnixMicro(), e.ReceivedAt.UnixMicro(), e.Source, e.CallbackID)
		pending++
		n++
		if pending == batch {
			if _, err := stmt.ExecContext(ctx, args...); err != nil {
				return n, fmt.Errorf("insert ledger batch ending at position %d: %w", i, err)
			}
			args, pending = args[:0], 0
		}
	}
	for k := 0; k < pending; k++ {
		if err := flushOne(args[k*len(ledgerCols) : (k+1)*len(ledgerCols)]); err != nil {
			return n, fmt.Errorf("insert ledger row: %w", err)
		}
	}
	if err := stmt.Close(); err != nil {
		return n, err
	}
	if err := tx.Commit(); err != nil {
		return n, fmt.Errorf("commit ledger: %w", err)
	}
	for _, q := range indexes {
		if _, err := db.ExecContext(ctx, q); err != nil {
			return n, fmt.Errorf("rebuild index: %s: %w", q, err)
		}
	}
	if _, err := db.ExecContext(ctx, "ANALYZE"); err != nil {
		return n, fmt.Errorf("analyze: %w", err)
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return n, fmt.Errorf("checkpoint ledger: %w", err)
	}
	return n, nil
}

// dropIndexes drops table's explicit indexes and returns their CREATE
// statements.
func dropIndexes(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL`, table)
	if err != nil {
		return nil, fmt.Errorf("list indexes of %s: %w", table, err)
	}
	var names, creates []string
	for rows.Next() {
		var name, q string
		if err := rows.Scan(&name, &q); err != nil {
			rows.Close()
			return nil, err
		}
		names, creates = append(names, name), append(creates, q)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := db.ExecContext(ctx, `DROP INDEX "`+name+`"`); err != nil {
			return nil, fmt.Errorf("drop index %s: %w", name, err)
		}
	}
	return creates, nil
}
