package baas_test

import (
	"bytes"
	"encoding/json"
	"strconv"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
	"github.com/payrecon/payrecon/providers/baas/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

// noLine is lineField's answer when the record yields no line of the kind.
const noLine = "<no line>"

// lineField is the value of a BillLine field by its payrecon.BillFields name.
func lineField(t *testing.T, l *payrecon.BillLine, field string) string {
	t.Helper()
	if l == nil {
		return noLine
	}
	at := func(tm time.Time) string { return tm.In(payrecon.Shanghai).Format(time.RFC3339) }
	switch field {
	case "status":
		return string(l.Status)
	case "type":
		return l.Type
	case "merchant_order_no":
		return l.MerchantOrderNo
	case "provider_txn_no":
		return l.ProviderTxnNo
	case "merchant_refund_no":
		return l.MerchantRefundNo
	case "amount":
		return strconv.FormatInt(l.Amount, 10)
	case "payer_amount":
		return strconv.FormatInt(l.PayerAmount, 10)
	case "currency":
		return l.Currency
	case "created_at":
		return at(l.CreatedAt)
	case "finished_at":
		return at(l.FinishedAt)
	case "product":
		return l.Product
	}
	t.Fatalf("field %q: not known to this test", field)
	return ""
}

// TestBillColumnsRead proves each declared column is the one its field is
// read from (the conformance suite only checks the key is served): for
// every field declared for payment and refund lines, the sandbox serves
// the day's order list with that key of one paid, partly refunded order
// changed, and the field of that order's line must change to match.
func TestBillColumnsRead(t *testing.T) {
	const id = "TAMPERED0000000000000000000000001"
	day := testDay.Start()
	unix := func(d time.Duration) json.Number { return json.Number(strconv.FormatInt(day.Add(d).Unix(), 10)) }
	iso := func(d time.Duration) string { return day.Add(d).In(payrecon.Shanghai).Format(time.RFC3339) }
	// what each key is changed to, and what the fields read from it become
	// ("kind/field" where payment and refund lines differ).
	tampers := map[string]struct {
		value any
		want  map[string]string
	}{
		baas.ColTradeNo:       {id, map[string]string{"merchant_order_no": id, "provider_txn_no": id, "merchant_refund_no": id}},
		baas.ColTransactionNo: {id, map[string]string{"merchant_order_no": id, "provider_txn_no": id, "merchant_refund_no": id}},
		// no longer paid: no payment line (and so no refund line)
		baas.ColStatus: {"failed", map[string]string{"status": noLine}},
		// refund_status only names the latest attempt: the refund line's
		// status is derived (refund_amount above zero), so none is read
		// from it
		baas.ColRefundStatus: {"failed", map[string]string{"refund/type": "weixin_tenpay_js refund failed"}},
		baas.ColTotalCost:    {json.Number("2345.67"), map[string]string{"amount": "234567", "payer_amount": "234567"}},
		baas.ColRefundAmount: {json.Number("12.34"), map[string]string{"amount": "1234", "payer_amount": "1234"}},
		baas.ColGatewayType:  {"alipay_page", map[string]string{"payment/type": "alipay_page", "refund/type": "alipay_page refund partial"}},
		baas.ColCurrencyType: {"USD", map[string]string{"currency": "USD"}},
		baas.ColPaidAt:       {unix(time.Hour + 7*time.Second), map[string]string{"finished_at": iso(time.Hour + 7*time.Second)}},
		baas.ColCreatedAt:    {unix(time.Hour + 3*time.Second), map[string]string{"created_at": iso(time.Hour + 3*time.Second)}},
		baas.ColUpdatedAt:    {unix(22 * time.Hour), map[string]string{"finished_at": iso(22 * time.Hour)}},
		baas.ColDescription:  {"tampered product", map[string]string{"product": "tampered product"}},
	}
	for _, opts := range []sandbox.Options{{}, {SwapNumbers: true}} {
		t.Run("swap="+strconv.FormatBool(opts.SwapNumbers), func(t *testing.T) {
			sb, c := mustSandbox(t, &scenario.Scenario{}, opts)
			paid, _ := plant(sb.Scenario(), testDay)
			target := paid[2] // paid, partly refunded (3500 of 123456)
			// the record of target in the served pages, by its merchant order number
			moKey := baas.ColTradeNo
			if opts.SwapNumbers {
				moKey = baas.ColTransactionNo
			}
			lineOf := func(lines []payrecon.BillLine, lineNo int, kind payrecon.Kind) *payrecon.BillLine {
				for i := range lines {
					if lines[i].LineNo == lineNo && lines[i].Kind == kind {
						return &lines[i]
					}
				}
				return nil
			}
			base, _, err := collect(t, c, testDay)
			if err != nil {
				t.Fatal(err)
			}
			lineNo := 0
			for _, l := range base {
				if l.MerchantOrderNo == target.MerchantOrderNo {
					lineNo = l.LineNo
				}
			}
			if lineOf(base, lineNo, payrecon.KindPayment) == nil || lineOf(base, lineNo, payrecon.KindRefund) == nil {
				t.Fatalf("order %s: no payment and refund line in %+v", target.MerchantOrderNo, base)
			}
			for _, kind := range []payrecon.Kind{payrecon.KindPayment, payrecon.KindRefund, payrecon.KindOther} {
				for field, col := range c.BillColumns(payrecon.BillTrade, kind) {
					tp, ok := tampers[col]
					if !ok {
						t.Errorf("%s lines: %s declared as read from %q, which this test does not change", kind, field, col)
						continue
					}
					want, ok := tp.want[string(kind)+"/"+field]
					if !ok {
						want, ok = tp.want[field]
					}
					if !ok {
						t.Errorf("%s lines: %s declared as read from %q, which does not hold it", kind, field, col)
						continue
					}
					found := false
					sb.TamperBills(func(bt *scenario.BillTamper) {
						dec := json.NewDecoder(bytes.NewReader(bt.Plain))
						dec.UseNumber()
						var page map[string]any
						if err := dec.Decode(&page); err != nil {
							t.Errorf("served page: %v", err)
							return
						}
						objs, _ := page["objects"].([]any)
						for _, o := range objs {
							if rec, _ := o.(map[string]any); rec[moKey] == target.MerchantOrderNo {
								if _, ok := rec[col]; !ok {
									t.Errorf("served record has no %q", col)
								}
								rec[col] = tp.value
								found = true
							}
						}
						b, err := json.Marshal(page)
						if err != nil {
							t.Errorf("re-encode page: %v", err)
							return
						}
						bt.Plain = b
					})
					lines, _, err := collect(t, c, testDay)
					sb.TamperBills(nil)
					if err != nil || !found {
						t.Fatalf("%s: record found %v, err %v", col, found, err)
					}
					before := lineField(t, lineOf(base, lineNo, kind), field)
					after := lineField(t, lineOf(lines, lineNo, kind), field)
					if before == want || after != want {
						t.Errorf("%s lines: %s declared as read from %q: changing %q to %v made it %q (was %q), want %q",
							kind, field, col, col, tp.value, after, before, want)
					}
				}
			}
		})
	}
}
