package payrecon

import (
	"errors"
	"fmt"
	"strings"
)

// Money is int64 minor units (fen) everywhere inside payrecon. Yuan strings
// from bills and APIs are parsed exactly; nothing on the money path uses float.

// ErrAmountSyntax is wrapped by every amount parse failure.
var ErrAmountSyntax = errors.New("invalid amount")

// ParseYuan parses a yuan string with at most two decimals into fen:
// "0.1" → 10, "12.30" → 1230, "-3.5" → -350, "+7" → 700.
// Exponents, thousands separators, blanks and a third decimal are rejected
// with an error naming the input.
func ParseYuan(s string) (int64, error) {
	return parseDecimal(s, 2, false)
}

// ParseYuanPadded is ParseYuan for columns printed with more than two
// decimals (WeChat fees "0.01000", summary "45.0"): digits past the second
// decimal must all be zero, or the value is rejected as not a whole fen.
func ParseYuanPadded(s string) (int64, error) {
	return parseDecimal(s, 2, true)
}

// ParseYuanRound parses a yuan string with any number of decimals and rounds
// it to the nearest fen, halves away from zero. It is for provider fee
// columns that carry fractions of a fen ("0.00600"); never for order amounts.
func ParseYuanRound(s string) (int64, error) {
	raw := strings.TrimSpace(s)
	neg, intPart, frac, err := splitDecimal(raw)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %v", ErrAmountSyntax, s, err)
	}
	keep := frac
	var rest string
	if len(frac) > 2 {
		keep, rest = frac[:2], frac[2:]
	}
	v, err := combine(intPart, keep, 2)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %v", ErrAmountSyntax, s, err)
	}
	if rest != "" && rest[0] >= '5' {
		v++
	}
	if neg {
		v = -v
	}
	return v, nil
}

func parseDecimal(s string, places int, allowZeroPad bool) (int64, error) {
	neg, intPart, frac, err := splitDecimal(strings.TrimSpace(s))
	if err != nil {
		return 0, fmt.Errorf("%w %q: %v", ErrAmountSyntax, s, err)
	}
	if len(frac) > places {
		extra := frac[places:]
		if !allowZeroPad || strings.Trim(extra, "0") != "" {
			return 0, fmt.Errorf("%w %q: more than %d decimals", ErrAmountSyntax, s, places)
		}
		frac = frac[:places]
	}
	v, err := combine(intPart, frac, places)
	if err != nil {
		return 0, fmt.Errorf("%w %q: %v", ErrAmountSyntax, s, err)
	}
	if neg {
		v = -v
	}
	return v, nil
}

func splitDecimal(s string) (neg bool, intPart, frac string, err error) {
	if s == "" {
		return false, "", "", errors.New("empty")
	}
	switch s[0] {
	case '-':
		neg, s = true, s[1:]
	case '+':
		s = s[1:]
	}
	intPart, frac, hasDot := strings.Cut(s, ".")
	if intPart == "" && frac == "" {
		return false, "", "", errors.New("no digits")
	}
	if hasDot && frac == "" && intPart == "" {
		return false, "", "", errors.New("no digits")
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return false, "", "", fmt.Errorf("unexpected %q", part[i])
			}
		}
	}
	if hasDot && frac == "" {
		return false, "", "", errors.New("dot without decimals")
	}
	return neg, intPart, frac, nil
}

// combine builds the integer intPart‖frac padded to places decimals,
// without allocating (bills call it millions of times).
func combine(intPart, frac string, places int) (int64, error) {
	const max = (1<<63 - 1)
	var v uint64
	digit := func(c byte) error {
		d := uint64(c - '0')
		if v > (max-d)/10 {
			return errors.New("out of range")
		}
		v = v*10 + d
		return nil
	}
	for i := 0; i < len(intPart); i++ {
		if err := digit(intPart[i]); err != nil {
			return 0, err
		}
	}
	for i := 0; i < places; i++ {
		c := byte('0')
		if i < len(frac) {
			c = frac[i]
		}
		if err := digit(c); err != nil {
			return 0, err
		}
	}
	return int64(v), nil
}

// FormatYuan renders fen as a yuan string with exactly two decimals:
// 1230 → "12.30", -5 → "-0.05".
func FormatYuan(fen int64) string {
	sign := ""
	u := uint64(fen)
	if fen < 0 {
		sign = "-"
		u = uint64(-fen)
	}
	return fmt.Sprintf("%s%d.%02d", sign, u/100, u%100)
}

// FeeFor returns the fee in fen that a rate in parts per million charges on
// amount fen, rounded half away from zero (the rounding providers print).
func FeeFor(amount, ratePPM int64) int64 {
	num := amount * ratePPM
	q, r := num/1_000_000, num%1_000_000
	if r < 0 {
		r = -r
	}
	if r*2 >= 1_000_000 {
		if num < 0 {
			q--
		} else {
			q++
		}
	}
	return q
}

// ParseRate parses a percentage such as "0.60%" or "0.6" (per cent) into
// parts per million (6000). At most four decimals of a per cent are kept exactly.
func ParseRate(s string) (int64, error) {
	t := strings.TrimSuffix(strings.TrimSpace(s), "%")
	v, err := parseDecimal(t, 4, true)
	if err != nil {
		return 0, fmt.Errorf("rate %q: %w", s, err)
	}
	return v, nil // per cent with 4 decimals == ppm
}
