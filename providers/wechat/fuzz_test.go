package wechat_test

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha1"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/internal/sign"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

// FuzzParseTradeBill: any input either fails with an error or yields lines
// that agree with the summary the parser checked. Run it by hand:
//
//	go test ./providers/wechat -run '^$' -fuzz FuzzParseTradeBill -fuzztime 1m
func FuzzParseTradeBill(f *testing.F) {
	for _, name := range []string{"success.csv", "refund.csv", "legacy.csv", "summary_mismatch.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", "bills", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	if b, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "fixtures", "wechat", "bill.ALL.csv")); err == nil {
		f.Add(b)
	}
	f.Add([]byte("交易时间,微信订单号,商户订单号,交易状态,订单金额\n`2026-01-01 00:00:00,`1,`2,`SUCCESS,`0.01\n总交易单数,订单总金额\n`1,`0.01\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var n int64
		var amount, refund int64
		last := 0
		sum, err := wechat.ParseTradeBill(bytes.NewReader(data), "fuzz.csv", func(l payrecon.BillLine) error {
			n++
			if l.LineNo <= last {
				t.Fatalf("line numbers not increasing: %d after %d", l.LineNo, last)
			}
			last = l.LineNo
			switch l.Kind {
			case payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther:
			default:
				t.Fatalf("kind %q", l.Kind)
			}
			if l.Kind == payrecon.KindRefund && l.MerchantRefundNo == "" && l.ProviderRefundNo == "" {
				t.Fatal("refund line without refund numbers")
			}
			if l.CreatedAt.IsZero() {
				t.Fatal("line without time")
			}
			if l.Kind == payrecon.KindPayment {
				amount += l.Amount
			}
			if l.Kind == payrecon.KindRefund {
				refund += l.Amount
			}
			return nil
		})
		if sum.Lines != n {
			t.Fatalf("Summary.Lines %d, delivered %d", sum.Lines, n)
		}
		if err != nil {
			return
		}
		if !sum.HasSummary || sum.Count != n {
			t.Fatalf("accepted a bill whose summary count %d (has %v) differs from %d lines", sum.Count, sum.HasSummary, n)
		}
	})
}

// FuzzDecodeCallback drives the callback decoder two ways: an arbitrary
// raw body, and an arbitrary plaintext of an arbitrary event type sealed
// with the APIv3 key into a well-formed envelope (so that the entry mapping
// is reached, not just the decryption). Both go through VerifyCallback's
// path after the signature check (an RSA signature per input is too slow
// under coverage instrumentation; signatures are tested elsewhere). It must
// never panic; every failure must be a rejection (ErrSignatureInvalid or
// ErrCallbackFormat, answered 400, never 5xx); every accepted entry must be
// well formed.
//
//	go test ./providers/wechat -run '^$' -fuzz FuzzDecodeCallback -fuzztime 1m
func FuzzDecodeCallback(f *testing.F) {
	keyPEM, err := os.ReadFile(filepath.Join("testdata", "keys", "fuzz_platform_key.pem"))
	if err != nil {
		f.Fatal(err)
	}
	pubPEM, err := os.ReadFile(filepath.Join("testdata", "keys", "fuzz_platform_pub.pem"))
	if err != nil {
		f.Fatal(err)
	}
	apiv3 := []byte("0123456789abcdef0123456789abcdef")
	c := MustClient(f, wechat.Config{
		MchID: sandbox.MchID, SerialNo: "FUZZ", PrivateKey: payrecon.NewSecret(string(keyPEM)),
		APIv3Key: payrecon.NewSecret(string(apiv3)), BaseURL: "http://127.0.0.1:1",
		PlatformKeys: []wechat.PlatformKey{{Serial: "PUB_KEY_ID_FUZZ", KeyOrCert: payrecon.NewSecret(string(pubPEM))}},
	})
	seal := func(event string, plaintext []byte) []byte {
		ct, err := sign.EncryptAESGCM(apiv3, "abcdefghijkl", "transaction", plaintext)
		if err != nil {
			panic(err)
		}
		body, _ := json.Marshal(wechat.Notification{ID: "fuzz-1", EventType: event, ResourceType: "encrypt-resource",
			Resource: wechat.Resource{Algorithm: "AEAD_AES_256_GCM", Ciphertext: ct, AssociatedData: "transaction", Nonce: "abcdefghijkl", OriginalType: "transaction"}})
		return body
	}
	pay := `{"mchid":"1900000109","out_trade_no":"O1","transaction_id":"42","trade_state":"SUCCESS","success_time":"2026-11-02T09:00:00+08:00","amount":{"total":100,"payer_total":90}}`
	refund := `{"mchid":"1900000109","out_trade_no":"O1","transaction_id":"42","out_refund_no":"R1","refund_id":"50","refund_status":"SUCCESS","amount":{"total":100,"refund":10,"payer_refund":10}}`
	f.Add(seal(wechat.EventTransactionSuccess, []byte(pay)), wechat.EventTransactionSuccess, []byte(pay))
	f.Add(seal(wechat.EventRefundSuccess, []byte(refund)), wechat.EventRefundSuccess, []byte(refund))
	f.Add([]byte(`{"id":"1","event_type":"TRANSACTION.SUCCESS","resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"abcdefghijkl","ciphertext":"AAAAAAAAAAAAAAAAAAAAAA=="}}`), wechat.EventRefundClosed, []byte(strings.Replace(refund, "SUCCESS", "CLOSED", 1)))
	f.Add([]byte(`null`), "PAYSCORE.USER_OPEN_SERVICE", []byte(`{}`))
	check := func(t *testing.T, body []byte) {
		got, err := c.DecodeCallback(payrecon.CallbackRequest{Account: "fuzz", Body: body})
		if err != nil {
			if !errors.Is(err, payrecon.ErrSignatureInvalid) && !errors.Is(err, wechat.ErrCallbackFormat) {
				t.Fatalf("error is neither a rejection nor a format error: %v", err)
			}
			if r := c.Reply(err); r.Status != 400 {
				t.Fatalf("reply %d for %v", r.Status, err)
			}
			return
		}
		if got.EventID == "" {
			t.Fatal("accepted without an event id")
		}
		for _, e := range got.Entries {
			if e.Amount <= 0 || e.Account != "fuzz" || e.OccurredAt.IsZero() {
				t.Fatalf("bad entry %+v", e)
			}
			switch e.Kind {
			case payrecon.KindPayment:
				if e.EventKey != "payment:"+e.ProviderTxnNo+":success" || e.ProviderTxnNo == "" || e.MerchantOrderNo == "" {
					t.Fatalf("bad payment entry %+v", e)
				}
			case payrecon.KindRefund:
				if e.EventKey != "refund:"+e.ProviderRefundNo+":"+string(e.Status) || e.MerchantRefundNo == "" || e.ProviderTxnNo == "" {
					t.Fatalf("bad refund entry %+v", e)
				}
			default:
				t.Fatalf("entry kind %q", e.Kind)
			}
		}
	}
	f.Fuzz(func(t *testing.T, body []byte, event string, plaintext []byte) {
		_, _, _ = wechat.DecodeNotification(body, apiv3)
		check(t, body)
		check(t, seal(event, plaintext))
	})
}

// writeBigBill writes a gzipped ALL bill of n payment and refund rows with
// its summary and returns the file and the SHA1 of the plain text.
func writeBigBill(tb testing.TB, n int) (string, string) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "big.csv.gz")
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zw, _ := gzip.NewWriterLevel(f, gzip.BestSpeed)
	h := sha1.New()
	w := bufio.NewWriterSize(io.MultiWriter(zw, h), 1<<20)
	fmt.Fprintln(w, "交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注")
	var settle, refund, feeUnits int64
	day := time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.Shanghai)
	for i := 0; i < n; i++ {
		at := day.Add(time.Duration(i%86400) * time.Second).Format("2006-01-02 15:04:05")
		amt := int64(i%50000 + 1)
		fee := amt * 6 // 0.6% of amt fen in 0.00001-yuan units: amt*0.006*1000
		if i%10 == 9 {
			fmt.Fprintf(w, "`%s,`wxd678efh567hg6787,`1900000109,`0,`,`4200%016d,`ORD%012d,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`5030%016d,`REF%012d,`%s,`0.00,`ORIGINAL,`SUCCESS,`商品%d,`,`-%s,`0.60%%,`0.00,`%s,`\n",
				at, i-1, i-1, i, i, payrecon.FormatYuan(amt), i%97, yuan5(fee), payrecon.FormatYuan(amt))
			refund += amt
			feeUnits -= fee
			continue
		}
		fmt.Fprintf(w, "`%s,`wxd678efh567hg6787,`1900000109,`0,`,`4200%016d,`ORD%012d,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`JSAPI,`SUCCESS,`OTHERS,`CNY,`%s,`0.00,`0,`0,`0.00,`0.00,`,`,`商品%d,`,`%s,`0.60%%,`%s,`0.00,`\n",
			at, i, i, payrecon.FormatYuan(amt), i%97, yuan5(fee), payrecon.FormatYuan(amt))
		settle += amt
		feeUnits += fee
	}
	fmt.Fprintln(w, "总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额")
	feeFen := (feeUnits + 500) / 1000
	fmt.Fprintf(w, "`%d,`%s,`%s,`0.00,`%s,`%s,`%s\n", n, payrecon.FormatYuan(settle), payrecon.FormatYuan(refund),
		payrecon.FormatYuan(feeFen), payrecon.FormatYuan(settle), payrecon.FormatYuan(refund))
	if err := w.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return path, fmt.Sprintf("%x", h.Sum(nil))
}

// yuan5 prints 0.00001-yuan units with five decimals.
func yuan5(u int64) string { return fmt.Sprintf("%d.%05d", u/100000, u%100000) }

// BenchmarkParseTradeBillGzip parses a generated 1,000,000-row gzipped
// trade bill from disk the way Client.Bill does (gunzip, SHA1 tee, parse,
// summary check) and reports rows/s and the peak Go heap in use.
//
//	go test ./providers/wechat -run '^$' -bench ParseTradeBillGzip -benchtime 3x
func BenchmarkParseTradeBillGzip(b *testing.B) {
	const rows = 1_000_000
	path, want := writeBigBill(b, rows)
	runtime.GC()
	var peak atomic.Uint64
	done := make(chan struct{})
	go func() {
		var ms runtime.MemStats
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<16))
		if err != nil {
			b.Fatal(err)
		}
		h := sha1.New()
		n := 0
		sum, err := wechat.ParseTradeBill(io.TeeReader(zr, h), "big.csv", func(payrecon.BillLine) error { n++; return nil })
		if err != nil || n != rows || sum.Count != rows {
			b.Fatalf("%d lines, %+v, %v", n, sum, err)
		}
		if got := fmt.Sprintf("%x", h.Sum(nil)); got != want {
			b.Fatalf("sha1 %s, want %s", got, want)
		}
		f.Close()
	}
	elapsed := time.Since(start)
	close(done)
	b.ReportMetric(float64(rows)*float64(b.N)/elapsed.Seconds(), "rows/s")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
