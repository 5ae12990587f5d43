package wechat_test

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/wechat"
)

// The allocation-free amount and time readers agree with the general ones.
func TestFastPathsAgree(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	amounts := []string{"0.00", "-0.01", "123.45", "999999999999999.99", "1.5", "1.500", "0.001", "+1.00", "1.0a", "-", ".12", "12.", "1,00.00", "00.10", "-0.00"}
	for i := 0; i < 2000; i++ {
		amounts = append(amounts, fmt.Sprintf("%d.%02d", r.Int64N(1e12), r.IntN(100)), fmt.Sprintf("-%d.%02d", r.Int64N(1e6), r.IntN(100)))
	}
	for _, s := range amounts {
		got, gerr := wechat.Yuan(s)
		want, werr := payrecon.ParseYuanPadded(s)
		if (gerr == nil) != (werr == nil) || got != want {
			t.Fatalf("%q: fast %d %v, general %d %v", s, got, gerr, want, werr)
		}
	}
	fees := []string{"0.00000", "0.00500", "-0.00500", "0.00499", "-0.00499", "0.01000", "0.771", "1.5", "0.000001", "12.34567", "-0.30000", "x"}
	for i := 0; i < 2000; i++ {
		fees = append(fees, fmt.Sprintf("%d.%05d", r.Int64N(1e6), r.IntN(100000)), fmt.Sprintf("-%d.%05d", r.Int64N(1e3), r.IntN(100000)))
	}
	for _, s := range fees {
		u, uerr := wechat.FeeUnits(s)
		want, werr := payrecon.ParseYuanRound(s)
		if uerr != nil {
			if s != "0.000001" && s != "x" {
				t.Fatalf("fee %q: %v", s, uerr)
			}
			continue
		}
		if werr != nil || wechat.ToFen(u) != want {
			t.Fatalf("fee %q: units %d → %d fen, ParseYuanRound %d %v", s, u, wechat.ToFen(u), want, werr)
		}
	}
	times := []string{"2019-02-19 05:01:46", "2024-02-29 23:59:59", "2023-02-29 10:00:00", "2021-13-01 00:00:00", "2021-01-01 24:00:00", "2021-01-31 00:00:60", "2021/01/01 00:00:00", "2021-01-01T00:00:00"}
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, payrecon.Shanghai)
	for i := 0; i < 2000; i++ {
		times = append(times, base.Add(time.Duration(r.Int64N(int64(3*365*24*time.Hour)))).Format("2006-01-02 15:04:05"))
	}
	for _, s := range times {
		got, gerr := wechat.BillTime(s)
		// The bill's own form, and the tolerated "/" and "T" variants.
		var want time.Time
		var werr error
		for _, layout := range []string{"2006-01-02 15:04:05", "2006/01/02 15:04:05", "2006-01-02T15:04:05"} {
			if want, werr = time.ParseInLocation(layout, s, payrecon.Shanghai); werr == nil {
				break
			}
		}
		if (gerr == nil) != (werr == nil) || (werr == nil && !got.Equal(want)) {
			t.Fatalf("%q: fast %v %v, general %v %v", s, got, gerr, want, werr)
		}
	}
}
