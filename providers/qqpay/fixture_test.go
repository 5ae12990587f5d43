package qqpay_test

import (
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
)

// TestStatementFixtures parses the fixtures in the documented ALL layout
// (the published sample row verbatim, payments, a refund in progress, a
// revoked order), once UTF-8 and once GB18030.
func TestStatementFixtures(t *testing.T) {
	for _, name := range []string{"statement_all_utf8.csv", "statement_all_gbk.csv"} {
		t.Run(name, func(t *testing.T) {
			lines, sum, err := parse(t, readFixture(t, name), name)
			if err != nil {
				t.Fatal(err)
			}
			if len(lines) != 5 || sum.Count != 5 || sum.OrderAmount != 133956 || sum.Refund != 3457 || sum.Fee != 780 {
				t.Fatalf("%d lines, summary %+v", len(lines), sum)
			}
			kinds := []payrecon.Kind{payrecon.KindRefund, payrecon.KindPayment, payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther}
			for i, l := range lines {
				if l.Kind != kinds[i] || l.LineNo != i+2 {
					t.Errorf("line %d: kind %s at %d", i, l.Kind, l.LineNo)
				}
			}
			p := lines[2]
			if p.Amount != 123456 || p.PromotionAmount != 1200 || p.PayerAmount != 122256 || p.Fee != 741 || p.FeeRatePPM != 6000 || p.Currency != "CNY" ||
				p.Product != "游戏道具" || !p.FinishedAt.Equal(time.Date(2016, 7, 23, 21, 30, 0, 0, payrecon.Shanghai)) {
				t.Errorf("payment %+v", p)
			}
			r := lines[3]
			if r.Status != payrecon.StatusPending || r.Amount != 3456 || r.Fee != -21 || r.MerchantRefundNo != "RF-2" || r.ProviderTxnNo != "1263711801461607232130000002" {
				t.Errorf("refund %+v", r)
			}
			if o := lines[4]; o.Type != "已撤销" || o.Amount != 500 {
				t.Errorf("other %+v", o)
			}
			if want := map[string]string{"statement_all_utf8.csv": qqpay.EncodingUTF8, "statement_all_gbk.csv": qqpay.EncodingGBK}[name]; sum.DetectedFormat != want {
				t.Errorf("detected %s, want %s", sum.DetectedFormat, want)
			}
		})
	}
}
