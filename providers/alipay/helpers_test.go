package alipay_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/alipay/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

// testDay is the bill day the tests plant; the clock stands five days later.
var testDay = payrecon.MustDay("2026-11-02")

func fixedNow() time.Time { return testDay.Add(5).Start().Add(10 * time.Hour) }

// MustSandbox starts a sandbox on a fixed clock and a client against it.
func MustSandbox(tb testing.TB, sc *scenario.Scenario, opts ...alipay.Option) (*sandbox.Sandbox, *alipay.Client) {
	tb.Helper()
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow})
	tb.Cleanup(sb.Close)
	return sb, MustClient(tb, sb.MerchantConfig(), opts...)
}

// MustClient builds a client on the fixed clock.
func MustClient(tb testing.TB, cfg alipay.Config, opts ...alipay.Option) *alipay.Client {
	tb.Helper()
	c, err := alipay.New(cfg, slog.New(slog.DiscardHandler), append([]alipay.Option{alipay.WithNow(fixedNow)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

// refundNumbers stands in for the provider refund number Alipay does not
// have: the conformance suite matches refunds in bills and callbacks by
// ProviderRefundNo, Alipay identifies a refund by the merchant's
// out_request_no only. The wrapper fills ProviderRefundNo from the
// scenario's refund with the same MerchantRefundNo (what the client really
// delivered), and nothing else.
type refundNumbers struct {
	*alipay.Client
	sc *scenario.Scenario
}

func (r refundNumbers) fill(merchantRefundNo string) string {
	if found, ok := r.sc.FindRefund(merchantRefundNo, ""); ok {
		return found.ProviderRefundNo
	}
	return ""
}

func (r refundNumbers) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	return r.Client.Bill(ctx, day, kind, func(l payrecon.BillLine) error {
		if l.Kind == payrecon.KindRefund && l.ProviderRefundNo == "" {
			l.ProviderRefundNo = r.fill(l.MerchantRefundNo)
		}
		return fn(l)
	})
}

func (r refundNumbers) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	v, err := r.Client.VerifyCallback(req)
	for i, e := range v.Entries {
		if e.Kind == payrecon.KindRefund && e.ProviderRefundNo == "" {
			v.Entries[i].ProviderRefundNo = r.fill(e.MerchantRefundNo)
		}
	}
	return v, err
}
