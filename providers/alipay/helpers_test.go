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
// have: the conformance suite matches refunds in bills and callbacks by the
// scenario's ProviderRefundNo, while the client names an Alipay refund by
// payrecon's RefundKey (trade_no/out_request_no). The wrapper puts the
// scenario's number of the refund the key names (what the client really
// delivered) in its place, and changes nothing else.
type refundNumbers struct {
	*alipay.Client
	sc *scenario.Scenario
}

func (r refundNumbers) fill(merchantRefundNo, key string) string {
	if found, ok := r.sc.FindRefund(merchantRefundNo, ""); ok && key == alipay.RefundKey(found.ProviderTxnNo, merchantRefundNo) {
		return found.ProviderRefundNo
	}
	return key
}

func (r refundNumbers) Bill(ctx context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	return r.Client.Bill(ctx, day, kind, func(l payrecon.BillLine) error {
		if l.Kind == payrecon.KindRefund {
			l.ProviderRefundNo = r.fill(l.MerchantRefundNo, l.ProviderRefundNo)
		}
		return fn(l)
	})
}

func (r refundNumbers) VerifyCallback(req payrecon.CallbackRequest) (payrecon.VerifiedCallback, error) {
	v, err := r.Client.VerifyCallback(req)
	for i, e := range v.Entries {
		if e.Kind == payrecon.KindRefund {
			v.Entries[i].ProviderRefundNo = r.fill(e.MerchantRefundNo, e.ProviderRefundNo)
		}
	}
	return v, err
}

func (r refundNumbers) QueryRefund(ctx context.Context, ref payrecon.RefundRef) (payrecon.Refund, error) {
	got, err := r.Client.QueryRefund(ctx, ref)
	if got.ProviderRefundNo != "" {
		got.ProviderRefundNo = r.fill(got.MerchantRefundNo, got.ProviderRefundNo)
	}
	return got, err
}
