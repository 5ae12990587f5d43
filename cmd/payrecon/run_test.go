package main_test

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/providers/huawei"
	"github.com/payrecon/payrecon/providers/huawei/sandbox"
	"github.com/payrecon/payrecon/providers/scenario"
	"github.com/payrecon/payrecon/store"
)

// TestRunCommand runs `payrecon run` against the Huawei sandbox on
// loopback: a clean day exits 0, a day with a lost callback exits 3 and
// names the class, usage mistakes exit 2; progress is logged when stderr is
// not a terminal.
func TestRunCommand(t *testing.T) {
	clean, dirty := payrecon.MustDay("2026-11-19"), payrecon.MustDay("2026-11-20")
	var pays []scenario.Payment
	for i, d := range []payrecon.Day{clean, clean, dirty, dirty, dirty} {
		at := d.Start().Add(time.Duration(9+i) * time.Hour)
		pays = append(pays, scenario.Payment{MerchantOrderNo: "CLI-O" + string(rune('1'+i)), ProviderTxnNo: "4200000000000077" + string(rune('1'+i)),
			Status: payrecon.StatusSuccess, Amount: int64(1000 * (i + 1)), PayerAmount: int64(1000 * (i + 1)), CreatedAt: at, PaidAt: at})
	}
	sb, err := sandbox.New(&scenario.Scenario{Payments: pays}, sandbox.Options{CallbackURL: "https://merchant.test/cb"})
	if err != nil {
		t.Fatal(err)
	}
	defer sb.Close()
	mc := sb.MerchantConfig(huawei.ModelDirect)
	dir := t.TempDir()
	keyPath := filepath.Join(dir, "merchant.pem")
	if err := os.WriteFile(keyPath, []byte(mc.MerchantKey.Reveal()), 0o600); err != nil {
		t.Fatal(err)
	}
	var keys strings.Builder
	for _, k := range mc.HuaweiPublicKeys {
		keys.WriteString("          - cert_no: \"" + k.CertNo + "\"\n            key: |\n")
		for _, line := range strings.Split(strings.TrimSpace(k.Key), "\n") {
			keys.WriteString("              " + line + "\n")
		}
	}
	cfg, dbPath := writeConfig(t, `accounts:
  - name: hw1
    provider: huawei
    huawei:
          merc_no: "`+mc.MercNo+`"
          app_id: "`+mc.AppID+`"
          auth_id: "`+mc.AuthID+`"
          merchant_key: `+keyPath+`
          base_url: `+sb.URL()+`
          callback_url: https://merchant.test/cb
          huawei_public_keys:
`+keys.String()+"reports: {dir: "+filepath.Join(dir, "reports")+"}\n")

	// The ledger has every payment but the last (a lost callback).
	ctx := context.Background()
	db, err := store.Open(ctx, store.SQLite, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range pays[:len(pays)-1] {
		if _, err := db.AddLedgerEntry(ctx, payrecon.LedgerEntry{Account: "hw1", Provider: "huawei", EventKey: "payment:" + p.ProviderTxnNo,
			Kind: payrecon.KindPayment, Status: payrecon.StatusSuccess, MerchantOrderNo: p.MerchantOrderNo, ProviderTxnNo: p.ProviderTxnNo,
			Amount: p.Amount, PayerAmount: p.PayerAmount, OccurredAt: p.PaidAt}); err != nil {
			t.Fatal(err)
		}
	}
	db.Close()

	r := run(t, "--config", cfg, "run", "--date", string(clean))
	if r.code != 0 || !strings.Contains(r.stdout, "clean") || !strings.Contains(r.stderr, "run progress") {
		t.Errorf("clean day: %+v", r)
	}
	promFile := filepath.Join(dir, "textfile", "payrecon.prom")
	if err := os.MkdirAll(filepath.Dir(promFile), 0o755); err != nil {
		t.Fatal(err)
	}
	r = run(t, "--config", cfg, "run", "--date", string(dirty), "--account", "hw1", "--metrics-file", promFile)
	if r.code != 3 || !strings.Contains(r.stdout, "missing_in_ledger=1") || !strings.Contains(r.stdout, "discrepancy") {
		t.Errorf("day with a lost callback: %+v", r)
	}
	// The textfile for node_exporter, read with the official parser.
	f, err := os.Open(promFile)
	if err != nil {
		t.Fatal(err)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(f)
	f.Close()
	if err != nil {
		t.Fatalf("parse %s: %v", promFile, err)
	}
	gauge := func(name, class string) float64 {
		for _, m := range mfs[name].GetMetric() {
			ok := true
			for _, lp := range m.GetLabel() {
				if (lp.GetName() == "account" && lp.GetValue() != "hw1") || (lp.GetName() == "class" && lp.GetValue() != class) {
					ok = false
				}
			}
			if ok {
				return m.GetGauge().GetValue() + m.GetCounter().GetValue()
			}
		}
		return -1
	}
	if gauge("payrecon_run_discrepancies", "missing_in_ledger") != 1 || gauge("payrecon_run_balanced", "") != 1 ||
		gauge("payrecon_run_bill_lines", "") != 3 || gauge("payrecon_run_failures_total", "") != 0 ||
		gauge("payrecon_run_last_success_timestamp_seconds", "") < float64(time.Now().Add(-time.Hour).Unix()) {
		t.Errorf("textfile metrics: %v", mfs)
	}
	if ents, _ := os.ReadDir(filepath.Dir(promFile)); len(ents) != 1 {
		t.Errorf("textfile folder holds %d files (a temporary one left?)", len(ents))
	}
	r = run(t, "--config", cfg, "run", "--date", string(clean), "--to", string(dirty))
	if r.code != 3 || strings.Count(r.stdout, "hw1") != 2 {
		t.Errorf("range: %+v", r)
	}
	// A tolerance rule covering the lost payment (50.00): the discrepancy is
	// still reported, but nobody has to act: exit 0. One fen less and it is
	// open again: exit 3.
	for _, tc := range []struct {
		max  string
		code int
	}{{"50.00", 0}, {"49.99", 3}} {
		body, err := os.ReadFile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		tolerant := filepath.Join(dir, "tolerant.yaml")
		body = append(body, "review:\n  reason_codes: [other]\n  tolerances:\n    - {name: small_lost, classes: [missing_in_ledger], max_per_line: \""+tc.max+"\", reason: known}\n"...)
		if err := os.WriteFile(tolerant, body, 0o600); err != nil {
			t.Fatal(err)
		}
		r = run(t, "--config", tolerant, "run", "--date", string(dirty))
		tolerated := strings.Contains(r.stdout, "(tolerated=1)")
		if r.code != tc.code || !strings.Contains(r.stdout, "missing_in_ledger=1") || tolerated != (tc.code == 0) {
			t.Errorf("tolerance up to %s: %+v, want exit %d", tc.max, r, tc.code)
		}
	}
	for _, args := range [][]string{
		{"run", "--date", "yesterday"},
		{"run", "--date", string(dirty), "--account", "nope"},
		{"run", "--date", string(dirty), "--to", string(clean)},
		{"run"},
	} {
		if r := run(t, append([]string{"--config", cfg}, args...)...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2 (usage): %s", args, r.code, r.stderr)
		}
	}
	if r := run(t, "run", "--help"); r.code != 0 || !strings.Contains(r.stdout, "3  every run finished and at least one found discrepancies") {
		t.Errorf("run --help: %+v", r)
	}

	// schedule --once reconciles yesterday (no payments in the sandbox: clean).
	if r := run(t, "--config", cfg, "schedule", "--once"); r.code != 0 || !strings.Contains(r.stdout, "hw1") || !strings.Contains(r.stdout, "clean") {
		t.Errorf("schedule --once: %+v", r)
	}
	yesterday := payrecon.DayOf(time.Now()).Add(-1)
	if _, err := os.Stat(filepath.Join(dir, "reports", "payrecon-"+string(yesterday)+".xlsx")); err != nil {
		t.Errorf("schedule --once wrote no workbook into reports.dir: %v", err)
	}
	if r := run(t, "schedule", "--help"); r.code != 0 || !strings.Contains(r.stdout, "Exit status:") {
		t.Errorf("schedule --help: %+v", r)
	}

	// schedule serves the run metrics on jobs.metrics_listen.
	scrapeSchedule(t, cfg)

	// The runs are stored: the dirty day's latest run has the finding.
	db, err = store.Open(ctx, store.SQLite, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	latest, err := db.LatestRuns(ctx, []string{"hw1"}, clean, dirty)
	if err != nil {
		t.Fatal(err)
	}
	if len(latest) != 2 || latest[0].State != payrecon.RunClean || latest[1].State != payrecon.RunFindings ||
		latest[1].Totals.ByClass[payrecon.ClassMissingInLedger].Count != 1 {
		t.Errorf("stored runs: %+v", latest)
	}
}

// scrapeSchedule starts `payrecon schedule` with jobs.metrics_listen on a
// free loopback port, scrapes /metrics with the official parser (the
// configured account's failure counter is there at 0 before any firing)
// and stops it with SIGTERM.
func scrapeSchedule(t *testing.T, cfg string) {
	t.Helper()
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	withMetrics := filepath.Join(filepath.Dir(cfg), "schedule.yaml")
	if err := os.WriteFile(withMetrics, append(b, []byte("jobs: {metrics_listen: \"127.0.0.1:0\"}\n")...), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config", withMetrics, "schedule")
	addr, rest := startListening(t, cmd, "serving run metrics")
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse schedule metrics: %v", err)
	}
	found := false
	for _, m := range mfs["payrecon_run_failures_total"].GetMetric() {
		for _, lp := range m.GetLabel() {
			if lp.GetName() == "account" && lp.GetValue() == "hw1" && m.GetCounter().GetValue() == 0 {
				found = true
			}
		}
	}
	if !found || mfs["process_resident_memory_bytes"] == nil {
		t.Errorf("schedule metrics lack payrecon_run_failures_total{account=hw1} 0 or process metrics: %v", mfs)
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Errorf("schedule after SIGTERM: %v\n%s", err, <-rest)
	}
}
