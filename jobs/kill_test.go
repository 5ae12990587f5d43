package jobs_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

const (
	killSeed   = 99
	killNormal = 300
	killOthers = 3000 // stored items, so that saving takes a while
)

// killPlan is the ground-truth plan plus many stored lines, so a kill
// often lands inside SaveRun's transaction.
func killPlan() *jobstest.Plan {
	p := jobstest.NewPlan(killSeed, killNormal)
	for i := 0; i < killOthers; i++ {
		no := fmt.Sprintf("XK%06d", i)
		p.Sc.Others = append(p.Sc.Others, scenario.Other{Type: "分账", ProviderTxnNo: no, Amount: int64(100 + i), At: jobstest.DayD.Start().Add(time.Duration(i) * time.Second)})
		p.Expect(jobstest.DayD, payrecon.ClassOtherBillLine, no)
	}
	return p
}

// TestKillHelperProcess is the child of TestKillMidRun: it re-runs day D
// in a loop until it is killed.
func TestKillHelperProcess(t *testing.T) {
	if os.Getenv("PAYRECON_KILL_CHILD_DSN") == "" {
		t.Skip("helper process for TestKillMidRun")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv("PAYRECON_KILL_CHILD_DRIVER"), os.Getenv("PAYRECON_KILL_CHILD_DSN"), nil)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	p := killPlan()
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	r := jobs.NewRunner(db, map[string]jobs.Target{jobstest.Account: {
		Account:  payrecon.Account{Name: jobstest.Account, Provider: "fake", FeeRatePPM: jobstest.RatePPM},
		Provider: &jobstest.Provider{Sc: p.Sc},
	}}, nil, clk.Now, jobs.Options{LockTTL: time.Second, QueryBackoff: time.Millisecond,
		Progress: func(pr jobs.Progress) {
			if pr.Phase == "save" {
				fmt.Println("SAVING")
			}
		}})
	for {
		run, err := r.RunDay(ctx, jobstest.Account, jobstest.DayD)
		switch {
		case errors.Is(err, payrecon.ErrLocked):
			time.Sleep(50 * time.Millisecond)
		case err != nil:
			fmt.Println("ERROR", err)
			os.Exit(2)
		default:
			fmt.Println("SAVED", run.ID)
		}
	}
}

// TestKillMidRun kills a run with SIGKILL at random points (several times,
// often while it saves), then re-runs the day: the answer equals an
// uninterrupted run's, and every stored run is complete.
func TestKillMidRun(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns child processes")
	}
	exe, err := os.Executable()
	storetest.Must(t, err)
	// The uninterrupted reference run.
	ref := storetest.Open(t, store.SQLite)
	p := killPlan()
	p.Load(t, ref)
	clk := &jobstest.Clock{}
	clk.RunAfter(jobstest.DayD)
	refRun, err := jobstest.NewRunner(t, ref, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{}).RunDay(context.Background(), jobstest.Account, jobstest.DayD)
	storetest.Must(t, err)
	refItems := jobstest.ItemsSig(jobstest.RunItems(t, ref, refRun.ID))

	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, driver, dsn := storetest.OpenDSN(t, dialect)
			p := killPlan()
			p.Load(t, db)
			rnd := rand.New(rand.NewPCG(1, 2))
			for round := 0; round < 2; round++ {
				cmd := exec.Command(exe, "-test.run=^TestKillHelperProcess$", "-test.v=false")
				cmd.Env = append(os.Environ(), "PAYRECON_KILL_CHILD_DRIVER="+driver, "PAYRECON_KILL_CHILD_DSN="+dsn)
				out, err := cmd.StdoutPipe()
				storetest.Must(t, err)
				cmd.Stderr = os.Stderr
				storetest.Must(t, cmd.Start())
				sc := bufio.NewScanner(out)
				// Let it save at least once, then kill it somewhere in a later run,
				// right after it starts saving or a random moment later.
				saved, saving := 0, 0
				for sc.Scan() {
					line := sc.Text()
					if strings.HasPrefix(line, "ERROR") {
						t.Fatalf("child: %s", line)
					}
					if strings.HasPrefix(line, "SAVED") {
						saved++
					}
					if line == "SAVING" {
						saving++
					}
					if saved >= 1 && saving > saved {
						time.Sleep(time.Duration(rnd.IntN(20)) * time.Millisecond)
						break
					}
				}
				_ = cmd.Process.Signal(syscall.SIGKILL)
				_ = cmd.Wait()
				t.Logf("round %d: killed after %d saved runs", round, saved)
			}
			checkComplete(t, db)

			// Re-run (waiting for the dead child's lease to expire).
			clk := &jobstest.Clock{}
			clk.RunAfter(jobstest.DayD)
			r := jobstest.NewRunner(t, db, &jobstest.Provider{Sc: p.Sc}, clk, jobs.Options{})
			var run payrecon.Run
			deadline := time.Now().Add(10 * time.Second)
			for {
				run, err = r.RunDay(ctx, jobstest.Account, jobstest.DayD)
				if !errors.Is(err, payrecon.ErrLocked) || time.Now().After(deadline) {
					break
				}
				time.Sleep(100 * time.Millisecond)
			}
			storetest.Must(t, err)
			if !reflect.DeepEqual(jobstest.ItemsSig(jobstest.RunItems(t, db, run.ID)), refItems) {
				t.Error("items after kill + re-run differ from the uninterrupted run")
			}
			if !reflect.DeepEqual(run.Totals, refRun.Totals) {
				t.Errorf("totals after kill + re-run differ:\n%+v\n%+v", run.Totals, refRun.Totals)
			}
			jobstest.CheckDay(t, db, p, jobstest.DayD, run)
			checkComplete(t, db)
		})
	}
}

// checkComplete verifies that nothing is half-stored: every finished run
// holds exactly the items its totals count, and only the newest is current.
func checkComplete(t *testing.T, db *store.DB) {
	t.Helper()
	hist, err := db.RunHistory(context.Background(), jobstest.Account, jobstest.DayD)
	storetest.Must(t, err)
	current := 0
	for _, run := range hist {
		switch run.State {
		case payrecon.RunClean, payrecon.RunFindings:
			current++
		case payrecon.RunSuperseded, payrecon.RunFailed:
		default:
			t.Errorf("run %d in state %s", run.ID, run.State)
			continue
		}
		if run.State == payrecon.RunFailed {
			continue
		}
		var want int64
		for c, ct := range run.Totals.ByClass {
			if c != payrecon.ClassMatched {
				want += ct.Count
			}
		}
		if n := int64(len(jobstest.RunItems(t, db, run.ID))); n != want {
			t.Errorf("run %d: %d items stored, totals count %d", run.ID, n, want)
		}
	}
	if len(hist) > 0 && current != 1 {
		t.Errorf("%d current runs for the day, want 1", current)
	}
}
