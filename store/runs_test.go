package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

var runDay = payrecon.MustDay("2026-11-20")

func TestLockRunLease(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &fakeClock{t: time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC)}
		db.Now = clk.Now

		relA, err := db.LockRun(ctx, "acc", runDay, "A", time.Minute)
		storetest.Must(t, err)
		if _, err := db.LockRun(ctx, "acc", runDay, "B", time.Minute); !errors.Is(err, payrecon.ErrLocked) {
			t.Fatalf("B while A holds: want ErrLocked, got %v", err)
		}
		// Another day and another account are independent.
		rel2, err := db.LockRun(ctx, "acc", runDay.Add(1), "B", time.Minute)
		storetest.Must(t, err)
		storetest.Must(t, rel2())
		rel3, err := db.LockRun(ctx, "other", runDay, "B", time.Minute)
		storetest.Must(t, err)
		storetest.Must(t, rel3())

		// A renews (same owner, same clock: nothing changes, still A's).
		if _, err := db.LockRun(ctx, "acc", runDay, "A", time.Minute); err != nil {
			t.Fatalf("renewal by the holder: %v", err)
		}
		clk.Advance(50 * time.Second)
		if _, err := db.LockRun(ctx, "acc", runDay, "A", time.Minute); err != nil {
			t.Fatalf("renewal by the holder: %v", err)
		}
		clk.Advance(50 * time.Second) // 100 s after the first lock, 50 s after the renewal
		if _, err := db.LockRun(ctx, "acc", runDay, "B", time.Minute); !errors.Is(err, payrecon.ErrLocked) {
			t.Fatalf("B before the renewed lease expired: want ErrLocked, got %v", err)
		}
		// A crashes: its lease expires and B takes over.
		clk.Advance(11 * time.Second)
		relB, err := db.LockRun(ctx, "acc", runDay, "B", time.Minute)
		if err != nil {
			t.Fatalf("B after A's lease expired: %v", err)
		}
		// A's late release must not free B's lease.
		storetest.Must(t, relA())
		if _, err := db.LockRun(ctx, "acc", runDay, "C", time.Minute); !errors.Is(err, payrecon.ErrLocked) {
			t.Fatalf("C after A's stale release: want ErrLocked, got %v", err)
		}
		storetest.Must(t, relB())
		relC, err := db.LockRun(ctx, "acc", runDay, "C", time.Minute)
		if err != nil {
			t.Fatalf("C after B released: %v", err)
		}
		storetest.Must(t, relC())
	})
}

// TestLockRunTwoPools contends for one (account, day) lease from two
// independent connection pools (as two processes would) and checks that
// at most one holder exists at any time while both get their turns.
func TestLockRunTwoPools(t *testing.T) {
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			driver, dsn := storetest.DSN(t, dialect)
			ctx := context.Background()
			var dbs []*store.DB
			for i := 0; i < 2; i++ {
				db, err := store.Open(ctx, driver, dsn, storetest.Logger(t))
				storetest.Must(t, err)
				t.Cleanup(func() { _ = db.Close() })
				storetest.Must(t, db.Migrate(ctx))
				dbs = append(dbs, db)
			}
			var (
				holders  atomic.Int32
				maxSeen  atomic.Int32
				got      [2]atomic.Int32
				wg       sync.WaitGroup
				deadline = time.Now().Add(1500 * time.Millisecond)
			)
			for p := 0; p < 2; p++ {
				for w := 0; w < 3; w++ {
					wg.Add(1)
					go func() {
						defer wg.Done()
						owner := fmt.Sprintf("proc%d-worker%d", p, w)
						for time.Now().Before(deadline) {
							rel, err := dbs[p].LockRun(ctx, "acc", runDay, owner, 30*time.Second)
							if errors.Is(err, payrecon.ErrLocked) {
								time.Sleep(time.Millisecond)
								continue
							}
							if err != nil {
								t.Errorf("%s: %v", owner, err)
								return
							}
							n := holders.Add(1)
							for {
								m := maxSeen.Load()
								if n <= m || maxSeen.CompareAndSwap(m, n) {
									break
								}
							}
							got[p].Add(1)
							time.Sleep(3 * time.Millisecond)
							holders.Add(-1)
							if err := rel(); err != nil {
								t.Errorf("%s release: %v", owner, err)
								return
							}
						}
					}()
				}
			}
			wg.Wait()
			if maxSeen.Load() != 1 {
				t.Errorf("at most one holder at a time: saw %d", maxSeen.Load())
			}
			if got[0].Load() == 0 || got[1].Load() == 0 {
				t.Errorf("both pools should have held the lease: %d and %d", got[0].Load(), got[1].Load())
			}
			t.Logf("%s: acquisitions %d + %d", dialect, got[0].Load(), got[1].Load())
		})
	}
}

func TestSaveRunAndCarryOvers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		d0, d1, d2 := runDay, runDay.Add(1), runDay.Add(2)
		carried := payrecon.Item{Account: "acc", Day: d0, Class: payrecon.ClassCarriedOver, Kind: payrecon.KindPayment,
			MerchantOrderNo: "O1", ProviderTxnNo: "T1", LedgerAmount: 500, Delta: -500, LedgerStatus: payrecon.StatusSuccess,
			LedgerTime: time.Date(2026, 11, 20, 15, 59, 50, 123456000, time.UTC), OriginDay: d0, Note: "cut-off", Action: payrecon.ActionRecheck}
		missing := payrecon.Item{Account: "acc", Day: d0, Class: payrecon.ClassMissingInLedger, Kind: payrecon.KindPayment,
			MerchantOrderNo: "O2", ProviderTxnNo: "T2", BillAmount: 700, Delta: 700, ProviderStatus: payrecon.StatusSuccess,
			BillTime: time.Date(2026, 11, 20, 3, 0, 0, 0, time.UTC), Product: "商品", Action: payrecon.ActionBackfillLedger}
		run0 := &payrecon.Run{Account: "acc", Provider: "fake", Day: d0, State: payrecon.RunFindings,
			StartedAt: time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC), FinishedAt: time.Date(2026, 11, 21, 2, 31, 0, 0, time.UTC),
			Totals:  payrecon.Totals{BillTotal: 700, LedgerTotal: 500, Difference: 200, Explained: 200, ByClass: map[payrecon.Class]payrecon.ClassTotal{payrecon.ClassCarriedOver: {Count: 1, Amount: -500}}},
			Bills:   []payrecon.BillFile{{Account: "acc", Day: d0, Kind: payrecon.BillTrade, Name: "b.csv", Lines: 1}},
			Version: "v1"}
		act := payrecon.Action{DiscrepancyKey: missing.Key(), Account: "acc", Day: d0, Kind: payrecon.ActionBackfillLedger,
			State: payrecon.ActionProposed, Item: missing, CreatedAt: run0.FinishedAt, UpdatedAt: run0.FinishedAt}
		storetest.Must(t, db.SaveRun(ctx, run0, []payrecon.Item{carried, missing}, []payrecon.Action{act}))
		if run0.ID == 0 {
			t.Fatal("run id not set")
		}
		got, err := db.GetRun(ctx, run0.ID)
		storetest.Must(t, err)
		if got.Totals.Difference != 200 || got.Totals.ByClass[payrecon.ClassCarriedOver].Amount != -500 || len(got.Bills) != 1 ||
			!got.StartedAt.Equal(run0.StartedAt) || got.Version != "v1" || got.State != payrecon.RunFindings {
			t.Errorf("run round trip: %+v", got)
		}
		var items []payrecon.Item
		storetest.Must(t, db.RunItems(ctx, run0.ID, func(it payrecon.Item) error { items = append(items, it); return nil }))
		if len(items) != 2 || items[0].Key() != carried.Key() || !items[0].LedgerTime.Equal(carried.LedgerTime) ||
			items[1].Product != "商品" || items[1].Delta != 700 || items[0].OriginDay != d0 {
			t.Errorf("items round trip: %+v", items)
		}

		// Open on d1 and d2 while nothing resolves it.
		open, err := db.OpenCarryOvers(ctx, "acc", d1)
		storetest.Must(t, err)
		if len(open) != 1 || open[0].Key() != carried.Key() {
			t.Fatalf("open carry-overs on %s: %+v", d1, open)
		}
		if open, _ := db.OpenCarryOvers(ctx, "acc", d0); len(open) != 0 {
			t.Errorf("a day's own carry-overs are not open for itself: %+v", open)
		}
		// d1 resolves it late.
		late := payrecon.Item{Account: "acc", Day: d1, Class: payrecon.ClassResolvedLate, Kind: payrecon.KindPayment,
			MerchantOrderNo: "O1", ProviderTxnNo: "T1", BillAmount: 500, Delta: 500, OriginDay: d0, ResolvesKey: carried.Key()}
		run1 := &payrecon.Run{Account: "acc", Provider: "fake", Day: d1, State: payrecon.RunClean}
		storetest.Must(t, db.SaveRun(ctx, run1, []payrecon.Item{late}, nil))
		if open, _ := db.OpenCarryOvers(ctx, "acc", d2); len(open) != 0 {
			t.Errorf("resolved carry-over still open on %s: %+v", d2, open)
		}
		// Re-running d1 must still see it (the old d1 run's resolution is not counted for d1 itself).
		if open, _ := db.OpenCarryOvers(ctx, "acc", d1); len(open) != 1 {
			t.Errorf("carry-over not open for a re-run of %s: %+v", d1, open)
		}

		// A re-run of d0 supersedes the first; the action is not proposed twice.
		run0b := &payrecon.Run{Account: "acc", Provider: "fake", Day: d0, State: payrecon.RunFindings}
		storetest.Must(t, db.SaveRun(ctx, run0b, []payrecon.Item{carried, missing}, []payrecon.Action{act}))
		acts, err := db.ListActions(ctx, payrecon.ActionFilter{Account: "acc"})
		storetest.Must(t, err)
		if len(acts) != 1 {
			t.Errorf("actions after re-run: %d", len(acts))
		}
		audit, err := db.ActionAudit(ctx, acts[0].ID)
		storetest.Must(t, err)
		if len(audit) != 1 || audit[0].Step != "proposed" {
			t.Errorf("audit: %+v", audit)
		}
		// A failed run does not hide the good one.
		failed := &payrecon.Run{Account: "acc", Provider: "fake", Day: d0, State: payrecon.RunFailed, Error: "boom"}
		storetest.Must(t, db.FailRun(ctx, failed))
		latest, err := db.LatestRuns(ctx, nil, d0, d1)
		storetest.Must(t, err)
		if len(latest) != 2 || latest[0].ID != run0b.ID || latest[1].ID != run1.ID {
			t.Errorf("latest: %+v", latest)
		}
		hist, err := db.RunHistory(ctx, "acc", d0)
		storetest.Must(t, err)
		if len(hist) != 3 || hist[0].State != payrecon.RunSuperseded || hist[2].State != payrecon.RunFailed || hist[2].Error != "boom" {
			t.Errorf("history: %+v", hist)
		}
		// Still one carry-over open for d2? No: d1 resolved it, and the d0 re-run's copy has the same key.
		if open, _ := db.OpenCarryOvers(ctx, "acc", d2); len(open) != 0 {
			t.Errorf("after d0 re-run, open on %s: %+v", d2, open)
		}
		d, err := db.GetDiscrepancy(ctx, missing.Key())
		storetest.Must(t, err)
		if d.LastRunID != run0b.ID || d.ReviewState != store.ReviewNew || d.FirstSeenDay != d0 {
			t.Errorf("discrepancy: %+v", d)
		}
		if err := db.SetReview(ctx, "nope", store.ReviewResolved, "bob", ""); !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("review of an unknown key: %v", err)
		}
	})
}

// ScanLedger streams the same entries as LedgerEntries, in time order.
func TestScanLedgerMatchesLedgerEntries(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		day := runDay
		// Inserted out of time order; one outside the day, one of another account.
		for i, h := range []int{20, 3, 11, 3, 30, -2} {
			acc := "acc"
			if i == 4 {
				acc = "other"
			}
			e := payrecon.LedgerEntry{Account: acc, Provider: "fake", EventKey: fmt.Sprintf("payment:T%d:success", i),
				Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, MerchantOrderNo: fmt.Sprintf("O%d", i), ProviderTxnNo: fmt.Sprintf("T%d", i),
				Amount: int64(100 * (i + 1)), PayerAmount: int64(90 * (i + 1)), PromotionAmount: int64(10 * (i + 1)),
				OccurredAt: day.Start().Add(time.Duration(h) * time.Hour)}
			if i == 2 {
				e.Kind, e.Status, e.MerchantRefundNo, e.ProviderRefundNo = payrecon.KindRefund, payrecon.StatusFailed, "MR2", "RF2"
			}
			_, err := db.AddLedgerEntry(ctx, e)
			storetest.Must(t, err)
		}
		want := map[int64]payrecon.LedgerEntry{}
		storetest.Must(t, db.LedgerEntries(ctx, "acc", day.Start(), day.End(), func(e payrecon.LedgerEntry) error { want[e.ID] = e; return nil }))
		var last time.Time
		n := 0
		storetest.Must(t, db.ScanLedger(ctx, "acc", day.Start(), day.End(), func(r *payrecon.LedgerRow) error {
			n++
			e, ok := want[r.ID]
			if !ok {
				t.Errorf("scan gave entry %d that LedgerEntries did not", r.ID)
				return nil
			}
			keysOK := string(r.MerchantOrderNo) == e.MerchantOrderNo && string(r.ProviderTxnNo) == e.ProviderTxnNo && len(r.ProviderRefundNo) == 0
			if e.Kind == payrecon.KindRefund { // a refund row carries its refund numbers only
				keysOK = string(r.MerchantRefundNo) == e.MerchantRefundNo && string(r.ProviderRefundNo) == e.ProviderRefundNo && len(r.ProviderTxnNo) == 0
			}
			if string(r.Kind) != string(e.Kind) || string(r.Status) != string(e.Status) || !keysOK ||
				r.Amount != e.Amount || r.PayerAmount != e.PayerAmount || r.PromotionAmount != e.PromotionAmount {
				t.Errorf("row %d: %+v, entry %+v", r.ID, r, e)
			}
			if e.OccurredAt.Before(last) {
				t.Errorf("row %d out of time order", r.ID)
			}
			last = e.OccurredAt
			return nil
		}))
		if n != len(want) || n != 4 {
			t.Errorf("scanned %d rows, LedgerEntries gave %d, want 4", n, len(want))
		}
	})
}
