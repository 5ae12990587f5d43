package douyin_test

import (
	"context"
	"crypto/md5"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/douyin"
	"github.com/payrecon/payrecon/providers/douyin/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
)

var qDay = payrecon.MustDay("2026-11-05")

func plantedSandbox(t *testing.T, opts sandbox.Options) (*sandbox.Sandbox, scenario.Payment) {
	sb := mustSandbox(t, opts)
	p := scenario.Payment{MerchantOrderNo: "Q-ORDER-1", ProviderTxnNo: "N7020261105000001", Status: payrecon.StatusSuccess, Amount: 9980, PayerAmount: 9980,
		PaidAt: at(qDay, 9, 30), CreatedAt: at(qDay, 9, 29)}
	sc := sb.Scenario()
	sc.Lock()
	sc.Payments = append(sc.Payments, p)
	sc.Others = append(sc.Others, scenario.Other{Type: "分账", ProviderTxnNo: p.ProviderTxnNo, Amount: 9980, At: at(qDay, 12, 0)})
	sc.Unlock()
	return sb, p
}

func TestSandboxRejectsWrongSalt(t *testing.T) {
	sb, p := plantedSandbox(t, sandbox.Options{})
	cfg := sb.MerchantConfig()
	cfg.Salt = payrecon.NewSecret("wrong-salt")
	c := mustNew(t, cfg)
	_, err := c.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: p.MerchantOrderNo})
	var pe *payrecon.ProviderError
	if !errors.As(err, &pe) || pe.Transient || pe.NotFound || !strings.Contains(pe.Message, "sign") {
		t.Errorf("wrong salt: %v", err)
	}
	_, err = c.Bill(context.Background(), qDay, payrecon.BillTrade, func(payrecon.BillLine) error { return nil })
	if err == nil || errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("bill with wrong salt: %v", err)
	}
}

func TestQueryAndRefund(t *testing.T) {
	sb, p := plantedSandbox(t, sandbox.Options{})
	ctx := context.Background()
	c := sandboxClient(t, sb, "dy")
	o, err := c.QueryOrder(ctx, payrecon.OrderRef{MerchantOrderNo: p.MerchantOrderNo})
	if err != nil || o.Status != payrecon.StatusSuccess || o.Amount != 9980 || !o.PaidAt.Equal(p.PaidAt) || o.ProviderTxnNo != p.ProviderTxnNo || o.RawStatus != "SUCCESS" {
		t.Fatalf("query: %+v %v", o, err)
	}
	// without a lookup, order_id alone cannot be queried
	bare := mustNew(t, sb.MerchantConfig())
	if _, err := bare.QueryOrder(ctx, payrecon.OrderRef{ProviderTxnNo: p.ProviderTxnNo}); !errors.Is(err, payrecon.ErrNotSupported) || !errors.Is(err, douyin.ErrNeedMerchantOrderNo) {
		t.Errorf("query by order_id alone: %v", err)
	}
	if _, err := bare.QueryRefund(ctx, payrecon.RefundRef{ProviderRefundNo: "R1"}); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Errorf("refund by refund_no alone: %v", err)
	}
	req := payrecon.RefundRequest{OrderRef: payrecon.OrderRef{MerchantOrderNo: p.MerchantOrderNo}, MerchantRefundNo: "Q-REFUND-1", Amount: 1000, Reason: "test"}
	r1, err := c.ApplyRefund(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := c.ApplyRefund(ctx, req)
	if err != nil || r2.ProviderRefundNo != r1.ProviderRefundNo || r1.ProviderRefundNo == "" {
		t.Fatalf("second apply: %+v %v (first %+v)", r2, err, r1)
	}
	got, err := c.QueryRefund(ctx, payrecon.RefundRef{MerchantRefundNo: "Q-REFUND-1"})
	if err != nil || got.Amount != 1000 || got.Status != payrecon.StatusPending || got.ProviderRefundNo != r1.ProviderRefundNo {
		t.Errorf("query applied refund: %+v %v", got, err)
	}
	if _, err := c.ApplyRefund(ctx, payrecon.RefundRequest{OrderRef: payrecon.OrderRef{MerchantOrderNo: "NOPE"}, MerchantRefundNo: "Q-REFUND-2", Amount: 1}); !errors.Is(err, payrecon.ErrNotFound) {
		t.Errorf("refund of unknown order: %v", err)
	}
	calls := strings.Join(sb.Calls(), "\n")
	for _, w := range []string{"POST /api/apps/ecpay/v1/query_order", "POST /api/apps/ecpay/v1/create_refund", "POST /api/apps/ecpay/v1/query_refund"} {
		if !strings.Contains(calls, w) {
			t.Errorf("sandbox saw no %s", w)
		}
	}
}

// The request on the wire: app_id and sign added, sign over the values.
func TestRequestOnTheWire(t *testing.T) {
	var body map[string]any
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		dec := json.NewDecoder(strings.NewReader(string(b)))
		dec.UseNumber()
		_ = dec.Decode(&body)
		if r.URL.Path != "/api/apps/ecpay/v1/create_refund" || r.Header.Get("Content-Type") != "application/json" {
			t.Errorf("request %s %s", r.URL.Path, r.Header.Get("Content-Type"))
		}
		_, _ = io.WriteString(w, `{"err_no":0,"err_tips":"","refund_no":"RN-9"}`)
	}))
	defer srv.Close()
	cfg := testConfig()
	cfg.BaseURL, cfg.ThirdpartyID = srv.URL, "tp-1"
	c := mustNew(t, cfg)
	r, err := c.ApplyRefund(context.Background(), payrecon.RefundRequest{OrderRef: payrecon.OrderRef{MerchantOrderNo: "O1"}, MerchantRefundNo: "R1", Amount: 250, Reason: "r"})
	if err != nil || r.ProviderRefundNo != "RN-9" {
		t.Fatalf("%+v %v", r, err)
	}
	if body["app_id"] != cfg.AppID || body["thirdparty_id"] != "tp-1" || body["refund_amount"] != json.Number("250") {
		t.Errorf("body %v", body)
	}
	// independent recomputation: values sorted by hand with the salt
	want := md5hex("250&O1&R1&payrecon&r&your_payment_salt")
	if body["sign"] != want || !douyin.VerifySign(body, "your_payment_salt", want) {
		t.Errorf("sign %v, want %s", body["sign"], want)
	}
}

func TestErrorsClassified(t *testing.T) {
	status, answer := http.StatusOK, ""
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	defer srv.Close()
	cfg := testConfig()
	cfg.BaseURL = srv.URL
	c := mustNew(t, cfg, douyin.WithHTTPClient(srv.Client()))
	for _, tc := range []struct {
		status            int
		answer            string
		transient, absent bool
	}{
		{200, `{"err_no":2008,"err_tips":"订单不存在"}`, false, true},
		{200, `{"err_no":-1,"err_tips":"系统错误"}`, true, false},
		{200, `{"err_no":2000,"err_tips":"请求过于频繁"}`, true, false},
		{503, `busy`, true, false},
		{429, ``, true, false},
		{200, `{"err_no":1000,"err_tips":"参数错误"}`, false, false},
	} {
		status, answer = tc.status, tc.answer
		_, err := c.QueryOrder(context.Background(), payrecon.OrderRef{MerchantOrderNo: "O1"})
		if err == nil || errors.Is(err, payrecon.ErrTransient) != tc.transient || errors.Is(err, payrecon.ErrNotFound) != tc.absent {
			t.Errorf("%d %s: %v", tc.status, tc.answer, err)
		}
	}
}

func TestBillFromSandbox(t *testing.T) {
	for _, opts := range []sandbox.Options{{}, {Unit: douyin.UnitFen, Separator: ",", Encoding: sandbox.EncodingGBK, Summary: true}} {
		sb, p := plantedSandbox(t, opts)
		c := sandboxClient(t, sb, "dy")
		var lines []payrecon.BillLine
		f, err := c.Bill(context.Background(), qDay, payrecon.BillSettlement, func(l payrecon.BillLine) error { lines = append(lines, l); return nil })
		if err != nil {
			t.Fatal(err)
		}
		fee := payrecon.FeeFor(9980, sandbox.SettleFeePPM)
		if len(lines) != 1 || lines[0].Kind != payrecon.KindOther || lines[0].Type != "分账" || lines[0].Amount != 9980 || lines[0].Fee != fee || lines[0].Settlement != 9980-fee ||
			lines[0].MerchantOrderNo != p.MerchantOrderNo || lines[0].Day != qDay || lines[0].Account != "dy" || f.Lines != 1 || f.SHA256 == "" {
			t.Errorf("settle bill %+v %+v", lines, f)
		}
		if opts.Summary && (!f.HasSummary || f.SummaryAmount != 9980) {
			t.Errorf("summary %+v", f)
		}
	}
	// a summary that disagrees is an error naming the total
	sb, _ := plantedSandbox(t, sandbox.Options{Summary: true, SummaryDelta: 1})
	c := sandboxClient(t, sb, "dy")
	_, err := c.Bill(context.Background(), qDay, payrecon.BillTrade, func(payrecon.BillLine) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "summary 订单金额 total 99.81") {
		t.Errorf("summary mismatch: %v", err)
	}
	// today is never ready, neither is a day the platform has not generated
	now := func() time.Time { return qDay.Start().Add(10 * time.Hour) }
	c = sandboxClient(t, sb, "dy", douyin.WithNow(now))
	if _, err := c.Bill(context.Background(), qDay, payrecon.BillTrade, func(payrecon.BillLine) error { return nil }); !errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("today: %v", err)
	}
	sc := sb.Scenario()
	sc.Lock()
	sc.NotReady = map[payrecon.Day]bool{qDay.Add(-1): true}
	sc.Unlock()
	c = sandboxClient(t, sb, "dy")
	if _, err := c.Bill(context.Background(), qDay.Add(-1), payrecon.BillTrade, func(payrecon.BillLine) error { return nil }); !errors.Is(err, payrecon.ErrBillNotReady) {
		t.Errorf("not generated: %v", err)
	}
	if _, err := c.Bill(context.Background(), qDay, "fund", func(payrecon.BillLine) error { return nil }); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Errorf("unknown kind: %v", err)
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
