package qqpay_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

var testDay = payrecon.MustDay("2026-11-20")

// fixedNow is the API clock: days after testDay.
func fixedNow() time.Time { return testDay.Add(3).Start().Add(10 * time.Hour) }

func mustClient(t testing.TB, cfg qqpay.Config) *qqpay.Client {
	t.Helper()
	c, err := qqpay.New(cfg, nil, qqpay.WithNow(fixedNow))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func mustSandbox(t testing.TB, sc *scenario.Scenario, opts sandbox.Options) (*sandbox.Sandbox, *qqpay.Client) {
	t.Helper()
	if opts.Now == nil {
		opts.Now = fixedNow
	}
	sb := sandbox.New(sc, opts)
	t.Cleanup(sb.Close)
	return sb, mustClient(t, sb.MerchantConfig())
}
