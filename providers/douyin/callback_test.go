package douyin_test

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
)

func testConfig() douyin.Config {
	return douyin.Config{
		Account:     "dy",
		AppID:       "tt07e3715e98c9aac0",
		Salt:        payrecon.NewSecret("your_payment_salt"),
		Token:       payrecon.NewSecret("test-token-1"),
		MerchantUID: "70001234567",
	}
}

func mustNew(t *testing.T, cfg douyin.Config, opts ...douyin.Option) *douyin.Client {
	t.Helper()
	c, err := douyin.New(cfg, slog.New(slog.DiscardHandler), opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// body renders a callback the way the platform does; tsNumber writes the
// timestamp as a JSON number.
func body(token, ts, nonce, msg, typ string, tsNumber bool) []byte {
	sig := douyin.CallbackSignature(token, ts, nonce, msg)
	m, _ := json.Marshal(msg)
	tsv := `"` + ts + `"`
	if tsNumber {
		tsv = ts
	}
	return []byte(`{"timestamp":` + tsv + `,"nonce":"` + nonce + `","msg":` + string(m) + `,"msg_signature":"` + sig + `","type":"` + typ + `"}`)
}

// The doc's demo payment msg (its own signature is unusable: token unpublished).
const demoPaymentMsg = `{"appid":"tt07e3715e98c9aac0","cp_orderno":"out_order_no_1","cp_extra":"","way":"2","payment_order_no":"2021070722001450071438803941","total_amount":9980,"status":"SUCCESS","seller_uid":"69631798443938962290","extra":"null","item_id":"","order_id":"N6980592768498944284"}`

func TestVerifyPaymentCallback(t *testing.T) {
	c := mustNew(t, testConfig())
	for _, num := range []bool{true, false} {
		b := body("test-token-1", "1602507471", "797", demoPaymentMsg, "payment", num)
		vc, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "dy", Header: jsonHeader, Body: b})
		if err != nil {
			t.Fatalf("valid callback (number timestamp %v): %v", num, err)
		}
		if vc.EventID != "payment:N6980592768498944284:SUCCESS" || len(vc.Entries) != 1 {
			t.Fatalf("verified %+v", vc)
		}
		e := vc.Entries[0]
		if e.EventKey != "payment:N6980592768498944284:success" || e.Amount != 9980 || e.MerchantOrderNo != "out_order_no_1" || e.ProviderTxnNo != "N6980592768498944284" ||
			e.OccurredAt.Unix() != 1602507471 || e.OccurredAt.Location() != payrecon.Shanghai || e.Account != "dy" || e.Provider != "douyin" {
			t.Errorf("entry %+v", e)
		}
	}
	for name, b := range map[string][]byte{
		"wrong token":  body("other-token", "1602507471", "797", demoPaymentMsg, "payment", true),
		"tampered msg": []byte(strings.Replace(string(body("test-token-1", "1602507471", "797", demoPaymentMsg, "payment", true)), "9980", "9981", 1)),
		"forged type":  body("test-token-1", "1602507471", "797", demoPaymentMsg, "refund", true),
		"unknown type": body("test-token-1", "1602507471", "797", demoPaymentMsg, "paymenu", true),
		"no signature": []byte(`{"timestamp":1602507471,"nonce":"797","msg":"{}","type":"payment"}`),
	} {
		_, err := c.VerifyCallback(payrecon.CallbackRequest{Header: jsonHeader, Body: b})
		if !errors.Is(err, payrecon.ErrSignatureInvalid) {
			t.Errorf("%s: err = %v, want ErrSignatureInvalid", name, err)
		}
		if err != nil && strings.Contains(err.Error(), "test-token-1") {
			t.Errorf("%s: error leaks the token", name)
		}
	}
	other := strings.Replace(demoPaymentMsg, "tt07e3715e98c9aac0", "tt0000000000000000", 1)
	if _, err := c.VerifyCallback(payrecon.CallbackRequest{Header: jsonHeader, Body: body("test-token-1", "1602507471", "797", other, "payment", true)}); err == nil || !strings.Contains(err.Error(), "appid") {
		t.Errorf("other appid: %v", err)
	}
	// a float-looking amount is read from its literal text
	f := strings.Replace(demoPaymentMsg, `"total_amount":9980`, `"total_amount":9980.00`, 1)
	vc, err := c.VerifyCallback(payrecon.CallbackRequest{Header: jsonHeader, Body: body("test-token-1", "1602507471", "797", f, "payment", true)})
	if err != nil || vc.Entries[0].Amount != 9980 {
		t.Errorf("9980.00: %v %+v", err, vc)
	}
}

func TestVerifyRefundCallback(t *testing.T) {
	c := mustNew(t, testConfig())
	msg := `{"appid":"tt07e3715e98c9aac0","cp_refundno":"R-1","cp_extra":"","status":"SUCCESS","refund_amount":1234,"is_all_settled":false,"refunded_at":1602507500,"message":"","order_id":"N1","refund_no":"RN1"}`
	vc, err := c.VerifyCallback(payrecon.CallbackRequest{Header: jsonHeader, Body: body("test-token-1", "1602507501", "n1", msg, "refund", true)})
	if err != nil {
		t.Fatal(err)
	}
	e := vc.Entries[0]
	if vc.EventID != "refund:RN1:SUCCESS" || e.EventKey != "refund:RN1:success" || e.Kind != payrecon.KindRefund || e.Amount != 1234 || e.MerchantRefundNo != "R-1" || e.ProviderRefundNo != "RN1" || e.ProviderTxnNo != "N1" || e.OccurredAt.Unix() != 1602507500 {
		t.Errorf("refund %+v %+v", vc, e)
	}
	settle := `{"appid":"tt07e3715e98c9aac0","cp_settle_no":"S1","status":"SUCCESS","settle_amount":100,"settle_no":"SN1","out_order_no":"O1"}`
	vc, err = c.VerifyCallback(payrecon.CallbackRequest{Header: jsonHeader, Body: body("test-token-1", "1602507501", "n1", settle, "settle", true)})
	if err != nil || len(vc.Entries) != 0 || vc.EventID != "settle:SN1:SUCCESS" {
		t.Errorf("settle: %v %+v", err, vc)
	}
}

func TestReply(t *testing.T) {
	c := mustNew(t, testConfig())
	if r := c.Reply(nil); r.Status != 200 || string(r.Body) != `{"err_no":0,"err_tips":"success"}` {
		t.Errorf("Reply(nil) = %d %s", r.Status, r.Body)
	}
	if r := c.Reply(payrecon.ErrSignatureInvalid); r.Status == 200 || !strings.Contains(string(r.Body), `"err_no":1`) {
		t.Errorf("Reply(err) = %d %s", r.Status, r.Body)
	}
}

func TestConfigValidate(t *testing.T) {
	if err := testConfig().Validate(); err != nil {
		t.Fatal(err)
	}
	err := douyin.Config{BillAmountUnit: "cents", BaseURL: "ftp://x"}.Validate()
	for _, w := range []string{"app_id", "salt", "token", "merchant_uid", "bill_amount_unit", "base_url"} {
		if err == nil || !strings.Contains(err.Error(), w) {
			t.Errorf("error %v does not name %s", err, w)
		}
	}
	c := mustNew(t, testConfig())
	if got := c.Config(); got.BaseURL != douyin.DefaultBaseURL || got.BillAmountUnit != douyin.UnitAuto {
		t.Errorf("defaults %+v", got)
	}
	if s := slogText(c.Config()); strings.Contains(s, "your_payment_salt") || strings.Contains(s, "test-token-1") {
		t.Errorf("config prints secrets: %s", s)
	}
}

func slogText(v any) string {
	var b strings.Builder
	slog.New(slog.NewTextHandler(&b, nil)).Info("cfg", "config", v)
	return b.String()
}

var jsonHeader = http.Header{"Content-Type": {"application/json"}}
