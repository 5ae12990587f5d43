// Package providertest is the conformance suite every provider passes
// against its own sandbox. It plants a scenario (payments of each status, a
// cut-off payment, refunds, agreements signed and unsigned, optionally an
// "other" bill line), then checks the provider's bills, queries, callbacks
// and repair calls against that truth. Capabilities a provider lacks are
// skipped by type assertion.
//
// Use it from the provider package's tests:
//
//	func TestConformance(t *testing.T) {
//		sb, err := sandbox.New(&scenario.Scenario{}, sandbox.Options{})
//		if err != nil {
//			t.Fatal(err)
//		}
//		defer sb.Close()
//		p, err := huawei.New(sb.MerchantConfig(huawei.ModelDirect), logger)
//		if err != nil {
//			t.Fatal(err)
//		}
//		providertest.Run(t, providertest.Harness{Sandbox: sb, Provider: p, Day: payrecon.MustDay("2026-11-20")})
//	}
package providertest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/strict"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Harness is what a provider hands to the suite.
type Harness struct {
	// Sandbox is the provider's fake server, already running. The suite adds
	// its items to Sandbox.Scenario(); numbers are derived from Day, so one
	// sandbox can serve several Run calls for different days.
	Sandbox scenario.Sandbox
	// Provider is configured against Sandbox.URL().
	Provider payrecon.Provider
	// Day is the bill day to plant and check. Day+1 must be free too (the
	// cut-off payment lands there) and Day+2 is planted as not ready.
	Day payrecon.Day
	// Account is the account name used in callback requests; "" means "test".
	Account string
	// OtherType, when set, plants one bill line of that 交易类型 / business
	// type (e.g. "分账") that the provider must deliver as KindOther with
	// Type == OtherType. Leave empty when the provider's bills have no such rows.
	OtherType string
	// PaymentStatuses are the non-success statuses planted as orders for the
	// query checks; nil means failed and pending. Providers that know
	// closed or not-paid orders add them.
	PaymentStatuses []payrecon.Status
	// RefundStatuses are the non-success refund statuses planted; nil means pending.
	RefundStatuses []payrecon.Status
	// NoRefundQueryByProviderNo: the provider cannot query a refund by its own
	// refund number alone (only by the merchant's).
	NoRefundQueryByProviderNo bool
	// NoPayerAmount: the provider's payment callbacks carry only the order
	// total (no payer / promotion split), so the payer's share is not checked.
	NoPayerAmount bool
	// Timeout bounds each provider call; 0 means 10 s.
	Timeout time.Duration
	// Hostile declares the provider's callback format for the
	// HostileCallbacks subtest (every provider with a CallbackVerifier
	// must declare it; its sandbox must implement scenario.Resigner).
	Hostile Hostile
	// Verifier is the callback verifier HostileCallbacks plays against
	// when Provider is not one (wrapped to hide capabilities the other
	// checks cannot test); nil means Provider.
	Verifier payrecon.CallbackVerifier
	// HostileBills is the bill source the hostile-bill checks use when
	// Provider does not hand its bill source to the suite (MinCloud, whose
	// order-list "bill" the other bill checks do not fit); nil means
	// Provider's.
	HostileBills payrecon.BillSource
}

// planted is what the suite put into the scenario for one day.
type planted struct {
	paid      []scenario.Payment // success, billed on Day
	cutOff    scenario.Payment   // paid late on Day, billed on Day+1
	unpaid    []scenario.Payment // the other statuses
	refunds   []scenario.Refund  // success refunds billed on Day
	unrefunds []scenario.Refund  // other refund statuses
	signed    scenario.Agreement
	unsigned  scenario.Agreement
	other     *scenario.Other
	refundOf  scenario.Payment // a paid payment with no refund yet (apply-refund check)
	notReady  payrecon.Day
}

// Run plants the scenario and runs every check as a subtest.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Sandbox == nil || h.Provider == nil || h.Day == "" {
		t.Fatal("providertest: Harness needs Sandbox, Provider and Day")
	}
	if h.Account == "" {
		h.Account = "test"
	}
	if h.Timeout == 0 {
		h.Timeout = 10 * time.Second
	}
	if got, want := h.Provider.ProviderName(), h.Sandbox.ProviderName(); got != want {
		t.Fatalf("provider %q runs against a %q sandbox", got, want)
	}
	pl := plant(h)

	t.Run("TradeBill", func(t *testing.T) { testTradeBill(t, h, pl) })
	t.Run("CutOffNextDay", func(t *testing.T) { testCutOff(t, h, pl) })
	t.Run("BillNotReady", func(t *testing.T) { testNotReady(t, h, pl) })
	t.Run("QueryOrder", func(t *testing.T) { testQueryOrder(t, h, pl) })
	t.Run("QueryRefund", func(t *testing.T) { testQueryRefund(t, h, pl) })
	t.Run("QueryAgreement", func(t *testing.T) { testQueryAgreement(t, h, pl) })
	t.Run("Callbacks", func(t *testing.T) { testCallbacks(t, h, pl) })
	t.Run("CallbackTampered", func(t *testing.T) { testTampered(t, h, pl) })
	t.Run("CallbackMediaType", func(t *testing.T) { testCallbackMediaType(t, h, pl) })
	t.Run("TamperedKeepsEventID", func(t *testing.T) { testTamperedKeepsEventID(t, h, pl) })
	t.Run("HostileCallbacks", func(t *testing.T) { testHostile(t, h, pl) })
	t.Run("HostileBills", func(t *testing.T) { testHostileBills(t, h, pl) })
	t.Run("BillColumns", func(t *testing.T) { testBillColumns(t, h) })
	// The repair calls change the scenario: they run last.
	t.Run("ApplyRefundOnce", func(t *testing.T) { testApplyRefund(t, h, pl) })
	t.Run("CloseOrder", func(t *testing.T) { testCloseOrder(t, h, pl) })
	t.Run("Unsign", func(t *testing.T) { testUnsign(t, h, pl) })
}

func (h Harness) ctx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), h.Timeout)
	t.Cleanup(cancel)
	return ctx
}

// numeric ids: every provider accepts digits for its own numbers.
func num(prefix string, d payrecon.Day, n int) string {
	return fmt.Sprintf("%s%s%06d", prefix, d.Compact(), n)
}

func plant(h Harness) planted {
	d := h.Day
	at := func(hh, mm, ss int) time.Time {
		return d.Start().Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second)
	}
	mo := func(n int) string { return fmt.Sprintf("PT%sO%03d", d.Compact(), n) }
	var pl planted
	pl.notReady = d.Add(2)

	seq := 0
	pay := func(st payrecon.Status, amount, promo int64, created, paid time.Time) scenario.Payment {
		seq++
		p := scenario.Payment{
			MerchantOrderNo: mo(seq),
			ProviderTxnNo:   num("4200", d, seq),
			Status:          st,
			Amount:          amount,
			PayerAmount:     amount - promo,
			PromotionAmount: promo,
			Fee:             payrecon.FeeFor(amount, 6000),
			FeeRatePPM:      6000,
			CreatedAt:       created,
			Product:         "conformance 测试商品",
			Payload:         "pt|" + fmt.Sprint(seq),
			OpenID:          "openid-pt-" + fmt.Sprint(seq),
		}
		if st == payrecon.StatusSuccess {
			p.PaidAt = paid
		}
		return p
	}
	pl.paid = []scenario.Payment{
		pay(payrecon.StatusSuccess, 10000, 0, at(9, 0, 0), at(9, 0, 5)),
		pay(payrecon.StatusSuccess, 1, 0, at(10, 30, 0), at(10, 30, 2)),
		pay(payrecon.StatusSuccess, 123456, 1000, at(13, 14, 15), at(13, 14, 20)),
		pay(payrecon.StatusSuccess, 8800, 0, at(20, 0, 0), at(20, 0, 1)),
	}
	pl.refundOf = pl.paid[3]
	cut := pay(payrecon.StatusSuccess, 4321, 0, at(23, 59, 50), at(23, 59, 58))
	cut.BillDay = d.Add(1)
	pl.cutOff = cut
	statuses := h.PaymentStatuses
	if statuses == nil {
		statuses = []payrecon.Status{payrecon.StatusFailed, payrecon.StatusPending}
	}
	for i, st := range statuses {
		pl.unpaid = append(pl.unpaid, pay(st, int64(500+i), 0, at(15, i, 0), time.Time{}))
	}

	rseq := 0
	refund := func(of scenario.Payment, st payrecon.Status, amount int64, finished time.Time) scenario.Refund {
		rseq++
		r := scenario.Refund{
			MerchantRefundNo: fmt.Sprintf("PT%sR%03d", d.Compact(), rseq),
			ProviderRefundNo: num("5100", d, rseq),
			MerchantOrderNo:  of.MerchantOrderNo,
			ProviderTxnNo:    of.ProviderTxnNo,
			Status:           st,
			Amount:           amount,
			PayerAmount:      amount,
			Fee:              -payrecon.FeeFor(amount, 6000),
			CreatedAt:        finished.Add(-time.Minute),
			Reason:           "conformance",
		}
		if st == payrecon.StatusSuccess {
			r.FinishedAt = finished
		}
		return r
	}
	pl.refunds = []scenario.Refund{
		refund(pl.paid[0], payrecon.StatusSuccess, 10000, at(16, 0, 0)),
		refund(pl.paid[2], payrecon.StatusSuccess, 3456, at(17, 0, 0)),
	}
	rst := h.RefundStatuses
	if rst == nil {
		rst = []payrecon.Status{payrecon.StatusPending}
	}
	for i, st := range rst {
		r := refund(pl.paid[2], st, int64(100+i), at(18, i, 0))
		if st != payrecon.StatusSuccess {
			r.FinishedAt = time.Time{}
			r.BillDay = d // created on d, never billed unless success
		}
		pl.unrefunds = append(pl.unrefunds, r)
	}

	pl.signed = scenario.Agreement{
		AgreementNo: num("7000", d, 1), MerchantAgreeNo: fmt.Sprintf("PT%sC001", d.Compact()), PlanID: "PLAN01",
		Status: payrecon.StatusSigned, SignedAt: at(8, 0, 0), ChangeMode: "USER_SIGN", OpenID: "openid-pt-c1",
	}
	pl.unsigned = scenario.Agreement{
		AgreementNo: num("7000", d, 2), MerchantAgreeNo: fmt.Sprintf("PT%sC002", d.Compact()), PlanID: "PLAN01",
		Status: payrecon.StatusUnsigned, SignedAt: d.Add(-10).Start().Add(9 * time.Hour), TerminatedAt: at(11, 0, 0),
		ChangeMode: "USER_UNSIGN", OpenID: "openid-pt-c2",
	}
	if h.OtherType != "" {
		pl.other = &scenario.Other{Type: h.OtherType, ProviderTxnNo: num("4300", d, 1), Amount: 777, At: at(12, 0, 0)}
	}

	sc := h.Sandbox.Scenario()
	sc.Lock()
	defer sc.Unlock()
	sc.Payments = append(sc.Payments, pl.paid...)
	sc.Payments = append(sc.Payments, pl.cutOff)
	sc.Payments = append(sc.Payments, pl.unpaid...)
	sc.Refunds = append(sc.Refunds, pl.refunds...)
	sc.Refunds = append(sc.Refunds, pl.unrefunds...)
	sc.Agreements = append(sc.Agreements, pl.signed, pl.unsigned)
	if pl.other != nil {
		sc.Others = append(sc.Others, *pl.other)
	}
	if sc.NotReady == nil {
		sc.NotReady = map[payrecon.Day]bool{}
	}
	sc.NotReady[pl.notReady] = true
	return pl
}

func collectBill(t *testing.T, h Harness, src payrecon.BillSource, day payrecon.Day) ([]payrecon.BillLine, payrecon.BillFile) {
	t.Helper()
	var lines []payrecon.BillLine
	file, err := src.Bill(h.ctx(t), day, payrecon.BillTrade, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	})
	if err != nil {
		t.Fatalf("trade bill %s: %v", day, err)
	}
	return lines, file
}

func testTradeBill(t *testing.T, h Harness, pl planted) {
	src, ok := h.Provider.(payrecon.BillSource)
	if !ok {
		t.Skip("provider has no BillSource")
	}
	lines, file := collectBill(t, h, src, h.Day)
	sc := h.Sandbox.Scenario()
	wantPay := map[string]scenario.Payment{}
	for _, p := range sc.BillPayments(h.Day) {
		wantPay[p.ProviderTxnNo] = p
	}
	wantRef := map[string]scenario.Refund{}
	for _, r := range sc.BillRefunds(h.Day) {
		wantRef[r.ProviderRefundNo] = r
	}
	wantOther := map[string]scenario.Other{}
	if h.OtherType != "" {
		for _, o := range sc.BillOthers(h.Day) {
			wantOther[o.ProviderTxnNo] = o
		}
	}
	// the planted items are part of what the scenario bills
	for _, p := range pl.paid {
		if _, ok := wantPay[p.ProviderTxnNo]; !ok {
			t.Fatalf("scenario does not bill planted payment %s on %s", p.ProviderTxnNo, h.Day)
		}
	}
	if _, ok := wantPay[pl.cutOff.ProviderTxnNo]; ok {
		t.Fatalf("scenario bills the cut-off payment on %s", h.Day)
	}

	var gotPay, gotRef, gotOther int
	for _, l := range lines {
		where := fmt.Sprintf("%s line %d", l.File, l.LineNo)
		if l.Day != "" && l.Day != h.Day {
			t.Errorf("%s: Day %s, want %s", where, l.Day, h.Day)
		}
		if l.Bill != "" && l.Bill != payrecon.BillTrade {
			t.Errorf("%s: Bill %q, want trade", where, l.Bill)
		}
		switch l.Kind {
		case payrecon.KindPayment:
			gotPay++
			p, ok := wantPay[l.ProviderTxnNo]
			if !ok {
				t.Errorf("%s: payment %s/%s not in the scenario's bill", where, l.ProviderTxnNo, l.MerchantOrderNo)
				continue
			}
			delete(wantPay, l.ProviderTxnNo)
			if l.MerchantOrderNo != p.MerchantOrderNo {
				t.Errorf("%s: merchant order %q, want %q", where, l.MerchantOrderNo, p.MerchantOrderNo)
			}
			if l.Amount != p.Amount {
				t.Errorf("%s: payment %s amount %d, want %d", where, p.ProviderTxnNo, l.Amount, p.Amount)
			}
			if l.PayerAmount != 0 && l.PayerAmount != p.PayerAmount {
				t.Errorf("%s: payment %s payer amount %d, want %d", where, p.ProviderTxnNo, l.PayerAmount, p.PayerAmount)
			}
			if l.Status != payrecon.StatusSuccess {
				t.Errorf("%s: status %q, want success", where, l.Status)
			}
			if !l.FinishedAt.IsZero() && !l.FinishedAt.Equal(p.PaidAt.Truncate(time.Second)) && !l.FinishedAt.Equal(p.PaidAt.Truncate(time.Minute)) {
				t.Errorf("%s: finished %s, want %s", where, l.FinishedAt, p.PaidAt)
			}
		case payrecon.KindRefund:
			gotRef++
			r, ok := wantRef[l.ProviderRefundNo]
			if !ok {
				t.Errorf("%s: refund %s/%s not in the scenario's bill", where, l.ProviderRefundNo, l.MerchantRefundNo)
				continue
			}
			delete(wantRef, l.ProviderRefundNo)
			if l.MerchantRefundNo != r.MerchantRefundNo {
				t.Errorf("%s: merchant refund %q, want %q", where, l.MerchantRefundNo, r.MerchantRefundNo)
			}
			if l.Amount != r.Amount || l.Amount <= 0 {
				t.Errorf("%s: refund %s amount %d, want %d (positive)", where, r.ProviderRefundNo, l.Amount, r.Amount)
			}
			if l.ProviderTxnNo != "" && l.ProviderTxnNo != r.ProviderTxnNo {
				t.Errorf("%s: refund's payment %q, want %q", where, l.ProviderTxnNo, r.ProviderTxnNo)
			}
			if l.MerchantOrderNo != "" && l.MerchantOrderNo != r.MerchantOrderNo {
				t.Errorf("%s: refund's merchant order %q, want %q", where, l.MerchantOrderNo, r.MerchantOrderNo)
			}
			if l.ProviderTxnNo == "" && l.MerchantOrderNo == "" {
				t.Errorf("%s: refund line names no original payment", where)
			}
		case payrecon.KindOther:
			gotOther++
			if h.OtherType == "" {
				continue // provider has other rows the suite did not plant (not an error)
			}
			o, ok := wantOther[l.ProviderTxnNo]
			if !ok {
				t.Errorf("%s: other line %s not planted", where, l.ProviderTxnNo)
				continue
			}
			delete(wantOther, l.ProviderTxnNo)
			if l.Type != o.Type || l.Amount != o.Amount {
				t.Errorf("%s: other line %q %d, want %q %d", where, l.Type, l.Amount, o.Type, o.Amount)
			}
		default:
			t.Errorf("%s: kind %q", where, l.Kind)
		}
	}
	for k := range wantPay {
		t.Errorf("payment %s missing from the trade bill", k)
	}
	for k := range wantRef {
		t.Errorf("refund %s missing from the trade bill", k)
	}
	for k := range wantOther {
		t.Errorf("other line %s missing from the trade bill", k)
	}
	if file.Lines != 0 && file.Lines != int64(len(lines)) {
		t.Errorf("BillFile.Lines = %d, delivered %d", file.Lines, len(lines))
	}
	if file.SHA256 == "" {
		t.Error("BillFile.SHA256 is empty")
	}
	if gotPay < len(pl.paid) || gotRef < len(pl.refunds) {
		t.Errorf("got %d payments and %d refunds, planted at least %d and %d", gotPay, gotRef, len(pl.paid), len(pl.refunds))
	}
	if h.OtherType != "" && gotOther == 0 {
		t.Errorf("no other line delivered, planted one of type %q", h.OtherType)
	}
	// re-downloading gives the same bill
	again, file2 := collectBill(t, h, src, h.Day)
	if len(again) != len(lines) || file2.SHA256 != file.SHA256 {
		t.Errorf("second download: %d lines sha %s, first %d lines sha %s", len(again), file2.SHA256, len(lines), file.SHA256)
	}
}

func testCutOff(t *testing.T, h Harness, pl planted) {
	src, ok := h.Provider.(payrecon.BillSource)
	if !ok {
		t.Skip("provider has no BillSource")
	}
	lines, _ := collectBill(t, h, src, h.Day.Add(1))
	n := 0
	for _, l := range lines {
		if l.Kind == payrecon.KindPayment && l.ProviderTxnNo == pl.cutOff.ProviderTxnNo {
			n++
			if l.Amount != pl.cutOff.Amount {
				t.Errorf("cut-off payment amount %d, want %d", l.Amount, pl.cutOff.Amount)
			}
		}
	}
	if n != 1 {
		t.Errorf("cut-off payment %s appears %d times in the bill of %s, want once", pl.cutOff.ProviderTxnNo, n, h.Day.Add(1))
	}
}

func testNotReady(t *testing.T, h Harness, pl planted) {
	src, ok := h.Provider.(payrecon.BillSource)
	if !ok {
		t.Skip("provider has no BillSource")
	}
	n := 0
	_, err := src.Bill(h.ctx(t), pl.notReady, payrecon.BillTrade, func(payrecon.BillLine) error { n++; return nil })
	if !errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("bill of not-ready day %s: err = %v, want ErrBillNotReady", pl.notReady, err)
	}
	if n != 0 {
		t.Errorf("not-ready bill delivered %d lines", n)
	}
}

func testQueryOrder(t *testing.T, h Harness, pl planted) {
	q, ok := h.Provider.(payrecon.OrderQuerier)
	if !ok {
		t.Skip("provider has no OrderQuerier")
	}
	all := append(append(append([]scenario.Payment{}, pl.paid...), pl.cutOff), pl.unpaid...)
	for _, p := range all {
		for _, ref := range []payrecon.OrderRef{{MerchantOrderNo: p.MerchantOrderNo}, {ProviderTxnNo: p.ProviderTxnNo}} {
			o, err := q.QueryOrder(h.ctx(t), ref)
			if err != nil {
				t.Errorf("query %+v (%s): %v", ref, p.Status, err)
				continue
			}
			if o.Status != p.Status {
				t.Errorf("query %+v: status %q (raw %q), want %q", ref, o.Status, o.RawStatus, p.Status)
			}
			if o.MerchantOrderNo != p.MerchantOrderNo {
				t.Errorf("query %+v: merchant order %q, want %q", ref, o.MerchantOrderNo, p.MerchantOrderNo)
			}
			if p.Status == payrecon.StatusSuccess {
				if o.ProviderTxnNo != p.ProviderTxnNo {
					t.Errorf("query %+v: txn %q, want %q", ref, o.ProviderTxnNo, p.ProviderTxnNo)
				}
				if o.Amount != p.Amount {
					t.Errorf("query %+v: amount %d, want %d", ref, o.Amount, p.Amount)
				}
				if !o.PaidAt.IsZero() && !o.PaidAt.Equal(p.PaidAt) {
					t.Errorf("query %+v: paid at %s, want %s", ref, o.PaidAt, p.PaidAt)
				}
			}
		}
	}
	for _, ref := range []payrecon.OrderRef{{MerchantOrderNo: "PTNOSUCHORDER" + h.Day.Compact()}, {ProviderTxnNo: num("4999", h.Day, 999999)}} {
		_, err := q.QueryOrder(h.ctx(t), ref)
		if !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("query unknown %+v: err = %v, want ErrNotFound", ref, err)
		}
	}
}

func testQueryRefund(t *testing.T, h Harness, pl planted) {
	q, ok := h.Provider.(payrecon.RefundQuerier)
	if !ok {
		t.Skip("provider has no RefundQuerier")
	}
	for _, r := range append(append([]scenario.Refund{}, pl.refunds...), pl.unrefunds...) {
		refs := []payrecon.RefundRef{{MerchantRefundNo: r.MerchantRefundNo, MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo}}
		if !h.NoRefundQueryByProviderNo {
			refs = append(refs, payrecon.RefundRef{ProviderRefundNo: r.ProviderRefundNo, MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo})
		}
		for _, ref := range refs {
			got, err := q.QueryRefund(h.ctx(t), ref)
			if err != nil {
				t.Errorf("query refund %+v: %v", ref, err)
				continue
			}
			if got.Status != r.Status {
				t.Errorf("query refund %+v: status %q (raw %q), want %q", ref, got.Status, got.RawStatus, r.Status)
			}
			if got.Amount != r.Amount {
				t.Errorf("query refund %+v: amount %d, want %d", ref, got.Amount, r.Amount)
			}
			if got.MerchantRefundNo != r.MerchantRefundNo || (got.ProviderRefundNo != "" && got.ProviderRefundNo != r.ProviderRefundNo) {
				t.Errorf("query refund %+v: numbers %q/%q, want %q/%q", ref, got.MerchantRefundNo, got.ProviderRefundNo, r.MerchantRefundNo, r.ProviderRefundNo)
			}
		}
	}
	_, err := q.QueryRefund(h.ctx(t), payrecon.RefundRef{MerchantRefundNo: "PTNOSUCHREFUND" + h.Day.Compact(), MerchantOrderNo: pl.paid[0].MerchantOrderNo, ProviderTxnNo: pl.paid[0].ProviderTxnNo})
	if !errors.Is(err, payrecon.ErrNotFound) {
		t.Errorf("query unknown refund: err = %v, want ErrNotFound", err)
	}
}

func testQueryAgreement(t *testing.T, h Harness, pl planted) {
	q, ok := h.Provider.(payrecon.AgreementQuerier)
	if !ok {
		t.Skip("provider has no AgreementQuerier")
	}
	for _, a := range []scenario.Agreement{pl.signed, pl.unsigned} {
		for _, ref := range []payrecon.AgreementRef{{AgreementNo: a.AgreementNo}, {MerchantAgreeNo: a.MerchantAgreeNo, PlanID: a.PlanID}} {
			got, err := q.QueryAgreement(h.ctx(t), ref)
			if err != nil {
				t.Errorf("query agreement %+v: %v", ref, err)
				continue
			}
			if got.Status != a.Status {
				t.Errorf("query agreement %+v: status %q (raw %q), want %q", ref, got.Status, got.RawStatus, a.Status)
			}
			if got.AgreementNo != a.AgreementNo || got.MerchantAgreeNo != a.MerchantAgreeNo {
				t.Errorf("query agreement %+v: numbers %q/%q, want %q/%q", ref, got.AgreementNo, got.MerchantAgreeNo, a.AgreementNo, a.MerchantAgreeNo)
			}
		}
	}
	_, err := q.QueryAgreement(h.ctx(t), payrecon.AgreementRef{AgreementNo: num("7999", h.Day, 999999)})
	if !errors.Is(err, payrecon.ErrNotFound) {
		t.Errorf("query unknown agreement: err = %v, want ErrNotFound", err)
	}
}

func (h Harness) request(cb scenario.Callback) payrecon.CallbackRequest {
	return payrecon.CallbackRequest{
		Account:    h.Account,
		Header:     cb.Header.Clone(),
		Body:       append([]byte(nil), cb.Body...),
		RemoteAddr: "127.0.0.1:1",
		ReceivedAt: h.Day.Start().Add(23 * time.Hour),
	}
}

// render returns the sandbox's callback, or skips the kind when the sandbox
// says it does not render it.
func render(t *testing.T, kind string, f func() (scenario.Callback, error)) (scenario.Callback, bool) {
	t.Helper()
	cb, err := f()
	if err != nil {
		t.Logf("sandbox renders no %s callback: %v", kind, err)
		return scenario.Callback{}, false
	}
	return cb, true
}

func testCallbacks(t *testing.T, h Harness, pl planted) {
	v, ok := h.Provider.(payrecon.CallbackVerifier)
	if !ok {
		t.Skip("provider has no CallbackVerifier")
	}
	keys := map[string]string{} // event key → what made it
	seen := func(what string, e payrecon.LedgerEntry) {
		if e.EventKey == "" {
			t.Errorf("%s: empty EventKey", what)
			return
		}
		if prev, dup := keys[e.EventKey]; dup {
			t.Errorf("%s: EventKey %q already used by %s", what, e.EventKey, prev)
		}
		keys[e.EventKey] = what
	}
	verify := func(what string, cb scenario.Callback) (payrecon.VerifiedCallback, bool) {
		got, err := v.VerifyCallback(h.request(cb))
		if err != nil {
			t.Errorf("%s: valid callback rejected: %v", what, err)
			return got, false
		}
		if cb.EventID != "" && got.EventID != cb.EventID {
			t.Errorf("%s: EventID %q, want %q", what, got.EventID, cb.EventID)
		}
		again, err := v.VerifyCallback(h.request(cb))
		if err != nil || len(again.Entries) != len(got.Entries) {
			t.Errorf("%s: second verification differs (err %v)", what, err)
		} else {
			for i := range got.Entries {
				if again.Entries[i].EventKey != got.Entries[i].EventKey {
					t.Errorf("%s: EventKey not stable: %q then %q", what, got.Entries[i].EventKey, again.Entries[i].EventKey)
				}
			}
		}
		return got, true
	}

	for _, p := range pl.paid {
		what := "payment callback " + p.ProviderTxnNo
		cb, ok := render(t, "payment", func() (scenario.Callback, error) { return h.Sandbox.PaymentCallback(p) })
		if !ok {
			t.Errorf("%s: sandbox must render payment callbacks", what)
			continue
		}
		got, ok := verify(what, cb)
		if !ok {
			continue
		}
		if len(got.Entries) != 1 {
			t.Errorf("%s: %d entries, want 1", what, len(got.Entries))
			continue
		}
		e := got.Entries[0]
		seen(what, e)
		if e.Kind != payrecon.KindPayment || e.Status != payrecon.StatusSuccess || e.ProviderTxnNo != p.ProviderTxnNo || e.MerchantOrderNo != p.MerchantOrderNo || e.Amount != p.Amount {
			t.Errorf("%s: entry %s %s %s/%s %d, want payment success %s/%s %d", what, e.Kind, e.Status, e.ProviderTxnNo, e.MerchantOrderNo, e.Amount, p.ProviderTxnNo, p.MerchantOrderNo, p.Amount)
		}
		if !h.NoPayerAmount && e.PayerAmount != p.PayerAmount {
			t.Errorf("%s: payer amount %d, want %d", what, e.PayerAmount, p.PayerAmount)
		}
		if !e.OccurredAt.Equal(p.PaidAt) {
			t.Errorf("%s: occurred %s, want %s", what, e.OccurredAt, p.PaidAt)
		}
		if e.Account != "" && e.Account != h.Account {
			t.Errorf("%s: account %q, want %q", what, e.Account, h.Account)
		}
		if e.Provider != "" && e.Provider != h.Provider.ProviderName() {
			t.Errorf("%s: provider %q", what, e.Provider)
		}
	}
	// a failed payment's callback (where the provider sends one) never becomes a success
	for _, p := range pl.unpaid {
		if p.Status != payrecon.StatusFailed {
			continue
		}
		cb, ok := render(t, "failed payment", func() (scenario.Callback, error) { return h.Sandbox.PaymentCallback(p) })
		if !ok {
			continue
		}
		got, ok := verify("failed payment callback", cb)
		if !ok {
			continue
		}
		for _, e := range got.Entries {
			seen("failed payment callback", e)
			if e.Status == payrecon.StatusSuccess {
				t.Errorf("failed payment callback gave a success entry %+v", e)
			}
		}
	}
	for _, r := range pl.refunds {
		what := "refund callback " + r.ProviderRefundNo
		cb, ok := render(t, "refund", func() (scenario.Callback, error) { return h.Sandbox.RefundCallback(r) })
		if !ok {
			t.Errorf("%s: sandbox must render refund callbacks", what)
			continue
		}
		got, ok := verify(what, cb)
		if !ok {
			continue
		}
		if len(got.Entries) != 1 {
			t.Errorf("%s: %d entries, want 1", what, len(got.Entries))
			continue
		}
		e := got.Entries[0]
		seen(what, e)
		if e.Kind != payrecon.KindRefund || e.Status != payrecon.StatusSuccess || e.ProviderRefundNo != r.ProviderRefundNo || e.MerchantRefundNo != r.MerchantRefundNo || e.Amount != r.Amount {
			t.Errorf("%s: entry %s %s %s/%s %d, want refund success %s/%s %d", what, e.Kind, e.Status, e.ProviderRefundNo, e.MerchantRefundNo, e.Amount, r.ProviderRefundNo, r.MerchantRefundNo, r.Amount)
		}
		if e.ProviderTxnNo != "" && e.ProviderTxnNo != r.ProviderTxnNo {
			t.Errorf("%s: refund's payment %q, want %q", what, e.ProviderTxnNo, r.ProviderTxnNo)
		}
		if !e.OccurredAt.Equal(r.FinishedAt) {
			t.Errorf("%s: occurred %s, want %s", what, e.OccurredAt, r.FinishedAt)
		}
	}
	for _, a := range []scenario.Agreement{pl.signed, pl.unsigned} {
		what := fmt.Sprintf("agreement callback %s (%s)", a.AgreementNo, a.Status)
		cb, ok := render(t, "agreement", func() (scenario.Callback, error) { return h.Sandbox.AgreementCallback(a) })
		if !ok {
			continue
		}
		got, ok := verify(what, cb)
		if !ok {
			continue
		}
		if len(got.Entries) != 1 {
			t.Errorf("%s: %d entries, want 1", what, len(got.Entries))
			continue
		}
		e := got.Entries[0]
		seen(what, e)
		if e.Kind != payrecon.KindAgreement || e.Status != a.Status || e.AgreementNo != a.AgreementNo {
			t.Errorf("%s: entry %s %s %s, want agreement %s %s", what, e.Kind, e.Status, e.AgreementNo, a.Status, a.AgreementNo)
		}
		if e.MerchantAgreeNo != "" && e.MerchantAgreeNo != a.MerchantAgreeNo {
			t.Errorf("%s: merchant code %q, want %q", what, e.MerchantAgreeNo, a.MerchantAgreeNo)
		}
	}
	// the acknowledgement of success is a 2xx, of failure is not
	if ok := v.Reply(nil); ok.Status < 200 || ok.Status > 299 {
		t.Errorf("Reply(nil).Status = %d", ok.Status)
	}
	if bad := v.Reply(fmt.Errorf("x: %w", payrecon.ErrSignatureInvalid)); bad.Status >= 200 && bad.Status <= 299 {
		t.Errorf("Reply(err).Status = %d, want a failure status", bad.Status)
	}
}

// flipPositions returns byte offsets where changing one byte keeps a JSON
// body well formed (a digit anywhere, or a letter inside a string outside
// escapes), spread over the body; for non-JSON bodies, alphanumerics.
func flipPositions(body []byte) []int {
	var cand []int
	inStr, esc, skip := false, false, 0
	for i, c := range body {
		switch {
		case skip > 0:
			skip--
		case esc:
			esc = false
			if c == 'u' {
				skip = 4
			}
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case c >= '0' && c <= '9':
			cand = append(cand, i)
		case inStr && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')):
			cand = append(cand, i)
		}
	}
	if len(cand) == 0 {
		return nil
	}
	return []int{cand[0], cand[len(cand)/3], cand[len(cand)/2], cand[2*len(cand)/3], cand[len(cand)-1]}
}

func flip(c byte) byte {
	switch {
	case c == '9':
		return '8'
	case c >= '0' && c < '9':
		return c + 1
	case c == 'z' || c == 'Z':
		return c - 1
	default:
		return c + 1
	}
}

func testTampered(t *testing.T, h Harness, pl planted) {
	v, ok := h.Provider.(payrecon.CallbackVerifier)
	if !ok {
		t.Skip("provider has no CallbackVerifier")
	}
	var cbs []scenario.Callback
	if cb, err := h.Sandbox.PaymentCallback(pl.paid[2]); err == nil {
		cbs = append(cbs, cb)
	}
	if cb, err := h.Sandbox.RefundCallback(pl.refunds[0]); err == nil {
		cbs = append(cbs, cb)
	}
	if cb, err := h.Sandbox.AgreementCallback(pl.signed); err == nil {
		cbs = append(cbs, cb)
	}
	if len(cbs) == 0 {
		t.Skip("sandbox renders no callbacks")
	}
	for i, cb := range cbs {
		positions := flipPositions(cb.Body)
		if len(positions) == 0 {
			t.Fatalf("callback %d: nothing to flip in %q", i, cb.Body)
		}
		for _, pos := range positions {
			bad := cb
			bad.Body = append([]byte(nil), cb.Body...)
			bad.Body[pos] = flip(bad.Body[pos])
			_, err := v.VerifyCallback(h.request(bad))
			// A flip may also break the encoding (invalid UTF-8 after
			// percent-decoding, a broken escape): strict decoding refuses
			// that before the signature is read, which is a refusal too.
			if !errors.Is(err, payrecon.ErrSignatureInvalid) && strict.Rule(err) == "" {
				lo, hi := max(0, pos-12), min(len(bad.Body), pos+12)
				t.Errorf("callback %d with byte %d flipped (…%s…): err = %v, want ErrSignatureInvalid or a strict decoding refusal", i, pos, bad.Body[lo:hi], err)
			}
		}
		// an empty body is refused too (with whatever error)
		empty := cb
		empty.Body = nil
		if _, err := v.VerifyCallback(h.request(empty)); err == nil {
			t.Errorf("callback %d: empty body accepted", i)
		}
	}
}

func testApplyRefund(t *testing.T, h Harness, pl planted) {
	rf, ok := h.Provider.(payrecon.Refunder)
	if !ok {
		t.Skip("provider has no Refunder")
	}
	p := pl.refundOf
	req := payrecon.RefundRequest{
		OrderRef:         payrecon.OrderRef{MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo},
		MerchantRefundNo: payrecon.DeterministicRefundNo("PTDUP", h.Day.Compact()+"a1b2", 32),
		Amount:           p.Amount,
		Reason:           "conformance duplicate",
	}
	first, err := rf.ApplyRefund(h.ctx(t), req)
	if err != nil {
		t.Fatalf("apply refund: %v", err)
	}
	second, err := rf.ApplyRefund(h.ctx(t), req)
	if err != nil {
		t.Fatalf("apply refund again: %v", err)
	}
	if first.MerchantRefundNo != req.MerchantRefundNo {
		t.Errorf("refund number %q, want %q", first.MerchantRefundNo, req.MerchantRefundNo)
	}
	if first.ProviderRefundNo != second.ProviderRefundNo {
		t.Errorf("second apply gave provider refund %q, first %q", second.ProviderRefundNo, first.ProviderRefundNo)
	}
	sc := h.Sandbox.Scenario()
	sc.RLock()
	n := 0
	for _, r := range sc.Refunds {
		if r.MerchantRefundNo == req.MerchantRefundNo {
			n++
			if r.Amount != req.Amount || (r.ProviderTxnNo != "" && r.ProviderTxnNo != p.ProviderTxnNo) {
				t.Errorf("scenario refund %+v does not match the request", r)
			}
		}
	}
	sc.RUnlock()
	if n != 1 {
		t.Errorf("scenario holds %d refunds numbered %s, want 1", n, req.MerchantRefundNo)
	}
	if q, ok := h.Provider.(payrecon.RefundQuerier); ok {
		got, err := q.QueryRefund(h.ctx(t), payrecon.RefundRef{MerchantRefundNo: req.MerchantRefundNo, MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo})
		if err != nil {
			t.Errorf("query applied refund: %v", err)
		} else if got.Amount != req.Amount {
			t.Errorf("applied refund amount %d, want %d", got.Amount, req.Amount)
		}
	}
}

func testCloseOrder(t *testing.T, h Harness, pl planted) {
	c, ok := h.Provider.(payrecon.OrderCloser)
	if !ok {
		t.Skip("provider has no OrderCloser")
	}
	var target *scenario.Payment
	for i := range pl.unpaid {
		if pl.unpaid[i].Status == payrecon.StatusPending || pl.unpaid[i].Status == payrecon.StatusNotPaid {
			target = &pl.unpaid[i]
			break
		}
	}
	if target == nil {
		t.Skip("no unpaid order planted")
	}
	ref := payrecon.OrderRef{MerchantOrderNo: target.MerchantOrderNo}
	for i := 0; i < 2; i++ {
		if err := c.CloseOrder(h.ctx(t), ref); err != nil {
			t.Fatalf("close order (attempt %d): %v", i+1, err)
		}
	}
	got, ok := h.Sandbox.Scenario().FindPayment(target.MerchantOrderNo, "")
	if !ok {
		t.Fatal("closed order vanished from the scenario")
	}
	if got.Status == payrecon.StatusSuccess || got.Status == payrecon.StatusPending {
		t.Errorf("after close the scenario says %q", got.Status)
	}
	if q, ok := h.Provider.(payrecon.OrderQuerier); ok {
		o, err := q.QueryOrder(h.ctx(t), ref)
		if err == nil && (o.Status == payrecon.StatusSuccess || o.Status == payrecon.StatusPending) {
			t.Errorf("closed order queries as %q", o.Status)
		} else if err != nil && !errors.Is(err, payrecon.ErrNotFound) {
			t.Errorf("query closed order: %v", err)
		}
	}
}

func testUnsign(t *testing.T, h Harness, pl planted) {
	u, ok := h.Provider.(payrecon.Unsigner)
	if !ok {
		t.Skip("provider has no Unsigner")
	}
	ref := payrecon.AgreementRef{AgreementNo: pl.signed.AgreementNo, MerchantAgreeNo: pl.signed.MerchantAgreeNo, PlanID: pl.signed.PlanID}
	for i := 0; i < 2; i++ {
		if err := u.Unsign(h.ctx(t), ref, "conformance"); err != nil {
			t.Fatalf("unsign (attempt %d): %v", i+1, err)
		}
	}
	a, ok := h.Sandbox.Scenario().FindAgreement(pl.signed.AgreementNo, "")
	if !ok || a.Status != payrecon.StatusUnsigned {
		t.Errorf("after unsign the scenario says %q", a.Status)
	}
	if q, ok := h.Provider.(payrecon.AgreementQuerier); ok {
		got, err := q.QueryAgreement(h.ctx(t), payrecon.AgreementRef{AgreementNo: pl.signed.AgreementNo})
		if err != nil {
			t.Errorf("query unsigned agreement: %v", err)
		} else if got.Status != payrecon.StatusUnsigned {
			t.Errorf("unsigned agreement queries as %q", got.Status)
		}
	}
	calls := strings.Join(h.Sandbox.Calls(), "\n")
	if calls == "" {
		t.Error("sandbox recorded no API calls")
	}
}
