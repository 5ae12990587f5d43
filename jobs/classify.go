package jobs

import (
	"fmt"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// Classification: the class of every bill line and ledger entry a run
// meets, the repair action proposed for it and the note a reviewer reads,
// decided by pure functions of what the engine found (a bill line, a
// ledger entry, an earlier day's item, the provider's answer to a query)
// and the provider's capabilities. Nothing here reads the store, calls a
// provider or touches the engine: engine.go orders the steps, asks, and
// records the decisions. The action is decided here, with the class
// (decided, through decideAction), and nowhere else.
//
// The outcomes, in the order of design.md:
//   - a bill line met with a ledger entry of the same key: pairClass (the
//     hot path), then pairDecision for a pair that disagrees;
//   - a bill line or ledger entry no partner met: lone (no money moved:
//     matched; else the provider is asked);
//   - a bill line no ledger entry met: resolvedLate (an earlier day's
//     carry-over), secondPayment (another transaction of a paid order),
//     unmatchedLine (the provider's answer), otherLine (a line type not
//     reconciled);
//   - a ledger success no bill line met: leftover (the provider's answer);
//   - an earlier day's carry-over today's bill did not list: carryTooOld,
//     recheckCarry (the provider's answer);
//   - an agreement: agreementCheck (the provider's answer);
//   - aggregated refunds of one order, fees stated on the settlement bill,
//     the settlement total: orderRefunds, settleFeeLeftover,
//     settlementMismatch.

// Decision is the outcome of classifying one item: its class, the repair
// proposed for it and the note a reviewer reads.
type Decision struct {
	Class  payrecon.Class
	Action payrecon.ActionKind
	Note   string
}

// Answer is the provider's answer to a query: Supported is false when the
// provider offers no query of that kind; Status is StatusNotFound when the
// provider does not know the item; Raw is the provider's own word for it.
type Answer struct {
	Supported bool
	Status    payrecon.Status
	Raw       string
}

// decided is the decision for an item of class and kind whose ledger side
// has status ledger ("" when absent) and whose provider side (bill line or
// query) has status provider: decideAction proposes the action, and a
// manual decision's reason is added to the note.
func decided(class payrecon.Class, kind payrecon.Kind, ledger, provider payrecon.Status, caps Caps, note string) Decision {
	action, why := decideAction(class, kind, ledger, provider, caps)
	if why != "" {
		if note != "" {
			note += "; "
		}
		note += why
	}
	return Decision{Class: class, Action: action, Note: note}
}

// manualReview is a decision classification itself leaves to a person:
// the provider could not confirm the item, or no one repair fits it. The
// note says why; decideAction is not asked.
func manualReview(class payrecon.Class, note string) Decision {
	return Decision{Class: class, Action: payrecon.ActionManualReview, Note: note}
}

// matchedDecision is the decision for a line and entry that agree (or for a
// line or entry by which no money moved).
var matchedDecision = Decision{Class: payrecon.ClassMatched}

func missingInLedger(kind payrecon.Kind) payrecon.Class {
	if kind == payrecon.KindRefund {
		return payrecon.ClassRefundMissingInLedger
	}
	return payrecon.ClassMissingInLedger
}

func missingInBill(kind payrecon.Kind) payrecon.Class {
	if kind == payrecon.KindRefund {
		return payrecon.ClassRefundMissingInBill
	}
	return payrecon.ClassMissingInBill
}

// ---- a bill line or ledger entry that met no partner ----

// lone decides, before the provider is asked, a bill line or ledger entry
// that met nothing on the other side: only one by which money moved (a
// success) is put to the provider (ask); a failed, closed or pending
// attempt with nothing on the other side is consistent, matched. A ledger
// status word the index does not know counts as no money moved (the
// engine logs it).
func lone(success bool) (d Decision, ask bool) {
	if success {
		return Decision{}, true
	}
	return matchedDecision, false
}

// ---- a bill line met with a ledger entry ----

// ledgerFacts is what the ledger index knows of an entry without re-reading
// it: whether it is a success, a refund, a second success of its merchant
// order (duplicate), and its amount.
type ledgerFacts struct {
	success, refund, duplicate bool
	amount                     int64
}

// pairClass is the class of a bill line met with a ledger entry of the same
// key: the hot path's decision, small enough to inline and allocation-free.
// splitDiffers says the payer/promotion split disagrees (the function of
// that name); feeDiffers says the line's stated fee (on the trade bill, or
// on the settlement bill for its order) disagrees with the configured rate.
//
// Status first (one side success, the other not), then, when both say no
// money moved, matched; a refund is checked on its amount alone; a payment
// on being a duplicate, then its total and split, then its fee.
func pairClass(led ledgerFacts, l *payrecon.BillLine, splitDiffers, feeDiffers bool) payrecon.Class {
	ok := l.Status == payrecon.StatusSuccess
	switch {
	case led.success != ok:
		return payrecon.ClassStatusMismatch
	case !ok:
		return payrecon.ClassMatched
	case led.refund:
		if led.amount != l.Amount {
			return payrecon.ClassRefundAmountMismatch
		}
		return payrecon.ClassMatched
	case led.duplicate:
		return payrecon.ClassDuplicatePayment
	case led.amount != l.Amount || splitDiffers:
		return payrecon.ClassAmountMismatch
	case feeDiffers:
		return payrecon.ClassFeeMismatch
	}
	return payrecon.ClassMatched
}

// splitDiffers reports whether the ledger's payer/promotion split (split,
// 0 when none) disagrees with the bill line's (when it states one).
func splitDiffers(split uint32, l *payrecon.BillLine) bool {
	return split != 0 && (l.PayerAmount != 0 || l.PromotionAmount != 0) && split != splitHash(l.PayerAmount, l.PromotionAmount)
}

// pairDecision explains a pair pairClass found disagreeing, once the engine
// has re-read the ledger entry le and checked the keys. byMerchant says the
// pair met by the merchant's number after the provider's number met
// nothing; feeNote explains a fee_mismatch (the fees side by side).
func pairDecision(class payrecon.Class, le *payrecon.LedgerEntry, l *payrecon.BillLine, byMerchant bool, feeNote string, caps Caps) Decision {
	var note string
	switch {
	case class == payrecon.ClassFeeMismatch:
		note = feeNote
		if byMerchant {
			note = "matched by merchant number; " + note
		}
	case byMerchant:
		note = fmt.Sprintf("matched by merchant number; ledger %s %s, bill %s %s", le.Status, payrecon.FormatYuan(le.Amount), l.Status, payrecon.FormatYuan(l.Amount))
	case class == payrecon.ClassDuplicatePayment:
		note = "merchant order paid by more than one provider transaction (both in the ledger)"
	case class == payrecon.ClassStatusMismatch:
		note = fmt.Sprintf("ledger says %s, bill says %s", le.Status, l.Status)
	case class == payrecon.ClassAmountMismatch, class == payrecon.ClassRefundAmountMismatch:
		note = fmt.Sprintf("bill %s (payer %s) vs ledger %s (payer %s)", payrecon.FormatYuan(l.Amount), payrecon.FormatYuan(l.PayerAmount),
			payrecon.FormatYuan(le.Amount), payrecon.FormatYuan(le.PayerAmount))
	}
	return decided(class, l.Kind, le.Status, l.Status, caps, note)
}

// tradeFeeNote explains a trade-bill fee the configured rate does not give.
func tradeFeeNote(billFee, want int64) string {
	return fmt.Sprintf("bill fee %s, configured rate gives %s", payrecon.FormatYuan(billFee), payrecon.FormatYuan(want))
}

// ---- a bill line no ledger entry met ----

// otherLine is a bill line of a type payrecon does not reconcile (splits,
// top-ups …): kept and reported, outside the balance.
func otherLine(l *payrecon.BillLine) Decision {
	return Decision{Class: payrecon.ClassOtherBillLine,
		Note: "bill line of type " + l.Type + " (" + payrecon.FormatYuan(l.Amount) + ") is not reconciled"}
}

// resolvedLate settles an earlier day's carried-over item (origin) with
// today's bill line l, whose signed amount is billAmount.
func resolvedLate(origin *payrecon.Item, l *payrecon.BillLine, billAmount int64, caps Caps) Decision {
	note := "carried over from " + string(origin.OriginDay)
	if origin.LedgerAmount != billAmount {
		note += fmt.Sprintf("; ledger amount was %s", payrecon.FormatYuan(abs(origin.LedgerAmount)))
	}
	return decided(payrecon.ClassResolvedLate, l.Kind, origin.LedgerStatus, l.Status, caps, note)
}

// secondPayment is a successful payment line whose merchant order the
// ledger holds as paid by another provider transaction (paidBy, its
// ledger entry's status ledger): the order was paid twice.
func secondPayment(l *payrecon.BillLine, paidBy string, ledger payrecon.Status, caps Caps) Decision {
	return decided(payrecon.ClassDuplicatePayment, l.Kind, ledger, l.Status, caps,
		"merchant order already paid by provider transaction "+paidBy)
}

// unmatchedLine decides a successful bill line no ledger entry met, given
// the provider's answer to querying it: missing in the ledger, to be
// backfilled only when the provider confirms it.
func unmatchedLine(l *payrecon.BillLine, ans Answer, caps Caps) Decision {
	class := missingInLedger(l.Kind)
	switch {
	case !ans.Supported:
		return manualReview(class, "not confirmed: the provider offers no query for it")
	case ans.Status == payrecon.StatusSuccess:
		return decided(class, l.Kind, "", l.Status, caps, "confirmed by the provider's query ("+ans.Raw+")")
	}
	return manualReview(class, fmt.Sprintf("bill lists it but the provider's query says %s (%s)", ans.Status, ans.Raw))
}

// ---- a ledger success no bill line met ----

// requery is the re-query schedule as classification needs it: the time
// the answers are judged at and the schedule's last step
// (Options.RequerySchedule).
type requery struct {
	now  time.Time
	last time.Duration
}

// expired reports whether an item pending since then has outlived the
// re-query schedule (never, when its time is unknown).
func (r requery) expired(since time.Time) bool {
	return !since.IsZero() && r.now.Sub(since) >= r.last
}

// NotePending is the Note of a carried_over item the provider still
// reports as pending; the scheduler re-runs its day on the re-query
// schedule (Options.RequerySchedule, counted from the item's LedgerTime).
const NotePending = "pending"

// leftover decides a ledger success le that no bill line of the day met,
// given the provider's answer: carried over when the provider says paid
// (or pending within the re-query schedule), else missing in the bill.
func leftover(le *payrecon.LedgerEntry, ans Answer, rq requery, caps Caps) Decision {
	missing := missingInBill(le.Kind)
	answered := func(class payrecon.Class, note string) Decision {
		return decided(class, le.Kind, le.Status, ans.Status, caps, note)
	}
	switch {
	case !ans.Supported:
		return manualReview(missing, "not in the bill; not confirmed: the provider offers no query for it")
	case ans.Status == payrecon.StatusSuccess:
		return answered(payrecon.ClassCarriedOver, "paid per the provider's query, not in this day's bill: expected in a later bill")
	case ans.Status == payrecon.StatusPending:
		if rq.expired(le.OccurredAt) {
			return answered(missing, "still pending at the provider past the re-query schedule ("+ans.Raw+")")
		}
		return answered(payrecon.ClassCarriedOver, NotePending)
	}
	// Failed, closed, timed out, never paid, not found: the provider says
	// no money moved and the bill agrees. status_mismatch is for a
	// transaction both the ledger and the bill hold.
	return answered(missing, fmt.Sprintf("not in the bill and the provider's query says %s (%s)", ans.Status, ans.Raw))
}

// ---- an earlier day's carry-over, not in today's bill ----

// carryAge is how many days an item carried over from origin has waited on
// day.
func carryAge(origin, day payrecon.Day) int {
	return int(day.Start().Sub(origin.Start()).Hours()+12) / 24
}

// carryNote is a re-checked carry-over's note: why, and its ledger side.
func carryNote(it *payrecon.Item, why string) string {
	return why + fmt.Sprintf(" (ledger %s on %s)", payrecon.FormatYuan(abs(it.LedgerAmount)), it.OriginDay)
}

// carryTooOld decides a carried-over item that has waited maxDays or more
// on day and is still absent from the bills: missing in the bill, without
// asking the provider again (its status as last queried). ok is false
// while it may still wait.
func carryTooOld(it *payrecon.Item, day payrecon.Day, maxDays int, caps Caps) (d Decision, ok bool) {
	age := carryAge(it.OriginDay, day)
	if age < maxDays {
		return Decision{}, false
	}
	return decided(missingInBill(it.Kind), it.Kind, it.LedgerStatus, it.ProviderStatus, caps,
		carryNote(it, fmt.Sprintf("carried over %d days and still absent from the bills", age))), true
}

// recheckCarry decides a carried-over item today's bill did not list, given
// the provider's answer today. ok is false while it stays open: the
// provider still says paid (or offers no query), or pending within the
// re-query schedule. Otherwise it is missing in the bill.
func recheckCarry(it *payrecon.Item, ans Answer, rq requery, caps Caps) (d Decision, ok bool) {
	var why string
	switch {
	case !ans.Supported, ans.Status == payrecon.StatusSuccess:
		return Decision{}, false // still expected in a later bill
	case ans.Status == payrecon.StatusPending:
		if !rq.expired(it.LedgerTime) {
			return Decision{}, false
		}
		why = "still pending at the provider past the re-query schedule (" + ans.Raw + ")"
	default: // failed, closed, not paid, not found: absent from the bills for good
		why = fmt.Sprintf("carried over, now %s at the provider (%s)", ans.Status, ans.Raw)
	}
	return decided(missingInBill(it.Kind), it.Kind, it.LedgerStatus, ans.Status, caps, carryNote(it, why)), true
}

// ---- an agreement ----

// agreementCheck compares the ledger's state of an agreement (its latest
// entry le) with the provider's answer; ofToday is false for a periodic
// re-check of an agreement that did not change today. ok is false when
// they agree (an agreement the provider does not know is unsigned) or the
// provider offers no query.
func agreementCheck(le *payrecon.LedgerEntry, ans Answer, ofToday bool, caps Caps) (d Decision, ok bool) {
	prov := ans.Status
	if prov == payrecon.StatusNotFound {
		prov = payrecon.StatusUnsigned
	}
	if !ans.Supported || prov == le.Status {
		return matchedDecision, false
	}
	note := fmt.Sprintf("ledger says %s, provider says %s (%s)", le.Status, ans.Status, ans.Raw)
	if !ofToday {
		note += "; periodic re-check"
	}
	return decided(payrecon.ClassAgreementMismatch, payrecon.KindAgreement, le.Status, ans.Status, caps, note), true
}

// ---- refunds per order, fees and settlement ----

// orderRefunds decides the aggregated refunds of one order
// (LedgerEntry.AggregatedRefund): the ledger booked ledgerSum in
// increments entries, the bill lists lines (summing to billSum). Matched
// when the sums agree; refund_missing_in_bill when the bill has none (a
// person reverses several increments); refund_amount_mismatch otherwise.
func orderRefunds(lines []payrecon.BillLine, billSum, ledgerSum int64, increments int, caps Caps) Decision {
	if len(lines) > 0 && billSum == ledgerSum {
		return matchedDecision
	}
	if len(lines) == 0 {
		class := payrecon.ClassRefundMissingInBill
		note := fmt.Sprintf("refunds of the order booked %s (cumulative, no refund number); the bill has no refund of the order",
			payrecon.FormatYuan(ledgerSum))
		if increments > 1 {
			// reverse_ledger reverses one entry; this is several increments.
			return manualReview(class, note+fmt.Sprintf(" (%d ledger increments)", increments))
		}
		return decided(class, payrecon.KindRefund, payrecon.StatusSuccess, "", caps, note)
	}
	nos := make([]string, len(lines))
	for i, l := range lines {
		nos[i] = l.ProviderRefundNo
		if nos[i] == "" {
			nos[i] = l.MerchantRefundNo
		}
	}
	note := fmt.Sprintf("refunds of the order: bill %s in %d line(s) (%s), ledger %s (cumulative, no refund number)",
		payrecon.FormatYuan(billSum), len(lines), strings.Join(nos, ", "), payrecon.FormatYuan(ledgerSum))
	return decided(payrecon.ClassRefundAmountMismatch, payrecon.KindRefund, payrecon.StatusSuccess, lines[len(lines)-1].Status, caps, note)
}

// settleFeeLeftover decides an order whose settlement-bill fee disagrees
// with the configured rate (ppm) and that no trade line of the day took.
func settleFeeLeftover(f *settleFee, rate int64, caps Caps) Decision {
	return decided(payrecon.ClassFeeMismatch, payrecon.KindPayment, "", f.line.Status, caps,
		f.note(rate)+"; the order is not in this day's trade bill")
}

// settlementMismatch decides a settlement bill whose total (settlement)
// differs from the trade bill's net (tradeNet).
func settlementMismatch(settlement, tradeNet int64, caps Caps) Decision {
	return decided(payrecon.ClassSettlementMismatch, payrecon.KindSettlement, "", "", caps,
		fmt.Sprintf("settlement bill total %s vs trade bill net %s (difference %s)",
			payrecon.FormatYuan(settlement), payrecon.FormatYuan(tradeNet), payrecon.FormatYuan(settlement-tradeNet)))
}
