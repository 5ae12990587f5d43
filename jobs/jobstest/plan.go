package jobstest

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

// Account is the one account a plan runs on; RatePPM its contracted fee rate.
const (
	Account = "acc"
	RatePPM = 6000 // 0.60%
)

// DayD is the first planted day; DayD1 and DayD3 the days the plan runs after it.
var (
	DayD  = payrecon.MustDay("2026-11-20")
	DayD1 = DayD.Add(1)
	DayD3 = DayD.Add(3)
)

// Plan is a generated ground truth: what happened at the provider (the
// scenario), what the ledger holds, and, per day, the class every planted
// item must get (by class|number) plus the number of matched results.
type Plan struct {
	Sc          *scenario.Scenario
	Ledger      []payrecon.LedgerEntry
	Want        map[payrecon.Day]map[string]payrecon.Class
	WantMatched map[payrecon.Day]int64
	rnd         *rand.Rand
	seq         int
	// Before: mutations applied to the scenario before the run of a day (what the
	// provider changes between days).
	Before map[payrecon.Day]func(sc *scenario.Scenario)
	// Numbers formats the provider's and the merchant's numbers.
	Numbers Numbering
	// NoBillPromos: the provider's payments carry no promotion (for a
	// provider whose bills settle promotions differently).
	NoBillPromos bool
}

// DropOthers adapts the plan to a provider whose trade bill lists only
// payments and refunds: no other lines at all.
func (p *Plan) DropOthers() {
	for _, o := range p.Sc.Others {
		for day := range p.Want {
			delete(p.Want[day], string(payrecon.ClassOtherBillLine)+"|"+o.ProviderTxnNo)
		}
	}
	p.Sc.Others = nil
}

// Numbering formats generated numbers: txn, order, provider refund,
// merchant refund, other bill line.
type Numbering struct{ Txn, Order, PRefund, MRefund, Other string }

var (
	// PlainNumbers are short and readable.
	PlainNumbers = Numbering{Txn: "T%06d", Order: "O%06d", PRefund: "RF%06d", MRefund: "MR%06d", Other: "X%06d"}
	// DigitNumbers look like real providers' (all digits).
	DigitNumbers = Numbering{Txn: "42000000%010d", Order: "M%06d", PRefund: "50000000%010d", MRefund: "R%06d", Other: "43000000%010d"}
)

func (p *Plan) next() int { p.seq++; return p.seq }

// Expect plants an item: on day, the provider number ends in class.
func (p *Plan) Expect(day payrecon.Day, class payrecon.Class, number string) {
	if p.Want[day] == nil {
		p.Want[day] = map[string]payrecon.Class{}
	}
	id := string(class) + "|" + number
	if _, dup := p.Want[day][id]; dup {
		panic("plan: duplicate expectation " + id)
	}
	p.Want[day][id] = class
}

// At is a random time between 01:00 and 21:00 on day.
func (p *Plan) At(day payrecon.Day) time.Time {
	return day.Start().Add(time.Hour + time.Duration(p.rnd.IntN(20*3600))*time.Second)
}

// Payment makes a successful payment at the provider on day (bill day =
// day unless changed by the caller) and returns it.
func (p *Plan) Payment(day payrecon.Day) scenario.Payment {
	n := p.next()
	amount := int64(100 + p.rnd.IntN(100000))
	promo := int64(0)
	if p.rnd.IntN(4) == 0 && !p.NoBillPromos {
		promo = amount / 10
	}
	paid := p.At(day)
	return scenario.Payment{
		MerchantOrderNo: fmt.Sprintf(p.Numbers.Order, n), ProviderTxnNo: fmt.Sprintf(p.Numbers.Txn, n),
		Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount - promo, PromotionAmount: promo,
		Fee: payrecon.FeeFor(amount, RatePPM), FeeRatePPM: RatePPM,
		CreatedAt: paid.Add(-time.Minute), PaidAt: paid, Product: "商品 " + fmt.Sprint(n),
	}
}

// LedgerOf is the ledger entry a verified payment callback records for pay.
func LedgerOf(pay scenario.Payment) payrecon.LedgerEntry { return LedgerAs(pay, pay.Status) }

// LedgerAs is the ledger entry of a callback that said pay ended in st
// (whatever the provider holds).
func LedgerAs(pay scenario.Payment, st payrecon.Status) payrecon.LedgerEntry {
	return payrecon.LedgerEntry{
		Account: Account, Provider: "fake", EventKey: payrecon.EventKey(payrecon.KindPayment, pay.ProviderTxnNo, st),
		Kind: payrecon.KindPayment, Status: st,
		MerchantOrderNo: pay.MerchantOrderNo, ProviderTxnNo: pay.ProviderTxnNo,
		Amount: pay.Amount, PayerAmount: pay.PayerAmount, PromotionAmount: pay.PromotionAmount, Currency: "CNY",
		OccurredAt: pay.PaidAt, Source: "callback",
	}
}

// Refund refunds half of pay (at least one fen) on day.
func (p *Plan) Refund(day payrecon.Day, pay scenario.Payment) scenario.Refund {
	n := p.next()
	amount := pay.Amount / 2
	if amount == 0 {
		amount = 1
	}
	fin := p.At(day)
	return scenario.Refund{
		MerchantRefundNo: fmt.Sprintf(p.Numbers.MRefund, n), ProviderRefundNo: fmt.Sprintf(p.Numbers.PRefund, n),
		MerchantOrderNo: pay.MerchantOrderNo, ProviderTxnNo: pay.ProviderTxnNo, Status: payrecon.StatusSuccess,
		Amount: amount, PayerAmount: amount, Fee: payrecon.FeeFor(amount, RatePPM), CreatedAt: fin.Add(-time.Minute), FinishedAt: fin,
	}
}

// LedgerOfRefund is the ledger entry a verified refund callback records for r.
func LedgerOfRefund(r scenario.Refund) payrecon.LedgerEntry {
	return payrecon.LedgerEntry{
		Account: Account, Provider: "fake", EventKey: payrecon.EventKey(payrecon.KindRefund, r.ProviderRefundNo, r.Status),
		Kind: payrecon.KindRefund, Status: r.Status,
		MerchantOrderNo: r.MerchantOrderNo, ProviderTxnNo: r.ProviderTxnNo,
		MerchantRefundNo: r.MerchantRefundNo, ProviderRefundNo: r.ProviderRefundNo,
		Amount: r.Amount, PayerAmount: r.PayerAmount, Currency: "CNY", OccurredAt: r.FinishedAt, Source: "callback",
	}
}

// NewPlan generates days D, D+1 and D+3 with normal traffic and one or
// more planted items of every class.
func NewPlan(seed uint64, normal int) *Plan { return NewPlanWith(seed, normal, PlainNumbers) }

// NewPlanWith is NewPlan with the given numbering.
func NewPlanWith(seed uint64, normal int, numbers Numbering) *Plan {
	return NewPlanOpts(seed, normal, numbers, false)
}

// NewPlanOpts is NewPlanWith; noBillPromos plants no promotion in the provider's payments.
func NewPlanOpts(seed uint64, normal int, numbers Numbering, noBillPromos bool) *Plan {
	p := &Plan{
		NoBillPromos: noBillPromos,
		Numbers:      numbers,
		Sc:           &scenario.Scenario{SettlementDelta: map[payrecon.Day]int64{}},
		Want:         map[payrecon.Day]map[string]payrecon.Class{},
		WantMatched:  map[payrecon.Day]int64{},
		rnd:          rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		Before:       map[payrecon.Day]func(*scenario.Scenario){},
	}
	sc := p.Sc
	addPay := func(pay scenario.Payment, inLedger bool) {
		sc.Payments = append(sc.Payments, pay)
		if inLedger {
			p.Ledger = append(p.Ledger, LedgerOf(pay))
		}
	}
	D := DayD

	// Normal traffic on D and D+1: matched payments, some refunded the same day.
	for _, day := range []payrecon.Day{D, DayD1} {
		n := normal
		if day != D {
			n = normal / 5
		}
		for i := 0; i < n; i++ {
			pay := p.Payment(day)
			addPay(pay, true)
			p.WantMatched[day]++
			if i%10 == 3 {
				r := p.Refund(day, pay)
				sc.Refunds = append(sc.Refunds, r)
				p.Ledger = append(p.Ledger, LedgerOfRefund(r))
				p.WantMatched[day]++
			}
		}
	}
	// Failed attempts the ledger recorded and the bill does not list: consistent.
	for i := 0; i < 3; i++ {
		pay := p.Payment(D)
		pay.Status = payrecon.StatusFailed
		addPay(pay, true)
		p.WantMatched[D]++
	}

	// missing_in_ledger: lost callbacks.
	for i := 0; i < 2; i++ {
		pay := p.Payment(D)
		addPay(pay, false)
		p.Expect(D, payrecon.ClassMissingInLedger, pay.ProviderTxnNo)
	}
	// missing_in_bill: a success the provider says was never paid, and a
	// forged one the provider does not know.
	{
		pay := p.Payment(D)
		pay.Status = payrecon.StatusNotPaid
		sc.Payments = append(sc.Payments, pay)
		le := LedgerAs(pay, payrecon.StatusSuccess)
		p.Ledger = append(p.Ledger, le)
		p.Expect(D, payrecon.ClassMissingInBill, pay.ProviderTxnNo)

		forged := p.Payment(D)
		p.Ledger = append(p.Ledger, LedgerOf(forged))
		p.Expect(D, payrecon.ClassMissingInBill, forged.ProviderTxnNo)
	}
	// carried_over X: paid just before midnight, listed in D+1's bill → resolved_late on D+1.
	{
		pay := p.Payment(D)
		pay.PaidAt = D.End().Add(-20 * time.Second)
		pay.BillDay = DayD1
		addPay(pay, true)
		p.Expect(D, payrecon.ClassCarriedOver, pay.ProviderTxnNo)
		p.Expect(DayD1, payrecon.ClassResolvedLate, pay.ProviderTxnNo)
	}
	// carried_over Y: paid per the query on D, closed by D+1 and in no
	// bill → missing_in_bill on D+1 (the provider says not paid).
	{
		pay := p.Payment(D)
		pay.BillDay = D.Add(9)
		addPay(pay, true)
		p.Expect(D, payrecon.ClassCarriedOver, pay.ProviderTxnNo)
		p.Expect(DayD1, payrecon.ClassMissingInBill, pay.ProviderTxnNo)
		p.Before[DayD1] = func(sc *scenario.Scenario) {
			sc.SetPaymentStatus(pay.MerchantOrderNo, pay.ProviderTxnNo, payrecon.StatusClosed)
		}
	}
	// carried_over Z: pending at the provider; open on D+1; missing_in_bill on D+3.
	{
		pay := p.Payment(D)
		pay.Status = payrecon.StatusPending
		sc.Payments = append(sc.Payments, pay)
		le := LedgerAs(pay, payrecon.StatusSuccess)
		p.Ledger = append(p.Ledger, le)
		p.Expect(D, payrecon.ClassCarriedOver, pay.ProviderTxnNo)
		p.Expect(DayD3, payrecon.ClassMissingInBill, pay.ProviderTxnNo)
	}
	// amount_mismatch: total differs; and payer/promotion split differs.
	{
		pay := p.Payment(D)
		addPay(pay, false)
		le := LedgerOf(pay)
		le.Amount -= 100
		le.PayerAmount -= 100
		p.Ledger = append(p.Ledger, le)
		p.Expect(D, payrecon.ClassAmountMismatch, pay.ProviderTxnNo)

		pay2 := p.Payment(D)
		billPromo, ledgerPromo := int64(50), int64(0)
		if p.NoBillPromos {
			billPromo, ledgerPromo = 0, 50
		}
		pay2.PromotionAmount, pay2.PayerAmount = billPromo, pay2.Amount-billPromo
		addPay(pay2, false)
		le2 := LedgerOf(pay2)
		le2.PromotionAmount, le2.PayerAmount = ledgerPromo, pay2.Amount-ledgerPromo
		p.Ledger = append(p.Ledger, le2)
		p.Expect(D, payrecon.ClassAmountMismatch, pay2.ProviderTxnNo)
	}
	// status_mismatch: ledger failed, bill success. A ledger success the
	// provider closed (or timed out) and no bill lists is missing_in_bill:
	// status_mismatch needs both sides to hold the transaction.
	{
		pay := p.Payment(D)
		addPay(pay, false)
		le := LedgerAs(pay, payrecon.StatusFailed)
		p.Ledger = append(p.Ledger, le)
		p.Expect(D, payrecon.ClassStatusMismatch, pay.ProviderTxnNo)

		closed := p.Payment(D)
		closed.Status = payrecon.StatusClosed
		sc.Payments = append(sc.Payments, closed)
		le2 := LedgerAs(closed, payrecon.StatusSuccess)
		p.Ledger = append(p.Ledger, le2)
		p.Expect(D, payrecon.ClassMissingInBill, closed.ProviderTxnNo)
	}
	// duplicate_payment: one order paid twice; (a) the ledger has the first
	// payment only, (b) the ledger has both.
	{
		first := p.Payment(D)
		addPay(first, true)
		p.WantMatched[D]++
		second := p.Payment(D)
		second.MerchantOrderNo = first.MerchantOrderNo
		addPay(second, false)
		p.Expect(D, payrecon.ClassDuplicatePayment, second.ProviderTxnNo)

		b1 := p.Payment(D)
		addPay(b1, true)
		p.WantMatched[D]++
		b2 := p.Payment(D)
		b2.MerchantOrderNo = b1.MerchantOrderNo
		b2.PaidAt = b1.PaidAt.Add(time.Minute) // the later payment is the duplicate
		addPay(b2, true)
		p.Expect(D, payrecon.ClassDuplicatePayment, b2.ProviderTxnNo)
	}
	// fee_mismatch.
	{
		pay := p.Payment(D)
		pay.Fee += 3
		addPay(pay, true)
		p.Expect(D, payrecon.ClassFeeMismatch, pay.ProviderTxnNo)
	}
	// Refunds: missing in the ledger, missing in the bill, amount mismatch.
	{
		base := p.Payment(D)
		addPay(base, true)
		p.WantMatched[D]++
		r1 := p.Refund(D, base)
		sc.Refunds = append(sc.Refunds, r1)
		p.Expect(D, payrecon.ClassRefundMissingInLedger, r1.ProviderRefundNo)

		r2 := p.Refund(D, base)
		p.Ledger = append(p.Ledger, LedgerOfRefund(r2)) // the provider never refunded it
		p.Expect(D, payrecon.ClassRefundMissingInBill, r2.ProviderRefundNo)

		r3 := p.Refund(D, base)
		sc.Refunds = append(sc.Refunds, r3)
		le := LedgerOfRefund(r3)
		le.Amount, le.PayerAmount = r3.Amount+25, r3.Amount+25
		p.Ledger = append(p.Ledger, le)
		p.Expect(D, payrecon.ClassRefundAmountMismatch, r3.ProviderRefundNo)
	}
	// Agreements: one the provider terminated while the ledger says signed,
	// one in agreement, one signed and unsigned the same day.
	{
		mk := func(no string, st payrecon.Status, at time.Time) payrecon.LedgerEntry {
			return payrecon.LedgerEntry{Account: Account, Provider: "fake", EventKey: payrecon.EventKey(payrecon.KindAgreement, no, st),
				Kind: payrecon.KindAgreement, Status: st, AgreementNo: no, MerchantAgreeNo: "M" + no, PlanID: "P1",
				OccurredAt: at, Source: "callback"}
		}
		t := p.At(D)
		sc.Agreements = append(sc.Agreements,
			scenario.Agreement{AgreementNo: "AG0001", MerchantAgreeNo: "MAG0001", PlanID: "P1", Status: payrecon.StatusUnsigned, SignedAt: t, TerminatedAt: t.Add(time.Hour)},
			scenario.Agreement{AgreementNo: "AG0002", MerchantAgreeNo: "MAG0002", PlanID: "P1", Status: payrecon.StatusSigned, SignedAt: t},
			scenario.Agreement{AgreementNo: "AG0003", MerchantAgreeNo: "MAG0003", PlanID: "P1", Status: payrecon.StatusUnsigned, SignedAt: t, TerminatedAt: t.Add(time.Minute)},
		)
		p.Ledger = append(p.Ledger, mk("AG0001", payrecon.StatusSigned, t), mk("AG0002", payrecon.StatusSigned, t),
			mk("AG0003", payrecon.StatusSigned, t), mk("AG0003", payrecon.StatusUnsigned, t.Add(time.Minute)))
		p.Expect(D, payrecon.ClassAgreementMismatch, "AG0001")
		p.WantMatched[D] += 3 // AG0002, and AG0003's two changes
	}
	// settlement_mismatch and a bill line of a type not reconciled.
	sc.SettlementDelta[D] = 7
	p.Expect(D, payrecon.ClassSettlementMismatch, "settlement "+string(D))
	other := fmt.Sprintf(numbers.Other, 1)
	sc.Others = append(sc.Others, scenario.Other{Type: "分账", ProviderTxnNo: other, Amount: 300, At: p.At(D)})
	p.Expect(D, payrecon.ClassOtherBillLine, other)

	// The ledger is stored in callback order, not generation order.
	sort.SliceStable(p.Ledger, func(i, j int) bool { return p.Ledger[i].OccurredAt.Before(p.Ledger[j].OccurredAt) })
	return p
}

// Load stores the plan's ledger, every entry new.
func (p *Plan) Load(t testing.TB, db *store.DB) {
	t.Helper()
	ctx := context.Background()
	for _, e := range p.Ledger {
		if dup, err := db.AddLedgerEntry(ctx, e); err != nil || dup {
			t.Fatalf("load ledger entry %s: dup=%v err=%v", e.EventKey, dup, err)
		}
	}
}

// ItemID is how the plan names an item: class|the provider's number.
func ItemID(it payrecon.Item) string {
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

// WantTotals computes the day's bill and ledger totals from the scenario
// and the ledger, independently of the engine.
func (p *Plan) WantTotals(day payrecon.Day) (bill, ledger int64) {
	for _, pay := range p.Sc.BillPayments(day) {
		bill += pay.Amount
	}
	for _, r := range p.Sc.BillRefunds(day) {
		bill -= r.Amount
	}
	for _, e := range p.Ledger {
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

// ForProvider books the plan's ledger under provider (before Load), for a
// run against that provider's real client.
func (p *Plan) ForProvider(provider string) {
	for i := range p.Ledger {
		p.Ledger[i].Provider = provider
	}
}
