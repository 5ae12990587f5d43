package jobs_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// journalProvider keeps its refunds in a journal file shared across
// processes, idempotent on the merchant refund number, like a provider's
// own books. With hang set, ApplyRefund prints SENT after journaling and
// never returns (the parent kills the process there).
type journalProvider struct {
	path string
	hang bool
	mu   sync.Mutex
}

func (j *journalProvider) ProviderName() string { return "huawei" }

func (j *journalProvider) lines() []string {
	b, _ := os.ReadFile(j.path)
	return strings.Fields(string(b))
}

func (j *journalProvider) ApplyRefund(_ context.Context, req payrecon.RefundRequest) (payrecon.Refund, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	r := payrecon.Refund{MerchantRefundNo: req.MerchantRefundNo, ProviderRefundNo: "9" + req.MerchantRefundNo[2:12],
		Status: payrecon.StatusSuccess, RawStatus: "REFUND_SUCCESS", Amount: req.Amount}
	for _, l := range j.lines() {
		if l == req.MerchantRefundNo {
			return r, nil
		}
	}
	f, err := os.OpenFile(j.path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		return payrecon.Refund{}, err
	}
	_, err = fmt.Fprintln(f, req.MerchantRefundNo)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return payrecon.Refund{}, err
	}
	if j.hang {
		fmt.Println("SENT")
		select {}
	}
	return r, nil
}

func (j *journalProvider) QueryRefund(_ context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	for _, l := range j.lines() {
		if l == ref.MerchantRefundNo {
			return payrecon.Refund{MerchantRefundNo: l, Status: payrecon.StatusSuccess, RawStatus: "REFUND_SUCCESS"}, nil
		}
	}
	return payrecon.Refund{}, notFound("REFUND_ORDER")
}

// TestApplyKillHelperProcess is the child of TestApplyKilledAfterProviderActed.
func TestApplyKillHelperProcess(t *testing.T) {
	dsn := os.Getenv("PAYRECON_APPLY_CHILD_DSN")
	if dsn == "" {
		t.Skip("helper process for TestApplyKilledAfterProviderActed")
	}
	ctx := context.Background()
	db, err := store.Open(ctx, os.Getenv("PAYRECON_APPLY_CHILD_DRIVER"), dsn, nil)
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(2)
	}
	var id int64
	fmt.Sscan(os.Getenv("PAYRECON_APPLY_CHILD_ACTION"), &id)
	svc, err := jobs.NewActions(jobs.ActionsDeps{Store: db, Ledger: db, LedgerReader: db,
		Providers: map[string]payrecon.Provider{"hw1": &journalProvider{path: os.Getenv("PAYRECON_APPLY_CHILD_JOURNAL"), hang: true}},
		Now:       time.Now})
	if err == nil {
		_, err = svc.Apply(ctx, id, "child")
	}
	fmt.Println("ERROR", err) // never reached when the provider hangs
	os.Exit(2)
}

// TestApplyKilledAfterProviderActed: `actions apply` is SIGKILLed after the
// provider journaled the refund and before the outcome was recorded. The
// action then says the refund may be in flight; applying again completes
// it under the same refund number (one refund in the provider's journal),
// and the audit trail shows both attempts and the interruption.
func TestApplyKilledAfterProviderActed(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	exe, err := os.Executable()
	storetest.Must(t, err)
	for _, dialect := range storetest.Dialects {
		t.Run(dialect, func(t *testing.T) {
			ctx := context.Background()
			db, driver, dsn := storetest.OpenDSN(t, dialect)
			journal := filepath.Join(t.TempDir(), "journal")
			a := jobstest.Propose(t, db, jobstest.DuplicateItem("4200000000000000301", 4200), payrecon.ActionRefundDuplicate)
			prov := &journalProvider{path: journal}
			svc, err := jobs.NewActions(jobs.ActionsDeps{Store: db, Ledger: db, LedgerReader: db,
				Providers: map[string]payrecon.Provider{"hw1": prov}, Logger: storetest.Logger(t), Now: time.Now})
			storetest.Must(t, err)
			_, err = svc.Approve(ctx, a.ID, "alice", "paid twice")
			storetest.Must(t, err)

			cmd := exec.Command(exe, "-test.run=^TestApplyKillHelperProcess$", "-test.v=false")
			cmd.Env = append(os.Environ(), "PAYRECON_APPLY_CHILD_DRIVER="+driver, "PAYRECON_APPLY_CHILD_DSN="+dsn,
				"PAYRECON_APPLY_CHILD_JOURNAL="+journal, fmt.Sprintf("PAYRECON_APPLY_CHILD_ACTION=%d", a.ID))
			out, err := cmd.StdoutPipe()
			storetest.Must(t, err)
			cmd.Stderr = os.Stderr
			storetest.Must(t, cmd.Start())
			sc := bufio.NewScanner(out)
			sent := false
			for sc.Scan() {
				if line := sc.Text(); strings.HasPrefix(line, "ERROR") {
					_ = cmd.Process.Kill()
					t.Fatalf("child: %s", line)
				} else if line == "SENT" {
					sent = true
					break
				}
			}
			_ = cmd.Process.Signal(syscall.SIGKILL)
			_ = cmd.Wait()
			if !sent {
				t.Fatal("child ended before the provider acted")
			}

			mid, audit, err := svc.Get(ctx, a.ID)
			storetest.Must(t, err)
			if mid.State != payrecon.ActionApproved || mid.IdempotencyKey == "" {
				t.Fatalf("after the kill: %s key %q, want approved with the refund number recorded", mid.State, mid.IdempotencyKey)
			}
			note := jobs.InFlight(mid, audit)
			if !strings.Contains(note, "may be in flight") || !strings.Contains(note, mid.IdempotencyKey) || !strings.Contains(note, "apply") {
				t.Errorf("in-flight note %q: want it to say the refund %s may be in flight and that apply completes it", note, mid.IdempotencyKey)
			}

			res, err := svc.Apply(ctx, a.ID, "bob")
			storetest.Must(t, err)
			if res.Action.State != payrecon.ActionSucceeded {
				t.Errorf("re-apply: %s %q, want succeeded", res.Action.State, res.Action.Result)
			}
			if j := prov.lines(); len(j) != 1 || j[0] != mid.IdempotencyKey {
				t.Errorf("provider journal %v, want one refund under %s", j, mid.IdempotencyKey)
			}
			jobstest.WantSteps(t, db, a.ID, "proposed/run", "approved/alice", "applying/child", "interrupted/bob", "applying/bob", "succeeded/bob")
			_, audit, err = svc.Get(ctx, a.ID)
			storetest.Must(t, err)
			atts := jobs.Attempts(audit)
			if len(atts) != 2 || atts[0].Outcome != jobs.StepInterrupted || atts[1].Outcome != "succeeded" ||
				!strings.Contains(atts[0].Detail, "attempt 1") || !strings.Contains(atts[1].Detail, "attempt 2") {
				t.Errorf("attempts = %+v, want attempt 1 interrupted and attempt 2 succeeded", atts)
			}
			if n := jobs.InFlight(res.Action, audit); n != "" {
				t.Errorf("in-flight note after success: %q", n)
			}
		})
	}
}
