package payrecon_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon"
)

func TestParseWallTime(t *testing.T) {
	want := time.Date(2026, 2, 28, 23, 59, 58, 0, payrecon.Shanghai)
	for _, s := range []string{"2026-02-28 23:59:58", "2026/02/28 23:59:58", "2026-02-28T23:59:58"} {
		got, ok := payrecon.ParseWallTime(s)
		if !ok || !got.Equal(want) || got.Location() != payrecon.Shanghai {
			t.Errorf("ParseWallTime(%q) = %v %v", s, got, ok)
		}
	}
	for _, s := range []string{"2026-02-30 00:00:00", "2026-13-01 00:00:00", "2026-02-28 24:00:00", "2026-02/28 00:00:00", "2026-2-28 00:00:00", "２026-02-28 00:00:00", "2026-02-28 00:00", ""} {
		if got, ok := payrecon.ParseWallTime(s); ok {
			t.Errorf("ParseWallTime(%q) = %v, want not ok", s, got)
		}
	}
	if payrecon.DayOf(want) != "2026-02-28" || payrecon.MustDay("20260228").Add(1) != "2026-03-01" {
		t.Fatal("day arithmetic")
	}
}
