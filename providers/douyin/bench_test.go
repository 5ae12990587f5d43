package douyin_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
)

var (
	benchOnce sync.Once
	benchFile string
	benchErr  error
)

const benchRows = 1_000_000

// benchBill writes a 1,000,000-row payment bill in the documented layout.
func benchBill(b *testing.B) string {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "douyin-bench")
		if err != nil {
			benchErr = err
			return
		}
		benchFile = filepath.Join(dir, "payment_1m.csv")
		f, err := os.Create(benchFile)
		if err != nil {
			benchErr = err
			return
		}
		w := bufio.NewWriterSize(f, 1<<20)
		fmt.Fprintln(w, "序号, 支付时间, 商户号, openId, 订单号, 平台订单号, 渠道订单号, 订单金额, 支付方式, 支付状态")
		t0 := payrecon.MustDay("2026-11-10").Start()
		for i := 1; i <= benchRows; i++ {
			at := t0.Add(time.Duration(i%86400) * time.Second).Format("2006-01-02 15:04:05")
			fmt.Fprintf(w, "%d, %s, 70001234567, oOpenID%08d, DY%012d, N70%017d, 4200%018d, %s, 微信, SUCCESS\n", i, at, i, i, i, i, payrecon.FormatYuan(int64(i%100000+1)))
		}
		if benchErr = w.Flush(); benchErr == nil {
			benchErr = f.Close()
		}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchFile
}

// BenchmarkParsePaymentBill1M parses a generated 1,000,000-row bill and
// reports rows/s and the peak heap in use (sampled).
func BenchmarkParsePaymentBill1M(b *testing.B) {
	name := benchBill(b)
	st, _ := os.Stat(name)
	var maxHeap uint64
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > maxHeap {
				maxHeap = ms.HeapInuse
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	b.ResetTimer()
	var rows int64
	for i := 0; i < b.N; i++ {
		f, err := os.Open(name)
		if err != nil {
			b.Fatal(err)
		}
		sum, err := douyin.ParseBill(f, douyin.BillPayment, douyin.ParseOptions{File: "payment_1m.csv"}, func(payrecon.BillLine) error { return nil })
		f.Close()
		if err != nil || sum.Lines != benchRows {
			b.Fatalf("%d lines: %v", sum.Lines, err)
		}
		rows += sum.Lines
	}
	b.StopTimer()
	close(stop)
	<-done
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(maxHeap)/(1<<20), "MiB-heap-inuse")
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB-file")
}
