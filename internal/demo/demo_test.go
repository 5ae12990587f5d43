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
}
