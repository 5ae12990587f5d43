package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func actionItem(account, txn string) payrecon.Item {
	return payrecon.Item{
		Account: account, Day: payrecon.MustDay("2026-11-20"), Class: payrecon.ClassDuplicatePayment,
		Kind: payrecon.KindPayment, MerchantOrderNo: "M-" + txn, ProviderTxnNo: txn,
		BillAmount: 1234, Delta: 1234, ProviderStatus: payrecon.StatusSuccess,
		BillTime: time.Date(2026, 11, 20, 3, 4, 5, 123456000, time.UTC), Note: "两笔支付 <x>",
		Action: payrecon.ActionRefundDuplicate,
	}
}

func mustPropose(t *testing.T, db *store.DB, it payrecon.Item, kind payrecon.ActionKind) payrecon.Action {
	t.Helper()
	a, created, err := db.ProposeAction(context.Background(), payrecon.Action{Item: it, Kind: kind}, "test", "planted")
	storetest.Must(t, err)
	if !created {
		t.Fatalf("action %s %s: not created", kind, it.ProviderTxnNo)
	}
	return a
}

func TestProposeAndGetAction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		it := actionItem("hw1", "4200000001")
		a := mustPropose(t, db, it, payrecon.ActionRefundDuplicate)
		if a.ID == 0 || a.State != payrecon.ActionProposed || a.DiscrepancyKey != it.Key() || a.Account != "hw1" || a.Day != it.Day {
			t.Fatalf("proposed action = %+v", a)
		}
		got, err := db.GetAction(ctx, a.ID)
		storetest.Must(t, err)
		if !got.Item.BillTime.Equal(it.BillTime) || got.Item.Note != it.Note || got.Item.BillAmount != it.BillAmount || got.Item.Key() != it.Key() {
			t.Errorf("item round trip: got %+v want %+v", got.Item, it)
		}
		if got.CreatedAt.IsZero() || got.UpdatedAt.IsZero() {
			t.Errorf("times not stored: %+v", got)
		}
		// Proposing the same (discrepancy, kind) again writes nothing.
		again, created, err := db.ProposeAction(ctx, payrecon.Action{Item: it, Kind: payrecon.ActionRefundDuplicate}, "test", "again")
		storetest.Must(t, err)
		if created || again.ID != a.ID {
			t.Errorf("second propose: created=%v id=%d, want existing %d", created, again.ID, a.ID)
		}
		audit, err := db.ActionAudit(ctx, a.ID)
		storetest.Must(t, err)
		if len(audit) != 1 || audit[0].Step != "proposed" || audit[0].Actor != "test" {
			t.Errorf("audit = %+v, want one proposed row", audit)
		}
		if _, err := db.GetAction(ctx, a.ID+1000); !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("get absent action: err = %v, want ErrNotFound", err)
		}
	})
}

func TestTransitionAction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := mustPropose(t, db, actionItem("hw1", "4200000002"), payrecon.ActionRefundDuplicate)

		// Not in a from state: nothing written.
		_, err := db.TransitionAction(ctx, a.ID, []payrecon.ActionState{payrecon.ActionApproved}, payrecon.ActionApplied, "alice", "too early")
		if !errors.Is(err, payrecon.ErrInvalidState) {
			t.Fatalf("apply from proposed: err = %v, want ErrInvalidState", err)
		}
		if got, _ := db.GetAction(ctx, a.ID); got.State != payrecon.ActionProposed || got.Result != "" {
			t.Errorf("after refused transition: %+v", got)
		}
		if audit, _ := db.ActionAudit(ctx, a.ID); len(audit) != 1 {
			t.Errorf("refused transition wrote audit rows: %+v", audit)
		}
		if _, err := db.TransitionAction(ctx, a.ID+1000, []payrecon.ActionState{payrecon.ActionProposed}, payrecon.ActionApproved, "alice", "x"); !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("transition absent: err = %v, want ErrNotFound", err)
		}

		ap, err := db.TransitionAction(ctx, a.ID, []payrecon.ActionState{payrecon.ActionProposed}, payrecon.ActionApproved, "alice", "checked the bank statement")
		storetest.Must(t, err)
		if ap.State != payrecon.ActionApproved || ap.ApprovedBy != "alice" || ap.Reason != "checked the bank statement" {
			t.Errorf("approved = %+v", ap)
		}
		ch, err := db.ChangeAction(ctx, a.ID, payrecon.ActionChange{
			From: []payrecon.ActionState{payrecon.ActionApproved}, To: payrecon.ActionApproved,
			Actor: "bob", Step: "applying", Detail: "refund RD1", IdempotencyKey: "RD1",
		})
		storetest.Must(t, err)
		if ch.State != payrecon.ActionApproved || ch.IdempotencyKey != "RD1" || ch.ApprovedBy != "alice" {
			t.Errorf("after applying step = %+v", ch)
		}
		done, err := db.TransitionAction(ctx, a.ID, []payrecon.ActionState{payrecon.ActionApproved}, payrecon.ActionApplied, "bob", "refunded")
		storetest.Must(t, err)
		if done.State != payrecon.ActionApplied || done.Result != "refunded" || done.IdempotencyKey != "RD1" {
			t.Errorf("applied = %+v", done)
		}
		audit, err := db.ActionAudit(ctx, a.ID)
		storetest.Must(t, err)
		var steps []string
		for _, e := range audit {
			steps = append(steps, e.Step+"/"+e.Actor)
			if e.At.IsZero() || e.ActionID != a.ID {
				t.Errorf("audit row %+v", e)
			}
		}
		want := []string{"proposed/test", "approved/alice", "applying/bob", "applied/bob"}
		if len(steps) != len(want) {
			t.Fatalf("audit steps = %v, want %v", steps, want)
		}
		for i := range want {
			if steps[i] != want[i] {
				t.Errorf("audit steps = %v, want %v", steps, want)
				break
			}
		}
	})
}

// Two operators racing to apply the same approved action: exactly one wins.
func TestTransitionActionRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		a := mustPropose(t, db, actionItem("hw1", "4200000003"), payrecon.ActionRefundDuplicate)
		_, err := db.TransitionAction(ctx, a.ID, []payrecon.ActionState{payrecon.ActionProposed}, payrecon.ActionApproved, "alice", "ok")
		storetest.Must(t, err)
		const n = 6
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, errs[i] = db.TransitionAction(ctx, a.ID, []payrecon.ActionState{payrecon.ActionApproved}, payrecon.ActionApplied, "op", "applied")
			}()
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, payrecon.ErrInvalidState):
				t.Errorf("racing transition: unexpected error %v", err)
			}
		}
		if won != 1 {
			t.Errorf("%d of %d racing transitions won, want exactly 1", won, n)
		}
		audit, err := db.ActionAudit(ctx, a.ID)
		storetest.Must(t, err)
		applied := 0
		for _, e := range audit {
			if e.Step == "applied" {
				applied++
			}
		}
		if applied != 1 {
			t.Errorf("%d applied audit rows, want 1", applied)
		}
	})
}

func TestListActions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		mk := func(account, day, txn string, kind payrecon.ActionKind) payrecon.Action {
			it := actionItem(account, txn)
			it.Day = payrecon.MustDay(day)
			return mustPropose(t, db, it, kind)
		}
		a1 := mk("hw1", "2026-11-19", "1", payrecon.ActionRefundDuplicate)
		a2 := mk("hw1", "2026-11-20", "2", payrecon.ActionBackfillLedger)
		a3 := mk("wx1", "2026-11-20", "3", payrecon.ActionBackfillLedger)
		a4 := mk("hw1", "2026-11-21", "4", payrecon.ActionCorrectStatus)
		_, err := db.TransitionAction(ctx, a2.ID, []payrecon.ActionState{payrecon.ActionProposed}, payrecon.ActionDismissed, "alice", "known")
		storetest.Must(t, err)

		ids := func(f payrecon.ActionFilter) []int64 {
			t.Helper()
			list, err := db.ListActions(ctx, f)
			storetest.Must(t, err)
			var out []int64
			for _, a := range list {
				out = append(out, a.ID)
			}
			return out
		}
		cases := []struct {
			name string
			f    payrecon.ActionFilter
			want []int64
		}{
			{"all", payrecon.ActionFilter{}, []int64{a1.ID, a2.ID, a3.ID, a4.ID}},
			{"account", payrecon.ActionFilter{Account: "hw1"}, []int64{a1.ID, a2.ID, a4.ID}},
			{"day range", payrecon.ActionFilter{From: "2026-11-20", To: "2026-11-20"}, []int64{a2.ID, a3.ID}},
			{"from", payrecon.ActionFilter{Account: "hw1", From: "2026-11-20"}, []int64{a2.ID, a4.ID}},
			{"states", payrecon.ActionFilter{States: []payrecon.ActionState{payrecon.ActionProposed}}, []int64{a1.ID, a3.ID, a4.ID}},
			{"kinds", payrecon.ActionFilter{Kinds: []payrecon.ActionKind{payrecon.ActionBackfillLedger, payrecon.ActionCorrectStatus}}, []int64{a2.ID, a3.ID, a4.ID}},
			{"none", payrecon.ActionFilter{Account: "nobody"}, nil},
		}
		for _, c := range cases {
			got := ids(c.f)
			if len(got) != len(c.want) {
				t.Errorf("%s: ids %v, want %v", c.name, got, c.want)
				continue
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("%s: ids %v, want %v", c.name, got, c.want)
					break
				}
			}
		}
	})
}
