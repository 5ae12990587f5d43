package billread_test

import (
	"testing"

	"github.com/payrecon/payrecon/providers/internal/billread"
)

func TestDownloadURL(t *testing.T) {
	const base = "https://api.mch.weixin.qq.com"
	const sandbox = "http://127.0.0.1:41234"
	for _, tc := range []struct {
		raw, base string
		signed    bool
		ok        bool
	}{
		{"https://dwbillcenter.alipay.com/downloadBillFile.resource?x=1", base, false, true}, // presigned: any https host
		{"http://127.0.0.1:50001/bill.zip", base, false, true},                               // a loopback simulation on another port
		{"http://[::1]:50001/bill.zip", base, false, true},
		{"http://localhost/bill.zip", base, false, true},
		{"http://bills.example.com/bill.zip", base, false, false}, // cleartext off this machine
		{"ftp://127.0.0.1/bill.zip", base, false, false},
		{"https://api.mch.weixin.qq.com/v3/billdownload/file?token=x", base, true, true},
		{"https://api2.mch.weixin.qq.com/v3/billdownload/file?token=x", base, true, true}, // trusted backup domain
		{"https://evil.example.com/v3/billdownload/file", base, true, false},              // credentials stay home
		{sandbox + "/v3/billdownload/file", sandbox, true, true},
		{"http://127.0.0.1:9/v3/billdownload/file", sandbox, true, true},  // same host name, another port
		{"http://127.0.0.2:9/v3/billdownload/file", sandbox, true, false}, // loopback, but not the API's host
		{"not a url", base, false, false},
	} {
		_, err := billread.DownloadURL(tc.raw, tc.base, tc.signed, "api.mch.weixin.qq.com", "api2.mch.weixin.qq.com")
		if (err == nil) != tc.ok {
			t.Errorf("%s (base %s, signed %v): err = %v, want ok=%v", tc.raw, tc.base, tc.signed, err, tc.ok)
		}
	}
}
