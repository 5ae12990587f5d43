package baas_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/baas"
	"github.com/payrecon/payrecon/providers/baas/sandbox"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
)

var testDay = payrecon.MustDay("2026-11-03")

func fixedNow() time.Time { return testDay.Add(5).Start().Add(10 * time.Hour) }

func mustSandbox(t testing.TB, sc *scenario.Scenario, opts sandbox.Options) (*sandbox.Sandbox, *baas.Client) {
	t.Helper()
	sb := sandbox.New(sc, opts)
	t.Cleanup(sb.Close)
	return sb, mustNew(t, sb.MerchantConfig(), baas.WithNow(fixedNow))
}

// onlyOrderQuery is what the shared suite can check of MinCloud: its
// refund, bill and callback checks assume per-refund numbers (the suite
// keys refunds by ProviderRefundNo / MerchantRefundNo) and a bill whose
// cut-off follows the provider's bill day, while MinCloud aggregates
// refunds on the order record and its "bill" is an order list by paid_at.
// Those capabilities are checked against the same planted scenario by
// TestOrderListBill, TestQueryRefund and TestCallbacksThroughIntake.
type onlyOrderQuery struct {
	payrecon.Provider
	payrecon.OrderQuerier
}

func TestConformance(t *testing.T) {
	for _, opts := range []sandbox.Options{{}, {StringAmounts: true, GatewayType: "alipay_page"}, {SwapNumbers: true}} {
		t.Run(fmt.Sprintf("strings=%v,swap=%v", opts.StringAmounts, opts.SwapNumbers), func(t *testing.T) {
			sb, c := mustSandbox(t, &scenario.Scenario{}, opts)
			providertest.Run(t, providertest.Harness{Sandbox: sb, Provider: onlyOrderQuery{c, c}, Day: testDay, Verifier: c, HostileBills: c,
				Hostile: providertest.Hostile{
					Format: providertest.FormatJSON, Amount: "total_cost", Currency: "currency_type", Status: "status",
					MerchantOrderNo: "trade_no", ID: "id",
					Skip: map[string]string{
						providertest.HostileDupKeyInner: "the HMAC covers the JSON body itself: no inner payload (duplicate_key_body covers it)",
						providertest.HostileAmountType:  "MinCloud serialises total_cost as a number or a string (baas.md: parse both): its yuan format is checked by the exact yuan parser (TestVerifyCallbackStringAmountsISOTimes)",
					},
				},
			})
			if calls := strings.Join(sb.Calls(), "\n"); (!opts.SwapNumbers && !strings.Contains(calls, "GET /hserve/v2.0/idp/pay/order/")) || !strings.Contains(calls, "GET /hserve/v2.2/idp/pay/order/") {
				t.Errorf("detail and list paths not used:\n%s", calls)
			}
		})
	}
}

// plant puts a day of MinCloud orders into sc: seven paid orders (one
// late on the day), one failed, one pending, one paid the day before and
// one the day after, refunds (full, two partials on one order, a failed
// one).
func plant(sc *scenario.Scenario, d payrecon.Day) (paid []scenario.Payment, refunds []scenario.Refund) {
	at := func(h, m, s int) time.Time {
		return d.Start().Add(time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second)
	}
	seq := 0
	pay := func(st payrecon.Status, amount int64, paidAt time.Time) scenario.Payment {
		seq++
		p := scenario.Payment{MerchantOrderNo: fmt.Sprintf("1mc%s%029d", d.Compact(), seq), ProviderTxnNo: fmt.Sprintf("TXN%s%06d", d.Compact(), seq),
			Status: st, Amount: amount, PayerAmount: amount, CreatedAt: paidAt.Add(-time.Minute), Product: "会员 " + fmt.Sprint(seq)}
		if st == payrecon.StatusSuccess {
			p.PaidAt = paidAt
		} else {
			p.CreatedAt = at(12, 0, 0)
		}
		return p
	}
	for i, amt := range []int64{10000, 1, 123456, 8800, 39800, 2, 4321} {
		paid = append(paid, pay(payrecon.StatusSuccess, amt, at(9+i, i, 5)))
	}
	paid[6].PaidAt = at(23, 59, 59)
	others := []scenario.Payment{
		pay(payrecon.StatusFailed, 500, time.Time{}),
		pay(payrecon.StatusPending, 501, time.Time{}),
		pay(payrecon.StatusSuccess, 700, d.Start().Add(-time.Second)), // previous day
		pay(payrecon.StatusSuccess, 701, d.End()),                     // next day
	}
	ref := func(p scenario.Payment, n int, st payrecon.Status, amount int64, at time.Time) scenario.Refund {
		return scenario.Refund{MerchantRefundNo: fmt.Sprintf("R%s%03d", d.Compact(), n), ProviderRefundNo: fmt.Sprintf("510%s%03d", d.Compact(), n),
			MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo, Status: st, Amount: amount, PayerAmount: amount, FinishedAt: at}
	}
	refunds = []scenario.Refund{
		ref(paid[0], 1, payrecon.StatusSuccess, 10000, at(16, 0, 0)),
		ref(paid[2], 2, payrecon.StatusSuccess, 3456, at(17, 0, 0)),
		ref(paid[2], 3, payrecon.StatusSuccess, 44, at(18, 0, 0)),
		ref(paid[3], 4, payrecon.StatusFailed, 100, time.Time{}),
	}
	sc.Lock()
	sc.Payments = append(sc.Payments, paid...)
	sc.Payments = append(sc.Payments, others...)
	sc.Refunds = append(sc.Refunds, refunds...)
	sc.Unlock()
	return paid, refunds
}

func collect(t *testing.T, c *baas.Client, d payrecon.Day) ([]payrecon.BillLine, payrecon.BillFile, error) {
	t.Helper()
	var lines []payrecon.BillLine
	f, err := c.Bill(context.Background(), d, payrecon.BillTrade, func(l payrecon.BillLine) error { lines = append(lines, l); return nil })
	return lines, f, err
}

func TestOrderListBill(t *testing.T) {
	for _, opts := range []sandbox.Options{{}, {StringAmounts: true, ISOTimes: true}, {SwapNumbers: true}} {
		sb, c := mustSandbox(t, &scenario.Scenario{}, opts)
		paid, _ := plant(sb.Scenario(), testDay)
		lines, f, err := collect(t, c, testDay)
		if err != nil {
			t.Fatal(err)
		}
		pays := map[string]payrecon.BillLine{}
		refs := map[string]payrecon.BillLine{}
		for _, l := range lines {
			if l.Day != testDay || l.Bill != payrecon.BillTrade || l.Account != "baas-sandbox" || l.File != f.Name || l.LineNo == 0 {
				t.Errorf("line %+v", l)
			}
			switch l.Kind {
			case payrecon.KindPayment:
				pays[l.ProviderTxnNo] = l
			case payrecon.KindRefund:
				refs[l.MerchantOrderNo] = l
			default:
				t.Errorf("kind %s", l.Kind)
			}
		}
		if len(pays) != len(paid) {
			t.Errorf("%d payments, want %d", len(pays), len(paid))
		}
		for _, p := range paid {
			l, ok := pays[p.ProviderTxnNo]
			if !ok || l.Amount != p.Amount || l.MerchantOrderNo != p.MerchantOrderNo || !l.FinishedAt.Equal(p.PaidAt) || l.Type != "weixin_tenpay_js" {
				t.Errorf("payment %s: %+v", p.ProviderTxnNo, l)
			}
		}
		wantRef := map[string]int64{paid[0].MerchantOrderNo: 10000, paid[2].MerchantOrderNo: 3500}
		if len(refs) != len(wantRef) {
			t.Errorf("refund lines %v", refs)
		}
		for mo, amt := range wantRef {
			if l := refs[mo]; l.Amount != amt || l.MerchantRefundNo != mo || l.ProviderTxnNo == "" {
				t.Errorf("refund of %s: %+v, want %d", mo, l, amt)
			}
		}
		if f.Lines != int64(len(lines)) || f.SHA256 == "" || !strings.Contains(f.Name, "order-list-snapshot") {
			t.Errorf("file %+v", f)
		}
		// paged: the 7 orders paid on the day and the one paid at the next day's first instant (paid_at__lte is the day's end; BillLines drops it), page size 3
		if n := strings.Count(strings.Join(sb.Calls(), "\n"), "GET "+baas.PathOrderList); n < 3 {
			t.Errorf("%d list calls, want paging", n)
		}
		again, f2, err := collect(t, c, testDay)
		if err != nil || len(again) != len(lines) || f2.SHA256 != f.SHA256 {
			t.Errorf("second snapshot differs: %d lines %s, err %v", len(again), f2.SHA256, err)
		}
	}
}

// TestOrderListBillFractionalPaidAt: an order paid in the day's last
// second, at 23:59:59.5 (MinCloud times may carry a fraction), is in that
// day's snapshot and in no other: the list is asked for paid_at up to the
// day's end, and records of another day are dropped by the reader.
func TestOrderListBillFractionalPaidAt(t *testing.T) {
	sb, c := mustSandbox(t, &scenario.Scenario{}, sandbox.Options{FractionalTimes: true})
	paid, _ := plant(sb.Scenario(), testDay)
	late := scenario.Payment{MerchantOrderNo: "1mcLATE0000000000000000000000001", ProviderTxnNo: "TXNLATE000001", Status: payrecon.StatusSuccess,
		Amount: 6600, PayerAmount: 6600, CreatedAt: testDay.End().Add(-time.Minute), PaidAt: testDay.End().Add(-500 * time.Millisecond)}
	sb.Scenario().Lock()
	sb.Scenario().Payments = append(sb.Scenario().Payments, late)
	sb.Scenario().Unlock()
	fractional := []byte(`"paid_at":` + strconv.FormatInt(testDay.End().Unix()-1, 10) + `.5,`)
	served := false
	sb.TamperBills(func(bt *scenario.BillTamper) {
		if bytes.Contains(bt.Plain, []byte(late.ProviderTxnNo)) {
			served = served || bytes.Contains(bt.Plain, fractional)
		}
	})
	defer sb.TamperBills(nil)
	count := func(lines []payrecon.BillLine, txn string) (n int, l payrecon.BillLine) {
		for _, x := range lines {
			if x.ProviderTxnNo == txn && x.Kind == payrecon.KindPayment {
				n, l = n+1, x
			}
		}
		return n, l
	}
	lines, _, err := collect(t, c, testDay)
	if err != nil {
		t.Fatal(err)
	}
	if n, l := count(lines, late.ProviderTxnNo); n != 1 || l.Amount != 6600 || l.Day != testDay || payrecon.DayOf(l.FinishedAt) != testDay {
		t.Errorf("order paid at 23:59:59.5: %d lines on its day (%+v), want 1", n, l)
	}
	if !served {
		t.Errorf("the sandbox served no record with %s", fractional)
	}
	if n, _ := count(lines, paid[6].ProviderTxnNo); n != 1 {
		t.Errorf("order paid at 23:59:59: %d lines, want 1", n)
	}
	if n := len(lines); n != len(paid)+1+2 { // seven paid + the late one, two refund lines
		t.Errorf("%d lines: %+v", n, lines)
	}
	next, _, err := collect(t, c, testDay.Add(1))
	if err != nil {
		t.Fatal(err)
	}
	if n, _ := count(next, late.ProviderTxnNo); n != 0 {
		t.Errorf("order paid at 23:59:59.5 also in the next day's snapshot")
	}
	if len(next) != 1 || next[0].Amount != 701 {
		t.Errorf("next day: %+v, want the one order paid at its 00:00:00", next)
	}
	prev, _, err := collect(t, c, testDay.Add(-1))
	if err != nil || len(prev) != 1 || prev[0].Amount != 700 {
		t.Errorf("previous day: %+v %v, want the one order paid at its 23:59:59", prev, err)
	}
}

// TestRefundFailedAfterPartial: a refund attempt that fails after an
// earlier partial refund leaves MinCloud's record at refund_status
// "failed" with refund_amount still the refunds made (the sandbox's
// LatestRefundStatus). The snapshot keeps the cumulative refund line, the
// refund query reports it refunded, and the webhook books it.
func TestRefundFailedAfterPartial(t *testing.T) {
	sb, c := mustSandbox(t, &scenario.Scenario{}, sandbox.Options{LatestRefundStatus: true})
	paid, refunds := plant(sb.Scenario(), testDay)
	target := paid[2] // 34.56 then 0.44 refunded
	failed := scenario.Refund{MerchantRefundNo: "R-FAILED-LATER", MerchantOrderNo: target.MerchantOrderNo, ProviderTxnNo: target.ProviderTxnNo,
		Status: payrecon.StatusFailed, Amount: 500, PayerAmount: 500, FinishedAt: testDay.Start().Add(19 * time.Hour)}
	sb.Scenario().Lock()
	sb.Scenario().Refunds = append(sb.Scenario().Refunds, failed)
	sb.Scenario().Unlock()

	lines, _, err := collect(t, c, testDay)
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]payrecon.BillLine{}
	for _, l := range lines {
		if l.Kind == payrecon.KindRefund {
			refs[l.MerchantOrderNo] = l
		}
	}
	if l, ok := refs[target.MerchantOrderNo]; !ok || l.Amount != 3500 || l.Status != payrecon.StatusSuccess || l.Type != "weixin_tenpay_js refund failed" ||
		!l.FinishedAt.Equal(failed.FinishedAt) {
		t.Errorf("refund line of %s: %+v (found %v), want the cumulative 3500 refunded", target.MerchantOrderNo, l, ok)
	}
	if l, ok := refs[paid[3].MerchantOrderNo]; ok { // its only refund attempt failed: nothing refunded
		t.Errorf("refund line for an order never refunded: %+v", l)
	}
	if len(refs) != 2 {
		t.Errorf("refund lines %+v, want the two orders with money refunded", refs)
	}

	got, err := c.QueryRefund(context.Background(), payrecon.RefundRef{MerchantOrderNo: target.MerchantOrderNo})
	if err != nil || got.Status != payrecon.StatusSuccess || got.Amount != 3500 || got.RawStatus != "failed" {
		t.Errorf("refund query: %+v %v, want success 3500 (raw failed)", got, err)
	}
	got, err = c.QueryRefund(context.Background(), payrecon.RefundRef{MerchantOrderNo: paid[3].MerchantOrderNo})
	if err != nil || got.Status != payrecon.StatusFailed || got.Amount != 0 {
		t.Errorf("refund query of the order never refunded: %+v %v, want failed 0", got, err)
	}

	cb, err := sb.RefundCallback(failed)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(cb.Body, []byte(`"refund_status":"failed"`)) || !bytes.Contains(cb.Body, []byte(`"refund_amount":35.00`)) {
		t.Fatalf("the sandbox did not render the failed attempt after the partial refund: %s", cb.Body)
	}
	vc, err := c.VerifyCallback(payrecon.CallbackRequest{Account: "mc", Header: cb.Header, Body: cb.Body, ReceivedAt: fixedNow()})
	if err != nil {
		t.Fatal(err)
	}
	var booked []payrecon.LedgerEntry
	for _, e := range vc.Entries {
		if e.Kind == payrecon.KindRefund {
			booked = append(booked, e)
		}
	}
	if len(booked) != 1 || booked[0].Status != payrecon.StatusSuccess || booked[0].Amount != 3500 ||
		booked[0].EventKey != "refund:"+target.MerchantOrderNo+"/3500:success" || !booked[0].AggregatedRefund() {
		t.Errorf("webhook refund entries %+v, want the cumulative 3500 refunded", booked)
	}
	// the order whose only attempt failed: a failed refund of nothing
	cb, err = sb.RefundCallback(refunds[3])
	if err != nil {
		t.Fatal(err)
	}
	vc, err = c.VerifyCallback(payrecon.CallbackRequest{Account: "mc", Header: cb.Header, Body: cb.Body, ReceivedAt: fixedNow()})
	if err != nil || len(vc.Entries) != 2 || vc.Entries[1].Status != payrecon.StatusFailed || vc.Entries[1].Amount != 0 ||
		vc.Entries[1].EventKey != "refund:"+paid[3].MerchantOrderNo+":failed" {
		t.Errorf("webhook of a failed refund of an order never refunded: %+v %v", vc.Entries, err)
	}
}

func TestOrderListBillErrors(t *testing.T) {
	sb, c := mustSandbox(t, &scenario.Scenario{}, sandbox.Options{})
	plant(sb.Scenario(), testDay)
	ctx := context.Background()
	// not ready: the day (plus bill_delay) is not over
	early := mustNew(t, sb.MerchantConfig(), baas.WithNow(func() time.Time { return testDay.End().Add(30 * time.Minute) }))
	n := 0
	if _, err := early.Bill(ctx, testDay, payrecon.BillTrade, func(payrecon.BillLine) error { n++; return nil }); !errors.Is(err, payrecon.ErrBillNotReady) || n != 0 {
		t.Errorf("not ready: %v, %d lines", err, n)
	}
	if _, err := c.Bill(ctx, testDay, payrecon.BillSettlement, func(payrecon.BillLine) error { return nil }); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Errorf("settlement: %v", err)
	}
	// total_count lying: clear error naming it
	sb.SetTotalCountDelta(1)
	if _, _, err := collect(t, c, testDay); err == nil || !strings.Contains(err.Error(), "total_count") {
		t.Errorf("total_count mismatch: %v", err)
	}
	sb.SetTotalCountDelta(0)
	// no total_count at all: a list cut short could not be told from a whole one
	sb.TamperBills(func(bt *scenario.BillTamper) {
		bt.Plain = regexp.MustCompile(`,?"total_count":\d+`).ReplaceAll(bt.Plain, nil)
	})
	if _, _, err := collect(t, c, testDay); err == nil || !strings.Contains(err.Error(), "no meta.total_count") {
		t.Errorf("no total_count: %v", err)
	}
	sb.TamperBills(nil)
	// transient 503 / 429, not-transient 401
	for _, st := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests} {
		sb.FailNext(st)
		if _, _, err := collect(t, c, testDay); !errors.Is(err, payrecon.ErrTransient) {
			t.Errorf("%d: %v", st, err)
		}
	}
	bad := sb.MerchantConfig()
	bad.AccessToken = payrecon.NewSecret("wrong")
	wrong := mustNew(t, bad, baas.WithNow(fixedNow))
	_, err := wrong.QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "x"})
	var pe *payrecon.ProviderError
	if !errors.As(err, &pe) || pe.Code != "401" || pe.Transient || pe.NotFound || strings.Contains(err.Error(), sandbox.AccessToken) {
		t.Errorf("wrong token: %v", err)
	}
	// network failure is transient
	down := sb.MerchantConfig()
	down.BaseURL = "http://127.0.0.1:1"
	if _, err := mustNew(t, down).QueryOrder(ctx, payrecon.OrderRef{ProviderTxnNo: "x"}); !errors.Is(err, payrecon.ErrTransient) {
		t.Errorf("network: %v", err)
	}
}

func TestQueryRefund(t *testing.T) {
	sb, c := mustSandbox(t, &scenario.Scenario{}, sandbox.Options{})
	paid, _ := plant(sb.Scenario(), testDay)
	ctx := context.Background()
	for _, tc := range []struct {
		ref    payrecon.RefundRef
		status payrecon.Status
		amount int64
	}{
		{payrecon.RefundRef{MerchantOrderNo: paid[0].MerchantOrderNo}, payrecon.StatusSuccess, 10000},
		{payrecon.RefundRef{ProviderTxnNo: paid[2].ProviderTxnNo}, payrecon.StatusSuccess, 3500},
		{payrecon.RefundRef{MerchantRefundNo: paid[2].MerchantOrderNo}, payrecon.StatusSuccess, 3500},
		{payrecon.RefundRef{ProviderTxnNo: paid[3].ProviderTxnNo}, payrecon.StatusFailed, 0},
	} {
		got, err := c.QueryRefund(ctx, tc.ref)
		if err != nil || got.Status != tc.status || got.Amount != tc.amount {
			t.Errorf("%+v: %+v %v", tc.ref, got, err)
		}
	}
	if _, err := c.QueryRefund(ctx, payrecon.RefundRef{MerchantOrderNo: paid[1].MerchantOrderNo}); !errors.Is(err, payrecon.ErrNotFound) {
		t.Errorf("never refunded: %v", err)
	}
	if _, err := c.QueryRefund(ctx, payrecon.RefundRef{MerchantOrderNo: "nosuch"}); !errors.Is(err, payrecon.ErrNotFound) {
		t.Errorf("unknown order: %v", err)
	}
}
