package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

// seedReviews stores a run of n amount mismatches (delta i yuan each) and
// their proposed actions, as a run would.
func seedReviews(t *testing.T, dbPath string, day payrecon.Day, n int) []payrecon.Item {
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
	var items []payrecon.Item
	var acts []payrecon.Action
	for i := 1; i <= n; i++ {
		it := payrecon.Item{Account: "hw1", Day: day, Class: payrecon.ClassMissingInLedger, Kind: payrecon.KindPayment,
			MerchantOrderNo: fmt.Sprintf("M%d", i), ProviderTxnNo: fmt.Sprintf("42000000%02d", i), BillAmount: int64(i) * 100, Delta: int64(i) * 100,
			Action: payrecon.ActionBackfillLedger}
		items = append(items, it)
		acts = append(acts, payrecon.Action{DiscrepancyKey: it.Key(), Account: "hw1", Day: day, Kind: it.Action, Item: it})
	}
	run := &payrecon.Run{Account: "hw1", Provider: "huawei", Day: day, State: payrecon.RunFindings}
	if err := db.SaveRun(ctx, run, items, acts); err != nil {
		t.Fatal(err)
	}
	return items
}

func TestReviewCommands(t *testing.T) {
	cfg, dbPath := actionsConfig(t)
	day := payrecon.MustDay("2026-11-20")
	items := seedReviews(t, dbPath, day, 8)
	c := func(args ...string) result { return run(t, append([]string{"--config", cfg, "review"}, args...)...) }

	r := c("list", "--account", "hw1")
	if r.code != 0 || !strings.Contains(r.stdout, "txn 4200000001") || !strings.Contains(r.stdout, "8 discrepancies, 36.00 yuan at stake") {
		t.Fatalf("review list: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Bulk assign over a filter: the dry run's count and amount are what is applied.
	filter := []string{"--min-amount", "3.00", "--max-amount", "6.00", "--date", "2026-11-20"}
	r = c(append([]string{"assign", "--assign-to", "alice", "--dry-run"}, filter...)...)
	m := regexp.MustCompile(`apply to (\d+) discrepancies, ([0-9.]+) yuan`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m == nil {
		t.Fatalf("dry run: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	dryCount, _ := strconv.Atoi(m[1])
	r = c(append([]string{"assign", "--assign-to", "alice", "--operator", "lead"}, filter...)...)
	m2 := regexp.MustCompile(`(\d+) discrepancies matched \(([0-9.]+) yuan at stake\), (\d+) changed`).FindStringSubmatch(r.stdout)
	if r.code != 0 || m2 == nil || m2[1] != m[1] || m2[2] != m[2] || m2[3] != m[1] || dryCount != 4 || m[2] != "18.00" {
		t.Fatalf("assign after dry run %v: %d\n%s%s", m, r.code, r.stdout, r.stderr)
	}
	r = c("list", "--assignee", "alice", "--json")
	var listed []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &listed); err != nil || len(listed) != dryCount {
		t.Fatalf("list --assignee alice: %v %d\n%s", err, len(listed), r.stdout)
	}

	// Usage errors: no operator, no filter, unknown reason code, bad state.
	for _, args := range [][]string{
		{"assign", "--assign-to", "bob", items[0].Key()},
		{"resolve", "--operator", "bob"},
		{"write-off", items[0].Key(), "--operator", "bob", "--reason", "because"},
		{"list", "--state", "closed"},
	} {
		if r := c(args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.code, r.stderr)
		}
	}
	if r := c("resolve", "nope", items[1].Key(), "--operator", "bob"); r.code != 5 || !strings.Contains(r.stderr, "nope") {
		t.Errorf("unknown key: exit %d, want 5\n%s", r.code, r.stderr)
	}
	if r := c("show", items[1].Key()); !strings.Contains(r.stdout, "state open") {
		t.Errorf("an unknown key in the list changed the others:\n%s", r.stdout)
	}

	// Write-off with a configured reason dismisses the repair action.
	r = c("write-off", items[0].Key(), "--operator", "carol", "--reason", "small_amount", "--note", "below threshold")
	if r.code != 0 || !strings.Contains(r.stdout, "1 changed") {
		t.Fatalf("write-off: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "--config", cfg, "actions", "list", "--json", "--state", "dismissed")
	if r.code != 0 || !strings.Contains(r.stdout, items[0].Key()) || !strings.Contains(r.stdout, "written off (small_amount)") {
		t.Errorf("action of the written-off discrepancy not dismissed:\n%s%s", r.stdout, r.stderr)
	}
	r = c("show", items[0].Key())
	if r.code != 0 || !strings.Contains(r.stdout, "state written_off:small_amount") || !strings.Contains(r.stdout, "carol") ||
		!strings.Contains(r.stdout, "cli") || !strings.Contains(r.stdout, "below threshold") {
		t.Errorf("show: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := c("--help"); !strings.Contains(r.stdout, "Exit status:") || !strings.Contains(r.stdout, "5  no discrepancy") {
		t.Errorf("review --help lacks the exit statuses:\n%s", r.stdout)
	}
}

func TestReviewImportCommand(t *testing.T) {
	cfg, dbPath := actionsConfig(t)
	day := payrecon.MustDay("2026-11-20")
	items := seedReviews(t, dbPath, day, 3)
	book := filepath.Join(t.TempDir(), "review.xlsx")
	if r := run(t, "--config", cfg, "report", "--date", string(day), "--out", book); r.code != 0 {
		t.Fatalf("report: %d\n%s", r.code, r.stderr)
	}
	f, err := excelize.OpenFile(book)
	if err != nil {
		t.Fatal(err)
	}
	rows, _ := f.GetRows("差异明细 Discrepancies")
	col := func(h string) int { return slices.Index(rows[0], h) + 1 }
	row := 0
	for i, r := range rows {
		if slices.Contains(r, items[1].Key()) {
			row = i + 1
		}
	}
	ref := func(h string) string { s, _ := excelize.CoordinatesToCellName(col(h), row); return s }
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(f.SetCellStr("差异明细 Discrepancies", ref("处理状态"), "已核销:other"))
	must(f.SetCellStr("差异明细 Discrepancies", ref("处理人"), "王五"))
	must(f.SaveAs(book))
	if r := run(t, "--config", cfg, "review", "import", book); r.code != 2 {
		t.Errorf("import without --operator: exit %d, want 2", r.code)
	}
	r := run(t, "--config", cfg, "review", "import", book, "--operator", "lead")
	if r.code != 0 || !strings.Contains(r.stdout, "1 applied, 2 unchanged") {
		t.Fatalf("import: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "--config", cfg, "review", "import", book, "--operator", "lead"); r.code != 0 || !strings.Contains(r.stdout, "0 applied, 3 unchanged") {
		t.Errorf("second import: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if r := run(t, "--config", cfg, "review", "show", items[1].Key()); !strings.Contains(r.stdout, "written_off:other") || !strings.Contains(r.stdout, "workbook") {
		t.Errorf("show after import:\n%s", r.stdout)
	}
	// A forged checksum: refused, named, exit 4.
	must(f.SetCellStr("差异明细 Discrepancies", ref("校验码"), strings.Repeat("0", 64)))
	must(f.SetCellStr("差异明细 Discrepancies", ref("处理状态"), "已解决"))
	must(f.SaveAs(book))
	r = run(t, "--config", cfg, "review", "import", book, "--operator", "lead")
	if r.code != 4 || !strings.Contains(r.stdout, fmt.Sprintf("refused   差异明细 Discrepancies row %d", row)) {
		t.Errorf("forged import: %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
