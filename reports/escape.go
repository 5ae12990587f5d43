package reports

import "strings"

// EscapeFormula makes provider and callback text safe to put in a
// spreadsheet cell or a CSV field: text that a spreadsheet would read as a
// formula (leading '=', '+', '-', '@', tab or carriage return, and the
// full-width ＝＋－＠ that some input methods turn into them) gets a leading
// apostrophe, as OWASP's CSV-injection guidance suggests. Other text is
// returned unchanged. JSON output is not a spreadsheet and keeps raw text.
func EscapeFormula(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + s
	}
	for _, p := range []string{"＝", "＋", "－", "＠"} {
		if strings.HasPrefix(s, p) {
			return "'" + s
		}
	}
	return s
}
