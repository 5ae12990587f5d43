package main_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/store"
)

var bin string // the payrecon binary, built once

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "payrecon-cli-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = filepath.Join(dir, "payrecon")
	build := exec.Command("go", "build", "-ldflags", "-X main.version=v9.9.9-test", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build payrecon: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "PAYRECON_CONFIG=", "LOG_LEVEL=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return result{code, out.String(), errb.String()}
}

// writeConfig writes a configuration using a fresh SQLite file.
func writeConfig(t *testing.T, extra string) (path, dbPath string) {
	t.Helper()
	dir := t.TempDir()
	dbPath = filepath.Join(dir, "var", "p.db")
	path = filepath.Join(dir, "payrecon.yaml")
	body := fmt.Sprintf("database: {driver: sqlite, dsn: %s}\nlog: {format: text}\n%s", dbPath, extra)
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, dbPath
}

func TestVersion(t *testing.T) {
	r := run(t, "version")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "payrecon v9.9.9-test ") {
		t.Errorf("version: %+v", r)
	}
}

func TestHelpListsExitStatuses(t *testing.T) {
	for _, args := range [][]string{{}, {"version"}, {"migrate"}, {"config", "check"}, {"serve"}, {"ledger", "import"}} {
		r := run(t, append(args, "--help")...)
		if r.code != 0 || !strings.Contains(r.stdout, "Exit status:") || !strings.Contains(r.stdout, "2  usage error") {
			t.Errorf("%v --help: exit %d, no exit statuses:\n%s", args, r.code, r.stdout)
		}
	}
}

func TestUsageErrors(t *testing.T) {
	cfg, _ := writeConfig(t, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"nope"}, `unknown command "nope"`},
		{[]string{"migrate", "--bogus"}, "unknown flag: --bogus"},
		{[]string{"version", "extra"}, "accepts 0 arg(s)"},
		{[]string{"--config", cfg, "ledger", "import", "f.jsonl"}, "--account is required"},
		{[]string{"--config", cfg, "ledger", "import", "--account", "x"}, "accepts 1 arg(s)"},
		{[]string{"config"}, "config needs a subcommand"},
	} {
		r := run(t, tc.args...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d stderr %q, want 2 and %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
}

func TestConfigCheck(t *testing.T) {
	t.Run("example", func(t *testing.T) {
		example, err := os.ReadFile("../../configs/payrecon.yaml")
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "payrecon.yaml")
		// Same file, database moved into the temp folder.
		body := strings.Replace(string(example), "dsn: var/payrecon.db", "dsn: "+filepath.Join(dir, "p.db"), 1)
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		r := run(t, "--config", path, "config", "check")
		if r.code != 0 || !strings.Contains(r.stdout, "dsn: '**redacted**'") || strings.Contains(r.stdout, dir) || !strings.Contains(r.stderr, "config ok") {
			t.Errorf("config check: %+v", r)
		}
	})
	t.Run("via environment", func(t *testing.T) {
		cfg, _ := writeConfig(t, "")
		cmd := exec.Command(bin, "config", "check")
		cmd.Env = append(os.Environ(), "PAYRECON_CONFIG="+cfg, "LOG_LEVEL=")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("$PAYRECON_CONFIG: %v\n%s", err, out)
		}
	})
	t.Run("bad fields", func(t *testing.T) {
		cfg, _ := writeConfig(t, `server: {max_body_bytes: 0}
accounts:
  - {name: shop, provider: wechat, fee_rate: "1,5%", wechat: {}}
  - {name: shop, provider: venmo}
`)
		r := run(t, "--config", cfg, "config", "check")
		for _, want := range []string{"server.max_body_bytes: must be positive", `accounts[0].fee_rate: rate "1,5%"`, `accounts[1].name: "shop" is already used`, "accounts[1].provider: must be one of"} {
			if !strings.Contains(r.stderr, want) {
				t.Errorf("stderr lacks %q:\n%s", want, r.stderr)
			}
		}
		if r.code != 1 {
			t.Errorf("exit %d, want 1", r.code)
		}
	})
	t.Run("provider section", func(t *testing.T) {
		cfg, _ := writeConfig(t, "accounts: [{name: shop, provider: douyin, douyin: {no_such_field: 1}}]\n")
		r := run(t, "--config", cfg, "config", "check")
		if r.code != 1 || !strings.Contains(r.stderr, "accounts[0].") {
			t.Errorf("provider section: exit %d stderr %q, want 1 naming accounts[0]", r.code, r.stderr)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		r := run(t, "--config", filepath.Join(t.TempDir(), "none.yaml"), "config", "check")
		if r.code != 1 || !strings.Contains(r.stderr, "none.yaml") {
			t.Errorf("missing file: %+v", r)
		}
	})
}

func TestMigrateIsIdempotent(t *testing.T) {
	cfg, dbPath := writeConfig(t, "")
	for i := 0; i < 2; i++ {
		r := run(t, "--config", cfg, "migrate")
		if r.code != 0 || !strings.Contains(r.stdout, "schema up to date (sqlite)") {
			t.Fatalf("migrate #%d: %+v", i+1, r)
		}
		applied := strings.Count(r.stderr, "migration applied")
		if i == 0 && applied == 0 || i == 1 && applied != 0 {
			t.Errorf("migrate #%d applied %d migrations:\n%s", i+1, applied, r.stderr)
		}
	}
	if _, err := os.Stat(dbPath); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestLedgerImportUnknownAccount(t *testing.T) {
	cfg, _ := writeConfig(t, "")
	f := filepath.Join(t.TempDir(), "cb.jsonl")
	if err := os.WriteFile(f, []byte(`{"headers":{},"body":"{}"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := run(t, "--config", cfg, "ledger", "import", "--account", "ghost", f)
	if r.code != 1 || !strings.Contains(r.stderr, `no account named "ghost"`) {
		t.Errorf("unknown account: %+v", r)
	}
}

// startListening starts cmd (the binary, its configuration from the flags
// only) and reads its log until the line msg="<msg>" names the address it
// listens on; the rest of its log arrives on rest once it ends. It is
// killed when the test ends.
func startListening(t *testing.T, cmd *exec.Cmd, msg string) (addr string, rest <-chan string) {
	t.Helper()
	cmd.Env = append(os.Environ(), "PAYRECON_CONFIG=", "LOG_LEVEL=")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	lines := bufio.NewScanner(stderr)
	addrRe := regexp.MustCompile(`msg="` + regexp.QuoteMeta(msg) + `" addr=(\S+)`)
	for lines.Scan() {
		if m := addrRe.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatalf("%s did not log %q with its address", cmd.Args[len(cmd.Args)-1], msg)
	}
	out := make(chan string, 1)
	go func() {
		var b strings.Builder
		for lines.Scan() {
			b.WriteString(lines.Text() + "\n")
		}
		out <- b.String()
	}()
	return addr, out
}

func TestServe(t *testing.T) {
	cfg, dbPath := writeConfig(t, "server: {max_body_bytes: 64}\n")
	cmd := exec.Command(bin, "--config", cfg, "serve", "--listen", "127.0.0.1:0")
	addr, rest := startListening(t, cmd, "serving callbacks")

	base := "http://" + addr
	resp, err := http.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("healthz: %d", resp.StatusCode)
	}
	if resp, err := http.Get(base + "/readyz"); err != nil || resp.StatusCode != 200 {
		t.Errorf("readyz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
	if resp, err := http.Get(base + "/metrics"); err != nil || resp.StatusCode != 200 {
		t.Errorf("metrics: %v %v", resp, err)
	} else {
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !strings.Contains(string(b), "\npayrecon_callbacks_in_flight 0\n") || !strings.Contains(string(b), "process_resident_memory_bytes") {
			t.Errorf("metrics lack payrecon_callbacks_in_flight or process metrics:\n%.500s", b)
		}
	}
	for _, tc := range []struct {
		path, body string
		status     int
	}{
		{"/callbacks/wechat/ghost", `{"id":1}`, 404}, // unknown account: stored as rejected
		{"/callbacks/paypal/ghost", `{"id":1}`, 404}, // unknown provider: not stored
		{"/callbacks/wechat/ghost", `{"id":"` + strings.Repeat("x", 100) + `"}`, 404},
	} {
		resp, err := http.Post(base+tc.path, "application/json", strings.NewReader(tc.body))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != tc.status || !strings.Contains(string(b), `"error"`) {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, b)
		}
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Errorf("serve exit after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after SIGTERM")
	}
	if log := <-rest; !strings.Contains(log, "msg=stopped") {
		t.Errorf("no graceful stop in log:\n%s", log)
	}

	db, err := store.Open(context.Background(), store.SQLite, dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []payrecon.RawCallback
	if err := db.Callbacks(context.Background(), "", func(cb payrecon.RawCallback) error {
		got = append(got, cb)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Accepted || got[0].Account != "ghost" || !strings.Contains(got[0].Reason, "unknown account") ||
		got[0].Source != "http" || string(got[0].Body) != `{"id":1}` {
		t.Fatalf("stored callbacks: %+v", got)
	}
	// The 100-byte body is over server.max_body_bytes (64) but the account
	// check comes first; it is stored cut at the limit.
	if len(got[1].Body) != 64 {
		t.Errorf("oversized body stored with %d bytes, want 64", len(got[1].Body))
	}
}
