package payrecon

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"time"
)

// Account is one provider account as the reconciliation sees it; the
// provider-specific settings live in the provider package's Config.
type Account struct {
	Name       string // unique name, used in URLs, the store and reports
	Provider   string // "huawei", "wechat", …
	FeeRatePPM int64  // configured fee rate, parts per million; 0 = no fee check
	Currency   string // the account's currency; "" means DefaultCurrency (CNY)
	MaxAmount  int64  // largest single amount accepted, fen; 0 means DefaultMaxAmount
}

// Class is the result class of a bill line or ledger entry. The names are a
// contract: reports, JSON and CSV use them (design.md).
type Class string

const (
	ClassMatched               Class = "matched"
	ClassMissingInLedger       Class = "missing_in_ledger"
	ClassMissingInBill         Class = "missing_in_bill"
	ClassCarriedOver           Class = "carried_over"
	ClassResolvedLate          Class = "resolved_late"
	ClassAmountMismatch        Class = "amount_mismatch"
	ClassStatusMismatch        Class = "status_mismatch"
	ClassDuplicatePayment      Class = "duplicate_payment"
	ClassRefundMissingInLedger Class = "refund_missing_in_ledger"
	ClassRefundMissingInBill   Class = "refund_missing_in_bill"
	ClassRefundAmountMismatch  Class = "refund_amount_mismatch"
	ClassFeeMismatch           Class = "fee_mismatch"
	ClassSettlementMismatch    Class = "settlement_mismatch"
	ClassAgreementMismatch     Class = "agreement_mismatch"
	ClassOtherBillLine         Class = "other_bill_line" // bill line of a type payrecon does not reconcile (分账, 充值 …): kept and reported
)

// Classes lists every class in report order.
var Classes = []Class{
	ClassMatched, ClassMissingInLedger, ClassMissingInBill, ClassCarriedOver, ClassResolvedLate,
	ClassAmountMismatch, ClassStatusMismatch, ClassDuplicatePayment,
	ClassRefundMissingInLedger, ClassRefundMissingInBill, ClassRefundAmountMismatch,
	ClassFeeMismatch, ClassSettlementMismatch, ClassAgreementMismatch, ClassOtherBillLine,
}

// IsDiscrepancy reports whether the class needs attention.
func (c Class) IsDiscrepancy() bool {
	switch c {
	case ClassMatched, ClassCarriedOver, ClassResolvedLate, ClassOtherBillLine:
		return false
	}
	return true
}

// ActionKind is a repair a discrepancy proposes.
type ActionKind string

const (
	ActionNone             ActionKind = ""
	ActionBackfillLedger   ActionKind = "backfill_ledger"   // add the provider-confirmed entry to the ledger
	ActionReverseLedger    ActionKind = "reverse_ledger"    // reverse a ledger success the provider denies
	ActionCorrectStatus    ActionKind = "correct_status"    // set the ledger status to the provider's
	ActionRefundDuplicate  ActionKind = "refund_duplicate"  // refund the extra payment (money moves: needs approval)
	ActionCorrectAgreement ActionKind = "correct_agreement" // set the ledger agreement state to the provider's
	ActionUnsign           ActionKind = "unsign"            // terminate the agreement at the provider (needs approval)
	ActionCloseOrder       ActionKind = "close_order"       // close an order still pending at the provider, then reverse the ledger (needs approval)
	ActionManualReview     ActionKind = "manual_review"
	ActionRecheck          ActionKind = "recheck" // re-check on the next day's run
)

// MovesMoney reports whether applying the action changes anything at the
// provider; such actions are applied only after approval.
func (k ActionKind) MovesMoney() bool {
	return k == ActionRefundDuplicate || k == ActionUnsign || k == ActionCloseOrder
}

// Item is one classified bill line and/or ledger entry: the unit a run
// stores for every non-matched result, with both sides side by side.
type Item struct {
	Account string
	Day     Day
	Class   Class
	Kind    Kind

	MerchantOrderNo  string
	ProviderTxnNo    string
	MerchantRefundNo string
	ProviderRefundNo string
	AgreementNo      string

	LedgerAmount   int64  // signed: payments +, refunds −; 0 when the ledger has no entry
	BillAmount     int64  // signed as LedgerAmount; 0 when the bill has no line
	Delta          int64  // BillAmount − LedgerAmount: what this item explains of the day's difference
	LedgerStatus   Status // "" when absent
	ProviderStatus Status // bill or query status, "" when unknown
	LedgerFee      int64  // expected fee from the configured rate (fee_mismatch)
	BillFee        int64
	LedgerTime     time.Time
	BillTime       time.Time
	OriginDay      Day    // for carried-over and resolved-late items: the day it was first seen
	Note           string // short human explanation (provider text escaped by reports)
	Product        string

	LedgerEntryID int64
	Action        ActionKind
	// ResolvesKey is, for an item that settles an earlier day's carried_over
	// item (resolved_late, or a carry-over turned into a discrepancy), that
	// item's Key(); "" otherwise. Not part of the identity.
	ResolvesKey string `json:",omitempty"`
	// Tolerance names the configured tolerance rule the item falls under
	// ("" for none), set by jobs after classification; the item keeps its
	// class and Delta. Not part of the identity.
	Tolerance string `json:",omitempty"`
	// DueDay is when a review is due by the SLA, set by jobs for
	// discrepancies; the store keeps the first one. Not part of the identity.
	DueDay Day `json:",omitempty"`
	// BillFiles names the bill files a settlement_mismatch compares (the
	// trade bill, then the settlement bill); empty for other items.
	BillFiles []string `json:",omitempty"`
}

// OutsideBalance reports whether the item is kept out of the day's balance:
// a settlement_mismatch
// carries its difference (settlement bill total − trade bill net) in
// Delta, but that difference is between two provider bills, not between
// the bill and the ledger, so Totals.Explained does not include it.
func (it Item) OutsideBalance() bool { return it.Class == ClassSettlementMismatch }

// Key is the discrepancy's stable identity across re-runs: account, class,
// kind and the business keys. Review state hangs on it.
func (it Item) Key() string {
	h := sha256.New()
	for _, s := range []string{it.Account, string(it.Class), string(it.Kind), it.MerchantOrderNo, it.ProviderTxnNo, it.MerchantRefundNo, it.ProviderRefundNo, it.AgreementNo} {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	if it.Kind == KindSettlement {
		h.Write([]byte(it.Day)) // a settlement mismatch is one per account and day
	}
	return hex.EncodeToString(h.Sum(nil))[:32]
}

// Totals are a day's money for one account, signed fen (payments minus refunds).
type Totals struct {
	BillTotal   int64
	LedgerTotal int64
	Difference  int64 // BillTotal − LedgerTotal
	Explained   int64 // sum of every item's Delta (settlement_mismatch aside: Item.OutsideBalance)
	BillLines   int64
	LedgerLines int64
	Matched     int64
	Fees        int64 // bill fees
	Settlement  int64 // settlement bill total (0 when none)
	ByClass     map[Class]ClassTotal
	// Tolerated counts the discrepancies (already in ByClass) that a
	// tolerance rule covers; open ones are the rest.
	Tolerated ClassTotal `json:",omitzero"`
}

// ClassTotal counts a class.
type ClassTotal struct {
	Count  int64
	Amount int64 // sum of Delta
}

// Balanced reports whether the difference is explained to the fen.
func (t Totals) Balanced() bool { return t.Difference == t.Explained }

// RunState is where a run is.
type RunState string

const (
	RunRunning    RunState = "running"
	RunClean      RunState = "clean"       // reconciled, no discrepancy
	RunFindings   RunState = "discrepancy" // reconciled, discrepancies found
	RunFailed     RunState = "failed"
	RunSuperseded RunState = "superseded"
	// RunRefused and RunNotReady describe an (account, day) that has no run,
	// only attempts (see RunAttempt); reports show them so that a day whose
	// runs keep being refused does not look untouched.
	RunRefused  RunState = "refused"
	RunNotReady RunState = "not_ready"
)

// Run is one reconciliation of one account for one bill day.
type Run struct {
	ID         int64
	Account    string
	Provider   string
	Day        Day
	State      RunState
	StartedAt  time.Time
	FinishedAt time.Time
	Totals     Totals
	Bills      []BillFile
	Error      string
	Version    string // software version that made it
	// LastAttempt is the newest attempt at the same (account, day) made
	// after this run started that produced no run (refused, failed, bill
	// not ready); zero when there is none. Set by the store when reading.
	LastAttempt RunAttempt
}

// ActionState is where a repair action is in its life.
type ActionState string

const (
	ActionProposed ActionState = "proposed"
	ActionApproved ActionState = "approved"
	// ActionApplied: carried out. For a ledger-only kind that is final; for
	// a kind that acts at the provider (MovesMoney) it means the request was
	// accepted but the provider's answer is not final yet (refund pending,
	// close pending): the next run or `payrecon actions sync` queries it
	// until it ends succeeded or failed.
	ActionApplied   ActionState = "applied"
	ActionSucceeded ActionState = "succeeded" // the provider confirmed the outcome (final)
	ActionDismissed ActionState = "dismissed"
	// ActionFailed: apply failed, or the provider reported the outcome
	// failed; the result says which, in the provider's words. It may be
	// applied again (money-moving kinds only when approved before).
	ActionFailed ActionState = "failed"
)

// Final reports whether an action in state st of kind k needs nothing
// more: dismissed, succeeded, or applied for a ledger-only kind.
func (st ActionState) Final(k ActionKind) bool {
	switch st {
	case ActionDismissed, ActionSucceeded:
		return true
	case ActionApplied:
		return !k.MovesMoney()
	}
	return false
}

// Action is a proposed repair, tied to a discrepancy by its key.
type Action struct {
	ID             int64
	DiscrepancyKey string
	Account        string
	Day            Day
	Kind           ActionKind
	State          ActionState
	Item           Item // the discrepancy as last classified
	// IdempotencyKey is derived from the discrepancy (e.g. the refund number
	// for refund_duplicate) so a re-applied action does nothing twice.
	IdempotencyKey string
	ApprovedBy     string
	Reason         string
	Result         string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// AuditEntry is one step in an action's life.
type AuditEntry struct {
	ActionID int64
	At       time.Time
	Actor    string // operator name, "scheduler", "auto"
	Step     string // "proposed", "approved", "applied", "dismissed", "failed", "auto_applied"
	Detail   string
}

// DeterministicRefundNo derives a refund number from a discrepancy key so a
// retried refund_duplicate refunds once. maxLen is the provider's limit.
func DeterministicRefundNo(prefix, key string, maxLen int) string {
	s := prefix + strings.ToUpper(key)
	if len(s) > maxLen {
		s = s[:maxLen]
	}
	return s
}
