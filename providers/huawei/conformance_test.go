package huawei_test

import (
	"log/slog"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
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

func mustClient(tb testing.TB, sb *sandbox.Sandbox, model string, opts ...huawei.Option) *huawei.Client {
	tb.Helper()
	c, err := huawei.New(sb.MerchantConfig(model), slog.New(slog.DiscardHandler), append([]huawei.Option{huawei.WithAccount("hw-" + model)}, opts...)...)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name  string
		model string
		opts  sandbox.Options
	}{
		{"Direct", huawei.ModelDirect, sandbox.Options{}},
		{"Partner", huawei.ModelPartner, sandbox.Options{Model: huawei.ModelPartner, Encoding: sandbox.EncodingGBK, DateFormat: sandbox.DatesSlash}},
		{"DirectRSA", huawei.ModelDirect, sandbox.Options{KeyType: huawei.KeyRSA, Encoding: sandbox.EncodingUTF8BOM, DateFormat: sandbox.DatesSlashMin}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sb := mustSandbox(t, tc.opts)
			c := mustClient(t, sb, tc.model)
			providertest.Run(t, providertest.Harness{
				Sandbox:   sb,
				Provider:  c,
				Day:       payrecon.MustDay("2026-11-10"),
				Account:   "hw-" + tc.model,
				OtherType: "分账",
				Hostile: providertest.Hostile{
					Format: providertest.FormatJSON, Amount: "totalAmount", Currency: "currency", Status: "orderStatus",
					MerchantOrderNo: "mercOrderNo", ID: "callbackId",
					Skip: map[string]string{providertest.HostileDupKeyInner: "Huawei signs the JSON body itself: no inner payload (duplicate_key_body covers it)"},
				},
			})
		})
	}
}
