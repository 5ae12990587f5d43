package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

var _ payrecon.LedgerBatchWriter = (*DB)(nil)

// AddLedgerBatch implements payrecon.LedgerBatchWriter: one pull of a
// ledger source, in one transaction. Entries keep their Source ("mincloud",
// "sql", "csv"); ReceivedAt defaults to db.Now().
func (db *DB) AddLedgerBatch(ctx context.Context, account string, entries []payrecon.LedgerEntry) (added int, err error) {
	now := db.Now()
	for i, e := range entries {
		if e.Account != account {
			return 0, fmt.Errorf("add ledger batch %s: entry %d (%s) names account %q", account, i, e.EventKey, e.Account)
		}
		if e.EventKey == "" {
			return 0, fmt.Errorf("add ledger batch %s: entry %d has no event key", account, i)
		}
	}
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		added = 0
		for _, e := range entries {
			if e.ReceivedAt.IsZero() {
				e.ReceivedAt = now
			}
			if book, err := db.refundIncrement(ctx, tx, account, &e); err != nil || !book {
				if err != nil {
					return err
				}
				continue // an earlier (or the same) state of the order's refunds
			}
			ok, _, err := db.insertIgnore(ctx, tx, "ledger_entries", entryCols, db.entryArgs(e))
			if err != nil {
				return fmt.Errorf("entry %s: %w", e.EventKey, err)
			}
			if ok {
				added++
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add ledger batch %s: %w", account, err)
	}
	return added, nil
}

// refundIncrement turns a successful cumulative refund state (payrecon.
// LedgerEntry.AggregatedRefund) into the increment over what the ledger
// already holds for its order; book is false when there is none (an
// earlier or the same state). Other entries are booked as they are.
func (db *DB) refundIncrement(ctx context.Context, tx *sqlx.Tx, account string, e *payrecon.LedgerEntry) (book bool, err error) {
	if !e.AggregatedRefund() || e.Status != payrecon.StatusSuccess {
		return true, nil
	}
	booked, err := db.aggregatedRefunded(ctx, tx, account, e.MerchantOrderNo)
	if err != nil {
		return false, fmt.Errorf("entry %s: %w", e.EventKey, err)
	}
	if e.Amount <= booked {
		return false, nil
	}
	e.Amount -= booked
	e.PayerAmount = e.Amount
	return true, nil
}

// aggregatedRefunded is what the ledger already holds as successful
// aggregated refunds of one order.
func (db *DB) aggregatedRefunded(ctx context.Context, tx *sqlx.Tx, account, orderNo string) (int64, error) {
	var sum int64
	err := tx.GetContext(ctx, &sum, tx.Rebind(`SELECT COALESCE(SUM(amount), 0) FROM ledger_entries
WHERE account = ? AND merchant_refund_no = ? AND merchant_order_no = ? AND provider_refund_no = '' AND kind = ? AND status = ?`),
		account, orderNo, orderNo, string(payrecon.KindRefund), string(payrecon.StatusSuccess))
	if err != nil {
		return 0, fmt.Errorf("refunds booked for order %s: %w", orderNo, err)
	}
	return sum, nil
}

// AcceptedCallbacks streams the accepted raw callbacks of account received
// in [from, to), ordered by id; fn's error stops it. Ledger sources read
// the webhooks of a linked account with it.
func (db *DB) AcceptedCallbacks(ctx context.Context, account string, from, to time.Time, fn func(payrecon.RawCallback) error) error {
	q := db.x.Rebind(`SELECT ` + callbackCols + ` FROM raw_callbacks
WHERE account = ? AND received_at >= ? AND received_at < ? AND accepted = ? ORDER BY id`)
	rows, err := db.x.QueryxContext(ctx, q, account, db.timeArg(from), db.timeArg(to), true)
	if err != nil {
		return fmt.Errorf("accepted callbacks %s: %w", account, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r callbackRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("accepted callbacks %s: %w", account, err)
		}
		cb, err := r.callback()
		if err != nil {
			return err
		}
		if err := fn(cb); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("accepted callbacks %s: %w", account, err)
	}
	return nil
}
