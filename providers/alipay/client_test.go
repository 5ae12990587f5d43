package alipay_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/alipay/sandbox"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
)

// fakeGateway answers every request with raw as the xxx_response member,
// signed with the sandbox's Alipay key unless sig is given ("-": no sign),
// and records the request parameters.
func fakeGateway(t *testing.T, status int, raw, sig string) (*alipay.Client, *url.Values) {
	t.Helper()
	sb := sandbox.New(nil, sandbox.Options{Now: fixedNow})
	t.Cleanup(sb.Close)
	got := &url.Values{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		*got = r.PostForm
		s := sig
		if s == "" {
			s, _ = sign.SignSHA256RSA(sb.AlipayPrivateKey(), []byte(raw))
		}
		w.WriteHeader(status)
		key := alipay.ResponseKey(r.PostForm.Get("method"))
		if s == "-" {
			fmt.Fprintf(w, `{"%s":%s}`, key, raw)
			return
		}
		fmt.Fprintf(w, `{"%s":%s,"sign":"%s"}`, key, raw, s)
	}))
	t.Cleanup(srv.Close)
	cfg := sb.MerchantConfig()
	cfg.BaseURL = srv.URL
	return MustClient(t, cfg), got
}

func TestCall_RequestShape(t *testing.T) {
	c, got := fakeGateway(t, 200, `{"code":"10000","msg":"Success","trade_no":"T1","out_trade_no":"O1","trade_status":"TRADE_SUCCESS","total_amount":100.00,"buyer_pay_amount":"90.00","send_pay_date":"2026-11-02 10:00:00"}`, "")
	o, err := c.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "O1", ProviderTxnNo: "T1"})
	if err != nil {
		t.Fatal(err)
	}
	// a bare 100.00 is read from its literal text
	if o.Amount != 10000 || o.PayerAmount != 9000 || o.PromotionAmount != 1000 || o.Status != payrecon.StatusSuccess || !o.PaidAt.Equal(sh("2026-11-02 10:00:00")) {
		t.Fatalf("%+v", o)
	}
	for k, want := range map[string]string{"app_id": sandbox.AppID, "method": "alipay.trade.query", "format": "JSON", "charset": "utf-8", "sign_type": "RSA2", "version": "1.0", "timestamp": "2026-11-07 10:00:00"} {
		if got.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, got.Get(k), want)
		}
	}
	if got.Get("biz_content") != `{"out_trade_no":"O1","trade_no":"T1"}` {
		t.Errorf("biz_content %s", got.Get("biz_content"))
	}
	// the request sign covers every parameter but sign (sign_type included), sorted
	var keys []string
	for k := range *got {
		if k != "sign" {
			keys = append(keys, k)
		}
	}
	content := ""
	for _, k := range []string{"app_id", "biz_content", "charset", "format", "method", "sign_type", "timestamp", "version"} {
		if content != "" {
			content += "&"
		}
		content += k + "=" + got.Get(k)
	}
	if len(keys) != 8 {
		t.Fatalf("parameters %v", keys)
	}
	pub, _ := sign.ParseRSAPublicKey([]byte(testSandboxMerchantPublic(t)))
	if err := sign.VerifySHA256RSA(pub, []byte(content), got.Get("sign")); err != nil {
		t.Fatalf("request sign over %q: %v", content, err)
	}
}

func testSandboxMerchantPublic(t *testing.T) string {
	sb := sandbox.New(nil, sandbox.Options{})
	defer sb.Close()
	k, err := sign.ParseRSAPrivateKey([]byte(sb.MerchantConfig().PrivateKey.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := sign.MarshalRSAPublicKeyPEM(&k.PublicKey)
	return string(b)
}

func TestCall_Errors(t *testing.T) {
	ctx := context.Background()
	for name, tc := range map[string]struct {
		status    int
		raw, sig  string
		notFound  bool
		transient bool
		sigErr    bool
		say       string
	}{
		"NotExist":       {200, `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_NOT_EXIST","sub_msg":"交易不存在"}`, "", true, false, false, "40004/ACQ.TRADE_NOT_EXIST: 交易不存在"},
		"SystemError":    {200, `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.SYSTEM_ERROR","sub_msg":"系统错误"}`, "", false, true, false, "ACQ.SYSTEM_ERROR"},
		"Unavailable":    {200, `{"code":"20000","msg":"Service Currently Unavailable","sub_code":"isp.unknow-error","sub_msg":"系统繁忙"}`, "", false, true, false, "20000"},
		"RateLimited":    {200, `{"code":"40004","msg":"Business Failed","sub_code":"aop.invalid-app-call-limit","sub_msg":"调用频率超限"}`, "", false, true, false, "limit"},
		"HTTP502":        {502, `{}`, "", false, true, false, "HTTP_502"},
		"StatusError":    {200, `{"code":"40004","msg":"Business Failed","sub_code":"ACQ.TRADE_STATUS_ERROR"}`, "", false, false, false, "TRADE_STATUS_ERROR"},
		"TamperedAnswer": {200, `{"code":"10000","msg":"Success","trade_no":"T1"}`, "bk3SzX0CZRI811IJioS2XKQHcgMixUT8mYyGQj+vcOAQas7GIYi6LpykqqSc3m7+yvqoG0TdX/c2JjYnpw==", false, false, true, "does not verify"},
		"UnsignedAnswer": {200, `{"code":"10000","msg":"Success","trade_no":"T1"}`, "-", false, false, true, "not signed"},
	} {
		t.Run(name, func(t *testing.T) {
			c, _ := fakeGateway(t, tc.status, tc.raw, tc.sig)
			_, err := c.QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "O1"})
			if err == nil || errors.Is(err, payrecon.ErrNotFound) != tc.notFound || errors.Is(err, payrecon.ErrTransient) != tc.transient ||
				errors.Is(err, payrecon.ErrSignatureInvalid) != tc.sigErr || !strings.Contains(err.Error(), tc.say) {
				t.Fatalf("err = %v", err)
			}
		})
	}
	// Alipay's unsigned error_response (bad app_id / request signature) is read.
	sb := sandbox.New(nil, sandbox.Options{Now: fixedNow})
	defer sb.Close()
	cfg := sb.MerchantConfig()
	cfg.AppID = "2021000000000999"
	_, err := MustClient(t, cfg).QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "O1"})
	if !strings.Contains(err.Error(), "isv.invalid-app-id") {
		t.Fatalf("bad app id: %v", err)
	}
	// A merchant key the sandbox does not know: its request signature is refused.
	cfg = sb.MerchantConfig()
	cfg.PrivateKey = payrecon.NewSecret(MustSandboxKeyOther(t))
	if _, err := MustClient(t, cfg).QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "O1"}); !strings.Contains(err.Error(), "isv.invalid-signature") {
		t.Fatalf("bad request sign: %v", err)
	}
	// Certificate mode: app_cert_sn and alipay_root_cert_sn are sent and
	// signed (the sandbox verifies the request over every parameter).
	cfg = sb.MerchantConfig()
	cfg.AppCertSN, cfg.AlipayRootCertSN = "50fa7bc5dc305a4fbdbe166689ddc827", "687b59193f3f462dd5336e5abf83c5d8_02941eef3187dddf3d3b83462e1dfcf6"
	if _, err := MustClient(t, cfg).QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "O1"}); !errors.Is(err, payrecon.ErrNotFound) {
		t.Fatalf("certificate mode: %v", err)
	}
	// network error
	cfg = sb.MerchantConfig()
	cfg.BaseURL = "http://127.0.0.1:1"
	if _, err := MustClient(t, cfg).QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "O1"}); !errors.Is(err, payrecon.ErrTransient) {
		t.Fatalf("network: %v", err)
	}
}

func TestAgreementNotExist(t *testing.T) {
	sc := &scenario.Scenario{Agreements: []scenario.Agreement{
		{AgreementNo: "A1", MerchantAgreeNo: "C1", Status: payrecon.StatusUnsigned, SignedAt: sh("2026-10-01 10:00:00"), TerminatedAt: sh("2026-11-02 11:00:00")},
	}}
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow, UnsignedNotExist: true})
	defer sb.Close()
	ctx := context.Background()
	if _, err := MustClient(t, sb.MerchantConfig()).QueryAgreement(ctx, payrecon.AgreementRef{AgreementNo: "A1"}); !errors.Is(err, payrecon.ErrNotFound) {
		t.Fatalf("default: %v", err)
	}
	cfg := sb.MerchantConfig()
	cfg.AgreementNotExistUnsigned = true
	a, err := MustClient(t, cfg).QueryAgreement(ctx, payrecon.AgreementRef{AgreementNo: "A1"})
	if err != nil || a.Status != payrecon.StatusUnsigned || a.AgreementNo != "A1" {
		t.Fatalf("not-exist as unsigned: %+v %v", a, err)
	}
	// STOP and TEMP are not in force
	for raw, want := range map[string]payrecon.Status{"NORMAL": payrecon.StatusSigned, "STOP": payrecon.StatusUnsigned, "TEMP": payrecon.StatusUnsigned} {
		if got := alipay.AgreementStatus(raw); got != want {
			t.Errorf("%s: %s", raw, got)
		}
	}
}

func TestTradeStatus(t *testing.T) {
	for _, tc := range []struct {
		raw  string
		paid bool
		want payrecon.Status
	}{
		{"TRADE_SUCCESS", true, payrecon.StatusSuccess}, {"TRADE_FINISHED", true, payrecon.StatusSuccess},
		{"WAIT_BUYER_PAY", false, payrecon.StatusNotPaid}, {"TRADE_CLOSED", false, payrecon.StatusClosed},
		{"TRADE_CLOSED", true, payrecon.StatusSuccess}, // paid, then fully refunded
	} {
		if got := alipay.TradeStatus(tc.raw, tc.paid); got != tc.want {
			t.Errorf("%s paid=%v: %s, want %s", tc.raw, tc.paid, got, tc.want)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	err := alipay.Config{AppID: "abc", SellerID: "123", BaseURL: "ftp://x", Timeout: -1, AppCertSN: "x"}.Validate()
	for _, want := range []string{"app_cert_sn and alipay_root_cert_sn go together", "app_id \"abc\" must be digits", "seller_id \"123\"", "private_key is required", "alipay_public_key is required", "base_url \"ftp://x\"", "timeout must not be negative"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("err = %v, want it to say %q", err, want)
		}
	}
	sb := sandbox.New(nil, sandbox.Options{})
	defer sb.Close()
	cfg := sb.MerchantConfig()
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	cfg.BaseURL = ""
	if d := cfg.WithDefaults(); d.BaseURL != alipay.DefaultBaseURL || d.PersonalProductCode != "GENERAL_WITHHOLDING_P" || d.Timeout == 0 {
		t.Fatalf("defaults %+v", d)
	}
	if d := (alipay.Config{BaseURL: "https://openapi.alipay.com/gateway.do"}).WithDefaults(); d.BaseURL != "https://openapi.alipay.com" {
		t.Fatalf("gateway path kept: %s", d.BaseURL)
	}
	if s := fmt.Sprintf("%v %+v", cfg, cfg); strings.Contains(s, "PRIVATE KEY") {
		t.Fatal("config prints its private key")
	}
	cfg.PrivateKey = payrecon.NewSecret("not a key")
	if _, err := alipay.New(cfg, nil); err == nil || !strings.Contains(err.Error(), "private_key") {
		t.Fatalf("bad key: %v", err)
	}
}
