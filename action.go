package payrecon

import (
	"context"
	"strings"
	"time"
)

// Repair actions: what a discrepancy proposes, their life from proposed to final, and their store.

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

// ActionChange is one step in an action's life as the store records it: a
// conditional state change plus its audit row, and the action fields the
// step sets. TransitionAction is ChangeAction with Step = string(To) and the
// fields set by convention (approved: ApprovedBy = actor, Reason = detail;
// dismissed: Reason = detail; applied and failed: Result = detail).
type ActionChange struct {
	From   []ActionState // the states the action must be in; the change fails with ErrInvalidState otherwise
	To     ActionState   // may equal a From state (a step that records without moving)
	Actor  string        // operator name, "auto", "scheduler"
	Step   string        // audit step: "approved", "applied", "auto_applied", "applying", "failed", "dismissed"…; "" means string(To)
	Detail string        // audit detail (reason, result, error)

	// Fields set on the action when not empty.
	ApprovedBy     string
	Reason         string
	Result         string
	IdempotencyKey string

	// SpendApproval clears ApprovedBy: the approval was used up (the money
	// movement it allowed failed at the provider), so moving money again
	// needs a new one.
	SpendApproval bool
}

// ActionChanger records an ActionChange in one transaction: it updates the
// action only if its state is in c.From (so two operators racing cannot
// both apply) and writes the audit row. It returns ErrNotFound when the
// action is absent and ErrInvalidState when it is in none of c.From; nothing
// is written then.
type ActionChanger interface {
	ChangeAction(ctx context.Context, id int64, c ActionChange) (Action, error)
}

// ActionConfigChecker is implemented by a provider whose repair actions
// need configuration its queries do not (e.g. a callback URL for refunds).
// CheckActions returns an error naming each missing field for the enabled
// kinds; callers run it at `config check` and at start-up, not at apply
// time.
type ActionConfigChecker interface {
	CheckActions(enabled []ActionKind) error
}

// ActionFilter selects actions; zero fields match all.
type ActionFilter struct {
	Account string
	From    Day
	To      Day
	States  []ActionState
	Kinds   []ActionKind
}

// ActionStore keeps repair actions and their audit trail.
//
// TransitionAction moves an action from one of the from states to to, in one
// transaction with its audit entry; it returns ErrInvalidState when the
// action is in none of from (nothing written) and ErrNotFound when absent.
type ActionStore interface {
	ListActions(ctx context.Context, f ActionFilter) ([]Action, error)
	GetAction(ctx context.Context, id int64) (Action, error)
	TransitionAction(ctx context.Context, id int64, from []ActionState, to ActionState, actor, detail string) (Action, error)
	ActionAudit(ctx context.Context, id int64) ([]AuditEntry, error)
}
