package wechat_test

import (
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/providertest"
	"github.com/payrecon/payrecon/providers/scenario"
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
}

func TestConformance(t *testing.T) {
	sb, c := MustSandbox(t, &scenario.Scenario{})
	providertest.Run(t, providertest.Harness{
		Sandbox:                   sb,
		Provider:                  withoutAgreementQuery{c, c, c, c, c, c, c},
		Day:                       testDay,
		PaymentStatuses:           []payrecon.Status{payrecon.StatusFailed, payrecon.StatusPending, payrecon.StatusClosed, payrecon.StatusNotPaid},
		RefundStatuses:            []payrecon.Status{payrecon.StatusPending, payrecon.StatusClosed, payrecon.StatusFailed},
		NoRefundQueryByProviderNo: true,
	})
}
