package alipay_test

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
	"github.com/payrecon/payrecon/providers/alipay/sandbox"
)

// writeBigBill writes a GBK 业务明细.csv of n rows (one refund per ten
// trades) with a correct footer.
func writeBigBill(tb testing.TB, path string, n int) {
	tb.Helper()
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	w := transform.NewWriter(bw, simplifiedchinese.GBK.NewEncoder())
	fmt.Fprint(w, "#支付宝业务明细查询\r\n#账号：[20880211096256330156]\r\n#起始日期：[2026年11月02日 00:00:00]   终止日期：[2026年11月03日 00:00:00]\r\n#-----------------------------------------业务明细列表----------------------------------------\r\n")
	fmt.Fprint(w, sandbox.TradeHeader+"\r\n")
	var nT, nR, recT, recR int64
	for i := 0; i < n; i++ {
		amt := int64(i%9999 + 1)
		typ, refundNo, sign := "交易", "", int64(1)
		if i%10 == 9 {
			typ, refundNo, sign = "退款", fmt.Sprintf("R%010d", i), -1
			nR, recR = nR+1, recR-amt
		} else {
			nT, recT = nT+1, recT+amt
		}
		fmt.Fprintf(w, "2026110222001%015d\t,O%012d\t,%s\t,商品名称,2026-11-02 10:00:00,2026-11-02 10:00:05,\t,\t,\t,\t,*测(159***20)\t,%s,%s,0.00,0.00,0.00,0.00,0.00,,0.00\t,0.00,%s\t,0.00,0.00,\r\n",
			i/10*10, i/10*10, typ, payrecon.FormatYuan(sign*amt), payrecon.FormatYuan(sign*amt), refundNo)
	}
	fmt.Fprintf(w, "#-----------------------------------------业务明细列表结束------------------------------------\r\n#交易合计：%d笔，商家实收共%s元，商家优惠共0.00元\r\n#退款合计：%d笔，商家实收退款共%s元，商家优惠退款共0.00元\r\n#导出时间：[2026年11月03日 05:46:49]\r\n",
		nT, payrecon.FormatYuan(recT), nR, payrecon.FormatYuan(recR))
	if err := w.Close(); err != nil {
		tb.Fatal(err)
	}
	if err := bw.Flush(); err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkParseTradeBill1M parses a generated 1,000,000-row GBK bill from
// disk, reporting rows/s and the peak heap in use.
func BenchmarkParseTradeBill1M(b *testing.B) {
	const rows = 1_000_000
	path := filepath.Join(b.TempDir(), "big_业务明细.csv")
	writeBigBill(b, path, rows)
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		var n int64
		sum, err := alipay.ParseTradeBill(f, "big.csv", func(payrecon.BillLine) error {
			n++
			if n%100_000 == 0 {
				metrics.Read(sample)
				peak = max(peak, sample[0].Value.Uint64())
			}
			return nil
		})
		f.Close()
		if err != nil || n != rows || !sum.HasSummary() {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(rows*b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
}
