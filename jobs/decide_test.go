package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// propState is what the property test's providers answer: one status for
// every order, refund and agreement query.
type propState struct{ status payrecon.Status }

func (s *propState) err() error {
	if s.status == payrecon.StatusNotFound {
		return notFound("ORDER")
	}
	return nil
}

// bareProv can do nothing but bills (no queries, no provider calls).
type bareProv struct{ st *propState }

func (p bareProv) ProviderName() string { return "prop" }

// queryProv can query but not act at the provider.
type queryProv struct{ bareProv }

func (p queryProv) QueryOrder(_ context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	return payrecon.Order{MerchantOrderNo: ref.MerchantOrderNo, ProviderTxnNo: ref.ProviderTxnNo, Status: p.st.status,
		Amount: 100, Currency: "CNY", PaidAt: paidAt(10)}, p.st.err()
}

func (p queryProv) QueryRefund(_ context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	return payrecon.Refund{MerchantRefundNo: ref.MerchantRefundNo, ProviderRefundNo: ref.ProviderRefundNo,
		MerchantOrderNo: ref.MerchantOrderNo, ProviderTxnNo: ref.ProviderTxnNo, Status: p.st.status, Amount: 100, FinishedAt: paidAt(10)}, p.st.err()
}

func (p queryProv) QueryAgreement(_ context.Context, ref payrecon.AgreementRef) (payrecon.Agreement, error) {
	return payrecon.Agreement{AgreementNo: ref.AgreementNo, Status: p.st.status, SignedAt: paidAt(8)}, p.st.err()
}

// fullProv can also refund, close orders and unsign.
type fullProv struct{ queryProv }

func (p fullProv) ApplyRefund(_ context.Context, req payrecon.RefundRequest) (payrecon.Refund, error) {
	return payrecon.Refund{MerchantRefundNo: req.MerchantRefundNo, ProviderRefundNo: "9" + req.MerchantRefundNo, Status: payrecon.StatusPending, Amount: req.Amount}, nil
}

func (p fullProv) CloseOrder(context.Context, payrecon.OrderRef) error {
	if p.st.status == payrecon.StatusPending || p.st.status == payrecon.StatusNotPaid {
		p.st.status = payrecon.StatusClosed
	}
	return nil
}

func (p fullProv) Unsign(context.Context, payrecon.AgreementRef, string) error {
	p.st.status = payrecon.StatusUnsigned
	return nil
}

// kindsOf lists the item kinds a class occurs with.
func kindsOf(c payrecon.Class) []payrecon.Kind {
	switch c {
	case payrecon.ClassRefundMissingInLedger, payrecon.ClassRefundMissingInBill, payrecon.ClassRefundAmountMismatch:
		return []payrecon.Kind{payrecon.KindRefund}
	case payrecon.ClassStatusMismatch, payrecon.ClassCarriedOver, payrecon.ClassResolvedLate, payrecon.ClassMatched:
		return []payrecon.Kind{payrecon.KindPayment, payrecon.KindRefund}
	case payrecon.ClassAgreementMismatch:
		return []payrecon.Kind{payrecon.KindAgreement}
	case payrecon.ClassOtherBillLine, payrecon.ClassSettlementMismatch:
		return []payrecon.Kind{payrecon.KindOther}
	}
	return []payrecon.Kind{payrecon.KindPayment}
}

// inherentlyManual are the classes design.md sends to manual review.
var inherentlyManual = map[payrecon.Class]bool{
	payrecon.ClassAmountMismatch: true, payrecon.ClassRefundAmountMismatch: true,
	payrecon.ClassFeeMismatch: true, payrecon.ClassSettlementMismatch: true,
}

// TestDecideActionApplicable is the property test of issue 14: for every
// class × ledger state × provider state × provider capabilities, the
// action the engine proposes is either explicitly manual (with a reason)
// or one that Apply carries out in that state: applying it against a
// provider answering that state on a real store succeeds.
func TestDecideActionApplicable(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	ledgerStates := []payrecon.Status{"", payrecon.StatusSuccess, payrecon.StatusFailed, payrecon.StatusPending, payrecon.StatusClosed}
	agreeStates := []payrecon.Status{"", payrecon.StatusSigned, payrecon.StatusUnsigned}
	provStates := []payrecon.Status{"", payrecon.StatusSuccess, payrecon.StatusFailed, payrecon.StatusPending, payrecon.StatusClosed,
		payrecon.StatusNotPaid, payrecon.StatusNotFound, payrecon.StatusSigned, payrecon.StatusUnsigned}
	type capsCase struct {
		name string
		mk   func(*propState) payrecon.Provider
	}
	capsCases := []capsCase{
		{"full", func(s *propState) payrecon.Provider { return fullProv{queryProv{bareProv{s}}} }},
		{"query-only", func(s *propState) payrecon.Provider { return queryProv{bareProv{s}} }},
		{"bare", func(s *propState) payrecon.Provider { return bareProv{s} }},
	}
	seq, applied, manual := 0, 0, 0
	for _, class := range payrecon.Classes {
		for _, kind := range kindsOf(class) {
			ls := ledgerStates
			if kind == payrecon.KindAgreement {
				ls = agreeStates
			}
			for _, ledger := range ls {
				for _, prov := range provStates {
					for _, cc := range capsCases {
						st := &propState{status: prov}
						p := cc.mk(st)
						k, why := jobs.DecideAction(class, kind, ledger, prov, jobs.CapsOf(p, nil))
						name := fmt.Sprintf("%s/%s ledger=%q provider=%q caps=%s → %s", class, kind, ledger, prov, cc.name, k)
						switch {
						case !class.IsDiscrepancy():
							want := payrecon.ActionNone
							if class == payrecon.ClassCarriedOver {
								want = payrecon.ActionRecheck
							}
							if k != want {
								t.Errorf("%s: want %s", name, want)
							}
							continue
						case k == payrecon.ActionManualReview:
							manual++
							if why == "" && !inherentlyManual[class] {
								t.Errorf("%s: manual review without a reason", name)
							}
							continue
						case !jobs.Applicable(k):
							t.Errorf("%s: neither manual nor applicable", name)
							continue
						}
						seq++
						if err := applyInState(ctx, t, db, seq, class, kind, ledger, prov, k, p); err != nil {
							t.Errorf("%s: apply failed: %v", name, err)
						}
						applied++
					}
				}
			}
		}
	}
	t.Logf("%d proposals applied, %d manual", applied, manual)
	if applied < 50 {
		t.Errorf("only %d proposals were applicable: the test covers too little", applied)
	}

	// Pending past the re-query schedule has its own decision.
	k, _ := jobs.DecideAction(payrecon.ClassMissingInBill, payrecon.KindPayment, payrecon.StatusSuccess, payrecon.StatusPending, jobs.CapsOf(fullProv{queryProv{bareProv{&propState{}}}}, nil))
	if k != payrecon.ActionCloseOrder {
		t.Errorf("pending past schedule with a closer: %s, want close_order", k)
	}
	k, why := jobs.DecideAction(payrecon.ClassMissingInBill, payrecon.KindPayment, payrecon.StatusSuccess, payrecon.StatusPending, jobs.CapsOf(queryProv{bareProv{&propState{}}}, nil))
	if k != payrecon.ActionManualReview || !strings.Contains(why, "cannot close") {
		t.Errorf("pending past schedule without a closer: %s %q, want manual review naming why", k, why)
	}
	k, why = jobs.DecideAction(payrecon.ClassMissingInBill, payrecon.KindPayment, payrecon.StatusSuccess, payrecon.StatusPending,
		jobs.CapsOf(fullProv{queryProv{bareProv{&propState{}}}}, []payrecon.ActionKind{payrecon.ActionRefundDuplicate}))
	if k != payrecon.ActionManualReview || why == "" {
		t.Errorf("pending past schedule with close_order disabled: %s %q, want manual review", k, why)
	}
}

// applyInState stores the item's ledger side, proposes kind for it,
// approves it when it moves money, and applies it.
func applyInState(ctx context.Context, t *testing.T, db *store.DB, seq int, class payrecon.Class, kind payrecon.Kind, ledger, prov payrecon.Status, k payrecon.ActionKind, p payrecon.Provider) error {
	t.Helper()
	acct := fmt.Sprintf("p%d", seq)
	it := payrecon.Item{Account: acct, Day: jobstest.DayD, Class: class, Kind: kind,
		MerchantOrderNo: fmt.Sprintf("M%d", seq), ProviderTxnNo: fmt.Sprintf("T%d", seq),
		LedgerStatus: ledger, ProviderStatus: prov, BillAmount: 100, Delta: 100, BillTime: paidAt(10)}
	switch kind {
	case payrecon.KindRefund:
		it.MerchantRefundNo, it.ProviderRefundNo = fmt.Sprintf("MR%d", seq), fmt.Sprintf("RF%d", seq)
	case payrecon.KindAgreement:
		it.AgreementNo = fmt.Sprintf("AG%d", seq)
	}
	if ledger != "" {
		e := payrecon.LedgerEntry{Account: acct, Provider: "prop", Kind: kind, Status: ledger,
			EventKey: fmt.Sprintf("%s:%d:%s", kind, seq, ledger), MerchantOrderNo: it.MerchantOrderNo, ProviderTxnNo: it.ProviderTxnNo,
			MerchantRefundNo: it.MerchantRefundNo, ProviderRefundNo: it.ProviderRefundNo, AgreementNo: it.AgreementNo,
			Amount: 100, Currency: "CNY", OccurredAt: paidAt(10), ReceivedAt: paidAt(10), Source: "callback"}
		if kind == payrecon.KindAgreement {
			e.Amount, e.Currency = 0, ""
		}
		if _, err := db.AddLedgerEntry(ctx, e); err != nil {
			return fmt.Errorf("ledger: %w", err)
		}
		var id int64
		err := db.LedgerEntries(ctx, acct, jobstest.DayD.Start(), jobstest.DayD.End(), func(le payrecon.LedgerEntry) error { id = le.ID; return nil })
		if err != nil || id == 0 {
			return fmt.Errorf("read ledger entry back: %v", err)
		}
		it.LedgerEntryID = id
	}
	a, _, err := db.ProposeAction(ctx, payrecon.Action{Item: it, Kind: k}, "run", "property test")
	if err != nil {
		return err
	}
	svc, err := jobs.NewActions(jobs.ActionsDeps{Store: db, Ledger: db, LedgerReader: db,
		Providers: map[string]payrecon.Provider{acct: p}, Now: func() time.Time { return paidAt(30) }})
	if err != nil {
		return err
	}
	if k.MovesMoney() {
		if _, err := svc.Approve(ctx, a.ID, "alice", "property test"); err != nil {
			return err
		}
	}
	res, err := svc.Apply(ctx, a.ID, "bob")
	if err == nil && res.Action.State != payrecon.ActionApplied && res.Action.State != payrecon.ActionSucceeded {
		err = errors.New("apply left the action " + string(res.Action.State))
	}
	return err
}

// shortProv declares a short merchant refund number (as QQ Wallet's 32).
type shortProv struct{ fullProv }

func (shortProv) Limits() payrecon.Limits {
	return payrecon.Limits{MerchantRefundNo: payrecon.IDRule{MaxLen: 20}}
}

// The refund number fits the limit the provider declares (no provider
// names in jobs).
func TestRefundNoFitsDeclaredLimit(t *testing.T) {
	db := storetest.Open(t, store.SQLite)
	ctx := context.Background()
	p := shortProv{fullProv{queryProv{bareProv{&propState{status: payrecon.StatusSuccess}}}}}
	if n := jobs.RefundNoMaxLen(p); n != 20 {
		t.Fatalf("RefundNoMaxLen = %d, want the declared 20", n)
	}
	if err := applyInState(ctx, t, db, 1, payrecon.ClassDuplicatePayment, payrecon.KindPayment, payrecon.StatusSuccess, payrecon.StatusSuccess, payrecon.ActionRefundDuplicate, p); err != nil {
		t.Fatal(err)
	}
	a, err := db.GetAction(ctx, 1)
	storetest.Must(t, err)
	if len(a.IdempotencyKey) != 20 || !strings.HasPrefix(a.IdempotencyKey, jobs.RefundNoPrefix) {
		t.Errorf("refund number %q: want %s… cut to the declared 20 bytes", a.IdempotencyKey, jobs.RefundNoPrefix)
	}
	if n := jobs.RefundNoMaxLen(bareProv{}); n != payrecon.DefaultIDMaxLen {
		t.Errorf("RefundNoMaxLen of a provider declaring nothing = %d, want the default %d", n, payrecon.DefaultIDMaxLen)
	}
}
