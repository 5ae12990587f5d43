package wechat_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

// colEdit is what a cell under a declared column is changed to, and how
// the parsed line shows the change.
type colEdit struct {
	val  string
	took func(l payrecon.BillLine) bool
}

var editedAt = time.Date(2026, 11, 2, 1, 2, 3, 0, payrecon.Shanghai)

// fieldEdits change a cell the same way whatever the line's kind.
var fieldEdits = map[string]colEdit{
	"merchant_order_no":  {"COLTEST1", func(l payrecon.BillLine) bool { return l.MerchantOrderNo == "COLTEST1" }},
	"provider_txn_no":    {"COLTEST2", func(l payrecon.BillLine) bool { return l.ProviderTxnNo == "COLTEST2" }},
	"merchant_refund_no": {"COLTEST3", func(l payrecon.BillLine) bool { return l.MerchantRefundNo == "COLTEST3" }},
	"provider_refund_no": {"COLTEST4", func(l payrecon.BillLine) bool { return l.ProviderRefundNo == "COLTEST4" }},
	"amount":             {"43.21", func(l payrecon.BillLine) bool { return l.Amount == 4321 }},
	"promotion_amount":   {"0.07", func(l payrecon.BillLine) bool { return l.PromotionAmount == 7 }},
	"settlement":         {"43.21", func(l payrecon.BillLine) bool { return l.Settlement == 4321 || l.Settlement == -4321 }},
	"fee":                {"0.05000", func(l payrecon.BillLine) bool { return l.Fee == 5 && l.FeeStated }},
	"fee_rate":           {"2.50%", func(l payrecon.BillLine) bool { return l.FeeRatePPM == 25000 }},
	"currency":           {"USD", func(l payrecon.BillLine) bool { return l.Currency == "USD" }},
	"created_at":         {"2026-11-02 01:02:03", func(l payrecon.BillLine) bool { return l.CreatedAt.Equal(editedAt) }},
	"finished_at":        {"2026-11-02 01:02:03", func(l payrecon.BillLine) bool { return l.FinishedAt.Equal(editedAt) }},
	"product":            {"coltest product", func(l payrecon.BillLine) bool { return l.Product == "coltest product" }},
	"payload":            {"coltest payload", func(l payrecon.BillLine) bool { return l.Payload == "coltest payload" }},
	// the fund-flow bill's 业务类型 also decides the kind: an unknown one
	// makes an other line typed "业务名称 业务类型"
	"type": {"COLTYPE", func(l payrecon.BillLine) bool { return strings.Contains(l.Type, "COLTYPE") }},
}

type billKind struct {
	bill payrecon.BillKind
	kind payrecon.Kind
}

func isKind(k payrecon.Kind) func(payrecon.BillLine) bool {
	return func(l payrecon.BillLine) bool { return l.Kind == k }
}

func isStatus(s payrecon.Status) func(payrecon.BillLine) bool {
	return func(l payrecon.BillLine) bool { return l.Status == s }
}

// kindEdits change the cells that decide a line's kind and status.
var kindEdits = map[billKind]map[string]colEdit{
	{payrecon.BillTrade, payrecon.KindPayment}: {
		"kind":   {"NOTPAY", isKind(payrecon.KindOther)},
		"status": {"REVOKED", isStatus(payrecon.StatusClosed)},
	},
	{payrecon.BillTrade, payrecon.KindRefund}: {
		"kind":   {"SUCCESS", isKind(payrecon.KindPayment)},
		"status": {"PROCESSING", isStatus(payrecon.StatusPending)},
	},
	{payrecon.BillTrade, payrecon.KindOther}:        {"kind": {"SUCCESS", isKind(payrecon.KindPayment)}},
	{payrecon.BillSettlement, payrecon.KindPayment}: {"kind": {"退款", isKind(payrecon.KindRefund)}},
	{payrecon.BillSettlement, payrecon.KindRefund}:  {"kind": {"交易", isKind(payrecon.KindPayment)}},
	{payrecon.BillSettlement, payrecon.KindOther}:   {"kind": {"交易", isKind(payrecon.KindPayment)}},
}

// setCell sets the cell of file line lineNo (1-based; line 1 is the
// header) under the column headed col (full-width parentheses read as
// ASCII ones).
func setCell(t *testing.T, plain []byte, lineNo int, col, val string) []byte {
	t.Helper()
	fold := strings.NewReplacer("（", "(", "）", ")")
	lines := strings.Split(string(plain), "\n")
	header := strings.Split(lines[0], ",")
	at := -1
	for i, h := range header {
		if fold.Replace(strings.TrimSpace(h)) == fold.Replace(col) {
			at = i
		}
	}
	if at < 0 {
		t.Fatalf("no column %q in %q", col, lines[0])
	}
	row := lines[lineNo-1]
	if !strings.HasPrefix(row, "`") {
		t.Fatalf("line %d %q is no data line", lineNo, row)
	}
	vals := strings.Split(row[1:], ",`")
	if len(vals) != len(header) {
		t.Fatalf("line %d has %d cells for %d columns", lineNo, len(vals), len(header))
	}
	vals[at] = val
	lines[lineNo-1] = "`" + strings.Join(vals, ",`")
	return []byte(strings.Join(lines, "\n"))
}

// servedLines downloads testDay's bill through the client, the sandbox's
// text passed through edit first (nil: as served), and returns its lines
// by line number. A summary that no longer adds up is expected of an
// edited amount: the lines were delivered before it.
func servedLines(t *testing.T, sb *sandbox.Sandbox, c *wechat.Client, bill payrecon.BillKind, edit func([]byte) []byte) map[int]payrecon.BillLine {
	t.Helper()
	sb.TamperBills(func(bt *scenario.BillTamper) {
		if bt.Day == testDay && bt.Kind == bill && edit != nil {
			bt.Plain = edit(bt.Plain)
		}
	})
	defer sb.TamperBills(nil)
	lines, _, err := collect(t, c, testDay, bill)
	if err != nil && !errors.Is(err, wechat.ErrSummaryMismatch) {
		t.Fatalf("%s bill: %v", bill, err)
	}
	byNo := map[int]payrecon.BillLine{}
	for _, l := range lines {
		byNo[int(l.LineNo)] = l
	}
	return byNo
}

// Every declared column is the one its field is read from: changing the
// cell under it in a line of the bill the sandbox serves changes that
// field of the parsed line (the conformance suite only checks that the
// column heads the bill). The trade bill's other line is a payment whose
// 交易状态 was made NOTPAY.
func TestBillColumnsAreReadColumns(t *testing.T) {
	sb, c := MustSandbox(t, billScenario())
	for _, bill := range []payrecon.BillKind{payrecon.BillTrade, payrecon.BillSettlement} {
		var prep func([]byte) []byte
		if bill == payrecon.BillTrade {
			var o2 int
			for no, l := range servedLines(t, sb, c, bill, nil) {
				if l.MerchantOrderNo == "O2" {
					o2 = no
				}
			}
			if o2 == 0 {
				t.Fatal("payment O2 not in the trade bill")
			}
			prep = func(b []byte) []byte { return setCell(t, b, o2, wechat.ColTradeState, "NOTPAY") }
		}
		base := servedLines(t, sb, c, bill, prep)
		for _, kind := range []payrecon.Kind{payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther} {
			cols := c.BillColumns(bill, kind)
			if len(cols) == 0 {
				t.Errorf("%s bill, %s lines: no column declared", bill, kind)
				continue
			}
			lineNo := 0
			for no, l := range base {
				if l.Kind == kind && (lineNo == 0 || no < lineNo) {
					lineNo = no
				}
			}
			if lineNo == 0 {
				t.Fatalf("%s bill: no %s line served", bill, kind)
			}
			for field, col := range cols {
				e, ok := kindEdits[billKind{bill, kind}][field]
				if !ok && field != "kind" && field != "status" {
					e, ok = fieldEdits[field]
				}
				if !ok {
					t.Errorf("%s bill, %s lines: no edit known for field %s (%s): add one", bill, kind, field, col)
					continue
				}
				if e.took(base[lineNo]) {
					t.Fatalf("%s bill line %d already shows the edit of %s: %+v", bill, lineNo, field, base[lineNo])
				}
				got := servedLines(t, sb, c, bill, func(b []byte) []byte {
					if prep != nil {
						b = prep(b)
					}
					return setCell(t, b, lineNo, col, e.val)
				})[lineNo]
				if !e.took(got) {
					t.Errorf("%s bill, %s line %d: %q under declared column %s did not reach %s: %+v", bill, kind, lineNo, e.val, col, field, got)
				}
			}
		}
	}
}

// A partner client downloads no fund-flow bill, so declares no columns for
// it; the trade bill's are the merchant's.
func TestBillColumnsPartner(t *testing.T) {
	sb := sandbox.New(&scenario.Scenario{}, sandbox.Options{Now: fixedNow, SubMchID: "1900000110"})
	defer sb.Close()
	c := MustClient(t, sb.MerchantConfig())
	for _, kind := range []payrecon.Kind{payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther} {
		if cols := c.BillColumns(payrecon.BillSettlement, kind); cols != nil {
			t.Fatalf("partner fund-flow %s columns %v", kind, cols)
		}
		if cols := c.BillColumns(payrecon.BillTrade, kind); cols["provider_txn_no"] != wechat.ColTxnNo {
			t.Fatalf("partner trade %s columns %v", kind, cols)
		}
	}
	if cols := c.BillColumns("fees", payrecon.KindPayment); cols != nil {
		t.Fatalf("unknown bill: %v", cols)
	}
}
