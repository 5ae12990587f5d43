package payrecon

import "context"

// Ledger sources: where an account's ledger comes from.
const (
	// SourceCallbacks: the provider's verified callbacks (the default).
	SourceCallbacks = "callbacks"
	// SourceMinCloud: MinCloud (知晓云) orders of a linked baas account —
	// its trigger webhooks and its order list — routed by gateway_type.
	SourceMinCloud = "mincloud"
	// SourceSQL: the merchant's own order table, read with a SQL query.
	SourceSQL = "sql"
	// SourceCSV: the merchant's own order table exported as CSV.
	SourceCSV = "csv"
)

// LedgerSource yields an account's ledger entries for one bill day from
// somewhere other than live callbacks (a pull source).
//
// Pull hands every entry of day to fn, in a deterministic order, and stops
// at fn's first error. Entries name the account and carry an EventKey that
// is the same on every pull of the same fact, so that storing a second
// pull changes nothing. An entry of the aggregated-refund form
// (LedgerEntry.AggregatedRefund) carries the order's CUMULATIVE refunded
// amount as seen at OccurredAt; the store books its increment
// (LedgerBatchWriter). A source error names the file or query, the row and
// the column. Pull may yield entries of neighbouring days (late events);
// the run only reads the day's.
type LedgerSource interface {
	Pull(ctx context.Context, day Day, fn func(LedgerEntry) error) error
}

// LedgerBatchWriter stores one pull.
//
// AddLedgerBatch stores entries (all of account) in ONE transaction:
// nothing is written when any fails. An entry whose (account, EventKey)
// exists is skipped. An aggregated refund (LedgerEntry.AggregatedRefund)
// holds the order's cumulative refunded amount: it is stored with the
// increment over the successful aggregated refunds already in the ledger
// for that order as its Amount (and PayerAmount), and skipped when it adds
// nothing. It returns the number of entries written.
type LedgerBatchWriter interface {
	AddLedgerBatch(ctx context.Context, account string, entries []LedgerEntry) (added int, err error)
}

// AggregatedRefund reports whether e is a refund named by its order
// (MerchantRefundNo == MerchantOrderNo, no provider refund number): the
// form payrecon gives refunds of a source that keeps them aggregated per
// order without refund numbers (MinCloud). Such refunds are matched
// against the channel bill's refund lines of the order summed
// (jobs.Target.RefundsByOrder).
func (e LedgerEntry) AggregatedRefund() bool {
	return e.Kind == KindRefund && e.MerchantOrderNo != "" && e.MerchantRefundNo == e.MerchantOrderNo && e.ProviderRefundNo == ""
}
