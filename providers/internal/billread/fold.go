package billread

import "strings"

// Fold puts back together a row wider than its header (n columns) when the
// extra cells belong to one of the free-text columns free: the merchant's
// text (a product name, a remark, a list of split parties) holding the
// separator, which providers that do not quote their cells print as is.
// The cells are joined again with sep, at the first of free whose folding
// leaves a row that reads (ok: the provider's money and time columns parse
// where they must). The row's empty last cells are kept for a first attempt
// (an empty last column after the text) and dropped for a second (a
// trailing separator); the last column never folds over empty cells alone.
// It reports false when no folding reads: the row is then refused as it
// stands.
func Fold(vals []string, n int, sep string, free []int, ok func([]string) bool) ([]string, bool) {
	try := func(vals []string) ([]string, bool) {
		k := len(vals) - n
		if k <= 0 {
			return nil, false
		}
		for _, f := range free {
			if f < 0 || f+k >= len(vals) || (f == n-1 && blank(vals[f+1:])) {
				continue
			}
			folded := append(append(append(make([]string, 0, n), vals[:f]...), strings.Join(vals[f:f+k+1], sep)), vals[f+k+1:]...)
			if ok(folded) {
				return folded, true
			}
		}
		return nil, false
	}
	if folded, ok := try(vals); ok {
		return folded, true
	}
	for len(vals) > n && strings.TrimSpace(vals[len(vals)-1]) == "" {
		vals = vals[:len(vals)-1]
	}
	return try(vals)
}

func blank(cells []string) bool {
	for _, c := range cells {
		if strings.TrimSpace(c) != "" {
			return false
		}
	}
	return true
}
