package payrecon

import (
	"context"
	"time"
)

// The ledger: verified business events (payments, refunds, agreements), their de-duplication key, and reading
// and writing them.

// Kind is what a ledger entry or bill line is about.
type Kind string

const (
	KindPayment   Kind = "payment"
	KindRefund    Kind = "refund"
	KindAgreement Kind = "agreement" // recurring-debit (sign / 代扣) agreement
	KindOther     Kind = "other"     // bill lines of types payrecon does not reconcile (分账, 充值, 提现 …)
	// KindSettlement is a settlement_mismatch item: the settlement (fund)
	// bill's total against the trade bill's net for the bill day.
	KindSettlement Kind = "settlement"
)

// Status is the normalised state of a payment, refund or agreement, on
// either side. Providers map their own values onto these.
type Status string

const (
	StatusSuccess  Status = "success"  // paid / refunded
	StatusFailed   Status = "failed"   // payment or refund failed
	StatusPending  Status = "pending"  // still processing at the provider (TRX_PROC, USERPAYING, REFUND_CHL_PROC…)
	StatusClosed   Status = "closed"   // closed / revoked / expired without payment
	StatusNotPaid  Status = "not_paid" // order exists, never paid (NOTPAY)
	StatusNotFound Status = "not_found"
	StatusSigned   Status = "signed"   // agreement in force
	StatusUnsigned Status = "unsigned" // agreement terminated
)

// Paid reports whether money moved.
func (s Status) Paid() bool { return s == StatusSuccess }

// LedgerEntry is one verified business event in the merchant's own ledger:
// a payment, a refund or an agreement change. Entries are unique per
// (Account, EventKey); a retried callback yields the same EventKey and is
// stored once.
type LedgerEntry struct {
	ID       int64  // store id; 0 before stored
	Account  string // account name from the config
	Provider string // "huawei", "wechat", …
	// EventKey identifies the business event for de-duplication, e.g.
	// "payment:<provider txn no>:success". Verifiers set it.
	EventKey string
	Kind     Kind
	Status   Status

	MerchantOrderNo  string // merchant's order number (mercOrderNo, out_trade_no)
	ProviderTxnNo    string // provider's transaction number (sysTransOrderNo, transaction_id)
	MerchantRefundNo string // mercRefundNo / out_refund_no
	ProviderRefundNo string // sysRefundNo / refund_id
	AgreementNo      string // provider's agreement id (contractId, contract_id)
	MerchantAgreeNo  string // merchant's agreement code (mercContractCode, contract_code)
	PlanID           string

	Amount          int64 // fen: order total (payments) or refund amount (refunds), positive
	PayerAmount     int64 // fen the payer paid (or got back)
	PromotionAmount int64 // fen covered by promotions
	Currency        string
	OccurredAt      time.Time // when it happened at the provider (finish / sign time)
	ReceivedAt      time.Time // when payrecon stored it
	Source          string    // "callback", "import", "repair"; pulled: "mincloud", "sql", "csv" (LedgerSource)
	CallbackID      int64     // raw callback it came from, 0 for repairs
}

// EventKey is the ledger's de-duplication key for a provider event, one
// format for every provider, source and repair: "payment:<provider txn
// no>:<status>", "refund:<provider refund no>:<status>",
// "agreement:<agreement no>:<status>". A retried callback, a backfill and a
// pulled copy of the same event get the same key, so the event is stored
// once. Ledger sources that are not the provider prefix it with their own
// name ("mincloud:" + EventKey(…)).
func EventKey(kind Kind, providerNo string, st Status) string {
	return string(kind) + ":" + providerNo + ":" + string(st)
}

// BillDay is the Shanghai calendar day of the event.
func (e LedgerEntry) BillDay() Day { return DayOf(e.OccurredAt) }

// LedgerReader reads the ledger.
//
// LedgerEntries streams the account's entries whose OccurredAt is in
// [from, to), ordered by id; fn's error stops it. LedgerEntry returns one
// entry by id or ErrNotFound.
type LedgerReader interface {
	LedgerEntries(ctx context.Context, account string, from, to time.Time, fn func(LedgerEntry) error) error
	LedgerEntry(ctx context.Context, id int64) (LedgerEntry, error)
}

// LedgerWriter is the repair side of the ledger. AddLedgerEntry is
// idempotent on (Account, EventKey) (duplicate=true, nothing written).
// SetLedgerStatus changes one entry's status and is a no-op when it already
// has it. Both are recorded with the actor in the ledger's own history.
type LedgerWriter interface {
	AddLedgerEntry(ctx context.Context, e LedgerEntry) (duplicate bool, err error)
	SetLedgerStatus(ctx context.Context, id int64, status Status, actor, reason string) error
}

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
