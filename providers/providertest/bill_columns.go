package providertest

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
)

// testBillColumns: the provider declares the column each field of its bill
// lines is read from (payrecon.BillColumnsDeclarer), so that a line that
// breaks a domain rule is reported under the provider's own column. Every
// declared field must be one validation names (payrecon.BillFields), and
// every declared column must head the bill the sandbox serves, exactly as
// the provider spells it (full-width parentheses read as ASCII ones).
func testBillColumns(t *testing.T, h Harness) {
	src, ok := h.Provider.(payrecon.BillSource)
	if h.HostileBills != nil {
		src, ok = h.HostileBills, true
	}
	if !ok {
		t.Skip("provider has no BillSource")
	}
	d, ok := src.(payrecon.BillColumnsDeclarer)
	if !ok {
		t.Fatalf("%T declares no bill columns (payrecon.BillColumnsDeclarer): errors about its bill lines would name payrecon's fields, not its columns", src)
	}
	tb, ok := h.Sandbox.(scenario.BillTamperer)
	if !ok {
		t.Skip("sandbox cannot hand over its bills")
	}
	served := map[payrecon.BillKind]map[string]bool{}
	tb.TamperBills(func(bt *scenario.BillTamper) {
		if bt.Day != h.Day {
			return
		}
		if served[bt.Kind] == nil {
			served[bt.Kind] = map[string]bool{}
		}
		for _, tok := range headerTokens(t, bt) {
			served[bt.Kind][tok] = true
		}
	})
	defer tb.TamperBills(nil)
	for _, bill := range []payrecon.BillKind{payrecon.BillTrade, payrecon.BillSettlement} {
		_, err := src.Bill(h.ctx(t), h.Day, bill, func(payrecon.BillLine) error { return nil })
		if errors.Is(err, payrecon.ErrNotSupported) {
			continue
		}
		if err != nil {
			t.Fatalf("%s bill: %v", bill, err)
		}
		declared := 0
		for _, kind := range []payrecon.Kind{payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther} {
			for field, col := range d.BillColumns(bill, kind) {
				declared++
				if !slices.Contains(payrecon.BillFields, field) {
					t.Errorf("%s bill, %s lines: field %q is not one of payrecon.BillFields", bill, kind, field)
				}
				if !served[bill][foldHeader(col)] {
					t.Errorf("%s bill, %s lines: declared column %q (%s) heads no column of the bill served", bill, kind, col, field)
				}
			}
		}
		if declared == 0 {
			t.Errorf("%s bill: no column declared", bill)
		}
	}
}

// headerTokens splits a served bill file into the words that could be a
// column header: CSV and JSON separators, quotes and WeChat Pay's
// backticks split; GBK is decoded first.
func headerTokens(t *testing.T, bt *scenario.BillTamper) []string {
	text := bt.Plain
	if bt.Format.Encoding == "gbk" {
		u, err := simplifiedchinese.GBK.NewDecoder().Bytes(text)
		if err != nil {
			t.Fatalf("%s: not GBK: %v", bt.Name, err)
		}
		text = u
	}
	fields := strings.FieldsFunc(string(text), func(r rune) bool { return strings.ContainsRune(",\r\n\t\"`:{}[]", r) })
	for i, f := range fields {
		fields[i] = foldHeader(f)
	}
	return fields
}

// foldHeader trims a header (a byte-order mark too) and reads full-width
// parentheses as ASCII.
func foldHeader(s string) string {
	return strings.NewReplacer("（", "(", "）", ")").Replace(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(s), "\ufeff")))
}
