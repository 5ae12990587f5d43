package store

import (
	"context"
	"fmt"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/payrecon/payrecon"
)

// StoredBillFile is a bill file as recorded: what the source delivered and
// when it was fetched.
type StoredBillFile struct {
	payrecon.BillFile
	ID        int64
	FetchedAt time.Time
}

// RecordBillFile records a downloaded bill file. It is idempotent on
// (Account, Day, Kind, SHA256): recording the same content again writes
// nothing and returns seen=true, so a changed re-download (new hash) is
// visible as a second row.
func (db *DB) RecordBillFile(ctx context.Context, f payrecon.BillFile, fetchedAt time.Time) (seen bool, err error) {
	cols := []string{"account", "day", "kind", "name", "sha256", "line_count",
		"summary_count", "summary_amount", "summary_refund", "summary_fee", "has_summary", "fetched_at"}
	args := []any{f.Account, string(f.Day), string(f.Kind), f.Name, f.SHA256, f.Lines,
		f.SummaryCount, f.SummaryAmount, f.SummaryRefund, f.SummaryFee, f.HasSummary, db.timeArg(fetchedAt)}
	err = db.inTx(ctx, func(tx *sqlx.Tx) error {
		ok, _, err := db.insertIgnore(ctx, tx, "bill_files", cols, args)
		seen = !ok
		return err
	})
	if err != nil {
		return false, fmt.Errorf("record bill file %s %s %s: %w", f.Account, f.Day, f.Kind, err)
	}
	return seen, nil
}

// BillFiles returns the bill files recorded for account and day, in the
// order they were recorded.
func (db *DB) BillFiles(ctx context.Context, account string, day payrecon.Day) ([]StoredBillFile, error) {
	var rows []struct {
		ID            int64  `db:"id"`
		Account       string `db:"account"`
		Day           string `db:"day"`
		Kind          string `db:"kind"`
		Name          string `db:"name"`
		SHA256        string `db:"sha256"`
		Lines         int64  `db:"line_count"`
		SummaryCount  int64  `db:"summary_count"`
		SummaryAmount int64  `db:"summary_amount"`
		SummaryRefund int64  `db:"summary_refund"`
		SummaryFee    int64  `db:"summary_fee"`
		HasSummary    bool   `db:"has_summary"`
		FetchedAt     dbTime `db:"fetched_at"`
	}
	err := db.x.SelectContext(ctx, &rows, db.x.Rebind(`SELECT id, account, day, kind, name, sha256, line_count,
	summary_count, summary_amount, summary_refund, summary_fee, has_summary, fetched_at
FROM bill_files WHERE account = ? AND day = ? ORDER BY id`), account, string(day))
	if err != nil {
		return nil, fmt.Errorf("bill files %s %s: %w", account, day, err)
	}
	out := make([]StoredBillFile, len(rows))
	for i, r := range rows {
		out[i] = StoredBillFile{
			ID: r.ID, FetchedAt: r.FetchedAt.Time,
			BillFile: payrecon.BillFile{
				Account: r.Account, Day: payrecon.Day(r.Day), Kind: payrecon.BillKind(r.Kind),
				Name: r.Name, SHA256: r.SHA256, Lines: r.Lines,
				SummaryCount: r.SummaryCount, SummaryAmount: r.SummaryAmount,
				SummaryRefund: r.SummaryRefund, SummaryFee: r.SummaryFee, HasSummary: r.HasSummary,
			},
		}
	}
	return out, nil
}
