package demo_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/internal/demo"
)

func TestDemoShowsEveryClass(t *testing.T) {
	if testing.Short() {
		t.Skip("demo end to end: skipped with -short")
	}
	var out bytes.Buffer
	day := payrecon.DayOf(time.Now()).Add(-1)
	res, err := demo.Run(context.Background(), demo.Config{Dir: t.TempDir(), Day: day, Out: &out, Version: "test"})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	if err := demo.Check(res); err != nil {
		t.Fatal(err)
	}
	if len(res.Rejected) < 4 { // forged + tampered, per provider
		t.Fatalf("rejected callbacks = %d, want ≥ 4", len(res.Rejected))
	}
	// The pulled ledgers: MinCloud orders against WeChat, a CSV order table.
	want := map[string][]payrecon.Class{
		"wechat-mp":   {payrecon.ClassMissingInBill, payrecon.ClassStatusMismatch, payrecon.ClassAmountMismatch, payrecon.ClassRefundAmountMismatch},
		"wechat-shop": {payrecon.ClassMissingInLedger, payrecon.ClassAmountMismatch},
	}
	for _, r := range res.Runs {
		if r.Day != day || want[r.Account] == nil {
			continue
		}
		got := 0
		for c, ct := range r.Totals.ByClass {
			if c.IsDiscrepancy() {
				got += int(ct.Count)
			}
		}
		if got != len(want[r.Account]) {
			t.Errorf("%s: %d discrepancies, want %v (%v)", r.Account, got, want[r.Account], r.Totals.ByClass)
		}
		for _, c := range want[r.Account] {
			if r.Totals.ByClass[c].Count != 1 {
				t.Errorf("%s: %s count %d, want 1", r.Account, c, r.Totals.ByClass[c].Count)
			}
		}
		delete(want, r.Account)
	}
	if len(want) > 0 {
		t.Errorf("no runs of %v", want)
	}
}
