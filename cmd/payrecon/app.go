package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sort"
	"strings"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/store"
)

// app is what every command gets: the configuration (loaded on first use),
// a logger, the store and the providers.
type app struct {
	configPath     string
	stdout, stderr io.Writer

	cfg *config.Config
	log *slog.Logger
}

// config loads and validates the configuration once.
func (a *app) config() (*config.Config, error) {
	if a.cfg != nil {
		return a.cfg, nil
	}
	c, err := config.Load(config.Path(a.configPath))
	if err != nil {
		return nil, err
	}
	a.cfg = c
	a.log = newLogger(a.stderr, c.Log)
	return c, nil
}

// logger is the configured logger (text at info level before the
// configuration is loaded).
func (a *app) logger() *slog.Logger {
	if a.log == nil {
		a.log = newLogger(a.stderr, config.Log{Level: "info", Format: "text"})
	}
	return a.log
}

func newLogger(w io.Writer, c config.Log) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level)) // validated by config
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// openStore opens the configured database and applies pending migrations
// (idempotent). The caller closes it.
func (a *app) openStore(ctx context.Context) (*store.DB, error) {
	c, err := a.config()
	if err != nil {
		return nil, err
	}
	db, err := store.Open(ctx, c.Database.Driver, c.Database.DSN.Reveal(), a.logger())
	if err != nil {
		return nil, err
	}
	db.SetPool(store.Pool{MaxOpen: c.Database.MaxOpenConns, MaxIdle: c.Database.MaxIdleConns, MaxLifetime: c.Database.ConnMaxLifetime})
	if err := db.Migrate(ctx); err != nil {
		_ = db.Close()
		return nil, err
	}
	return db, nil
}

// providers builds every configured account's provider, keyed by account
// name. Every account's error is reported, joined.
func (a *app) providers(ctx context.Context) (map[string]payrecon.Provider, error) {
	ps, _, err := a.buildProviders(ctx, nil)
	return ps, err
}

// buildProviders builds the named accounts' providers (all when names is
// empty) and returns their typed provider configs too (for printing).
func (a *app) buildProviders(ctx context.Context, names []string) (map[string]payrecon.Provider, map[string]any, error) {
	c, err := a.config()
	if err != nil {
		return nil, nil, err
	}
	want := map[string]bool{}
	for _, n := range names {
		if _, ok := c.Account(n); !ok {
			return nil, nil, fmt.Errorf("no account named %q (configured: %s)", n, strings.Join(accountNames(c), ", "))
		}
		want[n] = true
	}
	out := map[string]payrecon.Provider{}
	typed := map[string]any{}
	var errs []error
	for i, acct := range c.Accounts {
		if len(want) > 0 && !want[acct.Name] {
			continue
		}
		p, cfg, err := buildProvider(ctx, a, i, acct)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out[acct.Name], typed[acct.Name] = p, cfg
	}
	if len(errs) > 0 {
		return nil, nil, joinLines(errs)
	}
	return out, typed, nil
}

func accountNames(c *config.Config) []string {
	var names []string
	for _, a := range c.Accounts {
		names = append(names, a.Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return []string{"none"}
	}
	return names
}

// joinLines joins errors one per line.
func joinLines(errs []error) error {
	msgs := make([]string, len(errs))
	for i, e := range errs {
		msgs[i] = e.Error()
	}
	return fmt.Errorf("%s", strings.Join(msgs, "\n"))
}
