package sign_test

import (
	"testing"

	"github.com/payrecon/payrecon/providers/internal/sign"
)

// The official v2 signing example (pay.weixin.qq.com, shared/providers/wechat.md A10).
func TestV2Sign_OfficialVector(t *testing.T) {
	params := map[string]string{
		"appid": "wxd930ea5d5a258f4f", "mch_id": "10000100", "device_info": "1000",
		"body": "test", "nonce_str": "ibuaiVcKdpRxkhJA", "empty": "", "sign": "ignored",
	}
	const key = "192006250b4c09247ec02edce69f6a2d"
	want := "appid=wxd930ea5d5a258f4f&body=test&device_info=1000&mch_id=10000100&nonce_str=ibuaiVcKdpRxkhJA&key=" + key
	if got := sign.V2String(params, key); got != want {
		t.Fatalf("string to sign = %q", got)
	}
	if got := sign.V2SignMD5(params, key); got != "9A0A8659F005D6984697E2CA0A9CF3B7" {
		t.Fatalf("md5 = %s", got)
	}
	if got := sign.V2SignHMACSHA256(params, key); got != "6A9AE1657590FD6257D693A078E1C3E4BB6BA4DC30B23E0EE2496E54170DACD6" {
		t.Fatalf("hmac = %s", got)
	}
	params["sign"] = "9a0a8659f005d6984697e2ca0a9cf3b7"
	if !sign.V2Verify(params, key, "MD5") {
		t.Fatal("md5 sign does not verify")
	}
	if sign.V2Verify(params, key+"x", "MD5") || sign.V2Verify(params, key, "HMAC-SHA256") || sign.V2Verify(params, key, "SHA1") {
		t.Fatal("wrong key / type verified")
	}
}
