package huawei_test

import (
	"archive/zip"
	"bufio"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/intake"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// benchRows is the size of the generated bill: PAYRECON_BENCH_ROWS, default 1,000,000.
func benchRows() int {
	if n, err := strconv.Atoi(os.Getenv("PAYRECON_BENCH_ROWS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// writeBigTradeZip streams a trade bill of n rows (every 10th a refund,
// every 50th a 分账 line) into a zip file.
func writeBigTradeZip(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.Create("TradeBill_101000000001_20261110.csv")
	if err != nil {
		tb.Fatal(err)
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(strings.Join(sandbox.TradeColumns, ",") + "\r\n")
	base := payrecon.MustDay("2026-11-10").Start()
	for i := 0; i < n; i++ {
		ts := base.Add(time.Duration(i%86400) * time.Second).Format("2006-01-02 15:04:05")
		amount := int64(100 + i%100000)
		switch {
		case i%50 == 49:
			fmt.Fprintf(bw, "示例商户,101000000001,%s,%s,43%016d,ALLOC%d,成功,分账,,,,,CNY,%s,%s,,0,102000000009,合作方,42%016d,ORDER%d,,,\r\n",
				ts, ts, i, i, payrecon.FormatYuan(amount), payrecon.FormatYuan(amount), i-1, i-1)
		case i%10 == 9:
			fmt.Fprintf(bw, "示例商户,101000000001,%s,%s,51%016d,REFUND%d,成功,退款,,借记卡快捷支付,招商银行,借记卡,CNY,-%s,-%s,0.00,-%s,,,42%016d,ORDER%d,,5765880207854262001,openid\r\n",
				ts, ts, i, i, payrecon.FormatYuan(amount), payrecon.FormatYuan(amount), payrecon.FormatYuan(payrecon.FeeFor(amount, 6000)), i-1, i-1)
		default:
			fmt.Fprintf(bw, "示例商户,101000000001,%s,%s,42%016d,ORDER%d,成功,收单,,借记卡快捷支付,招商银行,借记卡,CNY,%s,%s,0.00,%s,,,,,payload%d,5765880207854262001,openid\r\n",
				ts, ts, i, i, payrecon.FormatYuan(amount), payrecon.FormatYuan(amount), payrecon.FormatYuan(payrecon.FeeFor(amount, 6000)), i)
		}
	}
	bw.WriteString("合计,总交易笔数:" + strconv.Itoa(n) + "\r\n")
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := f.Close(); err != nil {
		tb.Fatal(err)
	}
}

var (
	bigZipOnce sync.Once
	bigZipPath string
)

// BenchmarkParseTradeBillZip parses a generated 1,000,000-row trade bill
// zip (streamed from the zip entry, as Client.Bill does) and reports rows/s
// and the heap in use at the end. Peak RSS: run the test binary under
// /usr/bin/time -v.
func BenchmarkParseTradeBillZip(b *testing.B) {
	n := benchRows()
	bigZipOnce.Do(func() {
		dir, err := os.MkdirTemp("", "payrecon-bench-")
		if err != nil {
			b.Fatal(err)
		}
		bigZipPath = filepath.Join(dir, "trade.zip")
		writeBigTradeZip(b, bigZipPath, n)
	})
	st, _ := os.Stat(bigZipPath)
	b.ResetTimer()
	var rows int64
	var maxHeap uint64
	for i := 0; i < b.N; i++ {
		zr, err := zip.OpenReader(bigZipPath)
		if err != nil {
			b.Fatal(err)
		}
		for _, zf := range zr.File {
			rc, err := zf.Open()
			if err != nil {
				b.Fatal(err)
			}
			var count int64
			err = huawei.ParseTradeBill(rc, zf.Name, func(l payrecon.BillLine) error {
				count++
				if count%200_000 == 0 {
					var ms runtime.MemStats
					runtime.ReadMemStats(&ms)
					maxHeap = max(maxHeap, ms.HeapInuse)
				}
				return nil
			})
			rc.Close()
			if err != nil {
				b.Fatal(err)
			}
			if count != int64(n) {
				b.Fatalf("parsed %d rows, want %d", count, n)
			}
			rows += count
		}
		zr.Close()
	}
	b.StopTimer()
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(maxHeap)/(1<<20), "MiB-heap-inuse")
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB-zip")
}

// BenchmarkVerifiedCallbacks measures verified callbacks per second through
// the real intake handler over HTTP into a store: SQLite, and MariaDB when
// PAYRECON_TEST_MYSQL_DSN is set. Distinct payment callbacks are signed
// before the timer starts; 4 senders post them concurrently.
func BenchmarkVerifiedCallbacks(b *testing.B) {
	for _, dialect := range storetest.Dialects {
		b.Run(dialect, func(b *testing.B) {
			db := storetest.Open(b, dialect)
			benchCallbacks(b, db)
		})
	}
}

func benchCallbacks(b *testing.B, db *store.DB) {
	sb, err := sandbox.New(&scenario.Scenario{}, sandbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	c := mustClient(b, sb, huawei.ModelDirect)
	h := intake.New(intake.Config{
		Accounts: map[string]intake.Account{"bench": {Provider: huawei.Name, Verifier: c}},
		Store:    db,
	})
	srv := httptest.NewServer(h)
	defer srv.Close()
	d := payrecon.MustDay("2026-11-10")
	cbs := make([]scenario.Callback, b.N)
	for i := range cbs {
		cb, err := sb.PaymentCallback(scenario.Payment{MerchantOrderNo: fmt.Sprintf("B%d-%d", b.N, i), ProviderTxnNo: fmt.Sprintf("42%d%09d", b.N, i),
			Status: payrecon.StatusSuccess, Amount: int64(100 + i), PayerAmount: int64(100 + i), PaidAt: at(d, 10, 0)})
		if err != nil {
			b.Fatal(err)
		}
		cbs[i] = cb
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 8}}
	var next, failed atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(len(cbs)) {
					return
				}
				status, _, err := scenario.Fire(context.Background(), client, srv.URL+"/callbacks/huawei/bench", cbs[i])
				if err != nil || status != 200 {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if failed.Load() > 0 {
		b.Fatalf("%d callbacks failed", failed.Load())
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "callbacks/s")
}

// BenchmarkVerifyCallback is the verifier alone (SM2 verify of a payment
// callback over its sort-join, then the mapping), for comparison with the
// end-to-end figure above.
func BenchmarkVerifyCallback(b *testing.B) {
	sb, err := sandbox.New(&scenario.Scenario{}, sandbox.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer sb.Close()
	c := mustClient(b, sb, huawei.ModelDirect)
	cb, err := sb.PaymentCallback(scenario.Payment{MerchantOrderNo: "M1", ProviderTxnNo: "4201", Status: payrecon.StatusSuccess, Amount: 100, PayerAmount: 100, PaidAt: at(payrecon.MustDay("2026-11-10"), 10, 0)})
	if err != nil {
		b.Fatal(err)
	}
	req := payrecon.CallbackRequest{Account: "bench", Header: cb.Header, Body: cb.Body}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := c.VerifyCallback(req); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifies/s")
}
