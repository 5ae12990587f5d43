package config_test

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
)

func TestExampleConfigLoads(t *testing.T) {
	c, err := config.Load(filepath.Join("..", "configs", "payrecon.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if c.Database.MaxOpenConns != 20 || c.Database.MaxIdleConns != 10 || c.Database.ConnMaxLifetime != 30*time.Minute ||
		c.Server.StoreTimeout != 5*time.Second || c.Server.StoreTimeout >= c.Server.WriteTimeout || c.Server.RejectBodyBytes != 4096 {
		t.Errorf("database pool and intake defaults: %+v %+v", c.Database, c.Server)
	}
	if c.Database.Driver != "sqlite" || c.Server.MaxBodyBytes != 1<<20 || c.Jobs.LockTTL != 60*time.Second {
		t.Errorf("example config: %+v", c)
	}
}

func TestDefaultsAndAccounts(t *testing.T) {
	t.Setenv("TEST_PAYRECON_DSN", "root@tcp(127.0.0.1:3306)/x?parseTime=true&loc=UTC")
	t.Setenv("LOG_LEVEL", "")
	c, err := config.Parse(strings.NewReader(`
database:
  driver: mysql
  dsn: env:TEST_PAYRECON_DSN
accounts:
  - name: hw-1
    provider: huawei
    fee_rate: "0.60%"
    timezone: Asia/Shanghai
    huawei:
      merchant_no: "101"
      private_key: literal-private-key
      nested: {password: hunter2, plain: visible}
`))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Database.DSN.Reveal(); got != "root@tcp(127.0.0.1:3306)/x?parseTime=true&loc=UTC" {
		t.Errorf("dsn from env: %q", got)
	}
	// The default review section, validated, is DefaultReview as written
	// (its fen amounts stated there too, for the demo's policy).
	if !reflect.DeepEqual(c.Review, config.DefaultReview()) {
		t.Errorf("validated default review %+v, want %+v", c.Review, config.DefaultReview())
	}
	if p := config.DefaultReview().Policy(); len(p.SLA) != 2 || p.SLA[0].MinAmount != 1_000_000 || p.SLA[1].MinAmount != 10_000 || p.DefaultDays != 7 {
		t.Errorf("default policy %+v", p)
	}
	def := config.Default()
	if c.Server != def.Server || c.Jobs.Cron != "CRON_TZ=Asia/Shanghai 30 10 * * *" || c.Reports.Language != "zh" {
		t.Errorf("defaults not kept: %+v %+v", c.Server, c.Jobs)
	}
	a, ok := c.Account("hw-1")
	if !ok || a.FeeRatePPM != 6000 || a.Section == nil {
		t.Fatalf("account %+v", a)
	}
	if d := a.Domain(); d != (payrecon.Account{Name: "hw-1", Provider: "huawei", FeeRatePPM: 6000}) {
		t.Errorf("domain account %+v", d)
	}

	var hw struct {
		MerchantNo string          `yaml:"merchant_no"`
		PrivateKey payrecon.Secret `yaml:"private_key"`
		Nested     map[string]string
	}
	if err := a.DecodeProvider(0, &hw); err != nil {
		t.Fatal(err)
	}
	if hw.MerchantNo != "101" || hw.PrivateKey.Reveal() != "literal-private-key" {
		t.Errorf("provider section: %+v", hw)
	}
	var strict struct {
		MerchantNo string `yaml:"merchant_no"`
	}
	err = a.DecodeProvider(3, &strict)
	// private_key is on line 12 of the document above (line 1 is empty).
	if err == nil || !strings.Contains(err.Error(), "accounts[3].huawei: line 12: field private_key not found") {
		t.Errorf("unknown provider key: %v", err)
	}

	// Printing redacts the DSN and secret-looking provider values.
	var out bytes.Buffer
	if err := c.Print(&out, nil); err != nil {
		t.Fatal(err)
	}
	s := out.String()
	for _, leak := range []string{"127.0.0.1:3306", "literal-private-key", "hunter2"} {
		if strings.Contains(s, leak) {
			t.Errorf("printed config leaks %q:\n%s", leak, s)
		}
	}
	for _, want := range []string{"dsn: '**redacted**'", "merchant_no: \"101\"", "plain: visible"} {
		if !strings.Contains(s, want) {
			t.Errorf("printed config lacks %q:\n%s", want, s)
		}
	}
	// With the typed provider config, its Secret fields redact themselves.
	out.Reset()
	if err := c.Print(&out, map[string]any{"hw-1": hw}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "literal-private-key") || !strings.Contains(out.String(), "merchant_no") {
		t.Errorf("typed print:\n%s", out.String())
	}
	// The printed config loads again (round trip of the layout).
	if _, err := config.Parse(strings.NewReader(strings.ReplaceAll(s, "'**redacted**'", "env:TEST_PAYRECON_DSN"))); err != nil {
		t.Errorf("printed config does not load: %v\n%s", err, s)
	}
}

func TestValidationErrorsNameTheField(t *testing.T) {
	t.Setenv("LOG_LEVEL", "")
	for _, tc := range []struct {
		name, yaml string
		want       []string
	}{
		{"wrong driver", "database: {driver: postgres}", []string{"database.driver: must be sqlite or mysql"}},
		{"missing dsn", "database: {dsn: ''}", []string{"database.dsn: required"}},
		{"unset env secret", "database: {dsn: env:PAYRECON_TEST_SURELY_UNSET}", []string{"database.dsn: line 1: environment variable PAYRECON_TEST_SURELY_UNSET is not set"}},
		{"unreadable file secret", "reports: {webhook: {secret: file:/nonexistent/x}}", []string{"reports.webhook.secret: line 1: read secret file"}},
		{"unparsable fee rate", `accounts: [{name: a, provider: wechat, fee_rate: "0,6%", wechat: {}}]`, []string{"accounts[0].fee_rate:", `"0,6%"`}},
		{"fee rate with exponent", `accounts: [{name: a, provider: wechat, fee_rate: "6e-1", wechat: {}}]`, []string{"accounts[0].fee_rate:"}},
		{"several account errors", `accounts:
  - {name: a, provider: wechat, wechat: {}}
  - {name: a, provider: wechat, wechat: {}}
  - {provider: nope}
  - {name: "Bad Name", provider: huawei}
  - {name: c, provider: alipay, alipay: {}, timezone: UTC}`, []string{
			`accounts[1].name: "a" is already used by accounts[0]`,
			"accounts[2].name: required",
			"accounts[2].provider: must be one of huawei, wechat, alipay, qqpay, douyin, baas",
			"accounts[3].name: \"Bad Name\" must match",
			"accounts[3].huawei: required",
			"accounts[4].timezone: only Asia/Shanghai",
		}},
		{"section of another provider", `accounts: [{name: a, provider: wechat, huawei: {}}]`, []string{"has a huawei section but its provider is \"wechat\""}},
		{"unknown account key", `accounts: [{name: a, provider: wechat, merchant: x}]`, []string{"field merchant not found in account"}},
		{"unknown top key", "databse: {}", []string{"field databse not found"}},
		{"bad duration", "server: {read_timeout: soon}", []string{"line 1", "soon"}},
		{"server limits", "server: {listen: '', max_body_bytes: 0, read_timeout: -1s}", []string{"server.listen: required", "server.max_body_bytes: must be positive", "server.read_timeout: must be positive"}},
		{"database pool", "database: {max_open_conns: 0, max_idle_conns: -1, conn_max_lifetime: 0s}", []string{
			"database.max_open_conns: must be at least 1, got 0", "database.max_idle_conns: must be between 0 and database.max_open_conns (0), got -1",
			"database.conn_max_lifetime: must be at least 1s, got 0s",
		}},
		{"database unknown key", "database: {max_conns: 3}", []string{"field max_conns not found in database"}},
		{"intake limits", "server: {write_timeout: 5s, store_timeout: 5s, reject_body_bytes: -1, reject_rate: -2, reject_burst: 0, unknown_account_rate: -1, unknown_account_burst: 0}", []string{
			"server.store_timeout: must be positive and below server.write_timeout (5s), got 5s", "server.reject_body_bytes: must not be negative",
			"server.reject_rate: must not be negative", "server.reject_burst: must be at least 1",
			"server.unknown_account_rate: must not be negative", "server.unknown_account_burst: must be at least 1",
		}},
		{"log", "log: {level: loud, format: xml}", []string{"log.level: must be", "log.format: must be json or text"}},
		{"jobs", `jobs: {cron: "61 * * * *", accounts: [ghost], auto_apply: [refund_duplicate, fly], requery_schedule: [0s], lock_ttl: 0s}`, []string{
			"jobs.cron:", `jobs.accounts[0]: no account named "ghost"`,
			"jobs.auto_apply[0]: refund_duplicate moves money", `jobs.auto_apply[1]: unknown action kind "fly"`,
			"jobs.requery_schedule[0]: must be positive", "jobs.lock_ttl: must be between 10s and 30m0s",
		}},
		{"lock_ttl too long", "jobs: {lock_ttl: 2h}", []string{"jobs.lock_ttl: must be between 10s and 30m0s", "got 2h0m0s"}},
		{"reports", "reports: {dir: '', language: fr, webhook: {url: 'ftp://x', format: slack}}", []string{
			"reports.dir: required", "reports.language: must be zh or en", "reports.webhook.url: must be an http(s) URL", "reports.webhook.format: must be",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse(strings.NewReader(tc.yaml))
			if err == nil {
				t.Fatalf("no error for %s", tc.yaml)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error lacks %q:\n%v", w, err)
				}
			}
		})
	}
}

func TestPathAndLoadErrors(t *testing.T) {
	t.Setenv(config.EnvConfig, "")
	if got := config.Path(""); got != config.DefaultPath {
		t.Errorf("default path %q", got)
	}
	t.Setenv(config.EnvConfig, "/etc/p.yaml")
	if got := config.Path(""); got != "/etc/p.yaml" {
		t.Errorf("env path %q", got)
	}
	if got := config.Path("x.yaml"); got != "x.yaml" {
		t.Errorf("flag path %q", got)
	}
	dir := t.TempDir()
	if _, err := config.Load(filepath.Join(dir, "missing.yaml")); err == nil || !strings.Contains(err.Error(), "missing.yaml") {
		t.Errorf("missing file: %v", err)
	}
	bad := filepath.Join(dir, "bad.yaml")
	if err := os.WriteFile(bad, []byte("log: {level: loud}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := config.Load(bad); err == nil || !strings.Contains(err.Error(), "bad.yaml") || !strings.Contains(err.Error(), "log.level") {
		t.Errorf("invalid file: %v", err)
	}
	// LOG_LEVEL overrides the file.
	t.Setenv("LOG_LEVEL", "DEBUG")
	c, err := config.Parse(strings.NewReader("log: {level: info}"))
	if err != nil || c.Log.Level != "debug" {
		t.Errorf("LOG_LEVEL override: %v %v", c, err)
	}
}

func TestDatabaseDSNPath(t *testing.T) {
	t.Setenv("LOG_LEVEL", "")
	dir := t.TempDir()
	dsnFile := filepath.Join(dir, "dsn.txt")
	if err := os.WriteFile(dsnFile, []byte("/from/file.db\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"/var/lib/payrecon/p.db": "/var/lib/payrecon/p.db", // a SQLite path, not a secret file
		"./var/p.db":             "./var/p.db",
		"file:" + dsnFile:        "/from/file.db",
	} {
		c, err := config.Parse(strings.NewReader("database: {driver: sqlite, dsn: '" + in + "'}"))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		if got := c.Database.DSN.Reveal(); got != want {
			t.Errorf("dsn %q read as %q, want %q", in, got, want)
		}
	}
	if _, err := config.Parse(strings.NewReader("database: {drvier: sqlite}")); err == nil || !strings.Contains(err.Error(), "field drvier not found") {
		t.Errorf("unknown database key: %v", err)
	}
}
