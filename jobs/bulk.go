package jobs

import (
	"context"
	"fmt"
	"slices"

	"github.com/payrecon/payrecon"
)

// Verb is an operator's step over actions.
type Verb string

const (
	VerbApprove Verb = "approve"
	VerbApply   Verb = "apply"
	VerbDismiss Verb = "dismiss"
)

// Selection is a bulk filter: the store's filter plus the discrepancy
// classes.
type Selection struct {
	payrecon.ActionFilter
	Classes []payrecon.Class
}

// Eligible reports whether verb can act on a now: the same state checks
// Approve, Apply and Dismiss make, so that a dry run counts exactly what
// the bulk step will act on.
func Eligible(verb Verb, a payrecon.Action) bool {
	switch verb {
	case VerbApprove:
		return a.Kind != payrecon.ActionRecheck && (a.State == payrecon.ActionProposed || a.State == payrecon.ActionFailed)
	case VerbDismiss:
		return a.State == payrecon.ActionProposed || a.State == payrecon.ActionApproved || a.State == payrecon.ActionFailed
	case VerbApply:
		return Applicable(a.Kind) && slices.Contains(applyFrom(a), a.State)
	}
	return false
}

// Select returns the actions sel selects that verb can act on, ordered by
// id.
func (s *Actions) Select(ctx context.Context, verb Verb, sel Selection) ([]payrecon.Action, error) {
	list, err := s.store.ListActions(ctx, sel.ActionFilter)
	if err != nil {
		return nil, fmt.Errorf("select actions: %w", err)
	}
	out := list[:0]
	for _, a := range list {
		if len(sel.Classes) > 0 && !slices.Contains(sel.Classes, a.Item.Class) {
			continue
		}
		if Eligible(verb, a) {
			out = append(out, a)
		}
	}
	return out, nil
}

// BulkTotals sums a selection for a dry run or a confirmation: the count,
// the absolute differences, and how many (and how much) would move money
// at the provider.
type BulkTotals struct {
	Count       int
	Amount      int64 // sum of |Delta|
	MoneyCount  int
	MoneyAmount int64 // sum of |Delta| of money-moving kinds
}

// Totals sums list.
func Totals(list []payrecon.Action) BulkTotals {
	var t BulkTotals
	for _, a := range list {
		d := abs(a.Item.Delta)
		t.Count++
		t.Amount += d
		if a.Kind.MovesMoney() {
			t.MoneyCount++
			t.MoneyAmount += d
		}
	}
	return t
}
