package store

import (
	"context"
	"fmt"
)

// CountLedgerEntries returns how many ledger entries the account has,
// whatever their times (tests assert with it that nothing was booked).
func (db *DB) CountLedgerEntries(ctx context.Context, account string) (int64, error) {
	var n int64
	if err := db.x.GetContext(ctx, &n, db.x.Rebind(`SELECT COUNT(*) FROM ledger_entries WHERE account = ?`), account); err != nil {
		return 0, fmt.Errorf("count ledger entries %s: %w", account, err)
	}
	return n, nil
}
