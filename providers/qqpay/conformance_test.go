package qqpay_test

import (
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

func runConformance(t *testing.T, opts sandbox.Options) {
	sb, c := mustSandbox(t, &scenario.Scenario{}, opts)
	providertest.Run(t, providertest.Harness{
		Sandbox:         sb,
		Provider:        c,
		Day:             testDay,
		OtherType:       "已撤销",
		PaymentStatuses: []payrecon.Status{payrecon.StatusFailed, payrecon.StatusPending, payrecon.StatusClosed, payrecon.StatusNotPaid},
		RefundStatuses:  []payrecon.Status{payrecon.StatusPending, payrecon.StatusFailed},
		// no notification id: the event id is made of transaction_id
		Hostile: providertest.Hostile{
			Format: providertest.FormatXML, Amount: "total_fee", Currency: "fee_type", Status: "trade_state",
			MerchantOrderNo: "out_trade_no", ID: "transaction_id",
			Skip: map[string]string{
				providertest.HostileAmountType:  "XML values are untyped text: total_fee's whole-fen format is checked when parsed",
				providertest.HostileDupKeyInner: "the signed XML is the payload: no inner payload (duplicate_key_body covers it)",
			},
		},
	})
	calls := strings.Join(sb.Calls(), "\n")
	for _, p := range []string{qqpay.PathStatement, qqpay.PathOrderQuery, qqpay.PathRefundQuery, qqpay.PathRefund, qqpay.PathCloseOrder} {
		if !strings.Contains(calls, "POST "+p) {
			t.Errorf("the suite never called %s", p)
		}
	}
}

func TestConformance(t *testing.T) { runConformance(t, sandbox.Options{}) }

// TestConformanceVariants: HMAC-SHA256 signing, a GBK statement with a BOM-less
// long time format, numeric refund statuses.
func TestConformanceVariants(t *testing.T) {
	t.Run("hmac-gbk-longtimes", func(t *testing.T) {
		runConformance(t, sandbox.Options{SignType: qqpay.SignHMACSHA256, GBK: true, LongTimes: true})
	})
	t.Run("numeric-refund-status-bom", func(t *testing.T) {
		runConformance(t, sandbox.Options{NumericRefundStatus: true, BOM: true})
	})
}
