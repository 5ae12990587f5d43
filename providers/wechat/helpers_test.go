package wechat_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

// testDay is the bill day the tests plant; the clock stands five days later.
var testDay = payrecon.MustDay("2026-11-02")

func fixedNow() time.Time { return testDay.Add(5).Start().Add(10 * time.Hour) }

// MustSandbox starts a sandbox on a fixed clock and a client configured
// against it on the same clock.
func MustSandbox(tb testing.TB, sc *scenario.Scenario, opts ...wechat.Option) (*sandbox.Sandbox, *wechat.Client) {
	tb.Helper()
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow})
	tb.Cleanup(sb.Close)
	return sb, MustClient(tb, sb.MerchantConfig(), opts...)
}

// MustClient builds a client on the fixed clock.
func MustClient(tb testing.TB, cfg wechat.Config, opts ...wechat.Option) *wechat.Client {
	tb.Helper()
	c, err := wechat.New(cfg, slog.New(slog.DiscardHandler), append([]wechat.Option{wechat.WithNow(fixedNow)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
