package wechat_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/providers/wechat"
	"github.com/payrecon/payrecon/providers/wechat/sandbox"
)

// withoutAgreementQuery hides QueryAgreement from the suite: API v3 queries
// a papay contract by plan id and out_contract_code only, while the suite
// also queries by contract_id alone. TestQueryAgreement covers it instead.
type withoutAgreementQuery struct {
	payrecon.Provider
	payrecon.BillSource
	payrecon.OrderQuerier
	payrecon.RefundQuerier
	payrecon.Refunder
	payrecon.OrderCloser
	payrecon.CallbackVerifier
	payrecon.BillColumnsDeclarer
	payrecon.CallbackMediaTyper
}

// notifyNow is when the suite's callbacks arrive (its requests carry
// ReceivedAt = Day 23:00), while the API clock stands days later so that
// the bills of Day and Day+1 are published.
func notifyNow() time.Time { return testDay.Start().Add(23 * time.Hour) }

func TestConformance(t *testing.T) {
	sb := sandbox.New(&scenario.Scenario{}, sandbox.Options{Now: fixedNow, NotifyNow: notifyNow})
	defer sb.Close()
	run(t, sb, MustClient(t, sb.MerchantConfig()))
}

// TestConformancePartner runs the suite in partner (服务商) mode: partner
// paths, sp_mchid / sub_mchid everywhere.
func TestConformancePartner(t *testing.T) {
	sb := sandbox.New(&scenario.Scenario{}, sandbox.Options{Now: fixedNow, NotifyNow: notifyNow, SubMchID: "1900000110"})
	defer sb.Close()
	cfg := sb.MerchantConfig()
	if cfg.SubMchID != "1900000110" {
		t.Fatalf("merchant config %+v", cfg)
	}
	c := MustClient(t, cfg)
	run(t, sb, c)
	if _, err := c.Bill(context.Background(), testDay, payrecon.BillSettlement, func(payrecon.BillLine) error { return nil }); !errors.Is(err, payrecon.ErrNotSupported) {
		t.Fatalf("partner fund-flow bill: %v", err)
	}
	// The papay contract query takes the partner path too (the suite skips it: see above).
	a, err := c.QueryAgreement(context.Background(), payrecon.AgreementRef{PlanID: "PLAN01", MerchantAgreeNo: "PT" + testDay.Compact() + "C001"})
	if err != nil || a.Status != payrecon.StatusSigned {
		t.Fatalf("partner contract query: %+v %v", a, err)
	}
	if calls := strings.Join(sb.Calls(), "\n"); !strings.Contains(calls, "GET /v3/papay/sign/partner/contracts/plan-id/PLAN01/") || !strings.Contains(calls, "GET /v3/pay/partner/transactions/id/") {
		t.Fatalf("partner paths not used:\n%s", calls)
	}
}

func run(t *testing.T, sb *sandbox.Sandbox, c *wechat.Client) {
	providertest.Run(t, providertest.Harness{
		Sandbox:                   sb,
		Provider:                  withoutAgreementQuery{c, c, c, c, c, c, c, c, c},
		Day:                       testDay,
		PaymentStatuses:           []payrecon.Status{payrecon.StatusFailed, payrecon.StatusPending, payrecon.StatusClosed, payrecon.StatusNotPaid},
		RefundStatuses:            []payrecon.Status{payrecon.StatusPending, payrecon.StatusClosed, payrecon.StatusFailed},
		NoRefundQueryByProviderNo: true,
		// the payload is the decrypted transaction; the body the signed envelope
		Hostile: providertest.Hostile{
			Format: providertest.FormatJSON, Amount: "amount.total", Currency: "amount.currency", Status: "trade_state",
			MerchantOrderNo: "out_trade_no", ID: "id", BodyDupKey: "event_type",
		},
	})
}
