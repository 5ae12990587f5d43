package main_test

import (
	"context"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
)

// TestActionsBulk: approve and apply over a filter against the Huawei
// sandbox. The dry run's count equals what the bulk apply then applies;
// money-moving kinds are refused without a terminal unless --yes; the
// operator and reason are recorded on every action; the table shows the
// provider's answer in full.
func TestActionsBulk(t *testing.T) {
	day := payrecon.MustDay("2026-11-20")
	paid := day.Start().Add(10 * time.Hour)
	sc := &scenario.Scenario{}
	var items []payrecon.Item
	for i := 0; i < 3; i++ { // lost callbacks: backfill_ledger
		txn := fmt.Sprintf("42000000000000080%d", i)
		sc.Payments = append(sc.Payments, scenario.Payment{MerchantOrderNo: fmt.Sprintf("BK%d", i), ProviderTxnNo: txn, Status: payrecon.StatusSuccess,
			Amount: int64(100 * (i + 1)), PayerAmount: int64(100 * (i + 1)), CreatedAt: paid, PaidAt: paid})
		items = append(items, payrecon.Item{Account: "hw1", Day: day, Class: payrecon.ClassMissingInLedger, Kind: payrecon.KindPayment,
			MerchantOrderNo: fmt.Sprintf("BK%d", i), ProviderTxnNo: txn, BillAmount: int64(100 * (i + 1)), Delta: int64(100 * (i + 1)),
			ProviderStatus: payrecon.StatusSuccess, BillTime: paid, Action: payrecon.ActionBackfillLedger})
	}
	for i := 0; i < 2; i++ { // duplicates: refund_duplicate
		order := fmt.Sprintf("DUP%d", i)
		for j := 0; j < 2; j++ {
			sc.Payments = append(sc.Payments, scenario.Payment{MerchantOrderNo: order, ProviderTxnNo: fmt.Sprintf("42000000000000090%d%d", i, j),
				Status: payrecon.StatusSuccess, Amount: 700, PayerAmount: 700, CreatedAt: paid, PaidAt: paid.Add(time.Duration(j) * time.Minute)})
		}
		items = append(items, payrecon.Item{Account: "hw1", Day: day, Class: payrecon.ClassDuplicatePayment, Kind: payrecon.KindPayment,
			MerchantOrderNo: order, ProviderTxnNo: fmt.Sprintf("42000000000000090%d1", i), BillAmount: 700, Delta: 700,
			ProviderStatus: payrecon.StatusSuccess, BillTime: paid, Action: payrecon.ActionRefundDuplicate})
	}
	items = append(items,
		payrecon.Item{Account: "hw1", Day: day, Class: payrecon.ClassAmountMismatch, Kind: payrecon.KindPayment, ProviderTxnNo: "4200000000000000999",
			Delta: -5, Action: payrecon.ActionManualReview},
		payrecon.Item{Account: "hw1", Day: day.Add(1), Class: payrecon.ClassMissingInLedger, Kind: payrecon.KindPayment, ProviderTxnNo: "4200000000000000998",
			BillAmount: 5, Delta: 5, Action: payrecon.ActionBackfillLedger})
	sb, err := sandbox.New(sc, sandbox.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	cfg, dbPath := writeConfig(t, huaweiAccount(t, sb, "          callback_url: https://merchant.test/cb\n"))
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLite, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, it := range items {
		a, _, err := db.ProposeAction(ctx, payrecon.Action{Item: it, Kind: it.Action}, "run", "proposed")
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, a.ID)
	}
	db.Close()
	base := []string{"--config", cfg, "actions"}
	cli := func(args ...string) result { return run(t, append(append([]string{}, base...), args...)...) }

	// Approving refunds over a filter: refused without a terminal, then --yes.
	approve := []string{"approve", "--date", string(day), "--class", "duplicate_payment", "--operator", "alice", "--reason", "paid twice, checked"}
	if r := cli(approve...); r.code != 2 || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("bulk approve of refunds without a terminal: %+v", r)
	}
	if r := cli(append(approve, "--yes")...); r.code != 0 || !strings.Contains(r.stdout, "approve: 2 of 2 action(s) approved") {
		t.Errorf("bulk approve --yes: %+v", r)
	}

	// Dry run, then the apply: the same count.
	filter := []string{"--account", "hw1", "--date", string(day), "--operator", "bob", "--reason", "closing the day"}
	r := cli(append([]string{"apply", "--dry-run"}, filter...)...)
	m := regexp.MustCompile(`would act on (\d+) action\(s\), total difference ([0-9.]+); money-moving: (\d+)`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("dry run: %+v", r)
	}
	planned, _ := strconv.Atoi(m[1])
	if planned != 5 || m[2] != "20.00" || m[3] != "2" {
		t.Errorf("dry run planned %s actions totalling %s (%s money-moving), want 5, 20.00, 2:\n%s", m[1], m[2], m[3], r.stdout)
	}
	if r := cli(append([]string{"apply"}, filter...)...); r.code != 2 {
		t.Errorf("bulk apply of refunds without --yes: %+v", r)
	}
	r = cli(append([]string{"apply", "--yes"}, filter...)...)
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("apply: %d of %d action(s) applied, 0 failed", planned, planned)) {
		t.Errorf("bulk apply: %+v", r)
	}
	if r := cli(append([]string{"apply", "--dry-run"}, filter...)...); !strings.Contains(r.stdout, "would act on 0 action(s)") {
		t.Errorf("dry run after the apply: %+v", r)
	}

	// Every action recorded the operator and the reason.
	for _, id := range ids[:5] {
		r := cli("show", strconv.FormatInt(id, 10))
		if !strings.Contains(r.stdout, "bob") || !strings.Contains(r.stdout, "reason: closing the day") {
			t.Errorf("action %d audit lacks the operator or the reason:\n%s", id, r.stdout)
		}
	}
	// The table does not cut the provider's answer.
	r = cli("list", "--kind", "refund_duplicate")
	if strings.Contains(r.stdout, "…") || !strings.Contains(r.stdout, "requested: pending (provider refund no 5900") {
		t.Errorf("list cuts the result:\n%s", r.stdout)
	}
	if r := cli("apply", "--operator", "bob"); r.code != 2 {
		t.Errorf("apply with neither an ID nor a filter: %+v", r)
	}
}
