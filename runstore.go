package payrecon

import (
	"context"
	"time"
)

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
