package payrecon

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
)

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

// Ledger fields a merchant order table's columns map to (TableMapping).
const (
	FieldMerchantOrderNo  = "merchant_order_no" // required
	FieldProviderTxnNo    = "provider_txn_no"
	FieldKind             = "kind" // without it every row is a payment
	FieldMerchantRefundNo = "merchant_refund_no"
	FieldProviderRefundNo = "provider_refund_no"
	FieldAmount           = "amount"      // required
	FieldStatus           = "status"      // required
	FieldOccurredAt       = "occurred_at" // required
	FieldCurrency         = "currency"
)

// TableFields lists every mappable field; TableRequired the ones a mapping must name.
var (
	TableFields   = []string{FieldMerchantOrderNo, FieldProviderTxnNo, FieldKind, FieldMerchantRefundNo, FieldProviderRefundNo, FieldAmount, FieldStatus, FieldOccurredAt, FieldCurrency}
	TableRequired = []string{FieldMerchantOrderNo, FieldAmount, FieldStatus, FieldOccurredAt}
)

// Amount units of a merchant order table.
const (
	UnitFen  = "fen"
	UnitYuan = "yuan"
)

// TableMapping reads the merchant's own order table (SQL or CSV) as ledger
// entries.
//
// Columns maps a ledger field (TableFields) to the table's column name.
// AmountUnit is "fen" (integers) or "yuan" (exact decimals, never floats).
// StatusMap maps the table's status values to payrecon statuses (success,
// failed, pending, closed, not_paid); when empty the values must be those
// names. KindMap likewise maps the kind column's values to payment or
// refund. Times are read as Asia/Shanghai wall time ("2006-01-02
// 15:04:05", optional fraction or "T"), as RFC 3339 with a zone, or as
// unix seconds.
type TableMapping struct {
	Columns    map[string]string `yaml:"columns,omitempty"`
	AmountUnit string            `yaml:"amount_unit,omitempty"`
	StatusMap  map[string]Status `yaml:"status_map,omitempty"`
	KindMap    map[string]Kind   `yaml:"kind_map,omitempty"`
}

// Validate reports every problem of the mapping, each naming its key
// ("columns.amount: required").
func (m TableMapping) Validate() error {
	var errs []error
	known := map[string]bool{}
	for _, f := range TableFields {
		known[f] = true
	}
	fields := make([]string, 0, len(m.Columns))
	for f := range m.Columns {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		if !known[f] {
			errs = append(errs, fmt.Errorf("columns.%s: unknown ledger field (want one of %s)", f, strings.Join(TableFields, ", ")))
		} else if strings.TrimSpace(m.Columns[f]) == "" {
			errs = append(errs, fmt.Errorf("columns.%s: empty column name", f))
		}
	}
	for _, f := range TableRequired {
		if m.Columns[f] == "" {
			errs = append(errs, fmt.Errorf("columns.%s: required", f))
		}
	}
	switch m.AmountUnit {
	case UnitFen, UnitYuan:
	default:
		errs = append(errs, fmt.Errorf("amount_unit: must be fen or yuan, got %q", m.AmountUnit))
	}
	raws := make([]string, 0, len(m.StatusMap))
	for raw := range m.StatusMap {
		raws = append(raws, raw)
	}
	sort.Strings(raws)
	for _, raw := range raws {
		switch st := m.StatusMap[raw]; st {
		case StatusSuccess, StatusFailed, StatusPending, StatusClosed, StatusNotPaid:
		default:
			errs = append(errs, fmt.Errorf("status_map.%s: %q is not success, failed, pending, closed or not_paid", raw, st))
		}
	}
	raws = raws[:0]
	for raw := range m.KindMap {
		raws = append(raws, raw)
	}
	sort.Strings(raws)
	for _, raw := range raws {
		if k := m.KindMap[raw]; k != KindPayment && k != KindRefund {
			errs = append(errs, fmt.Errorf("kind_map.%s: %q is not payment or refund", raw, k))
		}
	}
	if len(m.KindMap) > 0 && m.Columns[FieldKind] == "" {
		errs = append(errs, errors.New("kind_map: set, but columns.kind is not"))
	}
	return errors.Join(errs...)
}
