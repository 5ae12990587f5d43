package reports

import (
	"context"
	"fmt"
	"slices"

	"github.com/payrecon/payrecon"
)

// StoreSource builds a Source over the domain's store interfaces (any
// RunStore and ActionStore, SQLite or MySQL alike): the latest run of each
// account and day in [from, to] (accounts empty means all), their items
// streamed from the store while the report is written, the actions of those
// accounts and days, and each action's audit trail. ctx bounds every store
// call made later through the Source. acts may be nil (no actions sheet rows).
func StoreSource(ctx context.Context, runs payrecon.RunStore, acts payrecon.ActionStore, accounts []string, from, to payrecon.Day) (Source, error) {
	latest, err := runs.LatestRuns(ctx, accounts, from, to)
	if err != nil {
		return Source{}, fmt.Errorf("report runs %s..%s: %w", from, to, err)
	}
	src := Source{
		Runs: latest,
		Items: func(runID int64, fn func(payrecon.Item) error) error {
			return runs.RunItems(ctx, runID, fn)
		},
	}
	if acts == nil || len(latest) == 0 {
		return src, nil
	}
	f := payrecon.ActionFilter{From: from, To: to}
	if len(accounts) == 1 {
		f.Account = accounts[0]
	}
	all, err := acts.ListActions(ctx, f)
	if err != nil {
		return Source{}, fmt.Errorf("report actions %s..%s: %w", from, to, err)
	}
	for _, a := range all {
		if len(accounts) == 0 || slices.Contains(accounts, a.Account) {
			src.Actions = append(src.Actions, a)
		}
	}
	src.Audit = func(id int64) ([]payrecon.AuditEntry, error) {
		return acts.ActionAudit(ctx, id)
	}
	return src, nil
}

// ReviewStore is what the workbook's review columns and the ageing need
// from the store.
type ReviewStore interface {
	RunItemsReviewed(ctx context.Context, runID int64, fn func(payrecon.Item, payrecon.Review) error) error
	ReviewKey(ctx context.Context) ([]byte, error)
	ListReviews(ctx context.Context, f payrecon.ReviewFilter) ([]payrecon.Review, error)
}

// WithReviews adds the review state to a Source: each run's reviews, the
// checksum key, the write-off reason codes for the drop-down, and the
// pending (open, investigating) discrepancies of the source's accounts
// first seen by its last day, aged at that day. accounts empty means all.
func WithReviews(ctx context.Context, src Source, rs ReviewStore, accounts []string, reasonCodes []string) (Source, error) {
	key, err := rs.ReviewKey(ctx)
	if err != nil {
		return Source{}, fmt.Errorf("report reviews: %w", err)
	}
	src.ReviewKey, src.ReasonCodes = key, reasonCodes
	src.ReviewedItems = func(runID int64, fn func(payrecon.Item, payrecon.Review) error) error {
		return rs.RunItemsReviewed(ctx, runID, fn)
	}
	src.AsOf = ""
	for _, r := range src.Runs {
		src.AsOf = max(src.AsOf, r.Day)
	}
	if src.AsOf == "" {
		return src, nil
	}
	f := payrecon.ReviewFilter{States: []payrecon.ReviewState{payrecon.ReviewOpen, payrecon.ReviewInvestigating}}
	if len(accounts) == 1 {
		f.Account = accounts[0]
	}
	pending, err := rs.ListReviews(ctx, f)
	if err != nil {
		return Source{}, fmt.Errorf("report pending reviews: %w", err)
	}
	src.Pending = src.Pending[:0]
	for _, r := range pending {
		if r.FirstSeenDay <= src.AsOf && (len(accounts) == 0 || slices.Contains(accounts, r.Account)) {
			src.Pending = append(src.Pending, r)
		}
	}
	return src, nil
}
