package main_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// seedActions stores proposed actions the way a run would, in the
// configuration's database.
func seedActions(t *testing.T, dbPath string, items map[payrecon.ActionKind]payrecon.Item) map[payrecon.ActionKind]int64 {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLite, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	ids := map[payrecon.ActionKind]int64{}
	for kind, it := range items {
		a, _, err := db.ProposeAction(ctx, payrecon.Action{Item: it, Kind: kind}, "run", "proposed")
		if err != nil {
			t.Fatal(err)
		}
		ids[kind] = a.ID
	}
	return ids
}

// actionsConfig writes a configuration whose SQLite path comes through the
// environment (a dsn written as an absolute path would be read as a secret
// file reference).
func actionsConfig(t *testing.T) (cfg, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "var", "actions.db")
	t.Setenv("PAYRECON_ACTIONS_TEST_DB", dbPath)
	cfg = filepath.Join(dir, "payrecon.yaml")
	if err := os.WriteFile(cfg, []byte("database: {driver: sqlite, dsn: env:PAYRECON_ACTIONS_TEST_DB}\nlog: {format: text}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg, dbPath
}

func TestActionsCommands(t *testing.T) {
	cfg, dbPath := actionsConfig(t)
	day := payrecon.MustDay("2026-11-20")
	ids := seedActions(t, dbPath, map[payrecon.ActionKind]payrecon.Item{
		payrecon.ActionRefundDuplicate: {Account: "hw1", Day: day, Class: payrecon.ClassDuplicatePayment, Kind: payrecon.KindPayment,
			MerchantOrderNo: "M1", ProviderTxnNo: "4200000000000000001", BillAmount: 1234, Delta: 1234},
		payrecon.ActionBackfillLedger: {Account: "hw1", Day: day, Class: payrecon.ClassMissingInLedger, Kind: payrecon.KindPayment,
			MerchantOrderNo: "M2", ProviderTxnNo: "4200000000000000002", BillAmount: 500, Delta: 500},
	})
	refund, backfill := strconv.FormatInt(ids[payrecon.ActionRefundDuplicate], 10), strconv.FormatInt(ids[payrecon.ActionBackfillLedger], 10)

	r := run(t, "--config", cfg, "actions", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "refund_duplicate") || !strings.Contains(r.stdout, "txn 4200000000000000001") || !strings.Contains(r.stdout, "12.34") || !strings.Contains(r.stdout, "2 action(s)") {
		t.Fatalf("actions list: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "--config", cfg, "actions", "list", "--json", "--kind", "backfill_ledger", "--date", "2026-11-20", "--account", "hw1")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &listed); r.code != 0 || err != nil || len(listed) != 1 || listed[0]["kind"] != "backfill_ledger" || listed[0]["delta_fen"] != float64(500) {
		t.Fatalf("actions list --json: %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	if r := run(t, "--config", cfg, "actions", "list", "--date", "yesterday"); r.code != 2 {
		t.Errorf("list --date yesterday: exit %d, want 2", r.code)
	}

	// Changes need an operator (and a reason for approve/dismiss): usage errors.
	for _, args := range [][]string{
		{"actions", "approve", refund, "--reason", "x"},
		{"actions", "approve", refund, "--operator", "alice"},
		{"actions", "apply", refund},
		{"actions", "dismiss", backfill, "--operator", "alice"},
		{"actions", "apply", "abc", "--operator", "bob"},
	} {
		if r := run(t, append([]string{"--config", cfg}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}

	// Money-moving before approval: refused with status 4, nothing changed.
	r = run(t, "--config", cfg, "actions", "apply", refund, "--operator", "bob")
	if r.code != 4 || !strings.Contains(r.stderr, "approved") {
		t.Errorf("apply before approve: exit %d, want 4\n%s", r.code, r.stderr)
	}
	if r := run(t, "--config", cfg, "actions", "apply", "999", "--operator", "bob"); r.code != 5 {
		t.Errorf("apply unknown action: exit %d, want 5\n%s", r.code, r.stderr)
	}
	r = run(t, "--config", cfg, "actions", "approve", refund, "--operator", "alice", "--reason", "paid twice")
	if r.code != 0 || !strings.Contains(r.stdout, "approved by alice") {
		t.Errorf("approve: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// No provider is configured for hw1: the apply fails, is recorded, exit 1.
	r = run(t, "--config", cfg, "actions", "apply", refund, "--operator", "bob")
	if r.code != 1 || !strings.Contains(r.stderr, "no provider configured") {
		t.Errorf("apply without provider: exit %d, want 1\n%s", r.code, r.stderr)
	}
	r = run(t, "--config", cfg, "actions", "dismiss", backfill, "--operator", "alice", "--reason", "entered by hand")
	if r.code != 0 {
		t.Errorf("dismiss: exit %d\n%s", r.code, r.stderr)
	}
	if r := run(t, "--config", cfg, "actions", "apply", backfill, "--operator", "bob"); r.code != 4 {
		t.Errorf("apply dismissed: exit %d, want 4\n%s", r.code, r.stderr)
	}

	r = run(t, "--config", cfg, "actions", "show", refund, "--json")
	var shown struct {
		State string `json:"state"`
		Audit []struct {
			Step, Actor, Detail string
			At                  time.Time
		} `json:"audit"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &shown); r.code != 0 || err != nil {
		t.Fatalf("show --json: %d %v\n%s%s", r.code, err, r.stdout, r.stderr)
	}
	var steps []string
	for _, e := range shown.Audit {
		steps = append(steps, e.Step+"/"+e.Actor)
	}
	if shown.State != "failed" || strings.Join(steps, " ") != "proposed/run approved/alice failed/bob" {
		t.Errorf("show: state %s, audit %v", shown.State, steps)
	}
	r = run(t, "--config", cfg, "actions", "show", backfill)
	if r.code != 0 || !strings.Contains(r.stdout, "dismissed") || !strings.Contains(r.stdout, "entered by hand") {
		t.Errorf("show: %d\n%s", r.code, r.stdout)
	}
	r = run(t, "--config", cfg, "actions", "--help")
	if !strings.Contains(r.stdout, "Exit status:") || !strings.Contains(r.stdout, "4  the action's state") {
		t.Errorf("actions --help lacks the exit statuses:\n%s", r.stdout)
	}
}
