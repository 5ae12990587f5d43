package payrecon

import (
	"context"
	"time"
)

// BillKind names a provider bill.
type BillKind string

const (
	BillTrade      BillKind = "trade"      // 交易账单 / 对账单: every payment and refund
	BillSettlement BillKind = "settlement" // 结算账单 / 资金账单 (fund flow)
)

// BillLine is one normalised line of a provider bill. Amounts are fen and
// positive; a refund line's Amount is the refund amount.
type BillLine struct {
	Account string
	Day     Day
	Bill    BillKind
	File    string // file name inside the download (for error reports)
	LineNo  int    // 1-based line number in File

	Kind   Kind   // payment, refund or other
	Type   string // provider's own 交易类型 / business type, kept verbatim
	Status Status // StatusSuccess unless the bill says otherwise

	MerchantOrderNo  string // for refunds: the original payment's merchant order no
	ProviderTxnNo    string // for refunds: the original payment's provider txn no
	MerchantRefundNo string
	ProviderRefundNo string

	Amount          int64 // order total incl. promotion (payments) / refund amount (refunds)
	PayerAmount     int64 // actually paid / refunded to the payer
	PromotionAmount int64
	Fee             int64 // provider fee in fen (may be negative on refunds)
	FeeRatePPM      int64 // fee rate the bill prints, parts per million; 0 if absent
	Settlement      int64 // settlement amount (settlement bills), signed
	Currency        string

	CreatedAt  time.Time
	FinishedAt time.Time
	Product    string // product name / description (provider text: escape before it reaches a sheet)
	Payload    string // merchant's reserved data echoed by the provider
}

// BillFile describes the bill a source delivered.
type BillFile struct {
	Account string
	Day     Day
	Kind    BillKind
	Name    string // file name(s)
	SHA256  string // hex of the downloaded bytes, for the report and re-run detection
	Lines   int64  // data lines delivered
	// Totals the bill's own summary rows state, when it has them (already
	// checked against the lines by the parser).
	SummaryCount  int64
	SummaryAmount int64
	SummaryRefund int64
	SummaryFee    int64
	HasSummary    bool
}

// BillSource delivers a provider's bill for one account and day.
//
// Bill streams every data line of the bill to fn in file order and returns
// the file's description. It returns an error wrapping ErrBillNotReady when
// the provider has not published it (retry later), ErrNotSupported for a
// kind the provider lacks, and stops at fn's first error. A parse error
// names the file, line and field. It must stream: memory does not grow with
// the number of lines.
type BillSource interface {
	Bill(ctx context.Context, day Day, kind BillKind, fn func(BillLine) error) (BillFile, error)
}
