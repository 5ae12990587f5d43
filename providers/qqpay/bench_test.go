package qqpay_test

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
)

// genBill streams a statement of n rows (every tenth a refund) with a
// correct summary, without holding it in memory.
func genBill(n int) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		w := bufio.NewWriterSize(pw, 1<<16)
		fmt.Fprintln(w, strings.Join(sandbox.Header, ","))
		var total, refund, fee int64
		for i := 0; i < n; i++ {
			amt := int64(100 + i%9000)
			tm := fmt.Sprintf("2026/11/20 %d:%02d", (i/60)%24, i%60)
			if i%10 == 9 {
				fmt.Fprintf(w, "%s,1900000109,暂无数据,暂无数据,暂无数据,暂无数据,暂无数据,暂无数据,`M%09d,`T%09d,财付通余额,RMB,0,暂无数据,暂无数据,0,,转入退款,%s,`R%09d,`RF%09d,%s,0,退款成功,%s,原路退回,暂无数据,暂无数据,0,暂无数据\n",
					tm, i-1, i-1, tm, i, i, payrecon.FormatYuan(amt), tm)
				refund += amt
				continue
			}
			f := payrecon.FeeFor(amt, 6000)
			fmt.Fprintf(w, "%s,1900000109,1104606123,暂无数据,暂无数据,openid,暂无数据,NATIVE,`M%09d,`T%09d,财付通余额,RMB,%s,0,%s,0,%s,支付成功,暂无数据,暂无数据,暂无数据,0,0,暂无数据,暂无数据,暂无数据,商品,attach,%s,0.60%%\n",
				tm, i, i, payrecon.FormatYuan(amt), payrecon.FormatYuan(amt), payrecon.FormatYuan(amt), payrecon.FormatYuan(f))
			total += amt
			fee += f
		}
		fmt.Fprintln(w, strings.Join(sandbox.SummaryHeader, ","))
		fmt.Fprintf(w, "%d,%s,0,%s,0,%s,%s,0,%s\n", n, payrecon.FormatYuan(total), payrecon.FormatYuan(total), payrecon.FormatYuan(total), payrecon.FormatYuan(refund), payrecon.FormatYuan(fee))
		_ = w.Flush()
		_ = pw.Close()
	}()
	return pr
}

// BenchmarkParseTradeBill1M parses a generated 1,000,000-row statement
// (written to a temporary file first, outside the timer) and reports rows/s and the
// peak heap in use, sampled while parsing.
func BenchmarkParseTradeBill1M(b *testing.B) {
	const n = 1_000_000
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		path := filepath.Join(b.TempDir(), "bench.csv")
		fh, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(fh, genBill(n)); err != nil {
			b.Fatal(err)
		}
		if _, err := fh.Seek(0, io.SeekStart); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		runtime.GC()
		var peak uint64
		done := make(chan struct{})
		go func() {
			var ms runtime.MemStats
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
		}()
		start := time.Now()
		var lines int64
		sum, err := qqpay.ParseTradeBill(fh, "bench.csv", func(payrecon.BillLine) error { lines++; return nil })
		el := time.Since(start)
		close(done)
		fh.Close()
		if err != nil || lines != n || !sum.HasSummary {
			b.Fatalf("%d lines, %v", lines, err)
		}
		b.ReportMetric(float64(n)/el.Seconds(), "rows/s")
		b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
	}
}
