package huawei_test

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
)

// The declared columns are the ones the parser reads: for every declared
// field of a type the test can plant, change the cell under the declared
// column of the first row of each kind of line and the parsed line's field
// must take the new value.
func TestDeclaredColumnsAreRead(t *testing.T) {
	var c *huawei.Client // BillColumns reads no client state
	fields := map[string]func(l payrecon.BillLine) any{
		"merchant_order_no":  func(l payrecon.BillLine) any { return l.MerchantOrderNo },
		"provider_txn_no":    func(l payrecon.BillLine) any { return l.ProviderTxnNo },
		"merchant_refund_no": func(l payrecon.BillLine) any { return l.MerchantRefundNo },
		"provider_refund_no": func(l payrecon.BillLine) any { return l.ProviderRefundNo },
		"product":            func(l payrecon.BillLine) any { return l.Product },
		"payload":            func(l payrecon.BillLine) any { return l.Payload },
		"currency":           func(l payrecon.BillLine) any { return l.Currency },
		"amount":             func(l payrecon.BillLine) any { return l.Amount },
		"payer_amount":       func(l payrecon.BillLine) any { return l.PayerAmount },
		"promotion_amount":   func(l payrecon.BillLine) any { return l.PromotionAmount },
		"fee":                func(l payrecon.BillLine) any { return l.Fee },
		"settlement":         func(l payrecon.BillLine) any { return l.Settlement },
	}
	for _, b := range []struct {
		bill  payrecon.BillKind
		file  string
		parse func(r *bytes.Reader, name string, fn func(payrecon.BillLine) error) error
	}{
		{payrecon.BillTrade, "trade_documented.csv", func(r *bytes.Reader, name string, fn func(payrecon.BillLine) error) error {
			return huawei.ParseTradeBill(r, name, fn)
		}},
		{payrecon.BillSettlement, "settle_documented.csv", func(r *bytes.Reader, name string, fn func(payrecon.BillLine) error) error {
			return huawei.ParseSettlementBill(r, name, fn)
		}},
	} {
		raw, err := os.ReadFile(filepath.Join("testdata", b.file))
		if err != nil {
			t.Fatal(err)
		}
		cr := csv.NewReader(bytes.NewReader(raw))
		cr.FieldsPerRecord = -1 // the 合计 rows at the end are shorter
		all, err := cr.ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		var rows [][]string // without the summary, which the edits would break
		for _, r := range all {
			if len(r) == len(all[0]) {
				rows = append(rows, r)
			}
		}
		parse := func(rows [][]string) map[payrecon.Kind]payrecon.BillLine {
			var buf bytes.Buffer
			w := csv.NewWriter(&buf)
			if err := w.WriteAll(rows); err != nil {
				t.Fatal(err)
			}
			first := map[payrecon.Kind]payrecon.BillLine{}
			if err := b.parse(bytes.NewReader(buf.Bytes()), b.file, func(l payrecon.BillLine) error {
				if _, ok := first[l.Kind]; !ok {
					first[l.Kind] = l
				}
				return nil
			}); err != nil {
				t.Fatalf("%s: %v", b.file, err)
			}
			return first
		}
		before := parse(rows)
		checked := 0
		for kind, was := range before {
			for field, col := range c.BillColumns(b.bill, kind) {
				get, ok := fields[field]
				if !ok {
					continue
				}
				ci := -1
				for i, h := range rows[0] {
					if h == col {
						ci = i
					}
				}
				if ci < 0 {
					t.Errorf("%s: declared column %q (%s) not in the header", b.file, col, field)
					continue
				}
				edited := make([][]string, len(rows))
				for i, r := range rows {
					edited[i] = append([]string(nil), r...)
				}
				ri := rowOf(rows, was)
				if ri < 0 {
					t.Fatalf("%s: no row of %+v", b.file, was)
				}
				if _, isMoney := get(was).(int64); isMoney {
					// one fen more, the printed sign kept
					v, _ := payrecon.ParseYuan(strings.TrimPrefix(rows[ri][ci], "-"))
					edited[ri][ci] = payrecon.FormatYuan(v + 1)
					if strings.HasPrefix(rows[ri][ci], "-") {
						edited[ri][ci] = "-" + edited[ri][ci]
					}
				} else {
					edited[ri][ci] = "Z" + rows[ri][ci] + "9"
				}
				after := parse(edited)[kind]
				if get(after) == get(was) {
					t.Errorf("%s %s line %d: changing %q did not change %s (%v)", b.file, kind, was.LineNo, col, field, get(was))
				}
				checked++
			}
		}
		if checked < 5 {
			t.Errorf("%s: only %d declared columns checked", b.file, checked)
		}
	}
}

// rowOf is the index of the row l was parsed from: the one whose
// 系统交易订单号 is l's own number.
func rowOf(rows [][]string, l payrecon.BillLine) int {
	own := l.ProviderTxnNo
	if l.Kind == payrecon.KindRefund {
		own = l.ProviderRefundNo
	}
	for i, h := range rows[0] {
		if h != huawei.ColSysNo {
			continue
		}
		for ri, r := range rows[1:] {
			if r[i] == own {
				return ri + 1
			}
		}
	}
	return -1
}
