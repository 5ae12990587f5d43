package alipay_test

import (
	"bytes"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/internal/sign"
)

// FuzzParseTradeBill: any input either parses into lines whose numbers are
// consistent, or fails with an error; never a panic. Lines delivered with
// no error must agree with the footer when both totals were printed.
func FuzzParseTradeBill(f *testing.F) {
	for _, name := range []string{"trade_documented.csv", "trade_utf8_bom.csv", "trade_reordered.csv", "trade_bad_amount.csv", "trade_total_mismatch.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var n, trades, refunds int64
		sum, err := alipay.ParseTradeBill(bytes.NewReader(data), "fuzz.csv", func(l payrecon.BillLine) error {
			n++
			if l.Amount < 0 || l.LineNo <= 0 || l.ProviderTxnNo == "" {
				t.Fatalf("line %+v", l)
			}
			if l.Kind == payrecon.KindRefund {
				refunds++
				if l.MerchantRefundNo == "" && l.MerchantOrderNo != "" {
					t.Fatalf("refund without number %+v", l)
				}
			} else {
				trades++
			}
			return nil
		})
		if sum.Lines != n {
			t.Fatalf("summary lines %d, delivered %d", sum.Lines, n)
		}
		if err == nil && sum.HasTradeTotal && sum.TradeCount != trades || err == nil && sum.HasRefundTotal && sum.RefundCount != refunds {
			t.Fatalf("totals %+v accepted with %d trades %d refunds", sum, trades, refunds)
		}
	})
}

// FuzzVerifyCallback: a mutated genuine notification is either rejected
// with a classified error or, when accepted, is one that was signed (same
// notify_id). Never a panic. It uses the fixed test keys of testdata/keys:
// generating keys under fuzzing instrumentation takes minutes.
func FuzzVerifyCallback(f *testing.F) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("testdata", "keys", name))
		if err != nil {
			f.Fatal(err)
		}
		return string(b)
	}
	signer, err := sign.ParseRSAPrivateKey([]byte(read("alipay_test_private.pem")))
	if err != nil {
		f.Fatal(err)
	}
	c := MustClient(f, alipay.Config{AppID: "2021000000000001", PrivateKey: payrecon.NewSecret(read("merchant_test_private.pem")), AlipayPublicKey: payrecon.NewSecret(read("alipay_test_public.pem")),
		BaseURL: "http://127.0.0.1:1"}) // nothing listens: a refund's amount query fails at once (transient)
	genuine := map[string]bool{}
	sc := smallScenario()
	for i, fields := range []map[string]string{
		with(paymentFields(), "app_id", "2021000000000001"),
		with(with(paymentFields(), "out_biz_no", "R1"), "refund_fee", "1.00"),
		{"notify_type": "dut_user_sign", "notify_id": "n3", "notify_time": "2026-11-02 08:00:01", "agreement_no": sc.Agreements[0].AgreementNo, "status": "NORMAL", "sign_time": "2026-11-02 08:00:00"},
	} {
		if i == 1 {
			fields["gmt_refund"], fields["notify_id"] = "2026-11-02 12:00:00", "n2"
		}
		v := url.Values{}
		for k, x := range fields {
			v.Set(k, x)
		}
		sig, err := sign.SignSHA256RSA(signer, []byte(alipay.SignContent(v)))
		if err != nil {
			f.Fatal(err)
		}
		v.Set("sign", sig)
		v.Set("sign_type", "RSA2")
		genuine[v.Get("notify_id")] = true
		body := []byte(v.Encode())
		if _, err := c.VerifyCallback(payrecon.CallbackRequest{Header: formHeader, Body: body}); err != nil && (i != 1 || !errors.Is(err, payrecon.ErrTransient)) {
			f.Fatalf("seed %d rejected: %v", i, err)
		}
		f.Add(body)
	}
	f.Add([]byte("sign=&sign_type=RSA2"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "f", Header: formHeader, Body: body, ReceivedAt: fixedNow()})
		if err != nil {
			if !errors.Is(err, payrecon.ErrSignatureInvalid) && !errors.Is(err, alipay.ErrCallbackFormat) && !errors.Is(err, payrecon.ErrTransient) {
				t.Fatalf("error of no class: %v", err)
			}
			return
		}
		if !genuine[got.EventID] {
			t.Fatalf("accepted a notification that was never signed: %q", body)
		}
	})
}

var formHeader = http.Header{"Content-Type": {"application/x-www-form-urlencoded; charset=utf-8"}}
