package qqpay_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/qqpay"
	"github.com/payrecon/payrecon/providers/qqpay/sandbox"
)

// TestSandboxRefunds: refunds are idempotent on out_refund_no, a reused
// number with other parameters and an over-refund are refused, and the
// refund query lists every refund of an order.
func TestSandboxRefunds(t *testing.T) {
	sc := billScenario()
	sb, c := mustSandbox(t, sc, sandbox.Options{})
	ctx := context.Background()
	req := payrecon.RefundRequest{OrderRef: payrecon.OrderRef{ProviderTxnNo: "T2"}, MerchantRefundNo: "RX1", Amount: 100000}
	a, err := c.ApplyRefund(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.ApplyRefund(ctx, req)
	if err != nil || b.ProviderRefundNo != a.ProviderRefundNo {
		t.Fatalf("second apply %+v %v", b, err)
	}
	var pe *payrecon.ProviderError
	req2 := req
	req2.Amount = 5
	if _, err := c.ApplyRefund(ctx, req2); !errors.As(err, &pe) || pe.Code != "PARAM_ERROR" {
		t.Errorf("reused number, other amount: %v", err)
	}
	req3 := payrecon.RefundRequest{OrderRef: payrecon.OrderRef{MerchantOrderNo: "M2"}, MerchantRefundNo: "RX2", Amount: 23457}
	if _, err := c.ApplyRefund(ctx, req3); !errors.As(err, &pe) || pe.Code != "REFUND_FEE_INVALID" {
		t.Errorf("over-refund: %v", err)
	}
	req3.Amount = 23456
	if _, err := c.ApplyRefund(ctx, req3); err != nil {
		t.Errorf("refund of the rest: %v", err)
	}
	r, err := c.QueryRefund(ctx, payrecon.RefundRef{ProviderTxnNo: "T2"})
	if err != nil || r.ProviderTxnNo != "T2" {
		t.Fatalf("query by order: %+v %v", r, err)
	}
	r, err = c.QueryRefund(ctx, payrecon.RefundRef{MerchantRefundNo: "RX2", ProviderTxnNo: "T2"})
	if err != nil || r.Amount != 23456 || r.Status != payrecon.StatusSuccess {
		t.Fatalf("query RX2: %+v %v", r, err)
	}
	if _, err := c.ApplyRefund(ctx, payrecon.RefundRequest{OrderRef: payrecon.OrderRef{MerchantOrderNo: "NOPE"}, MerchantRefundNo: "RX3", Amount: 1}); !errors.Is(err, payrecon.ErrNotFound) {
		t.Errorf("refund of an unknown order: %v", err)
	}
	if err := c.CloseOrder(ctx, payrecon.OrderRef{MerchantOrderNo: "M1"}); !errors.As(err, &pe) || pe.Code != "ORDERPAID" {
		t.Errorf("close a paid order: %v", err)
	}
	if n := strings.Count(strings.Join(sb.Calls(), "\n"), "POST "+qqpay.PathRefund); n != 6 {
		t.Errorf("%d refund calls recorded", n)
	}
}

// TestParseRefundQuery: refund_count and the indexed fields; without a
// count the indexes are read while they exist.
func TestParseRefundQuery(t *testing.T) {
	m := map[string]string{"transaction_id": "T", "out_trade_no": "M",
		"out_refund_no_0": "R0", "refund_id_0": "RF0", "refund_fee_0": "100", "coupon_refund_fee_0": "10", "refund_status_0": "10",
		"out_refund_no_1": "R1", "refund_id_1": "RF1", "refund_fee_1": "7", "refund_status_1": "NOTSURE"}
	rs, err := qqpay.ParseRefundQuery(m)
	if err != nil || len(rs) != 2 || rs[0].PayerAmount != 90 || rs[0].Status != payrecon.StatusSuccess || rs[1].Status != payrecon.StatusPending || rs[1].Amount != 7 {
		t.Fatalf("%+v %v", rs, err)
	}
	m["refund_count"] = "3"
	if _, err := qqpay.ParseRefundQuery(m); err == nil {
		t.Fatal("refund_count 3 with two refunds accepted")
	}
	m["refund_count"] = "2"
	m["refund_fee_1"] = "7.00"
	if _, err := qqpay.ParseRefundQuery(m); err == nil || !strings.Contains(err.Error(), "refund_fee_1") {
		t.Fatalf("a yuan-looking fen field: %v", err)
	}
}

// TestConfigYAML: the yaml field names, secrets decoded as payrecon.Secret.
func TestConfigYAML(t *testing.T) {
	var c qqpay.Config
	err := yaml.Unmarshal([]byte(`
mch_id: "1900000109"
appid: "1104606123"
api_key: "k123"
sign_type: HMAC-SHA256
op_user_id: "op"
op_user_passwd: "pw"
base_url: https://qpay.qq.com
bill_encoding: gbk
timeout: 5s
`), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.MchID != "1900000109" || c.APIKey.Reveal() != "k123" || c.OpUserPasswd.Reveal() != "pw" || c.SignType != "HMAC-SHA256" || c.BillEncoding != "gbk" || c.Timeout.Seconds() != 5 {
		t.Fatalf("%+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}
