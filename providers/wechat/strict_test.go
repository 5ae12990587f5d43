package wechat_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

// The decrypted resource is decoded as strictly as the signed body: a
// plaintext repeating a key (the 100× amount) or sending an amount
// as a string is refused with the rule named, though signature and
// encryption are valid.
func TestVerifyCallback_StrictPlaintext(t *testing.T) {
	sb, c := MustSandbox(t, billScenario())
	const valid = `{"mchid":"%s","appid":"wx1","out_trade_no":"O9","transaction_id":"4200000009","trade_type":"JSAPI","trade_state":"SUCCESS","success_time":"2026-11-02T10:00:00+08:00","amount":%s}`
	for _, tc := range []struct {
		name, amount, rule, field string
	}{
		{"ok", `{"total":100,"payer_total":100,"currency":"CNY"}`, "", ""},
		{"duplicate key", `{"total":100,"payer_total":100,"currency":"CNY","total":10000}`, "duplicate_key", "amount.total"},
		{"duplicate key but for case", `{"total":100,"payer_total":100,"currency":"CNY","Total":10000}`, "duplicate_key", "amount.Total"},
		{"amount as string", `{"total":"100","payer_total":100,"currency":"CNY"}`, "json_type", "amount.total"},
		{"fractional amount", `{"total":1.5,"payer_total":100,"currency":"CNY"}`, "json_type", "amount.total"},
		{"lone surrogate", `{"total":100,"payer_total":100,"currency":"CN\udc00"}`, "utf8", "amount.currency"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt := strings.Replace(strings.Replace(valid, "%s", sb.MerchantConfig().MchID, 1), "%s", tc.amount, 1)
			cb, err := sb.Notify(wechat.EventTransactionSuccess, "transaction", "支付成功", []byte(pt), sandbox.NotifyOptions{})
			if err != nil {
				t.Fatal(err)
			}
			got, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "acct", Header: cb.Header, Body: cb.Body, ReceivedAt: fixedNow()})
			if tc.rule == "" {
				if err != nil || len(got.Entries) != 1 || got.Entries[0].Amount != 100 {
					t.Fatalf("valid plaintext: %+v %v", got, err)
				}
				return
			}
			if !errors.Is(err, wechat.ErrCallbackFormat) || !strings.Contains(err.Error(), tc.rule+": "+tc.field) {
				t.Fatalf("err = %v, want ErrCallbackFormat with %s: %s", err, tc.rule, tc.field)
			}
			if r := c.Reply(err); r.Status != http.StatusBadRequest {
				t.Errorf("reply status %d, want 400", r.Status)
			}
		})
	}
}
