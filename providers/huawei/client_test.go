package huawei_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/scenario"
)

func TestConfigValidate(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	good := sb.MerchantConfig(huawei.ModelDirect)
	for _, tc := range []struct {
		name   string
		change func(*huawei.Config)
		want   string
	}{
		{"MercNoRequired", func(c *huawei.Config) { c.MercNo = "" }, "merc_no: required"},
		{"AppIDRequired", func(c *huawei.Config) { c.AppID = "" }, "app_id: required"},
		{"PartnerSubMerc", func(c *huawei.Config) { c.Model = huawei.ModelPartner; c.SpMercNo = "1"; c.SpAppID = "2" }, "sub_merc_no: required"},
		{"BadModel", func(c *huawei.Config) { c.Model = "platform" }, "model:"},
		{"AuthID", func(c *huawei.Config) { c.AuthID = "" }, "auth_id: required"},
		{"KeyRequired", func(c *huawei.Config) { c.MerchantKey = payrecon.Secret{} }, "merchant_key: required"},
		{"KeyType", func(c *huawei.Config) { c.KeyType = "ecdsa" }, "key_type:"},
		{"NoHuaweiKeys", func(c *huawei.Config) { c.HuaweiPublicKeys = nil }, "huawei_public_keys: required"},
		{"BaseURL", func(c *huawei.Config) { c.BaseURL = "ftp://x" }, "base_url:"},
		{"BadMerchantKey", func(c *huawei.Config) { c.MerchantKey = payrecon.NewSecret("not a key") }, "merchant_key:"},
		{"BadHuaweiKey", func(c *huawei.Config) { c.HuaweiPublicKeys[0].Key = "04abcd" }, "huawei_public_keys[0].key:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			cfg.HuaweiPublicKeys = append([]huawei.PublicKey(nil), good.HuaweiPublicKeys...)
			tc.change(&cfg)
			_, err := huawei.New(cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want it to contain %q", err, tc.want)
			}
			if err != nil && strings.Contains(err.Error(), good.MerchantKey.Reveal()[40:80]) {
				t.Error("error leaks the merchant key")
			}
		})
	}
	if _, err := huawei.New(good, nil); err != nil {
		t.Errorf("good config: %v", err)
	}
}

// fakeHuawei answers every request with a fixed response signed by key.
type fakeHuawei struct {
	mu     sync.Mutex
	status int
	fields map[string]any
	raw    string // sent as is when set
	key    sign.SM2PrivateKey
}

func (f *fakeHuawei) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status != 0 && f.status != 200 {
		w.WriteHeader(f.status)
		return
	}
	if f.raw != "" {
		_, _ = w.Write([]byte(f.raw))
		return
	}
	body, err := sandbox.SignWith(f.key, "C1", f.fields)
	if err != nil {
		panic(err)
	}
	_, _ = w.Write(body)
}

func TestResponseErrors(t *testing.T) {
	key, err := sign.GenerateSM2Key()
	if err != nil {
		t.Fatal(err)
	}
	fake := &fakeHuawei{key: key}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	sb := mustSandbox(t, sandbox.Options{})
	cfg := sb.MerchantConfig(huawei.ModelDirect)
	cfg.BaseURL = srv.URL
	cfg.HuaweiPublicKeys = []huawei.PublicKey{{CertNo: "C1", Key: key.Public().Hex()}}
	c, err := huawei.New(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := sign.GenerateSM2Key()
	query := func() error {
		_, err := c.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "M1"})
		return err
	}
	for _, tc := range []struct {
		name                string
		setup               func()
		transient, notFound bool
		sigInvalid          bool
		code                string
	}{
		{"Unknown500000", func() { fake.fields = map[string]any{"resultCode": "500000", "resultDesc": "UNKNOW_ERROR"} }, true, false, false, "500000"},
		{"RateLimited", func() { fake.fields = map[string]any{"resultCode": "300000", "resultDesc": "CALL_FREQUENCY_LIMITED"} }, true, false, false, "300000"},
		{"NotFound", func() {
			fake.fields = map[string]any{"resultCode": "400000", "resultDesc": "x", "subCode": "MERC_ORDER_NOT_EXIST"}
		}, false, true, false, "400000"},
		{"BusinessUnknow", func() { fake.fields = map[string]any{"resultCode": "400000", "subCode": "UNKNOW_ERROR"} }, true, false, false, "400000"},
		{"InvalidArguments", func() { fake.fields = map[string]any{"resultCode": "400000", "subCode": "INVALID_ARGUMENTS"} }, false, false, false, "400000"},
		{"CustNotExistIsNotNotFound", func() { fake.fields = map[string]any{"resultCode": "400000", "subCode": "CUST_NOT_EXIST"} }, false, false, false, "400000"},
		{"HTTP503", func() { fake.status = 503 }, true, false, false, "HTTP 503"},
		{"BadSignature", func() {
			fake.raw = string(mustSigned(t, other, map[string]any{"resultCode": "000000", "orderStatus": "TRX_SUCCESS", "mercOrderNo": "M1"}))
		}, false, false, true, ""},
		{"Unsigned", func() {
			fake.raw = `{"resultCode":"000000","resultDesc":"Success.","orderStatus":"TRX_SUCCESS","mercOrderNo":"M1"}`
		}, false, false, true, ""},
		{"TamperedResponse", func() {
			b := mustSigned(t, key, map[string]any{"resultCode": "000000", "orderStatus": "TRX_FAILED", "mercOrderNo": "M1", "totalAmount": 5})
			fake.raw = strings.Replace(string(b), "TRX_FAILED", "TRX_SUCCESS", 1)
		}, false, false, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fake.mu.Lock()
			fake.status, fake.raw, fake.fields = 0, "", nil
			tc.setup()
			fake.mu.Unlock()
			err := query()
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, payrecon.ErrTransient) != tc.transient || errors.Is(err, payrecon.ErrNotFound) != tc.notFound ||
				errors.Is(err, payrecon.ErrSignatureInvalid) != tc.sigInvalid {
				t.Errorf("err %v: transient %v notFound %v sig %v", err, errors.Is(err, payrecon.ErrTransient), errors.Is(err, payrecon.ErrNotFound), errors.Is(err, payrecon.ErrSignatureInvalid))
			}
			var pe *payrecon.ProviderError
			if tc.code != "" && (!errors.As(err, &pe) || pe.Code != tc.code) {
				t.Errorf("err %v: want ProviderError code %s", err, tc.code)
			}
		})
	}
	// a success response with the right signature decodes; pending statuses are pending
	for raw, want := range map[string]payrecon.Status{"TRX_APPLY": payrecon.StatusPending, "TRX_PROC": payrecon.StatusPending, "TRX_SUCCESS": payrecon.StatusSuccess, "TRX_FAILED": payrecon.StatusFailed} {
		fake.mu.Lock()
		fake.status, fake.raw = 0, ""
		fake.fields = map[string]any{"resultCode": "000000", "resultDesc": "Success.", "orderStatus": raw, "mercOrderNo": "M1", "totalAmount": 5, "finishTime": "2026-11-10T10:02:04.000+0800"}
		fake.mu.Unlock()
		o, err := c.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "M1"})
		if err != nil || o.Status != want || o.RawStatus != raw || o.Amount != 5 {
			t.Errorf("%s: %+v %v", raw, o, err)
		}
	}
	// network errors are transient
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg.BaseURL = "http://" + addr
	dead, err := huawei.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dead.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "M1"}); !errors.Is(err, payrecon.ErrTransient) {
		t.Errorf("connection refused: %v, want transient", err)
	}
}

func mustSigned(t *testing.T, key sign.SM2PrivateKey, f map[string]any) []byte {
	t.Helper()
	b, err := sandbox.SignWith(key, "C1", f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The sandbox rejects a request signed with a key Huawei does not know,
// like Huawei (200002 INVALID_SIGNATURE), and that is not retried.
func TestSandboxRejectsBadPayMercAuth(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	sc := sb.Scenario()
	sc.Lock()
	sc.Payments = append(sc.Payments, scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "1", Status: payrecon.StatusSuccess, Amount: 1})
	sc.Unlock()
	cfg := sb.MerchantConfig(huawei.ModelDirect)
	wrong, _ := sign.GenerateSM2Key()
	cfg.MerchantKey = payrecon.NewSecret(wrong.Hex())
	c, err := huawei.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "M1"})
	var pe *payrecon.ProviderError
	if !errors.As(err, &pe) || pe.Code != huawei.CodeBadSign || errors.Is(err, payrecon.ErrTransient) {
		t.Errorf("err = %v, want 200002 INVALID_SIGNATURE", err)
	}
	// a clock an hour off is refused (INVALID_TIME)
	skewed := mustClient(t, sb, huawei.ModelDirect, huawei.WithNow(func() time.Time { return time.Now().Add(-time.Hour) }))
	if _, err := skewed.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "M1"}); !errors.As(err, &pe) || pe.SubCode != "INVALID_TIME" {
		t.Errorf("skewed clock: %v", err)
	}
	// the right key works, and partner paths refuse the direct merchant
	good := mustClient(t, sb, huawei.ModelDirect)
	if _, err := good.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "M1"}); err != nil {
		t.Errorf("good key: %v", err)
	}
	pcfg := sb.MerchantConfig(huawei.ModelPartner)
	pcfg.SpMercNo = sandbox.MercNo
	pc, err := huawei.New(pcfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "M1"}); !errors.As(err, &pe) || pe.SubCode != "INVALID_CALLER_ID" {
		t.Errorf("wrong caller on partner path: %v", err)
	}
}

func TestReply(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	c := mustClient(t, sb, huawei.ModelDirect)
	ok := c.Reply(nil)
	if ok.Status != 200 || string(ok.Body) != ackSuccess || !strings.HasPrefix(ok.ContentType, "application/json") {
		t.Errorf("Reply(nil) = %d %s %s", ok.Status, ok.ContentType, ok.Body)
	}
	_, verr := c.VerifyCallback(payrecon.CallbackRequest{Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(`{"orderStatus":"TRX_SUCCESS","sign":"AAAA"}`)})
	if !errors.Is(verr, payrecon.ErrSignatureInvalid) {
		t.Fatalf("bad sign: %v", verr)
	}
	for _, err := range []error{verr, errors.New("store down")} {
		r := c.Reply(err)
		if r.Status == 200 || strings.Contains(string(r.Body), "000000") {
			t.Errorf("Reply(%v) = %d %s", err, r.Status, r.Body)
		}
	}
	if r := c.Reply(errors.New("store down")); r.Status != 500 {
		t.Errorf("server fault answered %d", r.Status)
	}
}

func TestSignStrings(t *testing.T) {
	// GET signs the request URI as sent (the FAQ's example)
	uri := "/api/v2/aggr/transactions/merc-orders/20240507000000041809599950090xxx?mercNo=101540000089&sdkVersion=1.0.0"
	if got, err := huawei.BodySignString("GET", uri, nil); err != nil || got != uri {
		t.Errorf("GET body sign string %q %v", got, err)
	}
	got, err := huawei.BodySignString("POST", "/api/v1/aggr/transactions/refunds", []byte(`{"mercRefundOrderNo":"R1","mercOrderNo":"M1","refundAmount":100,"reason":""}`))
	if want := "mercOrderNo=M1&mercRefundOrderNo=R1&reason=&refundAmount=100"; err != nil || got != want {
		t.Errorf("POST body sign string %q %v, want %q", got, err, want)
	}
	a := huawei.PayMercAuth{CallerID: "10132120", TraceID: "202305151501075707669", Time: 1684134067480, AuthID: "120291744647139", BodySign: "haZn=", HeaderSign: "ignored"}
	if got, want := a.HeaderSignString(), "authId=120291744647139&bodySign=haZn=&callerId=10132120&time=1684134067480&traceId=202305151501075707669"; got != want {
		t.Errorf("header sign string %q, want %q", got, want)
	}
}

func TestEncryptedCallbackWithKeyConfigured(t *testing.T) {
	sb := mustSandbox(t, sandbox.Options{})
	cfg := sb.MerchantConfig(huawei.ModelDirect)
	cfg.EncryptKey = payrecon.NewSecret("0123456789abcdef0123456789abcdef")
	c, err := huawei.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := sb.SignCallback(map[string]any{"callbackId": "E1", "dataType": "encrypt", "encryptData": "AAAA"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.VerifyCallback(payrecon.CallbackRequest{Header: cb.Header, Body: cb.Body})
	if !errors.Is(err, huawei.ErrEncryptedUnsupported) || c.Reply(err).Status != 400 {
		t.Errorf("err = %v, want %v", err, huawei.ErrEncryptedUnsupported)
	}
	noKey := mustClient(t, sb, huawei.ModelDirect)
	if _, err := noKey.VerifyCallback(payrecon.CallbackRequest{Header: cb.Header, Body: cb.Body}); !errors.Is(err, huawei.ErrEncryptedNoKey) {
		t.Errorf("without key: %v", err)
	}
}
