package wechat_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

func TestConfigValidate(t *testing.T) {
	sb := sandbox.New(nil, sandbox.Options{})
	defer sb.Close()
	good := sb.MerchantConfig()
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	for name, tc := range map[string]struct {
		mut  func(*wechat.Config)
		want string
	}{
		"Mchid":       {func(c *wechat.Config) { c.MchID = "" }, "mchid is required"},
		"Serial":      {func(c *wechat.Config) { c.SerialNo = "" }, "serial_no is required"},
		"PrivateKey":  {func(c *wechat.Config) { c.PrivateKey = payrecon.Secret{} }, "private_key is required"},
		"APIv3Key":    {func(c *wechat.Config) { c.APIv3Key = payrecon.NewSecret("short") }, "apiv3_key must be 32 bytes, got 5"},
		"NoPlatform":  {func(c *wechat.Config) { c.PlatformKeys = nil }, "platform_keys needs at least one"},
		"DupSerial":   {func(c *wechat.Config) { c.PlatformKeys = append(c.PlatformKeys, c.PlatformKeys[0]) }, "platform_keys[1].serial"},
		"BaseURL":     {func(c *wechat.Config) { c.BaseURL = "ftp://x" }, "base_url"},
		"NegSkew":     {func(c *wechat.Config) { c.TimestampSkew = -time.Second }, "timestamp_skew"},
		"EmptyKeyPEM": {func(c *wechat.Config) { c.PlatformKeys[0].KeyOrCert = payrecon.Secret{} }, "platform_keys[0].key_or_cert is required"},
	} {
		t.Run(name, func(t *testing.T) {
			c := good
			c.PlatformKeys = append([]wechat.PlatformKey(nil), good.PlatformKeys...)
			tc.mut(&c)
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want %q", err, tc.want)
			}
			if strings.Contains(err.Error(), good.APIv3Key.Reveal()) {
				t.Fatal("the error reveals the APIv3 key")
			}
			if _, err := wechat.New(c, nil); err == nil {
				t.Fatal("New accepted an invalid config")
			}
		})
	}
	bad := good
	bad.PrivateKey = payrecon.NewSecret("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	if _, err := wechat.New(bad, nil); err == nil || !strings.Contains(err.Error(), "private_key") {
		t.Fatalf("bad private key: %v", err)
	}
}

func TestAuthorizationHeader(t *testing.T) {
	sb, _ := MustSandbox(t, billScenario())
	var got string
	capture := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
		got = r.Header.Get("Authorization")
		return http.DefaultTransport.RoundTrip(r)
	})}
	c := MustClient(t, sb.MerchantConfig(), wechat.WithHTTPClient(capture))
	if _, err := c.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "O1"}); err != nil {
		t.Fatal(err)
	}
	f, err := wechat.ParseAuthorization(got)
	if err != nil {
		t.Fatalf("%q: %v", got, err)
	}
	if !strings.HasPrefix(got, "WECHATPAY2-SHA256-RSA2048 mchid=\"1900000109\",nonce_str=\"") || f["serial_no"] != sb.MerchantConfig().SerialNo || f["timestamp"] != strconv.FormatInt(fixedNow().Unix(), 10) || len(f["nonce_str"]) != 32 {
		t.Fatalf("authorization %q", got)
	}
	// The signature covers METHOD\nPATH?QUERY\nTIMESTAMP\nNONCE\nBODY\n.
	key, err := sign.ParseRSAPrivateKey([]byte(sb.MerchantConfig().PrivateKey.Reveal()))
	if err != nil {
		t.Fatal(err)
	}
	msg := wechat.SignatureMessage("GET", "/v3/pay/transactions/out-trade-no/O1?mchid=1900000109", f["timestamp"], f["nonce_str"], nil)
	if err := sign.VerifySHA256RSA(&key.PublicKey, msg, f["signature"]); err != nil {
		t.Fatalf("signature over %q: %v", msg, err)
	}
	// An unsigned request is refused by the sandbox.
	resp, err := http.Get(sb.URL() + "/v3/pay/transactions/out-trade-no/O1?mchid=1900000109")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("unsigned request: %d", resp.StatusCode)
	}
	// A client with another merchant key is refused by the sandbox.
	other := sb.MerchantConfig()
	other.SerialNo = "0000"
	_, err = MustClient(t, other).QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "O1"})
	var pe *payrecon.ProviderError
	if !errors.As(err, &pe) || pe.Code != "SIGN_ERROR" {
		t.Fatalf("wrong serial: %v", err)
	}
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestErrorMapping(t *testing.T) {
	for name, tc := range map[string]struct {
		status    int
		body      string
		notFound  bool
		transient bool
		code      string
	}{
		"OrderNotExist":    {404, `{"code":"ORDER_NOT_EXIST","message":"订单不存在"}`, true, false, "ORDER_NOT_EXIST"},
		"ResourceNotExist": {404, `{"code":"RESOURCE_NOT_EXISTS","message":"x"}`, true, false, "RESOURCE_NOT_EXISTS"},
		"RateLimited":      {429, `{"code":"FREQUENCY_LIMITED","message":"slow down"}`, false, true, "FREQUENCY_LIMITED"},
		"SystemError":      {500, `{"code":"SYSTEM_ERROR","message":"busy"}`, false, true, "SYSTEM_ERROR"},
		"BadGateway":       {502, `<html>bad gateway</html>`, false, true, "HTTP_502"},
		"ParamError":       {400, `{"code":"PARAM_ERROR","message":"bad"}`, false, false, "PARAM_ERROR"},
	} {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			sb := sandbox.New(nil, sandbox.Options{Now: fixedNow})
			defer sb.Close()
			cfg := sb.MerchantConfig()
			cfg.BaseURL = srv.URL
			_, err := MustClient(t, cfg).QueryOrder(context.Background(), payrecon.OrderRef{ProviderTxnNo: "42"})
			var pe *payrecon.ProviderError
			if !errors.As(err, &pe) || pe.Code != tc.code {
				t.Fatalf("err = %v, want code %s", err, tc.code)
			}
			if errors.Is(err, payrecon.ErrNotFound) != tc.notFound || errors.Is(err, payrecon.ErrTransient) != tc.transient {
				t.Fatalf("err = %v: notFound %v transient %v", err, errors.Is(err, payrecon.ErrNotFound), errors.Is(err, payrecon.ErrTransient))
			}
		})
	}
	t.Run("Network", func(t *testing.T) {
		srv := httptest.NewServer(http.NotFoundHandler())
		url := srv.URL
		srv.Close()
		sb := sandbox.New(nil, sandbox.Options{Now: fixedNow})
		defer sb.Close()
		cfg := sb.MerchantConfig()
		cfg.BaseURL = url
		_, err := MustClient(t, cfg).QueryOrder(context.Background(), payrecon.OrderRef{ProviderTxnNo: "42"})
		if !errors.Is(err, payrecon.ErrTransient) {
			t.Fatalf("err = %v, want transient", err)
		}
	})
}

func TestResponseSignature(t *testing.T) {
	sb, _ := MustSandbox(t, billScenario())
	// A proxy that changes one byte of every JSON answer, or drops the signature.
	for name, mut := range map[string]func(*http.Response){
		"BodyChanged": func(r *http.Response) {
			r.Body = http.NoBody
		},
		"NoSignature": func(r *http.Response) { r.Header.Del("Wechatpay-Signature") },
		"OtherSerial": func(r *http.Response) { r.Header.Set("Wechatpay-Serial", "PUB_KEY_ID_0000") },
	} {
		t.Run(name, func(t *testing.T) {
			h := &http.Client{Transport: roundTrip(func(r *http.Request) (*http.Response, error) {
				resp, err := http.DefaultTransport.RoundTrip(r)
				if err == nil {
					mut(resp)
				}
				return resp, err
			})}
			_, err := MustClient(t, sb.MerchantConfig(), wechat.WithHTTPClient(h)).QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "O1"})
			if !errors.Is(err, payrecon.ErrSignatureInvalid) {
				t.Fatalf("err = %v, want ErrSignatureInvalid", err)
			}
		})
	}
	t.Run("ClockSkew", func(t *testing.T) {
		// The sandbox accepts a request 4 minutes off (its limit is 5); the
		// client, allowing 1 minute, refuses the answer.
		cfg := sb.MerchantConfig()
		cfg.TimestampSkew = time.Minute
		_, err := MustClient(t, cfg, wechat.WithNow(func() time.Time { return fixedNow().Add(4 * time.Minute) })).
			QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "O1"})
		if !errors.Is(err, payrecon.ErrSignatureInvalid) || !strings.Contains(err.Error(), "off the time of receipt") {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestPublicKeyID(t *testing.T) {
	sb := sandbox.New(billScenario(), sandbox.Options{Now: fixedNow, PublicKeyID: "PUB_KEY_ID_0114232134912410000000000000"})
	defer sb.Close()
	cfg := sb.MerchantConfig()
	if !strings.Contains(cfg.PlatformKeys[0].KeyOrCert.Reveal(), "PUBLIC KEY") {
		t.Fatal("sandbox in public-key mode lists no public key")
	}
	c := MustClient(t, cfg)
	o, err := c.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "O1"})
	if err != nil || o.Amount != 12345 {
		t.Fatalf("%+v %v", o, err)
	}
	cb, err := sb.PaymentCallback(billScenario().Payments[0])
	if err != nil {
		t.Fatal(err)
	}
	if cb.Header.Get("Wechatpay-Serial") != "PUB_KEY_ID_0114232134912410000000000000" {
		t.Fatalf("serial %q", cb.Header.Get("Wechatpay-Serial"))
	}
	if _, err := c.VerifyCallback(payrecon.CallbackRequest{Header: cb.Header, Body: cb.Body}); err != nil {
		t.Fatal(err)
	}
}

func TestQueriesAndRepairs(t *testing.T) {
	sc := billScenario()
	sc.Payments = append(sc.Payments,
		scenario.Payment{MerchantOrderNo: "U1", Status: payrecon.StatusNotPaid, Amount: 50},
		scenario.Payment{MerchantOrderNo: "E1", Status: payrecon.StatusFailed, Amount: 50},
	)
	sc.Agreements = []scenario.Agreement{
		{AgreementNo: "C1", MerchantAgreeNo: "MC1", PlanID: "P1", Status: payrecon.StatusSigned, SignedAt: testDay.Start()},
		{AgreementNo: "C2", MerchantAgreeNo: "MC2", PlanID: "P1", Status: payrecon.StatusUnsigned, SignedAt: testDay.Start(), TerminatedAt: testDay.Start().Add(time.Hour)},
	}
	sb, c := MustSandbox(t, sc)
	ctx := context.Background()

	// O1 has a refund: trade_state REFUND, still a paid order.
	o, err := c.QueryOrder(ctx, payrecon.OrderRef{ProviderTxnNo: "4200000001"})
	if err != nil || o.Status != payrecon.StatusSuccess || o.RawStatus != "REFUND" || o.PayerAmount != 12000 || o.PromotionAmount != 345 {
		t.Fatalf("O1 %+v %v", o, err)
	}
	for no, want := range map[string]payrecon.Status{"U1": payrecon.StatusNotPaid, "E1": payrecon.StatusFailed, "O2": payrecon.StatusSuccess} {
		o, err := c.QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: no})
		if err != nil || o.Status != want {
			t.Fatalf("%s: %+v %v, want %s", no, o, err, want)
		}
	}
	if _, err := c.QueryOrder(ctx, payrecon.OrderRef{}); err == nil {
		t.Fatal("empty ref accepted")
	}
	if _, err := c.QueryRefund(ctx, payrecon.RefundRef{ProviderRefundNo: "5030000001"}); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Fatalf("refund by refund_id only: %v", err)
	}

	// papay contract by plan id + out_contract_code
	for code, want := range map[string]payrecon.Status{"MC1": payrecon.StatusSigned, "MC2": payrecon.StatusUnsigned} {
		a, err := c.QueryAgreement(ctx, payrecon.AgreementRef{PlanID: "P1", MerchantAgreeNo: code})
		if err != nil || a.Status != want || a.MerchantAgreeNo != code || a.AgreementNo == "" {
			t.Fatalf("%s: %+v %v", code, a, err)
		}
		if want == payrecon.StatusUnsigned && !a.TerminatedAt.Equal(testDay.Start().Add(time.Hour)) {
			t.Fatalf("terminated at %s", a.TerminatedAt)
		}
	}
	if _, err := c.QueryAgreement(ctx, payrecon.AgreementRef{PlanID: "P1", MerchantAgreeNo: "NOPE"}); !errors.Is(err, payrecon.ErrNotFound) {
		t.Fatalf("unknown contract: %v", err)
	}
	if _, err := c.QueryAgreement(ctx, payrecon.AgreementRef{AgreementNo: "C1"}); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Fatalf("contract by id only: %v", err)
	}

	// Refund more than is left: the provider refuses; nothing is added.
	_, err = c.ApplyRefund(ctx, payrecon.RefundRequest{OrderRef: payrecon.OrderRef{MerchantOrderNo: "O1"}, MerchantRefundNo: "RX", Amount: 12345})
	var pe *payrecon.ProviderError
	if !errors.As(err, &pe) || pe.Code != "NOT_ENOUGH" {
		t.Fatalf("over-refund: %v", err)
	}
	if _, ok := sc.FindRefund("RX", ""); ok {
		t.Fatal("refused refund landed in the scenario")
	}
	// Closing a paid order is an error; closing an unpaid one twice is fine.
	if err := c.CloseOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "O2"}); err == nil || !strings.Contains(err.Error(), "ORDERPAID") {
		t.Fatalf("close paid: %v", err)
	}
	for i := 0; i < 2; i++ {
		if err := c.CloseOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "U1"}); err != nil {
			t.Fatal(err)
		}
	}
	if p, _ := sc.FindPayment("U1", ""); p.Status != payrecon.StatusClosed {
		t.Fatalf("U1 is %s", p.Status)
	}
	if calls := strings.Join(sb.Calls(), "\n"); !strings.Contains(calls, "POST /v3/pay/transactions/out-trade-no/U1/close") || !strings.Contains(calls, "GET /v3/papay/sign/contracts/plan-id/P1/out-contract-code/MC1") {
		t.Fatalf("calls:\n%s", calls)
	}
}
