package payrecon_test

import (
	"errors"
	"testing"

	"github.com/payrecon/payrecon"
)

func TestParseYuan(t *testing.T) {
	ok := map[string]int64{"0.1": 10, "12.30": 1230, "-3.5": -350, "0": 0, "7": 700, "+1.01": 101, ".5": 50, "0.00": 0, "92233720368547758.07": 9223372036854775807}
	for in, want := range ok {
		got, err := payrecon.ParseYuan(in)
		if err != nil || got != want {
			t.Errorf("ParseYuan(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"1e3", "12.345", "", "1,000", " ", "-", "1.", "abc", "1.2.3", "0x10", "１.00", "92233720368547758.08", "NaN", "Inf"} {
		_, err := payrecon.ParseYuan(in)
		if err == nil || !errors.Is(err, payrecon.ErrAmountSyntax) {
			t.Errorf("ParseYuan(%q) err = %v; want ErrAmountSyntax", in, err)
		}
		if err != nil && in != "" && !contains(err.Error(), in) {
			t.Errorf("error %q does not name input %q", err, in)
		}
	}
}

func TestParseYuanPaddedAndRound(t *testing.T) {
	if v, err := payrecon.ParseYuanPadded("0.01000"); err != nil || v != 1 {
		t.Fatalf("padded = %d %v", v, err)
	}
	if _, err := payrecon.ParseYuanPadded("0.00600"); err == nil {
		t.Fatal("0.00600 is not a whole fen")
	}
	cases := map[string]int64{"0.00600": 1, "0.00400": 0, "-0.00500": -1, "1.23499": 123, "2": 200}
	for in, want := range cases {
		if v, err := payrecon.ParseYuanRound(in); err != nil || v != want {
			t.Errorf("ParseYuanRound(%q) = %d %v; want %d", in, v, err, want)
		}
	}
}

func TestFormatYuan(t *testing.T) {
	cases := map[int64]string{0: "0.00", 1230: "12.30", -5: "-0.05", 100: "1.00", -12345: "-123.45"}
	for in, want := range cases {
		if got := payrecon.FormatYuan(in); got != want {
			t.Errorf("FormatYuan(%d) = %q; want %q", in, got, want)
		}
		back, err := payrecon.ParseYuan(want)
		if err != nil || back != in {
			t.Errorf("round trip %d -> %q -> %d %v", in, want, back, err)
		}
	}
}

func TestFeeAndRate(t *testing.T) {
	r, err := payrecon.ParseRate("0.60%")
	if err != nil || r != 6000 {
		t.Fatalf("rate = %d %v", r, err)
	}
	if f := payrecon.FeeFor(10000, r); f != 60 {
		t.Fatalf("fee = %d", f)
	}
	if f := payrecon.FeeFor(250, 6000); f != 2 { // 1.5 fen rounds to 2
		t.Fatalf("fee half = %d", f)
	}
	if f := payrecon.FeeFor(-250, 6000); f != -2 {
		t.Fatalf("fee negative = %d", f)
	}
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestParseYuanDoesNotAllocate(t *testing.T) {
	n := testing.AllocsPerRun(100, func() {
		if v, err := payrecon.ParseYuan("12345.67"); err != nil || v != 1234567 {
			t.Fatalf("ParseYuan = %d %v", v, err)
		}
	})
	if n != 0 {
		t.Fatalf("ParseYuan allocates %.0f times per call", n)
	}
}
