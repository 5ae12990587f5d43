package payrecon_test

import (
	"testing"

	"github.com/payrecon/payrecon"
)

// BenchmarkCheckLine is the per-line cost the run adds to every bill line.
func BenchmarkCheckLine(b *testing.B) {
	pol := payrecon.Policy{Limits: payrecon.Limits{MerchantOrderNo: payrecon.IDRule{MaxLen: 46}}}
	l := goodLine()
	l.MerchantOrderNo, l.ProviderTxnNo = "M202611201234567890123456", "1240703201234567890123456789"
	l.Product = "会员月卡"
	c := pol.Lines(payrecon.MustDay("2026-11-20"))
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Check(&l); err != nil {
			b.Fatal(err)
		}
	}
}
