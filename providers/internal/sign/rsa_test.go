package sign_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"testing"
	"time"

	"github.com/payrecon/payrecon/providers/internal/sign"
)

// The official WeChat Pay v3 notification vector (wechatpay-go
// core/notify/notify_test.go): certificate, headers and body; the message is
// timestamp\nnonce\nbody\n.
const (
	a9Cert = `-----BEGIN CERTIFICATE-----
MIIDVzCCAj+gAwIBAgIJANfOWdH1ItcBMA0GCSqGSIb3DQEBCwUAMEIxCzAJBgNV
BAYTAlhYMRUwEwYDVQQHDAxEZWZhdWx0IENpdHkxHDAaBgNVBAoME0RlZmF1bHQg
Q29tcGFueSBMdGQwHhcNMjEwNDI3MDg1NTIzWhcNMzEwNDI1MDg1NTIzWjBCMQsw
CQYDVQQGEwJYWDEVMBMGA1UEBwwMRGVmYXVsdCBDaXR5MRwwGgYDVQQKDBNEZWZh
dWx0IENvbXBhbnkgTHRkMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA
2VCTd91fnUn73Xy9DLvt/V62TVxRTEEstVdeRaZ3B3leO0pldE806mXO4RwdHXag
HQ4vGeZN0yqm++rDsGK+U3AH7kejyD2pXshNP9Cq5YwbptiLGtjcquw4HNxJQUOm
DeJf2vg6byms9RUipiq4SzbJKqJFlUpbuIPDpSpWz10PYmyCNeDGUUK65E5h2B83
4uxl1zNLYQCrkdBzb8oUxwYeP5a2DNxmjL5lsJML7DGr5znsevnoqGRwTm9fxCGf
y8wus7hwKz6clt3Whmmda7UAdb1c08hEQFVRbF14AR73xbnd8N0obCWJPCbzMCtk
aSef4FdEEgEXJiw0VAJT8wIDAQABo1AwTjAdBgNVHQ4EFgQUT1c7nd/SUO76HSoZ
umNUJv1R5PwwHwYDVR0jBBgwFoAUT1c7nd/SUO76HSoZumNUJv1R5PwwDAYDVR0T
BAUwAwEB/zANBgkqhkiG9w0BAQsFAAOCAQEAfTjxKRQMzNB/U6ZoCUS+BSNfa2Oh
0plMN6ZuzwiVVZwg1jywvv5yv04koS7Pd4i9E4gt9ZBUQXlpq+A3oOCEEHNRR6b2
kyazGRM7s0OP5X21WrbpSmKmU6K7hkfx30yYs08LVs/Q8DIhvaj1FCFeJzUCzYn/
fHMq4tsbKO0dKAeydPM/nrUZBmaYQVKMVOORGLFjFKVO7JV6Kq/R86ouhjEPgJOe
2xulNBUcjicqtZlBdEh/PWCYP2SpGVDclKm8jeo175T3EVAkdKzzmfpxtMmnMlmq
cTJOU9TxuGvNASMtjj7pYIerTx+xgZDXEVBWFW9PjJ0TV06tCRsgSHItgg==
-----END CERTIFICATE-----`
	a9Body      = `{"id":"3119dfba-e649-5eec-ab1e-3412bc4d2e17","create_time":"2021-06-24T16:37:26+08:00","resource_type":"encrypt-resource","event_type":"PAYSCORE.USER_OPEN_SERVICE","summary":"签约成功","resource":{"original_type":"payscore","algorithm":"AEAD_AES_256_GCM","ciphertext":"YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDYMkRVSDaZL3iZttevRMOoPKMifozg6XPWjIZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEYYH9TEklFUpsvPqOTOcgSLgh21YJXYR7dEBXFgRLiNIKRgO5JdXh1hccRUAlyVWxE54PXpnQ==","associated_data":"payscore","nonce":"Kj7QIyUiYx1q"}}`
	a9Timestamp = "1624523846"
	a9Nonce     = "EcZ9Cmy4Xyx1i6RlJQzLcCyEqDa26NBz"
	a9Signature = "tJHIiIS9eB2hAYstmAmbbD3ZE5LiIm/Ug5tuL4fC0YOFRWIHV39UFIZXC0e9Wl6lBu6sKvkqDkzpqzBsVHyXFlbYZTOQrVdG4b6LfTnK4mikv9++ixJMd3vTf2yCqvBkh98zs3Ds5zsYQakzbcwhmw4fMJs4nPLws28H0UW9FjDR//rxELLwXvV1VEA1IBLX70xptjL8hrfUjEE8kkry6yNJTHZRU8CAc7qHli2Ng1V1qb9ARbK8A3ThmFmPQvRGrapI/jS2laKKgYUmfdEdkNO6B2Cke5e8VTxY406ArAmQ90GAihDwIcb16TQMnzCMBoutnwZKNiKRACrFmtxw2Q=="
)

func mustKey(tb testing.TB) *rsa.PrivateKey {
	tb.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		tb.Fatal(err)
	}
	return k
}

func TestVerifySHA256RSA_OfficialVector(t *testing.T) {
	pub, serial, err := sign.ParseRSACertificate([]byte(a9Cert))
	if err != nil {
		t.Fatal(err)
	}
	if serial != "D7CE59D1F522D701" {
		t.Fatalf("serial = %q, want D7CE59D1F522D701", serial)
	}
	msg := a9Timestamp + "\n" + a9Nonce + "\n" + a9Body + "\n"
	if err := sign.VerifySHA256RSA(pub, []byte(msg), a9Signature); err != nil {
		t.Fatalf("official vector does not verify: %v", err)
	}
	// One byte changed in the body must fail.
	bad := a9Timestamp + "\n" + a9Nonce + "\n" + a9Body[:len(a9Body)-2] + " }\n"
	if err := sign.VerifySHA256RSA(pub, []byte(bad), a9Signature); !errors.Is(err, sign.ErrRSAVerify) {
		t.Fatalf("tampered body: err = %v, want ErrRSAVerify", err)
	}
	// The same via ParseRSAPublicKey on the certificate.
	pub2, err := sign.ParseRSAPublicKey([]byte(a9Cert))
	if err != nil || pub2.N.Cmp(pub.N) != 0 {
		t.Fatalf("ParseRSAPublicKey(cert) = %v, %v", pub2, err)
	}
}

func TestSHA256RSARoundTrip(t *testing.T) {
	k := mustKey(t)
	other := mustKey(t)
	msg := []byte("GET\n/v3/pay/transactions/id/4200?mchid=1\n1\nn\n\n")
	sig, err := sign.SignSHA256RSA(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sign.VerifySHA256RSA(&k.PublicKey, msg, sig); err != nil {
		t.Fatalf("own signature: %v", err)
	}
	for name, tc := range map[string]struct {
		pub *rsa.PublicKey
		msg []byte
		sig string
	}{
		"OtherKey":  {&other.PublicKey, msg, sig},
		"OtherMsg":  {&k.PublicKey, append([]byte{'X'}, msg...), sig},
		"NotBase64": {&k.PublicKey, msg, "%%%"},
		"Truncated": {&k.PublicKey, msg, sig[:len(sig)-8]},
		"EmptySig":  {&k.PublicKey, msg, ""},
	} {
		t.Run(name, func(t *testing.T) {
			if err := sign.VerifySHA256RSA(tc.pub, tc.msg, tc.sig); !errors.Is(err, sign.ErrRSAVerify) {
				t.Fatalf("err = %v, want ErrRSAVerify", err)
			}
		})
	}
}

func TestPSSRoundTrip(t *testing.T) {
	k := mustKey(t)
	msg := []byte("huawei merchant payload")
	sig, err := sign.SignPSS(k, msg)
	if err != nil {
		t.Fatal(err)
	}
	if err := sign.VerifyPSS(&k.PublicKey, msg, sig); err != nil {
		t.Fatal(err)
	}
	if err := sign.VerifyPSS(&k.PublicKey, []byte("other"), sig); !errors.Is(err, sign.ErrRSAVerify) {
		t.Fatalf("other msg: %v", err)
	}
	// A PKCS#1 v1.5 signature is not a PSS signature.
	v15, _ := sign.SignSHA256RSA(k, msg)
	if err := sign.VerifyPSS(&k.PublicKey, msg, v15); !errors.Is(err, sign.ErrRSAVerify) {
		t.Fatalf("v1.5 accepted as pss: %v", err)
	}
}

func TestParseKeys(t *testing.T) {
	k := mustKey(t)
	pkcs8, err := sign.MarshalRSAPrivateKeyPEM(k)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	bare := []byte(pem.EncodeToMemory(&pem.Block{Type: "X", Bytes: x509.MarshalPKCS1PrivateKey(k)}))
	bare = bare[len("-----BEGIN X-----\n") : len(bare)-len("-----END X-----\n")]
	for name, text := range map[string][]byte{"PKCS8": pkcs8, "PKCS1": pkcs1, "BareBase64": bare} {
		t.Run("Private"+name, func(t *testing.T) {
			got, err := sign.ParseRSAPrivateKey(text)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(k) {
				t.Fatal("parsed key differs")
			}
		})
	}
	spki, err := sign.MarshalRSAPublicKeyPEM(&k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	pkcs1pub := pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)})
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(0x1a2b3c), Subject: pkix.Name{CommonName: "t"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(1<<31, 0)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	for name, text := range map[string][]byte{"SPKI": spki, "PKCS1": pkcs1pub, "Cert": certPEM} {
		t.Run("Public"+name, func(t *testing.T) {
			got, err := sign.ParseRSAPublicKey(text)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(&k.PublicKey) {
				t.Fatal("parsed key differs")
			}
		})
	}
	_, serial, err := sign.ParseRSACertificate(certPEM)
	if err != nil || serial != "1A2B3C" {
		t.Fatalf("serial = %q, %v; want 1A2B3C", serial, err)
	}
	for name, text := range map[string]string{"Empty": "", "Garbage": "not a key", "WrongType": "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n"} {
		t.Run("Bad"+name, func(t *testing.T) {
			if _, err := sign.ParseRSAPrivateKey([]byte(text)); err == nil {
				t.Fatal("private: want error")
			}
			if _, err := sign.ParseRSAPublicKey([]byte(text)); err == nil {
				t.Fatal("public: want error")
			}
		})
	}
}
