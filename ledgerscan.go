package payrecon

import (
	"context"
	"time"
)

// LedgerRow is one ledger entry as a run's matching needs it, in raw
// column form: the byte slices are valid only during the callback that
// receives the row (the scanner reuses them), so a big day streams without
// allocating per entry. A refund carries only its refund numbers, a
// payment only its payment numbers, other kinds none.
type LedgerRow struct {
	ID               int64
	Kind             []byte
	Status           []byte
	MerchantOrderNo  []byte
	ProviderTxnNo    []byte
	MerchantRefundNo []byte
	ProviderRefundNo []byte
	Amount           int64
	PayerAmount      int64
	PromotionAmount  int64
}

// LedgerScanner is an optional fast path a LedgerReader may offer.
// ScanLedger streams the same entries as LedgerEntries (account, OccurredAt
// in [from, to)) as reused LedgerRows, ordered by OccurredAt then id (the
// order of the store's time index, so no sort); fn's error stops it.
type LedgerScanner interface {
	ScanLedger(ctx context.Context, account string, from, to time.Time, fn func(*LedgerRow) error) error
}
