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
	Fee             int64 // provider fee in fen (may be negative on refunds); 0 unless FeeStated
	FeeRatePPM      int64 // fee rate the bill prints, parts per million; 0 if absent
	Settlement      int64 // settlement amount (settlement bills), signed
	// Deduction is money other than the fee the provider states it kept
	// from this line (Douyin's 抽佣金额, the commission on a settled
	// order), signed like Fee; already out of Settlement. On the settlement
	// bill, the trade net subtracts it too: it is never a settlement
	// difference, and never checked against a rate.
	Deduction int64
	Currency  string

	// FeeStated is true when the bill states this line's fee: it has a fee
	// column and the cell holds an amount (0.00 included). Only such lines
	// are fee-checked, and only on the bill the provider's FeeFacts name.
	FeeStated bool

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

// FeeFacts says which of a provider's bills state its fees, and so where
// the fee check runs and which fees the settlement check nets on both sides.
type FeeFacts struct {
	// Bill is the bill whose lines state fees:
	//   - BillTrade: every trade-bill line states its own fee (Huawei,
	//     WeChat Pay, Alipay, QQ Wallet); the trade net subtracts them;
	//   - BillSettlement: every settlement-bill line states the fee of the
	//     one order it settles (Douyin's 技术服务费 on the settle bill), the
	//     trade bill none; the fee check reads them per order and the trade
	//     net subtracts the same fees;
	//   - "": no bill states fees (MinCloud's order list): no fee check.
	Bill BillKind
}

// FeeDeclarer is the optional capability through which a provider declares
// its FeeFacts.
type FeeDeclarer interface {
	FeeFacts() FeeFacts
}

// FeeFactsOf returns p's declared FeeFacts; a provider that declares none
// is taken to state fees on its trade-bill lines (each line still says
// whether it does: BillLine.FeeStated).
func FeeFactsOf(p Provider) FeeFacts {
	if d, ok := p.(FeeDeclarer); ok {
		return d.FeeFacts()
	}
	return FeeFacts{Bill: BillTrade}
}

// BillFields are the names by which validation (ValidationError.Field)
// and BillColumns call BillLine's fields.
var BillFields = []string{
	"kind", "status", "type", "merchant_order_no", "provider_txn_no", "merchant_refund_no", "provider_refund_no",
	"amount", "payer_amount", "promotion_amount", "fee", "fee_rate", "settlement", "deduction", "currency",
	"created_at", "finished_at", "product", "payload",
}

// BillColumns is a provider's declaration of where the fields of its bill
// lines come from: for a field (by its name in BillFields), the header of
// the provider's column it is read from, as the provider's documentation
// spells it. A field a provider derives rather than reads (a kind from a
// transaction type, a currency its bill never states) is left out.
type BillColumns map[string]string

// BillColumnsDeclarer is the optional capability through which a bill
// source declares its BillColumns, per bill and per kind of line (a refund
// line may read its provider transaction number from another column than a
// payment line). A line that breaks a domain rule is then reported under
// the provider's own column as well as the field. The maps returned may be
// shared: callers read them and never change them.
type BillColumnsDeclarer interface {
	BillColumns(bill BillKind, kind Kind) BillColumns
}

// BillColumnOf names field of a line of kind on bill as src's bills head
// it: "交易金额(元) (amount)" when src declares the column, else the field
// alone.
func BillColumnOf(src any, bill BillKind, kind Kind, field string) string {
	if d, ok := src.(BillColumnsDeclarer); ok {
		if col := d.BillColumns(bill, kind)[field]; col != "" {
			return col + " (" + field + ")"
		}
	}
	return field
}
