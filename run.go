package payrecon

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Runs: result classes, classified items, a day's totals and the run store.

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
	// Deductions: money other than fees the settlement bill says the
	// provider kept (BillLine.Deduction), netted from the trade side too.
	Deductions int64 `json:",omitzero"`
	ByClass    map[Class]ClassTotal
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

// Discrepancies counts the items of every discrepancy class, tolerated
// ones included.
func (t Totals) Discrepancies() int64 {
	var n int64
	for c, ct := range t.ByClass {
		if c.IsDiscrepancy() {
			n += ct.Count
		}
	}
	return n
}

// Open counts the discrepancies no tolerance rule covers: what someone
// has to look at.
func (t Totals) Open() int64 { return t.Discrepancies() - t.Tolerated.Count }

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

// RunStore keeps runs and their classified items. Implemented by the store
// for SQLite and MySQL alike.
//
// LockRun takes the (account, day) run lease for owner for ttl, across
// processes; it returns ErrLocked while another owner's lease is live. The
// returned release frees it; a crashed holder's lease expires by itself.
//
// SaveRun stores a finished run, its non-matched items and the proposed
// actions in one transaction: the run gets its ID, the previous run of the
// same (account, day) becomes RunSuperseded (history is kept), an item whose
// Key() was seen before keeps its review state, and an action is created
// only when no action for the same (discrepancy key, kind) exists, so
// re-runs propose nothing twice. Nothing is stored when it fails.
//
// FailRun records a run that could not finish (with its error) without
// superseding the last good run.
//
// OpenCarryOvers returns the carried_over items of the latest runs of days
// before day that no later run has resolved (resolved_late, matched, or
// turned into a discrepancy).
//
// LatestRuns returns, per (account, day) in [from, to], the newest
// non-superseded run, ordered by day then account; accounts empty means all.
// RunItems streams one run's items in a stable order.
type RunStore interface {
	LockRun(ctx context.Context, account string, day Day, owner string, ttl time.Duration) (release func() error, err error)
	SaveRun(ctx context.Context, run *Run, items []Item, actions []Action) error
	FailRun(ctx context.Context, run *Run) error
	OpenCarryOvers(ctx context.Context, account string, day Day) ([]Item, error)
	LatestRuns(ctx context.Context, accounts []string, from, to Day) ([]Run, error)
	RunItems(ctx context.Context, runID int64, fn func(Item) error) error
}

// AttemptOutcome is why a run attempt produced no finished run.
type AttemptOutcome string

const (
	AttemptRefused  AttemptOutcome = "refused"   // another process held the run lease
	AttemptFailed   AttemptOutcome = "failed"    // the run failed (recorded as a failed run too)
	AttemptNotReady AttemptOutcome = "not_ready" // the provider has not published the bill yet
)

// RunAttempt is one attempt at an (account, day) run that produced no
// finished run, kept so that reports show that today's run did not happen.
type RunAttempt struct {
	ID      int64
	Account string
	Day     Day
	At      time.Time
	Outcome AttemptOutcome
	Owner   string // the attempting process
	// Holder and HolderExpires name the lease that refused the attempt.
	Holder        string
	HolderExpires time.Time
	Reason        string
}

// AttemptRecorder is implemented by run stores that keep run attempts;
// the runner records refused and failed attempts when its store has it.
type AttemptRecorder interface {
	RecordAttempt(ctx context.Context, a *RunAttempt) error
}

// LockHeldError is the error LockRun returns while another owner's lease
// is live; it wraps ErrLocked.
type LockHeldError struct {
	Owner   string
	Expires time.Time
}

func (e *LockHeldError) Error() string {
	return "held by " + e.Owner + " until " + e.Expires.UTC().Format(time.RFC3339) + ": " + ErrLocked.Error()
}

func (e *LockHeldError) Unwrap() error { return ErrLocked }
