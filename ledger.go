package payrecon

import (
	"errors"
	"net/http"
	"time"
)

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

// CallbackRequest is a raw callback as received: everything a verifier may
// need, nothing parsed.
type CallbackRequest struct {
	Account    string
	Header     http.Header
	Body       []byte
	RemoteAddr string
	ReceivedAt time.Time
}

// VerifiedCallback is what a verifier makes of an authentic callback.
type VerifiedCallback struct {
	// EventID is the provider's idempotency id for the notification
	// (Huawei callbackId, WeChat notification id).
	EventID string
	Type    string        // provider's event type, e.g. "payment", "refund", "sign", "unsign", "TRANSACTION.SUCCESS"
	Entries []LedgerEntry // what enters the ledger; may be empty (e.g. a failed payment)
}

// CallbackReply is the provider-specific acknowledgement.
type CallbackReply struct {
	Status      int
	ContentType string
	Body        []byte
}

// CallbackVerifier checks a callback with the provider's real scheme.
//
// VerifyCallback returns an error wrapping ErrSignatureInvalid for a
// forged or tampered callback, and another error for one it cannot read;
// the error text is the reason stored with the rejected callback and must
// not contain secrets. When it rejects a callback whose event id it has
// read, it may say so (the id is stored with the rejected callback, so a
// tampered callback reusing a real id can be traced to it): either return
// a VerifiedCallback with EventID alongside the error, or wrap the error
// with WithEventID. It must be safe for concurrent use.
// Reply renders the acknowledgement for a result: err == nil is success.
type CallbackVerifier interface {
	VerifyCallback(req CallbackRequest) (VerifiedCallback, error)
	Reply(err error) CallbackReply
}

// callbackError carries the event id a verifier read from a callback it
// rejected.
type callbackError struct {
	eventID string
	err     error
}

func (e *callbackError) Error() string { return e.err.Error() }
func (e *callbackError) Unwrap() error { return e.err }

// WithEventID marks err (a verifier's rejection) with the event id read
// from the rejected callback; the text of err is unchanged, errors.Is and
// errors.As see through it. A nil err stays nil; an empty id returns err.
func WithEventID(eventID string, err error) error {
	if err == nil || eventID == "" {
		return err
	}
	return &callbackError{eventID: eventID, err: err}
}

// EventIDOf returns the event id WithEventID put on err (the outermost
// one), or "".
func EventIDOf(err error) string {
	var ce *callbackError
	if errors.As(err, &ce) {
		return ce.eventID
	}
	return ""
}
