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

func TestConformance(t *testing.T) {
	sc := &scenario.Scenario{}
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow, NotifyNow: notifyNow})
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
