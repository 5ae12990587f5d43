package jobstest

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// RepairAccount is the account the repair-action helpers propose on.
const RepairAccount = "hw1"

// Propose stores a proposed action of kind for it, as a run would, on
// RepairAccount and DayD; the action must be new.
func Propose(t *testing.T, db *store.DB, it payrecon.Item, kind payrecon.ActionKind) payrecon.Action {
	t.Helper()
	it.Account, it.Day = RepairAccount, DayD
	a, created, err := db.ProposeAction(context.Background(), payrecon.Action{Item: it, Kind: kind}, "run", "proposed by the run")
	storetest.Must(t, err)
	if !created {
		t.Fatalf("action %s for %s already existed", kind, it.ProviderTxnNo)
	}
	return a
}

// Steps is an action's audit trail as step/actor.
func Steps(t *testing.T, db *store.DB, id int64) []string {
	t.Helper()
	audit, err := db.ActionAudit(context.Background(), id)
	storetest.Must(t, err)
	var out []string
	for _, e := range audit {
		out = append(out, e.Step+"/"+e.Actor)
	}
	return out
}

// WantSteps fails the test unless the action's audit trail is want.
func WantSteps(t *testing.T, db *store.DB, id int64, want ...string) {
	t.Helper()
	if got := Steps(t, db, id); !slices.Equal(got, want) {
		t.Errorf("action %d audit steps = %v, want %v", id, got, want)
	}
}

// DuplicateItem is a duplicate_payment item of order M100 paid at 09:00
// on DayD: the second payment txn of amount fen.
func DuplicateItem(txn string, amount int64) payrecon.Item {
	return payrecon.Item{Class: payrecon.ClassDuplicatePayment, Kind: payrecon.KindPayment,
		MerchantOrderNo: "M100", ProviderTxnNo: txn, BillAmount: amount, Delta: amount,
		ProviderStatus: payrecon.StatusSuccess, BillTime: DayD.Start().Add(9 * time.Hour)}
}

// CrashAfterProvider fails the state change after the provider call, like a
// process killed right after the refund went out: the next Crashes changes
// to applied or failed are lost.
type CrashAfterProvider struct {
	jobs.ActionStore
	Crashes int

	mu sync.Mutex
}

// ChangeAction loses the change while crashes remain.
func (c *CrashAfterProvider) ChangeAction(ctx context.Context, id int64, ch payrecon.ActionChange) (payrecon.Action, error) {
	c.mu.Lock()
	crash := c.Crashes > 0 && (ch.To == payrecon.ActionApplied || ch.To == payrecon.ActionFailed)
	if crash {
		c.Crashes--
	}
	c.mu.Unlock()
	if crash {
		return payrecon.Action{}, errors.New("simulated crash")
	}
	return c.ActionStore.ChangeAction(ctx, id, ch)
}
