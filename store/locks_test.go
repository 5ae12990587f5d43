package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

func TestReleaseLockAndAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		clk := &fakeClock{t: time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC)}
		db.Now = clk.Now

		if _, err := db.LockRun(ctx, "acc", runDay, "host:1:dead", time.Minute); err != nil {
			t.Fatal(err)
		}
		_, err := db.LockRun(ctx, "acc", runDay, "B", time.Minute)
		var held *payrecon.LockHeldError
		if !errors.As(err, &held) || !errors.Is(err, payrecon.ErrLocked) || held.Owner != "host:1:dead" || !held.Expires.Equal(clk.Now().Add(time.Minute)) {
			t.Fatalf("want LockHeldError naming host:1:dead, got %v", err)
		}
		locks, err := db.ListLocks(ctx)
		storetest.Must(t, err)
		if len(locks) != 1 || locks[0].Owner != "host:1:dead" || !locks[0].Live(clk.Now()) {
			t.Fatalf("locks: %+v", locks)
		}
		if _, err := db.ReleaseLock(ctx, "acc", runDay, "", "x"); err == nil {
			t.Error("release without an actor succeeded")
		}
		clk.Advance(5 * time.Second)
		got, err := db.ReleaseLock(ctx, "acc", runDay, "alice", "process killed by the OOM killer")
		storetest.Must(t, err)
		if got.Owner != "host:1:dead" {
			t.Errorf("released %+v", got)
		}
		if _, err := db.ReleaseLock(ctx, "acc", runDay, "alice", "again"); !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("second release: want ErrNotFound, got %v", err)
		}
		// B gets it at once, no wait for the TTL.
		relB, err := db.LockRun(ctx, "acc", runDay, "B", time.Minute)
		storetest.Must(t, err)
		// B dies; C takes the expired lease over: audited as a takeover.
		clk.Advance(61 * time.Second)
		relC, err := db.LockRun(ctx, "acc", runDay, "C", time.Minute)
		storetest.Must(t, err)
		storetest.Must(t, relB()) // B's late release does not free C's lease
		if _, err := db.LockRun(ctx, "acc", runDay, "D", time.Minute); !errors.Is(err, payrecon.ErrLocked) {
			t.Fatalf("D after B's stale release: want ErrLocked, got %v", err)
		}
		storetest.Must(t, relC())

		audit, err := db.LockAudit(ctx, "acc")
		storetest.Must(t, err)
		if len(audit) != 2 {
			t.Fatalf("audit: %+v", audit)
		}
		r, tk := audit[0], audit[1]
		if r.Step != store.LockStepRelease || r.Actor != "alice" || r.Owner != "host:1:dead" || r.Detail != "process killed by the OOM killer" ||
			!r.At.Equal(time.Date(2026, 11, 21, 2, 30, 5, 0, time.UTC)) || !r.ExpiresAt.Equal(time.Date(2026, 11, 21, 2, 31, 0, 0, time.UTC)) || r.Day != runDay {
			t.Errorf("release audit: %+v", r)
		}
		if tk.Step != store.LockStepTakeover || tk.Actor != "C" || tk.Owner != "B" {
			t.Errorf("takeover audit: %+v", tk)
		}
		if other, err := db.LockAudit(ctx, "other"); err != nil || len(other) != 0 {
			t.Errorf("audit of another account: %v %+v", err, other)
		}
	})
}

func TestRunAttemptsInLatestRuns(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC)
		day2 := runDay.Add(1)
		// runDay: a run, then a refused attempt after it. day2: only an attempt.
		run := payrecon.Run{Account: "acc", Provider: "fake", Day: runDay, State: payrecon.RunClean, StartedAt: t0, FinishedAt: t0.Add(time.Second)}
		storetest.Must(t, db.SaveRun(ctx, &run, nil, nil))
		refused := payrecon.RunAttempt{Account: "acc", Day: runDay, At: t0.Add(time.Hour), Outcome: payrecon.AttemptRefused,
			Owner: "h:2:b", Holder: "h:1:a", HolderExpires: t0.Add(time.Hour + time.Minute), Reason: "held by h:1:a"}
		storetest.Must(t, db.RecordAttempt(ctx, &refused))
		notReady := payrecon.RunAttempt{Account: "acc", Day: day2, At: t0.Add(2 * time.Hour), Outcome: payrecon.AttemptNotReady, Owner: "h:2:c", Reason: "bill not ready"}
		storetest.Must(t, db.RecordAttempt(ctx, &notReady))
		if err := db.RecordAttempt(ctx, &payrecon.RunAttempt{Account: "acc", Day: day2, Outcome: "maybe"}); err == nil {
			t.Error("unknown outcome accepted")
		}

		runs, err := db.LatestRuns(ctx, nil, runDay, day2)
		storetest.Must(t, err)
		if len(runs) != 2 {
			t.Fatalf("runs: %+v", runs)
		}
		if runs[0].ID != run.ID || runs[0].LastAttempt.Outcome != payrecon.AttemptRefused || runs[0].LastAttempt.Holder != "h:1:a" ||
			!runs[0].LastAttempt.HolderExpires.Equal(refused.HolderExpires) || runs[0].LastAttempt.Reason != "held by h:1:a" {
			t.Errorf("run with a later refused attempt: %+v", runs[0])
		}
		if runs[1].ID != 0 || runs[1].Day != day2 || runs[1].State != payrecon.RunNotReady || runs[1].LastAttempt.ID != notReady.ID {
			t.Errorf("day with only an attempt: %+v", runs[1])
		}
		// A later run hides the earlier attempt.
		run2 := payrecon.Run{Account: "acc", Provider: "fake", Day: runDay, State: payrecon.RunClean, StartedAt: t0.Add(3 * time.Hour), FinishedAt: t0.Add(3 * time.Hour)}
		storetest.Must(t, db.SaveRun(ctx, &run2, nil, nil))
		runs, err = db.LatestRuns(ctx, []string{"acc"}, runDay, runDay)
		storetest.Must(t, err)
		if len(runs) != 1 || runs[0].ID != run2.ID || !runs[0].LastAttempt.At.IsZero() {
			t.Errorf("after a new run: %+v", runs)
		}
		if runs, err := db.LatestRuns(ctx, []string{"other"}, runDay, day2); err != nil || len(runs) != 0 {
			t.Errorf("other account: %v %+v", err, runs)
		}
		all, err := db.RunAttempts(ctx, "acc", runDay)
		storetest.Must(t, err)
		if len(all) != 1 || all[0].Owner != "h:2:b" {
			t.Errorf("attempts: %+v", all)
		}
	})
}
