// Package demo builds the demonstration day: a provider-neutral scenario
// with one planted case of every class a provider can produce, and the plan
// of which callbacks reach payrecon (delivered, lost, duplicated, forged,
// tampered, or saying something the provider does not).
package demo

import (
	"fmt"
	"math/rand"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

// Mode says what happens to a callback on its way to payrecon.
type Mode string

const (
	Deliver   Mode = "deliver"   // arrives once
	Retry     Mode = "retry"     // arrives three times (provider retries)
	Lose      Mode = "lose"      // never arrives
	Forge     Mode = "forge"     // arrives signed with a key that is not the provider's
	Tamper    Mode = "tamper"    // arrives with one byte of the body changed after signing
	Misreport Mode = "misreport" // validly signed but states what the provider's records do not
)

// Event is one callback of the day.
type Event struct {
	Mode      Mode
	Payment   *scenario.Payment // the payment as the callback states it
	Refund    *scenario.Refund
	Agreement *scenario.Agreement
	Why       string // the case it plants
}

// Options shape a demo day.
type Options struct {
	Day        payrecon.Day
	Prefix     string // distinguishes accounts' numbers, e.g. "HW", "WX"
	Matched    int    // ordinary matched payments
	FeeRatePPM int64  // the account's configured rate; the bill prints fees at this rate
	Seed       int64
	Refunds    bool // the provider has refund callbacks
	Agreements bool // the provider has agreement queries and callbacks
	Failures   bool // the provider sends callbacks for failed payments
	Others     bool // the provider's bill has other transaction types
}

// Build returns the provider's truth for the day (and the previous day, so
// that a cut-off item of the previous day resolves late) and the callbacks.
func Build(o Options) (*scenario.Scenario, []Event) {
	rnd := rand.New(rand.NewSource(o.Seed))
	sc := &scenario.Scenario{NotReady: map[payrecon.Day]bool{}, SettlementDelta: map[payrecon.Day]int64{}}
	var evs []Event
	base := o.Day.Start()
	seq := 0
	pay := func(day payrecon.Day, at time.Duration, amount int64) scenario.Payment {
		seq++
		t := day.Start().Add(at)
		return scenario.Payment{
			MerchantOrderNo: fmt.Sprintf("%sORD%s%05d", o.Prefix, day.Compact(), seq),
			ProviderTxnNo:   fmt.Sprintf("%d%s%07d", 4200000000+int64(len(o.Prefix))*1000, day.Compact(), seq),
			Status:          payrecon.StatusSuccess,
			Amount:          amount, PayerAmount: amount,
			Fee: payrecon.FeeFor(amount, o.FeeRatePPM), FeeRatePPM: o.FeeRatePPM,
			CreatedAt: t.Add(-30 * time.Second), PaidAt: t,
			Product: "会员月卡", Payload: "demo", OpenID: fmt.Sprintf("oU%06d", seq),
		}
	}
	add := func(p scenario.Payment, mode Mode, why string) scenario.Payment {
		sc.Payments = append(sc.Payments, p)
		cp := p
		evs = append(evs, Event{Mode: mode, Payment: &cp, Why: why})
		return p
	}
	randAt := func() time.Duration { return time.Duration(8*3600+rnd.Intn(12*3600)) * time.Second }
	randAmt := func() int64 { return int64(100 + rnd.Intn(50000)) }

	// The previous day: a cut-off payment that its bill leaves to this day (resolved_late here).
	prev := o.Day.Add(-1)
	late := pay(prev, 23*time.Hour+59*time.Minute+58*time.Second, 1999)
	late.BillDay = o.Day
	add(late, Deliver, "paid 23:59:58 the day before, billed today: resolved_late")
	// A few matched payments the day before, so its run is not empty.
	for i := 0; i < 3; i++ {
		add(pay(prev, randAt(), randAmt()), Deliver, "matched (previous day)")
	}

	for i := 0; i < o.Matched; i++ {
		mode := Deliver
		why := "matched"
		if i%7 == 3 {
			mode, why = Retry, "matched; the provider retried the callback"
		}
		add(pay(o.Day, randAt(), randAmt()), mode, why)
	}
	// missing_in_ledger: the callback was lost.
	add(pay(o.Day, randAt(), 8800), Lose, "callback lost: missing_in_ledger")
	// missing_in_bill: a validly signed success for an order the provider never saw paid.
	np := pay(o.Day, randAt(), 4300)
	np.Status = payrecon.StatusNotPaid
	sc.Payments = append(sc.Payments, np)
	claimed := np
	claimed.Status = payrecon.StatusSuccess
	evs = append(evs, Event{Mode: Misreport, Payment: &claimed, Why: "success callback for an unpaid order: missing_in_bill"})
	// carried_over: paid at 23:59:59, billed tomorrow.
	co := pay(o.Day, 23*time.Hour+59*time.Minute+59*time.Second, 2500)
	co.BillDay = o.Day.Add(1)
	add(co, Deliver, "paid 23:59:59, billed tomorrow: carried_over")
	// amount_mismatch: the callback states another amount.
	am := pay(o.Day, randAt(), 12000)
	sc.Payments = append(sc.Payments, am)
	amc := am
	amc.Amount, amc.PayerAmount = 10000, 10000
	evs = append(evs, Event{Mode: Misreport, Payment: &amc, Why: "callback amount differs from the bill: amount_mismatch"})
	// duplicate_payment: one merchant order paid twice; the second callback lost.
	d1 := add(pay(o.Day, randAt(), 6600), Deliver, "first payment of a twice-paid order")
	d2 := pay(o.Day, randAt(), 6600)
	d2.MerchantOrderNo = d1.MerchantOrderNo
	add(d2, Lose, "second payment of the same order: duplicate_payment")
	// fee_mismatch: the bill charges more than the configured rate.
	if o.FeeRatePPM > 0 {
		fm := pay(o.Day, randAt(), 20000)
		fm.Fee += 37
		add(fm, Deliver, "bill fee above the configured rate: fee_mismatch")
	}
	// forged and tampered callbacks: rejected at intake; the payments
	// themselves are real and matched through... nothing: the forged one
	// names an order the provider does not have at all.
	fg := pay(o.Day, randAt(), 99900)
	fg.Status = payrecon.StatusNotFound
	fgc := fg
	fgc.Status = payrecon.StatusSuccess
	evs = append(evs, Event{Mode: Forge, Payment: &fgc, Why: "forged callback: rejected, never in the ledger"})
	tp := add(pay(o.Day, randAt(), 3100), Tamper, "tampered callback: rejected; the real payment is missing_in_ledger")
	_ = tp
	if o.Failures {
		// status_mismatch: the ledger holds a failure the provider reports as paid.
		sm := pay(o.Day, randAt(), 5200)
		sc.Payments = append(sc.Payments, sm)
		smc := sm
		smc.Status = payrecon.StatusFailed
		evs = append(evs, Event{Mode: Misreport, Payment: &smc, Why: "failure callback for a paid order: status_mismatch"})
	}
	if o.Refunds {
		refund := func(p scenario.Payment, amount int64, at time.Duration) scenario.Refund {
			seq++
			t := o.Day.Start().Add(at)
			return scenario.Refund{
				MerchantRefundNo: fmt.Sprintf("%sREF%s%05d", o.Prefix, o.Day.Compact(), seq),
				ProviderRefundNo: fmt.Sprintf("5030%s%07d", o.Day.Compact(), seq),
				MerchantOrderNo:  p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
				Status: payrecon.StatusSuccess, Amount: amount, PayerAmount: amount,
				CreatedAt: t.Add(-time.Minute), FinishedAt: t, Reason: "用户申请退款",
			}
		}
		addR := func(r scenario.Refund, mode Mode, why string) {
			sc.Refunds = append(sc.Refunds, r)
			cp := r
			evs = append(evs, Event{Mode: mode, Refund: &cp, Why: why})
		}
		src := sc.Payments[len(sc.Payments)-1]
		for _, p := range sc.Payments {
			if p.Status == payrecon.StatusSuccess && p.Day() == o.Day && p.Amount > 3000 {
				src = p
				break
			}
		}
		addR(refund(src, 500, 20*time.Hour), Deliver, "matched refund")
		addR(refund(src, 300, 20*time.Hour+time.Minute), Lose, "refund callback lost: refund_missing_in_ledger")
		rm := refund(src, 700, 20*time.Hour+2*time.Minute)
		sc.Refunds = append(sc.Refunds, rm)
		rmc := rm
		rmc.Amount, rmc.PayerAmount = 900, 900
		evs = append(evs, Event{Mode: Misreport, Refund: &rmc, Why: "refund callback amount differs: refund_amount_mismatch"})
		rf := refund(src, 400, 20*time.Hour+3*time.Minute)
		rf.Status = payrecon.StatusFailed
		sc.Refunds = append(sc.Refunds, rf)
		rfc := rf
		rfc.Status = payrecon.StatusSuccess
		evs = append(evs, Event{Mode: Misreport, Refund: &rfc, Why: "refund success callback, refund failed at the provider and in no bill: refund_missing_in_bill"})
		ghost := refund(src, 200, 20*time.Hour+4*time.Minute)
		evs = append(evs, Event{Mode: Misreport, Refund: &ghost, Why: "refund success callback, refund unknown to the provider: refund_missing_in_bill"})
	}
	if o.Agreements {
		ag := func(n int, st payrecon.Status) scenario.Agreement {
			return scenario.Agreement{
				AgreementNo:     fmt.Sprintf("%sCTR%s%03d", o.Prefix, o.Day.Compact(), n),
				MerchantAgreeNo: fmt.Sprintf("%sMC%s%03d", o.Prefix, o.Day.Compact(), n),
				PlanID:          "PLAN01", Status: st,
				SignedAt: base.Add(9 * time.Hour), OpenID: fmt.Sprintf("oA%03d", n),
			}
		}
		ok := ag(1, payrecon.StatusSigned)
		sc.Agreements = append(sc.Agreements, ok)
		evs = append(evs, Event{Mode: Deliver, Agreement: &ok, Why: "matched agreement"})
		// Signed in the ledger, since unsigned by the user in the wallet; the unsign callback was lost.
		gone := ag(2, payrecon.StatusUnsigned)
		gone.TerminatedAt = base.Add(15 * time.Hour)
		gone.ChangeMode = "USER_UNSIGN"
		sc.Agreements = append(sc.Agreements, gone)
		signed := gone
		signed.Status, signed.TerminatedAt, signed.ChangeMode = payrecon.StatusSigned, time.Time{}, ""
		evs = append(evs, Event{Mode: Deliver, Agreement: &signed, Why: "sign callback delivered"})
		evs = append(evs, Event{Mode: Lose, Agreement: &gone, Why: "unsign callback lost: agreement_mismatch"})
	}
	if o.Others {
		sc.Others = append(sc.Others, scenario.Other{Type: "分账", ProviderTxnNo: fmt.Sprintf("77%s%07d", o.Day.Compact(), 1), Amount: 1200, At: base.Add(11 * time.Hour)})
	}
	sc.SettlementDelta[o.Day] = -100 // the settlement bill pays one yuan less: settlement_mismatch
	return sc, evs
}
