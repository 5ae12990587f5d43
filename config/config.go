// Package config loads payrecon's one YAML configuration file: defaults in
// code, then the file, then Validate, whose errors name the field
// (`accounts[2].fee_rate: ...`) and are all reported at once.
//
// Secrets (payrecon.Secret) are written as "env:NAME", "file:PATH" (or a
// path starting with "/" or "./") or literally, and print as **redacted**.
// Each account keeps its provider's own section raw (a yaml.Node under the
// key named after the provider); cmd/payrecon decodes it into that provider
// package's Config with DecodeProvider.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
)

// EnvConfig names the variable that points at the configuration file when
// --config is not given.
const EnvConfig = "PAYRECON_CONFIG"

// DefaultPath is used when neither --config nor $PAYRECON_CONFIG is set.
const DefaultPath = "configs/payrecon.yaml"

// Providers lists the provider names an account may use.
var Providers = []string{"huawei", "wechat", "alipay", "qqpay", "douyin", "baas"}

// Config is the whole configuration.
type Config struct {
	Database Database  `yaml:"database"`
	Server   Server    `yaml:"server"`
	Log      Log       `yaml:"log"`
	Accounts []Account `yaml:"accounts"`
	Jobs     Jobs      `yaml:"jobs"`
	Reports  Reports   `yaml:"reports"`
	Review   Review    `yaml:"review"`
}

// Database selects the store.
type Database struct {
	Driver string          `yaml:"driver"` // sqlite or mysql
	DSN    payrecon.Secret `yaml:"dsn"`    // SQLite file path, or a go-sql-driver DSN with parseTime=true&loc=UTC
	// Connection pool: at most MaxOpenConns connections (callbacks beyond
	// it wait, within server.store_timeout, instead of exhausting the
	// server's max_connections), MaxIdleConns kept idle, each reused for
	// at most ConnMaxLifetime.
	MaxOpenConns    int           `yaml:"max_open_conns"`
	MaxIdleConns    int           `yaml:"max_idle_conns"`
	ConnMaxLifetime time.Duration `yaml:"conn_max_lifetime"`
}

// UnmarshalYAML reads dsn as "env:NAME", "file:PATH" or a literal DSN. Unlike
// other secrets, a value starting with "/" or "./" is the DSN itself (a
// SQLite file path), not a file to read the DSN from.
func (d *Database) UnmarshalYAML(n *yaml.Node) error {
	var raw struct {
		Driver          *string        `yaml:"driver"`
		DSN             *string        `yaml:"dsn"`
		MaxOpenConns    *int           `yaml:"max_open_conns"`
		MaxIdleConns    *int           `yaml:"max_idle_conns"`
		ConnMaxLifetime *time.Duration `yaml:"conn_max_lifetime"`
	}
	if err := n.Decode(&raw); err != nil {
		return err
	}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			switch k := n.Content[i].Value; k {
			case "driver", "dsn", "max_open_conns", "max_idle_conns", "conn_max_lifetime":
			default:
				return fmt.Errorf("line %d: field %s not found in database", n.Content[i].Line, k)
			}
		}
	}
	if raw.Driver != nil {
		d.Driver = *raw.Driver
	}
	if raw.MaxOpenConns != nil {
		d.MaxOpenConns = *raw.MaxOpenConns
	}
	if raw.MaxIdleConns != nil {
		d.MaxIdleConns = *raw.MaxIdleConns
	}
	if raw.ConnMaxLifetime != nil {
		d.ConnMaxLifetime = *raw.ConnMaxLifetime
	}
	if raw.DSN != nil {
		v := strings.TrimSpace(*raw.DSN)
		if strings.HasPrefix(v, "env:") || strings.HasPrefix(v, "file:") {
			r, err := payrecon.ResolveSecret(v)
			if err != nil {
				return fmt.Errorf("database.dsn: %w", err)
			}
			v = r
		}
		d.DSN = payrecon.NewSecret(v)
	}
	return nil
}

// Server is the callback receiver (payrecon serve).
type Server struct {
	Listen       string        `yaml:"listen"`
	MaxBodyBytes int64         `yaml:"max_body_bytes"`
	ReadTimeout  time.Duration `yaml:"read_timeout"`
	WriteTimeout time.Duration `yaml:"write_timeout"`
	// StoreTimeout bounds each database call of a callback; below
	// WriteTimeout, so that a stalled database is answered 5xx in time.
	StoreTimeout time.Duration `yaml:"store_timeout"`
	// RejectBodyBytes: how much of a rejected callback's body is stored
	// (with the whole body's SHA-256 and length).
	RejectBodyBytes int `yaml:"reject_body_bytes"`
	// RejectRate / RejectBurst: per remote address, rejected callbacks
	// stored per second and in a burst; 0 rate stores every one.
	RejectRate  float64 `yaml:"reject_rate"`
	RejectBurst int     `yaml:"reject_burst"`
	// UnknownAccountRate / UnknownAccountBurst: callbacks for unconfigured
	// accounts stored per second and in a burst (all remotes); 0 rate
	// stores every one.
	UnknownAccountRate  float64 `yaml:"unknown_account_rate"`
	UnknownAccountBurst int     `yaml:"unknown_account_burst"`
	// MaxBodyBytesInFlight bounds the memory of bodies being read at once;
	// past it callbacks are answered 503 unread (slow-client floods).
	MaxBodyBytesInFlight int64 `yaml:"max_body_bytes_in_flight"`
}

// Log configures log/slog. $LOG_LEVEL overrides Level.
type Log struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // json or text
}

// Account is one provider account.
type Account struct {
	Name     string `yaml:"name"`
	Provider string `yaml:"provider"`
	// FeeRate is the contracted fee rate, e.g. "0.60%"; empty disables the fee check.
	FeeRate string `yaml:"fee_rate"`
	// FeeRatePPM is FeeRate in parts per million (set by Validate).
	FeeRatePPM int64 `yaml:"-"`
	// Timezone of the bill day; only Asia/Shanghai is supported.
	Timezone string `yaml:"timezone"`
	// Currency is the account's currency (default CNY): a callback or bill
	// line in any other currency is refused.
	Currency string `yaml:"currency"`
	// MaxAmount is the largest single amount accepted, yuan (default
	// "10000000.00"); a larger callback is refused, a larger bill line fails the run.
	MaxAmount string `yaml:"max_amount"`
	// MaxAmountFen is MaxAmount in fen (set by Validate).
	MaxAmountFen int64 `yaml:"-"`
	// Section is the provider's own section (the key named after Provider),
	// kept raw; nil when absent.
	Section *yaml.Node `yaml:"-"`
	// Ledger is where the account's ledger comes from (config/ledger.go);
	// decoded from its raw section by Validate.
	Ledger     Ledger     `yaml:"-"`
	ledgerNode *yaml.Node // raw accounts[].ledger
	line       int
}

// Jobs configures scheduled reconciliation runs.
type Jobs struct {
	// Cron is a standard 5-field spec, optionally prefixed with CRON_TZ=.
	Cron string `yaml:"cron"`
	// Accounts the scheduled job runs; empty means every account.
	Accounts []string `yaml:"accounts"`
	// BillReadyDeadline: how long after the bill day ends a bill that is
	// still not published counts as a failure instead of "retry later".
	BillReadyDeadline time.Duration `yaml:"bill_ready_deadline"`
	// RequerySchedule: delays after which open items are queried again.
	RequerySchedule []time.Duration `yaml:"requery_schedule"`
	// AutoApply lists action kinds applied without approval; kinds that move
	// money are refused.
	AutoApply []payrecon.ActionKind `yaml:"auto_apply"`
	// MetricsListen is where `payrecon schedule` serves /metrics (run
	// metrics); empty serves none.
	MetricsListen string `yaml:"metrics_listen"`
	// ProviderActions lists the money-moving action kinds operators may
	// apply (refund_duplicate, close_order, unsign); absent means all.
	// Providers check the configuration these need (Huawei: callback_url
	// for refunds) at config check and start-up. A discrepancy whose repair
	// is not listed is proposed for manual review.
	ProviderActions []payrecon.ActionKind `yaml:"provider_actions"`
	// LockTTL is the run lease: a run renews it every quarter of it while
	// it works, so the lease of a killed run lapses within LockTTL.
	LockTTL time.Duration `yaml:"lock_ttl"`
}

// Reports configures report output.
type Reports struct {
	Dir      string  `yaml:"dir"`
	Language string  `yaml:"language"` // zh or en
	Webhook  Webhook `yaml:"webhook"`
}

// Webhook posts a run summary; empty URL disables it.
type Webhook struct {
	URL    string          `yaml:"url"`
	Format string          `yaml:"format"` // generic, dingtalk, feishu, wecom
	Secret payrecon.Secret `yaml:"secret"`
}

// Bounds of jobs.lock_ttl: short enough that a killed run's day is free
// again soon, long enough that a renewal every quarter of it survives a
// slow database.
const (
	MinLockTTL = 10 * time.Second
	MaxLockTTL = 30 * time.Minute
)

// Default returns the configuration used where the file says nothing.
func Default() Config {
	return Config{
		Database: Database{Driver: "sqlite", DSN: payrecon.NewSecret("var/payrecon.db"),
			MaxOpenConns: 20, MaxIdleConns: 10, ConnMaxLifetime: 30 * time.Minute},
		Server: Server{
			Listen:       "127.0.0.1:8080",
			MaxBodyBytes: 1 << 20,
			ReadTimeout:  10 * time.Second,
			WriteTimeout: 10 * time.Second,
			StoreTimeout: 5 * time.Second,

			RejectBodyBytes:     4 << 10,
			RejectRate:          5,
			RejectBurst:         50,
			UnknownAccountRate:  1,
			UnknownAccountBurst: 10,

			MaxBodyBytesInFlight: 64 << 20,
		},
		Log: Log{Level: "info", Format: "json"},
		Jobs: Jobs{
			Cron:              "CRON_TZ=Asia/Shanghai 30 10 * * *",
			BillReadyDeadline: 36 * time.Hour,
			RequerySchedule:   []time.Duration{10 * time.Minute, time.Hour, 6 * time.Hour},
			LockTTL:           60 * time.Second,
		},
		Reports: Reports{Dir: "var/reports", Language: "zh", Webhook: Webhook{Format: "generic"}},
		Review:  DefaultReview(),
	}
}

// Path picks the configuration file: flag, then $PAYRECON_CONFIG, then DefaultPath.
func Path(flag string) string {
	if flag != "" {
		return flag
	}
	if v := os.Getenv(EnvConfig); v != "" {
		return v
	}
	return DefaultPath
}

// Load reads, parses and validates the file at path.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	defer f.Close()
	c, err := Parse(f)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse reads a configuration over the defaults and validates it. Unknown
// keys are errors.
func Parse(r io.Reader) (*Config, error) {
	src, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, err
	}
	// Secret references are resolved while decoding, where the error would
	// not name its field: check them first.
	if err := errors.Join(checkRefs(&doc, "")...); err != nil {
		return nil, err
	}
	c := Default()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		return nil, err
	}
	if v := os.Getenv("LOG_LEVEL"); v != "" {
		c.Log.Level = strings.ToLower(v)
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// checkRefs reports every "env:NAME" whose variable is unset and every
// "file:PATH" that cannot be read, naming the field.
func checkRefs(n *yaml.Node, path string) []error {
	var errs []error
	switch n.Kind {
	case yaml.DocumentNode, yaml.SequenceNode:
		for i, c := range n.Content {
			p := path
			if n.Kind == yaml.SequenceNode {
				p = fmt.Sprintf("%s[%d]", path, i)
			}
			errs = append(errs, checkRefs(c, p)...)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if path != "" {
				p = path + "." + p
			}
			errs = append(errs, checkRefs(n.Content[i+1], p)...)
		}
	case yaml.ScalarNode:
		v := strings.TrimSpace(n.Value)
		if strings.HasPrefix(v, "env:") || strings.HasPrefix(v, "file:") {
			if _, err := payrecon.ResolveSecret(v); err != nil {
				errs = append(errs, fmt.Errorf("%s: line %d: %w", path, n.Line, err))
			}
		}
	}
	return errs
}

var accountName = regexp.MustCompile(`^[a-z0-9_-]+$`)
var currencyCode = regexp.MustCompile(`^[A-Z]{3}$`)

// Validate checks every field and returns all problems joined, each naming
// its field. It also sets Account.FeeRatePPM.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	switch c.Database.Driver {
	case "sqlite", "mysql":
	default:
		bad("database.driver", "must be sqlite or mysql, got %q", c.Database.Driver)
	}
	if c.Database.DSN.IsZero() {
		bad("database.dsn", "required")
	}
	if c.Database.MaxOpenConns < 1 {
		bad("database.max_open_conns", "must be at least 1, got %d", c.Database.MaxOpenConns)
	}
	if c.Database.MaxIdleConns < 0 || c.Database.MaxIdleConns > c.Database.MaxOpenConns {
		bad("database.max_idle_conns", "must be between 0 and database.max_open_conns (%d), got %d", c.Database.MaxOpenConns, c.Database.MaxIdleConns)
	}
	if c.Database.ConnMaxLifetime < time.Second {
		bad("database.conn_max_lifetime", "must be at least 1s, got %s", c.Database.ConnMaxLifetime)
	}

	if c.Server.Listen == "" {
		bad("server.listen", "required")
	}
	if c.Server.MaxBodyBytes <= 0 {
		bad("server.max_body_bytes", "must be positive")
	}
	if c.Server.ReadTimeout <= 0 {
		bad("server.read_timeout", "must be positive")
	}
	if c.Server.WriteTimeout <= 0 {
		bad("server.write_timeout", "must be positive")
	}
	if c.Server.StoreTimeout <= 0 || (c.Server.WriteTimeout > 0 && c.Server.StoreTimeout >= c.Server.WriteTimeout) {
		bad("server.store_timeout", "must be positive and below server.write_timeout (%s), got %s", c.Server.WriteTimeout, c.Server.StoreTimeout)
	}
	if c.Server.RejectBodyBytes < 0 {
		bad("server.reject_body_bytes", "must not be negative, got %d", c.Server.RejectBodyBytes)
	}
	if c.Server.RejectRate < 0 {
		bad("server.reject_rate", "must not be negative (0 stores every rejected callback)")
	}
	if c.Server.RejectBurst < 1 {
		bad("server.reject_burst", "must be at least 1")
	}
	if c.Server.UnknownAccountRate < 0 {
		bad("server.unknown_account_rate", "must not be negative (0 stores every one)")
	}
	if c.Server.MaxBodyBytesInFlight < c.Server.MaxBodyBytes {
		bad("server.max_body_bytes_in_flight", "must be at least server.max_body_bytes (%d), got %d", c.Server.MaxBodyBytes, c.Server.MaxBodyBytesInFlight)
	}
	if c.Server.UnknownAccountBurst < 1 {
		bad("server.unknown_account_burst", "must be at least 1")
	}

	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "must be debug, info, warn or error, got %q", c.Log.Level)
	}
	switch c.Log.Format {
	case "json", "text":
	default:
		bad("log.format", "must be json or text, got %q", c.Log.Format)
	}

	names := map[string]int{}
	for i := range c.Accounts {
		a := &c.Accounts[i]
		p := fmt.Sprintf("accounts[%d]", i)
		switch {
		case a.Name == "":
			bad(p+".name", "required")
		case !accountName.MatchString(a.Name):
			bad(p+".name", "%q must match [a-z0-9_-]+", a.Name)
		default:
			if j, dup := names[a.Name]; dup {
				bad(p+".name", "%q is already used by accounts[%d]", a.Name, j)
			}
			names[a.Name] = i
		}
		if a.Provider == "" {
			bad(p+".provider", "required")
		} else if !isProvider(a.Provider) {
			bad(p+".provider", "must be one of %s, got %q", strings.Join(Providers, ", "), a.Provider)
		} else if a.Section == nil {
			bad(p+"."+a.Provider, "required (the %s settings of this account)", a.Provider)
		}
		a.FeeRatePPM = 0
		if a.FeeRate != "" {
			ppm, err := payrecon.ParseRate(a.FeeRate)
			switch {
			case err != nil:
				bad(p+".fee_rate", "%v", err)
			case ppm < 0 || ppm > 1_000_000:
				bad(p+".fee_rate", "%q is outside 0%%..100%%", a.FeeRate)
			default:
				a.FeeRatePPM = ppm
			}
		}
		if a.Timezone != "" && a.Timezone != "Asia/Shanghai" {
			bad(p+".timezone", "only Asia/Shanghai is supported, got %q", a.Timezone)
		}
		if a.Currency != "" && !currencyCode.MatchString(a.Currency) {
			bad(p+".currency", "%q is not an ISO 4217 code like CNY", a.Currency)
		}
		a.MaxAmountFen = 0
		if a.MaxAmount != "" {
			fen, err := payrecon.ParseYuan(a.MaxAmount)
			switch {
			case err != nil:
				bad(p+".max_amount", "%v", err)
			case fen <= 0:
				bad(p+".max_amount", "%q must be more than 0", a.MaxAmount)
			default:
				a.MaxAmountFen = fen
			}
		}
	}

	if _, err := cron.ParseStandard(c.Jobs.Cron); err != nil {
		bad("jobs.cron", "%v", err)
	}
	for i, name := range c.Jobs.Accounts {
		if _, ok := names[name]; !ok {
			bad(fmt.Sprintf("jobs.accounts[%d]", i), "no account named %q", name)
		}
	}
	if c.Jobs.BillReadyDeadline <= 0 {
		bad("jobs.bill_ready_deadline", "must be positive")
	}
	for i, d := range c.Jobs.RequerySchedule {
		if d <= 0 {
			bad(fmt.Sprintf("jobs.requery_schedule[%d]", i), "must be positive")
		}
	}
	for i, k := range c.Jobs.AutoApply {
		f := fmt.Sprintf("jobs.auto_apply[%d]", i)
		switch {
		case !isActionKind(k):
			bad(f, "unknown action kind %q", k)
		case k.MovesMoney():
			bad(f, "%s moves money and needs approval; it cannot be applied automatically", k)
		}
	}
	for i, k := range c.Jobs.ProviderActions {
		if !k.MovesMoney() {
			bad(fmt.Sprintf("jobs.provider_actions[%d]", i), "%q is not an action at the provider (refund_duplicate, close_order, unsign)", k)
		}
	}
	if c.Jobs.LockTTL < MinLockTTL || c.Jobs.LockTTL > MaxLockTTL {
		bad("jobs.lock_ttl", "must be between %s and %s (renewed every quarter of it; a dead run's lease lapses after it), got %s",
			MinLockTTL, MaxLockTTL, c.Jobs.LockTTL)
	}
	errs = append(errs, c.validateLedgers()...)

	if c.Reports.Dir == "" {
		bad("reports.dir", "required")
	}
	switch c.Reports.Language {
	case "zh", "en":
	default:
		bad("reports.language", "must be zh or en, got %q", c.Reports.Language)
	}
	switch c.Reports.Webhook.Format {
	case "generic", "dingtalk", "feishu", "wecom":
	default:
		bad("reports.webhook.format", "must be generic, dingtalk, feishu or wecom, got %q", c.Reports.Webhook.Format)
	}
	if c.Reports.Webhook.URL != "" {
		if u, err := url.Parse(c.Reports.Webhook.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("reports.webhook.url", "must be an http(s) URL")
		}
	}
	errs = append(errs, c.Review.validate(names)...)
	return errors.Join(errs...)
}

func isProvider(name string) bool {
	for _, p := range Providers {
		if p == name {
			return true
		}
	}
	return false
}

func isActionKind(k payrecon.ActionKind) bool {
	switch k {
	case payrecon.ActionBackfillLedger, payrecon.ActionReverseLedger, payrecon.ActionCorrectStatus,
		payrecon.ActionRefundDuplicate, payrecon.ActionCorrectAgreement, payrecon.ActionUnsign, payrecon.ActionCloseOrder,
		payrecon.ActionManualReview, payrecon.ActionRecheck:
		return true
	}
	return false
}

// Account returns the account named name.
func (c *Config) Account(name string) (Account, bool) {
	for _, a := range c.Accounts {
		if a.Name == name {
			return a, true
		}
	}
	return Account{}, false
}

// Domain is the account as the reconciliation sees it.
func (a Account) Domain() payrecon.Account {
	return payrecon.Account{Name: a.Name, Provider: a.Provider, FeeRatePPM: a.FeeRatePPM, Currency: a.Currency, MaxAmount: a.MaxAmountFen}
}

// UnmarshalYAML reads the account's own keys and keeps the section named
// after its provider raw. Other keys are errors.
func (a *Account) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: account must be a mapping", n.Line)
	}
	*a = Account{line: n.Line}
	sections := map[string]*yaml.Node{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var dst *string
		switch k.Value {
		case "name":
			dst = &a.Name
		case "provider":
			dst = &a.Provider
		case "fee_rate":
			dst = &a.FeeRate
		case "timezone":
			dst = &a.Timezone
		case "currency":
			dst = &a.Currency
		case "max_amount":
			dst = &a.MaxAmount
		case "ledger":
			if v.Kind != yaml.MappingNode {
				return fmt.Errorf("line %d: ledger must be a mapping", v.Line)
			}
			a.ledgerNode = v
			continue
		default:
			if !isProvider(k.Value) {
				return fmt.Errorf("line %d: field %s not found in account", k.Line, k.Value)
			}
			sections[k.Value] = v
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return fmt.Errorf("line %d: %s must be a string", v.Line, k.Value)
		}
		*dst = v.Value
	}
	for name, sec := range sections {
		if name != a.Provider {
			return fmt.Errorf("line %d: account %q has a %s section but its provider is %q", sec.Line, a.Name, name, a.Provider)
		}
		a.Section = sec
	}
	return nil
}

// MarshalYAML writes the account back with its raw section.
func (a Account) MarshalYAML() (any, error) {
	n := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) {
		n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k}, v)
	}
	str := func(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: s} }
	add("name", str(a.Name))
	add("provider", str(a.Provider))
	if a.FeeRate != "" {
		add("fee_rate", str(a.FeeRate))
	}
	if a.Timezone != "" {
		add("timezone", str(a.Timezone))
	}
	if a.Currency != "" {
		add("currency", str(a.Currency))
	}
	if a.MaxAmount != "" {
		add("max_amount", str(a.MaxAmount))
	}
	if a.Section != nil {
		add(a.Provider, a.Section)
	}
	if a.ledgerNode != nil {
		var l yaml.Node
		if err := l.Encode(a.Ledger); err != nil {
			return nil, err
		}
		add("ledger", &l)
	}
	return n, nil
}

// DecodeProvider decodes the account's provider section into v (a pointer
// to the provider package's Config), rejecting unknown keys. Errors name
// the section and the line in the configuration file, e.g.
// "accounts[1].wechat: line 12: field foo not found in type wechat.Config".
// index is the account's position in Config.Accounts, for the message.
func (a Account) DecodeProvider(index int, v any) error {
	field := fmt.Sprintf("accounts[%d].%s", index, a.Provider)
	if a.Section == nil {
		return fmt.Errorf("%s: required", field)
	}
	return decodeStrict(field, a.Section, v)
}

var lineRef = regexp.MustCompile(`line (\d+)`)

// mapLines records, for nodes of the same shape, re-encoded line → original line.
func mapLines(re, orig *yaml.Node, out map[string]string) {
	if re == nil || orig == nil {
		return
	}
	out[fmt.Sprint(re.Line)] = fmt.Sprint(orig.Line)
	for i := 0; i < len(re.Content) && i < len(orig.Content); i++ {
		mapLines(re.Content[i], orig.Content[i], out)
	}
}

// Print writes the configuration as YAML with every secret shown as
// **redacted**. typed maps an account name to its decoded provider Config
// (whose Secret fields redact themselves); a provider section without one
// is printed with every value whose key looks secret (key, secret,
// password, token, cert, dsn, private) redacted.
func (c *Config) Print(w io.Writer, typed map[string]any) error {
	out := *c
	out.Accounts = make([]Account, len(c.Accounts))
	for i, a := range c.Accounts {
		if t, ok := typed[a.Name]; ok {
			var n yaml.Node
			if err := n.Encode(t); err != nil {
				return fmt.Errorf("print accounts[%d]: %w", i, err)
			}
			a.Section = &n
		} else if a.Section != nil {
			a.Section = redactNode(a.Section, false)
		}
		out.Accounts[i] = a
	}
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(out); err != nil {
		return fmt.Errorf("print config: %w", err)
	}
	return enc.Close()
}

var secretKey = regexp.MustCompile(`(?i)key|secret|password|passwd|token|cert|dsn|private|salt`)

// redactNode copies n, replacing scalars under secret-looking keys.
func redactNode(n *yaml.Node, secret bool) *yaml.Node {
	c := *n
	switch n.Kind {
	case yaml.ScalarNode:
		if secret {
			c.Value, c.Tag, c.Style = "**redacted**", "!!str", 0
		}
	case yaml.MappingNode:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i := 0; i+1 < len(n.Content); i += 2 {
			c.Content[i] = n.Content[i]
			c.Content[i+1] = redactNode(n.Content[i+1], secret || secretKey.MatchString(n.Content[i].Value))
		}
	default:
		c.Content = make([]*yaml.Node, len(n.Content))
		for i, x := range n.Content {
			c.Content[i] = redactNode(x, secret)
		}
	}
	return &c
}

// ---- review (finance staff) ----

// Review configures the finance review of discrepancies: the reason codes
// a write-off may give, the SLA that sets each discrepancy's due day, the
// tolerance rules runs apply, and when a carried-over item escalates.
type Review struct {
	// ReasonCodes a write-off must pick from.
	ReasonCodes []string `yaml:"reason_codes"`
	// SLA: a discrepancy is due Days after it was first seen; the first
	// tier (highest min_amount first) whose MinAmount the amount at stake
	// reaches applies, else DefaultDays.
	SLA         []SLATier `yaml:"sla"`
	DefaultDays int       `yaml:"sla_default_days"`
	// CarryOverDays: a carried-over item still absent from the bills this
	// many days after its origin day becomes a discrepancy (missing_in_bill).
	CarryOverDays int `yaml:"carry_over_days"`
	// Tolerances: rules that mark small, explained differences tolerated.
	Tolerances []Tolerance `yaml:"tolerances"`
}

// SLATier is one amount tier of the SLA.
type SLATier struct {
	MinAmount    string `yaml:"min_amount"` // yuan, e.g. "1000.00"
	MinAmountFen int64  `yaml:"-"`          // set by Validate
	Days         int    `yaml:"days"`
}

// Tolerance is one tolerance rule: a discrepancy of one of Classes on one
// of Accounts (all when empty) whose amount at stake (|difference|, or the
// fee difference for fee_mismatch) is at most MaxPerLine is tolerated,
// up to DailyMaxCount items and DailyMaxAmount per account and day (0: no
// cap). It keeps its class and difference; the balance still holds.
type Tolerance struct {
	Name              string           `yaml:"name"`
	Accounts          []string         `yaml:"accounts"`
	Classes           []payrecon.Class `yaml:"classes"`
	MaxPerLine        string           `yaml:"max_per_line"` // yuan
	MaxPerLineFen     int64            `yaml:"-"`
	Reason            string           `yaml:"reason"`
	DailyMaxCount     int              `yaml:"daily_max_count"`
	DailyMaxAmount    string           `yaml:"daily_max_amount"` // yuan; "" no cap
	DailyMaxAmountFen int64            `yaml:"-"`
}

// DefaultReview is the review configuration used where the file says nothing.
func DefaultReview() Review {
	return Review{
		ReasonCodes:   []string{"rounding", "small_amount", "provider_error", "duplicate_handled", "other"},
		SLA:           []SLATier{{MinAmount: "10000.00", MinAmountFen: 1_000_000, Days: 1}, {MinAmount: "100.00", MinAmountFen: 10_000, Days: 3}},
		DefaultDays:   7,
		CarryOverDays: 3,
	}
}

// Policy is the review policy runs apply (SLA due days, tolerance rules),
// from a validated section.
func (r Review) Policy() *jobs.ReviewPolicy {
	p := &jobs.ReviewPolicy{DefaultDays: r.DefaultDays}
	for _, t := range r.SLA {
		p.SLA = append(p.SLA, jobs.SLATier{MinAmount: t.MinAmountFen, Days: t.Days})
	}
	for _, t := range r.Tolerances {
		p.Tolerances = append(p.Tolerances, jobs.ToleranceRule{Name: t.Name, Accounts: t.Accounts, Classes: t.Classes,
			MaxPerLine: t.MaxPerLineFen, DailyMaxCount: t.DailyMaxCount, DailyMaxAmount: t.DailyMaxAmountFen})
	}
	return p
}

var codeName = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

// validate checks the review section and sets the fen fields.
func (r *Review) validate(accounts map[string]int) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	yuan := func(field, v string, dst *int64) {
		fen, err := payrecon.ParseYuan(strings.TrimSpace(v))
		switch {
		case err != nil:
			bad(field, "%v", err)
		case fen < 0:
			bad(field, "%q must not be negative", v)
		default:
			*dst = fen
		}
	}
	if len(r.ReasonCodes) == 0 {
		bad("review.reason_codes", "at least one reason code is required")
	}
	seen := map[string]bool{}
	for i, c := range r.ReasonCodes {
		f := fmt.Sprintf("review.reason_codes[%d]", i)
		if !codeName.MatchString(c) {
			bad(f, "%q must match [a-z0-9_]{1,64}", c)
		} else if seen[c] {
			bad(f, "%q is listed twice", c)
		}
		seen[c] = true
	}
	for i := range r.SLA {
		t := &r.SLA[i]
		f := fmt.Sprintf("review.sla[%d]", i)
		yuan(f+".min_amount", t.MinAmount, &t.MinAmountFen)
		if t.Days <= 0 {
			bad(f+".days", "must be positive")
		}
		if i > 0 && t.MinAmountFen >= r.SLA[i-1].MinAmountFen {
			bad(f+".min_amount", "tiers must be listed from the highest amount down")
		}
	}
	if r.DefaultDays <= 0 {
		bad("review.sla_default_days", "must be positive")
	}
	if r.CarryOverDays <= 0 {
		bad("review.carry_over_days", "must be positive")
	}
	names := map[string]bool{}
	for i := range r.Tolerances {
		t := &r.Tolerances[i]
		p := fmt.Sprintf("review.tolerances[%d]", i)
		switch {
		case !codeName.MatchString(t.Name):
			bad(p+".name", "%q must match [a-z0-9_]{1,64}", t.Name)
		case names[t.Name]:
			bad(p+".name", "%q is already used", t.Name)
		}
		names[t.Name] = true
		for j, a := range t.Accounts {
			if _, ok := accounts[a]; !ok {
				bad(fmt.Sprintf("%s.accounts[%d]", p, j), "no account named %q", a)
			}
		}
		if len(t.Classes) == 0 {
			bad(p+".classes", "at least one class is required")
		}
		for j, c := range t.Classes {
			if !isClass(c) || !c.IsDiscrepancy() {
				bad(fmt.Sprintf("%s.classes[%d]", p, j), "%q is not a discrepancy class", c)
			}
		}
		if strings.TrimSpace(t.MaxPerLine) == "" {
			bad(p+".max_per_line", "required (yuan, e.g. \"0.01\")")
		} else {
			yuan(p+".max_per_line", t.MaxPerLine, &t.MaxPerLineFen)
		}
		if t.DailyMaxCount < 0 {
			bad(p+".daily_max_count", "must not be negative")
		}
		t.DailyMaxAmountFen = 0
		if t.DailyMaxAmount != "" {
			yuan(p+".daily_max_amount", t.DailyMaxAmount, &t.DailyMaxAmountFen)
		}
	}
	return errs
}

// ReasonCode reports whether code is a configured write-off reason.
func (r Review) ReasonCode(code string) bool {
	for _, c := range r.ReasonCodes {
		if c == code {
			return true
		}
	}
	return false
}

func isClass(c payrecon.Class) bool {
	for _, x := range payrecon.Classes {
		if x == c {
			return true
		}
	}
	return false
}
