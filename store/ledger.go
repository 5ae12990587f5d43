package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

var (
	_ payrecon.LedgerReader = (*DB)(nil)
	_ payrecon.LedgerWriter = (*DB)(nil)
)

var entryCols = []string{
	"account", "provider", "event_key", "kind", "status",
	"merchant_order_no", "provider_txn_no", "merchant_refund_no", "provider_refund_no",
	"agreement_no", "merchant_agree_no", "plan_id",
	"amount", "payer_amount", "promotion_amount", "currency",
	"occurred_at", "received_at", "source", "callback_id",
}

const entrySelect = `SELECT id, account, provider, event_key, kind, status,
	merchant_order_no, provider_txn_no, merchant_refund_no, provider_refund_no,
	agreement_no, merchant_agree_no, plan_id,
	amount, payer_amount, promotion_amount, currency,
	occurred_at, received_at, source, callback_id
FROM ledger_entries`

func (db *DB) entryArgs(e payrecon.LedgerEntry) []any {
	return []any{
		e.Account, e.Provider, e.EventKey, string(e.Kind), string(e.Status),
		e.MerchantOrderNo, e.ProviderTxnNo, e.MerchantRefundNo, e.ProviderRefundNo,
		e.AgreementNo, e.MerchantAgreeNo, e.PlanID,
		e.Amount, e.PayerAmount, e.PromotionAmount, e.Currency,
		db.timeArg(e.OccurredAt), db.timeArg(e.ReceivedAt), e.Source, e.CallbackID,
	}
}

type entryRow struct {
	ID               int64  `db:"id"`
	Account          string `db:"account"`
	Provider         string `db:"provider"`
	EventKey         string `db:"event_key"`
	Kind             string `db:"kind"`
	Status           string `db:"status"`
	MerchantOrderNo  string `db:"merchant_order_no"`
	ProviderTxnNo    string `db:"provider_txn_no"`
	MerchantRefundNo string `db:"merchant_refund_no"`
	ProviderRefundNo string `db:"provider_refund_no"`
	AgreementNo      string `db:"agreement_no"`
	MerchantAgreeNo  string `db:"merchant_agree_no"`
	PlanID           string `db:"plan_id"`
	Amount           int64  `db:"amount"`
	PayerAmount      int64  `db:"payer_amount"`
	PromotionAmount  int64  `db:"promotion_amount"`
	Currency         string `db:"currency"`
	OccurredAt       dbTime `db:"occurred_at"`
	ReceivedAt       dbTime `db:"received_at"`
	Source           string `db:"source"`
	CallbackID       int64  `db:"callback_id"`
}

func (r entryRow) entry() payrecon.LedgerEntry {
	return payrecon.LedgerEntry{
		ID: r.ID, Account: r.Account, Provider: r.Provider, EventKey: r.EventKey,
		Kind: payrecon.Kind(r.Kind), Status: payrecon.Status(r.Status),
		MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo,
		MerchantRefundNo: r.MerchantRefundNo, ProviderRefundNo: r.ProviderRefundNo,
		AgreementNo: r.AgreementNo, MerchantAgreeNo: r.MerchantAgreeNo, PlanID: r.PlanID,
		Amount: r.Amount, PayerAmount: r.PayerAmount, PromotionAmount: r.PromotionAmount,
		Currency: r.Currency, OccurredAt: r.OccurredAt.Time, ReceivedAt: r.ReceivedAt.Time,
		Source: r.Source, CallbackID: r.CallbackID,
	}
}

// LedgerEntries implements payrecon.LedgerReader: the account's entries with
// OccurredAt in [from, to), ordered by id, streamed to fn.
func (db *DB) LedgerEntries(ctx context.Context, account string, from, to time.Time, fn func(payrecon.LedgerEntry) error) error {
	q := db.x.Rebind(entrySelect + ` WHERE account = ? AND occurred_at >= ? AND occurred_at < ? ORDER BY id`)
	rows, err := db.x.QueryxContext(ctx, q, account, db.timeArg(from), db.timeArg(to))
	if err != nil {
		return fmt.Errorf("ledger entries %s: %w", account, err)
	}
	defer rows.Close()
	for rows.Next() {
		var r entryRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("ledger entries %s: %w", account, err)
		}
		if err := fn(r.entry()); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("ledger entries %s: %w", account, err)
	}
	return nil
}

// LedgerEntry implements payrecon.LedgerReader.
func (db *DB) LedgerEntry(ctx context.Context, id int64) (payrecon.LedgerEntry, error) {
	var r entryRow
	err := db.x.GetContext(ctx, &r, db.x.Rebind(entrySelect+` WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return payrecon.LedgerEntry{}, fmt.Errorf("ledger entry %d: %w", id, payrecon.ErrNotFound)
	}
	if err != nil {
		return payrecon.LedgerEntry{}, fmt.Errorf("ledger entry %d: %w", id, err)
	}
	return r.entry(), nil
}

// LedgerEntryByKey returns the entry with (account, eventKey), or an error
// wrapping payrecon.ErrNotFound.
func (db *DB) LedgerEntryByKey(ctx context.Context, account, eventKey string) (payrecon.LedgerEntry, error) {
	var r entryRow
	err := db.x.GetContext(ctx, &r, db.x.Rebind(entrySelect+` WHERE account = ? AND event_key = ?`), account, eventKey)
	if errors.Is(err, sql.ErrNoRows) {
		return payrecon.LedgerEntry{}, fmt.Errorf("ledger entry %s %q: %w", account, eventKey, payrecon.ErrNotFound)
	}
	if err != nil {
		return payrecon.LedgerEntry{}, fmt.Errorf("ledger entry %s %q: %w", account, eventKey, err)
	}
	return r.entry(), nil
}

// AddLedgerEntry implements payrecon.LedgerWriter. The entry's Source
// (default "repair") is recorded as the actor of its history row.
func (db *DB) AddLedgerEntry(ctx context.Context, e payrecon.LedgerEntry) (duplicate bool, err error) {
	if e.Source == "" {
		e.Source = "repair"
	}
	if e.ReceivedAt.IsZero() {
		e.ReceivedAt = db.Now()
	}
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		ok, id, err := db.insertIgnore(ctx, tx, "ledger_entries", entryCols, db.entryArgs(e))
		if err != nil {
			return err
		}
		duplicate = !ok
		if !ok {
			return nil
		}
		return db.addHistory(ctx, tx, id, e.Account, "", e.Status, e.Source, "entry added")
	})
	if err != nil {
		return false, fmt.Errorf("add ledger entry %s %q: %w", e.Account, e.EventKey, err)
	}
	return duplicate, nil
}

// SetLedgerStatus implements payrecon.LedgerWriter.
func (db *DB) SetLedgerStatus(ctx context.Context, id int64, status payrecon.Status, actor, reason string) error {
	err := db.inTx(ctx, func(tx *sqlx.Tx) error {
		var cur struct {
			Account string `db:"account"`
			Status  string `db:"status"`
		}
		err := tx.GetContext(ctx, &cur, tx.Rebind(`SELECT account, status FROM ledger_entries WHERE id = ?`), id)
		if errors.Is(err, sql.ErrNoRows) {
			return payrecon.ErrNotFound
		}
		if err != nil {
			return err
		}
		if payrecon.Status(cur.Status) == status {
			return nil
		}
		if _, err := tx.ExecContext(ctx, tx.Rebind(`UPDATE ledger_entries SET status = ? WHERE id = ?`), string(status), id); err != nil {
			return err
		}
		return db.addHistory(ctx, tx, id, cur.Account, payrecon.Status(cur.Status), status, actor, reason)
	})
	if err != nil {
		return fmt.Errorf("set ledger entry %d status %s: %w", id, status, err)
	}
	return nil
}

func (db *DB) addHistory(ctx context.Context, tx *sqlx.Tx, entryID int64, account string, from, to payrecon.Status, actor, reason string) error {
	_, err := tx.ExecContext(ctx, tx.Rebind(insertSQL("ledger_history",
		[]string{"entry_id", "account", "old_status", "new_status", "actor", "reason", "changed_at"})),
		entryID, account, string(from), string(to), actor, reason, db.timeArg(db.Now()))
	return err
}

// HistoryEntry is one recorded change of a ledger entry.
type HistoryEntry struct {
	ID        int64
	EntryID   int64
	Account   string
	OldStatus payrecon.Status // "" when the entry was added
	NewStatus payrecon.Status
	Actor     string
	Reason    string
	ChangedAt time.Time
}

// LedgerHistory returns the recorded changes of one entry, oldest first.
func (db *DB) LedgerHistory(ctx context.Context, entryID int64) ([]HistoryEntry, error) {
	var rows []struct {
		ID        int64  `db:"id"`
		EntryID   int64  `db:"entry_id"`
		Account   string `db:"account"`
		OldStatus string `db:"old_status"`
		NewStatus string `db:"new_status"`
		Actor     string `db:"actor"`
		Reason    string `db:"reason"`
		ChangedAt dbTime `db:"changed_at"`
	}
	err := db.x.SelectContext(ctx, &rows, db.x.Rebind(`SELECT id, entry_id, account, old_status, new_status, actor, reason, changed_at
FROM ledger_history WHERE entry_id = ? ORDER BY id`), entryID)
	if err != nil {
		return nil, fmt.Errorf("ledger history %d: %w", entryID, err)
	}
	out := make([]HistoryEntry, len(rows))
	for i, r := range rows {
		out[i] = HistoryEntry{ID: r.ID, EntryID: r.EntryID, Account: r.Account,
			OldStatus: payrecon.Status(r.OldStatus), NewStatus: payrecon.Status(r.NewStatus),
			Actor: r.Actor, Reason: r.Reason, ChangedAt: r.ChangedAt.Time}
	}
	return out, nil
}
