package jobs_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/reports"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// leaseChildTTL is the child's run lease in TestKilledRunLeaseLapses:
// short, so the test does not wait long, yet renewed (every quarter) often
// enough to stay live while the child works.
const leaseChildTTL = 3 * time.Second

// TestLeaseHelperProcess is the child of TestKilledRunLeaseLapses: it
// starts a run of day D and blocks once the run holds its lease (the lease
// keeps being renewed) until it is killed.
func TestLeaseHelperProcess(t *testing.T) {
	if os.Getenv("PAYRECON_LEASE_CHILD_DSN") == "" {
		t.Skip("helper process for TestKilledRunLeaseLapses")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv("PAYRECON_LEASE_CHILD_DRIVER"), os.Getenv("PAYRECON_LEASE_CHILD_DSN"), nil)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	p := jobstest.NewPlan(killSeed, 20)
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	r := jobs.NewRunner(db, map[string]jobs.Target{jobstest.Account: {
		Account:  payrecon.Account{Name: jobstest.Account, Provider: "fake", FeeRatePPM: jobstest.RatePPM},
		Provider: &jobstest.Provider{Sc: p.Sc},
	}}, nil, clk.Now, jobs.Options{LockTTL: leaseChildTTL, Owner: fmt.Sprintf("child:%d", os.Getpid()),
		Progress: func(pr jobs.Progress) {
			if pr.Phase == "ledger" {
				fmt.Println("WORKING")
				select {} // hold the lease until killed
			}
		}})
	_, err = r.RunDay(ctx, jobstest.Account, jobstest.DayD)
	fmt.Println("ERROR run returned", err)
	os.Exit(2)
}

// TestKilledRunLeaseLapses SIGKILLs a run that holds its lease, then runs
// the same day again at once, retrying as the scheduler would, with no
// manual step: the re-run is refused while the dead run's lease is live
// (each refusal recorded, naming the dead holder), takes the lease over as
// soon as it lapses (audited as a takeover) and succeeds.
func TestKilledRunLeaseLapses(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	exe, err := os.Executable()
	storetest.Must(t, err)
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, driver, dsn := storetest.OpenDSN(t, dialect)
			p := jobstest.NewPlan(killSeed, 20)
			p.Load(t, db)

			cmd := exec.Command(exe, "-test.run=^TestLeaseHelperProcess$", "-test.v=false")
			cmd.Env = append(os.Environ(), "PAYRECON_LEASE_CHILD_DRIVER="+driver, "PAYRECON_LEASE_CHILD_DSN="+dsn)
			out, err := cmd.StdoutPipe()
			storetest.Must(t, err)
			cmd.Stderr = os.Stderr
			storetest.Must(t, cmd.Start())
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if line := sc.Text(); line == "WORKING" {
					break
				} else if strings.HasPrefix(line, "ERROR") {
					t.Fatalf("child: %s", line)
				}
			}
			childOwner := fmt.Sprintf("child:%d:", cmd.Process.Pid)
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			locks, err := db.ListLocks(ctx)
			storetest.Must(t, err)
			if len(locks) != 1 || !strings.HasPrefix(locks[0].Owner, childOwner) {
				t.Fatalf("after the kill: leases %+v, want the child's", locks)
			}
			deadLease := locks[0]

			clk := &jobstest.Clock{}
			clk.RunAfter(jobstest.DayD)
			r := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{LockTTL: leaseChildTTL})
			var run payrecon.Run
			refused := 0
			giveUp := time.Now().Add(20 * leaseChildTTL) // generous: the machine is shared
			for {
				run, err = r.RunDay(ctx, jobstest.Account, jobstest.DayD)
				if !errors.Is(err, payrecon.ErrLocked) || time.Now().After(giveUp) {
					break
				}
				refused++
				time.Sleep(leaseChildTTL / 10)
			}
			storetest.Must(t, err)
			t.Logf("re-run succeeded after %d refused attempts, %s after the dead lease's expiry", refused, time.Since(deadLease.ExpiresAt).Round(time.Millisecond))
			jobstest.CheckDay(t, db, p, jobstest.DayD, run)

			attempts, err := db.RunAttempts(ctx, jobstest.Account, jobstest.DayD)
			storetest.Must(t, err)
			if len(attempts) != refused {
				t.Errorf("%d attempts recorded, %d refused", len(attempts), refused)
			}
			for _, a := range attempts {
				if a.Outcome != payrecon.AttemptRefused || a.Holder != deadLease.Owner || !a.HolderExpires.Equal(deadLease.ExpiresAt) {
					t.Errorf("attempt %+v: want refused by %s", a, deadLease.Owner)
				}
			}
			audit, err := db.LockAudit(ctx, jobstest.Account)
			storetest.Must(t, err)
			if len(audit) != 1 || audit[0].Step != store.LockStepTakeover || audit[0].Owner != deadLease.Owner || !audit[0].ExpiresAt.Equal(deadLease.ExpiresAt) {
				t.Errorf("lease audit %+v: want one takeover of %s", audit, deadLease.Owner)
			}
			if len(audit) == 1 && audit[0].At.Before(deadLease.ExpiresAt) {
				t.Errorf("lease taken over at %s before it expired at %s", audit[0].At, deadLease.ExpiresAt)
			}
			if locks, _ := db.ListLocks(ctx); len(locks) != 0 {
				t.Errorf("leases left after the re-run: %+v", locks)
			}
		})
	}
}

// TestRefusedAttemptIsRecordedAndReported: a run refused because another
// process holds the day's lease is recorded as an attempt naming the
// holder, and the report shows it (the day has no run yet); after an
// operator releases the lease the run goes through at once.
func TestRefusedAttemptIsRecordedAndReported(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		p := jobstest.NewPlan(killSeed, 20)
		p.Load(t, db)
		if _, err := db.LockRun(ctx, jobstest.Account, jobstest.DayD, "elsewhere:4242:abc", time.Hour); err != nil {
			t.Fatal(err)
		}
		clk := &jobstest.Clock{}
		clk.RunAfter(jobstest.DayD)
		r := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{Owner: "here:1"})
		run, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		if !errors.Is(err, payrecon.ErrLocked) {
			t.Fatalf("want ErrLocked, got %v", err)
		}
		if run.LastAttempt.Outcome != payrecon.AttemptRefused || run.LastAttempt.Holder != "elsewhere:4242:abc" {
			t.Errorf("returned run's attempt: %+v", run.LastAttempt)
		}
		attempts, err := db.RunAttempts(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		if len(attempts) != 1 {
			t.Fatalf("attempts: %+v", attempts)
		}
		a := attempts[0]
		if a.Outcome != payrecon.AttemptRefused || a.Holder != "elsewhere:4242:abc" || !strings.HasPrefix(a.Owner, "here:1:") ||
			!a.At.Equal(clk.Now()) || !strings.Contains(a.Reason, "held by elsewhere:4242:abc") {
			t.Errorf("attempt: %+v", a)
		}
		// A refused run is not a failed run.
		if hist, _ := db.RunHistory(ctx, jobstest.Account, jobstest.DayD); len(hist) != 0 {
			t.Errorf("runs recorded for a refused attempt: %+v", hist)
		}

		// The report shows the day, refused.
		src, err := reports.StoreSource(ctx, db, db, nil, jobstest.DayD, jobstest.DayD)
		storetest.Must(t, err)
		var buf bytes.Buffer
		storetest.Must(t, reports.WriteJSON(&buf, src, reports.Options{}))
		var doc struct {
			Runs []struct {
				State       string `json:"state"`
				LastAttempt *struct {
					Outcome string `json:"outcome"`
					Holder  string `json:"holder"`
				} `json:"last_attempt"`
			} `json:"runs"`
		}
		storetest.Must(t, json.Unmarshal(buf.Bytes(), &doc))
		if len(doc.Runs) != 1 || doc.Runs[0].State != "refused" || doc.Runs[0].LastAttempt == nil ||
			doc.Runs[0].LastAttempt.Outcome != "refused" || doc.Runs[0].LastAttempt.Holder != "elsewhere:4242:abc" {
			t.Errorf("report runs: %s", buf.String())
		}

		// The operator releases the lease; the run goes through at once.
		if _, err := db.ReleaseLock(ctx, jobstest.Account, jobstest.DayD, "ops", "holder decommissioned"); err != nil {
			t.Fatal(err)
		}
		clk.Set(clk.Now().Add(time.Minute))
		run, err = r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		storetest.Must(t, err)
		jobstest.CheckDay(t, db, p, jobstest.DayD, run)
		latest, err := db.LatestRuns(ctx, nil, jobstest.DayD, jobstest.DayD)
		storetest.Must(t, err)
		if len(latest) != 1 || latest[0].ID != run.ID || !latest[0].LastAttempt.At.IsZero() {
			t.Errorf("after the run: %+v", latest)
		}
	})
}
