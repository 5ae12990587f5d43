package payrecon

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"time"
)

// ErrReviewConflict: a review change conditioned on a version (a
// workbook import) met a review that changed since.
var ErrReviewConflict = errors.New("review changed since")

// ReviewState is where finance staff are with a discrepancy. It hangs on
// the discrepancy's identity (Item.Key) and survives re-runs.
type ReviewState string

const (
	ReviewOpen          ReviewState = "open"          // nobody has looked at it yet (or it was reopened)
	ReviewInvestigating ReviewState = "investigating" // someone is on it
	ReviewResolved      ReviewState = "resolved"      // explained and repaired
	ReviewWrittenOff    ReviewState = "written_off"   // accepted as a loss or gain, with a reason code
	ReviewTolerated     ReviewState = "tolerated"     // a configured tolerance rule matched (set by runs)
)

// ReviewStates lists every state in the order reports show them.
var ReviewStates = []ReviewState{ReviewOpen, ReviewInvestigating, ReviewResolved, ReviewWrittenOff, ReviewTolerated}

// Valid reports whether s is a known state.
func (s ReviewState) Valid() bool {
	for _, x := range ReviewStates {
		if s == x {
			return true
		}
	}
	return false
}

// Pending reports whether the discrepancy still waits for someone
// (open or investigating): these age and have a due day.
func (s ReviewState) Pending() bool { return s == ReviewOpen || s == ReviewInvestigating }

// ProposesRepair reports whether a discrepancy in this state may still
// propose (and keep) a repair action: a written-off or tolerated one does not.
func (s ReviewState) ProposesRepair() bool { return s != ReviewWrittenOff && s != ReviewTolerated }

// Review is a discrepancy's identity, what it is about, and its review
// state. Version counts the review changes (0: never changed); the
// workbook exports it so that an import can tell a row changed since.
type Review struct {
	Key          string
	Account      string
	Class        Class
	Kind         Kind
	Ref          string // the discrepancy's most telling number ("txn 4200…")
	FirstSeenDay Day
	LastDay      Day   // bill day of the latest run that listed it
	Delta        int64 // the item's Delta as last classified
	Amount       int64 // money at stake, ≥ 0: |Delta|, or the fee difference for fee_mismatch

	State      ReviewState
	ReasonCode string // written_off only
	Rule       string // tolerated only: the tolerance rule's name
	Assignee   string
	Note       string // the current 处理意见 (each change is also kept as a comment)
	DueDay     Day    // from the SLA; "" when none applies
	Version    int64
	UpdatedBy  string
	UpdatedAt  time.Time
}

// AgeDays is how many days the discrepancy is open at asOf (0 on its first day).
func (r Review) AgeDays(asOf Day) int {
	if r.FirstSeenDay == "" || asOf == "" {
		return 0
	}
	return int(asOf.Start().Sub(r.FirstSeenDay.Start()).Hours()+12) / 24
}

// ReviewFields are the parts of a review a person changes (and an audit
// entry records before and after).
type ReviewFields struct {
	State      ReviewState `json:"state"`
	ReasonCode string      `json:"reason_code,omitempty"`
	Rule       string      `json:"rule,omitempty"`
	Assignee   string      `json:"assignee,omitempty"`
	Note       string      `json:"note,omitempty"`
	DueDay     Day         `json:"due_day,omitempty"`
}

// Fields returns r's changeable fields.
func (r Review) Fields() ReviewFields {
	return ReviewFields{State: r.State, ReasonCode: r.ReasonCode, Rule: r.Rule, Assignee: r.Assignee, Note: r.Note, DueDay: r.DueDay}
}

// Review change sources, recorded in the audit trail.
const (
	SourceCLI      = "cli"
	SourceWorkbook = "workbook"
	SourceRun      = "run"
)

// ReviewChange is one change to a review; nil fields are left as they are.
// Comment, when set, is added to the discrepancy's comments.
type ReviewChange struct {
	State      *ReviewState
	ReasonCode *string
	Rule       *string
	Assignee   *string
	Note       *string
	Comment    string
	Actor      string // who (an operator's name, "run")
	Source     string // SourceCLI, SourceWorkbook or SourceRun
	// IfVersion, when ≥ 0, makes the change apply only while the review is
	// still at that version (ErrConflict otherwise).
	IfVersion int64
}

// ReviewAudit is one recorded review change.
type ReviewAudit struct {
	Key     string
	Version int64 // the version the change produced
	At      time.Time
	Actor   string
	Source  string
	Before  ReviewFields
	After   ReviewFields
	Comment string
}

// ReviewFilter selects reviews; zero fields match all.
type ReviewFilter struct {
	Account   string
	From, To  Day // the discrepancy's last bill day, inclusive
	Classes   []Class
	States    []ReviewState
	Assignee  string // "-" selects unassigned ones
	MinAmount int64  // Amount ≥ (fen); 0: any
	MaxAmount int64  // Amount ≤ (fen); 0: any
	// MinAgeDays / MaxAgeDays bound the age at AsOf (both need AsOf); -1 or 0 with AsOf "" : any.
	MinAgeDays int
	MaxAgeDays int
	AsOf       Day
	Keys       []string
}

// ReviewMAC is the workbook's row checksum: HMAC-SHA256 under the
// database's review key over the row's identity (the key and the identity
// cells the sheet shows) and the review state as exported (version, state,
// reason or rule, assignee, note). Each part is length-prefixed, so no two
// different rows share an input.
func ReviewMAC(secret []byte, key string, version int64, exported ReviewFields, identity []string) string {
	m := hmac.New(sha256.New, secret)
	part := func(s string) {
		m.Write([]byte(strconv.Itoa(len(s))))
		m.Write([]byte{':'})
		m.Write([]byte(s))
	}
	part("payrecon-review/1")
	part(key)
	part(strconv.FormatInt(version, 10))
	part(string(exported.State))
	part(exported.ReasonCode)
	part(exported.Rule)
	part(exported.Assignee)
	part(exported.Note)
	for _, s := range identity {
		part(s)
	}
	return hex.EncodeToString(m.Sum(nil))
}

// ItemRef names an item by its most telling number ("txn 4200…"), for
// review lists.
func ItemRef(it Item) string {
	switch {
	case it.ProviderRefundNo != "":
		return "refund " + it.ProviderRefundNo
	case it.MerchantRefundNo != "":
		return "refund " + it.MerchantRefundNo
	case it.AgreementNo != "":
		return "agreement " + it.AgreementNo
	case it.ProviderTxnNo != "":
		return "txn " + it.ProviderTxnNo
	case it.MerchantOrderNo != "":
		return "order " + it.MerchantOrderNo
	}
	return ""
}

// ItemAmount is the money at stake in an item, ≥ 0: |Delta|, or for an
// item whose amounts agree (fee_mismatch) the fee difference.
func ItemAmount(it Item) int64 {
	d := it.Delta
	if d == 0 {
		d = it.BillFee - it.LedgerFee
	}
	if d < 0 {
		d = -d
	}
	return d
}

// ReviewEdit is one row of a reviewed workbook's Discrepancies sheet, as
// read back for an import.
type ReviewEdit struct {
	Sheet string // sheet name
	Row   int    // 1-based sheet row number
	// ID is the hidden identity cell, "KEY:VERSION" as exported; Checksum
	// the hidden checksum cell (ReviewMAC of the exported row).
	ID       string
	Checksum string
	// Identity are the row's identity cells as they read (the checksum
	// covers them, so a moved or edited row does not verify).
	Identity []string
	// The editable cells: 处理状态 parsed into State and Code (the reason
	// code of written_off, the rule of tolerated; State "" when the cell is
	// empty), 处理意见 and 处理人 as typed.
	StateText string
	State     ReviewState
	Code      string
	StateErr  error
	Note      string
	Assignee  string
}
