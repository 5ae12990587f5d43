package douyin_test

import (
	"crypto/sha1"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/payrecon/payrecon/providers/douyin"
)

// The official ecpay v1 sign example (settle request); the fact file
// recomputed the digest.
func TestDouyinSign_OfficialVector(t *testing.T) {
	params := map[string]any{
		"app_id":              "tt07e3715e98c9aac0",
		"thirdparty_id":       "",
		"out_settle_no":       "mock_settle_no",
		"out_order_no":        "mock_settle_no",
		"settle_desc":         "开始结算与分账",
		"notify_url":          "https://callback.com",
		"settle_params":       `[{"merchant_uid":"123345","amount":1}]`,
		"cp_extra":            "",
		"other_settle_params": "x",
	}
	const wantStr = `[{"merchant_uid":"123345","amount":1}]&https://callback.com&mock_settle_no&mock_settle_no&your_payment_salt&开始结算与分账`
	if got := douyin.SignString(params, "your_payment_salt"); got != wantStr {
		t.Fatalf("sign string\n got %s\nwant %s", got, wantStr)
	}
	if got := douyin.Sign(params, "your_payment_salt"); got != "3c9421d0268a974138f4b36e9cefa1f1" {
		t.Fatalf("sign = %s, want 3c9421d0268a974138f4b36e9cefa1f1", got)
	}
	if !douyin.VerifySign(params, "your_payment_salt", "3C9421D0268A974138F4B36E9CEFA1F1") {
		t.Error("upper-case sign not accepted")
	}
	if douyin.VerifySign(params, "other_salt", "3c9421d0268a974138f4b36e9cefa1f1") {
		t.Error("wrong salt accepted")
	}
}

// A body decoded with UseNumber signs the same as the merchant's map of
// Go values: numbers by their literal digits, "null" and quotes stripped.
func TestDouyinSignFromJSON(t *testing.T) {
	body := `{"app_id":"tt1","out_order_no":"O1","refund_amount":100,"reason":" \"r\" ","cp_extra":"null","notify_url":""}`
	var m map[string]any
	dec := json.NewDecoder(strings.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	if got, want := douyin.SignString(m, "s"), "100&O1&r&s"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	goMap := map[string]any{"app_id": "tt1", "out_order_no": "O1", "refund_amount": int64(100), "reason": `"r"`}
	if douyin.Sign(goMap, "s") != douyin.Sign(m, "s") {
		t.Error("go values and json values sign differently")
	}
}

func TestDouyinCallbackSignature(t *testing.T) {
	token, ts, nonce, msg := "tok", "1602507471", "797", `{"appid":"tt1","cp_orderno":"o1"}`
	// independent computation: sorted by hand
	// byte order: "1602507471" < "797" < "tok" < "{…"
	sorted := ts + nonce + token + msg
	sum := sha1.Sum([]byte(sorted))
	if got := douyin.CallbackSignature(token, ts, nonce, msg); got != hex.EncodeToString(sum[:]) {
		t.Fatalf("got %s, want %s", got, hex.EncodeToString(sum[:]))
	}
	if douyin.CallbackSignature(token, ts, nonce, msg+" ") == douyin.CallbackSignature(token, ts, nonce, msg) {
		t.Error("msg change does not change the signature")
	}
}
