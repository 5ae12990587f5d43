package main

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payrecon/payrecon"
)

// plan is the benchmark's scenario: n positions on one bill day, each a
// payment, a refund, an agreement or an "other" line, with discrepancies of
// every class planted at fixed slots (position modulo every). Everything —
// bill lines, ledger entries, provider answers — is computed from the
// position, so the plan takes no memory whatever n is.
type plan struct {
	n       int
	every   int
	day     payrecon.Day
	ratePPM int64
}

// Planted slots (position % every).
const (
	slotMissingInLedger       = 1
	slotMissingInBill         = 2
	slotCarriedOver           = 3
	slotAmountMismatch        = 4
	slotStatusMismatch        = 5
	slotDuplicate             = 6
	slotFeeMismatch           = 7
	slotRefundMissingInLedger = 8
	slotRefundMissingInBill   = 9
	slotRefundAmountMismatch  = 10
	slotAgreementMismatch     = 11
	slotAgreementOK           = 12
	slotOther                 = 13
	slotResolvedLate          = 14
)

func newPlan(n int, day payrecon.Day) plan {
	every := 10000
	if n < 200_000 {
		every = 1000
	}
	return plan{n: n, every: every, day: day, ratePPM: 6000}
}

func (p plan) slot(i int) int { return i % p.every }

func (p plan) isRefund(i int) bool {
	s := p.slot(i)
	return s == slotRefundMissingInLedger || s == slotRefundMissingInBill || s == slotRefundAmountMismatch || i%20 == 17
}

func (p plan) isAgreement(i int) bool {
	s := p.slot(i)
	return s == slotAgreementMismatch || s == slotAgreementOK
}

// Numbers. Huawei transaction and refund numbers are numeric.
func txnNo(i int) string        { return fmt.Sprintf("42%017d", i) }
func dupTxnNo(i int) string     { return fmt.Sprintf("43%017d", i) }
func otherTxnNo(i int) string   { return fmt.Sprintf("44%017d", i) }
func orderNo(i int) string      { return fmt.Sprintf("M%011d", i) }
func refundNo(i int) string     { return fmt.Sprintf("R%011d", i) }
func provRefundNo(i int) string { return fmt.Sprintf("72%017d", i) }
func agreementNo(i int) string  { return fmt.Sprintf("C%011d", i) }

// index parses a position back from any of the numbers above.
func index(s string) (int, bool) {
	var digits string
	switch {
	case strings.HasPrefix(s, "M"), strings.HasPrefix(s, "R"), strings.HasPrefix(s, "C"):
		digits = s[1:]
	case len(s) == 19 && (strings.HasPrefix(s, "42") || strings.HasPrefix(s, "43") || strings.HasPrefix(s, "44") || strings.HasPrefix(s, "72")):
		digits = s[2:]
	default:
		return 0, false
	}
	i, err := strconv.Atoi(digits)
	return i, err == nil
}

func amount(i int) int64 { return 100 + int64(i*7919%99901) }

func promotion(i int) int64 {
	if i%7 == 0 {
		return amount(i) / 20
	}
	return 0
}

func refundAmount(i int) int64 { return amount(i)/2 + 1 }

// at is the position's event time: spread over the day; the cut-off slots
// happen at 23:59:30 (resolved-late ones on the day before).
func (p plan) at(i int) time.Time {
	switch p.slot(i) {
	case slotCarriedOver:
		return p.day.End().Add(-30 * time.Second)
	case slotResolvedLate:
		return p.day.Start().Add(-30 * time.Second)
	}
	return p.day.Start().Add(200*time.Second + time.Duration(int64(i)*86_000/int64(max(p.n, 1)))*time.Second)
}

// expected counts the classes the run should find for the plan's day.
func (p plan) expected() map[payrecon.Class]int64 {
	want := map[payrecon.Class]int64{}
	for i := 0; i < p.n; i++ {
		switch p.slot(i) {
		case slotMissingInLedger:
			if !p.isRefund(i) {
				want[payrecon.ClassMissingInLedger]++
			}
		case slotMissingInBill:
			want[payrecon.ClassMissingInBill]++
		case slotCarriedOver:
			want[payrecon.ClassCarriedOver]++
		case slotAmountMismatch:
			want[payrecon.ClassAmountMismatch]++
		case slotStatusMismatch:
			want[payrecon.ClassStatusMismatch]++
		case slotDuplicate:
			want[payrecon.ClassDuplicatePayment]++
		case slotFeeMismatch:
			want[payrecon.ClassFeeMismatch]++
		case slotRefundMissingInLedger:
			want[payrecon.ClassRefundMissingInLedger]++
		case slotRefundMissingInBill:
			want[payrecon.ClassRefundMissingInBill]++
		case slotRefundAmountMismatch:
			want[payrecon.ClassRefundAmountMismatch]++
		case slotAgreementMismatch:
			want[payrecon.ClassAgreementMismatch]++
		case slotOther:
			want[payrecon.ClassOtherBillLine]++
		case slotResolvedLate:
			want[payrecon.ClassResolvedLate]++
		}
	}
	return want
}
