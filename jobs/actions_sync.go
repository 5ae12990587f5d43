package jobs

import (
	"context"
	"errors"
	"fmt"

	"github.com/payrecon/payrecon"
)

// ActorSync names the audit actor of a sync run by the scheduler or a run.
const ActorSync = "sync"

// SyncResult counts what Sync did.
type SyncResult struct {
	Checked   int // applied actions whose provider answer was queried
	Succeeded int
	Failed    int
	Pending   int // still not final at the provider
}

// Sync follows the applied money-moving actions f selects (state applied:
// the provider accepted the request but its answer was not final) by
// querying the provider (RefundQuerier for refunds, OrderQuerier for closed
// orders) and records a final answer: succeeded, or failed with the
// provider's words. A failed refund re-opens its discrepancy for review.
// One action's error is counted and the others go on; errors are joined.
func (s *Actions) Sync(ctx context.Context, f payrecon.ActionFilter, actor string) (SyncResult, error) {
	var res SyncResult
	f.States = []payrecon.ActionState{payrecon.ActionApplied}
	if len(f.Kinds) == 0 {
		f.Kinds = []payrecon.ActionKind{payrecon.ActionRefundDuplicate, payrecon.ActionCloseOrder, payrecon.ActionUnsign}
	}
	list, err := s.store.ListActions(ctx, f)
	if err != nil {
		return res, fmt.Errorf("sync actions: %w", err)
	}
	var errs []error
	for _, a := range list {
		if !a.Kind.MovesMoney() {
			continue
		}
		if err := ctx.Err(); err != nil {
			errs = append(errs, err)
			break
		}
		res.Checked++
		r, err := s.syncOne(ctx, a, actor)
		switch {
		case err != nil:
			errs = append(errs, err)
		case r.Action.State == payrecon.ActionSucceeded:
			res.Succeeded++
		case r.Action.State == payrecon.ActionFailed:
			res.Failed++
		default:
			res.Pending++
		}
	}
	if res.Checked > 0 {
		s.log.InfoContext(ctx, "actions synced", "checked", res.Checked, "succeeded", res.Succeeded, "failed", res.Failed, "pending", res.Pending)
	}
	return res, errors.Join(errs...)
}

// syncOne queries the provider for one applied action's outcome and
// records it when final. The returned result carries the action as it is
// afterwards; an answer still pending changes nothing.
func (s *Actions) syncOne(ctx context.Context, a payrecon.Action, actor string) (ApplyResult, error) {
	prov, ok := s.providers[a.Account]
	if !ok || prov == nil {
		return ApplyResult{Action: a}, fmt.Errorf("sync action %d: no provider configured for account %q", a.ID, a.Account)
	}
	var out outcome
	switch a.Kind {
	case payrecon.ActionRefundDuplicate:
		q, ok := prov.(payrecon.RefundQuerier)
		if !ok {
			return ApplyResult{Action: a}, fmt.Errorf("sync action %d: %s cannot query refunds: %w", a.ID, prov.ProviderName(), payrecon.ErrNotSupported)
		}
		r, err := q.QueryRefund(ctx, payrecon.RefundRef{MerchantRefundNo: a.IdempotencyKey, MerchantOrderNo: a.Item.MerchantOrderNo, ProviderTxnNo: a.Item.ProviderTxnNo})
		if err != nil {
			return ApplyResult{Action: a}, fmt.Errorf("sync action %d: query refund %s: %w", a.ID, a.IdempotencyKey, err)
		}
		words := statusText(r.Status, r.RawStatus)
		switch r.Status {
		case payrecon.StatusSuccess:
			out = outcome{final: true, msg: fmt.Sprintf("refund %s of %s succeeded at the provider: %s (provider refund no %s)", a.IdempotencyKey, payrecon.FormatYuan(r.Amount), words, r.ProviderRefundNo)}
			if !r.FinishedAt.IsZero() {
				out.msg += ", finished " + r.FinishedAt.In(payrecon.Shanghai).Format("2006-01-02 15:04:05")
			}
		case payrecon.StatusFailed, payrecon.StatusClosed:
			out = outcome{final: true, failed: true, msg: fmt.Sprintf("refund %s failed at the provider: %s (provider refund no %s); the duplicate payment is not refunded", a.IdempotencyKey, words, r.ProviderRefundNo)}
		default:
			out = outcome{msg: fmt.Sprintf("refund %s still %s at the provider", a.IdempotencyKey, words)}
		}
	case payrecon.ActionCloseOrder:
		e, err := s.ledgerEntry(ctx, a)
		if err != nil {
			return ApplyResult{Action: a}, fmt.Errorf("sync action %d: %w", a.ID, err)
		}
		st, raw, err := s.providerStatus(ctx, prov, a.Item)
		if err != nil {
			return ApplyResult{Action: a}, fmt.Errorf("sync action %d: %w", a.ID, err)
		}
		if out, err = s.closeOutcome(ctx, a, e, st, raw, actor); err != nil {
			return ApplyResult{Action: a}, fmt.Errorf("sync action %d: %w", a.ID, err)
		}
	default:
		// Unsign answers synchronously; an applied unsign (from before
		// outcomes were followed) is confirmed by a query.
		ag, err := s.queryAgreement(ctx, prov, a.Item)
		if err != nil && !errors.Is(err, payrecon.ErrNotFound) {
			return ApplyResult{Action: a}, fmt.Errorf("sync action %d: %w", a.ID, err)
		}
		if err != nil || ag.Status == payrecon.StatusUnsigned {
			out = outcome{final: true, msg: "agreement " + a.Item.AgreementNo + " terminated at the provider"}
		} else {
			out = outcome{msg: fmt.Sprintf("agreement %s still %s at the provider", a.Item.AgreementNo, statusText(ag.Status, ag.RawStatus))}
		}
	}
	if !out.final {
		return ApplyResult{Action: a, Message: out.msg}, nil
	}
	to, step := payrecon.ActionSucceeded, "succeeded"
	if out.failed {
		to, step = payrecon.ActionFailed, "failed"
	}
	rec, err := s.store.ChangeAction(ctx, a.ID, payrecon.ActionChange{
		From: []payrecon.ActionState{payrecon.ActionApplied}, To: to, Actor: actor, Step: step,
		Detail: "provider outcome: " + out.msg, Result: out.msg,
		// A money movement the provider failed is not retried on the
		// approval it used: another attempt moves money again.
		SpendApproval: out.failed && a.Kind.MovesMoney(),
	})
	if errors.Is(err, payrecon.ErrInvalidState) {
		cur, gerr := s.store.GetAction(ctx, a.ID)
		if gerr == nil {
			return ApplyResult{Action: cur, Message: cur.Result}, nil // recorded by someone else meanwhile
		}
	}
	if err != nil {
		return ApplyResult{Action: a}, fmt.Errorf("sync action %d: record outcome: %w", a.ID, err)
	}
	if out.failed {
		s.reopen(ctx, rec, out.msg)
	}
	s.log.InfoContext(ctx, "action outcome", "id", a.ID, "kind", a.Kind, "account", a.Account, "state", to, "result", out.msg)
	return ApplyResult{Action: rec, Message: out.msg}, nil
}

// reviewChanger is the store's review side (optional): a provider-failed
// action re-opens its discrepancy, so that it surfaces again for review.
type reviewChanger interface {
	ChangeReview(ctx context.Context, key string, c payrecon.ReviewChange) (payrecon.Review, bool, error)
}

func (s *Actions) reopen(ctx context.Context, a payrecon.Action, why string) {
	r, ok := s.store.(reviewChanger)
	if !ok {
		return
	}
	st := payrecon.ReviewOpen
	note := fmt.Sprintf("action %d failed at the provider: %s", a.ID, why)
	_, _, err := r.ChangeReview(ctx, a.DiscrepancyKey, payrecon.ReviewChange{State: &st, Note: &note, Comment: note,
		Actor: ActorSync, Source: payrecon.SourceRun, IfVersion: -1})
	if err != nil && !errors.Is(err, payrecon.ErrNotFound) {
		s.log.WarnContext(ctx, "re-open discrepancy", "id", a.ID, "key", a.DiscrepancyKey, "err", err)
	}
}
