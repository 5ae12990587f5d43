package jobs

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// Audit steps of an apply attempt. Every attempt writes StepApplying
// ("attempt N by X: …") before it acts, and one outcome step after it; an
// attempt without an outcome (the process stopped) is recorded as
// StepInterrupted when the next attempt starts.
const (
	StepApplying    = "applying"
	StepInterrupted = "interrupted"
)

// outcomeSteps end an attempt.
var outcomeSteps = []string{"applied", "auto_applied", "succeeded", "failed", StepInterrupted}

// Attempt is one apply attempt as the audit trail records it.
type Attempt struct {
	N         int
	StartedAt time.Time
	Actor     string
	Detail    string
	Outcome   string // "applied", "succeeded", "failed", "interrupted"; "" while open (or cut off)
	EndedAt   time.Time
}

// Attempts reads the apply attempts from an action's audit trail, oldest
// first.
func Attempts(audit []payrecon.AuditEntry) []Attempt {
	var out []Attempt
	for _, e := range audit {
		switch {
		case e.Step == StepApplying:
			out = append(out, Attempt{N: len(out) + 1, StartedAt: e.At, Actor: e.Actor, Detail: e.Detail})
		case len(out) > 0 && out[len(out)-1].Outcome == "" && isOutcomeStep(e.Step):
			out[len(out)-1].Outcome, out[len(out)-1].EndedAt = e.Step, e.At
		}
	}
	return out
}

func isOutcomeStep(step string) bool {
	for _, s := range outcomeSteps {
		if s == step {
			return true
		}
	}
	return false
}

// beginAttempt records the start of an apply attempt and returns its
// number. An earlier attempt without an outcome is first recorded as
// interrupted. The attempt step also records, before any provider call,
// the action's idempotency key (the refund number of a refund_duplicate),
// so a retried attempt sends the same one.
func (s *Actions) beginAttempt(ctx context.Context, a *payrecon.Action, prov payrecon.Provider, actor, reason string) (int, error) {
	audit, err := s.store.ActionAudit(ctx, a.ID)
	if err != nil {
		return 0, err
	}
	atts := Attempts(audit)
	n := len(atts) + 1
	if len(atts) > 0 && atts[len(atts)-1].Outcome == "" {
		last := atts[len(atts)-1]
		detail := fmt.Sprintf("attempt %d (started %s by %s) recorded no outcome: the process stopped during it",
			last.N, last.StartedAt.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"), last.Actor)
		if a.Kind.MovesMoney() && a.IdempotencyKey != "" {
			detail += fmt.Sprintf("; the provider may have acted, attempt %d repeats it under the same key %s", n, a.IdempotencyKey)
		}
		rec, err := s.store.ChangeAction(ctx, a.ID, payrecon.ActionChange{
			From: []payrecon.ActionState{a.State}, To: a.State, Actor: actor, Step: StepInterrupted, Detail: detail,
		})
		if err != nil {
			return 0, fmt.Errorf("record interrupted attempt %d: %w", last.N, err)
		}
		*a = rec
	}
	key, what, err := s.attemptKey(ctx, *a, prov)
	if err != nil {
		return 0, err
	}
	detail := fmt.Sprintf("attempt %d by %s: %s", n, actor, a.Kind)
	if what != "" {
		detail += " " + what
	}
	if reason != "" {
		detail += "; reason: " + reason
	}
	c := payrecon.ActionChange{From: []payrecon.ActionState{a.State}, To: a.State, Actor: actor, Step: StepApplying, Detail: detail}
	if key != a.IdempotencyKey {
		c.IdempotencyKey = key
	}
	rec, err := s.store.ChangeAction(ctx, a.ID, c)
	if err != nil {
		return 0, fmt.Errorf("record attempt %d: %w", n, err)
	}
	*a = rec
	return n, nil
}

// attemptKey is the idempotency key an attempt uses and a description for
// the audit: the recorded refund number, or a new one when the provider
// reported the recorded one failed (it cannot be reused); "unsign:<no>" and
// "close:<order>" for the other provider calls.
func (s *Actions) attemptKey(ctx context.Context, a payrecon.Action, prov payrecon.Provider) (string, string, error) {
	switch a.Kind {
	case payrecon.ActionRefundDuplicate:
		amount, err := s.refundAmount(ctx, prov, a.Item)
		if err != nil {
			return "", "", err
		}
		key := a.IdempotencyKey
		maxLen := RefundNoMaxLen(prov)
		if key == "" {
			key = RefundNo(maxLen, a.DiscrepancyKey)
		} else {
			// A retry: the recorded number is reused unless the provider
			// reports that refund failed.
			if q, ok := prov.(payrecon.RefundQuerier); ok {
				r, err := q.QueryRefund(ctx, payrecon.RefundRef{MerchantRefundNo: key, MerchantOrderNo: a.Item.MerchantOrderNo, ProviderTxnNo: a.Item.ProviderTxnNo})
				if err == nil && (r.Status == payrecon.StatusFailed || r.Status == payrecon.StatusClosed) {
					key = RefundNoGen(maxLen, a.DiscrepancyKey, refundGen(key)+1)
				} else if err != nil && !errors.Is(err, payrecon.ErrNotFound) {
					return "", "", fmt.Errorf("query refund %s before retrying: %w", key, err)
				}
			}
		}
		return key, fmt.Sprintf("of %s for %s under refund number %s", payrecon.FormatYuan(amount), a.Item.ProviderTxnNo, key), nil
	case payrecon.ActionUnsign:
		return "unsign:" + a.Item.AgreementNo, "of agreement " + a.Item.AgreementNo, nil
	case payrecon.ActionCloseOrder:
		return "close:" + a.Item.MerchantOrderNo, "of order " + a.Item.MerchantOrderNo, nil
	}
	return a.IdempotencyKey, "", nil
}

// refundGen reads the generation back from a refund number RefundNoGen made.
func refundGen(no string) int {
	rest, ok := strings.CutPrefix(no, RefundNoPrefix)
	if !ok {
		return 1
	}
	n, i := 0, 0
	for i < len(rest) && rest[i] >= '0' && rest[i] <= '9' {
		n = n*10 + int(rest[i]-'0')
		i++
	}
	if i == 0 || i >= len(rest) || rest[i] != 'X' {
		return 1
	}
	return n
}

// RefundNoMaxLen is the longest merchant refund number the provider takes,
// as it declares it (payrecon.LimitsDeclarer; the domain's default when it
// declares none).
func RefundNoMaxLen(p payrecon.Provider) int {
	return payrecon.LimitsOf(p).RefundNoMaxLen()
}

// InFlight says, for an action and its audit trail, what an operator must
// know before acting again: a money-moving attempt that recorded no outcome
// may have reached the provider; an applied one awaits the provider's final
// answer. "" when neither.
func InFlight(a payrecon.Action, audit []payrecon.AuditEntry) string {
	if !a.Kind.MovesMoney() {
		return ""
	}
	if a.State == payrecon.ActionApplied {
		return fmt.Sprintf("the provider's answer is not final yet (%s): `payrecon actions sync` or the next run queries it until it ends succeeded or failed", a.Result)
	}
	atts := Attempts(audit)
	if len(atts) == 0 || a.State.Final(a.Kind) {
		return ""
	}
	last := atts[len(atts)-1]
	if last.Outcome != "" && last.Outcome != StepInterrupted {
		return ""
	}
	what := "the provider call"
	if a.Kind == payrecon.ActionRefundDuplicate && a.IdempotencyKey != "" {
		what = "the refund under number " + a.IdempotencyKey
	}
	return fmt.Sprintf("attempt %d (started %s by %s) recorded no outcome: %s may be in flight at the provider; "+
		"`payrecon actions apply %d` completes it with the same key (%s) and never acts twice",
		last.N, last.StartedAt.In(payrecon.Shanghai).Format("2006-01-02 15:04:05"), last.Actor, what, a.ID, a.IdempotencyKey)
}
