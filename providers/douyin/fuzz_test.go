package douyin_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/douyin/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

// FuzzParseBill: any input either parses into lines with non-negative
// amounts whose sum is the summary's, or fails with an error naming the
// file; parsing is deterministic.
func FuzzParseBill(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.csv"))
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(0))
		f.Add(b, uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, sel uint8) {
		bt := []string{douyin.BillPayment, douyin.BillRefund, douyin.BillSettle}[int(sel)%3]
		unit := douyin.UnitYuan
		if sel&4 != 0 {
			unit = douyin.UnitFen
		}
		run := func() ([]payrecon.BillLine, douyin.Summary, error) {
			var lines []payrecon.BillLine
			sum, err := douyin.ParseBill(bytes.NewReader(data), bt, douyin.ParseOptions{File: "fuzz.csv", Unit: unit}, func(l payrecon.BillLine) error {
				lines = append(lines, l)
				return nil
			})
			return lines, sum, err
		}
		lines, sum, err := run()
		again, sum2, err2 := run()
		if (err == nil) != (err2 == nil) || len(lines) != len(again) || sum != sum2 {
			t.Fatalf("not deterministic: %v / %v", err, err2)
		}
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error does not name the file: %v", err)
			}
			return
		}
		var total int64
		for _, l := range lines {
			if l.Amount < 0 || l.MerchantOrderNo == "" || l.LineNo < 1 {
				t.Fatalf("bad line %+v", l)
			}
			if l.Bill == payrecon.BillSettlement && l.Settlement < 0 {
				total -= l.Amount // a refund settled back counts negative
			} else {
				total += l.Amount
			}
		}
		if int64(len(lines)) != sum.Lines || total != sum.Amount {
			t.Fatalf("summary %+v, lines %d total %d", sum, len(lines), total)
		}
	})
}

// FuzzVerifyCallback: a mutated body is accepted only when its signature
// still holds over what it says (which random mutation cannot forge), and
// nothing panics.
func FuzzVerifyCallback(f *testing.F) {
	sb, err := sandbox.New(&scenario.Scenario{}, sandbox.Options{})
	if err != nil {
		f.Fatal(err)
	}
	defer sb.Close()
	cfg := sb.MerchantConfig()
	c, err := douyin.New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	p := scenario.Payment{MerchantOrderNo: "F-1", ProviderTxnNo: "N1", Status: payrecon.StatusSuccess, Amount: 100, PaidAt: qDay.Start()}
	r := scenario.Refund{MerchantRefundNo: "FR-1", ProviderRefundNo: "RN1", ProviderTxnNo: "N1", Status: payrecon.StatusSuccess, Amount: 50, FinishedAt: qDay.Start()}
	valid := map[string]bool{}
	for _, mk := range []func() (scenario.Callback, error){
		func() (scenario.Callback, error) { return sb.PaymentCallback(p) },
		func() (scenario.Callback, error) { return sb.RefundCallback(r) },
	} {
		cb, err := mk()
		if err != nil {
			f.Fatal(err)
		}
		valid[string(cb.Body)] = true
		f.Add(cb.Body)
	}
	f.Add([]byte(`{"timestamp":"1","nonce":"","msg":"{}","msg_signature":"","type":"payment"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		vc, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "fz", Header: jsonHeader, Body: body})
		if err != nil {
			if strings.Contains(err.Error(), cfg.Token.Reveal()) {
				t.Fatal("error leaks the token")
			}
			return
		}
		env, derr := douyin.DecodeEnvelope(body)
		if derr != nil {
			t.Fatalf("accepted an undecodable body: %v", derr)
		}
		// accepted: the signed parts must be those of a valid callback
		ok := false
		for v := range valid {
			e, _ := douyin.DecodeEnvelope([]byte(v))
			if e.Msg == env.Msg && e.Nonce == env.Nonce && e.Timestamp == env.Timestamp {
				ok = true
			}
		}
		if !ok {
			t.Fatalf("accepted a forged callback: %s", body)
		}
		for _, e := range vc.Entries {
			if e.EventKey == "" || e.Amount < 0 {
				t.Fatalf("bad entry %+v", e)
			}
		}
		if vc.EventID == "" {
			t.Fatal("empty EventID")
		}
	})
}
