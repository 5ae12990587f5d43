package baas_test

import (
	"bufio"
	"fmt"
	"io"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
)

// genOrderList writes an order list answer of n paid orders (every tenth
// refunded in part) to w.
func genOrderList(w io.Writer, day payrecon.Day, n int) error {
	bw := bufio.NewWriterSize(w, 1<<16)
	base := day.Start().Unix()
	fmt.Fprintf(bw, `{"meta":{"limit":%d,"next":null,"offset":0,"previous":null,"total_count":%d},"objects":[`, n, n)
	for i := 0; i < n; i++ {
		if i > 0 {
			bw.WriteByte(',')
		}
		rs, ra := "null", "0"
		if i%10 == 0 {
			rs, ra = `"partial"`, `"0.50"`
		}
		paid := base + int64(i%86400)
		fmt.Fprintf(bw, `{"id":%d,"gateway_type":"weixin_tenpay_js","currency_type":"CNY","trade_no":"1b%030d","transaction_no":"T%031d","status":"success","refund_status":%s,"refund_amount":%s,"total_cost":%d.%02d,"merchandise_description":"商品","paid_at":%d,"created_at":%d,"updated_at":%d}`,
			i+1, i, i, rs, ra, 1+i%500, i%100, paid, paid-5, paid+60)
	}
	bw.WriteString(`]}`)
	return bw.Flush()
}

// BenchmarkParseOrderList1M parses a generated 1,000,000-order list
// streamed through a pipe (never held in memory) and reports rows/s and
// the peak heap seen while parsing.
func BenchmarkParseOrderList1M(b *testing.B) {
	const n = 1_000_000
	day := payrecon.MustDay("2026-11-03")
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var peak atomic.Uint64
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			var ms runtime.MemStats
			for {
				runtime.ReadMemStats(&ms)
				if ms.HeapAlloc > peak.Load() {
					peak.Store(ms.HeapAlloc)
				}
				select {
				case <-stop:
					return
				case <-time.After(20 * time.Millisecond):
				}
			}
		}()
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(genOrderList(pw, day, n)) }()
		start := time.Now()
		var lines, sum int64
		meta, err := baas.ParseOrderList(pr, "bench", func(o *baas.Order, _ int) error {
			return baas.BillLines(o, baas.MappingTradeNo, day, func(l payrecon.BillLine) error {
				lines++
				sum += l.Amount
				return nil
			})
		})
		elapsed := time.Since(start)
		close(stop)
		<-done
		if err != nil {
			b.Fatal(err)
		}
		if tc, _ := meta.Total(); tc != n || lines != n+n/10 {
			b.Fatalf("total %d, lines %d", tc, lines)
		}
		b.ReportMetric(float64(n)/elapsed.Seconds(), "rows/s")
		b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
	}
}
