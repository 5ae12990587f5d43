package jobs_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// fakeProvider answers queries from maps and applies refunds idempotently
// per merchant refund number, counting every call like a provider's log.
type fakeProvider struct {
	mu         sync.Mutex
	orders     map[string]payrecon.Order // by provider txn no
	refunds    map[string]payrecon.Refund
	agreements map[string]payrecon.Agreement
	refundReqs []payrecon.RefundRequest
	issued     map[string]payrecon.Refund // by merchant refund no
	unsigned   []string
	queries    int
}

func newFake() *fakeProvider {
	return &fakeProvider{orders: map[string]payrecon.Order{}, refunds: map[string]payrecon.Refund{},
		agreements: map[string]payrecon.Agreement{}, issued: map[string]payrecon.Refund{}}
}

func (f *fakeProvider) ProviderName() string { return "huawei" }

func notFound(what string) error {
	return &payrecon.ProviderError{Provider: "huawei", Code: "400000", SubCode: what + "_NOT_EXIST", NotFound: true}
}

func (f *fakeProvider) QueryOrder(_ context.Context, ref payrecon.OrderRef) (payrecon.Order, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if o, ok := f.orders[ref.ProviderTxnNo]; ok {
		return o, nil
	}
	for _, o := range f.orders {
		if ref.ProviderTxnNo == "" && o.MerchantOrderNo == ref.MerchantOrderNo {
			return o, nil
		}
	}
	return payrecon.Order{}, notFound("PAY_ORDER")
}

func (f *fakeProvider) QueryRefund(_ context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if r, ok := f.refunds[ref.ProviderRefundNo]; ok {
		return r, nil
	}
	if r, ok := f.issued[ref.MerchantRefundNo]; ok && ref.MerchantRefundNo != "" {
		return r, nil
	}
	return payrecon.Refund{}, notFound("REFUND_ORDER")
}

func (f *fakeProvider) QueryAgreement(_ context.Context, ref payrecon.AgreementRef) (payrecon.Agreement, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if a, ok := f.agreements[ref.AgreementNo]; ok {
		return a, nil
	}
	return payrecon.Agreement{}, notFound("CONTRACT")
}

func (f *fakeProvider) ApplyRefund(_ context.Context, req payrecon.RefundRequest) (payrecon.Refund, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refundReqs = append(f.refundReqs, req)
	if r, ok := f.issued[req.MerchantRefundNo]; ok {
		return r, nil
	}
	r := payrecon.Refund{
		MerchantRefundNo: req.MerchantRefundNo, ProviderRefundNo: fmt.Sprintf("9%09d", len(f.issued)+1),
		MerchantOrderNo: req.MerchantOrderNo, ProviderTxnNo: req.ProviderTxnNo,
		Status: payrecon.StatusPending, RawStatus: "REFUND_CHL_PROC", Amount: req.Amount,
	}
	f.issued[req.MerchantRefundNo] = r
	return r, nil
}

func (f *fakeProvider) Unsign(_ context.Context, ref payrecon.AgreementRef, _ string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.unsigned = append(f.unsigned, ref.AgreementNo)
	if a, ok := f.agreements[ref.AgreementNo]; ok {
		a.Status = payrecon.StatusUnsigned
		f.agreements[ref.AgreementNo] = a
	}
	return nil
}

func (f *fakeProvider) calls() ([]payrecon.RefundRequest, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.refundReqs), len(f.issued)
}

type env struct {
	db   *store.DB
	fake *fakeProvider
	svc  *jobs.Actions
}

func newEnv(t *testing.T, db *store.DB, auto []payrecon.ActionKind, wrap func(jobs.ActionStore) jobs.ActionStore) env {
	t.Helper()
	fake := newFake()
	var st jobs.ActionStore = db
	if wrap != nil {
		st = wrap(db)
	}
	clock := time.Date(2026, 11, 21, 2, 30, 0, 0, time.UTC)
	svc, err := jobs.NewActions(jobs.ActionsDeps{
		Store: st, Ledger: db, LedgerReader: db,
		Providers: map[string]payrecon.Provider{"hw1": fake},
		Logger:    storetest.Logger(t), Now: func() time.Time { return clock },
		Config: jobs.ActionsConfig{AutoApply: auto},
	})
	storetest.Must(t, err)
	return env{db: db, fake: fake, svc: svc}
}

func ledgerEntries(t *testing.T, db *store.DB) []payrecon.LedgerEntry {
	t.Helper()
	var out []payrecon.LedgerEntry
	storetest.Must(t, db.LedgerEntries(context.Background(), "hw1", jobstest.DayD.Add(-3).Start(), jobstest.DayD.Add(3).Start(), func(e payrecon.LedgerEntry) error {
		out = append(out, e)
		return nil
	}))
	return out
}

func paidAt(h int) time.Time { return jobstest.DayD.Start().Add(time.Duration(h) * time.Hour) }

func TestApplyRefundDuplicateOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil, nil)
		a := jobstest.Propose(t, db, jobstest.DuplicateItem("4200000000000000002", 5000), payrecon.ActionRefundDuplicate)

		// Apply before approve: refused, nothing changed, nothing called.
		_, err := e.svc.Apply(ctx, a.ID, "alice")
		if !errors.Is(err, payrecon.ErrInvalidState) {
			t.Fatalf("apply before approve: err = %v, want ErrInvalidState", err)
		}
		got, err := db.GetAction(ctx, a.ID)
		storetest.Must(t, err)
		if got.State != payrecon.ActionProposed || got.IdempotencyKey != "" || got.Result != "" {
			t.Errorf("after refused apply: %+v", got)
		}
		if reqs, _ := e.fake.calls(); len(reqs) != 0 {
			t.Errorf("refused apply called the provider %d times", len(reqs))
		}
		jobstest.WantSteps(t, db, a.ID, "proposed/run")

		if _, err := e.svc.Approve(ctx, a.ID, "", "no operator"); err == nil {
			t.Error("approve without operator: want an error")
		}
		if _, err := e.svc.Approve(ctx, a.ID, "alice", " "); err == nil {
			t.Error("approve without reason: want an error")
		}
		ap, err := e.svc.Approve(ctx, a.ID, "alice", "customer paid twice, confirmed with support")
		storetest.Must(t, err)
		if ap.State != payrecon.ActionApproved || ap.ApprovedBy != "alice" {
			t.Errorf("approved = %+v", ap)
		}
		if _, err := e.svc.Approve(ctx, a.ID, "carol", "again"); !errors.Is(err, payrecon.ErrInvalidState) {
			t.Errorf("approve twice: err = %v, want ErrInvalidState", err)
		}

		first, err := e.svc.Apply(ctx, a.ID, "bob")
		storetest.Must(t, err)
		second, err := e.svc.Apply(ctx, a.ID, "bob")
		storetest.Must(t, err)
		if first.AlreadyApplied || !second.AlreadyApplied {
			t.Errorf("already applied flags: first %v second %v", first.AlreadyApplied, second.AlreadyApplied)
		}
		if !strings.Contains(second.Message, "already applied") {
			t.Errorf("second apply message %q does not say it was already applied", second.Message)
		}
		reqs, issued := e.fake.calls()
		wantNo := jobs.RefundNo(64, a.DiscrepancyKey)
		if len(reqs) != 1 || issued != 1 {
			t.Fatalf("provider refund calls = %d (refunds %d), want exactly 1", len(reqs), issued)
		}
		if reqs[0].MerchantRefundNo != wantNo || reqs[0].Amount != 5000 || reqs[0].ProviderTxnNo != "4200000000000000002" {
			t.Errorf("refund request = %+v, want refund no %s amount 5000", reqs[0], wantNo)
		}
		if len(wantNo) > 64 || !strings.HasPrefix(wantNo, jobs.RefundNoPrefix) {
			t.Errorf("refund number %q: want prefix %s and at most 64 characters", wantNo, jobs.RefundNoPrefix)
		}
		done, err := db.GetAction(ctx, a.ID)
		storetest.Must(t, err)
		if done.State != payrecon.ActionApplied || done.IdempotencyKey != wantNo || !strings.Contains(done.Result, wantNo) {
			t.Errorf("applied action = %+v", done)
		}
		jobstest.WantSteps(t, db, a.ID, "proposed/run", "approved/alice", "applying/bob", "applied/bob")
		if _, err := e.svc.Dismiss(ctx, a.ID, "alice", "too late"); !errors.Is(err, payrecon.ErrInvalidState) {
			t.Errorf("dismiss applied action: err = %v, want ErrInvalidState", err)
		}
	})
}

func TestApplyRefundAfterCrashRefundsOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		crash := &jobstest.CrashAfterProvider{Crashes: 1} // the applied write is lost
		e := newEnv(t, db, nil, func(s jobs.ActionStore) jobs.ActionStore { crash.ActionStore = s; return crash })
		a := jobstest.Propose(t, db, jobstest.DuplicateItem("4200000000000000003", 700), payrecon.ActionRefundDuplicate)
		_, err := e.svc.Approve(ctx, a.ID, "alice", "duplicate confirmed")
		storetest.Must(t, err)
		if _, err := e.svc.Apply(ctx, a.ID, "bob"); err == nil {
			t.Fatal("apply with a crash after the provider call: want an error")
		}
		mid, err := db.GetAction(ctx, a.ID)
		storetest.Must(t, err)
		if mid.State != payrecon.ActionApproved || mid.IdempotencyKey == "" {
			t.Fatalf("after crash: %+v (want approved with the refund number recorded)", mid)
		}
		res, err := e.svc.Apply(ctx, a.ID, "bob")
		storetest.Must(t, err)
		if res.Action.State != payrecon.ActionApplied {
			t.Errorf("re-apply after crash: %+v", res.Action)
		}
		reqs, issued := e.fake.calls()
		if len(reqs) != 2 || issued != 1 || reqs[0].MerchantRefundNo != reqs[1].MerchantRefundNo || reqs[0].MerchantRefundNo != mid.IdempotencyKey {
			t.Errorf("after crash and retry: %d calls, %d refunds, numbers %v; want 2 calls with one number and 1 refund", len(reqs), issued, reqs)
		}
		jobstest.WantSteps(t, db, a.ID, "proposed/run", "approved/alice", "applying/bob", "interrupted/bob", "applying/bob", "applied/bob")
	})
}

func TestDismiss(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil, nil)
		a := jobstest.Propose(t, db, jobstest.DuplicateItem("4200000000000000004", 100), payrecon.ActionRefundDuplicate)
		if _, err := e.svc.Dismiss(ctx, a.ID, "", "why"); err == nil {
			t.Error("dismiss without operator: want an error")
		}
		d, err := e.svc.Dismiss(ctx, a.ID, "alice", "customer kept both orders")
		storetest.Must(t, err)
		if d.State != payrecon.ActionDismissed || d.Reason != "customer kept both orders" {
			t.Errorf("dismissed = %+v", d)
		}
		if _, err := e.svc.Apply(ctx, a.ID, "bob"); !errors.Is(err, payrecon.ErrInvalidState) {
			t.Errorf("apply dismissed: err = %v, want ErrInvalidState", err)
		}
		if _, err := e.svc.Approve(ctx, a.ID, "bob", "changed my mind"); !errors.Is(err, payrecon.ErrInvalidState) {
			t.Errorf("approve dismissed: err = %v, want ErrInvalidState", err)
		}
		if reqs, _ := e.fake.calls(); len(reqs) != 0 {
			t.Errorf("dismissed action called the provider %d times", len(reqs))
		}
		jobstest.WantSteps(t, db, a.ID, "proposed/run", "dismissed/alice")
		if _, err := e.svc.Dismiss(ctx, a.ID+999, "alice", "x"); !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("dismiss absent: err = %v, want ErrNotFound", err)
		}
	})
}

func missingPayment(txn string, amount int64) (payrecon.Item, payrecon.Order) {
	it := payrecon.Item{Class: payrecon.ClassMissingInLedger, Kind: payrecon.KindPayment,
		MerchantOrderNo: "M" + txn, ProviderTxnNo: txn, BillAmount: amount, Delta: amount,
		ProviderStatus: payrecon.StatusSuccess, BillTime: paidAt(10)}
	o := payrecon.Order{MerchantOrderNo: "M" + txn, ProviderTxnNo: txn, Status: payrecon.StatusSuccess,
		RawStatus: "TRX_SUCCESS", Amount: amount, PayerAmount: amount - 10, PromotionAmount: 10, Currency: "CNY", PaidAt: paidAt(10)}
	return it, o
}

func TestBackfillIdempotent(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		crash := &jobstest.CrashAfterProvider{Crashes: 1}
		e := newEnv(t, db, nil, func(s jobs.ActionStore) jobs.ActionStore { crash.ActionStore = s; return crash })
		it, o := missingPayment("4200000000000000010", 2599)
		e.fake.orders[o.ProviderTxnNo] = o
		a := jobstest.Propose(t, db, it, payrecon.ActionBackfillLedger)

		// The first apply writes the ledger entry, then "crashes".
		if _, err := e.svc.Apply(ctx, a.ID, "bob"); err == nil {
			t.Fatal("apply with a crash: want an error")
		}
		res, err := e.svc.Apply(ctx, a.ID, "bob")
		storetest.Must(t, err)
		if _, err := e.svc.Apply(ctx, a.ID, "bob"); err != nil {
			t.Fatalf("third apply: %v", err)
		}
		entries := ledgerEntries(t, db)
		if len(entries) != 1 {
			t.Fatalf("ledger has %d entries after backfilling twice, want 1: %+v", len(entries), entries)
		}
		got := entries[0]
		wantKey := payrecon.EventKey(payrecon.KindPayment, o.ProviderTxnNo, payrecon.StatusSuccess)
		if got.EventKey != wantKey || got.Source != "repair" || got.Amount != o.Amount || got.PayerAmount != o.PayerAmount ||
			got.Status != payrecon.StatusSuccess || !got.OccurredAt.Equal(o.PaidAt) || got.Provider != "huawei" || got.MerchantOrderNo != o.MerchantOrderNo {
			t.Errorf("backfilled entry = %+v", got)
		}
		if !strings.Contains(res.Message, "already had") {
			t.Errorf("second apply message %q: want it to say the ledger already had the entry", res.Message)
		}
		jobstest.WantSteps(t, db, a.ID, "proposed/run", "applying/bob", "interrupted/bob", "applying/bob", "applied/bob")
	})
}

func TestBackfillRefusedWhenProviderDenies(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil, nil)
		it, o := missingPayment("4200000000000000011", 100)
		o.Status, o.RawStatus = payrecon.StatusPending, "TRX_PROC"
		e.fake.orders[o.ProviderTxnNo] = o
		a := jobstest.Propose(t, db, it, payrecon.ActionBackfillLedger)
		_, err := e.svc.Apply(ctx, a.ID, "bob")
		if err == nil || !strings.Contains(err.Error(), "no longer confirms") {
			t.Fatalf("apply unconfirmed backfill: err = %v", err)
		}
		if n := len(ledgerEntries(t, db)); n != 0 {
			t.Errorf("unconfirmed backfill wrote %d ledger entries", n)
		}
		f, err := db.GetAction(ctx, a.ID)
		storetest.Must(t, err)
		if f.State != payrecon.ActionFailed || !strings.Contains(f.Result, "TRX_PROC") {
			t.Errorf("failed action = %+v", f)
		}
		audit, err := db.ActionAudit(ctx, a.ID)
		storetest.Must(t, err)
		if last := audit[len(audit)-1]; last.Step != "failed" || last.Actor != "bob" || !strings.Contains(last.Detail, "no longer confirms") {
			t.Errorf("last audit row = %+v, want the failure with its error", last)
		}
		// Once the provider confirms, the failed action can be applied again.
		o.Status, o.RawStatus = payrecon.StatusSuccess, "TRX_SUCCESS"
		e.fake.orders[o.ProviderTxnNo] = o
		_, err = e.svc.Apply(ctx, a.ID, "bob")
		storetest.Must(t, err)
		if n := len(ledgerEntries(t, db)); n != 1 {
			t.Errorf("retried backfill: %d ledger entries, want 1", n)
		}
		jobstest.WantSteps(t, db, a.ID, "proposed/run", "applying/bob", "failed/bob", "applying/bob", "applied/bob")
	})
}

func addEntry(t *testing.T, db *store.DB, e payrecon.LedgerEntry) payrecon.LedgerEntry {
	t.Helper()
	ctx := context.Background()
	e.Account, e.Provider, e.Source, e.Currency = "hw1", "huawei", "callback", "CNY"
	e.ReceivedAt = e.OccurredAt.Add(time.Second)
	dup, err := db.AddLedgerEntry(ctx, e)
	storetest.Must(t, err)
	if dup {
		t.Fatalf("entry %s already there", e.EventKey)
	}
	var got payrecon.LedgerEntry
	for _, x := range ledgerEntries(t, db) {
		if x.EventKey == e.EventKey {
			got = x
		}
	}
	if got.ID == 0 {
		t.Fatalf("entry %s not found after adding", e.EventKey)
	}
	return got
}

func TestCorrectStatusAndReverse(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil, nil)
		// Ledger says failed, provider says success → correct_status.
		failed := addEntry(t, db, payrecon.LedgerEntry{EventKey: "payment:4200000000000000020:failed", Kind: payrecon.KindPayment,
			Status: payrecon.StatusFailed, MerchantOrderNo: "M20", ProviderTxnNo: "4200000000000000020", Amount: 300, PayerAmount: 300, OccurredAt: paidAt(11)})
		e.fake.orders["4200000000000000020"] = payrecon.Order{MerchantOrderNo: "M20", ProviderTxnNo: "4200000000000000020", Status: payrecon.StatusSuccess, RawStatus: "TRX_SUCCESS", Amount: 300}
		cs := jobstest.Propose(t, db, payrecon.Item{Class: payrecon.ClassStatusMismatch, Kind: payrecon.KindPayment, MerchantOrderNo: "M20",
			ProviderTxnNo: "4200000000000000020", LedgerEntryID: failed.ID, LedgerStatus: payrecon.StatusFailed}, payrecon.ActionCorrectStatus)
		_, err := e.svc.Apply(ctx, cs.ID, "bob")
		storetest.Must(t, err)
		after, err := db.LedgerEntry(ctx, failed.ID)
		storetest.Must(t, err)
		if after.Status != payrecon.StatusSuccess {
			t.Errorf("corrected entry status = %s, want success", after.Status)
		}
		hist, err := db.LedgerHistory(ctx, failed.ID)
		storetest.Must(t, err)
		if last := hist[len(hist)-1]; last.Actor != "bob" || last.OldStatus != payrecon.StatusFailed || last.NewStatus != payrecon.StatusSuccess {
			t.Errorf("ledger history after correct_status = %+v, want bob's failed → success last", hist)
		}

		// Ledger success the provider does not know → reverse_ledger closes it.
		ghost := addEntry(t, db, payrecon.LedgerEntry{EventKey: "payment:4200000000000000021:success", Kind: payrecon.KindPayment,
			Status: payrecon.StatusSuccess, MerchantOrderNo: "M21", ProviderTxnNo: "4200000000000000021", Amount: 900, PayerAmount: 900, OccurredAt: paidAt(12)})
		rv := jobstest.Propose(t, db, payrecon.Item{Class: payrecon.ClassMissingInBill, Kind: payrecon.KindPayment, MerchantOrderNo: "M21",
			ProviderTxnNo: "4200000000000000021", LedgerEntryID: ghost.ID, LedgerAmount: 900, Delta: -900}, payrecon.ActionReverseLedger)
		_, err = e.svc.Apply(ctx, rv.ID, "bob")
		storetest.Must(t, err)
		if g, _ := db.LedgerEntry(ctx, ghost.ID); g.Status != payrecon.StatusClosed {
			t.Errorf("reversed entry status = %s, want closed", g.Status)
		}

		// A reverse the provider now contradicts fails and leaves the ledger alone.
		paid := addEntry(t, db, payrecon.LedgerEntry{EventKey: "payment:4200000000000000022:success", Kind: payrecon.KindPayment,
			Status: payrecon.StatusSuccess, MerchantOrderNo: "M22", ProviderTxnNo: "4200000000000000022", Amount: 50, PayerAmount: 50, OccurredAt: paidAt(13)})
		e.fake.orders["4200000000000000022"] = payrecon.Order{MerchantOrderNo: "M22", ProviderTxnNo: "4200000000000000022", Status: payrecon.StatusSuccess, Amount: 50}
		bad := jobstest.Propose(t, db, payrecon.Item{Class: payrecon.ClassMissingInBill, Kind: payrecon.KindPayment, MerchantOrderNo: "M22",
			ProviderTxnNo: "4200000000000000022", LedgerEntryID: paid.ID}, payrecon.ActionReverseLedger)
		if _, err := e.svc.Apply(ctx, bad.ID, "bob"); err == nil {
			t.Error("reverse of a paid order: want an error")
		}
		if g, _ := db.LedgerEntry(ctx, paid.ID); g.Status != payrecon.StatusSuccess {
			t.Errorf("refused reverse changed the entry to %s", g.Status)
		}
	})
}

func TestCorrectAgreementAndUnsign(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, nil, nil)
		ag := addEntry(t, db, payrecon.LedgerEntry{EventKey: "agreement:C1:signed", Kind: payrecon.KindAgreement,
			Status: payrecon.StatusSigned, AgreementNo: "C1", OccurredAt: paidAt(8)})
		e.fake.agreements["C1"] = payrecon.Agreement{AgreementNo: "C1", Status: payrecon.StatusUnsigned, RawStatus: "9"}
		ca := jobstest.Propose(t, db, payrecon.Item{Class: payrecon.ClassAgreementMismatch, Kind: payrecon.KindAgreement, AgreementNo: "C1",
			LedgerEntryID: ag.ID, LedgerStatus: payrecon.StatusSigned, ProviderStatus: payrecon.StatusUnsigned}, payrecon.ActionCorrectAgreement)
		_, err := e.svc.Apply(ctx, ca.ID, "bob")
		storetest.Must(t, err)
		if g, _ := db.LedgerEntry(ctx, ag.ID); g.Status != payrecon.StatusUnsigned {
			t.Errorf("agreement entry = %s, want unsigned", g.Status)
		}

		// unsign moves something at the provider: approval first.
		e.fake.agreements["C2"] = payrecon.Agreement{AgreementNo: "C2", Status: payrecon.StatusSigned, RawStatus: "1"}
		us := jobstest.Propose(t, db, payrecon.Item{Class: payrecon.ClassAgreementMismatch, Kind: payrecon.KindAgreement, AgreementNo: "C2"}, payrecon.ActionUnsign)
		if _, err := e.svc.Apply(ctx, us.ID, "bob"); !errors.Is(err, payrecon.ErrInvalidState) {
			t.Fatalf("unsign before approval: err = %v, want ErrInvalidState", err)
		}
		if len(e.fake.unsigned) != 0 {
			t.Fatalf("unsign before approval reached the provider")
		}
		_, err = e.svc.Approve(ctx, us.ID, "alice", "merchant ended the plan")
		storetest.Must(t, err)
		_, err = e.svc.Apply(ctx, us.ID, "bob")
		storetest.Must(t, err)
		_, err = e.svc.Apply(ctx, us.ID, "bob")
		storetest.Must(t, err)
		if !slices.Equal(e.fake.unsigned, []string{"C2"}) {
			t.Errorf("unsign calls = %v, want one for C2", e.fake.unsigned)
		}
		jobstest.WantSteps(t, db, us.ID, "proposed/run", "approved/alice", "applying/bob", "succeeded/bob")

		// manual_review is approved or dismissed, never applied.
		mr := jobstest.Propose(t, db, payrecon.Item{Class: payrecon.ClassAmountMismatch, Kind: payrecon.KindPayment, ProviderTxnNo: "4200000000000000030"}, payrecon.ActionManualReview)
		if _, err := e.svc.Apply(ctx, mr.ID, "bob"); !errors.Is(err, payrecon.ErrInvalidState) {
			t.Errorf("apply manual_review: err = %v, want ErrInvalidState", err)
		}
	})
}

func TestAutoApplySafeKindsOnly(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		ctx := context.Background()
		e := newEnv(t, db, []payrecon.ActionKind{payrecon.ActionBackfillLedger, payrecon.ActionCorrectStatus}, nil)
		it, o := missingPayment("4200000000000000040", 1200)
		e.fake.orders[o.ProviderTxnNo] = o
		bf := jobstest.Propose(t, db, it, payrecon.ActionBackfillLedger)

		failedEntry := addEntry(t, db, payrecon.LedgerEntry{EventKey: "payment:4200000000000000041:failed", Kind: payrecon.KindPayment,
			Status: payrecon.StatusFailed, MerchantOrderNo: "M41", ProviderTxnNo: "4200000000000000041", Amount: 300, PayerAmount: 300, OccurredAt: paidAt(11)})
		e.fake.orders["4200000000000000041"] = payrecon.Order{MerchantOrderNo: "M41", ProviderTxnNo: "4200000000000000041", Status: payrecon.StatusSuccess, Amount: 300}
		cs := jobstest.Propose(t, db, payrecon.Item{Class: payrecon.ClassStatusMismatch, Kind: payrecon.KindPayment, MerchantOrderNo: "M41",
			ProviderTxnNo: "4200000000000000041", LedgerEntryID: failedEntry.ID}, payrecon.ActionCorrectStatus)
		rd := jobstest.Propose(t, db, jobstest.DuplicateItem("4200000000000000042", 800), payrecon.ActionRefundDuplicate)
		rv := jobstest.Propose(t, db, payrecon.Item{Class: payrecon.ClassMissingInBill, Kind: payrecon.KindPayment, ProviderTxnNo: "4200000000000000043", LedgerEntryID: failedEntry.ID}, payrecon.ActionReverseLedger)
		// Another day's backfill is not touched.
		other := payrecon.Item{Class: payrecon.ClassMissingInLedger, Kind: payrecon.KindPayment, ProviderTxnNo: "4200000000000000044", Account: "hw1", Day: jobstest.DayD.Add(1)}
		od, _, err := db.ProposeAction(ctx, payrecon.Action{Item: other, Kind: payrecon.ActionBackfillLedger}, "run", "")
		storetest.Must(t, err)

		res, err := e.svc.AutoApply(ctx, "hw1", jobstest.DayD)
		storetest.Must(t, err)
		if res.Applied != 2 || res.Failed != 0 {
			t.Errorf("auto-apply result = %+v, want 2 applied", res)
		}
		for _, c := range []struct {
			id   int64
			want payrecon.ActionState
		}{{bf.ID, payrecon.ActionApplied}, {cs.ID, payrecon.ActionApplied}, {rd.ID, payrecon.ActionProposed}, {rv.ID, payrecon.ActionProposed}, {od.ID, payrecon.ActionProposed}} {
			got, err := db.GetAction(ctx, c.id)
			storetest.Must(t, err)
			if got.State != c.want {
				t.Errorf("action %d (%s) is %s, want %s", c.id, got.Kind, got.State, c.want)
			}
		}
		jobstest.WantSteps(t, db, bf.ID, "proposed/run", "applying/auto", "auto_applied/auto")
		jobstest.WantSteps(t, db, cs.ID, "proposed/run", "applying/auto", "auto_applied/auto")
		if reqs, _ := e.fake.calls(); len(reqs) != 0 {
			t.Errorf("auto-apply made %d refund calls", len(reqs))
		}
		if n := len(ledgerEntries(t, db)); n != 2 {
			t.Errorf("ledger entries after auto-apply = %d, want 2 (the failed one and the backfill)", n)
		}
		// Running it again finds nothing proposed.
		res, err = e.svc.AutoApply(ctx, "hw1", jobstest.DayD)
		storetest.Must(t, err)
		if res.Applied != 0 {
			t.Errorf("second auto-apply applied %d", res.Applied)
		}
	})
}

func TestActionsConfigRefusesMoneyMoving(t *testing.T) {
	for _, k := range []payrecon.ActionKind{payrecon.ActionRefundDuplicate, payrecon.ActionUnsign, payrecon.ActionReverseLedger, payrecon.ActionManualReview, "bogus"} {
		err := jobs.ActionsConfig{AutoApply: []payrecon.ActionKind{payrecon.ActionBackfillLedger, k}}.Validate()
		if err == nil || !strings.Contains(err.Error(), "auto_apply[1]") {
			t.Errorf("auto_apply %q: err = %v, want an error naming auto_apply[1]", k, err)
		}
	}
	if err := (jobs.ActionsConfig{AutoApply: jobs.AutoApplicable}).Validate(); err != nil {
		t.Errorf("safe kinds refused: %v", err)
	}
	_, err := jobs.NewActions(jobs.ActionsDeps{Config: jobs.ActionsConfig{AutoApply: []payrecon.ActionKind{payrecon.ActionRefundDuplicate}}})
	if err == nil || !strings.Contains(err.Error(), "moves money") {
		t.Errorf("NewActions with refund_duplicate auto-applied: err = %v", err)
	}
}
