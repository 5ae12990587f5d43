package alipay_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/alipay"
)

// billFixture is a documented bill as text lines (UTF-8), the parser that
// reads it, and the 业务类型 that makes a line of another kind.
type billFixture struct {
	lines  []string
	header int // index of the header line
	parse  func(io.Reader, string, func(payrecon.BillLine) error) (alipay.Summary, error)
	// other kind: the 业务类型 turning a line of kind into one of want.
	retype map[payrecon.Kind]struct {
		typ  string
		want payrecon.Kind
	}
}

func loadFixture(t *testing.T, name, head string, parse func(io.Reader, string, func(payrecon.BillLine) error) (alipay.Summary, error)) *billFixture {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	u, err := simplifiedchinese.GBK.NewDecoder().Bytes(b)
	if err != nil {
		t.Fatal(err)
	}
	f := &billFixture{lines: strings.Split(string(u), "\r\n"), header: -1, parse: parse}
	for i, l := range f.lines {
		if strings.HasPrefix(l, head+",") {
			f.header = i
			break
		}
	}
	if f.header < 0 {
		t.Fatalf("%s: no header line", name)
	}
	return f
}

// run parses the fixture; a footer the mutation put out of step is no
// concern here (the lines were delivered before the footer is read).
func (f *billFixture) run(t *testing.T, lines []string) map[int]payrecon.BillLine {
	t.Helper()
	text, err := simplifiedchinese.GBK.NewEncoder().String(strings.Join(lines, "\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := map[int]payrecon.BillLine{}
	_, err = f.parse(strings.NewReader(text), "columns.csv", func(l payrecon.BillLine) error {
		got[l.LineNo] = l
		return nil
	})
	if err != nil && !errors.Is(err, alipay.ErrSummaryMismatch) {
		t.Fatal(err)
	}
	return got
}

// column is the position of the header cell col, brackets folded.
func (f *billFixture) column(col string) int {
	fold := strings.NewReplacer("(", "（", ")", "）")
	for i, h := range strings.Split(f.lines[f.header], ",") {
		if fold.Replace(strings.Trim(h, "\t \ufeff")) == fold.Replace(col) {
			return i
		}
	}
	return -1
}

// setCell returns the fixture's lines with cell i of line n (1-based, as
// BillLine.LineNo) set to v, keeping Alipay's anti-Excel TAB if it had one.
func (f *billFixture) setCell(t *testing.T, n, i int, v string) []string {
	t.Helper()
	lines := append([]string(nil), f.lines...)
	cells := strings.Split(lines[n-1], ",")
	if i >= len(cells) {
		t.Fatalf("line %d has %d cells, no cell %d", n, len(cells), i)
	}
	if strings.HasSuffix(cells[i], "\t") {
		v += "\t"
	}
	cells[i] = v
	lines[n-1] = strings.Join(cells, ",")
	return lines
}

func signed(kind payrecon.Kind, yuan string) string {
	if kind == payrecon.KindRefund {
		return "-" + yuan
	}
	return yuan
}

func abs64(v int64) int64 { return max(v, -v) }

// probe is what a cell under a declared column is changed to, and how the
// parsed line shows the change.
type probe struct {
	cell  func(f *billFixture, kind payrecon.Kind) string
	shows func(f *billFixture, kind payrecon.Kind, l payrecon.BillLine) bool
}

func text(v string, get func(payrecon.BillLine) string) probe {
	return probe{
		cell:  func(*billFixture, payrecon.Kind) string { return v },
		shows: func(_ *billFixture, _ payrecon.Kind, l payrecon.BillLine) bool { return get(l) == v },
	}
}

func at(v string, get func(payrecon.BillLine) time.Time) probe {
	return probe{
		cell:  func(*billFixture, payrecon.Kind) string { return v },
		shows: func(_ *billFixture, _ payrecon.Kind, l payrecon.BillLine) bool { return get(l).Equal(sh(v)) },
	}
}

var probes = map[string]probe{
	"kind": {
		cell: func(f *billFixture, k payrecon.Kind) string { return f.retype[k].typ },
		shows: func(f *billFixture, k payrecon.Kind, l payrecon.BillLine) bool {
			return l.Kind == f.retype[k].want
		},
	},
	"type":               text("列测试类型", func(l payrecon.BillLine) string { return l.Type }),
	"provider_txn_no":    text("2019091622001400000000000077", func(l payrecon.BillLine) string { return l.ProviderTxnNo }),
	"merchant_order_no":  text("col_test_order_77", func(l payrecon.BillLine) string { return l.MerchantOrderNo }),
	"merchant_refund_no": text("col_test_refund_77", func(l payrecon.BillLine) string { return l.MerchantRefundNo }),
	"product":            text("列测试商品", func(l payrecon.BillLine) string { return l.Product }),
	"payload":            text("列测试备注", func(l payrecon.BillLine) string { return l.Payload }),
	"created_at":         at("2019-09-16 12:34:56", func(l payrecon.BillLine) time.Time { return l.CreatedAt }),
	"finished_at":        at("2019-09-16 12:34:57", func(l payrecon.BillLine) time.Time { return l.FinishedAt }),
	"amount": {
		cell:  func(_ *billFixture, k payrecon.Kind) string { return signed(k, "123.45") },
		shows: func(_ *billFixture, _ payrecon.Kind, l payrecon.BillLine) bool { return l.Amount == 12345 },
	},
	"fee": {
		cell:  func(_ *billFixture, k payrecon.Kind) string { return signed(k, "0.07") },
		shows: func(_ *billFixture, _ payrecon.Kind, l payrecon.BillLine) bool { return abs64(l.Fee) == 7 },
	},
}

// TestBillColumns_AreRead: for every field the client declares, per bill
// and kind of line, changing the cell under the declared column of one
// line of that kind (in the documented bill) changes that field of the
// parsed line: the declared column is the one the field is read from, not
// merely a column of the bill (which is all the conformance suite checks).
func TestBillColumns_AreRead(t *testing.T) {
	c := new(alipay.Client)

	trade := loadFixture(t, "trade_documented.csv", alipay.ColTradeNo, alipay.ParseTradeBill)
	// The documented 业务明细 has payments and a refund; its last payment
	// becomes a 转账 (KindOther, still counted under 交易合计).
	last := len(trade.lines) - 1
	for !strings.Contains(trade.lines[last], "交易\t") {
		last--
	}
	trade.lines[last] = strings.Replace(trade.lines[last], ",交易\t,", ",转账\t,", 1)
	trade.retype = map[payrecon.Kind]struct {
		typ  string
		want payrecon.Kind
	}{
		payrecon.KindPayment: {"退款", payrecon.KindRefund},
		payrecon.KindRefund:  {"交易", payrecon.KindPayment},
		payrecon.KindOther:   {"交易", payrecon.KindPayment},
	}
	fund := loadFixture(t, "fund_documented.csv", alipay.ColFlowNo, alipay.ParseFundBill)
	fund.retype = map[payrecon.Kind]struct {
		typ  string
		want payrecon.Kind
	}{
		payrecon.KindPayment: {"交易退款", payrecon.KindRefund},
		payrecon.KindRefund:  {"在线支付", payrecon.KindPayment},
		payrecon.KindOther:   {"在线支付", payrecon.KindPayment},
	}

	// What the test must see declared, so it cannot pass on an empty map.
	must := map[payrecon.BillKind]map[payrecon.Kind][]string{
		payrecon.BillTrade: {
			payrecon.KindPayment: {"amount", "merchant_order_no", "provider_txn_no", "finished_at"},
			payrecon.KindRefund:  {"amount", "merchant_order_no", "provider_txn_no", "merchant_refund_no"},
		},
		payrecon.BillSettlement: {
			payrecon.KindPayment: {"provider_txn_no", "merchant_order_no", "finished_at"},
		},
	}

	for _, bc := range []struct {
		bill payrecon.BillKind
		f    *billFixture
	}{{payrecon.BillTrade, trade}, {payrecon.BillSettlement, fund}} {
		base := bc.f.run(t, bc.f.lines)
		for _, kind := range []payrecon.Kind{payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther} {
			t.Run(string(bc.bill)+"/"+string(kind), func(t *testing.T) {
				n := 0
				for no, l := range base {
					if l.Kind == kind && (n == 0 || no < n) {
						n = no
					}
				}
				if n == 0 {
					t.Fatalf("the fixture has no %s line", kind)
				}
				declared := c.BillColumns(bc.bill, kind)
				for _, field := range must[bc.bill][kind] {
					if declared[field] == "" {
						t.Errorf("%s not declared", field)
					}
				}
				for field, col := range declared {
					p, ok := probes[field]
					if !ok {
						t.Errorf("%s (%s): no probe for the field; add one", field, col)
						continue
					}
					i := bc.f.column(col)
					if i < 0 {
						t.Errorf("%s: declared column %q is not in the header", field, col)
						continue
					}
					if p.shows(bc.f, kind, base[n]) {
						t.Fatalf("%s: line %d shows the probe value before the change", field, n)
					}
					got, ok := bc.f.run(t, bc.f.setCell(t, n, i, p.cell(bc.f, kind)))[n]
					if !ok {
						t.Errorf("%s: line %d not delivered after changing %s", field, n, col)
						continue
					}
					if !p.shows(bc.f, kind, got) {
						t.Errorf("%s: changing column %s of line %d does not change the field: %+v", field, col, n, got)
					}
				}
			})
		}
	}
	if c.BillColumns("nosuchbill", payrecon.KindPayment) != nil {
		t.Error("an unknown bill declares columns")
	}
}
