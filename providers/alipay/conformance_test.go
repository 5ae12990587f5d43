package alipay_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay/sandbox"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
)

func notifyNow() time.Time { return testDay.Start().Add(23 * time.Hour) }

// TestConformance runs the suite twice: notifications with only their
// non-empty fields, and with their empty optional fields (refund_fee=0.00 on
// payments, passback_params=) signed as the docs say, empty ones included.
func TestConformance(t *testing.T) {
	for _, empty := range []bool{false, true} {
		name := "NonEmptyFields"
		if empty {
			name = "EmptyFields"
		}
		t.Run(name, func(t *testing.T) {
			conformance(t, sandbox.Options{Now: fixedNow, NotifyNow: notifyNow, EmptyFields: empty})
		})
	}
}

func conformance(t *testing.T, opts sandbox.Options) {
	sc := &scenario.Scenario{}
	sb := sandbox.New(sc, opts)
	defer sb.Close()
	c := MustClient(t, sb.MerchantConfig())
	providertest.Run(t, providertest.Harness{
		Sandbox:  sb,
		Provider: refundNumbers{c, sc},
		Day:      testDay,
		// Alipay trades are WAIT_BUYER_PAY (not paid) or TRADE_CLOSED; there
		// is no failed or processing payment state.
		PaymentStatuses: []payrecon.Status{payrecon.StatusNotPaid, payrecon.StatusClosed},
		// A refund is REFUND_SUCCESS or not (yet) successful.
		RefundStatuses: []payrecon.Status{payrecon.StatusPending},
		// Alipay has no refund number of its own: refunds are queried by out_request_no.
		NoRefundQueryByProviderNo: true,
		Hostile: providertest.Hostile{
			Format: providertest.FormatForm, Amount: "total_amount", Status: "trade_status",
			MerchantOrderNo: "out_trade_no", ID: "notify_id",
			Skip: map[string]string{
				providertest.HostileAmountType:  "form values are untyped text: total_amount's yuan format is checked by the exact yuan parser",
				providertest.HostileCurrency:    "Alipay's trade notification carries no currency field (CNY trades)",
				providertest.HostileDupKeyInner: "the signed form is the payload: no inner payload (duplicate_key_body covers it)",
			},
		},
	})
}
