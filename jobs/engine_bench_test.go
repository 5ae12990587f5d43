package jobs_test

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
	"github.com/payrecon/payrecon/jobs/jobstest"
)

// memStore is an in-memory jobs.Store generating n ledger payments on the
// fly (no database), to measure the engine alone.
type memStore struct {
	n     int
	saved int
}

func (m *memStore) LockRun(context.Context, string, payrecon.Day, string, time.Duration) (func() error, error) {
	return func() error { return nil }, nil
}
func (m *memStore) SaveRun(_ context.Context, run *payrecon.Run, items []payrecon.Item, _ []payrecon.Action) error {
	m.saved = len(items)
	run.ID = 1
	return nil
}
func (m *memStore) FailRun(context.Context, *payrecon.Run) error { return nil }
func (m *memStore) OpenCarryOvers(context.Context, string, payrecon.Day) ([]payrecon.Item, error) {
	return nil, nil
}
func (m *memStore) LatestRuns(context.Context, []string, payrecon.Day, payrecon.Day) ([]payrecon.Run, error) {
	return nil, nil
}
func (m *memStore) RunItems(context.Context, int64, func(payrecon.Item) error) error { return nil }

func benchEntry(i int) payrecon.LedgerEntry {
	return payrecon.LedgerEntry{ID: int64(i + 1), Account: jobstest.Account, Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess,
		MerchantOrderNo: string(benchOrder(nil, i)), ProviderTxnNo: string(benchTxn(nil, i)),
		Amount: int64(100 + i%9000), PayerAmount: int64(100 + i%9000), OccurredAt: jobstest.DayD.Start().Add(time.Duration(i%86000) * time.Second)}
}

func benchOrder(b []byte, i int) []byte {
	b = append(b[:0], "O"...)
	return strconv.AppendInt(b, int64(1e10+i), 10)
}

func benchTxn(b []byte, i int) []byte {
	b = append(b[:0], "4200"...)
	return strconv.AppendInt(b, int64(1e15+i), 10)
}

// ScanLedger makes memStore a payrecon.LedgerScanner (the store's fast path).
func (m *memStore) ScanLedger(_ context.Context, _ string, from, to time.Time, fn func(*payrecon.LedgerRow) error) error {
	r := payrecon.LedgerRow{Kind: []byte(payrecon.KindPayment), Status: []byte(payrecon.StatusSuccess)}
	var ob, tb []byte
	for i := 0; i < m.n; i++ {
		at := jobstest.DayD.Start().Add(time.Duration(i%86000) * time.Second)
		if at.Before(from) || !at.Before(to) {
			continue
		}
		ob, tb = benchOrder(ob, i), benchTxn(tb, i)
		r.ID, r.MerchantOrderNo, r.ProviderTxnNo = int64(i+1), ob, tb
		r.Amount, r.PayerAmount = int64(100+i%9000), int64(100+i%9000)
		if err := fn(&r); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) LedgerEntries(_ context.Context, _ string, _, _ time.Time, fn func(payrecon.LedgerEntry) error) error {
	for i := 0; i < m.n; i++ {
		if err := fn(benchEntry(i)); err != nil {
			return err
		}
	}
	return nil
}
func (m *memStore) LedgerEntry(_ context.Context, id int64) (payrecon.LedgerEntry, error) {
	return benchEntry(int(id - 1)), nil
}

// memBill lists the same n payments (every 1000th with another amount).
type memBill struct{ n int }

func (b memBill) ProviderName() string { return "mem" }
func (b memBill) Bill(_ context.Context, day payrecon.Day, kind payrecon.BillKind, fn func(payrecon.BillLine) error) (payrecon.BillFile, error) {
	if kind != payrecon.BillTrade {
		return payrecon.BillFile{}, payrecon.ErrNotSupported
	}
	for i := 0; i < b.n; i++ {
		e := benchEntry(i)
		l := payrecon.BillLine{Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, MerchantOrderNo: e.MerchantOrderNo,
			ProviderTxnNo: e.ProviderTxnNo, Amount: e.Amount, PayerAmount: e.PayerAmount, Fee: payrecon.FeeFor(e.Amount, jobstest.RatePPM)}
		if i%1000 == 0 {
			l.Amount++
			l.PayerAmount++
		}
		if err := fn(l); err != nil {
			return payrecon.BillFile{}, err
		}
	}
	return payrecon.BillFile{Day: day, Kind: kind, Lines: int64(b.n)}, nil
}

// BenchmarkEngine runs one day of n lines against n ledger entries held in
// memory: the engine's own cost, without the database or bill parsing.
// PAYRECON_BENCH_10M=1 adds a 10,000,000-line day (run it alone:
// -bench 'Engine/10000000' -benchtime 1x) for the peak RSS figure.
func BenchmarkEngine(b *testing.B) {
	sizes := []int{100_000, 1_000_000}
	if os.Getenv("PAYRECON_BENCH_10M") != "" {
		sizes = append(sizes, 10_000_000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprint(n), func(b *testing.B) {
			st := &memStore{n: n}
			r := jobs.NewRunner(st, map[string]jobs.Target{jobstest.Account: {
				Account: payrecon.Account{Name: jobstest.Account, FeeRatePPM: jobstest.RatePPM}, Provider: memBill{n: n}}},
				nil, fixedNow, jobs.Options{})
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run, err := r.RunDay(context.Background(), jobstest.Account, jobstest.DayD)
				if err != nil {
					b.Fatal(err)
				}
				if want := int64(n / 1000); run.Totals.ByClass[payrecon.ClassAmountMismatch].Count != want {
					b.Fatalf("amount mismatches %d, want %d", run.Totals.ByClass[payrecon.ClassAmountMismatch].Count, want)
				}
			}
			b.StopTimer()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "lines/s")
			b.ReportMetric(float64(ms.HeapSys)/(1<<20), "heapsys-MiB")
			if st, err := os.ReadFile("/proc/self/status"); err == nil {
				for _, line := range strings.Split(string(st), "\n") {
					if strings.HasPrefix(line, "VmHWM:") {
						kb, _ := strconv.Atoi(strings.Fields(line)[1])
						b.ReportMetric(float64(kb)/1024, "peakRSS-MiB")
					}
				}
			}
		})
	}
}
