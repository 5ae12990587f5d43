package config_test

import (
	"strings"
	"testing"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
)

func TestReviewSection(t *testing.T) {
	t.Setenv("LOG_LEVEL", "")
	c, err := config.Parse(strings.NewReader(`
review:
  reason_codes: [rounding, bank_fee]
  sla: [{min_amount: "500.00", days: 2}]
  sla_default_days: 5
  carry_over_days: 4
  tolerances:
    - name: fee_rounding
      classes: [fee_mismatch]
      max_per_line: "0.01"
    - name: promo_cents
      classes: [amount_mismatch]
      max_per_line: "0.05"
      reason: coupon rounding at the provider
      daily_max_count: 20
      daily_max_amount: "0.50"
`))
	if err != nil {
		t.Fatal(err)
	}
	r := c.Review
	if !r.ReasonCode("bank_fee") || r.ReasonCode("other") || r.SLA[0].MinAmountFen != 50000 || r.DefaultDays != 5 || r.CarryOverDays != 4 {
		t.Errorf("review: %+v", r)
	}
	if len(r.Tolerances) != 2 || r.Tolerances[0].MaxPerLineFen != 1 || r.Tolerances[1].DailyMaxAmountFen != 50 ||
		r.Tolerances[1].Classes[0] != payrecon.ClassAmountMismatch {
		t.Errorf("tolerances: %+v", r.Tolerances)
	}
	// Defaults when the file says nothing.
	d, err := config.Parse(strings.NewReader("log: {level: info}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if !d.Review.ReasonCode("other") || d.Review.CarryOverDays != 3 || len(d.Review.Tolerances) != 0 {
		t.Errorf("default review: %+v", d.Review)
	}
}

func TestReviewSectionErrorsNameFields(t *testing.T) {
	t.Setenv("LOG_LEVEL", "")
	_, err := config.Parse(strings.NewReader(`
review:
  reason_codes: [Rounding, ok, ok]
  sla: [{min_amount: "1,00", days: 0}]
  sla_default_days: 0
  carry_over_days: 0
  tolerances:
    - name: a
      accounts: [nobody]
      classes: [matched, bogus]
      max_per_line: "-0.01"
    - name: a
      classes: [fee_mismatch]
      daily_max_amount: x
`))
	if err == nil {
		t.Fatal("bad review section accepted")
	}
	for _, want := range []string{
		"review.reason_codes[0]", "review.reason_codes[2]", "review.sla[0].min_amount", "review.sla[0].days",
		"review.sla_default_days", "review.carry_over_days", "review.tolerances[0].accounts[0]",
		"review.tolerances[0].classes[0]", "review.tolerances[0].classes[1]", "review.tolerances[0].max_per_line",
		"review.tolerances[1].name", "review.tolerances[1].max_per_line", "review.tolerances[1].daily_max_amount",
	} {
		if !strings.Contains(err.Error(), want+":") {
			t.Errorf("error does not name %s:\n%v", want, err)
		}
	}
}
