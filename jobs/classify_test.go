package jobs

import (
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
)

// These tests call classify.go's pure functions one class at a time: no
// store, no provider, no HTTP. The end-to-end ground-truth tests run the
// same functions through the engine.

var (
	// capsFull can query everything, refund, close orders and unsign.
	capsFull = Caps{Provider: "prov", QueryOrder: true, QueryRefund: true, QueryAgreement: true, Refund: true, CloseOrder: true, Unsign: true}
	// capsQuery can query but not act at the provider.
	capsQuery = Caps{Provider: "prov", QueryOrder: true, QueryRefund: true, QueryAgreement: true}
	// capsBare can do nothing but bills.
	capsBare = Caps{Provider: "prov"}
)

// want is what a case expects of a Decision: class, action and the note
// (exactly, or, after a leading "~", words of it).
type want struct {
	class  payrecon.Class
	action payrecon.ActionKind
	note   string
}

// seen collects the classes the tables expect while
// TestClassifyCoversEveryClass runs them (nil otherwise).
var seen map[payrecon.Class]bool

func (w want) check(t *testing.T, d Decision) {
	t.Helper()
	if seen != nil {
		seen[w.class] = true
	}
	if d.Class != w.class || d.Action != w.action {
		t.Errorf("got class %s action %q, want %s %q (note %q)", d.Class, d.Action, w.class, w.action, d.Note)
	}
	if part, ok := strings.CutPrefix(w.note, "~"); ok {
		if !strings.Contains(d.Note, part) {
			t.Errorf("note %q, want it to contain %q", d.Note, part)
		}
	} else if d.Note != w.note {
		t.Errorf("note %q, want %q", d.Note, w.note)
	}
}

func ans(st payrecon.Status, raw string) Answer { return Answer{Supported: true, Status: st, Raw: raw} }

func payLine(st payrecon.Status, amount int64) *payrecon.BillLine {
	return &payrecon.BillLine{Kind: payrecon.KindPayment, Status: st, Amount: amount, ProviderTxnNo: "T1", MerchantOrderNo: "O1"}
}

func refundLine(st payrecon.Status, amount int64) *payrecon.BillLine {
	return &payrecon.BillLine{Kind: payrecon.KindRefund, Status: st, Amount: amount, ProviderRefundNo: "R1", MerchantRefundNo: "MR1"}
}

func TestPairClass(t *testing.T) {
	ok, failed := payrecon.StatusSuccess, payrecon.StatusFailed
	paid := ledgerFacts{success: true, amount: 1000}
	split := splitHash(900, 100) // the ledger's payer/promotion split
	withSplit := func(payer, promo int64) *payrecon.BillLine {
		l := payLine(ok, 1000)
		l.PayerAmount, l.PromotionAmount = payer, promo
		return l
	}
	cases := []struct {
		name  string
		led   ledgerFacts
		split uint32 // the ledger's split, 0 when none
		line  *payrecon.BillLine
		fee   bool
		class payrecon.Class
	}{
		{"payment agrees", paid, 0, payLine(ok, 1000), false, payrecon.ClassMatched},
		{"both sides failed: no money moved", ledgerFacts{amount: 1000}, 0, payLine(failed, 1000), false, payrecon.ClassMatched},
		{"both failed, amounts differ", ledgerFacts{amount: 1000}, 0, payLine(failed, 5), true, payrecon.ClassMatched},
		{"ledger success, bill failed", paid, 0, payLine(failed, 1000), false, payrecon.ClassStatusMismatch},
		{"ledger failed, bill success", ledgerFacts{amount: 1000}, 0, payLine(ok, 1000), false, payrecon.ClassStatusMismatch},
		{"status before duplicate", ledgerFacts{duplicate: true, amount: 1000}, 0, payLine(ok, 1000), false, payrecon.ClassStatusMismatch},
		{"payment total differs", paid, 0, payLine(ok, 999), false, payrecon.ClassAmountMismatch},
		{"same total, other payer/promotion split", paid, split, withSplit(800, 200), false, payrecon.ClassAmountMismatch},
		{"same split", paid, split, withSplit(900, 100), false, payrecon.ClassMatched},
		{"bill states no split", paid, split, payLine(ok, 1000), false, payrecon.ClassMatched},
		{"ledger has no split", paid, 0, withSplit(800, 200), false, payrecon.ClassMatched},
		{"second transaction of one order", ledgerFacts{success: true, duplicate: true, amount: 1000}, 0, payLine(ok, 1000), false, payrecon.ClassDuplicatePayment},
		{"duplicate before amount", ledgerFacts{success: true, duplicate: true, amount: 1000}, 0, payLine(ok, 1), false, payrecon.ClassDuplicatePayment},
		{"fee differs", paid, 0, payLine(ok, 1000), true, payrecon.ClassFeeMismatch},
		{"amount before fee", paid, 0, payLine(ok, 1), true, payrecon.ClassAmountMismatch},
		{"refund agrees", ledgerFacts{success: true, refund: true, amount: 500}, 0, refundLine(ok, 500), false, payrecon.ClassMatched},
		{"partial refund: bill refunds less", ledgerFacts{success: true, refund: true, amount: 500}, 0, refundLine(ok, 300), false, payrecon.ClassRefundAmountMismatch},
		{"refund: fee not checked", ledgerFacts{success: true, refund: true, amount: 500}, 0, refundLine(ok, 500), true, payrecon.ClassMatched},
		{"refund failed at the provider", ledgerFacts{success: true, refund: true, amount: 500}, 0, refundLine(failed, 500), false, payrecon.ClassStatusMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if seen != nil {
				seen[c.class] = true
			}
			if got := pairClass(c.led, c.line, splitDiffers(c.split, c.line), c.fee); got != c.class {
				t.Errorf("pairClass = %s, want %s", got, c.class)
			}
		})
	}
}

func TestPairDecision(t *testing.T) {
	ok, failed := payrecon.StatusSuccess, payrecon.StatusFailed
	led := func(kind payrecon.Kind, st payrecon.Status, amount, payer int64) *payrecon.LedgerEntry {
		return &payrecon.LedgerEntry{Kind: kind, Status: st, Amount: amount, PayerAmount: payer}
	}
	cases := []struct {
		name       string
		class      payrecon.Class
		le         *payrecon.LedgerEntry
		line       *payrecon.BillLine
		byMerchant bool
		caps       Caps
		want
	}{
		{"amount mismatch", payrecon.ClassAmountMismatch, led(payrecon.KindPayment, ok, 1000, 1000), payLine(ok, 999), false, capsFull,
			want{payrecon.ClassAmountMismatch, payrecon.ActionManualReview, "bill 9.99 (payer 0.00) vs ledger 10.00 (payer 10.00)"}},
		{"partial refund", payrecon.ClassRefundAmountMismatch, led(payrecon.KindRefund, ok, 500, 0), refundLine(ok, 300), false, capsFull,
			want{payrecon.ClassRefundAmountMismatch, payrecon.ActionManualReview, "bill 3.00 (payer 0.00) vs ledger 5.00 (payer 0.00)"}},
		{"status mismatch, provider final", payrecon.ClassStatusMismatch, led(payrecon.KindPayment, ok, 1000, 0), payLine(failed, 1000), false, capsQuery,
			want{payrecon.ClassStatusMismatch, payrecon.ActionCorrectStatus, "ledger says success, bill says failed"}},
		{"status mismatch, no query to confirm", payrecon.ClassStatusMismatch, led(payrecon.KindPayment, ok, 1000, 0), payLine(failed, 1000), false, capsBare,
			want{payrecon.ClassStatusMismatch, payrecon.ActionManualReview, "ledger says success, bill says failed; prov offers no payment query to confirm the status"}},
		{"refund status mismatch", payrecon.ClassStatusMismatch, led(payrecon.KindRefund, ok, 500, 0), refundLine(failed, 500), false, capsFull,
			want{payrecon.ClassStatusMismatch, payrecon.ActionCorrectStatus, "ledger says success, bill says failed"}},
		{"duplicate, refund possible", payrecon.ClassDuplicatePayment, led(payrecon.KindPayment, ok, 1000, 0), payLine(ok, 1000), false, capsFull,
			want{payrecon.ClassDuplicatePayment, payrecon.ActionRefundDuplicate, "merchant order paid by more than one provider transaction (both in the ledger)"}},
		{"duplicate, refund disabled", payrecon.ClassDuplicatePayment, led(payrecon.KindPayment, ok, 1000, 0), payLine(ok, 1000), false, capsQuery,
			want{payrecon.ClassDuplicatePayment, payrecon.ActionManualReview, "merchant order paid by more than one provider transaction (both in the ledger); prov cannot refund here (no refund API, or refund_duplicate is not in jobs.provider_actions): refund by hand"}},
		{"fee stated and differing", payrecon.ClassFeeMismatch, led(payrecon.KindPayment, ok, 1000, 0), payLine(ok, 1000), false, capsFull,
			want{payrecon.ClassFeeMismatch, payrecon.ActionManualReview, "FEE NOTE"}},
		{"fee, met by merchant number", payrecon.ClassFeeMismatch, led(payrecon.KindPayment, ok, 1000, 0), payLine(ok, 1000), true, capsFull,
			want{payrecon.ClassFeeMismatch, payrecon.ActionManualReview, "matched by merchant number; FEE NOTE"}},
		{"amount, met by merchant number", payrecon.ClassAmountMismatch, led(payrecon.KindPayment, ok, 1000, 0), payLine(ok, 1200), true, capsFull,
			want{payrecon.ClassAmountMismatch, payrecon.ActionManualReview, "matched by merchant number; ledger success 10.00, bill success 12.00"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.check(t, pairDecision(c.class, c.le, c.line, c.byMerchant, "FEE NOTE", c.caps))
		})
	}
}

func TestTradeFeeStated(t *testing.T) {
	onTrade := payrecon.FeeFacts{Bill: payrecon.BillTrade}
	onSettle := payrecon.FeeFacts{Bill: payrecon.BillSettlement}
	const rate = 6000 // 0.6%: 10.00 gives 0.06
	line := func(fee int64, stated bool) *payrecon.BillLine {
		l := payLine(payrecon.StatusSuccess, 1000)
		l.Fee, l.FeeStated = fee, stated
		return l
	}
	cases := []struct {
		name string
		f    payrecon.FeeFacts
		l    *payrecon.BillLine
		rate int64
		want bool
	}{
		{"stated, as the rate gives", onTrade, line(6, true), rate, false},
		{"stated, differing", onTrade, line(7, true), rate, true},
		{"stated as zero, differing", onTrade, line(0, true), rate, true},
		{"not stated: never checked", onTrade, line(0, false), rate, false},
		{"no rate configured", onTrade, line(7, true), 0, false},
		{"fees live on the settlement bill", onSettle, line(7, true), rate, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := tradeFeeMismatch(c.f, c.l, c.rate); got != c.want {
				t.Errorf("tradeFeeMismatch = %v, want %v", got, c.want)
			}
		})
	}
	want{payrecon.ClassFeeMismatch, payrecon.ActionManualReview, "bill fee 0.07, configured rate gives 0.06"}.check(t,
		pairDecision(payrecon.ClassFeeMismatch, &payrecon.LedgerEntry{Status: payrecon.StatusSuccess}, line(7, true), false, tradeFeeNote(7, 6), capsFull))
}

// A line or entry that met no partner: asked about only when money moved.
func TestLone(t *testing.T) {
	for _, tc := range []struct {
		status payrecon.Status
		ask    bool
	}{
		{payrecon.StatusSuccess, true},
		{payrecon.StatusFailed, false}, {payrecon.StatusClosed, false}, {payrecon.StatusPending, false},
		{payrecon.StatusNotPaid, false}, {payrecon.StatusNotFound, false}, {"", false},
	} {
		t.Run(string(tc.status), func(t *testing.T) {
			d, ask := lone(tc.status.Paid())
			if ask != tc.ask {
				t.Fatalf("status %q: ask %v, want %v", tc.status, ask, tc.ask)
			}
			if !ask {
				want{class: payrecon.ClassMatched}.check(t, d)
			}
		})
	}
}

func TestUnmatchedLine(t *testing.T) {
	ok := payrecon.StatusSuccess
	cases := []struct {
		name string
		line *payrecon.BillLine
		ans  Answer
		caps Caps
		want
	}{
		{"confirmed by the query", payLine(ok, 1000), ans(ok, "SUCCESS"), capsQuery,
			want{payrecon.ClassMissingInLedger, payrecon.ActionBackfillLedger, "confirmed by the provider's query (SUCCESS)"}},
		{"refund confirmed", refundLine(ok, 500), ans(ok, "REFUND_SUCCESS"), capsQuery,
			want{payrecon.ClassRefundMissingInLedger, payrecon.ActionBackfillLedger, "confirmed by the provider's query (REFUND_SUCCESS)"}},
		{"no query offered", payLine(ok, 1000), Answer{}, capsBare,
			want{payrecon.ClassMissingInLedger, payrecon.ActionManualReview, "not confirmed: the provider offers no query for it"}},
		{"closed at the provider", payLine(ok, 1000), ans(payrecon.StatusClosed, "CLOSED"), capsFull,
			want{payrecon.ClassMissingInLedger, payrecon.ActionManualReview, "bill lists it but the provider's query says closed (CLOSED)"}},
		{"not found at the provider", payLine(ok, 1000), ans(payrecon.StatusNotFound, "not found"), capsFull,
			want{payrecon.ClassMissingInLedger, payrecon.ActionManualReview, "bill lists it but the provider's query says not_found (not found)"}},
		{"pending at the provider", refundLine(ok, 500), ans(payrecon.StatusPending, "PROCESSING"), capsFull,
			want{payrecon.ClassRefundMissingInLedger, payrecon.ActionManualReview, "bill lists it but the provider's query says pending (PROCESSING)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.want.check(t, unmatchedLine(c.line, c.ans, c.caps)) })
	}

	t.Run("second transaction of a paid order", func(t *testing.T) {
		want{payrecon.ClassDuplicatePayment, payrecon.ActionRefundDuplicate, "merchant order already paid by provider transaction T0"}.check(t,
			secondPayment(payLine(ok, 1000), "T0", ok, capsFull))
		want{payrecon.ClassDuplicatePayment, payrecon.ActionManualReview, "merchant order already paid by provider transaction T0; prov cannot refund here (no refund API, or refund_duplicate is not in jobs.provider_actions): refund by hand"}.check(t,
			secondPayment(payLine(ok, 1000), "T0", ok, capsQuery))
	})
	t.Run("resolved late", func(t *testing.T) {
		origin := &payrecon.Item{Kind: payrecon.KindPayment, OriginDay: "2026-11-19", LedgerAmount: 1000, LedgerStatus: ok}
		want{payrecon.ClassResolvedLate, payrecon.ActionNone, "carried over from 2026-11-19"}.check(t, resolvedLate(origin, payLine(ok, 1000), 1000, capsFull))
		d := resolvedLate(origin, payLine(ok, 900), 900, capsFull)
		want{payrecon.ClassResolvedLate, payrecon.ActionNone, "carried over from 2026-11-19; ledger amount was 10.00"}.check(t, d)
		refund := &payrecon.Item{Kind: payrecon.KindRefund, OriginDay: "2026-11-19", LedgerAmount: -500, LedgerStatus: ok}
		if d := resolvedLate(refund, refundLine(ok, 500), -500, capsFull); d.Note != "carried over from 2026-11-19" {
			t.Errorf("refund of the same amount: note %q", d.Note)
		}
	})
	t.Run("other bill line", func(t *testing.T) {
		l := &payrecon.BillLine{Kind: payrecon.Kind("other"), Type: "分账", Amount: 250}
		want{payrecon.ClassOtherBillLine, payrecon.ActionNone, "bill line of type 分账 (2.50) is not reconciled"}.check(t, otherLine(l))
	})
}

func TestLeftover(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rq := requery{now: at.Add(72 * time.Hour), last: 72 * time.Hour}
	pay := &payrecon.LedgerEntry{Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, Amount: 1000, OccurredAt: at}
	recent := &payrecon.LedgerEntry{Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, Amount: 1000, OccurredAt: at.Add(time.Second)}
	untimed := &payrecon.LedgerEntry{Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, Amount: 1000}
	refund := &payrecon.LedgerEntry{Kind: payrecon.KindRefund, Status: payrecon.StatusSuccess, Amount: 500, OccurredAt: at}
	cases := []struct {
		name string
		le   *payrecon.LedgerEntry
		ans  Answer
		caps Caps
		want
	}{
		{"no query offered", pay, Answer{}, capsBare,
			want{payrecon.ClassMissingInBill, payrecon.ActionManualReview, "not in the bill; not confirmed: the provider offers no query for it"}},
		{"paid: expected in a later bill", pay, ans(payrecon.StatusSuccess, "SUCCESS"), capsFull,
			want{payrecon.ClassCarriedOver, payrecon.ActionRecheck, "paid per the provider's query, not in this day's bill: expected in a later bill"}},
		{"pending within the re-query schedule", recent, ans(payrecon.StatusPending, "USERPAYING"), capsFull,
			want{payrecon.ClassCarriedOver, payrecon.ActionRecheck, NotePending}},
		{"pending, time unknown", untimed, ans(payrecon.StatusPending, "USERPAYING"), capsFull,
			want{payrecon.ClassCarriedOver, payrecon.ActionRecheck, NotePending}},
		{"pending past the re-query schedule", pay, ans(payrecon.StatusPending, "USERPAYING"), capsFull,
			want{payrecon.ClassMissingInBill, payrecon.ActionCloseOrder, "still pending at the provider past the re-query schedule (USERPAYING)"}},
		{"pending past the schedule, cannot close", pay, ans(payrecon.StatusPending, "USERPAYING"), capsQuery,
			want{payrecon.ClassMissingInBill, payrecon.ActionManualReview, "still pending at the provider past the re-query schedule (USERPAYING); still pending at the provider past the re-query schedule, and prov cannot close orders here: close it at the provider by hand"}},
		{"refund pending past the schedule", refund, ans(payrecon.StatusPending, "PROCESSING"), capsFull,
			want{payrecon.ClassRefundMissingInBill, payrecon.ActionManualReview, "still pending at the provider past the re-query schedule (PROCESSING); refund still pending at the provider past the re-query schedule, and a refund cannot be closed: ask the provider"}},
		{"closed", pay, ans(payrecon.StatusClosed, "CLOSED"), capsQuery,
			want{payrecon.ClassMissingInBill, payrecon.ActionReverseLedger, "not in the bill and the provider's query says closed (CLOSED)"}},
		{"timed out (closed at the provider)", pay, ans(payrecon.StatusClosed, "TIMEOUT"), capsQuery,
			want{payrecon.ClassMissingInBill, payrecon.ActionReverseLedger, "not in the bill and the provider's query says closed (TIMEOUT)"}},
		{"failed", pay, ans(payrecon.StatusFailed, "PAYERROR"), capsQuery,
			want{payrecon.ClassMissingInBill, payrecon.ActionReverseLedger, "not in the bill and the provider's query says failed (PAYERROR)"}},
		{"never paid", pay, ans(payrecon.StatusNotPaid, "NOTPAY"), capsQuery,
			want{payrecon.ClassMissingInBill, payrecon.ActionReverseLedger, "not in the bill and the provider's query says not_paid (NOTPAY)"}},
		{"not found", pay, ans(payrecon.StatusNotFound, "not found"), capsQuery,
			want{payrecon.ClassMissingInBill, payrecon.ActionReverseLedger, "not in the bill and the provider's query says not_found (not found)"}},
		{"refund closed", refund, ans(payrecon.StatusClosed, "REFUNDCLOSE"), capsQuery,
			want{payrecon.ClassRefundMissingInBill, payrecon.ActionReverseLedger, "not in the bill and the provider's query says closed (REFUNDCLOSE)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { c.want.check(t, leftover(c.le, c.ans, rq, c.caps)) })
	}
}

func TestRequeryExpired(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	rq := requery{now: at, last: time.Hour}
	for _, c := range []struct {
		since time.Time
		want  bool
	}{
		{at.Add(-time.Hour), true},
		{at.Add(-time.Hour + time.Nanosecond), false},
		{at.Add(-48 * time.Hour), true},
		{time.Time{}, false},
	} {
		if got := rq.expired(c.since); got != c.want {
			t.Errorf("expired(%v) = %v, want %v", c.since, got, c.want)
		}
	}
}

func TestCarryOver(t *testing.T) {
	at := time.Date(2026, 11, 17, 10, 0, 0, 0, time.UTC)
	rq := requery{now: at.Add(72 * time.Hour), last: 72 * time.Hour}
	item := func(kind payrecon.Kind, ledgerTime time.Time) *payrecon.Item {
		return &payrecon.Item{Kind: kind, OriginDay: "2026-11-17", LedgerAmount: 1000, LedgerStatus: payrecon.StatusSuccess,
			LedgerTime: ledgerTime, ProviderStatus: payrecon.StatusSuccess, ProviderTxnNo: "T1"}
	}
	pay := item(payrecon.KindPayment, at)

	t.Run("carry-over age", func(t *testing.T) {
		for _, c := range []struct {
			day payrecon.Day
			age int
		}{{"2026-11-17", 0}, {"2026-11-18", 1}, {"2026-11-20", 3}, {"2026-12-01", 14}} {
			if got := carryAge("2026-11-17", c.day); got != c.age {
				t.Errorf("carryAge(2026-11-17, %s) = %d, want %d", c.day, got, c.age)
			}
		}
	})
	t.Run("within the carry-over window", func(t *testing.T) {
		if d, ok := carryTooOld(pay, "2026-11-19", 3, capsFull); ok {
			t.Errorf("2 days of 3: decided %+v, want it to wait", d)
		}
	})
	t.Run("carried over too long, paid as last queried", func(t *testing.T) {
		d, ok := carryTooOld(pay, "2026-11-20", 3, capsFull)
		if !ok {
			t.Fatal("3 days of 3: not decided")
		}
		want{payrecon.ClassMissingInBill, payrecon.ActionManualReview,
			"carried over 3 days and still absent from the bills (ledger 10.00 on 2026-11-17); paid per the provider but absent from its bills: ask the provider for the bill line"}.check(t, d)
	})
	t.Run("carried over too long, closed as last queried", func(t *testing.T) {
		closed := *pay
		closed.ProviderStatus = payrecon.StatusClosed
		d, _ := carryTooOld(&closed, "2026-11-20", 3, capsFull)
		want{payrecon.ClassMissingInBill, payrecon.ActionReverseLedger, "carried over 3 days and still absent from the bills (ledger 10.00 on 2026-11-17)"}.check(t, d)
	})

	stays := []struct {
		name string
		it   *payrecon.Item
		ans  Answer
	}{
		{"still paid", pay, ans(payrecon.StatusSuccess, "SUCCESS")},
		{"no query offered", pay, Answer{}},
		{"pending within the schedule", item(payrecon.KindPayment, at.Add(time.Minute)), ans(payrecon.StatusPending, "USERPAYING")},
	}
	for _, c := range stays {
		t.Run("stays open: "+c.name, func(t *testing.T) {
			if d, ok := recheckCarry(c.it, c.ans, rq, capsFull); ok {
				t.Errorf("decided %+v, want it to stay open", d)
			}
		})
	}
	decides := []struct {
		name string
		it   *payrecon.Item
		ans  Answer
		caps Caps
		want
	}{
		{"pending past the schedule", pay, ans(payrecon.StatusPending, "USERPAYING"), capsFull,
			want{payrecon.ClassMissingInBill, payrecon.ActionCloseOrder, "still pending at the provider past the re-query schedule (USERPAYING) (ledger 10.00 on 2026-11-17)"}},
		{"now closed", pay, ans(payrecon.StatusClosed, "CLOSED"), capsQuery,
			want{payrecon.ClassMissingInBill, payrecon.ActionReverseLedger, "carried over, now closed at the provider (CLOSED) (ledger 10.00 on 2026-11-17)"}},
		{"now not found", pay, ans(payrecon.StatusNotFound, "not found"), capsQuery,
			want{payrecon.ClassMissingInBill, payrecon.ActionReverseLedger, "carried over, now not_found at the provider (not found) (ledger 10.00 on 2026-11-17)"}},
		{"refund now failed", item(payrecon.KindRefund, at), ans(payrecon.StatusFailed, "FAIL"), capsQuery,
			want{payrecon.ClassRefundMissingInBill, payrecon.ActionReverseLedger, "carried over, now failed at the provider (FAIL) (ledger 10.00 on 2026-11-17)"}},
	}
	for _, c := range decides {
		t.Run(c.name, func(t *testing.T) {
			d, ok := recheckCarry(c.it, c.ans, rq, c.caps)
			if !ok {
				t.Fatal("stays open, want a decision")
			}
			c.want.check(t, d)
		})
	}
}

func TestAgreementCheck(t *testing.T) {
	signed := &payrecon.LedgerEntry{Kind: payrecon.KindAgreement, Status: payrecon.StatusSigned, AgreementNo: "A1"}
	unsigned := &payrecon.LedgerEntry{Kind: payrecon.KindAgreement, Status: payrecon.StatusUnsigned, AgreementNo: "A1"}
	agree := []struct {
		name string
		le   *payrecon.LedgerEntry
		ans  Answer
	}{
		{"signed on both sides", signed, ans(payrecon.StatusSigned, "ADD")},
		{"unsigned on both sides", unsigned, ans(payrecon.StatusUnsigned, "DELETE")},
		{"unsigned in the ledger, unknown at the provider", unsigned, ans(payrecon.StatusNotFound, "not found")},
		{"no agreement query", signed, Answer{}},
	}
	for _, c := range agree {
		t.Run(c.name, func(t *testing.T) {
			if d, ok := agreementCheck(c.le, c.ans, true, capsFull); ok {
				t.Errorf("decided %+v, want agreement", d)
			}
		})
	}
	differ := []struct {
		name    string
		le      *payrecon.LedgerEntry
		ans     Answer
		ofToday bool
		caps    Caps
		want
	}{
		{"unsigned at the provider", signed, ans(payrecon.StatusUnsigned, "DELETE"), true, capsQuery,
			want{payrecon.ClassAgreementMismatch, payrecon.ActionCorrectAgreement, "ledger says signed, provider says unsigned (DELETE)"}},
		{"unknown at the provider", signed, ans(payrecon.StatusNotFound, "not found"), true, capsQuery,
			want{payrecon.ClassAgreementMismatch, payrecon.ActionCorrectAgreement, "ledger says signed, provider says not_found (not found)"}},
		{"signed at the provider only", unsigned, ans(payrecon.StatusSigned, "ADD"), true, capsQuery,
			want{payrecon.ClassAgreementMismatch, payrecon.ActionCorrectAgreement, "ledger says unsigned, provider says signed (ADD)"}},
		{"periodic re-check", signed, ans(payrecon.StatusUnsigned, "DELETE"), false, capsQuery,
			want{payrecon.ClassAgreementMismatch, payrecon.ActionCorrectAgreement, "ledger says signed, provider says unsigned (DELETE); periodic re-check"}},
		{"provider state not final", signed, ans(payrecon.StatusPending, "PROCESSING"), true, capsQuery,
			want{payrecon.ClassAgreementMismatch, payrecon.ActionManualReview, "ledger says signed, provider says pending (PROCESSING); the provider gives the agreement no final state (pending)"}},
		{"answered, but the account may not query agreements", signed, ans(payrecon.StatusUnsigned, "DELETE"), true, capsBare,
			want{payrecon.ClassAgreementMismatch, payrecon.ActionManualReview, "ledger says signed, provider says unsigned (DELETE); prov offers no agreement query to confirm the state"}},
	}
	for _, c := range differ {
		t.Run(c.name, func(t *testing.T) {
			d, ok := agreementCheck(c.le, c.ans, c.ofToday, c.caps)
			if !ok {
				t.Fatal("agreement, want a mismatch")
			}
			c.want.check(t, d)
		})
	}
}

func TestOrderRefunds(t *testing.T) {
	line := func(no string, amount int64) payrecon.BillLine {
		l := refundLine(payrecon.StatusSuccess, amount)
		l.ProviderRefundNo, l.MerchantRefundNo = no, ""
		return *l
	}
	two := []payrecon.BillLine{line("R1", 300), line("R2", 200)}
	cases := []struct {
		name            string
		lines           []payrecon.BillLine
		billSum, ledger int64
		increments      int
		want
	}{
		{"sums agree", two, 500, 500, 2, want{payrecon.ClassMatched, payrecon.ActionNone, ""}},
		{"sums differ", two, 500, 600, 2,
			want{payrecon.ClassRefundAmountMismatch, payrecon.ActionManualReview, "refunds of the order: bill 5.00 in 2 line(s) (R1, R2), ledger 6.00 (cumulative, no refund number)"}},
		{"none in the bill, one increment", nil, 0, 600, 1,
			want{payrecon.ClassRefundMissingInBill, payrecon.ActionManualReview, "refunds of the order booked 6.00 (cumulative, no refund number); the bill has no refund of the order; the provider's current status is unknown: query it before reversing the ledger"}},
		{"none in the bill, several increments", nil, 0, 600, 3,
			want{payrecon.ClassRefundMissingInBill, payrecon.ActionManualReview, "refunds of the order booked 6.00 (cumulative, no refund number); the bill has no refund of the order (3 ledger increments)"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.want.check(t, orderRefunds(c.lines, c.billSum, c.ledger, c.increments, capsFull))
		})
	}
}

func TestFeeAndSettlement(t *testing.T) {
	f := &settleFee{line: *payLine(payrecon.StatusSuccess, 1000), amount: 1000, fee: 9, want: 6, lines: 1}
	want{payrecon.ClassFeeMismatch, payrecon.ActionManualReview,
		"settlement bill fee 0.09 on order amount 10.00 (1 line(s)), configured rate 0.6000% gives 0.06; the order is not in this day's trade bill"}.check(t,
		settleFeeLeftover(f, 6000, capsFull))
	want{payrecon.ClassSettlementMismatch, payrecon.ActionManualReview,
		"settlement bill total 99.00 vs trade bill net 100.00 (difference -1.00)"}.check(t, settlementMismatch(9900, 10000, capsFull))
}

// TestClassifyCoversEveryClass runs the tables above and checks that
// between them they expect every class a run reports.
func TestClassifyCoversEveryClass(t *testing.T) {
	seen = map[payrecon.Class]bool{}
	defer func() { seen = nil }()
	for _, tc := range []struct {
		name string
		f    func(*testing.T)
	}{
		{"pair class", TestPairClass}, {"pair", TestPairDecision}, {"trade fee", TestTradeFeeStated},
		{"lone", TestLone}, {"unmatched line", TestUnmatchedLine}, {"leftover", TestLeftover}, {"carry-over", TestCarryOver},
		{"agreement", TestAgreementCheck}, {"order refunds", TestOrderRefunds}, {"fee and settlement", TestFeeAndSettlement},
	} {
		t.Run(tc.name, tc.f)
	}
	for _, c := range payrecon.Classes {
		if !seen[c] {
			t.Errorf("no case expects class %s", c)
		}
	}
}
