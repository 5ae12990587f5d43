package baas_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
)

func parseFile(t *testing.T, path string, day payrecon.Day, mapping string) ([]payrecon.BillLine, baas.ListMeta, error) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []payrecon.BillLine
	meta, err := baas.ParseOrderList(f, path, func(o *baas.Order, n int) error {
		return baas.BillLines(o, mapping, day, func(l payrecon.BillLine) error { lines = append(lines, l); return nil })
	})
	return lines, meta, err
}

func TestParseOrderListV22(t *testing.T) {
	day := payrecon.DayOf(time.Unix(1584681907, 0))
	lines, meta, err := parseFile(t, "testdata/list/v22_numbers.json", day, baas.MappingTradeNo)
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := meta.Total(); n != 3 {
		t.Fatalf("total_count %d", n)
	}
	type want struct {
		kind   payrecon.Kind
		mo, tx string
		amount int64
		typ    string
	}
	wants := []want{
		{payrecon.KindPayment, "1jFEJyKzPbSfeGoaUAHRBGBNRQ4uMtCM", "Jqz3ZcMhwCdTWKf5OQJdPQeJWCg4eMyM", 10000, "weixin_tenpay"},
		{payrecon.KindPayment, "1kAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2", "TXN000000000000000000000000000002", 2, "alipay_page"},
		{payrecon.KindRefund, "1kAAAAAAAAAAAAAAAAAAAAAAAAAAAAA2", "TXN000000000000000000000000000002", 1, "alipay_page refund partial"},
		{payrecon.KindPayment, "1kAAAAAAAAAAAAAAAAAAAAAAAAAAAAA3", "TXN000000000000000000000000000003", 39800, "weixin_tenpay_js"},
		{payrecon.KindRefund, "1kAAAAAAAAAAAAAAAAAAAAAAAAAAAAA3", "TXN000000000000000000000000000003", 39800, "weixin_tenpay_js refund complete"},
	}
	if len(lines) != len(wants) {
		t.Fatalf("%d lines, want %d: %+v", len(lines), len(wants), lines)
	}
	for i, w := range wants {
		l := lines[i]
		if l.Kind != w.kind || l.MerchantOrderNo != w.mo || l.ProviderTxnNo != w.tx || l.Amount != w.amount || l.Type != w.typ {
			t.Errorf("line %d: %s %s/%s %d %q, want %+v", i, l.Kind, l.MerchantOrderNo, l.ProviderTxnNo, l.Amount, l.Type, w)
		}
		if l.Kind == payrecon.KindRefund && l.MerchantRefundNo != w.mo {
			t.Errorf("line %d: refund named %q, want the order %q", i, l.MerchantRefundNo, w.mo)
		}
	}
	if got := lines[0].FinishedAt; !got.Equal(time.Unix(1584681907, 0)) || got.Location() != payrecon.Shanghai {
		t.Errorf("paid at %v", got)
	}
	// swapped mapping
	lines, _, err = parseFile(t, "testdata/list/v22_numbers.json", day, baas.MappingTransactionNo)
	if err != nil {
		t.Fatal(err)
	}
	if lines[0].MerchantOrderNo != "Jqz3ZcMhwCdTWKf5OQJdPQeJWCg4eMyM" || lines[0].ProviderTxnNo != "1jFEJyKzPbSfeGoaUAHRBGBNRQ4uMtCM" {
		t.Errorf("transaction_no mapping: %+v", lines[0])
	}
}

func TestParseOrderListV20StringsISO(t *testing.T) {
	lines, _, err := parseFile(t, "testdata/list/v20_strings_iso.json", payrecon.MustDay("2018-10-12"), baas.MappingTradeNo)
	if err != nil {
		t.Fatal(err)
	}
	if len(lines) != 1 {
		t.Fatalf("%d lines, want 1 (the pending order is not a payment): %+v", len(lines), lines)
	}
	want := time.Date(2018, 10, 12, 17, 18, 10, 992125000, payrecon.Shanghai)
	if lines[0].Amount != 39800 || !lines[0].FinishedAt.Equal(want) {
		t.Errorf("line %+v, want 39800 at %v", lines[0], want)
	}
	// another day: nothing
	lines, _, err = parseFile(t, "testdata/list/v20_strings_iso.json", payrecon.MustDay("2018-10-13"), baas.MappingTradeNo)
	if err != nil || len(lines) != 0 {
		t.Fatalf("other day: %d lines, %v", len(lines), err)
	}
}

func TestParseOrderListErrors(t *testing.T) {
	day := payrecon.MustDay("2020-03-20")
	rec := `{"id":1,"trade_no":"T1","transaction_no":"X1","status":"success","paid_at":1584681907,"total_cost":%s}`
	for _, tc := range []struct {
		name, body, want string
	}{
		{"float exponent", strings.Replace(rec, "%s", "1e2", 1), "total_cost"},
		{"three decimals", strings.Replace(rec, "%s", "1.001", 1), "total_cost"},
		{"bool amount", strings.Replace(rec, "%s", "true", 1), "record 1"},
		{"negative", strings.Replace(rec, "%s", `"-1.00"`, 1), "total_cost"},
		{"refund above total", `{"id":1,"trade_no":"T1","status":"success","paid_at":1584681907,"total_cost":1,"refund_status":"partial","refund_amount":2}`, "refund_amount"},
		{"unknown status", `{"id":1,"trade_no":"T1","status":"weird","paid_at":1584681907,"total_cost":1}`, "field status"},
		{"paid without time", `{"id":1,"trade_no":"T1","status":"success","total_cost":1}`, "paid_at"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"meta":{"total_count":1,"next":null},"objects":[` + tc.body + `]}`
			_, err := baas.ParseOrderList(strings.NewReader(body), "page.json", func(o *baas.Order, n int) error {
				return baas.BillLines(o, baas.MappingTradeNo, day, func(payrecon.BillLine) error { return nil })
			})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
			if tc.name != "bool amount" && tc.name != "unknown status" && tc.name != "paid without time" && tc.name != "refund above total" && !errors.Is(err, payrecon.ErrAmountSyntax) && tc.name != "negative" {
				t.Fatalf("err = %v, want ErrAmountSyntax", err)
			}
		})
	}
	for _, body := range []string{``, `{`, `{"meta":{}}`, `{"objects":[]}`, `{"meta":{},"objects":[]} x`, `[]`} {
		if _, err := baas.ParseOrderList(strings.NewReader(body), "p", func(*baas.Order, int) error { return nil }); err == nil {
			t.Errorf("%q accepted", body)
		}
	}
}

// refund_status names the latest refund attempt: "failed" after an
// earlier partial refund still carries that refund in refund_amount, and
// the snapshot's refund line is the cumulative refund whenever
// refund_amount is above zero, whatever refund_status says.
func TestBillLinesRefundWhateverRefundStatus(t *testing.T) {
	day := payrecon.MustDay("2020-03-20")
	rec := `{"id":1,"gateway_type":"alipay_page","trade_no":"T1","transaction_no":"X1","status":"success","paid_at":1584681907,"updated_at":1584690000,"total_cost":"100.00","refund_status":%s,"refund_amount":%s}`
	for _, tc := range []struct {
		name, status, amount string
		want                 int64 // refund line amount; 0: no refund line
		typ                  string
	}{
		{"failed after a partial refund", `"failed"`, `"10.00"`, 1000, "alipay_page refund failed"},
		{"failed after a partial refund, number", `"failed"`, `10.00`, 1000, "alipay_page refund failed"},
		{"partial", `"partial"`, `"10.00"`, 1000, "alipay_page refund partial"},
		{"complete", `"complete"`, `"100.00"`, 10000, "alipay_page refund complete"},
		{"amount without status", `null`, `"10.00"`, 1000, "alipay_page refund"},
		{"failed, nothing refunded", `"failed"`, `"0.00"`, 0, ""},
		{"failed, no amount", `"failed"`, `null`, 0, ""},
		{"never refunded", `null`, `"0.00"`, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := `{"meta":{"total_count":1,"next":null},"objects":[` + fmt.Sprintf(rec, tc.status, tc.amount) + `]}`
			var lines []payrecon.BillLine
			_, err := baas.ParseOrderList(strings.NewReader(body), "page.json", func(o *baas.Order, n int) error {
				return baas.BillLines(o, baas.MappingTradeNo, day, func(l payrecon.BillLine) error { lines = append(lines, l); return nil })
			})
			if err != nil {
				t.Fatal(err)
			}
			var refunds []payrecon.BillLine
			for _, l := range lines {
				if l.Kind == payrecon.KindRefund {
					refunds = append(refunds, l)
				}
			}
			switch {
			case tc.want == 0 && len(refunds) != 0:
				t.Errorf("refund lines %+v, want none", refunds)
			case tc.want == 0:
			case len(refunds) != 1:
				t.Errorf("%d refund lines, want one of %d", len(refunds), tc.want)
			default:
				l := refunds[0]
				if l.Amount != tc.want || l.PayerAmount != tc.want || l.Status != payrecon.StatusSuccess || l.MerchantRefundNo != "T1" ||
					l.Type != tc.typ || !l.FinishedAt.Equal(time.Unix(1584690000, 0)) {
					t.Errorf("refund line %+v, want a successful refund of %d typed %q", l, tc.want, tc.typ)
				}
			}
		})
	}
}
