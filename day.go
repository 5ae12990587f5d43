package payrecon

import (
	"fmt"
	"time"
	_ "time/tzdata" // Asia/Shanghai must not depend on the host
)

// Shanghai is the time zone of every provider's bill day.
var Shanghai = mustLoad("Asia/Shanghai")

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// Day is a bill day: a calendar date in Asia/Shanghai, "2006-01-02".
// Days sort as strings.
type Day string

// ParseDay accepts "2006-01-02" and "20060102".
func ParseDay(s string) (Day, error) {
	for _, layout := range []string{"2006-01-02", "20060102"} {
		if t, err := time.ParseInLocation(layout, s, Shanghai); err == nil {
			return Day(t.Format("2006-01-02")), nil
		}
	}
	return "", fmt.Errorf("invalid day %q: want YYYY-MM-DD", s)
}

// MustDay is ParseDay for constants in tests and examples.
func MustDay(s string) Day {
	d, err := ParseDay(s)
	if err != nil {
		panic(err)
	}
	return d
}

// DayOf returns the Shanghai calendar day that t falls on.
func DayOf(t time.Time) Day { return Day(t.In(Shanghai).Format("2006-01-02")) }

// Start is 00:00 of the day in Shanghai.
func (d Day) Start() time.Time {
	t, err := time.ParseInLocation("2006-01-02", string(d), Shanghai)
	if err != nil {
		return time.Time{}
	}
	return t
}

// End is 00:00 of the next day in Shanghai (exclusive bound).
func (d Day) End() time.Time { return d.Start().AddDate(0, 0, 1) }

// Add returns the day n days later (n may be negative).
func (d Day) Add(n int) Day { return DayOf(d.Start().AddDate(0, 0, n).Add(time.Hour)) }

// Compact is "20060102", the form most provider APIs take.
func (d Day) Compact() string { return d.Start().Format("20060102") }

func (d Day) String() string { return string(d) }

// Days lists from..to inclusive; empty when to is before from.
func Days(from, to Day) []Day {
	var out []Day
	for d := from; d <= to; d = d.Add(1) {
		out = append(out, d)
	}
	return out
}

// ParseWallTime reads "yyyy-MM-dd HH:mm:ss" or "yyyy/MM/dd HH:mm:ss" (a "T"
// may stand for the space) as Asia/Shanghai wall time, without allocating:
// provider bills carry millions of them. ok is false for any other shape
// and for dates that do not exist (2026-02-30); callers then fall back to
// their own layouts, which report the error.
func ParseWallTime(s string) (t time.Time, ok bool) {
	if len(s) != 19 || (s[4] != '-' && s[4] != '/') || s[7] != s[4] || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	num := func(i, j int) int {
		v := 0
		for ; i < j; i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			v = v*10 + int(c-'0')
		}
		return v
	}
	y, mo, d, h, mi, se := num(0, 4), num(5, 7), num(8, 10), num(11, 13), num(14, 16), num(17, 19)
	if y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59 {
		return time.Time{}, false
	}
	t = time.Date(y, time.Month(mo), d, h, mi, se, 0, Shanghai)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}
