package wechat_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

// a9 loads the official notification vector (testdata/a9, from
// wechatpay-go core/notify/notify_test.go).
func a9(t *testing.T) (http.Header, []byte, wechat.Config) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", "a9", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	h := http.Header{}
	sc := bufio.NewScanner(bytes.NewReader(read("headers.txt")))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ": ")
		h.Set(k, v)
	}
	// the vector's headers list the signature headers only; WeChat Pay posts
	// application/json, which payrecon requires
	h.Set("Content-Type", "application/json")
	sb := sandbox.New(nil, sandbox.Options{}) // only for a merchant key pair
	t.Cleanup(sb.Close)
	cfg := sb.MerchantConfig()
	cfg.MchID = "1234567890"
	cfg.APIv3Key = payrecon.NewSecret("testMchAPIv3Key0")
	cfg.PlatformKeys = []wechat.PlatformKey{{Serial: "D7CE59D1F522D701", KeyOrCert: payrecon.NewSecret(string(read("cert.pem")))}}
	return h, read("body.json"), cfg
}

func a9Clock(offset time.Duration) func() time.Time {
	return func() time.Time { return time.Unix(1624523846, 0).Add(offset) }
}

func TestVerifyCallback_OfficialVector(t *testing.T) {
	h, body, cfg := a9(t)
	c := MustClient(t, cfg, wechat.WithNow(a9Clock(0)))
	got, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "a9", Header: h, Body: body})
	if err != nil {
		t.Fatalf("official vector rejected: %v", err)
	}
	if got.EventID != "3119dfba-e649-5eec-ab1e-3412bc4d2e17" || got.Type != "PAYSCORE.USER_OPEN_SERVICE" || len(got.Entries) != 0 {
		t.Fatalf("got %+v: want the notification id, its event type and no ledger entry (payscore events are not reconciled)", got)
	}
	n, pt, err := wechat.DecodeNotification(body, []byte("testMchAPIv3Key0"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := os.ReadFile(filepath.Join("testdata", "a9", "plaintext.json"))
	if !bytes.Equal(pt, want) || n.Resource.AssociatedData != "payscore" || n.Summary != "签约成功" {
		t.Fatalf("plaintext %s", pt)
	}

	for name, tc := range map[string]struct {
		now  func() time.Time
		mut  func(h http.Header, body []byte, cfg *wechat.Config) []byte
		want string
	}{
		"ClockFiveMinutesLater":   {a9Clock(5*time.Minute + time.Second), nil, "off the time of receipt"},
		"ClockFiveMinutesEarlier": {a9Clock(-5*time.Minute - time.Second), nil, "off the time of receipt"},
		"UnknownSerial": {nil, func(h http.Header, b []byte, _ *wechat.Config) []byte {
			h.Set("Wechatpay-Serial", "D7CE59D1F522D702")
			return b
		}, `unknown Wechatpay-Serial "D7CE59D1F522D702"`},
		"BodyChanged": {nil, func(_ http.Header, b []byte, _ *wechat.Config) []byte {
			return bytes.Replace(b, []byte("签约成功"), []byte("签约失败"), 1)
		}, "does not verify"},
		"NonceChanged": {nil, func(h http.Header, b []byte, _ *wechat.Config) []byte {
			h.Set("Wechatpay-Nonce", "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBZ")
			return b
		}, "does not verify"},
		"WrongAPIv3Key": {nil, func(_ http.Header, b []byte, cfg *wechat.Config) []byte {
			cfg.APIv3Key = payrecon.NewSecret("testMchAPIv3Key1")
			return b
		}, "does not decrypt"},
		"NoSignature": {nil, func(h http.Header, b []byte, _ *wechat.Config) []byte {
			h.Del("Wechatpay-Signature")
			return b
		}, "missing"},
		"OtherSignatureType": {nil, func(h http.Header, b []byte, _ *wechat.Config) []byte {
			h.Set("Wechatpay-Signature-Type", "WECHATPAY2-SM2-WITH-SM3")
			return b
		}, "Signature-Type"},
	} {
		t.Run(name, func(t *testing.T) {
			h, body, cfg := a9(t)
			if tc.mut != nil {
				body = tc.mut(h, body, &cfg)
			}
			now := tc.now
			if now == nil {
				now = a9Clock(0)
			}
			c := MustClient(t, cfg, wechat.WithNow(now))
			_, err := c.VerifyCallback(payrecon.CallbackRequest{Header: h, Body: body})
			if !errors.Is(err, payrecon.ErrSignatureInvalid) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want ErrSignatureInvalid saying %q", err, tc.want)
			}
			if strings.Contains(err.Error(), "testMchAPIv3Key") {
				t.Fatal("the reason reveals the APIv3 key")
			}
			if r := c.Reply(err); r.Status != http.StatusBadRequest || !bytes.Contains(r.Body, []byte(`"code":"FAIL"`)) {
				t.Fatalf("reply %d %s", r.Status, r.Body)
			}
		})
	}
}

func TestVerifyCallback_Sandbox(t *testing.T) {
	sc := billScenario()
	sc.Refunds = append(sc.Refunds,
		scenario.Refund{MerchantRefundNo: "R2", ProviderRefundNo: "5030000002", MerchantOrderNo: "O2", Status: payrecon.StatusClosed, Amount: 50},
		scenario.Refund{MerchantRefundNo: "R3", ProviderRefundNo: "5030000003", ProviderTxnNo: "4200000002", Status: payrecon.StatusFailed, Amount: 60},
		scenario.Refund{MerchantRefundNo: "R4", ProviderRefundNo: "5030000004", ProviderTxnNo: "4200000002", Status: payrecon.StatusPending, Amount: 70},
	)
	sb, c := MustSandbox(t, sc)
	req := func(cb scenario.Callback) payrecon.CallbackRequest {
		return payrecon.CallbackRequest{Account: "acct", Header: cb.Header, Body: cb.Body, ReceivedAt: fixedNow()}
	}

	cb, err := sb.PaymentCallback(sc.Payments[0])
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.VerifyCallback(req(cb))
	if err != nil {
		t.Fatal(err)
	}
	e := got.Entries[0]
	if len(got.Entries) != 1 || got.EventID != cb.EventID || got.Type != wechat.EventTransactionSuccess ||
		e.EventKey != "payment:4200000001:success" || e.Account != "acct" || e.Provider != "wechat" ||
		e.Amount != 12345 || e.PayerAmount != 12000 || e.PromotionAmount != 345 || e.MerchantOrderNo != "O1" ||
		!e.OccurredAt.Equal(sc.Payments[0].PaidAt) || e.Source != "callback" || !e.ReceivedAt.Equal(fixedNow()) {
		t.Fatalf("payment %+v / %+v", got, e)
	}
	if r := c.Reply(nil); r.Status != http.StatusNoContent || len(r.Body) != 0 {
		t.Fatalf("success reply %+v", r)
	}

	for _, tc := range []struct {
		r      scenario.Refund
		status payrecon.Status
		event  string
	}{
		{sc.Refunds[0], payrecon.StatusSuccess, wechat.EventRefundSuccess},
		{sc.Refunds[1], payrecon.StatusClosed, wechat.EventRefundClosed},
		{sc.Refunds[2], payrecon.StatusFailed, wechat.EventRefundAbnormal},
	} {
		cb, err := sb.RefundCallback(tc.r)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.VerifyCallback(req(cb))
		if err != nil {
			t.Fatalf("%s: %v", tc.r.MerchantRefundNo, err)
		}
		e := got.Entries[0]
		if got.Type != tc.event || e.Kind != payrecon.KindRefund || e.Status != tc.status || e.MerchantRefundNo != tc.r.MerchantRefundNo ||
			e.ProviderRefundNo != tc.r.ProviderRefundNo || e.MerchantOrderNo == "" || e.ProviderTxnNo == "" || e.Amount != tc.r.Amount ||
			e.EventKey != "refund:"+tc.r.ProviderRefundNo+":"+string(tc.status) {
			t.Fatalf("%s: %+v %+v", tc.r.MerchantRefundNo, got, e)
		}
	}
	if _, err := sb.RefundCallback(sc.Refunds[3]); err == nil {
		t.Fatal("sandbox rendered a notification for a processing refund")
	}

	// Notifications addressed to another merchant are refused even when signed.
	other := sb.MerchantConfig()
	other.MchID = "1900000999"
	if _, err := MustClient(t, other).VerifyCallback(req(cb)); !errors.Is(err, wechat.ErrCallbackFormat) || !strings.Contains(err.Error(), "1900000999") {
		t.Fatalf("other merchant: %v", err)
	}
	// A stale notification (rendered 6 minutes ago) and one encrypted with another key.
	stale, _ := sb.PaymentCallbackWith(sc.Payments[1], sandbox.NotifyOptions{At: fixedNow().Add(-6 * time.Minute)})
	if _, err := c.VerifyCallback(req(stale)); !errors.Is(err, payrecon.ErrSignatureInvalid) || !strings.Contains(err.Error(), "off the time of receipt") {
		t.Fatalf("stale: %v", err)
	}
	// An imported callback is checked against its original time of receipt:
	// the stale one verifies when it says it was received 6 minutes ago.
	imported := req(stale)
	imported.ReceivedAt = fixedNow().Add(-6 * time.Minute)
	if _, err := c.VerifyCallback(imported); err != nil {
		t.Fatalf("imported with its receipt time: %v", err)
	}
	wrongKey, _ := sb.PaymentCallbackWith(sc.Payments[1], sandbox.NotifyOptions{APIv3Key: []byte("0123456789abcdef0123456789abcdef")})
	if _, err := c.VerifyCallback(req(wrongKey)); !errors.Is(err, payrecon.ErrSignatureInvalid) || !strings.Contains(err.Error(), "does not decrypt") {
		t.Fatalf("wrong key: %v", err)
	}
	// Unreadable but authentic: a 400 with the FAIL body, not a 5xx.
	junk := []byte(`{"id":"x"}`)
	junkHeader := sb.SignHeaders(junk, fixedNow())
	junkHeader.Set("Content-Type", "application/json")
	_, err = c.VerifyCallback(payrecon.CallbackRequest{Header: junkHeader, Body: junk})
	if !errors.Is(err, wechat.ErrCallbackFormat) {
		t.Fatalf("junk: %v", err)
	}
	if r := c.Reply(err); r.Status != http.StatusBadRequest || r.ContentType != "application/json" {
		t.Fatalf("junk reply %+v", r)
	}
	if r := c.Reply(errors.New("store down")); r.Status != http.StatusInternalServerError || !bytes.Contains(r.Body, []byte(`"FAIL"`)) {
		t.Fatalf("store failure reply %+v", r)
	}
}

// In partner mode a refund notification names the sub-merchant (sp_mchid,
// sub_mchid): an authentic one for another sub-merchant, or one naming
// none, is refused; the sub-merchant's own is accepted.
func TestVerifyCallback_PartnerRefundSubMerchant(t *testing.T) {
	sc := billScenario()
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow, SubMchID: "1900000110"})
	t.Cleanup(sb.Close)
	req := func(cb scenario.Callback) payrecon.CallbackRequest {
		return payrecon.CallbackRequest{Account: "acct", Header: cb.Header, Body: cb.Body, ReceivedAt: fixedNow()}
	}
	cb, err := sb.RefundCallback(sc.Refunds[0])
	if err != nil {
		t.Fatal(err)
	}
	_, pt, err := wechat.DecodeNotification(cb.Body, sb.APIv3Key())
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(pt, []byte(`"sp_mchid":"1900000109"`)) || !bytes.Contains(pt, []byte(`"sub_mchid":"1900000110"`)) || bytes.Contains(pt, []byte(`"mchid"`)) {
		t.Fatalf("partner refund notification plaintext %s, want sp_mchid and sub_mchid", pt)
	}

	own := MustClient(t, sb.MerchantConfig())
	got, err := own.VerifyCallback(req(cb))
	if err != nil || len(got.Entries) != 1 || got.Entries[0].ProviderRefundNo != "5030000001" {
		t.Fatalf("own sub-merchant's refund: %+v %v", got, err)
	}

	otherCfg := sb.MerchantConfig()
	otherCfg.SubMchID = "1900000111"
	other := MustClient(t, otherCfg)
	_, err = other.VerifyCallback(req(cb))
	if !errors.Is(err, wechat.ErrCallbackFormat) || !strings.Contains(err.Error(), "1900000110") || !strings.Contains(err.Error(), "1900000111") {
		t.Fatalf("another sub-merchant's refund: %v", err)
	}
	if r := other.Reply(err); r.Status != http.StatusBadRequest {
		t.Fatalf("reply %+v", r)
	}

	// Authentic, but naming no sub-merchant (the direct-mode shape).
	var obj map[string]any
	if err := json.Unmarshal(pt, &obj); err != nil {
		t.Fatal(err)
	}
	delete(obj, "sub_mchid")
	bare, _ := json.Marshal(obj)
	cb, err = sb.Notify(wechat.EventRefundSuccess, "refund", "退款成功", bare, sandbox.NotifyOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := own.VerifyCallback(req(cb)); !errors.Is(err, wechat.ErrCallbackFormat) || !strings.Contains(err.Error(), "names no sub_mchid") {
		t.Fatalf("refund naming no sub-merchant: %v", err)
	}
}
