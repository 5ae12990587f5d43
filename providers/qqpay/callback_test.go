package qqpay_test

import (
	"errors"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
)

// TestCallbackFields: indexed coupons, a missing cash_fee, the Shanghai
// time_end, and field checks that refuse a valid-looking notification.
func TestCallbackFields(t *testing.T) {
	sc := billScenario()
	_, c := mustSandbox(t, sc, sandbox.Options{})
	verify := func(f map[string]string) (payrecon.VerifiedCallback, error) {
		cb := sandbox.SignCallback(f, sandbox.APIKey, "MD5")
		return c.VerifyCallback(payrecon.CallbackRequest{Account: "qq", Header: cb.Header, Body: cb.Body, ReceivedAt: time.Now()})
	}
	f := sandbox.PaymentFields(sc.Payments[1]) // 123456 total, 1000 promotion
	delete(f, "cash_fee")
	delete(f, "coupon_fee")
	f["coupon_fee_0"], f["coupon_fee_1"] = "600", "400"
	vc, err := verify(f)
	if err != nil || len(vc.Entries) != 1 {
		t.Fatal(vc, err)
	}
	e := vc.Entries[0]
	if e.PayerAmount != 122456 || e.PromotionAmount != 1000 || !e.OccurredAt.Equal(sc.Payments[1].PaidAt) || e.OccurredAt.Location() != payrecon.Shanghai {
		t.Errorf("entry %+v", e)
	}
	for name, mut := range map[string]func(map[string]string){
		"yuan total":     func(m map[string]string) { m["total_fee"] = "1234.56" },
		"bad time":       func(m map[string]string) { m["time_end"] = "2026-13-01" },
		"no time":        func(m map[string]string) { delete(m, "time_end") },
		"no transaction": func(m map[string]string) { delete(m, "transaction_id") },
		"no state":       func(m map[string]string) { delete(m, "trade_state") },
		"return FAIL":    func(m map[string]string) { m["return_code"] = "FAIL" },
	} {
		g := sandbox.PaymentFields(sc.Payments[1])
		mut(g)
		if _, err := verify(g); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	// a zero or negative total is the domain validation's to refuse
	// (amount_positive): the verifier keeps the amount and its sign
	for _, total := range []string{"0", "-100"} {
		g := sandbox.PaymentFields(sc.Payments[1])
		g["total_fee"] = total
		vc, err := verify(g)
		if err != nil || len(vc.Entries) != 1 {
			t.Fatalf("total %s: %+v %v", total, vc, err)
		}
		var verr *payrecon.ValidationError
		if err := (payrecon.Policy{}).CheckEntry(vc.Entries[0]); !errors.As(err, &verr) || verr.Rule != payrecon.RuleAmountPositive {
			t.Errorf("total %s: domain validation says %v, want %s", total, err, payrecon.RuleAmountPositive)
		}
	}
	// a refund notification that is not (yet) successful is a pending entry, not a success
	r := sc.Refunds[0]
	r.Status, r.FinishedAt = payrecon.StatusPending, time.Time{}
	vc, err = verify(sandbox.RefundFields(r))
	if err != nil || len(vc.Entries) != 1 || vc.Entries[0].Status != payrecon.StatusPending || vc.Entries[0].EventKey != "refund:"+r.ProviderRefundNo+":pending" {
		t.Fatalf("pending refund: %+v %v", vc, err)
	}
}
