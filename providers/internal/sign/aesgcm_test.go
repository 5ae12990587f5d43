package sign_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/payrecon/payrecon/providers/internal/sign"
)

// Resource of the official WeChat Pay v3 notification vector
// (wechatpay-go core/notify/notify_test.go): APIv3 key "testMchAPIv3Key0"
// (16 bytes: AES-128-GCM in that test).
const (
	a9Key        = "testMchAPIv3Key0"
	a9Ciphertext = "YDS3lKPaC4Y52Gf3uhft5qUBlIa8b428AWTtTauHQfQrRw+X1WpiuHIDy0vo1Vd6VEq67aVyqPdDYMkRVSDaZL3iZttevRMOoPKMifozg6XPWjIZumks/GpT48lI4NizyeaqLBokNebthah3o1H76qSlO9NkDjp9bzmKLEYYH9TEklFUpsvPqOTOcgSLgh21YJXYR7dEBXFgRLiNIKRgO5JdXh1hccRUAlyVWxE54PXpnQ=="
	a9ResNonce   = "Kj7QIyUiYx1q"
	a9AAD        = "payscore"
	a9Plaintext  = `{"mchid":"1234567890","appid":"054aa7d7a2a54ab5898df65bd96f001c","create_time":"2020-06-30T12:12:00+08:00","out_contract_code":"21640bdbd08e473e828f3206a2741c6e"}`
)

func TestDecryptAESGCM_OfficialVector(t *testing.T) {
	pt, err := sign.DecryptAESGCM([]byte(a9Key), a9ResNonce, a9AAD, a9Ciphertext)
	if err != nil {
		t.Fatal(err)
	}
	if string(pt) != a9Plaintext {
		t.Fatalf("plaintext = %s", pt)
	}
}

func TestAESGCMRejects(t *testing.T) {
	ct, _ := base64.StdEncoding.DecodeString(a9Ciphertext)
	flipped := bytes.Clone(ct)
	flipped[3] ^= 1
	tag := bytes.Clone(ct)
	tag[len(tag)-1] ^= 0x80
	for name, tc := range map[string]struct{ key, nonce, aad, ct string }{
		"WrongKey":       {"testMchAPIv3Key1", a9ResNonce, a9AAD, a9Ciphertext},
		"WrongAAD":       {a9Key, a9ResNonce, "transaction", a9Ciphertext},
		"WrongNonce":     {a9Key, "Kj7QIyUiYx1r", a9AAD, a9Ciphertext},
		"FlippedByte":    {a9Key, a9ResNonce, a9AAD, base64.StdEncoding.EncodeToString(flipped)},
		"FlippedTag":     {a9Key, a9ResNonce, a9AAD, base64.StdEncoding.EncodeToString(tag)},
		"NotBase64":      {a9Key, a9ResNonce, a9AAD, "***"},
		"ShorterThanTag": {a9Key, a9ResNonce, a9AAD, "AAAA"},
		"BadKeyLength":   {"short", a9ResNonce, a9AAD, a9Ciphertext},
		"EmptyNonce":     {a9Key, "", a9AAD, a9Ciphertext},
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := sign.DecryptAESGCM([]byte(tc.key), tc.nonce, tc.aad, tc.ct); !errors.Is(err, sign.ErrDecrypt) {
				t.Fatalf("err = %v, want ErrDecrypt", err)
			}
		})
	}
}

func TestAESGCMRoundTrip32(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef") // 32 bytes: AEAD_AES_256_GCM proper
	msg := []byte(`{"transaction_id":"4200000001"}`)
	ct, err := sign.EncryptAESGCM(key, "abcdefghijkl", "transaction", msg)
	if err != nil {
		t.Fatal(err)
	}
	pt, err := sign.DecryptAESGCM(key, "abcdefghijkl", "transaction", ct)
	if err != nil || !bytes.Equal(pt, msg) {
		t.Fatalf("round trip = %q, %v", pt, err)
	}
	// Empty associated data is allowed and must match on both sides.
	ct2, _ := sign.EncryptAESGCM(key, "abcdefghijkl", "", msg)
	if _, err := sign.DecryptAESGCM(key, "abcdefghijkl", "x", ct2); !errors.Is(err, sign.ErrDecrypt) {
		t.Fatalf("aad mismatch accepted: %v", err)
	}
}
