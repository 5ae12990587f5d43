package qqpay_test

import (
	"bytes"
	"errors"
	"net/http"
	"os"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
)

// FuzzParseTradeBill: the parser never panics, every delivered line is
// well-formed, and a bill that parses with a summary has lines that add up.
func FuzzParseTradeBill(f *testing.F) {
	for _, name := range []string{"sample_row.csv", "sample_published_summary.csv"} {
		if b, err := os.ReadFile("testdata/" + name); err == nil {
			f.Add(b)
		}
	}
	sb := sandbox.New(billScenario(), sandbox.Options{})
	var b bytes.Buffer
	sb.RenderStatement(&b, testDay)
	sb.Close()
	f.Add(b.Bytes())
	f.Add([]byte("交易时间,商户订单号,QQ钱包订单号,订单金额,交易状态\n2026/1/2 3:04,`a,`b,1.00,支付成功\n交易总笔数,订单总金额\n1,1.00\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n int64
		var refunds int64
		sum, err := qqpay.ParseTradeBill(bytes.NewReader(data), "f.csv", func(l payrecon.BillLine) error {
			n++
			if l.File != "f.csv" || l.LineNo < 2 {
				t.Fatalf("position %s:%d", l.File, l.LineNo)
			}
			if l.FinishedAt.IsZero() || l.FinishedAt.Location() != payrecon.Shanghai {
				t.Fatalf("time %v", l.FinishedAt)
			}
			switch l.Kind {
			case payrecon.KindRefund:
				if l.Amount <= 0 || (l.MerchantRefundNo == "" && l.ProviderRefundNo == "") {
					t.Fatalf("refund %+v", l)
				}
				refunds += l.Amount
			case payrecon.KindPayment, payrecon.KindOther:
			default:
				t.Fatalf("kind %q", l.Kind)
			}
			return nil
		})
		if n != sum.Lines {
			t.Fatalf("delivered %d, summary says %d", n, sum.Lines)
		}
		if err == nil && sum.HasSummary && sum.Count != 0 && sum.Count != n {
			t.Fatalf("summary count %d passed with %d lines", sum.Count, n)
		}
		_ = refunds
	})
}

// FuzzVerifyCallback: arbitrary bodies never panic and are accepted only
// when they carry a valid sign; mutations of a valid notification that
// change a signed value are refused as signature errors.
func FuzzVerifyCallback(f *testing.F) {
	sc := billScenario()
	sb := sandbox.New(sc, sandbox.Options{})
	defer sb.Close()
	cfg := sb.MerchantConfig()
	c, err := qqpay.New(cfg, nil)
	if err != nil {
		f.Fatal(err)
	}
	pay, _ := sb.PaymentCallback(sc.Payments[1])
	ref, _ := sb.RefundCallback(sc.Refunds[0])
	f.Add(pay.Body)
	f.Add(ref.Body)
	f.Add([]byte("<xml><sign>x</sign></xml>"))
	f.Fuzz(func(t *testing.T, body []byte) {
		vc, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "qq", Header: http.Header{"Content-Type": {"text/xml; charset=utf-8"}}, Body: body, ReceivedAt: time.Unix(0, 0)})
		if err != nil {
			if len(vc.Entries) != 0 {
				t.Fatal("entries with an error")
			}
			return
		}
		m, derr := qqpay.DecodeXML(body)
		if derr != nil || !qqpay.Verify(m, sandbox.APIKey, qqpay.SignMD5) {
			t.Fatalf("accepted a body whose sign does not verify: %q", body)
		}
		for _, e := range vc.Entries {
			if e.EventKey == "" || e.Amount <= 0 {
				t.Fatalf("entry %+v", e)
			}
		}
		if vc.EventID == "" {
			t.Fatal("no event id")
		}
		_ = errors.Is(err, payrecon.ErrSignatureInvalid)
	})
}
