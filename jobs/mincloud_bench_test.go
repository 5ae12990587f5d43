package jobs_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
	"github.com/payrecon/payrecon/store/storetest"
)

// BenchmarkPulledLedgerMatch measures a day whose ledger entries carry the
// merchant order number only (MinCloud orders without the channel's
// transaction id, order tables without it): every bill line is matched by
// the merchant number (re-reading its entry), against the same day with
// the provider's number (the hash-join fast path).
//
//	go test ./jobs/ -run '^$' -bench PulledLedgerMatch -benchtime 1x
func BenchmarkPulledLedgerMatch(b *testing.B) {
	const n = 20000
	for _, withTxn := range []bool{true, false} {
		b.Run(fmt.Sprintf("txn=%v", withTxn), func(b *testing.B) {
			db := storetest.Open(b, store.SQLite)
			sc := &scenario.Scenario{}
			var entries []payrecon.LedgerEntry
			for i := 0; i < n; i++ {
				at := jobstest.DayD.Start().Add(time.Duration(i) * time.Second)
				p := scenario.Payment{MerchantOrderNo: fmt.Sprintf("O%08d", i), ProviderTxnNo: fmt.Sprintf("T%08d", i), Status: payrecon.StatusSuccess,
					Amount: 100 + int64(i%1000), PayerAmount: 100 + int64(i%1000), CreatedAt: at, PaidAt: at}
				sc.Payments = append(sc.Payments, p)
				e := payrecon.LedgerEntry{Account: jobstest.Account, Provider: "fake", Source: payrecon.SourceMinCloud, EventKey: "mincloud:payment:" + p.MerchantOrderNo + ":success",
					Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, MerchantOrderNo: p.MerchantOrderNo, Amount: p.Amount, PayerAmount: p.Amount, OccurredAt: at}
				if withTxn {
					e.ProviderTxnNo = p.ProviderTxnNo
				}
				entries = append(entries, e)
			}
			if _, err := db.AddLedgerBatch(context.Background(), jobstest.Account, entries); err != nil {
				b.Fatal(err)
			}
			clk := &jobstest.Clock{}
			clk.RunAfter(jobstest.DayD)
			r := jobs.NewRunner(db, map[string]jobs.Target{jobstest.Account: {Account: payrecon.Account{Name: jobstest.Account, Provider: "fake"}, Provider: &jobstest.Provider{Sc: sc}}},
				nil, clk.Now, jobs.Options{Version: "bench"})
			b.ResetTimer()
			start := time.Now()
			for i := 0; i < b.N; i++ {
				run, err := r.RunDay(context.Background(), jobstest.Account, jobstest.DayD)
				if err != nil || run.Totals.Matched != n {
					b.Fatalf("run: %v matched %d", err, run.Totals.Matched)
				}
			}
			b.ReportMetric(float64(n*b.N)/time.Since(start).Seconds(), "lines/s")
		})
	}
}
