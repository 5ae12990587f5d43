package qqpay_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

func TestConfigValidate(t *testing.T) {
	certPEM, keyPEM := selfSigned(t)
	ok := qqpay.Config{MchID: "1", APIKey: payrecon.NewSecret("k")}
	if err := ok.Validate(); err != nil {
		t.Fatal(err)
	}
	d := ok.WithDefaults()
	if d.BaseURL != qqpay.DefaultBaseURL || d.RefundBaseURL != qqpay.DefaultRefundBaseURL || d.SignType != qqpay.SignMD5 || d.BillEncoding != qqpay.EncodingAuto {
		t.Errorf("defaults %+v", d)
	}
	sb := ok
	sb.BaseURL = "http://127.0.0.1:1/"
	if d := sb.WithDefaults(); d.RefundBaseURL != "http://127.0.0.1:1" {
		t.Errorf("refund host of a non-default base %q", d.RefundBaseURL)
	}
	for _, tc := range []struct {
		mut  func(*qqpay.Config)
		want string
	}{
		{func(c *qqpay.Config) { c.MchID = "" }, "mch_id is required"},
		{func(c *qqpay.Config) { c.APIKey = payrecon.Secret{} }, "api_key is required"},
		{func(c *qqpay.Config) { c.SignType = "RSA" }, "sign_type"},
		{func(c *qqpay.Config) { c.ClientCert = payrecon.NewSecret(certPEM) }, "client_cert and client_key"},
		{func(c *qqpay.Config) {
			c.ClientCert, c.ClientKey = payrecon.NewSecret(certPEM), payrecon.NewSecret("junk")
		}, "client_cert/client_key"},
		{func(c *qqpay.Config) { c.OpUserPasswd = payrecon.NewSecret("x") }, "op_user_id"},
		{func(c *qqpay.Config) { c.BaseURL = "ftp://x" }, "base_url"},
		{func(c *qqpay.Config) { c.RefundBaseURL = "::" }, "refund_base_url"},
		{func(c *qqpay.Config) { c.BillEncoding = "latin1" }, "bill_encoding"},
		{func(c *qqpay.Config) { c.Timeout = -1 }, "timeout"},
	} {
		c := ok
		tc.mut(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v", tc.want, err)
		}
	}
	good := ok
	good.ClientCert, good.ClientKey = payrecon.NewSecret(certPEM), payrecon.NewSecret(keyPEM)
	if err := good.Validate(); err != nil {
		t.Fatal(err)
	}
	if s := strings.Join([]string{good.APIKey.String(), good.ClientKey.String()}, ""); strings.Contains(s, "PRIVATE") {
		t.Fatal("secret printed")
	}
}

func selfSigned(t *testing.T) (certPEM, keyPEM string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: sandbox.MchID},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tpl, tpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})), string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}))
}

// TestRefundClientCert: with a client certificate configured, apply refund
// presents it to a TLS refund host that demands one (the sandbox behind
// it), while the plain-HTTP sandbox works with the certificate optional.
func TestRefundClientCert(t *testing.T) {
	sc := billScenario()
	sb, plain := mustSandbox(t, sc, sandbox.Options{})
	certPEM, keyPEM := selfSigned(t)

	// plain HTTP, certificate configured but irrelevant
	cfg := sb.MerchantConfig()
	cfg.ClientCert, cfg.ClientKey = payrecon.NewSecret(certPEM), payrecon.NewSecret(keyPEM)
	withCert := mustClient(t, cfg)
	if !withCert.HasClientCert() || plain.HasClientCert() {
		t.Fatal("HasClientCert")
	}
	req := payrecon.RefundRequest{OrderRef: payrecon.OrderRef{MerchantOrderNo: "M2"}, MerchantRefundNo: "RCERT1", Amount: 100}
	if r, err := withCert.ApplyRefund(context.Background(), req); err != nil || r.Amount != 100 || r.ProviderRefundNo == "" {
		t.Fatalf("%+v %v", r, err)
	}

	// TLS refund host requiring a client certificate, forwarding to the sandbox
	var mu sync.Mutex
	var peers []string
	proxy := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
			peers = append(peers, r.TLS.PeerCertificates[0].Subject.CommonName)
		}
		mu.Unlock()
		out, err := http.Post(sb.URL()+r.URL.Path, "text/xml", r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer out.Body.Close()
		w.WriteHeader(out.StatusCode)
		buf := make([]byte, 1<<16)
		n, _ := out.Body.Read(buf)
		_, _ = w.Write(buf[:n])
	}))
	proxy.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	proxy.StartTLS()
	defer proxy.Close()
	cfg.RefundBaseURL = proxy.URL
	c, err := qqpay.New(cfg, nil, qqpay.WithHTTPClient(proxy.Client()))
	if err != nil {
		t.Fatal(err)
	}
	req.MerchantRefundNo = "RCERT2"
	if _, err := c.ApplyRefund(context.Background(), req); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if len(peers) != 1 || peers[0] != sandbox.MchID {
		t.Fatalf("refund host saw client certificates %v", peers)
	}
	mu.Unlock()
	// without the certificate the TLS host refuses the refund
	cfg.ClientCert, cfg.ClientKey = payrecon.Secret{}, payrecon.Secret{}
	noCert, err := qqpay.New(cfg, nil, qqpay.WithHTTPClient(proxy.Client()))
	if err != nil {
		t.Fatal(err)
	}
	req.MerchantRefundNo = "RCERT3"
	if _, err := noCert.ApplyRefund(context.Background(), req); err == nil {
		t.Fatal("refund without a client certificate went through")
	}
	// operator missing
	cfg = sb.MerchantConfig()
	cfg.OpUserID, cfg.OpUserPasswd = "", payrecon.Secret{}
	if _, err := mustClient(t, cfg).ApplyRefund(context.Background(), req); err == nil || !strings.Contains(err.Error(), "op_user_id") {
		t.Fatalf("no operator: %v", err)
	}
	// a wrong operator password is the sandbox's business error
	cfg = sb.MerchantConfig()
	cfg.OpUserPasswd = payrecon.NewSecret("00000000000000000000000000000000")
	var pe *payrecon.ProviderError
	if _, err := mustClient(t, cfg).ApplyRefund(context.Background(), req); !errors.As(err, &pe) || pe.Code != "OPUSER_ERROR" {
		t.Fatalf("wrong operator: %v", err)
	}
}

// fakeAPI answers every request with the given XML fields, signed with key
// unless key is empty, and status.
func fakeAPI(t *testing.T, status int, key string, fields map[string]string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m := map[string]string{}
		for k, v := range fields {
			m[k] = v
		}
		if key != "" {
			m["sign"] = qqpay.Sign(m, key, qqpay.SignMD5)
		}
		w.WriteHeader(status)
		_, _ = w.Write(qqpay.EncodeXML(m))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

func TestErrorMapping(t *testing.T) {
	ok := map[string]string{"return_code": "SUCCESS", "result_code": "SUCCESS", "mch_id": sandbox.MchID, "nonce_str": "N"}
	with := func(kv ...string) map[string]string {
		m := map[string]string{}
		for k, v := range ok {
			m[k] = v
		}
		for i := 0; i+1 < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	closed := httptest.NewServer(http.NotFoundHandler())
	closedURL := closed.URL
	closed.Close()
	for _, tc := range []struct {
		name      string
		url       string
		transient bool
		notFound  bool
		sig       bool
		code      string
	}{
		{"5xx", fakeAPI(t, 503, "", map[string]string{"return_code": "FAIL"}), true, false, false, "HTTP_503"},
		{"system error", fakeAPI(t, 200, sandbox.APIKey, with("result_code", "FAIL", "err_code", "SYSTEMERROR", "err_code_des", "系统繁忙")), true, false, false, "SYSTEMERROR"},
		{"not exist", fakeAPI(t, 200, sandbox.APIKey, with("result_code", "FAIL", "err_code", "ORDERNOTEXIST")), false, true, false, "ORDERNOTEXIST"},
		{"retcode", fakeAPI(t, 200, sandbox.APIKey, with("retcode", "66227005", "retmsg", "订单不存在")), false, true, false, "66227005"},
		{"return FAIL unsigned", fakeAPI(t, 200, "", map[string]string{"return_code": "FAIL", "return_msg": "签名错误"}), false, false, false, "FAIL"},
		{"bad response sign", fakeAPI(t, 200, "another-key", with("trade_state", "SUCCESS")), false, false, true, ""},
		{"unsigned success", fakeAPI(t, 200, "", with("trade_state", "SUCCESS")), false, false, true, ""},
		{"network", closedURL, true, false, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := qqpay.Config{MchID: sandbox.MchID, APIKey: payrecon.NewSecret(sandbox.APIKey), BaseURL: tc.url}
			_, err := mustClient(t, cfg).QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "X"})
			if err == nil {
				t.Fatal("no error")
			}
			if errors.Is(err, payrecon.ErrTransient) != tc.transient || errors.Is(err, payrecon.ErrNotFound) != tc.notFound || errors.Is(err, payrecon.ErrSignatureInvalid) != tc.sig {
				t.Errorf("err %v: transient %v notFound %v sig %v", err, errors.Is(err, payrecon.ErrTransient), errors.Is(err, payrecon.ErrNotFound), errors.Is(err, payrecon.ErrSignatureInvalid))
			}
			var pe *payrecon.ProviderError
			if tc.code != "" && (!errors.As(err, &pe) || pe.Code != tc.code) {
				t.Errorf("err %v: want code %s", err, tc.code)
			}
			if strings.Contains(err.Error(), sandbox.APIKey) {
				t.Error("api key in the error")
			}
		})
	}
}

// TestRequestsSigned: the sandbox refuses a request signed with another key.
func TestRequestsSigned(t *testing.T) {
	sb, _ := mustSandbox(t, &scenario.Scenario{}, sandbox.Options{})
	cfg := sb.MerchantConfig()
	cfg.APIKey = payrecon.NewSecret("wrong-key")
	_, err := mustClient(t, cfg).QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "X"})
	var pe *payrecon.ProviderError
	if !errors.As(err, &pe) || !strings.Contains(pe.Message, "签名错误") {
		t.Fatalf("err = %v", err)
	}
}

func TestStatusMaps(t *testing.T) {
	for in, want := range map[string]payrecon.Status{
		"SUCCESS": payrecon.StatusSuccess, "4": payrecon.StatusSuccess, "10": payrecon.StatusSuccess, "退款成功": payrecon.StatusSuccess,
		"FAIL": payrecon.StatusFailed, "3": payrecon.StatusFailed, "5": payrecon.StatusFailed, "6": payrecon.StatusFailed, "CHANGE": payrecon.StatusFailed, "7": payrecon.StatusFailed,
		"PROCESSING": payrecon.StatusPending, "8": payrecon.StatusPending, "9": payrecon.StatusPending, "11": payrecon.StatusPending,
		"NOTSURE": payrecon.StatusPending, "1": payrecon.StatusPending, "2": payrecon.StatusPending,
	} {
		if got := qqpay.RefundStatus(in); got != want {
			t.Errorf("RefundStatus(%q) = %s, want %s", in, got, want)
		}
	}
	for in, want := range map[string]payrecon.Status{
		"SUCCESS": payrecon.StatusSuccess, "REFUND": payrecon.StatusSuccess, "NOTPAY": payrecon.StatusNotPaid, "CLOSED": payrecon.StatusClosed,
		"REVOKED": payrecon.StatusClosed, "USERPAYING": payrecon.StatusPending, "PAYERROR": payrecon.StatusFailed,
	} {
		if got := qqpay.TradeStatus(in); got != want {
			t.Errorf("TradeStatus(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestXMLRoundTrip(t *testing.T) {
	in := map[string]string{"a": "x<y&z", "b": "中文", "empty": ""}
	out, err := qqpay.DecodeXML(qqpay.EncodeXML(in))
	if err != nil || out["a"] != in["a"] || out["b"] != in["b"] || len(out) != 2 {
		t.Fatalf("%v %v", out, err)
	}
	cdata, err := qqpay.DecodeXML([]byte("<?xml version=\"1.0\"?>\n<xml>\n <a><![CDATA[1&2]]></a>\n</xml>"))
	if err != nil || cdata["a"] != "1&2" {
		t.Fatalf("%v %v", cdata, err)
	}
	for _, bad := range []string{"", "<xml><a>1</a><a>2</a></xml>", "<xml><a><b>1</b></a></xml>", "<xml>text<a>1</a></xml>", "<xml><a>1</a></xml><xml></xml>"} {
		if _, err := qqpay.DecodeXML([]byte(bad)); err == nil {
			t.Errorf("DecodeXML(%q) accepted", bad)
		}
	}
}
