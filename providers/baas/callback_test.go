package baas_test

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
	"gopkg.in/yaml.v3"
)

const testSecret = "0123456789abcdef-callback"

func testConfig() baas.Config {
	return baas.Config{Account: "mc", ClientID: "cid123", AccessToken: payrecon.NewSecret("tok"), CallbackSecret: payrecon.NewSecret(testSecret)}
}

func mustNew(t testing.TB, cfg baas.Config, opts ...baas.Option) *baas.Client {
	t.Helper()
	c, err := baas.New(cfg, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func signed(body string) payrecon.CallbackRequest {
	h := http.Header{"Content-Type": {"application/json"}}
	h.Set(baas.DefaultSignatureHeader, baas.SignCallback([]byte(testSecret), []byte(body)))
	return payrecon.CallbackRequest{Account: "mc", Header: h, Body: []byte(body), ReceivedAt: time.Unix(1584690000, 0)}
}

const paidRecord = `{"id":11231,"gateway_type":"weixin_tenpay","trade_no":"1jFEJyKzPbSfeGoaUAHRBGBNRQ4uMtCM","transaction_no":"Jqz3ZcMhwCdTWKf5OQJdPQeJWCg4eMyM","status":"success","refund_status":null,"total_cost":100.00,"paid_at":1584681907,"updated_at":1584681907}`

func TestVerifyCallbackForms(t *testing.T) {
	c := mustNew(t, testConfig())
	for name, body := range map[string]string{
		"bare":       paidRecord,
		"data":       `{"data":` + paidRecord + `}`,
		"event.data": `{"event":{"type":"payment","data":` + paidRecord + `}}`,
		"event+data": `{"event":"payment","data":` + paidRecord + `}`,
	} {
		vc, err := c.VerifyCallback(signed(body))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(vc.Entries) != 1 {
			t.Fatalf("%s: %d entries", name, len(vc.Entries))
		}
		e := vc.Entries[0]
		if e.EventKey != "payment:Jqz3ZcMhwCdTWKf5OQJdPQeJWCg4eMyM:success" || e.Amount != 10000 || e.MerchantOrderNo != "1jFEJyKzPbSfeGoaUAHRBGBNRQ4uMtCM" ||
			!e.OccurredAt.Equal(time.Unix(1584681907, 0)) || e.OccurredAt.Location() != payrecon.Shanghai || e.Kind != payrecon.KindPayment {
			t.Errorf("%s: entry %+v", name, e)
		}
		if vc.EventID != "baas:11231:success:-:" || !strings.Contains(vc.Type, "weixin_tenpay") {
			t.Errorf("%s: event id %q type %q", name, vc.EventID, vc.Type)
		}
	}
}

func TestVerifyCallbackRefundAndFailed(t *testing.T) {
	c := mustNew(t, testConfig())
	refunded := strings.Replace(strings.Replace(paidRecord, `"refund_status":null`, `"refund_status":"partial","refund_amount":"12.34"`, 1), `"updated_at":1584681907`, `"updated_at":1584690000`, 1)
	vc, err := c.VerifyCallback(signed(refunded))
	if err != nil || len(vc.Entries) != 2 {
		t.Fatalf("%+v %v", vc, err)
	}
	r := vc.Entries[1]
	if r.Kind != payrecon.KindRefund || r.Amount != 1234 || r.EventKey != "refund:1jFEJyKzPbSfeGoaUAHRBGBNRQ4uMtCM/1234:success" || r.MerchantRefundNo != "1jFEJyKzPbSfeGoaUAHRBGBNRQ4uMtCM" {
		t.Errorf("refund entry %+v", r)
	}
	failed := strings.Replace(paidRecord, `"status":"success"`, `"status":"failed"`, 1)
	vc, err = c.VerifyCallback(signed(failed))
	if err != nil || len(vc.Entries) != 1 || vc.Entries[0].Status != payrecon.StatusFailed {
		t.Fatalf("failed: %+v %v", vc, err)
	}
	pending := strings.Replace(paidRecord, `"status":"success"`, `"status":"pending"`, 1)
	vc, err = c.VerifyCallback(signed(pending))
	if err != nil || len(vc.Entries) != 0 {
		t.Fatalf("pending: %+v %v", vc, err)
	}
}

// MinCloud serialises the order record inconsistently (baas.md: total_cost
// "398.00" or 100.00 → parse both; times unix seconds or ISO without a
// zone): the webhook takes every form the order-list reader takes, and
// its values are checked by the same reader.
func TestVerifyCallbackStringAmountsISOTimes(t *testing.T) {
	c := mustNew(t, testConfig())
	rec := `{"id":"5bc0a8a2","gateway_type":"weixin_tenpay_js","currency_type":"CNY","trade_no":"1jFEJyKzPbSfeGoaUAHRBGBNRQ4uMtCM","transaction_no":"Jqz3ZcMhwCdTWKf5OQJdPQeJWCg4eMyM",` +
		`"status":"success","refund_status":%s,"refund_amount":%s,"total_cost":%s,` +
		`"paid_at":%s,"created_at":"2018-10-12T17:17:02.123456","updated_at":"2018-10-12T18:00:00.5"}`
	body := func(refundStatus, refundAmount, total, paidAt string) string {
		return fmt.Sprintf(rec, refundStatus, refundAmount, total, paidAt)
	}
	paid := time.Date(2018, 10, 12, 17, 18, 10, 992125000, payrecon.Shanghai)
	for name, b := range map[string]string{
		"data":  `{"data":` + body(`null`, `null`, `"398.00"`, `"2018-10-12T17:18:10.992125"`) + `}`,
		"bare":  body(`""`, `"0.00"`, `"398.00"`, `"2018-10-12T17:18:10.992125"`),
		"event": `{"event":{"data":` + body(`null`, `"0"`, `"398.00"`, `"2018-10-12T17:18:10.992125"`) + `}}`,
	} {
		vc, err := c.VerifyCallback(signed(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(vc.Entries) != 1 {
			t.Fatalf("%s: %d entries: %+v", name, len(vc.Entries), vc.Entries)
		}
		e := vc.Entries[0]
		if e.Kind != payrecon.KindPayment || e.Amount != 39800 || e.PayerAmount != 39800 || !e.OccurredAt.Equal(paid) ||
			e.EventKey != "payment:Jqz3ZcMhwCdTWKf5OQJdPQeJWCg4eMyM:success" {
			t.Errorf("%s: entry %+v, want a payment of 39800 fen at %v", name, e, paid)
		}
	}
	// a refund stated the same way
	vc, err := c.VerifyCallback(signed(body(`"partial"`, `"12.34"`, `"398.00"`, `"2018-10-12T17:18:10.992125"`)))
	if err != nil || len(vc.Entries) != 2 {
		t.Fatalf("refund: %+v %v", vc, err)
	}
	if r := vc.Entries[1]; r.Kind != payrecon.KindRefund || r.Amount != 1234 || !r.OccurredAt.Equal(time.Date(2018, 10, 12, 18, 0, 0, 500000000, payrecon.Shanghai)) {
		t.Errorf("refund entry %+v", r)
	}
	// unix seconds as strings, a fractional unix number
	for _, paidAt := range []string{`"1539335890"`, `1539335890.992125`, `"1539335890.992125"`} {
		vc, err := c.VerifyCallback(signed(body(`null`, `null`, `398.00`, paidAt)))
		if err != nil || len(vc.Entries) != 1 || vc.Entries[0].Amount != 39800 || !vc.Entries[0].OccurredAt.Equal(time.Unix(1539335890, 0)) {
			t.Errorf("paid_at %s: %+v %v", paidAt, vc.Entries, err)
		}
	}
	// whatever the type, a value the reader cannot read exactly is refused,
	// naming the field, and is not taken for a forgery
	for _, tc := range []struct{ name, body, field string }{
		{"three decimals", body(`null`, `null`, `"398.001"`, `"2018-10-12T17:18:10"`), "total_cost"},
		{"exponent string", body(`null`, `null`, `"3.98e2"`, `"2018-10-12T17:18:10"`), "total_cost"},
		{"not a number", body(`null`, `null`, `"398.00 yuan"`, `"2018-10-12T17:18:10"`), "total_cost"},
		{"empty string", body(`null`, `null`, `""`, `"2018-10-12T17:18:10"`), "total_cost"},
		{"null amount", body(`null`, `null`, `null`, `"2018-10-12T17:18:10"`), "total_cost"},
		{"bool amount", body(`null`, `null`, `true`, `"2018-10-12T17:18:10"`), "total_cost"},
		{"object amount", body(`null`, `null`, `{"yuan":"398.00"}`, `"2018-10-12T17:18:10"`), "total_cost"},
		{"negative string", body(`null`, `null`, `"-398.00"`, `"2018-10-12T17:18:10"`), "total_cost"},
		{"refund above total", body(`"partial"`, `"398.01"`, `"398.00"`, `"2018-10-12T17:18:10"`), "refund_amount"},
		{"bad ISO", body(`null`, `null`, `"398.00"`, `"2018-13-12T17:18:10"`), "paid_at"},
		{"exponent time", body(`null`, `null`, `"398.00"`, `1.5e9`), "paid_at"},
		{"bad fraction", body(`null`, `null`, `"398.00"`, `"1539335890.5x"`), "paid_at"},
		{"paid without time", body(`null`, `null`, `"398.00"`, `null`), "paid_at"},
		{"bool time", body(`null`, `null`, `"398.00"`, `true`), "paid_at"},
	} {
		_, err := c.VerifyCallback(signed(tc.body))
		if err == nil || errors.Is(err, payrecon.ErrSignatureInvalid) || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: err = %v, want a refusal naming %s", tc.name, err, tc.field)
		}
	}
}

func TestParseCallbackOrderRefusesNonRecords(t *testing.T) {
	for name, body := range map[string]string{
		"event string, data string": `{"event":"payment","data":"x"}`,
		"event object without data": `{"event":{"type":"payment"}}`,
		"event string, no data":     `{"event":"payment"}`,
	} {
		if o, err := baas.ParseCallbackOrder([]byte(body)); err == nil {
			t.Errorf("%s: accepted as %+v", name, o)
		}
	}
}

func TestVerifyCallbackRejects(t *testing.T) {
	c := mustNew(t, testConfig())
	good := signed(paidRecord)
	tampered := good
	tampered.Body = []byte(strings.Replace(paidRecord, "100.00", "900.00", 1))
	noHeader := good
	noHeader.Header = http.Header{"Content-Type": {"application/json"}}
	wrongKey := good
	wrongKey.Header = http.Header{"Content-Type": {"application/json"}}
	wrongKey.Header.Set(baas.DefaultSignatureHeader, baas.SignCallback([]byte("another-secret-0000"), good.Body))
	notHex := good
	notHex.Header = http.Header{"Content-Type": {"application/json"}}
	notHex.Header.Set(baas.DefaultSignatureHeader, "zz")
	for name, req := range map[string]payrecon.CallbackRequest{"tampered": tampered, "no header": noHeader, "wrong key": wrongKey, "not hex": notHex} {
		if _, err := c.VerifyCallback(req); !errors.Is(err, payrecon.ErrSignatureInvalid) {
			t.Errorf("%s: err = %v", name, err)
		} else if strings.Contains(err.Error(), testSecret) {
			t.Errorf("%s: error leaks the secret", name)
		}
	}
	// a valid signature over a body that is not an order is refused, not a signature error
	bad := signed(`{"trade_no":"x","status":"success","total_cost":1e3,"paid_at":1}`)
	if _, err := c.VerifyCallback(bad); err == nil || errors.Is(err, payrecon.ErrSignatureInvalid) {
		t.Errorf("bad amount: err = %v", err)
	}
	// custom header
	cfg := testConfig()
	cfg.CallbackSignatureHeader = "X-Minapp-Sig"
	c2 := mustNew(t, cfg)
	req := signed(paidRecord)
	if _, err := c2.VerifyCallback(req); !errors.Is(err, payrecon.ErrSignatureInvalid) {
		t.Errorf("default header accepted by a client configured for another: %v", err)
	}
	req.Header.Set("X-Minapp-Sig", "sha256="+req.Header.Get(baas.DefaultSignatureHeader))
	if _, err := c2.VerifyCallback(req); err != nil {
		t.Errorf("custom header: %v", err)
	}
	if r := c.Reply(nil); r.Status != 200 || string(r.Body) != `{"status":"ok"}` {
		t.Errorf("Reply(nil) = %+v", r)
	}
	if r := c.Reply(errors.Join(payrecon.ErrSignatureInvalid)); r.Status != 401 {
		t.Errorf("Reply(sig) = %+v", r)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := (baas.Config{}).Validate(); err == nil || !strings.Contains(err.Error(), "client_id") || !strings.Contains(err.Error(), "access_token") {
		t.Fatalf("empty config: %v", err)
	}
	short := testConfig()
	short.CallbackSecret = payrecon.NewSecret("short")
	if err := short.Validate(); err == nil || !strings.Contains(err.Error(), "callback_secret") {
		t.Fatalf("short secret: %v", err)
	}
	none := testConfig()
	none.CallbackSecret = payrecon.Secret{}
	if _, err := mustNew(t, none).VerifyCallback(signed(paidRecord)); !errors.Is(err, payrecon.ErrSignatureInvalid) || !strings.Contains(err.Error(), "callback_secret") {
		t.Fatalf("no secret configured: %v", err)
	}
	cfg := testConfig()
	cfg.OrderNoMapping = "both"
	cfg.BaseURL = "ftp://x"
	cfg.PageSize = 5000
	err := cfg.Validate()
	for _, f := range []string{"order_no_mapping", "base_url", "page_size"} {
		if err == nil || !strings.Contains(err.Error(), f) {
			t.Errorf("err %v does not name %s", err, f)
		}
	}
	d := testConfig().WithDefaults()
	if d.BaseURL != baas.DefaultBaseURL || d.OrderNoMapping != baas.MappingTradeNo || d.PageSize != 100 || d.CallbackSignatureHeader != "X-Payrecon-Signature" {
		t.Errorf("defaults %+v", d)
	}
}

func TestConfigYAML(t *testing.T) {
	t.Setenv("BAAS_TEST_TOKEN", "tok-from-env")
	src := `
client_id: cid9
access_token: env:BAAS_TEST_TOKEN
callback_secret: 0123456789abcdef0123
callback_signature_header: X-Minapp-Signature
order_no_mapping: transaction_no
base_url: https://cid9.myminapp.com/
page_size: 500
bill_delay: 2h
timeout: 10s
`
	dec := yaml.NewDecoder(strings.NewReader(src))
	dec.KnownFields(true)
	var cfg baas.Config
	if err := dec.Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	c := mustNew(t, cfg).Config()
	if c.ClientID != "cid9" || c.AccessToken.Reveal() != "tok-from-env" || c.OrderNoMapping != baas.MappingTransactionNo || c.BaseURL != "https://cid9.myminapp.com" ||
		c.PageSize != 500 || c.BillDelay != 2*time.Hour || c.Timeout != 10*time.Second || c.CallbackSignatureHeader != "X-Minapp-Signature" {
		t.Errorf("config %+v", c)
	}
	if s := fmt.Sprintf("%+v", c); strings.Contains(s, "tok-from-env") || strings.Contains(s, "0123456789abcdef0123") {
		t.Errorf("secret printed: %s", s)
	}
	bad := yaml.NewDecoder(strings.NewReader("client_id: x\nclientid: y\n"))
	bad.KnownFields(true)
	if err := bad.Decode(&baas.Config{}); err == nil {
		t.Error("unknown key accepted")
	}
}
