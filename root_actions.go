package payrecon

import "context"

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
