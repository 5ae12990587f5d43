package reports_test

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/reports"
)

// bigSource streams n discrepancy items of one run, made on the fly so the
// benchmark measures the writer, not a slice of a million items.
func bigSource(n int) reports.Source {
	classes := []payrecon.Class{payrecon.ClassMissingInLedger, payrecon.ClassMissingInBill, payrecon.ClassAmountMismatch,
		payrecon.ClassStatusMismatch, payrecon.ClassRefundMissingInBill}
	base := time.Date(2026, 11, 20, 0, 0, 0, 0, payrecon.Shanghai)
	t := payrecon.Totals{ByClass: map[payrecon.Class]payrecon.ClassTotal{}}
	item := func(i int) payrecon.Item {
		c := classes[i%len(classes)]
		it := payrecon.Item{Account: "wx_main", Day: "2026-11-20", Class: c, Kind: payrecon.KindPayment,
			MerchantOrderNo: fmt.Sprintf("M2026112000%08d", i), ProviderTxnNo: fmt.Sprintf("42000020261120%010d", i),
			LedgerAmount: int64(100 + i%9000), BillAmount: int64(100 + i%9000 + i%3), LedgerStatus: payrecon.StatusSuccess,
			ProviderStatus: payrecon.StatusSuccess, LedgerTime: base.Add(time.Duration(i) * 80 * time.Millisecond),
			BillTime: base.Add(time.Duration(i)*80*time.Millisecond + time.Second), Product: "会员月卡·自动续费", Action: fixtureActions[c]}
		it.Delta = it.BillAmount - it.LedgerAmount
		return it
	}
	for i := range n {
		it := item(i)
		ct := t.ByClass[it.Class]
		ct.Count++
		ct.Amount += it.Delta
		t.ByClass[it.Class] = ct
		t.Explained += it.Delta
	}
	t.Difference = t.Explained
	return reports.Source{
		Runs: []payrecon.Run{{ID: 1, Account: "wx_main", Provider: "wechat", Day: "2026-11-20", State: payrecon.RunFindings, Totals: t}},
		// Every discrepancy row gets its review columns and HMAC checksum.
		ReviewKey:   []byte("0123456789abcdef0123456789abcdef"),
		ReasonCodes: []string{"rounding", "other"},
		Items: func(_ int64, fn func(payrecon.Item) error) error {
			for i := range n {
				if err := fn(item(i)); err != nil {
					return err
				}
			}
			return nil
		},
	}
}

// BenchmarkWriteXLSX1M writes 1,000,000 discrepancy rows to a file.
// Measure peak RSS with:
//
//	/usr/bin/time -v go test -run x -bench WriteXLSX1M -benchtime 1x ./reports
func BenchmarkWriteXLSX1M(b *testing.B) {
	benchWrite(b, 1_000_000)
}

// BenchmarkWriteXLSX100k is the same with 100,000 rows, quick enough for make bench.
func BenchmarkWriteXLSX100k(b *testing.B) {
	benchWrite(b, 100_000)
}

func benchWrite(b *testing.B, n int) {
	src := bigSource(n)
	path := filepath.Join(b.TempDir(), "big.xlsx")
	b.ResetTimer()
	for range b.N {
		if err := reports.WriteXLSXFile(path, src, reports.Options{TmpDir: b.TempDir()}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(st.Size())/(1<<20), "MiB/file")
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}
