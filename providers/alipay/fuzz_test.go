package alipay_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/alipay/sandbox"
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

// FuzzVerifyCallback: a mutated genuine notification is either rejected or,
// when accepted, carries the original's notify_id (sign and field order
// changes that keep the signed content). Never a panic.
func FuzzVerifyCallback(f *testing.F) {
	sc := smallScenario()
	sb := sandbox.New(sc, sandbox.Options{Now: fixedNow})
	defer sb.Close()
	c := MustClient(f, sb.MerchantConfig())
	genuine := map[string]string{}
	for _, cb := range []func() ([]byte, string){
		func() ([]byte, string) { cb := must(sb.PaymentCallback(sc.Payments[0])); return cb.Body, cb.EventID },
		func() ([]byte, string) { cb := must(sb.RefundCallback(sc.Refunds[0])); return cb.Body, cb.EventID },
		func() ([]byte, string) {
			cb := must(sb.AgreementCallback(sc.Agreements[0]))
			return cb.Body, cb.EventID
		},
	} {
		b, id := cb()
		genuine[id] = string(b)
		f.Add(b)
	}
	f.Add([]byte("sign=&sign_type=RSA2"))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "f", Body: body, ReceivedAt: fixedNow()})
		if err != nil {
			if !errors.Is(err, payrecon.ErrSignatureInvalid) && !errors.Is(err, alipay.ErrCallbackFormat) {
				t.Fatalf("error of no class: %v", err)
			}
			return
		}
		if _, ok := genuine[got.EventID]; !ok {
			t.Fatalf("accepted a notification the sandbox never signed: %q", body)
		}
	})
}
