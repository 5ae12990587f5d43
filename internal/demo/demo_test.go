package demo_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
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
}
