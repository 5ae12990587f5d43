package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/cmd/payrecon/internal/demo"
)

func TestDemoShowsEveryClass(t *testing.T) {
	if testing.Short() {
		t.Skip("demo end to end: skipped with -short")
	}
	var out bytes.Buffer
	day := payrecon.DayOf(time.Now()).Add(-1)
	dir := t.TempDir()
	logFile := filepath.Join(dir, "demo.log")
	res, err := demo.Run(context.Background(), demo.Config{Dir: dir, Day: day, Out: &out, LogFile: logFile, Version: "test"})
	if err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	t.Log(out.String())
	// The log went to its file; the output is the summary and the paths.
	logged, err := os.ReadFile(logFile)
	if err != nil || !bytes.Contains(logged, []byte("callback accepted")) || !bytes.Contains(logged, []byte("run finished")) {
		t.Errorf("demo log %s: %v, %d bytes", logFile, err, len(logged))
	}
	if bytes.Contains(out.Bytes(), []byte("level=")) || !bytes.Contains(out.Bytes(), []byte("Log:      "+logFile)) {
		t.Errorf("summary holds log lines or lacks the log's path:\n%s", out.String())
	}
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
