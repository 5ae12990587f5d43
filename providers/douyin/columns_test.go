package douyin_test

import (
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/douyin/sandbox"
)

// columnEdit is a new value for the cell a field is declared to be read
// from, and what the parsed line's field must then read.
type columnEdit struct {
	cell, want string
	got        func(payrecon.BillLine) string
}

func fen(v int64) string { return strconv.FormatInt(v, 10) }

var columnEdits = map[string]columnEdit{
	"merchant_order_no":  {"DYCOLUMN0001", "DYCOLUMN0001", func(l payrecon.BillLine) string { return l.MerchantOrderNo }},
	"provider_txn_no":    {"N7019999999999999999", "N7019999999999999999", func(l payrecon.BillLine) string { return l.ProviderTxnNo }},
	"merchant_refund_no": {"DYCOLUMNR001", "DYCOLUMNR001", func(l payrecon.BillLine) string { return l.MerchantRefundNo }},
	"provider_refund_no": {"R7019999999999999999", "R7019999999999999999", func(l payrecon.BillLine) string { return l.ProviderRefundNo }},
	"amount":             {"77.77", "7777", func(l payrecon.BillLine) string { return fen(l.Amount) }},
	"payer_amount":       {"77.77", "7777", func(l payrecon.BillLine) string { return fen(l.PayerAmount) }},
	"fee":                {"0.33", "33", func(l payrecon.BillLine) string { return fen(l.Fee) }},
	"deduction":          {"0.44", "44", func(l payrecon.BillLine) string { return fen(l.Deduction) }},
	"status":             {"FAIL", string(payrecon.StatusFailed), func(l payrecon.BillLine) string { return string(l.Status) }},
	"type":               {"其他退款", "其他退款", func(l payrecon.BillLine) string { return l.Type }},
	"created_at": {"2026-11-10 08:07:06", "2026-11-10 08:07:06", func(l payrecon.BillLine) string {
		return l.CreatedAt.In(payrecon.Shanghai).Format("2006-01-02 15:04:05")
	}},
	"finished_at": {"2026-11-10 23:58:57", "2026-11-10 23:58:57", func(l payrecon.BillLine) string {
		return l.FinishedAt.In(payrecon.Shanghai).Format("2006-01-02 15:04:05")
	}},
	"product": {"S7019999999999999999", "S7019999999999999999", func(l payrecon.BillLine) string { return l.Product }},
	"payload": {"70001234567:12.34", "70001234567:12.34", func(l payrecon.BillLine) string { return l.Payload }},
}

// parseFirst parses a bill text and returns its first line.
func parseFirst(t *testing.T, text, billType, name string) payrecon.BillLine {
	t.Helper()
	var lines []payrecon.BillLine
	if _, err := douyin.ParseBill(strings.NewReader(text), billType, douyin.ParseOptions{File: name}, func(l payrecon.BillLine) error {
		lines = append(lines, l)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(lines) == 0 {
		t.Fatal("no lines")
	}
	return lines[0]
}

// TestBillColumnsAreRead: each declared column is the one its field is
// read from. For every declared field, the cell under its declared column
// in the first row of the documented bill is changed, and the parsed line's
// field must read the new value (a column the conformance header check
// accepts but the field is not read from fails here). Every declared field
// needs an edit, so a new declaration cannot go untested.
func TestBillColumnsAreRead(t *testing.T) {
	c := sandboxClient(t, mustSandbox(t, sandbox.Options{}), "dy")
	for _, tc := range []struct {
		bill           payrecon.BillKind
		kind           payrecon.Kind
		billType, file string
	}{
		{payrecon.BillTrade, payrecon.KindPayment, douyin.BillPayment, "payment_documented.csv"},
		{payrecon.BillTrade, payrecon.KindRefund, douyin.BillRefund, "refund_documented.csv"},
		{payrecon.BillSettlement, payrecon.KindOther, douyin.BillSettle, "settle_documented.csv"},
	} {
		t.Run(string(tc.bill)+"/"+string(tc.kind), func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join("testdata", tc.file))
			if err != nil {
				t.Fatal(err)
			}
			rows := strings.Split(string(b), "\n")
			header := strings.Split(rows[0], ",")
			for i := range header {
				header[i] = strings.TrimSpace(header[i])
			}
			orig := parseFirst(t, string(b), tc.billType, tc.file)
			if orig.Bill != tc.bill || orig.Kind != tc.kind {
				t.Fatalf("%s gives %s lines of the %s bill, want %s of %s", tc.file, orig.Kind, orig.Bill, tc.kind, tc.bill)
			}
			cols := c.BillColumns(tc.bill, tc.kind)
			if len(cols) == 0 {
				t.Fatal("no column declared")
			}
			for field, col := range cols {
				e, ok := columnEdits[field]
				if !ok {
					t.Errorf("%s declared on %s: no edit to test it with", field, col)
					continue
				}
				i := slices.Index(header, col)
				if i < 0 {
					t.Errorf("%s: declared column %q is not in %s's header %q", field, col, tc.file, header)
					continue
				}
				if e.got(orig) == e.want {
					t.Fatalf("%s: %s already reads %q", field, tc.file, e.want)
				}
				cells := strings.Split(rows[1], ",")
				cells[i] = " " + e.cell
				edited := slices.Clone(rows)
				edited[1] = strings.Join(cells, ",")
				l := parseFirst(t, strings.Join(edited, "\n"), tc.billType, tc.file)
				if got := e.got(l); got != e.want {
					t.Errorf("%s: %q under declared column %s, the line reads %q (was %q), want %q", field, e.cell, col, got, e.got(orig), e.want)
				}
			}
		})
	}
	// lines of no other kind are in these bills
	for _, p := range []struct {
		bill payrecon.BillKind
		kind payrecon.Kind
	}{
		{payrecon.BillTrade, payrecon.KindOther},
		{payrecon.BillSettlement, payrecon.KindPayment},
		{payrecon.BillSettlement, payrecon.KindRefund},
		{payrecon.BillKind("funds"), payrecon.KindPayment},
	} {
		if cols := c.BillColumns(p.bill, p.kind); cols != nil {
			t.Errorf("%s bill, %s lines: %v, want none", p.bill, p.kind, cols)
		}
	}
}
