package jobs_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sort"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
)

const (
	testAccount = "acc"
	testRatePPM = 6000 // 0.60%
)

var (
	dayD  = payrecon.MustDay("2026-11-20")
	dayD1 = dayD.Add(1)
	dayD3 = dayD.Add(3)
)

// plan is a generated ground truth: what happened at the provider (the
// scenario), what the ledger holds, and, per day, the class every planted
// item must get (by class|number) plus the number of matched results.
type plan struct {
	sc          *scenario.Scenario
	ledger      []payrecon.LedgerEntry
	want        map[payrecon.Day]map[string]payrecon.Class
	wantMatched map[payrecon.Day]int64
	rnd         *rand.Rand
	seq         int
	// mutations applied to the scenario before the run of a day (what the
	// provider changes between days).
	before map[payrecon.Day]func(sc *scenario.Scenario)
	// numbers formats the provider's and the merchant's numbers.
	numbers numbering
	// noBillPromos: the provider's payments carry no promotion (for a
	// provider whose bills settle promotions differently).
	noBillPromos bool
}

// dropOthers adapts the plan to a provider whose trade bill lists only
// payments and refunds: no other lines at all.
func (p *plan) dropOthers() {
	for _, o := range p.sc.Others {
		for day := range p.want {
			delete(p.want[day], string(payrecon.ClassOtherBillLine)+"|"+o.ProviderTxnNo)
		}
	}
	p.sc.Others = nil
}

// numbering formats generated numbers: txn, order, provider refund,
// merchant refund, other bill line.
type numbering struct{ txn, order, prefund, mrefund, other string }

var (
	// plainNumbers are short and readable.
	plainNumbers = numbering{txn: "T%06d", order: "O%06d", prefund: "RF%06d", mrefund: "MR%06d", other: "X%06d"}
	// digitNumbers look like real providers' (all digits).
	digitNumbers = numbering{txn: "42000000%010d", order: "M%06d", prefund: "50000000%010d", mrefund: "R%06d", other: "43000000%010d"}
)

func (p *plan) next() int { p.seq++; return p.seq }

func (p *plan) expect(day payrecon.Day, class payrecon.Class, number string) {
	if p.want[day] == nil {
		p.want[day] = map[string]payrecon.Class{}
	}
	id := string(class) + "|" + number
	if _, dup := p.want[day][id]; dup {
		panic("plan: duplicate expectation " + id)
	}
	p.want[day][id] = class
}

func (p *plan) at(day payrecon.Day) time.Time {
	return day.Start().Add(time.Hour + time.Duration(p.rnd.IntN(20*3600))*time.Second)
}

// payment makes a successful payment at the provider on day (bill day =
// day unless changed by the caller) and returns it.
func (p *plan) payment(day payrecon.Day) scenario.Payment {
	n := p.next()
	amount := int64(100 + p.rnd.IntN(100000))
	promo := int64(0)
	if p.rnd.IntN(4) == 0 && !p.noBillPromos {
		promo = amount / 10
	}
	paid := p.at(day)
	return scenario.Payment{
		MerchantOrderNo: fmt.Sprintf(p.numbers.order, n), ProviderTxnNo: fmt.Sprintf(p.numbers.txn, n),
		Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount - promo, PromotionAmount: promo,
		Fee: payrecon.FeeFor(amount, testRatePPM), FeeRatePPM: testRatePPM,
		CreatedAt: paid.Add(-time.Minute), PaidAt: paid, Product: "商品 " + fmt.Sprint(n),
	}
}

func ledgerOf(pay scenario.Payment) payrecon.LedgerEntry {
	return payrecon.LedgerEntry{
		Account: testAccount, Provider: "fake", EventKey: payrecon.EventKey(payrecon.KindPayment, pay.ProviderTxnNo, pay.Status),
		Kind: payrecon.KindPayment, Status: pay.Status,
		MerchantOrderNo: pay.MerchantOrderNo, ProviderTxnNo: pay.ProviderTxnNo,
		Amount: pay.Amount, PayerAmount: pay.PayerAmount, PromotionAmount: pay.PromotionAmount, Currency: "CNY",
		OccurredAt: pay.PaidAt, Source: "callback",
	}
}

func (p *plan) refund(day payrecon.Day, pay scenario.Payment) scenario.Refund {
	n := p.next()
	amount := pay.Amount / 2
	if amount == 0 {
		amount = 1
	}
	fin := p.at(day)
	return scenario.Refund{
		MerchantRefundNo: fmt.Sprintf(p.numbers.mrefund, n), ProviderRefundNo: fmt.Sprintf(p.numbers.prefund, n),
		MerchantOrderNo: pay.MerchantOrderNo, ProviderTxnNo: pay.ProviderTxnNo, Status: payrecon.StatusSuccess,
		Amount: amount, PayerAmount: amount, Fee: payrecon.FeeFor(amount, testRatePPM), CreatedAt: fin.Add(-time.Minute), FinishedAt: fin,
	}
}

func ledgerOfRefund(r scenario.Refund) payrecon.LedgerEntry {
	return payrecon.LedgerEntry{
		Account: testAccount, Provider: "fake", EventKey: payrecon.EventKey(payrecon.KindRefund, r.ProviderRefundNo, r.Status),
		Kind: payrecon.KindRefund, Status: r.Status,
		MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo,
		MerchantRefundNo: r.MerchantRefundNo, ProviderRefundNo: r.ProviderRefundNo,
		Amount: r.Amount, PayerAmount: r.PayerAmount, Currency: "CNY", OccurredAt: r.FinishedAt, Source: "callback",
	}
}

// newPlan generates days D, D+1 and D+3 with normal traffic and one or
// more planted items of every class.
func newPlan(seed uint64, normal int) *plan { return newPlanWith(seed, normal, plainNumbers) }

func newPlanWith(seed uint64, normal int, numbers numbering) *plan {
	return newPlanOpts(seed, normal, numbers, false)
}

func newPlanOpts(seed uint64, normal int, numbers numbering, noBillPromos bool) *plan {
	p := &plan{
		noBillPromos: noBillPromos,
		numbers:      numbers,
		sc:           &scenario.Scenario{SettlementDelta: map[payrecon.Day]int64{}},
		want:         map[payrecon.Day]map[string]payrecon.Class{},
		wantMatched:  map[payrecon.Day]int64{},
		rnd:          rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		before:       map[payrecon.Day]func(*scenario.Scenario){},
	}
	sc := p.sc
	addPay := func(pay scenario.Payment, inLedger bool) {
		sc.Payments = append(sc.Payments, pay)
		if inLedger {
			p.ledger = append(p.ledger, ledgerOf(pay))
		}
	}
	D := dayD

	// Normal traffic on D and D+1: matched payments, some refunded the same day.
	for _, day := range []payrecon.Day{D, dayD1} {
		n := normal
		if day != D {
			n = normal / 5
		}
		for i := 0; i < n; i++ {
			pay := p.payment(day)
			addPay(pay, true)
			p.wantMatched[day]++
			if i%10 == 3 {
				r := p.refund(day, pay)
				sc.Refunds = append(sc.Refunds, r)
				p.ledger = append(p.ledger, ledgerOfRefund(r))
				p.wantMatched[day]++
			}
		}
	}
	// Failed attempts the ledger recorded and the bill does not list: consistent.
	for i := 0; i < 3; i++ {
		pay := p.payment(D)
		pay.Status = payrecon.StatusFailed
		addPay(pay, true)
		p.wantMatched[D]++
	}

	// missing_in_ledger: lost callbacks.
	for i := 0; i < 2; i++ {
		pay := p.payment(D)
		addPay(pay, false)
		p.expect(D, payrecon.ClassMissingInLedger, pay.ProviderTxnNo)
	}
	// missing_in_bill: a success the provider says was never paid, and a
	// forged one the provider does not know.
	{
		pay := p.payment(D)
		pay.Status = payrecon.StatusNotPaid
		sc.Payments = append(sc.Payments, pay)
		le := ledgerOf(pay)
		le.Status, le.EventKey = payrecon.StatusSuccess, "payment:"+pay.ProviderTxnNo+":success"
		p.ledger = append(p.ledger, le)
		p.expect(D, payrecon.ClassMissingInBill, pay.ProviderTxnNo)

		forged := p.payment(D)
		p.ledger = append(p.ledger, ledgerOf(forged))
		p.expect(D, payrecon.ClassMissingInBill, forged.ProviderTxnNo)
	}
	// carried_over X: paid just before midnight, listed in D+1's bill → resolved_late on D+1.
	{
		pay := p.payment(D)
		pay.PaidAt = D.End().Add(-20 * time.Second)
		pay.BillDay = dayD1
		addPay(pay, true)
		p.expect(D, payrecon.ClassCarriedOver, pay.ProviderTxnNo)
		p.expect(dayD1, payrecon.ClassResolvedLate, pay.ProviderTxnNo)
	}
	// carried_over Y: paid per the query on D, closed by D+1 and in no
	// bill → missing_in_bill on D+1 (the provider says not paid).
	{
		pay := p.payment(D)
		pay.BillDay = D.Add(9)
		addPay(pay, true)
		p.expect(D, payrecon.ClassCarriedOver, pay.ProviderTxnNo)
		p.expect(dayD1, payrecon.ClassMissingInBill, pay.ProviderTxnNo)
		p.before[dayD1] = func(sc *scenario.Scenario) {
			sc.SetPaymentStatus(pay.MerchantOrderNo, pay.ProviderTxnNo, payrecon.StatusClosed)
		}
	}
	// carried_over Z: pending at the provider; open on D+1; missing_in_bill on D+3.
	{
		pay := p.payment(D)
		pay.Status = payrecon.StatusPending
		sc.Payments = append(sc.Payments, pay)
		le := ledgerOf(pay)
		le.Status, le.EventKey = payrecon.StatusSuccess, "payment:"+pay.ProviderTxnNo+":success"
		p.ledger = append(p.ledger, le)
		p.expect(D, payrecon.ClassCarriedOver, pay.ProviderTxnNo)
		p.expect(dayD3, payrecon.ClassMissingInBill, pay.ProviderTxnNo)
	}
	// amount_mismatch: total differs; and payer/promotion split differs.
	{
		pay := p.payment(D)
		addPay(pay, false)
		le := ledgerOf(pay)
		le.Amount -= 100
		le.PayerAmount -= 100
		p.ledger = append(p.ledger, le)
		p.expect(D, payrecon.ClassAmountMismatch, pay.ProviderTxnNo)

		pay2 := p.payment(D)
		billPromo, ledgerPromo := int64(50), int64(0)
		if p.noBillPromos {
			billPromo, ledgerPromo = 0, 50
		}
		pay2.PromotionAmount, pay2.PayerAmount = billPromo, pay2.Amount-billPromo
		addPay(pay2, false)
		le2 := ledgerOf(pay2)
		le2.PromotionAmount, le2.PayerAmount = ledgerPromo, pay2.Amount-ledgerPromo
		p.ledger = append(p.ledger, le2)
		p.expect(D, payrecon.ClassAmountMismatch, pay2.ProviderTxnNo)
	}
	// status_mismatch: ledger failed, bill success. A ledger success the
	// provider closed (or timed out) and no bill lists is missing_in_bill:
	// status_mismatch needs both sides to hold the transaction.
	{
		pay := p.payment(D)
		addPay(pay, false)
		le := ledgerOf(pay)
		le.Status, le.EventKey = payrecon.StatusFailed, "payment:"+pay.ProviderTxnNo+":failed"
		p.ledger = append(p.ledger, le)
		p.expect(D, payrecon.ClassStatusMismatch, pay.ProviderTxnNo)

		closed := p.payment(D)
		closed.Status = payrecon.StatusClosed
		sc.Payments = append(sc.Payments, closed)
		le2 := ledgerOf(closed)
		le2.Status, le2.EventKey = payrecon.StatusSuccess, "payment:"+closed.ProviderTxnNo+":success"
		p.ledger = append(p.ledger, le2)
		p.expect(D, payrecon.ClassMissingInBill, closed.ProviderTxnNo)
	}
	// duplicate_payment: one order paid twice; (a) the ledger has the first
	// payment only, (b) the ledger has both.
	{
		first := p.payment(D)
		addPay(first, true)
		p.wantMatched[D]++
		second := p.payment(D)
		second.MerchantOrderNo = first.MerchantOrderNo
		addPay(second, false)
		p.expect(D, payrecon.ClassDuplicatePayment, second.ProviderTxnNo)

		b1 := p.payment(D)
		addPay(b1, true)
		p.wantMatched[D]++
		b2 := p.payment(D)
		b2.MerchantOrderNo = b1.MerchantOrderNo
		b2.PaidAt = b1.PaidAt.Add(time.Minute) // the later payment is the duplicate
		addPay(b2, true)
		p.expect(D, payrecon.ClassDuplicatePayment, b2.ProviderTxnNo)
	}
	// fee_mismatch.
	{
		pay := p.payment(D)
		pay.Fee += 3
		addPay(pay, true)
		p.expect(D, payrecon.ClassFeeMismatch, pay.ProviderTxnNo)
	}
	// Refunds: missing in the ledger, missing in the bill, amount mismatch.
	{
		base := p.payment(D)
		addPay(base, true)
		p.wantMatched[D]++
		r1 := p.refund(D, base)
		sc.Refunds = append(sc.Refunds, r1)
		p.expect(D, payrecon.ClassRefundMissingInLedger, r1.ProviderRefundNo)

		r2 := p.refund(D, base)
		p.ledger = append(p.ledger, ledgerOfRefund(r2)) // the provider never refunded it
		p.expect(D, payrecon.ClassRefundMissingInBill, r2.ProviderRefundNo)

		r3 := p.refund(D, base)
		sc.Refunds = append(sc.Refunds, r3)
		le := ledgerOfRefund(r3)
		le.Amount, le.PayerAmount = r3.Amount+25, r3.Amount+25
		p.ledger = append(p.ledger, le)
		p.expect(D, payrecon.ClassRefundAmountMismatch, r3.ProviderRefundNo)
	}
	// Agreements: one the provider terminated while the ledger says signed,
	// one in agreement, one signed and unsigned the same day.
	{
		mk := func(no string, st payrecon.Status, at time.Time) payrecon.LedgerEntry {
			return payrecon.LedgerEntry{Account: testAccount, Provider: "fake", EventKey: payrecon.EventKey(payrecon.KindAgreement, no, st),
				Kind: payrecon.KindAgreement, Status: st, AgreementNo: no, MerchantAgreeNo: "M" + no, PlanID: "P1",
				OccurredAt: at, Source: "callback"}
		}
		t := p.at(D)
		sc.Agreements = append(sc.Agreements,
			scenario.Agreement{AgreementNo: "AG0001", MerchantAgreeNo: "MAG0001", PlanID: "P1", Status: payrecon.StatusUnsigned, SignedAt: t, TerminatedAt: t.Add(time.Hour)},
			scenario.Agreement{AgreementNo: "AG0002", MerchantAgreeNo: "MAG0002", PlanID: "P1", Status: payrecon.StatusSigned, SignedAt: t},
			scenario.Agreement{AgreementNo: "AG0003", MerchantAgreeNo: "MAG0003", PlanID: "P1", Status: payrecon.StatusUnsigned, SignedAt: t, TerminatedAt: t.Add(time.Minute)},
		)
		p.ledger = append(p.ledger, mk("AG0001", payrecon.StatusSigned, t), mk("AG0002", payrecon.StatusSigned, t),
			mk("AG0003", payrecon.StatusSigned, t), mk("AG0003", payrecon.StatusUnsigned, t.Add(time.Minute)))
		p.expect(D, payrecon.ClassAgreementMismatch, "AG0001")
		p.wantMatched[D] += 3 // AG0002, and AG0003's two changes
	}
	// settlement_mismatch and a bill line of a type not reconciled.
	sc.SettlementDelta[D] = 7
	p.expect(D, payrecon.ClassSettlementMismatch, "settlement "+string(D))
	other := fmt.Sprintf(numbers.other, 1)
	sc.Others = append(sc.Others, scenario.Other{Type: "分账", ProviderTxnNo: other, Amount: 300, At: p.at(D)})
	p.expect(D, payrecon.ClassOtherBillLine, other)

	// The ledger is stored in callback order, not generation order.
	sort.SliceStable(p.ledger, func(i, j int) bool { return p.ledger[i].OccurredAt.Before(p.ledger[j].OccurredAt) })
	return p
}

func (p *plan) load(t testing.TB, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for _, e := range p.ledger {
		if dup, err := db.AddLedgerEntry(ctx, e); err != nil || dup {
			t.Fatalf("load ledger entry %s: dup=%v err=%v", e.EventKey, dup, err)
		}
	}
}

// itemID is how the plan names an item: class|the provider's number.
func itemID(it payrecon.Item) string {
	n := it.ProviderTxnNo
	switch {
	case it.Kind == payrecon.KindRefund:
		n = it.ProviderRefundNo
	case it.Kind == payrecon.KindAgreement:
		n = it.AgreementNo
	case it.Class == payrecon.ClassSettlementMismatch:
		n = "settlement " + string(it.Day)
	}
	return string(it.Class) + "|" + n
}

// wantTotals computes the day's bill and ledger totals from the scenario
// and the ledger, independently of the engine.
func (p *plan) wantTotals(day payrecon.Day) (bill, ledger int64) {
	for _, pay := range p.sc.BillPayments(day) {
		bill += pay.Amount
	}
	for _, r := range p.sc.BillRefunds(day) {
		bill -= r.Amount
	}
	for _, e := range p.ledger {
		if e.BillDay() != day || e.Status != payrecon.StatusSuccess {
			continue
		}
		switch e.Kind {
		case payrecon.KindPayment:
			ledger += e.Amount
		case payrecon.KindRefund:
			ledger -= e.Amount
		}
	}
	return bill, ledger
}
