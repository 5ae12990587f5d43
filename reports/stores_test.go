package reports_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// fakeStore is a hand-written RunStore and ActionStore over the fixture,
// recording the filters it was asked for.
type fakeStore struct {
	fx          *fixture
	gotAccounts []string
	gotFilter   payrecon.ActionFilter
	itemCalls   int
}

func (s *fakeStore) LockRun(context.Context, string, payrecon.Day, string, time.Duration) (func() error, error) {
	panic("not used by reports")
}
func (s *fakeStore) SaveRun(context.Context, *payrecon.Run, []payrecon.Item, []payrecon.Action) error {
	panic("not used by reports")
}
func (s *fakeStore) FailRun(context.Context, *payrecon.Run) error { panic("not used by reports") }
func (s *fakeStore) OpenCarryOvers(context.Context, string, payrecon.Day) ([]payrecon.Item, error) {
	panic("not used by reports")
}

func (s *fakeStore) LatestRuns(_ context.Context, accounts []string, from, to payrecon.Day) ([]payrecon.Run, error) {
	s.gotAccounts = accounts
	var out []payrecon.Run
	for _, r := range s.fx.runs {
		if r.Day >= from && r.Day <= to && (len(accounts) == 0 || slices.Contains(accounts, r.Account)) {
			out = append(out, r)
		}
	}
	return out, nil
}

func (s *fakeStore) RunItems(ctx context.Context, runID int64, fn func(payrecon.Item) error) error {
	s.itemCalls++
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.fx.source().Items(runID, fn)
}

func (s *fakeStore) ListActions(_ context.Context, f payrecon.ActionFilter) ([]payrecon.Action, error) {
	s.gotFilter = f
	var out []payrecon.Action
	for _, a := range s.fx.actions {
		if f.Account == "" || a.Account == f.Account {
			out = append(out, a)
		}
	}
	return out, nil
}

func (s *fakeStore) GetAction(context.Context, int64) (payrecon.Action, error) {
	panic("not used by reports")
}
func (s *fakeStore) TransitionAction(context.Context, int64, []payrecon.ActionState, payrecon.ActionState, string, string) (payrecon.Action, error) {
	panic("not used by reports")
}
func (s *fakeStore) ActionAudit(_ context.Context, id int64) ([]payrecon.AuditEntry, error) {
	return s.fx.audit[id], nil
}

var (
	_ payrecon.RunStore    = (*fakeStore)(nil)
	_ payrecon.ActionStore = (*fakeStore)(nil)
)

func TestStoreSource(t *testing.T) {
	fx := newFixture()
	st := &fakeStore{fx: fx}
	ctx := context.Background()
	src, err := reports.StoreSource(ctx, st, st, []string{"ali_shop"}, day, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(src.Runs) != 1 || src.Runs[0].Account != "ali_shop" || st.gotFilter.Account != "ali_shop" || st.gotFilter.From != day {
		t.Fatalf("runs %v, filter %+v", src.Runs, st.gotFilter)
	}
	if len(src.Actions) != 1 || src.Actions[0].ID != 103 {
		t.Fatalf("actions %v", src.Actions)
	}
	var buf bytes.Buffer
	if err := reports.WriteCSV(&buf, src, reports.Options{}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(buf.String(), "\nali_shop,"); n != len(fx.items[12]) || strings.Contains(buf.String(), "wx_main") || st.itemCalls != 1 {
		t.Errorf("%d ali_shop rows, %d item calls:\n%s", n, st.itemCalls, buf.String())
	}
	// Two accounts: all actions listed, filtered to the two.
	src, err = reports.StoreSource(ctx, st, st, []string{"wx_main", "ali_shop"}, day, day)
	if err != nil || len(src.Runs) != 2 || len(src.Actions) != 3 || st.gotFilter.Account != "" {
		t.Fatalf("two accounts: %v %d runs %d actions %+v", err, len(src.Runs), len(src.Actions), st.gotFilter)
	}
	// A canceled context reaches the store through the item iterator.
	cctx, cancel := context.WithCancel(ctx)
	src, _ = reports.StoreSource(cctx, st, nil, nil, day, day)
	cancel()
	if err := reports.WriteJSON(&buf, src, reports.Options{}); err == nil {
		t.Error("canceled context did not stop the report")
	}
}
