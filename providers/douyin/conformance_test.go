package douyin_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/douyin/sandbox"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
)

func mustSandbox(tb testing.TB, opts sandbox.Options) *sandbox.Sandbox {
	tb.Helper()
	sb, err := sandbox.New(&scenario.Scenario{}, opts)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(sb.Close)
	return sb
}

// ledgerLookup stands in for the ledger, which learns order_id and
// out_order_no together from the payment callback: ecpay v1 query_order
// cannot look an order up by order_id.
func ledgerLookup(sc *scenario.Scenario) douyin.OrderLookup {
	return func(_ context.Context, orderID string) (string, error) {
		p, ok := sc.FindPayment("", orderID)
		if !ok {
			return "", fmt.Errorf("order_id %s unknown to the ledger: %w", orderID, payrecon.ErrNotFound)
		}
		return p.MerchantOrderNo, nil
	}
}

func sandboxClient(tb testing.TB, sb *sandbox.Sandbox, account string, opts ...douyin.Option) *douyin.Client {
	tb.Helper()
	cfg := sb.MerchantConfig()
	cfg.Account = account
	c, err := douyin.New(cfg, slog.New(slog.DiscardHandler), append([]douyin.Option{douyin.WithOrderLookup(ledgerLookup(sb.Scenario()))}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts sandbox.Options
	}{
		{"DocLayoutYuan", sandbox.Options{}},
		{"FenBareCommaGBKSummary", sandbox.Options{Unit: douyin.UnitFen, Separator: ",", Encoding: sandbox.EncodingGBK, Summary: true}},
		{"BOM", sandbox.Options{Encoding: sandbox.EncodingUTF8BOM, Summary: true}},
		{"NumberedDownDoneWords", sandbox.Options{Numbering: sandbox.NumberDown, DoneWords: map[string]string{douyin.BillPayment: "支付完成", douyin.BillRefund: "退款完成", douyin.BillSettle: "分账完成"}}},
		{"NumberedFromZero", sandbox.Options{Numbering: sandbox.NumberFromZero, Summary: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := mustSandbox(t, tc.opts)
			providertest.Run(t, providertest.Harness{
				Sandbox:  sb,
				Provider: sandboxClient(t, sb, "dy"),
				Day:      payrecon.MustDay("2026-11-10"),
				Account:  "dy",
				// ecpay v1 has no closed/not-paid distinction beyond TIMEOUT
				PaymentStatuses:           []payrecon.Status{payrecon.StatusFailed, payrecon.StatusPending, payrecon.StatusClosed},
				RefundStatuses:            []payrecon.Status{payrecon.StatusPending, payrecon.StatusFailed},
				NoRefundQueryByProviderNo: true, // query_refund takes out_refund_no only
				NoPayerAmount:             true, // payment callbacks carry total_amount only
				// the payload is msg (signed); ecpay v1 has no notification id:
				// the event id is made of msg's order_id
				Hostile: providertest.Hostile{
					Format: providertest.FormatJSON, Amount: "total_amount", Status: "status",
					MerchantOrderNo: "cp_orderno", ID: "order_id", IDInPayload: true, BodyDupKey: "msg",
					Skip: map[string]string{providertest.HostileCurrency: "ecpay v1 payment msgs carry no currency field (CNY only)"},
				},
			})
		})
	}
}
