package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

var _ payrecon.CallbackStore = (*DB)(nil)

// errDuplicateCallback rolls back a callback transaction whose entries all
// exist already.
var errDuplicateCallback = errors.New("duplicate callback")

// StoreCallback implements payrecon.CallbackStore.
//
// A rejected callback is always stored (no entries). An accepted callback is
// a duplicate when an accepted callback with the same (Account, EventID) is
// stored, or when entries is not empty and every entry's (Account,
// EventKey) exists; then nothing is written, duplicate is true and cb.ID is
// the stored callback's id when known. Otherwise the callback and its new
// entries are written in one transaction (an entry whose key exists is
// skipped). A successful cumulative refund state (payrecon.LedgerEntry.
// AggregatedRefund, MinCloud's) books only its increment over what the
// order already has booked, and nothing when that is none; its Amount is
// set to the increment. entries[i].ID, CallbackID, ReceivedAt (when zero) and Source
// (when empty: "callback", or "import" for imported callbacks) are filled in.
// BodySHA256 is computed when empty. BodyLength above len(Body) marks a
// stored prefix (kept in body_length; NULL means the body is whole).
func (db *DB) StoreCallback(ctx context.Context, cb *payrecon.RawCallback, entries []payrecon.LedgerEntry) (duplicate bool, err error) {
	if cb.BodySHA256 == "" {
		sum := sha256.Sum256(cb.Body)
		cb.BodySHA256 = hex.EncodeToString(sum[:])
	}
	header := cb.Header
	if header == nil {
		header = http.Header{}
	}
	hdr, err := json.Marshal(header)
	if err != nil {
		return false, fmt.Errorf("store callback account %s: encode headers: %w", cb.Account, err)
	}
	body := cb.Body
	if body == nil {
		body = []byte{}
	}
	var eventKey any // NULL unless accepted with an event id
	if cb.Accepted && cb.EventID != "" {
		eventKey = cb.EventID
	}
	var length any // NULL: the stored body is the whole body
	if cb.BodyLength > int64(len(body)) {
		length = cb.BodyLength
	}
	cols := []string{"account", "provider", "event_id", "accepted_event_key", "received_at", "headers", "body", "body_sha256", "body_length", "accepted", "reason", "source"}
	args := []any{cb.Account, cb.Provider, cb.EventID, eventKey, db.timeArg(cb.ReceivedAt), string(hdr), body, cb.BodySHA256, length, cb.Accepted, cb.Reason, cb.Source}

	var id int64
	ids := make([]int64, len(entries))
	booked1 := make([]int64, len(entries)) // the increment an aggregated refund booked
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		id = 0
		if !cb.Accepted {
			res, err := tx.ExecContext(ctx, tx.Rebind(insertSQL("raw_callbacks", cols)), args...)
			if err != nil {
				return err
			}
			id, err = res.LastInsertId()
			return err
		}
		inserted, newID, err := db.insertIgnore(ctx, tx, "raw_callbacks", cols, args)
		if err != nil {
			return err
		}
		if !inserted {
			if err := tx.GetContext(ctx, &id, tx.Rebind(`SELECT id FROM raw_callbacks WHERE account = ? AND accepted_event_key = ?`), cb.Account, cb.EventID); err != nil && !errors.Is(err, sql.ErrNoRows) {
				return err
			}
			return errDuplicateCallback
		}
		id = newID
		written := 0
		clear(booked1) // set afresh on each attempt of the transaction
		for i := range entries {
			e := entries[i]
			e.CallbackID = id
			if e.ReceivedAt.IsZero() {
				e.ReceivedAt = cb.ReceivedAt
			}
			if e.Source == "" {
				e.Source = entrySource(cb.Source)
			}
			// a cumulative refund state (MinCloud): its increment, if any
			if book, err := db.refundIncrement(ctx, tx, cb.Account, &e); err != nil || !book {
				if err != nil {
					return err
				}
				continue
			}
			if e.AggregatedRefund() {
				booked1[i] = e.Amount
			}
			ok, eid, err := db.insertIgnore(ctx, tx, "ledger_entries", entryCols, db.entryArgs(e))
			if err != nil {
				return fmt.Errorf("entry %s: %w", e.EventKey, err)
			}
			ids[i] = eid
			if ok {
				written++
			}
		}
		if len(entries) > 0 && written == 0 {
			id = 0
			return errDuplicateCallback
		}
		return nil
	})
	if errors.Is(err, errDuplicateCallback) {
		cb.ID = id
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("store callback account %s event %q: %w", cb.Account, cb.EventID, err)
	}
	cb.ID = id
	for i := range entries {
		if booked1[i] > 0 {
			entries[i].Amount, entries[i].PayerAmount = booked1[i], booked1[i]
		}
		entries[i].ID = ids[i]
		entries[i].CallbackID = id
		if entries[i].ReceivedAt.IsZero() {
			entries[i].ReceivedAt = cb.ReceivedAt
		}
		if entries[i].Source == "" {
			entries[i].Source = entrySource(cb.Source)
		}
	}
	return false, nil
}

func entrySource(callbackSource string) string {
	if callbackSource == "import" {
		return "import"
	}
	return "callback"
}

func insertSQL(table string, cols []string) string {
	q := "INSERT INTO " + table + " ("
	vals := ""
	for i, c := range cols {
		if i > 0 {
			q += ", "
			vals += ", "
		}
		q += c
		vals += "?"
	}
	return q + ") VALUES (" + vals + ")"
}

type callbackRow struct {
	ID         int64         `db:"id"`
	Account    string        `db:"account"`
	Provider   string        `db:"provider"`
	EventID    string        `db:"event_id"`
	ReceivedAt dbTime        `db:"received_at"`
	Headers    string        `db:"headers"`
	Body       []byte        `db:"body"`
	BodySHA256 string        `db:"body_sha256"`
	BodyLength sql.NullInt64 `db:"body_length"`
	Accepted   bool          `db:"accepted"`
	Reason     string        `db:"reason"`
	Source     string        `db:"source"`
}

const callbackCols = `id, account, provider, event_id, received_at, headers, body, body_sha256, body_length, accepted, reason, source`

func (r callbackRow) callback() (payrecon.RawCallback, error) {
	var length int64 // 0: the body is whole
	if r.BodyLength.Valid {
		length = r.BodyLength.Int64
	}
	var h http.Header
	if err := json.Unmarshal([]byte(r.Headers), &h); err != nil {
		return payrecon.RawCallback{}, fmt.Errorf("callback %d headers: %w", r.ID, err)
	}
	return payrecon.RawCallback{
		ID: r.ID, Account: r.Account, Provider: r.Provider, EventID: r.EventID,
		ReceivedAt: r.ReceivedAt.Time, Header: h, Body: r.Body, BodySHA256: r.BodySHA256, BodyLength: length,
		Accepted: r.Accepted, Reason: r.Reason, Source: r.Source,
	}, nil
}

// Callback returns one stored raw callback by id, or an error wrapping
// payrecon.ErrNotFound.
func (db *DB) Callback(ctx context.Context, id int64) (payrecon.RawCallback, error) {
	var r callbackRow
	err := db.x.GetContext(ctx, &r, db.x.Rebind(`SELECT `+callbackCols+` FROM raw_callbacks WHERE id = ?`), id)
	if errors.Is(err, sql.ErrNoRows) {
		return payrecon.RawCallback{}, fmt.Errorf("callback %d: %w", id, payrecon.ErrNotFound)
	}
	if err != nil {
		return payrecon.RawCallback{}, fmt.Errorf("callback %d: %w", id, err)
	}
	return r.callback()
}

// Callbacks streams the raw callbacks stored for account (all accounts when
// empty), accepted and rejected, ordered by id; fn's error stops it.
func (db *DB) Callbacks(ctx context.Context, account string, fn func(payrecon.RawCallback) error) error {
	q := `SELECT ` + callbackCols + ` FROM raw_callbacks`
	var args []any
	if account != "" {
		q += ` WHERE account = ?`
		args = append(args, account)
	}
	rows, err := db.x.QueryxContext(ctx, db.x.Rebind(q+` ORDER BY id`), args...)
	if err != nil {
		return fmt.Errorf("list callbacks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var r callbackRow
		if err := rows.StructScan(&r); err != nil {
			return fmt.Errorf("list callbacks: %w", err)
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
		return fmt.Errorf("list callbacks: %w", err)
	}
	return nil
}
