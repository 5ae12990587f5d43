package douyin_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
)

// msg is a JSON text inside the body's JSON: it is decoded as strictly as
// the body, though its signature (which covers msg) is valid; and a body
// repeating msg (the signature checked over one, the other read) is refused.
func TestVerifyCallback_StrictMsg(t *testing.T) {
	c := mustNew(t, testConfig())
	signed := func(msg string) []byte { return body("test-token-1", "1602507471", "797", msg, "payment", true) }
	twoMsgs := func() []byte {
		b := signed(demoPaymentMsg)
		forged := strings.Replace(demoPaymentMsg, "9980", "998000", 1)
		return []byte(strings.Replace(string(b), `"type":"payment"}`, `"type":"payment","msg":`+quote(forged)+`}`, 1))
	}
	for _, tc := range []struct {
		name, rule string
		body       []byte
		header     http.Header
	}{
		{"msg repeats a key", "duplicate_key: total_amount", signed(strings.Replace(demoPaymentMsg, `"status":"SUCCESS"`, `"status":"SUCCESS","total_amount":998000`, 1)), jsonHeader},
		{"msg amount as string", "json_type: total_amount", signed(strings.Replace(demoPaymentMsg, `"total_amount":9980`, `"total_amount":"9980"`, 1)), jsonHeader},
		{"msg lone surrogate", "utf8: cp_extra", signed(strings.Replace(demoPaymentMsg, `"cp_extra":""`, `"cp_extra":"\udc00"`, 1)), jsonHeader},
		{"msg trailing data", "syntax: body has data after", signed(demoPaymentMsg + `{"total_amount":1}`), jsonHeader},
		{"body repeats msg", "duplicate_key: msg", twoMsgs(), jsonHeader},
		{"text/plain", "content_type: Content-Type", signed(demoPaymentMsg), http.Header{"Content-Type": {"text/plain"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "dy", Header: tc.header, Body: tc.body})
			if !errors.Is(err, douyin.ErrCallbackFormat) || !strings.Contains(err.Error(), tc.rule) {
				t.Fatalf("err = %v, want ErrCallbackFormat with %q", err, tc.rule)
			}
			if r := c.Reply(err); r.Status != http.StatusBadRequest {
				t.Errorf("reply %d, want 400", r.Status)
			}
		})
	}
}

func quote(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `"`, `\"`)
	return `"` + r.Replace(s) + `"`
}
