package main

import (
	"database/sql"
	"fmt"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/config"
	"github.com/payrecon/payrecon/ledgersrc"
	"github.com/payrecon/payrecon/providers/baas"
	"github.com/payrecon/payrecon/store"
)

// ledgerSources builds the pull sources of the accounts that have one
// (accounts[].ledger source mincloud, sql or csv), keyed by account name,
// and whether each matches refunds per order. provs holds the built
// providers (the MinCloud source needs its baas account's client). The
// returned close releases merchant databases.
func ledgerSources(cfg *config.Config, provs map[string]payrecon.Provider, db *store.DB, a *app, check func(string) func(payrecon.LedgerEntry) error) (map[string]payrecon.LedgerSource, map[string]bool, func(), error) {
	srcs := map[string]payrecon.LedgerSource{}
	byOrder := map[string]bool{}
	var dbs []*sql.DB
	closeAll := func() {
		for _, d := range dbs {
			_ = d.Close()
		}
	}
	for i, acct := range cfg.Accounts {
		l := acct.Ledger
		if !l.IsPull() {
			continue
		}
		if _, ok := provs[acct.Name]; !ok {
			continue // not built: not asked for
		}
		field := fmt.Sprintf("accounts[%d].ledger", i)
		switch l.Source {
		case payrecon.SourceMinCloud:
			mc, ok := provs[l.Account].(*baas.Client)
			if !ok {
				closeAll()
				return nil, nil, nil, fmt.Errorf("%s.account: %q is not a built baas account", field, l.Account)
			}
			srcs[acct.Name] = &ledgersrc.MinCloud{Account: acct.Name, Channel: acct.Provider, MinCloudAccount: l.Account,
				Client: mc, Callbacks: db, Log: a.logger()}
			byOrder[acct.Name] = true
		case payrecon.SourceSQL:
			d, err := ledgersrc.OpenSQL(l.DSN.Reveal())
			if err != nil {
				closeAll()
				return nil, nil, nil, fmt.Errorf("%s.dsn: %w", field, err)
			}
			dbs = append(dbs, d)
			srcs[acct.Name] = &ledgersrc.SQL{Account: acct.Name, Provider: acct.Provider, DB: d, Query: l.Query, Mapping: l.TableMapping, Check: check(acct.Name)}
		case payrecon.SourceCSV:
			srcs[acct.Name] = &ledgersrc.CSV{Account: acct.Name, Provider: acct.Provider, Path: l.Path, Mapping: l.TableMapping, Check: check(acct.Name)}
		}
	}
	return srcs, byOrder, closeAll, nil
}

// entryCheck returns, per account, the validation every pulled entry
// passes: the account's policy, the same as a verified callback's.
func entryCheck(cfg *config.Config, provs map[string]payrecon.Provider) func(account string) func(payrecon.LedgerEntry) error {
	return func(name string) func(payrecon.LedgerEntry) error {
		acct, _ := cfg.Account(name)
		return payrecon.PolicyFor(acct.Domain(), provs[name]).CheckEntry
	}
}

// mincloudLinked names the baas accounts whose orders feed a channel
// account (ledger source mincloud): they receive webhooks but are not run
// themselves, since the channel account reconciles their orders against
// the channel's bill.
func mincloudLinked(cfg *config.Config) map[string]bool {
	out := map[string]bool{}
	for _, a := range cfg.Accounts {
		if a.Ledger.Source == payrecon.SourceMinCloud {
			out[a.Ledger.Account] = true
		}
	}
	return out
}
