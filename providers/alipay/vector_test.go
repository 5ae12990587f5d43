package alipay_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/internal/sign"
)

// syncVector is the [V] sync-verify vector of the fact file (gopay's
// TestSyncVerifySign): public key, sign, raw response text.
func syncVector(t *testing.T) (key, sig, data string) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "vector", "sync_verify.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			lines = append(lines, l)
		}
	}
	if len(lines) != 3 {
		t.Fatalf("vector file has %d lines", len(lines))
	}
	return lines[0], lines[1], lines[2]
}

func TestSyncVerify_PublishedVector(t *testing.T) {
	key, sig, data := syncVector(t)
	pub, err := sign.ParseRSAPublicKey([]byte(key))
	if err != nil {
		t.Fatal(err)
	}
	if err := alipay.VerifyRSA(pub, alipay.SignTypeRSA2, []byte(data), sig); err != nil {
		t.Fatalf("published vector does not verify: %v", err)
	}
	// The whole gateway answer: the sign covers exactly the raw member text.
	answer := `{"alipay_trade_query_response":` + data + `,"sign":"` + sig + `"}`
	raw, err := alipay.VerifyResponse(pub, alipay.MethodTradeQuery, []byte(answer))
	if err != nil || string(raw) != data {
		t.Fatalf("VerifyResponse: %v (raw %s)", err, raw)
	}
	// Re-encoding the same JSON (spaces after colons) breaks the signature:
	// verification must be over the raw text.
	spaced := strings.ReplaceAll(data, `":"`, `": "`)
	if err := alipay.VerifyRSA(pub, alipay.SignTypeRSA2, []byte(spaced), sig); err == nil {
		t.Fatal("re-encoded response verified")
	}
	for name, bad := range map[string]string{
		"AmountChanged": strings.Replace(answer, `"total_amount":"0.01"`, `"total_amount":"0.02"`, 1),
		"Unsigned":      `{"alipay_trade_query_response":` + data + `}`,
		"OtherSign":     strings.Replace(answer, sig[:10], "AAAAAAAAAA", 1),
	} {
		if _, err := alipay.VerifyResponse(pub, alipay.MethodTradeQuery, []byte(bad)); !errors.Is(err, payrecon.ErrSignatureInvalid) {
			t.Errorf("%s: err = %v, want ErrSignatureInvalid", name, err)
		}
	}
	if !bytes.Contains([]byte(data), []byte("2019082922001432790585537960")) {
		t.Fatal("vector data changed")
	}
}

func TestResponseKey(t *testing.T) {
	for method, want := range map[string]string{
		alipay.MethodTradeQuery:      "alipay_trade_query_response",
		alipay.MethodBillDownloadURL: "alipay_data_dataservice_bill_downloadurl_query_response",
		alipay.MethodAgreementUnsign: "alipay_user_agreement_unsign_response",
	} {
		if got := alipay.ResponseKey(method); got != want {
			t.Errorf("%s: %s, want %s", method, got, want)
		}
	}
}
