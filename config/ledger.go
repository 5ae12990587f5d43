package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/payrecon/payrecon"
)

// Ledger is an account's ledger source (accounts[].ledger); README
// "Where the ledger comes from".
//
//	ledger: {source: callbacks}                      # the default
//	ledger: {source: mincloud, account: NAME}        # MinCloud orders of the baas account NAME
//	ledger: {source: sql, dsn: …, query: …, columns: {…}, amount_unit: yuan, status_map: {…}}
//	ledger: {source: csv, path: exports/orders-{date}.csv, columns: {…}, …}
type Ledger struct {
	Source string `yaml:"source,omitempty"` // callbacks (default), mincloud, sql, csv

	// Account (mincloud) names the baas account whose trigger webhooks and
	// order list feed this channel account.
	Account string `yaml:"account,omitempty"`

	// Driver (sql) is mysql (the default; MariaDB and TiDB speak it).
	Driver string `yaml:"driver,omitempty"`
	// DSN (sql) is the merchant database, e.g. env:SHOP_DSN.
	DSN payrecon.Secret `yaml:"dsn,omitempty"`
	// Query (sql) selects the day's orders with two "?": the day's start
	// and end as Asia/Shanghai wall time.
	Query string `yaml:"query,omitempty"`

	// Path (csv) is the export, "{date}" / "{yyyymmdd}" replaced by the day.
	Path string `yaml:"path,omitempty"`

	// The column mapping (sql, csv).
	payrecon.TableMapping `yaml:",inline"`
}

// IsPull reports whether the source is pulled before a run.
func (l Ledger) IsPull() bool { return l.Source != "" && l.Source != payrecon.SourceCallbacks }

// decodeLedgers decodes every account's raw ledger section, strictly.
func (c *Config) decodeLedgers() []error {
	var errs []error
	for i := range c.Accounts {
		a := &c.Accounts[i]
		a.Ledger = Ledger{}
		if a.ledgerNode == nil {
			continue
		}
		if err := decodeStrict(fmt.Sprintf("accounts[%d].ledger", i), a.ledgerNode, &a.Ledger); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}

// validateLedgers checks every account's ledger section, naming fields.
func (c *Config) validateLedgers() []error {
	errs := c.decodeLedgers()
	if len(errs) > 0 {
		return errs
	}
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	for i, a := range c.Accounts {
		l := a.Ledger
		p := fmt.Sprintf("accounts[%d].ledger", i)
		only := func(source string, set bool, key string) {
			if set && l.Source != source {
				bad(p+"."+key, "only for source %s", source)
			}
		}
		only(payrecon.SourceMinCloud, l.Account != "", "account")
		only(payrecon.SourceSQL, l.Driver != "", "driver")
		only(payrecon.SourceSQL, !l.DSN.IsZero(), "dsn")
		only(payrecon.SourceSQL, l.Query != "", "query")
		only(payrecon.SourceCSV, l.Path != "", "path")
		mapped := len(l.Columns) > 0 || l.AmountUnit != "" || len(l.StatusMap) > 0 || len(l.KindMap) > 0
		switch l.Source {
		case "", payrecon.SourceCallbacks:
			if mapped {
				bad(p+".columns", "only for source sql or csv")
			}
		case payrecon.SourceMinCloud:
			if mapped {
				bad(p+".columns", "only for source sql or csv")
			}
			switch a.Provider {
			case "wechat", "alipay", "qqpay":
			default:
				bad(p+".source", "mincloud feeds a wechat, alipay or qqpay account, not a %s one", a.Provider)
			}
			if l.Account == "" {
				bad(p+".account", "required (the baas account whose orders feed this one)")
			} else if mc, ok := c.Account(l.Account); !ok {
				bad(p+".account", "no account named %q", l.Account)
			} else if mc.Provider != "baas" {
				bad(p+".account", "%q is a %s account, not baas", l.Account, mc.Provider)
			}
		case payrecon.SourceSQL, payrecon.SourceCSV:
			if l.Source == payrecon.SourceSQL {
				if l.Driver != "" && l.Driver != "mysql" {
					bad(p+".driver", "must be mysql, got %q", l.Driver)
				}
				if l.DSN.IsZero() {
					bad(p+".dsn", "required")
				}
				if strings.TrimSpace(l.Query) == "" {
					bad(p+".query", "required")
				} else if n := strings.Count(l.Query, "?"); n != 2 {
					bad(p+".query", "needs exactly two ? (the day's start and end), has %d", n)
				}
			} else if strings.TrimSpace(l.Path) == "" {
				bad(p+".path", "required")
			}
			if err := l.TableMapping.Validate(); err != nil {
				for _, e := range splitJoined(err) {
					errs = append(errs, fmt.Errorf("%s.%w", p, e))
				}
			}
		default:
			bad(p+".source", "must be callbacks, mincloud, sql or csv, got %q", l.Source)
		}
	}
	for i, name := range c.Jobs.Accounts {
		for j, a := range c.Accounts {
			if a.Ledger.Source == payrecon.SourceMinCloud && a.Ledger.Account == name {
				bad(fmt.Sprintf("jobs.accounts[%d]", i), "%q feeds accounts[%d] (%s) through MinCloud and is not run itself; list %q", name, j, a.Name, a.Name)
			}
		}
	}
	return errs
}

func splitJoined(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// decodeStrict decodes node into v rejecting unknown keys; errors name
// field and the line in the configuration file.
func decodeStrict(field string, node *yaml.Node, v any) error {
	// yaml.Node.Decode cannot reject unknown keys: go through a strict
	// decoder, then map its line numbers back to the file's.
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	if err := enc.Encode(node); err != nil {
		return fmt.Errorf("%s: %w", field, err)
	}
	_ = enc.Close()
	src := buf.Bytes()
	dec := yaml.NewDecoder(bytes.NewReader(src))
	dec.KnownFields(true)
	err := dec.Decode(v)
	if err == nil || errors.Is(err, io.EOF) {
		return nil
	}
	lines := map[string]string{}
	var copyNode yaml.Node
	if yaml.Unmarshal(src, &copyNode) == nil && len(copyNode.Content) == 1 {
		mapLines(copyNode.Content[0], node, lines)
	}
	fix := func(msg string) string {
		return lineRef.ReplaceAllStringFunc(strings.TrimPrefix(msg, "yaml: "), func(m string) string {
			if orig, ok := lines[lineRef.FindStringSubmatch(m)[1]]; ok {
				return "line " + orig
			}
			return m
		})
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		errs := make([]error, len(te.Errors))
		for i, e := range te.Errors {
			errs[i] = fmt.Errorf("%s: %s", field, fix(e))
		}
		return errors.Join(errs...)
	}
	return fmt.Errorf("%s: %s", field, fix(err.Error()))
}
