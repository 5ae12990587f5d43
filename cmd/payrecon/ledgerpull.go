package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/payrecon/payrecon"
	"github.com/payrecon/payrecon/jobs"
)

func newLedgerPullCmd(a *app) *cobra.Command {
	var account, date, to string
	cmd := &cobra.Command{
		Use:   "pull --account NAME --date D [--to D2]",
		Short: "Pull an account's ledger from its source (MinCloud orders, order table, CSV)",
		Long: `Pull the ledger entries of the bill day --date (or of every day to --to)
from the account's ledger source (accounts[].ledger: mincloud, sql or csv),
check every entry like a verified callback, and store each day's pull in one
transaction. Entries already in the ledger (same event key) are skipped, so
a second pull changes nothing; a bad row fails the pull naming its file or
query, row and column, and nothing of that day is written. "payrecon run"
pulls by itself before reconciling such an account.` + exitStatusHelp,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if account == "" {
				return usageError{fmt.Errorf("--account is required")}
			}
			from, err := payrecon.ParseDay(date)
			if err != nil {
				return usageError{fmt.Errorf("--date: %w", err)}
			}
			until := from
			if to != "" {
				if until, err = payrecon.ParseDay(to); err != nil || until < from {
					return usageError{fmt.Errorf("--to: want a day from --date on, got %q", to)}
				}
			}
			cfg, err := a.config()
			if err != nil {
				return err
			}
			acct, ok := cfg.Account(account)
			if !ok {
				return usageError{fmt.Errorf("--account: no account %q in the configuration", account)}
			}
			if !acct.Ledger.IsPull() {
				return usageError{fmt.Errorf("account %q takes its ledger from callbacks; nothing to pull (set accounts[].ledger.source)", account)}
			}
			ctx := cmd.Context()
			db, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer db.Close()
			names := []string{account}
			if acct.Ledger.Account != "" {
				names = append(names, acct.Ledger.Account)
			}
			provs, _, err := a.buildProviders(ctx, names)
			if err != nil {
				return err
			}
			check := entryCheck(cfg, provs)
			srcs, _, closeSources, err := ledgerSources(cfg, provs, db, a, check)
			if err != nil {
				return err
			}
			defer closeSources()
			for _, day := range payrecon.Days(from, until) {
				res, err := jobs.PullLedger(ctx, srcs[account], db, account, day, check(account))
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "%s %s: %d pulled, %d added\n", account, day, res.Pulled, res.Added)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&account, "account", "", "account to pull (required)")
	cmd.Flags().StringVar(&date, "date", "", "bill day, YYYY-MM-DD (required)")
	cmd.Flags().StringVar(&to, "to", "", "last bill day of a range (default: --date)")
	return cmd
}
