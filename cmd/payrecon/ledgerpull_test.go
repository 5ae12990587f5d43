package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLedgerPullCSVIsIdempotent(t *testing.T) {
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "orders-2026-11-20.csv")
	rows := "order_no,total,state,paid_at\nA1,12.30,PAID,2026-11-20 10:00:00\nA2,5.00,PAID,2026-11-20 11:00:00\nA3,1.00,WAIT,2026-11-20 12:00:00\nA4,2.00,PAID,2026-11-21 00:30:00\n"
	if err := os.WriteFile(csvPath, []byte(rows), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := writeConfig(t, `accounts:
  - name: shop
    provider: qqpay
    qqpay: {mch_id: "1900000109", api_key: 0123456789abcdef0123456789abcdef}
    ledger:
      source: csv
      path: `+filepath.Join(dir, "orders-{date}.csv")+`
      amount_unit: yuan
      columns: {merchant_order_no: order_no, amount: total, status: state, occurred_at: paid_at}
      status_map: {PAID: success, WAIT: pending}
`)
	r := run(t, "--config", cfg, "ledger", "pull", "--account", "shop", "--date", "2026-11-20")
	if r.code != 0 || !strings.Contains(r.stdout, "shop 2026-11-20: 3 pulled, 3 added") {
		t.Fatalf("first pull: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "--config", cfg, "ledger", "pull", "--account", "shop", "--date", "2026-11-20")
	if r.code != 0 || !strings.Contains(r.stdout, "shop 2026-11-20: 3 pulled, 0 added") {
		t.Fatalf("second pull: %d %q %s", r.code, r.stdout, r.stderr)
	}
	if err := os.WriteFile(csvPath, []byte(rows+"A5,1.2.3,PAID,2026-11-20 13:00:00\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = run(t, "--config", cfg, "ledger", "pull", "--account", "shop", "--date", "2026-11-20")
	if r.code != 1 || !strings.Contains(r.stderr, csvPath+" line 6 column total (amount)") {
		t.Fatalf("bad row: %d %q %s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "--config", cfg, "ledger", "pull", "--account", "nope", "--date", "2026-11-20")
	if r.code != 2 {
		t.Fatalf("unknown account: %d %s", r.code, r.stderr)
	}
}
